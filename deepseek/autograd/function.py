"""``autograd.Function``: user-defined forward/backward pairs recorded as one graph node.

A Function's application becomes a :class:`~deepseek.autograd.graph.Node` whose ``op`` is a
per-class :class:`_FunctionOp`; the engine calls its ``vjp``, which calls the user's
``backward``. A Function with several differentiable outputs gives each output a small
selector node that hands its gradient to the shared node as one slot of a :class:`_Slots`.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Optional

from .grad_mode import STATE
from .graph import SAVED_TENSOR_HOOKS, Node, _Packed

__all__ = ["Function", "FunctionCtx", "once_differentiable"]


class FunctionCtx:
    """The ``ctx`` a Function's ``forward`` fills and its ``backward`` reads."""

    def __init__(self) -> None:
        self.needs_input_grad: tuple = ()
        self.materialize_grads = True
        self._to_save: tuple = ()
        self._non_differentiable: tuple = ()
        self._dirty: tuple = ()
        self._node: Optional[Node] = None

    def save_for_backward(self, *tensors: Any) -> None:
        """Keep tensors (or None) for ``backward``; read them back from ``saved_tensors``."""
        from ..tensor import Tensor

        for t in tensors:
            if t is not None and not isinstance(t, Tensor):
                raise TypeError("save_for_backward can only save variables, but argument "
                                f"{tensors.index(t)} is of type {type(t).__name__}")
        self._to_save = tensors

    @property
    def saved_tensors(self) -> tuple:
        """The saved tensors; raises if one was modified in place or the graph was freed."""
        node = self._node
        if node is None:
            return self._to_save
        return node.inputs

    def mark_non_differentiable(self, *tensors: Any) -> None:
        """Declare outputs that get no gradient (they come out with ``requires_grad=False``)."""
        self._non_differentiable = tensors

    def mark_dirty(self, *tensors: Any) -> None:
        """Declare inputs that ``forward`` modified in place (and returns as outputs)."""
        self._dirty = tensors

    def set_materialize_grads(self, value: bool) -> None:
        """With False, ``backward`` gets None (not zeros) for outputs that had no gradient."""
        self.materialize_grads = bool(value)


class _Slots:
    """Gradients of a multi-output node, one slot per output, summed slot by slot."""

    __slots__ = ("grads",)

    def __init__(self, grads: list) -> None:
        self.grads = grads

    def __add__(self, other: "_Slots") -> "_Slots":
        merged = []
        for a, b in zip(self.grads, other.grads):
            merged.append(b if a is None else a if b is None else a + b)
        return _Slots(merged)


class _SelectOp:
    """The op of the node that routes output ``index``'s gradient to the shared node."""

    __slots__ = ("name", "backward_name", "index", "count")

    def __init__(self, backward_name: str, index: int, count: int) -> None:
        self.name = backward_name
        self.backward_name = backward_name
        self.index, self.count = index, count

    def vjp(self, ctx: Node, g: Any) -> tuple:
        grads = [None] * self.count
        grads[self.index] = g
        return (_Slots(grads),)


class _FunctionOp:
    """The op of a Function's node: its ``vjp`` checks and runs the user's ``backward``."""

    __slots__ = ("cls", "name", "backward_name")

    def __init__(self, cls: type) -> None:
        self.cls = cls
        self.name = cls.__name__
        self.backward_name = cls.__name__ + "Backward"

    def vjp(self, node: Node, g: Any) -> tuple:
        ctx, outputs = node.attrs["ctx"], node.attrs["outputs"]
        grads = g.grads if isinstance(g, _Slots) else [g]
        if ctx.materialize_grads:  # zeros for tensor outputs without a gradient, as torch
            from .._creation import zeros

            grads = [zeros(out[0], dtype=out[1]) if gi is None and out is not None else gi
                     for gi, out in zip(grads, outputs)]
        result = self.cls.backward(ctx, *grads)
        if not isinstance(result, tuple):
            result = (result,)
        n = len(node.next)
        if len(result) > n and all(r is None for r in result[n:]):
            result = result[:n]  # PyTorch tolerates trailing Nones
        if len(result) != n:
            raise RuntimeError(f"function {self.backward_name} returned an incorrect number of "
                               f"gradients (expected {n}, got {len(result)})")
        for i, (r, edge, shape) in enumerate(zip(result, node.next, node.shapes)):
            if r is None or edge is None:
                continue
            if not hasattr(r, "_data"):
                raise TypeError(f"function {self.backward_name} returned a gradient different "
                                f"from None or a Tensor at position {i}")
            if not _expandable(tuple(r.shape), shape):
                raise RuntimeError(f"Function {self.backward_name} returned an invalid gradient "
                                   f"at index {i} - got {list(r.shape)} but expected shape "
                                   f"compatible with {list(shape)}")
        return tuple(r if edge is not None else None for r, edge in zip(result, node.next))


def _expandable(got: tuple, want: tuple) -> bool:
    """Whether a gradient of shape ``got`` sums back to ``want`` (``want`` broadcasts to it)."""
    if len(want) > len(got):
        return False
    return all(w == g or w == 1 for w, g in zip(want[::-1], got[::-1]))


class _FunctionMeta(type):
    def __init__(cls, name: str, bases: tuple, namespace: dict) -> None:
        super().__init__(name, bases, namespace)
        cls._op = _FunctionOp(cls)


class Function(metaclass=_FunctionMeta):
    """Base class of differentiable operations with a hand-written backward.

    Subclass it, write ``forward(ctx, *args)`` and ``backward(ctx, *grad_outputs)`` as static
    methods, and call ``YourFunction.apply(*args)``. ``backward`` returns one gradient per
    ``forward`` argument (None for non-tensors and inputs that need none). Alternatively,
    ``forward(*args)`` without ``ctx`` plus ``setup_context(ctx, inputs, output)``.

    Example:
        >>> class Exp(Function):
        ...     @staticmethod
        ...     def forward(ctx, x):
        ...         y = x.exp()
        ...         ctx.save_for_backward(y)
        ...         return y
        ...     @staticmethod
        ...     def backward(ctx, g):
        ...         (y,) = ctx.saved_tensors
        ...         return g * y
        >>> Exp.apply(deepseek.ones(2, requires_grad=True)).sum().backward()
    """

    @staticmethod
    def forward(ctx: FunctionCtx, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("You must implement the forward function for custom "
                                  "autograd.Function.")

    @staticmethod
    def setup_context(ctx: FunctionCtx, inputs: tuple, output: Any) -> None:
        raise NotImplementedError

    @staticmethod
    def backward(ctx: FunctionCtx, *grad_outputs: Any) -> Any:
        raise NotImplementedError("You must implement either the backward or vjp method for "
                                  "your custom autograd.Function to use it with backward mode AD.")

    vjp = backward

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        """Run ``forward`` without recording, then record one node whose backward is ours."""
        from ..tensor import Tensor

        ctx = FunctionCtx()
        grad_on = STATE.enabled
        ctx.needs_input_grad = tuple(grad_on and isinstance(a, Tensor) and a._requires_grad
                                     for a in args)
        separate = cls.setup_context is not Function.setup_context
        prev, STATE.enabled = STATE.enabled, False
        try:
            if separate:
                output = cls.forward(*args, **kwargs)
                cls.setup_context(ctx, args, output)
            else:
                output = cls.forward(ctx, *args, **kwargs)
        finally:
            STATE.enabled = prev
        is_tuple = isinstance(output, tuple)
        outs = list(output) if is_tuple else [output]
        _check_dirty(ctx, args)
        for i, o in enumerate(outs):
            if isinstance(o, Tensor) and any(o is a for a in args) and not _in(o, ctx._dirty):
                outs[i] = o.detach()  # an input returned as is: a fresh alias gets the grad_fn
        if any(ctx.needs_input_grad):
            _record(cls, ctx, args, outs)
        return tuple(outs) if is_tuple else outs[0]


def _in(t: Any, group: tuple) -> bool:
    return any(t is x for x in group)


def _check_dirty(ctx: FunctionCtx, args: tuple) -> None:
    for t in ctx._dirty:
        if not _in(t, args):
            raise RuntimeError("mark_dirty was called on a tensor that is not an input")
        if t._requires_grad and t.grad_fn is None and STATE.enabled:
            raise RuntimeError("a leaf Variable that requires grad has been used in an in-place "
                               "operation.")


def _record(cls: type, ctx: FunctionCtx, args: tuple, outs: list) -> None:
    from ..tensor import Tensor

    edges = tuple((a.grad_fn if a.grad_fn is not None else a) if need else None
                  for a, need in zip(args, ctx.needs_input_grad))
    shapes = tuple(a.shape if isinstance(a, Tensor) else None for a in args)
    dtypes = tuple(a._data.dtype if isinstance(a, Tensor) else None for a in args)
    # backward takes one gradient per output: None for a non-tensor, zeros (when
    # materialized) for a tensor nothing differentiated, non-differentiable ones included
    diff = [i for i, o in enumerate(outs) if isinstance(o, Tensor)
            and (o.is_floating_point() or o.is_complex()) and not _in(o, ctx._non_differentiable)]
    signature = [(o.shape, o.dtype) if isinstance(o, Tensor) else None for o in outs]
    node = Node(cls._op, edges, {"ctx": ctx, "outputs": signature}, shapes, dtypes)
    saved = ctx._to_save
    node._versions = tuple(0 if t is None else t._version_box[0] for t in saved)
    # saved_tensors_hooks see these as they see an op's saved tensors (offload, checkpointing)
    node._saved = _Packed(saved) if SAVED_TENSOR_HOOKS and saved else saved
    ctx._node, ctx._to_save = node, ()  # the node holds them now, and frees them
    for i in diff:
        o = outs[i]
        if len(outs) == 1:
            o.grad_fn = node
        else:
            o.grad_fn = Node(_SelectOp(cls._op.backward_name, i, len(outs)), (node,), {},
                             (None,), (None,))
        o._requires_grad = True
    for o in outs:
        if isinstance(o, Tensor) and _in(o, ctx._non_differentiable):
            o.grad_fn, o._requires_grad = None, False


def once_differentiable(backward: Callable) -> Callable:
    """Decorate a ``backward`` that is not itself differentiable: it runs without recording,
    and differentiating its result a second time raises."""

    @functools.wraps(backward)
    def wrapper(ctx: FunctionCtx, *grads: Any) -> Any:
        from ..tensor import Tensor

        create_graph = STATE.enabled
        prev, STATE.enabled = STATE.enabled, False
        try:
            result = backward(ctx, *grads)
        finally:
            STATE.enabled = prev
        if not create_graph:
            return result
        single = not isinstance(result, tuple)
        upstream = [g for g in grads if isinstance(g, Tensor)]
        out = tuple(r if not isinstance(r, Tensor) else _OnceDifferentiable.apply(r, *upstream)
                    for r in ((result,) if single else result))
        return out[0] if single else out

    return wrapper


class _OnceDifferentiable(Function):
    """Marks a gradient that came from a ``once_differentiable`` backward."""

    @staticmethod
    def forward(ctx: FunctionCtx, result: Any, *upstream: Any) -> Any:
        return result.detach()

    @staticmethod
    def backward(ctx: FunctionCtx, g: Any) -> Any:
        raise RuntimeError("trying to differentiate twice a function that was marked with "
                           "@once_differentiable")
