"""Code generation: one Python function per graph, with a memory plan.

Op nodes call their OpDef's forward on arrays directly (no Tensor, no dispatch, no autograd
bookkeeping); fused nodes call generated Numba kernels; GEMMs and fused kernels write into
buffers planned by liveness, allocated once and reused on every run. Values that outlive a run
(outputs, ``.grad``) get fresh memory; everything else is released right after its last use.
"""

from __future__ import annotations

import functools
import math
import re
from typing import Any

import numpy as np

from ..backend import cpu
from ..tensor import Tensor
from . import kernels
from .ir import Graph, Node, Slot, Value, op_inputs, slots
from .passes import storage_root

__all__ = ["generate"]

_GEMM = ("matmul",)


def _literal(v: Any) -> bool:
    if isinstance(v, (bool, int, str, type(None))):
        return True
    if isinstance(v, float):
        return math.isfinite(v)
    if isinstance(v, (tuple, list)):
        return all(_literal(x) for x in v)
    return False


class _Writer:
    """The generated function's global names: each object gets one readable name."""

    def __init__(self, names: dict) -> None:
        self.ns: dict = {"np": np, "cpu": cpu, "wrap": Tensor._wrap}
        self.names = names  # id(tensor) -> a name from its module (parameters, buffers)
        self.bound: dict = {}

    def bind(self, prefix: str, obj: Any) -> str:
        name = self.bound.get(id(obj))
        if name is not None:
            return name
        base = re.sub(r"\W", "_", self.names.get(id(obj), prefix)).strip("_") or "f"
        name, i = base, 1
        while name in self.ns:
            name, i = f"{base}_{i}", i + 1
        self.ns[name] = obj
        self.bound[id(obj)] = name
        return name

    def attr(self, v: Any, inputs: list = ()) -> str:
        """Source for the attribute ``v``; a :class:`Slot` in it names the input it stands
        for."""
        if isinstance(v, Slot):
            return inputs[v.index].name
        if type(v) in (tuple, list) and slots(v):
            inner = ", ".join(self.attr(x, inputs) for x in v)
            return f"({inner},)" if type(v) is tuple else f"[{inner}]"
        if _literal(v):
            return repr(tuple(v) if isinstance(v, tuple) else v)  # ds.Size prints otherwise
        if isinstance(v, np.dtype):
            if np.dtype(v.str) == v:
                return f"np.dtype({v.str!r})"
            return self.bind(v.name, v)  # ml_dtypes' (bfloat16, float8): '<V2' is raw bytes
        return self.bind("k", v)


_ALIGN = 64  # bytes: every planned buffer starts on a cache line


def _plan(graph: Graph, mutable: set) -> tuple:
    """Liveness per storage: the node index after which each storage root is dead; which
    values escape a run; and the planned buffer of each pooled value.

    Pooled values (GEMM and fused-kernel outputs that die within the run) live from the node
    that writes them to the last use of their storage. A fused kernel's output may take over
    the buffer of an input of its shape that dies there (the kernel reads each element before
    writing it). The buffers are then laid out in one arena, largest first, each at the lowest
    offset free for its whole life ("greedy by size"), so the arena is close to the most bytes
    ever alive at once, whatever their shapes. Returns ``(assign, layout, size, last, root,
    escaping)``: value id -> buffer index, each buffer's ``(shape, dtype, offset)``, and the
    arena's bytes."""
    root = {v.id: storage_root(v) for v in graph.values}
    last: dict = {}
    for i, n in enumerate(graph.nodes):
        for v in n.inputs:
            last[root[v.id]] = i
    escaping = set()
    for v in graph.outputs:
        escaping.add(root[v.id])
    for n in graph.nodes:
        if n.kind == "set_grad":
            escaping.add(root[n.inputs[0].id])
    for v in graph.values:
        if v.id in mutable:
            escaping.add(root[v.id])
    group: dict = {}  # pooled value id -> its buffer's index
    spans: list = []  # per buffer: [first node, last node, value]
    for i, n in enumerate(graph.nodes):
        reusable = [v for v in n.inputs if n.kind == "fused" and v.id in group
                    and last.get(root[v.id]) == i
                    and sum(root[u.id] == root[v.id] for u in n.inputs) == 1]
        for v in _pooled_outputs(n):
            r = root[v.id]
            if r in escaping or r not in last or v.id in group:
                continue
            twin = next((u for u in reusable if (u.shape, u.dtype) == (v.shape, v.dtype)), None)
            if twin is not None:
                reusable.remove(twin)
                group[v.id] = group[twin.id]
                spans[group[v.id]][1] = last[r]
            else:
                group[v.id] = len(spans)
                spans.append([i, last[r], v])
    offsets, size = _arena(spans)
    layout = [(v.shape, v.dtype, offset) for (_, _, v), offset in zip(spans, offsets)]
    return group, layout, size, last, root, escaping


def _arena(spans: list) -> tuple:
    """Offsets for buffers ``[first, last, value]`` so that no two alive at once overlap,
    largest first at the lowest fitting offset; and the arena's size."""
    offsets = [0] * len(spans)
    placed: list = []  # (offset, end, first, last)
    size = 0
    for k in sorted(range(len(spans)), key=lambda k: -spans[k][2].nbytes):
        first, end_node, v = spans[k]
        need = -(-v.nbytes // _ALIGN) * _ALIGN
        offset = 0
        for lo, hi, _, _ in sorted(p for p in placed if p[2] <= end_node and first <= p[3]):
            if lo - offset >= need:
                break
            offset = max(offset, hi)
        offsets[k] = offset
        placed.append((offset, offset + need, first, end_node))
        size = max(size, offset + need)
    return offsets, size


def _uniform(v: Value) -> bool:
    a = v.array
    return a.size > 64 and bool((a == a.reshape(-1)[0]).all())


def _pooled_outputs(n: Node) -> list:
    if n.kind == "fused":
        return list(n.outs)
    if (n.kind == "op" and n.op.name in _GEMM and not n.cast
            and n.out.dtype in (np.float32, np.float64) and n.out.contiguous
            and all(v.dtype == n.out.dtype for v in n.inputs)):
        return [n.out]
    return []


def _kernel_for(n: Node) -> tuple:
    shape = n.outs[0].shape
    loop, in_shapes = kernels.collapse(shape, [v.shape for v in n.inputs])
    parallel = int(np.prod(loop)) >= kernels.PARALLEL_MIN
    source = kernels.kernel_source(n, loop, in_shapes, parallel)
    return kernels.load_kernel(source), loop, in_shapes


def _check_kernel(n: Node, kernel: Any, loop: tuple, in_shapes: list, mutable: set) -> bool:
    """Run the compiled kernel on the traced inputs; it must reproduce the traced outputs
    (unless an input was overwritten later in the traced run, such as a parameter)."""
    known = all(v.array is not None for v in n.inputs + n.outs)
    try:
        if known:
            ins = [np.ascontiguousarray(np.broadcast_to(v.array, v.shape)).reshape(s)
                   for v, s in zip(n.inputs, in_shapes)]
        else:  # nothing to compare with: a small run shows that it compiles and runs
            loop = tuple(min(d, 2) for d in loop)
            ins = [np.ones(tuple(min(d, 2) for d in s), v.dtype)
                   for v, s in zip(n.inputs, in_shapes)]
        outs = [np.empty(loop, v.dtype) for v in n.outs]
        kernel(*ins, *outs)
    except Exception:  # noqa: BLE001  (an expression Numba cannot compile: run it unfused)
        return False
    if not known or any(v.id in mutable for v in n.inputs):
        return True  # compiled and ran; the traced values to compare with are gone
    for got, v in zip(outs, n.outs):
        want = v.array.reshape(loop)
        if v.dtype.kind == "f":
            if not np.allclose(got, want, rtol=1e-5 if v.dtype == np.float32 else 1e-10,
                               atol=1e-6, equal_nan=True):
                return False
        elif not np.array_equal(got, want):
            return False
    return True


def unfuse(graph: Graph, n: Node) -> None:
    i = graph.nodes.index(n)
    graph.nodes[i:i + 1] = n.members


def _take(layout: list, size: int, pool: dict) -> list:
    """The planned buffers: views of the arena in ``pool``, which grows as needed (on a
    compiled function's first run). The compiled versions of one function never run at the
    same time and their buffers never outlive a run, so they share one arena, released while
    tracing. The views are made once per arena."""
    arena = pool.get("arena")
    if arena is None or arena.nbytes < size:
        arena = pool["arena"] = np.empty(size, np.uint8)
    made = pool.get(id(layout))
    if made is None or made[0] is not arena:
        made = pool[id(layout)] = (arena, [
            arena[offset:offset + math.prod(shape) * dtype.itemsize].view(dtype).reshape(shape)
            for shape, dtype, offset in layout])
    return made[1]


def generate(graph: Graph, mutable: set, name: str = "compiled", names: dict = None,
             pool: dict = None) -> tuple:
    """``(source, namespace, plan)`` of the function running ``graph``; planned buffers come
    from ``pool`` when given.

    The function takes the list of input arrays and returns the list of output arrays.
    """
    for n in [n for n in graph.nodes if n.kind == "fused"]:
        kernel, loop, in_shapes = _kernel_for(n)
        if _check_kernel(n, kernel, loop, in_shapes, mutable):
            n.kernel = (kernel, loop, in_shapes)
        else:
            unfuse(graph, n)
    assign, layout, size, last, root, escaping = _plan(graph, mutable)
    w = _Writer(names or {})
    pool = {} if pool is None else pool
    lines = [f"def {name}(inputs):"]
    body: list = []
    if layout:  # taken at each run, so that the pool can be released while retracing
        w.ns["buffers"] = functools.partial(_take, layout, size, pool)
        body.append(f"[{', '.join(f'b{b}' for b in range(len(layout)))}] = buffers()")
    used = {v.id for n in graph.nodes for v in n.inputs} | {v.id for v in graph.outputs}
    for v in graph.values:
        if v.kind == "const" and v.id not in used:  # folded away: drop the baked array
            v.ref = v.array = None
        if v.id not in used or v.kind == "node":
            continue
        if v.kind == "input":
            body.append(f"{v.name} = inputs[{v.ref}]")
        elif v.kind == "state":
            body.append(f"{v.name} = {w.bind('state', v.ref)}._data")
        elif v.kind == "grad":
            body.append(f"{v.name} = {w.bind('state', v.ref)}.grad._data")
        elif v.kind == "const" and _uniform(v) and v.id not in mutable:
            # a large constant of one value (zeros a backward formula starts from) is kept
            # as one number and broadcast, read-only, when the function runs
            v.ref = v.array = v.array.reshape(-1)[:1].reshape(())
            body.append(f"{v.name} = np.broadcast_to({w.bind(v.name + '_fill', v.ref)}, "
                        f"{v.shape!r})")
        elif v.kind == "const":
            w.ns[v.name] = v.ref
    live_vars: dict = {}  # storage root -> names defined in the generated code
    for i, n in enumerate(graph.nodes):
        body += _emit(n, w, assign)
        for v in n.produced():
            live_vars.setdefault(root[v.id], []).append(v.name)
        dead = sorted(name for n_in in n.inputs if last.get(root[n_in.id]) == i
                      and root[n_in.id] not in escaping
                      for name in live_vars.pop(root[n_in.id], ()))
        if dead:
            body.append(f"del {', '.join(dict.fromkeys(dead))}")
    body.append(f"return [{', '.join(v.name for v in graph.outputs)}]")
    lines += ["    " + line for line in body]
    source = "\n".join(lines) + "\n"
    plan = dict(buffers=len(layout), pooled_bytes=size,
                peak_bytes=_peak(graph, last, root, assign) + size)
    return source, w.ns, plan


def _peak(graph: Graph, last: dict, root: dict, assign: dict) -> int:
    """The largest set of intermediates outside the planned buffers alive at once."""
    live: dict = {}
    peak = 0
    for i, n in enumerate(graph.nodes):
        for v in n.produced():
            if v.id not in assign and v.owns:
                live[root[v.id]] = v.nbytes
        peak = max(peak, sum(live.values()))
        for v in n.inputs:
            if last.get(root[v.id]) == i:
                live.pop(root[v.id], None)
    return peak


def _call_args(n: Node, w: _Writer) -> str:
    return ", ".join(["np"] + [v.name for v in op_inputs(n)]
                     + [f"{k}={w.attr(a, n.inputs)}" for k, a in n.attrs.items()])


def _emit(n: Node, w: _Writer, assign: dict) -> list:
    if n.kind == "op":
        f = w.bind(n.op.name.strip("_"), n.op.forward)
        if n.out.id in assign:
            a, b = n.inputs
            return [f"{n.out.name} = cpu.matmul({a.name}, {b.name}, out=b{assign[n.out.id]})"]
        call = f"{f}({_call_args(n, w)})"
        if n.cast:
            call = f"np.asarray({call}, dtype={w.attr(n.out.dtype)})"
        return [f"{n.out.name} = {call}"]
    if n.kind == "inplace":
        f = w.bind(n.op.name.strip("_"), n.op.forward)
        t = n.inputs[0]
        lines = [f"np.copyto({t.name}, {f}({_call_args(n, w)}), casting='unsafe')"]
        if t.kind == "state":
            lines.append(f"{w.bind('state', t.ref)}._version_box[0] += 1")
        return lines
    if n.kind == "set_grad":
        return [f"{w.bind('state', n.attrs['tensor'])}.grad = wrap({n.inputs[0].name})"]
    if n.kind == "acc_grad":
        g, v = n.inputs
        return [f"np.add({g.name}, {v.name}, out={g.name}, casting='unsafe')"]
    if n.kind == "call":
        fn = w.bind(n.attrs["label"].split("(")[0].replace(".", "_").lower(), n.attrs["fn"])
        args = [w.attr(a) for a in n.attrs["args"]] + [
            f"{k}={w.attr(a)}" for k, a in n.attrs["kwargs"].items()]
        return [f"{fn}({', '.join(args)})  # {n.attrs['label']}"]
    # fused
    kernel, loop, in_shapes = n.kernel
    k = w.bind("fused", kernel)
    lines = []
    outs = []
    for v in n.outs:
        if v.id in assign:
            lines.append(f"{v.name} = b{assign[v.id]}")
        else:
            lines.append(f"{v.name} = np.empty({v.shape!r}, {w.attr(v.dtype)})")
        outs.append(v.name if v.shape == loop else f"{v.name}.reshape({loop!r})")
    ins = [v.name if v.shape == s else f"{v.name}.reshape({s!r})"
           for v, s in zip(n.inputs, in_shapes)]
    ops = " > ".join(m.op.name for m in n.members)
    lines.append(f"{k}({', '.join(ins + outs)})  # {ops}")
    return lines
