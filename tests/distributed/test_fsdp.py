"""FullyShardedDataParallel in 2 and 3 MPI processes, against torch's FSDP on gloo/CPU and
unsharded training (the checks are in workers/fsdp.py)."""

import pytest

from ._mpi import mpirun


@pytest.mark.parametrize("n", [2, 3])
def test_fsdp_matches_torch(n):
    out = mpirun("fsdp.py", n)
    print("\n".join(line for line in out.splitlines() if line.startswith("MEMORY")))
    assert "ALL OK" in out
