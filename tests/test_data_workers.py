"""DataLoader worker processes: same batches as in-process loading, errors surface with the
worker's traceback, a dying worker is reported, iterable datasets shard via get_worker_info."""

from __future__ import annotations

import os

import pytest

import deepseek as ds
from deepseek.utils.data import (DataLoader, Dataset, IterableDataset, TensorDataset,
                                 get_worker_info)


def _batches(loader):
    return [[t.tolist() for t in b] if isinstance(b, (list, tuple)) else b.tolist()
            for b in loader]


@pytest.mark.parametrize("shuffle", [False, True])
def test_workers_give_the_same_batches(shuffle):
    data = TensorDataset(ds.arange(23).float(), ds.arange(23))
    ds.manual_seed(1)
    plain = _batches(DataLoader(data, batch_size=5, shuffle=shuffle))
    ds.manual_seed(1)
    workers = _batches(DataLoader(data, batch_size=5, shuffle=shuffle, num_workers=2))
    assert workers == plain


class _Squares(Dataset):
    def __len__(self):
        return 10

    def __getitem__(self, i):
        info = get_worker_info()
        return {"x": ds.tensor([float(i * i)]), "worker": -1 if info is None else info.id}


def test_dict_samples_and_worker_info():
    batches = list(DataLoader(_Squares(), batch_size=4, num_workers=2))
    assert [b["x"].reshape(-1).tolist() for b in batches] == [
        [0.0, 1.0, 4.0, 9.0], [16.0, 25.0, 36.0, 49.0], [64.0, 81.0]]
    assert sorted({int(w) for b in batches for w in b["worker"].tolist()}) == [0, 1]
    assert get_worker_info() is None


class _Fails(Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, i):
        if i == 5:
            raise ValueError("bad sample 5")
        return ds.tensor([i])


def test_worker_exception_surfaces_with_its_traceback():
    with pytest.raises(RuntimeError, match="worker process") as info:
        list(DataLoader(_Fails(), batch_size=2, num_workers=2))
    assert "ValueError: bad sample 5" in str(info.value)
    assert "__getitem__" in str(info.value)


class _Dies(Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, i):
        if i == 3:
            os._exit(7)
        return ds.tensor([i])


def test_dead_worker_is_reported_not_waited_for():
    with pytest.raises(RuntimeError, match="exited unexpectedly with exit code 7"):
        list(DataLoader(_Dies(), batch_size=2, num_workers=2))


class _Shards(IterableDataset):
    def __iter__(self):
        info = get_worker_info()
        start, step = (0, 1) if info is None else (info.id, info.num_workers)
        return iter(range(start, 10, step))


def test_iterable_dataset_shards_interleave_like_torch():
    batches = _batches(DataLoader(_Shards(), batch_size=2, num_workers=2))
    assert batches == [[0, 2], [1, 3], [4, 6], [5, 7], [8], [9]]


def test_worker_init_fn_and_persistent_workers():
    data = TensorDataset(ds.arange(6))
    loader = DataLoader(data, batch_size=3, num_workers=2, persistent_workers=True,
                        worker_init_fn=lambda wid: None)
    first, second = _batches(loader), _batches(loader)
    assert first == second == [[[0, 1, 2]], [[3, 4, 5]]]
    assert loader._pool is not None
