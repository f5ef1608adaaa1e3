"""``torch.nn.utils.parametrizations``: weight normalization, spectral normalization and
orthogonal weights as parametrizations (:mod:`.parametrize`)."""

from __future__ import annotations

from typing import Optional

from ..._creation import zeros_like
from ...autograd.grad_mode import no_grad
from ...dtypes import finfo
from ...ops.decompositions import geqrf, householder_product
from ...ops.elementwise import allclose
from ...ops.linalg import solve
from ...ops.movement import cat
from ...ops.reduce import vector_norm
from ...ops.solvers import matrix_exp
from ...random import randn
from ...tensor import Tensor
from .. import functional as F
from ..modules.conv import ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from ..modules.module import Module
from .parametrize import register_parametrization

__all__ = ["weight_norm", "spectral_norm", "orthogonal"]


def norm_except_dim(v: Tensor, dim: int) -> Tensor:
    """The 2-norm of ``v`` over every dim but ``dim``, kept for broadcasting (the whole norm,
    0-d, for ``dim=-1``), as weight normalization's magnitude."""
    if dim == -1:
        return vector_norm(v)
    return vector_norm(v, dim=tuple(d for d in range(v.ndim) if d != dim % v.ndim),
                       keepdim=True)


class _WeightNorm(Module):
    def __init__(self, dim: Optional[int] = 0) -> None:
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g: Tensor, weight_v: Tensor) -> Tensor:
        return weight_v * (weight_g / norm_except_dim(weight_v, self.dim))

    def right_inverse(self, weight: Tensor) -> tuple:
        return norm_except_dim(weight, self.dim), weight


def weight_norm(module: Module, name: str = "weight", dim: Optional[int] = 0) -> Module:
    """Reparametrize ``module.<name>`` as ``g * v / ||v||`` (norms over all dims but ``dim``;
    over all for ``dim=None``), with ``original0 = g`` and ``original1 = v`` in
    ``module.parametrizations.<name>``. Returns ``module``."""
    return register_parametrization(module, name, _WeightNorm(dim), unsafe=True)


class _SpectralNorm(Module):
    """``weight / sigma``, ``sigma`` the largest singular value of ``weight`` as a matrix
    (dim ``dim`` its rows), estimated by power iteration on buffers ``_u`` and ``_v``, one
    more round at every forward in training mode."""

    def __init__(self, weight: Tensor, n_power_iterations: int = 1, dim: int = 0,
                 eps: float = 1e-12) -> None:
        super().__init__()
        ndim = weight.ndim
        if not -ndim <= dim < max(ndim, 1):
            raise IndexError(f"Dimension out of range (expected to be in range of [-{ndim}, "
                             f"{ndim - 1}] but got {dim})")
        if n_power_iterations <= 0:
            raise ValueError("Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.dim = dim % max(ndim, 1)
        self.eps = eps
        if ndim > 1:
            self.n_power_iterations = n_power_iterations
            matrix = self._matrix(weight)
            h, w = matrix.shape
            with no_grad():
                self.register_buffer("_u", F.normalize(matrix.new_empty(h).normal_(0, 1), dim=0,
                                                       eps=eps))
                self.register_buffer("_v", F.normalize(matrix.new_empty(w).normal_(0, 1), dim=0,
                                                       eps=eps))
            self._power_method(matrix, 15)

    def _matrix(self, weight: Tensor) -> Tensor:
        if self.dim:
            weight = weight.permute(self.dim, *(d for d in range(weight.ndim) if d != self.dim))
        return weight.flatten(1)

    def _power_method(self, matrix: Tensor, rounds: int) -> None:
        with no_grad():
            for _ in range(rounds):
                self._u.copy_(F.normalize(matrix.mv(self._v), dim=0, eps=self.eps))
                self._v.copy_(F.normalize(matrix.mT.mv(self._u), dim=0, eps=self.eps))

    def forward(self, weight: Tensor) -> Tensor:
        if weight.ndim == 1:
            return F.normalize(weight, dim=0, eps=self.eps)
        matrix = self._matrix(weight)
        if self.training:
            self._power_method(matrix, self.n_power_iterations)
        u, v = self._u.clone(), self._v.clone()
        return weight / u.dot(matrix.mv(v))

    def right_inverse(self, value: Tensor) -> Tensor:
        return value


def spectral_norm(module: Module, name: str = "weight", n_power_iterations: int = 1,
                  eps: float = 1e-12, dim: Optional[int] = None) -> Module:
    """Reparametrize ``module.<name>`` as itself divided by its spectral norm, estimated by
    ``n_power_iterations`` rounds of power iteration per training forward; ``dim`` is the
    output dim (default 1 for transposed convolutions, else 0). Returns ``module``."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if dim is None:
        dim = 1 if isinstance(module, (ConvTranspose1d, ConvTranspose2d, ConvTranspose3d)) else 0
    return register_parametrization(module, name,
                                    _SpectralNorm(weight, n_power_iterations, dim, eps))


_ORTHOGONAL_MAPS = ("matrix_exp", "cayley", "householder")


def _make_orthogonal(A: Tensor) -> Tensor:
    """The Q of ``A``'s QR decomposition with R's diagonal made positive (unique for full-rank
    ``A``)."""
    X, tau = geqrf(A)
    Q = householder_product(X, tau)
    return Q * X.diagonal(dim1=-2, dim2=-1).sgn().unsqueeze(-2)


class _Orthogonal(Module):
    """A matrix with orthonormal columns (rows, when wide) from an unconstrained one:
    ``matrix_exp`` or ``cayley`` of the skew-symmetric part of its lower triangle, or the
    product of the Householder reflectors below its diagonal. With ``use_trivialization``
    the result multiplies buffer ``base``, and assigning a weight stores it there."""

    base: Optional[Tensor]

    def __init__(self, weight: Tensor, orthogonal_map: str, *, use_trivialization: bool = True
                 ) -> None:
        super().__init__()
        if weight.is_complex() and orthogonal_map == "householder":
            raise ValueError("The householder parametrization does not support complex tensors.")
        self.shape = weight.shape
        self.orthogonal_map = orthogonal_map
        if use_trivialization:
            self.register_buffer("base", None)

    def forward(self, X: Tensor) -> Tensor:
        n, k = X.size(-2), X.size(-1)
        transposed = n < k
        if transposed:
            X = X.mT
            n, k = k, n
        if self.orthogonal_map == "householder":
            A = X.tril(diagonal=-1)
            tau = 2.0 / (1.0 + (A * A).sum(dim=-2))
            Q = householder_product(A, tau)
            # the sign of each column from the diagonal, so right_inverse can reach every Q
            Q = Q * X.diagonal(dim1=-2, dim2=-1).int().unsqueeze(-2)
        else:
            X = X.tril()
            if n != k:  # embedded in a square matrix
                X = cat([X, X.new_zeros(n, n - k).expand(*X.shape[:-2], -1, -1)], dim=-1)
            A = X - X.mH
            if self.orthogonal_map == "matrix_exp":
                Q = matrix_exp(A)
            else:  # cayley: (I - A/2)^{-1} (I + A/2)
                eye = zeros_like(A)
                eye.diagonal(dim1=-2, dim2=-1).fill_(1.0)
                Q = solve(eye - A / 2.0, eye + A / 2.0)
            if n != k:
                Q = Q[..., :k]
        if getattr(self, "base", None) is not None:
            Q = self.base @ Q
        return Q.mT if transposed else Q

    @no_grad()
    def right_inverse(self, Q: Tensor) -> Tensor:
        if Q.shape != self.shape:
            raise ValueError(f"Expected a matrix or batch of matrices of shape {self.shape}. "
                             f"Got a tensor of shape {Q.shape}.")
        Q_init = Q
        n, k = Q.size(-2), Q.size(-1)
        if n < k:
            Q = Q.mT
            n, k = k, n
        if not hasattr(self, "base"):
            if self.orthogonal_map != "householder":
                raise NotImplementedError("It is not possible to assign to the matrix "
                                          "exponential or the Cayley parametrizations when "
                                          "use_trivialization=False.")
            A, tau = geqrf(Q)
            # the diagonal keeps R's signs, which forward multiplies back in (diag(R) > 0 makes
            # the QR decomposition unique); LAPACK's tau is exactly 0 for a skipped reflection
            A.diagonal(dim1=-2, dim2=-1).sign_()
            A.diagonal(dim1=-2, dim2=-1)[tau == 0.0] *= -1
            return A.mT if Q_init.size(-2) < Q_init.size(-1) else A
        if n == k:
            eps = 10.0 * n * finfo(Q.dtype).eps
            eye = zeros_like(Q)
            eye.diagonal(dim1=-2, dim2=-1).fill_(1.0)
            Q = Q.clone() if allclose(Q.mH @ Q, eye, atol=eps) else _make_orthogonal(Q)
        else:  # complete the columns with random ones
            extra = randn(*(Q.shape[:-2] + (n, n - k)), dtype=Q.dtype, device=Q.device)
            Q = _make_orthogonal(cat([Q, extra], dim=-1))
        self.base = Q
        # the parametrized value is base @ f(original): an original of -I maps to the identity
        neg_eye = zeros_like(Q_init)
        neg_eye.diagonal(dim1=-2, dim2=-1).fill_(-1.0)
        return neg_eye


def orthogonal(module: Module, name: str = "weight", orthogonal_map: Optional[str] = None, *,
               use_trivialization: bool = True) -> Module:
    """Reparametrize ``module.<name>`` (a matrix or a batch of them) to have orthonormal
    columns, or rows when it is wide.

    Args:
        module: the module to reparametrize.
        name: the name of its weight.
        orthogonal_map: ``"matrix_exp"``, ``"cayley"`` or ``"householder"``; by default
            ``"matrix_exp"`` for square or complex weights, else ``"householder"``.
        use_trivialization: keep the weight as ``base @ f(original)``, ``base`` a buffer
            that assigning a weight resets (PyTorch's default).

    Example::

        >>> import deepseek as ds
        >>> m = ds.nn.utils.parametrizations.orthogonal(ds.nn.Linear(4, 4))
        >>> w = m.weight
        >>> bool(ds.allclose(w.T @ w, ds.eye(4), atol=1e-5))
        True
    """
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if weight.ndim < 2:
        raise ValueError("Expected a matrix or batch of matrices. "
                         f"Got a tensor of {weight.ndim} dimensions.")
    if orthogonal_map is None:
        square = weight.size(-2) == weight.size(-1)
        orthogonal_map = "matrix_exp" if square or weight.is_complex() else "householder"
    if orthogonal_map not in _ORTHOGONAL_MAPS:
        raise ValueError('orthogonal_map has to be one of "matrix_exp", "cayley", '
                         f'"householder". Got: {orthogonal_map}')
    orth = _Orthogonal(weight, orthogonal_map, use_trivialization=use_trivialization)
    return register_parametrization(module, name, orth, unsafe=True)
