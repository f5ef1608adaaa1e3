"""What ds has no op for, done in NumPy: gamma and binomial samplers (drawn from ds's default
generator), the gamma CDF, and the implicit reparameterization gradient of a gamma sample."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..autograd.function import Function
from ..ops import _opdef
from ..ops._special import lgamma as _lgamma
from ..random import default_generator
from ..tensor import Tensor

__all__ = ["binomial", "gamma_cdf", "standard_gamma", "von_mises"]

_MAX_TERMS = 5000


def _draw(what: str, fill: Callable[[np.random.Generator], np.ndarray], like: Tensor) -> Tensor:
    """Wrap one NumPy draw as a tensor of ``like``'s dtype (a draw outside any op, which a
    compiled ds.jit graph could not repeat, so tracing one is refused)."""
    if _opdef.TRACER[0] is not None:
        _opdef.TRACER[0].unsupported(f"a {what} sample from deepseek.distributions: compiled runs "
                                     "would not draw again")
    with np.errstate(all="ignore"):
        values = fill(default_generator.np)
    return Tensor._wrap(np.asarray(values, dtype=like._data.dtype))


def _log_kernel(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``a log x - x - lgamma(a)``, the log of the factor both expansions share."""
    return a * np.log(x) - x - _lgamma(a)


def _log_lower_series(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``log x + log(P(a, x) / pdf(x))`` of the regularized lower incomplete gamma ``P``,
    by its power series (good for ``x < a + 1``)."""
    term = 1.0 / a
    total = term.copy()
    denominator = a.copy()
    for _ in range(_MAX_TERMS):
        denominator = denominator + 1.0
        term = term * x / denominator
        total = total + term
        if np.all(term <= total * 1e-16):
            break
    return np.log(total)


def _log_upper_fraction(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``log x + log(Q(a, x) / pdf(x))`` of the regularized upper incomplete gamma ``Q``, by
    its continued fraction (modified Lentz; good for ``x >= a + 1``)."""
    tiny = 1e-300
    b = x + 1.0 - a
    c = np.full_like(x, 1.0 / tiny)
    d = 1.0 / b
    h = d.copy()
    for i in range(1, _MAX_TERMS):
        an = -i * (i - a)
        b = b + 2.0
        d = an * d + b
        d = np.where(np.abs(d) < tiny, tiny, d)
        c = b + an / c
        c = np.where(np.abs(c) < tiny, tiny, c)
        d = 1.0 / d
        delta = d * c
        h = h * delta
        if np.all(np.abs(delta - 1.0) <= 1e-15):
            break
    return np.log(h)


def regularized_gamma(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``P(a, x)``, the CDF of Gamma(a, 1) at ``x`` (float64; ``a > 0``, ``x >= 0``)."""
    a, x = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(x, np.float64))
    out = np.zeros(a.shape)
    lower = (x > 0) & (x < a + 1.0)
    upper = (x > 0) & ~lower
    if lower.any():
        am, xm = a[lower], x[lower]
        out[lower] = np.exp(_log_lower_series(am, xm) + _log_kernel(am, xm))
    if upper.any():
        am, xm = a[upper], x[upper]
        out[upper] = -np.expm1(_log_upper_fraction(am, xm) + _log_kernel(am, xm))
    return out


def standard_gamma_grad(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``dx/da`` of a Gamma(a, 1) sample ``x`` held at a fixed CDF value (implicit
    reparameterization): ``-(dP(a, x)/da) / pdf(x)``.

    With ``F`` the expansion that converges at ``(a, x)`` (``P`` or ``Q``) and ``S = F / pdf``
    its series part, ``(dF/da) / pdf = S * d(log F)/da``; the log-derivative is a central
    difference of ``log S + log kernel``, which neither underflows in the tails nor cancels
    (``1 - Q``), so the step error dominates, about 1e-9 relative.
    """
    a, x = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(x, np.float64))
    shape = a.shape
    a, x = a.ravel(), x.ravel()
    grad = np.zeros_like(x)
    lower = (x > 0) & (x < a + 1.0)
    upper = (x > 0) & ~lower
    for mask, log_series, sign in ((lower, _log_lower_series, 1.0),
                                   (upper, _log_upper_fraction, -1.0)):
        if not mask.any():
            continue
        am, xm = a[mask], x[mask]
        step = 1e-5 * np.maximum(am, 1e-3)
        hi, lo = am + step, am - step
        log_hi = log_series(hi, xm) + _log_kernel(hi, xm)
        log_lo = log_series(lo, xm) + _log_kernel(lo, xm)
        log_derivative = (log_hi - log_lo) / (2.0 * step)
        grad[mask] = -sign * log_derivative * np.exp(log_series(am, xm)) * xm
    return grad.reshape(shape)


class _StandardGamma(Function):
    """Gamma(concentration, 1) samples, differentiable in ``concentration``."""

    @staticmethod
    def forward(ctx: Any, concentration: Tensor) -> Tensor:
        tiny = np.finfo(concentration._data.dtype).tiny
        sample = _draw("gamma", lambda g: np.maximum(
            g.standard_gamma(concentration._data.astype(np.float64)), tiny), concentration)
        ctx.save_for_backward(concentration, sample)
        return sample

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple:
        concentration, sample = ctx.saved_tensors
        grad = standard_gamma_grad(concentration._data, sample._data).reshape(sample.shape)
        return (g * Tensor._wrap(grad.astype(sample._data.dtype)),)


def standard_gamma(concentration: Tensor) -> Tensor:
    """Samples of Gamma(``concentration``, 1), one per element, with gradients flowing to
    ``concentration`` by implicit reparameterization."""
    return _StandardGamma.apply(concentration)


def binomial(total_count: Tensor, probs: Tensor) -> Tensor:
    """Binomial counts (in ``probs``' dtype), one per element of the broadcast arguments."""
    counts = np.asarray(total_count._data, np.float64).astype(np.int64)
    p = np.clip(np.asarray(probs._data, np.float64), 0.0, 1.0)
    return _draw("binomial", lambda g: g.binomial(counts, p), probs)


def von_mises(loc: Tensor, concentration: Tensor) -> Tensor:
    """Von Mises angles in ``[-pi, pi]`` (in ``loc``'s dtype), one per element of the
    broadcast arguments."""
    mu = np.asarray(loc._data, np.float64)
    kappa = np.asarray(concentration._data, np.float64)
    return _draw("von Mises", lambda g: g.vonmises(mu, kappa), loc)


class _GammaCdf(Function):
    """``P(concentration, x)``, the CDF of Gamma(concentration, 1), differentiable in both."""

    @staticmethod
    def forward(ctx: Any, concentration: Tensor, x: Tensor) -> Tensor:
        a, z = np.broadcast_arrays(concentration._data, x._data)
        ctx.save_for_backward(concentration, x)
        return Tensor._wrap(regularized_gamma(a, np.maximum(z, 0.0)).astype(x._data.dtype))

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple:
        concentration, x = ctx.saved_tensors
        a, z = np.broadcast_arrays(np.asarray(concentration._data, np.float64),
                                   np.maximum(np.asarray(x._data, np.float64), 0.0))
        with np.errstate(all="ignore"):
            pdf = np.where(z > 0, np.exp((a - 1.0) * np.log(z) - z - _lgamma(a)), 0.0)
        # dP/da = -(dx/da at fixed P) * pdf
        grad_a = -standard_gamma_grad(a, z) * pdf
        dtype = x._data.dtype
        return (g * Tensor._wrap(grad_a.astype(dtype)), g * Tensor._wrap(pdf.astype(dtype)))


def gamma_cdf(concentration: Tensor, x: Tensor) -> Tensor:
    """The regularized lower incomplete gamma function ``P(concentration, x)``."""
    return _GammaCdf.apply(concentration, x)
