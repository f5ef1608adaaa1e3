"""Quantized modules (``torch.ao.nn.quantized``), which ``convert`` swaps in; activations are
float tensors on the quantized grid (see ``_qtensor``)."""

from . import dynamic
from ._qtensor import int_repr, q_scale, q_zero_point
from .modules import Conv2d, ConvReLU2d, DeQuantize, Linear, LinearReLU, Quantize, ReLU

__all__ = ["dynamic", "Quantize", "DeQuantize", "Linear", "LinearReLU", "Conv2d", "ConvReLU2d",
           "ReLU", "int_repr", "q_scale", "q_zero_point"]
