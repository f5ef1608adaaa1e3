"""DistributedDataParallel against torch's (gloo) on the same weights and per-rank batches:
gradients, parameters after SGD steps, buffers, no_sync, unused parameters, the
compression hooks; and PowerSGD against its own definition."""

import numpy as np
import torch
from _check import RANK, SIZE, check, check_compiled, expect_error, finish, sgd_step, start

import deepseek as ds
import deepseek.distributed as dist
from deepseek.distributed.algorithms.ddp_comm_hooks import default_hooks, powerSGD_hook
from torch.distributed.algorithms.ddp_comm_hooks import default_hooks as torch_hooks

start()
rng = np.random.default_rng(RANK)  # every rank starts from different weights: DDP syncs them


def pair(batchnorm: bool):
    layers = [(ds.nn.Linear(8, 16), torch.nn.Linear(8, 16))]
    if batchnorm:
        layers.append((ds.nn.BatchNorm1d(16), torch.nn.BatchNorm1d(16)))
    layers += [(ds.nn.ReLU(), torch.nn.ReLU()), (ds.nn.Linear(16, 4), torch.nn.Linear(16, 4))]
    ours = ds.nn.Sequential(*[a for a, _ in layers])
    theirs = torch.nn.Sequential(*[b for _, b in layers])
    for p, tp in zip(ours.parameters(), theirs.parameters()):
        value = rng.standard_normal(tuple(p.shape)).astype(np.float32) * 0.3
        p.data = ds.tensor(value)
        tp.data = torch.from_numpy(value.copy())
    return ours, theirs


def batch(step: int, n: int = 6):
    r = np.random.default_rng(100 * step + RANK)
    return r.standard_normal((n, 8)).astype(np.float32), r.integers(0, 4, n)


def compare(name, ours, theirs, atol=1e-6):
    for (pname, p), tp in zip(ours.named_parameters(), theirs.parameters()):
        check(f"{name} param {pname}", p, tp.detach(), atol=atol, rtol=1e-5)
        if tp.grad is None:
            check(f"{name} grad {pname} is None", p.grad is None, True)
        else:
            check(f"{name} grad {pname}", p.grad, tp.grad, atol=atol, rtol=1e-5)
    for (bname, b), tb in zip(ours.named_buffers(), theirs.buffers()):
        check(f"{name} buffer {bname}", b, tb, atol=atol, rtol=1e-5)


def train(name, ours, theirs, steps=3, hook=None, atol=1e-6, **kw):
    ddp = ds.nn.parallel.DistributedDataParallel(ours, **kw)
    tddp = torch.nn.parallel.DistributedDataParallel(theirs, **kw)
    if hook is not None:
        ddp.register_comm_hook(None, hook[0])
        if hook[1] is not None:
            tddp.register_comm_hook(None, hook[1])
    opt = ds.optim.SGD(ddp.parameters(), lr=0.1, momentum=0.9)
    topt = torch.optim.SGD(tddp.parameters(), lr=0.1, momentum=0.9)
    compare(f"{name} after construction", ours, theirs)
    for step in range(steps):
        x, y = batch(step)
        loss = ds.nn.functional.cross_entropy(ddp(ds.tensor(x)), ds.tensor(y))
        tloss = torch.nn.functional.cross_entropy(tddp(torch.from_numpy(x)), torch.from_numpy(y))
        check(f"{name} loss {step}", loss, tloss.detach(), rtol=max(1e-5, atol))
        loss.backward()
        tloss.backward()
        compare(f"{name} step {step}", ours, theirs, atol=atol)
        opt.step()
        topt.step()
        opt.zero_grad()
        topt.zero_grad()
    return ddp


ddp = train("default", *pair(batchnorm=True))
check("state_dict keys", list(ddp.state_dict()), list(
    torch.nn.parallel.DistributedDataParallel(pair(True)[1]).state_dict()))
train("many buckets", *pair(batchnorm=False), bucket_cap_mb=0.0002)
ddp = train("bucket views", *pair(batchnorm=False), gradient_as_bucket_view=True)
train("fp16 hook", *pair(False), hook=(default_hooks.fp16_compress_hook,
                                        torch_hooks.fp16_compress_hook), atol=1e-3)
# torch's bf16 hook needs NCCL: compare with its uncompressed average, to bf16's precision
train("bf16 hook", *pair(False), hook=(default_hooks.bf16_compress_hook, None), atol=2e-2)
train("allreduce hook", *pair(False), hook=(default_hooks.allreduce_hook,
                                            torch_hooks.allreduce_hook))

# averaged gradients are the gradients of the mean loss over the whole (concatenated) batch
ours, _ = pair(False)
reference, _ = pair(False)
ddp = ds.nn.parallel.DistributedDataParallel(ours)
reference.load_state_dict(ours.state_dict())  # rank 0's weights, as DDP made them
xs = [np.random.default_rng(100 * 7 + r).standard_normal((6, 8)).astype(np.float32)
      for r in range(SIZE)]
ds.nn.functional.mse_loss(ddp(ds.tensor(xs[RANK])), ds.zeros(6, 4)).backward()
ds.nn.functional.mse_loss(reference(ds.tensor(np.concatenate(xs))), ds.zeros(6 * SIZE, 4)
                          ).backward()
for (name, p), q in zip(ours.named_parameters(), reference.parameters()):
    check(f"whole-batch gradient {name}", p.grad, q.grad, atol=1e-6, rtol=1e-5)

# no_sync: the first micro-batch accumulates locally, the second averages both
ours, theirs = pair(False)
ddp = ds.nn.parallel.DistributedDataParallel(ours)
tddp = torch.nn.parallel.DistributedDataParallel(theirs)
for step in range(2):
    x, _ = batch(10 + step)
    if step == 0:
        with ddp.no_sync():
            ddp(ds.tensor(x)).sum().backward()
        with tddp.no_sync():
            tddp(torch.from_numpy(x)).sum().backward()
        compare("no_sync local", ours, theirs)
    else:
        ddp(ds.tensor(x)).sum().backward()
        tddp(torch.from_numpy(x)).sum().backward()
        compare("no_sync then sync", ours, theirs)


# unused parameters: `extra` is used on rank 0 only, `never` nowhere
class Branchy(ds.nn.Module):
    def __init__(self):
        super().__init__()
        self.body = ds.nn.Linear(8, 4)
        self.extra = ds.nn.Linear(8, 4)
        self.never = ds.nn.Linear(8, 4)

    def forward(self, x):
        out = self.body(x)
        return out + self.extra(x) if RANK == 0 else out


class TorchBranchy(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.body = torch.nn.Linear(8, 4)
        self.extra = torch.nn.Linear(8, 4)
        self.never = torch.nn.Linear(8, 4)

    def forward(self, x):
        out = self.body(x)
        return out + self.extra(x) if RANK == 0 else out


ours, theirs = Branchy(), TorchBranchy()
for p, tp in zip(ours.parameters(), theirs.parameters()):
    value = rng.standard_normal(tuple(p.shape)).astype(np.float32)
    p.data, tp.data = ds.tensor(value), torch.from_numpy(value.copy())
ddp = ds.nn.parallel.DistributedDataParallel(ours, find_unused_parameters=True)
tddp = torch.nn.parallel.DistributedDataParallel(theirs, find_unused_parameters=True)
for step in range(2):
    x, _ = batch(20 + step)
    ddp(ds.tensor(x)).pow(2).sum().backward()
    tddp(torch.from_numpy(x)).pow(2).sum().backward()
    compare(f"find_unused_parameters step {step}", ours, theirs)

ddp = ds.nn.parallel.DistributedDataParallel(Branchy())
x, _ = batch(30)
ddp(ds.tensor(x)).sum().backward()
expect_error("unused parameter without find_unused_parameters", RuntimeError,
             lambda: ddp(ds.tensor(x)), "Expected to have finished reduction",
             "find_unused_parameters=True", "never.weight")

# PowerSGD: at full rank it is exact; at rank 1 the error feedback keeps the books
ours, _ = pair(False)
exact, _ = pair(False)
exact.load_state_dict(ours.state_dict())
ddp = ds.nn.parallel.DistributedDataParallel(ours)
plain = ds.nn.parallel.DistributedDataParallel(exact)
state = powerSGD_hook.PowerSGDState(None, matrix_approximation_rank=16, start_powerSGD_iter=0,
                                    min_compression_rate=0)
ddp.register_comm_hook(state, powerSGD_hook.powerSGD_hook)
x, _ = batch(40)
ddp(ds.tensor(x)).sum().backward()
plain(ds.tensor(x)).sum().backward()
for (name, p), q in zip(ours.named_parameters(), exact.parameters()):
    check(f"PowerSGD full rank {name}", p.grad, q.grad, atol=1e-5, rtol=1e-4)
check("PowerSGD compressed something", state.compression_stats()[1] > 0, True)

for hook in (powerSGD_hook.powerSGD_hook, powerSGD_hook.batched_powerSGD_hook):
    ours, _ = pair(False)
    exact, _ = pair(False)
    exact.load_state_dict(ours.state_dict())
    ddp = ds.nn.parallel.DistributedDataParallel(ours)
    plain = ds.nn.parallel.DistributedDataParallel(exact)
    state = powerSGD_hook.PowerSGDState(None, matrix_approximation_rank=1, start_powerSGD_iter=0,
                                        min_compression_rate=0)
    ddp.register_comm_hook(state, hook)
    sent, true = 0.0, 0.0
    for step in range(4):  # what was sent + what is still owed == the true running sum
        x, _ = batch(50 + step)
        for p in list(ours.parameters()) + list(exact.parameters()):
            p.grad = None
        ddp(ds.tensor(x)).sum().backward()
        plain(ds.tensor(x)).sum().backward()
        sent = sent + np.concatenate([p.grad.numpy().ravel() for p in ours.parameters()])
        true = true + np.concatenate([p.grad.numpy().ravel() for p in exact.parameters()])
    owed_sum = 0.0
    for k in sorted(state.error_dict):  # each process owes its own residual: average them
        size = ddp._reducer.buckets[k].buffer.size  # (the batched hook's padding is not owed)
        e = ds.tensor(state.error_dict[k][:size].copy())
        dist.all_reduce(e, dist.ReduceOp.AVG)
        owed_sum += float(e.sum())
    check(f"{hook.__name__} bookkeeping", float(sent.sum() + owed_sum), float(true.sum()),
          atol=1e-3, rtol=1e-4)
    check(f"{hook.__name__} compresses", state.compression_stats()[0] > 1, True)

expect_error("register twice", RuntimeError,
             lambda: ddp.register_comm_hook(None, default_hooks.allreduce_hook), "once")
expect_error("no parameters", RuntimeError,
             lambda: ds.nn.parallel.DistributedDataParallel(ds.nn.ReLU()), "parameter")
# a ds.jit-compiled DDP step (the all-reduce a recorded call after backward, the buffer
# broadcast one before forward) runs as the eager one does
def ddp_model():
    net = ds.nn.Sequential(ds.nn.Linear(8, 16), ds.nn.BatchNorm1d(16), ds.nn.ReLU(),
                           ds.nn.Linear(16, 4))
    ddp = ds.nn.parallel.DistributedDataParallel(net, bucket_cap_mb=0.0002)
    return sgd_step(ddp, lambda m, x, y: ds.nn.functional.cross_entropy(m(x), y), lr=0.1,
                    momentum=0.9)


compiled = check_compiled("DDP", ddp_model, [(ds.tensor(x), ds.tensor(y)) for x, y in
                                             map(batch, range(60, 66))], seed=RANK, tol=1e-5)
check("the compiled step calls the reduction", "DistributedDataParallel.reduce()" in
      compiled.code, True)

finish()
