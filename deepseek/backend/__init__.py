"""Layer 1: devices and the array backends (NumPy on the CPU; CuPy for CUDA, loaded lazily).

A backend is a module with ``name``, ``xp`` (its array namespace), ``asarray``, ``to_host``
and ``is_available``. Op bodies are written against ``xp`` so one body serves every backend.
"""

from __future__ import annotations

from types import ModuleType

import os

from . import allocator, cpu
from .device import device

__all__ = ["device", "get_backend", "CPU"]

CPU = device("cpu")

# Counting must start before the first array is made, so the allocator is NumPy's handler from
# import on (DS_ALLOCATOR=numpy keeps NumPy's own; the statistics then read zero).
if os.environ.get("DS_ALLOCATOR", "deepseek") != "numpy":
    allocator.install()


def get_backend(dev: device) -> ModuleType:
    """The backend module that holds tensors for ``dev``."""
    if dev.type == "cpu":
        return cpu
    if dev.type == "cuda":
        raise RuntimeError(
            "[device] the CUDA backend is not available in this build; "
            "install the extra with `pip install deepseek-framework[cuda]` once it ships"
        )
    raise RuntimeError(f"[device] tensors on '{dev}' hold no data (meta device)")
