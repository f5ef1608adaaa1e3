"""``ds.jit``: guards, the trace cache, retracing, eager fallback and ``explain``."""

from __future__ import annotations

import functools
import gc
import time
import types
import warnings
import weakref
from typing import Any, Callable, Optional

from ..autograd.grad_mode import STATE
from ..backend import allocator
from ..tensor import Tensor
from . import codegen
from .passes import optimize
from .capture import TraceError, Tracer, flatten, unflatten

__all__ = ["jit", "explain", "CompiledFunction"]

_ALL: "weakref.WeakSet[CompiledFunction]" = weakref.WeakSet()  # for deepseek.compiler.reset


def _objects(fn: Callable) -> list:
    """Modules and optimizers ``fn`` reaches: itself, its ``self``, closure and globals."""
    from ..nn.modules.module import Module
    from ..optim.optimizer import Optimizer

    found, seen = [], set()

    def visit(obj: Any) -> None:
        if isinstance(obj, (Module, Optimizer)) and id(obj) not in seen:
            seen.add(id(obj))
            found.append(obj)

    def code_names(code: types.CodeType) -> set:
        names = set(code.co_names)
        for c in code.co_consts:
            if isinstance(c, types.CodeType):
                names |= code_names(c)
        return names

    visit(fn)
    owner = getattr(fn, "__self__", None)
    visit(owner)
    for value in getattr(owner, "__dict__", {}).values():  # a method's model and optimizer
        visit(value)
    target = getattr(fn, "forward", None) if not isinstance(fn, types.FunctionType) else fn
    target = getattr(target, "__func__", target)
    code = getattr(target, "__code__", None)
    if code is not None:
        for cell in target.__closure__ or ():
            try:
                visit(cell.cell_contents)
            except ValueError:  # an empty cell
                pass
        for name in code_names(code):
            visit(target.__globals__.get(name))
    return found


class _Entry:
    """One compiled signature."""

    __slots__ = ("run", "source", "graph", "plan", "leaf_guards", "template", "eager", "reason")

    def __init__(self) -> None:
        self.eager = False
        self.reason = ""


class CompiledFunction:
    """A function compiled by :func:`jit` (see there). ``code``, ``graph`` and
    :meth:`memory_plan` describe the most recent compilation."""

    def __init__(self, fn: Callable, retrace_limit: int = 8, fuse: bool = True) -> None:
        functools.update_wrapper(self, fn, updated=())
        self.__name__ = _name(fn)
        self.fn = fn
        self.retrace_limit = retrace_limit
        self.fuse = fuse
        self._entries: dict = {}
        self._pool: dict = {}  # planned buffers, shared by this function's compilations
        self._last: Optional[_Entry] = None
        self._last_key: Any = None
        self._traces = 0
        self._warned = False
        self.log: list = []  # (what happened, why) for explain()
        self._objects = _objects(fn)
        # tensors whose .grad a trace depended on, found only while tracing (not through
        # _objects): later traces read their .grad state on entry, as for parameters
        self._watched: dict = {}
        _ALL.add(self)

    def reset(self) -> None:
        """Forget every compilation: the next call traces afresh."""
        self._entries.clear()
        self._pool.clear()
        self._watched.clear()
        self._last = self._last_key = None
        self._traces, self._warned = 0, False
        self.log.clear()

    # ---- guards ----
    def _key(self, leaves: list, template: Any) -> tuple:
        from ..amp.autocast_mode import _STATE as _AMP

        amp = _AMP["cpu"]
        flags = []
        for obj in self._objects:
            if hasattr(obj, "modules"):
                flags.append(tuple(m.training for m in obj.modules()))
            else:
                flags.append(len(obj.param_groups))
        return (tuple((t._data.shape, t._data.dtype.str, t._requires_grad, t._device.type)
                      for t in leaves), repr(template), STATE.enabled,
                (amp.enabled, str(amp.dtype)) if amp.enabled else None, tuple(flags))

    def _why(self, key: tuple) -> str:
        old = self._last_key
        if old is None:
            return "first call"
        parts = ["tensor arguments (shape, dtype, requires_grad, device)",
                 "non-tensor arguments", "grad mode", "autocast", "module train/eval flags"]
        changed = [f"{p}: {a} -> {b}" for p, a, b in zip(parts, old, key) if a != b]
        return "; ".join(changed) or "a .grad was set or cleared since the trace"

    def _leaves(self) -> list:
        """The parameters of the modules and optimizers ``fn`` uses, and the tensors earlier
        traces found gradients delivered to."""
        seen: dict = {}
        for obj in self._objects:
            params = obj.parameters() if hasattr(obj, "parameters") else (
                p for g in obj.param_groups for p in g["params"])
            for p in params:
                seen.setdefault(id(p), p)
        for key, t in self._watched.items():
            seen.setdefault(key, t)
        return list(seen.values())

    def _names(self) -> dict:
        """Readable names for the parameters and buffers of the modules ``fn`` uses."""
        names: dict = {}
        for obj in self._objects:
            if hasattr(obj, "named_parameters"):
                for key, t in list(obj.named_parameters()) + list(obj.named_buffers()):
                    names.setdefault(id(t), "p_" + key.replace(".", "_"))
        return names

    # ---- calls ----
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        leaves: list = []
        template = flatten((args, kwargs), leaves)
        key = self._key(leaves, template)
        entry = self._entries.get(key)
        if entry is not None and not entry.eager and not all(
                (t.grad is None) == was_none for t, was_none in entry.leaf_guards):
            entry = None
        if entry is not None:
            if entry.eager:
                return self.fn(*args, **kwargs)
            outs = entry.run([t._data for t in leaves])
            return unflatten(entry.template, [Tensor._wrap(a) for a in outs])
        return self._trace(key, args, kwargs, leaves)

    def _trace(self, key: tuple, args: tuple, kwargs: dict, leaves: list) -> Any:
        why = self._why(key)
        self._last_key = key
        if self._traces >= self.retrace_limit:
            if not self._warned:
                warnings.warn(f"ds.jit: {self.__name__} was traced {self._traces} times "
                              f"(retrace_limit); new signatures now run eagerly. Last reason: "
                              f"{why}. See ds.jit.explain().", stacklevel=3)
                self._warned = True
            self.log.append(("eager", f"retrace limit reached ({why})"))
            entry = _Entry()
            entry.eager = True
            self._entries[key] = entry
            return self.fn(*args, **kwargs)
        self._traces += 1
        t0 = time.perf_counter()
        self._pool.clear()  # the planned buffers go back to the allocator for the traced run
        with Tracer(leaves, self._leaves()) as tracer:
            result = self.fn(*args, **kwargs)
        outs: list = []
        entry = _Entry()
        entry.template = flatten(result, outs)
        if (not tracer.eager_reason and STATE.enabled and not tracer.backward_ran
                and any(t._requires_grad for t in outs)):
            tracer.eager_reason = ("its outputs require grad and it calls no backward(): "
                                   "compile the whole training step, or call it under "
                                   "ds.no_grad()")
        if tracer.eager_reason:
            entry.eager = True
            entry.reason = tracer.eager_reason
            self.log.append(("eager", f"{why}: {entry.reason}"))
            self._entries[key] = self._last = entry
            return result
        graph = tracer.graph
        graph.outputs = [tracer.value_of(t._data, t) for t in outs]
        # Outputs are detached, as compiled runs' are: the traced run's autograd graph (in
        # reference cycles, holding its arrays) is freed before compiling, not at some later
        # collection.
        result = unflatten(entry.template, [t.detach() for t in outs])
        del outs
        gc.collect()
        tracer.sweep()
        mutable = optimize(graph, tracer.mutated, self.fuse)
        source, ns, plan = codegen.generate(graph, mutable, _name(self.fn), self._names(),
                                            self._pool)
        exec(compile(source, f"<ds.jit {_name(self.fn)}>", "exec"), ns)  # noqa: S102
        entry.run, entry.source, entry.graph, entry.plan = ns[_name(self.fn)], source, graph, plan
        entry.leaf_guards = [guard for key, guard in tracer.leaf_guards.items()
                             if key not in tracer.unguarded]
        for t, _ in tracer.leaf_guards.values():
            self._watched.setdefault(id(t), t)
        plan["compile_seconds"] = time.perf_counter() - t0
        for v in graph.values:  # the traced arrays are no longer needed
            if v.kind != "const":
                v.array = None
        tracer.release()
        # the traced run's buffers, cached by the allocator, go back to the system: the
        # compiled runs take their memory from the planned arena instead
        allocator.empty_cache()
        self.log.append(("traced", why))
        self._entries[key] = self._last = entry
        return result

    # ---- introspection ----
    def _latest(self) -> _Entry:
        if self._last is None or self._last.eager:
            raise RuntimeError(f"ds.jit: {self.__name__} has no compiled graph yet"
                               + (f" ({self._last.reason})" if self._last else
                                  ": call it once first"))
        return self._last

    @property
    def code(self) -> str:
        """The generated Python source of the latest compilation."""
        return self._latest().source

    @property
    def graph(self) -> str:
        """The optimized IR of the latest compilation, printed."""
        return str(self._latest().graph)

    def memory_plan(self) -> dict:
        """The latest compilation's memory plan: ``buffers`` and ``pooled_bytes`` (allocated
        once, reused every run) and ``peak_bytes``, the planned peak of intermediates."""
        return dict(self._latest().plan)


def _name(fn: Callable) -> str:
    name = getattr(fn, "__name__", None) or type(fn).__name__
    return name if name.isidentifier() else "compiled"


def jit(fn: Optional[Callable] = None, *, retrace_limit: int = 8,
        fuse: bool = True) -> Any:
    """Compile ``fn`` (a function or a Module) into a static graph on its first call.

    The first call traces ``fn`` by running it: every primitive of the forward, the backward
    and in-place updates is recorded; optimizer steps and ``zero_grad`` calls are kept as
    calls. Later calls with the same signature run generated code (``.code``) with fused
    elementwise kernels and planned memory. Guards: tensor argument shapes, dtypes,
    requires_grad and devices, non-tensor argument values, grad mode, autocast, the
    train/eval flags of the modules ``fn`` uses, and which ``.grad`` are set. A new signature
    retraces; past ``retrace_limit`` traces it runs eagerly (with one warning).

    Outputs of compiled runs are detached. Reading a traced tensor's value in Python
    (``.item()``, ``bool()``, ``.tolist()``) raises :class:`TraceError` while tracing.

    Args:
        fn: the function or module.
        retrace_limit: how many signatures to compile before running new ones eagerly.
        fuse: fuse elementwise ops into generated kernels.

    Example:
        >>> @ds.jit
        ... def train_step(x, y):
        ...     loss = F.cross_entropy(model(x), y)
        ...     loss.backward(); opt.step(); opt.zero_grad()
        ...     return loss
    """
    if fn is None:
        return lambda f: CompiledFunction(f, retrace_limit, fuse)
    return CompiledFunction(fn, retrace_limit, fuse)


def explain(fn: CompiledFunction) -> str:
    """Why ``fn`` was traced each time, and what ran eagerly."""
    if not isinstance(fn, CompiledFunction):
        raise TypeError(f"ds.jit.explain expects a function made by ds.jit, got "
                        f"{type(fn).__name__}")
    lines = [f"{fn.__name__}: {fn._traces} trace(s)"]
    lines += [f"  {i + 1}. {what}: {why}" for i, (what, why) in enumerate(fn.log)]
    return "\n".join(lines)


__all__ += ["TraceError"]
