"""Attention in ``deepseek.nn.functional``: the sdpa primitive (``ops/attention.py``) and
``multi_head_attention_forward``, the whole of ``nn.MultiheadAttention``'s computation."""

from __future__ import annotations

import math
from typing import Optional

from ..._creation import zeros
from ..._errors import op_error
from ...ops.activation import softmax
from ...ops.attention import scaled_dot_product_attention
from ...ops.elementwise import where
from ...ops.movement import cat
from ...tensor import Tensor
from ._norm import dropout
from ._misc import linear

__all__ = ["scaled_dot_product_attention", "multi_head_attention_forward"]

_NAME = "multi_head_attention_forward"


def _additive_mask(mask: Optional[Tensor], like: Tensor) -> Optional[Tensor]:
    """A boolean mask (True = not allowed) as a float mask of 0 / -inf; float masks as is."""
    if mask is None:
        return None
    if mask.dtype.name == "bool":
        return where(mask, float("-inf"), zeros(mask.shape, dtype=like.dtype))
    return mask.to(like.dtype)


def _pad_last(mask: Optional[Tensor]) -> Optional[Tensor]:
    """Append a zero (attend) column to a mask, for an extra key position."""
    if mask is None:
        return None
    return cat([mask, zeros(mask.shape[:-1] + (1,), dtype=mask.dtype)], -1)


def _check(query: Tensor, key: Tensor, value: Tensor, embed_dim: int, num_heads: int,
           key_padding_mask: Optional[Tensor], attn_mask: Optional[Tensor]) -> None:
    """PyTorch's checks on sequence-first (or unbatched) inputs."""
    if query.ndim not in (2, 3):
        raise op_error(AssertionError, _NAME, "query should be unbatched 2D or batched 3D tensor "
                       f"but received {query.ndim}-D query tensor", query)
    if query.shape[-1] != embed_dim:
        raise op_error(AssertionError, _NAME, f"was expecting embedding dimension of "
                       f"{embed_dim}, but got {query.shape[-1]}", query)
    if embed_dim % num_heads:
        raise op_error(AssertionError, _NAME, f"embed_dim {embed_dim} not divisible by num_heads "
                       f"{num_heads}", query)
    if not query.ndim == key.ndim == value.ndim or key.shape[:-1] != value.shape[:-1]:
        raise op_error(AssertionError, _NAME, f"key shape {list(key.shape)} does not match "
                       f"value shape {list(value.shape)}", query, key, value)
    n = 1 if query.ndim == 2 else query.shape[1]
    tgt_len, src_len = query.shape[0], key.shape[0]
    if query.ndim == 3 and key.shape[1] != n:
        raise op_error(AssertionError, _NAME, f"key batch size {key.shape[1]} does not match "
                       f"query batch size {n}", query, key)
    padding_shape = (n, src_len) if query.ndim == 3 else (src_len,)
    if key_padding_mask is not None and tuple(key_padding_mask.shape) != padding_shape:
        raise op_error(AssertionError, _NAME, f"expecting key_padding_mask shape of "
                       f"{padding_shape}, but got {tuple(key_padding_mask.shape)}",
                       key_padding_mask)
    if attn_mask is None:
        return
    if attn_mask.dtype.name != "bool" and not attn_mask.is_floating_point():
        raise op_error(AssertionError, _NAME, "only bool and floating types of attn_mask are "
                       f"supported, got {attn_mask.dtype.name}", attn_mask)
    want = {2: (tgt_len, src_len), 3: (n * num_heads, tgt_len, src_len)}
    if attn_mask.ndim not in want:
        raise op_error(AssertionError, _NAME, "expected attn_mask to be None, 2-D or 3-D but "
                       f"found {attn_mask.ndim}-D tensor instead", attn_mask)
    if tuple(attn_mask.shape) != want[attn_mask.ndim]:
        raise op_error(RuntimeError, _NAME, f"The shape of the {attn_mask.ndim}D attn_mask is "
                       f"{list(attn_mask.shape)}, but should be {want[attn_mask.ndim]}.",
                       attn_mask)


def _static(t: Optional[Tensor], which: str, n: int, h: int, d: int) -> None:
    if t is None:
        return
    if t.shape[0] != n * h:
        raise op_error(AssertionError, _NAME, f"expecting static_{which}.size(0) of {n * h}, "
                       f"but got {t.shape[0]}", t)
    if t.shape[2] != d:
        raise op_error(AssertionError, _NAME, f"expecting static_{which}.size(2) of {d}, but "
                       f"got {t.shape[2]}", t)


def multi_head_attention_forward(
        query: Tensor, key: Tensor, value: Tensor, embed_dim_to_check: int, num_heads: int,
        in_proj_weight: Optional[Tensor], in_proj_bias: Optional[Tensor],
        bias_k: Optional[Tensor], bias_v: Optional[Tensor], add_zero_attn: bool,
        dropout_p: float, out_proj_weight: Tensor, out_proj_bias: Optional[Tensor],
        training: bool = True, key_padding_mask: Optional[Tensor] = None,
        need_weights: bool = True, attn_mask: Optional[Tensor] = None,
        use_separate_proj_weight: bool = False, q_proj_weight: Optional[Tensor] = None,
        k_proj_weight: Optional[Tensor] = None, v_proj_weight: Optional[Tensor] = None,
        static_k: Optional[Tensor] = None, static_v: Optional[Tensor] = None,
        average_attn_weights: bool = True, is_causal: bool = False) -> tuple:
    """Multi-head attention on sequence-first inputs (``torch.nn.functional`` of the same
    name): query ``(L, N, E)``, key/value ``(S, N, kdim/vdim)``, or unbatched without ``N``.

    Returns ``(output (L, N, E), weights)``: the weights ``(N, L, S)`` averaged over heads,
    ``(N, num_heads, L, S)`` with ``average_attn_weights=False``, None without
    ``need_weights``. ``static_k``/``static_v`` ``(N * num_heads, S, E / num_heads)`` replace
    the projected keys/values. See :class:`deepseek.nn.MultiheadAttention`.
    """
    if is_causal and attn_mask is None:
        raise op_error(RuntimeError, _NAME, "Need attn_mask if specifying the is_causal hint. "
                       "You may use the Transformer module method "
                       "`generate_square_subsequent_mask` to create this mask.")
    _check(query, key, value, embed_dim_to_check, num_heads, key_padding_mask, attn_mask)
    batched = query.ndim == 3
    if batched:  # batch first from here on
        query, key, value = (t.transpose(0, 1) for t in (query, key, value))
    else:
        query, key, value = query.unsqueeze(0), key.unsqueeze(0), value.unsqueeze(0)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    n, tgt_len, e = query.shape
    h = num_heads
    d = e // h
    if use_separate_proj_weight:
        if q_proj_weight is None or k_proj_weight is None or v_proj_weight is None:
            raise op_error(AssertionError, _NAME, "use_separate_proj_weight is True but "
                           "q_proj_weight, k_proj_weight or v_proj_weight is None")
        weights = (q_proj_weight, k_proj_weight, v_proj_weight)
    else:
        if in_proj_weight is None:
            raise op_error(AssertionError, _NAME, "use_separate_proj_weight is False but "
                           "in_proj_weight is None")
        weights = in_proj_weight.chunk(3)
    biases = (None,) * 3 if in_proj_bias is None else in_proj_bias.chunk(3)
    q = linear(query, weights[0], biases[0])
    k = None if static_k is not None else linear(key, weights[1], biases[1])
    v = None if static_v is not None else linear(value, weights[2], biases[2])

    attn_mask = _additive_mask(attn_mask, q)
    key_padding_mask = _additive_mask(key_padding_mask, q)
    if (bias_k is None) != (bias_v is None):
        raise op_error(AssertionError, _NAME, "bias_k and bias_v must both be given or both be "
                       "None")
    if bias_k is not None:
        if static_k is not None or static_v is not None:
            raise op_error(AssertionError, _NAME, "bias cannot be added to static key or value.")
        k, v = cat([k, bias_k.expand(n, 1, e)], 1), cat([v, bias_v.expand(n, 1, e)], 1)
        attn_mask, key_padding_mask = _pad_last(attn_mask), _pad_last(key_padding_mask)
    q = q.reshape(n, tgt_len, h, d).transpose(1, 2)
    _static(static_k, "k", n, h, d)
    _static(static_v, "v", n, h, d)
    k = k.reshape(n, k.shape[1], h, d).transpose(1, 2) if static_k is None else \
        static_k.reshape(n, h, static_k.shape[1], d)
    v = v.reshape(n, v.shape[1], h, d).transpose(1, 2) if static_v is None else \
        static_v.reshape(n, h, static_v.shape[1], d)
    if add_zero_attn:
        k = cat([k, zeros((n, h, 1, d), dtype=k.dtype)], 2)
        v = cat([v, zeros((n, h, 1, d), dtype=v.dtype)], 2)
        attn_mask, key_padding_mask = _pad_last(attn_mask), _pad_last(key_padding_mask)
    src_len = k.shape[2]

    scores = (q * math.sqrt(1.0 / d)) @ k.transpose(-2, -1)  # (N, H, L, S)
    if attn_mask is not None:
        if attn_mask.ndim == 3:
            attn_mask = attn_mask.reshape(n, h, tgt_len, src_len)
        scores = scores + attn_mask
    if key_padding_mask is not None:
        scores = scores + key_padding_mask.reshape(n, 1, 1, src_len)
    weights = softmax(scores, dim=-1)
    if training and dropout_p > 0:
        weights = dropout(weights, p=dropout_p)
    out = linear((weights @ v).transpose(1, 2).reshape(n, tgt_len, e), out_proj_weight,
                 out_proj_bias)
    out = out.transpose(0, 1) if batched else out.squeeze(0)
    if not need_weights:
        return out, None
    if average_attn_weights:
        weights = weights.mean(dim=1)
    return out, (weights if batched else weights.squeeze(0))
