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


# The kernels index with unsigned integers (``_u``) wherever an index is computed from arguments:
# Numba wraps negative indices, and that check on a signed index keeps LLVM from vectorizing
# the loop (a strided copy: 10x slower). Loops write one array each, in long runs where they
# can: stores to 16 planes in runs of a tile row cost more than the arithmetic.
_u = numba.uint64
_ROW_PAIRS = ((0, 2), (1, 2), (2, 1), (1, 3))  # row k of B^T d: d[a] + d[b] (k = 1), d[a] - d[b]


@numba.njit(**_OPTIONS)
def _input_tiles(x, v, top, left, th, tw):  # pragma: no cover  (compiled)
    """``v[:, c, tile]`` = ``B^T d B`` of every 4x4 tile ``d`` of ``x`` (n, C, H, W) read from
    row ``2 i - top`` and column ``2 j - left`` (zeros outside ``x``); tiles in (sample, i, j)
    order. Each plane is first split into its even and odd columns, zero-padded, so that every
    loop after that runs at unit stride; ``B^T d`` is taken at every row, not only even ones,
    in one long loop instead of a short one per tile row."""
    n, c, h, w = x.shape
    half, hp = tw + 1, 2 * th + 2
    even = np.zeros(hp * half, x.dtype)  # even[r * half + j]: padded row r, column 2 j
    odd = np.zeros(hp * half, x.dtype)  # column 2 j + 1; the padding stays zero
    te = np.empty(hp * half, x.dtype)  # a row of B^T d, of the even and the odd columns
    to = np.empty(hp * half, x.dtype)
    span, uhalf, utw, two = _u((hp - 3) * half), _u(half), _u(tw), _u(2)
    rows = range(max(0, -top), min(h, hp - top))
    e0, e1 = max(0, (left + 1) // 2), min(half, (w - 1 + left) // 2 + 1)  # x has column 2j
    o0, o1 = max(0, left // 2), min(half, (w - 2 + left) // 2 + 1)  # x has column 2j + 1
    both = range(_u(max(e0, o0)), _u(max(min(e1, o1), e0, o0)))
    shift_e, shift_o = _u(-left), _u(1 - left)  # modulo 2**64, as the index sums are
    for s in range(n):
        for ch in range(c):
            for r in rows:
                at = _u(r + top) * uhalf
                for j in both:  # together, so that LLVM loads the row in vectors and splits them
                    even[at + j] = x[s, ch, r, two * j + shift_e]
                    odd[at + j] = x[s, ch, r, two * j + shift_o]
                for j in (e0, e1 - 1):  # the edges
                    if e0 <= j < e1 and not both.start <= j < both.stop:
                        even[at + j] = x[s, ch, r, 2 * j - left]
                for j in (o0, o1 - 1):
                    if o0 <= j < o1 and not both.start <= j < both.stop:
                        odd[at + j] = x[s, ch, r, 2 * j + 1 - left]
            for k in range(4):
                a, b = _u(_ROW_PAIRS[k][0]) * uhalf, _u(_ROW_PAIRS[k][1]) * uhalf
                if k == 1:
                    for m in range(span):
                        te[m] = even[m + a] + even[m + b]
                    for m in range(span):
                        to[m] = odd[m + a] + odd[m + b]
                else:
                    for m in range(span):
                        te[m] = even[m + a] - even[m + b]
                    for m in range(span):
                        to[m] = odd[m + a] - odd[m + b]
                k4 = _u(4 * k)
                for i in range(_u(th)):  # (B^T d) B: combinations of columns 2j .. 2j + 3
                    at, e = _u(s * th * tw) + i * utw, two * i * uhalf
                    f = e + _u(1)  # (a signed literal would make the sums signed again)
                    for j in range(utw):
                        v[k4, ch, at + j] = te[e + j] - te[f + j]
                    for j in range(utw):
                        v[k4 + 1, ch, at + j] = to[e + j] + te[f + j]
                    for j in range(utw):
                        v[k4 + 2, ch, at + j] = te[f + j] - to[e + j]
                    for j in range(utw):
                        v[k4 + 3, ch, at + j] = to[e + j] - to[f + j]


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
    (n, O, oh, ow), zeros past its edge: the transpose of :func:`_output_tiles`. Each plane's
    blocks are first split into their four entries, so that every plane of ``z`` is written
    in one run. The rows of A are (1 0), (1 1), (1 -1) and (0 -1)."""
    n, o, oh, ow = g.shape
    plane = _u(th * tw)
    ge = np.zeros((2, th * tw), g.dtype)  # ge[r, tile]: the block's row r, even column
    go = np.zeros((2, th * tw), g.dtype)  # odd column (zero past an odd width's edge)
    re = np.empty(th * tw, g.dtype)  # a row of A g, even and odd column
    ro = np.empty(th * tw, g.dtype)
    for s in range(n):
        for oc in range(o):
            for q in range(oh):
                at, r = _u(q // 2) * _u(tw), q % 2
                for j in range(_u(ow // 2)):  # (one loop: see _input_tiles)
                    ge[r, at + j] = g[s, oc, q, _u(2) * j]
                    go[r, at + j] = g[s, oc, q, _u(2) * j + _u(1)]
                if ow % 2:
                    ge[r, at + _u(tw - 1)] = g[s, oc, q, ow - 1]
            base = _u(s) * plane
            for k in range(4):  # A g
                if k == 0:
                    for t in range(plane):
                        re[t] = ge[0, t]
                    for t in range(plane):
                        ro[t] = go[0, t]
                elif k == 1:
                    for t in range(plane):
                        re[t] = ge[0, t] + ge[1, t]
                    for t in range(plane):
                        ro[t] = go[0, t] + go[1, t]
                elif k == 2:
                    for t in range(plane):
                        re[t] = ge[0, t] - ge[1, t]
                    for t in range(plane):
                        ro[t] = go[0, t] - go[1, t]
                else:
                    for t in range(plane):
                        re[t] = -ge[1, t]
                    for t in range(plane):
                        ro[t] = -go[1, t]
                k4 = _u(4 * k)  # (A g) A^T
                for t in range(plane):
                    z[k4, oc, base + t] = re[t]
                for t in range(plane):
                    z[k4 + _u(1), oc, base + t] = re[t] + ro[t]
                for t in range(plane):
                    z[k4 + _u(2), oc, base + t] = re[t] - ro[t]
                for t in range(plane):
                    z[k4 + _u(3), oc, base + t] = -ro[t]


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
