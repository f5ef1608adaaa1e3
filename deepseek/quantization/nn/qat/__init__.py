"""Quantization-aware training modules (``torch.ao.nn.qat`` and ``torch.ao.nn.intrinsic.qat``):
float layers whose weight passes through ``qconfig.weight()`` fake quantization each step."""

from __future__ import annotations

from typing import Any

from .... import _creation
from ....nn import functional as F
from ....nn.modules.batchnorm import BatchNorm2d
from ....nn.modules.conv import Conv2d as _FloatConv2d
from ....nn.modules.linear import Linear as _FloatLinear
from ....nn.modules.module import Module
from ....tensor import Tensor
from .. import intrinsic as nni

__all__ = ["Linear", "Conv2d", "LinearReLU", "ConvReLU2d", "ConvBn2d", "ConvBnReLU2d"]


def _need_qconfig(cls: type, mod: Module) -> Any:
    qconfig = getattr(mod, "qconfig", None)
    if qconfig is None:
        raise ValueError(f"[{cls.__name__}.from_float] the float module "
                         f"{type(mod).__name__} has no qconfig; set model.qconfig (e.g. "
                         "get_default_qat_qconfig('x86')) before prepare_qat")
    return qconfig


class Linear(_FloatLinear):
    """``Linear`` whose weight is fake-quantized by ``qconfig.weight()`` in ``forward``."""

    _FLOAT_MODULE: tuple = (_FloatLinear,)

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 qconfig: Any = None, device: Any = None, dtype: Any = None) -> None:
        super().__init__(in_features, out_features, bias, device, dtype)
        if qconfig is None:
            raise ValueError("[qat.Linear] qconfig must be provided for QAT module")
        self.qconfig = qconfig
        self.weight_fake_quant = qconfig.weight()

    def forward(self, input: Tensor) -> Tensor:
        return F.linear(input, self.weight_fake_quant(self.weight), self.bias)

    @classmethod
    def from_float(cls, mod: Module, use_precomputed_fake_quant: bool = False) -> "Linear":
        qconfig = _need_qconfig(cls, mod)
        linear = mod[0] if isinstance(mod, nni.LinearReLU) else mod
        qat = cls(linear.in_features, linear.out_features, linear.bias is not None,
                  qconfig=qconfig)
        qat.weight, qat.bias = linear.weight, linear.bias
        return qat


class LinearReLU(Linear):
    """Fused ``Linear`` + ``ReLU`` for quantization-aware training."""

    def forward(self, input: Tensor) -> Tensor:
        return F.relu(super().forward(input))


class Conv2d(_FloatConv2d):
    """``Conv2d`` whose weight is fake-quantized by ``qconfig.weight()`` in ``forward``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, dilation: Any = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", qconfig: Any = None, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, device, dtype)
        if qconfig is None:
            raise ValueError(f"[{type(self).__name__}] qconfig must be provided for QAT module")
        self.qconfig = qconfig
        self.weight_fake_quant = qconfig.weight()

    def forward(self, input: Tensor) -> Tensor:
        return self._conv_forward(input, self.weight_fake_quant(self.weight), self.bias)

    @classmethod
    def _make(cls, conv: _FloatConv2d, qconfig: Any, **extra: Any) -> "Conv2d":
        return cls(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride,
                   conv.padding, conv.dilation, conv.groups, conv.bias is not None,
                   conv.padding_mode, qconfig=qconfig, **extra)

    @classmethod
    def from_float(cls, mod: Module, use_precomputed_fake_quant: bool = False) -> "Conv2d":
        qconfig = _need_qconfig(cls, mod)
        conv = mod[0] if isinstance(mod, nni._FusedModule) else mod
        qat = cls._make(conv, qconfig)
        qat.weight, qat.bias = conv.weight, conv.bias
        return qat


class ConvReLU2d(Conv2d):
    """Fused ``Conv2d`` + ``ReLU`` for quantization-aware training."""

    def forward(self, input: Tensor) -> Tensor:
        return F.relu(super().forward(input))


class ConvBn2d(Conv2d):
    """``Conv2d`` + ``BatchNorm2d`` for quantization-aware training: the BatchNorm scale is
    folded into the weight before fake quantization and divided out after the convolution,
    so the quantized weights are those of the folded layer; ``bn`` still trains and keeps
    running statistics (PyTorch's approximate fold)."""

    _relu = False

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, dilation: Any = 1, groups: int = 1, bias: bool = False,
                 padding_mode: str = "zeros", eps: float = 1e-5, momentum: float = 0.1,
                 freeze_bn: bool = False, qconfig: Any = None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, qconfig=qconfig)
        self.bn = BatchNorm2d(out_channels, eps, momentum, True, True)
        self.freeze_bn = freeze_bn if self.training else True

    def forward(self, input: Tensor) -> Tensor:
        bn = self.bn
        running_std = (bn.running_var + bn.eps).sqrt()
        scale_factor = bn.weight / running_std
        scaled_weight = self.weight_fake_quant(self.weight * scale_factor.reshape(-1, 1, 1, 1))
        zero_bias = _creation.zeros(self.out_channels, dtype=input.dtype)
        conv = self._conv_forward(input, scaled_weight, zero_bias)
        conv = conv / scale_factor.reshape(1, -1, 1, 1)
        if self.bias is not None:
            conv = conv + self.bias.reshape(1, -1, 1, 1)
        out = bn(conv)
        return F.relu(out) if self._relu else out

    def train(self, mode: bool = True) -> "ConvBn2d":
        super().train(mode)
        if self.freeze_bn:
            self.bn.eval()
        return self

    @classmethod
    def from_float(cls, mod: Module, use_precomputed_fake_quant: bool = False) -> "ConvBn2d":
        qconfig = _need_qconfig(cls, mod)
        conv, bn = mod[0], mod[1]
        qat = cls._make(conv, qconfig, eps=bn.eps, momentum=bn.momentum)
        qat.weight, qat.bias = conv.weight, conv.bias
        qat.bn.weight, qat.bn.bias = bn.weight, bn.bias
        qat.bn.running_mean, qat.bn.running_var = bn.running_mean, bn.running_var
        qat.bn.num_batches_tracked = bn.num_batches_tracked
        return qat

    def _folded(self) -> tuple:
        """Weight and bias of the convolution with the BatchNorm's running statistics folded
        in, for conversion."""
        from ....nn.utils.fusion import fuse_conv_bn_weights

        bn = self.bn
        return fuse_conv_bn_weights(self.weight, self.bias, bn.running_mean, bn.running_var,
                                    bn.eps, bn.weight, bn.bias)


class ConvBnReLU2d(ConvBn2d):
    """``Conv2d`` + ``BatchNorm2d`` + ``ReLU`` for quantization-aware training."""

    _relu = True


