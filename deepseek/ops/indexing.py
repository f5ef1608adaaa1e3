"""Indexing primitives: ``x[key]``, ``x[key] = v``, gather/scatter and friends."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from .._errors import op_error
from ..tensor import Tensor
from ._common import BOOL, INT64, cast, require_tensor, wrap_dim
from ._opdef import apply, apply_inplace, defop, tensor_method


# ---------------------------------------------------------------- keys
_BAD_INDEX = ("only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are "
              "valid indices (got {})")


def _index_array(k: Any) -> np.ndarray:
    a = k._data if isinstance(k, Tensor) else np.asarray(k)
    if a.dtype == BOOL:
        return a
    if a.dtype.kind in "iu":
        return a.astype(INT64, copy=False)
    if a.size == 0 and isinstance(k, (list, tuple)):
        return a.astype(INT64)
    raise IndexError("[index] tensors used as indices must be long, int, byte or bool tensors, "
                     f"got {a.dtype}")


def _as_tuple(key: Any) -> tuple:
    """PyTorch's rule: a short list holding sequences, slices, None, ``...`` or tensors is a
    tuple of indices, any other key is one index."""
    if isinstance(key, tuple):
        return key
    if isinstance(key, list) and len(key) < 32 and any(
            k is None or k is Ellipsis or isinstance(k, (list, tuple, slice, Tensor, np.ndarray))
            for k in key):
        return tuple(key)
    return (key,)


def _entry(k: Any) -> Any:
    """One key entry as None, Ellipsis, a slice, an int or an index array (int64 or bool)."""
    if k is None or k is Ellipsis:
        return k
    if isinstance(k, slice):
        parts = [None if p is None else _slice_bound(p) for p in (k.start, k.stop, k.step)]
        if parts[2] is not None and parts[2] <= 0:
            raise ValueError("[index] step must be greater than zero")
        return slice(*parts)
    if isinstance(k, (bool, np.bool_)):
        return np.asarray(k)
    if isinstance(k, (int, np.integer)):
        return int(k)
    if isinstance(k, (Tensor, np.ndarray, list, tuple)):
        a = _index_array(k)
        # a 0-d integer tensor selects like an int (before any advanced indexing), as in PyTorch
        return int(a) if a.ndim == 0 and a.dtype != BOOL else a
    raise IndexError("[index] " + _BAD_INDEX.format(type(k).__name__))


def _slice_bound(p: Any) -> int:
    if isinstance(p, (int, np.integer)) or (isinstance(p, Tensor) and p.numel() == 1):
        return int(p)
    raise TypeError(f"[index] slice indices must be integers or None, got {type(p).__name__}")


def _consumed(k: Any) -> int:
    """How many dims of the indexed tensor an entry uses up."""
    if k is None or k is Ellipsis:
        return 0
    if isinstance(k, np.ndarray) and k.dtype == BOOL:
        return k.ndim
    return 1


def normalize_key(shape: tuple, key: Any) -> tuple:
    """``key`` as a tuple of ints, slices, None, Ellipsis and index arrays; ``advanced`` flag.

    Checks bounds, mask shapes and steps the way PyTorch does (negative steps are an error).
    """
    entries = [_entry(k) for k in _as_tuple(key)]
    n_used = sum(_consumed(k) for k in entries)
    if n_used > len(shape):
        raise IndexError(f"[index] too many indices for tensor of dimension {len(shape)}")
    out, advanced, dim = [], False, 0
    for k in entries:
        if k is Ellipsis:
            dim = len(shape) - (n_used - dim)
        elif isinstance(k, int):
            n = shape[dim]
            if not -n <= k < n:
                raise IndexError(f"[index] index {k} is out of bounds for dimension {dim} with "
                                 f"size {n}")
            k = k % n
        elif isinstance(k, np.ndarray) and k.dtype == BOOL:
            for j, n in enumerate(k.shape):
                if shape[dim + j] != n:
                    raise IndexError(f"[index] The shape of the mask {list(k.shape)} at index {j} "
                                     f"does not match the shape of the indexed tensor "
                                     f"{list(shape)} at index {dim + j}")
            advanced = True
        elif isinstance(k, np.ndarray):
            n = shape[dim]
            if k.size and (k.max() >= n or k.min() < -n):
                bad = k.max() if k.max() >= n else k.min()
                raise IndexError(f"[index] index {bad} is out of bounds for dimension {dim} "
                                 f"with size {n}")
            advanced = True
        dim += _consumed(k)
        out.append(k)
    return tuple(out), advanced


def split_ints(key: tuple) -> tuple:
    """A mixed key as ``(basic, advanced)``: PyTorch applies ints (selects) before advanced
    indices, which changes where the advanced dims land; NumPy would treat them together."""
    basic, rest = [], []
    for k in key:
        if isinstance(k, int):
            basic.append(k)
        elif isinstance(k, np.ndarray):
            basic.extend([slice(None)] * _consumed(k))
            rest.append(k)
        else:
            basic.append(k)
            rest.append(slice(None) if k is not Ellipsis else k)
    return tuple(basic), tuple(rest)


def _getitem_meta(x: Any, key: tuple) -> tuple:
    probe = np.lib.stride_tricks.as_strided(np.zeros(1, np.bool_), x.shape, (0,) * len(x.shape))
    return probe[key].shape, x.dtype


def _getitem_vjp(ctx: Any, g: Tensor) -> tuple:
    zeros = g.new_zeros(ctx.shapes[0])
    return (apply(INDEX_PUT, zeros, g, key=ctx.attrs["key"], accumulate=ctx.op is INDEX),)


SELECT = defop("select", lambda xp, x, key: x[key], _getitem_meta, _getitem_vjp, kind="view",
               save_inputs=False)
INDEX = defop("index", lambda xp, x, key: x[key], _getitem_meta, _getitem_vjp,
              save_inputs=False)


def _index_put_forward(xp: Any, x: Any, values: Any, key: tuple, accumulate: bool) -> Any:
    out = x.copy()
    if accumulate:
        xp.add.at(out, key, values)
    else:
        out[key] = values
    return out


def _index_put_meta(x: Any, values: Any, key: tuple, accumulate: bool) -> tuple:
    target = _getitem_meta(x, key)[0]
    try:
        np.broadcast_shapes(values.shape, target)
    except ValueError:
        raise op_error(RuntimeError, "index_put", f"shape mismatch: value tensor of shape "
                       f"{list(values.shape)} cannot be broadcast to indexing result of shape "
                       f"{list(target)}", x, values) from None
    return x.shape, x.dtype


def _index_put_vjp(ctx: Any, g: Tensor) -> tuple:
    key, acc = ctx.attrs["key"], ctx.attrs["accumulate"]
    need = ctx.needs_input_grad
    gx = None
    if need[0]:
        gx = g if acc else apply(INDEX_PUT, g, g.new_zeros(()), key=key, accumulate=False)
    gv = apply(INDEX, g, key=key) if need[1] else None
    return gx, gv


INDEX_PUT = defop("index_put", _index_put_forward, _index_put_meta, _index_put_vjp,
                  save_inputs=False)


def _resolve(self: Tensor, key: Any) -> tuple:
    """``(tensor, key, advanced)``: ints of a mixed key already applied as a view."""
    key, advanced = normalize_key(self.shape, key)
    if advanced and any(isinstance(k, int) for k in key):
        basic, key = split_ints(key)
        self = apply(SELECT, self, key=basic)
    return self, key, advanced


def getitem(self: Tensor, key: Any) -> Tensor:
    """``self[key]``: a view for basic keys, a copy with advanced (tensor, list, mask) ones."""
    x, key, advanced = _resolve(self, key)
    return apply(INDEX if advanced else SELECT, x, key=key)


def setitem(self: Tensor, key: Any, value: Any) -> None:
    """``self[key] = value``: ``value`` (a number or tensor) is broadcast and cast to ``self``."""
    x, key, _ = _resolve(self, key)
    v = value if isinstance(value, Tensor) else cast(value, self._data.dtype)
    if isinstance(v, Tensor):
        if v._data.dtype != self._data.dtype:
            v = v.to(self.dtype)
        target = _getitem_meta(x._data, key)[0]
        lead = 0
        while v.ndim - lead > len(target) and v.shape[lead] == 1:
            lead += 1  # PyTorch drops leading size-1 dims of the value
        if lead:
            v = v.reshape(v.shape[lead:])
    apply_inplace(INDEX_PUT, x, v, key=key, accumulate=False)


tensor_method(getitem, name="__getitem__")
tensor_method(setitem, name="__setitem__")


@tensor_method
def index_put_(self: Tensor, indices: tuple, values: Tensor, accumulate: bool = False) -> Tensor:
    """``self[indices] = values`` (``+=`` with ``accumulate``, duplicates summed), in place."""
    key, _ = normalize_key(self.shape, tuple(indices))
    return apply_inplace(INDEX_PUT, self, cast(values, self._data.dtype), key=key,
                         accumulate=accumulate)


@tensor_method
def index_put(input: Tensor, indices: tuple, values: Tensor, accumulate: bool = False) -> Tensor:
    """Out-of-place :func:`index_put_`."""
    key, _ = normalize_key(input.shape, tuple(indices))
    return apply(INDEX_PUT, input, cast(values, input._data.dtype), key=key,
                 accumulate=accumulate)


# ---------------------------------------------------------------- gather / scatter_add
def _index_tensor(op: str, index: Any) -> Tensor:
    index = require_tensor(op, index, "index")
    if index._data.dtype != INT64:
        if index._data.dtype.kind not in "iu":
            raise op_error(RuntimeError, op, f"{op}(): Expected dtype int64 for index", index._data)
    return index


def _gather_meta(x: Any, index: Any, dim: int) -> tuple:
    if index.ndim != x.ndim and not (x.ndim == 0 and index.ndim <= 1):
        raise op_error(RuntimeError, "gather", "Index tensor must have the same number of "
                       "dimensions as input tensor", x, index)
    for d, (a, b) in enumerate(zip(index.shape, x.shape)):
        if d != dim and a > b:
            raise op_error(RuntimeError, "gather", f"Size does not match at dimension {d} "
                           f"expected index {list(index.shape)} to be smaller than self "
                           f"{list(x.shape)} apart from dimension {dim}", x, index)
    return index.shape, x.dtype


def _full_index(xp: Any, index: Any, dim: int) -> tuple:
    grids = list(xp.ogrid[tuple(slice(n) for n in index.shape)]) if index.ndim else []
    if index.ndim:
        grids[dim] = index
        return tuple(grids)
    return (index,)


def _gather_forward(xp: Any, x: Any, index: Any, dim: int) -> Any:
    if index.size and (index.max() >= x.shape[dim] if x.ndim else index.max() > 0):
        raise op_error(RuntimeError, "gather", f"index {int(index.max())} is out of bounds for "
                       f"dimension {dim} with size {x.shape[dim] if x.ndim else 1}", x, index)
    if x.ndim == 0:
        return x.reshape(1)[index]
    return x[_full_index(xp, index, dim)]


def _gather_vjp(ctx: Any, g: Tensor) -> tuple:
    _, index = ctx.inputs
    zeros = g.new_zeros(ctx.shapes[0])
    return (apply(SCATTER_ADD, zeros, index, g, dim=ctx.attrs["dim"]), None)


GATHER = defop("gather", _gather_forward, _gather_meta, _gather_vjp)


@tensor_method
def gather(input: Tensor, dim: int, index: Tensor, *, sparse_grad: bool = False) -> Tensor:
    """``out[i][j] = input[i][index[i][j]]`` along ``dim`` (the index picks per position)."""
    x = require_tensor("gather", input)
    return apply(GATHER, x, _index_tensor("gather", index), dim=wrap_dim("gather", dim, x.ndim))


def _scatter_add_meta(x: Any, index: Any, src: Any, dim: int) -> tuple:
    if index.ndim != x.ndim:
        raise op_error(RuntimeError, "scatter_add", "Index tensor must have the same number of "
                       "dimensions as self tensor", x, index, src)
    return x.shape, x.dtype


def _scatter_add_forward(xp: Any, x: Any, index: Any, src: Any, dim: int) -> Any:
    out = x.copy()
    if index.size:
        if index.max() >= x.shape[dim] or index.min() < 0:
            raise op_error(RuntimeError, "scatter_add", f"index {int(index.max())} is out of "
                           f"bounds for dimension {dim} with size {x.shape[dim]}", x, index)
        src = src[tuple(slice(n) for n in index.shape)]
        xp.add.at(out, _full_index(xp, index, dim), src)
    return out


def _scatter_add_vjp(ctx: Any, g: Tensor) -> tuple:
    _, index, _ = ctx.inputs
    dim = ctx.attrs["dim"]
    gsrc = None
    if ctx.needs_input_grad[2]:
        gsrc = gather(g, dim, index)
        if gsrc.shape != ctx.shapes[2]:
            gsrc = pad_to(gsrc, ctx.shapes[2])
    return g, None, gsrc


def pad_to(g: Tensor, shape: tuple) -> Tensor:
    """``g`` placed at the origin of a zero tensor of ``shape``."""
    if g.shape == shape:
        return g
    out = g.new_zeros(shape)
    return apply(INDEX_PUT, out, g, key=tuple(slice(n) for n in g.shape), accumulate=False)


SCATTER_ADD = defop("scatter_add", _scatter_add_forward, _scatter_add_meta, _scatter_add_vjp)


@tensor_method
def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """Add ``src`` into a copy of ``input`` at ``index`` along ``dim`` (duplicates summed)."""
    x = require_tensor("scatter_add", input)
    return apply(SCATTER_ADD, x, _index_tensor("scatter_add", index), cast(src, x._data.dtype),
                 dim=wrap_dim("scatter_add", dim, x.ndim))


@tensor_method
def scatter_add_(self: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    return apply_inplace(SCATTER_ADD, self, _index_tensor("scatter_add_", index),
                         cast(src, self._data.dtype), dim=wrap_dim("scatter_add_", dim, self.ndim))


@tensor_method
def take_along_dim(input: Tensor, indices: Tensor, dim: Optional[int] = None) -> Tensor:
    """Values of ``input`` at ``indices`` along ``dim``, broadcasting the other dims."""
    x = require_tensor("take_along_dim", input)
    idx = _index_tensor("take_along_dim", indices)
    if dim is None:
        return gather(x.reshape(-1), 0, idx.reshape(-1))
    d = wrap_dim("take_along_dim", dim, x.ndim)
    shape_x = list(x.shape)
    shape_i = list(idx.shape)
    shape_x[d] = shape_i[d] = 1
    from ._common import broadcast_shapes

    b = list(broadcast_shapes("take_along_dim", np.empty(shape_x, BOOL), np.empty(shape_i, BOOL)))
    bx, bi = list(b), list(b)
    bx[d], bi[d] = x.shape[d], idx.shape[d]
    return gather(x.expand(bx), d, idx.expand(bi))


def _nonzero_meta(x: Any) -> tuple:
    return (int(np.count_nonzero(x)), x.ndim), INT64


NONZERO = defop("nonzero", lambda xp, x: xp.argwhere(x), _nonzero_meta)


@tensor_method
def nonzero(input: Tensor, *, as_tuple: bool = False) -> Any:
    """Indices of nonzero elements: an ``(n, ndim)`` tensor, or one 1-d tensor per dim."""
    out = apply(NONZERO, require_tensor("nonzero", input))
    if as_tuple:
        if input.ndim == 0:
            return (out.reshape(-1),)
        return tuple(out[:, i] for i in range(input.ndim))
    return out
