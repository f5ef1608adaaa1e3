"""The integer arithmetic the quantized kernels share, on NumPy arrays.

Each function follows the rounding and float32 order of PyTorch's CPU kernels (fbgemm):
``quantize`` multiplies by the float32 reciprocal of the scale and rounds half to even,
``choose_qparams`` is fbgemm's ``ChooseQuantizationParams`` (double precision, the zero point
picked from whichever end loses less), ``requantize`` is its float-bias output stage.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["quantize", "dequantize", "choose_qparams", "requantize", "fake_quantize"]

_F32 = np.float32
_SMALL_SCALE = _F32(6.1e-5)


def _channel_shape(values: np.ndarray, axis: int, ndim: int) -> np.ndarray:
    """``values`` of shape ``(C,)`` reshaped to broadcast along ``axis`` of an ``ndim`` array."""
    shape = [1] * ndim
    shape[axis] = -1
    return np.asarray(values).reshape(shape)


def _grid(scale: np.ndarray, zero_point: np.ndarray, axis: int | None, ndim: int) -> tuple:
    """``(scale, zero_point, 1 / scale)`` as float32/int64 arrays that broadcast against the
    input (per channel along ``axis``)."""
    scale = np.asarray(scale, _F32)
    zero_point = np.asarray(zero_point).astype(np.int64)
    if axis is not None:
        scale = _channel_shape(scale, axis, ndim)
        zero_point = _channel_shape(zero_point, axis, ndim)
    return scale, zero_point, (_F32(1) / scale).astype(_F32)


def fake_quantize(x: np.ndarray, scale: np.ndarray, zero_point: np.ndarray, quant_min: int,
                  quant_max: int, axis: int | None = None) -> tuple:
    """``(out, mask)``: ``x`` rounded onto the grid and back, and where it was in range."""
    scale, zero_point, inv_scale = _grid(scale, zero_point, axis, x.ndim)
    q = np.rint((x * inv_scale).astype(x.dtype)).astype(np.int64) + zero_point
    mask = (q >= quant_min) & (q <= quant_max)
    out = ((np.clip(q, quant_min, quant_max) - zero_point).astype(x.dtype) * scale)
    return out.astype(x.dtype), mask


def quantize(x: np.ndarray, scale: np.ndarray, zero_point: np.ndarray, quant_min: int,
             quant_max: int, axis: int | None = None) -> np.ndarray:
    """Integers (int64) ``clamp(round(x / scale) + zero_point, quant_min, quant_max)``."""
    scale, zero_point, inv_scale = _grid(scale, zero_point, axis, x.ndim)
    q = np.rint((x.astype(_F32) * inv_scale).astype(_F32)).astype(np.int64) + zero_point
    return np.clip(q, quant_min, quant_max)


def dequantize(q: np.ndarray, scale: np.ndarray, zero_point: np.ndarray,
               axis: int | None = None) -> np.ndarray:
    """Float32 ``(q - zero_point) * scale``."""
    scale = np.asarray(scale, _F32)
    zero_point = np.asarray(zero_point).astype(np.int64)
    if axis is not None:
        scale = _channel_shape(scale, axis, q.ndim)
        zero_point = _channel_shape(zero_point, axis, q.ndim)
    return ((q.astype(np.int64) - zero_point).astype(_F32) * scale).astype(_F32)


def choose_qparams(low: float, high: float, qmin: int, qmax: int,
                   preserve_sparsity: bool = False, reduce_range: bool = False) -> tuple:
    """``(scale, zero_point)`` for the float range ``[low, high]`` as fbgemm chooses them (used
    by dynamic quantization and the fused observer/fake-quantize op)."""
    low, high = _F32(low), _F32(high)
    if reduce_range:
        qmin, qmax = qmin // 2, qmax // 2
    if low < 0 and high > 0 and preserve_sparsity:
        sym_qmin = -((qmax - qmin) // 2 + 1)
        sym_qmax = (qmax - qmin) // 2
        max_scale = max(abs(float(low) / sym_qmin), abs(float(high) / sym_qmax))
        low, high = _F32(max_scale * sym_qmin), _F32(max_scale * sym_qmax)
    low, high = min(low, _F32(0)), max(high, _F32(0))
    scale = (float(high) - float(low)) / (qmax - qmin)
    if _F32(scale) == 0 or math.isinf(_F32(1) / _F32(scale)):
        scale = 0.1
    if _F32(scale) < _SMALL_SCALE:
        original = _F32(scale)
        scale = float(_SMALL_SCALE)
        if low == 0:
            high = _SMALL_SCALE * _F32(qmax - qmin)
        elif high == 0:
            low = -_SMALL_SCALE * _F32(qmax - qmin)
        else:
            amplifier = _SMALL_SCALE / original
            low, high = _F32(low * amplifier), _F32(high * amplifier)
    from_min = qmin - float(low) / scale
    from_max = qmax - float(high) / scale
    from_min_error = abs(qmin) - abs(float(low) / scale)
    from_max_error = abs(qmax) - abs(float(high) / scale)
    initial = from_min if from_min_error < from_max_error else from_max
    if preserve_sparsity:
        initial = (qmin + qmax) / 2
    if initial < qmin:
        zero_point = qmin
    elif initial > qmax:
        zero_point = qmax
    else:
        zero_point = int(np.rint(initial))
    return _F32(scale), zero_point


def requantize(acc: np.ndarray, bias: np.ndarray | None, act_times_w_scale: np.ndarray,
               output_scale: float, output_zero_point: int, quant_min: int, quant_max: int,
               relu: bool = False) -> np.ndarray:
    """Integers of an int32 accumulator with a float bias, rescaled to the output qparams:
    ``round((acc + bias / (s_x s_w)) * (s_x s_w / s_out)) + z_out``, clamped (at ``z_out``
    from below when ``relu``). ``act_times_w_scale`` broadcasts against ``acc``'s channels."""
    raw = acc.astype(_F32)
    if bias is not None:
        raw = (raw + (bias.astype(_F32) / act_times_w_scale).astype(_F32)).astype(_F32)
    multiplier = (act_times_w_scale / _F32(output_scale)).astype(_F32)
    q = np.rint((raw * multiplier).astype(_F32)).astype(np.int64) + output_zero_point
    return np.clip(q, output_zero_point if relu else quant_min, quant_max)
