"""Observers: modules that watch the tensors flowing through them and choose (scale, zero_point).

The arithmetic is float32 NumPy in the same order as ``torch.ao.quantization.observer``, so
``calculate_qparams()`` gives bit-identical scales and zero points for the same inputs.
"""

from __future__ import annotations

import functools
import warnings
from typing import Any, Optional

import numpy as np

from .. import _creation
from ..nn.modules.module import Module
from ..tensor import Tensor
from ._qtypes import (as_qdtype, as_qscheme, per_channel_affine, per_channel_affine_float_qparams,
                      per_channel_symmetric, per_tensor_affine, per_tensor_symmetric, qint8,
                      qint32, quint8)

__all__ = ["ObserverBase", "UniformQuantizationObserverBase", "MinMaxObserver",
           "MovingAverageMinMaxObserver", "PerChannelMinMaxObserver",
           "MovingAveragePerChannelMinMaxObserver", "HistogramObserver", "PlaceholderObserver",
           "NoopObserver", "default_observer", "default_weight_observer",
           "default_per_channel_weight_observer", "default_histogram_observer",
           "default_dynamic_quant_observer", "default_placeholder_observer",
           "calculate_qmin_qmax"]

_EPS = float(np.finfo(np.float32).eps)
_F32 = np.float32


class _PartialWrapper:
    """A constructor with some keyword arguments bound (what ``Observer.with_args`` returns)."""

    def __init__(self, factory: functools.partial) -> None:
        self.p = factory

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.p(*args, **kwargs)

    def with_args(self, **kwargs: Any) -> "_PartialWrapper":
        return _PartialWrapper(functools.partial(self.p, **kwargs))

    def __repr__(self) -> str:
        return repr(self.p)


def _with_args(cls_or_self: Any, **kwargs: Any) -> _PartialWrapper:
    return _PartialWrapper(functools.partial(cls_or_self, **kwargs))


def _array(t: Tensor) -> np.ndarray:
    return np.asarray(t.detach().numpy())


def _buffer(values: Any, dtype: type = np.float32) -> Tensor:
    return _creation.from_numpy(np.array(values, dtype=dtype))


def calculate_qmin_qmax(quant_min: Optional[int], quant_max: Optional[int],
                        has_customized_qrange: bool, dtype: Any,
                        reduce_range: bool) -> tuple[int, int]:
    """The integer range an observer quantizes to, as PyTorch computes it: the dtype's full
    range, or the custom one, halved (``// 2``) when ``reduce_range``."""
    dtype = as_qdtype(dtype, "calculate_qmin_qmax")
    if has_customized_qrange:
        span = quant_max - quant_min + 1
        if dtype is qint8 and not 0 < span <= 256:
            raise ValueError("[observer] quantization range should be positive and not exceed "
                             f"the maximum bit range (=256), got [{quant_min}, {quant_max}]")
        if reduce_range:
            quant_min, quant_max = quant_min // 2, quant_max // 2
        return quant_min, quant_max
    if dtype is qint32:
        return dtype.qmin, dtype.qmax
    low, high = dtype.qmin, dtype.qmax
    if reduce_range:
        low, high = low // 2, high // 2
    return low, high


class ObserverBase(Module):
    """Base of observers: ``forward`` records statistics and returns its input unchanged;
    ``calculate_qparams`` turns them into ``(scale, zero_point)``."""

    with_args = classmethod(_with_args)

    def __init__(self, dtype: Any = quint8, is_dynamic: bool = False) -> None:
        super().__init__()
        self.dtype = as_qdtype(dtype, type(self).__name__)
        self.is_dynamic = is_dynamic

    def calculate_qparams(self) -> tuple:
        raise NotImplementedError


class UniformQuantizationObserverBase(ObserverBase):
    """Shared by the min/max and histogram observers: argument checks, the integer range and
    the one ``(min, max) -> (scale, zero_point)`` rule."""

    def __init__(self, dtype: Any = quint8, qscheme: Any = per_tensor_affine,
                 reduce_range: bool = False, quant_min: Optional[int] = None,
                 quant_max: Optional[int] = None, factory_kwargs: Any = None,
                 eps: float = _EPS, is_dynamic: bool = False, **kwargs: Any) -> None:
        name = type(self).__name__
        super().__init__(dtype=dtype, is_dynamic=is_dynamic)
        self.qscheme = as_qscheme(qscheme, name)
        if reduce_range:
            warnings.warn("Please use quant_min and quant_max to specify the range for "
                          "observers. reduce_range will be deprecated in a future release of "
                          "PyTorch.", stacklevel=2)
        self.reduce_range = reduce_range
        self.register_buffer("eps", _buffer([eps]))
        self.has_customized_qrange = quant_min is not None and quant_max is not None
        if self.has_customized_qrange:
            if not quant_min <= 0 <= quant_max:
                raise ValueError(f"[{name}] the user-specified quantization range must include "
                                 f"0, got quant_min={quant_min}, quant_max={quant_max}")
            if quant_min >= quant_max:
                raise ValueError(f"[{name}] quant_min must be strictly less than quant_max, got "
                                 f"quant_min={quant_min}, quant_max={quant_max}")
        self.quant_min, self.quant_max = calculate_qmin_qmax(
            quant_min, quant_max, self.has_customized_qrange, self.dtype, reduce_range)

    def _calculate_qparams(self, min_val: np.ndarray, max_val: np.ndarray) -> tuple:
        """``(scale, zero_point)`` tensors of shape ``(1,)`` (per tensor) or ``(C,)``."""
        min_val = np.asarray(min_val, _F32)
        max_val = np.asarray(max_val, _F32)
        if min_val.size == 0 or (np.all(min_val == np.inf) and np.all(max_val == -np.inf)):
            warnings.warn("must run observer before calling calculate_qparams. Returning "
                          "default values.", stacklevel=3)
            return _buffer([1.0]), _buffer([0], np.int64)
        if np.any(min_val > max_val):
            raise ValueError(f"[{type(self).__name__}] min {min_val} should be less than max "
                             f"{max_val}")
        qmin, qmax = self.quant_min, self.quant_max
        eps = _array(self.eps).astype(_F32)
        min_neg = np.minimum(min_val, _F32(0))
        max_pos = np.maximum(max_val, _F32(0))
        zero_point = np.zeros(min_neg.shape, np.int64)
        if self.qscheme in (per_tensor_symmetric, per_channel_symmetric):
            max_pos = np.maximum(-min_neg, max_pos)
            scale = (max_pos / _F32(float(qmax - qmin) / 2)).astype(_F32)
            scale = np.maximum(scale, eps)
            if self.dtype is quint8:
                zero_point[...] = (qmin + qmax) // 2 if self.has_customized_qrange else 128
        elif self.qscheme is per_channel_affine_float_qparams:
            scale = ((max_val - min_val) / _F32(qmax - qmin)).astype(_F32)
            scale = np.where(scale > eps, scale, _F32(1))
            zero_point = (-1 * min_val / scale).astype(_F32)
        else:
            scale = ((max_pos - min_neg) / _F32(qmax - qmin)).astype(_F32)
            scale = np.maximum(scale, eps)
            zero_point = (qmin - np.round(min_neg / scale).astype(np.int32)).astype(np.int32)
            zero_point = np.clip(zero_point, qmin, qmax).astype(np.int32)
        return _buffer(np.atleast_1d(scale)), _creation.from_numpy(np.atleast_1d(zero_point))

    def reset_min_max_vals(self) -> None:
        raise NotImplementedError("Cannot reset min/max values in the given observer.")


class MinMaxObserver(UniformQuantizationObserverBase):
    """Tracks the running minimum and maximum of what it sees and derives per-tensor qparams.

    Args:
        dtype: ``quint8`` (default) or ``qint8``.
        qscheme: ``per_tensor_affine`` (default) or ``per_tensor_symmetric``.
        reduce_range: halve the integer range (for fbgemm's 7-bit activations).
        quant_min, quant_max: a custom integer range.
        eps: the smallest scale.

    Example::

        >>> obs = MinMaxObserver()
        >>> _ = obs(ds.tensor([-1.0, 2.0]))
        >>> scale, zero_point = obs.calculate_qparams()
    """

    def __init__(self, dtype: Any = quint8, qscheme: Any = per_tensor_affine,
                 reduce_range: bool = False, quant_min: Optional[int] = None,
                 quant_max: Optional[int] = None, factory_kwargs: Any = None,
                 eps: float = _EPS, is_dynamic: bool = False, **kwargs: Any) -> None:
        scheme = as_qscheme(qscheme, type(self).__name__)
        if scheme.is_per_channel and not isinstance(self, PerChannelMinMaxObserver):
            raise ValueError(f"[{type(self).__name__}] is a per-tensor observer, but qscheme is "
                             f"{scheme.name}; use PerChannelMinMaxObserver for per-channel "
                             "qschemes")
        if scheme is per_tensor_symmetric and reduce_range and as_qdtype(
                dtype, type(self).__name__) is quint8:
            raise NotImplementedError("Cannot reduce range for symmetric quantization for "
                                      "quint8")
        super().__init__(dtype=dtype, qscheme=scheme, reduce_range=reduce_range,
                         quant_min=quant_min, quant_max=quant_max, eps=eps,
                         is_dynamic=is_dynamic, **kwargs)
        self.register_buffer("min_val", _buffer(np.inf))
        self.register_buffer("max_val", _buffer(-np.inf))

    def forward(self, x_orig: Tensor) -> Tensor:
        if x_orig.numel() == 0:
            return x_orig
        x = _array(x_orig).astype(_F32)
        low, high = self._update(x.min(), x.max(), _array(self.min_val), _array(self.max_val))
        self.min_val, self.max_val = _buffer(low), _buffer(high)
        return x_orig

    def _update(self, low: Any, high: Any, old_low: np.ndarray, old_high: np.ndarray) -> tuple:
        return np.minimum(low, old_low), np.maximum(high, old_high)

    def calculate_qparams(self) -> tuple:
        """The ``(scale, zero_point)`` for what was observed so far."""
        return self._calculate_qparams(_array(self.min_val), _array(self.max_val))

    def extra_repr(self) -> str:
        return f"min_val={_array(self.min_val)}, max_val={_array(self.max_val)}"

    def reset_min_max_vals(self) -> None:
        self.min_val, self.max_val = _buffer(np.inf), _buffer(-np.inf)


def _moving_average(old: np.ndarray, new: np.ndarray, constant: float) -> np.ndarray:
    return (old + _F32(constant) * (new - old)).astype(_F32)


class MovingAverageMinMaxObserver(MinMaxObserver):
    """As :class:`MinMaxObserver`, but ``min``/``max`` follow an exponential moving average
    with weight ``averaging_constant`` (default 0.01) after the first batch."""

    def __init__(self, averaging_constant: float = 0.01, dtype: Any = quint8,
                 qscheme: Any = per_tensor_affine, reduce_range: bool = False,
                 quant_min: Optional[int] = None, quant_max: Optional[int] = None,
                 eps: float = _EPS, is_dynamic: bool = False, **kwargs: Any) -> None:
        self.averaging_constant = averaging_constant
        super().__init__(dtype=dtype, qscheme=qscheme, reduce_range=reduce_range,
                         quant_min=quant_min, quant_max=quant_max, eps=eps,
                         is_dynamic=is_dynamic, **kwargs)

    def _update(self, low: Any, high: Any, old_low: np.ndarray, old_high: np.ndarray) -> tuple:
        if np.all(old_low == np.inf) and np.all(old_high == -np.inf):
            return low, high
        c = self.averaging_constant
        return _moving_average(old_low, low, c), _moving_average(old_high, high, c)


class PerChannelMinMaxObserver(MinMaxObserver):
    """Tracks the running minimum and maximum of each slice along ``ch_axis`` (default 0):
    per-channel qparams, as used for weights.

    Args:
        ch_axis: the channel dimension.
        dtype: ``quint8`` (default) or ``qint8``.
        qscheme: ``per_channel_affine`` (default), ``per_channel_symmetric`` or
            ``per_channel_affine_float_qparams``.
        reduce_range, quant_min, quant_max, eps: as :class:`MinMaxObserver`.
    """

    def __init__(self, ch_axis: int = 0, dtype: Any = quint8, qscheme: Any = per_channel_affine,
                 reduce_range: bool = False, quant_min: Optional[int] = None,
                 quant_max: Optional[int] = None, factory_kwargs: Any = None,
                 eps: float = _EPS, is_dynamic: bool = False, **kwargs: Any) -> None:
        scheme = as_qscheme(qscheme, type(self).__name__)
        if not scheme.is_per_channel:
            raise ValueError(f"[{type(self).__name__}] is a per-channel observer, but qscheme is "
                             f"{scheme.name}; use MinMaxObserver for per-tensor qschemes")
        if is_dynamic:
            raise NotImplementedError(f"{type(self).__name__} doesn't support dynamic "
                                      "quantization")
        UniformQuantizationObserverBase.__init__(
            self, dtype=dtype, qscheme=scheme, reduce_range=reduce_range, quant_min=quant_min,
            quant_max=quant_max, eps=eps, is_dynamic=is_dynamic, **kwargs)
        self.ch_axis = ch_axis
        self.register_buffer("min_val", _buffer([]))
        self.register_buffer("max_val", _buffer([]))

    def forward(self, x_orig: Tensor) -> Tensor:
        if x_orig.numel() == 0:
            return x_orig
        x = _array(x_orig).astype(_F32)
        rows = np.moveaxis(x, self.ch_axis, 0).reshape(x.shape[self.ch_axis], -1)
        old_low, old_high = _array(self.min_val), _array(self.max_val)
        low, high = rows.min(axis=1), rows.max(axis=1)
        if old_low.size and old_low.shape != low.shape:
            raise ValueError(f"[{type(self).__name__}] saw {low.shape[0]} channels along "
                             f"dim {self.ch_axis}, but earlier inputs had {old_low.shape[0]}")
        if old_low.size:
            low, high = self._update(low, high, old_low, old_high)
        self.min_val, self.max_val = _buffer(low), _buffer(high)
        return x_orig

    def _update(self, low: Any, high: Any, old_low: np.ndarray, old_high: np.ndarray) -> tuple:
        return np.minimum(low, old_low), np.maximum(high, old_high)

    def reset_min_max_vals(self) -> None:
        self.min_val, self.max_val = _buffer([]), _buffer([])


class MovingAveragePerChannelMinMaxObserver(PerChannelMinMaxObserver):
    """As :class:`PerChannelMinMaxObserver`, with moving-average ``min``/``max``."""

    def __init__(self, averaging_constant: float = 0.01, ch_axis: int = 0, dtype: Any = quint8,
                 qscheme: Any = per_channel_affine, reduce_range: bool = False,
                 quant_min: Optional[int] = None, quant_max: Optional[int] = None,
                 eps: float = _EPS, is_dynamic: bool = False, **kwargs: Any) -> None:
        self.averaging_constant = averaging_constant
        super().__init__(ch_axis=ch_axis, dtype=dtype, qscheme=qscheme,
                         reduce_range=reduce_range, quant_min=quant_min, quant_max=quant_max,
                         eps=eps, is_dynamic=is_dynamic, **kwargs)

    def _update(self, low: Any, high: Any, old_low: np.ndarray, old_high: np.ndarray) -> tuple:
        c = self.averaging_constant
        return _moving_average(old_low, low, c), _moving_average(old_high, high, c)


class PlaceholderObserver(ObserverBase):
    """Records nothing; carries the dtype (and ``is_dynamic``) a later step reads, as the
    activation observer of dynamic quantization does."""

    def __init__(self, dtype: Any = quint8, custom_op_name: str = "",
                 compute_dtype: Any = None, quant_min: Optional[int] = None,
                 quant_max: Optional[int] = None, qscheme: Any = None,
                 eps: Optional[float] = None, is_dynamic: bool = False) -> None:
        super().__init__(dtype=dtype, is_dynamic=is_dynamic)
        self.qscheme = as_qscheme(qscheme if qscheme is not None else per_tensor_affine,
                                  type(self).__name__)
        self.quant_min, self.quant_max, self.eps = quant_min, quant_max, eps

    def forward(self, x: Tensor) -> Tensor:
        return x

    def calculate_qparams(self) -> tuple:
        raise RuntimeError("calculate_qparams should not be called for PlaceholderObserver")


class NoopObserver(PlaceholderObserver):
    """An observer that does nothing (kept for PyTorch's spelling)."""


from ._histogram import HistogramObserver  # noqa: E402  (it subclasses the base above)

default_observer = MinMaxObserver.with_args(quant_min=0, quant_max=127)
default_weight_observer = MinMaxObserver.with_args(dtype=qint8, qscheme=per_tensor_symmetric)
default_per_channel_weight_observer = PerChannelMinMaxObserver.with_args(
    dtype=qint8, qscheme=per_channel_symmetric)
default_histogram_observer = HistogramObserver.with_args(quant_min=0, quant_max=127)
default_dynamic_quant_observer = PlaceholderObserver.with_args(
    dtype=quint8, quant_min=0, quant_max=255, is_dynamic=True)
default_placeholder_observer = PlaceholderObserver
