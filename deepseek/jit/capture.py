"""Capture: run the function once, recording every primitive into a Graph.

Every op reaches the backend through ``apply``/``apply_inplace`` (deepseek/ops/_opdef.py), so
one hook there sees the forward, the backward (vjps are Tensor ops) and in-place updates alike.
Around it the tracer watches the few places where state changes outside ops: gradients
delivered to leaves (``.grad``), and optimizer and ``zero_grad`` calls, which are recorded as
opaque calls and run as they are when the compiled function runs (so a scheduler's new
learning rate is read at every step, never baked in).
"""

from __future__ import annotations

import sys
from typing import Any, Callable

import numpy as np

from ..autograd import graph as _autograd
from ..ops import _opdef
from ..ops._opdef import COMPLEX_NP
from ..tensor import _ITEM_HOOK, Tensor
from .ir import Graph, Node, Slot, Value

__all__ = ["TraceError", "Tracer", "flatten", "unflatten"]

_SWEEP_BYTES = 4 << 20


class TraceError(RuntimeError):
    """The function cannot be captured as a static graph (the message says why)."""


def flatten(obj: Any, leaves: list) -> Any:
    """``obj`` with its tensors replaced by their index in ``leaves`` (a template)."""
    if isinstance(obj, Tensor):
        leaves.append(obj)
        return _Leaf(len(leaves) - 1)
    if type(obj) in (list, tuple):
        return type(obj)(flatten(o, leaves) for o in obj)
    if isinstance(obj, dict):
        return {k: flatten(v, leaves) for k, v in obj.items()}
    return obj


def unflatten(template: Any, leaves: list) -> Any:
    if isinstance(template, _Leaf):
        return leaves[template.index]
    if type(template) in (list, tuple):
        return type(template)(unflatten(o, leaves) for o in template)
    if isinstance(template, dict):
        return {k: unflatten(v, leaves) for k, v in template.items()}
    return template


class _Leaf:
    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index

    def __repr__(self) -> str:
        return f"<tensor {self.index}>"


def _defining(base: type, name: str) -> list:
    """``base`` and its subclasses that define ``name`` themselves."""
    out, todo = [], [base]
    while todo:
        cls = todo.pop()
        if name in cls.__dict__:
            out.append(cls)
        todo += cls.__subclasses__()
    return list(dict.fromkeys(out))


class Tracer:
    """Records one run of a function. Use as a context manager around the run."""

    def __init__(self, inputs: list, leaves: tuple = (), exporting: bool = False) -> None:
        self.graph = Graph()
        self.exporting = exporting  # for ONNX export, not compilation
        self.env: dict[int, Value] = {}  # id(array) -> its value
        self.keep: list = []  # every array seen, alive so ids stay unique
        self.created: set = set()  # ids of arrays wrapped into tensors during the trace
        self.leaf_guards: dict = {}  # id(tensor) -> (tensor, whether .grad was None at start)
        self.mutated: set = set()  # ids of values whose storage is written during the run
        # tensors a zero_grad call left without .grad whatever it was, and of those the ones
        # that call reached before any gradient was delivered to them: the graph does not
        # depend on their .grad when the function starts, so they need no guard
        self.cleared: set = set()
        self.delivered: set = set()
        self.unguarded: set = set()
        self._sweep_at = 256
        self._fresh = 0  # bytes of new arrays since the last sweep
        self.derived: set = set()  # values computed from constants only: kept for folding
        self.backward_ran = False
        self.eager_reason = ""  # why this signature must run eagerly (set by run_eagerly)
        for t in leaves:  # which .grad are set when the run starts: the graph depends on it
            self.leaf_guards[id(t)] = (t, t.grad is None)
        for i, t in enumerate(inputs):
            self._bind(t._data, "input", i)

    def _bind(self, array: np.ndarray, kind: str, ref: Any = None, node: Any = None) -> Value:
        base = array.base
        while isinstance(base, np.ndarray) and id(base) not in self.env:
            base = base.base
        root = self.env[id(base)].root if isinstance(base, np.ndarray) else None
        v = self.graph.value(kind, array, ref, node, root)
        self.env[id(array)] = v
        self._hold(array)
        return v

    def _hold(self, array: np.ndarray) -> None:
        """Keep ``array`` alive (so ids stay unique); sweep every 128 arrays or 4 MiB."""
        self.keep.append(array)
        if array.base is None:
            self._fresh += array.nbytes
        if len(self.keep) >= self._sweep_at or self._fresh > _SWEEP_BYTES:
            self.sweep()

    def sweep(self) -> None:
        """Forget intermediate arrays nothing else holds any more (so the trace costs about
        the memory of an eager run). Their ids may be reused, so they leave ``env`` too."""
        alive = []
        for a in reversed(self.keep):  # views before the arrays they view, so both go at once
            v = self.env.get(id(a))
            # references: keep, the loop variable, getrefcount's argument (and v.array)
            if (v is not None and v.kind == "node" and sys.getrefcount(a) <= 4
                    and (v.id not in self.derived or a.nbytes > _SWEEP_BYTES // 4)):
                del self.env[id(a)]
                v.array = None
            elif v is None and id(a) in self.created and sys.getrefcount(a) <= 3:
                self.created.discard(id(a))
            else:
                alive.append(a)
        self.keep = alive[::-1]
        self._sweep_at = len(alive) + 128
        self._fresh = 0

    # ---- what the hooks call ----
    def value_of(self, a: Any, owner: Any) -> Value:
        v = self.env.get(id(a))
        if v is not None:
            return v
        a = np.asarray(a)
        if isinstance(owner, Tensor) and id(a) not in self.created:
            # a parameter's .grad is read through the parameter when the function runs: the
            # tensor object itself is replaced whenever zero_grad sets .grad to None
            leaf = next((t for t, _ in self.leaf_guards.values() if t.grad is owner), None)
            if leaf is not None:
                return self._bind(a, "grad", leaf)
            return self._bind(a, "state", owner)
        return self._bind(a, "const", a)

    def record(self, op: Any, arrays: list, args: tuple, attrs: dict, out: np.ndarray,
               cast: bool, inplace: bool = False) -> None:
        if out.dtype.kind == "c" or any(getattr(a, "dtype", None) in COMPLEX_NP for a in arrays):
            raise TraceError(f"[ds.jit] {op.name}: complex tensors are not compiled yet; call "
                             "this function without ds.jit")
        ins = [self.value_of(a, arg) for a, arg in zip(arrays, args)]
        if op.data_shape and any(v.kind != "const" for v in ins):
            self._data_shape(op.name)
        attrs = self._lift(op, attrs, ins)
        if inplace:
            self.graph.nodes.append(Node("inplace", op, ins, dict(attrs)))
            self.mutated.add(ins[0].id)
            return
        node = Node("op", op, ins, dict(attrs), cast=cast)
        node.out = self._bind(out, "node", node=node)
        self.graph.nodes.append(node)
        if all(v.kind == "const" or v.id in self.derived for v in ins):
            self.derived.add(node.out.id)

    def _lift(self, op: Any, a: Any, ins: list) -> Any:
        """``a`` (attributes) with each array the function computed replaced by a
        :class:`Slot`, its value appended to ``ins``."""
        if type(a) in (tuple, list):
            return type(a)(self._lift(op, x, ins) for x in a)
        if isinstance(a, dict):
            return {k: self._lift(op, x, ins) for k, x in a.items()}
        if not isinstance(a, np.ndarray):
            return a
        v = self.env.get(id(a))
        if v is None:
            base = a.base
            while isinstance(base, np.ndarray) and id(base) not in self.env:
                base = base.base
            if isinstance(base, np.ndarray) and self.env[id(base)].kind != "const":
                raise TraceError(f"[ds.jit] {op.name}: an index made from a traced tensor "
                                 "by NumPy outside the recorded ops (as Embedding's max_norm "
                                 "does), which a compiled graph would bake in")
            return a
        if v.kind == "const":
            return a
        if op.name == "index" and a.dtype == np.bool_:
            self._data_shape("indexing with a boolean mask")
        ins.append(v)
        return Slot(len(ins) - 1)

    def _data_shape(self, what: str) -> None:
        raise TraceError(f"[ds.jit] {what}: the shape of its result depends on the data, so a "
                         "compiled graph cannot bake it in. Run this part eagerly, or use a "
                         "fixed-shape form (masked_fill, where).")

    def wrapped(self, data: np.ndarray) -> None:
        if id(data) not in self.env:
            self.created.add(id(data))
            self._hold(data)

    def item(self, t: Tensor, what: str) -> None:
        v = self.env.get(id(t._data))
        if v is None and id(t._data) in self.created or v is not None and v.kind == "const":
            return  # a constant: its value is fixed, so reading it is no decision on data
        shape = list(t.shape)
        read = (f".{what}() on a tensor of shape {shape}" if what.isidentifier()
                else f"reading {what} (a tensor of shape {shape})")
        raise TraceError(
            f"[ds.jit] {read} while tracing: the result "
            "depends on the data, so a compiled graph cannot bake it in. Return the tensor "
            "instead and read it outside the compiled function, or run this code eagerly.")

    def unsupported(self, what: str) -> None:
        raise TraceError(f"[ds.jit] cannot capture {what}")

    def run_eagerly(self, fn: Callable, reason: str, *args: Any, **kwargs: Any) -> Any:
        """``fn(*args, **kwargs)`` unrecorded, its reads of data allowed: the traced run stays
        a true eager run, and the compiled function runs this signature eagerly from now on
        (a graph break, without the graph)."""
        self.eager_reason = self.eager_reason or reason
        saved = _opdef.TRACER[0], _ITEM_HOOK[0]
        _opdef.TRACER[0] = _ITEM_HOOK[0] = None
        try:
            return fn(*args, **kwargs)
        finally:
            _opdef.TRACER[0], _ITEM_HOOK[0] = saved

    def deliver_leaf(self, original: Callable, t: Tensor, g: Tensor, *args: Any) -> None:
        before = t.grad
        if id(t) not in self.delivered:
            self.delivered.add(id(t))
            if id(t) in self.cleared:
                self.unguarded.add(id(t))
        if id(t) not in self.leaf_guards:
            self.leaf_guards[id(t)] = (t, before is None)
        # post-accumulate hooks run after the gradient's node is recorded, so what they
        # record (DDP's all-reduce) comes after it in the compiled step too
        hooks = t.__dict__.pop("_post_hooks", None)
        try:
            original(t, g, *args)
        finally:
            if hooks is not None:
                t._post_hooks = hooks
        self._record_grad(t, g, before, args)
        if hooks and args[1] and t._requires_grad:  # as _deliver_leaf calls them
            for hook in hooks:
                hook(t)

    def _record_grad(self, t: Tensor, g: Tensor, before: Any, args: tuple) -> None:
        after = t.grad
        if after is None or not args[1]:  # nothing stored, or autograd.grad (no accumulation)
            return
        self.backward_ran = True
        if after is not before:
            v = self.env.get(id(after._data))
            if v is None:
                raise TraceError(f"[ds.jit] the gradient of a tensor of shape {list(t.shape)} "
                                 "was made outside the recorded ops")
            self.graph.nodes.append(Node("set_grad", None, [v], {"tensor": t}))
            return
        target = self.env.get(id(after._data))
        if target is None:
            target = self._bind(after._data, "grad", t)
        self.graph.nodes.append(Node("acc_grad", None, [target, self.value_of(g._data, g)]))
        self.mutated.add(target.id)

    def call(self, fn: Callable, label: str, args: tuple, kwargs: dict, mutates: list,
             clears: list) -> Any:
        self.graph.nodes.append(Node("call", None, (), {"fn": fn, "args": args,
                                                        "kwargs": kwargs, "label": label}))
        for t in mutates:
            v = self.env.get(id(t._data))
            if v is not None:
                self.mutated.add(v.id)
        result = fn(*args, **kwargs)
        self.cleared.update(id(t) for t in clears if t.grad is None)
        return result

    def release(self) -> None:
        """Drop the traced run's arrays (the graph keeps what it needs)."""
        self.env.clear()
        self.keep.clear()
        self.created.clear()

    # ---- installing the hooks ----
    def __enter__(self) -> "Tracer":
        from ..nn.modules.module import Module
        from ..optim.lr_scheduler import LRScheduler
        from ..optim.optimizer import Optimizer

        tracer = self
        wrap = Tensor.__dict__["_wrap"].__func__
        deliver = _autograd._deliver_leaf

        def traced_wrap(cls, data, *a):
            tracer.wrapped(data)
            return wrap(cls, data, *a)

        def traced_deliver(t, g, *a):
            return tracer.deliver_leaf(deliver, t, g, *a)

        def opaque(cls, name, mutates, clears=None):
            original = cls.__dict__[name]

            def run(obj, *args, **kwargs):
                if _opdef.TRACER[0] is not tracer:  # nested inside another opaque call
                    return original(obj, *args, **kwargs)
                if name == "step" and isinstance(obj, Optimizer) and (
                        args or kwargs.get("closure") is not None):
                    tracer.unsupported("optimizer.step(closure): call the closure yourself")
                to_none = kwargs.get("set_to_none", args[0] if args else True)
                _opdef.TRACER[0] = None
                try:
                    return tracer.call(original.__get__(obj), f"{type(obj).__name__}.{name}()",
                                       args, kwargs, mutates(obj),
                                       clears(obj) if clears and to_none else [])
                finally:
                    _opdef.TRACER[0] = tracer

            return cls, name, original, run

        params = (lambda opt: [p for g in opt.param_groups for p in g["params"]])
        # a flattened group's gradients are views of one buffer, zeroed, never set to None
        unflat = (lambda opt: [p for i, g in enumerate(opt.param_groups) if i not in opt._flat
                               for p in g["params"]])
        none = (lambda obj: [])
        self._patches = [
            (Tensor, "_wrap", Tensor.__dict__["_wrap"], classmethod(traced_wrap)),
            (_autograd, "_deliver_leaf", deliver, traced_deliver),
            opaque(Module, "zero_grad", none, lambda m: list(m.parameters())),
        ]
        # optimizer and scheduler steps run as they are: they read hyperparameters (a
        # scheduler's new lr) at every call, and keep their state in Python
        for base, name, mutates, clears in ((Optimizer, "step", params, None),
                                            (Optimizer, "zero_grad", none, unflat),
                                            (LRScheduler, "step", none, None)):
            for cls in _defining(base, name):
                self._patches.append(opaque(cls, name, mutates, clears))
        for owner, name, _, new in self._patches:
            setattr(owner, name, new)
        self._saved = (_opdef.TRACER[0], _ITEM_HOOK[0])
        _opdef.TRACER[0] = self
        _ITEM_HOOK[0] = self.item
        return self

    def __exit__(self, *exc: Any) -> None:
        _opdef.TRACER[0], _ITEM_HOOK[0] = self._saved
        for owner, name, old, _ in self._patches:
            setattr(owner, name, old)
