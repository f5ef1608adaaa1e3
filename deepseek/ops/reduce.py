"""Reductions and scans: sum, mean, prod, var/std, amax/amin, max/min, arg reductions, order
statistics (median, kthvalue), logsumexp, vector norms, cumsum/cumprod/logcumsumexp, all/any."""

from __future__ import annotations

import builtins
import math
import warnings
from collections import namedtuple
from typing import Any, Optional

import numpy as np

from .. import dtypes as _dt
from .._errors import op_error
from ..tensor import Tensor
from ._common import BOOL, INT64, LOWP, in_float32, is_float, require_tensor, wrap_dim, wrap_dims
from ._opdef import apply, apply_inplace, defop, tensor_method
from .elementwise import isnan, to_dtype, where
from .movement import narrow

_F32 = np.dtype(np.float32)
_UINT8 = np.dtype(np.uint8)

# PyTorch's named return types (torch.return_types.*): tuples with field names
ValuesIndices = namedtuple("ValuesIndices", ["values", "indices"])
MinMax = namedtuple("MinMax", ["min", "max"])


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


def reduce_dims(name: str, dim: Any, ndim: int) -> tuple:
    """``dim`` as a sorted tuple of dims; None or an empty sequence means every dim."""
    if isinstance(dim, (list, tuple)) and len(dim) == 0:
        dim = None
    return wrap_dims(name, dim, ndim)


def _dtype_name(d: np.dtype) -> str:
    return _dt.from_numpy_dtype(d).name


def _require_float(name: str, x: Any, message: Optional[str] = None) -> None:
    if not is_float(x.dtype) and x.dtype.kind != "c":
        raise op_error(RuntimeError, name, message or (
            f"{name}(): could not infer output dtype. Input dtype must be either a floating point "
            f"or complex dtype. Got: {_dtype_name(x.dtype)}"), x)


def check_nonempty(name: str, shape: tuple, dims: Optional[tuple]) -> None:
    """PyTorch's errors for a reduction without identity (max, argmax, median …) over nothing.

    ``dims`` None means the caller named no dim: a reduction over every element.
    """
    if dims is None:
        if 0 in shape:
            raise op_error(RuntimeError, name, f"{name}(): Expected reduction dim to be specified "
                           "for input.numel() == 0. Specify the reduction dim with the 'dim' "
                           "argument.")
        return
    for d in dims:
        if d < len(shape) and shape[d] == 0:
            raise op_error(IndexError, name, f"{name}(): Expected reduction dim {d} to have "
                           "non-zero size.")


def _reduce_meta(name: str, float_only: bool = False, float_message: Optional[str] = None,
                 nonempty: bool = False):
    def meta(x: Any, dims: tuple, keepdim: bool, **attrs: Any) -> tuple:
        if float_only:
            _require_float(name, x, float_message)
        if nonempty:
            check_nonempty(name, x.shape, dims)
        return reduced_shape(x.shape, dims, keepdim), x.dtype

    return meta


def _reduction_input(name: str, input: Any, dtype: Any, int_to_long: bool = False) -> Tensor:
    """The input cast to ``dtype``; without one, integer and bool inputs as int64 if asked."""
    x = require_tensor(name, input)
    if dtype is not None:
        return to_dtype(x, dtype)
    if int_to_long and x._data.dtype.kind in "biu":
        return to_dtype(x, INT64)
    return x


# ---------------------------------------------------------------- sum / mean / prod
def _sum_forward(xp: Any, x: Any, dims: tuple, keepdim: bool) -> Any:
    acc = _acc_dtype(x.dtype)
    # NumPy's ufunc itself, not ndarray.sum's Python wrapper: its floating-point warnings are
    # then raised from here, where deepseek's filter silences them (deepseek/__init__.py)
    total = np.add.reduce(x, axis=dims, dtype=acc, keepdims=keepdim) if xp is np else \
        x.sum(axis=dims, keepdims=keepdim, dtype=acc)
    return total.astype(x.dtype, copy=False)


def _sum_vjp(ctx: Any, g: Tensor) -> tuple:
    return (expand_back(g, ctx.shapes[0], ctx.attrs["dims"], ctx.attrs["keepdim"]),)


SUM = defop("sum", in_float32(_sum_forward, "sum"), _reduce_meta("sum"), _sum_vjp, kind="reduce",
            amp="fp32", save_inputs=False, complex=True)


@tensor_method
def sum(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """Sum over ``dim`` (every dim when None or empty); integer and bool inputs sum as int64."""
    x = _reduction_input("sum", input, dtype, int_to_long=True)
    return apply(SUM, x, dims=reduce_dims("sum", dim, x.ndim), keepdim=bool(keepdim))


@tensor_method
def nansum(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """Sum over ``dim`` treating NaN as zero."""
    x = require_tensor("nansum", input)
    if is_float(x._data.dtype):
        x = where(isnan(x), 0, x)
    return sum(x, dim, keepdim, dtype=dtype)


def _count(shape: tuple, dims: tuple) -> int:
    n = 1
    for d in dims:
        n *= shape[d]
    return n


def _mean_of(x: Any, dims: tuple, keepdim: bool, dtype: np.dtype) -> Any:
    with np.errstate(all="ignore"):  # the mean of nothing is NaN, quietly
        return x.sum(axis=dims, keepdims=keepdim, dtype=dtype) / _count(x.shape, dims)


def _mean_forward(xp: Any, x: Any, dims: tuple, keepdim: bool) -> Any:
    return _mean_of(x, dims, keepdim, _acc_dtype(x.dtype)).astype(x.dtype, copy=False)


def _mean_vjp(ctx: Any, g: Tensor) -> tuple:
    shape, dims = ctx.shapes[0], ctx.attrs["dims"]
    n = _count(shape, dims)
    return (expand_back(g / n if n else g * np.nan, shape, dims, ctx.attrs["keepdim"]),)


MEAN = defop("mean", in_float32(_mean_forward, "mean"), _reduce_meta("mean", float_only=True),
             _mean_vjp, kind="reduce", amp="fp32", save_inputs=False, complex=True)


@tensor_method
def mean(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """Arithmetic mean over ``dim`` (floating-point inputs only, as in PyTorch)."""
    x = _reduction_input("mean", input, dtype)
    return apply(MEAN, x, dims=reduce_dims("mean", dim, x.ndim), keepdim=bool(keepdim))


@tensor_method
def nanmean(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """Mean over ``dim`` of the non-NaN elements."""
    x = _reduction_input("nanmean", input, dtype)
    _require_float("nanmean", x._data, "nanmean(): expected input to have floating point or "
                   f"complex dtype but got {x.dtype.name}")
    return nansum(x, dim, keepdim) / sum(~isnan(x), dim, keepdim)


def _prod_forward(xp: Any, x: Any, dims: tuple, keepdim: bool) -> Any:
    return x.prod(axis=dims, keepdims=keepdim, dtype=_acc_dtype(x.dtype)).astype(x.dtype)


def _prod_vjp(ctx: Any, g: Tensor) -> tuple:
    (x,) = ctx.inputs
    dims, keepdim = ctx.attrs["dims"], ctx.attrs["keepdim"]
    if len(dims) == 1:
        others = _prod_of_others(x, dims[0])
    else:  # the whole tensor (dims is every dim)
        others = _prod_of_others(x.reshape(-1), 0).reshape(x.shape)
    return (expand_back(g, x.shape, dims, keepdim) * others,)


def _prod_of_others(x: Tensor, dim: int) -> Tensor:
    """The product of all other elements along ``dim``, exact with zeros: the product of the
    exclusive running products from both ends."""
    from .movement import cat, narrow

    n = x.shape[dim]
    ones = x.new_ones(tuple(1 if i == dim else s for i, s in enumerate(x.shape)))
    if n <= 1:
        return ones.expand(x.shape)
    left = cat([ones, narrow(x, dim, 0, n - 1).cumprod(dim)], dim)
    right = cat([ones, narrow(x.flip(dim), dim, 0, n - 1).cumprod(dim)], dim).flip(dim)
    return left * right


PROD = defop("prod", _prod_forward, _reduce_meta("prod"), _prod_vjp, kind="reduce", amp="fp32")


@tensor_method
def prod(input: Tensor, dim: Optional[int] = None, keepdim: bool = False, *,
         dtype: Any = None) -> Tensor:
    """Product over ``dim`` (an int; every element when None); integers multiply as int64."""
    x = _reduction_input("prod", input, dtype, int_to_long=True)
    dims = tuple(range(x.ndim)) if dim is None else (wrap_dim("prod", dim, x.ndim),)
    return apply(PROD, x, dims=dims if x.ndim else (), keepdim=bool(keepdim))


# ---------------------------------------------------------------- var / std
def _var_forward(xp: Any, x: Any, dims: tuple, keepdim: bool, correction: float) -> Any:
    acc = _acc_dtype(x.dtype)
    n = _count(x.shape, dims)
    with np.errstate(all="ignore"):
        xa = x.astype(acc, copy=False)
        d = xa - _mean_of(xa, dims, True, acc)
        out = (d * d).sum(axis=dims, keepdims=keepdim) / builtins.max(n - correction, 0)
    return out.astype(x.dtype, copy=False)


def _var_vjp(ctx: Any, g: Tensor) -> tuple:
    (x,) = ctx.inputs
    dims, keepdim, corr = ctx.attrs["dims"], ctx.attrs["keepdim"], ctx.attrs["correction"]
    dof = _count(x.shape, dims) - corr
    centered = x - x.mean(dim=dims, keepdim=True)
    scale = 2.0 / dof if dof > 0 else math.inf  # no degrees of freedom: NaN/inf, as PyTorch
    return (expand_back(g, x.shape, dims, keepdim) * centered * scale,)


VAR = defop("var", _var_forward,
            _reduce_meta("var", True, "std and var only support floating point and complex dtypes"),
            _var_vjp, kind="reduce", amp="fp32")


def _correction(name: str, unbiased: Any, correction: Any) -> float:
    if unbiased is not None and correction is not None:
        raise op_error(TypeError, name, "cannot specify both unbiased and correction")
    if correction is not None:
        return correction
    return 1 if unbiased is None or unbiased else 0


@tensor_method
def var(input: Tensor, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *,
        correction: Any = None) -> Tensor:
    """Variance over ``dim`` with Bessel's ``correction`` (default 1; ``unbiased=False`` is 0)."""
    if isinstance(dim, bool):  # var(x, unbiased) positional form
        dim, unbiased = None, dim
    x = require_tensor("var", input)
    return apply(VAR, x, dims=reduce_dims("var", dim, x.ndim), keepdim=bool(keepdim),
                 correction=_correction("var", unbiased, correction))


@tensor_method
def std(input: Tensor, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *,
        correction: Any = None) -> Tensor:
    """Standard deviation: the square root of :func:`var`."""
    return var(input, dim, unbiased, keepdim, correction=correction).sqrt()


def var_mean(input: Tensor, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *,
             correction: Any = None) -> tuple:
    """``(var, mean)`` over ``dim``."""
    if isinstance(dim, bool):
        dim, unbiased = None, dim
    return (var(input, dim, unbiased, keepdim, correction=correction),
            mean(input, dim, keepdim))


def std_mean(input: Tensor, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *,
             correction: Any = None) -> tuple:
    """``(std, mean)`` over ``dim``."""
    if isinstance(dim, bool):
        dim, unbiased = None, dim
    return (std(input, dim, unbiased, keepdim, correction=correction),
            mean(input, dim, keepdim))


# ---------------------------------------------------------------- amax / amin and friends
def _extreme_vjp(ctx: Any, g: Tensor) -> tuple:
    (x,) = ctx.inputs
    dims, keepdim = ctx.attrs["dims"], ctx.attrs["keepdim"]
    out = expand_back(ctx.out.detach() if not g.requires_grad else ctx.out, x.shape, dims, keepdim)
    mask = (x == out).to(g.dtype)
    count = mask.sum(dim=dims, keepdim=True)
    return (expand_back(g, x.shape, dims, keepdim) * mask / count,)


AMAX = defop("amax", lambda xp, x, dims, keepdim: xp.max(x, axis=dims, keepdims=keepdim),
             _reduce_meta("amax", nonempty=True), _extreme_vjp, kind="reduce", save_output=True)
AMIN = defop("amin", lambda xp, x, dims, keepdim: xp.min(x, axis=dims, keepdims=keepdim),
             _reduce_meta("amin", nonempty=True), _extreme_vjp, kind="reduce", save_output=True)


def _extreme(op: Any, name: str, input: Tensor, dim: Any, keepdim: bool) -> Tensor:
    x = require_tensor(name, input)
    if dim is None or dim == () or dim == []:
        check_nonempty(name, x.shape, None)
    return apply(op, x, dims=reduce_dims(name, dim, x.ndim), keepdim=bool(keepdim))


@tensor_method
def amax(input: Tensor, dim: Any = (), keepdim: bool = False) -> Tensor:
    """Largest values over ``dim`` (every dim when empty); ties share the gradient evenly."""
    return _extreme(AMAX, "amax", input, dim, keepdim)


@tensor_method
def amin(input: Tensor, dim: Any = (), keepdim: bool = False) -> Tensor:
    """Smallest values over ``dim`` (every dim when empty); ties share the gradient evenly."""
    return _extreme(AMIN, "amin", input, dim, keepdim)


@tensor_method
def aminmax(input: Tensor, *, dim: Optional[int] = None, keepdim: bool = False) -> MinMax:
    """``(min, max)`` over ``dim`` (every element when None)."""
    x = require_tensor("aminmax", input)
    dims = reduce_dims("aminmax", dim, x.ndim)
    if builtins.any(x.shape[d] == 0 for d in dims) or (not x.ndim and not x.numel()):
        raise op_error(RuntimeError, "aminmax", "aminmax(): cannot compute aminmax over an empty "
                       "dimension as the operation has no identity.", x._data)
    d = () if dim is None else dim
    return MinMax(amin(x, d, keepdim), amax(x, d, keepdim))


def _arg_meta(name: str):
    def meta(x: Any, dim: Optional[int], keepdim: bool) -> tuple:
        if dim is None:
            if 0 in x.shape:
                raise op_error(IndexError, name, f"{name}(): Expected reduction dim to be "
                               "specified for input.numel() == 0.", x)
            return ((1,) * x.ndim if keepdim else ()), INT64
        check_nonempty(name, x.shape, (dim,))
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
    """Index of the first smallest value over ``dim`` (of the flattened input when None)."""
    x = require_tensor("argmin", input)
    d = None if dim is None else wrap_dim("argmin", dim, x.ndim)
    return apply(ARGMIN, x, dim=d, keepdim=bool(keepdim))


def _gather_values(x: Tensor, idx: Tensor, d: int, keepdim: bool) -> ValuesIndices:
    """``(values, indices)`` from keepdim indices along ``d``; gradients reach the picked ones."""
    from .indexing import take_along_dim

    if x.ndim == 0:
        return ValuesIndices(take_along_dim(x.reshape(1), idx.reshape(1), 0).reshape(()),
                             idx.reshape(()))
    values = take_along_dim(x, idx, d)
    if not keepdim:
        values, idx = values.squeeze(d), idx.squeeze(d)
    return ValuesIndices(values, idx)


def _max_min(name: str, extreme, arg, binary, input: Tensor, dim: Any, keepdim: bool,
             other: Any) -> Any:
    x = require_tensor(name, input)
    if isinstance(dim, Tensor):
        other, dim = dim, None
    if other is not None:
        return binary(x, other)
    if dim is None:
        check_nonempty(name, x.shape, None)
        return extreme(x)
    d = wrap_dim(name, dim, x.ndim)
    check_nonempty(name, x.shape, (d,))
    return _gather_values(x, arg(x, d, keepdim=True), d, keepdim)


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


# ---------------------------------------------------------------- order statistics
def _order_forward(rule: str):
    """The keepdim index along ``dim`` of the ``k``-th smallest value, NaN sorting last, with
    ``k`` per row from ``rule`` (kthvalue: fixed; median: lower median, or the first NaN;
    nanmedian: lower median of the non-NaN values)."""

    def forward(xp: Any, x: Any, dim: int, k: int = 0) -> Any:
        if x.dtype in LOWP:
            x = x.astype(_F32)
        order = xp.argsort(x, axis=dim, kind="stable")
        n = x.shape[dim]
        nans = (xp.isnan(x).sum(axis=dim, keepdims=True) if x.dtype.kind == "f"
                else xp.zeros(reduced_shape(x.shape, (dim,), True), dtype=INT64))
        if rule == "kthvalue":
            pos = xp.full(nans.shape, k - 1)
        elif rule == "median":
            pos = xp.where(nans > 0, n - nans, (n - 1) // 2)
        else:
            pos = xp.maximum(n - nans - 1, 0) // 2
        return xp.take_along_axis(order, pos.astype(INT64), axis=dim)

    return forward


def _order_meta(name: str):
    def meta(x: Any, dim: int, k: int = 0) -> tuple:
        check_nonempty(name, x.shape, (dim,))
        if name == "kthvalue" and not 1 <= k <= x.shape[dim]:
            raise op_error(RuntimeError, name, f"kthvalue(): selected number k out of range for "
                           f"dimension {dim}", x)
        return reduced_shape(x.shape, (dim,), True), INT64

    return meta


MEDIAN = defop("median", _order_forward("median"), _order_meta("median"), kind="reduce",
               doc="index of the lower median along dim; the front door gathers the values")
NANMEDIAN = defop("nanmedian", _order_forward("nanmedian"), _order_meta("nanmedian"),
                  kind="reduce", doc="index of the lower median of the non-NaN values")
KTHVALUE = defop("kthvalue", _order_forward("kthvalue"), _order_meta("kthvalue"), kind="reduce",
                 doc="index of the k-th smallest value along dim")


def _order_statistic(op: Any, name: str, input: Tensor, dim: Any, keepdim: bool,
                     **attrs: Any) -> Any:
    x = require_tensor(name, input)
    if name == "median" and x._data.dtype == BOOL:
        raise op_error(NotImplementedError, name, "median is not implemented for bool", x._data)
    if dim is not None:
        d = wrap_dim(name, dim, x.ndim)
        idx = apply(op, x if x.ndim else x.reshape(1), dim=d, **attrs)
        return _gather_values(x, idx, d, keepdim)
    flat = x.reshape(-1)
    if flat.numel() == 0:
        return flat.sum() * math.nan
    value = _gather_values(flat, apply(op, flat, dim=0), 0, False).values.detach()
    if not x.requires_grad:
        return value
    # as in PyTorch, equal elements share the gradient: value + mean of (x - value) over them
    tied = x == value
    return value + where(tied, x - value, 0).sum() / tied.sum()


@tensor_method
def median(input: Tensor, dim: Optional[int] = None, keepdim: bool = False) -> Any:
    """The lower median; with ``dim``, ``(values, indices)``. NaN if any element is NaN."""
    return _order_statistic(MEDIAN, "median", input, dim, keepdim)


@tensor_method
def nanmedian(input: Tensor, dim: Optional[int] = None, keepdim: bool = False) -> Any:
    """The lower median of the non-NaN elements; with ``dim``, ``(values, indices)``."""
    return _order_statistic(NANMEDIAN, "nanmedian", input, dim, keepdim)


@tensor_method
def kthvalue(input: Tensor, k: int, dim: int = -1, keepdim: bool = False) -> ValuesIndices:
    """``(values, indices)`` of the ``k``-th smallest elements (1-based) along ``dim``."""
    return _order_statistic(KTHVALUE, "kthvalue", input, dim, keepdim, k=int(k))


# ---------------------------------------------------------------- logsumexp
def _logsumexp_forward(xp: Any, x: Any, dims: tuple, keepdim: bool) -> Any:
    xa = x.astype(_acc_dtype(x.dtype), copy=False)
    with np.errstate(all="ignore"):  # log 0 = -inf, quietly
        if xa.size == 0:
            return xp.log(xp.exp(xa).sum(axis=dims, keepdims=keepdim)).astype(x.dtype)
        m = xp.max(xa, axis=dims, keepdims=True)
        m = xp.where(xp.isinf(m), 0, m)
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
def logsumexp(input: Tensor, dim: Any, keepdim: bool = False) -> Tensor:
    """``log(sum(exp(input), dim))``, computed stably; integer inputs give the default dtype."""
    x = require_tensor("logsumexp", input)
    if not is_float(x._data.dtype):
        x = to_dtype(x, _dt.get_default_dtype())
    return apply(LOGSUMEXP, x, dims=reduce_dims("logsumexp", dim, x.ndim), keepdim=bool(keepdim))


# ---------------------------------------------------------------- vector norms
def _vector_norm_forward(xp: Any, x: Any, ord: float, dims: tuple, keepdim: bool) -> Any:
    a = xp.abs(x.astype(_acc_dtype(x.dtype), copy=False))
    with np.errstate(all="ignore"):
        if ord == math.inf:
            out = a.max(axis=dims, keepdims=keepdim)
        elif ord == -math.inf:
            out = a.min(axis=dims, keepdims=keepdim)
        elif ord == 0:
            out = (a != 0).sum(axis=dims, keepdims=keepdim, dtype=a.dtype)
        elif ord == 1:
            out = a.sum(axis=dims, keepdims=keepdim)
        elif ord == 2:
            out = xp.sqrt((a * a).sum(axis=dims, keepdims=keepdim))
        else:
            out = (a ** ord).sum(axis=dims, keepdims=keepdim) ** (1.0 / ord)
    return out.astype(x.dtype, copy=False)


def _vector_norm_meta(x: Any, ord: float, dims: tuple, keepdim: bool) -> tuple:
    name = "linalg.vector_norm"
    _require_float(name, x, "linalg.vector_norm: Expected a floating point or complex tensor as "
                   f"input. Got {_dtype_name(x.dtype)}")
    if ord < 0 or ord == math.inf:  # no identity: an empty reduction is an error
        if len(dims) == x.ndim and 0 in x.shape:
            raise op_error(RuntimeError, name, f"linalg.vector_norm cannot compute the {ord:g} "
                           "norm on an empty tensor because the operation does not have an "
                           "identity", x)
        for d in dims:
            if x.shape[d] == 0:
                raise op_error(RuntimeError, name, f"linalg.vector_norm cannot compute the "
                               f"{ord:g} norm on the dimension {d} because this dimension is "
                               "empty and the operation does not have an identity", x)
    return reduced_shape(x.shape, dims, keepdim), x.dtype


def _vector_norm_vjp(ctx: Any, g: Tensor) -> tuple:
    (x,) = ctx.inputs
    ord, dims, keepdim = ctx.attrs["ord"], ctx.attrs["dims"], ctx.attrs["keepdim"]
    out = expand_back(ctx.out, x.shape, dims, keepdim)
    g = expand_back(g, x.shape, dims, keepdim)
    if ord == 0:
        return (g * 0,)
    if math.isinf(ord):  # like amax: ties share the gradient
        tied = (x.abs() == out).to(g.dtype)
        return (g * x.sign() * tied / tied.sum(dim=dims, keepdim=True),)
    # d|x|_p / dx = sign(x) |x|^(p-1) / |x|_p^(p-1); zero where x or the norm is zero. Powers
    # are taken of safe (nonzero) values so that neither branch of a where holds inf or NaN.
    if ord == 2:
        scaled = x
    else:
        x_zero = x == 0
        scaled = where(x_zero, 0, x.sign() * where(x_zero, 1, x.abs()) ** (ord - 1))
    out_zero = out == 0
    return (scaled * where(out_zero, 0, g * where(out_zero, 1, out) ** (1 - ord)),)


VECTOR_NORM = defop("linalg_vector_norm", _vector_norm_forward, _vector_norm_meta,
                    _vector_norm_vjp, kind="reduce", amp="fp32", save_output=True)


def _norm_dtype(name: str, x: Tensor, dtype: Any) -> Tensor:
    if dtype is None:
        return x
    d = _dt.to_dtype(dtype).np
    if is_float(x._data.dtype) and d != x._data.dtype and d.itemsize <= x._data.itemsize:
        raise op_error(RuntimeError, name, f"{name}: the dtype of the input "
                       f"({x.dtype.name}) should be convertible without narrowing to the "
                       f"specified dtype ({_dtype_name(d)})", x._data)
    return to_dtype(x, d) if is_float(x._data.dtype) else x


def vector_norm(x: Tensor, ord: Any = 2, dim: Any = None, keepdim: bool = False, *,
                dtype: Any = None) -> Tensor:
    """The ``ord``-norm of ``x`` over ``dim`` (every dim when None) seen as one vector.

    Args:
        x: a floating-point tensor.
        ord: ``inf``, ``-inf``, ``0`` (count of nonzeros) or any other real number.
        dim: an int or tuple of ints.
        keepdim: keep the reduced dims with size one.
        dtype: compute and return in this (wider) dtype.
    """
    name = "linalg.vector_norm"
    x = require_tensor(name, x, "x")
    if isinstance(ord, (bool, str)) or not isinstance(ord, (int, float, np.number)):
        raise op_error(TypeError, name, f"linalg_vector_norm(): argument 'ord' (position 2) must "
                       f"be Number, not {type(ord).__name__}")
    x = _norm_dtype(name, x, dtype)
    return apply(VECTOR_NORM, x, ord=float(ord), dims=reduce_dims(name, dim, x.ndim),
                 keepdim=bool(keepdim))


@tensor_method
def norm(input: Tensor, p: Any = "fro", dim: Any = None, keepdim: bool = False,
         dtype: Any = None) -> Tensor:
    """The ``p``-norm over ``dim``: ``'fro'`` (the 2-norm of the elements), ``'nuc'`` (nuclear
    norm of matrices over ``dim``) or a number (:func:`deepseek.linalg.vector_norm`)."""
    x = require_tensor("norm", input)
    if p is None:
        p = 2
    if isinstance(p, str):
        if p == "fro" and (dim is None or isinstance(dim, int) or len(dim) <= 2):
            return vector_norm(x, 2, dim, keepdim, dtype=dtype)
        from .linalg import matrix_norm

        return matrix_norm(x, p, tuple(range(x.ndim)) if dim is None else dim, keepdim,
                           dtype=dtype)
    return vector_norm(x, p, dim, keepdim, dtype=dtype)


# ---------------------------------------------------------------- scans
def _scan_meta(name: str, float_only: bool = False):
    def meta(x: Any, dim: int) -> tuple:
        if float_only and not is_float(x.dtype):
            raise op_error(NotImplementedError, name, f"{name} is not implemented for "
                           f"{_dtype_name(x.dtype)}", x)
        return x.shape, x.dtype

    return meta


def _scan_forward(fn: Any):
    """A scan along ``dim`` computed in float32 for float16/bfloat16 (0-d: the identity)."""

    def forward(xp: Any, x: Any, dim: int) -> Any:
        if x.ndim == 0:
            return x.copy()
        with np.errstate(all="ignore"):
            return fn(xp, x.astype(_acc_dtype(x.dtype), copy=False), dim).astype(x.dtype)

    return forward


def _reverse_cumsum(g: Tensor, dim: int) -> Tensor:
    return g.flip(dim).cumsum(dim).flip(dim)


def _cumsum_vjp(ctx: Any, g: Tensor) -> tuple:
    return (g if g.ndim == 0 else _reverse_cumsum(g, ctx.attrs["dim"]),)


def _cumprod_vjp(ctx: Any, g: Tensor) -> tuple:
    (x,) = ctx.inputs
    d = ctx.attrs["dim"]
    if x.ndim == 0:
        return (g,)
    # Before the first zero of a row, grad_j = sum_{i>=j} g_i out_i / x_j. At the first zero,
    # the running product with that zero replaced by one; after it, zero (as in PyTorch).
    is_zero = x == 0
    zeros_so_far = is_zero.cumsum(d)
    before = zeros_so_far == 0
    first = is_zero & (zeros_so_far == 1)
    grad_before = _reverse_cumsum(g * ctx.out, d) / where(before, x, 1)
    grad_first = _reverse_cumsum(g * where(first, 1, x).cumprod(d), d)
    return (where(before, grad_before, where(first, grad_first, 0)),)


def _logcumsumexp_vjp(ctx: Any, g: Tensor) -> tuple:
    (x,) = ctx.inputs
    d = ctx.attrs["dim"]
    if x.ndim == 0:
        return (g,)
    out = ctx.out

    # grad_j = sum_{i>=j} g_i exp(x_j - out_i): summed in log space, positive and negative g
    # apart. log 0 becomes -1e4, a finite stand-in (so second derivatives stay finite) whose
    # terms are below exp(-1e4) since x_j <= out_i: zero in every float dtype.
    def part(w: Tensor) -> Tensor:
        positive = w > 0
        log_w = where(positive, where(positive, w, 1).log(), -1e4)
        return (logcumsumexp((log_w - out).flip(d), d).flip(d) + x).exp()

    return (part(g.clamp(min=0)) - part((-g).clamp(min=0)),)


CUMSUM = defop("cumsum", _scan_forward(lambda xp, x, d: xp.cumsum(x, axis=d)),
               _scan_meta("cumsum"), _cumsum_vjp, amp="fp32", save_inputs=False)
CUMPROD = defop("cumprod", _scan_forward(lambda xp, x, d: xp.cumprod(x, axis=d)),
                _scan_meta("cumprod"), _cumprod_vjp, amp="fp32", save_output=True)
# logaddexp.accumulate is exact for inputs of any magnitude (no shift by a running max needed)
LOGCUMSUMEXP = defop("logcumsumexp",
                     _scan_forward(lambda xp, x, d: xp.logaddexp.accumulate(x, axis=d)),
                     _scan_meta("logcumsumexp", float_only=True), _logcumsumexp_vjp, amp="fp32",
                     save_output=True)


@tensor_method
def cumsum(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    """Running sum along ``dim``; integer and bool inputs accumulate in int64."""
    x = _reduction_input("cumsum", input, dtype, int_to_long=True)
    return apply(CUMSUM, x, dim=wrap_dim("cumsum", dim, x.ndim))


@tensor_method
def cumprod(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    """Running product along ``dim``; integer and bool inputs accumulate in int64."""
    x = _reduction_input("cumprod", input, dtype, int_to_long=True)
    return apply(CUMPROD, x, dim=wrap_dim("cumprod", dim, x.ndim))


def _scan_(op: str, scan: Any, self: Tensor, dim: int, dtype: Any) -> Tensor:
    x = require_tensor(op, self)
    if dtype is not None and _dt.to_dtype(dtype) is not x.dtype:
        raise op_error(RuntimeError, op, f"Bad in-place call: input tensor dtype {x.dtype.name} "
                       f"and output tensor dtype {_dt.to_dtype(dtype).name} should match",
                       x._data)
    return apply_inplace(scan, x, dim=wrap_dim(op, dim, x.ndim))


@tensor_method
def cumsum_(self: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    """In-place :func:`cumsum`, accumulating in ``self``'s dtype (``dtype`` must be it)."""
    return _scan_("cumsum_", CUMSUM, self, dim, dtype)


@tensor_method
def cumprod_(self: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    """In-place :func:`cumprod`, accumulating in ``self``'s dtype (``dtype`` must be it)."""
    return _scan_("cumprod_", CUMPROD, self, dim, dtype)


@tensor_method
def logcumsumexp(input: Tensor, dim: int) -> Tensor:
    """``log(cumsum(exp(input), dim))``, computed stably (floating-point inputs)."""
    x = require_tensor("logcumsumexp", input)
    return apply(LOGCUMSUMEXP, x, dim=wrap_dim("logcumsumexp", dim, x.ndim))


# ---------------------------------------------------------------- boolean reductions
def _bool_meta(name: str):
    def meta(x: Any, dims: tuple, keepdim: bool) -> tuple:
        # uint8 stays uint8 (a PyTorch compatibility rule); everything else gives bool
        return reduced_shape(x.shape, dims, keepdim), _UINT8 if x.dtype == _UINT8 else BOOL

    return meta


ALL = defop("all", lambda xp, x, dims, keepdim: xp.all(x, axis=dims, keepdims=keepdim),
            _bool_meta("all"), kind="reduce")
ANY = defop("any", lambda xp, x, dims, keepdim: xp.any(x, axis=dims, keepdims=keepdim),
            _bool_meta("any"), kind="reduce")


@tensor_method
def all(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """Whether every element (over ``dim``) is nonzero."""
    x = require_tensor("all", input)
    # unlike sum, an empty dim tuple reduces nothing here (as in PyTorch)
    return apply(ALL, x, dims=wrap_dims("all", dim, x.ndim), keepdim=bool(keepdim))


@tensor_method
def any(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """Whether any element (over ``dim``) is nonzero."""
    x = require_tensor("any", input)
    # unlike sum, an empty dim tuple reduces nothing here (as in PyTorch)
    return apply(ANY, x, dims=wrap_dims("any", dim, x.ndim), keepdim=bool(keepdim))


@tensor_method
def count_nonzero(input: Tensor, dim: Any = None) -> Tensor:
    """Number of nonzero elements over ``dim``."""
    x = require_tensor("count_nonzero", input)
    return sum(x != 0, dim)


# ---------------------------------------------------------------- running extremes
def _running_index_forward(xp: Any, x: Any, dim: int, largest: bool) -> Any:
    """The index of the running max (min) along ``dim``: the last position holding it so far,
    a NaN taking over from where it appears (PyTorch's ``x >= best or isnan(x)`` rule)."""
    if x.dtype in LOWP:
        x = x.astype(_F32)
    best = (xp.maximum if largest else xp.minimum).accumulate(x, axis=dim)
    hit = x == best
    if x.dtype.kind == "f":
        hit |= xp.isnan(x) & xp.isnan(best)
    shape = [1] * x.ndim
    shape[dim] = x.shape[dim]
    position = xp.where(hit, xp.arange(x.shape[dim]).reshape(shape), -1)
    return xp.maximum.accumulate(position, axis=dim).astype(INT64)


RUNNING_INDEX = defop("_running_extreme_index", _running_index_forward,
                      lambda x, dim, largest: (x.shape, INT64), kind="opaque",
                      doc="index of the running max (min) along dim, for cummax/cummin")


def _running(name: str, input: Tensor, dim: int, largest: bool) -> ValuesIndices:
    x = require_tensor(name, input)
    d = wrap_dim(name, dim, x.ndim)
    flat = x if x.ndim else x.reshape(1)
    idx = apply(RUNNING_INDEX, flat, dim=d, largest=largest)
    values, idx = _gather_values(flat, idx, d, True)
    return ValuesIndices(values.reshape(x.shape), idx.reshape(x.shape))


@tensor_method
def cummax(input: Tensor, dim: int) -> ValuesIndices:
    """``(values, indices)`` of the running maximum along ``dim`` (ties: the latest index)."""
    return _running("cummax", input, dim, True)


@tensor_method
def cummin(input: Tensor, dim: int) -> ValuesIndices:
    """``(values, indices)`` of the running minimum along ``dim`` (ties: the latest index)."""
    return _running("cummin", input, dim, False)


# ---------------------------------------------------------------- statistics of matrices
@tensor_method
def trace(input: Tensor) -> Tensor:
    """The sum of the main diagonal of a matrix."""
    x = require_tensor("trace", input)
    if x.ndim != 2:
        raise op_error(RuntimeError, "trace", f"trace: expected a matrix, but got tensor with "
                       f"dim {x.ndim}", x._data)
    return sum(x.diagonal())


@tensor_method
def cov(input: Tensor, *, correction: int = 1, fweights: Optional[Tensor] = None,
        aweights: Optional[Tensor] = None) -> Tensor:
    """The covariance matrix of the variables in the rows of ``input`` (observations in the
    columns; a 1-d input is one variable), with frequency and importance weights."""
    x = require_tensor("cov", input)
    if x.ndim > 2:
        raise op_error(ValueError, "cov", f"cov(): expected input to have two or fewer "
                       f"dimensions but got an input with {x.ndim} dimensions", x._data)
    rows = x.reshape(1, -1) if x.ndim < 2 else x
    if not is_float(rows._data.dtype):
        rows = to_dtype(rows, _dt.get_default_dtype().np)
    n = rows.shape[1]
    w = None
    for name, weights in (("fweights", fweights), ("aweights", aweights)):
        if weights is None:
            continue
        weights = require_tensor("cov", weights, name)
        if weights.ndim > 1 or weights.numel() != n:
            raise op_error(ValueError, "cov", f"cov(): expected {name} to have one dimension "
                           f"with the number of observations ({n}), but got shape "
                           f"{list(weights.shape)}", weights._data)
        if name == "fweights" and is_float(weights._data.dtype):
            raise op_error(ValueError, "cov", "cov(): expected fweights to have integral "
                           f"dtype but got fweights with {weights.dtype} dtype")
        w = weights if w is None else w * weights
    if w is None:
        avg, w_sum, norm = mean(rows, 1), n, n - correction
    else:
        w = to_dtype(w, rows._data.dtype)
        w_sum = sum(w)
        avg = sum(rows * w, 1) / w_sum
        norm = w_sum - (correction if aweights is None else
                        correction * sum(w * to_dtype(aweights, rows._data.dtype)) / w_sum)
    if isinstance(norm, Tensor):
        norm = where(norm > 0, norm, 0)
    elif norm <= 0:
        warnings.warn("cov(): degrees of freedom is <= 0. Correction should be strictly less "
                      "than the number of observations.", UserWarning, stacklevel=2)
        norm = 0
    centered = rows - avg.unsqueeze(1)
    weighted = centered if w is None else centered * w
    c = (weighted @ centered.mT) / norm
    return c.reshape(()) if x.ndim < 2 else c


@tensor_method
def corrcoef(input: Tensor) -> Tensor:
    """Pearson correlation coefficients of the variables in the rows of ``input``, clipped to
    [-1, 1]."""
    c = cov(input)
    if c.ndim == 0:
        return c / c
    std = c.diagonal().sqrt()
    return (c / std.unsqueeze(1) / std.unsqueeze(0)).clamp(-1, 1)


# ---------------------------------------------------------------- integration
def _spacing(name: str, y: Tensor, x: Any, dx: Any, d: int) -> Any:
    """The widths between samples along ``d``: from ``x`` (1-d, or shaped as ``y``), ``dx``
    or 1."""
    if x is None:
        return 1 if dx is None else dx
    x = require_tensor(name, x, "x")
    if x.ndim == 1:
        if x.shape[0] != y.shape[d]:
            raise op_error(RuntimeError, name, f"{name} expected x to have the size of y along "
                           f"dim {d} ({y.shape[d]}), but got {x.shape[0]}", y._data, x._data)
        width = x[1:] - x[:-1]
        return width.reshape((-1,) + (1,) * (y.ndim - 1 - d))
    n = x.shape[d]
    return narrow(x, d, 1, n - 1) - narrow(x, d, 0, n - 1)


def _trapezoids(name: str, y: Tensor, x: Any, dx: Any, dim: int) -> tuple:
    y = require_tensor(name, y, "y")
    d = wrap_dim(name, dim, y.ndim)
    n = y.shape[d]
    if n == 0:
        return None, d
    mids = (narrow(y, d, 1, n - 1) + narrow(y, d, 0, n - 1)) / 2
    return mids * _spacing(name, y, x, dx, d), d


def trapezoid(y: Tensor, x: Optional[Tensor] = None, *, dx: Optional[float] = None,
              dim: int = -1) -> Tensor:
    """The trapezoid rule along ``dim``, sample positions ``x`` or spacing ``dx`` (1)."""
    areas, d = _trapezoids("trapezoid", y, x, dx, dim)
    if areas is None:
        return sum(y, d) * 0
    return sum(areas, d)


trapz = trapezoid  # (PyTorch's older name)


def cumulative_trapezoid(y: Tensor, x: Optional[Tensor] = None, *, dx: Optional[float] = None,
                         dim: int = -1) -> Tensor:
    """The running trapezoid rule along ``dim`` (one element shorter there)."""
    areas, d = _trapezoids("cumulative_trapezoid", y, x, dx, dim)
    if areas is None:
        return y * 1
    return cumsum(areas, d)
