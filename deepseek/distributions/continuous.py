"""Location-scale distributions on the real line and its halves: Normal, Uniform, Exponential,
Laplace, Cauchy, Gumbel and GeneralizedPareto; and VonMises on the circle."""

from __future__ import annotations

import math
from typing import Any, Optional

from .. import dtypes as _dt
from .._creation import full_like, zeros_like
from ..autograd.grad_mode import no_grad
from ..ops.elementwise import where
from ..ops.special import i0e, i1e
from ..random import rand, randn
from ..tensor import Size, Tensor
from . import _sampling, constraints
from ._exp_family import ExponentialFamily
from .distribution import Distribution
from .utils import broadcast_all

__all__ = ["Cauchy", "Exponential", "GeneralizedPareto", "Gumbel", "Laplace", "Normal",
           "Uniform", "VonMises"]

_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)
_EULER_GAMMA = 0.57721566490153286061


def expand_parameters(self: Distribution, cls: type, batch_shape: Any, _instance: Any,
                      parameters: dict) -> Distribution:
    """The body of most ``expand`` methods: a new ``cls`` whose parameters (those present on
    ``self``; each maps to the trailing shape it keeps) are broadcast views to
    ``batch_shape``."""
    new = self._get_checked_instance(cls, _instance)
    batch_shape = Size(tuple(batch_shape))
    for name, trailing in parameters.items():
        if name in self.__dict__:
            setattr(new, name, self.__dict__[name].expand(batch_shape + Size(trailing)))
    Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
    new._validate_args = self._validate_args
    return new


def _uniform_like(shape: Size, like: Tensor) -> Tensor:
    return rand(shape, dtype=like.dtype)


class _LocationScale(Distribution):
    """The parameters, support and ``expand`` shared by the real location-scale families
    (Normal, Laplace, Cauchy, Gumbel), whose mode is ``loc``."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc: Any, scale: Any, validate_args: Optional[bool] = None) -> None:
        self.loc, self.scale = broadcast_all(loc, scale)
        super().__init__(self.loc.shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Distribution:
        return expand_parameters(self, type(self), batch_shape, _instance,
                                 {"loc": (), "scale": ()})

    @property
    def mode(self) -> Tensor:
        return self.loc


class Normal(_LocationScale, ExponentialFamily):
    """The normal (Gaussian) distribution of mean ``loc`` and standard deviation ``scale``.

    Args:
        loc: the mean.
        scale: the standard deviation (positive).
        validate_args: see :class:`Distribution`.

    Example:
        >>> d = Normal(deepseek.tensor([0.0]), deepseek.tensor([1.0]))
        >>> d.log_prob(deepseek.tensor([0.0]))
        tensor([-0.9189])
    """

    @property
    def mean(self) -> Tensor:
        return self.loc

    @property
    def stddev(self) -> Tensor:
        return self.scale

    @property
    def variance(self) -> Tensor:
        return self.scale.square()

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        return self.loc + randn(shape, dtype=self.loc.dtype) * self.scale

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        z = (value - self.loc) / self.scale
        return -0.5 * z.square() - self.scale.log() - _LOG_SQRT_2PI

    def cdf(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return 0.5 * (1 + ((value - self.loc) / (self.scale * math.sqrt(2))).erf())

    def icdf(self, value: Tensor) -> Tensor:
        return self.loc + self.scale * (2 * value - 1).erfinv() * math.sqrt(2)

    def entropy(self) -> Tensor:
        return 0.5 + _LOG_SQRT_2PI + self.scale.log()

    @property
    def _natural_params(self) -> tuple:
        variance = self.scale.square()
        return (self.loc / variance, -0.5 * variance.reciprocal())

    def _log_normalizer(self, x: Tensor, y: Tensor) -> Tensor:
        return -0.25 * x.square() / y + 0.5 * (-math.pi / y).log()

    _mean_carrier_measure = 0


class Uniform(Distribution):
    """The uniform distribution on the half-open interval ``[low, high)``.

    Args:
        low: the lower bound (inclusive).
        high: the upper bound (exclusive); ``low < high``.
        validate_args: see :class:`Distribution`.
    """

    has_rsample = True

    def __init__(self, low: Any, high: Any, validate_args: Optional[bool] = None) -> None:
        self.low, self.high = broadcast_all(low, high)
        super().__init__(self.low.shape, validate_args=validate_args)

    @property
    def arg_constraints(self) -> dict:
        return {"low": constraints.less_than(self.high),
                "high": constraints.greater_than(self.low)}

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self) -> constraints.Constraint:
        return constraints.interval(self.low, self.high)

    def expand(self, batch_shape: Any, _instance: Any = None) -> "Uniform":
        return expand_parameters(self, Uniform, batch_shape, _instance, {"low": (), "high": ()})

    @property
    def mean(self) -> Tensor:
        return (self.high + self.low) / 2

    @property
    def mode(self) -> Tensor:
        return self.high * math.nan

    @property
    def stddev(self) -> Tensor:
        return (self.high - self.low) / math.sqrt(12)

    @property
    def variance(self) -> Tensor:
        return (self.high - self.low).square() / 12

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        u = _uniform_like(self._extended_shape(sample_shape), self.low)
        return self.low + u * (self.high - self.low)

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        inside = (self.low <= value) & (value < self.high)
        return inside.to(self.low.dtype).log() - (self.high - self.low).log()

    def cdf(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return ((value - self.low) / (self.high - self.low)).clamp(min=0, max=1)

    def icdf(self, value: Tensor) -> Tensor:
        return value * (self.high - self.low) + self.low

    def entropy(self) -> Tensor:
        return (self.high - self.low).log()


class Exponential(ExponentialFamily):
    """The exponential distribution of rate ``rate`` (mean ``1 / rate``).

    Args:
        rate: the rate (positive).
        validate_args: see :class:`Distribution`.
    """

    arg_constraints = {"rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, rate: Any, validate_args: Optional[bool] = None) -> None:
        (self.rate,) = broadcast_all(rate)
        super().__init__(self.rate.shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> "Exponential":
        return expand_parameters(self, Exponential, batch_shape, _instance, {"rate": ()})

    @property
    def mean(self) -> Tensor:
        return self.rate.reciprocal()

    @property
    def mode(self) -> Tensor:
        return zeros_like(self.rate)

    @property
    def stddev(self) -> Tensor:
        return self.rate.reciprocal()

    @property
    def variance(self) -> Tensor:
        return self.rate.square().reciprocal()

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        u = _uniform_like(self._extended_shape(sample_shape), self.rate)
        return -(-u).log1p() / self.rate

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return self.rate.log() - self.rate * value

    def cdf(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return 1 - (-self.rate * value).exp()

    def icdf(self, value: Tensor) -> Tensor:
        return -(-value).log1p() / self.rate

    def entropy(self) -> Tensor:
        return 1.0 - self.rate.log()

    @property
    def _natural_params(self) -> tuple:
        return (-self.rate,)

    def _log_normalizer(self, x: Tensor) -> Tensor:
        return -(-x).log()

    _mean_carrier_measure = 0


class Laplace(_LocationScale):
    """The Laplace (double exponential) distribution of location ``loc`` and scale ``scale``.

    Args:
        loc: the mean.
        scale: the scale (positive).
        validate_args: see :class:`Distribution`.
    """

    @property
    def mean(self) -> Tensor:
        return self.loc

    @property
    def stddev(self) -> Tensor:
        return math.sqrt(2) * self.scale

    @property
    def variance(self) -> Tensor:
        return 2 * self.scale.square()

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        eps = _dt.finfo(self.loc.dtype).eps
        # u uniform on (-1, 1), kept off -1 so that log1p(-|u|) stays finite
        u = _uniform_like(self._extended_shape(sample_shape), self.loc) * (2 - eps) - 1 + eps
        return self.loc - self.scale * u.sign() * (-u.abs()).log1p()

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return -(2 * self.scale).log() - (value - self.loc).abs() / self.scale

    def cdf(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        z = value - self.loc
        return 0.5 - 0.5 * z.sign() * (-z.abs() / self.scale).expm1()

    def icdf(self, value: Tensor) -> Tensor:
        term = value - 0.5
        return self.loc - self.scale * term.sign() * (-2 * term.abs()).log1p()

    def entropy(self) -> Tensor:
        return 1 + (2 * self.scale).log()


class Cauchy(_LocationScale):
    """The Cauchy (Lorentz) distribution of median ``loc`` and half width ``scale``.

    Args:
        loc: the median.
        scale: the half width at half maximum (positive).
        validate_args: see :class:`Distribution`.
    """

    @property
    def mean(self) -> Tensor:
        return full_like(self.loc, math.nan)

    @property
    def variance(self) -> Tensor:
        return full_like(self.loc, math.inf)

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        u = _uniform_like(self._extended_shape(sample_shape), self.loc)
        return self.loc + self.scale * (math.pi * (u - 0.5)).tan()

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        z = (value - self.loc) / self.scale
        return -math.log(math.pi) - self.scale.log() - z.square().log1p()

    def cdf(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return ((value - self.loc) / self.scale).atan() / math.pi + 0.5

    def icdf(self, value: Tensor) -> Tensor:
        return (math.pi * (value - 0.5)).tan() * self.scale + self.loc

    def entropy(self) -> Tensor:
        return math.log(4 * math.pi) + self.scale.log()


class Gumbel(_LocationScale):
    """The Gumbel (type I extreme value) distribution of location ``loc`` and scale ``scale``.

    Args:
        loc: the location (the mode).
        scale: the scale (positive).
        validate_args: see :class:`Distribution`.
    """

    @property
    def mean(self) -> Tensor:
        return self.loc + self.scale * _EULER_GAMMA

    @property
    def stddev(self) -> Tensor:
        return (math.pi / math.sqrt(6)) * self.scale

    @property
    def variance(self) -> Tensor:
        return self.stddev.square()

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        info = _dt.finfo(self.loc.dtype)
        u = _uniform_like(self._extended_shape(sample_shape), self.loc)
        u = u.clamp(min=info.tiny, max=1 - info.eps)
        return self.loc - self.scale * (-u.log()).log()

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        z = (value - self.loc) / self.scale
        return -(self.scale.log() + z + (-z).exp())

    def cdf(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return (-(-(value - self.loc) / self.scale).exp()).exp()

    def icdf(self, value: Tensor) -> Tensor:
        return self.loc - self.scale * (-value.log()).log()

    def entropy(self) -> Tensor:
        return self.scale.log() + (1 + _EULER_GAMMA)


class GeneralizedPareto(Distribution):
    """The generalized Pareto distribution of location ``loc``, scale ``scale`` and shape
    ``concentration`` (``xi``): survival ``(1 + xi z) ** (-1 / xi)`` for ``z = (x - loc) /
    scale``, the exponential at ``xi = 0``; bounded above by ``loc - scale / xi`` when
    ``xi < 0``.

    Args:
        loc: the lower end of the support.
        scale: the scale (positive).
        concentration: the shape ``xi``.
        validate_args: see :class:`Distribution`.

    Example:
        >>> GeneralizedPareto(0.0, 1.0, 0.0).log_prob(deepseek.tensor(2.0))
        tensor(-2.)
    """

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive,
                       "concentration": constraints.real}
    has_rsample = True

    def __init__(self, loc: Any, scale: Any, concentration: Any,
                 validate_args: Optional[bool] = None) -> None:
        self.loc, self.scale, self.concentration = broadcast_all(loc, scale, concentration)
        super().__init__(self.loc.shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> "GeneralizedPareto":
        return expand_parameters(self, GeneralizedPareto, batch_shape, _instance,
                                 {"loc": (), "scale": (), "concentration": ()})

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self) -> constraints.Constraint:
        xi = self.concentration
        upper = where(xi < 0, self.loc - self.scale / xi, math.inf)
        return constraints.interval(self.loc, upper)

    def _shape(self) -> tuple:
        """Whether ``xi`` is (numerically) 0, and ``xi`` with those entries set to 1, so that
        the ``xi != 0`` branch stays finite (with finite gradients) where it is not used."""
        at_zero = self.concentration.abs() <= 1e-8
        return at_zero, where(at_zero, 1.0, self.concentration)

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        z = (value - self.loc) / self.scale
        at_zero, xi = self._shape()
        power = xi.reciprocal() + 1
        # a power of 0 (xi = -1, the uniform) leaves no log term, even at the upper bound
        tail = where(power == 0, 0.0, power * (xi * z).log1p())
        return -self.scale.log() - where(at_zero, z, tail)

    def _log_survival(self, value: Tensor) -> Tensor:
        z = (value - self.loc) / self.scale
        at_zero, xi = self._shape()
        return where(at_zero, -z, -(xi * z).log1p() / xi)

    def cdf(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return (-self._log_survival(value).exp()).log1p().exp()

    def icdf(self, value: Tensor) -> Tensor:
        log_survival = (-value).log1p()
        at_zero, xi = self._shape()
        tail = self.loc + self.scale / xi * (-xi * log_survival).expm1()
        return where(at_zero, self.loc - self.scale * log_survival, tail)

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        return self.icdf(_uniform_like(self._extended_shape(sample_shape), self.loc))

    @property
    def mean(self) -> Tensor:
        """The mean; NaN where ``concentration >= 1`` (as PyTorch has it)."""
        finite = self.concentration < 1
        xi = where(finite, self.concentration, 0.5)
        return where(finite, self.loc + self.scale / (1 - xi), math.nan)

    @property
    def mode(self) -> Tensor:
        return self.loc

    @property
    def variance(self) -> Tensor:
        """The variance; NaN where ``concentration >= 1/2`` (as PyTorch has it)."""
        finite = self.concentration < 0.5
        xi = where(finite, self.concentration, 0.25)
        return where(finite, self.scale.square() / ((1 - xi).square() * (1 - 2 * xi)),
                     math.nan)

    def entropy(self) -> Tensor:
        return self.scale.log() + self.concentration + 1


class VonMises(Distribution):
    """The von Mises distribution on the circle, of mean direction ``loc`` and concentration
    ``concentration``: density ``exp(k cos(x - loc)) / (2 pi I0(k))``. Samples lie in
    ``[-pi, pi]`` and are not reparameterized.

    Args:
        loc: the mean angle in radians.
        concentration: ``k``, the concentration (positive).
        validate_args: see :class:`Distribution`.

    Example:
        >>> VonMises(0.0, 1.0).log_prob(deepseek.tensor(0.0))
        tensor(-1.0738)
    """

    arg_constraints = {"loc": constraints.real, "concentration": constraints.positive}
    support = constraints.real
    has_rsample = False

    def __init__(self, loc: Any, concentration: Any,
                 validate_args: Optional[bool] = None) -> None:
        self.loc, self.concentration = broadcast_all(loc, concentration)
        super().__init__(self.loc.shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> "VonMises":
        return expand_parameters(self, VonMises, batch_shape, _instance,
                                 {"loc": (), "concentration": ()})

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        k = self.concentration
        # log I0(k) = log(i0e(k)) + k, finite for large k
        log_normalizer = math.log(2 * math.pi) + i0e(k).log() + k
        return k * (value - self.loc).cos() - log_normalizer

    def sample(self, sample_shape: Any = ()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        with no_grad():
            return _sampling.von_mises(self.loc.expand(shape), self.concentration.expand(shape))

    @property
    def mean(self) -> Tensor:
        return self.loc

    @property
    def mode(self) -> Tensor:
        return self.loc

    @property
    def variance(self) -> Tensor:
        """The circular variance ``1 - I1(k) / I0(k)``."""
        k = self.concentration
        return 1 - i1e(k) / i0e(k)
