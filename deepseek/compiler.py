"""``deepseek.compiler``: torch.compiler's controls, for :func:`deepseek.jit`.

ds.jit has no graph breaks: a function kept out of compiled code (:func:`disable`) makes the
compiled function run that signature eagerly, whole, which gives torch's results and side
effects at eager speed. Functions torch puts into its graph unexamined (``allow_in_graph``,
``assume_constant_result``) are traced through or evaluated once while tracing here, which is
what those promise.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Optional

from .jit.api import _ALL
from .jit.compat import compile
from .ops import _opdef

__all__ = ["allow_in_graph", "assume_constant_result", "compile", "cudagraph_mark_step_begin",
           "disable", "is_compiling", "is_dynamo_compiling", "is_exporting", "list_backends",
           "reset"]


def disable(fn: Optional[Callable] = None, recursive: bool = True, *,
            reason: Optional[str] = None) -> Any:
    """Keep ``fn`` out of compiled code: called while ds.jit traces, it runs unrecorded (it may
    read tensor values) and the compiled function runs that signature eagerly from then on.
    A decorator, with or without arguments.

    Example:
        >>> @deepseek.compiler.disable
        ... def log_stats(loss):
        ...     print(loss.item())
    """
    if fn is None:
        return functools.partial(disable, recursive=recursive, reason=reason)
    name = getattr(fn, "__qualname__", type(fn).__name__)
    why = f"it calls {name}, kept out of compiled code by deepseek.compiler.disable" + (
        f" ({reason})" if reason else "")

    @functools.wraps(fn)
    def eager(*args: Any, **kwargs: Any) -> Any:
        tracer = _opdef.TRACER[0]
        if tracer is None:
            return fn(*args, **kwargs)
        return tracer.run_eagerly(fn, why, *args, **kwargs)

    return eager


def allow_in_graph(fn: Callable) -> Callable:
    """``fn`` itself: ds.jit records the ops it runs."""
    return fn


def assume_constant_result(fn: Callable) -> Callable:
    """``fn`` itself: a Python value it returns while ds.jit traces is baked in."""
    return fn


def is_compiling() -> bool:
    """Whether ds.jit (or ONNX export) is tracing the code that asks."""
    return _opdef.TRACER[0] is not None


is_dynamo_compiling = is_compiling


def is_exporting() -> bool:
    """Whether ``deepseek.onnx.export`` is tracing the code that asks."""
    tracer = _opdef.TRACER[0]
    return tracer is not None and tracer.exporting


def list_backends(exclude_tags: Any = ("debug", "experimental")) -> list:
    """The ``backend`` names :func:`deepseek.compile` accepts (all of them compile with
    ds.jit)."""
    return ["inductor"]


def reset() -> None:
    """Forget every compilation of every compiled function: their next calls trace afresh."""
    for fn in list(_ALL):
        fn.reset()


def cudagraph_mark_step_begin() -> None:
    """Nothing to mark: ds.jit reuses its planned buffers without CUDA graphs."""
