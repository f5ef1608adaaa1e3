"""Pooling, padding and resampling: max/avg/adaptive/lp pools, pad, interpolate, pixel shuffle.

Pools work on the last ``d`` dims through strided window views and loop over kernel offsets
only. Max pools compute PyTorch's flat indices (a non-differentiable primitive); the values are
a gather at them, so their gradient is the gather's scatter.
"""

from __future__ import annotations

import builtins
import math
from typing import Any, Optional, Sequence

import numpy as np

from .._errors import op_error
from ..tensor import Tensor
from ._antialias import antialias_matrix
from ._common import INT64, LOWP, is_float, require_tensor
from ._opdef import apply, defop
from .conv import col2im, kernel_offsets, ntuple, pad_spatial, window_view
from .movement import cat

__all__ = [
    "adaptive_avg_pool1d",
    "adaptive_max_pool1d",
    "avg_pool1d",
    "channel_shuffle",
    "constant_pad_nd",
    "max_pool1d",
    "max_pool2d",
    "max_pool3d",
    "pixel_shuffle",
    "pixel_unshuffle",
]

_F32 = np.dtype(np.float32)


# ---------------------------------------------------------------- shared geometry
def _check_input(name: str, x: Tensor, d: int) -> None:
    if x.ndim not in (d + 1, d + 2) or any(n == 0 for n in x.shape[1:]):
        raise op_error(RuntimeError, name, f"non-empty {d + 1}D or {d + 2}D (batch mode) tensor "
                       f"expected for input, but got input of size {list(x.shape)}", x._data)


def _pool_geometry(name: str, x: Tensor, d: int, kernel_size: Any, stride: Any, padding: Any,
                   dilation: Any, ceil_mode: bool) -> dict:
    """Validated kernel/stride/padding/dilation tuples and the output size, PyTorch's way."""
    _check_input(name, x, d)
    kernel = ntuple(name, kernel_size, d, "kernel_size")
    stride = kernel if stride is None or stride == [] or stride == () else ntuple(
        name, stride, d, "stride")
    padding = ntuple(name, padding, d, "padding")
    dilation = ntuple(name, dilation, d, "dilation")
    if any(k <= 0 for k in kernel):
        raise op_error(RuntimeError, name, "kernel size should be greater than zero, but got "
                       f"kernel_size={list(kernel)}")
    if any(s <= 0 for s in stride):
        raise op_error(RuntimeError, name, "stride should not be zero")
    if any(dl <= 0 for dl in dilation):
        raise op_error(RuntimeError, name, "dilation should be greater than zero")
    for k, p, dl in zip(kernel, padding, dilation):
        if p < 0 or p > (dl * (k - 1) + 1) // 2:
            raise op_error(RuntimeError, name, f"pad should be at most half of effective kernel "
                           f"size, but got pad={p}, kernel_size={k} and dilation={dl}")
    size = x.shape[x.ndim - d:]
    out = []
    for n, k, s, p, dl in zip(size, kernel, stride, padding, dilation):
        span = n + 2 * p - dl * (k - 1) - 1
        o = (-(-span // s) if ceil_mode else span // s) + 1
        if ceil_mode and (o - 1) * s >= n + p:  # the last window must start inside the input
            o -= 1
        out.append(o)
    if any(o <= 0 for o in out):
        given = "x".join(map(str, x.shape[1:]))
        calculated = "x".join(map(str, x.shape[1:-d] + tuple(out)))
        raise op_error(RuntimeError, name, f"Given input size: ({given}). Calculated output "
                       f"size: ({calculated}). Output size is too small", x._data)
    return {"kernel": kernel, "stride": stride, "padding": padding, "dilation": dilation,
            "out": tuple(out)}


def _window_pads(size: tuple, kernel: tuple, stride: tuple, padding: tuple, dilation: tuple,
                 out: tuple) -> tuple:
    """(lo, hi) pads that make every window fit (ceil_mode may need more than ``padding``)."""
    return tuple((p, (o - 1) * s + dl * (k - 1) + 1 - n - p) for n, k, s, p, dl, o in
                 zip(size, kernel, stride, padding, dilation, out))


def _flat_positions(xp: Any, positions: Sequence[Any], size: tuple) -> Any:
    """Row-major flat indices over ``size`` of per-dim position arrays (broadcast together)."""
    d = len(size)
    flat = 0
    for i, (pos, n) in enumerate(zip(positions, size)):
        shape = [1] * d
        shape[i] = -1
        flat = flat * n + xp.asarray(pos, dtype=INT64).reshape(shape)
    return flat


def _argmax_of(xp: Any, candidates: Any) -> Any:
    """Flat index of the max over ``(values, flat index)`` candidates; the first max wins and
    NaN propagates (the last NaN's index), as in PyTorch's kernels."""
    best = index = None
    for values, flat in candidates:
        if best is None:
            best = values.copy()
            index = xp.empty(values.shape, INT64)
            index[...] = flat
            continue
        take = (values > best) | xp.isnan(values)
        xp.copyto(best, values, where=take)
        xp.copyto(index, flat, where=take)
    return index


# ---------------------------------------------------------------- max pools
def _max_pool_indices_forward(xp: Any, x: Any, kernel: tuple, stride: tuple, padding: tuple,
                              dilation: tuple, out: tuple) -> Any:
    d = len(kernel)
    size = x.shape[x.ndim - d:]
    pads = _window_pads(size, kernel, stride, padding, dilation, out)
    low = -np.inf if is_float(x.dtype) else np.iinfo(x.dtype).min
    win = window_view(xp, pad_spatial(xp, x, pads, low), kernel, out, stride, dilation)
    tail = (slice(None),) * d

    def candidates() -> Any:
        for k in kernel_offsets(kernel):
            pos = [np.arange(o) * s - p + ki * dl for o, s, p, ki, dl in
                   zip(out, stride, padding, k, dilation)]
            yield win[(Ellipsis,) + k + tail], _flat_positions(xp, pos, size)

    return _argmax_of(xp, candidates())


def _adaptive_bins(n: int, o: int) -> tuple:
    i = np.arange(o)
    return (i * n) // o, -((-(i + 1) * n) // o)


def _adaptive_max_indices_forward(xp: Any, x: Any, out: tuple) -> Any:
    d = len(out)
    size = x.shape[x.ndim - d:]
    bins = [_adaptive_bins(n, o) for n, o in zip(size, out)]
    longest = tuple(int((end - start).max()) for start, end in bins)

    def candidates() -> Any:
        for j in kernel_offsets(longest):
            # a bin shorter than the longest repeats its last element, which cannot win
            pos = [np.minimum(start + ji, end - 1) for (start, end), ji in zip(bins, j)]
            key = tuple(xp.asarray(p).reshape([-1 if a == i else 1 for a in range(d)])
                        for i, p in enumerate(pos))
            yield x[(Ellipsis,) + key], _flat_positions(xp, pos, size)

    return _argmax_of(xp, candidates())


def _indices_meta(x: Any, out: tuple, **attrs: Any) -> tuple:
    return x.shape[:x.ndim - len(out)] + tuple(out), INT64


MAX_POOL_INDICES = defop("max_pool_with_indices", _max_pool_indices_forward, _indices_meta,
                         doc="Flat input indices of each max-pool window's maximum.")
ADAPTIVE_MAX_INDICES = defop("adaptive_max_pool_with_indices", _adaptive_max_indices_forward,
                             _indices_meta,
                             doc="Flat input indices of each adaptive max-pool bin's maximum.")


def _values_at(x: Tensor, index: Tensor, d: int) -> Tensor:
    """``x``'s values at flat spatial ``index`` (a gather, so the gradient is its scatter)."""
    lead = x.shape[:x.ndim - d]
    flat = x.reshape(lead + (math.prod(x.shape[x.ndim - d:]),))
    return flat.gather(-1, index.reshape(lead + (math.prod(index.shape[x.ndim - d:]),))).reshape(
        index.shape)


def _max_pool(name: str, d: int, input: Tensor, kernel_size: Any, stride: Any, padding: Any,
              dilation: Any, ceil_mode: bool, return_indices: bool) -> Any:
    x = require_tensor(name, input)
    geo = _pool_geometry(name, x, d, kernel_size, stride, padding, dilation, ceil_mode)
    index = apply(MAX_POOL_INDICES, x, **geo)
    values = _values_at(x, index, d)
    return (values, index) if return_indices else values


def max_pool1d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
               dilation: Any = 1, ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """1-d max pooling over (N, C, L) or (C, L).

    Args:
        kernel_size: window size. stride: window step (default ``kernel_size``).
        padding: implicit -inf padding on both sides (at most half the window).
        dilation: spacing between window elements.
        ceil_mode: use ceil instead of floor for the output size.
        return_indices: also return the flat input index of each maximum.
    """
    return _max_pool("max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices)


def max_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
               dilation: Any = 1, ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """2-d max pooling over (N, C, H, W) or (C, H, W); arguments as in :func:`max_pool1d`.

    Example:
        >>> max_pool2d(ds.randn(1, 2, 4, 4), 2).shape
        deepseek.Size([1, 2, 2, 2])
    """
    return _max_pool("max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices)


def max_pool3d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
               dilation: Any = 1, ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """3-d max pooling over (N, C, D, H, W) or (C, D, H, W); arguments as in :func:`max_pool1d`."""
    return _max_pool("max_pool3d", 3, input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices)



def max_pool1d_with_indices(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
                            dilation: Any = 1, ceil_mode: bool = False,
                            return_indices: bool = False) -> tuple:
    """:func:`max_pool1d`'s values and flat indices, whatever ``return_indices`` says."""
    return _max_pool("max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode,
                     True)


def max_pool2d_with_indices(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
                            dilation: Any = 1, ceil_mode: bool = False,
                            return_indices: bool = False) -> tuple:
    """:func:`max_pool2d`'s values and flat indices, whatever ``return_indices`` says."""
    return _max_pool("max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode,
                     True)


def max_pool3d_with_indices(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
                            dilation: Any = 1, ceil_mode: bool = False,
                            return_indices: bool = False) -> tuple:
    """:func:`max_pool3d`'s values and flat indices, whatever ``return_indices`` says."""
    return _max_pool("max_pool3d", 3, input, kernel_size, stride, padding, dilation, ceil_mode,
                     True)

# ---------------------------------------------------------------- average pools
def _avg_divisor(size: tuple, kernel: tuple, stride: tuple, padding: tuple, out: tuple,
                 count_include_pad: bool, divisor_override: Optional[int]) -> np.ndarray:
    """Each window's divisor (an outer product of per-dim counts), as in PyTorch."""
    if divisor_override:
        return np.full(out, float(divisor_override))
    div = np.ones(())
    for n, k, s, p, o in zip(size, kernel, stride, padding, out):
        start = np.arange(o) * s - p
        end = np.minimum(start + k, n + p)
        count = end - start if count_include_pad else (
            np.minimum(end, n) - np.maximum(start, 0))
        div = np.multiply.outer(div, count.astype(np.float64))
    return div


def _avg_attrs(attrs: dict) -> tuple:
    a = attrs
    return a["kernel"], a["stride"], a["padding"], a["out"]


def _avg_pool_forward(xp: Any, x: Any, kernel: tuple, stride: tuple, padding: tuple, out: tuple,
                      count_include_pad: bool, divisor_override: Optional[int]) -> Any:
    d = len(kernel)
    size = x.shape[x.ndim - d:]
    ones = (1,) * d
    acc = _F32 if x.dtype in LOWP else x.dtype
    pads = _window_pads(size, kernel, stride, padding, ones, out)
    win = window_view(xp, pad_spatial(xp, x, pads), kernel, out, stride, ones)
    total = win.sum(axis=tuple(range(x.ndim - d, x.ndim)), dtype=acc)
    div = _avg_divisor(size, kernel, stride, padding, out, count_include_pad, divisor_override)
    return total / xp.asarray(div, dtype=acc)


def _avg_pool_backward_forward(xp: Any, g: Any, kernel: tuple, stride: tuple, padding: tuple,
                               out: tuple, count_include_pad: bool,
                               divisor_override: Optional[int], size: tuple) -> Any:
    d = len(kernel)
    acc = _F32 if g.dtype in LOWP else g.dtype
    div = _avg_divisor(size, kernel, stride, padding, out, count_include_pad, divisor_override)
    share = g.astype(acc) / xp.asarray(div, dtype=acc)
    lead = g.shape[:g.ndim - d]
    cols = xp.broadcast_to(share.reshape(lead + (1,) * d + out), lead + kernel + out)
    pads = _window_pads(size, kernel, stride, padding, (1,) * d, out)
    # the trailing ceil_mode pad may be negative (cropped input): scatter into a padded zero
    grow = tuple((lo, builtins.max(hi, 0)) for lo, hi in pads)
    gx = col2im(xp, cols, tuple(n + builtins.min(hi, 0) for n, (_, hi) in zip(size, pads)),
                kernel, stride, grow, (1,) * d)
    return pad_spatial(xp, gx, tuple((0, -builtins.min(hi, 0)) for _, hi in pads))


def _avg_pool_meta(x: Any, out: tuple, **attrs: Any) -> tuple:
    return x.shape[:x.ndim - len(out)] + tuple(out), x.dtype


def _avg_pool_backward_meta(g: Any, size: tuple, **attrs: Any) -> tuple:
    return g.shape[:g.ndim - len(size)] + tuple(size), g.dtype


def _avg_pool_vjp(ctx: Any, g: Tensor) -> tuple:
    d = len(ctx.attrs["kernel"])
    return (apply(AVG_POOL_BACKWARD, g, size=ctx.shapes[0][len(ctx.shapes[0]) - d:],
                  **ctx.attrs),)


def _avg_pool_backward_vjp(ctx: Any, g: Tensor) -> tuple:
    attrs = {k: v for k, v in ctx.attrs.items() if k != "size"}
    return (apply(AVG_POOL, g, **attrs),)


AVG_POOL = defop("avg_pool", _avg_pool_forward, _avg_pool_meta, _avg_pool_vjp,
                 save_inputs=False, doc="N-d average pooling over the last dims.")
AVG_POOL_BACKWARD = defop("avg_pool_backward", _avg_pool_backward_forward,
                          _avg_pool_backward_meta, _avg_pool_backward_vjp, save_inputs=False,
                          doc="Average pooling's transpose: each window's share spread back.")


def _avg_pool(name: str, d: int, input: Tensor, kernel_size: Any, stride: Any, padding: Any,
              ceil_mode: bool, count_include_pad: bool, divisor_override: Optional[int]) -> Tensor:
    x = require_tensor(name, input)
    if divisor_override is not None and divisor_override == 0:
        raise op_error(RuntimeError, name, "divisor must be not zero")
    geo = _pool_geometry(name, x, d, kernel_size, stride, padding, 1, ceil_mode)
    del geo["dilation"]
    return apply(AVG_POOL, x, count_include_pad=bool(count_include_pad),
                 divisor_override=divisor_override, **geo)


def avg_pool1d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
               ceil_mode: bool = False, count_include_pad: bool = True) -> Tensor:
    """1-d average pooling over (N, C, L) or (C, L).

    Args:
        kernel_size: window size. stride: window step (default ``kernel_size``).
        padding: implicit zero padding on both sides (at most half the window).
        ceil_mode: use ceil instead of floor for the output size.
        count_include_pad: count the zero padding in the divisor.
    """
    return _avg_pool("avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, None)


def avg_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
               ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: Optional[int] = None) -> Tensor:
    """2-d average pooling over (N, C, H, W) or (C, H, W); arguments as in :func:`avg_pool1d`,
    plus ``divisor_override`` (divide every window's sum by it)."""
    return _avg_pool("avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, divisor_override)


def avg_pool3d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
               ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: Optional[int] = None) -> Tensor:
    """3-d average pooling over (N, C, D, H, W) or (C, D, H, W); as :func:`avg_pool2d`."""
    return _avg_pool("avg_pool3d", 3, input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, divisor_override)


def _lp_pool(name: str, d: int, input: Tensor, norm_type: float, kernel_size: Any, stride: Any,
             ceil_mode: bool) -> Tensor:
    kernel = ntuple(name, kernel_size, d, "kernel_size")
    x = require_tensor(name, input)
    out = _avg_pool(name, d, x.pow(norm_type), kernel, stride, 0, ceil_mode, True, None)
    return (out.sign() * out.abs()).mul(math.prod(kernel)).pow(1.0 / norm_type)


def lp_pool1d(input: Tensor, norm_type: float, kernel_size: Any, stride: Any = None,
              ceil_mode: bool = False) -> Tensor:
    """1-d power-average pooling: ``(sum over the window of x ** p) ** (1 / p)``."""
    return _lp_pool("lp_pool1d", 1, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool2d(input: Tensor, norm_type: float, kernel_size: Any, stride: Any = None,
              ceil_mode: bool = False) -> Tensor:
    """2-d power-average pooling; as :func:`lp_pool1d`."""
    return _lp_pool("lp_pool2d", 2, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool3d(input: Tensor, norm_type: float, kernel_size: Any, stride: Any = None,
              ceil_mode: bool = False) -> Tensor:
    """3-d power-average pooling; as :func:`lp_pool1d`."""
    return _lp_pool("lp_pool3d", 3, input, norm_type, kernel_size, stride, ceil_mode)


def _max_unpool(name: str, d: int, input: Tensor, indices: Tensor, kernel_size: Any,
                stride: Any, padding: Any, output_size: Any) -> Tensor:
    """Scatter each value of ``input`` to its max pool's ``indices`` (flat per plane of the
    output), zeros elsewhere: the partial inverse of ``max_pool`` with ``return_indices``."""
    x, idx = require_tensor(name, input), require_tensor(name, indices, "indices")
    kernel = ntuple(name, kernel_size, d, "kernel_size")
    stride = kernel if stride is None else ntuple(name, stride, d, "stride")
    padding = ntuple(name, padding, d, "padding")
    if x.ndim not in (d + 1, d + 2):
        raise op_error(RuntimeError, name, f"Expected {d + 1}D or {d + 2}D tensor for input, "
                       f"but got {x.ndim}D", x._data)
    if tuple(idx.shape) != tuple(x.shape) or idx._data.dtype != INT64:
        raise op_error(RuntimeError, name, "Expected shape of indices to be same as that of the "
                       f"input tensor ({list(x.shape)}) and of dtype int64, but got indices of "
                       f"shape {list(idx.shape)}", x._data, idx._data)
    default = tuple((n - 1) * s - 2 * p + k
                    for n, s, p, k in zip(x.shape[-d:], stride, padding, kernel))
    out = default if output_size is None else tuple(int(n) for n in output_size)[-d:]
    if len(out) != d:
        raise op_error(ValueError, name, f"output_size must have {d} or {d + 2} elements, got "
                       f"{list(output_size)}")
    for i, (n, m, s) in enumerate(zip(out, default, stride)):
        if not m - s < n < m + s:
            raise op_error(ValueError, name, f'invalid output_size "{list(out)}" (dim {i} must '
                           f"be between {m - s} and {m + s})")
    lead = tuple(x.shape[:-d])
    zeros = x.new_zeros(lead + (math.prod(out),))
    return zeros.scatter(-1, idx.reshape(lead + (-1,)), x.reshape(lead + (-1,))).reshape(
        lead + out)


def max_unpool1d(input: Tensor, indices: Tensor, kernel_size: Any, stride: Any = None,
                 padding: Any = 0, output_size: Any = None) -> Tensor:
    """The partial inverse of :func:`max_pool1d` from its ``indices``: maxima back in place,
    zeros elsewhere; ``output_size`` picks among the sizes the pooling could have come from."""
    return _max_unpool("max_unpool1d", 1, input, indices, kernel_size, stride, padding,
                       output_size)


def max_unpool2d(input: Tensor, indices: Tensor, kernel_size: Any, stride: Any = None,
                 padding: Any = 0, output_size: Any = None) -> Tensor:
    """The partial inverse of :func:`max_pool2d`; as :func:`max_unpool1d`."""
    return _max_unpool("max_unpool2d", 2, input, indices, kernel_size, stride, padding,
                       output_size)


def max_unpool3d(input: Tensor, indices: Tensor, kernel_size: Any, stride: Any = None,
                 padding: Any = 0, output_size: Any = None) -> Tensor:
    """The partial inverse of :func:`max_pool3d`; as :func:`max_unpool1d`."""
    return _max_unpool("max_unpool3d", 3, input, indices, kernel_size, stride, padding,
                       output_size)


# ---------------------------------------------------------------- adaptive pools
def _adaptive_size(name: str, x: Tensor, d: int, output_size: Any) -> tuple:
    if x.ndim not in (d + 1, d + 2) or any(n == 0 for n in x.shape[x.ndim - d:]):
        raise op_error(RuntimeError, name, f"{name}(): Expected {d + 1}D or {d + 2}D tensor, but "
                       f"got: {list(x.shape)}", x._data)
    size = x.shape[x.ndim - d:]
    if isinstance(output_size, (tuple, list)):
        if len(output_size) not in (1, d):
            raise op_error(RuntimeError, name, f"{name}: output_size must be {d}, but got "
                           f"{list(output_size)}")
        output_size = tuple(output_size) * (d if len(output_size) == 1 else 1)
        out = tuple(n if o is None else int(o) for n, o in zip(size, output_size))
    else:
        out = (int(output_size),) * d
    if any(o < 0 for o in out):
        raise op_error(RuntimeError, name, f"{name}: elements of output_size must be greater than "
                       f"or equal to 0 but received {list(out)}")
    return out


def resample(x: Tensor, dim: int, matrix: np.ndarray) -> Tensor:
    """``x`` mapped along ``dim`` by a constant ``(out, in)`` matrix (one GEMM; linear in x)."""
    m = Tensor._wrap(np.ascontiguousarray(matrix.T, dtype=x._data.dtype), x._device)
    if dim == x.ndim - 1:
        return x @ m
    return (x.movedim(dim, -1) @ m).movedim(-1, dim)


def _adaptive_avg(name: str, d: int, input: Tensor, output_size: Any) -> Tensor:
    x = require_tensor(name, input)
    out = _adaptive_size(name, x, d, output_size)
    for i, o in enumerate(out):
        dim = x.ndim - d + i
        n = x.shape[dim]
        if o == n:
            continue
        start, end = _adaptive_bins(n, o)
        j = np.arange(n)
        inside = (j >= start[:, None]) & (j < end[:, None])
        x = resample(x, dim, inside / np.maximum(end - start, 1)[:, None])
    return x.clone() if x is input else x


def adaptive_avg_pool1d(input: Tensor, output_size: Any) -> Tensor:
    """1-d adaptive average pooling of (N, C, L) or (C, L) to length ``output_size``: bin ``i``
    covers ``[floor(i * L / out), ceil((i + 1) * L / out))``."""
    return _adaptive_avg("adaptive_avg_pool1d", 1, input, output_size)


def adaptive_avg_pool2d(input: Tensor, output_size: Any) -> Tensor:
    """2-d adaptive average pooling to ``output_size`` (int or pair; None keeps a dim).

    Example:
        >>> adaptive_avg_pool2d(ds.randn(1, 3, 7, 5), (2, None)).shape
        deepseek.Size([1, 3, 2, 5])
    """
    return _adaptive_avg("adaptive_avg_pool2d", 2, input, output_size)


def adaptive_avg_pool3d(input: Tensor, output_size: Any) -> Tensor:
    """3-d adaptive average pooling to ``output_size`` (int or triple; None keeps a dim)."""
    return _adaptive_avg("adaptive_avg_pool3d", 3, input, output_size)


def _adaptive_max(name: str, d: int, input: Tensor, output_size: Any,
                  return_indices: bool) -> Any:
    x = require_tensor(name, input)
    out = _adaptive_size(name, x, d, output_size)
    index = apply(ADAPTIVE_MAX_INDICES, x, out=out)
    values = _values_at(x, index, d)
    return (values, index) if return_indices else values


def adaptive_max_pool1d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    """1-d adaptive max pooling of (N, C, L) or (C, L) to ``output_size`` (bins as in
    :func:`adaptive_avg_pool1d`); optionally also the flat indices of the maxima."""
    return _adaptive_max("adaptive_max_pool1d", 1, input, output_size, return_indices)


def adaptive_max_pool2d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    """2-d adaptive max pooling to ``output_size``; as :func:`adaptive_max_pool1d`."""
    return _adaptive_max("adaptive_max_pool2d", 2, input, output_size, return_indices)


def adaptive_max_pool3d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    """3-d adaptive max pooling to ``output_size``; as :func:`adaptive_max_pool1d`."""
    return _adaptive_max("adaptive_max_pool3d", 3, input, output_size, return_indices)



def adaptive_max_pool1d_with_indices(input: Tensor, output_size: Any,
                                     return_indices: bool = False) -> tuple:
    """:func:`adaptive_max_pool1d`'s values and flat indices."""
    return _adaptive_max("adaptive_max_pool1d", 1, input, output_size, True)


def adaptive_max_pool2d_with_indices(input: Tensor, output_size: Any,
                                     return_indices: bool = False) -> tuple:
    """:func:`adaptive_max_pool2d`'s values and flat indices."""
    return _adaptive_max("adaptive_max_pool2d", 2, input, output_size, True)


def adaptive_max_pool3d_with_indices(input: Tensor, output_size: Any,
                                     return_indices: bool = False) -> tuple:
    """:func:`adaptive_max_pool3d`'s values and flat indices."""
    return _adaptive_max("adaptive_max_pool3d", 3, input, output_size, True)

# ---------------------------------------------------------------- padding
def _constant_pad_forward(xp: Any, x: Any, pads: tuple, value: Any) -> Any:
    out = pad_spatial(xp, x, pads, value)
    return out.copy() if all(lo <= 0 and hi <= 0 for lo, hi in pads) else out  # never a view


def _constant_pad_meta(x: Any, pads: tuple, value: Any) -> tuple:
    d = len(pads)
    shape = list(x.shape)
    for i, (lo, hi) in enumerate(pads):
        dim = x.ndim - d + i
        shape[dim] = x.shape[dim] + lo + hi
        if shape[dim] < 0:
            raise op_error(RuntimeError, "pad", f"The input size {x.shape[dim]}, plus negative "
                           f"padding {lo} and {hi} resulted in a negative output size, which is "
                           f"invalid. Check dimension {dim} of your input.", x)
    return tuple(shape), x.dtype


def _constant_pad_vjp(ctx: Any, g: Tensor) -> tuple:
    return (apply(CONSTANT_PAD, g, pads=tuple((-lo, -hi) for lo, hi in ctx.attrs["pads"]),
                  value=0),)


CONSTANT_PAD = defop("constant_pad_nd", _constant_pad_forward, _constant_pad_meta,
                     _constant_pad_vjp, save_inputs=False,
                     doc="Pad (or crop, for negative pads) the last dims with a constant.")


def _pad_pairs(name: str, x: Tensor, pad: Sequence[int]) -> tuple:
    """F.pad's flat ``(left_last, right_last, left_2nd_last, …)`` as (lo, hi) per padded dim,
    first dim first."""
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2:
        raise op_error(RuntimeError, name, "Padding length must be divisible by 2")
    if len(pad) // 2 > x.ndim:
        raise op_error(RuntimeError, name, f"Padding length should be less than or equal to two "
                       f"times the input dimension but got padding length {len(pad)} and input of "
                       f"dimension {x.ndim}")
    return tuple((pad[2 * i], pad[2 * i + 1]) for i in reversed(range(len(pad) // 2)))


def constant_pad_nd(input: Tensor, pad: Sequence[int], value: Any = 0) -> Tensor:
    """Pad the last ``len(pad) // 2`` dims with ``value`` (negative pads crop)."""
    x = require_tensor("constant_pad_nd", input)
    return apply(CONSTANT_PAD, x, pads=_pad_pairs("constant_pad_nd", x, pad),
                 value=0 if value is None else value)


def _pad_dim(x: Tensor, dim: int, lo: int, hi: int, mode: str) -> Tensor:
    """One dim padded by reflection, replication or wrapping: a cat of views (exact, and its
    gradient is slices, not scatters)."""
    n = x.shape[dim]
    if mode == "reflect":
        left, right = x.narrow(dim, 1, lo).flip(dim), x.narrow(dim, n - 1 - hi, hi).flip(dim)
    elif mode == "replicate":
        edge = list(x.shape)
        edge[dim] = lo
        left = x.narrow(dim, 0, 1).expand(edge)
        edge[dim] = hi
        right = x.narrow(dim, n - 1, 1).expand(edge)
    else:
        left, right = x.narrow(dim, n - lo, lo), x.narrow(dim, 0, hi)
    return cat([left, x, right], dim)


_NON_CONSTANT = {"reflect", "replicate", "circular"}


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant",
        value: Optional[float] = None) -> Tensor:
    """Pad ``input``'s last dims: ``pad = (left, right)`` for the last dim, then
    ``(top, bottom)`` for the one before, and so on.

    Args:
        mode: ``'constant'`` (``value``, default 0; negative pads crop), ``'reflect'`` (mirror
            without the edge), ``'replicate'`` (repeat the edge) or ``'circular'`` (wrap). The
            last three pad the last 1, 2 or 3 dims of an input with one or two more dims.

    Example:
        >>> pad(ds.ones(1, 2, 2), (1, 1), mode="replicate").shape
        deepseek.Size([1, 2, 4])
    """
    x = require_tensor("pad", input)
    pairs = _pad_pairs("pad", x, pad)
    if mode == "constant":
        return apply(CONSTANT_PAD, x, pads=pairs, value=0 if value is None else value)
    if mode not in _NON_CONSTANT:
        raise op_error(NotImplementedError, "pad", f"Unrecognised padding mode {mode}")
    m = len(pairs)
    if value is not None and value != 0:
        raise op_error(ValueError, "pad", f"Padding mode \"{mode}\" doesn't take in value "
                       "argument.")
    if m not in (1, 2, 3) or x.ndim not in (m + 1, m + 2):
        raise op_error(NotImplementedError, "pad", f"Padding size {2 * m} is not supported for "
                       f"{x.ndim}D input tensor. Supported combinations for non-constant padding: "
                       "2D or 3D input with padding size 2, 3D or 4D with 4, 4D or 5D with 6",
                       x._data)
    for i, (lo, hi) in enumerate(pairs):
        dim = x.ndim - m + i
        n = x.shape[dim]
        if lo < 0 or hi < 0:  # negative pads crop first, as in PyTorch
            x = x.narrow(dim, builtins.max(-lo, 0), n - builtins.max(-lo, 0) - builtins.max(-hi, 0))
            lo, hi, n = builtins.max(lo, 0), builtins.max(hi, 0), x.shape[dim]
        if mode == "reflect" and (lo >= n or hi >= n):
            raise op_error(RuntimeError, "pad", f"Padding size should be less than the "
                           f"corresponding input dimension, but got: padding ({lo}, {hi}) at "
                           f"dimension {dim} of input {list(x.shape)}", x._data)
        if mode == "circular" and (lo > n or hi > n):
            raise op_error(RuntimeError, "pad", "Padding value causes wrapping around more than "
                           "once.", x._data)
        if lo or hi:
            x = _pad_dim(x, dim, lo, hi, mode)
    return x


# ---------------------------------------------------------------- interpolation
_MODE_DIMS = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}
_MODES = ("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear", "area")


def _source_scale(n: int, o: int, align_corners: bool, scale: Optional[float], dt: Any) -> Any:
    """PyTorch's area_pixel_compute_scale, in the op's math dtype."""
    if align_corners:
        return dt((n - 1) / (o - 1)) if o > 1 else dt(0)
    return dt(1.0 / scale) if scale is not None and scale > 0 else dt(n) / dt(o)


def _nearest_index(n: int, o: int, scale: Optional[float], exact: bool) -> np.ndarray:
    if o == n:
        return np.arange(o)
    s = _source_scale(n, o, False, scale, np.float32)
    j = np.arange(o, dtype=np.float32)
    src = np.floor(((j + np.float32(0.5)) if exact else j) * s).astype(np.int64)
    return np.minimum(src, n - 1)


def _linear_matrix(n: int, o: int, align_corners: bool, scale: Optional[float],
                   dt: Any) -> np.ndarray:
    s = _source_scale(n, o, align_corners, scale, dt)
    j = np.arange(o, dtype=dt)
    src = j * s if align_corners else np.maximum((j + dt(0.5)) * s - dt(0.5), dt(0))
    i0 = np.minimum(src.astype(np.int64), n - 1)
    i1 = np.minimum(i0 + 1, n - 1)
    lam = src - i0
    m = np.zeros((o, n), dt)
    np.add.at(m, (np.arange(o), i0), 1 - lam)
    np.add.at(m, (np.arange(o), i1), lam)
    return m


def _cubic_matrix(n: int, o: int, align_corners: bool, scale: Optional[float],
                  dt: Any) -> np.ndarray:
    a = dt(-0.75)
    s = _source_scale(n, o, align_corners, scale, dt)
    j = np.arange(o, dtype=dt)
    src = j * s if align_corners else (j + dt(0.5)) * s - dt(0.5)
    i = np.floor(src).astype(np.int64)
    t = (src - i).astype(dt)

    def near(u: np.ndarray) -> np.ndarray:  # |u| <= 1
        return ((a + 2) * u - (a + 3)) * u * u + 1

    def far(u: np.ndarray) -> np.ndarray:  # 1 < |u| < 2
        return ((a * u - 5 * a) * u + 8 * a) * u - 4 * a

    weights = (far(t + 1), near(t), near(1 - t), far(2 - t))
    m = np.zeros((o, n), dt)
    for k, w in enumerate(weights):
        np.add.at(m, (np.arange(o), np.clip(i - 1 + k, 0, n - 1)), w)
    return m


def _take(x: Tensor, dim: int, index: np.ndarray) -> Tensor:
    """``x`` indexed along ``dim``; an integer upsampling is a broadcast (its gradient a sum)."""
    n, o = x.shape[dim], len(index)
    if o % n == 0 and np.array_equal(index, np.arange(o) // (o // n)):
        r = o // n
        shape = x.shape[:dim + 1] + (1,) + x.shape[dim + 1:]
        big = x.shape[:dim + 1] + (r,) + x.shape[dim + 1:]
        return x.reshape(shape).expand(big).reshape(x.shape[:dim] + (o,) + x.shape[dim + 1:])
    return x[(slice(None),) * dim + (index,)]


def _output_geometry(x: Tensor, d: int, size: Any, scale_factor: Any,
                     recompute_scale_factor: Optional[bool]) -> tuple:
    spatial = x.shape[2:]
    if size is not None and scale_factor is not None:
        raise op_error(ValueError, "interpolate", "only one of size or scale_factor should be "
                       "defined")
    if size is not None:
        if recompute_scale_factor:
            raise op_error(ValueError, "interpolate", "recompute_scale_factor is not meaningful "
                           "with an explicit size.")
        out = tuple(int(s) for s in size) if isinstance(size, (tuple, list)) else (int(size),) * d
        if len(out) != d:
            raise op_error(ValueError, "interpolate", f"Input and output must have the same number "
                           f"of spatial dimensions, but got input with spatial dimensions of "
                           f"{list(spatial)} and output size of {tuple(size)}. Please provide "
                           "input tensor in (N, C, d1, d2, ...,dK) format and output size in "
                           "(o1, o2, ...,oK) format.")
        return out, (None,) * d
    if scale_factor is None:
        raise op_error(ValueError, "interpolate", "either size or scale_factor should be defined")
    scales = tuple(float(s) for s in scale_factor) if isinstance(
        scale_factor, (tuple, list)) else (float(scale_factor),) * d
    if len(scales) != d:
        raise op_error(ValueError, "interpolate", f"Input and scale_factor must have the same "
                       f"number of spatial dimensions, but got input with spatial dimensions of "
                       f"{list(spatial)} and scale_factor of shape {tuple(scale_factor)}.")
    out = tuple(math.floor(n * s) for n, s in zip(spatial, scales))
    return out, ((None,) * d if recompute_scale_factor else scales)


def interpolate(input: Tensor, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
                align_corners: Optional[bool] = None,
                recompute_scale_factor: Optional[bool] = None, antialias: bool = False) -> Tensor:
    """Resample the spatial dims of (N, C, *S) to ``size`` or by ``scale_factor``.

    Args:
        size: output spatial size (int or sequence).
        scale_factor: multiplier(s) for the spatial size (output size is floored).
        mode: ``'nearest'``, ``'nearest-exact'``, ``'linear'`` (3-D), ``'bilinear'`` /
            ``'bicubic'`` (4-D), ``'trilinear'`` (5-D) or ``'area'``.
        align_corners: for the interpolating modes, map corner pixel centers onto each other.
        recompute_scale_factor: compute the coordinate scale from the output size instead of
            using ``scale_factor``.
        antialias: for ``'bilinear'`` / ``'bicubic'``, widen the filter by the scale when
            downsampling (Pillow's resize); the bicubic filter then uses ``a = -0.5``.

    Example:
        >>> interpolate(ds.randn(1, 1, 2, 3), scale_factor=2, mode="bilinear").shape
        deepseek.Size([1, 1, 4, 6])
    """
    x = require_tensor("interpolate", input)
    if mode not in _MODES:
        raise op_error(NotImplementedError, "interpolate", f"Input Error: Only 3D, 4D and 5D input "
                       f"Tensors supported (got {x.ndim}D) for the modes: "
                       f"{' | '.join(_MODES)} (got {mode})")
    if align_corners is not None and mode not in _MODE_DIMS:
        raise op_error(ValueError, "interpolate", "align_corners option can only be set with the "
                       "interpolating modes: linear | bilinear | bicubic | trilinear")
    d = x.ndim - 2
    if not antialias and (d not in (1, 2, 3) or (mode in _MODE_DIMS and _MODE_DIMS[mode] != d)):
        need = f"{_MODE_DIMS[mode] + 2}D" if mode in _MODE_DIMS else "3D, 4D or 5D"
        raise op_error(NotImplementedError, "interpolate", f"Got {x.ndim}D input, but {mode} "
                       f"mode needs {need} input", x._data)
    out, scales = _output_geometry(x, d, size, scale_factor, recompute_scale_factor)
    if antialias and not (mode in ("bilinear", "bicubic") and x.ndim == 4):
        raise op_error(ValueError, "interpolate", "Anti-alias option is restricted to bilinear, "
                       "bicubic, and lanczos modes and requires a 4-D tensor as input", x._data)
    if mode == "area":
        return _adaptive_avg("interpolate", d, x, out)
    if not is_float(x._data.dtype) and mode not in ("nearest", "nearest-exact"):
        raise op_error(RuntimeError, "interpolate", f"\"upsample_{mode}\" not implemented for "
                       f"'{x.dtype.name}'", x._data)
    math_dt = np.float64 if x._data.dtype == np.float64 else np.float32
    for i, (o, s) in enumerate(zip(out, scales)):
        dim, n = 2 + i, x.shape[2 + i]
        if mode in ("nearest", "nearest-exact"):
            index = _nearest_index(n, o, s, mode == "nearest-exact")
            if o != n or not np.array_equal(index, np.arange(n)):
                x = _take(x, dim, index)
        elif antialias:
            if o != n:  # like ATen, which skips a dim whose size is kept, whatever the scale
                scale = _source_scale(n, o, bool(align_corners), s, math_dt)
                x = resample(x, dim, antialias_matrix(n, o, mode, scale, math_dt))
        elif mode == "bicubic":
            x = resample(x, dim, _cubic_matrix(n, o, bool(align_corners), s, math_dt))
        elif o != n or align_corners or s is not None:
            x = resample(x, dim, _linear_matrix(n, o, bool(align_corners), s, math_dt))
    return x.clone() if x is input else x


def upsample(input: Tensor, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
             align_corners: Optional[bool] = None) -> Tensor:
    """Deprecated alias of :func:`interpolate`."""
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input: Tensor, size: Any = None, scale_factor: Any = None) -> Tensor:
    """Nearest-neighbour upsampling (deprecated alias of :func:`interpolate`)."""
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input: Tensor, size: Any = None, scale_factor: Any = None) -> Tensor:
    """Bilinear upsampling with ``align_corners=True`` (deprecated alias)."""
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


# ---------------------------------------------------------------- pixel shuffles
def _check_shuffle(name: str, x: Tensor, factor: int) -> None:
    if x.ndim < 3:
        raise op_error(RuntimeError, name, f"{name} expects input to have at least 3 dimensions, "
                       f"but got input with {x.ndim} dimension(s)", x._data)
    if not isinstance(factor, (int, np.integer)) or factor <= 0:
        raise op_error(RuntimeError, name, f"{name} expects a positive factor, but got {factor}")


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """Rearrange (*, C * r ** 2, H, W) into (*, C, H * r, W * r).

    Example:
        >>> pixel_shuffle(ds.randn(1, 8, 2, 3), 2).shape
        deepseek.Size([1, 2, 4, 6])
    """
    x = require_tensor("pixel_shuffle", input)
    r = upscale_factor
    _check_shuffle("pixel_shuffle", x, r)
    *lead, c, h, w = x.shape
    if c % (r * r):
        raise op_error(RuntimeError, "pixel_shuffle", f"pixel_shuffle expects its input's "
                       f"'channel' dimension to be divisible by the square of upscale_factor, but "
                       f"input.size(-3)={c} is not divisible by {r * r}", x._data)
    k = len(lead)
    y = x.reshape(*lead, c // (r * r), r, r, h, w)
    y = y.permute(*range(k), k, k + 3, k + 1, k + 4, k + 2)
    return y.reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """Rearrange (*, C, H * r, W * r) into (*, C * r ** 2, H, W): the inverse of
    :func:`pixel_shuffle`."""
    x = require_tensor("pixel_unshuffle", input)
    r = downscale_factor
    _check_shuffle("pixel_unshuffle", x, r)
    *lead, c, h, w = x.shape
    for axis, n in (("height", h), ("width", w)):
        if n % r:
            raise op_error(RuntimeError, "pixel_unshuffle", f"pixel_unshuffle expects {axis} to be "
                           f"divisible by downscale_factor, but input.size("
                           f"{-2 if axis == 'height' else -1})={n} is not divisible by {r}",
                           x._data)
    k = len(lead)
    y = x.reshape(*lead, c, h // r, r, w // r, r)
    y = y.permute(*range(k), k, k + 2, k + 4, k + 1, k + 3)
    return y.reshape(*lead, c * r * r, h // r, w // r)


def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """Interleave the channels of (N, C, *) across ``groups``: (N, g, C/g, *) -> (N, C/g, g, *)."""
    x = require_tensor("channel_shuffle", input)
    if x.ndim < 3:
        raise op_error(RuntimeError, "channel_shuffle", f"channel_shuffle expects input to have at "
                       f"least 3 dimensions, but got input with {x.ndim} dimension(s)", x._data)
    if groups <= 0 or x.shape[1] % groups:
        raise op_error(RuntimeError, "channel_shuffle", f"Number of channels must be divisible by "
                       f"groups. Got {x.shape[1]} channels and {groups} groups.", x._data)
    n, c, rest = x.shape[0], x.shape[1], x.shape[2:]
    return x.reshape(n, groups, c // groups, *rest).transpose(1, 2).reshape(n, c, *rest)
