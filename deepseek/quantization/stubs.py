"""``QuantStub``/``DeQuantStub``: where a float model enters and leaves the quantized region."""

from __future__ import annotations

from typing import Any

from ..nn.modules.module import Module
from ..tensor import Tensor

__all__ = ["QuantStub", "DeQuantStub", "QuantWrapper"]


class _Stub(Module):
    """An identity module with an optional qconfig of its own."""

    def __init__(self, qconfig: Any = None) -> None:
        super().__init__()
        if qconfig:
            self.qconfig = qconfig

    def forward(self, x: Tensor) -> Tensor:
        return x


class QuantStub(_Stub):
    """Identity before ``convert``; observed by ``prepare``, it becomes ``Quantize``.

    Args:
        qconfig: optional qconfig for this stub alone.
    """


class DeQuantStub(_Stub):
    """Identity before ``convert``; it becomes ``DeQuantize`` (a plain float tensor out)."""


class QuantWrapper(Module):
    """``module`` between a ``QuantStub`` and a ``DeQuantStub``, sharing its qconfig."""

    def __init__(self, module: Module) -> None:
        super().__init__()
        qconfig = getattr(module, "qconfig", None)
        self.add_module("quant", QuantStub(qconfig))
        self.add_module("dequant", DeQuantStub(qconfig))
        self.add_module("module", module)
        self.train(module.training)

    def forward(self, X: Tensor) -> Tensor:
        return self.dequant(self.module(self.quant(X)))
