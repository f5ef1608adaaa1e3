"""``deepseek.nn.attention.flex_attention``: attention with a user ``score_mod`` and a
block-sparse ``BlockMask``, as ``torch.nn.attention.flex_attention``. The eager kernel builds
the whole score tensor and applies the mods to it at once (``_mods.py``); the mask format and
its constructors live in ``_block_mask.py``.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, NamedTuple, Optional, TypedDict

import numpy as np

from ... import _creation
from ..._errors import op_error
from ...dtypes import bool_, float32, float64
from ...ops._opdef import apply
from ...ops.attention import SDPA, SDPA_SOFTMAX, _repeat_heads
from ...ops.elementwise import isfinite, where
from ...tensor import Tensor
# the private names torch's module also holds are re-exported with the public ones
from ._block_mask import (_DEFAULT_SPARSE_BLOCK_SIZE, _LARGE_SPARSE_BLOCK_SIZE,  # noqa: F401
                          BlockMask, _device_tensor, _host, _ordered_to_dense, create_block_mask,
                          create_mask)
from ._mods import (_call_mod, _mask_mod_signature, _score_mod_signature,  # noqa: F401
                    _sliced_mask_mod_error, and_masks, noop_mask, or_masks)

__all__ = ["BlockMask", "flex_attention", "AuxOutput", "AuxRequest", "FlexKernelOptions",
           "create_block_mask", "create_mask", "or_masks", "and_masks", "noop_mask"]

_BACKENDS = ("AUTO", "TRITON", "FLASH", "TRITON_DECODE")
_WARNINGS_SHOWN: set = set()


class FlexKernelOptions(TypedDict, total=False):
    """torch's tuning options for its Triton kernels. They are accepted and checked as torch
    checks them (``BACKEND`` must be one of ``"AUTO"``, ``"TRITON"``, ``"FLASH"``,
    ``"TRITON_DECODE"``); the eager kernel here has nothing for the rest to tune."""

    num_warps: int
    num_stages: int
    BLOCK_M: int
    BLOCK_N: int
    BLOCK_M1: int
    BLOCK_N1: int
    BLOCK_M2: int
    BLOCK_N2: int
    PRESCALE_QK: bool
    ROWS_GUARANTEED_SAFE: bool
    BLOCKS_ARE_CONTIGUOUS: bool
    WRITE_DQ: bool
    FORCE_USE_FLEX_ATTENTION: bool
    USE_TMA: bool
    kpack: int
    matrix_instr_nonkdim: int
    waves_per_eu: int
    BACKEND: str


class AuxRequest(NamedTuple):
    """Which auxiliary outputs ``flex_attention(..., return_aux=...)`` computes."""

    lse: bool = False
    max_scores: bool = False


class AuxOutput(NamedTuple):
    """The auxiliary outputs of ``flex_attention``; a field not requested is None."""

    lse: Optional[Tensor] = None
    max_scores: Optional[Tensor] = None


# ---------------------------------------------------------------- flex_attention
_OP = "flex_attention"


def _check_inputs(q: Any, k: Any, v: Any, block_mask: Any, enable_gqa: bool) -> None:
    """torch's checks, in torch's order and with its exception types."""
    for x, name in ((q, "query"), (k, "key"), (v, "value")):
        if not isinstance(x, Tensor):
            raise op_error(TypeError, _OP, f"argument '{name}' must be Tensor, not "
                           f"{type(x).__name__}")
    if not (q.device == k.device == v.device):
        raise op_error(ValueError, _OP, "Expected query, key, and value to have the same "
                       f"device type, but got query.device: {q.device}, key.device: "
                       f"{k.device}, and value.device: {v.device} instead.", q, k, v)
    if not all(x.dtype.is_floating_point for x in (q, k, v)):
        raise op_error(RuntimeError, _OP, "expected floating-point query, key and value",
                       q, k, v)
    if q.dim() != 4 or k.dim() != 4 or v.dim() != 4:
        raise op_error(NotImplementedError, _OP, "NYI: query, key, and value must be 4D "
                       "tensors (B, H, L, E)", q, k, v)
    if q.shape[-1] != k.shape[-1]:
        raise op_error(ValueError, _OP, "Expect query and key/value to have the same embedding "
                       f"dimension but got E={q.shape[-1]} and E={k.shape[-1]}.", q, k, v)
    if k.shape[:3] != v.shape[:3]:
        raise op_error(ValueError, _OP, "Expect key and value to have the same batch size, "
                       "number of heads and sequence length", q, k, v)
    hq, hkv = q.shape[1], k.shape[1]
    if not enable_gqa and hq != hkv:
        raise op_error(ValueError, _OP, "Expect query and key/value to have the same number of "
                       f"heads but got Hq={hq} and Hkv={hkv}. Try setting enable_gqa=True for "
                       "GQA.", q, k, v)
    if enable_gqa and (hkv == 0 or hq % hkv):
        raise op_error(ValueError, _OP, "Expect number of query heads to be a multiple of kv "
                       f"heads for GQA but got Hq={hq} and Hkv={hkv}.", q, k, v)
    if block_mask is not None and not isinstance(block_mask, BlockMask):
        raise op_error(TypeError, _OP, "block_mask must be a BlockMask (see create_block_mask),"
                       f" not {type(block_mask).__name__}")
    if q.shape[0] != k.shape[0]:
        if block_mask is None:
            raise op_error(ValueError, _OP, "Expect query and key/value to have the same batch "
                           "size, or non-none block_mask, but got block_mask=None, "
                           f"Bq={q.shape[0]}, and Bkv={k.shape[0]}.", q, k, v)
        if block_mask.kv_num_blocks.shape[0] != q.shape[0]:
            raise op_error(ValueError, _OP, "Expect query and key/value to have the same batch "
                           "size, or block_mask and query to have the same batch size, but got "
                           f"Bq={q.shape[0]}, Bkv={k.shape[0]}, "
                           f"B_block_mask={block_mask.kv_num_blocks.shape[0]}.", q, k, v)
        if k.shape[0] != 1:
            raise op_error(RuntimeError, _OP, f"Bq and Bkv must broadcast. Got Bq={q.shape[0]} "
                           f"and Bkv={k.shape[0]}", q, k, v)


def _check_block_mask(block_mask: BlockMask, q: Tensor, k: Tensor) -> None:
    if block_mask.mask_mod is _sliced_mask_mod_error:
        raise RuntimeError(f"[{_OP}] Cannot use mask_mod from a sliced BlockMask")
    if block_mask.BLOCK_SIZE == (_LARGE_SPARSE_BLOCK_SIZE, _LARGE_SPARSE_BLOCK_SIZE):
        return
    bm_q, bm_kv = block_mask.shape[-2:]
    L, S = q.shape[-2], k.shape[-2]
    if L > bm_q or S > bm_kv:
        raise ValueError(f"[{_OP}] block_mask was created for block_mask.shape="
                         f"{block_mask.shape} but got q_len={L} and kv_len={S}. As the block "
                         "mask was created for a smaller length than you're using it for, you "
                         "likely need to create a new block mask.")
    if L < bm_q or S < bm_kv:
        raise ValueError(f"[{_OP}] block_mask was created for block_mask.shape="
                         f"{block_mask.shape} but got q_len={L} and kv_len={S}. As the block "
                         "mask was created for a larger length than you're using it for, you "
                         "can either 1. create a new block mask with the correct length, or 2. "
                         "'adjust' the existing block mask to the correct length by calling "
                         "block_mask._adjust(q_len, kv_len). This essentially 'crops' the block "
                         "mask to the upper left corner, which does not work for all "
                         "mask_mods!")
    if q.device != block_mask.kv_num_blocks.device:
        raise RuntimeError(f"[{_OP}] Expect q/k/v and block_mask to be on the same device but "
                           f"got {q.device} and {block_mask.kv_num_blocks.device}.")
    if block_mask.kv_num_blocks.dim() != 3 or block_mask.kv_indices.dim() != 4:
        raise op_error(ValueError, _OP, "block_mask must hold (B, H, rows) kv_num_blocks and "
                       "(B, H, rows, cols) kv_indices", block_mask.kv_num_blocks,
                       block_mask.kv_indices)
    for got, want, what in zip(block_mask.kv_num_blocks.shape[:2], q.shape[:2],
                               ("batch size", "number of heads")):
        if got not in (1, want):
            raise op_error(ValueError, _OP, f"block_mask's {what} ({got}) must be 1 or query's "
                           f"({want})", q, block_mask.kv_num_blocks)


def _check_kernel_options(kernel_options: Any, want_max: bool) -> None:
    options = {} if kernel_options is None else dict(kernel_options)
    if "BACKEND" in options and options.get("FORCE_USE_FLEX_ATTENTION", False):
        raise RuntimeError(f"[{_OP}] BACKEND cannot be combined with legacy "
                           "FORCE_USE_FLEX_ATTENTION. BACKEND supersedes the legacy knob; please "
                           "drop FORCE_USE_FLEX_ATTENTION and only specify the desired BACKEND.")
    if options.get("BACKEND", "AUTO") not in _BACKENDS:
        raise ValueError(f"[{_OP}] Invalid BACKEND value '{options['BACKEND']}'. Must be one of "
                         f"{_BACKENDS}")
    for internal in ("OUTPUT_LOGSUMEXP", "OUTPUT_MAX"):
        if internal in options:
            raise AssertionError(f"[{_OP}] {internal} must not be in kernel_options")
    if options.get("BACKEND") == "FLASH" and want_max:
        raise NotImplementedError(f"[{_OP}] Returning max scores is not supported with "
                                  "BACKEND='FLASH'. Use return_aux=AuxRequest(lse=True) or omit "
                                  "max_scores.")


def _expanded_blocks(num_blocks: Tensor, indices: Tensor, block: tuple, L: int,
                     S: int) -> np.ndarray:
    """The bool ``(B, H, L, S)`` grid of entries inside the listed blocks."""
    dense = _ordered_to_dense(_host(num_blocks), _host(indices), indices.shape[-1]) > 0
    dense = np.repeat(np.repeat(dense, block[0], axis=-2), block[1], axis=-1)
    out = np.zeros(dense.shape[:-2] + (L, S), np.bool_)
    rows, cols = min(L, dense.shape[-2]), min(S, dense.shape[-1])
    out[..., :rows, :cols] = dense[..., :rows, :cols]
    return out


def _allowed(block_mask: Optional[BlockMask], shape: tuple, device: Any) -> Optional[Tensor]:
    """Where attention is allowed, a bool tensor broadcastable to ``(B, H, L, S)``, or None for
    everywhere: a full block everywhere, a partial block where ``mask_mod`` says, an unlisted
    block nowhere (the block-sparse kernels' rule; for a mask from ``create_block_mask`` it is
    just ``mask_mod``)."""
    mask_mod = noop_mask if block_mask is None else block_mask.mask_mod
    whole = block_mask is None or block_mask.BLOCK_SIZE == (_LARGE_SPARSE_BLOCK_SIZE,
                                                            _LARGE_SPARSE_BLOCK_SIZE)
    L, S = shape[-2:]
    if whole:
        partial, full = np.ones((1, 1, L, S), np.bool_), None
    else:
        bs = block_mask.BLOCK_SIZE
        partial = _expanded_blocks(block_mask.kv_num_blocks, block_mask.kv_indices, bs, L, S)
        full = None if block_mask.full_kv_num_blocks is None else _expanded_blocks(
            block_mask.full_kv_num_blocks, block_mask.full_kv_indices, bs, L, S)
    if mask_mod is noop_mask or not partial.any():
        allowed = partial if full is None else partial | full
        return None if allowed.all() else _device_tensor(allowed, device)
    by_mod = _call_mod(mask_mod, None, shape, device)
    if by_mod.dtype != bool_:
        raise op_error(RuntimeError, _OP, "mask_mod must return a bool tensor (True attends), "
                       f"got {by_mod.dtype}", by_mod)
    if not partial.all():
        by_mod = by_mod & _device_tensor(partial, device)
    if full is not None and full.any():
        by_mod = by_mod | _device_tensor(full, device)
    return by_mod


def _log_sum_exp(x: Tensor) -> Tensor:
    """logsumexp over the last dim; ``-inf`` (and no gradient) for a row of ``-inf``."""
    top = x.detach().amax(dim=-1, keepdim=True)
    top = where(isfinite(top), top, 0.0)
    total = (x - top).exp().sum(dim=-1)
    empty = total == 0
    return where(empty, -math.inf, where(empty, 1.0, total).log() + top.squeeze(-1))


def _warn_once(key: str, message: str, category: type) -> None:
    if key not in _WARNINGS_SHOWN:
        warnings.warn(message, category, stacklevel=3)
        _WARNINGS_SHOWN.add(key)


def flex_attention(query: Tensor, key: Tensor, value: Tensor,
                   score_mod: Optional[_score_mod_signature] = None,
                   block_mask: Optional[BlockMask] = None, scale: Optional[float] = None,
                   enable_gqa: bool = False, return_lse: bool = False,
                   kernel_options: Optional[FlexKernelOptions] = None, *,
                   return_aux: Optional[AuxRequest] = None) -> Any:
    """Scaled dot-product attention whose scores pass through ``score_mod`` and whose mask
    comes from ``block_mask``: ``softmax(mask(score_mod(q @ k^T * scale))) @ v``.

    ``score_mod(score, b, h, q_idx, kv_idx)`` and ``block_mask.mask_mod(b, h, q_idx,
    kv_idx)`` are written for one score; here they get the whole score tensor with index
    tensors that broadcast against it (``b`` of shape ``(B, 1, 1, 1)``, ``h`` ``(1, H, 1,
    1)``, ``q_idx`` ``(1, 1, L, 1)``, ``kv_idx`` ``(1, 1, 1, S)``; int64), so arithmetic,
    comparisons, ``where``, ``tanh`` and indexing a tensor by ``q_idx`` act elementwise. A
    mod that cannot take them is vmapped over each index, as torch's eager reference does.
    Gradients reach q, k, v and any tensor a mod captures. A row with nothing to attend to
    gives zeros (and lse ``-inf``). Scores are computed in float32 for float16/bfloat16.

    Args:
        query (Tensor): ``(B, Hq, L, E)``.
        key (Tensor): ``(B, Hkv, S, E)``.
        value (Tensor): ``(B, Hkv, S, Ev)``.
        score_mod (Callable, optional): modifies each score; default none.
        block_mask (BlockMask, optional): where to attend; default everywhere.
        scale (float, optional): default ``1 / sqrt(E)``.
        enable_gqa (bool): key/value heads each serve ``Hq / Hkv`` consecutive query heads.
        return_lse (bool): also return the logsumexp of the scores, ``(B, Hq, L)``
            (deprecated in torch for ``return_aux``).
        kernel_options (FlexKernelOptions, optional): checked as torch does, else unused.
        return_aux (AuxRequest, optional): also return an :class:`AuxOutput` with the
            requested ``lse`` and ``max_scores`` (the row maxima of the modified scores).

    Shape:
        Output: ``(B, Hq, L, Ev)``.

    Example:
        >>> q = ds.randn(1, 2, 8, 4)
        >>> causal = create_block_mask(lambda b, h, qi, kv: qi >= kv, None, None, 8, 8,
        ...                            device="cpu")
        >>> out = flex_attention(q, q, q, lambda s, b, h, qi, kv: s + (qi - kv),
        ...                      block_mask=causal)
        >>> out.shape
        deepseek.Size([1, 2, 8, 4])
    """
    _check_inputs(query, key, value, block_mask, enable_gqa)
    if block_mask is not None:
        _check_block_mask(block_mask, query, key)
    if return_lse and return_aux is not None:
        raise ValueError(f"[{_OP}] Cannot specify both return_lse and return_aux. return_lse is "
                         "deprecated, please use return_aux=AuxRequest(lse=True) instead.")
    if return_lse:
        _warn_once("deprecated_return_lse", "return_lse is deprecated and will be removed in "
                   "v2.10. Please use return_aux=AuxRequest(lse=True) instead.", FutureWarning)
    want_lse = return_lse or (return_aux is not None and return_aux.lse)
    want_max = return_aux is not None and return_aux.max_scores
    _check_kernel_options(kernel_options, want_max)

    q, k, v = query, key, value
    B, H, L = q.shape[:3]
    S = k.shape[-2]
    shape, device = (B, H, L, S), q.device
    if enable_gqa and k.shape[1] != H:
        k, v = _repeat_heads(k, H), _repeat_heads(v, H)
    s = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    allowed = _allowed(block_mask, shape, device)
    dtype = q.dtype
    work = float64 if dtype == float64 else float32  # torch's working precision
    k, v = k.to(work), v.to(dtype)

    if score_mod is None and not (want_lse or want_max) and dtype == work:
        # the SDPA kernel, as is (float16/bfloat16 take the path below, which rounds the
        # weights to their dtype before the product with v, as torch does)
        zero = _creation.zeros((), dtype=dtype, device=device)
        bias = zero if allowed is None else where(allowed, zero, -math.inf)
        drop = _creation.ones((), dtype=dtype, device=device)
        out = apply(SDPA, q, k, v, bias, drop, scale=s)
        return (out, AuxOutput()) if return_aux is not None else out

    scores = (q.to(work) @ k.mT) * s
    if score_mod is not None:
        scores = _call_mod(score_mod, scores, shape, device).expand(*shape)
    zero = _creation.zeros((), dtype=scores.dtype, device=device)
    bias = zero if allowed is None else where(allowed, zero, -math.inf)
    weights = apply(SDPA_SOFTMAX, scores, bias, scale=1.0)
    out = weights.to(dtype) @ v
    masked = scores if allowed is None else where(allowed, scores, -math.inf)
    lse = _log_sum_exp(masked) if want_lse else None
    if return_aux is not None:
        return out, AuxOutput(lse=lse, max_scores=masked.amax(dim=-1) if want_max else None)
    return (out, lse) if return_lse else out
