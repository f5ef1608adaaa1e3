"""``HistogramObserver``: a running histogram, and the L2-error search that clips outliers.

The float32/float64 steps follow PyTorch's observer (``histc`` binning in float32, cumulative
sums accumulated in float64), so qparams agree with ``torch.ao.quantization`` on the same data.
"""

from __future__ import annotations

import warnings
from typing import Any, Optional

import numpy as np

from ..tensor import Tensor
from ._qtypes import as_qscheme, per_tensor_affine, quint8
from .observer import _EPS, UniformQuantizationObserverBase, _array, _buffer

__all__ = ["HistogramObserver"]

_F32 = np.float32


def _histc(x: np.ndarray, bins: int, low: np.float32, high: np.float32) -> np.ndarray:
    """``torch.histc`` on float32: linear binning, the last bin closed, outside values dropped."""
    low, high = _F32(low), _F32(high)
    if low == high:
        low, high = _F32(low - 1), _F32(high + 1)
    x = x[(x >= low) & (x <= high)]
    pos = ((x - low) * _F32(bins) / (high - low)).astype(np.int64)
    pos[pos == bins] = bins - 1
    return np.bincount(pos, minlength=bins).astype(_F32)


def _linspace(start: np.float32, end: np.float32, steps: int) -> np.ndarray:
    """``torch.linspace`` in float32: from both ends toward the middle."""
    start, end = _F32(start), _F32(end)
    step = _F32((end - start) / _F32(steps - 1))
    idx = np.arange(steps)
    half = steps // 2
    low = start + step * idx[:half].astype(_F32)
    high = end - step * (steps - idx[half:] - 1).astype(_F32)
    return np.concatenate([low, high]).astype(_F32)


class HistogramObserver(UniformQuantizationObserverBase):
    """Keeps a ``bins``-bin histogram of everything seen and picks the (min, max) that
    minimizes the L2 quantization error, then qparams as :class:`MinMaxObserver`.

    Args:
        bins: histogram size (default 2048).
        dtype, qscheme (per-tensor only), reduce_range, quant_min, quant_max, eps:
            as :class:`MinMaxObserver`.
    """

    def __init__(self, bins: int = 2048, dtype: Any = quint8, qscheme: Any = per_tensor_affine,
                 reduce_range: bool = False, quant_min: Optional[int] = None,
                 quant_max: Optional[int] = None, factory_kwargs: Any = None,
                 eps: float = _EPS, is_dynamic: bool = False, **kwargs: Any) -> None:
        if as_qscheme(qscheme, "HistogramObserver").is_per_channel:
            raise NotImplementedError("HistogramObserver's qscheme only support "
                                      "per_tensor_symmetric and per_tensor_affine.")
        if is_dynamic:
            raise NotImplementedError("HistogramObserver doesn't support dynamic quantization")
        super().__init__(dtype=dtype, qscheme=qscheme, reduce_range=reduce_range,
                         quant_min=quant_min, quant_max=quant_max, eps=eps,
                         is_dynamic=is_dynamic, **kwargs)
        self.bins = bins
        self.register_buffer("histogram", _buffer(np.zeros(bins)))
        self.register_buffer("min_val", _buffer(np.inf))
        self.register_buffer("max_val", _buffer(-np.inf))
        self.dst_nbins = 2 ** self.dtype.bits
        self.upsample_rate = 16

    # ------------------------------------------------------------------ recording
    def forward(self, x_orig: Tensor) -> Tensor:
        if x_orig.numel() == 0:
            return x_orig
        x = _array(x_orig).astype(_F32).ravel()
        if np.isinf(x).any():
            warnings.warn("inf detected in input tensor, ignoring input", stacklevel=2)
            x = x[~np.isinf(x)]
            if x.size == 0:
                return x_orig
        x_min, x_max = x.min(), x.max()
        cur_min, cur_max = _F32(_array(self.min_val)), _F32(_array(self.max_val))
        hist = _array(self.histogram).astype(_F32)
        if cur_min == np.inf or cur_max == -np.inf:
            hist, new_min, new_max = _histc(x, self.bins, x_min, x_max), x_min, x_max
        else:
            new_min, new_max = min(cur_min, x_min), max(cur_max, x_max)
            update = _histc(x, self.bins, new_min, new_max)
            if new_min == cur_min and new_max == cur_max:
                hist = hist + update
            elif cur_min == cur_max:
                hist = _histc(np.array([cur_min], _F32), self.bins, new_min,
                              new_max) * hist.sum(dtype=_F32) + update
            else:
                hist = update + self._upscale(hist, cur_min, cur_max, new_min, new_max)
        self.histogram = _buffer(hist)
        self.min_val, self.max_val = _buffer(new_min), _buffer(new_max)
        return x_orig

    def _upscale(self, hist: np.ndarray, orig_min: np.float32, orig_max: np.float32,
                 new_min: np.float32, new_max: np.float32) -> np.ndarray:
        rate = self.upsample_rate
        fine = (np.repeat(hist, rate) / _F32(rate)).astype(_F32)
        bin_size = _F32((orig_max - orig_min) / _F32(self.bins * rate))
        mids = _linspace(orig_min, orig_max, self.bins * rate + 1)[:-1] + _F32(0.5) * bin_size
        edges = _linspace(new_min, new_max, self.bins + 1)
        buckets = np.clip(np.searchsorted(edges, mids, side="right") - 1, 0, self.bins - 1)
        out = np.zeros(self.bins, _F32)
        np.add.at(out, buckets, fine)
        return out

    # ------------------------------------------------------------------ choosing
    def _norm(self, begin: Any, end: Any, density: np.ndarray) -> np.ndarray:
        return density * ((end * end * end - begin * begin * begin) / _F32(3))

    def _quantization_error(self, start_bin: int, end_bin: int, hist: np.ndarray,
                            low: float, high: float) -> float:
        bin_width = (high - low) / self.bins
        dst_width = bin_width * (end_bin - start_bin + 1) / self.dst_nbins
        if dst_width == 0.0:
            return 0.0
        dst_w = _F32(dst_width)
        src_begin = (np.arange(self.bins) - start_bin).astype(_F32) * _F32(bin_width)
        src_end = src_begin + _F32(bin_width)
        last = self.dst_nbins - 1
        dst_of_begin = np.clip(np.floor_divide(src_begin, dst_w), 0, last).astype(_F32)
        dst_of_begin_center = (dst_of_begin + _F32(0.5)) * dst_w
        dst_of_end = np.clip(np.floor_divide(src_end, dst_w), 0, last).astype(_F32)
        density = (hist / _F32(bin_width)).astype(_F32)
        half = _F32(dst_width / 2)
        norm = np.zeros(self.bins, _F32)
        norm += self._norm(src_begin - dst_of_begin_center, np.full(self.bins, half, _F32),
                           density)
        norm += (dst_of_end - dst_of_begin - _F32(1)) * self._norm(_F32(-dst_width / 2), half,
                                                                  density)
        dst_of_end_center = dst_of_end * dst_w + half
        norm += self._norm(_F32(-dst_width / 2), src_end - dst_of_end_center, density)
        return float(norm.astype(_F32).sum(dtype=np.float64).astype(_F32))

    def _non_linear_param_search(self) -> tuple:
        hist = _array(self.histogram).astype(_F32)
        low, high = _F32(_array(self.min_val)), _F32(_array(self.max_val))
        bin_width = _F32((high - low) / _F32(self.bins))
        total = float(_F32(hist.sum(dtype=np.float64)))
        csum = np.cumsum(hist.astype(np.float64)).astype(_F32)
        stepsize, alpha, beta = 1e-5, 0.0, 1.0
        start_bin, end_bin = 0, self.bins - 1
        norm_min = float("inf")
        while alpha < beta:
            next_alpha, next_beta = alpha + stepsize, beta - stepsize
            left, right = start_bin, end_bin
            while left < end_bin and csum[left] < _F32(next_alpha * total):
                left += 1
            while right > start_bin and csum[right] > _F32(next_beta * total):
                right -= 1
            next_start, next_end = start_bin, end_bin
            if (left - start_bin) > (end_bin - right):
                next_start, alpha = left, next_alpha
            else:
                next_end, beta = right, next_beta
            if next_start == start_bin and next_end == end_bin:
                continue
            norm = self._quantization_error(next_start, next_end, hist, float(low), float(high))
            if norm > norm_min:
                break
            norm_min, start_bin, end_bin = norm, next_start, next_end
        new_min = _F32(low + bin_width * _F32(start_bin))
        new_max = _F32(low + bin_width * _F32(end_bin + 1))
        return new_min, new_max

    def calculate_qparams(self) -> tuple:
        """The ``(scale, zero_point)`` of the error-minimizing range of the histogram."""
        low, high = _array(self.min_val), _array(self.max_val)
        if low == np.inf and high == -np.inf:
            warnings.warn("must run observer before calling calculate_qparams. Returning "
                          "default scale and zero point ", stacklevel=2)
            return _buffer([1.0]), _buffer([0], np.int64)
        return self._calculate_qparams(*self._non_linear_param_search())

    def extra_repr(self) -> str:
        return f"bins={self.bins}, min_val={_array(self.min_val)}, max_val={_array(self.max_val)}"
