"""Numba col2im for 1-d/2-d convolutions on C-contiguous float32/float64 NumPy arrays: one pass,
padding handled in place (no padded scratch, no strided adds per kernel offset), parallel over
the (sample, channel) planes, so no two threads write one element. (im2col stays a NumPy copy of
a strided view: measured, a Numba one was no faster.)

:mod:`deepseek.ops.conv` keeps its NumPy path as the reference and for every other case
(:func:`usable` decides). Kernels compile on first use per dtype and are cached on disk."""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
from numba import prange

_FAST = (np.dtype(np.float32), np.dtype(np.float64))
# Below this many elements waking the (passive) OpenMP threads costs more than it saves.
_PARALLEL_MIN = 1 << 16
_OPTIONS = dict(fastmath=False, cache=True, boundscheck=False)


def usable(xp: Any, *arrays: Any) -> bool:
    """Whether the kernels apply: NumPy arrays, C-contiguous, all float32 or all float64."""
    if xp is not np:
        return False
    dtype = arrays[0].dtype
    return dtype in _FAST and all(
        type(a) is np.ndarray and a.dtype == dtype and a.flags.c_contiguous for a in arrays)


@numba.njit(**_OPTIONS)
def _span(off, stride, size, n_out):  # pragma: no cover  (compiled)
    """The outputs ``[lo, hi)`` whose input ``o * stride + off`` falls in ``[0, size)``."""
    lo = min(max(-(off // stride), 0), n_out)
    hi = max(min(-((off - size) // stride), n_out), lo)
    return lo, hi


def _col2im(cols, x, sh, sw, ph, pw, dh, dw):  # pragma: no cover  (compiled)
    """``x[p]`` (overwritten) is the sum of the windows ``cols[p, ki, kj]``, the one at
    ``(oi, oj)`` read from ``x[p, oi * sh - ph + ki * dh, oj * sw - pw + kj * dw]``; parts
    outside ``x`` are dropped."""
    planes, h, w = x.shape
    _, kh, kw, oh, ow = cols.shape
    for p in prange(planes):
        for i in range(h):
            for j in range(w):
                x[p, i, j] = 0
        for ki in range(kh):
            for kj in range(kw):
                off = kj * dw - pw
                lo, hi = _span(off, sw, w, ow)
                # unsigned indices: Numba's wrap of negative ones keeps LLVM from vectorizing
                # (stride 1: 2.4x faster)
                first, step = numba.uint64(lo * sw + off), numba.uint64(sw)
                for oi in range(oh):
                    r = oi * sh - ph + ki * dh
                    if 0 <= r < h:
                        for t in range(numba.uint64(hi - lo)):
                            x[p, r, first + t * step] += cols[p, ki, kj, oi, numba.uint64(lo) + t]


_SERIAL = numba.njit(**_OPTIONS)(_col2im)
_PARALLEL = numba.njit(parallel=True, **_OPTIONS)(_col2im)


def col2im(cols: np.ndarray, size: tuple, stride: tuple, pads: tuple,
           dilation: tuple) -> np.ndarray:
    """Windows ``lead + kernel + out`` summed into a new ``lead + size`` array at the positions
    of a 2-d convolution's windows (``pads``: the low pad of each dim)."""
    lead = cols.shape[:-4]
    x = np.empty(lead + tuple(size), cols.dtype)
    run = _PARALLEL if x.size >= _PARALLEL_MIN else _SERIAL
    run(cols.reshape((-1,) + cols.shape[-4:]), x.reshape((-1,) + x.shape[-2:]), *stride, *pads,
        *dilation)
    return x
