"""Reductions and scans: sum, mean, var, amax/amin, arg reductions, logsumexp, cumsum, all/any."""

from __future__ import annotations

import builtins
from typing import Any, Optional

import numpy as np

from .. import dtypes as _dt
from .._errors import op_error
from ..tensor import Tensor
from ._common import BOOL, INT64, LOWP, is_float, require_tensor, wrap_dim, wrap_dims
from ._opdef import apply, defop, tensor_method
from .elementwise import to_dtype

_F32 = np.dtype(np.float32)


def reduced_shape(shape: tuple, dims: tuple, keepdim: bool) -> tuple:
    if keepdim:
        return tuple(1 if i in dims else n for i, n in enumerate(shape))
    return tuple(n for i, n in enumerate(shape) if i not in dims)


def _acc_dtype(d: np.dtype) -> np.dtype:
    return _F32 if d in LOWP else d


def expand_back(g: Tensor, shape: tuple, dims: tuple, keepdim: bool) -> Tensor:
    """A reduced gradient broadcast back over the reduced dims of ``shape``."""
    if not keepdim:
        g = g.reshape(reduced_shape(shape, dims, True))
    return g.expand(shape)


def _reduce_meta(name: str, float_only: bool = False, out: Optional[np.dtype] = None):
    def meta(x: Any, dims: tuple, keepdim: bool, **attrs: Any) -> tuple:
        if float_only and not is_float(x.dtype):
            raise op_error(RuntimeError, name, f"{name}(): could not infer output dtype. Input "
                           "dtype must be either a floating point or complex dtype. Got: "
                           f"{_dt.from_numpy_dtype(x.dtype).name}", x)
        return reduced_shape(x.shape, dims, keepdim), out or x.dtype

    return meta


# ---------------------------------------------------------------- sum / mean / prod
def _sum_forward(xp: Any, x: Any, dims: tuple, keepdim: bool) -> Any:
    acc = _acc_dtype(x.dtype)
    return x.sum(axis=dims, keepdims=keepdim, dtype=acc).astype(x.dtype, copy=False)


def _sum_vjp(ctx: Any, g: Tensor) -> tuple:
    return (expand_back(g, ctx.shapes[0], ctx.attrs["dims"], ctx.attrs["keepdim"]),)


SUM = defop("sum", _sum_forward, _reduce_meta("sum"), _sum_vjp, kind="reduce", amp="fp32",
            save_inputs=False)


def _reduction_input(name: str, input: Any, dtype: Any) -> Tensor:
    x = require_tensor(name, input)
    if dtype is not None:
        x = to_dtype(x, dtype)
    return x


@tensor_method
def sum(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """Sum over ``dim`` (all dims when None); integer and bool inputs sum as int64."""
    x = _reduction_input("sum", input, dtype)
    if dtype is None and not is_float(x._data.dtype):
        x = to_dtype(x, INT64)
    return apply(SUM, x, dims=wrap_dims("sum", dim, x.ndim), keepdim=bool(keepdim))


def _mean_forward(xp: Any, x: Any, dims: tuple, keepdim: bool) -> Any:
    acc = _acc_dtype(x.dtype)
    return x.mean(axis=dims, keepdims=keepdim, dtype=acc).astype(x.dtype, copy=False)


def _count(shape: tuple, dims: tuple) -> int:
    n = 1
    for d in dims:
        n *= shape[d]
    return n


def _mean_vjp(ctx: Any, g: Tensor) -> tuple:
    shape, dims = ctx.shapes[0], ctx.attrs["dims"]
    n = _count(shape, dims)
    return (expand_back(g / n if n else g * np.nan, shape, dims, ctx.attrs["keepdim"]),)


MEAN = defop("mean", lambda xp, x, dims, keepdim: _quiet_mean(x, dims, keepdim),
             _reduce_meta("mean", float_only=True), _mean_vjp, kind="reduce", amp="fp32",
             save_inputs=False)


def _quiet_mean(x: Any, dims: tuple, keepdim: bool) -> Any:
    with np.errstate(all="ignore"):
        return _mean_forward(np, x, dims, keepdim)


@tensor_method
def mean(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """Arithmetic mean over ``dim`` (floating-point inputs only, as in PyTorch)."""
    x = _reduction_input("mean", input, dtype)
    return apply(MEAN, x, dims=wrap_dims("mean", dim, x.ndim), keepdim=bool(keepdim))


def _prod_forward(xp: Any, x: Any, dims: tuple, keepdim: bool) -> Any:
    return x.prod(axis=dims, keepdims=keepdim, dtype=_acc_dtype(x.dtype)).astype(x.dtype)


def _prod_vjp(ctx: Any, g: Tensor) -> tuple:
    (x,) = ctx.inputs
    dims, keepdim = ctx.attrs["dims"], ctx.attrs["keepdim"]
    # product of the others, exact with zeros: exclusive cumprods from both sides per dim
    if len(dims) != 1:
        flat = x.reshape(-1) if len(dims) == x.ndim else None
        if flat is None:
            raise op_error(NotImplementedError, "prod", "backward over several dims")
        others = _prod_of_others(flat, 0).reshape(x.shape)
    else:
        others = _prod_of_others(x, dims[0])
    return (expand_back(g, x.shape, dims, keepdim) * others,)


def _prod_of_others(x: Tensor, dim: int) -> Tensor:
    from .movement import cat, narrow

    n = x.shape[dim]
    ones = x.new_ones(tuple(1 if i == dim else s for i, s in enumerate(x.shape)))
    left = cat([ones, narrow(x, dim, 0, n - 1).cumprod(dim)], dim) if n > 1 else ones
    rev = x.flip(dim)
    right = cat([ones, narrow(rev, dim, 0, n - 1).cumprod(dim)], dim).flip(dim) if n > 1 else ones
    return left * right


PROD = defop("prod", _prod_forward, _reduce_meta("prod"), _prod_vjp, kind="reduce", amp="fp32")


@tensor_method
def prod(input: Tensor, dim: Optional[int] = None, keepdim: bool = False, *,
         dtype: Any = None) -> Tensor:
    """Product over ``dim`` (all elements when None)."""
    x = _reduction_input("prod", input, dtype)
    if dtype is None and not is_float(x._data.dtype):
        x = to_dtype(x, INT64)
    dims = wrap_dims("prod", dim, x.ndim) if dim is not None else tuple(range(x.ndim))
    return apply(PROD, x, dims=dims, keepdim=bool(keepdim))


# ---------------------------------------------------------------- var / std
def _var_forward(xp: Any, x: Any, dims: tuple, keepdim: bool, correction: float) -> Any:
    acc = _acc_dtype(x.dtype)
    n = _count(x.shape, dims)
    with np.errstate(all="ignore"):
        xa = x.astype(acc, copy=False)
        d = xa - xa.mean(axis=dims, keepdims=True)
        out = (d * d).sum(axis=dims, keepdims=keepdim) / builtins.max(n - correction, 0)
    return out.astype(x.dtype, copy=False)


def _var_vjp(ctx: Any, g: Tensor) -> tuple:
    (x,) = ctx.inputs
    dims, keepdim, corr = ctx.attrs["dims"], ctx.attrs["keepdim"], ctx.attrs["correction"]
    n = _count(x.shape, dims)
    centered = x - x.mean(dim=dims, keepdim=True)
    return (expand_back(g, x.shape, dims, keepdim) * centered * (2.0 / builtins.max(n - corr, 0)),)


VAR = defop("var", _var_forward, _reduce_meta("var", float_only=True), _var_vjp, kind="reduce",
            amp="fp32")


def _correction(name: str, unbiased: Any, correction: Any) -> float:
    if unbiased is not None and correction is not None:
        raise op_error(RuntimeError, name, "cannot specify both unbiased and correction")
    if correction is not None:
        return correction
    return 1 if unbiased is None or unbiased else 0


@tensor_method
def var(input: Tensor, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *,
        correction: Any = None) -> Tensor:
    """Variance over ``dim`` with Bessel's ``correction`` (default 1)."""
    if isinstance(dim, bool):  # var(x, unbiased) positional form
        dim, unbiased = None, dim
    x = require_tensor("var", input)
    return apply(VAR, x, dims=wrap_dims("var", dim, x.ndim), keepdim=bool(keepdim),
                 correction=_correction("var", unbiased, correction))


@tensor_method
def std(input: Tensor, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *,
        correction: Any = None) -> Tensor:
    """Standard deviation: the square root of :func:`var`."""
    return var(input, dim, unbiased, keepdim, correction=correction).sqrt()


def var_mean(input: Tensor, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *,
             correction: Any = None) -> tuple:
    """``(var, mean)`` over ``dim``."""
    return (var(input, dim, unbiased, keepdim, correction=correction),
            mean(input, dim, keepdim))


def std_mean(input: Tensor, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *,
             correction: Any = None) -> tuple:
    """``(std, mean)`` over ``dim``."""
    return (std(input, dim, unbiased, keepdim, correction=correction),
            mean(input, dim, keepdim))


# ---------------------------------------------------------------- amax / amin and friends
def _extreme_forward(fn: str):
    def forward(xp: Any, x: Any, dims: tuple, keepdim: bool) -> Any:
        if x.size == 0 and builtins.any(x.shape[d] == 0 for d in dims):
            raise op_error(IndexError, fn, "Expected reduction dim to have non-zero size", x)
        return getattr(xp, fn)(x, axis=dims, keepdims=keepdim)

    return forward


def _extreme_vjp(ctx: Any, g: Tensor) -> tuple:
    (x,) = ctx.inputs
    dims, keepdim = ctx.attrs["dims"], ctx.attrs["keepdim"]
    out = expand_back(ctx.out.detach() if not g.requires_grad else ctx.out, x.shape, dims, keepdim)
    mask = (x == out).to(g.dtype)
    count = mask.sum(dim=dims, keepdim=True)
    return (expand_back(g, x.shape, dims, keepdim) * mask / count,)


AMAX = defop("amax", _extreme_forward("max"), _reduce_meta("amax"), _extreme_vjp, kind="reduce",
             save_output=True)
AMIN = defop("amin", _extreme_forward("min"), _reduce_meta("amin"), _extreme_vjp, kind="reduce",
             save_output=True)


@tensor_method
def amax(input: Tensor, dim: Any = (), keepdim: bool = False) -> Tensor:
    """Largest values over ``dim`` (all dims when empty); ties share the gradient evenly."""
    x = require_tensor("amax", input)
    return apply(AMAX, x, dims=wrap_dims("amax", dim if dim != () else None, x.ndim),
                 keepdim=bool(keepdim))


@tensor_method
def amin(input: Tensor, dim: Any = (), keepdim: bool = False) -> Tensor:
    """Smallest values over ``dim``."""
    x = require_tensor("amin", input)
    return apply(AMIN, x, dims=wrap_dims("amin", dim if dim != () else None, x.ndim),
                 keepdim=bool(keepdim))


def _arg_meta(name: str):
    def meta(x: Any, dim: Optional[int], keepdim: bool) -> tuple:
        if x.size == 0:
            raise op_error(RuntimeError, name, "Expected reduction dim to be specified for "
                           "input.numel() == 0." if dim is None else
                           "cannot perform reduction function on an empty dim", x)
        if dim is None:
            return ((1,) * x.ndim if keepdim else ()), INT64
        return reduced_shape(x.shape, (dim,), keepdim), INT64

    return meta


def _arg_forward(fn: str):
    def forward(xp: Any, x: Any, dim: Optional[int], keepdim: bool) -> Any:
        if x.ndim == 0:
            return xp.zeros((), dtype=INT64)
        if x.dtype in LOWP:
            x = x.astype(_F32)
        out = getattr(xp, fn)(x, axis=dim, keepdims=keepdim)
        return out.reshape((1,) * x.ndim) if dim is None and keepdim else out

    return forward


ARGMAX = defop("argmax", _arg_forward("argmax"), _arg_meta("argmax"), kind="reduce")
ARGMIN = defop("argmin", _arg_forward("argmin"), _arg_meta("argmin"), kind="reduce")


@tensor_method
def argmax(input: Tensor, dim: Optional[int] = None, keepdim: bool = False) -> Tensor:
    """Index of the first largest value over ``dim`` (of the flattened input when None)."""
    x = require_tensor("argmax", input)
    d = None if dim is None else wrap_dim("argmax", dim, x.ndim)
    return apply(ARGMAX, x, dim=d, keepdim=bool(keepdim))


@tensor_method
def argmin(input: Tensor, dim: Optional[int] = None, keepdim: bool = False) -> Tensor:
    """Index of the first smallest value over ``dim``."""
    x = require_tensor("argmin", input)
    d = None if dim is None else wrap_dim("argmin", dim, x.ndim)
    return apply(ARGMIN, x, dim=d, keepdim=bool(keepdim))


class _ValuesIndices(tuple):
    """``(values, indices)`` named like PyTorch's return types."""

    @property
    def values(self) -> Tensor:
        return self[0]

    @property
    def indices(self) -> Tensor:
        return self[1]


def _max_min(name: str, extreme, arg, binary, input: Tensor, dim: Any, keepdim: bool,
             other: Any) -> Any:
    x = require_tensor(name, input)
    if isinstance(dim, Tensor):
        other, dim = dim, None
    if other is not None:
        return binary(x, other)
    if dim is None:
        return extreme(x)
    d = wrap_dim(name, dim, x.ndim)
    idx = arg(x, d, keepdim=True)
    from .indexing import take_along_dim

    values = take_along_dim(x, idx, d) if x.ndim else x
    if not keepdim and x.ndim:
        values, idx = values.squeeze(d), idx.squeeze(d)
    return _ValuesIndices((values, idx))


@tensor_method
def max(input: Tensor, dim: Any = None, keepdim: bool = False, *, other: Any = None) -> Any:
    """The largest value; with ``dim``, ``(values, indices)``; with a tensor, ``maximum``."""
    from .elementwise import maximum

    return _max_min("max", amax, argmax, maximum, input, dim, keepdim, other)


@tensor_method
def min(input: Tensor, dim: Any = None, keepdim: bool = False, *, other: Any = None) -> Any:
    """The smallest value; with ``dim``, ``(values, indices)``; with a tensor, ``minimum``."""
    from .elementwise import minimum

    return _max_min("min", amin, argmin, minimum, input, dim, keepdim, other)


# ---------------------------------------------------------------- logsumexp
def _logsumexp_forward(xp: Any, x: Any, dims: tuple, keepdim: bool) -> Any:
    xa = x.astype(_acc_dtype(x.dtype), copy=False)
    if xa.size == 0:
        return xp.log(xp.exp(xa).sum(axis=dims, keepdims=keepdim)).astype(x.dtype)
    m = xp.max(xa, axis=dims, keepdims=True)
    m = xp.where(xp.isinf(m), 0, m)
    with np.errstate(all="ignore"):
        out = xp.log(xp.exp(xa - m).sum(axis=dims, keepdims=True)) + m
    if not keepdim:
        out = out.reshape(reduced_shape(x.shape, dims, False))
    return out.astype(x.dtype, copy=False)


def _logsumexp_vjp(ctx: Any, g: Tensor) -> tuple:
    (x,) = ctx.inputs
    dims, keepdim = ctx.attrs["dims"], ctx.attrs["keepdim"]
    out = expand_back(ctx.out, x.shape, dims, keepdim)
    return (expand_back(g, x.shape, dims, keepdim) * (x - out).exp(),)


LOGSUMEXP = defop("logsumexp", _logsumexp_forward, _reduce_meta("logsumexp"), _logsumexp_vjp,
                  kind="reduce", amp="fp32", save_output=True)


@tensor_method
def logsumexp(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """``log(sum(exp(input), dim))``, computed stably."""
    x = require_tensor("logsumexp", input)
    if not is_float(x._data.dtype):
        x = to_dtype(x, _dt.get_default_dtype())
    return apply(LOGSUMEXP, x, dims=wrap_dims("logsumexp", dim, x.ndim), keepdim=bool(keepdim))


# ---------------------------------------------------------------- scans
def _cumsum_forward(xp: Any, x: Any, dim: int) -> Any:
    if x.ndim == 0:
        return x.copy()
    return xp.cumsum(x, axis=dim, dtype=_acc_dtype(x.dtype)).astype(x.dtype, copy=False)


def _cumsum_vjp(ctx: Any, g: Tensor) -> tuple:
    d = ctx.attrs["dim"]
    if g.ndim == 0:
        return (g,)
    return (g.flip(d).cumsum(d).flip(d),)


CUMSUM = defop("cumsum", _cumsum_forward, lambda x, dim: (x.shape, x.dtype), _cumsum_vjp,
               kind="opaque", amp="fp32", save_inputs=False)


@tensor_method
def cumsum(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    """Running sum along ``dim``; integer inputs accumulate in int64."""
    x = _reduction_input("cumsum", input, dtype)
    if dtype is None and not is_float(x._data.dtype):
        x = to_dtype(x, INT64)
    return apply(CUMSUM, x, dim=wrap_dim("cumsum", dim, x.ndim))


# ---------------------------------------------------------------- boolean reductions
def _bool_forward(fn: str):
    def forward(xp: Any, x: Any, dims: tuple, keepdim: bool) -> Any:
        return getattr(xp, fn)(x, axis=dims, keepdims=keepdim)

    return forward


ALL = defop("all", _bool_forward("all"), _reduce_meta("all", out=BOOL), kind="reduce")
ANY = defop("any", _bool_forward("any"), _reduce_meta("any", out=BOOL), kind="reduce")


@tensor_method
def all(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """Whether every element (over ``dim``) is nonzero."""
    x = require_tensor("all", input)
    return apply(ALL, x, dims=wrap_dims("all", dim, x.ndim), keepdim=bool(keepdim))


@tensor_method
def any(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """Whether any element (over ``dim``) is nonzero."""
    x = require_tensor("any", input)
    return apply(ANY, x, dims=wrap_dims("any", dim, x.ndim), keepdim=bool(keepdim))


@tensor_method
def count_nonzero(input: Tensor, dim: Any = None) -> Tensor:
    """Number of nonzero elements over ``dim``."""
    x = require_tensor("count_nonzero", input)
    return sum(x != 0, dim)

