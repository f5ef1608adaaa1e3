"""``MultiheadAttention`` (exported from ``activation.py``, where PyTorch keeps it)."""

from __future__ import annotations

import math
from typing import Any, Optional

from ..._creation import empty, zeros
from ..._errors import op_error
from ...ops.elementwise import where
from ...ops.movement import cat
from ...tensor import Tensor
from .. import functional as F
from .. import init
from ..parameter import Parameter
from .linear import Linear
from .module import Module

__all__ = ["MultiheadAttention", "NonDynamicallyQuantizableLinear"]


class NonDynamicallyQuantizableLinear(Linear):
    """``Linear``, under the name PyTorch gives the attention output projection."""


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


class MultiheadAttention(Module):
    """Multi-head attention: ``softmax(Q Kᵀ / sqrt(d) + mask) V`` on learned projections of
    ``query``, ``key`` and ``value``, for ``num_heads`` heads in parallel.

    Args:
        embed_dim: model dimension ``E``. num_heads: heads (``E`` must divide evenly).
        dropout: dropout on the attention weights (training only). Default: 0.
        bias: biases in the input/output projections. Default: True.
        add_bias_kv: learned biases appended to the key and value sequences. Default: False.
        add_zero_attn: a zero key/value position appended. Default: False.
        kdim, vdim: feature sizes of key and value (default ``embed_dim``).
        batch_first: inputs and outputs are ``(N, L, E)`` instead of ``(L, N, E)``.

    Shape:
        - query ``(L, N, E)``, key ``(S, N, kdim)``, value ``(S, N, vdim)`` (or batch first,
          or unbatched without ``N``); key_padding_mask ``(N, S)`` (True = ignore, or float
          added); attn_mask ``(L, S)`` or ``(N * num_heads, L, S)`` (True = not allowed, or
          float added).
        - Output: ``(attn_output, attn_weights)``, the weights ``(N, L, S)`` averaged over
          heads (``(N, num_heads, L, S)`` with ``average_attn_weights=False``), or None
          when ``need_weights=False``.

    Example::

        >>> mha = ds.nn.MultiheadAttention(8, 2, batch_first=True)
        >>> x = ds.randn(3, 5, 8)
        >>> out, w = mha(x, x, x)
        >>> out.shape, w.shape
        (deepseek.Size([3, 5, 8]), deepseek.Size([3, 5, 5]))
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False,
                 kdim: Optional[int] = None, vdim: Optional[int] = None,
                 batch_first: bool = False, device: Any = None, dtype: Any = None) -> None:
        if embed_dim <= 0 or num_heads <= 0:
            raise op_error(ValueError, "MultiheadAttention", "embed_dim and num_heads must be "
                           f"greater than 0, got embed_dim={embed_dim} and num_heads={num_heads} "
                           "instead")
        super().__init__()
        kw = {"device": device, "dtype": dtype}
        self.embed_dim = embed_dim
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads = num_heads
        self.dropout = dropout
        self.batch_first = batch_first
        self.head_dim = embed_dim // num_heads
        if self.head_dim * num_heads != embed_dim:
            raise op_error(AssertionError, "MultiheadAttention", "embed_dim must be divisible by "
                           f"num_heads (got embed_dim={embed_dim}, num_heads={num_heads})")
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(empty((3 * embed_dim, embed_dim), **kw))
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.q_proj_weight = Parameter(empty((embed_dim, embed_dim), **kw))
            self.k_proj_weight = Parameter(empty((embed_dim, self.kdim), **kw))
            self.v_proj_weight = Parameter(empty((embed_dim, self.vdim), **kw))
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(empty(3 * embed_dim, **kw))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias, **kw)
        if add_bias_kv:
            self.bias_k = Parameter(empty((1, 1, embed_dim), **kw))
            self.bias_v = Parameter(empty((1, 1, embed_dim), **kw))
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            for w in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                init.xavier_uniform_(w)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
            init.xavier_normal_(self.bias_v)

    def _projections(self) -> tuple:
        if self._qkv_same_embed_dim:
            weights = self.in_proj_weight.chunk(3)
        else:
            weights = (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight)
        biases = (None,) * 3 if self.in_proj_bias is None else self.in_proj_bias.chunk(3)
        return weights, biases

    def _check_inputs(self, query: Tensor, key: Tensor, value: Tensor,
                      key_padding_mask: Optional[Tensor], attn_mask: Optional[Tensor]) -> None:
        """PyTorch's checks on the inputs as given (batched or not, batch first or not)."""
        name = "MultiheadAttention"
        if query.shape[-1] != self.embed_dim:
            raise op_error(AssertionError, name, f"was expecting embedding dimension of "
                           f"{self.embed_dim}, but got {query.shape[-1]}", query)
        if not query.ndim == key.ndim == value.ndim or key.shape[:-1] != value.shape[:-1]:
            raise op_error(AssertionError, name, f"key shape {list(key.shape)} does not match "
                           f"value shape {list(value.shape)}", query, key, value)
        if query.ndim == 2:
            n, tgt_len, src_len = 1, query.shape[0], key.shape[0]
        else:
            batch = 0 if self.batch_first else 1
            n, tgt_len, src_len = query.shape[batch], query.shape[1 - batch], key.shape[1 - batch]
            if key.shape[batch] != n:
                raise op_error(AssertionError, name, f"key batch size {key.shape[batch]} does "
                               f"not match query batch size {n}", query, key)
        padding_shape = (n, src_len) if query.ndim == 3 else (src_len,)
        if key_padding_mask is not None and tuple(key_padding_mask.shape) != padding_shape:
            raise op_error(AssertionError, name, f"expecting key_padding_mask shape of "
                           f"{padding_shape}, but got {tuple(key_padding_mask.shape)}",
                           key_padding_mask)
        if attn_mask is None:
            return
        if attn_mask.dtype.name != "bool" and not attn_mask.is_floating_point():
            raise op_error(AssertionError, name, "only bool and floating types of attn_mask are "
                           f"supported, got {attn_mask.dtype.name}", attn_mask)
        want = {2: (tgt_len, src_len), 3: (n * self.num_heads, tgt_len, src_len)}
        if attn_mask.ndim not in want:
            raise op_error(AssertionError, name, "expected attn_mask to be None, 2-D or 3-D but "
                           f"found {attn_mask.ndim}-D tensor instead", attn_mask)
        if tuple(attn_mask.shape) != want[attn_mask.ndim]:
            raise op_error(RuntimeError, name, f"The shape of the {attn_mask.ndim}D attn_mask is "
                           f"{list(attn_mask.shape)}, but should be {want[attn_mask.ndim]}.",
                           attn_mask)

    def forward(self, query: Tensor, key: Tensor, value: Tensor,
                key_padding_mask: Optional[Tensor] = None, need_weights: bool = True,
                attn_mask: Optional[Tensor] = None, average_attn_weights: bool = True,
                is_causal: bool = False) -> tuple:
        if query.ndim not in (2, 3):
            raise op_error(AssertionError, "MultiheadAttention", "query should be unbatched 2D or "
                           f"batched 3D tensor but received {query.ndim}-D query tensor", query)
        if is_causal and attn_mask is None:
            raise op_error(RuntimeError, "MultiheadAttention", "Need attn_mask if specifying the "
                           "is_causal hint. You may use the Transformer module method "
                           "`generate_square_subsequent_mask` to create this mask.")
        self._check_inputs(query, key, value, key_padding_mask, attn_mask)
        batched = query.ndim == 3
        if not batched:  # a batch of one, batch first
            query, key, value = query.unsqueeze(0), key.unsqueeze(0), value.unsqueeze(0)
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        elif not self.batch_first:
            query, key, value = (t.transpose(0, 1) for t in (query, key, value))
        n, tgt_len, e = query.shape
        h, d = self.num_heads, self.head_dim
        (wq, wk, wv), (bq, bk, bv) = self._projections()
        q, k, v = F.linear(query, wq, bq), F.linear(key, wk, bk), F.linear(value, wv, bv)

        attn_mask = _additive_mask(attn_mask, q)
        key_padding_mask = _additive_mask(key_padding_mask, q)
        if self.bias_k is not None:
            k = cat([k, self.bias_k.expand(n, 1, e)], 1)
            v = cat([v, self.bias_v.expand(n, 1, e)], 1)
            attn_mask, key_padding_mask = _pad_last(attn_mask), _pad_last(key_padding_mask)
        q, k, v = (t.reshape(n, t.shape[1], h, d).transpose(1, 2) for t in (q, k, v))
        if self.add_zero_attn:
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
        weights = F.softmax(scores, dim=-1)
        if self.training and self.dropout > 0:
            weights = F.dropout(weights, p=self.dropout)
        out = (weights @ v).transpose(1, 2).reshape(n, tgt_len, e)
        out = self.out_proj(out)

        if not batched:
            out = out.squeeze(0)
        elif not self.batch_first:
            out = out.transpose(0, 1)
        if not need_weights:
            return out, None
        if average_attn_weights:
            weights = weights.mean(dim=1)
        return out, (weights if batched else weights.squeeze(0))
