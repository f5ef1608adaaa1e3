"""Count distributions built on the categorical, binomial, gamma and Poisson ones:
Multinomial and NegativeBinomial."""

from __future__ import annotations

import math
from typing import Any, Optional

from ..autograd.grad_mode import no_grad
from ..nn.functional import one_hot
from ..ops.elementwise import where
from ..random import poisson
from ..tensor import Size, Tensor
from . import constraints
from .continuous import expand_parameters
from .discrete import Binomial, Categorical, _BinaryParameters, _OfCategorical, _one_parameter
from .distribution import Distribution, _size
from .gamma import Gamma
from .utils import broadcast_all, softplus

__all__ = ["Multinomial", "NegativeBinomial"]


class Multinomial(_OfCategorical, Distribution):
    """Counts of each of ``K`` outcomes in ``total_count`` independent draws from
    ``Categorical(probs, logits)``.

    Args:
        total_count: the number of draws (an int; one for the whole batch).
        probs: non-negative weights, shape ``batch_shape + (K,)``.
        logits: unnormalized log-probabilities (give exactly one of ``probs``, ``logits``).
        validate_args: see :class:`Distribution`.

    Example:
        >>> Multinomial(3, deepseek.tensor([0.5, 0.5])).log_prob(deepseek.tensor([1.0, 2.0]))
        tensor(-0.9808)
    """

    arg_constraints = {"probs": constraints.simplex,
                       "logits": constraints.independent(constraints.real, 1)}

    def __init__(self, total_count: int = 1, probs: Any = None, logits: Any = None,
                 validate_args: Optional[bool] = None) -> None:
        if not isinstance(total_count, int):
            raise NotImplementedError("inhomogeneous total_count is not supported")
        self.total_count = total_count
        self._categorical = Categorical(probs=probs, logits=logits)
        self._binomial = Binomial(total_count, probs=self.probs, validate_args=False)
        param = self._categorical._param
        super().__init__(param.shape[:-1], param.shape[-1:], validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> "Multinomial":
        new = self._get_checked_instance(Multinomial, _instance)
        batch_shape = Size(tuple(batch_shape))
        new.total_count = self.total_count
        new._categorical = self._categorical.expand(batch_shape)
        new._binomial = self._binomial.expand(batch_shape + self.event_shape)
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @constraints.dependent_property(is_discrete=True, event_dim=1)
    def support(self) -> constraints.Constraint:
        return constraints.multinomial(self.total_count)

    @property
    def mean(self) -> Tensor:
        return self.probs * self.total_count

    @property
    def variance(self) -> Tensor:
        return self.total_count * self.probs * (1 - self.probs)

    def sample(self, sample_shape: Any = ()) -> Tensor:
        sample_shape = _size(sample_shape)
        with no_grad():
            draws = self._categorical.sample(Size((self.total_count,)) + sample_shape)
            counts = one_hot(draws, self._categorical._num_events).sum(0)
            return counts.to(self.probs.dtype)

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        log_factorial_n = (value.sum(-1) + 1).lgamma()
        log_factorial_xs = (value + 1).lgamma().sum(-1)
        # an impossible outcome that did not occur contributes 0, not 0 * -inf
        logits = where((value == 0) & (logits == -math.inf), 0.0, logits)
        return log_factorial_n - log_factorial_xs + (logits * value).sum(-1)

    def entropy(self) -> Tensor:
        """``n H(p) - log n! + sum_k E[log x_k!]``, the expectations over each count's
        binomial marginal."""
        n = self.total_count
        support = self._binomial.enumerate_support(expand=False)
        marginal = self._binomial.log_prob(support).exp()
        expected_log_factorials = (marginal * (support + 1).lgamma()).sum(0).sum(-1)
        return n * self._categorical.entropy() - math.lgamma(n + 1) + expected_log_factorials


class NegativeBinomial(_BinaryParameters, Distribution):
    """The number of successes before ``total_count`` failures, in trials that each succeed
    with ``probs`` (or ``sigmoid(logits)``).

    Args:
        total_count: the number of failures (non-negative; need not be an integer).
        probs: the success probability, in ``[0, 1)``.
        logits: its log-odds (give exactly one of ``probs``, ``logits``).
        validate_args: see :class:`Distribution`.

    Example:
        >>> NegativeBinomial(2.0, 0.5).log_prob(deepseek.tensor(1.0))
        tensor(-1.3863)
    """

    arg_constraints = {"total_count": constraints.greater_than_eq(0),
                       "probs": constraints.half_open_interval(0.0, 1.0),
                       "logits": constraints.real}
    support = constraints.nonnegative_integer

    def __init__(self, total_count: Any, probs: Any = None, logits: Any = None,
                 validate_args: Optional[bool] = None) -> None:
        _one_parameter(probs, logits)
        if probs is not None:
            self.total_count, self.probs = broadcast_all(total_count, probs)
            self.total_count = self.total_count.to(self.probs.dtype)
        else:
            self.total_count, self.logits = broadcast_all(total_count, logits)
            self.total_count = self.total_count.to(self.logits.dtype)
        self._param = self.probs if probs is not None else self.logits
        super().__init__(self._param.shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> "NegativeBinomial":
        new = expand_parameters(self, NegativeBinomial, batch_shape, _instance,
                                {"total_count": (), "probs": (), "logits": ()})
        new._param = new.probs if "probs" in self.__dict__ else new.logits
        return new

    @property
    def mean(self) -> Tensor:
        return self.total_count * self.logits.exp()

    @property
    def mode(self) -> Tensor:
        return ((self.total_count - 1) * self.logits.exp()).floor().clamp(min=0.0)

    @property
    def variance(self) -> Tensor:
        return self.mean / (-self.logits).sigmoid()

    def sample(self, sample_shape: Any = ()) -> Tensor:
        with no_grad():
            # a Poisson whose rate is gamma distributed
            rate = Gamma(self.total_count, (-self.logits).exp(), validate_args=False)
            return poisson(rate.sample(sample_shape).contiguous())

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        r, logits = self.total_count, self.logits
        log_unnormalized = -r * softplus(logits) - value * softplus(-logits)
        log_normalizer = (1 + value).lgamma() + r.lgamma() - (r + value).lgamma()
        # no failures needed and none seen: the empty outcome, certain
        log_normalizer = where(r + value == 0, 0.0, log_normalizer)
        return log_unnormalized - log_normalizer
