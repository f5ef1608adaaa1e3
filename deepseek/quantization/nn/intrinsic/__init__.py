"""Fused float modules (``torch.ao.nn.intrinsic``): sequences that ``fuse_modules`` builds and
that quantize as one kernel (a convolution or linear layer with its BatchNorm and/or ReLU)."""

from __future__ import annotations

from ....nn.modules.activation import ReLU
from ....nn.modules.batchnorm import BatchNorm2d
from ....nn.modules.container import Sequential
from ....nn.modules.conv import Conv2d
from ....nn.modules.linear import Linear

__all__ = ["_FusedModule", "ConvReLU2d", "ConvBn2d", "ConvBnReLU2d", "LinearReLU"]


class _FusedModule(Sequential):
    """A Sequential of fixed layer types, checked at construction."""

    _types: tuple = ()

    def __init__(self, *modules) -> None:
        got = tuple(type(m) for m in modules)
        if len(got) != len(self._types) or not all(
                issubclass(g, t) for g, t in zip(got, self._types)):
            raise TypeError(f"[{type(self).__name__}] expects "
                            f"{[t.__name__ for t in self._types]}, got "
                            f"{[g.__name__ for g in got]}")
        super().__init__(*modules)


class ConvReLU2d(_FusedModule):
    """``Conv2d`` followed by ``ReLU``."""

    _types = (Conv2d, ReLU)


class ConvBn2d(_FusedModule):
    """``Conv2d`` followed by ``BatchNorm2d`` (kept apart for quantization-aware training)."""

    _types = (Conv2d, BatchNorm2d)


class ConvBnReLU2d(_FusedModule):
    """``Conv2d``, ``BatchNorm2d``, ``ReLU`` (kept apart for quantization-aware training)."""

    _types = (Conv2d, BatchNorm2d, ReLU)


class LinearReLU(_FusedModule):
    """``Linear`` followed by ``ReLU``."""

    _types = (Linear, ReLU)
