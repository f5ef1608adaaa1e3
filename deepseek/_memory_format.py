"""Memory formats (``contiguous_format``, ``channels_last`` …) and layouts (``strided``,
``sparse_coo``): the stride patterns a tensor's NumPy array may have, and arrays laid out in
them."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["memory_format", "contiguous_format", "channels_last", "channels_last_3d",
           "preserve_format", "layout", "strided", "sparse_coo"]


class _Named:
    """A module-level constant that prints, and pickles, as its name."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"deepseek.{self.name}"

    def __reduce__(self):
        return self.name


class memory_format(_Named):
    """How a tensor's elements are ordered in memory (``torch.memory_format``).

    ``channels_last`` stores an NCHW tensor as NHWC (strides ``(HWC, 1, WC, C)``) and
    ``channels_last_3d`` an NCDHW one as NDHWC; the shape stays NCHW / NCDHW.
    """

    __slots__ = ()


class layout(_Named):
    """How a tensor is stored (``torch.layout``): dense ``strided`` tensors, or ``sparse_coo``
    ones (:mod:`deepseek.sparse`)."""

    __slots__ = ()


contiguous_format = memory_format("contiguous_format")
channels_last = memory_format("channels_last")
channels_last_3d = memory_format("channels_last_3d")
preserve_format = memory_format("preserve_format")
strided = layout("strided")
sparse_coo = layout("sparse_coo")

# the permutation that makes a channels-last tensor's array C-contiguous, and its inverse
_RANK = {channels_last: 4, channels_last_3d: 5}
_TO_LAST = {4: (0, 2, 3, 1), 5: (0, 2, 3, 4, 1)}
_FROM_LAST = {4: (0, 3, 1, 2), 5: (0, 4, 1, 2, 3)}


def check(fmt: Any, ndim: int) -> memory_format:
    """``fmt`` (None for ``contiguous_format``) after PyTorch's checks against ``ndim``."""
    if fmt is None:
        return contiguous_format
    if not isinstance(fmt, memory_format):
        raise TypeError(f"memory_format must be a deepseek.memory_format, got "
                        f"{type(fmt).__name__}")
    rank = _RANK.get(fmt)
    if rank is not None and ndim != rank:
        raise RuntimeError(f"required rank {rank} tensor to use {fmt.name} format")
    return fmt


def _element_strides(a: np.ndarray) -> tuple:
    return tuple(s // a.itemsize for s in a.strides)


def is_contiguous(a: np.ndarray, fmt: Any) -> bool:
    """Whether ``a`` is contiguous in ``fmt`` (strides of size-1 dimensions ignored)."""
    if fmt is None or fmt is contiguous_format or fmt is preserve_format:
        return bool(a.flags.c_contiguous)
    rank = _RANK.get(check(fmt, -1) if not isinstance(fmt, memory_format) else fmt)
    if a.ndim != rank:
        return False
    expected = 1
    strides = _element_strides(a)
    for d in _TO_LAST[rank][::-1]:
        if a.shape[d] != 1:
            if strides[d] != expected:
                return False
            expected *= a.shape[d]
    return True


def _strides_like_channels_last(shape: tuple, strides: tuple) -> bool:
    """PyTorch's guess that strides are channels-last (ambiguous cases read as contiguous)."""
    if len(shape) not in _TO_LAST or strides[1] == 0:
        return False
    low = 0
    for d in _TO_LAST[len(shape)][::-1]:
        if shape[d] == 0 or strides[d] < low:
            return False
        if d == 0 and low == strides[1]:
            return False
        low = strides[d] * (shape[d] if shape[d] > 1 else 1)
    return True


def _dense(shape: tuple, strides: tuple) -> bool:
    """Non-overlapping and dense: the strides are a permutation of contiguous ones."""
    expected = 1
    for stride, size in sorted((st, sz) for st, sz in zip(strides, shape) if sz != 1):
        if stride != expected:
            return False
        expected *= size
    return True


def empty(shape: tuple, dtype: np.dtype, fmt: Any) -> np.ndarray:
    """An uninitialized array of ``shape`` laid out in ``fmt`` (not ``preserve_format``)."""
    fmt = check(fmt, len(shape))
    if fmt is contiguous_format:
        return np.empty(shape, dtype)
    rank = _RANK[fmt]
    last = np.empty(tuple(shape[d] for d in _TO_LAST[rank]), dtype)
    return last.transpose(_FROM_LAST[rank])


def empty_like(a: np.ndarray, dtype: np.dtype, fmt: Any) -> np.ndarray:
    """An uninitialized array shaped as ``a``; ``preserve_format`` (or None) keeps ``a``'s
    strides when they are dense, else takes the format they suggest, as PyTorch does."""
    if fmt is not None and fmt is not preserve_format:
        return empty(a.shape, dtype, fmt)
    if a.flags.c_contiguous or a.size == 0:
        return np.empty(a.shape, dtype)
    strides = _element_strides(a)
    if min(strides) >= 0 and _dense(a.shape, strides):
        item = np.dtype(dtype).itemsize
        flat = np.empty(a.size, dtype)
        return np.lib.stride_tricks.as_strided(flat, a.shape, tuple(s * item for s in strides))
    if _strides_like_channels_last(a.shape, strides):
        return empty(a.shape, dtype, channels_last if a.ndim == 4 else channels_last_3d)
    return np.empty(a.shape, dtype)


def suggest(a: np.ndarray) -> memory_format:
    """The format ``a``'s strides suggest: channels-last ones, else ``contiguous_format``."""
    if _strides_like_channels_last(a.shape, _element_strides(a)):
        return channels_last if a.ndim == 4 else channels_last_3d
    return contiguous_format


def _copy_as(input: Any, fmt: memory_format) -> Any:
    """A differentiable copy of ``input`` with exactly ``fmt``'s strides."""
    if fmt is contiguous_format:
        return input.clone()
    rank = _RANK[fmt]
    return input.permute(_TO_LAST[rank]).clone().permute(_FROM_LAST[rank])


def contiguous(input: Any, fmt: Any) -> Any:
    """``Tensor.contiguous``: ``input`` itself when contiguous in ``fmt``, else a copy laid
    out so."""
    fmt = check(fmt, input.ndim)
    if fmt is preserve_format:
        fmt = suggest(input._data)
    return input if is_contiguous(input._data, fmt) else _copy_as(input, fmt)


def convert(input: Any, fmt: Any) -> Any:
    """``Tensor.to(memory_format=fmt)``: ``input`` itself when its strides already suggest
    ``fmt`` (even if not contiguous in it), else a copy laid out in ``fmt``, as PyTorch."""
    fmt = check(fmt, input.ndim)
    if fmt is preserve_format or suggest(input._data) is fmt:
        return input
    return _copy_as(input, fmt)
