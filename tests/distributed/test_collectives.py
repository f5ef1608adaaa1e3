"""ds.distributed's collectives in 2 and 3 MPI processes (the checks are in
workers/collectives.py), and what needs no second process."""

import pytest

import deepseek as ds
import deepseek.distributed as dist

from ._mpi import mpirun


@pytest.mark.parametrize("n", [2, 3])
def test_collectives_match_torch_gloo(n):
    assert "ALL OK" in mpirun("collectives.py", n)


def test_uninitialized_group_is_named():
    assert not dist.is_initialized()
    with pytest.raises(ValueError, match=r"\[all_reduce\] Default process group has not been"):
        dist.all_reduce(ds.ones(2))
    with pytest.raises(ValueError, match="init_process_group"):
        dist.get_rank()


def test_backend_names():
    assert dist.is_available()
    assert dist.Backend("GLOO") == "gloo"
    with pytest.raises(ValueError, match="unknown backend 'tcp'"):
        dist.Backend("tcp")


def test_single_process_group():
    pytest.importorskip("mpi4py")
    dist.init_process_group("gloo")
    try:
        assert (dist.get_rank(), dist.get_world_size()) == (0, 1)
        t = ds.arange(3.0)
        dist.all_reduce(t, dist.ReduceOp.AVG)
        assert t.tolist() == [0.0, 1.0, 2.0]
        with pytest.raises(ValueError, match="world_size=4 but MPI started 1"):
            dist.destroy_process_group()
            dist.init_process_group("mpi", world_size=4, rank=0)
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
    with pytest.raises(RuntimeError, match="NCCL backend is not available"):
        dist.init_process_group("nccl")


def test_jit_refuses_to_compile_around_a_collective():
    pytest.importorskip("mpi4py")
    dist.init_process_group("gloo")
    try:
        @ds.jit
        def gather(x):
            out = [ds.empty(2)]
            dist.all_gather(out, x * 2)
            return out[0]

        with pytest.raises(ds.jit.TraceError, match="ds.distributed.all_gather: collectives"):
            gather(ds.ones(2))
    finally:
        dist.destroy_process_group()
