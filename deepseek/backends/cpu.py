"""``deepseek.backends.cpu``: what the CPU backend can do."""

from __future__ import annotations

import numpy as np


def get_cpu_capability() -> str:
    """The widest SIMD level NumPy dispatches to here, in torch's spelling (``'AVX512'``,
    ``'AVX2'``, ``'DEFAULT'``)."""
    umath = getattr(np, "_core", None) or np.core  # NumPy 2 renamed core to _core
    found = umath._multiarray_umath.__cpu_features__
    for name, key in (("AVX512", "AVX512F"), ("AVX2", "AVX2")):
        if found.get(key):
            return name
    return "DEFAULT"
