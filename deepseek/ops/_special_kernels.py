"""The NumPy kernels behind ``ops/special.py``: float64 in, float64 out, vectorized, written from
series, continued fractions and asymptotic expansions (no SciPy). Each is accurate to a few
float64 ulps over its whole domain unless its docstring says otherwise."""

from __future__ import annotations

import functools
import math
from typing import Callable

import numpy as np

_SQRT_PI = math.sqrt(math.pi)
_SQRT_2PI = math.sqrt(2 * math.pi)
_SQRT_HALF = math.sqrt(0.5)


# ---------------------------------------------------------------- kernel helpers
def _horner(coefs: list, t: np.ndarray) -> np.ndarray:
    """``sum(coefs[k] * t**k)``."""
    acc = np.full_like(t, coefs[-1])
    for c in coefs[-2::-1]:
        acc = acc * t + c
    return acc


def _exp_sq(x: np.ndarray, scale: float) -> np.ndarray:
    """``exp(scale * x * x)`` without the rounding of ``x * x``, which would cost ``x**2``
    ulps: ``x`` is split so the square of its high half is exact. Needs ``|x| < 1e150``."""
    c = x * 134217729.0  # 2**27 + 1 (Veltkamp's split)
    hi = c - (c - x)
    lo = x - hi
    return np.exp(scale * (hi * hi)) * np.exp(scale * ((hi + x) * lo))


def _where_finite(fn: Callable, x: np.ndarray, limit: float, outside: float) -> np.ndarray:
    """``fn(x)`` for ``|x| < limit`` and ``outside`` elsewhere (keeping NaN)."""
    out = np.full_like(x, outside)
    inside = np.abs(x) < limit
    out[inside] = fn(x[inside])
    out[np.isnan(x)] = np.nan
    return out


# ---------------------------------------------------------------- error functions
# Taylor series of erf: 2/sqrt(pi) * (-1)^n / (n! (2n + 1)), in powers of x^2
_ERF_TAYLOR = [2 / _SQRT_PI * (-1) ** n / (math.factorial(n) * (2 * n + 1)) for n in range(18)]
# erfcx(x) = (x/pi) * integral of exp(-t^2) / (x^2 + t^2) over the real line: the trapezoidal
# rule with step _H is exact up to exp(-pi^2 / _H^2) once the error of the poles at t = +-ix,
# 2 exp(x^2) / (exp(2 pi x / _H) - 1), is subtracted (Chiarella and Reichel's correction)
_H = 0.45
_NODES = [(k * _H) ** 2 for k in range(1, 17)]
_NODE_WEIGHTS = [math.exp(-t) for t in _NODES]


def _erf_small(x: np.ndarray) -> np.ndarray:
    """erf for ``|x| <= 0.6``."""
    return x * _horner(_ERF_TAYLOR, x * x)


def _erfcx_pos(x: np.ndarray) -> np.ndarray:
    """``exp(x^2) erfc(x)`` for ``x >= 0.3`` (NaN-free, +inf gives 0)."""
    out = np.empty_like(x)
    near = x < 6.0
    xn = x[near]
    x2 = xn * xn
    acc = np.zeros_like(xn)
    for t, w in zip(_NODES[::-1], _NODE_WEIGHTS[::-1]):
        acc += w / (x2 + t)
    out[near] = (_H / math.pi) * (1 / xn + 2 * xn * acc) - 2 * np.exp(x2) / np.expm1(
        (2 * math.pi / _H) * xn)
    # Laplace's continued fraction 1 / (x + (1/2) / (x + 1 / (x + (3/2) / (x + ...)))),
    # evaluated backwards: 16 levels reach the float64 rounding for x >= 6
    xf = x[~near]
    f = xf.copy()
    for n in range(16, 0, -1):
        f = xf + (n / 2) / f
    out[~near] = 1 / (_SQRT_PI * f)
    return out


def erfcx_np(x: np.ndarray) -> np.ndarray:
    """The scaled complementary error function ``exp(x^2) erfc(x)``."""
    out = np.empty_like(x)
    small = np.abs(x) < 0.5
    xs = x[small]
    out[small] = np.exp(xs * xs) * (1 - _erf_small(xs))
    pos = x >= 0.5
    out[pos] = _erfcx_pos(x[pos])
    neg = (x <= -0.5) & (x > -27)
    xn = x[neg]
    out[neg] = 2 * _exp_sq(xn, 1.0) - _erfcx_pos(-xn)
    out[x <= -27] = np.inf
    out[np.isnan(x)] = np.nan
    return out


def erfc_np(x: np.ndarray) -> np.ndarray:
    """The complementary error function, accurate in relative terms out to its underflow."""
    out = np.empty_like(x)
    small = np.abs(x) < 0.5
    out[small] = 1 - _erf_small(x[small])
    big = ~small & (np.abs(x) < 28)
    xb = x[big]
    tail = _exp_sq(xb, -1.0) * _erfcx_pos(np.abs(xb))
    out[big] = np.where(xb > 0, tail, 2 - tail)
    out[x >= 28] = 0.0
    out[x <= -28] = 2.0
    out[np.isnan(x)] = np.nan
    return out


def _ndtr_lower(x: np.ndarray) -> np.ndarray:
    """The standard normal CDF for ``x <= -0.42``, from erfcx so the tail keeps its digits."""
    return _where_finite(lambda v: 0.5 * _exp_sq(v, -0.5) * _erfcx_pos(-v * _SQRT_HALF),
                         x, 40.0, 0.0)


def ndtr_np(x: np.ndarray) -> np.ndarray:
    """The standard normal CDF."""
    out = np.empty_like(x)
    small = np.abs(x) < 0.75
    out[small] = 0.5 + 0.5 * _erf_small(x[small] * _SQRT_HALF)
    neg = x <= -0.75
    out[neg] = _ndtr_lower(x[neg])
    pos = x >= 0.75
    out[pos] = 1 - _ndtr_lower(-x[pos])
    out[np.isnan(x)] = np.nan
    return out


def log_ndtr_np(x: np.ndarray) -> np.ndarray:
    """The log of the standard normal CDF, finite out to ``-1e154``."""
    out = np.empty_like(x)
    far = x < -1
    xf = x[far]
    out[far] = np.log(0.5 * _erfcx_pos(-xf * _SQRT_HALF)) - 0.5 * xf * xf
    mid = (x >= -1) & (x <= 0)
    out[mid] = np.log(ndtr_np(x[mid]))
    pos = x > 0
    out[pos] = np.log1p(-ndtr_np(-x[pos]))
    out[np.isnan(x)] = np.nan
    return out


# Abramowitz and Stegun 26.2.23: a start within 4.5e-4 of the normal quantile for p <= 0.5
_AS_NUM = [2.515517, 0.802853, 0.010328]
_AS_DEN = [1.0, 1.432788, 0.189269, 0.001308]


def _ndtri_start(q: np.ndarray) -> np.ndarray:
    t = np.sqrt(-2 * np.log(q))
    return _horner(_AS_NUM, t) / _horner(_AS_DEN, t) - t


def _halley(x: np.ndarray, u: np.ndarray) -> np.ndarray:
    """One Halley step for ``ndtr(x) = p`` given ``u = (ndtr(x) - p) / pdf(x)``."""
    return x - u / (1 + 0.5 * x * u)


def _ndtri_lower(q: np.ndarray) -> np.ndarray:
    """The normal quantile for ``0 < q < 0.25``: Halley steps on ``ndtr(x) - q`` scaled by the
    density, where ``ndtr(x) / pdf(x) = sqrt(pi/2) erfcx(-x / sqrt(2))`` needs no exp."""
    x = _ndtri_start(q)
    tiny = q < 1e-290  # q / pdf(x) would overflow in its parts: take it through the log
    for _ in range(3):
        ratio = math.sqrt(math.pi / 2) * _erfcx_pos(-x * _SQRT_HALF)
        q_over_pdf = np.where(tiny, np.exp(np.log(q) + 0.5 * x * x + math.log(_SQRT_2PI)),
                              q * _SQRT_2PI * _exp_sq(np.where(tiny, 0.0, x), 0.5))
        x = _halley(x, ratio - q_over_pdf)
    return x


def _ndtri_central(d: np.ndarray) -> np.ndarray:
    """The normal quantile of ``0.5 + d`` for ``|d| <= 0.25`` (``d`` exact)."""
    x = np.where(d < 0, _ndtri_start(0.5 + d), -_ndtri_start(0.5 - d))
    for _ in range(3):
        u = (0.5 * _erf_small(x * _SQRT_HALF) - d) * _SQRT_2PI * np.exp(0.5 * x * x)
        x = _halley(x, u)
    return np.where(d == 0, 0.0, x)


def ndtri_np(p: np.ndarray) -> np.ndarray:
    """The inverse of the standard normal CDF."""
    out = np.full_like(p, np.nan)
    lower = (p > 0) & (p < 0.25)
    out[lower] = _ndtri_lower(p[lower])
    upper = (p > 0.75) & (p < 1)
    out[upper] = -_ndtri_lower(1 - p[upper])  # 1 - p is exact for p >= 0.5
    mid = (p >= 0.25) & (p <= 0.75)
    out[mid] = _ndtri_central(p[mid] - 0.5)
    out[p == 0] = -np.inf
    out[p == 1] = np.inf
    return out


def entr_np(x: np.ndarray) -> np.ndarray:
    """``-x log(x)``, 0 at 0 and -inf below."""
    out = np.where(x > 0, -x * np.log(np.where(x > 0, x, 1.0)), np.where(x == 0, 0.0, -np.inf))
    return np.where(np.isnan(x), x, out)


def xlog1py_np(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``x * log1p(y)``, 0 where ``x`` is 0 unless ``y`` is NaN."""
    return np.where((x == 0) & ~np.isnan(y), 0.0, x * np.log1p(y))


# ---------------------------------------------------------------- modified Bessel I0, I1
# below 20: the power series sum((x/2)^(2k+nu) / (k! (k+nu)!)); above: Hankel's expansion
# I_nu(x) ~ e^x / sqrt(2 pi x) * sum(b_k / x^k), b_k = prod((2j-1)^2 - 4 nu^2) / (8j)
_I_SERIES = {nu: [1 / (math.factorial(k) * math.factorial(k + nu)) for k in range(46)]
             for nu in (0, 1)}
_I_HANKEL = {nu: [math.prod(((2 * j - 1) ** 2 - 4 * nu * nu) / (8 * j) for j in range(1, k + 1))
                  for k in range(30)] for nu in (0, 1)}


def bessel_i_np(x: np.ndarray, nu: int, scaled: bool) -> np.ndarray:
    """``I_nu(x)`` for ``nu`` in (0, 1), times ``exp(-|x|)`` when ``scaled``."""
    a = np.abs(x)
    out = np.empty_like(a)
    small = a <= 20
    s = a[small]
    half = 0.5 * s
    v = _horner(_I_SERIES[nu], half * half)
    if nu:
        v = v * half
    out[small] = v * np.exp(-s) if scaled else v
    b = a[~small]
    w = _horner(_I_HANKEL[nu], 1 / b) / np.sqrt(2 * math.pi * b)
    if not scaled:
        e = np.exp(0.5 * b)  # in two halves: e^x alone overflows before I_nu(x) does
        w = w * e * e
    out[~small] = w
    if not scaled:
        out[a == np.inf] = np.inf
    out[np.isnan(a)] = np.nan
    return np.copysign(out, x) if nu else out


# ---------------------------------------------------------------- Bessel J, Y and K of order 0, 1
_EULER = 0.5772156649015329
_PSI1 = [-_EULER + sum(1 / j for j in range(1, k + 1)) for k in range(22)]  # psi(k + 1)
_FACT = [math.factorial(k) for k in range(23)]
# power series in t = x^2 / 4 (Abramowitz and Stegun 9.1.10-11, 9.6.10-11), for 0 < x <= 1
_J0_SERIES = [(-1) ** k / _FACT[k] ** 2 for k in range(20)]
_J1_SERIES = [(-1) ** k / (_FACT[k] * _FACT[k + 1]) for k in range(20)]
_Y0_SERIES = [(-1) ** k * _PSI1[k] / _FACT[k] ** 2 for k in range(20)]
_Y1_SERIES = [(-1) ** k * (_PSI1[k] + _PSI1[k + 1]) / (_FACT[k] * _FACT[k + 1]) for k in range(20)]
_K0_SERIES = [_PSI1[k] / _FACT[k] ** 2 for k in range(20)]
_K1_SERIES = [(_PSI1[k] + _PSI1[k + 1]) / (_FACT[k] * _FACT[k + 1]) for k in range(20)]


def _hankel_coefs(nu: int) -> tuple:
    """Hankel's P and Q: P ~ sum((-1)^k a_2k / x^2k), Q ~ sum((-1)^k a_2k+1 / x^2k+1) with
    a_k = prod(4 nu^2 - (2j-1)^2) / (k! 8^k)."""
    a = [1.0]
    for k in range(1, 40):
        a.append(a[-1] * (4 * nu * nu - (2 * k - 1) ** 2) / (8 * k))
    return [(-1) ** k * a[2 * k] for k in range(20)], [(-1) ** k * a[2 * k + 1] for k in range(19)]


_HANKEL = {nu: _hankel_coefs(nu) for nu in (0, 1)}


def _jy_series(x: np.ndarray) -> tuple:
    t = 0.25 * x * x
    j0 = _horner(_J0_SERIES, t)
    j1 = 0.5 * x * _horner(_J1_SERIES, t)
    lg = np.log(0.5 * x)
    y0 = (2 / math.pi) * (lg * j0 - _horner(_Y0_SERIES, t))
    y1 = (2 / math.pi) * (lg * j1 - 1 / x) - x / (2 * math.pi) * _horner(_Y1_SERIES, t)
    return j0, j1, y0, y1


def _jy_miller(x: np.ndarray) -> tuple:
    """J0, J1, Y0, Y1 for ``1 <= x <= 20``: Miller's backward recurrence for J_k from far above
    ``x``, normalized by ``J0 + 2 sum(J_2k) = 1``; Y0 and Y1 from Neumann's series in the same
    J_k (Y0 = 2/pi ((log(x/2) + gamma) J0 - 2 sum((-1)^k J_2k / k)), and its derivative)."""
    top = float(x.max()) if x.size else 1.0
    k_start = int(top + 10 * top ** (1 / 3) + 30) // 2 * 2 + 2
    j_above, j = np.zeros_like(x), np.full_like(x, 1e-30)
    even, y0_sum, y1_sum = np.zeros_like(x), np.zeros_like(x), np.zeros_like(x)
    for k in range(k_start, 0, -1):  # j = J_k, j_above = J_(k+1), unnormalized
        if k % 2 == 0:
            even += j
            y0_sum += (-1) ** (k // 2) * j / (k // 2)
        elif k > 1:
            m = (k + 1) // 2
            y1_sum += (-1) ** m * (2 * m - 1) / (m * (m - 1)) * j
        j_above, j = j, (2 * k / x) * j - j_above
        if np.abs(j).max(initial=0.0) > 1e200:  # rescale before the recurrence overflows
            s = np.where(np.abs(j) > 1e200, 1e-200, 1.0)
            j, j_above, even, y0_sum, y1_sum = (v * s for v in (j, j_above, even, y0_sum,
                                                                 y1_sum))
    norm = 1 / (j + 2 * even)
    j0, j1 = j * norm, j_above * norm
    lg = np.log(0.5 * x) + _EULER
    y0 = (2 / math.pi) * (lg * j0 - 2 * y0_sum * norm)
    y1 = (2 / math.pi) * (lg * j1 - j0 / x - j1 + y1_sum * norm)
    return j0, j1, y0, y1


def _jy_hankel(x: np.ndarray, nu: int) -> tuple:
    """``(J_nu, Y_nu)`` for ``x > 20`` by Hankel's expansion; ``cos(x - (2 nu + 1) pi / 4)`` is
    taken from ``cos x`` and ``sin x`` so the phase is not rounded."""
    p, q = _HANKEL[nu]
    z = 1 / (x * x)
    big_p, big_q = _horner(p, z), _horner(q, z) / x
    c, s = np.cos(x), np.sin(x)
    cos_chi, sin_chi = (c + s, s - c) if nu == 0 else (s - c, -(s + c))
    r = 1 / np.sqrt(math.pi * x)
    return r * (big_p * cos_chi - big_q * sin_chi), r * (big_p * sin_chi + big_q * cos_chi)


def bessel_jy_np(x: np.ndarray, nu: int, second: bool) -> np.ndarray:
    """``J_nu(x)`` (``Y_nu(x)`` when ``second``) for ``nu`` in (0, 1)."""
    a = np.abs(x)
    out = np.zeros_like(a)  # J and Y vanish at infinity
    pick = (1 if nu else 0) + (2 if second else 0)
    small = (a > 0) & (a < 1)
    out[small] = _jy_series(a[small])[pick]
    mid = (a >= 1) & (a <= 20)
    out[mid] = _jy_miller(a[mid])[pick]
    far = (a > 20) & (a < np.inf)
    out[far] = _jy_hankel(a[far], nu)[1 if second else 0]
    if second:
        out[x == 0] = -np.inf
        out[x < 0] = np.nan
    else:
        out[x == 0] = 0.0 if nu else 1.0
        if nu:
            out = np.where(x < 0, -out, out)  # J1 is odd
    out[np.isnan(x)] = np.nan
    return out


_K_STEP = 0.15
_K_NODES = [(0.5 if j == 0 else 1.0, math.cosh(j * _K_STEP) - 1, math.cosh(j * _K_STEP))
            for j in range(40)]


def bessel_k_np(x: np.ndarray, nu: int, scaled: bool) -> np.ndarray:
    """``K_nu(x)`` for ``nu`` in (0, 1), times ``exp(x)`` when ``scaled``. Below 1 the power
    series; to 20, ``exp(x) K_nu(x) = integral(exp(-x (cosh t - 1)) cosh(nu t), t > 0)`` by the
    trapezoidal rule (exact to exp(x - pi^2 / step) for this integrand); beyond, Hankel's
    expansion."""
    out = np.full_like(x, np.nan)
    small = (x > 0) & (x < 1)
    xs = x[small]
    t, lg = 0.25 * xs * xs, np.log(0.5 * xs)
    if nu:
        v = 1 / xs + lg * 0.5 * xs * _horner(_I_SERIES[1][:20], t) - 0.25 * xs * _horner(
            _K1_SERIES, t)
    else:
        v = _horner(_K0_SERIES, t) - lg * _horner(_I_SERIES[0][:20], t)
    out[small] = v * np.exp(xs) if scaled else v
    mid = (x >= 1) & (x <= 20)
    xm = x[mid]
    acc = np.zeros_like(xm)
    for w, shift, c in _K_NODES:
        acc += (w * (c if nu else 1.0)) * np.exp(-xm * shift)
    out[mid] = _K_STEP * acc * (1.0 if scaled else np.exp(-xm))
    far = (x > 20) & (x < np.inf)
    xf = x[far]
    v = _horner(_I_HANKEL[nu], -1 / xf) * np.sqrt(math.pi / (2 * xf))
    out[far] = v if scaled else v * np.exp(-xf)
    out[x == 0] = np.inf
    out[x == np.inf] = 0.0
    return out


def spherical_j0_np(x: np.ndarray) -> np.ndarray:
    """``sin(x) / x``, 1 at 0 and 0 at infinity."""
    safe = np.where((x == 0) | np.isinf(x), 1.0, x)
    return np.where(x == 0, 1.0, np.where(np.isinf(x), 0.0, np.sin(safe) / safe))


# ---------------------------------------------------------------- Hurwitz zeta
# B_2j / (2j)! for the Euler-Maclaurin tail
_BERNOULLI_2J = [1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510,
                 43867 / 798, -174611 / 330, 854513 / 138, -236364091 / 2730]
_EM_TAIL = [b / math.factorial(2 * j + 2) for j, b in enumerate(_BERNOULLI_2J)]


def zeta_np(x: np.ndarray, q: np.ndarray) -> np.ndarray:
    """The Hurwitz zeta function ``sum((k + q) ** -x for k >= 0)`` for ``x > 1``: the first
    terms directly, until ``k + q >= 10``, then Euler-Maclaurin with 12 Bernoulli terms."""
    out = np.full_like(x, np.nan)
    ok = (x > 1) & ~np.isnan(q) & ((q > 0) | (x == np.floor(x)))
    pole = (x == 1) | ((q <= 0) & (q == np.floor(q)) & ~(x < 1))  # PyTorch's precedence
    ok &= ~pole
    xs, w = x[ok], q[ok]
    acc = np.zeros_like(xs)
    for _ in range(10):
        acc += w ** -xs
        w = w + 1
    low = np.flatnonzero(w < 10)  # q < 0: keep summing up to 10
    while low.size:
        acc[low] += w[low] ** -xs[low]
        w[low] += 1
        low = low[w[low] < 10]
    finite = np.isfinite(xs)
    xf, wf = xs[finite], w[finite]
    tail = wf ** (1 - xf) / (xf - 1) + 0.5 * wf ** -xf
    rising = xf * wf ** (-xf - 1)  # x (x+1) ... (x+2j-2) w^(-x-2j+1) for j = 1
    for j, c in enumerate(_EM_TAIL):
        tail += c * rising
        rising = rising * (xf + 2 * j + 1) * (xf + 2 * j + 2) / (wf * wf)
    acc[finite] += tail
    out[ok] = acc
    out[pole] = np.inf
    return out


# ---------------------------------------------------------------- regularized incomplete gamma
# Stirling's series of log(Gamma*(a)) = lgamma(a) - (a - 1/2) log(a) + a - log(2 pi) / 2
_STIRLING = [1 / 12, -1 / 360, 1 / 1260, -1 / 1680, 1 / 1188, -691 / 360360, 1 / 156,
             -3617 / 122400]
# mu - log1p(mu) = sum((-mu)^k / k for k >= 2), in powers of mu starting at mu^2
_MU_LOG1P = [(-1) ** k / k for k in range(2, 60)]


def _lgamma_np(x: np.ndarray) -> np.ndarray:
    from ._special import lgamma as lgamma_ufunc

    return lgamma_ufunc(x)


@functools.cache
def _lgamma1p_series() -> list:
    """Taylor coefficients of lgamma(1 + a): -euler_gamma, then (-1)^k zeta(k) / k."""
    k = np.arange(2, 30, dtype=np.float64)
    zetas = zeta_np(k, np.ones_like(k))
    return [0.0, -0.5772156649015329] + [(-1) ** int(n) * z / n for n, z in zip(k, zetas)]


def _lgamma1p(a: np.ndarray) -> np.ndarray:
    """``lgamma(1 + a)`` with relative accuracy as ``a -> 0`` (where rounding 1 + a costs it)."""
    small = a < 0.25
    return np.where(small, _horner(_lgamma1p_series(), np.where(small, a, 0.0)),
                    _lgamma_np(1 + a))


def _log_gamma_density(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``log(x^a e^-x / Gamma(a))``; for large ``a`` through ``mu = x/a - 1`` and Stirling's
    series, so ``a log x - x`` is never formed (it cancels ``a`` ulps away near ``x = a``)."""
    out = a * np.log(x) - x - _lgamma_np(a)
    big = a >= 10
    ab, xb = a[big], x[big]
    mu = (xb - ab) / ab
    near = np.abs(mu) < 0.5  # a (mu - log1p(mu)) by its series, else by its two terms
    power = np.where(near, -ab * mu * mu * _horner(_MU_LOG1P, np.where(near, mu, 0.0)),
                     ab * np.log(xb / ab) - (xb - ab))
    out[big] = power + 0.5 * np.log(ab / (2 * math.pi)) - _horner(_STIRLING, 1 / (ab * ab)) / ab
    return out


# a safety net: the series and the fraction take about 9 sqrt(a) steps near x = a (Temme's
# expansion takes over there from a = 1e6), and about 40 / |x/a - 1| elsewhere
_MAX_STEPS = 1_000_000


def _gamma_p_series(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``sum(x^n / ((a+1) ... (a+n)))`` (``P(a, x)`` is that times ``x^a e^-x / Gamma(a+1)``):
    positive terms, summed until they stop counting, on the elements still going."""
    total = np.ones_like(x)
    term = np.ones_like(x)
    idx, sa, sx = np.arange(x.size), a, x
    for n in range(1, _MAX_STEPS):
        if not idx.size:
            break
        term = term * sx / (sa + n)
        total[idx] += term
        live = term > total[idx] * 1e-17
        if not live.all():
            idx, sa, sx, term = idx[live], sa[live], sx[live], term[live]
    return total


def _gamma_q_fraction(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Legendre's continued fraction for ``Q(a, x) Gamma(a) / (x^a e^-x)`` for ``x >= a``,
    by the modified Lentz method on the elements still going."""
    tiny = 1e-300
    b = x + 1 - a
    c = np.full_like(x, 1 / tiny)
    d = 1 / b
    out = d.copy()
    idx, sa = np.arange(x.size), a
    for n in range(1, _MAX_STEPS):
        if not idx.size:
            break
        an = -n * (n - sa)
        b = b + 2
        d = an * d + b
        d = 1 / np.where(np.abs(d) < tiny, tiny, d)
        c = b + an / c
        c = np.where(np.abs(c) < tiny, tiny, c)
        delta = c * d
        out[idx] *= delta
        live = np.abs(delta - 1) > 2.5e-16
        if not live.all():
            idx, sa, b, c, d = idx[live], sa[live], b[live], c[live], d[live]
    return out


def _gamma_small_x(a: np.ndarray, x: np.ndarray, upper: bool) -> np.ndarray:
    """P or Q for ``x <= 1.5``. Q is ``1 - x^a / Gamma(a+1)`` (an expm1) minus
    ``x^a / Gamma(a) * sum((-x)^n / (n! (a+n)) for n >= 1)``: no cancellation as ``a -> 0``."""
    if not upper:
        return _gamma_p_series(a, x) * np.exp(a * np.log(x) - x - _lgamma1p(a))
    u = a * np.log(x) - _lgamma1p(a)
    acc = np.zeros_like(x)
    term = np.ones_like(x)
    for n in range(1, 26):
        term = term * -x / n
        acc += term / (a + n)
    return -np.expm1(u) - np.exp(u) * a * acc


# Temme's uniform expansion Q(a, x) = erfc(eta sqrt(a/2)) / 2 + R, R = exp(-a eta^2 / 2) /
# sqrt(2 pi a) * (C0(eta) + C1(eta) / a + ...), eta^2 / 2 = mu - log1p(mu): the Taylor series
# of C0 = 1/mu - 1/eta and C1 = 1/eta^3 - 1/mu^3 - 1/mu^2 - 1/(12 mu) in eta (series reversion)
_TEMME_C0 = [-1 / 3, 1 / 12, -2 / 135, 1 / 864, 1 / 2835, -139 / 777600, 1 / 25515,
             -571 / 261273600, -281 / 151559100]
_TEMME_C1 = [-1 / 540, -1 / 288, 1 / 378, -77 / 77760, 1 / 4860, -1 / 2488320,
             -2743 / 151559100]


def _gamma_temme(a: np.ndarray, x: np.ndarray, upper: bool) -> np.ndarray:
    """P or Q for ``a >= 1e6`` and ``|x/a - 1| <= 0.01``, where the series and the continued
    fraction would take ``sqrt(a)`` steps; C2 / a^2 is below the rounding there."""
    mu = (x - a) / a
    phi = mu * mu * _horner(_MU_LOG1P, mu)
    eta = np.copysign(np.sqrt(2 * phi), mu)
    r = np.exp(-a * phi) / np.sqrt(2 * math.pi * a) * (
        _horner(_TEMME_C0, eta) + _horner(_TEMME_C1, eta) / a)
    y = eta * np.sqrt(0.5 * a)
    return 0.5 * erfc_np(y) + r if upper else 0.5 * erfc_np(-y) - r


def gammainc_np(a: np.ndarray, x: np.ndarray, upper: bool = False) -> np.ndarray:
    """The regularized lower incomplete gamma ``P(a, x)``, or the upper ``Q = 1 - P`` computed
    directly when ``upper``, with PyTorch's values on the domain's edges."""
    out = np.full_like(x, np.nan)
    inside = (a > 0) & (x > 0) & np.isfinite(a) & np.isfinite(x)
    small = inside & (x <= 1.5)
    out[small] = _gamma_small_x(a[small], x[small], upper)
    temme = inside & (a >= 1e6) & (np.abs(x - a) <= 0.01 * a)
    out[temme] = _gamma_temme(a[temme], x[temme], upper)
    inside &= ~temme
    series = inside & (x > 1.5) & (x < a)
    if series.any():
        sa, sx = a[series], x[series]
        p = _gamma_p_series(sa, sx) * np.exp(_log_gamma_density(sa, sx)) / sa
        out[series] = 1 - p if upper else p
    fraction = inside & (x > 1.5) & (x >= a)
    if fraction.any():
        fa, fx = a[fraction], x[fraction]
        q = _gamma_q_fraction(fa, fx) * np.exp(_log_gamma_density(fa, fx))
        out[fraction] = q if upper else 1 - q
    # the domain's edges in PyTorch's precedence (NaN for negative a or x, first of all)
    settled = (a < 0) | (x < 0)
    for mask, lower in ((a == 0, np.where(x > 0, 1.0, np.nan)), (x == 0, 0.0),
                        (np.isinf(a), np.where(np.isinf(x), np.nan, 0.0)), (np.isinf(x), 1.0)):
        value = np.broadcast_to(1 - lower if upper else lower, x.shape)
        here = mask & ~settled
        out[here] = value[here]
        settled |= mask
    return out
