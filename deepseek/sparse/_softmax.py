"""``deepseek.sparse.softmax``/``log_softmax``: softmax over the specified entries of each
slice, the unspecified ones counting as -inf (so they stay unspecified)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._errors import op_error
from ..autograd.function import Function
from ..tensor import Tensor
from ._coo import COOData, SparseTensor, linear_keys
from ._functions import _make, _values_grad


def _groups(data: COOData, dim: int) -> tuple:
    """Each stored entry's slice along ``dim`` (as a group number), and the group count."""
    others = [d for d in range(data.indices.shape[0]) if d != dim]
    keys = linear_keys(data.indices[others], tuple(data.shape[d] for d in others))
    uniq, group = np.unique(keys, return_inverse=True)
    return group.reshape(-1), len(uniq)


def _group_sum(x: np.ndarray, group: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros((n,) + x.shape[1:], x.dtype)
    np.add.at(out, group, x)
    return out[group]


class Softmax(Function):
    @staticmethod
    def forward(ctx: Any, s: SparseTensor, dim: int, log: bool) -> SparseTensor:
        data = s._data
        group, n = _groups(data, dim)
        values = data.values
        peak = np.full((n,) + values.shape[1:], -np.inf, values.dtype)
        np.maximum.at(peak, group, values)
        shifted = values - peak[group]
        total = _group_sum(np.exp(shifted), group, n)
        out = shifted - np.log(total) if log else np.exp(shifted) / total
        ctx.data, ctx.group, ctx.n, ctx.log, ctx.out = data, group, n, log, out
        return _make(data.indices, out.astype(values.dtype, copy=False), data.shape, True)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple:
        data, out = ctx.data, ctx.out
        grad = _values_grad(g, data)
        if ctx.log:
            gx = grad - np.exp(out) * _group_sum(grad, ctx.group, ctx.n)
        else:
            gx = out * (grad - _group_sum(grad * out, ctx.group, ctx.n))
        return _make(data.indices, gx.astype(data.dtype), data.shape, True), None, None


def sparse_softmax(input: Any, dim: int, dtype: Any, log: bool) -> SparseTensor:
    name = "sparse.log_softmax" if log else "sparse.softmax"
    if not isinstance(input, SparseTensor):
        raise op_error(TypeError, name, f"expected a sparse COO tensor, got "
                       f"{type(input).__name__}; use deepseek.softmax for dense tensors")
    n = input.ndim
    if not -n <= dim < n:
        raise IndexError(f"[{name}] Dimension out of range (expected to be in range of "
                         f"[{-n}, {n - 1}], but got {dim})")
    dim %= n
    if dim >= input.sparse_dim() or input.dense_dim():
        raise op_error(RuntimeError, name, "softmax over a dense dim (or of a hybrid tensor) is "
                       "not supported; call .to_dense() first")
    if not input.is_floating_point():
        raise op_error(RuntimeError, name, f"expected a floating tensor, got {input.dtype.name}")
    if dtype is not None:
        raise op_error(NotImplementedError, name, "dtype= is not supported yet; cast the values")
    return Softmax.apply(input.coalesce(), dim, log)
