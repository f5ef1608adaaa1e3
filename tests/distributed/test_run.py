"""The launcher (python -m deepseek.distributed.run) restarting a failed job that resumes from
its last complete checkpoint, and deepseek.distributed.checkpoint on its own."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import deepseek as ds
import deepseek.distributed.checkpoint as dcp

WORKER = Path(__file__).parent / "workers" / "resumable.py"


def launch(root, *extra, restarts=0):
    pytest.importorskip("mpi4py", reason='needs the [distributed] extra (mpi4py + mpich)')
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).parents[2]), OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-m", "deepseek.distributed.run", "--nproc-per-node",
                           "2", "--max-restarts", str(restarts), str(WORKER), str(root), *extra],
                          capture_output=True, text=True, timeout=240, env=env)


def test_restarted_job_resumes_and_ends_where_an_uninterrupted_one_does(tmp_path):
    crashed = launch(tmp_path / "a", "--crash-at", "5", restarts=1)
    assert crashed.returncode == 0, crashed.stderr[-3000:]
    assert "restarting (1 of 1)" in crashed.stderr
    assert "resumed from step_0004 after 1 restarts" in crashed.stdout
    clean = launch(tmp_path / "b")
    assert clean.returncode == 0, clean.stderr[-3000:]
    a = ds.load(tmp_path / "a" / "final.safetensors")
    b = ds.load(tmp_path / "b" / "final.safetensors")
    assert list(a) == list(b)
    for k in a:
        np.testing.assert_array_equal(a[k].numpy(), b[k].numpy(), err_msg=k)


def test_failed_job_without_restarts_fails_whole(tmp_path):
    out = launch(tmp_path, "--crash-at", "1")
    assert out.returncode != 0
    assert "rank 1 dies at step 1" in out.stderr
    assert "failed (exit code" in out.stderr


def test_checkpoint_round_trip_in_place(tmp_path):
    model = ds.nn.Linear(3, 2)
    opt = ds.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(ds.randn(4, 3)).sum().backward()
    opt.step()
    extra = {"w": ds.arange(4.0), "note": "x"}
    dcp.save({"model": model, "optim": opt, "extra": extra, "step": 7},
             checkpoint_id=tmp_path / "c")
    model2 = ds.nn.Linear(3, 2)
    opt2 = ds.optim.SGD(model2.parameters(), lr=0.1, momentum=0.9)
    extra2 = {"w": ds.zeros(4), "note": "y"}
    w = extra2["w"]
    state = {"model": model2, "optim": opt2, "extra": extra2, "step": 0}
    dcp.load(state, checkpoint_id=tmp_path / "c")
    assert state["step"] == 7 and extra2["note"] == "x"
    assert extra2["w"] is w and w.tolist() == [0.0, 1.0, 2.0, 3.0]  # copied into, in place
    for p, q in zip(model.parameters(), model2.parameters()):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())
    assert opt2.state_dict()["state"].keys() == opt.state_dict()["state"].keys()
    assert dcp.latest(tmp_path) == str(tmp_path / "c")


def test_incomplete_or_mismatched_checkpoint_is_refused(tmp_path):
    dcp.save({"w": ds.ones(2)}, checkpoint_id=tmp_path / "ok")
    (tmp_path / "broken").mkdir()
    with pytest.raises(FileNotFoundError, match="not a complete checkpoint"):
        dcp.load({"w": ds.ones(2)}, checkpoint_id=tmp_path / "broken")
    assert dcp.latest(tmp_path) == str(tmp_path / "ok")
    with pytest.raises(ValueError, match=r"\[dcp.load\] w: the checkpoint holds"):
        dcp.load({"w": ds.ones(3)}, checkpoint_id=tmp_path / "ok")
    with pytest.raises(KeyError, match="'v' is not in the checkpoint"):
        dcp.load({"v": ds.ones(2)}, checkpoint_id=tmp_path / "ok")
