"""Eager-mode quantization with ``torch.ao.quantization``'s API (``import deepseek.quantization
as tq``): observers, fake quantization, qconfigs, stubs, fusion, ``prepare``/``convert``.

deepseek has no quantized tensor type: a converted model's activations between ``QuantStub``
and ``DeQuantStub`` are float32 tensors holding exactly the values PyTorch's quantized tensors
dequantize to (``(q - zero_point) * scale``); the quantized modules recover the integers and
compute with int8 weights and exact integer accumulation. NumPy (CPU) only.
"""

from . import nn
from ._qtypes import (per_channel_affine, per_channel_affine_float_qparams,
                      per_channel_symmetric, per_tensor_affine, per_tensor_symmetric, qint8,
                      qint32, quint8)
from .fake_quantize import (FakeQuantize, FakeQuantizeBase, FusedMovingAvgObsFakeQuantize,
                            default_fake_quant, default_fused_act_fake_quant,
                            default_fused_per_channel_wt_fake_quant,
                            default_fused_wt_fake_quant, default_per_channel_weight_fake_quant,
                            default_weight_fake_quant, disable_fake_quant, disable_observer,
                            enable_fake_quant, enable_observer, fake_quantize_per_channel_affine,
                            fake_quantize_per_tensor_affine)
from .fuse_modules import fuse_known_modules, fuse_modules, fuse_modules_qat, get_fuser_method
from .nn import quantized
from .observer import (HistogramObserver, MinMaxObserver, MovingAverageMinMaxObserver,
                       MovingAveragePerChannelMinMaxObserver, NoopObserver, ObserverBase,
                       PerChannelMinMaxObserver, PlaceholderObserver,
                       default_dynamic_quant_observer, default_histogram_observer,
                       default_observer, default_per_channel_weight_observer,
                       default_placeholder_observer, default_weight_observer)
from .qconfig import (QConfig, QConfigDynamic, default_dynamic_qconfig, default_qat_qconfig,
                      default_qconfig, get_default_qat_qconfig, get_default_qconfig,
                      per_channel_dynamic_qconfig)
from .quantize import (convert, get_default_dynamic_quant_module_mappings,
                       get_default_qat_module_mappings, get_default_static_quant_module_mappings,
                       prepare, prepare_qat, propagate_qconfig_, quantize, quantize_dynamic)
from .stubs import DeQuantStub, QuantStub, QuantWrapper

__all__ = [
    "nn", "quantized", "quint8", "qint8", "qint32", "per_tensor_affine", "per_tensor_symmetric",
    "per_channel_affine", "per_channel_symmetric", "per_channel_affine_float_qparams",
    "ObserverBase", "MinMaxObserver", "MovingAverageMinMaxObserver", "PerChannelMinMaxObserver",
    "MovingAveragePerChannelMinMaxObserver", "HistogramObserver", "PlaceholderObserver",
    "NoopObserver", "default_observer", "default_weight_observer",
    "default_per_channel_weight_observer", "default_histogram_observer",
    "default_dynamic_quant_observer", "default_placeholder_observer",
    "FakeQuantizeBase", "FakeQuantize", "FusedMovingAvgObsFakeQuantize",
    "fake_quantize_per_tensor_affine", "fake_quantize_per_channel_affine", "default_fake_quant",
    "default_weight_fake_quant", "default_per_channel_weight_fake_quant",
    "default_fused_act_fake_quant", "default_fused_wt_fake_quant",
    "default_fused_per_channel_wt_fake_quant", "disable_fake_quant", "enable_fake_quant",
    "disable_observer", "enable_observer", "QConfig", "QConfigDynamic", "default_qconfig",
    "default_qat_qconfig", "default_dynamic_qconfig", "per_channel_dynamic_qconfig",
    "get_default_qconfig", "get_default_qat_qconfig", "QuantStub", "DeQuantStub",
    "QuantWrapper", "fuse_modules", "fuse_modules_qat", "fuse_known_modules",
    "get_fuser_method", "prepare", "prepare_qat", "convert", "quantize", "quantize_dynamic",
    "propagate_qconfig_", "get_default_static_quant_module_mappings",
    "get_default_qat_module_mappings", "get_default_dynamic_quant_module_mappings",
]
