"""deepseek.multiprocessing against torch.multiprocessing: the API, tensors through
multiprocessing's pickler, and spawn, whose workers share one MPI world (DDP trained there
equals a single-process torch reference) and whose failures are raised with the rank, never
hung. The worker functions are in distributed/workers/spawn_fns.py."""

from __future__ import annotations

import os
import re
import pickle
import subprocess
import sys
import time
from multiprocessing.reduction import ForkingPickler
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.multiprocessing as tmp

import deepseek as ds
import deepseek.multiprocessing as mp

WORKERS = Path(__file__).parent / "distributed" / "workers"
NO_HANG_S = 20  # a failed spawn must come back well before torch's 30 s SIGKILL wait


@pytest.fixture
def fns(monkeypatch):
    """The worker functions, importable by name in the workers (they get our sys.path)."""
    monkeypatch.syspath_prepend(str(WORKERS))
    import spawn_fns

    return spawn_fns


@pytest.fixture
def mpi():
    pytest.importorskip("mpi4py", reason='needs the [distributed] extra (mpi4py + mpich)')


def assert_same(name, got, want, atol=0.0, rtol=0.0):
    """Shape, then dtype, then values of a ds tensor against a torch one."""
    assert tuple(got.shape) == tuple(want.shape), f"{name}: shape {got.shape} != {want.shape}"
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1], \
        f"{name}: dtype {got.dtype} != {want.dtype}"
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), atol=atol, rtol=rtol,
                               err_msg=f"{name} (atol={atol}, rtol={rtol})")


def ctx_queue():
    return mp.get_context("spawn").SimpleQueue()


# ---- the module ----

def test_names_match_torch_multiprocessing():
    assert ds.multiprocessing is mp
    missing = [n for n in tmp.__all__ if not hasattr(mp, n)]
    assert missing == [] and sorted(mp.__all__) == sorted(tmp.__all__)
    for name in ("spawn", "start_processes", "ProcessContext", "ProcessException",
                 "ProcessRaisedException", "ProcessExitedException", "SpawnContext"):
        assert hasattr(mp, name), name
    import multiprocessing

    assert (mp.Queue, mp.Process, mp.get_context) == (multiprocessing.Queue,
                                                      multiprocessing.Process,
                                                      multiprocessing.get_context)
    assert mp.get_all_sharing_strategies() == tmp.get_all_sharing_strategies()
    assert mp.get_sharing_strategy() == tmp.get_sharing_strategy()
    before = mp.get_sharing_strategy()
    try:
        mp.set_sharing_strategy("file_system")
        assert mp.get_sharing_strategy() == "file_system"
    finally:
        mp.set_sharing_strategy(before)
    with pytest.raises(AssertionError, match="invalid sharing strategy"):
        mp.set_sharing_strategy("shm")


def test_tensors_pickle_through_multiprocessing_only():
    base = ds.arange(12, dtype=ds.float32).reshape(3, 4)
    samples = {"float32 view": base.t()[1:], "int64": ds.arange(5),
               "bfloat16": ds.ones(3, dtype=ds.bfloat16),
               "requires_grad": ds.ones(2, requires_grad=True),
               "Parameter": ds.nn.Parameter(ds.ones(2, 2)),
               "frozen Parameter": ds.nn.Parameter(ds.ones(1), requires_grad=False),
               "Buffer": ds.nn.Buffer(ds.zeros(3), persistent=False)}
    for name, t in samples.items():
        back = ForkingPickler.loads(ForkingPickler.dumps(t))
        assert type(back) is type(t), name
        assert (back.shape, back.dtype, back.requires_grad) == (t.shape, t.dtype,
                                                                t.requires_grad), name
        np.testing.assert_array_equal(back.detach().float().numpy(),
                                      t.detach().float().numpy(), err_msg=name)
    assert ForkingPickler.loads(ForkingPickler.dumps(samples["Buffer"])).persistent is False
    copy = ForkingPickler.loads(ForkingPickler.dumps(base))
    base.add_(1)  # a copy, not shared memory
    assert copy[0, 0].item() == 0.0
    with pytest.raises(TypeError, match="not pickled"):
        pickle.dumps(base)  # files and plain pickle still refuse tensors
    with pytest.raises(RuntimeError, match="Cowardly refusing to serialize non-leaf"):
        ForkingPickler.dumps(ds.ones(2, requires_grad=True) * 2)


def test_refusals_start_nothing():
    with pytest.raises(ValueError, match="start_method='fork' is not supported"):
        mp.start_processes(print, nprocs=1, start_method="fork")
    with pytest.raises(ValueError, match="nprocs must be a positive int"):
        mp.spawn(print, nprocs=0)
    with pytest.raises((pickle.PicklingError, AttributeError)):
        mp.spawn(lambda i: None, nprocs=1)


def test_without_mpi4py_many_processes_need_the_extra(fns, monkeypatch):
    monkeypatch.setitem(sys.modules, "mpi4py", None)  # import mpi4py now raises ImportError
    with pytest.raises(ImportError, match=r'pip install "deepseek-framework\[distributed\]"'):
        mp.spawn(fns.record, nprocs=2)
    outbox = ctx_queue()
    with pytest.warns(FutureWarning, match="only supports start_method=spawn"):
        mp.spawn(fns.record, args=(outbox,), nprocs=1, start_method="fork")  # no mpiexec
    assert outbox.get() == 0


# ---- spawn in one MPI world ----

def test_spawn_ddp_matches_single_process_torch(fns, mpi):
    rng = np.random.default_rng(0)
    weight = rng.standard_normal((5, 10)).astype(np.float32) * 0.3
    bias = rng.standard_normal(5).astype(np.float32) * 0.3
    steps, world, lr = 3, 2, 0.1
    batches = [[(rng.standard_normal((4, 10)).astype(np.float32),
                 rng.standard_normal((4, 5)).astype(np.float32)) for _ in range(steps)]
               for _ in range(world)]
    outbox = ctx_queue()
    # ds tensors in args travel through multiprocessing's pickler, as torch's
    args = (world, (ds.tensor(weight), ds.tensor(bias)),
            [[(ds.tensor(x), ds.tensor(y)) for x, y in rank] for rank in batches], lr, outbox)
    mp.spawn(fns.ddp_train, args=args, nprocs=world, join=True)
    results = sorted(outbox.get() for _ in range(world))

    reference = torch.nn.Linear(10, 5)
    with torch.no_grad():
        reference.weight.copy_(torch.from_numpy(weight))
        reference.bias.copy_(torch.from_numpy(bias))
    optimizer = torch.optim.SGD(reference.parameters(), lr=lr)
    for step in range(steps):  # DDP averages the ranks' gradients: the mean over all batches
        x = torch.from_numpy(np.concatenate([batches[r][step][0] for r in range(world)]))
        y = torch.from_numpy(np.concatenate([batches[r][step][1] for r in range(world)]))
        optimizer.zero_grad()
        torch.nn.functional.mse_loss(reference(x), y).backward()
        optimizer.step()
    assert [r for r, _, _ in results] == list(range(world))
    for rank, w, b in results:
        assert_same(f"rank {rank} weight", w, reference.weight, atol=1e-6, rtol=1e-5)
        assert_same(f"rank {rank} bias", b, reference.bias, atol=1e-6, rtol=1e-5)


def test_join_false_context_args_and_tensor_queues(fns, mpi):
    inbox, outbox = ctx_queue(), ctx_queue()
    for rank in range(2):
        inbox.put(ds.full((3,), float(rank)))
    context = mp.spawn(fns.exchange, args=(inbox, outbox, "tag", ds.arange(3.0), 1.5),
                       nprocs=2, join=False)
    assert isinstance(context, mp.ProcessContext)
    pids = context.pids()
    assert len(set(pids)) == 2 and os.getpid() not in pids
    assert [p.pid for p in context.processes] == pids
    got = []
    while len(got) < 2:
        while outbox.empty():
            assert context.join(timeout=0.05) is False  # raises if a worker failed
        got.append(outbox.get())
    assert context.join(timeout=0) is False  # they linger for 1.5 s
    assert all(p.is_alive() and p.exitcode is None for p in context.processes)
    while not context.join():
        pass
    assert [p.exitcode for p in context.processes] == [0, 0]
    assert not any(p.is_alive() for p in context.processes)
    assert context.join() is True
    ranks = set()
    for rank, tag, doubled, param in got:
        ranks.add(rank)
        assert tag == "tag"
        inputs = sorted(float(t) for t in (doubled - ds.arange(3.0)) / 2)
        assert inputs[0] == inputs[-1] in (0.0, 1.0)  # one of the parent's tensors, doubled
        assert isinstance(param, ds.nn.Parameter) and param.requires_grad
        assert param.tolist() == [float(rank)] * 2
    assert ranks == {0, 1}


@pytest.mark.parametrize("how", ["raise", "exit", "kill"])
def test_failed_worker_stops_the_others_and_names_its_rank(fns, mpi, how):
    start = time.monotonic()
    context = mp.spawn(fns.fail, args=(1, how), nprocs=2, join=False)
    pids = context.pids()
    if how == "raise":
        with pytest.raises(mp.ProcessRaisedException) as info:
            context.join()
        assert "-- Process 1 terminated with the following error:" in str(info.value)
        assert "ValueError: boom from rank 1" in str(info.value)
        assert 'in fail\n    raise ValueError(f"boom from rank {rank}")' in str(info.value)
    else:
        with pytest.raises(mp.ProcessExitedException) as info:
            context.join()
        if how == "exit":
            assert str(info.value) == "process 1 terminated with exit code 3"
            assert (info.value.exit_code, info.value.signal_name) == (3, None)
        else:
            assert str(info.value) == "process 1 terminated with signal SIGKILL"
            assert (info.value.exit_code, info.value.signal_name) == (-9, "SIGKILL")
    assert (info.value.error_index, info.value.error_pid) == (1, pids[1])
    assert time.monotonic() - start < NO_HANG_S
    for pid in pids:  # rank 0, stuck in a barrier, was stopped too
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


TUTORIAL = '''
import os
import sys

import deepseek as torch
import deepseek.distributed as dist
import deepseek.multiprocessing as mp
import deepseek.nn as nn
import deepseek.optim as optim
from deepseek.nn.parallel import DistributedDataParallel as DDP


def setup(rank, world_size):
    os.environ["MASTER_ADDR"] = "localhost"
    os.environ["MASTER_PORT"] = "12355"
    dist.init_process_group("gloo", rank=rank, world_size=world_size)


def cleanup():
    dist.destroy_process_group()


class ToyModel(nn.Module):
    def __init__(self):
        super(ToyModel, self).__init__()
        self.net1 = nn.Linear(10, 10)
        self.relu = nn.ReLU()
        self.net2 = nn.Linear(10, 5)

    def forward(self, x):
        return self.net2(self.relu(self.net1(x)))


def demo_basic(rank, world_size):
    print(f"Running basic DDP example on rank {rank}.")
    setup(rank, world_size)
    model = ToyModel()
    ddp_model = DDP(model)
    loss_fn = nn.MSELoss()
    optimizer = optim.SGD(ddp_model.parameters(), lr=0.001)
    optimizer.zero_grad()
    outputs = ddp_model(torch.randn(20, 10))
    labels = torch.randn(20, 5)
    loss_fn(outputs, labels).backward()
    optimizer.step()
    total = sum(float(p.detach().sum()) for p in model.parameters())
    print(f"rank {rank} parameter sum {total:.8f}")
    cleanup()
    print(f"Finished running basic DDP example on rank {rank}.")


def run_demo(demo_fn, world_size):
    mp.spawn(demo_fn, args=(world_size,), nprocs=world_size, join=True)


if __name__ == "__main__":
    run_demo(demo_basic, 2)
'''


def test_pytorch_ddp_tutorial_runs_with_main_defined_function(mpi, tmp_path):
    """PyTorch's DDP tutorial (CPU, gloo) with only the imports changed: ``demo_basic`` lives
    in ``__main__``, which the workers re-run as ``__mp_main__`` to find it."""
    script = tmp_path / "ddp_tutorial.py"
    script.write_text(TUTORIAL)
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).parents[1]), OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    for rank in range(2):
        assert f"Finished running basic DDP example on rank {rank}." in proc.stdout
    # the ranks print to one pipe, so their lines may interleave mid-line
    sums = re.findall(r"rank (\d) parameter sum (-?\d+\.\d{8})", proc.stdout)
    assert sorted(r for r, _ in sums) == ["0", "1"], proc.stdout
    assert len({v for _, v in sums}) == 1, proc.stdout  # one model after DDP's averaged step
