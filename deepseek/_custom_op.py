"""User-defined primitives: ``@deepseek.operator``, ``CustomOperator`` and ``register_operator``.

A custom operator is registered into the same op registry as the built-in primitives (through
``defop``), so eager dispatch, autograd, autocast and the compiler treat it like any other op.
Its forward works on backend arrays (``forward(xp, *arrays, **attrs)``, ``xp`` being NumPy or
CuPy), never on Tensors; its backward works on Tensors (so it is differentiable again).
"""

from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np

from ._errors import op_error
from .ops._opdef import OpDef, apply, defop
from .tensor import Tensor

__all__ = ["operator", "CustomOperator", "register_operator"]


class CustomOp:
    """The front door of a registered custom operator: call it with tensors and attributes.

    ``op`` is its :class:`~deepseek.ops._opdef.OpDef` in the registry.
    """

    def __init__(self, op: OpDef, doc: str) -> None:
        self.op = op
        self.name = op.name
        self.__doc__ = doc

    def __call__(self, *args: Any, **attrs: Any) -> Tensor:
        operands = []
        for i, a in enumerate(args):
            if isinstance(a, Tensor):
                operands.append(a)
            elif isinstance(a, (bool, int, float, np.ndarray, np.generic)):
                operands.append(np.asarray(a))
            else:
                raise op_error(TypeError, self.name, f"argument {i} must be a Tensor or a number, "
                               f"not {type(a).__name__}")
        if not any(isinstance(a, Tensor) for a in operands):
            raise op_error(TypeError, self.name, "expected at least one Tensor argument")
        return apply(self.op, *operands, **attrs)

    def __repr__(self) -> str:
        return f"<custom operator {self.name}>"


def _like_first(*specs: Any, **attrs: Any) -> tuple:
    return specs[0].shape, specs[0].dtype


def _checked(name: str, forward: Callable) -> Callable:
    """Forward that checks its result has its first input's shape (the default shape rule)."""

    def checked_forward(xp: Any, *arrays: Any, **attrs: Any) -> Any:
        out = forward(xp, *arrays, **attrs)
        if out.shape != arrays[0].shape:
            raise op_error(RuntimeError, name, f"forward returned shape {list(out.shape)} but "
                           f"the default shape rule expects the first input's "
                           f"{list(arrays[0].shape)}; pass meta= to the operator", *arrays)
        return out

    return checked_forward


def _register(name: str, forward: Callable, backward: Optional[Callable],
              meta: Optional[Callable], kind: str, expr: Optional[str], amp: Optional[str],
              save_inputs: bool, save_output: bool, doc: str) -> CustomOp:
    if meta is None:
        meta, forward = _like_first, _checked(name, forward)
    op = defop(name, forward, meta, backward, kind=kind, expr=expr, amp=amp,
               save_inputs=save_inputs, save_output=save_output, doc=doc)
    return CustomOp(op, doc)


def operator(name: str, *, backward: Optional[Callable] = None, meta: Optional[Callable] = None,
             kind: str = "opaque", expr: Optional[str] = None, amp: Optional[str] = None,
             save_inputs: bool = True, save_output: bool = False) -> Callable:
    """Register the decorated function as the forward of a new primitive named ``name``.

    Args:
        name: a unique registry name, e.g. ``"mylib::scaled_tanh"``.
        backward: ``backward(ctx, grad) -> gradient or tuple of gradients`` written in Tensor
            ops; ``ctx.inputs`` (when ``save_inputs``), ``ctx.out`` (when ``save_output``),
            ``ctx.attrs``. None makes the op non-differentiable.
        meta: ``meta(*arrays_or_specs, **attrs) -> (shape, numpy dtype)``; by default the
            output has the first input's shape and dtype.
        kind: ``"elementwise"`` (then give ``expr``), ``"reduce"``, ``"view"`` or ``"opaque"``.
        amp: autocast category: ``"lower"``, ``"fp32"``, ``"promote"`` or None.

    The decorated ``forward(xp, *arrays, **attrs)`` works on backend arrays. The result is the
    callable front door: ``op(*tensors, **attrs) -> Tensor``.

    Example:
        >>> @deepseek.operator("demo::cube", backward=lambda ctx, g: 3 * ctx.inputs[0] ** 2 * g)
        ... def cube(xp, x):
        ...     return x * x * x
        >>> cube(deepseek.tensor([2.0]))
        tensor([8.])
    """

    def register(forward: Callable) -> CustomOp:
        return _register(name, forward, backward, meta, kind, expr, amp, save_inputs,
                         save_output, forward.__doc__ or "")

    return register


class CustomOperator:
    """Base class of a custom primitive written as a class; register it with
    :func:`register_operator`.

    Override ``forward(self, xp, *arrays, **attrs)`` (on backend arrays) and
    ``backward(self, ctx, grad)`` (on Tensors); optionally ``meta(self, *specs, **attrs)``.
    Class attributes ``kind``, ``expr``, ``amp``, ``save_inputs``, ``save_output`` are passed to
    the registry.
    """

    kind: str = "opaque"
    expr: Optional[str] = None
    amp: Optional[str] = None
    save_inputs: bool = True
    save_output: bool = False

    def forward(self, xp: Any, *arrays: Any, **attrs: Any) -> Any:
        raise NotImplementedError("a CustomOperator must implement forward(xp, *arrays, **attrs)")

    def backward(self, ctx: Any, grad: Tensor) -> Any:
        raise NotImplementedError("a CustomOperator must implement backward(ctx, grad) to be "
                                  "differentiated")


def register_operator(name: str, cls: type) -> CustomOp:
    """Register a :class:`CustomOperator` subclass as the primitive ``name``; returns its front
    door."""
    if not (isinstance(cls, type) and issubclass(cls, CustomOperator)):
        raise TypeError(f"register_operator expects a CustomOperator subclass, got {cls!r}")
    impl = cls()
    backward = impl.backward if cls.backward is not CustomOperator.backward else None
    meta = impl.meta if hasattr(impl, "meta") else None
    return _register(name, impl.forward, backward, meta, cls.kind, cls.expr, cls.amp,
                     cls.save_inputs, cls.save_output, cls.__doc__ or "")
