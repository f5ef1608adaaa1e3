"""Ordering primitives: sort/argsort, topk, unique (values come back through ``gather``)."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from .._errors import op_error
from ..tensor import Tensor
from ._common import BOOL, INT64, LOWP, require_tensor, wrap_dim
from ._opdef import apply, defop, tensor_method
from .indexing import gather

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
