"""One-pass, multi-threaded Numba updates of one parameter for SGD and Adam/AdamW, on C-contiguous
float32/float64 arrays of one dtype (viewed flat). The optimizers keep their NumPy path as the
reference and for every other case (:func:`usable` decides).

The kernels round as torch's CPU kernels do: scalars arrive cast to the arrays' dtype (float32
updates compute in float32) and ``add(alpha=)``/``addcmul``/``lerp`` are fused multiply-adds, so
SGD matches torch bit for bit. Kernels compile on first use per dtype and are cached on disk."""

from __future__ import annotations

import math
from typing import Any, Optional

import numba
import numpy as np
from numba import prange
from numba.core.extending import intrinsic

_FAST = (np.dtype(np.float32), np.dtype(np.float64))
# Below this many elements the threads cost more than they save.
_PARALLEL_MIN = 1 << 15


def usable(fused: Optional[bool], *arrays: Any) -> bool:
    """Whether the fused kernels apply: not ``fused=False``, and NumPy arrays, C-contiguous, all
    float32 or all float64."""
    if fused is False:
        return False
    dtype = arrays[0].dtype
    return dtype in _FAST and all(
        type(a) is np.ndarray and a.dtype == dtype and a.flags.c_contiguous for a in arrays)


@intrinsic
def _fma(typingctx: Any, a: Any, b: Any, c: Any) -> Any:
    """``a * b + c`` rounded once, as torch's vectorized CPU kernels compute ``add(alpha=)``,
    ``addcmul`` and ``lerp``; all three of one type."""

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        return builder.fma(*args)

    return a(a, b, c), codegen


def _sgd(x, g, buf, lr, weight_decay, momentum, damp, nesterov, first):  # pragma: no cover
    """``x -= lr * d`` where ``d`` is the decayed gradient or its momentum ``buf`` (updated)."""
    for i in prange(x.shape[0]):
        d = g[i]
        if weight_decay != 0:
            d = _fma(x[i], weight_decay, d)
        if momentum != 0:
            b = d if first else _fma(d, damp, buf[i] * momentum)
            buf[i] = b
            d = _fma(b, momentum, d) if nesterov else b
        x[i] = _fma(d, -lr, x[i])


def _adam(x, g, m, v, v_max, lr_decay, weight_decay, lerp_coeff, from_m, beta2, w2, bc2_sqrt, eps,
          neg_step_size, amsgrad):  # pragma: no cover
    """One Adam step: ``lr_decay`` (``1 - lr * wd``, 1 when coupled) scales ``x`` first;
    ``m.lerp_(g, 1 - beta1)`` (``lerp_coeff``, ``from_m``: see :func:`adam_`);
    ``v.mul_(beta2).addcmul_(g, g, value=w2)``;
    ``x.addcdiv_(m, sqrt(v) / bc2_sqrt + eps, value=neg_step_size)``."""
    for i in prange(x.shape[0]):
        p = x[i] * lr_decay
        d = g[i]
        if weight_decay != 0:
            d = _fma(p, weight_decay, d)
        mi = m[i]
        mi = _fma(lerp_coeff, d - mi, mi if from_m else d)
        m[i] = mi
        vi = _fma(w2 * d, d, v[i] * beta2)
        v[i] = vi
        if amsgrad:
            vm = v_max[i]
            if vi > vm or math.isnan(vi):
                vm = vi
            v_max[i] = vm
            vi = vm
        x[i] = p + neg_step_size * mi / (math.sqrt(vi) / bc2_sqrt + eps)


# error_model="numpy": a division without Python's zero check, so the loops vectorize
_OPTIONS = dict(fastmath=False, error_model="numpy", cache=True)
_SERIAL = {f: numba.njit(**_OPTIONS)(f) for f in (_sgd, _adam)}
_PARALLEL = {f: numba.njit(parallel=True, **_OPTIONS)(f) for f in (_sgd, _adam)}


def _run(kernel: Any, x: np.ndarray, *args: Any) -> None:
    """``kernel(x, *args)``, threaded when ``x`` is large enough."""
    table = _PARALLEL if x.size >= _PARALLEL_MIN else _SERIAL
    table[kernel](x, *args)


def sgd_(x: np.ndarray, g: np.ndarray, buf: Optional[np.ndarray], lr: float, weight_decay: float,
         momentum: float, dampening: float, nesterov: bool, first: bool) -> None:
    """SGD on ``x`` in place from ``g``; ``buf`` (the momentum buffer, written in full when
    ``first``) is updated in place, or None without momentum."""
    s = x.dtype.type
    flat = x.reshape(-1)
    buf = flat if buf is None else buf.reshape(-1)  # never read or written without momentum
    _run(_sgd, flat, g.reshape(-1), buf, s(lr), s(weight_decay), s(momentum),
         s(1 - dampening), nesterov, first)


def adam_(x: np.ndarray, g: np.ndarray, m: np.ndarray, v: np.ndarray,
          v_max: Optional[np.ndarray], lr: float, beta1: float, beta2: float, eps: float,
          weight_decay: float, decoupled: bool, step: float) -> None:
    """Adam/AdamW on ``x`` in place from ``g`` at step ``step`` (already advanced); ``m``, ``v``
    and (amsgrad) ``v_max`` are updated in place."""
    s = x.dtype.type
    flat = x.reshape(-1)
    lr_decay = 1 - lr * weight_decay if decoupled else 1.0
    coupled_decay = 0.0 if decoupled else weight_decay
    amsgrad = v_max is not None
    v_max = (v_max if amsgrad else v).reshape(-1)
    # torch's lerp starts from the nearer end: m + w * (g - m), or g + (w - 1) * (g - m)
    weight = s(1 - beta1)
    from_m = bool(weight < 0.5)
    lerp_coeff = weight if from_m else weight - s(1)
    _run(_adam, flat, g.reshape(-1), m.reshape(-1), v.reshape(-1), v_max, s(lr_decay),
         s(coupled_decay), lerp_coeff, from_m, s(beta2), s(1 - beta2),
         s((1 - beta2 ** step) ** 0.5), s(eps), s(-lr / (1 - beta1 ** step)), amsgrad)
