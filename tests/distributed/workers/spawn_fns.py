"""What tests/test_multiprocessing.py runs in ``ds.multiprocessing.spawn`` workers, kept out of
the test module so that a worker imports neither pytest nor torch (only what it uses)."""

from __future__ import annotations

import os
import signal
import time


def exchange(rank, inbox, outbox, tag, offset, linger):
    """A tensor in from the parent's queue, one back (and a Parameter), then wait a little."""
    import deepseek as ds

    t = inbox.get()
    outbox.put((rank, tag, t * 2 + offset, ds.nn.Parameter(ds.full((2,), float(rank)))))
    time.sleep(linger)


def record(rank, outbox):
    outbox.put(rank)


def fail(rank, bad_rank, how):
    """``bad_rank`` fails; the others wait for it in an MPI barrier, forever."""
    from mpi4py import MPI

    if rank == bad_rank:
        if how == "raise":
            raise ValueError(f"boom from rank {rank}")
        if how == "exit":
            os._exit(3)
        if how == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
    MPI.COMM_WORLD.Barrier()


def ddp_train(rank, world_size, init, batches, lr, outbox):
    """SGD on a DDP-wrapped Linear from rank 0's weights (the others start elsewhere: DDP
    broadcasts), each rank on its own batches; every rank sends its final weights."""
    import deepseek as ds
    import deepseek.distributed as dist
    from deepseek.nn.parallel import DistributedDataParallel as DDP

    os.environ["MASTER_ADDR"] = "localhost"
    os.environ["MASTER_PORT"] = "12355"
    dist.init_process_group("gloo", rank=rank, world_size=world_size)
    model = ds.nn.Linear(10, 5)
    if rank == 0:
        with ds.no_grad():
            model.weight.copy_(init[0])
            model.bias.copy_(init[1])
    ddp = DDP(model)
    optimizer = ds.optim.SGD(ddp.parameters(), lr=lr)
    loss_fn = ds.nn.MSELoss()
    for x, y in batches[rank]:
        optimizer.zero_grad()
        loss_fn(ddp(x), y).backward()
        optimizer.step()
    outbox.put((rank, model.weight.detach(), model.bias.detach()))
    dist.destroy_process_group()
