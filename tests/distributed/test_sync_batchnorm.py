"""SyncBatchNorm and the differentiable collectives in 2 and 3 MPI processes (the checks are
in workers/sync_batchnorm.py)."""

import pytest

from ._mpi import mpirun


@pytest.mark.parametrize("n", [2, 3])
def test_sync_batchnorm_is_batchnorm_of_the_whole_batch(n):
    assert "ALL OK" in mpirun("sync_batchnorm.py", n)
