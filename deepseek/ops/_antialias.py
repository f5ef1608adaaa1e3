"""Antialiased resampling weights for ``interpolate(..., antialias=True)``.

PyTorch's (and Pillow's) separable filters: the triangle or the Keys cubic (a = -0.5), stretched
by the scale when downsampling, cut at the borders and normalized per output pixel.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np


def _triangle(u: np.ndarray) -> np.ndarray:
    u = np.abs(u)
    return np.where(u < 1, 1 - u, 0).astype(u.dtype)


def _keys_cubic(u: np.ndarray) -> np.ndarray:
    a = u.dtype.type(-0.5)
    u = np.abs(u)
    near = ((a + 2) * u - (a + 3)) * u * u + 1
    far = ((a * u - 5 * a) * u + 8 * a) * u - 4 * a
    return np.where(u < 1, near, np.where(u < 2, far, 0)).astype(u.dtype)


# mode -> (filter, its support in input pixels at scale 1)
FILTERS: dict[str, tuple[Callable[[np.ndarray], np.ndarray], int]] = {
    "bilinear": (_triangle, 2),
    "bicubic": (_keys_cubic, 4),
}


def antialias_matrix(n: int, o: int, mode: str, scale: Any, dt: Any) -> np.ndarray:
    """The ``(o, n)`` weights mapping ``n`` inputs to ``o`` outputs at input/output ``scale``.

    ``scale`` is area_pixel_compute_scale's value in ``dt`` (align_corners only changes it; the
    pixel centers stay at half-integers). The rounding follows ATen's _compute_weights_aa: the
    filter's argument and the tap bounds in double, the weights and their sum in ``dt``.
    """
    fn, taps = FILTERS[mode]
    s = float(scale)
    widen = s >= 1.0
    support = dt(taps * 0.5 * s if widen else taps * 0.5)
    invscale = dt(1.0 / s if widen else 1.0)
    width = math.ceil(support) * 2 + 1
    center = (s * (np.arange(o) + 0.5)).astype(dt)
    lo = np.maximum(((center - support).astype(np.float64) + 0.5).astype(np.int64), 0)
    hi = np.minimum(((center + support).astype(np.float64) + 0.5).astype(np.int64), n)
    count = np.clip(hi - lo, 0, width)
    index = lo[:, None] + np.arange(width)
    inside = np.arange(width) < count[:, None]
    u = ((index - center[:, None]).astype(np.float64) + 0.5) * float(invscale)
    w = np.where(inside, fn(u.astype(dt)), dt(0))
    total = np.zeros(o, dt)
    for k in range(width):  # ATen's sequential sum, for the same rounding
        total += w[:, k]
    w = np.where(total[:, None] != 0, w / np.where(total == 0, dt(1), total)[:, None], w)
    m = np.zeros((o, n), dt)
    rows = np.broadcast_to(np.arange(o)[:, None], index.shape)
    np.add.at(m, (rows[inside], index[inside]), w[inside])
    return m
