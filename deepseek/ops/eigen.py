"""``torch.linalg``'s eig and eigvals (any square matrix; complex results) and the Bunch-Kaufman
LDL factorization of symmetric or Hermitian matrices (ldl_factor, ldl_factor_ex, ldl_solve), on
real and complex dtypes."""

from __future__ import annotations

import math
from collections import namedtuple
from typing import Any, Callable

import numpy as np

from .. import dtypes as _dt
from .._errors import op_error
from ..autograd.grad_mode import STATE
from ..tensor import Tensor
from ._common import LOWP, broadcast_shapes, is_float, require_tensor
from ._opdef import apply, defop
from .complex import complex as _complex, real
from .decompositions import _eye, _first_failure, _pack, _packed_meta, _quotient, _unpack
from .elementwise import to_dtype
from .linalg import _Shape, solve
from .movement import cat, diag_embed

_INT32 = np.dtype(np.int32)
_ALPHA = (1 + math.sqrt(17)) / 8  # Bunch-Kaufman's pivot threshold (LAPACK's sytf2)

Eig = namedtuple("Eig", ["eigenvalues", "eigenvectors"])
LDLFactor = namedtuple("LDLFactor", ["LD", "pivots"])
LDLFactorEx = namedtuple("LDLFactorEx", ["LD", "pivots", "info"])


def _check_square(name: str, a: Any, lead: str) -> None:
    """torch's checks in its order: at least 2 dims, square, a floating or complex dtype."""
    if a.ndim < 2:
        raise op_error(RuntimeError, name, f"{lead}: The input tensor A must have at least 2 "
                       "dimensions.", a)
    if a.shape[-1] != a.shape[-2]:
        raise op_error(RuntimeError, name, f"{lead}: A must be batches of square matrices, but "
                       f"they are {a.shape[-2]} by {a.shape[-1]} matrices", a)
    if not (is_float(a.dtype) or a.dtype.kind == "c"):
        raise op_error(RuntimeError, name, f"{lead}: Expected a floating point or complex tensor "
                       f"as input. Got {_dt.torch_name(a.dtype)}", a)


def _check_kernel(name: str, a: Any, kernel: str) -> None:
    """The kernels' own dtypes, checked last: no float16/bfloat16."""
    if a.dtype in LOWP:
        raise op_error(NotImplementedError, name, f"\"{kernel}\" not implemented for "
                       f"'{_dt.torch_name(a.dtype)}'", a)


def _not_differentiable(name: str, aten: str) -> Callable:
    """A vjp that fails as torch's backward does for an op without a derivative."""

    def vjp(ctx: Any, g: Tensor) -> tuple:
        raise op_error(RuntimeError, name, f"derivative for aten::{aten} is not implemented")

    return vjp


# ---------------------------------------------------------------- eig
def _eig_shapes(shape: tuple, vectors: bool) -> tuple:
    return (shape[:-1], shape) if vectors else (shape[:-1],)


def _complex_of(d: np.dtype) -> np.dtype:
    return _dt.from_numpy_dtype(d).to_complex().np


def _eig_forward(xp: Any, a: Any, vectors: bool, name: str) -> Any:
    if not xp.isfinite(a).all():
        raise op_error(RuntimeError, name, f"torch.{name}: input tensor should not contain infs "
                       "or NaNs.", a)
    if vectors:
        return _pack(xp, xp.linalg.eig(a), _complex_of(a.dtype))
    return xp.linalg.eigvals(a).astype(_complex_of(a.dtype)).reshape(-1)


def _eig_meta(a: Any, vectors: bool, name: str) -> tuple:
    if a.dtype.kind in "biu":
        raise op_error(RuntimeError, name, "Unknown Complex ScalarType for "
                       f"{_dt.torch_name(a.dtype)}", a)
    _check_square(name, a, name)
    _check_kernel(name, a, "linalg_eig_out_cpu")
    return _packed_meta(_eig_shapes(a.shape, vectors), _complex_of(a.dtype))


def _solve_complex(a: Tensor, b: Tensor) -> Tensor:
    """``X`` with ``A X = B`` for complex ``A``, ``B``: the real system
    ``[[Re A, -Im A], [Im A, Re A]] [Re X; Im X] = [Re B; Im B]`` (``linalg.solve`` is real)."""
    ar, ai = a.real, a.imag
    x = solve(cat([cat([ar, -ai], -1), cat([ai, ar], -1)], -2), cat([b.real, b.imag], -2))
    n = a.shape[-1]
    return _complex(x[..., :n, :], x[..., n:, :])


def _eig_vjp(ctx: Any, g: Tensor) -> tuple:
    # torch's formula: gA = V^-H (diag(gL) + (V^H gV - V^H V Re(diag(V^H gV))) / conj(E)) V^H,
    # E_ij = L_j - L_i off the diagonal (infinite for repeated eigenvalues, as in torch); a real
    # A gets the real part (the engine takes it).
    shapes = _eig_shapes(ctx.shapes[0], True)
    (w, v), (gw, gv) = _unpack(ctx.out, shapes), _unpack(g, shapes)
    vh = v.mH
    vhgv = vh @ gv
    diag = vhgv.diagonal(0, -2, -1)
    # a loss that depends on the eigenvectors' phases (v -> v e^{i phi}) has no gradient: torch
    # raises where Im(diag(V^H gV)), zero for a phase-invariant loss, is not (allclose at 1e-2)
    if not np.all(np.abs(diag.imag._data) <= 1e-2):
        raise op_error(RuntimeError, "linalg.eig", "linalg_eig_backward: The eigenvectors in the "
                       "complex case are specified up to multiplication by e^{i phi}. The "
                       "specified loss function depends on this quantity, so it is ill-defined.")
    eye = _eye(w.shape[-1], w)
    wc = w.conj()
    gap = wc.unsqueeze(-2) - wc.unsqueeze(-1) + eye  # the diagonal (masked) must not divide by 0
    inner = (vhgv - vh @ (v * diag.real.unsqueeze(-2))) * (1 - eye)
    inner = _quotient(inner, gap) + diag_embed(gw)
    return (_solve_complex(vh, inner @ vh),)


EIG = defop("linalg_eig", _eig_forward, _eig_meta, _eig_vjp, amp="fp32", save_inputs=False,
            save_output=True, complex=True)


def eig(A: Tensor) -> Eig:
    """The eigenvalues and (right) eigenvectors of each square matrix in ``A``
    (``(*, n, n)``): ``A @ V = V @ diag(L)``, both complex (complex64 for float32 input,
    complex128 for float64), each eigenvector of unit norm with its largest component real, in
    LAPACK's (geev) order.

    The eigenvectors are unique only up to a phase ``e^{i phi}``: backward raises when the loss
    depends on it, and the gradient is infinite where eigenvalues repeat. Raises when ``A``
    holds infs or NaNs.

    Example:
        >>> deepseek.linalg.eig(deepseek.tensor([[2., 0.], [0., 3.]])).eigenvalues
        tensor([2.+0.j, 3.+0.j])
    """
    A = require_tensor("linalg.eig", A, "A")
    out = apply(EIG, A, vectors=True, name="linalg.eig")
    return Eig(*_unpack(out, _eig_shapes(A.shape, True)))


def eigvals(A: Tensor) -> Tensor:
    """The eigenvalues of each square matrix in ``A``, complex, in :func:`eig`'s order."""
    A = require_tensor("linalg.eigvals", A, "A")
    vectors = STATE.enabled and A.requires_grad  # only the gradient needs them
    # with them torch runs (and names its errors) linalg.eig
    out = apply(EIG, A, vectors=vectors, name="linalg.eig" if vectors else "linalg.eigvals")
    return _unpack(out, _eig_shapes(A.shape, vectors))[0]


# ---------------------------------------------------------------- ldl
def _bunch_kaufman(a: np.ndarray, pivots: np.ndarray, hermitian: bool) -> int:
    """LAPACK's sytf2/hetf2 (lower): ``a`` (one matrix) becomes ``L`` and ``D`` packed, only its
    lower triangle read or meaningful; fills ``pivots`` and returns ``info``. The trailing
    updates cover the whole trailing block, whose upper triangle nothing reads."""
    n = a.shape[-1]
    alpha = np.finfo(a.dtype).dtype.type(_ALPHA)  # compared in the matrix's precision
    conj = np.conj if hermitian else (lambda x: x)

    def mag(x: Any) -> Any:  # LAPACK's |re| + |im| for complex (i?amax)
        return np.abs(x.real) + np.abs(x.imag) if a.dtype.kind == "c" else np.abs(x)

    def diag_mag(x: Any) -> Any:  # a Hermitian diagonal is real
        return abs(x.real) if hermitian else mag(x)

    diagonal = np.arange(n)
    info, k = 0, 0
    while k < n:
        if hermitian:  # real, as LAPACK makes each diagonal entry it reaches or updates
            a[diagonal[k:], diagonal[k:]] = a[diagonal[k:], diagonal[k:]].real
        step, absakk = 1, diag_mag(a[k, k])
        imax, colmax = k, 0.0
        if k + 1 < n:
            column = mag(a[k + 1:, k])
            imax = k + 1 + int(np.argmax(column))
            colmax = column[imax - k - 1]
        if np.fmax(absakk, colmax) == 0:  # a zero column: recorded, and left unpivoted
            info, kp = info or k + 1, k
        else:
            kp = k
            if absakk < alpha * colmax:
                rowmax = np.max(mag(a[imax, k:imax]))
                if imax + 1 < n:
                    rowmax = max(rowmax, np.max(mag(a[imax + 1:, imax])))
                if absakk >= alpha * colmax * (colmax / rowmax):
                    kp = k
                elif diag_mag(a[imax, imax]) >= alpha * rowmax:
                    kp = imax
                else:
                    kp, step = imax, 2
            kk = k + step - 1
            if kp != kk:  # swap rows and columns kk and kp of the lower trailing triangle
                a[kp + 1:, [kk, kp]] = a[kp + 1:, [kp, kk]]
                between = a[kk + 1:kp, kk].copy()
                a[kk + 1:kp, kk] = conj(a[kp, kk + 1:kp])
                a[kp, kk + 1:kp] = conj(between)
                a[kp, kk] = conj(a[kp, kk])
                a[kk, kk], a[kp, kp] = a[kp, kp], a[kk, kk]
                if step == 2:
                    a[k + 1, k], a[kp, k] = a[kp, k], a[k + 1, k]
            rest = slice(k + step, n)
            x = a[rest, k].copy()
            if step == 1:  # A22 -= x x^T / d, L = x / d
                d11 = 1 / a[k, k]
                a[rest, rest] -= np.outer(x, conj(d11 * x))
                a[rest, k] = x * d11
            else:  # A22 -= X D^-1 X^T with D the 2x2 block, L = X D^-1
                y = a[rest, k + 1].copy()
                if hermitian:
                    d = abs(a[k + 1, k])
                    d11, d22, d21 = a[k + 1, k + 1].real / d, a[k, k].real / d, a[k + 1, k] / d
                    d = 1 / (d11 * d22 - 1) / d
                    wk, wk1 = d * (d11 * x - d21 * y), d * (d22 * y - np.conj(d21) * x)
                else:
                    d21 = a[k + 1, k]
                    d11, d22 = a[k + 1, k + 1] / d21, a[k, k] / d21
                    d21 = 1 / (d11 * d22 - 1) / d21
                    wk, wk1 = d21 * (d11 * x - y), d21 * (d22 * y - x)
                a[rest, rest] -= np.outer(x, conj(wk)) + np.outer(y, conj(wk1))
                a[rest, k], a[rest, k + 1] = wk, wk1
        pivots[k:k + step] = kp + 1 if step == 1 else -(kp + 1)
        k += step
    return info


def _ldl_shapes(shape: tuple) -> tuple:
    return shape, shape[:-1], shape[:-2]


def _ldl_forward(xp: Any, a: Any, hermitian: bool, check_errors: bool, name: str) -> Any:
    n, batch = a.shape[-1], a.shape[:-2]
    ld = np.array(a, copy=True).reshape((math.prod(batch), n, n))
    pivots = np.zeros(ld.shape[:2], _INT32)
    info = np.zeros(ld.shape[0], _INT32)
    hermitian = hermitian and a.dtype.kind == "c"
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for i in range(ld.shape[0]):
            info[i] = _bunch_kaufman(ld[i], pivots[i], hermitian)
    info = info.reshape(batch)
    if check_errors and info.any():
        prefix, k = _first_failure(info)
        raise op_error(RuntimeError, name, f"torch.{name}: {prefix}D[{k},{k}] is exactly zero: "
                       "the matrix is singular and ldl_solve would divide by zero (LAPACK's "
                       f"info {k}). Call linalg.ldl_factor_ex to factor it anyway", a)
    return _pack(xp, (np.tril(ld).reshape(a.shape), pivots.reshape(batch + (n,)), info), a.dtype)


def _ldl_meta(a: Any, hermitian: bool, check_errors: bool, name: str) -> tuple:
    _check_square(name, a, "torch.linalg.ldl_factor_ex")
    _check_kernel(name, a, "ldl_factor_kernel_cpu")
    return _packed_meta(_ldl_shapes(a.shape), a.dtype)


LDL_FACTOR = defop("linalg_ldl_factor_ex", _ldl_forward, _ldl_meta,
                   _not_differentiable("linalg.ldl_factor", "linalg_ldl_factor_ex"),
                   save_inputs=False, complex=True)


def _ldl(name: str, A: Tensor, hermitian: bool, check_errors: bool) -> list:
    A = require_tensor(name, A, "A")
    out = apply(LDL_FACTOR, A, hermitian=bool(hermitian), check_errors=check_errors, name=name)
    ld, pivots, info = _unpack(out, _ldl_shapes(A.shape))
    return [ld, to_dtype(real(pivots.detach()), _INT32), to_dtype(real(info.detach()), _INT32)]


def ldl_factor(A: Tensor, *, hermitian: bool = False) -> LDLFactor:
    """The LDL factorization ``A = L D L^T`` (``L D L^H`` with ``hermitian=True``) of each
    symmetric (or Hermitian) matrix in ``A`` (``(*, n, n)``, only its lower triangle read), with
    Bunch-Kaufman pivoting, packed as LAPACK's sytrf: ``(LD, pivots)`` for :func:`ldl_solve`.
    ``LD`` holds ``D`` (1x1 and 2x2 blocks) and ``L`` below it; ``pivots`` (int32, 1-based) the
    row swaps, negative for the rows of a 2x2 block. Raises when a pivot is zero (see
    :func:`ldl_factor_ex`). Not differentiable (as in torch: backward raises).

    Example:
        >>> deepseek.linalg.ldl_factor(deepseek.tensor([[4., 2.], [2., 3.]])).LD
        tensor([[4.0000, 0.0000],
                [0.5000, 2.0000]])
    """
    return LDLFactor(*_ldl("linalg.ldl_factor", A, hermitian, True)[:2])


def ldl_factor_ex(A: Tensor, *, hermitian: bool = False,
                  check_errors: bool = False) -> LDLFactorEx:
    """:func:`ldl_factor` with ``info`` (int32, one per matrix): the first zero pivot of ``D``
    (1-based), else 0, instead of raising."""
    return LDLFactorEx(*_ldl("linalg.ldl_factor_ex", A, hermitian, check_errors))


def _ldl_substitute(ld: np.ndarray, pivots: np.ndarray, x: np.ndarray, hermitian: bool) -> None:
    """LAPACK's sytrs/hetrs (lower): ``x`` (``(n, k)``) becomes ``A^-1 x`` in place."""
    n = ld.shape[-1]
    conj = np.conj if hermitian else (lambda v: v)
    swaps = np.abs(pivots) - 1
    k = 0
    while k < n:  # L D y = P^T x
        two = int(pivots[k] < 0)
        row = k + two
        x[[row, swaps[k]]] = x[[swaps[k], row]]
        rest = slice(k + 1 + two, n)
        x[rest] -= np.outer(ld[rest, k], x[k])
        if two:
            x[rest] -= np.outer(ld[rest, k + 1], x[k + 1])
            off = ld[k + 1, k]
            d11, d22 = ld[k, k] / conj(off), ld[k + 1, k + 1] / off
            det = d11 * d22 - 1
            b1, b2 = x[k] / conj(off), x[k + 1] / off
            x[k], x[k + 1] = (d22 * b1 - b2) / det, (d11 * b2 - b1) / det
        else:
            x[k] *= 1 / (ld[k, k].real if hermitian else ld[k, k])
        k += 1 + two
    k = n - 1
    while k >= 0:  # L^T P^T z = y
        two = int(pivots[k] < 0)
        rest = slice(k + 1, n)
        x[k] -= conj(ld[rest, k]) @ x[rest]
        if two:
            x[k - 1] -= conj(ld[rest, k - 1]) @ x[rest]
        x[[k, swaps[k]]] = x[[swaps[k], k]]
        k -= 1 + two


def _ldl_solve_forward(xp: Any, ld: Any, pivots: Any, b: Any, hermitian: bool) -> Any:
    n = ld.shape[-1]
    if np.any((pivots == 0) | (np.abs(pivots) > n)):
        raise op_error(RuntimeError, "linalg.ldl_solve", f"torch.linalg.ldl_solve: pivots must "
                       f"lie in [-{n}, -1] or [1, {n}], as linalg.ldl_factor returns them",
                       ld, pivots)
    batch = np.broadcast_shapes(ld.shape[:-2], b.shape[:-2])
    x = np.array(np.broadcast_to(b, batch + b.shape[-2:]), copy=True)
    ld = np.broadcast_to(ld, batch + ld.shape[-2:])
    pivots = np.broadcast_to(pivots, batch + (n,))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for i in np.ndindex(batch):
            _ldl_substitute(ld[i], pivots[i], x[i], hermitian)
    return x


def _ldl_solve_meta(ld: Any, pivots: Any, b: Any, hermitian: bool) -> tuple:
    name, lead = "linalg.ldl_solve", "torch.linalg.ldl_solve"
    _check_square(name, ld, lead)
    if b.dtype != ld.dtype:
        raise op_error(RuntimeError, name, "Expected b and A to have the same dtype, but found b "
                       f"of type {_dt.torch_name(b.dtype)} and A of type "
                       f"{_dt.torch_name(ld.dtype)} instead.", ld, b)
    if b.ndim < 2:
        dims = max(b.ndim, 1)
        raise op_error(IndexError, name, f"Dimension out of range (expected to be in range of "
                       f"[{-dims}, {dims - 1}], but got -2)", ld, b)
    n = ld.shape[-1]
    if b.shape[-2] != n:
        raise op_error(RuntimeError, name, f"Incompatible matrix sizes for {lead}: each A matrix "
                       f"is {n} by {n} but each b matrix is {b.shape[-2]} by {b.shape[-1]}",
                       ld, b)
    if pivots.shape != ld.shape[:-1]:
        raise op_error(RuntimeError, name, f"{lead}: Expected LD.shape[:-1] and pivots.shape to "
                       f"be the same, but got pivots with shape {list(pivots.shape)} instead",
                       ld, pivots)
    if pivots.dtype.kind not in "iu":
        raise op_error(RuntimeError, name, f"{lead}: Expected pivots to be integers. Got "
                       f"{_dt.torch_name(pivots.dtype)}", pivots)
    _check_kernel(name, ld, "ldl_solve_kernel_cpu")
    batch = broadcast_shapes(name, _Shape(b.shape[:-2]), _Shape(ld.shape[:-2]))
    return batch + b.shape[-2:], b.dtype


LDL_SOLVE = defop("linalg_ldl_solve", _ldl_solve_forward, _ldl_solve_meta,
                  _not_differentiable("linalg.ldl_solve", "linalg_ldl_solve"),
                  save_inputs=False, complex=True)


def ldl_solve(LD: Tensor, pivots: Tensor, B: Tensor, *, hermitian: bool = False) -> Tensor:
    """``X`` with ``A @ X = B`` from :func:`ldl_factor`'s ``(LD, pivots)`` of ``A`` (pass the
    same ``hermitian``); batch dims broadcast. Not differentiable (as in torch)."""
    name = "linalg.ldl_solve"
    LD, B = require_tensor(name, LD, "LD"), require_tensor(name, B, "B")
    return apply(LDL_SOLVE, LD, require_tensor(name, pivots, "pivots"), B,
                 hermitian=bool(hermitian))
