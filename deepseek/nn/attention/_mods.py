"""The mod calling convention of flex attention: ``score_mod(score, b, h, q_idx, kv_idx)`` and
``mask_mod(b, h, q_idx, kv_idx)`` run once on the whole score grid with broadcast index tensors,
or vmapped over the four indices when they cannot take them; the mask combinators."""

from __future__ import annotations

import inspect
import types
from typing import Any, Callable, Optional

import numpy as np

from ... import _creation
from ...dtypes import bool_
from ...func import vmap
from ...tensor import Tensor

_score_mod_signature = Callable[[Tensor, Tensor, Tensor, Tensor, Tensor], Tensor]
_mask_mod_signature = Callable[[Tensor, Tensor, Tensor, Tensor], Tensor]


def _positional_count(fn: Callable) -> int:
    if isinstance(fn, types.FunctionType):
        return fn.__code__.co_argcount - len(fn.__defaults__ or ())
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return sum(1 for p in inspect.signature(fn).parameters.values()
               if p.kind in kinds and p.default is inspect.Parameter.empty)


def _is_score_mod(fn: Callable) -> bool:
    """True for ``score_mod(score, b, h, q_idx, kv_idx)``, False for ``mask_mod(b, h, q_idx,
    kv_idx)``: told apart, as torch does, by the number of positional arguments."""
    n = _positional_count(fn)
    if n not in (4, 5):
        raise AssertionError(f"Expected 4 or 5 positional args, got {n}")
    return n == 5


def noop_mask(batch: Tensor, head: Tensor, token_q: Tensor, token_kv: Tensor) -> Tensor:
    """Returns a noop mask_mod"""
    return batch.new_ones((), dtype=bool_)


def _sliced_mask_mod_error(batch: Tensor, head: Tensor, token_q: Tensor,
                           token_kv: Tensor) -> Tensor:
    """The mask_mod of a sliced BlockMask: slicing drops the original's."""
    raise RuntimeError("Cannot use mask_mod from a sliced BlockMask. When you slice a BlockMask "
                       "using [], the mask_mod attribute is reset. You must set it from the "
                       "original BlockMask's mask_mod: sliced_mask.mask_mod = "
                       "apply_offset(base_mask.mask_mod, offset)")


def _check_mods(name: str, mask_mods: tuple) -> None:
    if not all(callable(m) for m in mask_mods):
        raise RuntimeError(f"[{name}] All inputs should be callable mask_mods: {mask_mods}")


def or_masks(*mask_mods: _mask_mod_signature) -> _mask_mod_signature:
    """Returns a mask_mod that's the union of provided mask_mods"""
    _check_mods("or_masks", mask_mods)

    def or_mask(b: Tensor, h: Tensor, q_idx: Tensor, kv_idx: Tensor) -> Tensor:
        result = b.new_zeros((), dtype=bool_)
        for mask in mask_mods:
            result = result | mask(b, h, q_idx, kv_idx)
        return result

    return or_mask


def and_masks(*mask_mods: _mask_mod_signature) -> _mask_mod_signature:
    """Returns a mask_mod that's the intersection of provided mask_mods"""
    _check_mods("and_masks", mask_mods)

    def and_mask(b: Tensor, h: Tensor, q_idx: Tensor, kv_idx: Tensor) -> Tensor:
        result = b.new_ones((), dtype=bool_)
        for mask in mask_mods:
            result = result & mask(b, h, q_idx, kv_idx)
        return result

    return and_mask


def _index_grids(shape: tuple, device: Any) -> tuple:
    """``b, h, q_idx, kv_idx`` as int64 tensors laid along their own dim of ``(B, H, L, S)``."""
    grids = []
    for dim, n in enumerate(shape):
        view = [1, 1, 1, 1]
        view[dim] = n
        grids.append(_creation.arange(n, device=device).view(*view))
    return tuple(grids)


def _vmap_over_indices(fn: Callable, has_score: bool) -> Callable:
    """``fn`` vmapped over kv_idx, q_idx, h and b in turn, as torch's eager reference runs
    every mod: each call sees 0-dim index tensors (and a 0-dim score)."""
    prefix = (0,) if has_score else ()
    for dims in ((None, None, None, 0), (None, None, 0, None), (None, 0, None, None),
                 (0, None, None, None)):
        fn = vmap(fn, in_dims=prefix + dims)
    return fn


def _broadcasts_to(out: Any, shape: tuple) -> bool:
    if not isinstance(out, Tensor):
        return False
    try:
        return np.broadcast_shapes(tuple(out.shape), shape) == shape
    except ValueError:
        return False


def _call_mod(fn: Callable, score: Optional[Tensor], shape: tuple, device: Any) -> Tensor:
    """``fn`` over the whole ``(B, H, L, S)`` grid, its result broadcastable to ``shape``.

    The mod first gets broadcast index tensors (``b`` of shape ``(B, 1, 1, 1)``, ...; the full
    score), one call for the whole grid. A mod that cannot take them (Python control flow on
    an index, ``.item()``, a result of another shape) is run as torch runs it: vmapped over the
    four indices, one element at a time (slow, but the same values).
    """
    grids = _index_grids(shape, device)
    args = grids if score is None else (score,) + grids
    try:
        out = fn(*args)
    except Exception:  # noqa: BLE001 - the vmapped run below raises the mod's own error
        out = None
    if _broadcasts_to(out, shape):
        return out
    aranges = tuple(g.reshape(-1) for g in grids)
    mapped = _vmap_over_indices(fn, score is not None)
    return mapped(*aranges) if score is None else mapped(score.expand(*shape), *aranges)
