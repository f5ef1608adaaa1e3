"""``deepseek.utils.dlpack`` (``torch.utils.dlpack``): tensors to and from DLPack capsules,
sharing memory."""

from __future__ import annotations

from typing import Any

from .._creation import from_dlpack
from ..tensor import Tensor

__all__ = ["from_dlpack", "to_dlpack"]


def to_dlpack(tensor: Tensor) -> Any:
    """A DLPack capsule of ``tensor``'s memory (consumed once, by ``from_dlpack`` of any
    library). It is a versioned (DLPack 1.0) capsule, which says the memory is writable: a
    legacy one reaches NumPy, and so deepseek, read-only."""
    return tensor.__dlpack__(max_version=(1, 0))
