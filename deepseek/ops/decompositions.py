"""Matrix decompositions: ``torch.linalg``'s cholesky, qr, eigh, svd, lu and the triangular
solve they need, with their top-level names (``ds.svd``, ``ds.qr``, ``ds.cholesky_solve`` …).
Real dtypes only; what is built on them lives in ``solvers.py``."""

from __future__ import annotations

import math
from collections import namedtuple
from typing import Any, Optional, Sequence

import numpy as np

from .. import dtypes as _dt
from .._errors import op_error
from ..autograd.grad_mode import STATE
from ..tensor import Tensor
from ._common import LOWP, broadcast_shapes, is_float, require_tensor
from ._opdef import apply, autocast_args, autocast_exempt, defop, tensor_method
from .elementwise import to_dtype, where
from .linalg import _check_matrices, _same_dtype, _Shape, svdvals
from .movement import cat, diag_embed

_F64 = np.dtype(np.float64)
_INT32 = np.dtype(np.int32)
_BLOCK = 64  # rows a triangular solve finishes per matrix product


class LinAlgError(RuntimeError):
    """A factorization or solve that failed on the values of its input (a singular matrix, one
    that is not positive-definite), as ``torch.linalg.LinAlgError``."""


CholeskyEx = namedtuple("CholeskyEx", ["L", "info"])
QR = namedtuple("QR", ["Q", "R"])
Eigh = namedtuple("Eigh", ["eigenvalues", "eigenvectors"])
SVD = namedtuple("SVD", ["U", "S", "Vh"])
SVDLegacy = namedtuple("SVDLegacy", ["U", "S", "V"])
LUFactor = namedtuple("LUFactor", ["LU", "pivots"])
LUFactorEx = namedtuple("LUFactorEx", ["LU", "pivots", "info"])
PLU = namedtuple("PLU", ["P", "L", "U"])
Geqrf = namedtuple("Geqrf", ["a", "tau"])


# ---------------------------------------------------------------- shared rules
def _pack(xp: Any, parts: Sequence[Any], dtype: np.dtype) -> Any:
    """A primitive has one output: a factorization's outputs travel as one flat array (integer
    ones, pivots and info, as exact floats) and the front door takes views of it."""
    return xp.concatenate([xp.ravel(p).astype(dtype, copy=False) for p in parts])


def _packed_meta(shapes: Sequence[tuple], dtype: np.dtype) -> tuple:
    return (sum(math.prod(s) for s in shapes),), dtype


def _unpack(t: Tensor, shapes: Sequence[tuple]) -> list:
    out, start = [], 0
    for s in shapes:
        n = math.prod(s)
        out.append(t.narrow(0, start, n).reshape(s))
        start += n
    return out


def _check(name: str, a: Any, kernel: str, square: bool = True, float_first: bool = True) -> None:
    """torch's checks in its order: a floating dtype (``float_first``; otherwise the kernel's
    error covers every other dtype), at least 2 dims, square matrices, then the kernel's own
    dtypes (float32 and float64 only)."""
    shape_ok = a.ndim >= 2 and (not square or a.shape[-1] == a.shape[-2])
    if (not float_first and not is_float(a.dtype)) or (a.dtype in LOWP and shape_ok):
        raise op_error(NotImplementedError, name, f"\"{kernel}\" not implemented for "
                       f"'{_dt.torch_name(a.dtype)}'", a)
    _check_matrices(name, a, square=square)


def _first_failure(info: Any) -> tuple:
    """torch's ``(Batch element i): `` prefix (batched input only) and the failing info value."""
    flat = np.asarray(info).reshape(-1)
    i = int(np.flatnonzero(flat)[0])
    return (f"(Batch element {i}): " if np.ndim(info) else ""), int(flat[i])


def _quotient(num: Tensor, den: Tensor) -> Tensor:
    """``num / den``, except 0 where ``num`` is exactly 0: an output nobody differentiates gets
    a zero gradient, which must not turn into 0/0 where the formula divides by a zero gap
    (torch skips undefined gradients instead). Both branches stay finite for double backward."""
    zero = num == 0
    return where(zero, 0, num / where(zero, 1, den))


def _batch(*shapes: tuple) -> tuple:
    return np.broadcast_shapes(*(s[:-2] for s in shapes))


def _eye(n: int, like: Tensor, m: Optional[int] = None) -> Tensor:
    from .._creation import eye

    return eye(n, m, dtype=like.dtype)


def _swap(x: Any) -> Any:
    return x.swapaxes(-1, -2)


# ---------------------------------------------------------------- triangular solve
def _triangular_solve_arrays(xp: Any, a: Any, b: Any, upper: bool, unitriangular: bool) -> Any:
    """``X`` with ``A X = B`` for triangular ``A``: blocks of rows by substitution, the rows
    already solved folded in by one matrix product per block. A zero on the diagonal gives
    inf/nan, as LAPACK's trsm does."""
    batch = _batch(a.shape, b.shape)
    a = xp.broadcast_to(a, batch + a.shape[-2:])
    b = xp.broadcast_to(b, batch + b.shape[-2:])
    n = a.shape[-1]
    x = xp.zeros(batch + b.shape[-2:], np.result_type(a, b))
    starts = range(0, n, _BLOCK)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for s in (reversed(starts) if upper else starts):
            e = min(s + _BLOCK, n)
            done = slice(e, n) if upper else slice(0, s)
            rhs = b[..., s:e, :] - a[..., s:e, done] @ x[..., done, :]
            for i in (reversed(range(s, e)) if upper else range(s, e)):
                inner = slice(i + 1, e) if upper else slice(s, i)
                r = rhs[..., i - s, :] - (a[..., i, None, inner] @ x[..., inner, :])[..., 0, :]
                x[..., i, :] = r if unitriangular else r / a[..., i, i, None]
    return x


def _solve_triangular_meta(a: Any, b: Any, upper: bool, unitriangular: bool) -> tuple:
    name = "linalg.solve_triangular"
    _check(name, a, "triangular_solve_cpu", float_first=False)
    if b.ndim < 2:
        raise op_error(RuntimeError, name, f"{name}: The input tensor B must have at least 2 "
                       "dimensions.", a, b)
    if b.shape[-2] != a.shape[-1]:
        raise op_error(RuntimeError, name, f"{name}: Incompatible shapes of A and B for the "
                       f"equation AX = B ({a.shape[-2]}x{a.shape[-1]} and {b.shape[-2]}x"
                       f"{b.shape[-1]})", a, b)
    _same_dtype(name, (a, b))
    batch = broadcast_shapes(name, _Shape(a.shape[:-2]), _Shape(b.shape[:-2]))
    return batch + b.shape[-2:], a.dtype


def _solve_triangular_vjp(ctx: Any, g: Tensor) -> tuple:
    a, _ = ctx.inputs
    upper, unit = ctx.attrs["upper"], ctx.attrs["unitriangular"]
    gb = apply(SOLVE_TRIANGULAR, a.mT, g, upper=not upper, unitriangular=unit)
    if not ctx.needs_input_grad[0]:
        return None, gb
    ga = -(gb @ ctx.out.mT)  # only the triangle A's solve reads
    return (ga.triu(int(unit)) if upper else ga.tril(-int(unit))), gb


SOLVE_TRIANGULAR = defop("linalg_solve_triangular", _triangular_solve_arrays,
                         _solve_triangular_meta, _solve_triangular_vjp, amp="fp32",
                         save_inputs=(0,), save_output=True)


def solve_triangular(A: Tensor, B: Tensor, *, upper: bool, left: bool = True,
                     unitriangular: bool = False) -> Tensor:
    """``X`` with ``A @ X = B`` (``X @ A = B`` when ``left=False``) for triangular ``A``.

    Only the triangle named by ``upper`` is read; ``unitriangular`` takes its diagonal as ones.
    ``B`` is cast to ``A``'s dtype (as torch does) and batch dims broadcast.

    Example:
        >>> A = deepseek.tensor([[2., 1.], [0., 4.]])
        >>> deepseek.linalg.solve_triangular(A, deepseek.tensor([[3.], [4.]]), upper=True)
        tensor([[1.],
                [1.]])
    """
    name = "linalg.solve_triangular"
    A, B = autocast_args(SOLVE_TRIANGULAR, require_tensor(name, A, "A"),
                         require_tensor(name, B, "B"))
    if is_float(A._data.dtype) and B._data.dtype != A._data.dtype:
        B = to_dtype(B, A._data.dtype)
    if left:
        return apply(SOLVE_TRIANGULAR, A, B, upper=bool(upper), unitriangular=bool(unitriangular))
    if B.ndim >= 2 and A.ndim >= 2 and B.shape[-1] != A.shape[-2]:
        raise op_error(RuntimeError, name, f"{name}: Incompatible shapes of A and B for the "
                       f"equation XA = B ({A.shape[-2]}x{A.shape[-1]} and {B.shape[-2]}x"
                       f"{B.shape[-1]})", A._data, B._data)
    return apply(SOLVE_TRIANGULAR, A.mT, B.mT, upper=not upper,
                 unitriangular=bool(unitriangular)).mT


# ---------------------------------------------------------------- cholesky
def _cholesky_unblocked(a: Any) -> tuple:
    """The lower factor of one matrix column by column, stopping at the first pivot that is not
    positive: ``(partial factor, info)`` as LAPACK's potrf leaves them."""
    factor = np.tril(a)
    for j in range(a.shape[-1]):
        d = factor[j, j] - factor[j, :j] @ factor[j, :j]
        if not d > 0:
            factor[j, j] = d
            return factor, j + 1
        factor[j, j] = math.sqrt(d)
        factor[j + 1:, j] = (factor[j + 1:, j] - factor[j + 1:, :j] @ factor[j, :j]) / factor[j, j]
    return factor, 0


def _cholesky_forward(xp: Any, a: Any, upper: bool, check_errors: bool, name: str) -> Any:
    lower = _swap(a) if upper else a  # the factor of A's upper triangle is that of A^T's lower
    try:
        factor, info = xp.linalg.cholesky(lower), xp.zeros(a.shape[:-2], _INT32)
    except np.linalg.LinAlgError:
        pairs = []
        for m in lower.reshape((-1,) + a.shape[-2:]):
            try:
                pairs.append((np.linalg.cholesky(m), 0))
            except np.linalg.LinAlgError:
                pairs.append(_cholesky_unblocked(m))
        factor = np.stack([f for f, _ in pairs]).reshape(a.shape)
        info = np.array([i for _, i in pairs], _INT32).reshape(a.shape[:-2])
        if check_errors:
            prefix, order = _first_failure(info)
            raise op_error(LinAlgError, name, f"{name}: {prefix}The factorization could not be "
                           "completed because the input is not positive-definite (the leading "
                           f"minor of order {order} is not positive-definite).", a) from None
    return _pack(xp, (_swap(factor) if upper else factor, info), a.dtype)


def _cholesky_shapes(shape: tuple) -> tuple:
    return shape, shape[:-2]


def _cholesky_meta(a: Any, upper: bool, check_errors: bool, name: str) -> tuple:
    _check("linalg.cholesky", a, "cholesky_cpu")
    return _packed_meta(_cholesky_shapes(a.shape), a.dtype)


def _cholesky_vjp(ctx: Any, g: Tensor) -> tuple:
    # A = L L^T: dL = L Φ(L^-1 dA L^-T), Φ the lower triangle with half the diagonal, so
    # gA = L^-T Φ(L^T gL) L^-1, symmetrized as torch returns it.
    shapes = _cholesky_shapes(ctx.shapes[0])
    (factor, _), (gfactor, _) = _unpack(ctx.out, shapes), _unpack(g, shapes)
    if ctx.attrs["upper"]:
        factor, gfactor = factor.mT, gfactor.mT
    phi = (factor.mT @ gfactor).tril()
    sym = 0.5 * (phi + phi.tril(-1).mT)
    left = solve_triangular(factor.mT, sym, upper=True)
    return (solve_triangular(factor, left, upper=False, left=False),)


CHOLESKY = defop("linalg_cholesky_ex", _cholesky_forward, _cholesky_meta, _cholesky_vjp,
                 amp="fp32", save_inputs=False, save_output=True)


def _cholesky(name: str, A: Tensor, upper: bool, check_errors: bool) -> CholeskyEx:
    A = require_tensor(name, A, "A")
    out = apply(CHOLESKY, A, upper=bool(upper), check_errors=check_errors, name=name)
    factor, info = _unpack(out, _cholesky_shapes(A.shape))
    return CholeskyEx(factor, to_dtype(info.detach(), _INT32))


def cholesky(A: Tensor, *, upper: bool = False) -> Tensor:
    """The Cholesky factor ``L`` (lower) of each symmetric positive-definite matrix in ``A``,
    ``A = L @ L.mT``; ``upper=True`` returns ``U = L.mT`` instead. Only that triangle of ``A`` is
    read. Raises :class:`LinAlgError` when a matrix is not positive-definite."""
    return _cholesky("linalg.cholesky", A, upper, True).L


def cholesky_ex(A: Tensor, *, upper: bool = False, check_errors: bool = False) -> CholeskyEx:
    """:func:`cholesky` that reports failure instead of raising: ``(L, info)``, ``info`` (int32,
    one per matrix) the order of the first leading minor that is not positive-definite, else 0."""
    return _cholesky("linalg.cholesky_ex", A, upper, check_errors)


@tensor_method(name="cholesky")
def legacy_cholesky(input: Tensor, upper: bool = False) -> Tensor:
    """``torch.cholesky``: :func:`cholesky` with ``upper`` positional."""
    return _cholesky("cholesky", input, upper, True).L


def _cholesky_solve_forward(xp: Any, b: Any, factor: Any, upper: bool) -> Any:
    lower = _swap(factor) if upper else factor
    y = _triangular_solve_arrays(xp, lower, b, False, False)
    return _triangular_solve_arrays(xp, _swap(lower), y, True, False)


def _cholesky_solve_meta(b: Any, factor: Any, upper: bool) -> tuple:
    name = "cholesky_solve"
    _check(name, factor, "cholesky_solve_cpu", float_first=False)
    if b.ndim < 2:
        raise op_error(RuntimeError, name, f"b should have at least 2 dimensions, but has "
                       f"{b.ndim} dimensions instead", b, factor)
    if b.dtype != factor.dtype:
        raise op_error(RuntimeError, name, f"Expected b and A to have the same dtype, but found "
                       f"b of type {_dt.torch_name(b.dtype)} and A of type "
                       f"{_dt.torch_name(factor.dtype)} instead.", b, factor)
    n = factor.shape[-1]
    if b.shape[-2] != n:
        raise op_error(RuntimeError, name, f"Incompatible matrix sizes for cholesky_solve: each A "
                       f"matrix is {n} by {n} but each b matrix is {b.shape[-2]} by "
                       f"{b.shape[-1]}", b, factor)
    batch = broadcast_shapes(name, _Shape(b.shape[:-2]), _Shape(factor.shape[:-2]))
    return batch + b.shape[-2:], b.dtype


def _cholesky_solve_vjp(ctx: Any, g: Tensor) -> tuple:
    # torch differentiates X = (L L^T)^-1 B as a function of all of L, not only its triangle
    _, factor = ctx.inputs
    upper = ctx.attrs["upper"]
    gb = apply(CHOLESKY_SOLVE, g, factor, upper=upper)
    if not ctx.needs_input_grad[1]:
        return gb, None
    x = ctx.out
    common = -(gb @ x.mT + x @ gb.mT)
    return gb, (factor @ common if upper else common @ factor)


CHOLESKY_SOLVE = defop("cholesky_solve", _cholesky_solve_forward, _cholesky_solve_meta,
                       _cholesky_solve_vjp, amp="fp32", save_inputs=(1,), save_output=True)


@tensor_method
def cholesky_solve(input: Tensor, input2: Tensor, upper: bool = False) -> Tensor:
    """``X`` with ``A @ X = B`` given ``B`` (``input``) and the Cholesky factor of ``A``
    (``input2``: lower, or upper when ``upper=True``)."""
    b = require_tensor("cholesky_solve", input)
    factor = require_tensor("cholesky_solve", input2, "input2")
    return apply(CHOLESKY_SOLVE, b, factor, upper=bool(upper))


@tensor_method
def cholesky_inverse(input: Tensor, upper: bool = False) -> Tensor:
    """The inverse of ``A`` from its Cholesky factor ``input`` (lower, or upper when
    ``upper=True``)."""
    name = "cholesky_inverse"
    (factor,) = autocast_args(CHOLESKY_SOLVE, require_tensor(name, input))
    _check(name, factor._data, "cholesky_inverse_out_cpu", float_first=False)
    return cholesky_solve(_eye(factor.shape[-1], factor), factor, upper)


# ---------------------------------------------------------------- qr
def _qr_shapes(shape: tuple, mode: str) -> tuple:
    m, n = shape[-2:]
    k = min(m, n)
    r = shape[:-2] + ((m if mode == "complete" else k), n)
    if mode == "r":
        return (r,)
    return shape[:-2] + (m, (m if mode == "complete" else k)), r


def _qr_forward(xp: Any, a: Any, mode: str) -> Any:
    out = xp.linalg.qr(a, mode=mode)
    return _pack(xp, (out,) if mode == "r" else out, a.dtype)


def _qr_meta(a: Any, mode: str) -> tuple:
    _check("linalg.qr", a, "geqrf_cpu", square=False)
    return _packed_meta(_qr_shapes(a.shape, mode), a.dtype)


def _qr_square_grad(q: Tensor, r: Tensor, gq: Tensor, gr: Tensor) -> Tensor:
    """A = QR with R square: gA = (gQ + Q copyltu(M)) R^-T, M = R gR^T - gQ^T Q, copyltu
    mirroring the lower triangle onto the upper one."""
    m = r @ gr.mT - gq.mT @ q
    b = gq + q @ (m.tril() + m.tril(-1).mT)
    return solve_triangular(r.mT, b, upper=False, left=False)


def _qr_vjp(ctx: Any, g: Tensor) -> tuple:
    mode = ctx.attrs["mode"]
    m, n = ctx.shapes[0][-2:]
    if mode == "r":
        raise op_error(RuntimeError, "linalg.qr", "The derivative of linalg.qr depends on Q, "
                       "which is not computed when mode='r'. Please use linalg.qr(A, "
                       "mode='reduced') if you are going to differentiate through linalg.qr.")
    if mode == "complete" and m > n:
        raise op_error(RuntimeError, "linalg.qr", "The QR decomposition is not differentiable "
                       "when mode='complete' and nrows > ncols.")
    shapes = _qr_shapes(ctx.shapes[0], mode)
    (q, r), (gq, gr) = _unpack(ctx.out, shapes), _unpack(g, shapes)
    if m >= n:
        return (_qr_square_grad(q, r, gq, gr),)
    # wide: A = [X | Y] with X = Q U square and Y = Q V
    u, v, gu, gv = r[..., :m], r[..., m:], gr[..., :m], gr[..., m:]
    gx = _qr_square_grad(q, u, gq + (q @ v) @ gv.mT, gu)
    return (cat([gx, q @ gv], -1),)


QR_OP = defop("linalg_qr", _qr_forward, _qr_meta, _qr_vjp, amp="fp32", save_inputs=False,
              save_output=True)


def qr(A: Tensor, mode: str = "reduced") -> QR:
    """The QR decomposition ``A = Q @ R`` (``Q`` orthonormal columns, ``R`` upper-triangular) of
    each matrix in ``A`` (``(*, m, n)``, ``k = min(m, n)``).

    Args:
        mode: ``'reduced'`` (``Q`` is ``(m, k)``, ``R`` ``(k, n)``), ``'complete'`` (``Q``
            ``(m, m)``, ``R`` ``(m, n)``) or ``'r'`` (only ``R``; ``Q`` is empty).
    """
    A = require_tensor("linalg.qr", A, "A")
    if mode not in ("reduced", "complete", "r"):
        raise op_error(RuntimeError, "linalg.qr", f"qr received unrecognized mode '{mode}' but "
                       "expected one of 'reduced' (default), 'r', or 'complete'")
    parts = _unpack(apply(QR_OP, A, mode=mode), _qr_shapes(A.shape, mode))
    if mode == "r":
        return QR(A.new_zeros((0,)), parts[0])
    return QR(*parts)


@tensor_method(name="qr")
def legacy_qr(input: Tensor, some: bool = True) -> QR:
    """``torch.qr``: :func:`qr` in mode ``'reduced'`` (``some=True``) or ``'complete'``."""
    return qr(input, "reduced" if some else "complete")


def _geqrf_forward(xp: Any, a: Any) -> Any:
    h, tau = xp.linalg.qr(a, mode="raw")
    return _pack(xp, (_swap(h), tau), a.dtype)  # LAPACK's raw output comes transposed


def _geqrf_meta(a: Any) -> tuple:
    _check("geqrf", a, "geqrf_cpu", square=False, float_first=False)
    return _packed_meta((a.shape, a.shape[:-2] + (min(a.shape[-2:]),)), a.dtype)


GEQRF = defop("geqrf", _geqrf_forward, _geqrf_meta, amp="fp32")


@tensor_method
def geqrf(input: Tensor) -> Geqrf:
    """LAPACK's raw QR: ``(a, tau)``, the Householder reflectors below ``a``'s diagonal and
    ``R`` on and above it (for :func:`householder_product`). Not differentiable, as in torch."""
    a = require_tensor("geqrf", input)
    if a.ndim < 2:
        raise op_error(RuntimeError, "geqrf", "torch.geqrf: input must have at least 2 "
                       "dimensions.", a._data)
    shapes = (a.shape, a.shape[:-2] + (min(a.shape[-2:]),))
    return Geqrf(*(p.detach() for p in _unpack(apply(GEQRF, a), shapes)))


def householder_product(A: Tensor, tau: Tensor) -> Tensor:
    """The first ``n`` columns of ``H_1 … H_k``, ``H_i = I - tau_i v_i v_i^T`` with ``v_i``
    column ``i`` of ``A`` (``(*, m, n)``) below the diagonal and a one on it (``tau``:
    ``(*, k)``, ``k <= n <= m``). A composition of products, differentiated as such."""
    name = "linalg.householder_product"
    # autocast runs it in float32 (as torch does), whatever its products would do alone
    A, tau = autocast_args(QR_OP, require_tensor(name, A, "A"), require_tensor(name, tau, "tau"))
    lead = f"torch.{name}:"
    if A.ndim < 2:
        raise op_error(RuntimeError, name, f"{lead} input must have at least 2 dimensions.",
                       A._data)
    m, n = A.shape[-2:]
    if m < n:
        raise op_error(RuntimeError, name, f"{lead} input.shape[-2] must be greater than or "
                       "equal to input.shape[-1]", A._data)
    if tau.ndim != A.ndim - 1:
        raise op_error(RuntimeError, name, f"{lead} Expected tau to have one dimension less "
                       f"than input, but got tau.ndim equal to {tau.ndim} and input.ndim is "
                       f"equal to {A.ndim}", A._data, tau._data)
    k = tau.shape[-1]
    if n < k:
        raise op_error(RuntimeError, name, f"{lead} input.shape[-1] must be greater than or "
                       "equal to tau.shape[-1]", A._data, tau._data)
    if tuple(tau.shape[:-1]) != tuple(A.shape[:-2]):
        raise op_error(RuntimeError, name, f"{lead} Expected batch dimensions of tau to be "
                       f"equal to input.shape[:-2], but got {list(tau.shape[:-1])}",
                       A._data, tau._data)
    _check(name, A._data, "orgqr_cpu", square=False, float_first=False)
    if tau._data.dtype != A._data.dtype:
        raise op_error(RuntimeError, name, f"{lead} tau dtype {_dt.torch_name(tau._data.dtype)} "
                       f"does not match input dtype {_dt.torch_name(A._data.dtype)}",
                       A._data, tau._data)
    from .._creation import arange

    rows = arange(m)
    q = _eye(m, A, n).expand(tuple(A.shape))
    with autocast_exempt():
        for i in reversed(range(k)):  # H_1 (H_2 (… (H_k E)))
            v = where(rows > i, A[..., :, i], (rows == i).to(A.dtype)).unsqueeze(-1)
            q = q - tau[..., i, None, None] * v @ (v.mT @ q)
    return q


@tensor_method
def orgqr(input: Tensor, input2: Tensor) -> Tensor:
    """``torch.orgqr``: :func:`householder_product`."""
    return householder_product(input, input2)


# ---------------------------------------------------------------- eigh
def _eigh_shapes(shape: tuple, vectors: bool) -> tuple:
    values = shape[:-1]
    return (values, shape) if vectors else (values,)


def _eigh_forward(xp: Any, a: Any, UPLO: str, vectors: bool) -> Any:
    if vectors:
        return _pack(xp, xp.linalg.eigh(a, UPLO=UPLO), a.dtype)
    return xp.linalg.eigvalsh(a, UPLO=UPLO).reshape(-1)


def _eigh_meta(a: Any, UPLO: str, vectors: bool) -> tuple:
    _check("linalg.eigh", a, "linalg_eigh_cpu", float_first=False)
    return _packed_meta(_eigh_shapes(a.shape, vectors), a.dtype)


def _eigh_vjp(ctx: Any, g: Tensor) -> tuple:
    # gA = V (diag(gL) + F ∘ (V^T gV)) V^T with F_ij = 1 / (λ_j - λ_i) off the diagonal
    # (infinite for repeated eigenvalues, as in torch), symmetrized as torch returns it
    shapes = _eigh_shapes(ctx.shapes[0], True)
    (w, v), (gw, gv) = _unpack(ctx.out, shapes), _unpack(g, shapes)
    eye = _eye(w.shape[-1], w)
    gap = w.unsqueeze(-2) - w.unsqueeze(-1) + eye  # the diagonal (masked) must not divide by 0
    inner = _quotient((v.mT @ gv) * (1 - eye), gap) + diag_embed(gw)
    return (v @ (0.5 * (inner + inner.mT)) @ v.mT,)


EIGH = defop("linalg_eigh", _eigh_forward, _eigh_meta, _eigh_vjp, amp="fp32",
             save_inputs=False, save_output=True)


def _check_uplo(UPLO: str) -> str:
    if not isinstance(UPLO, str) or UPLO.upper() not in ("L", "U"):
        raise op_error(RuntimeError, "linalg.eigh", "Expected UPLO argument to be 'L' or 'U', "
                       f"but got {UPLO}")
    return UPLO.upper()


def eigh(A: Tensor, UPLO: str = "L") -> Eigh:
    """Eigenvalues (ascending) and orthonormal eigenvectors (columns) of each symmetric matrix
    in ``A``, reading its lower (``UPLO='L'``) or upper triangle. The eigenvectors' signs are
    arbitrary; the gradient is infinite where eigenvalues repeat."""
    A = require_tensor("linalg.eigh", A, "A")
    out = apply(EIGH, A, UPLO=_check_uplo(UPLO), vectors=True)
    return Eigh(*_unpack(out, _eigh_shapes(A.shape, True)))


def eigvalsh(A: Tensor, UPLO: str = "L") -> Tensor:
    """The eigenvalues (ascending) of each symmetric matrix in ``A`` (see :func:`eigh`)."""
    A = require_tensor("linalg.eigvalsh", A, "A")
    vectors = STATE.enabled and A.requires_grad  # only the gradient needs them
    out = apply(EIGH, A, UPLO=_check_uplo(UPLO), vectors=vectors)
    return _unpack(out, _eigh_shapes(A.shape, vectors))[0]


# ---------------------------------------------------------------- svd
def _svd_shapes(shape: tuple, full_matrices: bool) -> tuple:
    *batch, m, n = shape
    batch, k = tuple(batch), min(m, n)
    if full_matrices:
        return batch + (m, m), batch + (k,), batch + (n, n)
    return batch + (m, k), batch + (k,), batch + (k, n)


def _svd_forward(xp: Any, a: Any, full_matrices: bool) -> Any:
    return _pack(xp, xp.linalg.svd(a, full_matrices=full_matrices), a.dtype)


def _svd_meta(a: Any, full_matrices: bool) -> tuple:
    _check("linalg.svd", a, "linalg_svd_cpu", square=False)
    return _packed_meta(_svd_shapes(a.shape, full_matrices), a.dtype)


def _svd_vjp(ctx: Any, g: Tensor) -> tuple:
    # A = U S V^T: gA = U [(F ∘ J) S + S (F ∘ K) + diag(gS)] V^T + (I - U U^T) gU S^-1 V^T
    # + U S^-1 gV^T (I - V V^T), J = U^T gU - gU^T U, K likewise for V, F_ij = 1/(s_j² - s_i²).
    # The extra columns of full matrices do not enter (as torch: they are arbitrary).
    shapes = _svd_shapes(ctx.shapes[0], ctx.attrs["full_matrices"])
    (u, s, vh), (gu, gs, gvh) = _unpack(ctx.out, shapes), _unpack(g, shapes)
    m, n = ctx.shapes[0][-2:]
    k = min(m, n)
    u, gu, vh, gvh = u[..., :k], gu[..., :k], vh[..., :k, :], gvh[..., :k, :]
    v, gv = vh.mT, gvh.mT
    utgu, vtgv = u.mT @ gu, v.mT @ gv
    s2 = s * s
    gap = s2.unsqueeze(-2) - s2.unsqueeze(-1)
    inner = (_quotient(utgu - utgu.mT, gap) * s.unsqueeze(-2)
             + s.unsqueeze(-1) * _quotient(vtgv - vtgv.mT, gap) + diag_embed(gs))
    ga = u @ inner @ vh
    if m > k:
        ga = ga + _quotient(gu - u @ utgu, s.unsqueeze(-2)) @ vh
    if n > k:
        ga = ga + u @ _quotient(gv - v @ vtgv, s.unsqueeze(-2)).mT
    return (ga,)


SVD_OP = defop("linalg_svd", _svd_forward, _svd_meta, _svd_vjp, amp="fp32", save_inputs=False,
               save_output=True)


def svd(A: Tensor, full_matrices: bool = True, *, driver: Optional[str] = None) -> SVD:
    """The singular value decomposition ``A = U @ diag(S) @ Vh`` of each matrix in ``A``
    (``(*, m, n)``, ``k = min(m, n)``); ``S`` descending.

    Args:
        full_matrices: ``U`` is ``(m, m)`` and ``Vh`` ``(n, n)``; else ``(m, k)`` and ``(k, n)``.
        driver: CUDA-only in torch; must be None.

    The singular vectors' signs are arbitrary; the gradient is infinite where singular values
    repeat, and through ``U``/``Vh`` where one is zero.
    """
    A = require_tensor("linalg.svd", A, "A")
    if driver is not None:
        raise op_error(RuntimeError, "linalg.svd", "torch.linalg.svd: keyword argument "
                       "`driver=` is only supported on CUDA inputs with cuSOLVER backend.")
    out = apply(SVD_OP, A, full_matrices=bool(full_matrices))
    return SVD(*_unpack(out, _svd_shapes(A.shape, bool(full_matrices))))


@tensor_method(name="svd")
def legacy_svd(input: Tensor, some: bool = True, compute_uv: bool = True) -> SVDLegacy:
    """``torch.svd``: ``(U, S, V)`` with ``V`` (not ``Vh``), reduced when ``some``; with
    ``compute_uv=False``, ``U`` and ``V`` are zero ``(m, m)``/``(n, n)`` matrices."""
    (a,) = autocast_args(SVD_OP, require_tensor("svd", input))
    if compute_uv:
        u, s, vh = svd(a, full_matrices=not some)
        return SVDLegacy(u, s, vh.mT)
    _check("linalg.svd", a._data, "linalg_svd_cpu", square=False)
    *batch, m, n = a.shape
    return SVDLegacy(a.new_zeros(tuple(batch) + (m, m)), svdvals(a),
                     a.new_zeros(tuple(batch) + (n, n)))


# ---------------------------------------------------------------- lu
_LU_ZERO = ("U[{k},{k}] is zero and using it on lu_solve would result in a division by zero. "
            "If you still want to perform the factorization, consider calling linalg.lu(A, "
            "pivot) or linalg.lu_factor_ex(A, pivot)")


def _lu_arrays(a: Any) -> tuple:
    """LU with partial pivoting (LAPACK's getrf: the largest pivot, the first among equals):
    ``(LU, pivots, info)``, pivots 1-based int32, info the first zero pivot (1-based) or 0."""
    *batch, m, n = a.shape
    k = min(m, n)
    lu = np.array(a, copy=True).reshape((math.prod(batch), m, n))
    pivots = np.zeros((lu.shape[0], k), _INT32)
    info = np.zeros(lu.shape[0], _INT32)
    rows = np.arange(lu.shape[0])
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for j in range(k):
            p = j + np.argmax(np.abs(lu[:, j:, j]), axis=1)
            pivots[:, j] = p + 1
            lu[rows, j], lu[rows, p] = lu[rows, p], lu[rows, j]
            d = lu[:, j, j]
            info[(info == 0) & (d == 0)] = j + 1
            lu[:, j + 1:, j] /= np.where(d == 0, 1, d)[:, None]
            lu[:, j + 1:, j + 1:] -= lu[:, j + 1:, j, None] * lu[:, j, None, j + 1:]
    batch = tuple(batch)
    return lu.reshape(a.shape), pivots.reshape(batch + (k,)), info.reshape(batch)


def _lu_shapes(shape: tuple) -> tuple:
    return shape, shape[:-2] + (min(shape[-2:]),), shape[:-2]


def _lu_forward(xp: Any, a: Any, check_errors: bool, name: str) -> Any:
    lu, pivots, info = _lu_arrays(a)
    if check_errors and info.any():
        prefix, k = _first_failure(info)
        raise op_error(RuntimeError, name, f"torch.{name}: {prefix}{_LU_ZERO.format(k=k)}", a)
    return _pack(xp, (lu, pivots, info), a.dtype)


def _lu_meta(a: Any, check_errors: bool, name: str) -> tuple:
    _check("linalg.lu_factor", a, "lu_cpu", square=False)
    return _packed_meta(_lu_shapes(a.shape), a.dtype)


def _lu_square_grad(lower: Tensor, upper: Tensor, glower: Tensor, gupper: Tensor) -> Tensor:
    """A = L U (square, L unit lower): gA = L^-T (tril(L^T gL, -1) + triu(gU U^T)) U^-T."""
    inner = (lower.mT @ glower).tril(-1) + (gupper @ upper.mT).triu()
    left = solve_triangular(lower.mT, inner, upper=True, unitriangular=True)
    return solve_triangular(upper.mT, left, upper=False, left=False)


def _lu_vjp(ctx: Any, g: Tensor) -> tuple:
    shapes = _lu_shapes(ctx.shapes[0])
    (lu_data, pivots, _), (glu, _, _) = _unpack(ctx.out, shapes), _unpack(g, shapes)
    m, n = lu_data.shape[-2:]
    k = min(m, n)
    p, lower, upper = lu_unpack(lu_data, to_dtype(pivots.detach(), _INT32))
    glower, gupper = glu[..., :k].tril(-1), glu[..., :k, :].triu()
    if m > n:  # tall: the rows below the square part, L2 = A2 U^-1
        l1, l2 = lower[..., :k, :], lower[..., k:, :]
        gl1, gl2 = glower[..., :k, :], glower[..., k:, :]
        ga2 = solve_triangular(upper.mT, gl2, upper=False, left=False)
        ga = cat([_lu_square_grad(l1, upper, gl1, gupper - l2.mT @ ga2), ga2], -2)
    elif m < n:  # wide: the columns right of the square part, U2 = L^-1 A2
        u1, u2, gu1, gu2 = upper[..., :k], upper[..., k:], gupper[..., :k], gupper[..., k:]
        ga2 = solve_triangular(lower.mT, gu2, upper=True, unitriangular=True)
        ga = cat([_lu_square_grad(lower, u1, glower - ga2 @ u2.mT, gu1), ga2], -1)
    else:
        ga = _lu_square_grad(lower, upper, glower, gupper)
    return (p @ ga,)


LU_FACTOR = defop("linalg_lu_factor_ex", _lu_forward, _lu_meta, _lu_vjp, amp="fp32",
                  save_inputs=False, save_output=True)


def _permutation_forward(xp: Any, pivots: Any, m: int) -> Any:
    """The row order ``perm`` with ``P^T A = A[perm]``: pivots' row swaps applied in turn."""
    batch, k = pivots.shape[:-1], pivots.shape[-1]
    perm = np.tile(np.arange(m), (math.prod(batch), 1))
    swaps = pivots.reshape((perm.shape[0], k)).astype(np.int64) - 1
    rows = np.arange(perm.shape[0])
    for i in range(k):
        j = swaps[:, i]
        perm[rows, i], perm[rows, j] = perm[rows, j], perm[rows, i]
    return perm.reshape(batch + (m,))


PERMUTATION = defop("lu_pivots_to_permutation", _permutation_forward,
                    lambda pivots, m: (pivots.shape[:-1] + (m,), np.dtype(np.int64)))


def _factor_parts(name: str, A: Tensor, pivot: bool, check_errors: bool) -> list:
    A = require_tensor(name, A, "A")
    if not pivot:
        raise op_error(RuntimeError, name, "linalg.lu_factor: LU without pivoting is not "
                       "implemented on the CPU")
    out = apply(LU_FACTOR, A, check_errors=check_errors, name=name)
    lu, pivots, info = _unpack(out, _lu_shapes(A.shape))
    return [lu, to_dtype(pivots.detach(), _INT32), to_dtype(info.detach(), _INT32)]


def lu_factor(A: Tensor, *, pivot: bool = True) -> LUFactor:
    """The LU decomposition with partial pivoting ``A = P L U`` of each matrix in ``A``
    (``(*, m, n)``), packed as LAPACK's getrf: ``(LU, pivots)``, ``L`` (unit diagonal, not
    stored) below ``LU``'s diagonal, ``U`` on and above, ``pivots`` (int32, 1-based) the row
    swaps. Raises when a matrix is singular (see :func:`lu_factor_ex`)."""
    return LUFactor(*_factor_parts("linalg.lu_factor", A, pivot, True)[:2])


def lu_factor_ex(A: Tensor, *, pivot: bool = True, check_errors: bool = False) -> LUFactorEx:
    """:func:`lu_factor` with ``info`` (int32): the first zero pivot (1-based) of each matrix,
    else 0, instead of raising."""
    return LUFactorEx(*_factor_parts("linalg.lu_factor_ex", A, pivot, check_errors))


def lu_unpack(LU_data: Tensor, LU_pivots: Tensor, unpack_data: bool = True,
              unpack_pivots: bool = True) -> PLU:
    """``(P, L, U)`` from :func:`lu_factor`'s packed output; a part not unpacked is empty."""
    name = "lu_unpack"
    lu, pivots = require_tensor(name, LU_data, "LU_data"), require_tensor(name, LU_pivots,
                                                                          "LU_pivots")
    m, n = lu.shape[-2:]
    k = min(m, n)
    empty = lu.new_zeros((0,))
    p = lower = upper = empty
    if unpack_pivots:
        from .._creation import arange

        perm = apply(PERMUTATION, pivots, m=m)
        p = to_dtype(arange(m).unsqueeze(-1) == perm.unsqueeze(-2), lu._data.dtype)
    if unpack_data:
        lower = lu[..., :k].tril(-1) + _eye(m, lu, k)
        upper = lu[..., :k, :].triu()
    return PLU(p, lower, upper)


def lu(A: Tensor, *, pivot: bool = True) -> PLU:
    """The LU decomposition ``A = P @ L @ U`` of each matrix in ``A`` (``(*, m, n)``): ``P``
    ``(m, m)`` a permutation, ``L`` ``(m, k)`` unit lower-triangular, ``U`` ``(k, n)``."""
    lu_data, pivots, _ = _factor_parts("linalg.lu", A, pivot, False)
    return lu_unpack(lu_data, pivots)


@tensor_method(name="lu")
def legacy_lu(A: Tensor, pivot: bool = True, get_infos: bool = False) -> tuple:
    """``torch.lu``: ``(LU, pivots)``, or ``(LU, pivots, info)`` with ``get_infos``."""
    parts = _factor_parts("linalg.lu_factor", A, pivot, False)
    return LUFactorEx(*parts) if get_infos else tuple(parts[:2])


def lu_solve(LU: Tensor, pivots: Tensor, B: Tensor, *, left: bool = True,
             adjoint: bool = False) -> Tensor:
    """``X`` with ``A X = B`` from :func:`lu_factor`'s output (``A^T X = B`` with
    ``adjoint``; ``X A = B`` when ``left=False``): triangular solves, differentiated as such."""
    name = "linalg.lu_solve"
    LU, B = require_tensor(name, LU, "LU"), require_tensor(name, B, "B")
    pivots = require_tensor(name, pivots, "pivots")
    _check(name, LU._data, "linalg.lu_solve_cpu")
    if B.ndim < 2:
        raise op_error(RuntimeError, name, f"{name}: The input tensor B must have at least 2 "
                       "dimensions.", LU._data, B._data)
    n = LU.shape[-1]
    if (B.shape[-2] if left else B.shape[-1]) != n:
        eq = "AX = B" if left else "XA = B"
        raise op_error(RuntimeError, name, f"{name}: Incompatible shapes of A and B for the "
                       f"equation {eq} ({n}x{n} and {B.shape[-2]}x{B.shape[-1]})",
                       LU._data, B._data)
    if B._data.dtype != LU._data.dtype:
        raise op_error(RuntimeError, name, f"{name}: Expected LU and B to have the same dtype, "
                       f"but found LU of type {_dt.torch_name(LU._data.dtype)} and B of type "
                       f"{_dt.torch_name(B._data.dtype)} instead", LU._data, B._data)
    if pivots._data.dtype != _INT32:
        raise op_error(RuntimeError, name, f"{name}: pivots should be a Tensor of scalar type "
                       "torch.int32", pivots._data)
    if pivots.ndim == 0 or pivots.shape[-1] != n:
        raise op_error(RuntimeError, name, f"{name}: Number of pivots per batch should be same as "
                       "the dimension of the matrix", LU._data, pivots._data)
    if tuple(pivots.shape) != tuple(LU.shape[:-1]):
        raise op_error(RuntimeError, name, f"{name}: Expected LU.shape[:-1] and pivots.shape to "
                       f"be the same, but got pivots with shape {list(pivots.shape)} instead",
                       LU._data, pivots._data)
    if not left:  # X A = B  <=>  A^T X^T = B^T
        return lu_solve(LU, pivots, B.mT, adjoint=not adjoint).mT
    p, _, _ = lu_unpack(LU, pivots, unpack_data=False)
    if adjoint:  # A^T = U^T L^T P^T
        y = solve_triangular(LU.mT, B, upper=False)
        return p @ solve_triangular(LU.mT, y, upper=True, unitriangular=True)
    y = solve_triangular(LU, p.mT @ B, upper=False, unitriangular=True)
    return solve_triangular(LU, y, upper=True)


@tensor_method(name="lu_solve")
def legacy_lu_solve(input: Tensor, LU_data: Tensor, LU_pivots: Tensor) -> Tensor:
    """``torch.lu_solve(b, LU_data, LU_pivots)``: :func:`lu_solve` with ``b`` first."""
    return lu_solve(LU_data, LU_pivots, input)
