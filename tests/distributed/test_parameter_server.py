"""ParameterServer in 3 MPI processes (the checks are in workers/parameter_server.py)."""

from ._mpi import mpirun


def test_parameter_server_async_and_sync():
    assert "ALL OK" in mpirun("parameter_server.py", 3)
