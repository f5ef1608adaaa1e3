"""The OpDef record, the op registry, and the one dispatch path every primitive call takes."""

from __future__ import annotations

from typing import Any, Callable, NoReturn, Optional

import numpy as np

from .._errors import op_error
from ..autograd.graph import SAVED_TENSOR_HOOKS, Node, pack_saved
from ..autograd.grad_mode import STATE
from ..tensor import Tensor

__all__ = ["OpDef", "defop", "REGISTRY", "apply", "apply_inplace", "autocast_args",
           "verify_registry", "tensor_method", "TENSOR_METHODS", "KINDS", "AMP_CATEGORIES",
           "TRACER", "FORWARD_AD"]

KINDS = ("elementwise", "reduce", "view", "opaque")
AMP_CATEGORIES = ("lower", "fp32", "promote", None)


class OpDef:
    """One primitive: its forward on backend arrays, shape/dtype rule, vjp and compiler facts.

    Attributes:
        name: PyTorch's aten name.
        forward: ``forward(xp, *arrays, **attrs) -> array``.
        meta: ``meta(*specs, **attrs) -> (shape, numpy dtype)``; specs have ``.shape``/``.dtype``.
            It raises the op's errors, so eager, tracing and the meta device report the same.
        vjp: ``vjp(ctx, g) -> tuple of input gradients`` written in Tensor ops, or None when the
            op is not differentiable (comparisons, argmax …).
        kind: one of ``KINDS``, for fusion.
        expr: for elementwise ops, the scalar expression over ``{0}``, ``{1}``… fused kernels
            are made of (``math``/``np`` functions of Python scalars).
        amp: autocast category: ``"lower"`` (run in the low dtype), ``"fp32"``, ``"promote"``.
        save_inputs / save_output: what the vjp reads, so nothing else is kept alive
            (``save_inputs`` may be a tuple of input positions; the others read as None).
        data_shape: the output's shape depends on the inputs' values (``nonzero``), which a
            compiled graph cannot bake in.
        complex: the forward and vjp are right for complex operands (views always are); other
            ops refuse them, so nothing complex is silently computed as real.
    """

    __slots__ = ("name", "forward", "meta", "vjp", "kind", "expr", "amp", "save_inputs",
                 "save_output", "doc", "is_view", "data_shape", "complex")

    def __init__(self, name: str, forward: Callable, meta: Callable, vjp: Optional[Callable],
                 kind: str, expr: Optional[str], amp: Optional[str], save_inputs: bool,
                 save_output: bool, doc: str, data_shape: bool = False,
                 complex: bool = False) -> None:
        self.name = name
        self.forward = forward
        self.meta = meta
        self.vjp = vjp
        self.kind = kind
        self.expr = expr
        self.amp = amp
        self.save_inputs = save_inputs
        self.save_output = save_output
        self.doc = doc
        self.is_view = kind == "view"
        self.data_shape = data_shape
        self.complex = complex or self.is_view

    def __repr__(self) -> str:
        return f"OpDef({self.name!r}, kind={self.kind!r})"


REGISTRY: dict[str, OpDef] = {}


def defop(name: str, forward: Callable, meta: Callable, vjp: Optional[Callable] = None, *,
          kind: str = "opaque", expr: Optional[str] = None, amp: Optional[str] = None,
          save_inputs: bool = True, save_output: bool = False, doc: str = "",
          data_shape: bool = False, complex: bool = False) -> OpDef:
    """Register a primitive. Names are unique; a second definition is an error."""
    if name in REGISTRY:
        raise ValueError(f"[defop] an op named {name!r} is already registered")
    if kind not in KINDS:
        raise ValueError(f"[defop] {name}: kind must be one of {KINDS}, got {kind!r}")
    if amp not in AMP_CATEGORIES:
        raise ValueError(f"[defop] {name}: amp must be one of {AMP_CATEGORIES}, got {amp!r}")
    op = OpDef(name, forward, meta, vjp, kind, expr, amp, save_inputs, save_output, doc,
               data_shape, complex)
    REGISTRY[name] = op
    return op


def verify_registry() -> list[str]:
    """Names of ops missing a required rule (empty when every op is complete)."""
    problems = []
    for op in REGISTRY.values():
        if not callable(op.forward) or not callable(op.meta):
            problems.append(f"{op.name}: forward and meta are required")
        if op.kind == "elementwise" and op.expr is None:
            problems.append(f"{op.name}: elementwise ops need an expr")
    return problems


TENSOR_METHODS: dict[str, Callable] = {}


def tensor_method(fn: Callable = None, *, name: Optional[str] = None):
    """Mark a front door that is also a Tensor method of the same name (first arg ``input``)."""

    def mark(f: Callable) -> Callable:
        TENSOR_METHODS[name or f.__name__] = f
        return f

    return mark(fn) if fn is not None else mark


# The tracer of ds.jit (deepseek/jit/capture.py installs it while it captures a function):
# ``tracer.record(op, arrays, args, attrs, out, cast)`` sees every primitive that runs.
TRACER: list = [None]

# The active forward-AD level (deepseek/autograd/forward_ad.py installs it inside dual_level):
# ``level.propagate(op, args, attrs, out)`` gives ``out`` its tangent, ``level.inplace(op, target,
# args, attrs)`` runs an in-place op and updates ``target``'s. One read per op when none is active.
FORWARD_AD: list = [None]

# The autocast policy (deepseek/amp installs it while an autocast region is active):
# ``policy(op, args) -> args`` casts floating operands by ``op.amp``.
AUTOCAST: list = [None]


def autocast_args(op: OpDef, *args: Any) -> tuple:
    """``args`` as the active autocast policy would cast them for ``op`` (unchanged when off).

    Front doors that check or combine dtypes before reaching ``apply`` (matmul's same-dtype
    check, a bias added after a GEMM) call this first, so autocast sees them as PyTorch does.
    """
    policy = AUTOCAST[0]
    if policy is None or op.amp is None:
        return args
    return tuple(policy(op, args))


class autocast_exempt:
    """Run a composition without the autocast policy (PyTorch autocasts ``mm`` but not ``mv``)."""

    def __enter__(self) -> None:
        self.saved, AUTOCAST[0] = AUTOCAST[0], None

    def __exit__(self, *exc: Any) -> None:
        AUTOCAST[0] = self.saved


def apply(op: OpDef, *args: Any, **attrs: Any) -> Tensor:
    """Run ``op`` on tensors (or constant arrays) and record it for autograd when needed."""
    policy = AUTOCAST[0]
    if policy is not None and op.amp is not None:
        args = policy(op, args)
    try:
        arrays = [a._data for a in args]
        consts = False
    except AttributeError:
        arrays = [a._data if isinstance(a, Tensor) else a for a in args]
        consts = True
    if not op.complex:
        for a in arrays:
            if getattr(a, "dtype", None) in COMPLEX_NP:
                _refuse_complex(op.name, arrays)
    shape, dtype = op.meta(*arrays, **attrs)
    try:
        out = op.forward(np, *arrays, **attrs)
    except (ValueError, TypeError, IndexError, FloatingPointError) as e:
        _reraise(op.name, e, arrays)
    cast = out.dtype != dtype
    if cast:
        out = out.astype(dtype)
    elif isinstance(out, np.generic):  # NumPy returns scalars for 0-d results
        out = np.asarray(out)
        cast = True
    if TRACER[0] is not None:
        TRACER[0].record(op, arrays, args, attrs, out, cast)
    t = Tensor._wrap(out)
    if op.is_view and isinstance(args[0], Tensor):
        src = args[0]
        t._base = src if src._base is None else src._base
        t._version_box = src._version_box
    # integer and bool results are never differentiable (x.long(), a cast mask), as in PyTorch
    if STATE.enabled and op.vjp is not None and out.dtype.kind not in "biu":
        if consts:
            if any(isinstance(a, Tensor) and a._requires_grad for a in args):
                _record(op, args, attrs, t)
        else:
            for a in args:
                if a._requires_grad:
                    _record(op, args, attrs, t)
                    break
    if FORWARD_AD[0] is not None:
        FORWARD_AD[0].propagate(op, args, attrs, t)
    return t


COMPLEX_NP = frozenset((np.dtype(np.complex64), np.dtype(np.complex128)))


def _refuse_complex(name: str, arrays: list) -> NoReturn:
    raise op_error(RuntimeError, name, "does not support complex tensors yet; take .real, .imag "
                   "or .abs() first, or view_as_real()", *arrays)


def _reraise(name: str, e: Exception, arrays: list) -> NoReturn:
    """Our own errors (``[op] …``) pass through; a backend's raw error is wrapped to name the op."""
    if str(e).startswith("["):
        raise e
    raise op_error(RuntimeError, name, f"failed: {e}", *arrays) from e


def _record(op: OpDef, args: tuple, attrs: dict, out: Tensor) -> Node:
    edges, shapes, dtypes = [], [], []
    for a in args:
        if isinstance(a, Tensor):
            edges.append((a.grad_fn or a) if a._requires_grad else None)
            a = a._data
        else:
            edges.append(None)
        shapes.append(a.shape)
        dtypes.append(a.dtype)
    node = Node(op, tuple(edges), attrs, tuple(shapes), tuple(dtypes))
    keep = op.save_inputs
    if keep:
        node._saved = tuple(
            None if keep is not True and i not in keep
            else a if isinstance(a, Tensor) else Tensor._wrap(np.asarray(a))
            for i, a in enumerate(args))
        node._versions = tuple(None if a is None else a._version_box[0] for a in node._saved)
    if op.save_output:
        node._out = out._data
        node._out_box = out._version_box
        node._out_version = out._version_box[0]
    out.grad_fn = node
    out._requires_grad = True
    if SAVED_TENSOR_HOOKS:  # saved_tensors_hooks active: pack what the node saved
        pack_saved(node, out)
    return node


_LEAF_INPLACE = "a leaf Variable that requires grad is being used in an in-place operation."


def apply_inplace(op: OpDef, target: Tensor, *args: Any, **attrs: Any) -> Tensor:
    """Run ``op(target, *args)`` and write the result into ``target``'s storage.

    Autograd sees the new value as the output of ``op`` applied to the old one (whose data
    is copied first when the vjp needs it).
    """
    if FORWARD_AD[0] is not None:
        return FORWARD_AD[0].inplace(op, target, args, attrs)
    if target._requires_grad and target.grad_fn is None and STATE.enabled:
        raise RuntimeError(_LEAF_INPLACE)
    arrays = [target._data] + [a._data if isinstance(a, Tensor) else a for a in args]
    if not op.complex:
        for a in arrays:
            if getattr(a, "dtype", None) in COMPLEX_NP:
                _refuse_complex(op.name + "_", arrays)
    shape, dtype = op.meta(*arrays, **attrs)
    tdata = target._data
    if shape != tdata.shape:
        raise op_error(RuntimeError, op.name + "_", f"output with shape {list(tdata.shape)} "
                       f"doesn't match the broadcast shape {list(shape)}", *arrays)
    if dtype != tdata.dtype and not np.can_cast(dtype, tdata.dtype, "same_kind"):
        raise op_error(RuntimeError, op.name + "_", f"result type {dtype} can't be cast to the "
                       f"desired output type {tdata.dtype}", *arrays)
    needs_grad = STATE.enabled and op.vjp is not None and (
        target._requires_grad or any(isinstance(a, Tensor) and a._requires_grad for a in args))
    if needs_grad and target._base is not None:
        from .movement import inplace_on_view

        return inplace_on_view(op, target, args, attrs)
    old = target
    if needs_grad:
        old = Tensor._wrap(tdata.copy() if op.save_inputs else tdata)
        old._requires_grad, old.grad_fn = target._requires_grad, target.grad_fn
    try:
        out = op.forward(np, *arrays, **attrs)
    except (ValueError, TypeError, IndexError) as e:
        _reraise(op.name + "_", e, arrays)
    try:
        np.copyto(tdata, out, casting="unsafe")
    except ValueError:
        if getattr(tdata, "flags", None) is None or tdata.flags.writeable:
            raise
        raise op_error(RuntimeError, op.name + "_", "the tensor's memory is read-only (shared "
                       "with a NumPy array that is not writeable, by from_numpy, from_dlpack or "
                       "frombuffer): clone() it before writing to it", *arrays) from None
    target._version_box[0] += 1
    if TRACER[0] is not None:
        TRACER[0].record(op, arrays, (target,) + args, attrs, tdata, False, inplace=True)
    if needs_grad:
        _record(op, (old,) + args, attrs, target)
        if op.save_output:  # the saved output is target's storage at its new version
            target.grad_fn._out_version = target._version_box[0]
    return target
