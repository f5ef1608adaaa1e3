"""Samplers: which dataset indices, in which order, and how they are grouped into batches."""

from __future__ import annotations

from itertools import islice
from typing import Any, Iterator, Optional, Sequence

import numpy as np

from ... import random as _random

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
           "WeightedRandomSampler", "BatchSampler"]


def _generator(generator: Optional[_random.Generator]) -> np.random.Generator:
    """The NumPy generator to draw from: the given one, or a fresh one seeded from the
    default generator (so an epoch's order is fixed by ``ds.manual_seed``)."""
    if generator is not None:
        return generator.np
    seed = int(_random.default_generator.np.integers(1 << 63))
    return np.random.Generator(np.random.PCG64(seed))


class Sampler:
    """Base class: ``__iter__`` yields dataset indices (or lists of them, for batch samplers)."""

    def __init__(self, data_source: Any = None) -> None:
        pass

    def __iter__(self) -> Iterator:
        raise NotImplementedError


class SequentialSampler(Sampler):
    """Indices ``0 .. len(data_source) - 1`` in order."""

    def __init__(self, data_source: Any) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


def _check_positive(name: str, value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name} should be a positive integer value, but got {name}={value}")


def _check_bool(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise TypeError(f"{name} should be a boolean value, but got {name}={value}")


class RandomSampler(Sampler):
    """Indices in a random order: a permutation, or ``num_samples`` draws with replacement.

    Args:
        data_source: the dataset.
        replacement: draw with replacement. Default: False.
        num_samples: number of indices (default ``len(data_source)``).
        generator: the random generator.
    """

    def __init__(self, data_source: Any, replacement: bool = False,
                 num_samples: Optional[int] = None, generator: Any = None) -> None:
        self.data_source, self.replacement, self.generator = data_source, replacement, generator
        self._num_samples = num_samples
        _check_bool("replacement", replacement)
        _check_positive("num_samples", self.num_samples)

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self) -> Iterator[int]:
        n, gen = len(self.data_source), _generator(self.generator)
        if self.replacement:
            yield from gen.integers(n, size=self.num_samples).tolist()
            return
        for _ in range(self.num_samples // n):
            yield from gen.permutation(n).tolist()
        yield from gen.permutation(n)[:self.num_samples % n].tolist()

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices, in a random order, without replacement.

    Args:
        indices: the indices.
        generator: the random generator.
    """

    def __init__(self, indices: Sequence[int], generator: Any = None) -> None:
        self.indices, self.generator = indices, generator

    def __iter__(self) -> Iterator[int]:
        for i in _generator(self.generator).permutation(len(self.indices)).tolist():
            yield self.indices[i]

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """Indices ``0 .. len(weights) - 1`` drawn with the given (unnormalized) probabilities.

    Args:
        weights: one weight per index.
        num_samples: number of indices drawn.
        replacement: draw with replacement. Default: True.
        generator: the random generator.
    """

    def __init__(self, weights: Sequence[float], num_samples: int, replacement: bool = True,
                 generator: Any = None) -> None:
        _check_positive("num_samples", num_samples)
        _check_bool("replacement", replacement)
        w = np.asarray(weights, dtype=np.float64)
        if w.ndim != 1:
            raise ValueError(f"weights should be a 1d sequence but given weights have shape "
                             f"{tuple(w.shape)}")
        from ..._creation import tensor

        self.weights = tensor(w)
        self.num_samples, self.replacement, self.generator = num_samples, replacement, generator

    def __iter__(self) -> Iterator[int]:
        gen = self.generator
        if gen is None:
            gen = _random.Generator().manual_seed(int(_generator(None).integers(1 << 63)))
        draws = _random.multinomial(self.weights, self.num_samples, self.replacement,
                                    generator=gen)
        yield from draws.tolist()

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Group another sampler's indices into lists of ``batch_size``.

    Args:
        sampler: the index sampler (or any iterable of indices).
        batch_size: indices per batch.
        drop_last: drop the last batch if it is smaller.

    Example:
        >>> list(BatchSampler(SequentialSampler(range(5)), batch_size=2, drop_last=False))
        [[0, 1], [2, 3], [4]]
    """

    def __init__(self, sampler: Any, batch_size: int, drop_last: bool) -> None:
        _check_positive("batch_size", batch_size)
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got "
                             f"drop_last={drop_last}")
        self.sampler, self.batch_size, self.drop_last = sampler, batch_size, drop_last

    def __iter__(self) -> Iterator[list]:
        it = iter(self.sampler)
        while True:
            batch = list(islice(it, self.batch_size))
            if not batch or (self.drop_last and len(batch) < self.batch_size):
                return
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
