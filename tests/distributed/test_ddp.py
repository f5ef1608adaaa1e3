"""DistributedDataParallel and its communication hooks in 2 and 3 MPI processes, against
torch's DDP on gloo (the checks are in workers/ddp.py)."""

import pytest

import deepseek as ds

from ._mpi import mpirun


@pytest.mark.parametrize("n", [2, 3])
def test_ddp_matches_torch(n):
    assert "ALL OK" in mpirun("ddp.py", n)


def test_future_chains_like_torch():
    torch = pytest.importorskip("torch")
    for futures in (ds.futures, torch.futures):
        fut = futures.Future()
        seen = []
        fut.add_done_callback(lambda f, seen=seen: seen.append(f.value()))
        chained = fut.then(lambda f: f.value() + 1)
        assert not fut.done()
        fut.set_result(41)
        assert (chained.wait(), seen, fut.done()) == (42, [41], True)
        with pytest.raises(RuntimeError):
            fut.set_result(0)
        failing = futures.Future()
        failing.set_exception(ValueError("boom"))
        with pytest.raises(ValueError, match="boom"):
            failing.wait()
    parts = [ds.futures.Future(), ds.futures.Future()]
    both = ds.futures.collect_all(parts)
    for f in parts:
        f.set_result(1)
    assert [f.value() for f in both.wait()] == [1, 1]
    assert ds.futures.wait_all(parts) == [1, 1]
    with pytest.raises(RuntimeError, match="no pending work"):
        ds.futures.Future().wait()
