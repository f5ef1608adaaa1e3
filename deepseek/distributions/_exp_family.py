"""``ExponentialFamily``: the base of distributions with density
``exp(<t(x), theta> - F(theta) + k(x))``, whose entropy and same-family KL divergence follow
from the log normalizer ``F`` by autograd (Bregman divergences)."""

from __future__ import annotations

from typing import Any

from ..autograd import grad as _grad
from ..tensor import Tensor
from .distribution import Distribution

__all__ = ["ExponentialFamily"]


class ExponentialFamily(Distribution):
    r"""Base class of the distributions of an exponential family
    (``torch.distributions.ExponentialFamily``), whose density is

    .. math::

        p_F(x; \theta) = \exp(\langle t(x), \theta\rangle - F(\theta) + k(x))

    for natural parameters :math:`\theta`, sufficient statistic :math:`t(x)`, log normalizer
    :math:`F` and carrier measure :math:`k`. A subclass gives :attr:`_natural_params`,
    :meth:`_log_normalizer` and :attr:`_mean_carrier_measure`; :meth:`entropy` and the KL
    divergence between two members of the same family then come from differentiating ``F``
    (Nielsen & Nock, *Entropies and cross-entropies of exponential families*). Subclasses
    with a closed form override :meth:`entropy`; this one serves to check it.

    Example:
        >>> d = deepseek.distributions.Exponential(deepseek.tensor([0.5, 2.0]))
        >>> ExponentialFamily.entropy(d)
        tensor([1.6931, 0.3069], grad_fn=<SubBackward0>)
    """

    @property
    def _natural_params(self) -> tuple:
        """The natural parameters ``theta``, a tuple of tensors."""
        raise NotImplementedError(f"{type(self).__name__} does not define _natural_params")

    def _log_normalizer(self, *natural_params: Tensor) -> Tensor:
        """The log normalizer ``F(theta)``, one value per batch element."""
        raise NotImplementedError(f"{type(self).__name__} does not define _log_normalizer")

    @property
    def _mean_carrier_measure(self) -> Any:
        """``E[k(x)]``, the expected carrier measure, which the entropy needs."""
        raise NotImplementedError(f"{type(self).__name__} does not define "
                                  "_mean_carrier_measure, which the Bregman entropy needs")

    def entropy(self) -> Tensor:
        """The entropy ``F(theta) - <theta, grad F(theta)> - E[k(x)]``, one per batch element.

        As in PyTorch, ``theta`` is detached from the parameters before ``F`` is
        differentiated, so the result carries no gradient back to them.
        """
        result = -self._mean_carrier_measure
        natural_params = [theta.detach().requires_grad_() for theta in self._natural_params]
        log_normalizer = self._log_normalizer(*natural_params)
        gradients = _grad(log_normalizer.sum(), natural_params, create_graph=True)
        result = result + log_normalizer
        batch = tuple(self._batch_shape)
        for theta, g in zip(natural_params, gradients):
            result = result - (theta * g).reshape(batch + (-1,)).sum(-1)
        return result
