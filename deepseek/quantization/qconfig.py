"""``QConfig``: which observer (or fake-quantize) watches activations and which watches
weights; the per-backend defaults of PyTorch."""

from __future__ import annotations

from collections import namedtuple
from typing import Any

from .fake_quantize import (FakeQuantize, FusedMovingAvgObsFakeQuantize, default_fake_quant,
                            default_fused_per_channel_wt_fake_quant,
                            default_fused_wt_fake_quant, default_per_channel_weight_fake_quant,
                            default_weight_fake_quant)
from ..nn.modules.module import Module
from .observer import (HistogramObserver, MovingAverageMinMaxObserver,
                       default_dynamic_quant_observer, default_observer,
                       default_per_channel_weight_observer, default_weight_observer)

__all__ = ["QConfig", "QConfigDynamic", "default_qconfig", "default_qat_qconfig",
           "default_dynamic_qconfig", "per_channel_dynamic_qconfig", "get_default_qconfig",
           "get_default_qat_qconfig"]

_BACKENDS = ("fbgemm", "x86", "qnnpack", "onednn")


class QConfig(namedtuple("QConfig", ["activation", "weight"])):
    """How to observe a module: ``activation`` and ``weight`` are observer *constructors*
    (classes or ``with_args`` factories), called once per observed tensor.

    Example::

        >>> qconfig = QConfig(activation=MinMaxObserver.with_args(reduce_range=True),
        ...                   weight=default_per_channel_weight_observer)
    """

    def __new__(cls, activation: Any, weight: Any) -> "QConfig":
        for name, ctor in (("activation", activation), ("weight", weight)):
            if isinstance(ctor, Module):
                raise ValueError(f"[QConfig] received an observer instance for {name}; pass "
                                 "the class or a with_args(...) factory instead, e.g. "
                                 "MinMaxObserver.with_args(dtype=qint8)")
        return super().__new__(cls, activation, weight)


QConfigDynamic = QConfig

default_qconfig = QConfig(activation=default_observer, weight=default_weight_observer)
default_qat_qconfig = QConfig(activation=default_fake_quant, weight=default_weight_fake_quant)
default_dynamic_qconfig = QConfig(activation=default_dynamic_quant_observer,
                                  weight=default_weight_observer)
per_channel_dynamic_qconfig = QConfig(activation=default_dynamic_quant_observer,
                                      weight=default_per_channel_weight_observer)


def _check_backend(backend: str, where: str) -> None:
    if backend not in _BACKENDS:
        raise ValueError(f"[{where}] backend {backend!r} not supported; backend must be one of "
                         f"{list(_BACKENDS)}")


def get_default_qconfig(backend: str = "x86", version: int = 0) -> QConfig:
    """PyTorch's default post-training qconfig for ``backend`` (``"x86"``, ``"fbgemm"``,
    ``"qnnpack"``, ``"onednn"``): histogram-observed activations (7-bit on x86/fbgemm) and
    per-channel symmetric int8 weights (per-tensor on qnnpack)."""
    _check_backend(backend, "get_default_qconfig")
    if version != 0:
        raise ValueError(f"[get_default_qconfig] version {version} is not supported; it must "
                         "be 0")
    reduce_range = backend in ("x86", "fbgemm")
    weight = default_weight_observer if backend == "qnnpack" else (
        default_per_channel_weight_observer)
    return QConfig(activation=HistogramObserver.with_args(reduce_range=reduce_range),
                   weight=weight)


def get_default_qat_qconfig(backend: str = "x86", version: int = 1) -> QConfig:
    """PyTorch's default quantization-aware-training qconfig for ``backend``: moving-average
    fake quantization of activations (7-bit on x86/fbgemm) and symmetric int8 weights
    (per channel except on qnnpack). ``version=1`` (default) uses the fused observer."""
    _check_backend(backend, "get_default_qat_qconfig")
    if version not in (0, 1):
        raise ValueError(f"[get_default_qat_qconfig] version {version} is not supported; it "
                         "must be 0 or 1")
    reduce_range = backend in ("x86", "fbgemm")
    fake_quant = FakeQuantize if version == 0 else FusedMovingAvgObsFakeQuantize
    activation = fake_quant.with_args(observer=MovingAverageMinMaxObserver, quant_min=0,
                                      quant_max=255, reduce_range=reduce_range)
    if version == 0:
        weight = (default_weight_fake_quant if backend == "qnnpack"
                  else default_per_channel_weight_fake_quant)
    else:
        weight = (default_fused_wt_fake_quant if backend == "qnnpack"
                  else default_fused_per_channel_wt_fake_quant)
    return QConfig(activation=activation, weight=weight)

