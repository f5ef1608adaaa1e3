"""Distributions over matrices: Wishart (positive definite) and LKJCholesky (Cholesky factors
of correlation matrices)."""

from __future__ import annotations

import math
import numbers
from typing import Any, Optional

from .. import linalg as _linalg
from .._creation import arange, as_tensor, ones, zeros
from ..autograd.grad_mode import no_grad
from ..ops.elementwise import where
from ..ops.movement import broadcast_shapes, cat
from ..random import randn
from ..tensor import Size, Tensor
from . import _sampling, constraints
from ._exp_family import ExponentialFamily
from .continuous import expand_parameters
from .distribution import Distribution
from .gamma import Beta
from .multivariate_normal import _CholeskyParameterized, _precision_to_scale_tril
from .utils import broadcast_all

__all__ = ["LKJCholesky", "Wishart"]


def _mvdigamma(a: Tensor, p: int) -> Tensor:
    """The multivariate digamma ``sum_{i < p} digamma(a - i / 2)``."""
    offsets = arange(p, dtype=a.dtype) / 2
    return (a.unsqueeze(-1) - offsets).digamma().sum(-1)


class Wishart(_CholeskyParameterized, ExponentialFamily):
    """The Wishart distribution over ``p x p`` positive definite matrices: the scatter matrix
    ``sum_i x_i x_i^T`` of ``df`` draws ``x_i ~ MultivariateNormal(0, covariance_matrix)``
    (for integer ``df``). Parameterized by ``df`` and exactly one of ``covariance_matrix``,
    ``precision_matrix`` or ``scale_tril``; samples come from the Bartlett decomposition.

    Args:
        df: the degrees of freedom, greater than ``p - 1``.
        covariance_matrix: the scale matrix, positive definite, ``batch_shape + (p, p)``.
        precision_matrix: its inverse.
        scale_tril: its lower Cholesky factor.
        validate_args: see :class:`Distribution`.

    Example:
        >>> Wishart(deepseek.tensor(3.0), deepseek.eye(2)).mean
        tensor([[3., 0.],
                [0., 3.]])
    """

    support = constraints.positive_definite
    has_rsample = True

    def __init__(self, df: Any, covariance_matrix: Optional[Tensor] = None,
                 precision_matrix: Optional[Tensor] = None, scale_tril: Optional[Tensor] = None,
                 validate_args: Optional[bool] = None) -> None:
        given = [m is not None for m in (covariance_matrix, precision_matrix, scale_tril)]
        if sum(given) != 1:
            raise AssertionError("Exactly one of covariance_matrix or precision_matrix or "
                                 "scale_tril may be specified.")
        name, matrix = next((n, m) for n, m in (("scale_tril", scale_tril),
                                                ("covariance_matrix", covariance_matrix),
                                                ("precision_matrix", precision_matrix))
                            if m is not None)
        if matrix.dim() < 2:
            raise ValueError(f"{name} must be at least two-dimensional, with optional leading "
                             "batch dimensions")
        if isinstance(df, numbers.Number):
            df = as_tensor(df, dtype=matrix.dtype)
            batch_shape = Size(matrix.shape[:-2])
        else:
            batch_shape = Size(broadcast_shapes(tuple(matrix.shape[:-2]), tuple(df.shape)))
        event_shape = Size(matrix.shape[-2:])
        p = event_shape[-1]
        setattr(self, name, matrix.expand(tuple(batch_shape) + (-1, -1)))
        self.df = df.expand(batch_shape)
        if bool(self.df.le(p - 1).any()):
            raise ValueError(f"Value of df={df} expected to be greater than ndim - 1 = {p - 1}.")
        super().__init__(batch_shape, event_shape, validate_args=validate_args)
        if scale_tril is not None:
            self._unbroadcasted_scale_tril = scale_tril
        elif covariance_matrix is not None:
            self._unbroadcasted_scale_tril = _linalg.cholesky(covariance_matrix)
        else:
            self._unbroadcasted_scale_tril = _precision_to_scale_tril(precision_matrix)

    @property
    def arg_constraints(self) -> dict:
        return {"covariance_matrix": constraints.positive_definite,
                "precision_matrix": constraints.positive_definite,
                "scale_tril": constraints.lower_cholesky,
                "df": constraints.greater_than(self._event_shape[-1] - 1)}

    def expand(self, batch_shape: Any, _instance: Any = None) -> "Wishart":
        new = self._get_checked_instance(Wishart, _instance)
        batch_shape = Size(tuple(batch_shape))
        new._unbroadcasted_scale_tril = self._unbroadcasted_scale_tril
        new.df = self.df.expand(batch_shape)
        for name in ("covariance_matrix", "scale_tril", "precision_matrix"):
            if name in self.__dict__:
                setattr(new, name, self.__dict__[name].expand(batch_shape + self.event_shape))
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _matrix_shape(self) -> tuple:
        return tuple(self._batch_shape) + tuple(self._event_shape)

    def _df_matrix(self) -> Tensor:
        return self.df.reshape(tuple(self._batch_shape) + (1, 1))

    @property
    def mean(self) -> Tensor:
        return self._df_matrix() * self.covariance_matrix

    @property
    def mode(self) -> Tensor:
        """``(df - p - 1) * covariance_matrix``; NaN where ``df <= p + 1``."""
        factor = self._df_matrix() - self._event_shape[-1] - 1
        return where(factor > 0, factor * self.covariance_matrix, math.nan)

    @property
    def variance(self) -> Tensor:
        v = self.covariance_matrix
        diagonal = v.diagonal(dim1=-2, dim2=-1)
        return self._df_matrix() * (v.square() + diagonal.unsqueeze(-1) * diagonal.unsqueeze(-2))

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        p = self._event_shape[-1]
        # Bartlett: L A with A lower triangular, A_ii^2 ~ chi2(df - i), A_ij ~ N(0, 1) below
        df = self.df.unsqueeze(-1) - arange(p, dtype=self.df.dtype)
        df = df.expand(tuple(shape[:-1]))
        chi2 = 2 * _sampling.standard_gamma(0.5 * df)
        noise = randn(shape, dtype=self.df.dtype).tril(-1) + chi2.sqrt().diag_embed()
        factor = self._unbroadcasted_scale_tril @ noise
        return factor @ factor.mT

    def _half_log_det(self) -> Tensor:
        return self._unbroadcasted_scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        nu, p = self.df, self._event_shape[-1]
        half_log_det_value = _linalg.cholesky(value).diagonal(dim1=-2, dim2=-1).log().sum(-1)
        trace = (self.precision_matrix * value).sum(-1).sum(-1)
        return (-nu * p * math.log(2) / 2 - nu * self._half_log_det()
                - (nu / 2).mvlgamma(p) + (nu - p - 1) * half_log_det_value - trace / 2)

    def entropy(self) -> Tensor:
        nu, p = self.df, self._event_shape[-1]
        return ((p + 1) * self._half_log_det() + p * (p + 1) * math.log(2) / 2
                + (nu / 2).mvlgamma(p) - (nu - p - 1) / 2 * _mvdigamma(nu / 2, p)
                + nu * p / 2)

    @property
    def _natural_params(self) -> tuple:
        p = self._event_shape[-1]
        return (-self.precision_matrix / 2, (self.df - p - 1) / 2)

    def _log_normalizer(self, x: Tensor, y: Tensor) -> Tensor:
        p = self._event_shape[-1]
        a = y + (p + 1) / 2
        return (a * (-_linalg.slogdet(-2 * x).logabsdet + p * math.log(2))
                + a.mvlgamma(p))

    _mean_carrier_measure = 0


class LKJCholesky(Distribution):
    """The LKJ distribution over ``dim x dim`` correlation matrices, density proportional to
    ``det(C) ** (concentration - 1)``, expressed on their lower Cholesky factors ``L``
    (Lewandowski, Kurowicka & Joe, 2009). Samples come from the onion method and are not
    reparameterized.

    Args:
        dim: the matrix size (at least 2).
        concentration: ``eta`` (positive); 1 is uniform over correlation matrices.
        validate_args: see :class:`Distribution`.

    Example:
        >>> LKJCholesky(3, 1.0).sample().shape
        deepseek.Size([3, 3])
    """

    arg_constraints = {"concentration": constraints.positive}
    support = constraints.corr_cholesky

    def __init__(self, dim: int, concentration: Any = 1.0,
                 validate_args: Optional[bool] = None) -> None:
        if not isinstance(dim, int) or dim < 2:
            raise ValueError(f"Expected dim to be an integer greater than or equal to 2. "
                             f"Found dim={dim}.")
        self.dim = dim
        (self.concentration,) = broadcast_all(concentration)
        super().__init__(self.concentration.shape, (dim, dim), validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> "LKJCholesky":
        new = expand_parameters(self, LKJCholesky, batch_shape, _instance,
                                {"concentration": ()})
        new.dim = self.dim
        return new

    def _row_concentrations(self) -> tuple:
        """Row ``i >= 1`` of ``L`` has squared off-diagonal norm ``Beta(i / 2, beta_i)``
        with ``beta_i = eta + (dim - 1 - i) / 2``."""
        rows = arange(1, self.dim, dtype=self.concentration.dtype)
        beta = self.concentration.unsqueeze(-1) + (self.dim - 1 - rows) / 2
        return rows / 2, beta

    def sample(self, sample_shape: Any = ()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        with no_grad():
            alpha, beta = self._row_concentrations()
            alpha, beta = broadcast_all(alpha, beta)
            y = Beta(alpha, beta, validate_args=False).sample(sample_shape)
            y = cat([zeros(tuple(y.shape[:-1]) + (1,), dtype=y.dtype), y], -1)
            directions = randn(shape, dtype=y.dtype).tril(-1)
            norms = _linalg.vector_norm(directions, dim=-1, keepdim=True)
            first_row = cat([ones(1, dtype=y.dtype), zeros(self.dim - 1, dtype=y.dtype)])
            norms = where(norms > 0, norms, 1.0)
            off_diagonal = directions / norms * y.sqrt().unsqueeze(-1)
            factor = off_diagonal + (1 - y).sqrt().diag_embed()
            return where(arange(self.dim).unsqueeze(-1) == 0, first_row, factor)

    def log_prob(self, value: Tensor) -> Tensor:
        """The density with respect to the strictly lower entries of ``L``: row ``i`` of the
        onion construction, a point of the unit ball in ``R^i``, contributes
        ``L_ii^(2 beta_i - 2) Gamma(beta_i + i / 2) / (Gamma(beta_i) pi^(i / 2))``."""
        if self._validate_args:
            self._validate_sample(value)
        alpha, beta = self._row_concentrations()
        log_diagonal = value.diagonal(dim1=-2, dim2=-1)[..., 1:].log()
        unnormalized = ((2 * beta - 2) * log_diagonal).sum(-1)
        log_normalizer = ((beta + alpha).lgamma() - beta.lgamma()
                          - alpha * math.log(math.pi)).sum(-1)
        return unnormalized + log_normalizer
