"""SyncBatchNorm against torch's BatchNorm on the whole batch (torch's SyncBatchNorm runs only
on GPUs); the differentiable collectives against torch.distributed.nn.functional."""

import numpy as np
import torch
import torch.distributed.nn.functional as tF
from _check import RANK, SIZE, check, check_compiled, finish, sgd_step, start

import deepseek as ds
import deepseek.distributed as dist
import deepseek.distributed.nn.functional as dF

start()


def rows(r):
    return 3 + r  # processes hold batches of different sizes


def batch(r, step=0):
    rng = np.random.default_rng(10 * step + r)
    return rng.standard_normal((rows(r), 4, 5)).astype(np.float32) + r


weight = np.random.default_rng(99).uniform(0.5, 1.5, 4).astype(np.float32)
bias = np.random.default_rng(98).standard_normal(4).astype(np.float32)
upstream = [np.random.default_rng(50 + r).standard_normal((rows(r), 4, 5)).astype(np.float32)
            for r in range(SIZE)]

for momentum in (0.1, None):
    ours = ds.nn.SyncBatchNorm(4, momentum=momentum)
    whole = torch.nn.BatchNorm1d(4, momentum=momentum)
    ours.weight.data, ours.bias.data = ds.tensor(weight), ds.tensor(bias)
    whole.weight.data, whole.bias.data = torch.from_numpy(weight), torch.from_numpy(bias)
    for step in range(2):
        x = ds.tensor(batch(RANK, step), requires_grad=True)
        out = ours(x)
        (out * ds.tensor(upstream[RANK])).sum().backward()
        everything = torch.from_numpy(np.concatenate([batch(r, step) for r in range(SIZE)]))
        everything.requires_grad_()
        wout = whole(everything)
        (wout * torch.from_numpy(np.concatenate(upstream))).sum().backward()
        start_row = sum(rows(r) for r in range(RANK))
        check(f"whole batch {step} forward", out, wout.detach()[start_row:start_row + rows(RANK)],
              atol=1e-5)
        check(f"whole batch {step} input grad", x.grad,
              everything.grad[start_row:start_row + rows(RANK)], atol=1e-5)
        for name in ("weight", "bias"):  # summed over processes: the whole batch's gradient
            g = getattr(ours, name).grad.clone()
            dist.all_reduce(g)
            check(f"whole batch {step} {name} grad", g, getattr(whole, name).grad, atol=1e-4,
                  rtol=1e-5)
        check(f"running_mean {momentum} {step}", ours.running_mean, whole.running_mean,
              atol=1e-6)
        check(f"running_var {momentum} {step}", ours.running_var, whole.running_var, atol=1e-5)
        ours.zero_grad()
        whole.zero_grad()
ours.eval()
x = batch(RANK)
check("eval uses running stats", ours(ds.tensor(x)), whole.eval()(torch.from_numpy(x)).detach(),
      atol=1e-5)

# half-precision inputs: statistics in float32, the output in the input's dtype
bn = ds.nn.SyncBatchNorm(4)
half = ds.tensor(batch(RANK)).to(ds.bfloat16)
out = bn(half)
check("SyncBatchNorm bfloat16 dtype", str(out.dtype), "deepseek.bfloat16")
whole = torch.nn.BatchNorm1d(4)(torch.from_numpy(np.concatenate(
    [batch(r) for r in range(SIZE)])).to(torch.bfloat16).float())
start_row = sum(rows(r) for r in range(RANK))
check("SyncBatchNorm bfloat16 values", out.float(),
      whole.detach()[start_row:start_row + rows(RANK)], atol=3e-2, rtol=1e-2)

# a ds.jit-compiled SyncBatchNorm step communicates where the eager one does
def sync_bn_model():
    net = ds.nn.Sequential(ds.nn.Linear(4, 4), ds.nn.SyncBatchNorm(4), ds.nn.ReLU(),
                           ds.nn.Linear(4, 1))
    return sgd_step(net, lambda m, x: m(x).pow(2).mean(), lr=0.1)


check_compiled("SyncBatchNorm", sync_bn_model,
               [(ds.tensor(batch(RANK, s)[:, :, 0]),) for s in range(4)])

# differentiable collectives
x0 = np.random.default_rng(RANK).standard_normal((2, 3)).astype(np.float32)
w = np.random.default_rng(7 + RANK).standard_normal((2, 3)).astype(np.float32)
for name, ours_fn, theirs_fn in [
    ("all_reduce", lambda t: dF.all_reduce(t), lambda t: tF.all_reduce(t)),
    ("broadcast", lambda t: dF.broadcast(t, src=SIZE - 1), lambda t: tF.broadcast(t, SIZE - 1)),
    ("all_gather", lambda t: ds.cat(dF.all_gather(t)), lambda t: torch.cat(tF.all_gather(t))),
]:
    x, tx = ds.tensor(x0, requires_grad=True), torch.from_numpy(x0.copy()).requires_grad_()
    out, tout = ours_fn(x), theirs_fn(tx)
    check(f"{name} forward", out, tout.detach(), rtol=1e-6)
    scale = np.random.default_rng(3 + RANK).standard_normal(tuple(out.shape)).astype(np.float32)
    (out * ds.tensor(scale)).sum().backward()
    (tout * torch.from_numpy(scale)).sum().backward()
    check(f"{name} backward", x.grad, tx.grad, rtol=1e-5, atol=1e-6)
x = [ds.tensor(np.full((2,), 1.0 + i + RANK, np.float32), requires_grad=True) for i in range(SIZE)]
out = dF.reduce_scatter(ds.empty(2), x)  # process r gets the sum of every process's x[r]
check("reduce_scatter forward", out, np.full(2, sum(1.0 + RANK + p for p in range(SIZE)),
                                             np.float32))
(out * (RANK + 1.0)).sum().backward()
for i in range(SIZE):
    check(f"reduce_scatter backward [{i}]", x[i].grad, np.full(2, i + 1.0, np.float32))
finish()
