"""``deepseek.compile``: ``torch.compile``'s spelling of :func:`deepseek.jit`, so scripts written
for it run unchanged. Its tuning arguments (``mode``, ``backend``, ``dynamic`` …) choose among
torch's compilers and have no counterpart here: they are accepted and checked, not used."""

from __future__ import annotations

from typing import Any, Callable, Optional

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
