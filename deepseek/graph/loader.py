"""``DataLoader`` for lists of graphs: ``ds.utils.data.DataLoader`` with a collate that
merges ``Data`` into a ``Batch``."""

from __future__ import annotations

from typing import Any, Optional, Sequence

from ..utils.data import DataLoader as _BaseLoader
from ..utils.data import default_collate
from .data import Batch, Data

__all__ = ["DataLoader", "Collater"]


class Collater:
    """Merges a list of samples: ``Data`` into a :class:`Batch`, anything else (and tuples or
    dicts holding ``Data``) field by field as :func:`default_collate` does."""

    def __init__(self, follow_batch: Optional[Sequence] = None,
                 exclude_keys: Optional[Sequence] = None) -> None:
        self.follow_batch = follow_batch
        self.exclude_keys = exclude_keys

    def __call__(self, batch: list) -> Any:
        first = batch[0]
        if isinstance(first, Data):
            return Batch.from_data_list(batch, self.follow_batch, self.exclude_keys)
        if isinstance(first, dict):
            return {key: self([sample[key] for sample in batch]) for key in first}
        if isinstance(first, (tuple, list)) and not isinstance(first, str):
            return [self(list(samples)) for samples in zip(*batch)]
        return default_collate(batch)


class DataLoader(_BaseLoader):
    """Iterate over a dataset of graphs (``Data``), merged per batch into a :class:`Batch`.

    Takes every argument of ``ds.utils.data.DataLoader`` except ``collate_fn``.

    Args:
        dataset: a sequence or dataset of ``Data``.
        batch_size: graphs per batch. Default: 1.
        shuffle: reshuffle at every epoch. Default: False.
        follow_batch: keys that also get a ``{key}_batch`` vector.
        exclude_keys: keys left out of the batches.

    Example::

        >>> graphs = [Data(x=ds.randn(3, 4), edge_index=ds.tensor([[0, 1], [1, 2]]))] * 5
        >>> [b.num_graphs for b in DataLoader(graphs, batch_size=2)]
        [2, 2, 1]
    """

    def __init__(self, dataset: Any, batch_size: int = 1, shuffle: bool = False,
                 follow_batch: Optional[Sequence] = None,
                 exclude_keys: Optional[Sequence] = None, **kwargs: Any) -> None:
        if "collate_fn" in kwargs:
            raise TypeError("[graph.DataLoader] collate_fn is fixed (graphs are merged into a "
                            "Batch); use ds.utils.data.DataLoader for a custom collate_fn")
        self.follow_batch = follow_batch
        self.exclude_keys = exclude_keys
        super().__init__(dataset, batch_size, shuffle,
                         collate_fn=Collater(follow_batch, exclude_keys), **kwargs)
