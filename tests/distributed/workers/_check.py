"""What every worker shares: MPI rank, a torch gloo group beside ours, and ``check``."""

from __future__ import annotations

import sys

import numpy as np
import torch
import torch.distributed as tdist
from mpi4py import MPI

import deepseek as ds
import deepseek.distributed as dist

RANK, SIZE = MPI.COMM_WORLD.Get_rank(), MPI.COMM_WORLD.Get_size()
FAILURES: list = []


def start(with_torch: bool = True) -> None:
    dist.init_process_group("gloo")
    if with_torch:
        tdist.init_process_group("gloo", rank=RANK, world_size=SIZE)


def check(name: str, got, want, atol: float = 0.0, rtol: float = 0.0) -> None:
    """Record a failure unless ``got`` (a ds tensor, array or value) equals ``want``."""
    g = got.detach().numpy() if isinstance(got, ds.Tensor) else got
    w = want.detach().numpy() if isinstance(want, torch.Tensor) else want
    g, w = np.asarray(g), np.asarray(w)
    if g.dtype.kind in "OUS" or w.dtype.kind in "OUS":
        if not np.array_equal(g, w):
            FAILURES.append(f"rank {RANK} {name}: {got!r} != {want!r}")
    elif g.shape != w.shape:
        FAILURES.append(f"rank {RANK} {name}: shape {g.shape} != {w.shape}")
    elif g.dtype != w.dtype and not (g.dtype.kind == w.dtype.kind == "V"):
        FAILURES.append(f"rank {RANK} {name}: dtype {g.dtype} != {w.dtype}")
    elif not np.allclose(g.astype(np.float64), w.astype(np.float64), atol=atol, rtol=rtol):
        FAILURES.append(f"rank {RANK} {name}: values differ (atol {atol}, rtol {rtol})\n"
                        f"got  {g.ravel()[:8]}\nwant {w.ravel()[:8]}")


def expect_error(name: str, exc: type, fn, *words: str) -> None:
    try:
        fn()
    except exc as e:
        missing = [w for w in words if w not in str(e)]
        if missing:
            FAILURES.append(f"rank {RANK} {name}: message {str(e)!r} lacks {missing}")
        return
    except Exception as e:  # noqa: BLE001
        FAILURES.append(f"rank {RANK} {name}: raised {type(e).__name__}: {e}, not {exc.__name__}")
        return
    FAILURES.append(f"rank {RANK} {name}: did not raise {exc.__name__}")


def check_compiled(name: str, build, batches, seed: int = 0, tol: float = 1e-6):
    """Train ``build()``'s ``(model, step)`` on ``batches`` eagerly and compiled with ds.jit,
    from the same seed: the losses and the final state must agree. Returns the compiled step."""
    runs = {}
    for mode in ("eager", "jit"):
        ds.manual_seed(seed)
        model, step = build()
        run = ds.jit(step) if mode == "jit" else step
        losses = [float(run(*b)) for b in batches]
        runs[mode] = losses, {k: v.numpy().copy() for k, v in model.state_dict().items()}, run
    check(f"{name} compiled losses", runs["jit"][0], runs["eager"][0], rtol=tol)
    for key, value in runs["eager"][1].items():
        check(f"{name} compiled {key}", runs["jit"][1][key], value, atol=tol, rtol=tol)
    return runs["jit"][2]


def sgd_step(model, loss_fn, **sgd):
    """``(model, step)`` for ``check_compiled``: one SGD step on ``loss_fn(model, *batch)``."""
    opt = ds.optim.SGD(model.parameters(), **sgd)

    def step(*batch):
        loss = loss_fn(model, *batch)
        loss.backward()
        opt.step()
        opt.zero_grad()
        return loss

    return model, step


def finish() -> None:
    """Gather every rank's failures to rank 0, which prints them; exit 1 if any."""
    everything = MPI.COMM_WORLD.gather(FAILURES, 0)
    if RANK == 0:
        failures = [f for per_rank in everything for f in per_rank]
        print("\n".join(failures) if failures else "ALL OK")
        sys.stdout.flush()
        code = 1 if failures else 0
    else:
        code = 0
    code = MPI.COMM_WORLD.bcast(code, 0)
    dist.destroy_process_group()
    if tdist.is_initialized():
        tdist.destroy_process_group()
    sys.exit(code)
