"""The CPU backend's handling of NumPy's OpenBLAS threads."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from deepseek.backend import cpu

_PROBE = """
import os, numpy as np, deepseek
from deepseek.backend import cpu
a = np.arange(512 * 512, dtype=np.float32).reshape(512, 512) % 7
ok = np.allclose(a @ a, (a.astype(np.float64) @ a).astype(np.float32))  # threads restarted
print(cpu._openblas().openblas_thread_timeout(), "OPENBLAS_THREAD_TIMEOUT" in os.environ, ok)
"""


def _probe(**env: str) -> list:
    env = {**{k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"}, **env}
    out = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


@pytest.mark.skipif(cpu._openblas() is None or cpu.cores() < 2,
                    reason="needs NumPy's OpenBLAS and two cores")
def test_idle_openblas_threads_sleep_at_once_unless_the_user_chose():
    """NumPy imported first, deepseek second: OpenBLAS's threads no longer spin after a call
    (they would take a core from the Numba kernels), the environment is left as it was, GEMMs
    still run; a user's own OPENBLAS_THREAD_TIMEOUT wins."""
    assert _probe() == ["4", "False", "True"]
    assert _probe(OPENBLAS_THREAD_TIMEOUT="12") == ["12", "True", "True"]
