"""``ds.jit``: capture a whole step (forward, backward, optimizer) as a static graph, optimize
it, and run generated code with fused kernels and planned memory.

``ds.jit(fn)`` (or ``@ds.jit``) compiles; ``ds.jit.explain(fn)`` says why it retraced;
``fn.code``, ``fn.graph`` and ``fn.memory_plan()`` show what was generated. TorchScript's
spellings (``script``, ``trace``, ``ignore`` …) are here too and compile nothing (see
``compat.py``).
"""

import sys
import types

from .api import CompiledFunction, explain, jit
from .capture import TraceError
from .compat import (Attribute, Final, annotate, export, fork, freeze, ignore,  # TorchScript's
                     interface, is_scripting, is_tracing, load, optimize_for_inference,
                     optimized_execution, save, script, set_fusion_strategy, trace, unused, wait)

__all__ = ["jit", "explain", "TraceError", "CompiledFunction", "Attribute", "Final", "annotate",
           "export", "fork", "freeze", "ignore", "interface", "is_scripting", "is_tracing",
           "load", "optimize_for_inference", "optimized_execution", "save", "script",
           "set_fusion_strategy", "trace", "unused", "wait"]


class _CallableModule(types.ModuleType):
    """Lets ``ds.jit`` be both the decorator and the namespace of its helpers."""

    def __call__(self, fn=None, **kwargs):
        return jit(fn, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
