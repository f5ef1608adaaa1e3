"""``default_collate`` (merge samples into a batch) and ``default_convert`` (NumPy to tensors,
for unbatched loading), following PyTorch's rules."""

from __future__ import annotations

from typing import Any

import numpy as np

from ....tensor import Tensor

__all__ = ["default_collate", "default_convert"]


def _is_namedtuple(x: Any) -> bool:
    return isinstance(x, tuple) and hasattr(x, "_fields")


def default_collate(batch: list) -> Any:
    """Merge a list of samples into a batch, field by field.

    Tensors and NumPy arrays are stacked along a new first dimension; Python floats become a
    float64 tensor, ints an int64 tensor, bools a bool tensor; strings stay a list; dicts,
    namedtuples, tuples and lists are collated per field (tuples give lists, as in PyTorch).

    Example:
        >>> default_collate([(ds.zeros(2), 0), (ds.ones(2), 1)])  # [tensor (2, 2), tensor([0, 1])]
    """
    from .... import dtypes
    from ...._creation import tensor
    from ....ops.movement import stack

    first = batch[0]
    if isinstance(first, Tensor):
        return stack(batch)
    if isinstance(first, np.ndarray) and first.dtype.kind not in "OSU":
        return Tensor._wrap(np.stack(batch))
    if isinstance(first, np.generic) and first.dtype.kind not in "OSU":
        return Tensor._wrap(np.asarray(batch))
    if isinstance(first, float):
        return tensor(batch, dtype=dtypes.float64)
    if isinstance(first, int):  # bool included: a bool batch gives a bool tensor
        return tensor(batch)
    if isinstance(first, (str, bytes)):
        return batch
    if isinstance(first, dict):
        return _same_type(first, {k: default_collate([b[k] for b in batch]) for k in first})
    if _is_namedtuple(first):
        return type(first)(*(default_collate(list(s)) for s in zip(*batch)))
    if isinstance(first, (tuple, list)):
        if any(len(b) != len(first) for b in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        return [default_collate(list(s)) for s in zip(*batch)]
    raise TypeError("default_collate: batch must contain tensors, numpy arrays, numbers, dicts "
                    f"or lists; found {type(first)}")


def default_convert(data: Any) -> Any:
    """Turn NumPy arrays (in any nesting of dicts, lists and tuples) into tensors."""
    if isinstance(data, np.ndarray) and data.dtype.kind not in "OSU":
        return Tensor._wrap(data)
    if isinstance(data, np.generic) and data.dtype.kind not in "OSU":
        return Tensor._wrap(np.asarray(data))
    if isinstance(data, dict):
        return _same_type(data, {k: default_convert(v) for k, v in data.items()})
    if _is_namedtuple(data):
        return type(data)(*(default_convert(v) for v in data))
    if isinstance(data, tuple):
        return [default_convert(v) for v in data]
    if isinstance(data, list):
        return [default_convert(v) for v in data]
    return data


def _same_type(template: dict, values: dict) -> dict:
    """``values`` in ``template``'s mapping type when it can be built from a dict."""
    try:
        return type(template)(values)
    except TypeError:
        return values
