"""Solvers, pseudo-inverses and matrix functions built on the decompositions: ``torch.linalg``'s
solve_ex, inv_ex, pinv, lstsq, matrix_rank, cond, matrix_exp, matrix_power, multi_dot, vecdot,
vander, tensorinv, tensorsolve, and their top-level names (``ds.pinverse``, ``ds.chain_matmul``,
``ds.triangular_solve`` …). Real dtypes only."""

from __future__ import annotations

import math
from collections import namedtuple
from typing import Any, Optional, Sequence

import numpy as np

from .. import dtypes as _dt
from .._errors import op_error
from ..tensor import Tensor
from ._common import LOWP, broadcast_shapes, is_float, require_tensor, wrap_dim
from ._opdef import apply, autocast_args, defop, tensor_method
from .decompositions import (_F64, _INT32, SVD_OP, LinAlgError, _batch, _check, _eye,
                             _first_failure, _lu_arrays, _pack, _packed_meta, _permutation_forward,
                             _swap, _triangular_solve_arrays, _unpack, eigvalsh, solve_triangular)
from .elementwise import maximum, to_dtype, where
from .linalg import _check_matrices, _Shape, det, inv, matrix_norm, solve, svdvals
from .movement import cat, diagonal as _diagonal

Slogdet = namedtuple("Slogdet", ["sign", "logabsdet"])
Lstsq = namedtuple("Lstsq", ["solution", "residuals", "rank", "singular_values"])
InvEx = namedtuple("InvEx", ["inverse", "info"])
SolveEx = namedtuple("SolveEx", ["result", "info"])
TriangularSolve = namedtuple("TriangularSolve", ["solution", "cloned_coefficient"])


# ---------------------------------------------------------------- determinants
def _slogdet_forward(xp: Any, a: Any) -> Any:
    return _pack(xp, xp.linalg.slogdet(a), a.dtype)


def _slogdet_meta(a: Any) -> tuple:
    _check_matrices("linalg.slogdet", a)
    return _packed_meta((a.shape[:-2],) * 2, a.dtype)


def _slogdet_vjp(ctx: Any, g: Tensor) -> tuple:
    (a,) = ctx.inputs
    _, glog = _unpack(g, (a.shape[:-2],) * 2)  # the sign is piecewise constant
    return (glog[..., None, None] * inv_ex(a).inverse.mT,)


SLOGDET = defop("linalg_slogdet", _slogdet_forward, _slogdet_meta, _slogdet_vjp, amp="fp32")


@tensor_method
def slogdet(A: Tensor) -> Slogdet:
    """``(sign, logabsdet)`` of the determinant of each square matrix in ``A``: ``(0, -inf)``
    for a singular one."""
    A = require_tensor("linalg.slogdet", A, "A")
    return Slogdet(*_unpack(apply(SLOGDET, A), (A.shape[:-2],) * 2))


@tensor_method
def logdet(input: Tensor) -> Tensor:
    """The log-determinant of each square matrix: nan where it is negative, -inf where 0."""
    a = require_tensor("logdet", input)
    _check_matrices("logdet", a._data)
    sign, logabs = slogdet(a)
    return logabs + sign.detach().log()  # log(-1) is nan; the gradient is logabsdet's


# ---------------------------------------------------------------- solve_ex, inv_ex
_SINGULAR = {
    "linalg.solve_ex": "torch.linalg.solve_ex: {prefix}The solver failed because the input "
                       "matrix is singular.",
    "linalg.inv_ex": "linalg.inv_ex: {prefix}The diagonal element {k} is zero, the inversion "
                     "could not be completed because the input matrix is singular.",
}


def _solve_ex_shapes(a: tuple, b: tuple) -> tuple:
    return _batch(a, b) + b[-2:], a[:-2]


def _solve_ex_forward(xp: Any, a: Any, b: Any, check_errors: bool, name: str) -> Any:
    batch = _batch(a.shape, b.shape)
    info = xp.zeros(a.shape[:-2], _INT32)
    try:
        x = xp.linalg.solve(xp.broadcast_to(a, batch + a.shape[-2:]),
                            xp.broadcast_to(b, batch + b.shape[-2:]))
    except np.linalg.LinAlgError:  # some matrix is singular: factor all as LAPACK would
        lu_data, pivots, info = _lu_arrays(a)
        if check_errors:
            prefix, k = _first_failure(info)
            raise op_error(LinAlgError, name, _SINGULAR[name].format(prefix=prefix, k=k),
                           a) from None
        perm = _permutation_forward(xp, pivots, a.shape[-1])
        permuted = xp.take_along_axis(xp.broadcast_to(b, batch + b.shape[-2:]),
                                      xp.broadcast_to(perm, batch + perm.shape[-1:])[..., None],
                                      axis=-2)
        y = _triangular_solve_arrays(xp, lu_data, permuted, False, True)
        x = _triangular_solve_arrays(xp, lu_data, y, True, False)
    return _pack(xp, (x, info), a.dtype)


def _solve_ex_meta(a: Any, b: Any, check_errors: bool, name: str) -> tuple:
    name = "linalg.solve"  # torch's shape and dtype errors name solve
    _check(name, a, "lu_cpu")
    if b.dtype != a.dtype:
        raise op_error(RuntimeError, name, f"{name}: Expected A and B to have the same dtype, but "
                       f"found A of type {_dt.torch_name(a.dtype)} and B of type "
                       f"{_dt.torch_name(b.dtype)} instead", a, b)
    if b.ndim < 2 or b.shape[-2] != a.shape[-1]:
        raise op_error(RuntimeError, name, f"{name}: Incompatible shapes of A and B for the "
                       f"equation AX = B ({a.shape[-2]}x{a.shape[-1]} and "
                       f"{'x'.join(map(str, b.shape[-2:]))})", a, b)
    broadcast_shapes(name, _Shape(a.shape[:-2]), _Shape(b.shape[:-2]))
    return _packed_meta(_solve_ex_shapes(a.shape, b.shape), a.dtype)


def _solve_ex_vjp(ctx: Any, g: Tensor) -> tuple:
    a, _ = ctx.inputs
    shapes = _solve_ex_shapes(*ctx.shapes)
    (x, _), (gx, _) = _unpack(ctx.out, shapes), _unpack(g, shapes)
    gb = _unpack(apply(SOLVE_EX, a.mT, gx, check_errors=False, name="linalg.solve_ex"),
                 _solve_ex_shapes(a.shape, gx.shape))[0]
    return (-(gb @ x.mT) if ctx.needs_input_grad[0] else None), gb


SOLVE_EX = defop("linalg_solve_ex", _solve_ex_forward, _solve_ex_meta, _solve_ex_vjp, amp="fp32",
                 save_inputs=(0,), save_output=True)


def solve_ex(A: Tensor, B: Tensor, *, left: bool = True, check_errors: bool = False) -> SolveEx:
    """:func:`deepseek.linalg.solve` that reports singular matrices instead of raising:
    ``(result, info)``, ``info`` (int32, one per matrix of ``A``) nonzero where singular."""
    name = "linalg.solve_ex"
    A, B = require_tensor(name, A, "A"), require_tensor(name, B, "B")
    if not left:
        result, info = solve_ex(A.mT, B.mT, check_errors=check_errors)
        return SolveEx(result.mT, info)
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and B.shape == A.shape[:-1])
    b = B.unsqueeze(-1) if vector else B
    out = apply(SOLVE_EX, A, b, check_errors=check_errors, name=name)
    result, info = _unpack(out, _solve_ex_shapes(A.shape, b.shape))
    return SolveEx(result.squeeze(-1) if vector else result, to_dtype(info.detach(), _INT32))


def inv_ex(A: Tensor, *, check_errors: bool = False) -> InvEx:
    """:func:`deepseek.linalg.inv` that reports singular matrices instead of raising:
    ``(inverse, info)``, ``info`` (int32) the first zero pivot of each matrix (1-based), else 0;
    a singular matrix's inverse holds inf/nan."""
    name = "linalg.inv_ex"
    (A,) = autocast_args(SOLVE_EX, require_tensor(name, A, "A"))
    _check_matrices("linalg.inv", A._data)
    out = apply(SOLVE_EX, A, _eye(A.shape[-1], A), check_errors=check_errors, name=name)
    inverse, info = _unpack(out, _solve_ex_shapes(A.shape, A.shape[-2:]))
    return InvEx(inverse, to_dtype(info.detach(), _INT32))


# ---------------------------------------------------------------- pinv, lstsq, rank
def _tolerances(A: Tensor, atol: Any, rtol: Any) -> tuple:
    """``(atol, rtol)`` as tensors of ``A``'s dtype: torch's defaults are atol 0 and rtol
    eps·max(m, n), except rtol 0 where a positive atol is given."""
    from .._creation import tensor

    dt = A._data.dtype

    def as_tensor(v: Any) -> Tensor:
        return (to_dtype(v, dt) if isinstance(v, Tensor) else tensor(v, dtype=A.dtype)).detach()

    default = float(np.finfo(dt).eps) * max(A.shape[-2:])
    atol_t = as_tensor(0.0 if atol is None else atol)
    if rtol is not None:
        return atol_t, as_tensor(rtol)
    return atol_t, as_tensor(default if atol is None else to_dtype(atol_t <= 0, dt) * default)


def _pinv_forward(xp: Any, a: Any, atol: Any, rtol: Any, hermitian: bool) -> Any:
    m, n = a.shape[-2:]
    batch = np.broadcast_shapes(a.shape[:-2], atol.shape, rtol.shape)
    if a.size == 0:
        return xp.zeros(batch + (n, m), a.dtype)
    if hermitian:
        w, v = xp.linalg.eigh(a)
        s, left, right = xp.abs(w), v, _swap(v)
    else:
        u, w, vh = xp.linalg.svd(a, full_matrices=False)
        s, left, right = w, _swap(vh), _swap(u)
    cutoff = xp.maximum(atol, rtol * s.max(-1))[..., None]
    with np.errstate(divide="ignore"):
        scale = xp.where(s > cutoff, 1 / w, 0)
    return (left * scale[..., None, :]) @ right


def _pinv_meta(a: Any, atol: Any, rtol: Any, hermitian: bool) -> tuple:
    if not is_float(a.dtype) or a.dtype in LOWP or a.ndim < 2:
        raise op_error(RuntimeError, "linalg.pinv", f"linalg.pinv({_dt.torch_name(a.dtype)}"
                       f"{{{list(a.shape)}}}): expected a tensor with 2 or more dimensions of "
                       "float, double, cfloat or cdouble types", a)
    batch = broadcast_shapes("linalg.pinv", _Shape(a.shape[:-2]), atol, rtol)
    return batch + (a.shape[-1], a.shape[-2]), a.dtype


def _pinv_grad(a: Tensor, p: Tensor, gp: Tensor) -> Tensor:
    """P = A⁺ (constant rank): gA = -P^T gP P^T + (I - A P) gP^T P P^T + P^T P gP^T (I - P A)."""
    pt, gpt = p.mT, gp.mT
    return (-(pt @ gp @ pt) + (gpt - a @ (p @ gpt)) @ (p @ pt)
            + (pt @ p) @ (gpt - (gpt @ p) @ a))


def _pinv_vjp(ctx: Any, g: Tensor) -> tuple:
    return _pinv_grad(ctx.inputs[0], ctx.out, g), None, None


PINV = defop("linalg_pinv", _pinv_forward, _pinv_meta, _pinv_vjp, amp="fp32",
             save_inputs=(0,), save_output=True)


def pinv(A: Tensor, *, atol: Any = None, rtol: Any = None, hermitian: bool = False) -> Tensor:
    """The Moore-Penrose pseudo-inverse of each matrix in ``A`` (``(*, m, n)`` -> ``(*, n, m)``),
    from its SVD (its eigendecomposition with ``hermitian=True``, reading the lower triangle).

    Singular values at or below ``max(atol, rtol * σ_max)`` count as zero; ``atol`` defaults to
    0, ``rtol`` to ``eps * max(m, n)`` (to 0 when a positive ``atol`` is given). Both may be
    tensors that broadcast with the batch dims.
    """
    (A,) = autocast_args(PINV, require_tensor("linalg.pinv", A, "A"))
    if not is_float(A._data.dtype) or A.ndim < 2:
        _pinv_meta(A._data, None, None, hermitian)  # raises torch's message
    return apply(PINV, A, *_tolerances(A, atol, rtol), hermitian=bool(hermitian))


@tensor_method
def pinverse(input: Tensor, rcond: float = 1e-15) -> Tensor:
    """``torch.pinverse``: :func:`pinv` with ``rtol=rcond``."""
    return pinv(input, rtol=rcond)


def _float_only(name: str, a: Any) -> None:
    if a.dtype not in (np.dtype(np.float32), _F64):
        raise op_error(RuntimeError, name, "This function doesn't handle types other than float "
                       "and double", a)


def _lstsq_shapes(a: tuple, b: tuple) -> tuple:
    """The solution's shape, then the rank's and the singular values' (per matrix of ``A``)."""
    return _batch(a, b) + (a[-1], b[-1]), a[:-2], a[:-2] + (min(a[-2:]),)


def _lstsq_forward(xp: Any, a: Any, b: Any, rcond: float) -> Any:
    m, n = a.shape[-2:]
    x_shape = _lstsq_shapes(a.shape, b.shape)[0]
    batch = x_shape[:-2]
    count = math.prod(batch)
    flat_a = np.broadcast_to(a, batch + (m, n)).reshape((count, m, n))
    flat_b = np.broadcast_to(b, batch + b.shape[-2:]).reshape((count, m, b.shape[-1]))
    x = np.zeros((count,) + x_shape[-2:], a.dtype)
    if m and n:
        for i, (ai, bi) in enumerate(zip(flat_a, flat_b)):  # NumPy's lstsq takes one matrix
            x[i] = np.linalg.lstsq(ai, bi, rcond=rcond)[0]
    values = xp.linalg.svd(a, compute_uv=False)
    # gelsd's rank: the singular values above rcond * the largest
    rank = (values > rcond * values.max(-1, keepdims=True)).sum(-1) if m and n else \
        xp.zeros(a.shape[:-2], np.int64)
    return _pack(xp, (x.reshape(x_shape), rank, values), a.dtype)


def _lstsq_meta(a: Any, b: Any, rcond: float) -> tuple:
    name = "linalg.lstsq"
    lead = f"torch.{name}:"
    if a.ndim < 2:
        raise op_error(RuntimeError, name, f"{lead} input must have at least 2 dimensions.", a, b)
    _float_only(name, a)
    if b.dtype != a.dtype:
        raise op_error(RuntimeError, name, f"{lead} Expected input and other to have the same "
                       f"dtype, but got input's dtype {_dt.torch_name(a.dtype)} and other's dtype "
                       f"{_dt.torch_name(b.dtype)}", a, b)
    if b.shape[-2] != a.shape[-2]:
        raise op_error(RuntimeError, name, f"{lead} input.size(-2) should match other.size(-2)",
                       a, b)
    broadcast_shapes(name, _Shape(a.shape[:-2]), _Shape(b.shape[:-2]))
    return _packed_meta(_lstsq_shapes(a.shape, b.shape), a.dtype)


def _lstsq_vjp(ctx: Any, g: Tensor) -> tuple:
    # as torch: the solution differentiated as pinv(A) @ B
    a, b = ctx.inputs
    gx = _unpack(g, _lstsq_shapes(a.shape, b.shape))[0]
    p = pinv(a)
    need = ctx.needs_input_grad
    return (_pinv_grad(a, p, gx @ b.mT) if need[0] else None), (p.mT @ gx if need[1] else None)


LSTSQ = defop("linalg_lstsq", _lstsq_forward, _lstsq_meta, _lstsq_vjp, amp="fp32")
_DRIVERS = ("gels", "gelsy", "gelsd", "gelss")


def lstsq(A: Tensor, B: Tensor, rcond: Optional[float] = None, *,
          driver: Optional[str] = None) -> Lstsq:
    """A least-squares (minimum-norm) solution ``X`` of ``A @ X ≈ B`` for each matrix of ``A``
    (``(*, m, n)``) and ``B`` (``(*, m, k)``, or ``(*, m)``); batch dims broadcast.

    Returns ``(solution, residuals, rank, singular_values)`` as torch on the CPU: with the default
    driver ``'gelsy'``, residuals and singular values are empty; ``'gelsd'``/``'gelss'`` give
    the singular values, and the squared residuals of each column when ``m > n`` and every
    matrix has full rank; ``'gels'`` gives residuals when ``m > n`` and no rank. ``rcond``
    (default ``eps * max(m, n)``): singular values at or below ``rcond * σ_max`` count as zero;
    ``rank`` (int64) is one per matrix of ``A``. Solved by LAPACK's gelsd for every driver; the
    gradient is that of ``pinv(A) @ B``.
    """
    name = "linalg.lstsq"
    A, B = autocast_args(LSTSQ, require_tensor(name, A, "A"), require_tensor(name, B, "B"))
    driver = "gelsy" if driver is None else driver
    if driver not in _DRIVERS:
        raise op_error(RuntimeError, name, f"torch.{name}: parameter `driver` should be one of "
                       "(gels, gelsy, gelsd, gelss)")
    if B.ndim > A.ndim or A.ndim - B.ndim > 1:
        raise op_error(RuntimeError, name, f"torch.{name}: input.dim() must be greater or equal "
                       "to other.dim() and (input.dim() - other.dim()) <= 1", A._data, B._data)
    vector = B.ndim == A.ndim - 1
    b = B.unsqueeze(-1) if vector else B
    m, n = A.shape[-2:] if A.ndim >= 2 else (0, 0)
    if rcond is None:
        rcond = float(np.finfo(A._data.dtype).eps) * max(m, n) if is_float(A._data.dtype) else 0
    out = apply(LSTSQ, A, b, rcond=float(rcond))
    x, rank, values = _unpack(out, _lstsq_shapes(A.shape, b.shape))
    rank = to_dtype(rank.detach(), np.dtype(np.int64))
    values = values.detach() if driver in ("gelsd", "gelss") else x.new_zeros((0,))
    residuals = x.reshape(-1)[:0]  # empty, on the graph as torch's is
    if m > n and (driver == "gels" or (driver != "gelsy" and bool((rank == n).all()))):
        residuals = ((A @ x - b) ** 2).sum(-2)
    if driver == "gels":
        rank = rank.new_zeros((0,))
    return Lstsq(x.squeeze(-1) if vector else x, residuals, rank, values)


def matrix_rank(A: Tensor, tol: Any = None, hermitian: bool = False, *, atol: Any = None,
                rtol: Any = None) -> Tensor:
    """The number of singular values (eigenvalue magnitudes with ``hermitian=True``) above
    ``max(atol, rtol * σ_max)`` of each matrix in ``A`` (int64); defaults as :func:`pinv`.
    ``tol`` (positional, older form) is ``atol`` with ``rtol=0``."""
    name = "linalg.matrix_rank"
    (A,) = autocast_args(SVD_OP, require_tensor(name, A, "A"))
    if A.ndim < 2:
        raise op_error(RuntimeError, name, f"torch.{name}: The input tensor input must have at "
                       "least 2 dimensions.", A._data)
    _float_only(name, A._data)
    if tol is not None:
        atol, rtol = tol, 0.0
    if min(A.shape[-2:]) == 0:
        return A.new_zeros(tuple(A.shape[:-2]), dtype=_dt.int64)
    s = eigvalsh(A).abs() if hermitian else svdvals(A)
    atol_t, rtol_t = _tolerances(A, atol, rtol)
    cutoff = maximum(atol_t, rtol_t * s.amax(-1))
    return (s > cutoff.unsqueeze(-1)).sum(-1)


def cond(A: Tensor, p: Any = None) -> Tensor:
    """The condition number of each matrix in ``A`` in norm ``p``: ``σ_max / σ_min`` for
    ``p`` None or 2 (``σ_min / σ_max`` for -2, any shape), else
    ``matrix_norm(A, p) * matrix_norm(inv(A), p)`` (square matrices; inf where singular)."""
    name = "linalg.cond"
    (A,) = autocast_args(SVD_OP, require_tensor(name, A, "A"))
    if p in (None, 2, -2):
        _check("linalg.svd", A._data, "linalg_svd_cpu", square=False)
        if A.numel() == 0:
            return A.new_zeros(tuple(A.shape[:-2]))
        s = svdvals(A)
        return s[..., 0] / s[..., -1] if p != -2 else s[..., -1] / s[..., 0]
    if p not in ("fro", "nuc", 1, -1, math.inf, -math.inf):
        raise op_error(RuntimeError, name, f"{name} got an invalid norm type: {p}")
    _check_matrices(f"{name}(ord={p})", A._data)
    inverse, info = inv_ex(A)
    value = matrix_norm(A, p) * matrix_norm(inverse, p)
    return where(info > 0, math.inf, value)


# ---------------------------------------------------------------- matrix functions
# Padé coefficients of degree 13 and the 1-norm up to which they meet float64 precision
# (Higham, "The scaling and squaring method for the matrix exponential revisited", 2005)
_PADE13 = (64764752532480000.0, 32382376266240000.0, 7771770303897600.0, 1187353796428800.0,
           129060195264000.0, 10559470521600.0, 670442572800.0, 33522128640.0, 1323241920.0,
           40840800.0, 960960.0, 16380.0, 182.0, 1.0)
_THETA13 = 5.371920351148152


def _matrix_exp_forward(xp: Any, a: Any) -> Any:
    """Scaling and squaring with a degree-13 Padé approximant, in float64."""
    x = xp.asarray(a, _F64)
    if x.size == 0:
        return x
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        norm = xp.abs(x).sum(-2).max(-1)
        steps = xp.where(xp.isfinite(norm) & (norm > _THETA13),
                         xp.ceil(xp.log2(xp.where(norm > 0, norm, 1) / _THETA13)), 0).astype(int)
        x = x / (2.0 ** steps)[..., None, None]
        b = _PADE13
        eye = xp.eye(x.shape[-1])
        x2 = x @ x
        x4 = x2 @ x2
        x6 = x4 @ x2
        odd = x @ (x6 @ (b[13] * x6 + b[11] * x4 + b[9] * x2)
                   + b[7] * x6 + b[5] * x4 + b[3] * x2 + b[1] * eye)
        even = x6 @ (b[12] * x6 + b[10] * x4 + b[8] * x2) + b[6] * x6 + b[4] * x4 + b[2] * x2 \
            + b[0] * eye
        out = xp.linalg.solve(even - odd, even + odd)
        for i in range(int(steps.max(initial=0))):
            out = xp.where((steps > i)[..., None, None], out @ out, out)
    return out


def _matrix_exp_meta(a: Any) -> tuple:
    name = "linalg.matrix_exp"
    if a.ndim < 2 or a.shape[-1] != a.shape[-2] or not is_float(a.dtype):
        _check_matrices(name, a)
    return a.shape, a.dtype


def _matrix_exp_vjp(ctx: Any, g: Tensor) -> tuple:
    # the Fréchet derivative of exp at A^T applied to g: the upper-right block of
    # exp([[A^T, g], [0, A^T]])
    (a,) = ctx.inputs
    n = a.shape[-1]
    at = a.mT
    zero = at.new_zeros(tuple(at.shape))
    block = cat([cat([at, g], -1), cat([zero, at], -1)], -2)
    return (apply(MATRIX_EXP, block)[..., :n, n:],)


MATRIX_EXP = defop("linalg_matrix_exp", _matrix_exp_forward, _matrix_exp_meta, _matrix_exp_vjp,
                   amp="fp32")


@tensor_method
def matrix_exp(A: Tensor) -> Tensor:
    """The matrix exponential of each square matrix in ``A`` (float16/bfloat16 computed in
    float64 and rounded)."""
    return apply(MATRIX_EXP, require_tensor("linalg.matrix_exp", A, "A"))


@tensor_method
def matrix_power(A: Tensor, n: int) -> Tensor:
    """``A`` (``(*, m, m)``, any numeric dtype for ``n >= 0``) to the integer power ``n`` by
    repeated squaring; a negative ``n`` inverts first. ``n = 0`` gives identities."""
    name = "linalg.matrix_power"
    A = require_tensor(name, A, "A")
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool):
        raise op_error(TypeError, name, f"linalg_matrix_power(): argument 'n' (position 2) must "
                       f"be int, not {type(n).__name__}")
    if A.ndim < 2:
        raise op_error(RuntimeError, name, f"{name}: The input tensor A must have at least 2 "
                       "dimensions.", A._data)
    if A.shape[-1] != A.shape[-2]:
        raise op_error(RuntimeError, name, f"{name}: A must be batches of square matrices, but "
                       f"they are {A.shape[-2]} by {A.shape[-1]} matrices", A._data)
    if n == 0:
        eye = _eye(A.shape[-1], A).expand(tuple(A.shape))
        return where(A.new_ones((), dtype=_dt.bool_), eye, A) if A.requires_grad else eye.clone()
    base = inv(A) if n < 0 else A
    n = abs(int(n))
    result = None
    while n:
        if n & 1:
            result = base if result is None else result @ base
        n >>= 1
        if n:
            base = base @ base
    return result.clone() if result is A else result


def multi_dot(tensors: Sequence[Tensor]) -> Tensor:
    """The product of two or more matrices in the cheapest order (the first may be a row vector
    and the last a column vector, 1-d)."""
    name = "linalg.multi_dot"
    ts = [require_tensor(name, t, f"tensors[{i}]") for i, t in enumerate(tensors)]
    if len(ts) < 2:
        raise op_error(RuntimeError, name, f"multi_dot(): expected at least 2 tensors but got "
                       f"{len(ts)}")
    for i, t in enumerate(ts):
        which = "first" if i == 0 else "last" if i == len(ts) - 1 else None
        if which and t.ndim not in (1, 2):
            raise op_error(RuntimeError, name, f"multi_dot(): the {which} tensor must be 1D or 2D "
                           f"but got {t.ndim}D", t._data)
        if not which and t.ndim != 2:
            raise op_error(RuntimeError, name, f"multi_dot(): tensor {i} must be 2D but got "
                           f"{t.ndim}D", t._data)
        if t._data.dtype != ts[0]._data.dtype:
            raise op_error(RuntimeError, name, f"multi_dot(): all tensors must have be the same "
                           f"dtype but tensor 0 is {_dt.torch_name(ts[0]._data.dtype).lower()} and "
                           f"tensor {i} {_dt.torch_name(t._data.dtype).lower()}",
                           ts[0]._data, t._data)
    row, col = ts[0].ndim == 1, ts[-1].ndim == 1
    mats = [ts[0].unsqueeze(0) if row else ts[0]] + ts[1:-1] + [
        ts[-1].unsqueeze(-1) if col else ts[-1]]
    for i in range(len(mats) - 1):
        if mats[i].shape[-1] != mats[i + 1].shape[-2]:
            raise op_error(RuntimeError, name, f"multi_dot(): tensors {i} and {i + 1} with shapes "
                           f"{list(ts[i].shape)} and {list(ts[i + 1].shape)} cannot be "
                           "multiplied", ts[i]._data, ts[i + 1]._data)
    out = _chain_product(mats)
    if row:
        out = out.squeeze(0)
    return out.squeeze(-1) if col else out


def _chain_product(mats: list) -> Tensor:
    """The matrix chain in the order with fewest multiplications (dynamic programming)."""
    dims = [mats[0].shape[0]] + [m.shape[1] for m in mats]
    count = len(mats)
    cost = [[0] * count for _ in range(count)]
    split = [[0] * count for _ in range(count)]
    for length in range(1, count):
        for i in range(count - length):
            j = i + length
            cost[i][j] = math.inf
            for s in range(i, j):
                c = cost[i][s] + cost[s + 1][j] + dims[i] * dims[s + 1] * dims[j + 1]
                if c < cost[i][j]:
                    cost[i][j], split[i][j] = c, s

    def product(i: int, j: int) -> Tensor:
        if i == j:
            return mats[i]
        return product(i, split[i][j]) @ product(split[i][j] + 1, j)

    return product(0, count - 1)


def chain_matmul(*matrices: Tensor) -> Tensor:
    """``torch.chain_matmul``: :func:`multi_dot` of the arguments."""
    return multi_dot(matrices)


def vecdot(x: Tensor, y: Tensor, *, dim: int = -1) -> Tensor:
    """The dot product of ``x`` and ``y`` along ``dim`` (the other dims broadcast)."""
    name = "linalg.vecdot"
    x, y = require_tensor(name, x, "x"), require_tensor(name, y, "y")
    for t in (x, y):
        if not is_float(t._data.dtype):
            raise op_error(RuntimeError, name, f"{name}: Expected a floating point or complex "
                           f"tensor as input. Got {_dt.torch_name(t._data.dtype)}", t._data)
    if x._data.dtype != y._data.dtype:
        raise op_error(RuntimeError, name, f"{name}: Expected x and y to have the same dtype, but "
                       f"found x of type {_dt.torch_name(x._data.dtype)} and y of type "
                       f"{_dt.torch_name(y._data.dtype)} instead", x._data, y._data)
    product = x * y
    return product.sum(wrap_dim(name, dim, product.ndim))


def diagonal(A: Tensor, *, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """``deepseek.diagonal`` with the last two dims as defaults."""
    return _diagonal(require_tensor("linalg.diagonal", A, "A"), offset, dim1, dim2)


def vander(x: Tensor, *, N: Optional[int] = None) -> Tensor:
    """The Vandermonde matrices ``x^0, x^1, …, x^(N-1)`` (increasing powers, columns) of the last
    dim of ``x`` (``(*, n)`` -> ``(*, n, N)``, ``N`` defaults to ``n``)."""
    name = "linalg.vander"
    x = require_tensor(name, x, "x")
    d = x._data.dtype
    if d in LOWP or d == np.bool_:
        raise op_error(RuntimeError, name, f"{name} supports floating point, complex, and "
                       f"integer tensors, but got {_dt.torch_name(d)}", x._data)
    if x.ndim == 0:
        x = x.reshape(1)
    n = x.shape[-1] if N is None else N
    if n <= 1:
        raise op_error(RuntimeError, name, "N must be greater than 1.", x._data)
    column = x.unsqueeze(-1)
    powers = cat([x.new_ones(tuple(column.shape)), column.expand(tuple(x.shape) + (n - 1,))], -1)
    return powers.cumprod(-1)


def legacy_vander(x: Tensor, N: Optional[int] = None, increasing: bool = False) -> Tensor:
    """``torch.vander``: powers of a 1-d ``x``, decreasing unless ``increasing``."""
    x = require_tensor("vander", x)
    if x.ndim != 1:
        raise op_error(RuntimeError, "vander", "x must be a one-dimensional tensor.", x._data)
    out = vander(x, N=N)
    return out if increasing else out.flip(-1)


def tensorinv(A: Tensor, ind: int = 2) -> Tensor:
    """The inverse of ``A`` seen as a map from its last dims to its first ``ind`` dims: the
    result has shape ``A.shape[ind:] + A.shape[:ind]``."""
    name = "linalg.tensorinv"
    A = require_tensor(name, A, "A")
    if ind <= 0:
        raise op_error(RuntimeError, name, f"Expected a strictly positive integer for 'ind', but "
                       f"got {ind}")
    rows, cols = math.prod(A.shape[:ind]), math.prod(A.shape[ind:])
    if rows != cols:
        raise op_error(RuntimeError, name, "Expected self to satisfy the requirement "
                       f"prod(self.shape[ind:]) == prod(self.shape[:ind]), but got {cols} != "
                       f"{rows}", A._data)
    return inv(A.reshape(rows, cols)).reshape(tuple(A.shape[ind:]) + tuple(A.shape[:ind]))


def tensorsolve(A: Tensor, B: Tensor, dims: Optional[Sequence[int]] = None) -> Tensor:
    """``X`` with ``tensordot(A, X, X.ndim) = B``; ``dims`` are dims of ``A`` moved to its end
    first. ``X`` has shape ``A.shape[B.ndim:]``."""
    name = "linalg.tensorsolve"
    A, B = require_tensor(name, A, "A"), require_tensor(name, B, "B")
    if dims is not None:
        dims = [wrap_dim(name, d, A.ndim) for d in dims]
        A = A.movedim(dims, list(range(A.ndim - len(dims), A.ndim)))
    rows, cols = math.prod(A.shape[:B.ndim]), math.prod(A.shape[B.ndim:])
    if rows != cols:
        raise op_error(RuntimeError, name, "Expected self to satisfy the requirement "
                       "prod(self.shape[other.ndim:]) == prod(self.shape[:other.ndim]), but got "
                       f"{cols} != {rows}", A._data, B._data)
    return solve(A.reshape(rows, cols), B.reshape(rows)).reshape(tuple(A.shape[B.ndim:]))


# ---------------------------------------------------------------- older top-level names
@tensor_method(name="triangular_solve")
def triangular_solve(input: Tensor, A: Tensor, upper: bool = True, transpose: bool = False,
                     unitriangular: bool = False) -> TriangularSolve:
    """``torch.triangular_solve(b, A)``: ``(X, A.clone())`` with ``A X = b`` (``A^T X = b``
    with ``transpose``)."""
    a = require_tensor("triangular_solve", A, "A")
    matrix, tri_upper = (a.mT, not upper) if transpose else (a, upper)
    x = solve_triangular(matrix, input, upper=tri_upper, unitriangular=unitriangular)
    return TriangularSolve(x, a.clone())


tensor_method(det, name="det")
tensor_method(inv, name="inverse")
