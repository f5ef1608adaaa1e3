"""The remaining functional ops: linear and bilinear maps, embedding lookups and bags, one_hot,
and the distances (defined in ``ops/loss.py``)."""

from __future__ import annotations

import math
from typing import Optional

import numpy as np

from ..._creation import arange
from ..._errors import op_error
from ...autograd.grad_mode import no_grad
from ...ops import attention as _attention
from ...ops._common import INT64, require_tensor
from ...ops._opdef import autocast_args
from ...ops.linalg import MATMUL, _lowp_sum, _operands, matmul
from ...ops.loss import _vector_norm, cosine_similarity, pairwise_distance, pdist
from ...tensor import Tensor, host_values

__all__ = ["linear", "bilinear", "embedding", "embedding_bag", "one_hot", "cosine_similarity",
           "pairwise_distance", "pdist"]


def linear(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None) -> Tensor:
    """``input @ weight.T + bias`` as one GEMM over the flattened leading dims.

    Shape:
        input ``(*, in_features)``, weight ``(out_features, in_features)``, bias
        ``(out_features)``; output ``(*, out_features)``.
    """
    x, w = _operands("linear", input, weight, "weight")
    if x.ndim == 0 or w.ndim == 0 or w.ndim > 2:
        raise op_error(RuntimeError, "linear", "expected input of at least 1D and a 1D or 2D "
                       "weight", x._data, w._data)
    if x.shape[-1] != w.shape[-1]:
        rows = math.prod(x.shape[:-1])
        raise op_error(RuntimeError, "linear", f"mat1 and mat2 shapes cannot be multiplied "
                       f"({rows}x{x.shape[-1]} and {w.shape[-1]}x{w.shape[0]}): input.size(-1) "
                       "must equal in_features, weight.size(-1)", x._data, w._data)
    out_shape = x.shape[:-1] + w.shape[:-1]
    if bias is not None:
        b = require_tensor("linear", bias, "bias")
        if b.ndim > len(out_shape) or any(
                n not in (1, m) for n, m in zip(b.shape[::-1], out_shape[::-1])):
            raise op_error(RuntimeError, "linear", f"bias must expand to the output shape "
                           f"{list(out_shape)}", x._data, w._data, b._data)
    if w.ndim == 1:
        product = matmul
    elif x.ndim == 2:
        def product(x: Tensor, w: Tensor) -> Tensor:
            return x @ w.mT
    else:
        def product(x: Tensor, w: Tensor) -> Tensor:
            # the row count spelled out: -1 is ambiguous when in_features is 0
            rows = x.reshape(math.prod(x.shape[:-1]), x.shape[-1])
            return (rows @ w.mT).reshape(out_shape)
    if bias is None:
        return product(x, w)
    # under autocast torch's linear adds a low-precision bias, in the GEMM's float32 accumulator
    out = _lowp_sum("linear", product, b, (x, w), 1, 1)
    if out is not None:
        return out
    (b,) = autocast_args(MATMUL, b)  # the shape was checked above: a plain add
    return product(x, w) + b


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor,
             bias: Optional[Tensor] = None) -> Tensor:
    """``y_o = x1^T W_o x2 + b_o`` for every output feature ``o``.

    Shape:
        input1 ``(*, in1)``, input2 ``(*, in2)``, weight ``(out, in1, in2)``, bias ``(out)``;
        output ``(*, out)``.
    """
    x1, x2 = require_tensor("bilinear", input1), require_tensor("bilinear", input2, "input2")
    w = require_tensor("bilinear", weight, "weight")
    if w.ndim != 3 or x1.ndim == 0 or x1.shape[:-1] != x2.shape[:-1] or (
            x1.shape[-1], x2.shape[-1]) != w.shape[1:]:
        raise op_error(RuntimeError, "bilinear", "expected input1 (*, in1), input2 (*, in2) with "
                       "the same leading dims and weight (out, in1, in2)", x1._data, x2._data,
                       w._data)
    n_out, n1, n2 = w.shape
    a = x1.reshape(-1, n1) @ w.permute(1, 0, 2).reshape(n1, n_out * n2)
    out = (a.reshape(-1, n_out, n2) * x2.reshape(-1, 1, n2)).sum(-1)
    out = out.reshape(x1.shape[:-1] + (n_out,))
    return out if bias is None else out + bias


def _padding_index(padding_idx: Optional[int], num_embeddings: int) -> int:
    if padding_idx is None:
        return -1
    if not -num_embeddings <= padding_idx < num_embeddings:
        raise AssertionError("Padding_idx must be within num_embeddings")
    return padding_idx % num_embeddings


def _check_indices(op: str, idx: Tensor, weight: Tensor, out_of_range: type = IndexError) -> None:
    """Indices must be integers in ``[0, num_embeddings)``; the error names the first bad one
    (PyTorch raises ``out_of_range`` for that: IndexError in embedding, RuntimeError in bags)."""
    d = idx._data
    if d.dtype.kind not in "iu":
        raise op_error(RuntimeError, op, "Expected tensor for argument #1 'indices' to have one of "
                       f"the following scalar types: Long, Int; but got {idx.dtype.name} instead",
                       weight._data, d)
    bad = d[(d < 0) | (d >= weight.shape[0])] if weight.ndim == 2 else d[:0]
    if bad.size:
        raise op_error(out_of_range, op, f"index out of range in self: index {int(bad.flat[0])} "
                       f"is not in [0, {weight.shape[0]})", weight._data, d)


def _renorm_rows(weight: Tensor, indices: Tensor, max_norm: float, norm_type: float) -> None:
    """Scale the rows of ``weight`` used by ``indices`` to norm <= ``max_norm``, in place."""
    rows = np.unique(host_values(indices, "the indices Embedding's max_norm renormalizes"))
    with no_grad():
        norms = _vector_norm(weight[rows], norm_type, 1, keepdim=True)
        over = (norms > max_norm)._data[:, 0]
        if over.any():  # writing nothing keeps the version, so saved uses of weight stay valid
            rows, norms = rows[over], norms[over]
            weight.index_put_((rows,), weight[rows] * (max_norm / (norms + 1e-7)))


def embedding(input: Tensor, weight: Tensor, padding_idx: Optional[int] = None,
              max_norm: Optional[float] = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Look up rows of ``weight`` ``(num_embeddings, dim)`` at the indices ``input``.

    Args:
        padding_idx: this row gets no gradient.
        max_norm: rows looked up whose ``norm_type``-norm exceeds it are renormalized, in place.
        scale_grad_by_freq: divide each row's gradient by its count in ``input``.
        sparse: make ``weight``'s gradient a sparse COO tensor (for ``optim.SparseAdam``,
            ``SGD``, ``Adagrad``).

    Shape:
        Output: ``input.shape + (dim,)``.
    """
    w = require_tensor("embedding", weight, "weight")
    idx = require_tensor("embedding", input)
    _check_indices("embedding", idx, w)
    pad = _padding_index(padding_idx, w.shape[0])
    if max_norm is not None:
        _renorm_rows(w, idx, max_norm, norm_type)
    return _attention.embedding(w, idx, pad, scale_grad_by_freq, sparse)


def _bag_layout(idx: Tensor, offsets: Optional[Tensor], include_last_offset: bool) -> tuple:
    """``(flat indices, bag id per index, number of bags, in-range mask)``."""
    if idx.ndim == 2:
        if offsets is not None:
            raise op_error(ValueError, "embedding_bag", "if input is 2D, then offsets has to be "
                           "None, as input is treated is a mini-batch of fixed length sequences.")
        n_bags, length = idx.shape
        bag = np.repeat(np.arange(n_bags), length)
        return idx.reshape(-1), bag, n_bags, np.ones(bag.shape, bool)
    if idx.ndim != 1:
        raise op_error(ValueError, "embedding_bag", "input has to be 1D or 2D Tensor, but got "
                       f"Tensor of dimension {idx.ndim}")
    if offsets is None or offsets.ndim != 1:
        raise op_error(ValueError, "embedding_bag", "offsets has to be a 1D Tensor")
    starts = host_values(offsets, "embedding_bag's offsets").astype(INT64)
    n = idx.shape[0]
    if starts.size and starts[0] != 0:
        raise op_error(RuntimeError, "embedding_bag", "offsets[0] has to be 0, i.e., the first "
                       "sequence in the mini-batch has to start from position 0. However, got "
                       f"{starts[0]}")
    if starts.size and starts[-1] > n:
        raise op_error(RuntimeError, "embedding_bag", f"offsets[-1] can not be greater than "
                       f"input's length {n} but got offsets[-1] of {starts[-1]}")
    if np.any(np.diff(starts) < 0):
        raise op_error(RuntimeError, "embedding_bag", "offsets must be non-decreasing, got "
                       f"{starts.tolist()}")
    end = n
    if include_last_offset:
        starts, end = starts[:-1], int(starts[-1]) if starts.size else n
    positions = np.arange(n)
    bag = np.searchsorted(starts, positions, side="right") - 1
    valid = (bag >= 0) & (positions < end)
    return idx, np.where(valid, bag, 0), starts.shape[0], valid


def embedding_bag(input: Tensor, weight: Tensor, offsets: Optional[Tensor] = None,
                  max_norm: Optional[float] = None, norm_type: float = 2,
                  scale_grad_by_freq: bool = False, mode: str = "mean", sparse: bool = False,
                  per_sample_weights: Optional[Tensor] = None, include_last_offset: bool = False,
                  padding_idx: Optional[int] = None) -> Tensor:
    """Sums, means or maxima of bags of embeddings, without materializing the bags.

    Args:
        input: ``(B, N)`` fixed-length bags, or 1-d indices split into bags at ``offsets``.
        mode: ``'sum'`` | ``'mean'`` | ``'max'``; empty bags give zeros.
        per_sample_weights: weights of the looked-up rows (``'sum'`` only).
        padding_idx: entries equal to it are left out of their bag (and of the mean's count).
        sparse: make ``weight``'s gradient a sparse COO tensor (not with ``'max'``).

    Shape:
        Output: ``(B, dim)``.
    """
    w = require_tensor("embedding_bag", weight, "weight")
    idx = require_tensor("embedding_bag", input)
    if mode not in ("sum", "mean", "max"):
        raise op_error(ValueError, "embedding_bag", "mode has to be one of sum, mean or max")
    if sparse and mode == "max":
        raise op_error(ValueError, "embedding_bag", "max mode does not support sparse weights")
    if per_sample_weights is not None and mode != "sum":
        raise op_error(NotImplementedError, "embedding_bag", "embedding_bag: per_sample_weights "
                       f"was not None. per_sample_weights is only supported for mode='sum' (got "
                       f"mode='{mode}').")
    _check_indices("embedding_bag", idx, w, RuntimeError)
    flat, bag, n_bags, valid = _bag_layout(idx, offsets, include_last_offset)
    pad = _padding_index(padding_idx, w.shape[0])
    if max_norm is not None:
        _renorm_rows(w, flat, max_norm, norm_type)
    rows = _attention.embedding(w, flat, pad, scale_grad_by_freq, sparse)
    keep = valid if padding_idx is None else valid & (
        host_values(flat, "embedding_bag's indices, with a padding_idx") != pad)
    if per_sample_weights is not None:
        rows = rows * per_sample_weights.reshape(-1, 1)
    dim = w.shape[1]
    if n_bags == 0:  # no offsets: no bags
        return rows[:0]
    if mode == "max":
        values = np.where(keep[:, None], host_values(rows, "embedding_bag's maxima"), -np.inf)
        best = np.full((n_bags, dim), -np.inf, values.dtype)
        np.maximum.at(best, bag, values)
        # the first row reaching each bag's maximum carries it (and its gradient)
        position = np.where(keep[:, None] & (values == best[bag]), np.arange(len(bag))[:, None],
                            len(bag))
        first = np.full((n_bags, dim), len(bag))
        np.minimum.at(first, bag, position)
        keep_rows = np.arange(len(bag))[:, None] == first[bag]
    else:
        keep_rows = np.broadcast_to(keep[:, None], rows.shape)
    if not keep_rows.all():
        rows = rows * Tensor._wrap(keep_rows.astype(rows._data.dtype))
    index = Tensor._wrap(np.broadcast_to(bag[:, None], rows.shape))
    out = rows.new_zeros((n_bags, dim)).scatter_add(0, index, rows)
    if mode == "mean":
        counts = np.bincount(bag[keep], minlength=n_bags)
        out = out / Tensor._wrap(np.maximum(counts, 1)[:, None].astype(out._data.dtype))
    return out


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 one-hot encoding of class indices: shape ``tensor.shape + (num_classes,)``.

    ``num_classes=-1`` uses the largest index plus one.
    """
    t = require_tensor("one_hot", tensor, "tensor")
    d = t._data
    if d.dtype != INT64:
        raise op_error(RuntimeError, "one_hot", "one_hot is only applicable to index tensor of "
                       "type LongTensor.", d)
    if num_classes == -1:
        if d.size == 0:
            raise op_error(RuntimeError, "one_hot", "Can not infer total number of classes from "
                           "empty tensor.", d)
        num_classes = int(host_values(t, "one_hot's num_classes=-1").max()) + 1
    if d.size and d.min() < 0:
        raise op_error(RuntimeError, "one_hot", "Class values must be non-negative.", d)
    if d.size and d.max() >= num_classes:
        raise op_error(RuntimeError, "one_hot", "Class values must be smaller than num_classes.",
                       d)
    return (t.unsqueeze(-1) == arange(num_classes)).long()
