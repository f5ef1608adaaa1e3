"""``MultivariateNormal`` (parameterized by a covariance, a precision or a Cholesky factor)
and ``LowRankMultivariateNormal`` (a covariance of low rank plus diagonal)."""

from __future__ import annotations

import math
from typing import Any, Optional

from .. import linalg as _linalg
from .._creation import eye
from ..ops.movement import broadcast_shapes, broadcast_tensors
from ..random import randn
from ..tensor import Size, Tensor
from . import constraints
from .distribution import Distribution
from .utils import lazy_property

__all__ = ["LowRankMultivariateNormal", "MultivariateNormal"]


def _batch_mahalanobis(scale_tril: Tensor, x: Tensor) -> Tensor:
    """``x^T (L L^T)^{-1} x`` over the last dim, for ``L = scale_tril`` broadcast against
    ``x``'s leading dims."""
    batch = broadcast_shapes(tuple(scale_tril.shape[:-2]), tuple(x.shape[:-1]))
    n = x.shape[-1]
    factor = scale_tril.expand(tuple(batch) + (n, n))
    column = x.expand(tuple(batch) + (n,)).unsqueeze(-1)
    whitened = _linalg.solve_triangular(factor, column, upper=False)
    return whitened.squeeze(-1).square().sum(-1)


def _precision_to_scale_tril(precision: Tensor) -> Tensor:
    """The lower Cholesky factor of ``precision^{-1}``."""
    n = precision.shape[-1]
    # with P = U U^T for the lower factor U of P, the covariance is U^{-T} U^{-1}
    factor = _linalg.cholesky(precision)
    identity = eye(n, dtype=precision.dtype)
    inverse = _linalg.solve_triangular(factor, identity.expand(factor.shape), upper=False)
    return _linalg.cholesky(inverse.mT @ inverse)


class _CholeskyParameterized:
    """``scale_tril``, ``covariance_matrix`` and ``precision_matrix`` derived lazily from
    ``_unbroadcasted_scale_tril``, broadcast to ``_matrix_shape()`` (shared by the
    distributions parameterized by a covariance: MultivariateNormal and Wishart)."""

    _unbroadcasted_scale_tril: Tensor

    def _matrix_shape(self) -> tuple:
        raise NotImplementedError

    @lazy_property
    def scale_tril(self) -> Tensor:
        return self._unbroadcasted_scale_tril.expand(self._matrix_shape())

    @lazy_property
    def covariance_matrix(self) -> Tensor:
        factor = self._unbroadcasted_scale_tril
        return (factor @ factor.mT).expand(self._matrix_shape())

    @lazy_property
    def precision_matrix(self) -> Tensor:
        factor = self._unbroadcasted_scale_tril
        n = factor.shape[-1]
        identity = eye(n, dtype=factor.dtype).expand(factor.shape)
        inverse = _linalg.solve_triangular(factor, identity, upper=False)
        return (inverse.mT @ inverse).expand(self._matrix_shape())


class MultivariateNormal(_CholeskyParameterized, Distribution):
    """The multivariate normal distribution of mean ``loc``, parameterized by exactly one of
    ``covariance_matrix``, ``precision_matrix`` or ``scale_tril`` (the lower Cholesky factor
    of the covariance, the cheapest).

    Args:
        loc: the mean, shape ``batch_shape + (n,)``.
        covariance_matrix: positive definite, shape ``batch_shape + (n, n)``.
        precision_matrix: the inverse covariance, positive definite.
        scale_tril: lower triangular with a positive diagonal.
        validate_args: see :class:`Distribution`.

    Example:
        >>> d = MultivariateNormal(deepseek.zeros(2), covariance_matrix=deepseek.eye(2))
        >>> d.log_prob(deepseek.zeros(2))
        tensor(-1.8379)
    """

    arg_constraints = {"loc": constraints.real_vector,
                       "covariance_matrix": constraints.positive_definite,
                       "precision_matrix": constraints.positive_definite,
                       "scale_tril": constraints.lower_cholesky}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc: Tensor, covariance_matrix: Optional[Tensor] = None,
                 precision_matrix: Optional[Tensor] = None, scale_tril: Optional[Tensor] = None,
                 validate_args: Optional[bool] = None) -> None:
        if loc.dim() < 1:
            raise ValueError("loc must be at least one-dimensional.")
        given = [m is not None for m in (covariance_matrix, precision_matrix, scale_tril)]
        if sum(given) != 1:
            raise ValueError("Exactly one of covariance_matrix or precision_matrix or "
                             "scale_tril may be specified.")
        name, matrix = next((n, m) for n, m in (("scale_tril", scale_tril),
                                                ("covariance_matrix", covariance_matrix),
                                                ("precision_matrix", precision_matrix))
                            if m is not None)
        if matrix.dim() < 2:
            raise ValueError(f"{name} matrix must be at least two-dimensional, with optional "
                             "leading batch dimensions")
        batch_shape = Size(broadcast_shapes(tuple(matrix.shape[:-2]), tuple(loc.shape[:-1])))
        setattr(self, name, matrix.expand(tuple(batch_shape) + (-1, -1)))
        self.loc = loc.expand(tuple(batch_shape) + (-1,))
        super().__init__(batch_shape, self.loc.shape[-1:], validate_args=validate_args)
        if scale_tril is not None:
            self._unbroadcasted_scale_tril = scale_tril
        elif covariance_matrix is not None:
            self._unbroadcasted_scale_tril = _linalg.cholesky(covariance_matrix)
        else:
            self._unbroadcasted_scale_tril = _precision_to_scale_tril(precision_matrix)

    def expand(self, batch_shape: Any, _instance: Any = None) -> "MultivariateNormal":
        new = self._get_checked_instance(MultivariateNormal, _instance)
        batch_shape = Size(tuple(batch_shape))
        n = self.event_shape[0]
        new.loc = self.loc.expand(batch_shape + (n,))
        new._unbroadcasted_scale_tril = self._unbroadcasted_scale_tril
        for name in ("covariance_matrix", "scale_tril", "precision_matrix"):
            if name in self.__dict__:
                setattr(new, name, self.__dict__[name].expand(batch_shape + (n, n)))
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _matrix_shape(self) -> tuple:
        return tuple(self._batch_shape) + tuple(self._event_shape) * 2

    @property
    def mean(self) -> Tensor:
        return self.loc

    @property
    def mode(self) -> Tensor:
        return self.loc

    @property
    def variance(self) -> Tensor:
        variance = self._unbroadcasted_scale_tril.square().sum(-1)
        return variance.expand(tuple(self._batch_shape) + tuple(self._event_shape))

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        eps = randn(shape, dtype=self.loc.dtype)
        return self.loc + (self._unbroadcasted_scale_tril @ eps.unsqueeze(-1)).squeeze(-1)

    def _half_log_det(self) -> Tensor:
        return self._unbroadcasted_scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        n = self._event_shape[0]
        m = _batch_mahalanobis(self._unbroadcasted_scale_tril, value - self.loc)
        return -0.5 * (n * math.log(2 * math.pi) + m) - self._half_log_det()

    def entropy(self) -> Tensor:
        n = self._event_shape[0]
        result = 0.5 * n * (1.0 + math.log(2 * math.pi)) + self._half_log_det()
        return result.expand(tuple(self._batch_shape))


def _capacitance_tril(cov_factor: Tensor, cov_diag: Tensor) -> Tensor:
    """The lower Cholesky factor of ``I + W^T D^{-1} W`` (the capacitance of ``W W^T + D``
    in the Woodbury identity)."""
    m = cov_factor.shape[-1]
    wt_dinv = cov_factor.mT / cov_diag.unsqueeze(-2)
    capacitance = wt_dinv @ cov_factor + eye(m, dtype=cov_factor.dtype)
    return _linalg.cholesky(capacitance)


class LowRankMultivariateNormal(Distribution):
    """The multivariate normal of mean ``loc`` and covariance ``cov_factor @ cov_factor.mT +
    diag(cov_diag)``; densities cost ``O(n m^2)`` for a rank-``m`` factor, by the Woodbury
    identity and the matrix determinant lemma.

    Args:
        loc: the mean, shape ``batch_shape + (n,)``.
        cov_factor: the low-rank factor ``W``, shape ``batch_shape + (n, m)``.
        cov_diag: the diagonal ``D`` (positive), shape ``batch_shape + (n,)``.
        validate_args: see :class:`Distribution`.

    Example:
        >>> d = LowRankMultivariateNormal(deepseek.zeros(2), deepseek.zeros(2, 1),
        ...                               deepseek.ones(2))
        >>> d.log_prob(deepseek.zeros(2))
        tensor(-1.8379)
    """

    arg_constraints = {"loc": constraints.real_vector,
                       "cov_factor": constraints.independent(constraints.real, 2),
                       "cov_diag": constraints.independent(constraints.positive, 1)}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc: Tensor, cov_factor: Tensor, cov_diag: Tensor,
                 validate_args: Optional[bool] = None) -> None:
        if loc.dim() < 1:
            raise ValueError("loc must be at least one-dimensional.")
        event_shape = loc.shape[-1:]
        if cov_factor.dim() < 2:
            raise ValueError("cov_factor must be at least two-dimensional, with optional "
                             "leading batch dimensions")
        if cov_factor.shape[-2:-1] != event_shape:
            raise ValueError(f"cov_factor must be a batch of matrices with shape "
                             f"{event_shape[0]} x m")
        if cov_diag.shape[-1:] != event_shape:
            raise ValueError(f"cov_diag must be a batch of vectors with shape {event_shape}")
        try:
            loc_, self.cov_factor, cov_diag_ = broadcast_tensors(
                loc.unsqueeze(-1), cov_factor, cov_diag.unsqueeze(-1))
        except (RuntimeError, ValueError):
            raise ValueError(f"Incompatible batch shapes: loc {loc.shape}, cov_factor "
                             f"{cov_factor.shape}, cov_diag {cov_diag.shape}") from None
        self.loc = loc_[..., 0]
        self.cov_diag = cov_diag_[..., 0]
        self._unbroadcasted_cov_factor = cov_factor
        self._unbroadcasted_cov_diag = cov_diag
        super().__init__(loc_.shape[:-2], event_shape, validate_args=validate_args)
        self._capacitance_tril = _capacitance_tril(cov_factor, cov_diag)

    def expand(self, batch_shape: Any, _instance: Any = None) -> "LowRankMultivariateNormal":
        new = self._get_checked_instance(LowRankMultivariateNormal, _instance)
        batch_shape = Size(tuple(batch_shape))
        new.loc = self.loc.expand(batch_shape + self.event_shape)
        new.cov_diag = self.cov_diag.expand(batch_shape + self.event_shape)
        new.cov_factor = self.cov_factor.expand(batch_shape + self.cov_factor.shape[-2:])
        new._unbroadcasted_cov_factor = self._unbroadcasted_cov_factor
        new._unbroadcasted_cov_diag = self._unbroadcasted_cov_diag
        new._capacitance_tril = self._capacitance_tril
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _matrix_shape(self) -> tuple:
        return tuple(self._batch_shape) + tuple(self._event_shape) * 2

    @property
    def mean(self) -> Tensor:
        return self.loc

    @property
    def mode(self) -> Tensor:
        return self.loc

    @lazy_property
    def variance(self) -> Tensor:
        w, d = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag
        return (w.square().sum(-1) + d).expand(tuple(self._batch_shape)
                                               + tuple(self._event_shape))

    @lazy_property
    def scale_tril(self) -> Tensor:
        # sqrt(D) chol(I + D^-1/2 W W^T D^-1/2): the factor of W W^T + D, well conditioned
        w, d = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag
        n = self._event_shape[0]
        root = d.sqrt().unsqueeze(-1)
        scaled = w / root
        inner = scaled @ scaled.mT + eye(n, dtype=w.dtype)
        return (root * _linalg.cholesky(inner)).expand(self._matrix_shape())

    @lazy_property
    def covariance_matrix(self) -> Tensor:
        w, d = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag
        return (w @ w.mT + d.diag_embed()).expand(self._matrix_shape())

    @lazy_property
    def precision_matrix(self) -> Tensor:
        # Woodbury: D^-1 - D^-1 W (I + W^T D^-1 W)^-1 W^T D^-1
        w, d = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag
        wt_dinv = w.mT / d.unsqueeze(-2)
        factor = self._capacitance_tril
        batch = broadcast_shapes(tuple(factor.shape[:-2]), tuple(wt_dinv.shape[:-2]))
        a = _linalg.solve_triangular(factor.expand(tuple(batch) + tuple(factor.shape[-2:])),
                                     wt_dinv.expand(tuple(batch) + tuple(wt_dinv.shape[-2:])),
                                     upper=False)
        return (d.reciprocal().diag_embed() - a.mT @ a).expand(self._matrix_shape())

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        w = self._unbroadcasted_cov_factor
        eps_w = randn(tuple(shape[:-1]) + (w.shape[-1],), dtype=self.loc.dtype)
        eps_d = randn(shape, dtype=self.loc.dtype)
        low_rank = (w @ eps_w.unsqueeze(-1)).squeeze(-1)
        return self.loc + low_rank + self._unbroadcasted_cov_diag.sqrt() * eps_d

    def _log_det(self) -> Tensor:
        """``log det(W W^T + D) = log det(capacitance) + log det(D)``."""
        half_capacitance = self._capacitance_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)
        return 2 * half_capacitance + self._unbroadcasted_cov_diag.log().sum(-1)

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        w, d = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag
        diff = value - self.loc
        wt_dinv_x = ((w.mT / d.unsqueeze(-2)) @ diff.unsqueeze(-1)).squeeze(-1)
        mahalanobis = ((diff.square() / d).sum(-1)
                       - _batch_mahalanobis(self._capacitance_tril, wt_dinv_x))
        n = self._event_shape[0]
        return -0.5 * (n * math.log(2 * math.pi) + self._log_det() + mahalanobis)

    def entropy(self) -> Tensor:
        n = self._event_shape[0]
        result = 0.5 * (n * (1.0 + math.log(2 * math.pi)) + self._log_det())
        return result.expand(tuple(self._batch_shape))
