"""The DataLoader and default_collate."""

from __future__ import annotations

from typing import Any, Callable, Iterator, Optional

import numpy as np

from ... import random as _random
from ...tensor import Tensor

__all__ = ["DataLoader", "default_collate"]


def default_collate(batch: list) -> Any:
    """Stack samples into batches: tensors and arrays stack, numbers become tensors, and
    tuples/lists/dicts are collated field by field."""
    first = batch[0]
    if isinstance(first, Tensor):
        from ...ops.movement import stack

        return stack(batch)
    if isinstance(first, np.ndarray):
        return Tensor._wrap(np.stack(batch))
    if isinstance(first, (bool, int, float, np.number)):
        from ..._creation import tensor

        return tensor(batch)
    if isinstance(first, (str, bytes)):
        return batch
    if isinstance(first, dict):
        return {k: default_collate([b[k] for b in batch]) for k in first}
    if isinstance(first, tuple) and hasattr(first, "_fields"):
        return type(first)(*(default_collate(list(s)) for s in zip(*batch)))
    if isinstance(first, (tuple, list)):
        return [default_collate(list(s)) for s in zip(*batch)]
    raise TypeError(f"default_collate: batch must contain tensors, numpy arrays, numbers, dicts "
                    f"or lists; found {type(first).__name__}")


class DataLoader:
    """Iterate over a dataset in batches (``torch.utils.data.DataLoader``).

    Args:
        dataset: a map-style dataset.
        batch_size: samples per batch.
        shuffle: reshuffle at every epoch (deterministic under ``ds.manual_seed``).
        drop_last: drop the last incomplete batch.
        collate_fn: merges a list of samples into a batch.
    """

    def __init__(self, dataset: Any, batch_size: Optional[int] = 1, shuffle: bool = False,
                 sampler: Any = None, batch_sampler: Any = None, num_workers: int = 0,
                 collate_fn: Optional[Callable] = None, pin_memory: bool = False,
                 drop_last: bool = False, timeout: float = 0, worker_init_fn: Any = None,
                 generator: Any = None, **kwargs: Any) -> None:
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.collate_fn = collate_fn or default_collate
        self.generator = generator
        self.sampler = sampler

    def _indices(self) -> list:
        if self.sampler is not None:
            return list(self.sampler)
        n = len(self.dataset)
        if self.shuffle:
            gen = self.generator.np if self.generator is not None else _random.default_generator.np
            return gen.permutation(n).tolist()
        return list(range(n))

    def __iter__(self) -> Iterator:
        idx = self._indices()
        bs = self.batch_size
        for start in range(0, len(idx), bs):
            chunk = idx[start:start + bs]
            if len(chunk) < bs and self.drop_last:
                return
            yield self._fetch(chunk)

    def _fetch(self, chunk: list) -> Any:
        tensors = getattr(self.dataset, "tensors", None)
        if tensors is not None and self.collate_fn is default_collate:
            key = np.asarray(chunk, dtype=np.int64)  # one gather per field instead of N rows
            return [Tensor._wrap(t._data[key]) for t in tensors]
        return self.collate_fn([self.dataset[i] for i in chunk])

    def __len__(self) -> int:
        n = len(self.sampler) if self.sampler is not None else len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
