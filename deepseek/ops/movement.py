"""Shape and layout primitives: views (reshape, permute, expand, as_strided), copies, joins."""

from __future__ import annotations

import builtins
from typing import Any, Optional, Sequence

import numpy as np

from .._errors import op_error
from ..autograd.grad_mode import STATE
from ..tensor import Tensor
from ._common import require_tensor, wrap_dim
from ._opdef import _record, apply, defop, tensor_method

_prod = np.prod


def _shape_arg(shape: tuple) -> tuple:
    """``f(2, 3)``, ``f((2, 3))`` and ``f([2, 3])`` all mean the shape (2, 3)."""
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
    known = int(_prod([s for s in shape if s != -1])) if shape else 1
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
def view(input: Tensor, *shape: Any) -> Tensor:
    """A view with a new shape (no copy; fails when the strides do not allow it)."""
    if len(shape) == 1 and not isinstance(shape[0], (int, np.integer, tuple, list)):
        from ..dtypes import to_dtype

        return _view_dtype(input, to_dtype(shape[0]))
    x = input
    s = infer_shape("view", _shape_arg(shape), x._data.size)
    if s == x._data.shape:
        return apply(VIEW, x, shape=s) if x._requires_grad else _alias(x)
    return apply(VIEW, x, shape=s)


def _alias(x: Tensor) -> Tensor:
    out = apply(VIEW, x, shape=x._data.shape)
    return out


def _view_dtype(x: Tensor, dtype: Any) -> Tensor:
    out = Tensor._wrap(x._data.view(dtype.np), x._device)
    out._base = x if x._base is None else x._base
    out._version_box = x._version_box
    return out


@tensor_method
def reshape(input: Tensor, *shape: Any) -> Tensor:
    """A tensor with the same data and a new shape: a view when possible, else a copy."""
    x = require_tensor("reshape", input)
    s = infer_shape("reshape", _shape_arg(shape), x._data.size)
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
def permute(input: Tensor, *dims: Any) -> Tensor:
    """A view with dims reordered."""
    x = require_tensor("permute", input)
    dims = _shape_arg(dims)
    if len(dims) != x.ndim:
        raise op_error(RuntimeError, "permute", f"number of dims don't match in permute: got "
                       f"{len(dims)} dims for a {x.ndim}-d input", x._data)
    return apply(PERMUTE, x, dims=tuple(wrap_dim("permute", d, x.ndim) for d in dims))


@tensor_method
def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """A view with ``dim0`` and ``dim1`` swapped."""
    x = require_tensor("transpose", input)
    if x.ndim == 0:
        return x
    a, b = wrap_dim("transpose", dim0, x.ndim), wrap_dim("transpose", dim1, x.ndim)
    dims = list(range(x.ndim))
    dims[a], dims[b] = b, a
    return apply(PERMUTE, x, dims=tuple(dims))


swapaxes = swapdims = transpose
tensor_method(swapaxes, name="swapaxes")
tensor_method(swapdims, name="swapdims")


@tensor_method
def t(input: Tensor) -> Tensor:
    """Transpose of a tensor of at most 2 dims."""
    if input.ndim > 2:
        raise op_error(RuntimeError, "t", f"t() expects a tensor with <= 2 dimensions, but self is "
                       f"{input.ndim}D", input._data)
    return transpose(input, 0, -1) if input.ndim == 2 else input


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
                           f"({shape[off + i]}) must match the existing size ({n}) at non-singleton "
                           f"dimension {off + i}.  Target sizes: {list(shape)}.  Tensor sizes: "
                           f"{list(x.shape)}", x)
    return shape, x.dtype


EXPAND = defop("expand", lambda xp, x, shape: xp.broadcast_to(x, shape), _expand_meta,
               lambda c, g: (g,), kind="view", save_inputs=False)


@tensor_method
def expand(input: Tensor, *sizes: Any) -> Tensor:
    """A broadcast view to ``sizes`` (``-1`` keeps a dim)."""
    x = require_tensor("expand", input)
    sizes = _shape_arg(sizes)
    off = len(sizes) - x.ndim
    shape = tuple(x.shape[i - off] if s == -1 and i >= off else s for i, s in enumerate(sizes))
    if shape == x.shape:
        return x
    return apply(EXPAND, x, shape=shape)


@tensor_method
def expand_as(input: Tensor, other: Tensor) -> Tensor:
    return expand(input, other.shape)


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
    zeros = g.new_zeros(ctx.shapes[0])
    a = ctx.attrs
    return (apply(AS_STRIDED_SCATTER, zeros, g, size=a["size"], stride=a["stride"],
                  offset=a["offset"]),)


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
    _as_strided_scatter_vjp, save_inputs=False)


@tensor_method
def as_strided(input: Tensor, size: Sequence[int], stride: Sequence[int],
               storage_offset: int = 0) -> Tensor:
    """A view with explicit sizes and strides (in elements) over ``input``'s contiguous data."""
    return apply(AS_STRIDED, require_tensor("as_strided", input), size=tuple(size),
                 stride=tuple(stride), offset=int(storage_offset))


def inplace_on_view(op: Any, target: Tensor, args: tuple, attrs: dict) -> Tensor:
    """An in-place op on a view that autograd must see: the base's history gains a scatter of
    the view's new value, and the view becomes a fresh view of the updated base."""
    base = target._base
    if base.grad_fn is None and base._requires_grad:
        raise RuntimeError("a view of a leaf Variable that requires grad is being used in an "
                           "in-place operation.")
    bdata = base._data
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
              save_inputs=False)


@tensor_method
def clone(input: Tensor, *, memory_format: Any = None) -> Tensor:
    """A copy with its own (contiguous) storage, differentiable."""
    return apply(CLONE, require_tensor("clone", input))


@tensor_method
def contiguous(input: Tensor, memory_format: Any = None) -> Tensor:
    """``input`` itself when C-contiguous, else a contiguous copy."""
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
    return xp.concatenate(keep, axis=dim)


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


CAT = defop("cat", _cat_forward, _cat_meta, _cat_vjp, amp="promote", save_inputs=False)


def cat(tensors: Sequence[Tensor], dim: int = 0, *, out: Optional[Tensor] = None) -> Tensor:
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
            raise op_error(RuntimeError, "stack", f"stack expects each tensor to be equal size, but "
                           f"got {list(shape)} at entry 0 and {list(t.shape)} at another entry",
                           *[x._data for x in tensors])
    d = wrap_dim("stack", dim, len(shape) + 1)
    return cat([unsqueeze(t, d) for t in tensors], d)


def hstack(tensors: Sequence[Tensor]) -> Tensor:
    return cat(tensors, 0 if tensors[0].ndim == 1 else 1)


def vstack(tensors: Sequence[Tensor]) -> Tensor:
    return cat([t.reshape(1, -1) if t.ndim < 2 else t for t in tensors], 0)


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
def split(tensor: Tensor, split_size_or_sections: Any, dim: int = 0) -> tuple:
    """Views of consecutive chunks of ``split_size_or_sections`` along ``dim``."""
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


@tensor_method
def unbind(input: Tensor, dim: int = 0) -> tuple:
    """The slices along ``dim``, with that dim removed."""
    x = require_tensor("unbind", input)
    d = wrap_dim("unbind", dim, x.ndim)
    key = (slice(None),) * d
    return tuple(x[key + (i,)] for i in range(x.shape[d]))


def _flip_vjp(ctx: Any, g: Tensor) -> tuple:
    return (g.flip(ctx.attrs["dims"]),)


FLIP = defop("flip", lambda xp, x, dims: xp.flip(x, dims).copy(), lambda x, dims: (x.shape, x.dtype),
             _flip_vjp, save_inputs=False)


@tensor_method
def flip(input: Tensor, *dims: Any) -> Tensor:
    """Reverse the order of elements along ``dims`` (a copy, as in PyTorch)."""
    x = require_tensor("flip", input)
    dims = _shape_arg(dims) if dims else ()
    return apply(FLIP, x, dims=tuple(wrap_dim("flip", d, x.ndim) for d in dims))
