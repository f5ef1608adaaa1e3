"""``kl_divergence`` and ``register_kl``: closed-form KL divergences between pairs of
distribution types, found by the most specific registered pair (within one family, or across
families as ``-H(p)`` plus the cross-entropy ``H(p, q)``); two members of one exponential family
without a closed form fall back to the Bregman divergence of the log normalizer."""

from __future__ import annotations

import math
import warnings
from typing import Any, Callable

from .. import linalg as _linalg
from .._creation import full_like
from ..autograd import grad as _grad
from ..ops.elementwise import where, xlogy
from ..ops.movement import broadcast_shapes
from ..tensor import Tensor
from ._exp_family import ExponentialFamily
from .continuous import _EULER_GAMMA, Cauchy, Exponential, Gumbel, Laplace, Normal, Uniform
from .discrete import Bernoulli, Binomial, Categorical, Geometric, OneHotCategorical, Poisson
from .distribution import Distribution
from .gamma import Beta, Dirichlet, Gamma
from .independent import Independent
from .multivariate_normal import (LowRankMultivariateNormal, MultivariateNormal,
                                  _batch_mahalanobis)
from .relaxed import ContinuousBernoulli
from .transformed_distribution import HalfNormal, Pareto, TransformedDistribution
from .utils import softplus, sum_rightmost

__all__ = ["kl_divergence", "register_kl"]

_KL_REGISTRY: dict = {}  # (type_p, type_q) -> function, as registered
_KL_MEMOIZE: dict = {}  # (type_p, type_q) -> function, as looked up


def register_kl(type_p: type, type_q: type) -> Callable:
    """Decorator registering ``fn(p, q)`` as the KL divergence for a pair of types.

    Lookup picks the registered pair most specific for ``(type(p), type(q))``: the closest
    ancestors by method resolution order, and warns when two pairs tie.

    Example:
        >>> class Shifted(Normal):
        ...     pass
        >>> @register_kl(Shifted, Shifted)
        ... def _kl_shifted(p, q):
        ...     return kl_divergence(Normal(p.loc, p.scale), Normal(q.loc, q.scale))
        >>> kl_divergence(Shifted(0.0, 1.0), Shifted(1.0, 1.0))
        tensor(0.5000)
    """
    if not isinstance(type_p, type) or not issubclass(type_p, Distribution):
        raise TypeError(f"Expected type_p to be a Distribution subclass but got {type_p}")
    if not isinstance(type_q, type) or not issubclass(type_q, Distribution):
        raise TypeError(f"Expected type_q to be a Distribution subclass but got {type_q}")

    def decorator(fn: Callable) -> Callable:
        _KL_REGISTRY[type_p, type_q] = fn
        _KL_MEMOIZE.clear()
        return fn

    return decorator


def _dispatch(type_p: type, type_q: type) -> Any:
    """The function of the registered pair nearest to ``(type_p, type_q)`` by MRO distance,
    ``p``'s first; a different winner when ``q``'s distance is compared first is a tie."""
    ranked = [((type_p.__mro__.index(super_p), type_q.__mro__.index(super_q)), super_p, super_q)
              for super_p, super_q in _KL_REGISTRY
              if issubclass(type_p, super_p) and issubclass(type_q, super_q)]
    if not ranked:
        return NotImplemented
    _, left_p, left_q = min(ranked, key=lambda r: r[0])
    _, right_p, right_q = min(ranked, key=lambda r: r[0][::-1])
    left_fn = _KL_REGISTRY[left_p, left_q]
    if left_fn is not _KL_REGISTRY[right_p, right_q]:
        warnings.warn(f"Ambiguous kl_divergence({type_p.__name__}, {type_q.__name__}). Please "
                      f"register_kl({left_p.__name__}, {right_q.__name__})", RuntimeWarning,
                      stacklevel=3)
    return left_fn


def kl_divergence(p: Distribution, q: Distribution) -> Tensor:
    """``KL(p || q) = E_p[log p(x) - log q(x)]``, one value per batch element.

    Raises:
        NotImplementedError: no closed form is registered for the pair of types.
    """
    key = (type(p), type(q))
    fn = _KL_MEMOIZE.get(key)
    if fn is None:
        fn = _dispatch(*key)
        _KL_MEMOIZE[key] = fn
    if fn is NotImplemented:
        raise NotImplementedError(f"No KL(p || q) is implemented for p of type "
                                  f"{type(p).__name__} and q of type {type(q).__name__}")
    return fn(p, q)


def _infinite_where(condition: Tensor, value: Tensor) -> Tensor:
    return where(condition, math.inf, value)


def _infinite_like(tensor: Tensor) -> Tensor:
    """Infinite divergence throughout, for a ``q`` whose support misses part of ``p``'s for
    every parameter value; shaped like one of ``p``'s parameters, as PyTorch's is."""
    return full_like(tensor, math.inf)


@register_kl(Normal, Normal)
def _kl_normal_normal(p: Normal, q: Normal) -> Tensor:
    variance_ratio = (p.scale / q.scale).square()
    t1 = ((p.loc - q.loc) / q.scale).square()
    return 0.5 * (variance_ratio + t1 - 1 - variance_ratio.log())


@register_kl(Bernoulli, Bernoulli)
def _kl_bernoulli_bernoulli(p: Bernoulli, q: Bernoulli) -> Tensor:
    # log p - log q = softplus(-q.logits) - softplus(-p.logits), and likewise for 1 - p
    t1 = p.probs * (softplus(-q.logits) - softplus(-p.logits))
    t1 = where(p.probs == 0, 0.0, _infinite_where(q.probs == 0, t1))
    t2 = (1 - p.probs) * (softplus(q.logits) - softplus(p.logits))
    t2 = where(p.probs == 1, 0.0, _infinite_where(q.probs == 1, t2))
    return t1 + t2


@register_kl(Categorical, Categorical)
def _kl_categorical_categorical(p: Categorical, q: Categorical) -> Tensor:
    t = p.probs * (p.logits - q.logits)
    t = where(p.probs == 0, 0.0, _infinite_where(q.probs == 0, t))
    return t.sum(-1)


@register_kl(OneHotCategorical, OneHotCategorical)
def _kl_onehotcategorical_onehotcategorical(p: OneHotCategorical,
                                            q: OneHotCategorical) -> Tensor:
    return _kl_categorical_categorical(p._categorical, q._categorical)


def _log_beta(a: Tensor, b: Tensor) -> Tensor:
    return a.lgamma() + b.lgamma() - (a + b).lgamma()


@register_kl(Beta, Beta)
def _kl_beta_beta(p: Beta, q: Beta) -> Tensor:
    a1, b1 = p.concentration1, p.concentration0
    a2, b2 = q.concentration1, q.concentration0
    total = (a1 + b1).digamma()
    return (_log_beta(a2, b2) - _log_beta(a1, b1) + (a1 - a2) * a1.digamma()
            + (b1 - b2) * b1.digamma() + (a2 - a1 + b2 - b1) * total)


@register_kl(Gamma, Gamma)
def _kl_gamma_gamma(p: Gamma, q: Gamma) -> Tensor:
    a1, r1 = p.concentration, p.rate
    a2, r2 = q.concentration, q.rate
    return ((a1 - a2) * a1.digamma() - a1.lgamma() + a2.lgamma()
            + a2 * (r1.log() - r2.log()) + a1 * (r2 / r1 - 1))


@register_kl(Dirichlet, Dirichlet)
def _kl_dirichlet_dirichlet(p: Dirichlet, q: Dirichlet) -> Tensor:
    a, b = p.concentration, q.concentration
    total_a, total_b = a.sum(-1), b.sum(-1)
    log_normalizers = total_a.lgamma() - total_b.lgamma() - (a.lgamma() - b.lgamma()).sum(-1)
    expected_logs = a.digamma() - total_a.digamma().unsqueeze(-1)
    return log_normalizers + ((a - b) * expected_logs).sum(-1)


@register_kl(Exponential, Exponential)
def _kl_exponential_exponential(p: Exponential, q: Exponential) -> Tensor:
    ratio = q.rate / p.rate
    return ratio - ratio.log() - 1


@register_kl(Uniform, Uniform)
def _kl_uniform_uniform(p: Uniform, q: Uniform) -> Tensor:
    result = ((q.high - q.low) / (p.high - p.low)).log()
    return _infinite_where((q.low > p.low) | (q.high < p.high), result)


@register_kl(Laplace, Laplace)
def _kl_laplace_laplace(p: Laplace, q: Laplace) -> Tensor:
    scale_ratio = p.scale / q.scale
    distance = (p.loc - q.loc).abs()
    return (-scale_ratio.log() + distance / q.scale
            + scale_ratio * (-distance / p.scale).exp() - 1)


@register_kl(Poisson, Poisson)
def _kl_poisson_poisson(p: Poisson, q: Poisson) -> Tensor:
    return p.rate * (p.rate.log() - q.rate.log()) - (p.rate - q.rate)


@register_kl(Geometric, Geometric)
def _kl_geometric_geometric(p: Geometric, q: Geometric) -> Tensor:
    return -p.entropy() - (-q.probs).log1p() / p.probs - q.logits


@register_kl(MultivariateNormal, MultivariateNormal)
def _kl_mvn_mvn(p: MultivariateNormal, q: MultivariateNormal) -> Tensor:
    if p.event_shape != q.event_shape:
        raise ValueError("KL-divergence between two Multivariate Normals with different event "
                         "shapes cannot be computed")
    n = p.event_shape[0]
    lp, lq = p._unbroadcasted_scale_tril, q._unbroadcasted_scale_tril
    half_log_det = (lq.diagonal(dim1=-2, dim2=-1).log().sum(-1)
                    - lp.diagonal(dim1=-2, dim2=-1).log().sum(-1))
    batch = tuple(broadcast_shapes(tuple(lq.shape[:-2]), tuple(lp.shape[:-2])))
    # tr(Sq^-1 Sp) = ||Lq^-1 Lp||_F^2
    whitened = _linalg.solve_triangular(lq.expand(batch + (n, n)), lp.expand(batch + (n, n)),
                                        upper=False)
    trace = sum_rightmost(whitened.square(), 2)
    mahalanobis = _batch_mahalanobis(lq, q.loc - p.loc)
    return half_log_det + 0.5 * (trace + mahalanobis - n)


@register_kl(Independent, Independent)
def _kl_independent_independent(p: Independent, q: Independent) -> Tensor:
    if p.reinterpreted_batch_ndims != q.reinterpreted_batch_ndims:
        raise NotImplementedError
    result = kl_divergence(p.base_dist, q.base_dist)
    return sum_rightmost(result, p.reinterpreted_batch_ndims)


@register_kl(TransformedDistribution, TransformedDistribution)
def _kl_transformed_transformed(p: TransformedDistribution,
                                q: TransformedDistribution) -> Tensor:
    if p.transforms != q.transforms:
        raise NotImplementedError
    if p.event_shape != q.event_shape:
        raise NotImplementedError
    return kl_divergence(p.base_dist, q.base_dist)


@register_kl(Binomial, Binomial)
def _kl_binomial_binomial(p: Binomial, q: Binomial) -> Tensor:
    if bool((p.total_count < q.total_count).any()):
        raise NotImplementedError("KL between Binomials where q.total_count > p.total_count is "
                                  "not implemented")
    n = p.total_count
    t1 = n * p.probs * (softplus(-q.logits) - softplus(-p.logits))
    t2 = n * (1 - p.probs) * (softplus(q.logits) - softplus(p.logits))
    return _infinite_where(p.total_count > q.total_count, t1 + t2)


@register_kl(HalfNormal, HalfNormal)
def _kl_halfnormal_halfnormal(p: HalfNormal, q: HalfNormal) -> Tensor:
    return _kl_normal_normal(p.base_dist, q.base_dist)


@register_kl(Cauchy, Cauchy)
def _kl_cauchy_cauchy(p: Cauchy, q: Cauchy) -> Tensor:
    spread = (p.scale + q.scale).square() + (p.loc - q.loc).square()
    return (spread / (4 * p.scale * q.scale)).log()


@register_kl(Gumbel, Gumbel)
def _kl_gumbel_gumbel(p: Gumbel, q: Gumbel) -> Tensor:
    ratio = p.scale / q.scale
    shift = (p.loc - q.loc) / q.scale
    # E_p[exp(-(x - q.loc) / q.scale)] = Gamma(1 + ratio) exp(-shift)
    expected_exp = ((1 + ratio).lgamma() - shift).exp()
    return -ratio.log() + shift + ratio * _EULER_GAMMA + expected_exp - (1 + _EULER_GAMMA)


@register_kl(Pareto, Pareto)
def _kl_pareto_pareto(p: Pareto, q: Pareto) -> Tensor:
    # E_p[log x] = log p.scale + 1 / p.alpha
    result = ((p.alpha / q.alpha).log() + q.alpha * (p.scale / q.scale).log()
              + q.alpha / p.alpha - 1)
    return _infinite_where(p.scale < q.scale, result)


@register_kl(ContinuousBernoulli, ContinuousBernoulli)
def _kl_continuous_bernoulli_continuous_bernoulli(p: ContinuousBernoulli,
                                                  q: ContinuousBernoulli) -> Tensor:
    t1 = p.mean * (p.logits - q.logits)
    t2 = (-p.probs).log1p() - (-q.probs).log1p()
    return t1 + t2 + p._cont_bern_log_norm() - q._cont_bern_log_norm()


def _as_multivariate_normal(d: Any) -> MultivariateNormal:
    return MultivariateNormal(d.loc, scale_tril=d.scale_tril, validate_args=False)


@register_kl(LowRankMultivariateNormal, LowRankMultivariateNormal)
@register_kl(LowRankMultivariateNormal, MultivariateNormal)
@register_kl(MultivariateNormal, LowRankMultivariateNormal)
def _kl_lowrank_mvn(p: Any, q: Any) -> Tensor:
    """Through the dense Cholesky factors: ``O(n^3)``, as the Woodbury form saves little
    once both covariances enter the trace term."""
    if p.event_shape != q.event_shape:
        raise ValueError("KL-divergence between two (Low Rank) Multivariate Normals with "
                         "different event shapes cannot be computed")
    return _kl_mvn_mvn(_as_multivariate_normal(p), _as_multivariate_normal(q))


# Pairs of different families: KL(p || q) = H(p, q) - H(p), the cross-entropy
# H(p, q) = -E_p[log q(x)] written from the moments of p that q's log-density needs.


def _normal_cross_entropy(mean: Tensor, variance: Tensor, q: Normal) -> Tensor:
    """``-E_p[log q(x)]`` from ``E_p[x]`` and ``Var_p[x]``."""
    squared_distance = variance + (mean - q.loc).square()
    return 0.5 * math.log(2 * math.pi) + q.scale.log() + squared_distance / (2 * q.scale.square())


def _exponential_cross_entropy(mean: Tensor, q: Exponential) -> Tensor:
    """``-E_p[log q(x)]`` from ``E_p[x]``, for ``p`` on the nonnegative reals."""
    return q.rate * mean - q.rate.log()


def _gamma_cross_entropy(mean: Tensor, mean_log: Tensor, q: Gamma) -> Tensor:
    """``-E_p[log q(x)]`` from ``E_p[x]`` and ``E_p[log x]``, for ``p`` on the positive reals."""
    a, r = q.concentration, q.rate
    return a.lgamma() - a * r.log() - (a - 1) * mean_log + r * mean


def _beta_cross_entropy(mean_log: Tensor, mean_log1m: Tensor, q: Beta) -> Tensor:
    """``-E_p[log q(x)]`` from ``E_p[log x]`` and ``E_p[log(1 - x)]``, for ``p`` on ``[0, 1]``."""
    a, b = q.concentration1, q.concentration0
    return _log_beta(a, b) - (a - 1) * mean_log - (b - 1) * mean_log1m


def _continuous_bernoulli_cross_entropy(mean: Tensor, q: ContinuousBernoulli) -> Tensor:
    """``-E_p[log q(x)]`` from ``E_p[x]``, for ``p`` on ``[0, 1]``: ``log q(x)`` is
    ``x * logits + log(1 - probs) + log C``."""
    return -(mean * q.logits + (-q.probs).log1p() + q._cont_bern_log_norm())


def _gumbel_cross_entropy(mean: Tensor, log_mean_exp: Tensor, q: Gumbel) -> Tensor:
    """``-E_p[log q(x)]`` from ``E_p[x]`` and ``log E_p[exp(-(x - q.loc) / q.scale)]``."""
    return q.scale.log() + (mean - q.loc) / q.scale + log_mean_exp.exp()


def _pareto_cross_entropy(mean_log: Tensor, q: Pareto) -> Tensor:
    """``-E_p[log q(x)]`` from ``E_p[log x]``, for ``p`` on ``[q.scale, inf)``."""
    return (q.alpha + 1) * mean_log - q.alpha.log() - q.alpha * q.scale.log()


def _uniform_mean_log(low: Tensor, high: Tensor) -> Tensor:
    """``E[log x]`` for ``x ~ Uniform(low, high)``, ``0 <= low``: ``[x log x - x] / width``
    (``xlogy`` keeps ``low = 0`` finite)."""
    return (xlogy(high, high) - xlogy(low, low)) / (high - low) - 1


def _uniform_bounds_inside(p: Uniform, infinite: Tensor, low: float, high: float) -> tuple:
    """``p``'s bounds, ``[low, high]`` instead where the divergence is infinite anyway: keeps
    ``x log x`` off negative bounds there, whose NaN gradient (times the zero ``where`` sends
    back) would poison the gradients of parameters shared with finite entries."""
    return where(infinite, low, p.low), where(infinite, high, p.high)


def _beta_mean_log(p: Beta) -> Tensor:
    return p.concentration1.digamma() - (p.concentration1 + p.concentration0).digamma()


@register_kl(Bernoulli, Poisson)
def _kl_bernoulli_poisson(p: Bernoulli, q: Poisson) -> Tensor:
    # log q(x) = x log rate - rate for x in {0, 1}
    return -p.entropy() + q.rate - p.probs * q.rate.log()


@register_kl(Beta, ContinuousBernoulli)
def _kl_beta_continuous_bernoulli(p: Beta, q: ContinuousBernoulli) -> Tensor:
    return -p.entropy() + _continuous_bernoulli_cross_entropy(p.mean, q)


@register_kl(Beta, Exponential)
def _kl_beta_exponential(p: Beta, q: Exponential) -> Tensor:
    return -p.entropy() + _exponential_cross_entropy(p.mean, q)


@register_kl(Beta, Gamma)
def _kl_beta_gamma(p: Beta, q: Gamma) -> Tensor:
    return -p.entropy() + _gamma_cross_entropy(p.mean, _beta_mean_log(p), q)


@register_kl(Beta, Normal)
def _kl_beta_normal(p: Beta, q: Normal) -> Tensor:
    return -p.entropy() + _normal_cross_entropy(p.mean, p.variance, q)


@register_kl(Beta, Uniform)
def _kl_beta_uniform(p: Beta, q: Uniform) -> Tensor:
    result = -p.entropy() + (q.high - q.low).log()
    return _infinite_where((q.low > 0) | (q.high < 1), result)


@register_kl(ContinuousBernoulli, Exponential)
def _kl_continuous_bernoulli_exponential(p: ContinuousBernoulli, q: Exponential) -> Tensor:
    return -p.entropy() + _exponential_cross_entropy(p.mean, q)


@register_kl(ContinuousBernoulli, Normal)
def _kl_continuous_bernoulli_normal(p: ContinuousBernoulli, q: Normal) -> Tensor:
    return -p.entropy() + _normal_cross_entropy(p.mean, p.variance, q)


@register_kl(ContinuousBernoulli, Uniform)
def _kl_continuous_bernoulli_uniform(p: ContinuousBernoulli, q: Uniform) -> Tensor:
    # strict, unlike PyTorch's (which is infinite for q = Uniform(0, 1), covering [0, 1])
    result = -p.entropy() + (q.high - q.low).log()
    return _infinite_where((q.low > 0) | (q.high < 1), result)


@register_kl(Exponential, Gamma)
def _kl_exponential_gamma(p: Exponential, q: Gamma) -> Tensor:
    # E_p[log x] = -(gamma + log rate)
    mean_log = -(_EULER_GAMMA + p.rate.log())
    return -p.entropy() + _gamma_cross_entropy(p.rate.reciprocal(), mean_log, q)


@register_kl(Exponential, Gumbel)
def _kl_exponential_gumbel(p: Exponential, q: Gumbel) -> Tensor:
    # E_p[exp(-x / s)] = rate / (rate + 1 / s)
    log_mean_exp = q.loc / q.scale - (p.rate * q.scale).reciprocal().log1p()
    return -p.entropy() + _gumbel_cross_entropy(p.rate.reciprocal(), log_mean_exp, q)


@register_kl(Exponential, Normal)
def _kl_exponential_normal(p: Exponential, q: Normal) -> Tensor:
    mean = p.rate.reciprocal()
    return -p.entropy() + _normal_cross_entropy(mean, mean.square(), q)


@register_kl(Gamma, Exponential)
def _kl_gamma_exponential(p: Gamma, q: Exponential) -> Tensor:
    return -p.entropy() + _exponential_cross_entropy(p.mean, q)


@register_kl(Gamma, Gumbel)
def _kl_gamma_gumbel(p: Gamma, q: Gumbel) -> Tensor:
    # E_p[exp(-x / s)] = (1 + 1 / (rate s))^-concentration
    log_mean_exp = (q.loc / q.scale
                    - p.concentration * (p.rate * q.scale).reciprocal().log1p())
    return -p.entropy() + _gumbel_cross_entropy(p.mean, log_mean_exp, q)


@register_kl(Gamma, Normal)
def _kl_gamma_normal(p: Gamma, q: Normal) -> Tensor:
    return -p.entropy() + _normal_cross_entropy(p.mean, p.variance, q)


@register_kl(Gumbel, Normal)
def _kl_gumbel_normal(p: Gumbel, q: Normal) -> Tensor:
    return -p.entropy() + _normal_cross_entropy(p.mean, p.variance, q)


@register_kl(Laplace, Normal)
def _kl_laplace_normal(p: Laplace, q: Normal) -> Tensor:
    return -p.entropy() + _normal_cross_entropy(p.mean, p.variance, q)


@register_kl(Normal, Gumbel)
def _kl_normal_gumbel(p: Normal, q: Gumbel) -> Tensor:
    # log E_p[exp(-(x - q.loc) / s)], the normal's moment generating function at -1 / s
    log_mean_exp = (q.loc - p.loc) / q.scale + 0.5 * (p.scale / q.scale).square()
    return -p.entropy() + _gumbel_cross_entropy(p.loc, log_mean_exp, q)


@register_kl(Normal, Laplace)
def _kl_normal_laplace(p: Normal, q: Laplace) -> Tensor:
    # E_p|x - q.loc|, the mean of a folded normal
    distance = p.loc - q.loc
    mean_abs = (math.sqrt(2 / math.pi) * p.scale * (-0.5 * (distance / p.scale).square()).exp()
                + distance * (distance / (math.sqrt(2) * p.scale)).erf())
    return -p.entropy() + (2 * q.scale).log() + mean_abs / q.scale


def _pareto_mean(p: Pareto) -> Tensor:
    # unclamped (unlike Pareto.mean): finite where alpha < 1, so that the masked entries of a
    # divergence infinite there get zero gradients
    return p.alpha * p.scale / (p.alpha - 1)


@register_kl(Pareto, Exponential)
def _kl_pareto_exponential(p: Pareto, q: Exponential) -> Tensor:
    result = -p.entropy() + _exponential_cross_entropy(_pareto_mean(p), q)
    return _infinite_where(p.alpha <= 1, result)


@register_kl(Pareto, Gamma)
def _kl_pareto_gamma(p: Pareto, q: Gamma) -> Tensor:
    mean_log = p.scale.log() + p.alpha.reciprocal()
    result = -p.entropy() + _gamma_cross_entropy(_pareto_mean(p), mean_log, q)
    return _infinite_where(p.alpha <= 1, result)


@register_kl(Pareto, Normal)
def _kl_pareto_normal(p: Pareto, q: Normal) -> Tensor:
    variance = p.alpha * (p.scale / (p.alpha - 1)).square() / (p.alpha - 2)
    result = -p.entropy() + _normal_cross_entropy(_pareto_mean(p), variance, q)
    return _infinite_where(p.alpha <= 2, result)


@register_kl(Uniform, Beta)
def _kl_uniform_beta(p: Uniform, q: Beta) -> Tensor:
    infinite = (p.low < 0) | (p.high > 1)
    low, high = _uniform_bounds_inside(p, infinite, 0.25, 0.75)
    mean_log = _uniform_mean_log(low, high)
    mean_log1m = _uniform_mean_log(1 - high, 1 - low)
    result = -p.entropy() + _beta_cross_entropy(mean_log, mean_log1m, q)
    return _infinite_where(infinite, result)


@register_kl(Uniform, ContinuousBernoulli)
def _kl_uniform_continuous_bernoulli(p: Uniform, q: ContinuousBernoulli) -> Tensor:
    # strict, unlike PyTorch's (which is infinite for p = Uniform(0, 1), inside [0, 1])
    result = -p.entropy() + _continuous_bernoulli_cross_entropy(p.mean, q)
    return _infinite_where((p.low < 0) | (p.high > 1), result)


@register_kl(Uniform, Exponential)
def _kl_uniform_exponential(p: Uniform, q: Exponential) -> Tensor:
    result = -p.entropy() + _exponential_cross_entropy(p.mean, q)
    return _infinite_where(p.low < 0, result)


@register_kl(Uniform, Gamma)
def _kl_uniform_gamma(p: Uniform, q: Gamma) -> Tensor:
    infinite = p.low < 0
    mean_log = _uniform_mean_log(*_uniform_bounds_inside(p, infinite, 1.0, 2.0))
    result = -p.entropy() + _gamma_cross_entropy(p.mean, mean_log, q)
    return _infinite_where(infinite, result)


@register_kl(Uniform, Gumbel)
def _kl_uniform_gumbel(p: Uniform, q: Gumbel) -> Tensor:
    # E_p[exp(-z)] = s / width * (exp(-z_low) - exp(-z_high)), z = (x - q.loc) / s
    width = p.high - p.low
    log_mean_exp = ((q.scale / width).log() - (p.low - q.loc) / q.scale
                    + (-(-width / q.scale).expm1()).log())
    return -p.entropy() + _gumbel_cross_entropy(p.mean, log_mean_exp, q)


@register_kl(Uniform, Normal)
def _kl_uniform_normal(p: Uniform, q: Normal) -> Tensor:
    return -p.entropy() + _normal_cross_entropy(p.mean, p.variance, q)


@register_kl(Uniform, Pareto)
def _kl_uniform_pareto(p: Uniform, q: Pareto) -> Tensor:
    infinite = p.low < q.scale
    mean_log = _uniform_mean_log(*_uniform_bounds_inside(p, infinite, 1.0, 2.0))
    result = -p.entropy() + _pareto_cross_entropy(mean_log, q)
    return _infinite_where(infinite, result)


# q's support misses part of p's whatever the parameters: a bounded q against an unbounded p,
# a q on [scale, inf) against a p reaching down to 0, a q on {0, ..., n} against a Poisson.


@register_kl(Beta, Pareto)
def _kl_beta_infinity(p: Beta, q: Distribution) -> Tensor:
    return _infinite_like(p.concentration1)


@register_kl(ContinuousBernoulli, Pareto)
def _kl_continuous_bernoulli_infinity(p: ContinuousBernoulli, q: Distribution) -> Tensor:
    return _infinite_like(p.probs)


@register_kl(Exponential, Beta)
@register_kl(Exponential, ContinuousBernoulli)
@register_kl(Exponential, Pareto)
@register_kl(Exponential, Uniform)
def _kl_exponential_infinity(p: Exponential, q: Distribution) -> Tensor:
    return _infinite_like(p.rate)


@register_kl(Gamma, Beta)
@register_kl(Gamma, ContinuousBernoulli)
@register_kl(Gamma, Pareto)
@register_kl(Gamma, Uniform)
def _kl_gamma_infinity(p: Gamma, q: Distribution) -> Tensor:
    return _infinite_like(p.concentration)


@register_kl(Gumbel, Beta)
@register_kl(Gumbel, ContinuousBernoulli)
@register_kl(Gumbel, Exponential)
@register_kl(Gumbel, Gamma)
@register_kl(Gumbel, Pareto)
@register_kl(Gumbel, Uniform)
@register_kl(Laplace, Beta)
@register_kl(Laplace, ContinuousBernoulli)
@register_kl(Laplace, Exponential)
@register_kl(Laplace, Gamma)
@register_kl(Laplace, Pareto)
@register_kl(Laplace, Uniform)
@register_kl(Normal, Beta)
@register_kl(Normal, ContinuousBernoulli)
@register_kl(Normal, Exponential)
@register_kl(Normal, Gamma)
@register_kl(Normal, Pareto)
@register_kl(Normal, Uniform)
def _kl_real_line_infinity(p: Any, q: Distribution) -> Tensor:
    return _infinite_like(p.loc)


@register_kl(Pareto, Beta)
@register_kl(Pareto, ContinuousBernoulli)
@register_kl(Pareto, Uniform)
def _kl_pareto_infinity(p: Pareto, q: Distribution) -> Tensor:
    return _infinite_like(p.scale)


@register_kl(Poisson, Bernoulli)
@register_kl(Poisson, Binomial)
def _kl_poisson_infinity(p: Poisson, q: Distribution) -> Tensor:
    return _infinite_like(p.rate)


@register_kl(ExponentialFamily, ExponentialFamily)
def _kl_expfamily_expfamily(p: ExponentialFamily, q: ExponentialFamily) -> Tensor:
    """``F(theta_q) - F(theta_p) - <theta_q - theta_p, grad F(theta_p)>``, the Bregman
    divergence of the log normalizer ``F``; ``grad F`` by autograd at ``theta_p`` detached, so
    that (as in PyTorch) gradients reach ``q``'s parameters only."""
    if type(p) is not type(q):
        raise NotImplementedError(
            f"No KL(p || q) is implemented for p of type {type(p).__name__} and q of type "
            f"{type(q).__name__}: the cross KL-divergence between different exponential "
            "families cannot be computed using Bregman divergences")
    p_params = [theta.detach().requires_grad_() for theta in p._natural_params]
    q_params = q._natural_params
    log_normalizer = p._log_normalizer(*p_params)
    gradients = _grad(log_normalizer.sum(), p_params, create_graph=True)
    result = q._log_normalizer(*q_params) - log_normalizer
    batch_ndim = len(p.batch_shape)
    for p_theta, q_theta, g in zip(p_params, q_params, gradients):
        # each term is summed over its parameter's own dims past the batch (PyTorch sums the
        # event dims, which for a batched Wishart's df adds up the whole batch)
        term = (q_theta - p_theta) * g
        result = result - sum_rightmost(term, p_theta.dim() - batch_ndim)
    return result
