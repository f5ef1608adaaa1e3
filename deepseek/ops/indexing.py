"""Indexing primitives: ``x[key]``, ``x[key] = v``, gather/scatter and friends."""

from __future__ import annotations

import builtins
from typing import Any, Optional

import numpy as np

from .._errors import op_error
from ..tensor import Tensor, host_values
from . import _kernels
from ._common import BOOL, INT64, LOWP, cast, is_float, require_tensor, wrap_dim
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
        # (read through the tensor, so that ds.jit reports a traced one)
        return int(k if isinstance(k, Tensor) else a) if a.ndim == 0 and a.dtype != BOOL else a
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


def _select_forward(xp: Any, x: Any, key: tuple) -> Any:
    """Basic indexing as a view; a key of ints still gives a 0-d view (NumPy would return a
    scalar copy), and new (None) dims get the strides PyTorch gives them."""
    plain = tuple(k for k in key if k is not None)
    if not any(k is Ellipsis for k in plain):
        plain += (Ellipsis,)
    out = x[plain]
    if all(k is not None for k in key):
        return out
    # replay the key left to right as PyTorch does: a new dim's stride is size * stride of the
    # dim it is inserted before, as that dim is at that moment
    dims = [list(d) for d in zip(x.shape, x.strides)]
    pos, used = 0, sum(1 for k in key if k is not None and k is not Ellipsis)
    for k in key:
        if k is None:
            stride = dims[pos][0] * dims[pos][1] if pos < len(dims) else x.itemsize
            dims.insert(pos, [1, stride])
            pos += 1
        elif k is Ellipsis:
            pos += x.ndim - used
        elif isinstance(k, slice):
            size, stride = dims[pos]
            dims[pos] = [len(range(*k.indices(size))), stride * (k.step or 1)]
            pos += 1
        else:
            dims.pop(pos)
    return xp.lib.stride_tricks.as_strided(out, tuple(d[0] for d in dims),
                                           tuple(d[1] for d in dims))


SELECT = defop("select", _select_forward, _getitem_meta, _getitem_vjp, kind="view",
               save_inputs=False)
INDEX = defop("index", lambda xp, x, key: x[key], _getitem_meta, _getitem_vjp,
              save_inputs=False, complex=True)


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
                  save_inputs=False, complex=True)


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


GATHER = defop("gather", _gather_forward, _gather_meta, _gather_vjp,
               complex=True)


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
        around = index.shape[:dim] + index.shape[dim + 1:]
        if around == x.shape[:dim] + x.shape[dim + 1:] and _kernels.usable(xp, out, src):
            # np.add.at is an unbuffered loop, several times slower on embedding gradients
            pre, post = int(np.prod(x.shape[:dim])), int(np.prod(x.shape[dim + 1:]))
            _kernels.scatter_add_rows(src.reshape(pre, -1, post), index.reshape(pre, -1, post),
                                      out.reshape(pre, x.shape[dim], post))
        else:
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


SCATTER_ADD = defop("scatter_add", _scatter_add_forward, _scatter_add_meta, _scatter_add_vjp,
                    complex=True)


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


NONZERO = defop("nonzero", lambda xp, x: xp.argwhere(x), _nonzero_meta, data_shape=True,
                complex=True)


@tensor_method
def nonzero(input: Tensor, *, as_tuple: bool = False) -> Any:
    """Indices of nonzero elements: an ``(n, ndim)`` tensor, or one 1-d tensor per dim."""
    out = apply(NONZERO, require_tensor("nonzero", input))
    if as_tuple:
        if input.ndim == 0:  # one index per nonzero entry, all 0
            return (out.new_zeros(out.shape[0]),)
        return tuple(out[:, i] for i in range(input.ndim))
    return out


@tensor_method
def nonzero_static(input: Tensor, *, size: int, fill_value: int = -1) -> Tensor:
    """:func:`nonzero` with exactly ``size`` rows: the first ``size`` indices, then rows of
    ``fill_value`` (a shape fixed in advance, for compiled graphs).

    Example:
        >>> deepseek.nonzero_static(deepseek.tensor([0, 1, 0, 2]), size=3)
        tensor([[ 1],
                [ 3],
                [-1]])
    """
    x = require_tensor("nonzero_static", input)
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 0:
        raise op_error(RuntimeError, "nonzero_static", f"nonzero_static: 'size' must be an "
                       f"non-negative integer, got {size!r}")
    found = apply(NONZERO, x.detach())
    n = found.shape[0]
    if n >= size:
        return found[:size]
    pad = found.new_full((int(size) - n, x.ndim), int(fill_value))
    from .movement import cat

    return cat([found, pad], 0)


# ---------------------------------------------------------------- index_select / index_add …
def _dim_key(op: str, x: Tensor, dim: int, index: Any) -> tuple:
    """The key ``(:, …, :, index)`` that indexes dim ``dim`` of ``x`` with a 1-d index."""
    d = wrap_dim(op, dim, x.ndim)
    index = require_tensor(op, index, "index")
    if index.ndim > 1:
        raise op_error(IndexError, op, f"{op}(): Index is supposed to be a vector", index._data)
    if index._data.dtype.kind not in "iu":
        raise op_error(RuntimeError, op, f"{op}(): Expected dtype int32/int64 for index",
                       index._data)
    idx = index._data.reshape(-1).astype(INT64)
    n = x.shape[d] if x.ndim else 1
    if idx.size and (idx.max() >= n or idx.min() < -n):
        raise op_error(IndexError, op, f"index out of range in self: index "
                       f"{int(idx.max() if idx.max() >= n else idx.min())} for dim {d} of size "
                       f"{n}", x._data)
    return (slice(None),) * d + (idx % max(n, 1),)


@tensor_method
def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """The entries of ``input`` at ``index`` (1-d) along ``dim``."""
    x = require_tensor("index_select", input)
    return apply(INDEX, x, key=_dim_key("index_select", x, dim, index))


def _index_update(op: str, x: Tensor, dim: int, index: Any, values: Any, accumulate: bool,
                  inplace: bool) -> Tensor:
    key = _dim_key(op, x, dim, index)
    if isinstance(values, Tensor) and values.ndim and op.startswith(("index_add", "index_copy")):
        want = _getitem_meta(x._data, key)[0]
        if tuple(values.shape) != want:
            raise op_error(RuntimeError, op, f"source shape {list(values.shape)} must be self's "
                           f"shape with dim {len(key) - 1} resized to the number of indices "
                           f"{list(want)}", x._data, values._data)
    values = cast(values, x._data.dtype)
    if inplace:
        return apply_inplace(INDEX_PUT, x, values, key=key, accumulate=accumulate)
    return apply(INDEX_PUT, x, values, key=key, accumulate=accumulate)


def _fill_value(op: str, value: Any) -> Any:
    if isinstance(value, Tensor) and value.ndim:
        raise op_error(RuntimeError, op, f"{op} only supports a 0-dimensional value tensor, but "
                       f"got tensor with {value.ndim} dimension(s).", value._data)
    return value


@tensor_method
def index_add(input: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha: Any = 1) -> Tensor:
    """Add ``alpha * source`` into a copy of ``input`` at ``index`` along ``dim`` (duplicates
    accumulate)."""
    src = source if alpha == 1 else source * alpha
    return _index_update("index_add", require_tensor("index_add", input), dim, index, src, True,
                         False)


@tensor_method
def index_add_(self: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha: Any = 1) -> Tensor:
    """In-place :func:`index_add`."""
    src = source if alpha == 1 else source * alpha
    return _index_update("index_add_", self, dim, index, src, True, True)


@tensor_method
def index_copy(input: Tensor, dim: int, index: Tensor, source: Tensor) -> Tensor:
    """A copy of ``input`` whose slices at ``index`` along ``dim`` are replaced by ``source``."""
    return _index_update("index_copy", require_tensor("index_copy", input), dim, index, source,
                         False, False)


@tensor_method
def index_copy_(self: Tensor, dim: int, index: Tensor, source: Tensor) -> Tensor:
    """In-place :func:`index_copy`."""
    return _index_update("index_copy_", self, dim, index, source, False, True)


@tensor_method
def index_fill(input: Tensor, dim: int, index: Tensor, value: Any) -> Tensor:
    """A copy of ``input`` filled with ``value`` (a number or 0-d tensor) at ``index``."""
    return _index_update("index_fill", require_tensor("index_fill", input), dim, index,
                         _fill_value("index_fill", value), False, False)


@tensor_method
def index_fill_(self: Tensor, dim: int, index: Tensor, value: Any) -> Tensor:
    """In-place :func:`index_fill`."""
    return _index_update("index_fill_", self, dim, index, _fill_value("index_fill_", value),
                         False, True)


# ---------------------------------------------------------------- scatter / scatter_reduce
def _scatter_meta(x: Any, index: Any, src: Any, dim: int, **attrs: Any) -> tuple:
    if index.ndim != x.ndim:
        raise op_error(RuntimeError, "scatter", "Index tensor must have the same number of "
                       "dimensions as self tensor", x, index, src)
    if src.ndim and src.ndim != x.ndim:
        raise op_error(RuntimeError, "scatter", "Index tensor must have the same number of "
                       "dimensions as src tensor", x, index, src)
    for d, n in enumerate(index.shape):
        if (src.ndim and n > src.shape[d]) or (d != dim and n > x.shape[d]):
            raise op_error(RuntimeError, "scatter", f"Expected index {list(index.shape)} to be "
                           f"smaller than self {list(x.shape)} apart from dimension {dim} and to "
                           f"be smaller size than src {list(src.shape)}", x, index, src)
    return x.shape, x.dtype


def _scatter_key(xp: Any, op: str, x: Any, index: Any, src: Any, dim: int) -> tuple:
    """``(key, src)``: the positions ``index`` names and the part of ``src`` that goes there."""
    if index.max() >= x.shape[dim] or index.min() < 0:
        bad = int(index.max() if index.max() >= x.shape[dim] else index.min())
        raise op_error(RuntimeError, op, f"index {bad} is out of bounds for dimension {dim} with "
                       f"size {x.shape[dim]}", x, index)
    if src.ndim:
        src = src[tuple(slice(n) for n in index.shape)]
    return _full_index(xp, index, dim), src


def _scatter_forward(xp: Any, x: Any, index: Any, src: Any, dim: int) -> Any:
    out = x.copy()
    if index.size:
        key, src = _scatter_key(xp, "scatter", x, index, src, dim)
        out[key] = src  # duplicates: the last write wins (PyTorch leaves it unspecified)
    return out


def _scatter_vjp(ctx: Any, g: Tensor) -> tuple:
    _, index, _ = ctx.inputs
    dim = ctx.attrs["dim"]
    gx = apply(SCATTER, g, index, g.new_zeros(()), dim=dim) if ctx.needs_input_grad[0] else None
    gsrc = None
    if ctx.needs_input_grad[2]:
        gsrc = gather(g, dim, index)
        if len(ctx.shapes[2]) and gsrc.shape != ctx.shapes[2]:
            gsrc = pad_to(gsrc, ctx.shapes[2])
    return gx, None, gsrc


SCATTER = defop("scatter", _scatter_forward, _scatter_meta, _scatter_vjp,
                complex=True)

_REDUCE_UFUNC = {"sum": "add", "mean": "add", "prod": "multiply", "amax": "maximum",
                 "amin": "minimum"}


def _identity(reduce: str, dtype: np.dtype) -> Any:
    if reduce in ("sum", "mean"):
        return 0
    if reduce == "prod":
        return 1
    info = np.finfo(dtype) if dtype.kind == "f" else np.iinfo(dtype)
    big = np.inf if dtype.kind == "f" else info.max
    return -big if reduce == "amax" and dtype.kind == "f" else (
        info.min if reduce == "amax" else big)


def _scatter_reduce_forward(xp: Any, x: Any, index: Any, src: Any, dim: int, reduce: str,
                            include_self: bool) -> Any:
    dtype = x.dtype
    if dtype in LOWP:
        x, src = x.astype(np.float32), src.astype(np.float32)
    out = x.copy()
    if not index.size:
        return out
    key, src = _scatter_key(xp, "scatter_reduce", x, index, src, dim)
    if not include_self:
        out[key] = _identity(reduce, out.dtype)
    getattr(xp, _REDUCE_UFUNC[reduce]).at(out, key, src)
    if reduce == "mean":
        count = xp.full(x.shape, int(include_self), dtype=INT64)
        xp.add.at(count, key, 1)
        count = xp.maximum(count, 1)
        out = out / count if out.dtype.kind == "f" else xp.floor_divide(out, count)
    return out.astype(dtype, copy=False)


def _scatter_reduce_vjp(ctx: Any, g: Tensor) -> tuple:
    x, index, src = ctx.inputs
    out = ctx.out
    dim, reduce, include_self = ctx.attrs["dim"], ctx.attrs["reduce"], ctx.attrs["include_self"]

    def unscattered(t: Tensor) -> Tensor:  # t with the scattered positions zeroed
        return apply(SCATTER, t, index, t.new_zeros(()), dim=dim)

    if reduce in ("sum", "mean"):
        if reduce == "mean":
            ones = g.new_ones(index.shape)
            count = apply(SCATTER_ADD, g.new_full(x.shape, float(include_self)), index, ones,
                          dim=dim)
            g = g / count.clamp(min=1)
        gx = g if include_self else unscattered(g)
        gsrc = gather(g, dim, index)
    elif reduce == "prod":  # zero-free inputs: the product divided by the factor
        gx = g * out / x if include_self else unscattered(g)
        gsrc = gather(g * out, dim, index) / src[tuple(slice(n) for n in index.shape)]
    else:  # amax/amin: the gradient is shared evenly among the elements equal to the result
        hit_x = (x == out).to(g.dtype)
        if not include_self:
            hit_x = unscattered(hit_x)
        src_part = src[tuple(slice(n) for n in index.shape)]
        hit_src = (src_part == gather(out, dim, index)).to(g.dtype)
        share = g / apply(SCATTER_ADD, hit_x, index, hit_src, dim=dim)
        gx = share * hit_x
        gsrc = gather(share, dim, index) * hit_src
    if gsrc.shape != ctx.shapes[2]:
        gsrc = pad_to(gsrc, ctx.shapes[2])
    return gx, None, gsrc


SCATTER_REDUCE = defop("scatter_reduce", _scatter_reduce_forward, _scatter_meta,
                       _scatter_reduce_vjp, save_output=True)


def _scatter_args(op: str, x: Tensor, dim: int, index: Any, src: Any, value: Any) -> tuple:
    index = _index_tensor(op, index)
    if src is None and value is None:
        raise op_error(TypeError, op, "expected a src tensor or a value")
    if src is None or not isinstance(src, Tensor):
        src = cast(value if src is None else src, x._data.dtype)
    else:
        src = cast(src, x._data.dtype)
    return wrap_dim(op, dim, x.ndim), index, src


def _check_reduce(op: str, reduce: str, allowed: tuple) -> None:
    if reduce not in allowed:
        raise op_error(RuntimeError, op, f"reduce argument must be one of {allowed}, got "
                       f"{reduce!r}")


def _scatter(op: str, x: Tensor, dim: int, index: Any, src: Any, value: Any, reduce: Any,
             inplace: bool) -> Tensor:
    d, index, src = _scatter_args(op, x, dim, index, src, value)
    run = apply_inplace if inplace else apply
    if reduce is None:
        return run(SCATTER, x, index, src, dim=d)
    _check_reduce(op, reduce, ("add", "multiply"))
    if isinstance(src, Tensor) and not src.ndim:  # (recorded: ds.jit reads it at every run)
        src = cast(src, x._data.dtype).expand(index.shape).contiguous()
    elif not isinstance(src, Tensor):
        src = x.new_full(index.shape, float(src) if is_float(x._data.dtype) else src)
    return run(SCATTER_REDUCE, x, index, src, dim=d, reduce="sum" if reduce == "add" else "prod",
               include_self=True)


@tensor_method
def scatter(input: Tensor, dim: int, index: Tensor, src: Any = None, value: Any = None, *,
            reduce: Optional[str] = None) -> Tensor:
    """A copy of ``input`` with ``src`` (a tensor, or the number ``value``) written at ``index``
    along ``dim``; ``reduce='add'``/``'multiply'`` combines instead of overwriting."""
    return _scatter("scatter", require_tensor("scatter", input), dim, index, src, value, reduce,
                    False)


@tensor_method
def scatter_(self: Tensor, dim: int, index: Tensor, src: Any = None, value: Any = None, *,
             reduce: Optional[str] = None) -> Tensor:
    """In-place :func:`scatter`."""
    return _scatter("scatter_", self, dim, index, src, value, reduce, True)


def _scatter_reduce(op: str, x: Tensor, dim: int, index: Any, src: Tensor, reduce: str,
                    include_self: bool, inplace: bool) -> Tensor:
    _check_reduce(op, reduce, tuple(_REDUCE_UFUNC))
    d, index, src = _scatter_args(op, x, dim, index, require_tensor(op, src, "src"), None)
    run = apply_inplace if inplace else apply
    return run(SCATTER_REDUCE, x, index, src, dim=d, reduce=reduce,
               include_self=bool(include_self))


@tensor_method
def scatter_reduce(input: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, *,
                   include_self: bool = True) -> Tensor:
    """Reduce ``src`` into a copy of ``input`` at ``index`` along ``dim`` with ``reduce``
    (``'sum'``, ``'prod'``, ``'mean'``, ``'amax'``, ``'amin'``); ``include_self=False`` leaves
    the old values of the written positions out."""
    return _scatter_reduce("scatter_reduce", require_tensor("scatter_reduce", input), dim, index,
                           src, reduce, include_self, False)


@tensor_method
def scatter_reduce_(self: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, *,
                    include_self: bool = True) -> Tensor:
    """In-place :func:`scatter_reduce`."""
    return _scatter_reduce("scatter_reduce_", self, dim, index, src, reduce, include_self, True)


_INDEX_REDUCTIONS = ("prod", "mean", "amax", "amin")


def _index_reduce(op: str, x: Tensor, dim: int, index: Any, source: Any, reduce: str,
                  include_self: bool, inplace: bool) -> Tensor:
    """:func:`index_reduce` as a scatter_reduce whose index repeats ``index`` along ``dim``
    across ``source``'s other dims (so it shares scatter_reduce's forward and gradients)."""
    if reduce not in _INDEX_REDUCTIONS:
        raise op_error(RuntimeError, op, f"index_reduce(): Expected reduce to be one of prod, "
                       f"mean, amax or amin but got {reduce}.")
    x = require_tensor(op, x)
    index = require_tensor(op, index, "index")
    source = require_tensor(op, source, "source")
    d = wrap_dim(op, dim, x.ndim)
    if index.ndim > 1:
        raise op_error(IndexError, op, "index_reduce_(): Index is supposed to be a vector",
                       index._data)
    if index._data.dtype.kind not in "iu":
        raise op_error(RuntimeError, op, f"index_reduce_(): Expected dtype int32/int64 for index "
                       f"but got: {index.dtype.name}", index._data)
    if source._data.dtype != x._data.dtype:
        raise op_error(RuntimeError, op, f"index_reduce_(): self ({x.dtype.name}) and source "
                       f"({source.dtype.name}) must have the same scalar type", x._data,
                       source._data)
    x_shape, src_shape = x.shape or (1,), source.shape or (1,)
    if len(x_shape) != len(src_shape) or builtins.any(
            a != b for i, (a, b) in enumerate(zip(x_shape, src_shape)) if i != d):
        raise op_error(RuntimeError, op, f"source tensor shape must match self tensor shape, "
                       f"excluding the specified dimension. Got self.shape = {list(x.shape)} "
                       f"source.shape = {list(source.shape)}", x._data, source._data)
    idx = index._data.reshape(-1).astype(INT64)
    if idx.size != src_shape[d]:
        raise op_error(RuntimeError, op, f"index_reduce_(): Number of indices ({idx.size}) should "
                       f"be equal to source.size(dim): ({src_shape[d]}), for dim: {d}",
                       index._data, source._data)
    if idx.size and (idx.min() < 0 or idx.max() >= x_shape[d]):
        raise op_error(IndexError, op, f"index out of range in self: index "
                       f"{int(idx.min() if idx.min() < 0 else idx.max())} for dim {d} of size "
                       f"{x_shape[d]}", x._data)
    along = [1] * len(src_shape)
    along[d] = idx.size
    full = Tensor._wrap(np.ascontiguousarray(np.broadcast_to(idx.reshape(along), src_shape)),
                        x._device)
    target = x if x.ndim else x.reshape(1)
    src = source if source.ndim else source.reshape(1)
    run = apply_inplace if inplace else apply
    out = run(SCATTER_REDUCE, target, full, src, dim=d, reduce=reduce,
              include_self=bool(include_self))
    if inplace:
        return x
    return out if x.ndim else out.reshape(())


@tensor_method
def index_reduce(input: Tensor, dim: int, index: Tensor, source: Tensor, reduce: str, *,
                 include_self: bool = True) -> Tensor:
    """A copy of ``input`` whose slices at ``index`` (1-d) along ``dim`` are reduced with the
    matching slices of ``source`` by ``reduce`` (``'prod'``, ``'mean'``, ``'amax'``, ``'amin'``);
    ``include_self=False`` leaves the old values of the indexed slices out.

    Example:
        >>> x = deepseek.ones(3, 2)
        >>> x.index_reduce(0, deepseek.tensor([0, 0]), deepseek.tensor([[2., 3.], [4., 5.]]),
        ...                'prod')
        tensor([[ 8., 15.],
                [ 1.,  1.],
                [ 1.,  1.]])
    """
    return _index_reduce("index_reduce", input, dim, index, source, reduce, include_self, False)


@tensor_method
def index_reduce_(self: Tensor, dim: int, index: Tensor, source: Tensor, reduce: str, *,
                  include_self: bool = True) -> Tensor:
    """In-place :func:`index_reduce`."""
    return _index_reduce("index_reduce_", self, dim, index, source, reduce, include_self, True)


# ---------------------------------------------------------------- masks
def _mask_key(op: str, x: Tensor, mask: Any, inplace: bool) -> tuple:
    """``(x, key)`` with the mask broadcast against ``x`` (``x`` expanded when out of place)."""
    mask = require_tensor(op, mask, "mask")
    if mask._data.dtype != BOOL:
        raise op_error(RuntimeError, op, f"{op} only supports boolean masks, but got mask with "
                       f"dtype {mask.dtype.name}", mask._data)
    from ._common import broadcast_shapes

    shape = broadcast_shapes(op, x._data, mask._data)
    if shape != x._data.shape:
        if inplace:
            raise op_error(RuntimeError, op, f"the mask {list(mask.shape)} must be broadcastable "
                           f"to self's shape {list(x.shape)}", x._data, mask._data)
        x = x.expand(shape)
    if tuple(mask.shape) != shape:
        mask = mask.expand(shape)  # recorded, so that ds.jit sees the mask it came from
    return x, (mask._data,)


@tensor_method
def masked_fill(input: Tensor, mask: Tensor, value: Any) -> Tensor:
    """A copy of ``input`` with ``value`` (number or 0-d tensor) where ``mask`` is True."""
    x, key = _mask_key("masked_fill", require_tensor("masked_fill", input), mask, False)
    value = cast(_fill_value("masked_fill", value), x._data.dtype)
    return apply(INDEX_PUT, x, value, key=key, accumulate=False)


@tensor_method
def masked_fill_(self: Tensor, mask: Tensor, value: Any) -> Tensor:
    """In-place :func:`masked_fill`."""
    x, key = _mask_key("masked_fill_", self, mask, True)
    value = cast(_fill_value("masked_fill_", value), x._data.dtype)
    return apply_inplace(INDEX_PUT, x, value, key=key, accumulate=False)


@tensor_method
def masked_select(input: Tensor, mask: Tensor) -> Tensor:
    """The 1-d tensor of the entries of ``input`` where ``mask`` (broadcast) is True."""
    x, key = _mask_key("masked_select", require_tensor("masked_select", input), mask, False)
    return apply(INDEX, x, key=key)


def _masked_scatter(op: str, x: Tensor, mask: Tensor, source: Tensor, inplace: bool) -> Tensor:
    x, key = _mask_key(op, x, mask, inplace)
    source = require_tensor(op, source, "source")
    n = int(np.count_nonzero(host_values(Tensor._wrap(key[0]), f"{op}'s mask")))
    if source.numel() < n:
        raise op_error(RuntimeError, op, f"Number of elements of source < number of ones in mask "
                       f"({source.numel()} < {n})", x._data, source._data)
    values = cast(source, x._data.dtype).reshape(-1)[:n]
    return (apply_inplace if inplace else apply)(INDEX_PUT, x, values, key=key, accumulate=False)


@tensor_method
def masked_scatter(input: Tensor, mask: Tensor, source: Tensor) -> Tensor:
    """A copy of ``input`` where the True positions of ``mask`` take consecutive elements of
    ``source``."""
    return _masked_scatter("masked_scatter", require_tensor("masked_scatter", input), mask,
                           source, False)


@tensor_method
def masked_scatter_(self: Tensor, mask: Tensor, source: Tensor) -> Tensor:
    """In-place :func:`masked_scatter`."""
    return _masked_scatter("masked_scatter_", self, mask, source, True)


# ---------------------------------------------------------------- torch.* compositions
@tensor_method
def take(input: Tensor, index: Tensor) -> Tensor:
    """The elements of the flattened ``input`` at ``index`` (any shape; negatives count from
    the end)."""
    x = require_tensor("take", input)
    return x.reshape(-1)[require_tensor("take", index, "index")]


@tensor_method
def argwhere(input: Tensor) -> Tensor:
    """The indices of the nonzero elements, one row each (:func:`nonzero`)."""
    return nonzero(input)


def _scatter_slice(op: str, x: Tensor, src: Tensor, dim: int, positions: range,
                   shape: tuple) -> Tensor:
    """``x`` with its entries at ``positions`` along ``dim`` replaced by ``src`` (of ``shape``,
    that slice's shape)."""
    src = require_tensor(op, src, "src")
    if tuple(src.shape) != shape:
        raise op_error(RuntimeError, op, "expected src to have a size equal to the slice of "
                       f"self. src size = {list(src.shape)}, slice size = {list(shape)}",
                       x._data, src._data)
    index = Tensor._wrap(np.asarray(positions, dtype=np.int64), x._device)
    return index_copy(x, dim, index, src.reshape(x.shape[:dim] + (len(positions),)
                                                 + x.shape[dim + 1:]))


@tensor_method
def select_scatter(input: Tensor, src: Tensor, dim: int, index: int) -> Tensor:
    """``input`` with ``input.select(dim, index)`` replaced by ``src`` (a new tensor)."""
    x = require_tensor("select_scatter", input)
    d = wrap_dim("select_scatter", dim, x.ndim)
    n = x.shape[d]
    if not -n <= index < n:
        raise op_error(IndexError, "select_scatter", f"index {index} out of range for tensor of "
                       f"size {list(x.shape)} at dimension {d}", x._data)
    return _scatter_slice("select_scatter", x, src, d, range(index % n, index % n + 1),
                          x.shape[:d] + x.shape[d + 1:])


@tensor_method
def slice_scatter(input: Tensor, src: Tensor, dim: int = 0, start: Optional[int] = None,
                  end: Optional[int] = None, step: int = 1) -> Tensor:
    """``input`` with the slice ``start:end:step`` along ``dim`` replaced by ``src``."""
    x = require_tensor("slice_scatter", input)
    d = wrap_dim("slice_scatter", dim, x.ndim)
    positions = range(*slice(start, end, step).indices(x.shape[d]))
    return _scatter_slice("slice_scatter", x, src, d, positions,
                          x.shape[:d] + (len(positions),) + x.shape[d + 1:])


def unravel_index(indices: Any, shape: Any) -> tuple:
    """The coordinates in ``shape`` of flat ``indices`` (one int64 tensor per dim), each taken
    modulo its dim as PyTorch does (negative indices count from the end)."""
    idx = indices if isinstance(indices, Tensor) else Tensor._wrap(np.asarray(indices))
    if idx._data.dtype.kind not in "iu" or idx._data.dtype == BOOL:
        raise op_error(TypeError, "unravel_index", "expected 'indices' to be integer dtype, but "
                       f"got {idx.dtype}", idx._data)
    shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(s) for s in shape)
    if any(s < 0 for s in shape):
        raise op_error(ValueError, "unravel_index", f"'shape' cannot have negative values, but "
                       f"got {shape}")
    idx = cast(idx, INT64)
    coords = []
    for size in reversed(shape):
        coords.append(idx.remainder(size))
        idx = idx.div(size, rounding_mode="floor")
    return tuple(reversed(coords))
