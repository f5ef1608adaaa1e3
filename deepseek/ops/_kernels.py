"""Fused, multi-threaded Numba kernels for the transformer path (softmax, layer norm, GELU),
on C-contiguous float32/float64 NumPy arrays viewed as ``(rows, n)`` or flat.

Kernels compile lazily on first use per dtype and are cached on disk. Callers keep a plain ``xp``
path as the reference (and for other dtypes and backends) and take these only when
:func:`usable` says so. Row sums accumulate in float64."""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np
from numba import prange

_FAST = (np.dtype(np.float32), np.dtype(np.float64))
_GELU_K = math.sqrt(2 / math.pi)
_GELU_C = 0.044715
_SQRT1_2 = 1 / math.sqrt(2.0)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)

_jit = numba.njit(parallel=True, fastmath=False, cache=True)


def usable(xp: Any, *arrays: Any) -> bool:
    """Whether the kernels apply: NumPy arrays, all float32 or all float64."""
    if xp is not np:
        return False
    dtype = arrays[0].dtype
    return dtype in _FAST and all(isinstance(a, np.ndarray) and a.dtype == dtype for a in arrays)


def rows(a: np.ndarray, n: int) -> np.ndarray:
    """``a`` as a C-contiguous ``(rows, n)`` array (a copy only when ``a`` is not contiguous)."""
    return np.ascontiguousarray(a).reshape(-1, n)


# ---------------------------------------------------------------- softmax over the last dim
@_jit
def softmax_rows(x, out, scale, bias, log, masked):  # pragma: no cover  (compiled)
    """``out = (log_)softmax(x * scale + bias[r % len(bias)])`` per row; ``out`` may be ``x``.

    ``masked``: a row without a finite maximum (all -inf) gives zeros instead of nan."""
    n_rows, n = x.shape
    nb = bias.shape[0]
    for r in prange(n_rows):
        b = bias[r % nb]
        m = -np.inf
        for j in range(n):
            m = max(m, x[r, j] * scale + b[j])
        if masked and not math.isfinite(m):
            m = 0.0
        mx = x.dtype.type(m)
        total = 0.0
        for j in range(n):
            e = math.exp(x[r, j] * scale + b[j] - mx)
            total += e
            if not log:
                out[r, j] = e
        if log:
            lse = x.dtype.type(math.log(total))
            for j in range(n):
                out[r, j] = (x[r, j] * scale + b[j] - mx) - lse
        else:
            if masked and total == 0.0:
                total = 1.0
            for j in range(n):
                out[r, j] = out[r, j] / total


@_jit
def softmax_rows_backward(y, g, out, log):  # pragma: no cover  (compiled)
    """Input gradient of (log_)softmax per row from its output ``y``; ``out`` may be ``g``."""
    n_rows, n = y.shape
    for r in prange(n_rows):
        total = 0.0
        for j in range(n):
            total += g[r, j] if log else g[r, j] * y[r, j]
        for j in range(n):
            if log:
                out[r, j] = g[r, j] - math.exp(y[r, j]) * total
            else:
                out[r, j] = y[r, j] * (g[r, j] - total)


def softmax(x: np.ndarray, log: bool) -> np.ndarray:
    """(Log-)softmax over the last dim of a non-empty float32/float64 array."""
    n = x.shape[-1]
    out = np.empty(x.shape, x.dtype)
    softmax_rows(rows(x, n), out.reshape(-1, n), x.dtype.type(1), np.zeros((1, n), x.dtype), log,
                 False)
    return out


def softmax_backward(y: np.ndarray, g: np.ndarray, log: bool) -> np.ndarray:
    """Input gradient of (log-)softmax over the last dim from its output ``y``."""
    n = y.shape[-1]
    out = np.empty(y.shape, y.dtype)
    softmax_rows_backward(rows(y, n), rows(np.broadcast_to(g, y.shape), n), out.reshape(-1, n),
                          log)
    return out


# ---------------------------------------------------------------- layer norm over the last dim
@numba.njit(fastmath=False, cache=True)
def _row_stats(x, eps):  # pragma: no cover  (compiled)
    n = x.shape[0]
    total = 0.0
    for j in range(n):
        total += x[j]
    mean = total / n
    total = 0.0
    for j in range(n):
        d = x[j] - mean
        total += d * d
    return mean, 1.0 / math.sqrt(total / n + eps)


@_jit
def layer_norm_rows(x, w, b, eps, out):  # pragma: no cover  (compiled)
    n_rows, n = x.shape
    for r in prange(n_rows):
        mean, rstd = _row_stats(x[r], eps)
        for j in range(n):
            out[r, j] = (x[r, j] - mean) * rstd * w[j] + b[j]


@_jit
def layer_norm_rows_backward(x, w, g, eps, gx, gw_parts, gb_parts):  # pragma: no cover
    """``gx`` per row; weight/bias gradients summed into one row of the parts per chunk."""
    n_rows, n = x.shape
    chunks = gw_parts.shape[0]
    for c in prange(chunks):
        for r in range(c * n_rows // chunks, (c + 1) * n_rows // chunks):
            mean, rstd = _row_stats(x[r], eps)
            mean_g, mean_gx = 0.0, 0.0
            for j in range(n):
                xhat = (x[r, j] - mean) * rstd
                gxhat = g[r, j] * w[j]
                mean_g += gxhat
                mean_gx += gxhat * xhat
                gw_parts[c, j] += g[r, j] * xhat
                gb_parts[c, j] += g[r, j]
            mean_g /= n
            mean_gx /= n
            for j in range(n):
                xhat = (x[r, j] - mean) * rstd
                gx[r, j] = rstd * (g[r, j] * w[j] - mean_g - xhat * mean_gx)


def layer_norm_backward(x: np.ndarray, w: np.ndarray, g: np.ndarray, eps: float) -> tuple:
    """``(gx, gw, gb)`` of layer norm over the last dim of the 2-d ``x``."""
    chunks = min(x.shape[0], 4 * numba.get_num_threads())
    gx = np.empty_like(x)
    gw = np.zeros((chunks, x.shape[1]))
    gb = np.zeros((chunks, x.shape[1]))
    layer_norm_rows_backward(x, w, g, eps, gx, gw, gb)
    return gx, gw.sum(axis=0).astype(x.dtype), gb.sum(axis=0).astype(x.dtype)


# ---------------------------------------------------------------- GELU, elementwise on flat arrays
@_jit
def gelu_tanh_inner(x, out):  # pragma: no cover  (compiled)
    """``out = sqrt(2 / pi) * (x + 0.044715 x^3)``, the argument of tanh."""
    k, c = x.dtype.type(_GELU_K), x.dtype.type(_GELU_C)
    for i in prange(x.shape[0]):
        v = x[i]
        out[i] = k * (v + c * v * v * v)


@_jit
def gelu_tanh_finish(x, t, out):  # pragma: no cover  (compiled)
    for i in prange(x.shape[0]):
        out[i] = 0.5 * x[i] * (1 + t[i])


@_jit
def gelu_tanh_grad(x, t, g, out):  # pragma: no cover  (compiled)
    """``out = g * d gelu / dx`` given ``t = tanh(inner(x))``; ``out`` may be ``t``."""
    k, c3 = x.dtype.type(0.5 * _GELU_K), x.dtype.type(3 * _GELU_C)
    for i in prange(x.shape[0]):
        v, ti = x[i], t[i]
        out[i] = g[i] * ((ti + 1) * 0.5 + v * (1 - ti * ti) * (v * v * c3 + 1) * k)


@_jit
def gelu_erf(x, out):  # pragma: no cover  (compiled)
    s = x.dtype.type(_SQRT1_2)
    for i in prange(x.shape[0]):
        out[i] = 0.5 * x[i] * (1 + math.erf(x[i] * s))


@_jit
def gelu_erf_grad(x, g, out):  # pragma: no cover  (compiled)
    s, a = x.dtype.type(_SQRT1_2), x.dtype.type(_INV_SQRT_2PI)
    for i in prange(x.shape[0]):
        v = x[i]
        out[i] = g[i] * ((math.erf(v * s) + 1) * 0.5 + v * math.exp(v * v * -0.5) * a)


def gelu(x: np.ndarray, approximate: str) -> np.ndarray:
    """GELU of a float32/float64 array (tanh through NumPy's vectorized tanh)."""
    flat = np.ascontiguousarray(x).reshape(-1)
    out = np.empty_like(flat)
    if approximate == "tanh":
        gelu_tanh_inner(flat, out)
        np.tanh(out, out=out)
        gelu_tanh_finish(flat, out, out)
    else:
        gelu_erf(flat, out)
    return out.reshape(x.shape)


def gelu_backward(x: np.ndarray, g: np.ndarray, approximate: str) -> np.ndarray:
    """``g * gelu'(x)`` for float32/float64 arrays of one shape."""
    flat = np.ascontiguousarray(x).reshape(-1)
    gflat = np.ascontiguousarray(np.broadcast_to(g, x.shape)).reshape(-1)
    out = np.empty_like(flat)
    if approximate == "tanh":
        gelu_tanh_inner(flat, out)
        np.tanh(out, out=out)
        gelu_tanh_grad(flat, out, gflat, out)
    else:
        gelu_erf_grad(flat, gflat, out)
    return out.reshape(x.shape)
