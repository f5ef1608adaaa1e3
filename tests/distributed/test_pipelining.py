"""Pipeline parallelism (GPipe, 1F1B) in 2 and 3 MPI processes, against
torch.distributed.pipelining on gloo and the unsplit model (the checks are in
workers/pipelining.py)."""

import pytest

from ._mpi import mpirun


@pytest.mark.parametrize("n", [2, 3])
def test_pipelining_matches_torch(n):
    assert "ALL OK" in mpirun("pipelining.py", n)
