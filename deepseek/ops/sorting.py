"""Ordering primitives: sort/argsort, topk, unique (values come back through ``gather``)."""

from __future__ import annotations

import builtins
from typing import Any, Optional

import numpy as np

from .._errors import op_error
from ..tensor import Tensor, host_values
from ._common import BOOL, INT64, LOWP, require_tensor, wrap_dim
from ._opdef import apply, defop, tensor_method
from .elementwise import where
from .indexing import gather
from .reduce import _gather_values, any as any_, sum as sum_

def _argsort_forward(xp: Any, x: Any, dim: int, descending: bool) -> Any:
    if x.ndim == 0:
        return xp.zeros((), INT64)
    if x.dtype in LOWP:
        x = x.astype(np.float32)
    if not descending:
        return xp.argsort(x, axis=dim, kind="stable")
    # stable descending: sort the reversed axis ascending and reverse back (NaNs come first)
    idx = xp.argsort(xp.flip(x, dim), axis=dim, kind="stable")
    return x.shape[dim] - 1 - xp.flip(idx, dim)


ARGSORT = defop("argsort", _argsort_forward, lambda x, dim, descending: (x.shape, INT64))


def _sorted_indices(op: str, x: Tensor, dim: int, descending: bool) -> tuple:
    d = wrap_dim(op, dim, x.ndim)
    return d, apply(ARGSORT, x, dim=d, descending=bool(descending))


def _values_indices(values: Tensor, indices: Tensor) -> tuple:
    from .reduce import ValuesIndices

    return ValuesIndices(values, indices)


@tensor_method
def sort(input: Tensor, dim: int = -1, descending: bool = False, *,
         stable: bool = False) -> tuple:
    """``(values, indices)`` of ``input`` sorted along ``dim`` (always stable here)."""
    x = require_tensor("sort", input)
    d, idx = _sorted_indices("sort", x, dim, descending)
    return _values_indices(gather(x, d, idx) if x.ndim else x.clone(), idx)


@tensor_method
def argsort(input: Tensor, dim: int = -1, descending: bool = False, *,
            stable: bool = False) -> Tensor:
    """The indices that sort ``input`` along ``dim``."""
    return _sorted_indices("argsort", require_tensor("argsort", input), dim, descending)[1]


@tensor_method
def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> tuple:
    """``(values, indices)`` of the ``k`` largest (``largest=False``: smallest) entries along
    ``dim``, in sorted order."""
    x = require_tensor("topk", input)
    n = x.shape[wrap_dim("topk", dim, x.ndim)] if x.ndim else 1
    if not 0 <= k <= n:
        raise op_error(RuntimeError, "topk", f"selected index k out of range (k={k}, size {n})",
                       x._data)
    d, idx = _sorted_indices("topk", x, dim, largest)
    if not x.ndim:
        return _values_indices(x.clone(), idx)
    idx = idx.narrow(d, 0, k)
    return _values_indices(gather(x, d, idx), idx)


def _unique_forward(xp: Any, x: Any, dim: Optional[int], consecutive: bool, part: str) -> Any:
    """One output of unique/unique_consecutive: ``part`` is values, inverse or counts."""
    rows = x.reshape(-1) if dim is None else xp.moveaxis(x, dim, 0)
    n = rows.shape[0]
    flat = rows.reshape(n, int(np.prod(rows.shape[1:])))
    if consecutive:
        order = xp.arange(n)
    elif dim is None:
        order = xp.argsort(rows.astype(np.float32) if rows.dtype in LOWP else rows, kind="stable")
    else:  # lexicographic order of the slices: the first element is the primary key
        order = xp.lexsort(flat.T[::-1]) if flat.shape[1] else xp.arange(n)
    ranked = flat[order]
    new = xp.ones(n, dtype=BOOL)
    new[1:] = xp.any(ranked[1:] != ranked[:-1], axis=1)
    if part == "values":
        out = rows[order][new]
        return out if dim is None else xp.moveaxis(out, 0, dim)
    if part == "counts":
        return xp.diff(xp.append(xp.flatnonzero(new), n)).astype(INT64)
    inverse = xp.empty(n, dtype=INT64)
    inverse[order] = xp.cumsum(new) - 1
    return inverse.reshape(x.shape) if dim is None else inverse


def _unique_meta(x: Any, dim: Optional[int], consecutive: bool, part: str) -> tuple:
    # the number of distinct entries depends on the data: -1 marks that size
    if part == "values":
        shape = (-1,) if dim is None else x.shape[:dim] + (-1,) + x.shape[dim + 1:]
        return shape, x.dtype
    if part == "inverse":
        return (x.shape if dim is None else (x.shape[dim],)), INT64
    return (-1,), INT64


UNIQUE = defop("_unique2", _unique_forward, _unique_meta, data_shape=True)


def _unique(op: str, input: Tensor, consecutive: bool, return_inverse: bool,
            return_counts: bool, dim: Optional[int]) -> Any:
    x = require_tensor(op, input)
    d = None if dim is None else wrap_dim(op, dim, x.ndim)
    if d is not None and x.ndim == 0:
        raise op_error(IndexError, op, "dim given for a 0-d tensor", x._data)
    kw = {"dim": d, "consecutive": consecutive}
    out = [apply(UNIQUE, x, part="values", **kw)]
    if return_inverse:
        out.append(apply(UNIQUE, x, part="inverse", **kw))
    if return_counts:
        out.append(apply(UNIQUE, x, part="counts", **kw))
    return out[0] if len(out) == 1 else tuple(out)


@tensor_method
def unique(input: Tensor, sorted: bool = True, return_inverse: bool = False,
           return_counts: bool = False, dim: Optional[int] = None) -> Any:
    """The distinct entries of ``input`` (or distinct slices along ``dim``), sorted; with
    ``return_inverse`` each entry's position among them, with ``return_counts`` their counts."""
    return _unique("unique", input, False, return_inverse, return_counts, dim)


@tensor_method
def unique_consecutive(input: Tensor, return_inverse: bool = False, return_counts: bool = False,
                       dim: Optional[int] = None) -> Any:
    """:func:`unique` of runs: only consecutive equal entries (or slices) are merged."""
    return _unique("unique_consecutive", input, True, return_inverse, return_counts, dim)


# ---------------------------------------------------------------- order statistics
@tensor_method
def msort(input: Tensor) -> Tensor:
    """``input`` sorted along dim 0."""
    return sort(input, 0).values


def _quantile(op: str, input: Tensor, q: Any, dim: Optional[int], keepdim: bool,
              interpolation: str, ignore_nan: bool) -> Tensor:
    """Quantiles from the sorted values along ``dim`` (NaN last): rank ``q * (n - 1)``, ``n``
    the count of non-NaN values for nanquantile (0 when there are none: a NaN); quantile's rank
    on a row with a NaN is the last one, so the result is NaN."""
    x = require_tensor(op, input)
    if x._data.dtype not in (np.float32, np.float64):
        raise op_error(RuntimeError, op, f"{op}() input tensor must be either float or double "
                       f"dtype, but got {x.dtype}", x._data)
    if interpolation not in ("linear", "lower", "higher", "midpoint", "nearest"):
        raise op_error(ValueError, op, f"{op}() interpolation must be one of linear, lower, "
                       f"higher, midpoint or nearest. Got {interpolation}")
    scalar = not isinstance(q, Tensor)
    qs = Tensor._wrap(np.asarray([q], x._data.dtype), x._device) if scalar else q
    if qs.ndim > 1 or qs._data.dtype != x._data.dtype:
        raise op_error(RuntimeError, op, f"{op}() q must be a scalar or 1D tensor of the input's "
                       f"dtype {x.dtype}, but got {qs.ndim}D of {qs.dtype}", qs._data)
    values = host_values(qs, f"{op}'s q")
    if ((values < 0) | (values > 1)).any():
        raise op_error(RuntimeError, op, f"{op}() q values must be in the range [0, 1], but "
                       f"got {values.tolist()}")
    if dim is None:
        rows, d = x.reshape(-1), 0
    else:
        rows, d = x, wrap_dim(op, dim, x.ndim)
    if rows.ndim == 0:
        rows = rows.reshape(1)
    if rows.shape[d] == 0:
        raise op_error(RuntimeError, op, f"{op}() input tensor must be non-empty", x._data)
    n, count_q = rows.shape[d], qs.shape[0] if qs.ndim else 1
    ordered = sort(rows, d).values  # with a leading dim for the q values:
    ordered = ordered.unsqueeze(0).expand((count_q,) + tuple(ordered.shape))
    qs = qs.reshape((count_q,) + (1,) * rows.ndim)
    if ignore_nan:
        count = sum_(~rows.isnan(), d, keepdim=True).unsqueeze(0).to(x.dtype)
        rank = (qs * (count - 1)).clamp(min=0)
    else:
        nan = any_(rows.isnan(), d, keepdim=True).unsqueeze(0)
        rank = where(nan, float(n - 1), qs * (n - 1))
    below, above = rank.floor(), rank.ceil()
    pick = lambda r: gather(ordered, d + 1, r.long().expand(  # noqa: E731
        r.shape[:d + 1] + (1,) + ordered.shape[d + 2:]))
    if interpolation == "lower":
        out = pick(below)
    elif interpolation == "higher":
        out = pick(above)
    elif interpolation == "nearest":
        out = pick(rank.round())
    elif interpolation == "midpoint":
        out = (pick(below) + pick(above)) / 2
    else:
        out = pick(below).lerp(pick(above), (rank - below).expand(
            rank.shape[:d + 1] + (1,) + ordered.shape[d + 2:]))
    if dim is None:
        out = out.reshape((out.shape[0],) + ((1,) * x.ndim if keepdim else ()))
    elif not keepdim:
        out = out.squeeze(d + 1)
    return out.squeeze(0) if scalar else out


@tensor_method
def quantile(input: Tensor, q: Any, dim: Optional[int] = None, keepdim: bool = False, *,
             interpolation: str = "linear") -> Tensor:
    """The ``q``-th quantiles (a number or a 1-d tensor, leading the result) along ``dim``
    (of all elements when None), interpolated between order statistics; NaN where a NaN is."""
    return _quantile("quantile", input, q, dim, keepdim, interpolation, False)


@tensor_method
def nanquantile(input: Tensor, q: Any, dim: Optional[int] = None, keepdim: bool = False, *,
                interpolation: str = "linear") -> Tensor:
    """:func:`quantile` of the non-NaN values (NaN where there are none)."""
    return _quantile("nanquantile", input, q, dim, keepdim, interpolation, True)


def _mode_forward(xp: Any, x: Any, dim: int) -> Any:
    """The keepdim index of the most frequent value along ``dim`` (ties: the smallest value),
    its last occurrence."""
    rows = np.moveaxis(np.asarray(x), dim, -1)
    flat = rows.reshape(-1, rows.shape[-1])
    out = np.empty(flat.shape[0], INT64)
    for i, row in enumerate(flat):
        values, counts = np.unique(row, return_counts=True)
        out[i] = np.flatnonzero(row == values[np.argmax(counts)])[-1]
    return xp.asarray(np.moveaxis(out.reshape(rows.shape[:-1] + (1,)), -1, dim))


MODE = defop("mode", _mode_forward, lambda x, dim: (x.shape[:dim] + (1,) + x.shape[dim + 1:],
                                                    INT64), kind="reduce",
             doc="index of the most frequent value along dim; the front door gathers it")


@tensor_method
def mode(input: Tensor, dim: int = -1, keepdim: bool = False) -> tuple:
    """``(values, indices)`` of the most frequent value along ``dim`` (ties: the smallest
    value; its last position)."""
    x = require_tensor("mode", input)
    d = wrap_dim("mode", dim, x.ndim)
    if x.ndim and x.shape[d] == 0:
        raise op_error(IndexError, "mode", f"mode(): Expected reduction dim {d} to have "
                       "non-zero size.", x._data)
    flat = x if x.ndim else x.reshape(1)
    return _gather_values(x, apply(MODE, flat, dim=d).reshape(flat.shape[:d] + (1,)
                                                             + flat.shape[d + 1:]), d, keepdim)


# ---------------------------------------------------------------- bins
def _searchsorted_forward(xp: Any, seq: Any, values: Any, *sorter: Any, side: str,
                          dtype: np.dtype) -> Any:
    if sorter:
        seq = np.take_along_axis(seq, sorter[0], axis=-1)
    if seq.ndim == 1:
        return xp.searchsorted(seq, values, side=side).astype(dtype)
    rows, vals = seq.reshape(-1, seq.shape[-1]), values.reshape(-1, values.shape[-1])
    out = np.stack([np.searchsorted(r, v, side=side) for r, v in zip(rows, vals)])
    return out.reshape(values.shape).astype(dtype)


SEARCHSORTED = defop("searchsorted", _searchsorted_forward,
                     lambda seq, values, *sorter, side, dtype: (values.shape, dtype),
                     doc="insertion points of values in each innermost row of seq")


def searchsorted(sorted_sequence: Tensor, input: Any, *, out_int32: bool = False,
                 right: bool = False, side: Optional[str] = None,
                 sorter: Optional[Tensor] = None) -> Tensor:
    """Where each of ``input`` would be inserted in the innermost rows of ``sorted_sequence``
    to keep them sorted: the first such position, or the last with ``right`` /
    ``side="right"``; ``sorter`` sorts the sequence when it is not sorted itself."""
    op = "searchsorted"
    seq = require_tensor(op, sorted_sequence, "sorted_sequence")
    scalar = not isinstance(input, Tensor)
    values = Tensor._wrap(np.asarray(input, seq._data.dtype), seq._device) if scalar else input
    if side not in (None, "left", "right") or (side == "left" and right):
        raise op_error(RuntimeError, op, f"torch.searchsorted(): side can only be 'left' or "
                       f"'right' (and not 'left' with right=True), but got side={side!r}")
    side = side or ("right" if right else "left")
    if seq.ndim != 1 and tuple(seq.shape[:-1]) != tuple(values.shape[:-1]):
        raise op_error(RuntimeError, op, "torch.searchsorted(): boundaries tensor should be 1 "
                       "dimension or the first N-1 dimensions of boundaries tensor and input "
                       f"value tensor must match, but we got boundaries tensor "
                       f"{list(seq.shape)} and input value tensor {list(values.shape)}",
                       seq._data, values._data)
    extra = () if sorter is None else (require_tensor(op, sorter, "sorter"),)
    return apply(SEARCHSORTED, seq, values, *extra, side=side,
                 dtype=np.dtype(np.int32 if out_int32 else np.int64))


def bucketize(input: Any, boundaries: Tensor, *, out_int32: bool = False,
              right: bool = False) -> Tensor:
    """The bucket of each of ``input`` among the 1-d sorted ``boundaries``: ``i`` with
    ``boundaries[i-1] < x <= boundaries[i]`` (``right``: ``<= x <``)."""
    b = require_tensor("bucketize", boundaries, "boundaries")
    if b.ndim != 1:
        raise op_error(RuntimeError, "bucketize", f"boundaries tensor must be 1 dimension, but "
                       f"got dim({b.ndim})", b._data)
    return searchsorted(b, input, out_int32=out_int32, right=right)


def _histc_forward(xp: Any, x: Any, *, bins: int, low: float, high: float) -> Any:
    if low == high:
        finite = x[np.isfinite(x)]
        low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
        if low == high:
            low, high = low - 1, high + 1
    inside = x[(x >= low) & (x <= high)]
    at = np.minimum(((inside - low) * (bins / (high - low))).astype(np.int64), bins - 1)
    return xp.bincount(at, minlength=bins).astype(x.dtype)


HISTC = defop("histc", _histc_forward, lambda x, *, bins, low, high: ((bins,), x.dtype),
              doc="counts of x in bins equal-width bins over [low, high]")


@tensor_method
def histc(input: Tensor, bins: int = 100, min: float = 0, max: float = 0) -> Tensor:
    """Counts of the elements in ``bins`` equal bins over ``[min, max]`` (the data's range when
    both are equal); elements outside are left out."""
    x = require_tensor("histc", input)
    if x._data.dtype.kind != "f":
        raise op_error(NotImplementedError, "histc", f'"histogram_cpu" not implemented for '
                       f"'{x.dtype}'", x._data)
    if bins <= 0 or min > max:
        raise op_error(RuntimeError, "histc", f"torch.histc: bins must be > 0 and max >= min, "
                       f"but got bins={bins}, min={min}, max={max}", x._data)
    return apply(HISTC, x, bins=int(bins), low=float(min), high=float(max))


def _bincount_meta(x: Any, *weights: Any, minlength: int) -> tuple:
    n = builtins.max(int(x.max()) + 1 if x.size else 0, minlength)
    if not weights:
        return (n,), INT64
    return (n,), weights[0].dtype if weights[0].dtype.kind == "f" else np.dtype(np.float64)


BINCOUNT = defop("bincount", lambda xp, x, *weights, minlength: xp.bincount(
    x, *weights, minlength=minlength).astype(_bincount_meta(x, *weights,
                                                            minlength=minlength)[1]),
    _bincount_meta, data_shape=True, doc="occurrences (or summed weights) of each value")


@tensor_method
def bincount(input: Tensor, weights: Optional[Tensor] = None, minlength: int = 0) -> Tensor:
    """How often each value 0..max occurs in a 1-d tensor of non-negative integers (with
    ``weights``: their sums), at least ``minlength`` long."""
    x = require_tensor("bincount", input)
    if x.ndim != 1 or x._data.dtype.kind not in "iu" or x._data.dtype == BOOL or (
            x.numel() and int(host_values(x.min(), "bincount's input")) < 0):
        raise op_error(RuntimeError, "bincount", "bincount only supports 1-d non-negative "
                       "integral inputs.", x._data)
    extra = () if weights is None else (require_tensor("bincount", weights, "weights"),)
    if extra and tuple(extra[0].shape) != tuple(x.shape):
        raise op_error(RuntimeError, "bincount", "weights should be 1-d and have the same "
                       "length as input", x._data, extra[0]._data)
    return apply(BINCOUNT, x, *extra, minlength=int(minlength))
