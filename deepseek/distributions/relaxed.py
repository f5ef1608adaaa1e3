"""Continuous relaxations of binary and categorical variables: ContinuousBernoulli, the
(logit-)relaxed Bernoulli and the (exp-)relaxed one-hot categorical (Gumbel-softmax)."""

from __future__ import annotations

import math
import numbers
from typing import Any, Optional

from .._creation import as_tensor
from ..ops.elementwise import where
from ..random import rand
from ..tensor import Size, Tensor
from . import constraints
from ._exp_family import ExponentialFamily
from .continuous import expand_parameters
from .discrete import (Categorical, _BinaryParameters, _OfCategorical, _bce_with_logits,
                       _one_parameter)
from .distribution import Distribution
from .transformed_distribution import TransformedDistribution
from .transforms import ExpTransform, SigmoidTransform
from .utils import (broadcast_all, clamp_probs, lazy_property, logits_to_probs,
                    softplus)

__all__ = ["ContinuousBernoulli", "ExpRelaxedCategorical", "LogitRelaxedBernoulli",
           "RelaxedBernoulli", "RelaxedOneHotCategorical"]


def _binary_parameters(self: Distribution, probs: Any, logits: Any) -> Size:
    """Set ``probs`` or ``logits`` (broadcast to tensors) on ``self`` and return the batch
    shape: ``()`` for a number."""
    _one_parameter(probs, logits)
    given = probs if probs is not None else logits
    if probs is not None:
        (self.probs,) = broadcast_all(probs)
    else:
        (self.logits,) = broadcast_all(logits)
    self._param = self.probs if probs is not None else self.logits
    return Size() if isinstance(given, numbers.Number) else self._param.shape


class ContinuousBernoulli(_BinaryParameters, ExponentialFamily):
    """The continuous Bernoulli distribution on ``[0, 1]``: density proportional to
    ``probs ** x * (1 - probs) ** (1 - x)`` (Loaiza-Ganem & Cunningham, 2019). Near
    ``probs = 1/2`` (inside ``lims``) the normalizer, mean and variance use Taylor
    expansions, as their closed forms cancel there.

    Args:
        probs: the shape parameter in ``[0, 1]`` (clamped off 0 and 1).
        logits: its log-odds (give exactly one of ``probs``, ``logits``).
        lims: the interval around 1/2 where the expansions are used.
        validate_args: see :class:`Distribution`.

    Example:
        >>> ContinuousBernoulli(deepseek.tensor([0.5])).log_prob(deepseek.tensor([0.3]))
        tensor([0.])
    """

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, probs: Any = None, logits: Any = None, lims: tuple = (0.499, 0.501),
                 validate_args: Optional[bool] = None) -> None:
        batch_shape = _binary_parameters(self, probs, logits)
        if probs is not None:
            # checked before clamping, which would make any value pass
            if validate_args is not None and not bool(
                    self.arg_constraints["probs"].check(self.probs).all()):
                raise ValueError("The parameter probs has invalid values")
            self.probs = clamp_probs(self.probs)
            self._param = self.probs
        self._lims = lims
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> "ContinuousBernoulli":
        new = expand_parameters(self, ContinuousBernoulli, batch_shape, _instance,
                                {"probs": (), "logits": ()})
        new._param = new.probs if "probs" in self.__dict__ else new.logits
        new._lims = self._lims
        return new

    @lazy_property
    def probs(self) -> Tensor:  # clamped: the normalizing constant needs probs off 0 and 1
        return clamp_probs(logits_to_probs(self.logits, is_binary=True))

    def _outside_lims(self) -> Tensor:
        return (self.probs < self._lims[0]) | (self.probs > self._lims[1])

    def _cut_probs(self) -> Tensor:
        """``probs`` where the closed forms are used, a harmless constant elsewhere (so that
        the unused branch has finite values and gradients)."""
        return where(self._outside_lims(), self.probs, self._lims[0])

    @staticmethod
    def _log_odds_gap(p: Tensor) -> Tensor:
        """``log(1 - p) - log(p)``, which is ``2 atanh(1 - 2p)``."""
        return (-p).log1p() - p.log()

    def _cont_bern_log_norm(self) -> Tensor:
        """The log normalizing constant as a function of ``probs``."""
        p = self._cut_probs()
        below = p <= 0.5
        log_gap = where(below, (-2 * where(below, p, 0.0)).log1p(),
                        (2 * where(below, 1.0, p) - 1).log())
        closed = self._log_odds_gap(p).abs().log() - log_gap
        x = (self.probs - 0.5).square()
        taylor = math.log(2.0) + (4.0 / 3.0 + 104.0 / 45.0 * x) * x
        return where(self._outside_lims(), closed, taylor)

    @property
    def mean(self) -> Tensor:
        p = self._cut_probs()
        closed = p / (2 * p - 1) + self._log_odds_gap(p).reciprocal()
        x = self.probs - 0.5
        taylor = 0.5 + (1.0 / 3.0 + 16.0 / 45.0 * x.square()) * x
        return where(self._outside_lims(), closed, taylor)

    @property
    def variance(self) -> Tensor:
        p = self._cut_probs()
        closed = p * (p - 1) / (1 - 2 * p).square() + self._log_odds_gap(p).square().reciprocal()
        x = (self.probs - 0.5).square()
        taylor = 1.0 / 12.0 - (1.0 / 15.0 + 128.0 / 945.0 * x) * x
        return where(self._outside_lims(), closed, taylor)

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        return self.icdf(rand(self._extended_shape(sample_shape), dtype=self.probs.dtype))

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        return -_bce_with_logits(logits, value) + self._cont_bern_log_norm()

    def cdf(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        p = self._cut_probs()
        closed = (p.pow(value) * (1 - p).pow(1 - value) + p - 1) / (2 * p - 1)
        inside = where(self._outside_lims(), closed, value)
        return where(value <= 0, 0.0, where(value >= 1, 1.0, inside))

    def icdf(self, value: Tensor) -> Tensor:
        p = self._cut_probs()
        closed = ((-p + value * (2 * p - 1)).log1p() - (-p).log1p()) / -self._log_odds_gap(p)
        return where(self._outside_lims(), closed, value)

    def entropy(self) -> Tensor:
        log_p0, log_p1 = (-self.probs).log1p(), self.probs.log()
        return self.mean * (log_p0 - log_p1) - self._cont_bern_log_norm() - log_p0

    @property
    def _natural_params(self) -> tuple:
        return (self.logits,)

    def _log_normalizer(self, x: Tensor) -> Tensor:
        """The log normalizing constant as a function of the natural parameter ``x``
        (the logits); the Taylor expansion is used where ``x`` is within ``lims - 1/2`` of 0,
        as PyTorch compares it."""
        outside = (x <= self._lims[0] - 0.5) | (x > self._lims[1] - 0.5)
        cut = where(outside, x, self._lims[0] - 0.5)
        closed = cut.expm1().abs().log() - cut.abs().log()
        taylor = 0.5 * x + x.square() / 24.0 - x.pow(4) / 2880.0
        return where(outside, closed, taylor)

    _mean_carrier_measure = 0


def _as_tensor_like(value: Any, like: Tensor) -> Tensor:
    return value if isinstance(value, Tensor) else as_tensor(value, dtype=like.dtype)


class LogitRelaxedBernoulli(_BinaryParameters, Distribution):
    """The logit of a :class:`RelaxedBernoulli` sample: ``(logits + logistic noise) /
    temperature`` (Maddison et al., 2017).

    Args:
        temperature: the relaxation temperature (positive).
        probs: the probability of 1 of the Bernoulli being relaxed.
        logits: its log-odds (give exactly one of ``probs``, ``logits``).
        validate_args: see :class:`Distribution`.
    """

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.real

    def __init__(self, temperature: Any, probs: Any = None, logits: Any = None,
                 validate_args: Optional[bool] = None) -> None:
        batch_shape = _binary_parameters(self, probs, logits)
        self.temperature = _as_tensor_like(temperature, self._param)
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> "LogitRelaxedBernoulli":
        new = expand_parameters(self, LogitRelaxedBernoulli, batch_shape, _instance,
                                {"probs": (), "logits": ()})
        new._param = new.probs if "probs" in self.__dict__ else new.logits
        new.temperature = self.temperature
        return new

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        probs = clamp_probs(self.probs.expand(shape))
        u = clamp_probs(rand(shape, dtype=probs.dtype))
        noise = u.log() - (-u).log1p()
        return (noise + probs.log() - (-probs).log1p()) / self.temperature

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        diff = logits - value * self.temperature
        return self.temperature.log() + diff - 2 * softplus(diff)


class RelaxedBernoulli(TransformedDistribution):
    """A reparameterizable relaxation of the Bernoulli on ``(0, 1)``: the sigmoid of a
    :class:`LogitRelaxedBernoulli` sample; it concentrates on ``{0, 1}`` as the temperature
    goes to 0.

    Args:
        temperature: the relaxation temperature (positive).
        probs: the probability of 1 of the Bernoulli being relaxed.
        logits: its log-odds (give exactly one of ``probs``, ``logits``).
        validate_args: see :class:`Distribution`.

    Example:
        >>> d = RelaxedBernoulli(deepseek.tensor(0.5), probs=deepseek.tensor([0.3]))
        >>> d.rsample().shape
        deepseek.Size([1])
    """

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, temperature: Any, probs: Any = None, logits: Any = None,
                 validate_args: Optional[bool] = None) -> None:
        base = LogitRelaxedBernoulli(temperature, probs, logits, validate_args=validate_args)
        super().__init__(base, SigmoidTransform(), validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> "RelaxedBernoulli":
        new = self._get_checked_instance(RelaxedBernoulli, _instance)
        return super().expand(batch_shape, _instance=new)

    @property
    def temperature(self) -> Tensor:
        return self.base_dist.temperature

    @property
    def logits(self) -> Tensor:
        return self.base_dist.logits

    @property
    def probs(self) -> Tensor:
        return self.base_dist.probs


class ExpRelaxedCategorical(_OfCategorical, Distribution):
    """The log of a :class:`RelaxedOneHotCategorical` sample: ``log_softmax((logits + g) /
    temperature)`` for Gumbel noise ``g`` (Jang et al., 2017; Maddison et al., 2017).

    Args:
        temperature: the relaxation temperature (positive).
        probs: non-negative weights, shape ``batch_shape + (K,)``.
        logits: unnormalized log-probabilities (give exactly one of ``probs``, ``logits``).
        validate_args: see :class:`Distribution`.
    """

    arg_constraints = {"probs": constraints.simplex,
                       "logits": constraints.independent(constraints.real, 1)}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, temperature: Any, probs: Any = None, logits: Any = None,
                 validate_args: Optional[bool] = None) -> None:
        self._categorical = Categorical(probs, logits)
        param = self._categorical._param
        self.temperature = _as_tensor_like(temperature, param)
        super().__init__(param.shape[:-1], param.shape[-1:], validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> "ExpRelaxedCategorical":
        new = self._get_checked_instance(ExpRelaxedCategorical, _instance)
        batch_shape = Size(tuple(batch_shape))
        new.temperature = self.temperature
        new._categorical = self._categorical.expand(batch_shape)
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        u = clamp_probs(rand(shape, dtype=self.logits.dtype))
        gumbels = -(-u.log()).log()
        scores = (self.logits + gumbels) / self.temperature
        return scores - scores.logsumexp(-1, keepdim=True)

    def log_prob(self, value: Tensor) -> Tensor:
        k = self._categorical._num_events
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        log_scale = math.lgamma(k) + (k - 1) * self.temperature.log()
        score = logits - value * self.temperature
        score = (score - score.logsumexp(-1, keepdim=True)).sum(-1)
        return score + log_scale


class RelaxedOneHotCategorical(TransformedDistribution):
    """A reparameterizable relaxation of the one-hot categorical on the simplex (the
    Gumbel-softmax): the exp of an :class:`ExpRelaxedCategorical` sample.

    Args:
        temperature: the relaxation temperature (positive).
        probs: non-negative weights, shape ``batch_shape + (K,)``.
        logits: unnormalized log-probabilities (give exactly one of ``probs``, ``logits``).
        validate_args: see :class:`Distribution`.

    Example:
        >>> d = RelaxedOneHotCategorical(deepseek.tensor(0.5), deepseek.tensor([0.2, 0.8]))
        >>> float(d.rsample().sum())
        1.0
    """

    arg_constraints = {"probs": constraints.simplex,
                       "logits": constraints.independent(constraints.real, 1)}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, temperature: Any, probs: Any = None, logits: Any = None,
                 validate_args: Optional[bool] = None) -> None:
        base = ExpRelaxedCategorical(temperature, probs, logits, validate_args=validate_args)
        super().__init__(base, ExpTransform(), validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> "RelaxedOneHotCategorical":
        new = self._get_checked_instance(RelaxedOneHotCategorical, _instance)
        return super().expand(batch_shape, _instance=new)

    @property
    def temperature(self) -> Tensor:
        return self.base_dist.temperature

    @property
    def logits(self) -> Tensor:
        return self.base_dist.logits

    @property
    def probs(self) -> Tensor:
        return self.base_dist.probs
