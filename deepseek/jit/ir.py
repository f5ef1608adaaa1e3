"""The compiler's IR: values (arrays) and nodes (primitive calls and effects), in trace order."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

__all__ = ["Value", "Node", "Graph"]


class Value:
    """One array the compiled function handles.

    ``kind`` says where it comes from: ``"input"`` (the ``ref``-th tensor argument), ``"state"``
    (the data of the tensor ``ref``, read when the function runs: parameters, buffers),
    ``"grad"`` (the ``.grad`` of the tensor ``ref``), ``"const"`` (the array ``ref``, baked in),
    or ``"node"`` (computed by ``node``). ``array`` is its value in the traced run while that
    is alive (the tracer drops arrays nothing else holds, to keep the trace's memory low).
    ``root`` is shared by all values viewing one storage; ``owns``: it is not a view.
    """

    __slots__ = ("id", "kind", "ref", "node", "shape", "dtype", "array", "name", "root",
                 "contiguous", "owns")

    def __init__(self, id: int, kind: str, array: np.ndarray, ref: Any = None,
                 node: Optional["Node"] = None, root: Optional[int] = None) -> None:
        self.id, self.kind, self.ref, self.node = id, kind, ref, node
        self.array = array
        self.shape, self.dtype = array.shape, array.dtype
        self.contiguous = array.flags.c_contiguous
        self.owns = array.base is None
        self.root = id if root is None else root
        self.name = f"v{id}"

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape)) * self.dtype.itemsize

    def __repr__(self) -> str:
        return self.name


class Slot:
    """In a node's attributes, an array the function computes (an index or a mask): the
    node's ``index``-th input, passed in its place when the op runs (an attribute would be
    baked in)."""

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index

    def __repr__(self) -> str:
        return f"<input {self.index}>"


def slots(attrs: Any) -> list:
    """The :class:`Slot` s in ``attrs`` (nested in tuples, lists and dicts)."""
    if isinstance(attrs, Slot):
        return [attrs]
    if isinstance(attrs, (tuple, list)):
        return [s for a in attrs for s in slots(a)]
    if isinstance(attrs, dict):
        return [s for a in attrs.values() for s in slots(a)]
    return []


def op_inputs(n: "Node") -> list:
    """``n``'s inputs the op takes as arguments (the rest fill its attributes' slots)."""
    return n.inputs[:min((s.index for s in slots(n.attrs)), default=len(n.inputs))]


class Node:
    """One step of the graph.

    ``kind``: ``"op"`` (``out = op(*inputs, **attrs)``), ``"inplace"`` (``op`` written into
    ``inputs[0]``'s storage), ``"set_grad"`` (``attrs["tensor"].grad = inputs[0]``),
    ``"acc_grad"`` (``inputs[0] += inputs[1]``, a gradient accumulated into an existing
    ``.grad``), ``"call"`` (an opaque Python call such as ``optimizer.step()``, run as is), or
    ``"fused"`` (a generated kernel computing ``outs`` from ``inputs``; ``members`` are the
    op nodes it replaces).
    """

    __slots__ = ("kind", "op", "inputs", "attrs", "out", "cast", "members", "outs", "kernel")

    def __init__(self, kind: str, op: Any = None, inputs: tuple = (), attrs: Optional[dict] = None,
                 out: Optional[Value] = None, cast: bool = False) -> None:
        self.kind, self.op, self.inputs, self.out, self.cast = kind, op, list(inputs), out, cast
        self.attrs = attrs or {}
        self.members: list = []
        self.outs: list = []
        self.kernel: Any = None

    @property
    def effect(self) -> bool:
        return self.kind in ("inplace", "set_grad", "acc_grad", "call")

    def produced(self) -> list:
        """The values this node defines."""
        if self.kind == "fused":
            return self.outs
        return [self.out] if self.kind == "op" else []

    def __repr__(self) -> str:
        return format_node(self)


def _attr(v: Any) -> str:
    if isinstance(v, np.dtype):
        return str(v)
    text = repr(v)
    return text if len(text) < 40 else type(v).__name__


def format_node(n: Node) -> str:
    args = ", ".join([repr(v) for v in n.inputs] + [f"{k}={_attr(v)}" for k, v in n.attrs.items()
                                                     if k not in ("fn", "tensor")])
    if n.kind == "op":
        return f"{n.out!r}: {n.out.dtype}{list(n.out.shape)} = {n.op.name}({args})"
    if n.kind == "inplace":
        return f"{n.op.name}_({args})"
    if n.kind == "fused":
        outs = ", ".join(f"{v!r}: {v.dtype}{list(v.shape)}" for v in n.outs)
        return f"{outs} = fused[{' > '.join(m.op.name for m in n.members)}]({args})"
    if n.kind == "call":
        return f"call {n.attrs['label']}"
    return f"{n.kind}({args})"


class Graph:
    """The traced function: its values, nodes in execution order, and outputs."""

    def __init__(self) -> None:
        self.values: list[Value] = []
        self.nodes: list[Node] = []
        self.outputs: list[Value] = []

    def value(self, kind: str, array: np.ndarray, ref: Any = None,
              node: Optional[Node] = None, root: Optional[int] = None) -> Value:
        v = Value(len(self.values), kind, array, ref, node, root)
        self.values.append(v)
        return v

    def __str__(self) -> str:
        lines = ["graph("]
        for v in self.values:
            if v.kind in ("input", "state", "grad"):
                lines.append(f"    {v!r}: {v.dtype}{list(v.shape)}  # {v.kind} {v.name}")
        lines.append("):")
        lines += [f"    {format_node(n)}" for n in self.nodes]
        lines.append(f"    return {', '.join(map(repr, self.outputs))}")
        return "\n".join(lines)
