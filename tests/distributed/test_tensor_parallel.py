"""Tensor parallelism in 2 MPI processes against the unsharded model and torch's
parallelize_module on gloo (the checks are in workers/tensor_parallel.py); placements and
style arguments in one process."""

import pytest

from deepseek.distributed.tensor import Partial, Replicate, Shard
from deepseek.distributed.tensor.parallel import (ColwiseParallel, RowwiseParallel,
                                                  SequenceParallel)

from ._mpi import mpirun


def test_tensor_parallel_matches_unsharded_and_torch():
    assert "ALL OK" in mpirun("tensor_parallel.py", 2)


def test_placements_compare_and_print_like_torch():
    torch_placements = pytest.importorskip("torch.distributed.tensor")
    assert Shard(1) == Shard(1) != Shard(0)
    assert Replicate() == Replicate() != Shard(0)
    assert len({Shard(0), Shard(0), Replicate()}) == 2
    for ours, theirs in ((Shard(-1), torch_placements.Shard(-1)),
                         (Replicate(), torch_placements.Replicate())):
        assert repr(ours) == repr(theirs)
    assert Shard(2).is_shard() and Shard(2).is_shard(2) and not Shard(2).is_shard(0)
    assert Partial().is_partial() and not Partial().is_replicate()


def test_style_defaults_and_argument_errors():
    assert (ColwiseParallel().input_layouts, ColwiseParallel().output_layouts) == (
        Replicate(), Shard(-1))
    assert (RowwiseParallel().input_layouts, RowwiseParallel().output_layouts) == (
        Shard(-1), Replicate())
    with pytest.raises(NotImplementedError, match="DTensor"):
        RowwiseParallel(use_local_output=False)
    with pytest.raises(TypeError, match="output_layouts must be a Placement"):
        ColwiseParallel(output_layouts="replicate")
    with pytest.raises(NotImplementedError, match="SequenceParallel"):
        SequenceParallel()
