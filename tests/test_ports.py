"""PyTorch programs (tests/ports/) run once with torch and once with deepseek substituted by an
import hook; both must reach the same quality."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

HERE = os.path.join(os.path.dirname(__file__), "ports")
PORTS = {  # program: (metric, minimum, allowed gap to torch)
    "mlp_digits.py": ("accuracy", 0.9, 0.03),
    "cnn_digits.py": ("accuracy", 0.85, 0.03),
}


def _run(args: list) -> dict:
    out = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=600,
                         cwd=HERE)
    assert out.returncode == 0, f"{args} failed:\n{out.stderr[-3000:]}"
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("program", sorted(PORTS))
def test_port_matches_torch(program):
    metric, minimum, gap = PORTS[program]
    theirs = _run([program])
    ours = _run(["torch_as_deepseek.py", program])
    assert ours[metric] >= minimum, f"{program}: deepseek {metric} {ours[metric]} < {minimum}"
    assert ours[metric] >= theirs[metric] - gap, (
        f"{program}: deepseek {metric} {ours[metric]:.4f} vs torch {theirs[metric]:.4f}")
