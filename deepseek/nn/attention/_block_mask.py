"""``BlockMask``, torch's block-sparse mask format (its metadata kept in torch's layout and
computed on the host with NumPy), and ``create_mask``/``create_block_mask`` from a mod."""

from __future__ import annotations

import functools
import itertools
import operator
import warnings
from typing import Any, Optional, Tuple, Union

import numpy as np

from ... import _creation
from ..._errors import op_error
from ...dtypes import bool_
from ...ops.elementwise import isneginf
from ...tensor import Tensor
from ._mods import (_call_mod, _is_score_mod, _mask_mod_signature, _score_mod_signature,
                    _sliced_mask_mod_error, noop_mask)

_DEFAULT_SPARSE_BLOCK_SIZE = 128
_LARGE_SPARSE_BLOCK_SIZE = 1 << 30


def _host(t: Optional[Tensor]) -> Optional[np.ndarray]:
    return None if t is None else np.asarray(t.detach().cpu().numpy())


def _device_tensor(a: np.ndarray, device: Any) -> Tensor:
    t = _creation.from_numpy(np.ascontiguousarray(a))
    return t if device is None or str(device) == "cpu" else t.to(device)


def _ordered_to_dense(num_blocks: np.ndarray, indices: np.ndarray, num_cols: int) -> np.ndarray:
    """The 0/1 int32 ``(..., rows, num_cols)`` grid of each row's first ``num_blocks`` columns
    listed in ``indices``."""
    rows, entries = indices.shape[-2:]
    valid = np.arange(entries) < num_blocks[..., None]
    cols = np.where(valid, indices, num_cols).astype(np.int64)  # one spare column takes the rest
    dense = np.zeros(indices.shape[:-2] + (rows, num_cols + 1), np.int32)
    np.put_along_axis(dense, cols, 1, axis=-1)
    return np.ascontiguousarray(dense[..., :num_cols])


def _dense_to_ordered(dense: np.ndarray) -> tuple:
    """Per row: how many blocks are set, and the columns, set ones first (a stable sort)."""
    dense = dense.astype(np.int32)
    counts = dense.sum(axis=-1).astype(np.int32)
    return counts, np.argsort(-dense, axis=-1, kind="stable").astype(np.int32)


def _transpose_ordered(num_blocks: np.ndarray, indices: np.ndarray) -> tuple:
    dense = _ordered_to_dense(num_blocks, indices, indices.shape[-1])
    return _dense_to_ordered(np.swapaxes(dense, -2, -1))


def _adjust_ordered(num_blocks: np.ndarray, indices: np.ndarray, rows: int, cols: int) -> tuple:
    indices = indices[:, :, :rows, :cols]
    num_blocks = np.minimum(num_blocks[:, :, :rows], cols)
    return (indices < num_blocks[..., None]).sum(axis=-1).astype(np.int32), indices


def _dq_write_order(block_mask: "BlockMask", descending: Optional[bool]) -> tuple:
    """torch's dQ write-order metadata for its deterministic block-sparse FLASH backward: for
    each backward (n-block, entry), the rank of that m-block among the n-blocks its row
    visits (ascending n, or descending when ``descending``)."""
    bm = block_mask
    if bm.q_num_blocks is None or bm.q_indices is None:
        raise ValueError("BlockMask must have q_num_blocks and q_indices to compute "
                         "dq_write_order")
    arrays = {name: _host(getattr(bm, name)) for name in BlockMask._TENSOR_ATTRS[:8]}
    heads = [a.shape[:2] for n, a in arrays.items() if a is not None and n.endswith("indices")]
    B, H = np.broadcast_shapes(*heads)

    def expand(a: np.ndarray) -> np.ndarray:
        return np.broadcast_to(a, (B, H) + a.shape[2:])

    kv_num, kv_idx = expand(arrays["kv_num_blocks"]), expand(arrays["kv_indices"])
    num_m, num_n = kv_idx.shape[2], arrays["q_indices"].shape[2]
    dense = _ordered_to_dense(kv_num, kv_idx, num_n)
    has_full = arrays["full_kv_num_blocks"] is not None
    if has_full:
        full = _ordered_to_dense(expand(arrays["full_kv_num_blocks"]),
                                 expand(arrays["full_kv_indices"]), num_n)
        dense = np.minimum(dense + full, 1)
    cumsum = dense.cumsum(axis=-1)
    rank = (cumsum - dense).astype(np.int32)
    if descending:
        rank = (cumsum[..., -1:] - 1 - rank).astype(np.int32)

    def gather(bwd: np.ndarray) -> Tensor:
        b = np.arange(B)[:, None, None, None]
        h = np.arange(H)[None, :, None, None]
        n = np.arange(bwd.shape[2])[None, None, :, None]
        m = np.clip(bwd.astype(np.int64), 0, num_m - 1)
        return _device_tensor(rank[b, h, m, n].astype(np.int32), bm.kv_indices.device)

    full_order = None
    if has_full and arrays["full_q_indices"] is not None:
        full_order = gather(arrays["full_q_indices"])
    return gather(arrays["q_indices"]), full_order


class BlockMask:
    """A block-sparse attention mask, torch's format: per ``(batch, head, q-block row)`` the
    number of kv blocks to visit and their column indices (``kv_num_blocks``, ``kv_indices``);
    optionally the same for the fully unmasked blocks (``full_kv_*``), where ``mask_mod`` need
    not be evaluated; and their transposes for the backward pass (``q_*``, ``full_q_*``).

    ``flex_attention`` attends a full block everywhere, a partial block where ``mask_mod``
    says, and an unlisted block nowhere. Build one with :func:`create_block_mask` or
    :meth:`from_kv_blocks`.

    Example:
        >>> bm = create_block_mask(lambda b, h, q, kv: q >= kv, None, None, 256, 256,
        ...                        device="cpu")
        >>> bm.shape, bm.sparsity()
        ((1, 1, 256, 256), 25.0)
    """

    _TENSOR_ATTRS = ["kv_num_blocks", "kv_indices", "full_kv_num_blocks", "full_kv_indices",
                     "q_num_blocks", "q_indices", "full_q_num_blocks", "full_q_indices",
                     "dq_write_order", "dq_write_order_full", "dq_kv_order"]
    _CONTEXT_ATTRS = ["seq_lengths", "BLOCK_SIZE", "mask_mod", "dq_kv_order_spt"]

    def __init__(self, seq_lengths: Tuple[int, int], kv_num_blocks: Tensor, kv_indices: Tensor,
                 full_kv_num_blocks: Optional[Tensor], full_kv_indices: Optional[Tensor],
                 q_num_blocks: Optional[Tensor], q_indices: Optional[Tensor],
                 full_q_num_blocks: Optional[Tensor], full_q_indices: Optional[Tensor],
                 BLOCK_SIZE: Tuple[int, int] = (_DEFAULT_SPARSE_BLOCK_SIZE,
                                                _DEFAULT_SPARSE_BLOCK_SIZE),
                 mask_mod: _mask_mod_signature = noop_mask, *,
                 dq_write_order: Optional[Tensor] = None,
                 dq_write_order_full: Optional[Tensor] = None,
                 dq_kv_order: Optional[Tensor] = None,
                 dq_kv_order_spt: Optional[bool] = None) -> None:
        if kv_indices.dim() < 2:
            raise RuntimeError("BlockMask must have at least 2 dimensions")
        if (full_kv_num_blocks is None) != (full_kv_indices is None):
            raise AssertionError("full_kv_num_blocks and full_kv_indices must be both provided "
                                 "or omitted")
        if (full_q_num_blocks is None) != (full_q_indices is None):
            raise AssertionError("full_q_num_blocks and full_q_indices must be both provided "
                                 "or omitted")
        if dq_write_order_full is not None and dq_write_order is None:
            raise ValueError("dq_write_order_full requires dq_write_order")
        self.seq_lengths = tuple(seq_lengths)
        self.kv_num_blocks = kv_num_blocks
        self.kv_indices = kv_indices
        self.full_kv_num_blocks = full_kv_num_blocks
        self.full_kv_indices = full_kv_indices
        self.q_num_blocks = q_num_blocks
        self.q_indices = q_indices
        self.full_q_num_blocks = full_q_num_blocks
        self.full_q_indices = full_q_indices
        self.dq_write_order = dq_write_order
        self.dq_write_order_full = dq_write_order_full
        self.dq_kv_order = dq_kv_order
        self.dq_kv_order_spt = dq_kv_order_spt
        self.BLOCK_SIZE = tuple(BLOCK_SIZE)
        self.mask_mod = mask_mod

    @classmethod
    def from_kv_blocks(cls, kv_num_blocks: Tensor, kv_indices: Tensor,
                       full_kv_num_blocks: Optional[Tensor] = None,
                       full_kv_indices: Optional[Tensor] = None,
                       BLOCK_SIZE: Union[int, Tuple[int, int]] = _DEFAULT_SPARSE_BLOCK_SIZE,
                       mask_mod: Optional[_mask_mod_signature] = None,
                       seq_lengths: Optional[Tuple[int, int]] = None,
                       compute_q_blocks: bool = True, *,
                       dq_write_order: Optional[Tensor] = None,
                       dq_write_order_full: Optional[Tensor] = None,
                       dq_kv_order: Union[Tensor, bool, None] = None) -> "BlockMask":
        """A BlockMask from its kv-side metadata; the q-side (backward) metadata is derived.

        Args:
            kv_num_blocks (Tensor): ``(B, H, rows)`` kv blocks per Q_BLOCK_SIZE row tile.
            kv_indices (Tensor): ``(B, H, rows, cols)`` their column indices, in order.
            full_kv_num_blocks, full_kv_indices (Tensor, optional): the same for full blocks.
            BLOCK_SIZE (int or (int, int)): the (Q, KV) block size.
            mask_mod (Callable, optional): applied inside partial blocks; default everywhere.
            seq_lengths ((int, int), optional): (Q_LEN, KV_LEN); default the blocks' extent.
            compute_q_blocks (bool): derive ``q_num_blocks``/``q_indices`` (and ``full_q_*``).
        """
        if kv_indices.dim() < 2:
            raise RuntimeError("BlockMask must have at least 2 dimensions")
        if (full_kv_num_blocks is None) != (full_kv_indices is None):
            raise AssertionError("full_kv_num_blocks and full_kv_indices must be both provided "
                                 "or omitted")
        device = kv_indices.device
        q_side: list = [None, None, None, None]
        if compute_q_blocks:
            num, idx = _transpose_ordered(_host(kv_num_blocks), _host(kv_indices))
            q_side[:2] = _device_tensor(num, device), _device_tensor(idx, device)
            if full_kv_num_blocks is not None:
                num, idx = _transpose_ordered(_host(full_kv_num_blocks), _host(full_kv_indices))
                q_side[2:] = _device_tensor(num, device), _device_tensor(idx, device)
        if isinstance(BLOCK_SIZE, int):
            BLOCK_SIZE = (BLOCK_SIZE, BLOCK_SIZE)
        if seq_lengths is None:
            seq_lengths = (kv_indices.shape[-2] * BLOCK_SIZE[0],
                           kv_indices.shape[-1] * BLOCK_SIZE[1])
        if dq_kv_order is not None and not isinstance(dq_kv_order, (bool, Tensor)):
            raise ValueError("dq_kv_order must be a bool, Tensor, or None")
        return cls(seq_lengths, kv_num_blocks, kv_indices, full_kv_num_blocks, full_kv_indices,
                   *q_side, BLOCK_SIZE=BLOCK_SIZE,
                   mask_mod=noop_mask if mask_mod is None else mask_mod,
                   dq_write_order=dq_write_order, dq_write_order_full=dq_write_order_full,
                   dq_kv_order=dq_kv_order if isinstance(dq_kv_order, Tensor) else None,
                   dq_kv_order_spt=dq_kv_order if isinstance(dq_kv_order, bool) else None)

    def as_tuple(self, flatten: bool = True) -> tuple:
        """The attributes in torch's order; ``flatten`` splits seq_lengths and BLOCK_SIZE."""
        lengths = tuple(self.seq_lengths) if flatten else (self.seq_lengths,)
        block = tuple(self.BLOCK_SIZE) if flatten else (self.BLOCK_SIZE,)
        tensors = tuple(getattr(self, name) for name in self._TENSOR_ATTRS)
        return (*lengths, *tensors, self.dq_kv_order_spt, *block, self.mask_mod)

    @property
    def shape(self) -> tuple:
        """``(*batch_dims, Q_LEN, KV_LEN)``."""
        return tuple(self.kv_indices.shape[:-2]) + tuple(self.seq_lengths)

    def numel(self) -> int:
        """Returns the number of elements (not accounting for sparsity) in the mask."""
        return functools.reduce(operator.mul, self.shape, 1)

    def sparsity(self) -> float:
        """The percentage of blocks that are sparse (i.e. not computed)."""
        computed = int(_host(self.kv_num_blocks).sum())
        if self.full_kv_num_blocks is not None:
            computed += int(_host(self.full_kv_num_blocks).sum())
        computed_size = computed * self.BLOCK_SIZE[0] * self.BLOCK_SIZE[1]
        return 100 * (1 - computed_size / self.numel())

    def _dense_blocks(self) -> np.ndarray:
        dense = _ordered_to_dense(_host(self.kv_num_blocks), _host(self.kv_indices),
                                  self.kv_indices.shape[-1])
        if self.full_kv_num_blocks is not None:
            dense = dense | _ordered_to_dense(_host(self.full_kv_num_blocks),
                                              _host(self.full_kv_indices),
                                              self.full_kv_indices.shape[-1])
        return dense

    def to_dense(self) -> Tensor:
        """The int32 ``(*batch_dims, q_blocks, kv_blocks)`` grid of blocks visited (partial
        or full)."""
        return _device_tensor(self._dense_blocks(), self.kv_indices.device)

    def to_string(self, grid_size: Union[int, Tuple[int, int]] = (20, 20),
                  limit: int = 4) -> str:
        """A picture of the block grid (█ all visited, ░ some, blank none), one per batch and
        head up to ``limit``; ``grid_size=-1`` draws every block."""
        dense = self._dense_blocks()
        *batch_dims, rows, cols = dense.shape
        if isinstance(grid_size, int) and grid_size != -1:
            max_rows = max_cols = grid_size
        elif grid_size == -1:
            max_rows, max_cols = rows, cols
        else:
            max_rows, max_cols = grid_size
        row_step, col_step = max(1, -(-rows // max_rows)), max(1, -(-cols // max_cols))
        pictures = []
        for count, index in enumerate(itertools.product(*[range(n) for n in batch_dims])):
            if count == limit:
                pictures += ["...", "To print out more, set BlockMask.to_string(limit=N)",
                             "You can also index (BlockMask[batch, head]) to choose a specific "
                             "batch or head"]
                break
            grid = dense[index]
            text = f"{index}\n"
            for r in range(0, rows, row_step):
                for c in range(0, cols, col_step):
                    share = grid[r:r + row_step, c:c + col_step].mean()
                    text += ("█" if share == 1 else " " if share == 0 else "░") * 2
                text += "\n"
            pictures.append(text)
        return "\n".join(pictures)

    def __str__(self) -> str:
        return (f"BlockMask(shape={self.shape}, sparsity={self.sparsity():.2f}%, \n"
                f"{self.to_string().strip()}\n)")

    def __repr__(self) -> str:
        def shape_of(x: Optional[Tensor]) -> Any:
            return None if x is None else x.shape

        fields = ",\n".join(f"    {name}={shape_of(getattr(self, name))}"
                            for name in self._TENSOR_ATTRS[:8])
        name = getattr(self.mask_mod, "__name__", self.mask_mod)
        return (f"BlockMask(\n{fields},\n    BLOCK_SIZE={self.BLOCK_SIZE},\n"
                f"    shape={self.shape},\n    sparsity={self.sparsity():.2f}%,\n"
                f"    mask_mod={name}\n)")

    def _with_write_order(self, new: "BlockMask") -> "BlockMask":
        new.dq_kv_order = None
        new.dq_kv_order_spt = self.dq_kv_order_spt
        if self.dq_write_order is not None:
            new.dq_write_order, new.dq_write_order_full = _dq_write_order(
                new, new.dq_kv_order_spt)
        return new

    def __getitem__(self, index: Any) -> "BlockMask":
        """The mask for some batches, heads or q-block rows: every index keeps its dim (an int
        becomes a length-1 slice). The result's mask_mod raises until set from the original's.

        Example:
            >>> bm = create_block_mask(lambda b, h, q, kv: q >= kv, 4, 2, 512, 512,
            ...                        device="cpu")
            >>> bm[0, 1].kv_num_blocks.shape
            deepseek.Size([1, 1, 4])
        """
        if self.dq_kv_order is not None:
            raise NotImplementedError("Slicing BlockMask with tensor dq_kv_order is not "
                                      "supported yet. Construct a new BlockMask with matching "
                                      "precomputed dq_write_order metadata.")
        index = index if isinstance(index, tuple) else (index,)
        padded = (*index, slice(None), slice(None), slice(None))[:3]
        sizes = self.kv_num_blocks.shape[:3]
        index = tuple((slice(i + n, i + n + 1) if -n <= i < 0 else slice(i, i + 1))
                      if isinstance(i, int) else i for i, n in zip(padded, sizes))
        full = (None, None) if self.full_kv_num_blocks is None else (
            self.full_kv_num_blocks[index], self.full_kv_indices[index])
        new = BlockMask.from_kv_blocks(self.kv_num_blocks[index], self.kv_indices[index], *full,
                                       BLOCK_SIZE=self.BLOCK_SIZE,
                                       mask_mod=_sliced_mask_mod_error,
                                       seq_lengths=self.seq_lengths,
                                       compute_q_blocks=self.q_indices is not None)
        return self._with_write_order(new)

    def _adjust(self, new_q_len: int, new_kv_len: int) -> "BlockMask":
        """The mask cropped to its upper-left ``(new_q_len, new_kv_len)`` corner."""
        if self.dq_kv_order is not None:
            raise NotImplementedError("Adjusting BlockMask with tensor dq_kv_order is not "
                                      "supported yet. Construct a new BlockMask with matching "
                                      "precomputed dq_write_order metadata.")
        rows = -(-new_q_len // self.BLOCK_SIZE[0])
        cols = -(-new_kv_len // self.BLOCK_SIZE[1])
        device = self.kv_indices.device

        def crop(num: Tensor, idx: Tensor) -> tuple:
            num, idx = _adjust_ordered(_host(num), _host(idx), rows, cols)
            return _device_tensor(num, device), _device_tensor(idx, device)

        full = (None, None) if self.full_kv_num_blocks is None else crop(
            self.full_kv_num_blocks, self.full_kv_indices)
        new = self.from_kv_blocks(*crop(self.kv_num_blocks, self.kv_indices), *full,
                                  BLOCK_SIZE=self.BLOCK_SIZE, mask_mod=self.mask_mod,
                                  seq_lengths=(new_q_len, new_kv_len),
                                  compute_q_blocks=self.q_indices is not None)
        return self._with_write_order(new)

    def to(self, device: Any) -> "BlockMask":
        """A BlockMask with its tensors on ``device`` (the original is unchanged)."""
        tensors = {name: None if getattr(self, name) is None else getattr(self, name).to(device)
                   for name in self._TENSOR_ATTRS}
        return BlockMask(seq_lengths=self.seq_lengths, **tensors, BLOCK_SIZE=self.BLOCK_SIZE,
                         mask_mod=self.mask_mod, dq_kv_order_spt=self.dq_kv_order_spt)


def _default_device(device: Any) -> Any:
    if device is not None:
        return device
    from ... import cuda

    return "cuda" if cuda.is_available() else "cpu"


def create_mask(mod_fn: Union[_score_mod_signature, _mask_mod_signature], B: Optional[int],
                H: Optional[int], Q_LEN: int, KV_LEN: int, device: Any = None) -> Tensor:
    """The dense ``(B, H, Q_LEN, KV_LEN)`` mask of a mask_mod (its values) or of a score_mod
    (True where it leaves a zero score finite, i.e. not ``-inf``).

    Args:
        mod_fn (Callable): ``mask_mod(b, h, q_idx, kv_idx)`` or ``score_mod(score, b, h,
            q_idx, kv_idx)``.
        B, H (int, optional): batch size and number of query heads (None: 1).
        Q_LEN, KV_LEN (int): query and key/value sequence lengths.
        device: where to build it; default the accelerator if there is one, else the CPU.

    Example:
        >>> create_mask(lambda b, h, q, kv: q >= kv, 1, 1, 3, 3, device="cpu")[0, 0]
        tensor([[ True, False, False],
                [ True,  True, False],
                [ True,  True,  True]])
    """
    device = _default_device(device)
    shape = (1 if B is None else B, 1 if H is None else H, Q_LEN, KV_LEN)
    if _is_score_mod(mod_fn):
        zeros = _creation.zeros(shape, device=device)
        return ~isneginf(_call_mod(mod_fn, zeros, shape, device).expand(*shape)).contiguous()
    return _call_mod(mod_fn, None, shape, device).expand(*shape).contiguous()


def _blocks_of(mask: np.ndarray, q_block: int, kv_block: int, separate_full: bool) -> tuple:
    """The int8 ``(B, H, q_blocks, kv_blocks)`` grids of partial and (or None) full blocks of
    a dense ``(B, H, L, S)`` mask padded with False to whole blocks."""
    B, H, L, S = mask.shape
    rows, cols = -(-L // q_block), -(-S // kv_block)
    padded = np.zeros((B, H, rows * q_block, cols * kv_block), np.bool_)
    padded[:, :, :L, :S] = mask
    counts = padded.reshape(B, H, rows, q_block, cols, kv_block).sum(axis=(3, 5))
    if not separate_full:
        return (counts > 0).astype(np.int8), None
    full = counts == q_block * kv_block
    return ((counts > 0) & ~full).astype(np.int8), full.astype(np.int8)


def create_block_mask(mask_mod: _mask_mod_signature, B: Optional[int], H: Optional[int],
                      Q_LEN: int, KV_LEN: int, device: Any = None,
                      BLOCK_SIZE: Union[int, Tuple[int, int]] = _DEFAULT_SPARSE_BLOCK_SIZE,
                      _compile: bool = False, separate_full_blocks: bool = True,
                      compute_dq_write_order: bool = False,
                      dq_kv_order: bool = True) -> BlockMask:
    """The BlockMask of ``mask_mod``: a block is full when every entry attends, partial when
    some do, and left out when none do.

    Args:
        mask_mod (Callable): ``mask_mod(b, h, q_idx, kv_idx) -> bool tensor`` (True attends).
        B, H (int, optional): batch size and query heads; None gives 1, broadcast over all.
        Q_LEN, KV_LEN (int): query and key/value sequence lengths.
        device: where the mask lives; default the accelerator if there is one, else the CPU.
        BLOCK_SIZE (int or (int, int)): the (Q, KV) block size. Default: 128.
        _compile (bool): deprecated in torch; warns and builds the mask eagerly.
        separate_full_blocks (bool): keep full blocks apart (``full_kv_*``) so mask_mod can be
            skipped on them; False lists every nonempty block as partial.
        compute_dq_write_order (bool): also compute torch's deterministic-backward dQ
            write-order metadata, in ``dq_kv_order`` order (True: descending).

    Example:
        >>> bm = create_block_mask(lambda b, h, q, kv: q >= kv, None, None, 256, 256,
        ...                        device="cpu")
        >>> bm.to_dense()[0, 0]
        tensor([[1, 0],
                [1, 1]], dtype=deepseek.int32)
    """
    device = _default_device(device)
    if not callable(mask_mod) or _is_score_mod(mask_mod):
        raise AssertionError(f"create-block_mask requires a mask_mod function! Got {mask_mod}")
    q_block, kv_block = (BLOCK_SIZE, BLOCK_SIZE) if isinstance(BLOCK_SIZE, int) else BLOCK_SIZE
    if _compile:
        warnings.warn("_compile flag on create_block_mask was originally added to work around a "
                      "torch.compile limitation and is deprecated; the mask is built eagerly.",
                      DeprecationWarning, stacklevel=2)
    if not isinstance(dq_kv_order, bool):
        raise ValueError("dq_kv_order must be a bool when using create_block_mask")
    mask = create_mask(mask_mod, B, H, Q_LEN, KV_LEN, device)
    if mask.dtype != bool_:
        raise op_error(RuntimeError, "create_block_mask", f"mask_mod must return a bool tensor, "
                       f"got {mask.dtype}", mask)
    partial, full = _blocks_of(_host(mask), q_block, kv_block, separate_full_blocks)
    ordered = [_device_tensor(a, device) for a in _dense_to_ordered(partial)]
    if full is not None:
        ordered += [_device_tensor(a, device) for a in _dense_to_ordered(full)]
    else:
        ordered += [None, None]
    block_mask = BlockMask.from_kv_blocks(*ordered, BLOCK_SIZE=(q_block, kv_block),
                                          mask_mod=mask_mod, seq_lengths=(Q_LEN, KV_LEN))
    if compute_dq_write_order:
        block_mask.dq_write_order, block_mask.dq_write_order_full = _dq_write_order(
            block_mask, dq_kv_order)
        block_mask.dq_kv_order_spt = dq_kv_order
    return block_mask
