"""The transformer's primitives: scaled dot-product attention (two batched GEMMs around one
fused scale-mask-softmax kernel; backward recomputes the weights) and the embedding lookup (its
gradient a scatter-add into the table)."""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any, Optional

import numpy as np

from .._errors import op_error
from ..backends.cuda import _SDP
from ..tensor import Tensor
from ._common import BOOL, broadcast_shapes, in_float32, is_float, require_tensor
from ._opdef import apply, defop
from .elementwise import where
from . import _kernels
from .activation import SOFTMAX_BACKWARD
from .linalg import matmul_arrays
from .normalization import dropout_mask

__all__ = ["embedding"]



# ---------------------------------------------------------------- scaled dot-product attention
def _spec(shape: tuple) -> Any:
    """A shape-only stand-in for broadcast checks (allocates nothing)."""
    return SimpleNamespace(shape=shape, dtype=BOOL)


def _batch(shape: tuple) -> Any:
    return _spec(shape[:-2] + (1, 1))


def _sdpa_meta(q: Any, k: Any, v: Any, bias: Any, drop: Any, *, scale: float) -> tuple:
    if q.ndim < 2 or k.ndim < 2 or v.ndim < 2:
        raise op_error(RuntimeError, "scaled_dot_product_attention", "Expected query, key, and "
                       "value to all be at least 2 dimensional, but got query.dim: "
                       f"{q.ndim} key.dim: {k.ndim} and value.dim: {v.ndim} instead.", q, k, v)
    if not q.dtype == k.dtype == v.dtype:
        raise op_error(RuntimeError, "scaled_dot_product_attention", "Expected query, key, and "
                       "value to have the same dtype", q, k, v)
    if k.shape[-1] != q.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise op_error(RuntimeError, "scaled_dot_product_attention", "key must have query's "
                       "embedding size and value's sequence length", q, k, v)
    batch = broadcast_shapes("scaled_dot_product_attention", _batch(q.shape), _batch(k.shape),
                             _batch(v.shape))[:-2]
    scores = batch + (q.shape[-2], k.shape[-2])
    broadcast_shapes("scaled_dot_product_attention", _spec(scores), bias, drop)
    return batch + (q.shape[-2], v.shape[-1]), q.dtype


def _rows_bias(bias: Any, scores: tuple) -> Any:
    """``bias`` as the ``(rows, S)`` table the row kernel indexes by ``row % rows``, or None
    when it varies along the batch dims (then it is added beforehand)."""
    n = scores[-1]
    if bias.ndim == 0:
        return np.broadcast_to(bias, (1, n))
    if any(d != 1 for d in bias.shape[:-2]):
        return None
    table = bias.reshape(bias.shape[-2:]) if bias.ndim >= 2 else bias.reshape(1, -1)
    if table.shape[0] not in (1, scores[-2]):
        return None
    return np.ascontiguousarray(np.broadcast_to(table, (table.shape[0], n)))


def _sdpa_softmax_forward(xp: Any, s: Any, bias: Any, *, scale: float) -> Any:
    """``softmax(s * scale + bias)`` over the last dim; a row masked everywhere (all -inf)
    gives zeros, as PyTorch's attention does."""
    shape = np.broadcast_shapes(s.shape, bias.shape)
    table = _rows_bias(bias, shape) if _kernels.usable(xp, s, bias) else None
    if table is not None and s.size:
        out = np.empty(shape, s.dtype)
        _kernels.softmax_rows(_kernels.rows(s, shape[-1]), out.reshape(-1, shape[-1]),
                              s.dtype.type(scale), table, False, True)
        return out
    with np.errstate(all="ignore"):
        x = s * scale + bias
        m = x.max(axis=-1, keepdims=True)
        e = xp.exp(x - xp.where(xp.isfinite(m), m, 0))
        z = e.sum(axis=-1, keepdims=True)
        return e / xp.where(z == 0, 1, z)


def _sdpa_softmax_vjp_parts(p: Tensor, g: Tensor, scale: float, need_bias: bool) -> tuple:
    """Gradients of ``softmax(s * scale + bias)`` for ``s`` and ``bias`` from its output."""
    grad = apply(SOFTMAX_BACKWARD, p, g, dim=-1)
    return grad * scale, (grad if need_bias else None)


def _sdpa_softmax_vjp(ctx: Any, g: Tensor) -> tuple:
    return _sdpa_softmax_vjp_parts(ctx.out, g, ctx.attrs["scale"], ctx.needs_input_grad[1])


SDPA_SOFTMAX = defop(
    "_sdpa_softmax", in_float32(_sdpa_softmax_forward),
    lambda s, bias, *, scale: (broadcast_shapes("scaled_dot_product_attention", s, bias),
                               s.dtype),
    _sdpa_softmax_vjp, kind="opaque", amp="fp32", save_output=True,
    doc="Attention weights ``softmax(s * scale + bias)``; all-masked rows give zeros.")


def _sdpa_forward(xp: Any, q: Any, k: Any, v: Any, bias: Any, drop: Any, *, scale: float) -> Any:
    p = _sdpa_softmax_forward(xp, matmul_arrays(xp, q, xp.swapaxes(k, -1, -2)), bias,
                              scale=scale)
    return matmul_arrays(xp, p if drop.ndim == 0 else p * drop, v)


def _sdpa_vjp(ctx: Any, g: Tensor) -> tuple:
    """Recomputes the attention weights, as flash attention does: only q, k, v are saved."""
    q, k, v, bias, drop = ctx.inputs
    p = apply(SDPA_SOFTMAX, q @ k.mT, bias, scale=ctx.attrs["scale"])
    dropped = ctx.shapes[4] != ()
    need = ctx.needs_input_grad
    grad_v = (p * drop if dropped else p).mT @ g if need[2] else None
    grad_p = g @ v.mT
    grad_s, grad_bias = _sdpa_softmax_vjp_parts(p, grad_p * drop if dropped else grad_p,
                                                ctx.attrs["scale"], need[3])
    grad_q = grad_s @ k if need[0] else None
    grad_k = grad_s.mT @ q if need[1] else None
    return grad_q, grad_k, grad_v, grad_bias, None


SDPA = defop("scaled_dot_product_attention", in_float32(_sdpa_forward), _sdpa_meta, _sdpa_vjp,
             amp="lower", doc="softmax(q k^T * scale + bias) * drop @ v over the last two dims.")


def _repeat_heads(x: Tensor, n_heads: int) -> Tensor:
    """Key/value heads (dim -3) repeated to ``n_heads``, each head ``n_heads / h`` times."""
    h = x.shape[-3]
    if h == n_heads:
        return x
    if h == 0 or n_heads % h:
        raise op_error(RuntimeError, "scaled_dot_product_attention", "Number of heads in key and "
                       "value must divide the number of heads in query", x._data)
    shape = x.shape[:-3] + (h, n_heads // h) + x.shape[-2:]
    return x.unsqueeze(-3).expand(shape).reshape(x.shape[:-3] + (n_heads,) + x.shape[-2:])


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor,
                                 attn_mask: Optional[Tensor] = None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: Optional[float] = None,
                                 enable_gqa: bool = False) -> Tensor:
    """``softmax(query @ key^T * scale + mask) @ value`` over arbitrary leading batch dims.

    Args:
        query: ``(..., L, E)``; key: ``(..., S, E)``; value: ``(..., S, Ev)``.
        attn_mask: broadcastable to ``(..., L, S)``; bool (True = attend) or float (added).
        dropout_p: dropout on the attention weights, drawn from the default generator.
        is_causal: attend to positions ``j <= i`` only (top-left aligned when L != S).
        scale: defaults to ``1 / sqrt(E)``.
        enable_gqa: key/value may have fewer heads (dim -3) than query; they are repeated.

    Shape:
        Output: ``(..., L, Ev)``.

    Example:
        >>> q = ds.randn(2, 4, 8, 16)
        >>> out = scaled_dot_product_attention(q, q, q, is_causal=True)
    """
    name = "scaled_dot_product_attention"
    q, k, v = (require_tensor(name, x, n) for x, n in ((query, "query"), (key, "key"),
                                                         (value, "value")))
    if q.ndim >= 3 and enable_gqa:
        k, v = _repeat_heads(k, q.shape[-3]), _repeat_heads(v, q.shape[-3])
    L, S = q.shape[-2] if q.ndim >= 2 else 0, k.shape[-2] if k.ndim >= 2 else 0
    dtype = q._data.dtype
    if is_causal:
        if attn_mask is not None:
            raise op_error(RuntimeError, name, "_scaled_dot_product_attention: Explicit "
                           "attn_mask should not be set when is_causal=True")
        attn_mask = Tensor._wrap(np.tril(np.ones((L, S), BOOL)))
    if attn_mask is not None and not is_causal:
        attn_mask = require_tensor(name, attn_mask, "attn_mask")
        try:  # (query and key that do not broadcast are reported below, by the primitive)
            weights = np.broadcast_shapes(q.shape[:-2], k.shape[:-2]) + (L, S)
        except ValueError:
            weights = None
        if weights is not None and not _broadcasts(tuple(attn_mask.shape), weights):
            raise op_error(RuntimeError, name, f"attn_mask of shape {list(attn_mask.shape)} "
                           f"does not broadcast to the attention weights' shape "
                           f"{list(weights)} (..., L, S)", attn_mask._data)
    if attn_mask is None:
        bias = Tensor._wrap(np.zeros((), dtype))
    elif attn_mask._data.dtype == BOOL:
        bias = where(attn_mask, Tensor._wrap(np.zeros((), dtype)), -math.inf)
    else:
        bias = attn_mask if attn_mask._data.dtype == dtype else attn_mask.to(q.dtype)
    if not 0.0 <= dropout_p <= 1.0:
        raise op_error(ValueError, name, f"dropout probability has to be between 0 and 1, but "
                       f"got {dropout_p}")
    drop = Tensor._wrap(np.ones((), dtype))
    if dropout_p > 0:
        shape = broadcast_shapes(name, _batch(q.shape), _batch(k.shape))[:-2] + (L, S)
        drop = dropout_mask(shape, dropout_p, dtype, draw=np.float32)
    if not is_float(dtype):
        raise op_error(RuntimeError, name, "expected floating-point query, key and value",
                       q._data, k._data, v._data)
    if not (_SDP["math"] or _SDP["flash"]):  # the switches of nn.attention.sdpa_kernel
        raise op_error(RuntimeError, name, "No viable backend for scaled_dot_product_attention "
                       "was found: the CPU kernel serves SDPBackend.MATH and FLASH_ATTENTION, "
                       "and both are turned off")
    s = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    return apply(SDPA, q, k, v, bias, drop, scale=s)


def _broadcasts(shape: tuple, to: tuple) -> bool:
    try:
        np.broadcast_shapes(shape, to)
    except ValueError:
        return False
    return True


# ---------------------------------------------------------------- embedding
def _embedding_meta(weight: Any, indices: Any, *, padding_idx: int,
                    scale_grad_by_freq: bool, sparse: bool = False) -> tuple:
    if indices.dtype.kind not in "iu":
        raise op_error(RuntimeError, "embedding", "Expected tensor for argument #1 'indices' to "
                       "have one of the following scalar types: Long, Int; but got "
                       f"{indices.dtype} instead", weight, indices)
    if weight.ndim != 2:
        raise op_error(RuntimeError, "embedding", "'weight' must be 2-D", weight, indices)
    return indices.shape + weight.shape[1:], weight.dtype


def _embedding_vjp(ctx: Any, g: Tensor) -> tuple:
    _, indices = ctx.inputs
    n, dim = ctx.shapes[0]
    idx = indices.reshape(-1).long()
    g = g.reshape(-1, dim)
    pad = ctx.attrs["padding_idx"]
    if ctx.attrs.get("sparse"):
        return _embedding_sparse_grad(idx, g, (n, dim), pad, ctx.attrs["scale_grad_by_freq"]), None
    if pad >= 0:
        g = g * (idx != pad).unsqueeze(1).to(g.dtype)
    if ctx.attrs["scale_grad_by_freq"]:
        counts = idx.new_zeros(n).scatter_add(0, idx, idx.new_ones(idx.shape))[idx]
        g = g / counts.unsqueeze(1).to(g.dtype)
    index = idx.unsqueeze(1).expand(g.shape)
    return g.new_zeros((n, dim)).scatter_add(0, index, g), None


def _embedding_sparse_grad(idx: Tensor, g: Tensor, shape: tuple, pad: int,
                           scale_grad_by_freq: bool) -> Tensor:
    """The table's gradient as an uncoalesced sparse COO tensor: one row per looked-up index,
    the padding row's left out (PyTorch's layout, so coalescing gives PyTorch's tensor)."""
    from ..sparse._coo import COOData, SparseTensor

    if scale_grad_by_freq:
        raise op_error(RuntimeError, "embedding", "embedding_backward: scale_grad_by_freq not "
                       "supported with sparse gradients")
    rows, values = idx._to_host(), g._to_host()
    if pad >= 0:
        keep = rows != pad
        rows, values = rows[keep], values[keep]
    return SparseTensor._make(COOData(rows[None], np.ascontiguousarray(values), shape, False))


EMBEDDING = defop("embedding", lambda xp, w, i, **attrs: xp.take(w, i, axis=0), _embedding_meta,
                  _embedding_vjp, doc="Rows of the table ``weight`` at ``indices``.")


def embedding(weight: Tensor, indices: Tensor, padding_idx: int = -1,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of ``weight`` ``(num_embeddings, dim)`` at ``indices`` (any shape).

    The row ``padding_idx`` (when >= 0) gets no gradient; ``scale_grad_by_freq`` divides each
    row's gradient by how often it occurs in ``indices``; ``sparse`` makes ``weight``'s
    gradient a sparse COO tensor with one row per looked-up index.
    """
    w = require_tensor("embedding", weight, "weight")
    idx = require_tensor("embedding", indices, "indices")
    d = idx._data
    if d.size and d.dtype.kind in "iu" and w.ndim == 2 and (
            d.min() < 0 or d.max() >= w.shape[0]):
        raise op_error(IndexError, "embedding", "index out of range in self", w._data, d)
    return apply(EMBEDDING, w, idx, padding_idx=int(padding_idx),
                 scale_grad_by_freq=bool(scale_grad_by_freq), sparse=bool(sparse))
