"""ds.utils.data: datasets, samplers, the DataLoader and default_collate (checked against
torch.utils.data where the result does not depend on the random generator)."""

from __future__ import annotations

from collections import namedtuple

import numpy as np
import pytest
import torch
import torch.utils.data as tud

import deepseek as ds
from deepseek.utils.data import (
    BatchSampler,
    ChainDataset,
    ConcatDataset,
    DataLoader,
    Dataset,
    IterableDataset,
    RandomSampler,
    SequentialSampler,
    Subset,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
    default_collate,
    random_split,
)

Point = namedtuple("Point", ["x", "y"])


def _numpy(x):
    """Batches of either library as nested numpy values, for comparison."""
    if isinstance(x, (ds.Tensor, torch.Tensor)):
        a = x.detach().numpy()
        return (str(a.dtype), a.shape, a.tolist())
    if isinstance(x, dict):
        return {k: _numpy(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(_numpy(v) for v in x) if not hasattr(x, "_fields") else \
            (type(x).__name__, [_numpy(v) for v in x])
    return x


class Records(Dataset):
    """Samples of every kind default_collate handles."""

    def __init__(self, lib, n: int = 7) -> None:
        self.lib, self.n = lib, n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int):
        return {"tensor": self.lib.arange(3) * i, "array": np.full((2,), i, np.float32),
                "float": i / 2, "int": i, "bool": i % 2 == 0, "str": f"s{i}",
                "point": Point(i, float(i)), "pair": (i, [i, -i]), "np scalar": np.int32(i)}


class Stream(IterableDataset):
    def __init__(self, n: int) -> None:
        self.n = n

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self) -> int:
        return self.n


def test_default_collate_matches_torch() -> None:
    ours = default_collate([Records(ds)[i] for i in range(3)])
    theirs = tud.default_collate([Records(torch)[i] for i in range(3)])
    assert _numpy(ours) == _numpy(theirs)
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([[1, 2], [3]])
    with pytest.raises(TypeError, match="default_collate: batch must contain"):
        default_collate([object()])


@pytest.mark.parametrize("kwargs", [dict(batch_size=3), dict(batch_size=3, drop_last=True),
                                    dict(batch_size=None), dict(batch_size=2, num_workers=2)])
def test_loader_matches_torch(kwargs: dict) -> None:
    ours = list(DataLoader(Records(ds), **kwargs))
    theirs = list(tud.DataLoader(Records(torch), **kwargs))
    assert len(ours) == len(theirs) == len(DataLoader(Records(ds), **kwargs))
    assert _numpy(ours) == _numpy(theirs)


def test_tensor_dataset_loader() -> None:
    x = np.arange(20, dtype=np.float32).reshape(10, 2)
    y = np.arange(10)
    ours = list(DataLoader(TensorDataset(ds.tensor(x), ds.tensor(y)), batch_size=4))
    theirs = list(tud.DataLoader(tud.TensorDataset(torch.tensor(x), torch.tensor(y)),
                                 batch_size=4))
    assert _numpy(ours) == _numpy(theirs)
    assert TensorDataset(ds.tensor(x), ds.tensor(y))[3][1].item() == 3
    with pytest.raises(AssertionError, match="Size mismatch between tensors"):
        TensorDataset(ds.zeros(3), ds.zeros(4))


def test_shuffle_is_deterministic_under_manual_seed() -> None:
    data = TensorDataset(ds.arange(50))

    def epochs(loader):
        return [[b[0].tolist() for b in loader] for _ in range(2)]

    ds.manual_seed(3)
    first = epochs(DataLoader(data, batch_size=8, shuffle=True))
    ds.manual_seed(3)
    second = epochs(DataLoader(data, batch_size=8, shuffle=True, num_workers=2))
    assert first == second
    assert first[0] != first[1]  # a new order every epoch
    assert sorted(sum(first[0], [])) == list(range(50))
    gen = lambda: ds.Generator().manual_seed(5)  # noqa: E731
    a = [b[0].tolist() for b in DataLoader(data, batch_size=8, shuffle=True, generator=gen())]
    b = [b[0].tolist() for b in DataLoader(data, batch_size=8, shuffle=True, generator=gen())]
    assert a == b


def test_sampler_batch_sampler_and_collate_fn() -> None:
    data = TensorDataset(ds.arange(10))
    loader = DataLoader(data, batch_size=3, sampler=[9, 7, 5, 3, 1])
    assert [b[0].tolist() for b in loader] == [[9, 7, 5], [3, 1]]
    loader = DataLoader(data, batch_sampler=[[0, 1], [5, 6, 7]])
    assert [b[0].tolist() for b in loader] == [[0, 1], [5, 6, 7]]
    loader = DataLoader(data, batch_size=4, collate_fn=lambda batch: len(batch))
    assert list(loader) == [4, 4, 2]


def test_iterable_dataset() -> None:
    assert [b.tolist() for b in DataLoader(Stream(7), batch_size=3)] == [[0, 1, 2], [3, 4, 5],
                                                                          [6]]
    loader = DataLoader(Stream(7), batch_size=3, drop_last=True)
    assert len(loader) == 2 and len(list(loader)) == 2
    assert list(DataLoader(Stream(3), batch_size=None)) == [0, 1, 2]
    assert list(ChainDataset([Stream(2), Stream(3)])) == [0, 1, 0, 1, 2]
    assert list(Stream(2) + Stream(1)) == [0, 1, 0]
    with pytest.raises(ValueError, match="expected unspecified shuffle option"):
        DataLoader(Stream(3), shuffle=True)


def test_loader_errors() -> None:
    data = TensorDataset(ds.arange(4))
    with pytest.raises(ValueError, match="mutually exclusive with shuffle"):
        DataLoader(data, sampler=[0, 1], shuffle=True)
    with pytest.raises(ValueError, match="batch_sampler option is mutually exclusive"):
        DataLoader(data, batch_sampler=[[0]], batch_size=2)
    with pytest.raises(ValueError, match="mutually exclusive with drop_last"):
        DataLoader(data, batch_size=None, drop_last=True)
    with pytest.raises(ValueError, match="num_workers option should be non-negative"):
        DataLoader(data, num_workers=-1)


def test_concat_subset_and_random_split() -> None:
    a, b = TensorDataset(ds.arange(3)), TensorDataset(ds.arange(10, 14))
    both = ConcatDataset([a, b])
    assert len(both) == 7 and both.cumulative_sizes == [3, 7]
    assert [both[i][0].item() for i in (0, 2, 3, 6, -1)] == [0, 2, 10, 13, 13]
    assert len(a + b) == 7
    sub = Subset(b, [3, 1])
    assert len(sub) == 2 and sub[0][0].item() == 13
    with pytest.raises(AssertionError, match="empty iterable"):
        ConcatDataset([])

    data = list(range(10))
    parts = random_split(data, [3, 7], generator=ds.Generator().manual_seed(1))
    assert [len(p) for p in parts] == [3, 7]
    assert sorted(p[i] for p in parts for i in range(len(p))) == data
    again = random_split(data, [3, 7], generator=ds.Generator().manual_seed(1))
    assert [list(p) for p in parts] == [list(p) for p in again]
    assert [len(p) for p in random_split(data, [0.5, 0.3, 0.2])] == [5, 3, 2]
    assert [len(p) for p in random_split(list(range(11)), [0.5, 0.5])] == [6, 5]
    with pytest.raises(ValueError, match="Sum of input lengths"):
        random_split(data, [3, 3])


def test_samplers() -> None:
    assert list(SequentialSampler(range(4))) == [0, 1, 2, 3]
    gen = ds.Generator().manual_seed(0)
    perm = list(RandomSampler(range(6), generator=gen))
    assert sorted(perm) == list(range(6))
    drawn = list(RandomSampler(range(3), replacement=True, num_samples=20, generator=gen))
    assert len(drawn) == 20 and set(drawn) <= {0, 1, 2}
    more = list(RandomSampler(range(4), num_samples=10, generator=gen))
    assert len(more) == 10 and sorted(more[:8]) == sorted(list(range(4)) * 2)
    assert sorted(SubsetRandomSampler([5, 7, 9], generator=gen)) == [5, 7, 9]
    weighted = list(WeightedRandomSampler([0.0, 1.0, 0.0, 3.0], 50, generator=gen))
    assert len(weighted) == 50 and set(weighted) <= {1, 3}
    distinct = list(WeightedRandomSampler([1.0, 2.0, 3.0], 3, replacement=False, generator=gen))
    assert sorted(distinct) == [0, 1, 2]
    for drop_last in (False, True):
        ours = list(BatchSampler(SequentialSampler(range(10)), 4, drop_last))
        theirs = list(tud.BatchSampler(tud.SequentialSampler(range(10)), 4, drop_last))
        assert ours == theirs
        assert len(BatchSampler(range(10), 4, drop_last)) == len(theirs)


def test_sampler_errors() -> None:
    with pytest.raises(ValueError, match="batch_size should be a positive integer value"):
        BatchSampler(range(3), 0, False)
    with pytest.raises(ValueError, match="drop_last should be a boolean value"):
        BatchSampler(range(3), 2, 1)
    with pytest.raises(TypeError, match="replacement should be a boolean value"):
        RandomSampler(range(3), replacement=1)
    with pytest.raises(ValueError, match="num_samples should be a positive integer value"):
        RandomSampler(range(3), num_samples=0)
    with pytest.raises(ValueError, match="weights should be a 1d sequence"):
        WeightedRandomSampler([[1.0]], 2)
