"""``deepseek.sparse`` (``torch.sparse``): sparse COO tensors and the ops graph and
recommender code uses on them. Public names only; see ``_coo.py`` for the design."""

from __future__ import annotations

from typing import Any, Optional

from ..tensor import Tensor
from ._coo import SparseTensor
from ._functions import sparse_coo_tensor, sparse_sum, spmm

__all__ = ["mm", "sum", "softmax", "log_softmax", "SparseTensor", "sparse_coo_tensor"]


def mm(mat1: SparseTensor, mat2: Tensor) -> Tensor:
    """Product of a sparse COO matrix and a dense one (``torch.sparse.mm``).

    Gradients reach ``mat2`` (dense) and ``mat1``'s values: a sparse leaf's ``.grad`` is
    sparse, on its coalesced sparsity.

    Args:
        mat1: sparse ``(n, m)`` matrix.
        mat2: dense ``(m, p)`` matrix of the same dtype.

    Shape:
        ``(n, m) @ (m, p) -> (n, p)``, dense.

    Example:
        >>> a = deepseek.sparse_coo_tensor([[0, 1], [1, 0]], [2.0, 3.0], (2, 2))
        >>> deepseek.sparse.mm(a, deepseek.ones(2, 1))
        tensor([[2.],
                [3.]])
    """
    return spmm("sparse.mm", mat1, mat2, sparse_grad=True)


def sum(input: SparseTensor, dim: Any = None, dtype: Any = None) -> Tensor:  # noqa: A001
    """Sum of a sparse tensor's elements (``torch.sparse.sum``): a dense scalar without
    ``dim``; over ``dim`` (an int or a tuple) a sparse tensor while a sparse dim remains.

    Example:
        >>> a = deepseek.sparse_coo_tensor([[0, 1, 1], [1, 0, 1]], [2.0, 3.0, 4.0], (2, 2))
        >>> deepseek.sparse.sum(a)
        tensor(9.)
        >>> deepseek.sparse.sum(a, 1).to_dense()
        tensor([2., 7.])
    """
    return sparse_sum(input, dim, dtype)


def softmax(input: SparseTensor, dim: int, dtype: Optional[Any] = None) -> SparseTensor:
    """Softmax over the specified entries of each slice along ``dim`` (``torch.sparse.softmax``):
    unspecified entries count as -inf, so they stay unspecified."""
    from ._softmax import sparse_softmax

    return sparse_softmax(input, dim, dtype, log=False)


def log_softmax(input: SparseTensor, dim: int, dtype: Optional[Any] = None) -> SparseTensor:
    """Log of :func:`softmax` (``torch.sparse.log_softmax``)."""
    from ._softmax import sparse_softmax

    return sparse_softmax(input, dim, dtype, log=True)

