"""The DataLoader: batches from a dataset through a sampler and a collate function."""

from __future__ import annotations

from typing import Any, Callable, Iterator, Optional

import numpy as np

from ... import random as _random
from ...tensor import Tensor
from ._utils.collate import default_collate, default_convert
from ._worker import WorkerPool, get_worker_info
from .dataset import IterableDataset, TensorDataset
from .sampler import BatchSampler, RandomSampler, SequentialSampler

__all__ = ["DataLoader", "default_collate", "default_convert", "get_worker_info"]


class DataLoader:
    """Iterate over a dataset in batches, as ``torch.utils.data.DataLoader``.

    With ``num_workers > 0``, worker processes build whole batches (the same batches, in the
    same order, as ``num_workers=0``); an exception in a worker is raised here with the
    worker's traceback, and a worker that dies is reported instead of waited for.

    Args:
        dataset: a map-style or iterable dataset.
        batch_size: samples per batch; None disables batching. Default: 1.
        shuffle: reshuffle at every epoch (deterministic under ``ds.manual_seed``).
        sampler: the order of the indices (excludes ``shuffle``).
        batch_sampler: yields lists of indices (excludes ``batch_size``, ``shuffle``,
            ``sampler`` and ``drop_last``).
        num_workers: worker processes loading batches; 0 loads them in this process.
        timeout: seconds to wait for a batch from the workers (0: no limit).
        worker_init_fn: called with the worker id in each worker, after seeding.
        prefetch_factor: batches requested ahead per worker. Default: 2.
        persistent_workers: keep the workers alive between epochs.
        collate_fn: merges a list of samples into a batch. Default: :func:`default_collate`.
        drop_last: drop the last incomplete batch. Default: False.
        generator: the random generator of the shuffling.

    Example:
        >>> data = TensorDataset(ds.randn(10, 3), ds.arange(10))
        >>> for x, y in DataLoader(data, batch_size=4, shuffle=True):
        ...     pass
    """

    def __init__(self, dataset: Any, batch_size: Optional[int] = 1,
                 shuffle: Optional[bool] = None, sampler: Any = None, batch_sampler: Any = None,
                 num_workers: int = 0, collate_fn: Optional[Callable] = None,
                 pin_memory: bool = False, drop_last: bool = False, timeout: float = 0,
                 worker_init_fn: Optional[Callable] = None, multiprocessing_context: Any = None,
                 generator: Any = None, *, prefetch_factor: Optional[int] = None,
                 persistent_workers: bool = False, pin_memory_device: str = "",
                 in_order: bool = True) -> None:
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to "
                             "disable multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        iterable = isinstance(dataset, IterableDataset)
        if iterable:
            for name, value in (("shuffle", shuffle), ("sampler", sampler),
                                ("batch_sampler", batch_sampler)):
                if value not in (None, False):
                    raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                                     f"{name} option, but got {name}={value}")
        elif sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last")
        if sampler is None and not iterable:
            sampler = (RandomSampler(dataset, generator=generator) if shuffle
                       else SequentialSampler(dataset))
        if batch_size is not None and batch_sampler is None and not iterable:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.generator = generator
        self.prefetch_factor = prefetch_factor
        self.persistent_workers = persistent_workers
        self.pin_memory_device = pin_memory_device
        self.in_order = in_order
        auto_batching = batch_sampler is not None or (iterable and batch_size is not None)
        self.collate_fn = collate_fn or (default_collate if auto_batching else default_convert)

    def _is_stream(self) -> bool:
        return isinstance(self.dataset, IterableDataset)

    def __iter__(self) -> Iterator:
        # one draw per epoch in every mode, as PyTorch does, so the batches do not depend on
        # num_workers; the workers seed themselves from it
        gen = (self.generator or _random.default_generator).np
        base_seed = int(gen.integers(0, 2 ** 62))
        if self.num_workers > 0 and (self._is_stream() or self.batch_sampler is not None):
            return self._iter_workers(base_seed)
        if isinstance(self.dataset, IterableDataset):
            return self._iter_stream()
        if self.batch_sampler is None:
            return (self.collate_fn(self.dataset[i]) for i in self.sampler)
        return (self._fetch(indices) for indices in self.batch_sampler)

    def _iter_workers(self, base_seed: int) -> Iterator:
        pool = getattr(self, "_pool", None) or WorkerPool(self, base_seed)
        try:
            yield from pool.streams() if self._is_stream() else pool.batches(self.batch_sampler)
        finally:
            if self.persistent_workers:
                self._pool = pool
            else:
                pool.close()

    def __del__(self) -> None:
        pool = getattr(self, "_pool", None)
        if pool is not None:
            pool.close()

    def _iter_stream(self) -> Iterator:
        if self.batch_size is None:
            yield from (self.collate_fn(sample) for sample in self.dataset)
            return
        batch: list = []
        for sample in self.dataset:
            batch.append(sample)
            if len(batch) == self.batch_size:
                yield self.collate_fn(batch)
                batch = []
        if batch and not self.drop_last:
            yield self.collate_fn(batch)

    def _fetch(self, indices: list) -> Any:
        dataset = self.dataset
        if type(dataset) is TensorDataset and self.collate_fn is default_collate:
            key = np.asarray(indices, dtype=np.int64)  # one gather per tensor, not one per row
            return [Tensor._wrap(t._data[key], t._device) for t in dataset.tensors]
        getitems = getattr(dataset, "__getitems__", None)
        samples = getitems(indices) if getitems else [dataset[i] for i in indices]
        return self.collate_fn(samples)

    def __len__(self) -> int:
        if isinstance(self.dataset, IterableDataset):
            n = len(self.dataset)
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        return len(self.sampler)
