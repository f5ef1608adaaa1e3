"""Winograd F(2x2, 3x3) for 3x3, stride-1 2-d convolutions on the CPU: each 2x2 block of outputs
comes from a 4x4 tile of inputs through 16 products instead of 36, so the GEMMs of the forward,
the input gradient (a stride-1 convolution too) and the weight gradient do 2.25x fewer
multiply-adds (Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks", 2015).

With ``U = G w G^T`` (the filter, 4x4) and ``V = B^T d B`` (a tile), a tile's outputs are
``A^T (sum over channels of U * V) A``: one batched GEMM ``(16, O, C) @ (16, C, tiles)`` between
an input and an output transform. The weight gradient runs the same algebra backwards:
``G^T (sum over tiles of (A g A^T) * V) G``. The transforms are serial Numba kernels that release
the GIL: :mod:`deepseek.ops.conv` runs them per chunk of samples on its threads, with the GEMMs,
so a chunk's tiles stay in cache. Rounding: a few float32 ulps more than the direct GEMM (the
transforms add and subtract neighbours, with factors 1 and 1/2 only).
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

__all__ = ["usable", "filter_transform", "filter_gradient", "tile_counts", "forward",
           "weight_gradient"]

_G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]])
_MIN_CHANNELS = 16  # with fewer, the GEMMs are too thin to gain from fewer multiplications
_OPTIONS = dict(nogil=True, cache=True, boundscheck=False)


def usable(x: Any, other: Any, weight_shape: tuple, stride: tuple, dilation: tuple,
           groups: int) -> bool:
    """Whether a convolution of ``x`` (N, C, H, W) with a weight of ``weight_shape``
    (O, C, kh, kw), ``other`` the weight or the output gradient, runs here: NumPy
    float32/float64, a 3x3 kernel, stride and dilation 1, one group, 16 channels or more."""
    return (type(x) is np.ndarray and type(other) is np.ndarray and x.ndim == 4
            and x.dtype == other.dtype and x.dtype in (np.float32, np.float64)
            and tuple(weight_shape[2:]) == (3, 3) and tuple(stride) == (1, 1)
            and tuple(dilation) == (1, 1) and groups == 1
            and min(weight_shape[:2]) >= _MIN_CHANNELS)


def tile_counts(out: tuple) -> tuple:
    """Tiles along each spatial dim of an output of size ``out``."""
    return tuple((n + 1) // 2 for n in out)


def filter_transform(w: np.ndarray) -> np.ndarray:
    """``G w G^T`` of each (O, C) filter, as (16, O, C)."""
    g = _G.astype(w.dtype)
    u = np.einsum("ai,ocij,bj->aboc", g, w, g, optimize=True)
    return np.ascontiguousarray(u.reshape((16,) + w.shape[:2]))


def filter_gradient(du: np.ndarray) -> np.ndarray:
    """The weight gradient (O, C, 3, 3) from the gradient of the transformed filter (16, O, C)."""
    g = _G.astype(du.dtype)
    return np.einsum("ai,aboc,bj->ocij", g, du.reshape((4, 4) + du.shape[1:]), g,
                     optimize=True)


@numba.njit(**_OPTIONS)
def _input_tiles(x, v, top, left, th, tw):  # pragma: no cover  (compiled)
    """``v[:, c, tile]`` = ``B^T d B`` of every 4x4 tile ``d`` of ``x`` (n, C, H, W) read from
    row ``2 i - top`` and column ``2 j - left`` (zeros outside ``x``); tiles in (sample, i, j)
    order. The four rows of a tile row are read split into even and odd columns, so that every
    loop after that runs at unit stride (and vectorizes)."""
    n, c, h, w = x.shape
    even = np.zeros((4, tw + 1), x.dtype)  # even[a, j]: column 2 j of row a, odd: 2 j + 1
    odd = np.zeros((4, tw + 1), x.dtype)
    te = np.empty((4, tw + 1), x.dtype)
    to = np.empty((4, tw + 1), x.dtype)
    for s in range(n):
        for ch in range(c):
            for i in range(th):
                for a in range(4):
                    r = 2 * i - top + a
                    inside = 0 <= r < h
                    for j in range(tw + 1):
                        q = 2 * j - left
                        even[a, j] = x[s, ch, r, q] if inside and 0 <= q < w else 0
                        odd[a, j] = x[s, ch, r, q + 1] if inside and 0 <= q + 1 < w else 0
                for j in range(tw + 1):  # B^T d: combinations of rows
                    te[0, j] = even[0, j] - even[2, j]
                    te[1, j] = even[1, j] + even[2, j]
                    te[2, j] = even[2, j] - even[1, j]
                    te[3, j] = even[1, j] - even[3, j]
                    to[0, j] = odd[0, j] - odd[2, j]
                    to[1, j] = odd[1, j] + odd[2, j]
                    to[2, j] = odd[2, j] - odd[1, j]
                    to[3, j] = odd[1, j] - odd[3, j]
                base = (s * th + i) * tw
                for k in range(4):  # (B^T d) B: combinations of columns 2j .. 2j + 3
                    for j in range(tw):
                        v[4 * k, ch, base + j] = te[k, j] - te[k, j + 1]
                        v[4 * k + 1, ch, base + j] = to[k, j] + te[k, j + 1]
                        v[4 * k + 2, ch, base + j] = te[k, j + 1] - to[k, j]
                        v[4 * k + 3, ch, base + j] = to[k, j] - to[k, j + 1]


@numba.njit(**_OPTIONS)
def _output_tiles(m, y, th, tw):  # pragma: no cover  (compiled)
    """``y`` (n, O, oh, ow) from the products ``m`` (16, O, tiles): ``A^T m A`` per tile."""
    n, o, oh, ow = y.shape
    u = np.empty((4, 2 * tw), y.dtype)
    for s in range(n):
        for oc in range(o):
            for i in range(th):
                base = (s * th + i) * tw
                for k in range(4):  # m A: combinations of columns
                    for j in range(tw):
                        m0, m1 = m[4 * k, oc, base + j], m[4 * k + 1, oc, base + j]
                        m2, m3 = m[4 * k + 2, oc, base + j], m[4 * k + 3, oc, base + j]
                        u[k, 2 * j] = m0 + m1 + m2
                        u[k, 2 * j + 1] = m1 - m2 - m3
                for q in range(ow):  # A^T (m A): combinations of rows
                    y[s, oc, 2 * i, q] = u[0, q] + u[1, q] + u[2, q]
                if 2 * i + 1 < oh:
                    for q in range(ow):
                        y[s, oc, 2 * i + 1, q] = u[1, q] - u[2, q] - u[3, q]


@numba.njit(**_OPTIONS)
def _gradient_tiles(g, z, th, tw):  # pragma: no cover  (compiled)
    """``z[:, o, tile]`` = ``A g A^T`` of every 2x2 block of the output gradient ``g``
    (n, O, oh, ow), zeros past its edge: the transpose of :func:`_output_tiles`."""
    n, o, oh, ow = g.shape
    r = np.zeros((4, 2 * tw), g.dtype)
    for s in range(n):
        for oc in range(o):
            for i in range(th):
                odd = 2 * i + 1 < oh
                for q in range(ow):  # A g: combinations of the block's two rows
                    g0 = g[s, oc, 2 * i, q]
                    g1 = g[s, oc, 2 * i + 1, q] if odd else g0 * 0
                    r[0, q] = g0
                    r[1, q] = g0 + g1
                    r[2, q] = g0 - g1
                    r[3, q] = -g1
                base = (s * th + i) * tw
                for k in range(4):  # (A g) A^T: combinations of the two columns
                    for j in range(tw):
                        e0, e1 = r[k, 2 * j], r[k, 2 * j + 1]
                        z[4 * k, oc, base + j] = e0
                        z[4 * k + 1, oc, base + j] = e0 + e1
                        z[4 * k + 2, oc, base + j] = e0 - e1
                        z[4 * k + 3, oc, base + j] = -e1


def forward(x: np.ndarray, u: np.ndarray, y: np.ndarray, top: int, left: int) -> None:
    """``y`` (n, O, oh, ow) = the convolution of ``x`` (n, C, H, W, C-contiguous) by the
    transformed filter ``u`` (:func:`filter_transform`), padded by ``top`` and ``left``."""
    th, tw = tile_counts(y.shape[2:])
    v = np.empty((16, x.shape[1], x.shape[0] * th * tw), x.dtype)
    _input_tiles(x, v, top, left, th, tw)
    _output_tiles(np.matmul(u, v), y, th, tw)


def weight_gradient(x: np.ndarray, g: np.ndarray, top: int, left: int) -> np.ndarray:
    """The gradient of the transformed filter (16, O, C) from inputs ``x`` (n, C, H, W) and
    output gradients ``g`` (n, O, oh, ow), both C-contiguous (:func:`filter_gradient` turns it
    into the weight gradient)."""
    th, tw = tile_counts(g.shape[2:])
    tiles = x.shape[0] * th * tw
    v = np.empty((16, x.shape[1], tiles), x.dtype)
    z = np.empty((16, g.shape[1], tiles), g.dtype)
    _input_tiles(x, v, top, left, th, tw)
    _gradient_tiles(g, z, th, tw)
    return np.matmul(z, v.transpose(0, 2, 1))
