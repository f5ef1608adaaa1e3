"""Special functions NumPy lacks (erf, erfc, erfinv, lgamma, polygamma), compiled elementwise with
Numba."""

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
