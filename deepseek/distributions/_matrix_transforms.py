"""Transforms onto structured sets of vectors and matrices: the simplex (stick breaking),
lower Cholesky factors, positive definite matrices and Cholesky factors of correlation
matrices. Re-exported by ``transforms``."""

from __future__ import annotations

import math
from typing import Any, Sequence


from .. import dtypes as _dt
from .. import linalg as _linalg
from .._creation import arange, eye, ones
from ..ops.movement import cat
from ..tensor import Size, Tensor
from . import constraints
from .transforms import Transform
from .utils import softplus, tril_matrix_to_vec, vec_to_tril_matrix

__all__ = ["CorrCholeskyTransform", "LowerCholeskyTransform", "PositiveDefiniteTransform",
           "StickBreakingTransform"]


def _logsigmoid(x: Tensor) -> Tensor:
    return -softplus(-x)


class StickBreakingTransform(Transform):
    """Unconstrained vectors of length ``K`` onto the simplex in ``K + 1`` dims, by breaking
    a stick: entry ``i`` takes a sigmoid share of what entries ``< i`` left. Shifted so that
    zeros map to the uniform vector.

    Example:
        >>> StickBreakingTransform()(deepseek.zeros(2))
        tensor([0.3333, 0.3333, 0.3333])
    """

    domain = constraints.real_vector
    codomain = constraints.simplex
    bijective = True

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StickBreakingTransform)

    __hash__ = object.__hash__

    @staticmethod
    def _log_offset(k: int, like: Tensor) -> Tensor:
        return arange(k, 0, -1, dtype=like.dtype).log()

    def _call(self, x: Tensor) -> Tensor:
        z = (x - self._log_offset(x.shape[-1], x)).sigmoid()
        one = ones(tuple(x.shape[:-1]) + (1,), dtype=x.dtype)
        remaining = (1 - z).cumprod(-1)
        return cat([z, one], -1) * cat([one, remaining], -1)

    def _inverse(self, y: Tensor) -> Tensor:
        head = y[..., :-1]
        left = (1 - head.cumsum(-1)).clamp(min=_dt.finfo(y.dtype).tiny)
        return head.log() - left.log() + self._log_offset(head.shape[-1], y)

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        # dy_i/dx_i = y_i (1 - z_i), and the Jacobian is triangular
        u = x - self._log_offset(x.shape[-1], x)
        return (-u + _logsigmoid(u) + y[..., :-1].log()).sum(-1)

    def forward_shape(self, shape: Sequence[int]) -> Size:
        if len(shape) < 1:
            raise ValueError("Too few dimensions on input")
        return Size(tuple(shape[:-1]) + (shape[-1] + 1,))

    def inverse_shape(self, shape: Sequence[int]) -> Size:
        if len(shape) < 1:
            raise ValueError("Too few dimensions on input")
        return Size(tuple(shape[:-1]) + (shape[-1] - 1,))


class LowerCholeskyTransform(Transform):
    """Unconstrained square matrices onto lower-triangular ones with a positive diagonal:
    the strict lower part is kept and the diagonal exponentiated (not bijective onto
    matrices: the upper part is dropped)."""

    domain = constraints.independent(constraints.real, 2)
    codomain = constraints.lower_cholesky

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LowerCholeskyTransform)

    __hash__ = object.__hash__

    def _call(self, x: Tensor) -> Tensor:
        return x.tril(-1) + x.diagonal(dim1=-2, dim2=-1).exp().diag_embed()

    def _inverse(self, y: Tensor) -> Tensor:
        return y.tril(-1) + y.diagonal(dim1=-2, dim2=-1).log().diag_embed()


class PositiveDefiniteTransform(Transform):
    """Unconstrained square matrices onto positive definite ones: ``L L^T`` with ``L`` from
    :class:`LowerCholeskyTransform`."""

    domain = constraints.independent(constraints.real, 2)
    codomain = constraints.positive_definite

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PositiveDefiniteTransform)

    __hash__ = object.__hash__

    def _call(self, x: Tensor) -> Tensor:
        factor = LowerCholeskyTransform()(x)
        return factor @ factor.mT

    def _inverse(self, y: Tensor) -> Tensor:
        return LowerCholeskyTransform().inv(_linalg.cholesky(y))


def _matrix_size(length: int) -> int:
    n = int(round((0.25 + 2 * length) ** 0.5 + 0.5))
    if n * (n - 1) // 2 != length:
        raise ValueError("Input is not a flattened lower-diagonal number")
    return n


class CorrCholeskyTransform(Transform):
    """Unconstrained vectors of length ``n (n - 1) / 2`` onto lower Cholesky factors of
    ``n x n`` correlation matrices: ``tanh`` maps each entry into ``(-1, 1)``, and row ``i``
    is filled left to right by stick breaking, each entry taking its share of the unit norm
    the earlier entries left.

    Example:
        >>> CorrCholeskyTransform()(deepseek.zeros(3))
        tensor([[1., 0., 0.],
                [0., 1., 0.],
                [0., 0., 1.]])
    """

    domain = constraints.real_vector
    codomain = constraints.corr_cholesky
    bijective = True

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CorrCholeskyTransform)

    __hash__ = object.__hash__

    def _call(self, x: Tensor) -> Tensor:
        eps = _dt.finfo(x.dtype).eps
        t = x.tanh().clamp(min=-1 + eps, max=1 - eps)
        n = _matrix_size(x.shape[-1])
        r = vec_to_tril_matrix(t, -1)
        remaining = (1 - r.square()).sqrt().cumprod(-1)
        one = ones(tuple(r.shape[:-1]) + (1,), dtype=x.dtype)
        return (r + eye(n, dtype=x.dtype)) * cat([one, remaining[..., :-1]], -1)

    def _inverse(self, y: Tensor) -> Tensor:
        left = 1 - y.square().cumsum(-1)
        one = ones(tuple(y.shape[:-1]) + (1,), dtype=y.dtype)
        left_before = cat([one, left[..., :-1]], -1)
        t = tril_matrix_to_vec(y, -1) / tril_matrix_to_vec(left_before, -1).sqrt()
        return t.atanh()

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor, intermediates: Any = None) -> Tensor:
        # dy_ij/dt_ij = sqrt(1 - sum_{k<j} y_ik^2); for j = 0 that is 1, hence diagonal -2
        stick_breaking = 0.5 * tril_matrix_to_vec(1 - y.square().cumsum(-1), -2).log().sum(-1)
        tanh = 2.0 * (math.log(2.0) - x - softplus(-2.0 * x)).sum(-1)
        return stick_breaking + tanh

    def forward_shape(self, shape: Sequence[int]) -> Size:
        if len(shape) < 1:
            raise ValueError("Too few dimensions on input")
        n = _matrix_size(shape[-1])
        return Size(tuple(shape[:-1]) + (n, n))

    def inverse_shape(self, shape: Sequence[int]) -> Size:
        if len(shape) < 2:
            raise ValueError("Too few dimensions on input")
        if shape[-1] != shape[-2]:
            raise ValueError("A matrix that isn't square can't be a Cholesky factor of a "
                             "correlation matrix")
        n = shape[-1]
        return Size(tuple(shape[:-2]) + (n * (n - 1) // 2,))
