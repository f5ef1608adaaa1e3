"""Variable-length sequences for the recurrent layers: ``PackedSequence`` and the functions
that pack, pad and unpack."""

from __future__ import annotations

from typing import Any, NamedTuple, Optional, Sequence

import numpy as np

from ... import dtypes as _dt
from ..._creation import full, tensor
from ..._errors import op_error
from ...ops._common import require_tensor
from ...ops.movement import cat
from ...tensor import Tensor, host_values

__all__ = ["PackedSequence", "pack_padded_sequence", "pad_packed_sequence", "pad_sequence",
           "pack_sequence", "unpad_sequence", "unpack_sequence", "invert_permutation"]


class PackedSequence(NamedTuple):
    """A batch of sequences stored time step by time step without padding.

    Attributes:
        data: ``(sum(lengths), *)``: step 0 of every sequence, then step 1 of those still
            running, and so on (sequences sorted by decreasing length).
        batch_sizes: int64 ``(max_length,)``: how many sequences run at each step.
        sorted_indices: the batch order used (None when the input was already sorted).
        unsorted_indices: its inverse, to restore the caller's order.
    """

    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Optional[Tensor] = None
    unsorted_indices: Optional[Tensor] = None

    def to(self, *args: Any, **kwargs: Any) -> "PackedSequence":
        return self._replace(data=self.data.to(*args, **kwargs))

    @property
    def is_cuda(self) -> bool:
        return self.data.is_cuda

    def is_pinned(self) -> bool:
        return False


def invert_permutation(permutation: Optional[Tensor]) -> Optional[Tensor]:
    """The inverse of an index permutation (None stays None)."""
    if permutation is None:
        return None
    p = np.asarray(host_values(permutation, "invert_permutation"))
    inv = np.empty_like(p)
    inv[p] = np.arange(len(p))
    return tensor(inv)


def _lengths(lengths: Any) -> np.ndarray:
    if isinstance(lengths, Tensor):
        return np.asarray(host_values(lengths, "a packed sequence's lengths"),
                          dtype=np.int64).reshape(-1)
    return np.asarray(list(lengths), dtype=np.int64)


def _gather_rows(rows: Tensor, index: np.ndarray, padding_value: float) -> Tensor:
    """``rows[index]`` where an index equal to ``len(rows)`` picks a padding row."""
    pad = full((1,) + tuple(rows.shape[1:]), padding_value, dtype=rows.dtype)
    return cat([rows, pad])[tensor(index)]


def pack_padded_sequence(input: Tensor, lengths: Any, batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded batch ``(T, B, *)`` (``(B, T, *)`` with ``batch_first``) of sequences of
    the given ``lengths``.

    With ``enforce_sorted`` the lengths must be decreasing; otherwise the batch is sorted and
    the permutation kept in the result.
    """
    lens = _lengths(lengths)
    if enforce_sorted:
        if np.any(np.diff(lens) > 0):
            raise RuntimeError("`lengths` array must be sorted in decreasing order when "
                               "`enforce_sorted` is True. You can pass `enforce_sorted=False` "
                               "to pack_padded_sequence and/or pack_sequence to sidestep this "
                               "requirement if you do not need ONNX exportability.")
        order = None
    else:
        order = np.argsort(-lens, kind="stable")
        lens = lens[order]
    if lens.size and lens.min() <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an "
                           "element in 'lengths' that is <= 0")
    if batch_first:
        input = input.transpose(0, 1)
    steps, batch = input.shape[0], input.shape[1]
    if lens.size != batch:
        raise RuntimeError(f"Expected `len(lengths)` to be equal to batch_size, but got "
                           f"{lens.size} (batch_size={batch})")
    if lens.size and lens[0] > steps:
        raise RuntimeError(f"Found a sequence of length {lens[0]} in a batch padded to "
                           f"{steps} steps")
    columns = np.arange(batch) if order is None else order
    t, b = np.nonzero(np.arange(lens[0] if lens.size else 0)[:, None] < lens[None, :])
    flat = input.reshape((steps * batch,) + tuple(input.shape[2:]))
    data = flat[tensor(t * batch + columns[b])]
    batch_sizes = tensor(np.bincount(t, minlength=lens[0] if lens.size else 0), dtype=_dt.int64)
    sorted_indices = None if order is None else tensor(order)
    return PackedSequence(data, batch_sizes, sorted_indices, invert_permutation(sorted_indices))


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False,
                        padding_value: float = 0.0, total_length: Optional[int] = None
                        ) -> tuple:
    """Undo ``pack_padded_sequence``: the padded batch and the int64 ``lengths``, in the
    original batch order."""
    sizes = np.asarray(host_values(sequence.batch_sizes, "a packed sequence's batch sizes"),
                       dtype=np.int64)
    steps, batch = len(sizes), int(sizes[0]) if len(sizes) else 0
    if total_length is not None:
        if total_length < steps:
            raise ValueError("Expected total_length to be at least the length of the longest "
                             f"sequence in input, but got total_length={total_length} and max "
                             f"sequence length being {steps}")
        steps = total_length
    sizes = np.concatenate([sizes, np.zeros(steps - len(sizes), np.int64)])
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    b = np.arange(batch)
    if sequence.unsorted_indices is not None:
        # output column j is sorted row b[j]
        b = np.asarray(host_values(sequence.unsorted_indices, "a packed sequence's order"))
    index = np.where(b[None, :] < sizes[:, None], offsets[:, None] + b[None, :],
                     sequence.data.shape[0])
    lengths = (sizes[:, None] > b[None, :]).sum(0)
    out = _gather_rows(sequence.data, index, padding_value)
    if batch_first:
        out = out.transpose(0, 1)
    return out, tensor(lengths, dtype=_dt.int64)


def _check_sequences(op: str, sequences: Sequence[Tensor]) -> None:
    """A non-empty list of tensors of at least 1D that differ only in their first dim."""
    if len(sequences) == 0:
        raise op_error(RuntimeError, op, "received an empty list of sequences")
    first = require_tensor(op, sequences[0], "sequences[0]")
    for i, s in enumerate(sequences):
        require_tensor(op, s, f"sequences[{i}]")
        if s.ndim == 0 or s.shape[1:] != first.shape[1:]:
            raise op_error(RuntimeError, op, f"sequences must be at least 1D and differ only in "
                           f"their length (dim 0), but sequences[0] and sequences[{i}] differ",
                           first, s)


def pad_sequence(sequences: Sequence[Tensor], batch_first: bool = False,
                 padding_value: float = 0.0, padding_side: str = "right") -> Tensor:
    """Stack sequences ``(L_i, *)`` into ``(max L, B, *)`` (or ``(B, max L, *)``), padding
    with ``padding_value`` on ``padding_side`` (``'right'`` or ``'left'``)."""
    if padding_side not in ("left", "right"):
        raise ValueError(f"Expected padding_side to be one of left or right, but got "
                         f"{padding_side}.")
    if isinstance(sequences, Tensor):
        sequences = list(sequences.unbind(0))
    _check_sequences("pad_sequence", sequences)
    lens = np.array([s.shape[0] for s in sequences], dtype=np.int64)
    steps = int(lens.max()) if lens.size else 0
    starts = np.concatenate([[0], np.cumsum(lens)[:-1]])
    t = np.arange(steps)[None, :]
    if padding_side == "left":
        t = t - (steps - lens)[:, None]
    valid = (t >= 0) & (t < lens[:, None])
    index = np.where(valid, starts[:, None] + t, int(lens.sum()))  # (B, T)
    out = _gather_rows(cat(list(sequences)), index, padding_value)
    return out if batch_first else out.transpose(0, 1)


def pack_sequence(sequences: Sequence[Tensor], enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of sequences ``(L_i, *)`` (decreasing lengths unless not enforce_sorted)."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths,
                                enforce_sorted=enforce_sorted)


def unpad_sequence(padded_sequences: Tensor, lengths: Tensor,
                   batch_first: bool = False) -> list:
    """Split a padded batch back into a list of sequences of the given lengths."""
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    return [seq[:n] for seq, n in zip(padded_sequences.unbind(0), _lengths(lengths).tolist())]


def unpack_sequence(packed_sequences: PackedSequence) -> list:
    """A list of the sequences in a ``PackedSequence``, in the original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
