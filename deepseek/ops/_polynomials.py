"""The orthogonal polynomials of ``torch.special`` (Chebyshev T, U, V, W and their shifted forms,
Hermite H and He, Laguerre L, Legendre P): one compiled driver runs every family's three-term
recurrence with PyTorch's shortcuts and rounding, and the same recurrence differentiated gives the
derivatives of any order."""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import types
from numba.extending import intrinsic, overload

# a family's index in FAMILIES is its code in the kernels below
FAMILIES = ("chebyshev_polynomial_t", "chebyshev_polynomial_u", "chebyshev_polynomial_v",
            "chebyshev_polynomial_w", "shifted_chebyshev_polynomial_t",
            "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v",
            "shifted_chebyshev_polynomial_w", "hermite_polynomial_h", "hermite_polynomial_he",
            "laguerre_polynomial_l", "legendre_polynomial_p")
_HERMITE_H, _HERMITE_HE, _LAGUERRE, _LEGENDRE = 8, 9, 10, 11
# above these degrees PyTorch takes Chebyshev polynomials inside (-1, 1) from their trig forms
# (T_n = cos(n t), U_n = sin((n+1) t) / sin(t), ... with y = cos(t)) instead of the recurrence
_TRIG_DEGREE = np.array([6, 8, 8, 8, 6, 6, 6, 4], dtype=np.int64)
_INT64_MIN = -(2**63)


@intrinsic
def _fma(typingctx, a, b, c):  # pragma: no cover  (compiled)
    """``a * b + c`` rounded once: PyTorch's kernels are built with FMA contraction, which turns
    each recurrence step ``a * q - c * p`` into ``fma(a, q, -(c * p))``."""
    if not (isinstance(a, types.Float) and a == b == c):
        return None

    def codegen(context, builder, signature, args):
        return builder.fma(*args)

    return a(a, b, c), codegen


def _like(v, x):  # pragma: no cover  (replaced by the overload when compiled)
    return v


@overload(_like, inline="always")
def _like_overload(v, x):
    """``v`` converted to ``x``'s float type (Numba would widen ``int64 * float32`` to float64,
    where PyTorch's kernels compute in float32)."""
    if isinstance(x, types.Float):
        ty = x
        return lambda v, x: ty(v)


@numba.njit(cache=True)
def _degree(n):  # pragma: no cover  (compiled)
    """``n`` truncated to int64 as the C cast PyTorch uses: NaN, inf and out-of-range values give
    INT64_MIN (so a polynomial of degree "NaN" is 0)."""
    if not abs(n) < 9.223372036854775808e18:
        return _INT64_MIN
    return np.int64(n)


@numba.njit(cache=True)
def _signed(value, odd):  # pragma: no cover  (compiled)
    return -value if odd else value


@numba.njit(cache=True)
def _chebyshev_shortcut(family, x, y, m):  # pragma: no cover  (compiled)
    """``(True, value)`` where PyTorch returns a Chebyshev value without the recurrence: at
    ``y = +-1`` (``x = 1`` or ``x = 0`` when shifted) and from the trig forms inside (-1, 1).
    Integer values are formed in int64, as PyTorch forms them."""
    kind = family % 4
    odd = m % 2 == 1
    top = x == 1.0
    bottom = x == (0.0 if family >= 4 else -1.0)
    if top or bottom:
        if kind == 0:
            return True, _like(1 if top else _signed(1, odd), x)
        if kind == 1:
            return True, _like(m + 1 if top else _signed(m + 1, odd), x)
        if kind == 2:
            return True, _like(1 if top else _signed(m + m + 1, odd), x)
        return True, _like(m + m + 1 if top else _signed(1, odd), x)
    if m <= _TRIG_DEGREE[family] or not abs(y) < 1.0:
        return False, x
    t = math.acos(y)
    if kind == 0:
        return True, math.cos(_like(m, x) * t)
    if kind == 1:
        s = math.sin(t)
        if s != 0:
            return True, math.sin(_like(m + 1, x) * t) / s
        return True, _like(m + 1, x) * math.cos(_like(m + 1, x) * t)
    half = t / _like(2, x)
    if kind == 2:
        if math.sin(half) != 1:
            return True, math.cos((_like(m, x) + _like(0.5, x)) * t) / math.cos(half)
        return True, _like(_signed(m + m + 1, odd), x)
    if math.cos(half) != 1:
        return True, math.sin((_like(m, x) + _like(0.5, x)) * t) / math.sin(half)
    if family < 4 and x > 0:
        return True, _like(m + m + 1, x)
    return True, _like(_signed(1, odd), x)


@numba.njit(cache=True)
def _coefficients(family, k, y):  # pragma: no cover  (compiled)
    """``(a, c, d)`` of the step ``P_{k+1} = (a P_k - c P_{k-1}) / d`` in PyTorch's rounding."""
    if family < 8:
        return y + y, _like(1, y), _like(1, y)
    if family == _HERMITE_H:
        return y + y, _like(k + k, y), _like(1, y)
    if family == _HERMITE_HE:
        return y, _like(k, y), _like(1, y)
    if family == _LAGUERRE:
        return _like(k + k, y) + (_like(1, y) - y), _like(k, y), _like(k + 1, y)
    return _like(k + k + 1, y) * y, _like(k, y), _like(k + 1, y)


@numba.njit(cache=True)
def _slope(family, k):  # pragma: no cover  (compiled)
    """The derivative in ``y`` of the ``a`` of :func:`_coefficients`."""
    if family < 9:
        return 2.0
    if family == _HERMITE_HE:
        return 1.0
    return -1.0 if family == _LAGUERRE else k + k + 1.0


@numba.njit(cache=True)
def _first(family, y):  # pragma: no cover  (compiled)
    """``P_1``: the slope and intercept of ``P_1(y) = alpha y + beta``, and its value."""
    if family < 8:
        kind = family % 4
        if kind == 0:
            return 1.0, 0.0, y
        if kind == 1:
            return 2.0, 0.0, y + y
        if kind == 2:
            return 2.0, -1.0, y + y - _like(1, y)
        return 2.0, 1.0, y + y + _like(1, y)
    if family == _HERMITE_H:
        return 2.0, 0.0, y + y
    if family == _LAGUERRE:
        return -1.0, 1.0, _like(1, y) - y
    return 1.0, 0.0, y


@numba.njit(cache=True)
def _variable(family, x):  # pragma: no cover  (compiled)
    """The recurrence's variable: ``2x - 1`` for the shifted Chebyshev polynomials."""
    if 4 <= family < 8:
        return x + x - _like(1, x)
    return x


# The signatures are given, so float32 gets its own loop: a dynamic ufunc compiled for float64
# first would run float32 inputs through that loop (NumPy casts them safely), in float64.
@numba.vectorize(["float32(int64, float32, float32)", "float64(int64, float64, float64)"],
                 cache=True)
def polynomial(family, x, n):  # pragma: no cover  (compiled)
    """The polynomial ``FAMILIES[family]`` of degree ``n`` (truncated to an integer) at ``x``,
    computed in ``x``'s precision as PyTorch computes it: 0 for negative degrees, the shortcuts
    of ``_chebyshev_shortcut``, 1 at ``x = 0`` for Laguerre and ``(-1)^n`` at ``x = -1`` for
    Legendre, then the recurrence, which stops at the first NaN (once it has overflowed)."""
    m = _degree(n)
    if m < 0:
        return _like(0, x)
    y = _variable(family, x)
    if family < 8:
        done, value = _chebyshev_shortcut(family, x, y, m)
        if done:
            return value
    elif family == _LAGUERRE and x == 0:
        return _like(1, x)
    elif family == _LEGENDRE and abs(x) == 1:
        return _like(1 if x > 0 or m % 2 == 0 else -1, x)
    if m == 0:
        return _like(1, x)
    p, q = _like(1, x), _first(family, y)[2]
    k = 1
    while k < m and not math.isnan(q):
        a, c, d = _coefficients(family, k, y)
        p, q = q, _fma(a, q, -(c * p)) / d
        k += 1
    return q


@numba.njit(cache=True)
def _derivative(family, x, n, order):  # pragma: no cover  (compiled)
    m = _degree(n)
    if m < order:  # negative degrees (PyTorch's 0) included
        return 0.0
    y = _variable(family, x)
    alpha, beta, first = _first(family, y)
    if m == 1:  # order is 1 here
        return alpha * (2.0 if 4 <= family < 8 else 1.0)
    # p[j], q[j]: the j-th derivatives in y of P_{k-1} and P_k
    p, q = np.zeros(order + 1), np.zeros(order + 1)
    p[0], q[0], q[1] = 1.0, first, alpha
    for k in range(1, m):
        if math.isnan(q[0]):
            return np.nan
        a, c, d = _coefficients(family, k, y)
        slope = _slope(family, k)
        for j in range(order, -1, -1):
            step = a * q[j] - c * p[j]
            if j:
                step += j * slope * q[j - 1]
            p[j] = q[j]
            q[j] = step / d
    scale = 2.0 ** order if 4 <= family < 8 else 1.0
    return q[order] * scale


@numba.vectorize(cache=True)
def polynomial_derivative(family, x, n, order):  # pragma: no cover  (compiled)
    """The ``order``-th derivative in ``x`` of :func:`polynomial`, in float64: the recurrence
    differentiated, ``P^(j)_{k+1} = (a P^(j)_k + j a' P^(j-1)_k - c P^(j)_{k-1}) / d``. Where
    PyTorch's value is a shortcut or a trig form, this is the derivative of the polynomial it
    equals; degrees below ``order`` (negative ones included) give 0."""
    return _derivative(family, x, n, order)
