"""Smoke test: every script in examples/ runs to completion with a reduced step count."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = {  # script: arguments that keep it to a few seconds
    "mlp_digits.py": ["--epochs", "1"],
    "cnn_digits.py": ["--epochs", "1"],
    "char_gpt.py": ["--steps", "3", "--tokens", "5"],
    "ddp_digits.py": ["--epochs", "1", "--sync-bn"],
}
LAUNCH = {  # script: how it is started, when not as `python script`
    "ddp_digits.py": ["-m", "deepseek.distributed.run", "--nproc-per-node", "2"],
}


def test_every_example_is_listed():
    assert sorted(EXAMPLES) == sorted(f for f in os.listdir(os.path.join(ROOT, "examples"))
                                      if f.endswith(".py"))


@pytest.mark.parametrize("script", sorted(EXAMPLES))
def test_example_runs(script, tmp_path):
    if script == "ddp_digits.py":
        pytest.importorskip("mpi4py", reason='needs the [distributed] extra')
    extra = ["--checkpoints", str(tmp_path)] if script == "ddp_digits.py" else []
    env = {**os.environ, "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, *LAUNCH.get(script, []), os.path.join("examples", script),
               *EXAMPLES[script], *extra]
    out = subprocess.run(command,
                         capture_output=True, text=True, timeout=300, cwd=ROOT, env=env,
                         check=False)
    assert out.returncode == 0, f"examples/{script} failed:\n{out.stderr[-3000:]}"
    assert out.stdout.strip(), f"examples/{script} printed nothing"
