"""Converted (quantized) modules: int8 weights, integer arithmetic, float-tensor activations.

Each ``forward`` recovers the integers of its quantized input, accumulates int8 × int8
products exactly (in float64, which holds every int32 sum these layers make), and
requantizes to the output qparams with fbgemm's float-bias rule; see ``_qtensor`` for how
activations are represented.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from .... import _creation
from ....nn import functional as F
from ....nn.modules.module import Module
from ....tensor import Tensor
from ... import _qmath
from ..._qtypes import qint8, quint8
from ...observer import _array
from .. import intrinsic as nni
from .. import qat as nnqat
from ._qtensor import input_qparams, make_quantized

__all__ = ["Quantize", "DeQuantize", "Linear", "LinearReLU", "Conv2d", "ConvReLU2d", "ReLU"]


def _observer_of(cls: type, mod: Module) -> Module:
    post = getattr(mod, "activation_post_process", None)
    if post is None:
        raise RuntimeError(f"[{cls.__name__}.from_float] the float {type(mod).__name__} has no "
                           "activation observer: call prepare(model) (or prepare_qat) and run "
                           "calibration data through it before convert(model)")
    return post


def _output_qparams(cls: type, mod: Module) -> tuple:
    scale, zero_point = _observer_of(cls, mod).calculate_qparams()
    return float(_array(scale).reshape(-1)[0]), int(_array(zero_point).reshape(-1)[0])


class _PackedWeight:
    """An int8 weight with its per-tensor or per-channel (axis 0) scale and zero point."""

    def __init__(self, weight: Tensor, observer: Module) -> None:
        if observer.dtype is not qint8:
            raise TypeError(f"[quantize weight] weight observer must have dtype qint8, got "
                            f"{observer.dtype}")
        scale, zero_point = observer.calculate_qparams()
        self.scale = _array(scale).astype(np.float32).reshape(-1)
        self.zero_point = _array(zero_point).astype(np.int64).reshape(-1)
        self.axis: Optional[int] = None
        if observer.qscheme.is_per_channel:
            self.axis = observer.ch_axis
            if self.axis != 0:
                raise ValueError(f"[quantize weight] per-channel weights must be observed along "
                                 f"dim 0 (output channels), got ch_axis={self.axis}")
        else:
            self.scale, self.zero_point = self.scale[:1], self.zero_point[:1]
        w = np.asarray(weight.detach().numpy()).astype(np.float32)
        axis = self.axis
        self.int_weight = _qmath.quantize(w, self.scale if axis is not None else self.scale[0],
                                          self.zero_point if axis is not None
                                          else self.zero_point[0], -128, 127, axis).astype(np.int8)
        self.shape = w.shape

    def centered(self) -> np.ndarray:
        """``q - zero_point`` in float64, output channels first."""
        zp = self.zero_point.reshape((-1,) + (1,) * (len(self.shape) - 1))
        return self.int_weight.astype(np.float64) - zp

    def channel_scale(self, channels: int) -> np.ndarray:
        return np.broadcast_to(self.scale, (channels,)).astype(np.float32)

    def dequantized(self) -> Tensor:
        scale = self.scale.reshape((-1,) + (1,) * (len(self.shape) - 1))
        return _creation.from_numpy((self.centered().astype(np.float32) * scale)
                                    .astype(np.float32))


class Quantize(Module):
    """Quantizes a float input to ``scale``/``zero_point`` (what ``QuantStub`` becomes).

    Args:
        scale, zero_point: the qparams. dtype: ``quint8`` (default) or ``qint8``.
    """

    def __init__(self, scale: float, zero_point: int, dtype: Any = quint8) -> None:
        super().__init__()
        self.scale, self.zero_point, self.dtype = float(scale), int(zero_point), dtype

    def forward(self, X: Tensor) -> Tensor:
        x = np.asarray(X.detach().numpy())
        q = _qmath.quantize(x, np.float32(self.scale), self.zero_point, self.dtype.qmin,
                            self.dtype.qmax)
        return make_quantized(q, self.scale, self.zero_point, self.dtype)

    @classmethod
    def from_float(cls, mod: Module, use_precomputed_fake_quant: bool = False) -> "Quantize":
        post = _observer_of(cls, mod)
        scale, zero_point = _output_qparams(cls, mod)
        return cls(scale, zero_point, post.dtype)

    def extra_repr(self) -> str:
        return f"scale={self.scale}, zero_point={self.zero_point}, dtype={self.dtype}"


class DeQuantize(Module):
    """Returns a plain float tensor (what ``DeQuantStub`` becomes)."""

    def forward(self, Xq: Tensor) -> Tensor:
        return _creation.from_numpy(np.array(Xq.detach().numpy()))

    @classmethod
    def from_float(cls, mod: Module, use_precomputed_fake_quant: bool = False) -> "DeQuantize":
        return cls()


def _float_weight_module(mod: Module) -> tuple:
    """``(layer, weight, bias, weight_observer)`` of a float, fused or QAT module."""
    if isinstance(mod, nnqat.ConvBn2d):
        weight, bias = mod._folded()
        observer = mod.weight_fake_quant
        observer(weight)
        return mod, weight, bias, observer
    layer = mod[0] if isinstance(mod, nni._FusedModule) else mod
    observer = getattr(mod, "weight_fake_quant", None)
    if observer is None:
        qconfig = getattr(mod, "qconfig", None)
        if qconfig is None:
            raise RuntimeError(f"[convert] {type(mod).__name__} has no qconfig; call "
                               "prepare(model) before convert(model)")
        observer = qconfig.weight()
    observer(layer.weight)
    return layer, layer.weight, layer.bias, observer


class Linear(Module):
    """Quantized ``Linear``: int8 weights (per tensor or per output channel), quint8 input
    and output with ``scale``/``zero_point``.

    Shape:
        - Input: ``(*, in_features)``; Output: ``(*, out_features)``.
    """

    _relu = False

    def __init__(self, in_features: int, out_features: int, bias_: bool = True,
                 dtype: Any = qint8) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.scale, self.zero_point = 1.0, 0
        self._packed: Optional[_PackedWeight] = None
        self._bias: Optional[np.ndarray] = None

    def weight(self) -> Tensor:
        """The dequantized weight."""
        return self._packed.dequantized()

    def bias(self) -> Optional[Tensor]:
        return None if self._bias is None else _creation.from_numpy(self._bias.copy())

    def _set(self, packed: _PackedWeight, bias: Optional[Tensor]) -> None:
        self._packed = packed
        self._bias = None if bias is None else np.asarray(
            bias.detach().numpy()).astype(np.float32)

    def _accumulate(self, centered_x: np.ndarray) -> np.ndarray:
        return centered_x @ self._packed.centered().T

    def _channel_broadcast(self, values: np.ndarray, ndim: int) -> np.ndarray:
        return values

    def forward(self, x: Tensor) -> Tensor:
        name = f"quantized.{type(self).__name__}"
        scale, zero_point, dtype = input_qparams(x, name)
        q = _qmath.quantize(np.asarray(x.detach().numpy()), np.float32(scale), zero_point,
                            dtype.qmin, dtype.qmax)
        acc = self._accumulate((q - zero_point).astype(np.float64))
        channels = self._packed.shape[0]
        per_channel = (np.float32(scale) * self._packed.channel_scale(channels)).astype(
            np.float32)
        act_w = self._channel_broadcast(per_channel, acc.ndim)
        bias = None if self._bias is None else self._channel_broadcast(self._bias, acc.ndim)
        out = _qmath.requantize(acc, bias, act_w, self.scale, self.zero_point, 0, 255,
                                self._relu)
        return make_quantized(out, self.scale, self.zero_point, quint8)

    @classmethod
    def from_float(cls, mod: Module, use_precomputed_fake_quant: bool = False) -> "Linear":
        scale, zero_point = _output_qparams(cls, mod)
        layer, weight, bias, observer = _float_weight_module(mod)
        q = cls(layer.in_features, layer.out_features)
        q._set(_PackedWeight(weight, observer), bias)
        q.scale, q.zero_point = scale, zero_point
        return q

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"scale={self.scale}, zero_point={self.zero_point}")


class LinearReLU(Linear):
    """Quantized ``Linear`` fused with ``ReLU``: the output clamps at its zero point."""

    _relu = True


class Conv2d(Linear):
    """Quantized ``Conv2d`` (zeros padding): int8 weights, quint8 input and output.

    Shape:
        - Input: ``(N, C_in, H, W)``; Output: ``(N, C_out, H_out, W_out)``.
    """

    def __init__(self, conv: Module) -> None:
        Module.__init__(self)
        if conv.padding_mode != "zeros":
            raise ValueError(f"[quantized.Conv2d] only padding_mode='zeros' is supported, got "
                             f"{conv.padding_mode!r}")
        for name in ("in_channels", "out_channels", "kernel_size", "stride", "padding",
                     "dilation", "groups", "padding_mode"):
            setattr(self, name, getattr(conv, name))
        self.scale, self.zero_point = 1.0, 0
        self._packed, self._bias = None, None

    def _accumulate(self, centered_x: np.ndarray) -> np.ndarray:
        out = F.conv2d(_creation.from_numpy(centered_x),
                       _creation.from_numpy(self._packed.centered()), None, self.stride,
                       self.padding, self.dilation, self.groups)
        return np.rint(np.asarray(out.numpy()))

    def _channel_broadcast(self, values: np.ndarray, ndim: int) -> np.ndarray:
        return values.reshape((-1,) + (1,) * (ndim - 2))

    @classmethod
    def from_float(cls, mod: Module, use_precomputed_fake_quant: bool = False) -> "Conv2d":
        scale, zero_point = _output_qparams(cls, mod)
        layer, weight, bias, observer = _float_weight_module(mod)
        q = cls(layer)
        q._set(_PackedWeight(weight, observer), bias)
        q.scale, q.zero_point = scale, zero_point
        return q

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, scale={self.scale}, zero_point={self.zero_point}, "
                f"padding={self.padding}")


class ConvReLU2d(Conv2d):
    """Quantized ``Conv2d`` fused with ``ReLU``."""

    _relu = True


class ReLU(Module):
    """ReLU on a quantized activation: clamps at the zero point, keeping the qparams."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        scale, zero_point, dtype = input_qparams(input, "quantized.ReLU")
        q = _qmath.quantize(np.asarray(input.detach().numpy()), np.float32(scale), zero_point,
                            dtype.qmin, dtype.qmax)
        return make_quantized(np.maximum(q, zero_point), scale, zero_point, dtype)

    @classmethod
    def from_float(cls, mod: Module, use_precomputed_fake_quant: bool = False) -> "ReLU":
        return cls(getattr(mod, "inplace", False))
