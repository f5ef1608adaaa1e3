"""``MixtureSameFamily``: a categorical mixture of components from one batched
distribution."""

from __future__ import annotations

from typing import Any, Optional

from ..autograd.grad_mode import no_grad
from ..ops.activation import log_softmax
from ..tensor import Size, Tensor
from . import constraints
from .discrete import Categorical
from .distribution import Distribution, _size

__all__ = ["MixtureSameFamily"]


class MixtureSameFamily(Distribution):
    """A mixture whose components are the rightmost batch dim of ``component_distribution``,
    weighted by ``mixture_distribution``.

    Args:
        mixture_distribution: a :class:`Categorical` over the ``k`` components, whose batch
            shape broadcasts with the components' batch shape less its last dim.
        component_distribution: batch shape ``batch_shape + (k,)``.
        validate_args: see :class:`Distribution`.

    Example:
        >>> from deepseek.distributions import Categorical, Normal
        >>> mix = MixtureSameFamily(Categorical(deepseek.ones(2)),
        ...                         Normal(deepseek.tensor([-1.0, 1.0]), 1.0))
        >>> mix.mean
        tensor(0.)
    """

    arg_constraints: dict = {}
    has_rsample = False

    def __init__(self, mixture_distribution: Categorical, component_distribution: Distribution,
                 validate_args: Optional[bool] = None) -> None:
        if not isinstance(mixture_distribution, Categorical):
            raise ValueError("The Mixture distribution needs to be an instance of "
                             "deepseek.distributions.Categorical")
        if not isinstance(component_distribution, Distribution):
            raise ValueError("The Component distribution needs to be an instance of "
                             "deepseek.distributions.Distribution")
        mixture_batch = mixture_distribution.batch_shape
        component_batch = component_distribution.batch_shape[:-1]
        for size1, size2 in zip(reversed(mixture_batch), reversed(component_batch)):
            if size1 != 1 and size2 != 1 and size1 != size2:
                raise ValueError(f"`mixture_distribution.batch_shape` ({mixture_batch}) is not "
                                 "compatible with `component_distribution.batch_shape`"
                                 f"({component_batch})")
        km = mixture_distribution.logits.shape[-1]
        kc = component_distribution.batch_shape[-1]
        if km != kc:
            raise ValueError(f"`mixture_distribution component` ({km}) does not equal "
                             f"`component_distribution.batch_shape[-1]` ({kc})")
        self._mixture_distribution = mixture_distribution
        self._component_distribution = component_distribution
        self._num_component = km
        self._event_ndims = len(component_distribution.event_shape)
        super().__init__(component_batch, component_distribution.event_shape,
                         validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> "MixtureSameFamily":
        new = self._get_checked_instance(MixtureSameFamily, _instance)
        batch_shape = Size(tuple(batch_shape))
        new._component_distribution = self._component_distribution.expand(
            batch_shape + (self._num_component,))
        new._mixture_distribution = self._mixture_distribution.expand(batch_shape)
        new._num_component = self._num_component
        new._event_ndims = self._event_ndims
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @constraints.dependent_property
    def support(self) -> constraints.Constraint:
        return constraints.MixtureSameFamilyConstraint(self._component_distribution.support)

    @property
    def mixture_distribution(self) -> Categorical:
        return self._mixture_distribution

    @property
    def component_distribution(self) -> Distribution:
        return self._component_distribution

    def _weights(self) -> Tensor:
        """The mixture probabilities, shaped to broadcast against a component statistic of
        shape ``batch_shape + (k,) + event_shape``."""
        probs = self._mixture_distribution.probs
        return probs.reshape(tuple(probs.shape) + (1,) * self._event_ndims)

    def _component_dim(self) -> int:
        return -1 - self._event_ndims

    def _pad(self, x: Tensor) -> Tensor:
        return x.unsqueeze(self._component_dim())

    @property
    def mean(self) -> Tensor:
        return (self._weights() * self._component_distribution.mean).sum(self._component_dim())

    @property
    def variance(self) -> Tensor:
        """The law of total variance: mean conditional variance plus variance of the
        conditional means."""
        weights, components = self._weights(), self._component_distribution
        dim = self._component_dim()
        conditional_variance = (weights * components.variance).sum(dim)
        spread = (weights * (components.mean - self._pad(self.mean)).square()).sum(dim)
        return conditional_variance + spread

    def cdf(self, x: Tensor) -> Tensor:
        x = self._pad(x)
        cdf_x = self._component_distribution.cdf(x)
        return (cdf_x * self._mixture_distribution.probs).sum(-1)

    def log_prob(self, x: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(x)
        log_prob_x = self._component_distribution.log_prob(self._pad(x))
        log_weights = log_softmax(self._mixture_distribution.logits, -1)
        return (log_prob_x + log_weights).logsumexp(-1)

    def sample(self, sample_shape: Any = ()) -> Tensor:
        sample_shape = _size(sample_shape)
        with no_grad():
            gather_dim = len(sample_shape) + len(self.batch_shape)
            event_shape = tuple(self.event_shape)
            which = self._mixture_distribution.sample(sample_shape)
            mix_shape = tuple(which.shape)
            components = self._component_distribution.sample(sample_shape)
            components = components.expand(tuple(sample_shape) + tuple(self.batch_shape)
                                           + (self._num_component,) + event_shape)
            index = which.reshape(mix_shape + (1,) * (len(event_shape) + 1))
            index = index.expand(tuple(sample_shape) + tuple(self.batch_shape) + (1,)
                                 + event_shape)
            return components.gather(gather_dim, index).squeeze(gather_dim)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(\n  {self._mixture_distribution},\n"
                f"  {self._component_distribution})")
