"""The one table from deepseek op names (PyTorch's aten names) to ONNX translations.

A translation ``fn(ctx, node) -> name`` emits ONNX nodes for one IR node and returns the name
of its result; a translation that changes the shape also sets the output's symbolic dims
(``ctx.set_dims``), others get the broadcast of their operands' dims.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from ._export import Context, UnsupportedOperatorError, plane
from ._symbolic import Sym, broadcast_dims, product, reshape_dims

__all__ = ["TRANSLATIONS"]

_INT64_MAX = np.iinfo(np.int64).max
_INT64_MIN = np.iinfo(np.int64).min


def _refuse(node: Any, why: str) -> UnsupportedOperatorError:
    return UnsupportedOperatorError(f"[ds.onnx.export] op '{node.op.name}': {why}")


# ---------------------------------------------------------------- elementwise
def _compute_dtype(node: Any) -> np.dtype:
    """The dtype ONNX operands must share: the inputs' promotion, constants not deciding
    (as Python scalars do not)."""
    tensors = [v.dtype for v in node.inputs if v.kind != "const" or v.shape != ()]
    return np.result_type(*(tensors or [v.dtype for v in node.inputs]))


def _same(op_type: str, **attrs: Any) -> Callable:
    """An ONNX op of the same meaning, its operands cast to the output dtype."""

    def translate(ctx: Context, node: Any) -> str:
        ins = [ctx.input(v, node.out.dtype) for v in node.inputs]
        return ctx.emit(op_type, ins, **attrs)

    return translate


def _compare(op_type: str, negate: bool = False) -> Callable:
    def translate(ctx: Context, node: Any) -> str:
        dtype = _compute_dtype(node)
        out = ctx.emit(op_type, [ctx.input(v, dtype) for v in node.inputs])
        return ctx.emit("Not", [out]) if negate else out

    return translate


def _x(ctx: Context, node: Any) -> str:
    return ctx.input(node.inputs[0], node.out.dtype)


def _k(ctx: Context, node: Any, value: float) -> str:
    return ctx.scalar(value, node.out.dtype)


def _rsqrt(ctx: Context, node: Any) -> str:
    return ctx.emit("Reciprocal", [ctx.emit("Sqrt", [_x(ctx, node)])])


def _square(ctx: Context, node: Any) -> str:
    x = _x(ctx, node)
    return ctx.emit("Mul", [x, x])


def _log_base(base: float) -> Callable:
    def translate(ctx: Context, node: Any) -> str:
        return ctx.emit("Div", [ctx.emit("Log", [_x(ctx, node)]), _k(ctx, node, math.log(base))])

    return translate


def _log1p(ctx: Context, node: Any) -> str:
    return ctx.emit("Log", [ctx.emit("Add", [_x(ctx, node), _k(ctx, node, 1.0)])])


def _expm1(ctx: Context, node: Any) -> str:
    return ctx.emit("Sub", [ctx.emit("Exp", [_x(ctx, node)]), _k(ctx, node, 1.0)])


def _remainder(ctx: Context, node: Any) -> str:
    a, b = (ctx.input(v, node.out.dtype) for v in node.inputs)
    if node.out.dtype.kind in "iu":
        return ctx.emit("Mod", [a, b], fmod=0)
    # Python's sign convention (the divisor's): a - floor(a / b) * b
    q = ctx.emit("Floor", [ctx.emit("Div", [a, b])])
    return ctx.emit("Sub", [a, ctx.emit("Mul", [q, b])])


def _fmod(ctx: Context, node: Any) -> str:
    a, b = (ctx.input(v, node.out.dtype) for v in node.inputs)
    return ctx.emit("Mod", [a, b], fmod=1 if node.out.dtype.kind == "f" else 0)


def _clamp(ctx: Context, node: Any) -> str:
    out = _x(ctx, node)
    for bound, op_type, skip in ((1, "Max", -math.inf), (2, "Min", math.inf)):
        v = node.inputs[bound] if len(node.inputs) > bound else None
        if v is None or (v.kind == "const" and v.shape == () and
                         (np.asarray(v.ref) == skip or np.isnan(np.asarray(v.ref, float)))):
            continue
        out = ctx.emit(op_type, [out, ctx.input(v, node.out.dtype)])
    return out


def _where(ctx: Context, node: Any) -> str:
    cond, a, b = node.inputs
    return ctx.emit("Where", [ctx.input(cond, np.bool_), ctx.input(a, node.out.dtype),
                              ctx.input(b, node.out.dtype)])


def _cast(ctx: Context, node: Any) -> str:
    return ctx.cast(ctx.name(node.inputs[0]), node.out.dtype)


def _identity(ctx: Context, node: Any) -> str:
    return ctx.name(node.inputs[0])  # values are never aliased in ONNX: a copy is a rename


# ---------------------------------------------------------------- activations
def _leaky_relu(ctx: Context, node: Any) -> str:
    return ctx.emit("LeakyRelu", [_x(ctx, node)], alpha=float(node.attrs["negative_slope"]))


def _elu(ctx: Context, node: Any) -> str:
    a = node.attrs
    x = _x(ctx, node)
    if a.get("input_scale", 1.0) != 1.0:
        x = ctx.emit("Mul", [x, _k(ctx, node, a["input_scale"])])
    out = ctx.emit("Elu", [x], alpha=float(a.get("alpha", 1.0)))
    if a.get("scale", 1.0) != 1.0:
        out = ctx.emit("Mul", [out, _k(ctx, node, a["scale"])])
    return out


def _gelu(ctx: Context, node: Any) -> str:
    x = _x(ctx, node)
    if node.attrs.get("approximate", "none") == "tanh":
        cube = ctx.emit("Mul", [ctx.emit("Mul", [x, x]), x])
        inner = ctx.emit("Add", [x, ctx.emit("Mul", [cube, _k(ctx, node, 0.044715)])])
        inner = ctx.emit("Mul", [inner, _k(ctx, node, math.sqrt(2.0 / math.pi))])
        gate = ctx.emit("Tanh", [inner])
    else:
        gate = ctx.emit("Erf", [ctx.emit("Mul", [x, _k(ctx, node, 1.0 / math.sqrt(2.0))])])
    half = ctx.emit("Mul", [x, _k(ctx, node, 0.5)])
    return ctx.emit("Mul", [half, ctx.emit("Add", [gate, _k(ctx, node, 1.0)])])


def _silu(ctx: Context, node: Any) -> str:
    x = _x(ctx, node)
    return ctx.emit("Mul", [x, ctx.emit("Sigmoid", [x])])


def _softplus(ctx: Context, node: Any) -> str:
    x = _x(ctx, node)
    beta, threshold = float(node.attrs["beta"]), float(node.attrs["threshold"])
    scaled = ctx.emit("Mul", [x, _k(ctx, node, beta)]) if beta != 1.0 else x
    soft = ctx.emit("Softplus", [scaled])
    if beta != 1.0:
        soft = ctx.emit("Div", [soft, _k(ctx, node, beta)])
    linear = ctx.emit("Greater", [scaled, _k(ctx, node, threshold)])
    return ctx.emit("Where", [linear, x, soft])


def _mish(ctx: Context, node: Any) -> str:
    x = _x(ctx, node)
    return ctx.emit("Mul", [x, ctx.emit("Tanh", [ctx.emit("Softplus", [x])])])


def _log_sigmoid(ctx: Context, node: Any) -> str:
    return ctx.emit("Neg", [ctx.emit("Softplus", [ctx.emit("Neg", [_x(ctx, node)])])])


def _hardtanh(ctx: Context, node: Any) -> str:
    lo, hi = node.attrs["min_val"], node.attrs["max_val"]
    return ctx.emit("Clip", [_x(ctx, node), _k(ctx, node, lo), _k(ctx, node, hi)])


def _hardsigmoid(ctx: Context, node: Any) -> str:
    return ctx.emit("HardSigmoid", [_x(ctx, node)], alpha=1.0 / 6.0, beta=0.5)


def _hardswish(ctx: Context, node: Any) -> str:
    x = _x(ctx, node)
    return ctx.emit("Mul", [x, ctx.emit("HardSigmoid", [x], alpha=1.0 / 6.0, beta=0.5)])


def _softmax(op_type: str) -> Callable:
    def translate(ctx: Context, node: Any) -> str:
        return ctx.emit(op_type, [_x(ctx, node)], axis=int(node.attrs["dim"]))

    return translate


# ---------------------------------------------------------------- reductions
def _reduce(op_type: str) -> Callable:
    def translate(ctx: Context, node: Any) -> str:
        x, keep = node.inputs[0], bool(node.attrs.get("keepdim", False))
        axes = _axes(node, x)
        # sum and prod of bools/ints accumulate in the output dtype (int64)
        out = ctx.reduce(op_type, ctx.input(x, node.out.dtype), axes, keep)
        ctx.set_dims(node.out, _reduced(ctx.dims_of(x), axes, keep))
        return out

    return translate


def _axes(node: Any, x: Any) -> list:
    dims = node.attrs.get("dims")
    if dims is None or dims == ():
        return list(range(len(x.shape)))
    return [d % max(len(x.shape), 1) for d in dims]


def _reduced(dims: tuple, axes: list, keep: bool) -> tuple:
    if keep:
        return tuple(1 if i in axes else d for i, d in enumerate(dims))
    return tuple(d for i, d in enumerate(dims) if i not in axes)


def _var(ctx: Context, node: Any) -> str:
    x, keep = node.inputs[0], bool(node.attrs.get("keepdim", False))
    axes = _axes(node, x)
    xs = _x(ctx, node)
    count = [ctx.dims_of(x)[a] for a in axes]
    if any(isinstance(d, Sym) for d in count):
        raise _refuse(node, "the variance over a dynamic axis is not exportable yet")
    mean = ctx.reduce("ReduceMean", xs, axes, True)
    diff = ctx.emit("Sub", [xs, mean])
    total = ctx.reduce("ReduceSum", ctx.emit("Mul", [diff, diff]), axes, keep)
    n = max(math.prod(count) - node.attrs.get("correction", 1), 0)
    ctx.set_dims(node.out, _reduced(ctx.dims_of(x), axes, keep))
    return ctx.emit("Div", [total, _k(ctx, node, n)])


def _arg(op_type: str) -> Callable:
    def translate(ctx: Context, node: Any) -> str:
        x, dim, keep = node.inputs[0], node.attrs.get("dim"), bool(node.attrs.get("keepdim"))
        name, dims = ctx.name(x), ctx.dims_of(x)
        if dim is None:  # over the flattened tensor
            name, dims, dim = ctx.emit("Reshape", [name, ctx.ints([-1])]), (product(dims),), 0
        dim %= max(len(dims), 1)
        ctx.set_dims(node.out, _reduced(dims, [dim], keep) if dims else ())
        return ctx.emit(op_type, [name], axis=dim, keepdims=int(keep))

    return translate


# ---------------------------------------------------------------- shapes and views
def _view(ctx: Context, node: Any) -> str:
    x = node.inputs[0]
    shape = tuple(node.out.shape)
    if ctx.dynamic(x):
        try:
            dims = reshape_dims(ctx.dims_of(x), shape, ctx.values)
        except ValueError as e:
            raise _refuse(node, f"with dynamic_axes, reshaping {list(x.shape)} to "
                                f"{list(shape)}: {e}") from None
    else:
        dims = shape
    ctx.set_dims(node.out, dims)
    if tuple(dims) == tuple(ctx.dims_of(x)):  # a no-op view (Linear's flattening of 2-D input)
        return ctx.name(x)
    return ctx.emit("Reshape", [ctx.name(x), ctx.shape_input(dims)])


def _permute(ctx: Context, node: Any) -> str:
    x = node.inputs[0]
    perm = [d % len(x.shape) for d in node.attrs["dims"]]
    dims = ctx.dims_of(x)
    ctx.set_dims(node.out, [dims[p] for p in perm])
    return ctx.emit("Transpose", [ctx.name(x)], perm=perm)


def _expand(ctx: Context, node: Any) -> str:
    x = node.inputs[0]
    shape, dims = tuple(node.attrs["shape"]), ctx.dims_of(x)
    lead = len(shape) - len(dims)
    target, out = [], []
    for i, n in enumerate(shape):
        j = i - lead
        if j >= 0 and (n == -1 or n == x.shape[j]):  # kept: 1 lets a dynamic dim through
            target.append(1)
            out.append(dims[j])
        else:
            target.append(n)
            out.append(n)
    ctx.set_dims(node.out, out)
    return ctx.emit("Expand", [ctx.name(x), ctx.ints(target)])


def _select(ctx: Context, node: Any) -> str:
    """Basic indexing: one Slice, then Squeeze for ints, then Unsqueeze for Nones."""
    x = node.inputs[0]
    key = node.attrs["key"]
    key = key if isinstance(key, tuple) else (key,)
    real = sum(1 for k in key if k is not None and k is not Ellipsis)
    if any(k is Ellipsis for k in key):
        at = key.index(Ellipsis)
        key = key[:at] + (slice(None),) * (len(x.shape) - real) + key[at + 1:]
    else:
        key = key + (slice(None),) * (len(x.shape) - real)
    dims = list(ctx.dims_of(x))
    starts, ends, axes, steps, squeeze, fresh = [], [], [], [], [], []
    out_dims: list = []
    new_axes, axis = [], 0
    for k in key:
        if k is None:
            new_axes.append(len(out_dims))
            out_dims.append(1)
            continue
        n, d = x.shape[axis], dims[axis]
        if isinstance(k, slice):
            if k == slice(None) or (k.step in (None, 1) and k.start in (None, 0)
                                    and k.stop is not None and k.stop >= n and
                                    not isinstance(d, Sym)):
                out_dims.append(d)
                axis += 1
                continue
            if isinstance(d, Sym):
                step = k.step or 1
                start = k.start if k.start is not None else (0 if step > 0 else -1)
                stop = k.stop if k.stop is not None else (
                    _INT64_MAX if step > 0 else _INT64_MIN)
                fresh.append(len(out_dims))
                out_dims.append(len(range(*k.indices(n))))
            else:
                start, stop, step = k.indices(n)
                out_dims.append(len(range(start, stop, step)))
                if step < 0 and stop < 0:  # past the front: -1 would mean the last element
                    stop = _INT64_MIN
            starts.append(start)
            ends.append(stop)
            axes.append(axis)
            steps.append(step)
        else:
            k = int(k)
            if isinstance(d, Sym) and k != 0:
                # the tracer records x[:, -1] as x[:, n - 1]: the sign is lost
                raise _refuse(node, f"integer index {k} into dynamic dim {axis} (size "
                                    f"{d!r}): the trace cannot tell x[:, -1] from x[:, {k}]; "
                                    "use a slice (x[:, -1:].squeeze(1)) instead")
            k %= n
            starts.append(k)
            ends.append(k + 1)
            axes.append(axis)
            steps.append(1)
            squeeze.append(axis)
        axis += 1
    out = ctx.name(x)
    if axes:
        out = ctx.emit("Slice", [out, ctx.ints(starts), ctx.ints(ends), ctx.ints(axes),
                                 ctx.ints(steps)])
    if squeeze:
        out = ctx.squeeze(out, squeeze)
    if new_axes:
        out = ctx.unsqueeze(out, new_axes)
    ctx.set_dims(node.out, out_dims)
    if fresh:
        ctx.set_dims(node.out, ctx.fresh_dims(out, node.out, fresh))
    return out


def _index(ctx: Context, node: Any) -> str:
    """Advanced indexing by one integer tensor at one position (``x[:, idx]``)."""
    from ..jit.ir import Slot

    x, key = node.inputs[0], node.attrs["key"]
    key = key if isinstance(key, tuple) else (key,)
    arrays = [i for i, k in enumerate(key) if isinstance(k, (Slot, np.ndarray))]
    plain = all(k == slice(None) for i, k in enumerate(key) if i not in arrays)
    if len(arrays) != 1 or not plain:
        raise _refuse(node, "only indexing by one integer tensor (x[idx], x[:, idx]) is "
                            "exportable yet")
    axis = arrays[0]
    k = key[axis]
    if isinstance(k, Slot):
        index = node.inputs[k.index]
        name, idims = ctx.input(index, np.int64), ctx.dims_of(index)
    else:
        if k.dtype == np.bool_:
            raise _refuse(node, "indexing with a boolean mask is not exportable")
        name, idims = ctx.const(k.astype(np.int64)), k.shape
    dims = ctx.dims_of(x)
    ctx.set_dims(node.out, dims[:axis] + tuple(idims) + dims[axis + 1:])
    return ctx.emit("Gather", [ctx.name(x), name], axis=axis)


def _cat(ctx: Context, node: Any) -> str:
    dim = node.attrs["dim"] % len(node.out.shape)
    out = ctx.emit("Concat", [ctx.input(v, node.out.dtype) for v in node.inputs], axis=dim)
    parts = [ctx.dims_of(v) for v in node.inputs if len(v.shape) == len(node.out.shape)]
    dims = list(broadcast_dims(node.out.shape, parts))
    dims[dim] = node.out.shape[dim]
    ctx.set_dims(node.out, dims)
    if any(isinstance(p[dim], Sym) for p in parts):
        ctx.set_dims(node.out, ctx.fresh_dims(out, node.out, [dim]))
    return out


def _constant_pad(ctx: Context, node: Any) -> str:
    x = node.inputs[0]
    pads = node.attrs["pads"]
    rank, lead = len(x.shape), len(x.shape) - len(pads)
    begins = [0] * lead + [lo for lo, _ in pads]
    ends = [0] * lead + [hi for _, hi in pads]
    value = ctx.scalar(node.attrs.get("value", 0) or 0, node.out.dtype)
    out = ctx.emit("Pad", [_x(ctx, node), ctx.ints(begins + ends), value], mode="constant")
    dims = list(ctx.dims_of(x))
    moved = [lead + i for i, (lo, hi) in enumerate(pads) if lo or hi]
    for i in moved:
        if not isinstance(dims[i], Sym):
            dims[i] = node.out.shape[i]
    ctx.set_dims(node.out, dims[:rank])
    if any(isinstance(dims[i], Sym) for i in moved):
        ctx.set_dims(node.out, ctx.fresh_dims(out, node.out,
                                              [i for i in moved if isinstance(dims[i], Sym)]))
    return out


def _tri(upper: int) -> Callable:
    def translate(ctx: Context, node: Any) -> str:
        if ctx.opset < 14:
            raise _refuse(node, "ONNX has Trilu from opset 14: export with opset_version=14 "
                                "or later")
        k = ctx.const(np.asarray(node.attrs.get("diagonal", 0), np.int64))
        return ctx.emit("Trilu", [ctx.name(node.inputs[0]), k], upper=upper)

    return translate


# ---------------------------------------------------------------- linear algebra
def _matmul(ctx: Context, node: Any) -> str:
    a, b = node.inputs
    out = ctx.emit("MatMul", [ctx.input(a, node.out.dtype), ctx.input(b, node.out.dtype)])
    da, db = ctx.dims_of(a), ctx.dims_of(b)
    tail = ((da[-2],) if len(da) > 1 else ()) + ((db[-1],) if len(db) > 1 else ())
    batch_shape = node.out.shape[:len(node.out.shape) - len(tail)]
    batch = broadcast_dims(batch_shape, [da[:-2], db[:-2]])
    ctx.set_dims(node.out, batch + tail)
    return out


def _sdpa(ctx: Context, node: Any) -> str:
    q, k, v, bias, drop = node.inputs
    if drop.shape != ():
        raise _refuse(node, "attention dropout is not exportable: call model.eval() first")
    dtype = node.out.dtype
    perm = list(range(len(k.shape)))
    perm[-2], perm[-1] = perm[-1], perm[-2]
    kt = ctx.emit("Transpose", [ctx.input(k, dtype)], perm=perm)
    scores = ctx.emit("MatMul", [ctx.input(q, dtype), kt])
    scores = ctx.emit("Mul", [scores, _k(ctx, node, node.attrs["scale"])])
    if not (bias.kind == "const" and not np.any(np.asarray(bias.ref))):
        scores = ctx.emit("Add", [scores, ctx.input(bias, dtype)])
    weights = ctx.emit("Softmax", [scores], axis=-1)
    dq, dv = ctx.dims_of(q), ctx.dims_of(v)
    ctx.set_dims(node.out, broadcast_dims(node.out.shape, [dq[:-1] + (dv[-1],)]))
    return ctx.emit("MatMul", [weights, ctx.input(v, dtype)])


def _embedding(ctx: Context, node: Any) -> str:
    weight, index = node.inputs
    ctx.set_dims(node.out, ctx.dims_of(index) + ctx.dims_of(weight)[1:])
    return ctx.emit("Gather", [ctx.name(weight), ctx.input(index, np.int64)], axis=0)


def _gather(ctx: Context, node: Any) -> str:
    x, index = node.inputs
    dim = node.attrs["dim"] % max(len(x.shape), 1)
    ctx.set_dims(node.out, ctx.dims_of(index))
    pooled = _pooled_values(ctx, x, index, dim)
    if pooled is not None:  # max pooling's values: MaxPool's own output, not a gather
        return ctx.emit("Reshape", [pooled, ctx.shape_input(ctx.dims_of(index))])
    return ctx.emit("GatherElements", [ctx.name(x), ctx.input(index, np.int64)], axis=dim)


def _pooled_values(ctx: Context, x: Any, index: Any, dim: int) -> Any:
    """When ``gather(x, index)`` reads a max pool's values at its own indices, the name of
    the pool's values (``x`` and ``index`` are views of its input and indices)."""
    def through_views(v: Any) -> Any:
        while v.id in ctx.producers and ctx.producers[v.id].op.name == "view":
            v = ctx.producers[v.id].inputs[0]
        return v

    source = through_views(index)
    note = ctx.notes.get(source.id)
    if note is None or dim != len(x.shape) - 1 or through_views(x).id != note[0]:
        return None
    if len(x.shape) != len(source.shape) - len(note[2]) + 1:
        return None
    return note[1]


# ---------------------------------------------------------------- convolution and pooling
def _spatial_dims(ctx: Context, node: Any, x: Any, out: str, channels: Any, d: int) -> None:
    """Output dims (N, C, *spatial): batch kept, spatial new symbols where the input's are."""
    dims = ctx.dims_of(x)
    lead = tuple(dims[:len(dims) - d - 1])
    spatial = tuple(node.out.shape[len(node.out.shape) - d:])
    ctx.set_dims(node.out, lead + (channels,) + spatial)
    moved = [len(lead) + 1 + i for i in range(d) if isinstance(dims[len(lead) + 1 + i], Sym)]
    if moved:
        ctx.set_dims(node.out, ctx.fresh_dims(out, node.out, moved))


def _conv(ctx: Context, node: Any) -> str:
    x, w = node.inputs[0], node.inputs[1]
    a = node.attrs
    d = len(w.shape) - 2
    if len(x.shape) != d + 2:
        raise _refuse(node, f"expected a batched input of {d + 2} dims, got {list(x.shape)}")
    padding = [p if isinstance(p, (tuple, list)) else (p, p) for p in a["padding"]]
    pads = [int(lo) for lo, _ in padding] + [int(hi) for _, hi in padding]
    ins = [ctx.input(x, node.out.dtype), ctx.input(w, node.out.dtype)]
    if len(node.inputs) > 2:
        ins.append(ctx.input(node.inputs[2], node.out.dtype))
    out = ctx.emit("Conv", ins, strides=list(a["stride"]), pads=pads,
                   dilations=list(a["dilation"]), group=int(a["groups"]),
                   kernel_shape=list(w.shape[2:]))
    activation = a.get("activation")
    if activation is not None:
        if activation != "relu":
            raise _refuse(node, f"a fused {activation!r} activation is not exportable yet")
        out = ctx.emit("Relu", [out])
    _spatial_dims(ctx, node, x, out, w.shape[0], d)
    return out


def _pool_pads(x: Any, a: dict, kernel: tuple, dilation: tuple) -> tuple:
    """ONNX pads and ceil_mode giving the traced output size ``a["out"]``."""
    size = x.shape[len(x.shape) - len(kernel):]
    padding = [p if isinstance(p, (tuple, list)) else (p, p) for p in a["padding"]]
    ceil = 0
    for n, k, s, (lo, hi), dl, o in zip(size, kernel, a["stride"], padding, dilation, a["out"]):
        if (n + lo + hi - dl * (k - 1) - 1) // s + 1 != o:
            ceil = 1
    pads = [int(lo) for lo, _ in padding] + [int(hi) for _, hi in padding]
    return pads, ceil


def _avg_pool(ctx: Context, node: Any) -> str:
    x, a = node.inputs[0], node.attrs
    kernel = tuple(a["kernel"])
    d = len(kernel)
    if len(x.shape) != d + 2:
        raise _refuse(node, f"expected a batched input of {d + 2} dims, got {list(x.shape)}")
    pads, ceil = _pool_pads(x, a, kernel, (1,) * d)
    divisor = a.get("divisor_override")
    out = ctx.emit("AveragePool", [_x(ctx, node)], kernel_shape=list(kernel),
                   strides=list(a["stride"]), pads=pads, ceil_mode=ceil,
                   count_include_pad=int(bool(a["count_include_pad"]) or divisor is not None))
    if divisor is not None:
        out = ctx.emit("Mul", [out, _k(ctx, node, math.prod(kernel) / divisor)])
    _spatial_dims(ctx, node, x, out, ctx.dims_of(x)[1], d)
    return out


def _max_pool_indices(ctx: Context, node: Any) -> str:
    """MaxPool's values (kept for the gather that reads them) and its indices, made
    per-plane as deepseek's are (ONNX's count over the whole tensor)."""
    x, a = node.inputs[0], node.attrs
    kernel = tuple(a["kernel"])
    d = len(kernel)
    if len(x.shape) != d + 2:
        raise _refuse(node, f"expected a batched input of {d + 2} dims, got {list(x.shape)}")
    dilation = tuple(a.get("dilation", (1,) * d))
    pads, ceil = _pool_pads(x, a, kernel, dilation)
    values, flat = ctx.emit("MaxPool", [ctx.name(x)], outputs=2, kernel_shape=list(kernel),
                            strides=list(a["stride"]), pads=pads, ceil_mode=ceil,
                            dilations=list(dilation))
    ctx.notes[node.out.id] = (x.id, values, kernel)
    size = plane(ctx, ctx.dims_of(x)[2:])
    size = ctx.const(np.asarray([size], np.int64)) if isinstance(size, int) else size
    out = ctx.emit("Mod", [flat, size])
    _spatial_dims(ctx, node, x, out, ctx.dims_of(x)[1], d)
    return out


# ---------------------------------------------------------------- normalization
def _layer_norm(ctx: Context, node: Any) -> str:
    x = node.inputs[0]
    axes = [d % len(x.shape) for d in node.attrs["dims"]]
    eps = float(node.attrs["eps"])
    dtype = node.out.dtype
    shape = x.shape[axes[0]:]
    weight = (ctx.input(node.inputs[1], dtype) if len(node.inputs) > 1
              else ctx.const(np.ones(shape, dtype)))
    bias = (ctx.input(node.inputs[2], dtype) if len(node.inputs) > 2
            else ctx.const(np.zeros(shape, dtype)))
    xs = _x(ctx, node)
    if ctx.opset >= 17:
        return ctx.emit("LayerNormalization", [xs, weight, bias], axis=axes[0], epsilon=eps)
    centered = ctx.emit("Sub", [xs, ctx.reduce("ReduceMean", xs, axes, True)])
    var = ctx.reduce("ReduceMean", ctx.emit("Mul", [centered, centered]), axes, True)
    std = ctx.emit("Sqrt", [ctx.emit("Add", [var, _k(ctx, node, eps)])])
    normed = ctx.emit("Div", [centered, std])
    return ctx.emit("Add", [ctx.emit("Mul", [normed, weight]), bias])


TRANSLATIONS: dict = {
    # arithmetic
    "add": _same("Add"), "sub": _same("Sub"), "mul": _same("Mul"), "div": _same("Div"),
    "pow": _same("Pow"), "neg": _same("Neg"), "maximum": _same("Max"),
    "minimum": _same("Min"), "remainder": _remainder, "fmod": _fmod, "clamp": _clamp,
    "where": _where, "square": _square, "_to_copy": _cast, "clone": _identity,
    # unary math
    "abs": _same("Abs"), "exp": _same("Exp"), "log": _same("Log"), "sqrt": _same("Sqrt"),
    "rsqrt": _rsqrt, "reciprocal": _same("Reciprocal"), "sin": _same("Sin"),
    "cos": _same("Cos"), "tan": _same("Tan"), "asin": _same("Asin"), "acos": _same("Acos"),
    "atan": _same("Atan"), "sinh": _same("Sinh"), "cosh": _same("Cosh"),
    "asinh": _same("Asinh"), "tanh": _same("Tanh"), "erf": _same("Erf"),
    "floor": _same("Floor"), "ceil": _same("Ceil"), "round": _same("Round"),
    "sign": _same("Sign"), "log2": _log_base(2.0), "log10": _log_base(10.0),
    "log1p": _log1p, "expm1": _expm1,
    # comparisons and logic
    "eq": _compare("Equal"), "ne": _compare("Equal", negate=True), "lt": _compare("Less"),
    "le": _compare("LessOrEqual"), "gt": _compare("Greater"),
    "ge": _compare("GreaterOrEqual"), "logical_not": _same("Not"),
    "logical_and": _same("And"), "logical_or": _same("Or"), "logical_xor": _same("Xor"),
    "isnan": _compare("IsNaN"),
    # activations
    "relu": _same("Relu"), "sigmoid": _same("Sigmoid"), "leaky_relu": _leaky_relu,
    "elu": _elu, "gelu": _gelu, "silu": _silu, "softplus": _softplus, "mish": _mish,
    "log_sigmoid": _log_sigmoid, "hardtanh": _hardtanh, "hardsigmoid": _hardsigmoid,
    "hardswish": _hardswish, "_softmax": _softmax("Softmax"),
    "_log_softmax": _softmax("LogSoftmax"),
    # reductions
    "sum": _reduce("ReduceSum"), "mean": _reduce("ReduceMean"), "amax": _reduce("ReduceMax"),
    "amin": _reduce("ReduceMin"), "prod": _reduce("ReduceProd"),
    "logsumexp": _reduce("ReduceLogSumExp"), "var": _var, "argmax": _arg("ArgMax"),
    "argmin": _arg("ArgMin"),
    # shapes, views and indexing
    "view": _view, "permute": _permute, "expand": _expand, "select": _select,
    "index": _index, "cat": _cat, "constant_pad_nd": _constant_pad, "tril": _tri(0),
    "triu": _tri(1), "gather": _gather, "embedding": _embedding,
    # linear algebra, convolution, pooling, normalization
    "matmul": _matmul, "scaled_dot_product_attention": _sdpa, "convolution": _conv,
    "avg_pool": _avg_pool, "max_pool_with_indices": _max_pool_indices,
    "native_layer_norm": _layer_norm,
}
