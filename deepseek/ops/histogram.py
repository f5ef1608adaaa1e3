"""Histograms with explicit bin edges: ``histogram`` and ``histogramdd`` (``histc`` and
``bincount``, which return counts only, live in sorting.py)."""

from __future__ import annotations

import math
from collections import namedtuple
from typing import Any, Optional, Sequence

import numpy as np

from .. import _creation
from .._errors import op_error
from ..tensor import Tensor, host_values
from ._common import require_tensor
from ._opdef import apply, defop, tensor_method

__all__ = ["histogram", "histogramdd", "HistogramResult", "HistogramddResult"]

# PyTorch's named return types (torch.return_types.histogram / histogramdd)
HistogramResult = namedtuple("histogram", ["hist", "bin_edges"])
HistogramddResult = namedtuple("histogramdd", ["hist", "bin_edges"])

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _histogramdd_forward(xp: Any, x: Any, *edges_weight: Any, density: bool) -> Any:
    dims = x.shape[1]
    edges, weight = edges_weight[:dims], edges_weight[dims:]
    keep = xp.ones(x.shape[0], dtype=bool)
    flat = xp.zeros(x.shape[0], dtype=np.int64)
    for d, e in enumerate(edges):
        v, bins = x[:, d], e.shape[0] - 1
        keep &= (v >= e[0]) & (v <= e[-1])  # NaN compares false: it lands in no bin
        # every bin holds its left edge; the last one its right edge too
        at = xp.clip(xp.searchsorted(e, v, side="right") - 1, 0, bins - 1)
        flat = flat * bins + at
    shape = tuple(e.shape[0] - 1 for e in edges)
    total = math.prod(shape)
    w = weight[0][keep] if weight else None
    hist = xp.bincount(flat[keep], weights=w, minlength=total).astype(x.dtype).reshape(shape)
    if density:
        volume = xp.ones((), x.dtype)
        for d, e in enumerate(edges):
            volume = volume[..., None] * xp.diff(e) if d else xp.diff(e)
        with np.errstate(invalid="ignore", divide="ignore"):
            hist = hist / hist.sum() / volume
    return hist


HISTOGRAMDD = defop(
    "histogramdd", _histogramdd_forward,
    lambda x, *edges_weight, density: (
        tuple(e.shape[0] - 1 for e in edges_weight[:x.shape[1]]), x.dtype),
    doc="counts (or summed weights) of the rows of x (N, D) in the bins the D edge arrays make")


def _check_float(op: str, x: Tensor) -> None:
    if x._data.dtype not in _FLOATS:
        raise op_error(NotImplementedError, op, f'"histogramdd" not implemented for '
                       f"'{x.dtype}'", x._data)


def _range_of(op: str, column: Tensor, bounds: Optional[tuple], d: int) -> tuple:
    """The leftmost and rightmost edges of dimension ``d``: ``bounds`` or the data's range,
    widened by 0.5 each way when they coincide."""
    if bounds is not None:
        low, high = float(bounds[0]), float(bounds[1])
    elif column.numel():
        values = host_values(column, f"{op}'s range")
        low, high = float(np.min(values)), float(np.max(values))
    else:
        low, high = 0.0, 1.0
    if low > high:
        raise op_error(RuntimeError, op, f"torch.histogramdd: min should not exceed max, but "
                       f"got min {low:g} max {high:g} for dimension {d}")
    if not (math.isfinite(low) and math.isfinite(high)):
        raise op_error(RuntimeError, op, f"torch.histogramdd: dimension {d}'s range "
                       f"[{low:g}, {high:g}] is not finite")
    if low == high:
        low, high = low - 0.5, high + 0.5
    return low, high


def _int_bins(op: str, bins: Any) -> bool:
    return isinstance(bins, (int, np.integer)) and not isinstance(bins, bool)


def _edges(op: str, x: Tensor, bins: Sequence, ranges: Optional[Sequence]) -> list:
    """One 1-d edge tensor per column of ``x`` (N, D) from ints or edge tensors."""
    dims = x.shape[1]
    if ranges is not None:
        if any(isinstance(b, Tensor) for b in bins):
            raise op_error(TypeError, op, f"{op}(): range cannot be given with bins as tensors "
                           "(the edges already fix it)")
        ranges = [float(r) for r in ranges]
        if len(ranges) != 2 * dims:
            raise op_error(RuntimeError, op, f"torch.histogramdd: for a {dims}-dimensional "
                           f"histogram range should have {2 * dims} elements, but got "
                           f"{len(ranges)}")
    edges = []
    for d, b in enumerate(bins):
        if isinstance(b, Tensor):
            if b.ndim != 1:
                raise op_error(RuntimeError, op, f"torch.histogramdd: bins tensor should have "
                               f"one dimension, but got {b.ndim} dimensions in the bins tensor "
                               f"for dimension {d}", b._data)
            if b.numel() == 0:
                raise op_error(RuntimeError, op, f"torch.histogramdd: bins tensor should have "
                               f"at least 1 element, but got 0 elements in the bins tensor for "
                               f"dimension {d}", b._data)
            if b.numel() == 1:
                raise op_error(RuntimeError, op, f"torch.histogram(): bins must be > 0, but got "
                               f"0 for dimension {d}", b._data)
            if b._data.dtype != x._data.dtype:
                raise op_error(RuntimeError, op, f"torch.histogramdd: input tensor and bins "
                               f"tensors should have the same dtype, but got input with dtype "
                               f"{x.dtype} and bins for dimension {d} with dtype {b.dtype}",
                               x._data, b._data)
            edges.append(b.detach().clone())
        elif _int_bins(op, b):
            if b <= 0:
                raise op_error(RuntimeError, op, f"torch.histogram(): bins must be > 0, but got "
                               f"{b} for dimension {d}")
            bounds = None if ranges is None else ranges[2 * d:2 * d + 2]
            low, high = _range_of(op, x[:, d], bounds, d)
            edges.append(_creation.linspace(low, high, int(b) + 1, dtype=x.dtype,
                                            device=x._device))
        else:
            raise op_error(TypeError, op, f"{op}(): bins must be an int, a sequence of ints or "
                           f"a sequence of 1-d Tensors, got {type(b).__name__}")
    return edges


def _hist(x: Tensor, edges: list, weight: Optional[Tensor], density: bool) -> Tensor:
    extra = () if weight is None else (weight.reshape(-1),)
    return apply(HISTOGRAMDD, x, *edges, *extra, density=bool(density))


def _check_weight(op: str, x: Tensor, weight: Optional[Tensor], shape: tuple) -> None:
    if weight is None:
        return
    require_tensor(op, weight, "weight")
    if tuple(weight.shape) != shape:
        which = " excluding its innermost dimension" if op == "histogramdd" else ""
        raise op_error(RuntimeError, op, f"torch.{op}: if weight tensor is provided it should "
                       f"have the same shape as the input tensor{which}, but got input with shape "
                       f"{list(x.shape)} and weight with shape {list(weight.shape)}",
                       x._data, weight._data)
    if weight._data.dtype != x._data.dtype:
        raise op_error(RuntimeError, op, f"torch.{op}: if weight tensor is provided, input "
                       f"tensor and weight tensor should have the same dtype, but got "
                       f"input({x.dtype}), and weight({weight.dtype})", x._data, weight._data)


@tensor_method
def histogram(input: Tensor, bins: Any = 100, *, range: Optional[Sequence[float]] = None,
              weight: Optional[Tensor] = None, density: bool = False) -> HistogramResult:
    """A histogram of the values of ``input``.

    Every bin holds its left edge; the last also holds its right edge. Values outside the
    edges (and NaNs) are left out. Not differentiable.

    Args:
        input: a float32 or float64 tensor of any shape.
        bins: the number of equal-width bins (int), or a 1-d tensor of increasing edges,
            rightmost included, of ``input``'s dtype.
        range: ``(min, max)`` of the equal-width bins; by default the data's min and max.
        weight: a tensor of ``input``'s shape and dtype; each value counts its weight.
        density: if True, normalize so the histogram integrates to 1 over the edges.

    Returns:
        ``(hist, bin_edges)``: 1-d tensors of ``bins`` and ``bins + 1`` elements.

    Example:
        >>> ds.histogram(ds.tensor([1., 2, 1]), bins=4, range=(0., 3.),
        ...              weight=ds.tensor([1., 2., 4.]))
        histogram(hist=tensor([0., 5., 2., 0.]), bin_edges=tensor([0.0000, 0.7500, 1.5000, 2.2500, 3.0000]))
    """  # noqa: E501
    x = require_tensor("histogram", input)
    _check_float("histogram", x)
    if not (isinstance(bins, Tensor) or _int_bins("histogram", bins)):
        raise op_error(TypeError, "histogram", f"histogram(): bins must be an int or a 1-d "
                       f"Tensor, got {type(bins).__name__}")
    _check_weight("histogram", x, weight, tuple(x.shape))
    flat = x.reshape(-1, 1)
    edges = _edges("histogram", flat, [bins], range)
    hist = _hist(flat, edges, weight, density)
    return HistogramResult(hist, edges[0])


def histogramdd(input: Tensor, bins: Any, *, range: Optional[Sequence[float]] = None,
                weight: Optional[Tensor] = None, density: bool = False) -> HistogramddResult:
    """A multi-dimensional histogram of the points in the rows of ``input``.

    The last dimension of ``input`` (size D) holds a point's coordinates; the others are
    flattened into the points. Each coordinate is binned among its own edges as
    :func:`histogram` does; points outside any dimension's edges are left out.

    Args:
        input: a float32 or float64 tensor of at least 2 dimensions, ``(..., D)``.
        bins: an int (that many equal-width bins in every dimension), D ints, or D 1-d
            tensors of increasing edges of ``input``'s dtype.
        range: ``[min_0, max_0, ..., min_{D-1}, max_{D-1}]`` of the equal-width bins; by
            default the data's min and max in each dimension.
        weight: a tensor of shape ``input.shape[:-1]`` and ``input``'s dtype.
        density: if True, normalize so the histogram integrates to 1 over the bins.

    Returns:
        ``(hist, bin_edges)``: a D-dimensional tensor of shape ``(bins_0, ..., bins_{D-1})``
        and a tuple of the D edge tensors.

    Example:
        >>> ds.histogramdd(ds.tensor([[0., 1.], [1., 0.], [2., 0.], [2., 2.]]), bins=[2, 2])
        histogramdd(hist=tensor([[0., 1.], [2., 1.]]), bin_edges=(tensor([0., 1., 2.]), tensor([0., 1., 2.])))
    """  # noqa: E501
    x = require_tensor("histogramdd", input)
    _check_float("histogramdd", x)
    if x.ndim < 2:
        raise op_error(RuntimeError, "histogramdd", "torch.histogramdd: input tensor should "
                       "have at least 2 dimensions", x._data)
    dims = x.shape[-1]
    if isinstance(bins, Tensor):
        raise op_error(TypeError, "histogramdd", "histogramdd(): bins must be an int, a "
                       "sequence of ints or a sequence of 1-d Tensors, got a single Tensor "
                       "(pass [bins] for a 1-dimensional histogram)", bins._data)
    bins = [bins] * dims if _int_bins("histogramdd", bins) else list(bins)
    if len(bins) != dims:
        raise op_error(RuntimeError, "histogramdd", "histogramdd: The size of bins must be "
                       f"equal to the innermost dimension of the input ({dims}), got "
                       f"{len(bins)}", x._data)
    _check_weight("histogramdd", x, weight, tuple(x.shape[:-1]))
    points = x.reshape(-1, dims)
    edges = _edges("histogramdd", points, bins, range)
    return HistogramddResult(_hist(points, edges, weight, density), tuple(edges))

