"""Dynamically quantized modules: int8 weights, activations quantized per call from their own
range (``torch.ao.nn.quantized.dynamic``)."""

from __future__ import annotations



import numpy as np

from ..... import _creation
from .....nn.modules.module import Module
from .....tensor import Tensor
from .... import _qmath
from ..modules import Linear as _StaticLinear
from ..modules import _float_weight_module, _PackedWeight

__all__ = ["Linear"]


class Linear(_StaticLinear):
    """Dynamically quantized ``Linear``: float input and output. Each call quantizes the input
    to quint8 from its min/max (the 7-bit range when ``reduce_range``, as fbgemm/x86 do),
    multiplies with the int8 weight exactly and rescales to float with the float bias.

    Shape:
        - Input: ``(*, in_features)``; Output: ``(*, out_features)``.
    """

    def __init__(self, in_features: int, out_features: int, bias_: bool = True,
                 dtype: object = None, reduce_range: bool = True) -> None:
        super().__init__(in_features, out_features, bias_)
        self.reduce_range = reduce_range

    def forward(self, x: Tensor) -> Tensor:
        if not x.is_floating_point():
            raise TypeError(f"[quantized.dynamic.Linear] expects a float input, got {x.dtype}")
        data = np.asarray(x.detach().numpy()).astype(np.float32)
        if data.shape[-1:] != (self.in_features,):
            raise ValueError(f"[quantized.dynamic.Linear] expected input of shape (*, "
                             f"{self.in_features}), got {list(data.shape)}")
        low = data.min() if data.size else np.float32(0)
        high = data.max() if data.size else np.float32(0)
        scale, zero_point = _qmath.choose_qparams(low, high, 0, 255,
                                                  reduce_range=self.reduce_range)
        q = _qmath.quantize(data, scale, zero_point, 0, 255)
        acc = self._accumulate((q - zero_point).astype(np.float64)).astype(np.float32)
        w_scale = self._packed.channel_scale(self.out_features)
        out = (acc * np.float32(scale)).astype(np.float32) * w_scale
        if self._bias is not None:
            out = out + self._bias
        return _creation.from_numpy(out.astype(np.float32))

    @classmethod
    def from_float(cls, mod: Module, use_precomputed_fake_quant: bool = False) -> "Linear":
        layer, weight, bias, observer = _float_weight_module(mod)
        q = cls(layer.in_features, layer.out_features)
        q._set(_PackedWeight(weight, observer), bias)
        return q

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"reduce_range={self.reduce_range}")


