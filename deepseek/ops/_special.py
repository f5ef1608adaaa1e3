"""Special functions NumPy lacks (erf, erfc, erfinv, lgamma, polygamma, Airy's Ai and Ai'),
compiled elementwise with Numba."""

from __future__ import annotations

import math

import numba
import numpy as np


@numba.vectorize(["float32(float32)", "float64(float64)"], cache=True)
def erf(x):  # pragma: no cover  (compiled)
    return math.erf(x)


@numba.vectorize(["float32(float32)", "float64(float64)"], cache=True)
def erfc(x):  # pragma: no cover  (compiled; not 1 - erf, which loses the tail's digits)
    return math.erfc(x)


@numba.njit(cache=True)
def erfinv_scalar(y):  # pragma: no cover  (compiled)
    if y <= -1.0:
        return -np.inf if y == -1.0 else np.nan
    if y >= 1.0:
        return np.inf if y == 1.0 else np.nan
    # Giles' single-precision approximation, then two Newton steps on erf for full precision
    w = -math.log((1.0 - y) * (1.0 + y))
    if w < 5.0:
        w -= 2.5
        p = 2.81022636e-08
        p = 3.43273939e-07 + p * w
        p = -3.5233877e-06 + p * w
        p = -4.39150654e-06 + p * w
        p = 0.00021858087 + p * w
        p = -0.00125372503 + p * w
        p = -0.00417768164 + p * w
        p = 0.246640727 + p * w
        p = 1.50140941 + p * w
    else:
        w = math.sqrt(w) - 3.0
        p = -0.000200214257
        p = 0.000100950558 + p * w
        p = 0.00134934322 + p * w
        p = -0.00367342844 + p * w
        p = 0.00573950773 + p * w
        p = -0.0076224613 + p * w
        p = 0.00943887047 + p * w
        p = 1.00167406 + p * w
        p = 2.83297682 + p * w
    x = p * y
    for _ in range(2):
        err = math.erf(x) - y
        x -= err / (2.0 / math.sqrt(math.pi) * math.exp(-x * x))
    return x


@numba.vectorize(["float32(float32)", "float64(float64)"], cache=True)
def erfinv(y):  # pragma: no cover  (compiled)
    return erfinv_scalar(y)


@numba.vectorize(["float32(float32)", "float64(float64)"], cache=True)
def lgamma(x):  # pragma: no cover  (compiled)
    if x <= 0 and x == math.floor(x):
        return math.inf  # a pole, where math.lgamma would raise
    return math.lgamma(x)


# B_2k / (2k)! for the Euler-Maclaurin tail of the Hurwitz zeta function
_BERNOULLI = np.array([1 / 12, -1 / 720, 1 / 30240, -1 / 1209600, 1 / 47900160,
                       -691 / 1307674368000, 1 / 74724249600])

# B_2k / 2k for the asymptotic series of digamma
_DIGAMMA = np.array([1 / 12, -1 / 120, 1 / 252, -1 / 240, 1 / 132, -691 / 32760, 1 / 12])


@numba.njit(cache=True)
def _digamma_positive(x):  # pragma: no cover  (compiled)
    acc = 0.0
    while x < 10:
        acc -= 1 / x
        x += 1
    tail, x2, p = 0.0, 1 / (x * x), 1.0
    for k in range(_DIGAMMA.size):
        p *= x2
        tail += _DIGAMMA[k] * p
    return acc + math.log(x) - 0.5 / x - tail


@numba.njit(cache=True)
def _polygamma_scalar(n, x):  # pragma: no cover  (compiled)
    if x <= 0 and x == math.floor(x):
        if n == 0:
            return -math.inf if x == 0 else math.nan
        return math.inf if n % 2 else -math.inf
    if n == 0:  # reflection below zero: psi(x) = psi(1 - x) - pi / tan(pi x)
        if x < 0:
            return _digamma_positive(1 - x) - math.pi / math.tan(math.pi * x)
        return _digamma_positive(x)
    # psi^(n)(x) = (-1)^(n+1) n! zeta(n+1, x): shift x up, then Euler-Maclaurin
    s = n + 1.0
    acc = 0.0
    while x < 10 + n:
        acc += x ** -s
        x += 1
    acc += x ** (1 - s) / (s - 1) + 0.5 * x ** -s
    term = s * x ** (-s - 1)  # s (s+1) ... (s+2k-2) x^(-s-2k+1) for k = 1
    for k in range(_BERNOULLI.size):
        acc += _BERNOULLI[k] * term
        term *= (s + 2 * k + 1) * (s + 2 * k + 2) / (x * x)
    return (-1.0) ** (n + 1) * math.gamma(n + 1) * acc


@numba.vectorize(["float32(int64, float32)", "float64(int64, float64)"], cache=True)
def polygamma(n, x):  # pragma: no cover  (compiled)
    return _polygamma_scalar(n, x)


# ---------------------------------------------------------------- Airy Ai and Ai'
_AI0 = 0.35502805388781723926  # Ai(0) = 3^(-2/3) / Gamma(2/3)
_AIP0 = -0.25881940379280679840  # Ai'(0) = -3^(-1/3) / Gamma(1/3)
# u_k of the asymptotic expansions (DLMF 9.7.2): u_k = (2k+1)(2k+3)...(6k-1) / (216^k k!), and
# v_k = -(6k+1) / (6k-1) u_k
_AIRY_U = np.cumprod([1.0] + [(6 * k - 5) * (6 * k - 3) * (6 * k - 1) / ((2 * k - 1) * 216 * k)
                              for k in range(1, 40)])
_AIRY_V = np.array([-(6 * k + 1) / (6 * k - 1) * u for k, u in enumerate(_AIRY_U)])
# exp(z) K_nu(z) = integral(exp(-z (cosh t - 1)) cosh(nu t), t > 0) by the trapezoidal rule:
# its error is about exp(z - pi^2 / step), below the rounding for z <= 20
_AIRY_STEP = 0.15
_AIRY_NODES = np.arange(41) * _AIRY_STEP


@numba.njit(cache=True)
def _airy_series(x, derivative):  # pragma: no cover  (compiled)
    """Maclaurin's series ``Ai = Ai(0) f + Ai'(0) g`` for ``|x| <= 1``, where ``f`` and ``g``
    sum ``x^3k / ((2 3)(5 6)...)`` and ``x^(3k+1) / ((3 4)(6 7)...)``."""
    x3 = x * x * x
    f, g, fp, gp = 1.0, x, 0.0, x
    a, b = 1.0, x
    for k in range(1, 20):
        a *= x3 / ((3 * k - 1) * (3 * k))
        b *= x3 / ((3 * k) * (3 * k + 1))
        f += a
        g += b
        fp += 3 * k * a
        gp += (3 * k + 1) * b
    if derivative:
        return _AI0 * fp / x + _AIP0 * gp / x if x != 0 else _AIP0
    return _AI0 * f + _AIP0 * g


@numba.njit(cache=True)
def _airy_taylor(x, derivative):  # pragma: no cover  (compiled)
    """Ai or Ai' for ``-9.65 < x < -1``, stepping Airy's equation ``y'' = x y`` out from 0 by
    Taylor series in steps of at most 1/2 (on this side no solution dominates, so the rounding
    of each step is not amplified)."""
    steps = int(math.ceil(-x / 0.5))
    h = x / steps
    y, yp, x0 = _AI0, _AIP0, 0.0
    for _ in range(steps):
        # a_{k+2} = (x0 a_k + a_{k-1}) / ((k+1)(k+2)), summed as terms a_k h^k
        t_prev, t, t_next = 0.0, y, yp * h
        value, slope = y + t_next, yp
        for k in range(30):
            t_new = (x0 * t + h * t_prev) * h * h / ((k + 1) * (k + 2))
            t_prev, t, t_next = t, t_next, t_new
            value += t_next
            slope += (k + 2) * t_next / h
        y, yp, x0 = value, slope, x0 + h
    return yp if derivative else y


@numba.njit(cache=True)
def _airy_asymptotic(x, derivative):  # pragma: no cover  (compiled)
    """Ai or Ai' for ``|x| >= 9.65`` (``zeta >= 20``) by the expansions DLMF 9.7.5-6 and
    9.7.9-10 in ``zeta = 2/3 |x|^(3/2)``, whose least terms are below ``exp(-2 zeta)``."""
    a = abs(x)
    t = math.sqrt(a)
    zeta = 2.0 * a * t / 3.0  # rounded as PyTorch rounds it, so the phases agree
    quarter = math.sqrt(t)
    coef = _AIRY_V if derivative else _AIRY_U
    if x > 0:
        total, term = 0.0, 1.0
        for k in range(coef.size):
            total += coef[k] * term
            term *= -1.0 / zeta
        e = math.exp(-zeta)
        if derivative:
            return -quarter * e * total / (2.0 * math.sqrt(math.pi))
        return e * total / (2.0 * math.sqrt(math.pi) * quarter)
    if zeta == math.inf:
        return np.nan if derivative else 0.0
    even, odd, z2, power = 0.0, 0.0, 1.0 / (zeta * zeta), 1.0
    for k in range(coef.size // 2):
        even += coef[2 * k] * power
        odd += coef[2 * k + 1] * power / zeta
        power *= -z2
    s, c = math.sin(zeta), math.cos(zeta)
    cos_phase, sin_phase = (c + s) * math.sqrt(0.5), (s - c) * math.sqrt(0.5)  # zeta - pi/4
    if derivative:
        return quarter * (sin_phase * even - cos_phase * odd) / math.sqrt(math.pi)
    return (cos_phase * even + sin_phase * odd) / (math.sqrt(math.pi) * quarter)


@numba.njit(cache=True)
def _airy_integral(x, derivative):  # pragma: no cover  (compiled)
    """Ai or Ai' for ``1 < x < 9.65`` through ``Ai = sqrt(x/3) / pi K_(1/3)(zeta)`` and
    ``Ai' = -x / (pi sqrt 3) K_(2/3)(zeta)`` (DLMF 9.6.1-2)."""
    zeta = 2.0 * x * math.sqrt(x) / 3.0
    nu = 2.0 / 3.0 if derivative else 1.0 / 3.0
    total = 0.5
    for j in range(1, _AIRY_NODES.size):
        t = _AIRY_NODES[j]
        total += math.exp(-zeta * (math.cosh(t) - 1.0)) * math.cosh(nu * t)
    k = _AIRY_STEP * total * math.exp(-zeta)
    if derivative:
        return -x / (math.pi * math.sqrt(3.0)) * k
    return math.sqrt(x / 3.0) / math.pi * k


@numba.njit(cache=True)
def _airy(x, derivative):  # pragma: no cover  (compiled)
    if math.isnan(x):
        return x
    if x == math.inf:
        return 0.0
    if abs(x) <= 1.0:
        return _airy_series(x, derivative)
    if abs(x) >= 9.65:
        return _airy_asymptotic(x, derivative)
    if x > 0:
        return _airy_integral(x, derivative)
    return _airy_taylor(x, derivative)


@numba.vectorize(cache=True)  # compiled on first use
def airy_ai(x):  # pragma: no cover  (compiled)
    return _airy(x, False)


@numba.vectorize(cache=True)
def airy_ai_prime(x):  # pragma: no cover  (compiled)
    return _airy(x, True)
