"""DistributedSampler and StackDataset against torch.utils.data: the same index lists without
shuffling, a deterministic partition of the padded dataset with it, and the same errors."""

from __future__ import annotations

import pytest
import torch.utils.data as tdata

import deepseek as ds
from deepseek.utils.data import DataLoader, DistributedSampler, StackDataset

GRID = [(n, replicas, drop_last) for n in (0, 1, 2, 7, 9, 10, 12) for replicas in (1, 2, 3, 5)
        for drop_last in (False, True)]


def _shares(make, n, replicas, **kw):
    return [list(make(range(n), num_replicas=replicas, rank=r, **kw)) for r in range(replicas)]


@pytest.mark.parametrize("n,replicas,drop_last", GRID)
def test_unshuffled_lists_match_torch(n, replicas, drop_last):
    want = _shares(tdata.DistributedSampler, n, replicas, shuffle=False, drop_last=drop_last)
    got = _shares(DistributedSampler, n, replicas, shuffle=False, drop_last=drop_last)
    assert got == want, f"DistributedSampler(n={n}, replicas={replicas}, drop_last={drop_last})"
    for r in range(replicas):
        t = tdata.DistributedSampler(range(n), replicas, r, drop_last=drop_last)
        d = DistributedSampler(range(n), replicas, r, drop_last=drop_last)
        assert (len(d), d.num_samples, d.total_size) == (len(t), t.num_samples, t.total_size)


def _interleave(shares):
    """The padded list the replicas took their shares from (replica r has positions r::R)."""
    replicas = len(shares)
    out = [None] * sum(len(s) for s in shares)
    for r, share in enumerate(shares):
        out[r::replicas] = share
    return out


@pytest.mark.parametrize("n,replicas,drop_last", [g for g in GRID if g[0]])
def test_shuffled_shares_partition_the_padded_dataset(n, replicas, drop_last):
    shares = _shares(DistributedSampler, n, replicas, seed=3, drop_last=drop_last)
    assert len({len(s) for s in shares}) == 1
    padded = _interleave(shares)
    if drop_last:
        assert len(set(padded)) == len(padded) and set(padded) <= set(range(n))
        assert len(padded) == n - n % replicas
    else:
        assert sorted(padded[:n]) == list(range(n))
        extra = padded[n:]
        assert extra == (padded[:n] * (len(extra) // n + 1))[:len(extra)]


def test_shuffle_is_deterministic_per_seed_and_epoch():
    def shares(seed, epoch):
        out = []
        for r in range(3):
            s = DistributedSampler(range(50), 3, r, seed=seed)
            s.set_epoch(epoch)
            out.append(list(s))
        return out

    assert shares(0, 0) == shares(0, 0)
    assert shares(0, 1) == shares(0, 1)
    assert shares(0, 0) != shares(0, 1)
    assert shares(0, 0) != shares(1, 0)
    assert shares(0, 0) != _shares(DistributedSampler, 50, 3, shuffle=False)
    ds.manual_seed(123)  # the global generator plays no part
    first = shares(2, 5)
    ds.manual_seed(7)
    assert shares(2, 5) == first


def test_missing_replicas_or_rank_and_bad_rank_raise_like_torch():
    for cls in (tdata.DistributedSampler, DistributedSampler):
        for kw in ({}, {"num_replicas": 3}, {"rank": 0}):
            with pytest.raises(ValueError, match="process group has not been initialized"):
                cls(range(10), **kw)
        for rank in (3, -1):
            with pytest.raises(ValueError, match=r"Invalid rank .*interval \[0, 2\]"):
                cls(range(10), num_replicas=3, rank=rank)


def test_sampler_feeds_a_data_loader():
    data = ds.utils.data.TensorDataset(ds.arange(10))
    sampler = DistributedSampler(data, num_replicas=2, rank=1, shuffle=False)
    batches = [b[0].tolist() for b in DataLoader(data, batch_size=2, sampler=sampler)]
    assert batches == [[1, 3], [5, 7], [9]]


class _Batched(tdata.Dataset):
    """A dataset with a batched fetch (optionally returning the wrong number of items)."""

    def __init__(self, short=False):
        self.short = short

    def __getitem__(self, i):
        return i * 10

    def __getitems__(self, indices):
        return [i * 10 for i in indices][:len(indices) - self.short]

    def __len__(self):
        return 4


@pytest.mark.parametrize("args,kwargs", [
    ((range(4), "abcd"), {}),
    ((), {"x": range(4), "y": [5, 6, 7, 8]}),
    ((_Batched(), range(4)), {}),
], ids=["tuple", "dict", "nested_getitems"])
def test_stack_dataset_matches_torch(args, kwargs):
    want, got = tdata.StackDataset(*args, **kwargs), StackDataset(*args, **kwargs)
    assert len(got) == len(want)
    assert [got[i] for i in range(len(got))] == [want[i] for i in range(len(want))]
    assert got.__getitems__([3, 0, 2]) == want.__getitems__([3, 0, 2])


@pytest.mark.parametrize("args,kwargs,message", [
    ((), {}, "At least one dataset"),
    ((range(3),), {"a": range(3)}, "both types are given"),
    ((range(3), range(4)), {}, "Size mismatch"),
    ((), {"a": range(3), "b": range(4)}, "Size mismatch"),
], ids=["none", "both", "tuple_sizes", "dict_sizes"])
def test_stack_dataset_errors_like_torch(args, kwargs, message):
    for cls in (tdata.StackDataset, StackDataset):
        with pytest.raises(ValueError, match=message):
            cls(*args, **kwargs)
    for cls in (tdata.StackDataset, StackDataset):
        with pytest.raises(ValueError, match="output size mismatch"):
            cls(_Batched(short=True), range(4)).__getitems__([0, 1])


def test_stack_dataset_in_a_data_loader():
    data = StackDataset(x=ds.utils.data.TensorDataset(ds.arange(6.0)), y=range(6))
    batch = next(iter(DataLoader(data, batch_size=4)))
    assert batch["y"].tolist() == [0, 1, 2, 3] and batch["x"][0].tolist() == [0, 1, 2, 3]
