"""Padding layers: constant/zero, reflection, replication and circular, over 1-3 dims."""

from __future__ import annotations

from typing import Any

from ...tensor import Tensor
from .. import functional as F
from .module import Module
from .utils import _ntuple

__all__ = ["ConstantPad1d", "ConstantPad2d", "ConstantPad3d", "ZeroPad1d", "ZeroPad2d",
           "ZeroPad3d", "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d",
           "ReplicationPad1d", "ReplicationPad2d", "ReplicationPad3d", "CircularPad1d",
           "CircularPad2d", "CircularPad3d"]


class _PadNd(Module):
    """Pads the last ``_dims`` dims by ``padding`` (an int for every side, or
    ``(left, right, top, bottom, front, back)`` as far as needed)."""

    _dims = 0
    _mode = "constant"

    def __init__(self, padding: Any) -> None:
        super().__init__()
        self.padding = _ntuple(2 * self._dims)(padding)

    def forward(self, input: Tensor) -> Tensor:
        return F.pad(input, self.padding, self._mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    def __init__(self, padding: Any, value: float) -> None:
        super().__init__(padding)
        self.value = value

    def forward(self, input: Tensor) -> Tensor:
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class _ZeroPadNd(_ConstantPadNd):
    def __init__(self, padding: Any) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


def _make(base: type, name: str, dims: int, mode: str, doc: str) -> type:
    """The ``{name}{dims}d`` class: ``base`` fixed to ``dims`` dims and F.pad's ``mode``."""
    return type(f"{name}{dims}d", (base,), {"_dims": dims, "_mode": mode, "__doc__": doc,
                                            "__module__": __name__})


_HOW = {"constant": "with ``value``", "reflect": "with their reflection (edge not repeated)",
        "replicate": "by repeating the edge values", "circular": "by wrapping around"}


def _family(base: type, name: str, mode: str) -> tuple:
    how = "with zeros" if base is _ZeroPadNd else _HOW[mode]
    return tuple(_make(base, name, n, mode, f"Pads the last {n} dim(s) {how}.")
                 for n in (1, 2, 3))


ConstantPad1d, ConstantPad2d, ConstantPad3d = _family(_ConstantPadNd, "ConstantPad", "constant")
ZeroPad1d, ZeroPad2d, ZeroPad3d = _family(_ZeroPadNd, "ZeroPad", "constant")
ReflectionPad1d, ReflectionPad2d, ReflectionPad3d = _family(_PadNd, "ReflectionPad", "reflect")
ReplicationPad1d, ReplicationPad2d, ReplicationPad3d = _family(_PadNd, "ReplicationPad",
                                                               "replicate")
CircularPad1d, CircularPad2d, CircularPad3d = _family(_PadNd, "CircularPad", "circular")
