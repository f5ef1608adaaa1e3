"""The CPU backend's handling of NumPy's OpenBLAS threads."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
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


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matmul_of_a_stack_split_over_the_cores_is_numpys(dtype):
    rng = np.random.default_rng(0)
    qkv = rng.standard_normal((16, 32, 3, 4, 64)).astype(dtype)
    q, k = qkv[:, :, 0].transpose(0, 2, 1, 3), qkv[:, :, 1].transpose(0, 2, 1, 3)  # strided
    cases = [
        (q, k.swapaxes(-1, -2)),  # (16, 4, 32, 64) @ (16, 4, 64, 32)
        (q, rng.standard_normal((64, 512)).astype(dtype)),  # a 2-d right operand
        (q, rng.standard_normal((1, 4, 64, 512)).astype(dtype)),  # broadcast along dim 0
        (rng.standard_normal((128, 64)).astype(dtype), k.swapaxes(-1, -2)),  # a 2-d left one
        (rng.standard_normal((8, 1, 64, 64)).astype(dtype),
         rng.standard_normal((4, 64, 512)).astype(dtype)),  # batch dims (8, 1) x (4,)
    ]
    tol = 1e-5 if dtype == np.float32 else 1e-12  # one BLAS thread sums in another order
    for a, b in cases:
        want = np.matmul(a, b)
        assert np.prod(want.shape[:-1]) * a.shape[-1] * b.shape[-1] >= cpu._SPLIT_MIN
        np.testing.assert_allclose(cpu.matmul(a, b), want, rtol=tol, atol=tol)
        out = np.empty_like(want)
        assert cpu.matmul(a, b, out=out) is out
        np.testing.assert_allclose(out, want, rtol=tol, atol=tol)
