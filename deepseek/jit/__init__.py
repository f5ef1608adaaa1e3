"""``ds.jit``: capture a whole step (forward, backward, optimizer) as a static graph, optimize
it, and run generated code with fused kernels and planned memory.

``ds.jit(fn)`` (or ``@ds.jit``) compiles; ``ds.jit.explain(fn)`` says why it retraced;
``fn.code``, ``fn.graph`` and ``fn.memory_plan()`` show what was generated.
"""

import sys
import types

from .api import CompiledFunction, explain, jit
from .trace import TraceError

__all__ = ["jit", "explain", "TraceError", "CompiledFunction"]


class _CallableModule(types.ModuleType):
    """Lets ``ds.jit`` be both the decorator and the namespace of its helpers."""

    def __call__(self, fn=None, **kwargs):
        return jit(fn, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
