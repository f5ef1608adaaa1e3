"""A DDP training job that checkpoints every 2 steps and resumes from the latest complete
checkpoint; with ``--crash-at N`` rank 1 dies at step N on the first attempt."""

import argparse
import os

import numpy as np

import deepseek as ds
import deepseek.distributed as dist
import deepseek.distributed.checkpoint as dcp

parser = argparse.ArgumentParser()
parser.add_argument("root")
parser.add_argument("--steps", type=int, default=8)
parser.add_argument("--crash-at", type=int, default=-1)
args = parser.parse_args()

dist.init_process_group("gloo")
rank = int(os.environ["RANK"])
assert rank == dist.get_rank() and int(os.environ["WORLD_SIZE"]) == dist.get_world_size()
ds.manual_seed(0)
model = ds.nn.parallel.DistributedDataParallel(
    ds.nn.Sequential(ds.nn.Linear(4, 8), ds.nn.ReLU(), ds.nn.Linear(8, 1)))
opt = ds.optim.Adam(model.parameters(), lr=0.05)
state = {"model": model, "optim": opt, "step": 0}
last = dcp.latest(os.path.join(args.root, "ckpt"))
if last is not None:
    dcp.load(state, checkpoint_id=last)
restarts = int(os.environ["TORCHELASTIC_RESTART_COUNT"])
for step in range(state["step"], args.steps):
    if step == args.crash_at and rank == 1 and restarts == 0:
        raise RuntimeError(f"rank 1 dies at step {step}")
    rng = np.random.default_rng(10 * step + rank)
    x = ds.tensor(rng.standard_normal((16, 4)).astype(np.float32))
    loss = ds.nn.functional.mse_loss(model(x), x.sum(1, keepdim=True))
    opt.zero_grad()
    loss.backward()
    opt.step()
    state["step"] = step + 1
    if state["step"] % 2 == 0:
        dcp.save(state, checkpoint_id=os.path.join(args.root, "ckpt", f"step_{step + 1:04d}"))
if rank == 0:
    ds.save(model.module.state_dict(), os.path.join(args.root, "final.safetensors"))
    print(f"resumed from {os.path.basename(last) if last else None} after {restarts} restarts")
dist.destroy_process_group()
