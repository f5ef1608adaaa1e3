"""Helpers the distributions share: broadcasting parameters, probs <-> logits, lazy
properties and reductions over the rightmost dims."""

from __future__ import annotations

import math
import numbers
from typing import Any, Callable

import numpy as np

from .. import dtypes as _dt
from .._creation import as_tensor, tensor as _tensor, zeros
from ..autograd.grad_mode import enable_grad
from ..ops.activation import softmax
from ..ops.elementwise import where
from ..ops.movement import broadcast_tensors, cat
from ..tensor import Tensor

__all__ = ["broadcast_all", "clamp_probs", "lazy_property", "logits_to_probs",
           "probs_to_logits", "softplus", "sum_rightmost", "tril_matrix_to_vec",
           "vec_to_tril_matrix"]


def broadcast_all(*values: Any) -> tuple:
    """``values`` (tensors or numbers) as tensors broadcast to one shape.

    Numbers take the dtype of the first floating tensor among ``values`` (the default dtype
    when there is none), as parameters of one distribution share a dtype.

    Raises:
        ValueError: a value is neither a tensor nor a number.
    """
    dtype = None
    for v in values:
        if isinstance(v, Tensor):
            if dtype is None and v.is_floating_point():
                dtype = v.dtype
        elif not isinstance(v, numbers.Number):
            raise ValueError("Input arguments must all be instances of numbers.Number or "
                             f"deepseek.Tensor, got {type(v).__name__}")
    if dtype is None:
        dtype = _dt.get_default_dtype()
    tensors = [v if isinstance(v, Tensor) else as_tensor(v, dtype=dtype) for v in values]
    return tuple(broadcast_tensors(*tensors))


def sum_rightmost(value: Any, dim: int) -> Any:
    """``value`` summed over its ``dim`` rightmost dims (a number passes through)."""
    if dim == 0 or not isinstance(value, Tensor):
        return value
    return value.reshape(tuple(value.shape[:value.dim() - dim]) + (-1,)).sum(-1)


def softplus(x: Tensor) -> Tensor:
    """``log(1 + exp(x))``, exact for every ``x`` (no threshold) and never overflowing.

    Written as two smooth branches, each fed only the half-line it is used on, so that the
    gradient is ``sigmoid(x)`` everywhere, 1/2 at 0 included (``max(x, 0) + log1p(exp(-|x|))``
    has a kink in each term there).
    """
    high, low = x.clamp(min=0), x.clamp(max=0)
    return where(x > 0, high + (-high).exp().log1p(), low.exp().log1p())


def clamp_probs(probs: Tensor) -> Tensor:
    """``probs`` clamped to ``[eps, 1 - eps]`` of its dtype, so their logs stay finite."""
    eps = _dt.finfo(probs.dtype).eps
    return probs.clamp(min=eps, max=1 - eps)


def probs_to_logits(probs: Tensor, is_binary: bool = False) -> Tensor:
    """Log-odds of a Bernoulli (``is_binary``) or log-probabilities of a Categorical."""
    clamped = clamp_probs(probs)
    if is_binary:
        return clamped.log() - (-clamped).log1p()
    return clamped.log()


def logits_to_probs(logits: Tensor, is_binary: bool = False) -> Tensor:
    """Probabilities from log-odds (``is_binary``: the sigmoid) or from unnormalized
    log-probabilities over the last dim (the softmax)."""
    if is_binary:
        return logits.sigmoid()
    return softmax(logits, -1)


class lazy_property:
    """A property computed on first access and then stored on the instance.

    The value is computed with gradients on, so that ``probs`` derived from ``logits`` stay
    differentiable even when first read inside ``no_grad``.
    """

    def __init__(self, wrapped: Callable) -> None:
        self.wrapped = wrapped
        self.__doc__ = wrapped.__doc__
        self.__name__ = wrapped.__name__

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        if instance is None:
            return self
        with enable_grad():
            value = self.wrapped(instance)
        instance.__dict__[self.wrapped.__name__] = value
        return value


def _tril_positions(n: int, diag: int) -> np.ndarray:
    """Flat positions in an ``n x n`` matrix of its entries on or below diagonal ``diag``, row
    by row (``torch.tril_indices`` order)."""
    if not -n <= diag < n:
        raise ValueError(f"diag ({diag}) provided is outside [{-n}, {n - 1}].")
    rows, cols = np.tril_indices(n, k=diag)
    return rows * n + cols


def tril_matrix_to_vec(mat: Tensor, diag: int = 0) -> Tensor:
    """The entries of the (batched) square ``mat`` on or below diagonal ``diag``, row by row."""
    n = mat.shape[-1]
    flat = mat.reshape(tuple(mat.shape[:-2]) + (n * n,))
    return flat.index_select(-1, _tensor(_tril_positions(n, diag)))


def vec_to_tril_matrix(vec: Tensor, diag: int = 0) -> Tensor:
    """The lower-triangular matrix (zeros above diagonal ``diag``) whose entries on and below
    it, row by row, are the last dim of ``vec``: the inverse of :func:`tril_matrix_to_vec`."""
    size, b = vec.shape[-1], 1 + 2 * diag
    root = (-b + math.sqrt(b * b + 8 * size + 4 * abs(diag) * (diag + 1))) / 2
    n = round(root)
    if abs(n - root) > _dt.finfo(vec.dtype).eps:
        raise ValueError(f"The size of last dimension is {size} which cannot be expressed as "
                         "the lower triangular part of a square D x D matrix.")
    positions = _tril_positions(n, diag)
    index = np.full(n * n, len(positions))  # above the diagonal: the appended zero
    index[positions] = np.arange(len(positions))
    padded = cat([vec, zeros(tuple(vec.shape[:-1]) + (1,), dtype=vec.dtype)], -1)
    return padded.index_select(-1, _tensor(index)).reshape(tuple(vec.shape[:-1]) + (n, n))
