"""The autograd graph and engine: nodes, version checks, the one unbroadcast, backward."""

from __future__ import annotations

import traceback
from typing import TYPE_CHECKING, Any, Callable, Optional, Sequence

import numpy as np

from .anomaly_mode import ANOMALY, forward_stack_warning
from .grad_mode import STATE

if TYPE_CHECKING:
    from ..tensor import Tensor

_FREED = (
    "Trying to backward through the graph a second time (or directly access saved tensors after "
    "they have already been freed). Saved intermediate values of the graph are freed when you call "
    ".backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the "
    "graph a second time or if you need to access saved tensors after calling backward."
)


class Node:
    """One recorded op application: the edges to its inputs' nodes and what its vjp needs.

    A vjp receives the node as ``ctx`` and reads ``ctx.inputs`` (the saved input tensors,
    version-checked), ``ctx.out`` (the output), ``ctx.attrs``, ``ctx.shapes``, ``ctx.dtypes``
    and ``ctx.needs_input_grad``.
    """

    __slots__ = ("op", "next", "attrs", "shapes", "dtypes", "_saved", "_versions", "_out",
                 "_out_box", "_out_version", "hooks", "retained", "freed", "trace", "_metadata",
                 "__weakref__")

    def __init__(self, op: Any, next_edges: tuple, attrs: dict, shapes: tuple,
                 dtypes: tuple) -> None:
        self.op = op
        self.next = next_edges  # per input: a Node, a leaf Tensor, or None (no gradient needed)
        self.attrs = attrs
        self.shapes = shapes
        self.dtypes = dtypes
        self._saved = None
        self._versions = None
        self._out = None
        self._out_box = None
        self._out_version = 0
        self.hooks: Optional[list] = None
        self.retained = None
        self.freed = False
        self.trace = traceback.format_stack()[:-2] if ANOMALY.enabled else None
        self._metadata: Optional[dict] = None

    def name(self) -> str:
        custom = getattr(self.op, "backward_name", None)  # autograd.Function nodes
        if custom is not None:
            return custom
        base = self.op.name.rsplit("::", 1)[-1]  # custom ops are named "namespace::op"
        return "".join(p.capitalize() for p in base.split("_")) + "Backward0"

    def __repr__(self) -> str:
        return f"<{self.name()} object at {hex(id(self))}>"

    @property
    def next_functions(self) -> tuple:
        return tuple((e if isinstance(e, Node) else (None if e is None else AccumulateGrad(e)), 0)
                     for e in self.next)

    @property
    def needs_input_grad(self) -> tuple:
        return tuple(e is not None for e in self.next)

    @property
    def inputs(self) -> tuple:
        if self.freed:
            raise RuntimeError(_FREED)
        saved = self._saved
        if type(saved) is _Packed:  # saved_tensors_hooks
            saved = saved.tensors()
        for t, v in zip(saved, self._versions):
            if t is not None and t._version_box[0] != v:
                raise RuntimeError(_modified_message(self, t, v))
        return saved

    @property
    def out(self) -> "Tensor":
        if self.freed:
            raise RuntimeError(_FREED)
        if self._out_box[0] != self._out_version:
            from ..tensor import Tensor

            raise RuntimeError(_modified_message(self, Tensor._wrap(self._out), self._out_version,
                                                 box=self._out_box))
        from ..tensor import Tensor

        data = self._out
        if type(data) is _Packed:  # saved_tensors_hooks
            data = data.tensors()[0]._data
        t = Tensor._wrap(data)
        t._version_box = self._out_box
        t._requires_grad = True
        t.grad_fn = self
        return t

    def register_hook(self, fn: Callable) -> None:
        if self.hooks is None:
            self.hooks = []
        self.hooks.append(fn)

    @property
    def metadata(self) -> dict:
        """A dict for the user's own notes on this node, as torch's ``Node.metadata``."""
        if self._metadata is None:
            self._metadata = {}
        return self._metadata

    def register_prehook(self, fn: Callable) -> Any:
        """Run ``fn(grad_outputs) -> tuple or None`` before this node's vjp, as torch's
        ``Node.register_prehook``; a returned tuple replaces the gradients. Returns a handle
        whose ``remove()`` unregisters it."""
        from ..tensor import _RemovableHandle

        def hook(g: "Tensor") -> Any:
            r = fn((g,))
            return None if r is None else r[0]

        self.register_hook(hook)
        return _RemovableHandle(self.hooks, hook)

    def release(self) -> None:
        self._saved = None
        self._out = None
        self.freed = True


# ---- saved_tensors_hooks: ops/_opdef.py `_record` calls pack_saved while the stack is set ----
SAVED_TENSOR_HOOKS: list = []  # (pack_hook, unpack_hook) pairs, innermost last


class saved_tensors_hooks:
    """Context manager: ``pack_hook(tensor) -> object`` runs on every tensor autograd saves
    for backward, and ``unpack_hook(object) -> tensor`` when backward reads it back, as
    ``torch.autograd.graph.saved_tensors_hooks``. Nested contexts: the innermost pair applies.

    Example:
        >>> with ds.autograd.graph.saved_tensors_hooks(lambda t: t.numpy(), ds.from_numpy):
        ...     y = ds.randn(3, requires_grad=True).exp()
    """

    def __init__(self, pack_hook: Callable[["Tensor"], Any],
                 unpack_hook: Callable[[Any], "Tensor"]) -> None:
        self.pack_hook, self.unpack_hook = pack_hook, unpack_hook

    def __enter__(self) -> "saved_tensors_hooks":
        if _HOOKS_DISABLED:
            raise RuntimeError(_HOOKS_DISABLED[-1])
        SAVED_TENSOR_HOOKS.append((self.pack_hook, self.unpack_hook))
        return self

    def __exit__(self, *exc: Any) -> None:
        SAVED_TENSOR_HOOKS.pop()


_HOOKS_DISABLED: list = []  # error messages of the active disable_saved_tensors_hooks


class disable_saved_tensors_hooks:
    """Context manager under which entering :class:`saved_tensors_hooks` raises
    ``RuntimeError(error_message)``, as ``torch.autograd.graph.disable_saved_tensors_hooks``."""

    def __init__(self, error_message: str) -> None:
        self.error_message = error_message

    def __enter__(self) -> None:
        _HOOKS_DISABLED.append(self.error_message)

    def __exit__(self, *exc: Any) -> None:
        _HOOKS_DISABLED.pop()


def increment_version(tensor: Any) -> None:
    """Bump the version counter of ``tensor`` (or of each tensor of an iterable), as an
    in-place write would, so autograd refuses saved copies of the old value."""
    from ..tensor import Tensor

    for t in ([tensor] if isinstance(tensor, Tensor) else tensor):
        t._version_box[0] += 1


# ---- run_backward pushes a list per run; callbacks appended to it run when that run ends ----
_FINISH: list = []


class _MultiHandle:
    __slots__ = ("handles",)

    def __init__(self, handles: list) -> None:
        self.handles = handles

    def remove(self) -> None:
        for h in self.handles:
            h.remove()


def register_multi_grad_hook(tensors: Sequence["Tensor"], fn: Callable, *,
                             mode: str = "all") -> _MultiHandle:
    """Call ``fn`` once per backward pass that reaches any of ``tensors``, as
    ``torch.autograd.graph.register_multi_grad_hook``.

    With ``mode="all"``, ``fn(grads)`` gets one gradient per tensor (None for those the pass did
    not reach) when the pass ends; with ``mode="any"``, ``fn(grad)`` gets the first gradient the
    pass computes among them. Returns a handle whose ``remove()`` unregisters the hook.

    Example:
        >>> a, b = ds.ones(2, requires_grad=True), ds.ones(2, requires_grad=True)
        >>> got = []
        >>> h = ds.autograd.graph.register_multi_grad_hook((a, b), got.append)
        >>> (a * 2).sum().backward()
        >>> [g is None for g in got[0]]
        [False, True]
    """
    if mode not in ("all", "any"):
        raise ValueError(f"Expects mode to be one of ('all', 'any') but got {mode}")
    tensors = list(tensors)
    state: dict = {"run": None, "grads": None}

    def make(i: int) -> Callable:
        def hook(g: "Tensor") -> None:
            run = _FINISH[-1] if _FINISH else None
            if state["run"] is run:
                if mode == "all":
                    state["grads"][i] = g
                return
            state["run"] = run
            if mode == "any":
                fn(g)
                return
            grads: list = [None] * len(tensors)
            grads[i] = g
            state["grads"] = grads
            if run is None:
                fn(grads)
            else:
                run.append(lambda: fn(grads))

        return hook

    return _MultiHandle([t.register_hook(make(i)) for i, t in enumerate(tensors)
                         if t.requires_grad])


class _Packed:
    """Saved tensors as the pack hook returned them, with what autograd needs of the
    originals (version counter, requires_grad, grad_fn) to rebuild them on unpack."""

    __slots__ = ("unpack", "objects", "meta")

    def __init__(self, tensors: Sequence[Optional["Tensor"]]) -> None:
        pack, self.unpack = SAVED_TENSOR_HOOKS[-1]
        stack = SAVED_TENSOR_HOOKS[:]
        SAVED_TENSOR_HOOKS.clear()  # ops the hook runs save without it (no recursion)
        try:
            self.objects = tuple(None if t is None else pack(t) for t in tensors)
        finally:
            SAVED_TENSOR_HOOKS[:] = stack
        self.meta = tuple(None if t is None else (t._version_box, t._requires_grad, t.grad_fn,
                                                  t._device) for t in tensors)

    def tensors(self) -> tuple:
        from ..tensor import Tensor

        out = []
        for obj, meta in zip(self.objects, self.meta):
            if meta is None:
                out.append(None)
                continue
            t = self.unpack(obj)
            if not isinstance(t, Tensor):
                raise TypeError("Output of saved tensor unpack_hook expected to be a Tensor but "
                                f"got result of type {type(t).__name__}")
            u = Tensor._wrap(t._data, meta[3])
            u._version_box, u._requires_grad, u.grad_fn = meta[0], meta[1], meta[2]
            out.append(u)
        return tuple(out)


def pack_saved(node: Node, out: "Tensor") -> None:
    """Replace what ``node`` saved by the active pack hook's objects."""
    if node._saved is not None:
        node._saved = _Packed(node._saved)
    if node._out is not None:
        node._out = _Packed((out,))


class AccumulateGrad:
    """What ``next_functions`` shows for a leaf: its gradient is summed into ``.grad``."""

    __slots__ = ("variable",)

    def __init__(self, variable: "Tensor") -> None:
        self.variable = variable

    def name(self) -> str:
        return "AccumulateGrad"

    def __repr__(self) -> str:
        return f"<AccumulateGrad object at {hex(id(self))}>"


def _modified_message(node: Node, t: "Tensor", expected: int, box=None) -> str:
    now = (box or t._version_box)[0]
    return (
        "one of the variables needed for gradient computation has been modified by an inplace "
        f"operation: [{t.dtype.name} {list(t.shape)}], which is used by {node.name()}, is at "
        f"version {now}; expected version {expected} instead. Hint: the op that changed it ran in "
        "place after this one; use an out-of-place version (e.g. x = x + y, not x += y) or "
        ".clone() first."
    )


def sum_to(g: "Tensor", shape: tuple) -> "Tensor":
    """Sum a gradient computed in a broadcast shape back to ``shape`` (the one unbroadcast)."""
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    dims = tuple(range(lead)) + tuple(
        i + lead for i, n in enumerate(shape) if n == 1 and g.shape[i + lead] != 1
    )
    if dims:
        g = g.sum(dim=dims, keepdim=True)
    if lead:
        g = g.reshape(shape)
    return g


def _collect(roots: Sequence[Node]) -> dict:
    """Count, for each reachable node and leaf, how many edges point at it."""
    deps: dict = {}
    stack = list(roots)
    seen = set(id(n) for n in roots)
    for n in roots:
        deps.setdefault(n, 0)
    while stack:
        node = stack.pop()
        for e in node.next:
            if e is None:
                continue
            deps[e] = deps.get(e, 0) + 1
            if type(e) is Node and id(e) not in seen:
                seen.add(id(e))
                stack.append(e)
    return deps


def run_backward(
    tensors: Sequence["Tensor"],
    grad_tensors: Sequence["Tensor"],
    retain_graph: bool,
    create_graph: bool,
    inputs: Optional[Sequence["Tensor"]] = None,
    accumulate: bool = True,
) -> Optional[list]:
    """Propagate ``grad_tensors`` from ``tensors`` to the leaves.

    With ``accumulate`` the leaves' ``.grad`` are updated (``backward``); otherwise the gradients
    of ``inputs`` are returned and nothing is accumulated (``autograd.grad``). Of a non-leaf
    root only ``grad_fn`` is read (a checkpoint passes stand-ins without data).
    """
    pending: dict = {}
    leaf_grads: dict = {}
    roots = []
    for t, g in zip(tensors, grad_tensors):
        node = t.grad_fn
        if node is None:
            _deliver_leaf(t, g, leaf_grads, accumulate, create_graph)
            continue
        pending[node] = _sum(pending[node], g) if node in pending else g
        roots.append(node)

    # For autograd.grad on non-leaf inputs, the gradient is what arrives at their node.
    wanted_nodes = {}
    if inputs is not None:
        for i, t in enumerate(inputs):
            if t.grad_fn is not None:
                wanted_nodes[t.grad_fn] = i
    captured: dict = {}

    deps = _collect(roots)
    # with inputs, only the part of the graph that leads to them runs (and fires hooks)
    leaf_ids = None if inputs is None else {id(t) for t in inputs if t.grad_fn is None}
    below = None if inputs is None else _leading_to(roots, leaf_ids, wanted_nodes)
    to_leaves: dict = {}  # leaf -> (its gradient so far, whether the engine owns that array)
    ready = [n for n in roots if deps[n] == 0]
    ready = list(dict.fromkeys(ready))
    prev = STATE.enabled
    STATE.enabled = create_graph
    _FINISH.append([])
    try:
        while ready:
            node = ready.pop()
            g = pending.pop(node, None)
            if below is not None and node not in below and node not in wanted_nodes:
                g = None
            if g is not None:
                if node.hooks:
                    for hook in node.hooks:
                        r = hook(g)
                        if r is not None:
                            g = r
                if node.retained is not None:
                    t = node.retained()
                    if t is not None:
                        t.grad = g if create_graph else g.detach()
                if node in wanted_nodes:
                    captured[wanted_nodes[node]] = g
                if below is None or node in below:
                    _send(node, g, pending, to_leaves, leaf_ids)
                if not retain_graph:
                    node.release()
                g = None  # the next vjp may free memory (a checkpointed block's) only if g goes
            for edge in node.next:
                if edge is None:
                    continue
                deps[edge] -= 1
                if deps[edge] == 0:
                    if type(edge) is Node:
                        ready.append(edge)
                    elif edge in to_leaves:  # every share has arrived: hooks see the sum
                        gl, fresh = to_leaves.pop(edge)
                        _deliver_leaf(edge, gl, leaf_grads, accumulate, create_graph, fresh)
                        gl = None
    finally:
        STATE.enabled = prev
        finish = _FINISH.pop()
    for callback in finish:  # register_multi_grad_hook's, once every gradient has arrived
        callback()
    if inputs is None:
        return None
    out = []
    for i, t in enumerate(inputs):
        out.append(captured.get(i) if t.grad_fn is not None else leaf_grads.get(id(t)))
    return out


def _send(node: Node, g: "Tensor", pending: dict, to_leaves: dict,
          leaf_ids: Optional[set]) -> None:
    """Run ``node``'s vjp on ``g`` and add each input's share to the pending gradient of the
    node that made it, or of the leaf (only the wanted leaves when ``leaf_ids`` is given)."""
    if ANOMALY.enabled:
        grads = _checked_vjp(node, g)
    else:
        grads = node.op.vjp(node, g)
        if not isinstance(grads, tuple):
            grads = (grads,)
    for edge, shape, dt, gi in zip(node.next, node.shapes, node.dtypes, grads):
        if edge is None or gi is None:
            continue
        if shape is not None:  # None: one output's share of a multi-output node
            if gi._data.shape != shape:
                gi = sum_to(gi, shape)
            if gi._data.dtype != dt:
                gi = _to_input_dtype(gi, dt)
        if type(edge) is Node:
            pending[edge] = _sum(pending[edge], gi) if edge in pending else gi
        elif edge in to_leaves:
            to_leaves[edge] = (_sum(to_leaves[edge][0], gi), True)
        elif leaf_ids is None or id(edge) in leaf_ids:
            # a gradient the vjp just made, owning its memory and going to this leaf alone,
            # can become .grad without the defensive copy
            fresh = (gi is not g and gi._data.base is None
                     and sum(x is gi for x in grads) == 1
                     and not any(x is not None and x._data.base is gi._data for x in grads))
            to_leaves[edge] = (gi, fresh)


def _checked_vjp(node: Node, g: "Tensor") -> tuple:
    """The vjp under anomaly detection: a failure or a NaN names the node and shows the forward
    stack that made it."""
    try:
        grads = node.op.vjp(node, g)
    except Exception:
        forward_stack_warning(node)
        raise
    if not isinstance(grads, tuple):
        grads = (grads,)
    if ANOMALY.check_nan:
        for i, gi in enumerate(grads):
            if gi is not None and (gi.is_floating_point() or gi.is_complex()) and bool(
                    np.isnan(gi._data).any()):
                forward_stack_warning(node)
                raise RuntimeError(f"Function '{node.name()}' returned nan values in its {i}th "
                                   "output.")
    return grads


def _leading_to(roots: Sequence[Node], leaf_ids: set, wanted: dict) -> set:
    """The nodes from which a wanted leaf or wanted node is reachable: the only ones whose vjps
    ``autograd.grad`` (and ``backward(inputs=...)``) has to run."""
    hit: dict = {}
    for root in roots:
        if root in hit:
            continue
        hit[root] = False
        stack = [(root, iter(root.next))]
        while stack:
            node, edges = stack[-1]
            for e in edges:
                if type(e) is Node:
                    if e not in hit:
                        hit[e] = False
                        stack.append((e, iter(e.next)))
                        break
                    if hit[e] or e in wanted:
                        hit[node] = True
                elif e is not None and id(e) in leaf_ids:
                    hit[node] = True
            else:
                stack.pop()
                if stack and (hit[node] or node in wanted):
                    hit[stack[-1][0]] = True
    return {n for n, v in hit.items() if v}


def _sum(a: "Tensor", b: "Tensor") -> "Tensor":
    """Two gradients of one tensor, added; a sparse one meeting a dense one is made dense
    first, as torch's engine does (a weight used by a sparse embedding and a dense op)."""
    if getattr(a, "is_sparse", False) != getattr(b, "is_sparse", False):  # (or output slots)
        a, b = (x.to_dense() if x.is_sparse else x for x in (a, b))
    return a + b


def _deliver_leaf(t: "Tensor", g: "Tensor", leaf_grads: dict, accumulate: bool,
                  create_graph: bool, fresh: bool = False) -> None:
    if t._hooks:
        for hook in t._hooks:
            r = hook(g)
            if r is not None:
                g, fresh = r, False
    if not accumulate:
        k = id(t)
        leaf_grads[k] = _sum(leaf_grads[k], g) if k in leaf_grads else g
        return
    if not t._requires_grad:
        return
    if t.grad is None:
        # the incoming gradient may be shared with other leaves: store a private copy
        t.grad = g if create_graph else g.detach() if fresh else g.detach().clone()
    elif create_graph or t.grad._requires_grad or t.grad.is_sparse or g.is_sparse:
        t.grad = _sum(t.grad, g)
    else:
        t.grad._data += g._data
        t.grad._version_box[0] += 1
    if t._post_hooks:
        for hook in t._post_hooks:
            hook(t)


def _to_input_dtype(g: Any, dt: Any) -> Any:
    """A gradient in its input's dtype; a real input of a complex op gets the real part."""
    if g._data.dtype.kind == "c" and dt.kind != "c":
        g = g.real
    return g.to(dt)
