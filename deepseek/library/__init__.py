"""``deepseek.library``: torch.library's API for user-defined operators (``custom_op``,
``Library``, ``register_*``, ``opcheck``). Each op is one primitive in the op registry, so eager
calls, autocast and ``ds.jit`` see a single ``ns::name`` node whatever its kernel does inside.
"""

from __future__ import annotations

import ast
import collections.abc
import inspect
import re
import typing
import weakref
from typing import Any, Callable, Iterable, Optional, Sequence, Union

import numpy as np

from .._errors import describe, op_error
from ..autograd.function import Function
from ..autograd.grad_mode import STATE, no_grad
from ..backend.device import device as _device
from ..dtypes import dtype as _dtype
from ..ops import _opdef
from ..ops._opdef import REGISTRY, apply, apply_inplace, defop
from ..tensor import _ITEM_HOOK, Tensor
from ._schema import _Schema, _check_supported, _infer_schema, _parse_schema, infer_schema

__all__ = ["custom_op", "CustomOpDef", "Library", "define", "impl", "register_fake",
           "register_autograd", "register_kernel", "infer_schema", "opcheck", "OpCheckError"]

# ---------------------------------------------------------------------------------------------
# The operator
# ---------------------------------------------------------------------------------------------

_OPS: dict = {}  # qualname -> CustomOpDef
_DEVICE_TYPES = ("cpu", "cuda")


def _split_qualname(name: Any) -> tuple:
    m = re.fullmatch(r"([A-Za-z_]\w*)::([A-Za-z_]\w*)", name) if isinstance(name, str) else None
    if m is None:
        raise ValueError(f"[ds.library] expected an operator name of the form "
                         f"'namespace::name' (e.g. 'mylib::my_op'), got {name!r}")
    return m.group(1), m.group(2)


def _array_device(arrays: Sequence) -> str:
    for a in arrays:
        if not isinstance(a, np.ndarray):
            return "cuda"  # a CuPy array
    return "cpu"


class CustomOpDef:
    """A user-defined operator: a primitive ``namespace::name`` in the op registry plus what
    was registered for it (kernels per device type, fake impl, autograd formula). Made by
    :func:`custom_op` or :meth:`Library.define`; call it like the function it wraps.

    The registered primitive's forward wraps the arrays it is given as Tensors and runs the
    kernel with recording and grad mode off: ``ds.jit`` records one node and
    autograd sees one operation, whose backward is the registered formula (an
    ``autograd.Function`` around the primitive, as torch's generated one).
    """

    def __init__(self, namespace: str, name: str, schema: _Schema,
                 fn: Optional[Callable] = None) -> None:
        qualname = f"{namespace}::{name}"
        _check_supported(qualname, schema)
        if qualname in _OPS or qualname in REGISTRY:
            raise RuntimeError(f"[{qualname}] tried to register an operator with the same name "
                               "multiple times; each operator is defined once (by custom_op or "
                               "Library.define)")
        self._namespace, self._name, self._qualname = namespace, name, qualname
        self._schema = schema
        self._init_fn = fn
        self._backend_fns: dict = {}  # device type (None: every device) -> kernel
        self._abstract_fn: Optional[Callable] = None
        self._backward_fn: Optional[Callable] = None
        self._setup_context_fn: Optional[Callable] = None
        self._autograd_fn: Optional[Callable] = None  # a Library "Autograd" kernel
        self._composite_fn: Optional[Callable] = None  # "CompositeImplicitAutograd"
        self._below_autograd = 0  # >0 while an "Autograd" kernel runs: calls skip autograd
        self._pending: Optional[tuple] = None
        doc = getattr(fn, "__doc__", None) or f"{qualname}{schema.text}"
        self._opdef = defop(qualname, self._forward, self._meta, None, kind="opaque",
                            save_inputs=False, doc=doc, complex=True)
        self._function = type(Function)(
            f"GeneratedBackwardFor_{namespace}_{name}_default", (Function,),
            {"forward": staticmethod(self._autograd_forward),
             "backward": staticmethod(self._autograd_backward)})
        _OPS[qualname] = self

    def __repr__(self) -> str:
        return f"<CustomOpDef({self._qualname})>"

    # ---- registration ----
    def register_kernel(self, device_types: Union[str, Sequence[str], None],
                        fn: Optional[Callable] = None, /) -> Callable:
        """Register ``fn`` as the kernel for ``device_types`` (``"cpu"``, ``"cuda"``; None:
        every device). Usable as a decorator."""
        kinds = [device_types] if device_types is None or isinstance(device_types, str) \
            else list(device_types)
        for kind in kinds:
            if kind is not None and kind not in _DEVICE_TYPES:
                raise ValueError(f"[{self._qualname}] unknown device type {kind!r}; expected "
                                 f"one of {_DEVICE_TYPES} or None")

        def register(fn: Callable) -> Callable:
            for kind in kinds:
                self._backend_fns[kind] = fn
            return fn

        return register if fn is None else register(fn)

    def register_fake(self, fn: Callable, /) -> Callable:
        """Register the fake (meta) impl: ``fn(*args)`` returns a Tensor of the output's shape
        and dtype without computing it. :func:`opcheck` calls it on stand-in Tensors of the
        inputs' shapes and dtypes (read-only zeros) and compares it with the real output."""
        self._abstract_fn = fn
        return fn

    def register_autograd(self, backward: Callable, /, *,
                          setup_context: Optional[Callable] = None) -> None:
        """Register the backward formula.

        ``setup_context(ctx, inputs, output)`` runs after the forward (with
        ``keyword_only_inputs`` before ``output`` when the op has keyword-only arguments):
        save tensors with ``ctx.save_for_backward`` and anything else as attributes of
        ``ctx``. ``backward(ctx, grad)`` returns one gradient per positional input (None for
        non-Tensors and inputs without one; a list for a ``Tensor[]`` input).
        """
        if self._schema.mutable:
            raise RuntimeError(f"[{self._qualname}] Cannot register autograd formula for "
                               f"non-functional operator {self} with schema {self._qualname}"
                               f"{self._schema.text}. Please create a functional operator and "
                               "register an autograd formula for that.")
        self._backward_fn, self._setup_context_fn = backward, setup_context
        self._autograd_fn = None

    def _impl(self, dispatch_key: str, fn: Callable) -> Callable:
        """Register ``fn`` under a dispatcher key; returns what undoes it."""
        slots = {"CPU": ("_backend_fns", "cpu"), "CUDA": ("_backend_fns", "cuda"),
                 "CompositeExplicitAutograd": ("_backend_fns", None),
                 "Meta": ("_abstract_fn", None), "Autograd": ("_autograd_fn", None),
                 "AutogradCPU": ("_autograd_fn", None), "AutogradCUDA": ("_autograd_fn", None),
                 "CompositeImplicitAutograd": ("_composite_fn", None)}
        if dispatch_key not in slots:
            raise ValueError(f"[{self._qualname}] dispatch key {dispatch_key!r} is not "
                             f"supported; expected one of {sorted(slots)}")
        attr, key = slots[dispatch_key]
        if attr == "_autograd_fn" and self._schema.mutable:
            self.register_autograd(fn)  # raises the non-functional error
        if attr == "_backend_fns":
            old = self._backend_fns.get(key)
            self._backend_fns[key] = fn
            return lambda: (self._backend_fns.__setitem__(key, old) if old is not None
                            else self._backend_fns.pop(key, None))
        old = getattr(self, attr)
        setattr(self, attr, fn)
        return lambda: setattr(self, attr, old)

    # ---- calling ----
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        bound = self._schema.bind(self._qualname, args, kwargs)
        tensors, attrs = self._flatten(bound)
        if STATE.enabled and not self._below_autograd and any(t._requires_grad for t in tensors):
            if self._schema.mutable:
                raise op_error(RuntimeError, self._qualname, "mutates its inputs, so it has no "
                               "autograd formula, but an input requires grad; call it under "
                               "ds.no_grad() or on detached tensors")
            if self._autograd_fn is not None:
                self._below_autograd += 1
                try:
                    return self._call_user(self._autograd_fn, bound)
                finally:
                    self._below_autograd -= 1
            if self._backward_fn is None and self._composite_fn is not None:
                return self._call_user(self._composite_fn, bound)
            return self._function.apply(*tensors, bound=bound, attrs=attrs)
        if self._composite_fn is not None:
            where = tensors[0]._device.type if tensors else "cpu"
            if where not in self._backend_fns and None not in self._backend_fns:
                return self._call_user(self._composite_fn, bound)
        return self._primitive(bound, tensors, attrs)

    def _call_user(self, fn: Callable, bound: list) -> Any:
        positional, keyword = self._split(bound)
        return fn(*positional, **keyword)

    def _primitive(self, bound: list, tensors: list, attrs: dict) -> Optional[Tensor]:
        """The registered primitive on the call's tensors: ``apply``, or ``apply_inplace`` on
        the first mutated tensor (the others' versions bumped here)."""
        if not self._schema.mutable:
            return apply(self._opdef, *tensors, **attrs)
        mutated: list = []
        for a, v in zip(self._schema.arguments, bound):
            if a.mutable and v is not None:
                for t in v if a.is_list else (v,):
                    if not any(t is m for m in mutated):
                        mutated.append(t)
        if not mutated:  # no tensor to write: the kernel has no effect anyone can see
            self._call_user(self._kernel("cpu"), bound)
            return None
        if _opdef.TRACER[0] is not None and len(mutated) > 1:
            from ..jit.capture import TraceError

            raise TraceError(f"[ds.jit] {self._qualname}: an op mutating several tensors is "
                             "not compiled yet; call it outside the compiled function")
        k = next(i for i, t in enumerate(tensors) if t is mutated[0])
        apply_inplace(self._opdef, tensors[k], *tensors[:k], *tensors[k + 1:],
                      _target=k, **attrs)
        for t in mutated[1:]:
            t._version_box[0] += 1
        return None

    # ---- the registered primitive: forward and meta on arrays ----
    def _flatten(self, bound: list) -> tuple:
        """The call's tensors in schema order, and its other arguments as attributes (with
        ``_layout``, the tensor count per Tensor argument, -1 for None, when it varies)."""
        tensors, attrs, layout = [], {}, []
        for a, v in zip(self._schema.arguments, bound):
            if a.kind != "Tensor":
                attrs[a.name] = v
            elif v is None:
                layout.append(-1)
            elif a.is_list:
                tensors.extend(v)
                layout.append(len(v))
            else:
                tensors.append(v)
                layout.append(1)
        if self._schema.dynamic:
            attrs["_layout"] = tuple(layout)
        return tensors, attrs

    def _unflatten(self, tensors: list, attrs: dict) -> list:
        layout = attrs.get("_layout")
        values, i, j = [], 0, 0
        for a in self._schema.arguments:
            if a.kind != "Tensor":
                values.append(attrs[a.name])
                continue
            n = layout[j] if layout is not None else 1
            j += 1
            if n < 0:
                values.append(None)
            elif a.is_list:
                values.append(list(tensors[i:i + n]))
                i += n
            else:
                values.append(tensors[i])
                i += 1
        return values

    def _split(self, values: list) -> tuple:
        """Positional and keyword-only arguments as the kernel takes them (lists as lists)."""
        positional, keyword = [], {}
        for a, v in zip(self._schema.arguments, values):
            if a.is_list and v is not None:
                v = list(v)
            if a.kwarg_only:
                keyword[a.name] = v
            else:
                positional.append(v)
        return positional, keyword

    def _kernel(self, device_type: str) -> Callable:
        fn = self._backend_fns.get(device_type) or self._backend_fns.get(None)
        if fn is None:
            raise NotImplementedError(
                f"[{self._qualname}] could not run with arguments from the '{device_type}' "
                f"backend: no kernel is registered for it; register one with register_kernel("
                f"{device_type!r}) or Library.impl(..., {device_type.upper()!r})")
        return fn

    def _run(self, arrays: Sequence, attrs: dict) -> Any:
        """Run the kernel on ``arrays`` wrapped as Tensors; its result as an array."""
        values = list(arrays)
        k = attrs.get("_target")
        if k is not None:  # apply_inplace passes the written tensor first
            values.insert(k, values.pop(0))
        where = _array_device(values)
        on = None if where == "cpu" else _device(f"cuda:{values[0].device.id}")
        wrapped = [Tensor._wrap(a) if on is None else Tensor._wrap(a, on) for a in values]
        positional, keyword = self._split(self._unflatten(wrapped, attrs))
        kernel = self._kernel(where)
        # the kernel is opaque: nothing it does is recorded or differentiated, and it may read
        # its inputs' data (it runs again whenever the compiled graph does); autocast reaches
        # inside, as torch's (a compiled run is guarded on the autocast state)
        saved = _opdef.TRACER[0], _ITEM_HOOK[0], STATE.enabled
        _opdef.TRACER[0] = _ITEM_HOOK[0] = None
        STATE.enabled = False
        try:
            out = kernel(*positional, **keyword)
        finally:
            _opdef.TRACER[0], _ITEM_HOOK[0], STATE.enabled = saved
        declaration = self._qualname + self._schema.text
        if not self._schema.returns:
            if out is not None:
                raise op_error(RuntimeError, self._qualname, f"the kernel returned "
                               f"{type(out).__name__}, but {declaration} returns nothing")
            return values[k]
        if not isinstance(out, Tensor):
            raise op_error(RuntimeError, self._qualname, f"the kernel returned "
                           f"{type(out).__name__}, but {declaration} returns a Tensor")
        data = out._data
        if isinstance(data, np.ndarray) and any(
                isinstance(a, np.ndarray) and np.may_share_memory(data, a) for a in values):
            raise op_error(RuntimeError, self._qualname, "the kernel returned a tensor that "
                           "aliases an input, which custom ops may not do; return a new tensor "
                           "(x.clone() instead of x or a view of x)")
        return data

    def _meta(self, *arrays: Any, **attrs: Any) -> tuple:
        # A kernel's output shape and dtype are known only by running it (torch runs no fake
        # impl in eager mode), and apply asks for them first: run it here and let the forward
        # that apply calls next return this result.
        if "_target" in attrs:
            return arrays[0].shape, arrays[0].dtype
        out = self._run(arrays, attrs)
        self._pending = (arrays, out)
        return out.shape, out.dtype

    def _forward(self, *operands: Any, **attrs: Any) -> Any:
        arrays = operands[1:]  # operands[0] is xp: the kernel works on Tensors
        pending, self._pending = self._pending, None
        if pending is not None and len(pending[0]) == len(arrays) and all(
                a is b for a, b in zip(pending[0], arrays)):
            return pending[1]
        return self._run(arrays, attrs)

    # ---- autograd: a Function around the primitive ----
    def _autograd_forward(self, ctx: Any, *tensors: Any, bound: list, attrs: dict) -> Any:
        out = self._primitive(bound, list(tensors), attrs)
        if self._setup_context_fn is not None:
            positional, keyword = self._split(bound)
            if any(a.kwarg_only for a in self._schema.arguments):
                self._setup_context_fn(ctx=ctx, inputs=tuple(positional),
                                       keyword_only_inputs=keyword, output=out)
            else:
                self._setup_context_fn(ctx=ctx, inputs=tuple(positional), output=out)
        ctx._ds_layout = [None if a.kind != "Tensor" else -1 if v is None
                          else len(v) if a.is_list else 1
                          for a, v in zip(self._schema.arguments, bound) if not a.kwarg_only]
        return out

    def _autograd_backward(self, ctx: Any, *grads: Any) -> tuple:
        q = self._qualname
        if self._backward_fn is None:
            raise RuntimeError(f"[{q}] Trying to backward through {q} but no autograd formula "
                               f"was registered. Please use {self._hint('register_autograd')} "
                               "to add one.")
        layout = ctx._ds_layout
        flat = iter(ctx.needs_input_grad)
        needs = [False if n is None or n < 0 else next(flat) if n == 1 and not a.is_list
                 else [next(flat) for _ in range(n)]
                 for a, n in zip(self._schema.arguments, layout)]
        saved, ctx.needs_input_grad = ctx.needs_input_grad, tuple(needs)
        try:
            result = self._backward_fn(ctx, *grads)
        finally:
            ctx.needs_input_grad = saved
        result = result if isinstance(result, tuple) else (result,)
        names = [a.name for a in self._schema.arguments if not a.kwarg_only]
        if len(result) != len(names):
            raise RuntimeError(f"[{q}] backward returned {len(result)} gradient(s) but the op "
                               f"has {len(names)} input(s) ({', '.join(names)}): return one "
                               "per input, None for inputs that are not differentiable")
        out: list = []
        for name, a, n, g in zip(names, self._schema.arguments, layout, result):
            if n is None or n < 0:
                if g is not None:
                    raise RuntimeError(f"[{q}] backward returned a gradient for '{name}', "
                                       "which is not a Tensor; return None there")
            elif not a.is_list:
                out.append(g)
            elif g is None:
                out.extend([None] * n)
            elif isinstance(g, (list, tuple)) and len(g) == n:
                out.extend(g)
            else:
                raise RuntimeError(f"[{q}] backward must return a list of {n} gradients (or "
                                   f"None) for the Tensor[] input '{name}'")
        return tuple(out)

    def _hint(self, method: str) -> str:
        """How to call ``method`` on this op: through the decorated function's name, or the
        free function of the same name."""
        name = getattr(self._init_fn, "__name__", "<lambda>")
        if name.isidentifier():
            return f"`{name}.{method}`"
        return f"`ds.library.{method}('{self._qualname}', ...)`"


# ---------------------------------------------------------------------------------------------
# Front doors: custom_op, define/impl, register_*, Library
# ---------------------------------------------------------------------------------------------

def custom_op(name: str, fn: Optional[Callable] = None, /, *,
              mutates_args: Union[str, Iterable[str]],
              device_types: Union[str, Sequence[str], None] = None,
              schema: Optional[str] = None, tags: Any = None) -> Any:
    """Wrap a function of Tensors into the operator ``name`` (``"namespace::name"``).

    The function must be annotated (see :func:`infer_schema`) unless ``schema`` is given. The
    result, a :class:`CustomOpDef`, is called like the function; ``ds.jit`` records it as one
    primitive, never looking inside.

    Args:
        name: ``"mylib::my_op"``.
        mutates_args: the names of the arguments the function writes in place (their version
            counters are bumped); ``()`` for none. Such ops return None.
        device_types: ``"cpu"``, ``"cuda"`` or a list: where ``fn`` is the kernel (None: all).
        schema: a schema string such as ``"(Tensor x, float alpha) -> Tensor"`` instead of
            the annotations.
        tags: accepted for torch's signature; deepseek has no operator tags and ignores it.

    Example:
        >>> @deepseek.library.custom_op("mylib::scale_add", mutates_args=())
        ... def scale_add(x: deepseek.Tensor, y: deepseek.Tensor, alpha: float) -> deepseek.Tensor:
        ...     return x * alpha + y.sin()
        >>> scale_add(deepseek.ones(2), deepseek.zeros(2), 3.0)
        tensor([3., 3.])
    """

    def wrap(fn: Callable) -> CustomOpDef:
        namespace, opname = _split_qualname(name)
        if schema is None:
            text = _infer_schema(fn, mutates_args, None, f"[{name}] infer_schema(func)")
        else:
            text = schema
            declared = {a.name for a in _parse_schema(text, named=False).arguments if a.mutable}
            if mutates_args == "unknown" or declared != set(mutates_args):
                raise ValueError(f"[{name}] Attempted to create a custom op with "
                                 f"`mutates_args={mutates_args}` and `schema={schema}`. The "
                                 f"schema suggests that the op mutates {declared} which is "
                                 "different from what was provided to us in `mutates_args`. "
                                 "Please make these consistent.")
        op = CustomOpDef(namespace, opname, _parse_schema(text, named=False), fn)
        op.register_kernel(device_types)(fn)
        return op

    return wrap if fn is None else wrap(fn)


def _resolve(op: Any, who: str) -> CustomOpDef:
    if isinstance(op, CustomOpDef):
        return op
    _split_qualname(op)
    found = _OPS.get(op)
    if found is None:
        raise RuntimeError(f"[{who}] operator {op} does not exist; define it with "
                           "ds.library.custom_op or Library.define first")
    return found


def _lookup_op(qualname: str) -> CustomOpDef:
    """The operator named ``qualname`` (deepseek has no ``ds.ops.<namespace>`` yet)."""
    return _resolve(qualname, "ds.library")


def register_fake(op: Union[str, CustomOpDef], func: Optional[Callable] = None, /, *,
                  lib: Optional["Library"] = None, _stacklevel: int = 1,
                  allow_override: bool = True) -> Any:
    """Register the fake impl of ``op`` (its name or :class:`CustomOpDef`); a decorator when
    ``func`` is omitted. See :meth:`CustomOpDef.register_fake`."""

    def register(fn: Callable) -> Callable:
        target = _resolve(op, "register_fake")
        undo = target._impl("Meta", fn)
        if lib is not None:
            lib._undo.append(undo)
        return fn

    return register if func is None else register(func)


def register_autograd(op: Union[str, CustomOpDef], backward: Callable, /, *,
                      setup_context: Optional[Callable] = None, lib: Any = None) -> None:
    """Register the backward formula of ``op``. See :meth:`CustomOpDef.register_autograd`."""
    _resolve(op, "register_autograd").register_autograd(backward, setup_context=setup_context)


def register_kernel(op: Union[str, CustomOpDef], device_types: Union[str, Sequence[str], None],
                    func: Optional[Callable] = None, /, *,
                    lib: Optional["Library"] = None) -> Any:
    """Register ``func`` as ``op``'s kernel for ``device_types``; a decorator when ``func``
    is omitted. See :meth:`CustomOpDef.register_kernel`."""
    return _resolve(op, "register_kernel").register_kernel(device_types, func)


def define(qualname: str, schema: str, *, lib: Optional["Library"] = None,
           tags: Any = ()) -> None:
    """Define the operator ``qualname`` from ``schema`` without a name, e.g.
    ``define("mylib::foo", "(Tensor x) -> Tensor")``; give it kernels with :func:`impl`."""
    namespace, name = _split_qualname(qualname)
    (lib or _fragment(namespace)).define(name + schema.strip(), tags=tags)


def impl(qualname: str, types: Union[str, Sequence[str]], func: Optional[Callable] = None, *,
         lib: Optional["Library"] = None) -> Any:
    """Register ``func`` for ``qualname`` under device types (``"cpu"``, ``"cuda"``) or
    dispatch keys (``"CPU"``, ``"CompositeImplicitAutograd"``, ``"Autograd"`` …); a decorator
    when ``func`` is omitted."""
    keys = [types] if isinstance(types, str) else list(types)

    def register(fn: Callable) -> Callable:
        namespace, name = _split_qualname(qualname)
        target = lib or _fragment(namespace)
        for key in keys:
            target.impl(name if target.ns == namespace else qualname, fn,
                        key.upper() if key in _DEVICE_TYPES else key)
        return fn

    return register if func is None else register(func)


_DEF_NAMESPACES: set = set()
_FRAGMENTS: dict = {}  # namespace -> the library the free functions register into (kept)


def _fragment(ns: str) -> "Library":
    lib = _FRAGMENTS.get(ns)
    if lib is None:
        lib = _FRAGMENTS[ns] = Library(ns, "FRAGMENT")
    return lib


def _undo_all(undo: list) -> None:
    while undo:
        undo.pop()()


class Library:
    """A set of registrations in one namespace, as ``torch.library.Library``.

    ``kind`` is ``"DEF"`` (the one library defining the namespace), ``"FRAGMENT"`` (more
    definitions) or ``"IMPL"`` (kernels only). Registrations last as long as the library:
    keep it alive, or call ``_destroy()`` to remove them.

    Example:
        >>> lib = deepseek.library.Library("demo", "DEF")
        >>> lib.define("axpy(Tensor x, Tensor y, float alpha=1.0) -> Tensor")
        'axpy'
        >>> lib.impl("axpy", lambda x, y, alpha=1.0: x * alpha + y, "CPU")
    """

    def __init__(self, ns: str, kind: str, dispatch_key: str = "") -> None:
        if kind not in ("DEF", "IMPL", "FRAGMENT"):
            raise ValueError(f"Unsupported kind: {kind}")
        if not re.fullmatch(r"[A-Za-z_]\w*", ns):
            raise ValueError(f"[ds.library] invalid namespace {ns!r}")
        if kind == "DEF":
            if ns in _DEF_NAMESPACES:
                raise RuntimeError(f"[ds.library] only a single DEF library can define the "
                                   f"namespace {ns}; use Library({ns!r}, 'FRAGMENT') to add "
                                   "definitions, or 'IMPL' to add kernels")
            _DEF_NAMESPACES.add(ns)
        self.ns, self.kind, self.dispatch_key = ns, kind, dispatch_key
        self._undo: list = []
        if kind == "DEF":
            self._undo.append(lambda: _DEF_NAMESPACES.discard(ns))
        self._finalizer = weakref.finalize(self, _undo_all, self._undo)

    def __repr__(self) -> str:
        return f"Library(kind={self.kind}, ns={self.ns}, dispatch_key={self.dispatch_key})"

    def define(self, schema: str, alias_analysis: str = "", *, tags: Any = ()) -> str:
        """Define ``ns::name`` from ``schema`` (``"name(Tensor x, float alpha=1.0) -> Tensor"``);
        returns its name."""
        parsed = _parse_schema(schema, named=True)
        if self.kind == "IMPL":
            raise RuntimeError(f'[ds.library] def("{parsed.name}"): cannot define an operator '
                               "inside an IMPL library; define it in the namespace's DEF or "
                               "FRAGMENT library")
        op = CustomOpDef(self.ns, parsed.name, parsed)
        self._undo.append(lambda: _remove(op._qualname))
        return parsed.name

    def impl(self, op_name: Union[str, CustomOpDef], fn: Callable, dispatch_key: str = "", *,
             with_keyset: bool = False, allow_override: bool = True) -> None:
        """Register ``fn`` for the operator under ``dispatch_key``: ``"CPU"``/``"CUDA"`` (a
        kernel), ``"CompositeExplicitAutograd"`` (a kernel for every device), ``"Meta"``
        (the fake impl), ``"Autograd"`` (a function handling autograd itself, e.g. through an
        ``autograd.Function`` whose forward calls the op again) or
        ``"CompositeImplicitAutograd"`` (a composition of differentiable ops, the default)."""
        if with_keyset:
            raise NotImplementedError("[ds.library] Library.impl(with_keyset=True) is not "
                                      "supported: deepseek has no dispatch key sets")
        if isinstance(op_name, str) and "::" not in op_name:
            op_name = f"{self.ns}::{op_name}"
        op = _resolve(op_name, "Library.impl")
        self._undo.append(op._impl(dispatch_key or self.dispatch_key
                                   or "CompositeImplicitAutograd", fn))

    def _register_fake(self, op_name: str, fn: Callable, _stacklevel: int = 1, *,
                       allow_override: bool = True) -> None:
        self.impl(op_name, fn, "Meta")

    def _destroy(self) -> None:
        """Remove everything this library registered."""
        self._finalizer()


def _remove(qualname: str) -> None:
    _OPS.pop(qualname, None)
    REGISTRY.pop(qualname, None)


from ._opcheck import DEFAULT_TEST_UTILS, OpCheckError, opcheck  # noqa: E402,F401  (it uses CustomOpDef)
