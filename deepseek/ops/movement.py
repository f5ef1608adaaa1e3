"""Shape and layout primitives: views (reshape, permute, expand, as_strided), copies, joins."""

from __future__ import annotations

import builtins
import itertools
import math
from typing import Any, Optional, Sequence

import numpy as np

from .._errors import op_error
from ..autograd.grad_mode import STATE
from ..tensor import Tensor
from ._common import cast, promote, require_tensor, wrap_dim
from ._opdef import _record, apply, apply_inplace, defop, tensor_method

_prod = math.prod  # of a shape's Python ints: exact, and 10x faster than np.prod on tuples


def _shape_arg(shape: tuple, keyword: Any = None, name: str = "") -> tuple:
    """``f(2, 3)``, ``f((2, 3))``, ``f([2, 3])`` and torch's keyword spelling
    ``f(size=(2, 3))`` (``keyword``) all mean the shape (2, 3)."""
    if keyword is not None:
        if shape:
            raise TypeError(f"{name}() got its sizes both positionally and by keyword")
        shape = (keyword,)
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return tuple(int(s) for s in shape)


def infer_shape(op: str, shape: tuple, numel: int) -> tuple:
    """Resolve one ``-1`` and check the element count, with PyTorch's message."""
    neg = [i for i, s in enumerate(shape) if s == -1]
    if len(neg) > 1:
        raise op_error(RuntimeError, op, "only one dimension can be inferred")
    if any(s < -1 for s in shape):
        raise op_error(RuntimeError, op, f"invalid shape dimension {min(shape)}")
    known = _prod(s for s in shape if s != -1)
    if neg:
        if known == 0 or numel % known:
            raise op_error(RuntimeError, op, f"shape '{list(shape)}' is invalid for input of size "
                           f"{numel}")
        shape = tuple(numel // known if s == -1 else s for s in shape)
    elif known != numel:
        raise op_error(RuntimeError, op, f"shape '{list(shape)}' is invalid for input of size "
                       f"{numel}")
    return shape


# ---------------------------------------------------------------- view / reshape family
def _view_forward(xp: Any, x: Any, shape: tuple) -> Any:
    try:
        return xp.reshape(x, shape, copy=False)
    except ValueError:
        raise op_error(RuntimeError, "view", "view size is not compatible with input tensor's "
                       "size and stride (at least one dimension spans across two contiguous "
                       "subspaces). Use .reshape(...) instead.", x) from None


VIEW = defop("view", _view_forward, lambda x, shape: (shape, x.dtype),
             lambda c, g: (g.reshape(c.shapes[0]),), kind="view", save_inputs=False)


@tensor_method
def view(input: Tensor, *shape: Any, size: Any = None) -> Tensor:
    """A view with a new shape (no copy; fails when the strides do not allow it)."""
    if len(shape) == 1 and not isinstance(shape[0], (int, np.integer, tuple, list)):
        from ..dtypes import to_dtype

        return _view_dtype(input, to_dtype(shape[0]))
    x = input
    s = infer_shape("view", _shape_arg(shape, size, "view"), x._data.size)
    if s == x._data.shape:
        return apply(VIEW, x, shape=s) if x._requires_grad else _alias(x)
    return apply(VIEW, x, shape=s)


def _alias(x: Tensor) -> Tensor:
    """A new view of all of ``x`` (PyTorch's view ops never return their input itself)."""
    return apply(VIEW, x, shape=x._data.shape)


def _view_dtype(x: Tensor, dtype: Any) -> Tensor:
    out = Tensor._wrap(x._data.view(dtype.np), x._device)
    out._base = x if x._base is None else x._base
    out._version_box = x._version_box
    return out


@tensor_method
def reshape(input: Tensor, *args: Any, shape: Any = None) -> Tensor:
    """A tensor with the same data and a new shape: a view when possible, else a copy."""
    x = require_tensor("reshape", input)
    s = infer_shape("reshape", _shape_arg(args, shape, "reshape"), x._data.size)
    try:
        np.reshape(x._data, s, copy=False)
    except ValueError:
        x = contiguous(x)
    return apply(VIEW, x, shape=s)


@tensor_method
def view_as(input: Tensor, other: Tensor) -> Tensor:
    return view(input, other.shape)


@tensor_method
def reshape_as(input: Tensor, other: Tensor) -> Tensor:
    return reshape(input, other.shape)


@tensor_method
def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims ``start_dim..end_dim`` into one."""
    x = require_tensor("flatten", input)
    if x.ndim == 0:
        return reshape(x, (1,))
    s, e = wrap_dim("flatten", start_dim, x.ndim), wrap_dim("flatten", end_dim, x.ndim)
    if s > e:
        raise op_error(RuntimeError, "flatten", "flatten() has invalid args: start_dim cannot "
                       "come after end_dim")
    shape = x.shape
    return reshape(x, shape[:s] + (int(_prod(shape[s:e + 1])),) + shape[e + 1:])


@tensor_method
def unflatten(input: Tensor, dim: int, sizes: Sequence[int]) -> Tensor:
    """Split dim ``dim`` into ``sizes``."""
    x = require_tensor("unflatten", input)
    d = wrap_dim("unflatten", dim, x.ndim)
    sizes = infer_shape("unflatten", tuple(sizes), x.shape[d])
    return view(x, x.shape[:d] + sizes + x.shape[d + 1:])


@tensor_method
def squeeze(input: Tensor, dim: Any = None) -> Tensor:
    """Remove size-1 dims (only ``dim`` when given; a tuple of dims is allowed)."""
    x = require_tensor("squeeze", input)
    if dim is None:
        dims = {i for i, n in enumerate(x.shape) if n == 1}
    else:
        dims = {wrap_dim("squeeze", d, x.ndim) for d in (dim if isinstance(dim, (tuple, list))
                                                           else (dim,))}
    shape = tuple(n for i, n in enumerate(x.shape) if not (i in dims and n == 1))
    return apply(VIEW, x, shape=shape)


@tensor_method
def unsqueeze(input: Tensor, dim: int) -> Tensor:
    """Insert a size-1 dim at ``dim``."""
    x = require_tensor("unsqueeze", input)
    d = wrap_dim("unsqueeze", dim, x.ndim + 1)
    shape = x.shape
    return apply(VIEW, x, shape=shape[:d] + (1,) + shape[d:])


def _permute_meta(x: Any, dims: tuple) -> tuple:
    if sorted(dims) != list(range(x.ndim)):
        raise op_error(RuntimeError, "permute", f"number of dims don't match in permute: "
                       f"dims {list(dims)} for a {x.ndim}-d input", x)
    return tuple(x.shape[d] for d in dims), x.dtype


def _permute_vjp(ctx: Any, g: Tensor) -> tuple:
    return (g.permute(tuple(np.argsort(ctx.attrs["dims"]).tolist())),)


PERMUTE = defop("permute", lambda xp, x, dims: xp.transpose(x, dims), _permute_meta,
                _permute_vjp, kind="view", save_inputs=False)


@tensor_method
def permute(input: Tensor, *args: Any, dims: Any = None) -> Tensor:
    """A view with dims reordered."""
    x = require_tensor("permute", input)
    dims = _shape_arg(args, dims, "permute")
    if len(dims) != x.ndim:
        raise op_error(RuntimeError, "permute", f"number of dims don't match in permute: got "
                       f"{len(dims)} dims for a {x.ndim}-d input", x._data)
    return apply(PERMUTE, x, dims=tuple(wrap_dim("permute", d, x.ndim) for d in dims))


@tensor_method
def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """A view with ``dim0`` and ``dim1`` swapped."""
    x = require_tensor("transpose", input)
    if x.ndim == 0:
        return _alias(x)
    a, b = wrap_dim("transpose", dim0, x.ndim), wrap_dim("transpose", dim1, x.ndim)
    dims = list(range(x.ndim))
    dims[a], dims[b] = b, a
    return apply(PERMUTE, x, dims=tuple(dims))


swapdims = transpose
tensor_method(swapdims, name="swapdims")


@tensor_method
def swapaxes(input: Tensor, axis0: int, axis1: int) -> Tensor:
    """:func:`transpose` under NumPy's name (and argument names)."""
    return transpose(input, axis0, axis1)


@tensor_method
def t(input: Tensor) -> Tensor:
    """Transpose of a tensor of at most 2 dims."""
    if input.ndim > 2:
        raise op_error(RuntimeError, "t", f"t() expects a tensor with <= 2 dimensions, but self is "
                       f"{input.ndim}D", input._data)
    return transpose(input, 0, -1) if input.ndim == 2 else _alias(input)


def _restride_(op: str, self: Tensor, view: Any, *args: Any) -> Tensor:
    """An in-place view op (``squeeze_``, ``t_`` …): ``self`` takes the shape and strides of
    ``view(self, *args)`` over the same storage, and autograd sees it as that view of its old
    value, as PyTorch does."""
    from ._opdef import _LEAF_INPLACE

    x = require_tensor(op, self)
    if x._requires_grad and x.grad_fn is None and STATE.enabled:
        raise RuntimeError(_LEAF_INPLACE)
    out = view(x, *args)
    x._data = out._data
    if out.grad_fn is not None:
        x.grad_fn = out.grad_fn
    x._version_box[0] += 1
    return x


@tensor_method
def squeeze_(self: Tensor, dim: Any = None) -> Tensor:
    """In-place :func:`squeeze`: ``self`` loses its size-1 dims (only ``dim`` when given)."""
    return _restride_("squeeze_", self, squeeze, dim)


@tensor_method
def unsqueeze_(self: Tensor, dim: int) -> Tensor:
    """In-place :func:`unsqueeze`: ``self`` gains a size-1 dim at ``dim``."""
    return _restride_("unsqueeze_", self, unsqueeze, dim)


@tensor_method
def transpose_(self: Tensor, dim0: int, dim1: int) -> Tensor:
    """In-place :func:`transpose`: ``self`` becomes its own view with two dims swapped."""
    return _restride_("transpose_", self, transpose, dim0, dim1)


tensor_method(transpose_, name="swapdims_")
tensor_method(transpose_, name="swapaxes_")


@tensor_method
def t_(self: Tensor) -> Tensor:
    """In-place :func:`t` (tensors of at most 2 dims)."""
    if self.ndim > 2:
        raise op_error(RuntimeError, "t_", f"t_() expects a tensor with <= 2 dimensions, but "
                       f"self is {self.ndim}D", self._data)
    return _restride_("t_", self, t)


@tensor_method
def movedim(input: Tensor, source: Any, destination: Any) -> Tensor:
    """Move dims ``source`` to positions ``destination``."""
    x = require_tensor("movedim", input)
    src = [wrap_dim("movedim", d, x.ndim) for d in (source if isinstance(source, (tuple, list))
                                                   else (source,))]
    dst = [wrap_dim("movedim", d, x.ndim) for d in (destination if isinstance(
        destination, (tuple, list)) else (destination,))]
    if len(src) != len(dst):
        raise op_error(RuntimeError, "movedim", "Invalid source or destination dims: source "
                       f"({src} dims) should contain the same number of dims as destination "
                       f"({dst} dims)")
    order = [d for d in range(x.ndim) if d not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return apply(PERMUTE, x, dims=tuple(order))


moveaxis = movedim
tensor_method(moveaxis, name="moveaxis")


def _expand_meta(x: Any, shape: tuple) -> tuple:
    if len(shape) < x.ndim:
        raise op_error(RuntimeError, "expand", f"the number of sizes provided ({len(shape)}) must "
                       f"be greater or equal to the number of dimensions in the tensor "
                       f"({x.ndim})", x)
    off = len(shape) - x.ndim
    for i, n in enumerate(x.shape):
        if n != 1 and n != shape[off + i]:
            raise op_error(RuntimeError, "expand", f"The expanded size of the tensor "
                           f"({shape[off + i]}) must match the existing size ({n}) at "
                           f"non-singleton dimension {off + i}.  Target sizes: {list(shape)}.  "
                           f"Tensor sizes: {list(x.shape)}", x)
    return shape, x.dtype


EXPAND = defop("expand", lambda xp, x, shape: xp.broadcast_to(x, shape), _expand_meta,
               lambda c, g: (g,), kind="view", save_inputs=False)


@tensor_method
def expand(input: Tensor, *sizes: Any, size: Any = None) -> Tensor:
    """A broadcast view to ``sizes`` (``-1`` keeps a dim)."""
    x = require_tensor("expand", input)
    sizes = _shape_arg(sizes, size, "expand")
    off = len(sizes) - x.ndim
    shape = tuple(x.shape[i - off] if s == -1 and i >= off else s for i, s in enumerate(sizes))
    if shape == x.shape:
        return _alias(x)
    return apply(EXPAND, x, shape=shape)


@tensor_method
def expand_as(input: Tensor, other: Tensor) -> Tensor:
    return expand(input, other.shape)


@tensor_method
def sum_to_size(input: Tensor, *size: Any) -> Tensor:
    """``input`` summed down to ``size``, a shape that expands to ``input``'s (the reverse of
    :func:`expand`).

    Example:
        >>> deepseek.ones(2, 3).sum_to_size(1, 3)
        tensor([[2., 2., 2.]])
    """
    from ..autograd.graph import sum_to

    x = require_tensor("sum_to_size", input)
    shape = _shape_arg(size)
    lead = x.ndim - len(shape)
    if lead < 0 or builtins.any(n != 1 and n != x.shape[lead + i] for i, n in enumerate(shape)):
        raise op_error(RuntimeError, "sum_to_size", f"size {{{list(shape)}}} is not expandable "
                       f"to size {{{list(x.shape)}}}.", x._data)
    return sum_to(x, shape)


def broadcast_to(input: Tensor, shape: Sequence[int]) -> Tensor:
    """``input`` broadcast to ``shape``."""
    return expand(input, tuple(shape))


tensor_method(broadcast_to)


def broadcast_tensors(*tensors: Tensor) -> tuple:
    """Broadcast tensors to one shape."""
    from ._common import broadcast_shapes

    shape = broadcast_shapes("broadcast_tensors", *[t._data for t in tensors])
    return tuple(expand(t, shape) for t in tensors)


def broadcast_shapes(*shapes: Any) -> tuple:
    from ._common import broadcast_shapes as bs
    from ..tensor import Size

    class _S:
        def __init__(self, s: Any) -> None:
            self.shape, self.dtype = (tuple(s) if isinstance(s, (tuple, list)) else (s,)), None

    return Size(bs("broadcast_shapes", *[_S(s) for s in shapes]))


def _as_strided_forward(xp: Any, x: Any, size: tuple, stride: tuple, offset: int) -> Any:
    item = x.itemsize
    flat = x.reshape(-1) if x.flags.c_contiguous else xp.ascontiguousarray(x).reshape(-1)
    return xp.lib.stride_tricks.as_strided(flat[offset:], size, tuple(s * item for s in stride))


def _as_strided_meta(x: Any, size: tuple, stride: tuple, offset: int) -> tuple:
    if len(size) != len(stride):
        raise op_error(RuntimeError, "as_strided", f"mismatch in length of strides and shape "
                       f"({len(stride)} vs {len(size)})", x)
    if size and builtins.all(n > 0 for n in size):
        last = offset + builtins.sum((n - 1) * s for n, s in zip(size, stride))
        if last >= x.size or offset < 0:
            raise op_error(RuntimeError, "as_strided", f"setStorage: sizes {list(size)}, strides "
                           f"{list(stride)}, storage offset {offset} are out of bounds for storage "
                           f"of {x.size} elements", x)
    return tuple(size), x.dtype


def _as_strided_vjp(ctx: Any, g: Tensor) -> tuple:
    from .indexing import INDEX_PUT

    # overlapping windows read an element several times, so its gradient is a sum: add the
    # gradient into the flat storage at every position the view reads
    a = ctx.attrs
    where = np.full(a["size"], a["offset"], dtype=np.int64)
    for d, (n, s) in enumerate(zip(a["size"], a["stride"])):
        where = where + (np.arange(n) * s).reshape((n,) + (1,) * (len(a["size"]) - d - 1))
    flat = g.new_zeros(int(_prod(ctx.shapes[0])))
    flat = apply(INDEX_PUT, flat, g, key=(where,), accumulate=True)
    return (reshape(flat, ctx.shapes[0]),)


AS_STRIDED = defop("as_strided", _as_strided_forward, _as_strided_meta, _as_strided_vjp,
                   kind="view", save_inputs=False)


def _as_strided_scatter_forward(xp: Any, base: Any, src: Any, size: tuple, stride: tuple,
                                offset: int) -> Any:
    out = xp.array(base, copy=True, order="C")
    region = _as_strided_forward(xp, out, size, stride, offset)
    region[...] = src  # overlapping regions take the last write, as in PyTorch
    return out


def _as_strided_scatter_vjp(ctx: Any, g: Tensor) -> tuple:
    a = ctx.attrs
    kw = dict(size=a["size"], stride=a["stride"], offset=a["offset"])
    g_src = apply(AS_STRIDED, contiguous(g), **kw)
    g_base = apply(AS_STRIDED_SCATTER, g, g_src.new_zeros(g_src.shape), **kw)
    return g_base, g_src


AS_STRIDED_SCATTER = defop(
    "as_strided_scatter", _as_strided_scatter_forward,
    lambda base, src, size, stride, offset: (base.shape, base.dtype),
    _as_strided_scatter_vjp, save_inputs=False, complex=True)


@tensor_method
def as_strided(input: Tensor, size: Sequence[int], stride: Sequence[int],
               storage_offset: int = 0) -> Tensor:
    """A view with explicit sizes and strides (in elements) over ``input``'s contiguous data."""
    return apply(AS_STRIDED, require_tensor("as_strided", input), size=tuple(size),
                 stride=tuple(stride), offset=int(storage_offset))


@tensor_method
def as_strided_scatter(input: Tensor, src: Tensor, size: Sequence[int], stride: Sequence[int],
                       storage_offset: Optional[int] = None) -> Tensor:
    """A copy of ``input`` with ``src`` written where ``input.as_strided(size, stride,
    storage_offset)`` would look (over ``input``'s contiguous data, as :func:`as_strided`);
    differentiable in both. ``src`` must have shape ``size``.

    Example:
        >>> deepseek.as_strided_scatter(deepseek.zeros(2, 2), deepseek.ones(2), (2,), (3,))
        tensor([[1., 0.],
                [0., 1.]])
    """
    x = require_tensor("as_strided_scatter", input)
    src = require_tensor("as_strided_scatter", src, "src")
    size, stride = tuple(int(n) for n in size), tuple(int(s) for s in stride)
    offset = int(storage_offset or 0)
    try:
        _as_strided_meta(x._data, size, stride, offset)
    except RuntimeError as error:
        raise op_error(RuntimeError, "as_strided_scatter", str(error).split("] ", 1)[-1]) from None
    if tuple(src.shape) != size:
        raise op_error(RuntimeError, "as_strided_scatter", f"expected src to have a size equal to "
                       f"the slice of self. src size = {list(src.shape)}, slice size = "
                       f"{list(size)}", x._data, src._data)
    return apply(AS_STRIDED_SCATTER, x, cast(src, x._data.dtype), size=size, stride=stride,
                 offset=offset)


@tensor_method
def as_strided_(self: Tensor, size: Sequence[int], stride: Sequence[int],
                storage_offset: int = 0) -> Tensor:
    """In-place :func:`as_strided`: ``self`` takes sizes and strides (in elements) over its
    contiguous data; as there, ``storage_offset`` counts from ``self``'s first element."""
    return _restride_("as_strided_", self, as_strided, size, stride, storage_offset)


def inplace_on_view(op: Any, target: Tensor, args: tuple, attrs: dict) -> Tensor:
    """An in-place op on a view that autograd must see: the base's history gains a scatter of
    the view's new value, and the view becomes a fresh view of the updated base."""
    from ._opdef import TRACER

    if TRACER[0] is not None:
        TRACER[0].unsupported(f"{op.name}_ on a view of a tensor that requires grad")
    base = target._base
    if base.grad_fn is None and base._requires_grad:
        raise RuntimeError("a view of a leaf Variable that requires grad is being used in an "
                           "in-place operation.")
    bdata = base._data
    if bdata.dtype != target._data.dtype:
        raise op_error(RuntimeError, op.name + "_", "in-place update of the real or imaginary "
                       "part of a complex tensor while recording gradients; build the new value "
                       "with deepseek.complex() instead", target._data, bdata)
    if not bdata.flags.c_contiguous:
        raise op_error(RuntimeError, op.name + "_", "in-place update of a view whose base is not "
                       "contiguous, while recording gradients; apply it to a .clone()",
                       target._data)
    item = bdata.itemsize
    size = target._data.shape
    stride = tuple(s // item for s in target._data.strides)
    offset = (target._data.__array_interface__["data"][0]
              - bdata.__array_interface__["data"][0]) // item
    old_view = Tensor._wrap(target._data.copy())
    old_view._requires_grad, old_view.grad_fn = target._requires_grad, target.grad_fn
    new_value = apply(op, old_view, *args, **attrs)
    target._data[...] = new_value._data
    target._version_box[0] += 1
    old_base = Tensor._wrap(bdata)
    old_base._requires_grad, old_base.grad_fn = base._requires_grad, base.grad_fn
    prev = STATE.enabled
    _record(AS_STRIDED_SCATTER, (old_base, new_value),
            dict(size=size, stride=stride, offset=offset), base)
    STATE.enabled = prev
    view_node = _record(AS_STRIDED, (base,), dict(size=size, stride=stride, offset=offset),
                        target)
    del view_node
    return target


# ---------------------------------------------------------------- copies
CLONE = defop("clone", lambda xp, x: xp.array(x, copy=True, order="C"),
              lambda x: (x.shape, x.dtype), lambda c, g: (g,), kind="elementwise", expr="{0}",
              save_inputs=False, complex=True)


@tensor_method
def clone(input: Tensor, *, memory_format: Any = None) -> Tensor:
    """A copy with its own (contiguous) storage, differentiable."""
    return apply(CLONE, require_tensor("clone", input))


@tensor_method
def contiguous(input: Tensor, memory_format: Any = None) -> Tensor:
    """``input`` itself when contiguous in ``memory_format`` (default ``contiguous_format``),
    else a copy laid out so (``channels_last``: NHWC strides on an NCHW shape)."""
    if memory_format is not None:
        from .._memory_format import contiguous as to_format

        return to_format(input, memory_format)
    if input._data.flags.c_contiguous:
        return input
    return apply(CLONE, input)


# ---------------------------------------------------------------- joins and splits
def _cat_meta(*xs: Any, dim: int) -> tuple:
    first = next((x for x in xs if not (x.ndim == 1 and x.shape[0] == 0)), xs[0])
    total = 0
    dtype = xs[0].dtype
    for x in xs:
        if x.ndim == 1 and x.shape[0] == 0:  # legacy: empty 1-d tensors are skipped
            continue
        if x.ndim != first.ndim:
            raise op_error(RuntimeError, "cat", "Tensors must have same number of dimensions: got "
                           f"{first.ndim} and {x.ndim}", *xs)
        for i, (a, b) in enumerate(zip(first.shape, x.shape)):
            if i != dim and a != b:
                raise op_error(RuntimeError, "cat", f"Sizes of tensors must match except in "
                               f"dimension {dim}. Expected size {a} but got size {b} for a tensor "
                               "in the list.", *xs)
        total += x.shape[dim]
        if x.dtype != dtype:
            raise op_error(RuntimeError, "cat", "inputs must share a dtype after promotion", *xs)
    shape = list(first.shape)
    if shape:
        shape[dim] = total
    return tuple(shape), dtype


def _cat_forward(xp: Any, *xs: Any, dim: int) -> Any:
    keep = [x for x in xs if not (x.ndim == 1 and x.shape[0] == 0)] or [xs[0]]
    shape = list(keep[0].shape)
    shape[dim] = sum(x.shape[dim] for x in keep)
    # row-major whatever the inputs' strides (NumPy's would follow theirs)
    return xp.concatenate(keep, axis=dim, out=xp.empty(shape, xp.result_type(*keep)))


def _cat_vjp(ctx: Any, g: Tensor) -> tuple:
    dim = ctx.attrs["dim"]
    out, start = [], 0
    for shape, need in zip(ctx.shapes, ctx.needs_input_grad):
        if len(shape) == 1 and shape[0] == 0 and g.ndim != 1:
            out.append(None)
            continue
        n = shape[dim]
        out.append(narrow(g, dim, start, n) if need else None)
        start += n
    return tuple(out)


CAT = defop("cat", _cat_forward, _cat_meta, _cat_vjp, amp="promote", save_inputs=False,
            complex=True)


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Concatenate tensors along ``dim`` (dtypes are promoted)."""
    if isinstance(tensors, Tensor) or not len(tensors):
        raise op_error(RuntimeError if not isinstance(tensors, Tensor) else TypeError, "cat",
                       "expected a non-empty list of Tensors")
    for t in tensors:
        require_tensor("cat", t, "tensors")
    from ._common import cast, promote

    d = promote("cat", *tensors)
    ts = [cast(t, d) for t in tensors]
    ref = next((t for t in ts if not (t.ndim == 1 and t.shape[0] == 0)), ts[0])
    return apply(CAT, *ts, dim=wrap_dim("cat", dim, ref.ndim))


concat = concatenate = cat


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join tensors of one shape along a new dim."""
    if not len(tensors):
        raise op_error(RuntimeError, "stack", "stack expects a non-empty TensorList")
    shape = tensors[0].shape
    for t in tensors:
        if require_tensor("stack", t, "tensors").shape != shape:
            raise op_error(RuntimeError, "stack",
                           f"stack expects each tensor to be equal size, but "
                           f"got {list(shape)} at entry 0 and {list(t.shape)} at another entry",
                           *[x._data for x in tensors])
    d = wrap_dim("stack", dim, len(shape) + 1)
    return cat([unsqueeze(t, d) for t in tensors], d)


def _tensor_list(op: str, tensors: tuple) -> tuple:
    """``f(a, b)`` and ``f([a, b])`` both mean the tensors a, b."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    return tuple(require_tensor(op, t, "tensors") for t in tensors)


def _at_least(op: str, tensors: tuple, shape_of: Any) -> Any:
    """One tensor for one tensor argument, else a tuple; each viewed as ``shape_of(shape)``."""
    ts = tuple(view(t, shape_of(t.shape)) for t in _tensor_list(op, tensors))
    return ts[0] if len(tensors) == 1 and isinstance(tensors[0], Tensor) else ts


def atleast_1d(*tensors: Tensor) -> Any:
    """Each tensor viewed with at least 1 dim (0-d becomes shape (1,))."""
    return _at_least("atleast_1d", tensors, lambda s: s if len(s) >= 1 else (1,))


def atleast_2d(*tensors: Tensor) -> Any:
    """Each tensor viewed with at least 2 dims (a 1-d tensor becomes a row)."""
    return _at_least("atleast_2d", tensors, lambda s: s if len(s) >= 2 else (1,) * (2 - len(s)) + s)


def atleast_3d(*tensors: Tensor) -> Any:
    """Each tensor viewed with at least 3 dims: (n,) -> (1, n, 1), (m, n) -> (m, n, 1)."""
    return _at_least("atleast_3d", tensors, lambda s: s if len(s) >= 3 else (
        (1, 1, 1) if not s else (1,) + s + (1,) if len(s) == 1 else s + (1,)))


def _seq_of_tensors(op: str, tensors: Sequence[Tensor]) -> tuple:
    if isinstance(tensors, Tensor) or not len(tensors):
        raise op_error(RuntimeError, op, f"{op} expects a non-empty TensorList")
    return tuple(tensors)


def hstack(tensors: Sequence[Tensor]) -> Tensor:
    """Concatenate horizontally: along dim 0 for 1-d tensors, dim 1 otherwise."""
    ts = atleast_1d(_seq_of_tensors("hstack", tensors))
    return cat(ts, 0 if ts[0].ndim == 1 else 1)


def vstack(tensors: Sequence[Tensor]) -> Tensor:
    """Concatenate vertically (dim 0) after making each tensor at least 2-d."""
    return cat(atleast_2d(_seq_of_tensors("vstack", tensors)), 0)


row_stack = vstack


def dstack(tensors: Sequence[Tensor]) -> Tensor:
    """Concatenate depthwise (dim 2) after making each tensor at least 3-d."""
    return cat(atleast_3d(_seq_of_tensors("dstack", tensors)), 2)


def column_stack(tensors: Sequence[Tensor]) -> Tensor:
    """Stack as columns: 0-d and 1-d tensors become (n, 1) columns, then :func:`hstack`."""
    ts = _seq_of_tensors("column_stack", tensors)
    return hstack([reshape(t, (t.numel(), 1)) if t.ndim <= 1 else t for t in ts])


@tensor_method
def narrow(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    """A view of ``length`` elements of dim ``dim`` from ``start``."""
    x = require_tensor("narrow", input)
    d = wrap_dim("narrow", dim, x.ndim)
    n = x.shape[d]
    start = int(start)
    if start < 0:
        start += n
    if not (0 <= start <= n and 0 <= length and start + length <= n):
        raise op_error(IndexError, "narrow", f"start ({start}) + length ({length}) exceeds "
                       f"dimension size ({n}).", x._data)
    key = (slice(None),) * d + (slice(start, start + length),)
    return x[key]


@tensor_method
def narrow_copy(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    """A contiguous copy of :func:`narrow`'s view."""
    return apply(CLONE, narrow(input, dim, start, length))


@tensor_method
def split(tensor: Tensor, split_size_or_sections: Any = None, dim: int = 0, *,
          split_size: Any = None) -> tuple:
    """Views of consecutive chunks of ``split_size_or_sections`` along ``dim`` (``split_size``
    is ``Tensor.split``'s name for it)."""
    if (split_size_or_sections is None) == (split_size is None):
        raise TypeError("split() takes one of split_size_or_sections and split_size")
    if split_size_or_sections is None:
        split_size_or_sections = split_size
    x = require_tensor("split", tensor)
    d = wrap_dim("split", dim, x.ndim)
    n = x.shape[d]
    if isinstance(split_size_or_sections, (int, np.integer)):
        step = int(split_size_or_sections)
        if step <= 0 and n:
            raise op_error(RuntimeError, "split", f"split_size must be positive, got {step}")
        sizes = [builtins.min(step, n - i) for i in range(0, n, step)] if n else [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if builtins.sum(sizes) != n:
            raise op_error(RuntimeError, "split", f"split_with_sizes expects split_sizes to sum "
                           f"exactly to {n} (input tensor's size at dimension {d}), but got "
                           f"split_sizes={sizes}")
    out, start = [], 0
    for s in sizes:
        out.append(narrow(x, d, start, s))
        start += s
    return tuple(out)


@tensor_method
def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    """At most ``chunks`` views of (nearly) equal size along ``dim``."""
    if chunks <= 0:
        raise op_error(RuntimeError, "chunk", f"chunk expects `chunks` to be greater than 0, got: "
                       f"{chunks}")
    n = input.shape[wrap_dim("chunk", dim, input.ndim)]
    step = -(-n // chunks) if n else 1
    return split(input, builtins.max(step, 1), dim)


def _int_sizes(op: str, arg: str, sizes: Any) -> list:
    if isinstance(sizes, Tensor) or not isinstance(sizes, (tuple, list)) or not builtins.all(
            isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in sizes):
        raise TypeError(f"[{op}] {op}(): argument '{arg}' must be tuple of ints, not "
                        f"{type(sizes).__name__}")
    return [int(s) for s in sizes]


@tensor_method
def split_with_sizes(input: Tensor, split_sizes: Sequence[int], dim: int = 0) -> tuple:
    """Views of consecutive pieces of ``split_sizes`` (summing to the size of ``dim``)."""
    return split(input, _int_sizes("split_with_sizes", "split_sizes", split_sizes), dim)


# PyTorch's unsafe_* variants skip the views' autograd bookkeeping for speed; here they are
# the ordinary splits (the pieces are views of ``input``, so in-place writes stay correct).
@tensor_method
def unsafe_split(tensor: Tensor, split_size: int, dim: int = 0) -> tuple:
    """:func:`split` into pieces of ``split_size`` (an int)."""
    if isinstance(split_size, bool) or not isinstance(split_size, (int, np.integer)):
        raise TypeError(f"[unsafe_split] unsafe_split(): argument 'split_size' must be int, not "
                        f"{type(split_size).__name__}")
    return split(tensor, int(split_size), dim)


@tensor_method
def unsafe_split_with_sizes(input: Tensor, split_sizes: Sequence[int], dim: int = 0) -> tuple:
    """:func:`split_with_sizes`."""
    return split(input, _int_sizes("unsafe_split_with_sizes", "split_sizes", split_sizes), dim)


@tensor_method
def unsafe_chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    """:func:`chunk`."""
    return chunk(input, chunks, dim)


@tensor_method
def unbind(input: Tensor, dim: int = 0) -> tuple:
    """The slices along ``dim``, with that dim removed."""
    x = require_tensor("unbind", input)
    d = wrap_dim("unbind", dim, x.ndim)
    key = (slice(None),) * d
    return tuple(x[key + (i,)] for i in range(x.shape[d]))


def _flip_vjp(ctx: Any, g: Tensor) -> tuple:
    return (g.flip(ctx.attrs["dims"]),)


FLIP = defop("flip", lambda xp, x, dims: xp.flip(x, dims).copy(),
             lambda x, dims: (x.shape, x.dtype), _flip_vjp, save_inputs=False, complex=True)


@tensor_method
def flip(input: Tensor, *args: Any, dims: Any = None) -> Tensor:
    """Reverse the order of elements along ``dims`` (a copy, as in PyTorch)."""
    x = require_tensor("flip", input)
    dims = _shape_arg(args, dims, "flip") if args or dims is not None else ()
    return apply(FLIP, x, dims=tuple(wrap_dim("flip", d, x.ndim) for d in dims))


@tensor_method
def select(input: Tensor, dim: int, index: int) -> Tensor:
    """The view of ``input`` at ``index`` along ``dim``, with that dim removed."""
    x = require_tensor("select", input)
    return x[(slice(None),) * wrap_dim("select", dim, x.ndim) + (index,)]


# ---------------------------------------------------------------- repeats
@tensor_method
def repeat(input: Tensor, *sizes: Any, repeats: Any = None) -> Tensor:
    """``input`` tiled ``sizes[i]`` times along each dim (leading new dims allowed)."""
    x = require_tensor("repeat", input)
    sizes = _shape_arg(sizes, repeats, "repeat")
    if len(sizes) < x.ndim:
        raise op_error(RuntimeError, "repeat", "Number of dimensions of repeat dims can not be "
                       "smaller than number of dimensions of tensor", x._data)
    if builtins.any(r < 0 for r in sizes):
        raise op_error(RuntimeError, "repeat", f"Trying to create tensor with negative dimension: "
                       f"{list(sizes)}", x._data)
    shape = (1,) * (len(sizes) - x.ndim) + tuple(x.shape)
    # (n0, n1) viewed as (1, n0, 1, n1), broadcast to (r0, n0, r1, n1), merged pairwise
    pairs = builtins.sum(((1, n) for n in shape), ())
    big = expand(reshape(x, pairs), builtins.sum(((r, n) for r, n in zip(sizes, shape)), ()))
    return reshape(big, tuple(r * n for r, n in zip(sizes, shape)))


@tensor_method
def tile(input: Tensor, dims: Sequence[int]) -> Tensor:
    """:func:`repeat`, with ``dims`` padded by leading 1s when shorter than ``input.ndim``."""
    dims = tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)
    return repeat(input, (1,) * (input.ndim - len(dims)) + dims)


@tensor_method
def repeat_interleave(input: Tensor, repeats: Any = None, dim: Optional[int] = None, *,
                      output_size: Optional[int] = None) -> Tensor:
    """Repeat each element ``repeats`` times (an int, or one count per element) along ``dim``
    (the flattened input when None). With a tensor alone, its counts repeat ``arange``."""
    from .._creation import arange, tensor

    if repeats is None:  # repeat_interleave(counts): the indices repeated by the counts
        counts = require_tensor("repeat_interleave", input)
        return repeat_interleave(arange(counts.numel(), device=counts.device), counts)
    x = require_tensor("repeat_interleave", input)
    if dim is None:
        x, d = reshape(x, (-1,)), 0
    else:
        d = wrap_dim("repeat_interleave", dim, x.ndim)
    if isinstance(repeats, Tensor) and repeats.numel() == 1 and repeats.ndim <= 1:
        repeats = int(repeats.item())
    if isinstance(repeats, (int, np.integer)):
        if repeats < 0:
            raise op_error(RuntimeError, "repeat_interleave", "repeats can not be negative")
        if x.ndim == 0:
            x = reshape(x, (1,))
        shape = tuple(x.shape)
        big = expand(unsqueeze(x, d + 1), shape[:d + 1] + (int(repeats),) + shape[d + 1:])
        return reshape(big, shape[:d] + (shape[d] * int(repeats),) + shape[d + 1:])
    # (a tensor's counts are read through tolist: its result's shape depends on them, which
    # ds.jit reports)
    counts = np.asarray(repeats.tolist() if isinstance(repeats, Tensor) else repeats,
                        dtype=np.int64)
    if counts.ndim != 1 or counts.shape[0] != x.shape[d]:
        raise op_error(RuntimeError, "repeat_interleave", f"repeats must have the same size as "
                       f"input along dim {d}, got {list(counts.shape)} repeats for size "
                       f"{x.shape[d]}", x._data)
    if counts.size and counts.min() < 0:
        raise op_error(RuntimeError, "repeat_interleave", "repeats can not be negative")
    index = np.repeat(np.arange(x.shape[d]), counts)
    return x.index_select(d, tensor(index, device=x.device))


@tensor_method
def roll(input: Tensor, shifts: Any, dims: Any = None) -> Tensor:
    """Rotate ``input`` by ``shifts`` along ``dims`` (the flattened tensor when None)."""
    x = require_tensor("roll", input)
    shifts = tuple(shifts) if isinstance(shifts, (tuple, list)) else (shifts,)
    if dims is None:
        if len(shifts) != 1:
            raise op_error(RuntimeError, "roll", f"shifts and dimensions must align. shifts: "
                           f"{len(shifts)}, dims: 0")
        return reshape(roll(reshape(x, (-1,)), shifts, 0), x.shape)
    dims = tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)
    if len(shifts) != len(dims):
        raise op_error(RuntimeError, "roll", f"shifts and dimensions must align. shifts: "
                       f"{len(shifts)}, dims:{len(dims)}")
    out = x
    for shift, dim in zip(shifts, dims):
        d = wrap_dim("roll", dim, x.ndim)
        n = x.shape[d] if x.ndim else 1
        s = int(shift) % n if n else 0
        if s:
            out = cat([narrow(out, d, n - s, s), narrow(out, d, 0, n - s)], d)
    return clone(out) if out is x else out


# ---------------------------------------------------------------- triangles and diagonals
def _tri_meta(name: str) -> Any:
    def meta(x: Any, diagonal: int) -> tuple:
        if x.ndim < 2:
            raise op_error(RuntimeError, name, f"{name}: input tensor must have at least 2 "
                           "dimensions", x)
        return x.shape, x.dtype

    return meta


def _triangle(name: str) -> tuple:
    op = defop(name, lambda xp, x, diagonal: getattr(xp, name)(x, diagonal), _tri_meta(name),
               lambda c, g: (apply(op, g, diagonal=c.attrs["diagonal"]),), save_inputs=False)

    def front(input: Tensor, diagonal: int = 0) -> Tensor:
        return apply(op, require_tensor(name, input), diagonal=int(diagonal))

    def front_(self: Tensor, diagonal: int = 0) -> Tensor:
        return apply_inplace(op, self, diagonal=int(diagonal))

    front.__name__ = front.__qualname__ = name
    front_.__name__ = front_.__qualname__ = name + "_"
    part = "lower" if name == "tril" else "upper"
    front.__doc__ = (f"The {part} triangle of the last two dims of ``input`` (others zeroed); "
                     f"``diagonal`` > 0 keeps diagonals above the main one, < 0 below.")
    front_.__doc__ = f"In-place :func:`{name}`."
    tensor_method(front)
    tensor_method(front_)
    return op, front, front_


TRIL, tril, tril_ = _triangle("tril")
TRIU, triu, triu_ = _triangle("triu")


def _diag_dims(op: str, ndim: int, offset: int, dim1: int, dim2: int) -> tuple:
    d1, d2 = wrap_dim(op, dim1, ndim), wrap_dim(op, dim2, ndim)
    if d1 == d2:
        raise op_error(RuntimeError, op, f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return int(offset), d1, d2


def _diagonal_shape(shape: tuple, offset: int, dim1: int, dim2: int) -> tuple:
    n = builtins.min(shape[dim1] + builtins.min(offset, 0), shape[dim2] - builtins.max(offset, 0))
    rest = tuple(s for i, s in enumerate(shape) if i not in (dim1, dim2))
    return rest + (builtins.max(n, 0),)


def _diagonal_forward(xp: Any, x: Any, offset: int, dim1: int, dim2: int) -> Any:
    shape = _diagonal_shape(x.shape, offset, dim1, dim2)
    start = [slice(None)] * x.ndim
    if shape[-1]:
        start[dim2 if offset >= 0 else dim1] = slice(abs(offset), None)
    first = x[tuple(start)]  # a writable view starting at the first diagonal element
    strides = tuple(s for i, s in enumerate(first.strides) if i not in (dim1, dim2))
    strides += (first.strides[dim1] + first.strides[dim2],)
    return xp.lib.stride_tricks.as_strided(first, shape, strides)


def _diagonal_meta(x: Any, offset: int, dim1: int, dim2: int) -> tuple:
    return _diagonal_shape(x.shape, offset, dim1, dim2), x.dtype


def _diagonal_vjp(ctx: Any, g: Tensor) -> tuple:
    return (apply(DIAGONAL_SCATTER, g.new_zeros(ctx.shapes[0]), g, **ctx.attrs),)


DIAGONAL = defop("diagonal", _diagonal_forward, _diagonal_meta, _diagonal_vjp, kind="view",
                 save_inputs=False)


def _diagonal_scatter_forward(xp: Any, x: Any, src: Any, offset: int, dim1: int,
                              dim2: int) -> Any:
    out = x.copy()
    _diagonal_forward(xp, out, offset, dim1, dim2)[...] = src
    return out


def _diagonal_scatter_meta(x: Any, src: Any, offset: int, dim1: int, dim2: int) -> tuple:
    shape = _diagonal_shape(x.shape, offset, dim1, dim2)
    if tuple(src.shape) != shape:
        raise op_error(RuntimeError, "diagonal_scatter", f"src must have the shape of the "
                       f"diagonal {list(shape)}", x, src)
    return x.shape, x.dtype


def _diagonal_scatter_vjp(ctx: Any, g: Tensor) -> tuple:
    a = ctx.attrs
    gx = apply(DIAGONAL_SCATTER, g, g.new_zeros(ctx.shapes[1]), **a)
    return gx, apply(DIAGONAL, g, **a)


DIAGONAL_SCATTER = defop("diagonal_scatter", _diagonal_scatter_forward, _diagonal_scatter_meta,
                         _diagonal_scatter_vjp, save_inputs=False, complex=True)


@tensor_method
def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """A view of the diagonal of dims ``dim1``, ``dim2`` (moved to the last dim); ``offset``
    > 0 is above the main diagonal."""
    x = require_tensor("diagonal", input)
    offset, d1, d2 = _diag_dims("diagonal", x.ndim, offset, dim1, dim2)
    return apply(DIAGONAL, x, offset=offset, dim1=d1, dim2=d2)


@tensor_method
def diagonal_scatter(input: Tensor, src: Tensor, offset: int = 0, dim1: int = 0,
                     dim2: int = 1) -> Tensor:
    """A copy of ``input`` whose :func:`diagonal` is ``src``."""
    x = require_tensor("diagonal_scatter", input)
    offset, d1, d2 = _diag_dims("diagonal_scatter", x.ndim, offset, dim1, dim2)
    from ._common import cast

    return apply(DIAGONAL_SCATTER, x, cast(src, x._data.dtype), offset=offset, dim1=d1, dim2=d2)


@tensor_method
def diag_embed(input: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """Tensors whose diagonals (dims ``dim1``, ``dim2`` of the output) hold the last dim of
    ``input``; everything else is zero."""
    x = require_tensor("diag_embed", input)
    offset, d1, d2 = _diag_dims("diag_embed", x.ndim + 1, offset, dim1, dim2)
    n = (x.shape[-1] if x.ndim else 1) + abs(offset)
    shape = list(x.shape[:-1])
    for d in sorted((d1, d2)):
        shape.insert(d, n)
    return apply(DIAGONAL_SCATTER, x.new_zeros(tuple(shape)), x if x.ndim else reshape(x, (1,)),
                 offset=offset, dim1=d1, dim2=d2)


@tensor_method
def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    """A 1-d tensor -> the 2-d matrix with it on diagonal ``diagonal``; a 2-d tensor -> a copy
    of that diagonal."""
    x = require_tensor("diag", input)
    if x.ndim == 1:
        return diag_embed(x, diagonal, 0, 1)
    if x.ndim == 2:
        return clone(apply(DIAGONAL, x, offset=int(diagonal), dim1=0, dim2=1))
    raise op_error(RuntimeError, "diag", f"diag(): Supports 1D or 2D tensors. Got {x.ndim}D",
                   x._data)


def meshgrid(*tensors: Tensor, indexing: Optional[str] = None) -> tuple:
    """Coordinate grids of 1-d tensors: ``indexing='ij'`` (the default) gives output dim i to
    tensor i; ``'xy'`` swaps the first two (Cartesian)."""
    ts = _tensor_list("meshgrid", tensors)
    if indexing not in (None, "ij", "xy"):
        raise op_error(ValueError, "meshgrid", f"indexing must be one of 'xy' or 'ij', got "
                       f"{indexing!r}")
    for t in ts:
        if t.ndim > 1:
            raise op_error(RuntimeError, "meshgrid", "Expected 0D or 1D tensor in the tensor list "
                           f"but got a {t.ndim}-d tensor", t._data)
    axes = list(range(len(ts)))
    if indexing == "xy" and len(ts) >= 2:
        axes[0], axes[1] = 1, 0
    shape = [0] * len(ts)
    for a, t in zip(axes, ts):
        shape[a] = t.numel()
    out = []
    for a, t in zip(axes, ts):
        one = [1] * len(ts)
        one[a] = t.numel()
        out.append(expand(reshape(t, tuple(one)), tuple(shape)))
    return tuple(out)


# ---------------------------------------------------------------- sliding windows
def _unfold_meta(x: Any, dimension: int, size: int, step: int) -> tuple:
    n = x.shape[dimension] if x.ndim else 1
    if size > n:
        raise op_error(RuntimeError, "unfold", f"maximum size for tensor at dimension "
                       f"{dimension} is {n} but size is {size}", x)
    if step <= 0:
        raise op_error(RuntimeError, "unfold", f"step is {step} but must be > 0", x)
    if size < 0:
        raise op_error(RuntimeError, "unfold", f"size is {size} but must be >= 0", x)
    if not x.ndim:
        return (size,), x.dtype
    count = (n - size) // step + 1
    shape = x.shape
    return shape[:dimension] + (count,) + shape[dimension + 1:] + (size,), x.dtype


def _unfold_forward(xp: Any, x: Any, dimension: int, size: int, step: int) -> Any:
    if not x.ndim:
        return x.reshape(1)[:size]
    shape = _unfold_meta(x, dimension, size, step)[0]
    st = x.strides
    strides = st[:dimension] + (st[dimension] * step,) + st[dimension + 1:] + (st[dimension],)
    return xp.lib.stride_tricks.as_strided(x, shape, strides)


def _unfold_vjp(ctx: Any, g: Tensor) -> tuple:
    return (apply(UNFOLD_BACKWARD, g, shape=ctx.shapes[0], **ctx.attrs),)


UNFOLD = defop("unfold", _unfold_forward, _unfold_meta, _unfold_vjp, kind="view",
               save_inputs=False)


def _unfold_backward_forward(xp: Any, g: Any, shape: tuple, dimension: int, size: int,
                             step: int) -> Any:
    if not shape:
        return g.sum().reshape(()) if g.size else xp.zeros((), g.dtype)
    out = xp.zeros(shape, dtype=g.dtype)
    count = g.shape[dimension]
    lead = (slice(None),) * dimension
    for k in range(size):  # one strided add per window offset
        out[lead + (slice(k, k + step * (count - 1) + 1, step),)] += g[..., k]
    return out


def _unfold_backward_vjp(ctx: Any, g: Tensor) -> tuple:
    a = ctx.attrs
    return (apply(UNFOLD, g, dimension=a["dimension"], size=a["size"], step=a["step"]),)


UNFOLD_BACKWARD = defop("unfold_backward", _unfold_backward_forward,
                        lambda g, shape, dimension, size, step: (shape, g.dtype),
                        _unfold_backward_vjp, save_inputs=False, complex=True)


@tensor_method
def unfold(input: Tensor, dimension: int, size: int, step: int) -> Tensor:
    """A view of all windows of ``size`` elements, ``step`` apart, along ``dimension``; the
    windows become a new last dim."""
    x = require_tensor("unfold", input)
    d = wrap_dim("unfold", dimension, x.ndim)
    return apply(UNFOLD, x, dimension=d, size=int(size), step=int(step))


# ---------------------------------------------------------------- torch.* arrangements
@tensor_method
def ravel(input: Tensor) -> Tensor:
    """``input`` flattened to one dim (a view when possible)."""
    return reshape(require_tensor("ravel", input), -1)


@tensor_method
def tensor_split(input: Tensor, indices_or_sections: Any, dim: int = 0) -> tuple:
    """Views of ``input`` split along ``dim`` into ``n`` nearly equal parts (the first
    ``size % n`` one element longer) or at the given indices (as ``numpy.array_split``)."""
    x = require_tensor("tensor_split", input)
    d = wrap_dim("tensor_split", dim, x.ndim)
    n = x.shape[d]
    cut = indices_or_sections
    if isinstance(cut, Tensor):
        if cut.ndim > 1 or cut._data.dtype.kind not in "iu":
            raise op_error(RuntimeError, "tensor_split", "tensor_split expected "
                           "tensor_indices_or_sections to be a zero-dimensional or "
                           "one-dimensional tensor of integers, but got a tensor with "
                           f"{cut.ndim} dims of dtype {cut.dtype}", cut._data)
        cut = cut.tolist()
    if isinstance(cut, (int, np.integer)):
        parts = int(cut)
        if parts <= 0:
            raise op_error(RuntimeError, "tensor_split", "number of sections must be larger "
                           f"than 0, got {parts}")
        size, extra = divmod(n, parts)
        bounds = [i * size + builtins.min(i, extra) for i in range(parts + 1)]
    else:
        bounds = [0] + [builtins.min(builtins.max(int(i) + n if int(i) < 0 else int(i), 0), n)
                        for i in cut] + [n]
    return tuple(narrow(x, d, lo, builtins.max(hi - lo, 0))
                 for lo, hi in zip(bounds, bounds[1:]))


def _split_at(name: str, dim: int, least: int, input: Tensor, sections: Any) -> tuple:
    """hsplit/vsplit/dsplit: :func:`tensor_split`, whole sections dividing the dim evenly."""
    x = require_tensor(name, input)
    if x.ndim < least:
        raise op_error(RuntimeError, name, f"torch.{name} requires a tensor with at least "
                       f"{least} dimension, but got a tensor with {x.ndim} dimensions!", x._data)
    if isinstance(sections, (int, np.integer)) and (sections == 0
                                                    or x.shape[dim] % int(sections)):
        raise op_error(RuntimeError, name, f"torch.{name} attempted to split along dimension "
                       f"{dim}, but the size of the dimension {x.shape[dim]} is not divisible "
                       f"by the split_size {sections}!", x._data)
    return tensor_split(x, sections, dim)


@tensor_method
def hsplit(input: Tensor, sections: Any) -> tuple:
    """:func:`tensor_split` along dim 1 (dim 0 of a 1-d tensor); sections must divide it."""
    x = require_tensor("hsplit", input)
    return _split_at("hsplit", 1 if x.ndim > 1 else 0, 1, x, sections)


@tensor_method
def vsplit(input: Tensor, sections: Any) -> tuple:
    """:func:`tensor_split` along dim 0 of a tensor of 2 dims or more."""
    return _split_at("vsplit", 0, 2, input, sections)


@tensor_method
def dsplit(input: Tensor, sections: Any) -> tuple:
    """:func:`tensor_split` along dim 2 of a tensor of 3 dims or more."""
    return _split_at("dsplit", 2, 3, input, sections)


@tensor_method
def rot90(input: Tensor, k: int = 1, dims: Sequence[int] = (0, 1)) -> Tensor:
    """Rotate by 90 degrees ``k`` times in the plane of ``dims``, from the first dim toward
    the second."""
    x = require_tensor("rot90", input)
    dims = list(dims)
    if len(dims) != 2:
        raise op_error(RuntimeError, "rot90", f"expected total rotation dims == 2, but got "
                       f"dims = {len(dims)}")
    if x.ndim < 2:
        raise op_error(RuntimeError, "rot90", f"expected total dims >= 2, but got total dims = "
                       f"{x.ndim}", x._data)
    a, b = (wrap_dim("rot90", d, x.ndim) for d in dims)
    if a == b:
        raise op_error(RuntimeError, "rot90", f"expected rotation dims to be different, but got "
                       f"dim0 = {a} and dim1 = {b}")
    k = int(k) % 4
    if k == 1:
        return transpose(flip(x, b), a, b)
    if k == 2:
        return flip(x, a, b)
    if k == 3:
        return transpose(flip(x, a), a, b)
    return x.clone()


@tensor_method
def fliplr(input: Tensor) -> Tensor:
    """Reverse dim 1 (left to right) of a tensor of 2 dims or more."""
    x = require_tensor("fliplr", input)
    if x.ndim < 2:
        raise op_error(RuntimeError, "fliplr", "Input must be >= 2-d.", x._data)
    return flip(x, 1)


@tensor_method
def flipud(input: Tensor) -> Tensor:
    """Reverse dim 0 (up to down) of a tensor of 1 dim or more."""
    x = require_tensor("flipud", input)
    if x.ndim < 1:
        raise op_error(RuntimeError, "flipud", "Input must be >= 1-d.", x._data)
    return flip(x, 0)


def block_diag(*tensors: Tensor) -> Tensor:
    """The tensors (0-d, 1-d as a row, or 2-d) as blocks along the diagonal of one matrix,
    zeros elsewhere, in their promoted dtype."""
    blocks = []
    for i, t in enumerate(tensors):
        t = require_tensor("block_diag", t, f"tensors[{i}]")
        if t.ndim > 2:
            raise op_error(RuntimeError, "block_diag", f"Input tensors must have 2 or fewer "
                           f"dimensions. Input {i} has {t.ndim} dimensions", t._data)
        blocks.append(reshape(t, (1, 1) if t.ndim == 0 else (1, -1) if t.ndim == 1 else t.shape))
    if not blocks:
        return Tensor._wrap(np.zeros((1, 0), np.float32))
    dtype = promote("block_diag", *blocks)
    blocks = [cast(b, dtype) for b in blocks]
    width = builtins.sum(b.shape[1] for b in blocks)
    rows, left = [], 0
    for b in blocks:
        r, c = b.shape
        rows.append(cat([b.new_zeros((r, left)), b, b.new_zeros((r, width - left - c))], 1))
        left += c
    return cat(rows, 0)


def cartesian_prod(*tensors: Tensor) -> Tensor:
    """All tuples of one element of each 1-d tensor, as rows (the one tensor itself when there
    is only one)."""
    ts = [require_tensor("cartesian_prod", t, f"tensors[{i}]") for i, t in enumerate(tensors)]
    if any(t.ndim != 1 for t in ts):
        raise op_error(RuntimeError, "cartesian_prod", "Expect a 1D vector, but got shape "
                       f"{[list(t.shape) for t in ts]}")
    if len(ts) == 1:
        return ts[0]
    return stack([reshape(g, -1) for g in meshgrid(*ts, indexing="ij")], 1)


def combinations(input: Tensor, r: int = 2, with_replacement: bool = False) -> Tensor:
    """All length-``r`` combinations of the elements of a 1-d tensor, as rows, in
    lexicographic order of positions (``with_replacement``: repeats allowed)."""
    x = require_tensor("combinations", input)
    if x.ndim != 1:
        raise op_error(RuntimeError, "combinations", "Expect a 1D vector, but got shape "
                       f"{list(x.shape)}", x._data)
    if r < 0:
        raise op_error(RuntimeError, "combinations", f"Expect a non-negative number, but got {r}")
    if r == 0:
        return Tensor._wrap(np.zeros((0,), x._data.dtype), x._device)
    pick = (itertools.combinations_with_replacement if with_replacement
            else itertools.combinations)(range(x.shape[0]), r)
    index = np.array(list(pick), dtype=np.int64).reshape(-1, r)
    return x[Tensor._wrap(index, x._device)]


@tensor_method
def diagflat(input: Tensor, offset: int = 0) -> Tensor:
    """A square matrix with the flattened ``input`` on diagonal ``offset``."""
    return diag(reshape(require_tensor("diagflat", input), -1), offset)


@tensor_method
def diff(input: Tensor, n: int = 1, dim: int = -1, prepend: Optional[Tensor] = None,
         append: Optional[Tensor] = None) -> Tensor:
    """The ``n``-th forward difference along ``dim`` (``!=`` for booleans), after
    concatenating ``prepend`` and ``append`` there."""
    x = require_tensor("diff", input)
    if x.ndim == 0:
        raise op_error(RuntimeError, "diff", "diff expects input to be at least one-dimensional",
                       x._data)
    d = wrap_dim("diff", dim, x.ndim)
    parts = [require_tensor("diff", t, name) for t, name in ((prepend, "prepend"), (x, "input"),
                                                              (append, "append"))
             if t is not None]
    if any(p.ndim != x.ndim for p in parts):
        raise op_error(RuntimeError, "diff", "diff expects prepend or append to be the same "
                       "dimension as input", x._data)
    if len(parts) > 1:
        x = cat(parts, d)
    for _ in range(int(n)):
        m = x.shape[d]
        if m == 0:
            break
        hi, lo = narrow(x, d, 1, m - 1), narrow(x, d, 0, m - 1)
        x = hi != lo if x._data.dtype == np.bool_ else hi - lo
    return x
