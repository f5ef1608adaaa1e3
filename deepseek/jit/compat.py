"""torch's spellings around :func:`deepseek.jit`, so scripts written for them run unchanged.

``deepseek.compile`` is ``torch.compile``'s spelling of ds.jit. Its tuning arguments (``mode``,
``backend``, ``dynamic`` …) choose among torch's compilers and have no counterpart here: they are
accepted and checked, not used.

TorchScript's (``torch.jit.script``, ``trace``, ``ignore``, ``freeze`` …) compile nothing here:
TorchScript is a second language whose programs torch runs without Python, and deepseek runs
Python. Scripting and tracing return what they are given (tracing runs it once on the example
inputs, as torch's does), so model code decorated for TorchScript runs eagerly with the same
results; compile a whole step with :func:`deepseek.jit` for speed. TorchScript archives
(``torch.jit.save``/``load``) hold code, so they are refused.
"""

from __future__ import annotations

import contextlib
import typing
from typing import Any, Callable, Iterator, Optional

from ..nn.modules.module import Module
from .api import jit

_MODES = (None, "default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")


class OptimizedModule(Module):
    """A module whose calls run through :func:`deepseek.jit`; the original is ``_orig_mod``
    (its parameters appear under that prefix, as with torch.compile)."""

    def __init__(self, mod: Module, retrace_limit: int = 8) -> None:
        super().__init__()
        self._orig_mod = mod
        object.__setattr__(self, "_compiled", jit(mod, retrace_limit=retrace_limit))

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self._compiled(*args, **kwargs)


def compile(model: Optional[Callable] = None, *, fullgraph: bool = False,
            dynamic: Optional[bool] = None, backend: Any = "inductor", mode: Optional[str] = None,
            options: Optional[dict] = None, disable: bool = False) -> Any:
    """Compile a function or module with :func:`deepseek.jit` (a decorator with or without
    arguments). A forward whose outputs need autograd, called outside a compiled training step,
    runs eagerly (``deepseek.jit.explain`` says so); a whole step, or inference under
    ``no_grad``, runs compiled.

    Example:
        >>> model = deepseek.compile(model)
    """
    if mode not in _MODES:
        raise RuntimeError(f"[compile] unknown mode {mode!r}; expected one of "
                           f"{', '.join(repr(m) for m in _MODES[1:])}")
    if mode is not None and options is not None:
        raise RuntimeError("[compile] either mode or options can be specified, but both can't be "
                           "specified at the same time.")
    if model is None:
        return lambda fn: compile(fn, fullgraph=fullgraph, dynamic=dynamic, backend=backend,
                                  mode=mode, options=options, disable=disable)
    if disable:
        return model
    if isinstance(model, Module):
        return OptimizedModule(model)
    return jit(model)


# ---------------------------------------------------------------- TorchScript's spellings
Final = typing.Final


def script(obj: Any, optimize: Any = None, _frames_up: int = 0, _rcb: Any = None,
           example_inputs: Any = None) -> Any:
    """``obj`` (a function, module or class) itself: it runs as Python (see the module
    docstring)."""
    if not callable(obj):
        raise RuntimeError(f"[jit.script] expected a function, module or class to script, got "
                           f"{type(obj).__name__}")
    return obj


def trace(func: Callable, example_inputs: Any = None, optimize: Any = None,
          check_trace: bool = True, check_inputs: Any = None, check_tolerance: float = 1e-5,
          strict: bool = True, _force_outplace: bool = False, _module_class: Any = None,
          _compilation_unit: Any = None, example_kwarg_inputs: Optional[dict] = None,
          _store_inputs: bool = True) -> Any:
    """Run ``func`` once on ``example_inputs`` (a tensor or a tuple of them) and/or
    ``example_kwarg_inputs``, as torch's tracing does, and return ``func`` itself."""
    from ..tensor import Tensor

    if example_inputs is None and example_kwarg_inputs is None:
        raise RuntimeError("[jit.trace] example_kwarg_inputs or example_inputs is required")
    args = (example_inputs,) if isinstance(example_inputs, Tensor) else tuple(
        example_inputs or ())
    func(*args, **(example_kwarg_inputs or {}))
    return func


def ignore(drop: Any = False, **kwargs: Any) -> Any:
    """Leave a function to Python (it always is here): a decorator, with or without
    ``drop``."""
    return drop if callable(drop) else (lambda fn: fn)


def unused(fn: Callable) -> Callable:
    return fn


def export(fn: Callable) -> Callable:
    return fn


def interface(obj: Any) -> Any:
    return obj


def is_scripting() -> bool:
    """False: nothing runs as TorchScript here."""
    return False


def is_tracing() -> bool:
    """False: ``torch.jit.trace``'s tracer does not exist here (``deepseek.compiler.is_compiling``
    says whether ds.jit is tracing)."""
    return False


def annotate(the_type: Any, the_value: Any) -> Any:
    return the_value


def Attribute(value: Any, type: Any) -> Any:  # noqa: N802  (torch's name)
    return value


def freeze(mod: Module, preserved_attrs: Optional[list] = None,
           optimize_numerics: bool = True) -> Module:
    """``mod`` itself, which must be in eval mode as torch requires (for inference, fold its
    layers with ``deepseek.nn.fuse_layers`` and compile it with ds.jit under ``no_grad``)."""
    if not isinstance(mod, Module):
        raise RuntimeError("[jit.freeze] Freezing expects a module (torch: a ScriptModule), got "
                           f"{type(mod).__name__}")
    if mod.training:
        raise RuntimeError("Freezing is currently only implemented for modules in eval mode. "
                           "Please call .eval() on your module before freezing.")
    return mod


def optimize_for_inference(mod: Module, other_methods: Optional[list] = None) -> Module:
    """:func:`freeze` (putting ``mod`` in eval mode first, as torch does)."""
    return freeze(mod.eval())


@contextlib.contextmanager
def optimized_execution(should_optimize: bool) -> Iterator[None]:
    yield


_FUSION_STRATEGY: list = [[("STATIC", 2), ("DYNAMIC", 10)]]


def set_fusion_strategy(strategy: list) -> list:
    """Record TorchScript's fusion strategy and return the previous one (fusion here is
    ds.jit's, which needs no strategy)."""
    previous, _FUSION_STRATEGY[0] = _FUSION_STRATEGY[0], list(strategy)
    return previous


def fork(func: Callable, *args: Any, **kwargs: Any) -> Any:
    """``func(*args, **kwargs)`` run now, in a completed :class:`deepseek.futures.Future`."""
    from ..futures import Future

    future = Future()
    future.set_result(func(*args, **kwargs))
    return future


def wait(future: Any) -> Any:
    return future.wait()


def _refuse_archive(op: str) -> Any:
    def refused(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"[jit.{op}] TorchScript archives hold code, which deepseek does not "
                           "run; save the weights instead (deepseek.save(model.state_dict(), f), "
                           "or load a torch.save checkpoint with deepseek.load)")

    refused.__name__ = refused.__qualname__ = op
    return refused


save, load = _refuse_archive("save"), _refuse_archive("load")
