"""PyTorch programs (tests/ports/) run once with torch and once with deepseek substituted by an
import hook; both must reach the same quality, and flags a program reports must hold in both."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

HERE = os.path.join(os.path.dirname(__file__), "ports")
# program: checks. ("max", metric, bound, gap): deepseek's metric is at least bound and at most
# gap below torch's; ("min", ...) the same for a metric where lower is better; ("true", flag):
# the flag is true in both runs.
PORTS = {
    "mlp_digits.py": [("max", "accuracy", 0.95, 0.03)],
    "cnn_digits.py": [("max", "accuracy", 0.93, 0.03)],
    "gpt_char.py": [("min", "train_loss", 0.8, 0.15), ("min", "eval_loss", 0.6, 0.15),
                    ("true", "sample_ok"), ("true", "tied")],
    "lstm_lm.py": [("min", "eval_loss", 0.8, 0.15)],
    "regression_resume.py": [("min", "relative_mse", 0.2, 0.08), ("true", "resume_identical"),
                             ("min", "checkpoint_grad_diff", 1e-6, 1e-6)],
}
# One BLAS/OpenMP thread: the suite shares two cores, and oversubscribed torch runs ten times
# slower.
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _run(args: list) -> dict:
    out = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=600,
                         cwd=HERE, env=ENV, check=False)
    assert out.returncode == 0, f"{args} failed:\n{out.stderr[-3000:]}"
    return json.loads(out.stdout.strip().splitlines()[-1])


def _check(program: str, check: tuple, ours: dict, theirs: dict) -> None:
    kind, metric = check[:2]
    if kind == "true":
        assert theirs[metric] is True, f"{program}: torch's own {metric} is {theirs[metric]}"
        assert ours[metric] is True, f"{program}: deepseek {metric} is {ours[metric]} (torch: True)"
        return
    bound, gap = check[2:]
    sign = 1 if kind == "max" else -1  # compare as "higher is better"
    better = "at least" if kind == "max" else "at most"
    assert sign * ours[metric] >= sign * bound, (
        f"{program}: deepseek {metric} {ours[metric]:.4g} is not {better} {bound} "
        f"(torch: {theirs[metric]:.4g})")
    assert sign * ours[metric] >= sign * theirs[metric] - gap, (
        f"{program}: deepseek {metric} {ours[metric]:.4g} vs torch {theirs[metric]:.4g} "
        f"(allowed gap {gap})")


@pytest.mark.parametrize("program", sorted(PORTS))
def test_port_matches_torch(program):
    theirs = _run([program])
    ours = _run(["torch_as_deepseek.py", program])
    for check in PORTS[program]:
        _check(program, check, ours, theirs)
