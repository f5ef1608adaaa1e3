"""Run a worker script in N MPI processes and return what rank 0 printed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

WORKERS = Path(__file__).parent / "workers"


def mpirun(script: str, n: int = 2, *args: str, timeout: float = 240) -> str:
    pytest.importorskip("mpi4py", reason='needs the [distributed] extra (mpi4py + mpich)')
    mpiexec = shutil.which("mpiexec", path=os.path.dirname(sys.executable) + os.pathsep
                           + os.environ.get("PATH", ""))
    if mpiexec is None:
        pytest.fail("mpi4py is installed but mpiexec is not on PATH (pip install mpich)")
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).parents[2]), OMP_NUM_THREADS="1",
               MASTER_ADDR="127.0.0.1", MASTER_PORT=str(29400 + os.getpid() % 500))
    proc = subprocess.run([mpiexec, "-n", str(n), sys.executable, str(WORKERS / script), *args],
                          capture_output=True, text=True, timeout=timeout, env=env)
    if proc.returncode != 0:
        pytest.fail(f"{script} failed (rc {proc.returncode}):\n{proc.stdout[-4000:]}\n"
                    f"{proc.stderr[-6000:]}")
    return proc.stdout
