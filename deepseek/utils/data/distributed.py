"""``DistributedSampler``: each of ``num_replicas`` processes reads its own share of a dataset,
padded (or cut) so every share has the same length."""

from __future__ import annotations

import math
from typing import Any, Iterator, Optional

from .sampler import Sampler

__all__ = ["DistributedSampler"]


class DistributedSampler(Sampler):
    """The indices of one replica (``rank``) out of ``num_replicas``.

    The index list (shuffled by ``seed + epoch``, or in order) is padded by repeating its
    start until it divides evenly, or cut to the largest multiple of ``num_replicas`` with
    ``drop_last``; replica ``rank`` then takes every ``num_replicas``-th index from ``rank``
    on. So the replicas partition the padded list, and the same ``(seed, epoch)`` gives the
    same lists in every process. Call ``set_epoch`` before each epoch to reshuffle.

    Args:
        dataset: the dataset (only its length is used).
        num_replicas: the number of processes sharing the dataset (default: the default
            process group's size).
        rank: this process's rank, in ``[0, num_replicas - 1]`` (default: its rank in the
            default process group).
        shuffle: shuffle the indices. Default: True.
        seed: the shuffle seed; the same in every process. Default: 0.
        drop_last: drop the tail that does not divide evenly instead of padding.
            Default: False.

    Example:
        >>> [list(DistributedSampler(range(5), 2, r, shuffle=False)) for r in (0, 1)]
        [[0, 2, 4], [1, 3, 0]]
    """

    def __init__(self, dataset: Any, num_replicas: Optional[int] = None,
                 rank: Optional[int] = None, shuffle: bool = True, seed: int = 0,
                 drop_last: bool = False) -> None:
        if num_replicas is None or rank is None:
            from ... import distributed as dist

            if not dist.is_initialized():
                raise ValueError("[DistributedSampler] Default process group has not been "
                                 "initialized, please make sure to call init_process_group "
                                 "(or pass num_replicas and rank).")
            num_replicas = dist.get_world_size() if num_replicas is None else num_replicas
            rank = dist.get_rank() if rank is None else rank
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"[DistributedSampler] Invalid rank {rank}, rank should be in the "
                             f"interval [0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.drop_last = drop_last
        self.shuffle = shuffle
        self.seed = seed
        n = len(dataset)
        if drop_last and n % num_replicas != 0:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def _indices(self) -> list:
        """The padded (or cut) index list all replicas share."""
        n = len(self.dataset)
        if self.shuffle:
            from ... import random as _random

            generator = _random.Generator().manual_seed(self.seed + self.epoch)
            indices = _random.randperm(n, generator=generator).tolist()
        else:
            indices = list(range(n))
        if self.drop_last:
            return indices[:self.total_size]
        missing = self.total_size - len(indices)
        if missing > 0:
            repeats = math.ceil(missing / len(indices))
            indices += (indices * repeats)[:missing]
        return indices

    def __iter__(self) -> Iterator[int]:
        return iter(self._indices()[self.rank:self.total_size:self.num_replicas])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch, which (with ``seed``) fixes the shuffle of the next iteration."""
        self.epoch = epoch
