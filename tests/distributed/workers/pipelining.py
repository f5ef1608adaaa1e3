"""Pipeline parallelism against torch.distributed.pipelining (gloo) in the same processes: an
MLP split into one stage per process, the same weights and batches; per-microbatch losses,
outputs, stage gradients and parameters after SGD for GPipe and 1F1B; gradients against the
unsplit model on the whole batch; the errors."""

import numpy as np
import torch
from _check import RANK, SIZE, check, expect_error, finish, start
from torch.distributed import pipelining as tpp

import deepseek as ds
import deepseek.distributed as dist
from deepseek.distributed import pipelining as pp

start()
LAST = RANK == SIZE - 1
BATCH = 8
DIMS = [6] + [12] * (SIZE - 1) + [4]  # stage i maps DIMS[i] features to DIMS[i + 1]
rng = np.random.default_rng(0)  # the same on every process: each builds the whole model
WEIGHTS = [[(rng.standard_normal((o, i)).astype(np.float32) * 0.4,
             rng.standard_normal(o).astype(np.float32) * 0.1)
            for i, o in ((DIMS[s], 16), (16, DIMS[s + 1]))] for s in range(SIZE)]


def stage_modules(s):
    """Stage ``s`` of the model in deepseek and in torch, on the same weights."""
    ours, theirs = [], []
    for k, (w, b) in enumerate(WEIGHTS[s]):
        a, t = ds.nn.Linear(w.shape[1], w.shape[0]), torch.nn.Linear(w.shape[1], w.shape[0])
        a.weight.data, a.bias.data = ds.tensor(w.copy()), ds.tensor(b.copy())
        t.weight.data, t.bias.data = torch.from_numpy(w.copy()), torch.from_numpy(b.copy())
        ours.append(a)
        theirs.append(t)
        if k == 0 or s < SIZE - 1:
            ours.append(ds.nn.Tanh())
            theirs.append(torch.nn.Tanh())
    return ds.nn.Sequential(*ours), torch.nn.Sequential(*theirs)


def batch(step, n=BATCH):
    r = np.random.default_rng(100 + step)
    return (r.standard_normal((n, DIMS[0])).astype(np.float32),
            r.standard_normal((n, DIMS[-1])).astype(np.float32))


def run(schedule, x, y, losses):
    """One step of a schedule on this process's stage, as a user writes it."""
    if RANK == 0:
        return schedule.step(x)
    if LAST:
        return schedule.step(target=y, losses=losses)
    return schedule.step()


def compare_params(name, ours, theirs, grads=True):
    for (pname, p), tp in zip(ours.named_parameters(), theirs.parameters()):
        check(f"{name} param {pname}", p, tp.detach(), atol=1e-6, rtol=1e-5)
        if grads:
            check(f"{name} grad {pname}", p.grad, tp.grad, atol=1e-6, rtol=1e-5)


def case(kind, n):
    ours, theirs = stage_modules(RANK)
    schedule = getattr(pp, kind)(pp.PipelineStage(ours, RANK, SIZE), n,
                                 loss_fn=ds.nn.functional.mse_loss)
    tschedule = getattr(tpp, kind)(tpp.PipelineStage(theirs, RANK, SIZE, torch.device("cpu")),
                                   n, loss_fn=torch.nn.functional.mse_loss)
    opt = ds.optim.SGD(ours.parameters(), lr=0.1, momentum=0.9)
    topt = torch.optim.SGD(theirs.parameters(), lr=0.1, momentum=0.9)
    for step in range(3):
        name = f"{kind} n={n} step {step}"
        x, y = batch(step)
        losses, tlosses = [], []
        out = run(schedule, ds.tensor(x), ds.tensor(y), losses)
        tout = run(tschedule, torch.from_numpy(x), torch.from_numpy(y), tlosses)
        if LAST:
            check(f"{name} number of losses", len(losses), n)
            for i, (loss, tloss) in enumerate(zip(losses, tlosses)):
                check(f"{name} loss {i}", loss, tloss.detach(), atol=1e-6, rtol=1e-5)
            check(f"{name} output", out, tout, atol=1e-6, rtol=1e-5)
        else:
            check(f"{name} output on a stage before the last", out is None, True)
        compare_params(name, ours, theirs)  # step 2 follows a step without zero_grad
        if step == 0:
            whole_batch_gradients(name, ours, x, y)
        opt.step()
        topt.step()
        compare_params(f"{name} after SGD", ours, theirs, grads=False)
        if step == 0:
            opt.zero_grad()
            topt.zero_grad()


def whole_batch_gradients(name, ours, x, y):
    """Stage gradients are those of the unsplit model's mean loss over the whole batch."""
    model = ds.nn.Sequential(*[m for s in range(SIZE) for m in stage_modules(s)[0]])
    ds.nn.functional.mse_loss(model(ds.tensor(x)), ds.tensor(y)).backward()
    mine = list(model.parameters())[4 * RANK:4 * RANK + 4]
    for (pname, p), q in zip(ours.named_parameters(), mine):
        check(f"{name} grad {pname} vs unsplit model", p.grad, q.grad, atol=1e-6, rtol=1e-5)


for kind in ("ScheduleGPipe", "Schedule1F1B"):
    for n in (2, 4):
        if kind == "Schedule1F1B" and n < SIZE:
            ours, theirs = stage_modules(RANK)
            for module, lib, device in ((ours, pp, None), (theirs, tpp, torch.device("cpu"))):
                expect_error(f"1F1B with {n} microbatches in {SIZE} stages", ValueError,
                             lambda m=module, lib=lib, d=device, n=n: lib.Schedule1F1B(
                                 lib.PipelineStage(m, RANK, SIZE, d), n),
                             "Number of microbatches", "number of stages")
            continue
        case(kind, n)


# a stage may send a tuple: the next stage's forward takes its items as arguments (torch 2.13
# on gloo fails on this model with "input tensor has to be contiguous" in its backward
# receive, so the unsplit model is the judge)
class Pair(ds.nn.Module):
    def __init__(self, s):
        super().__init__()
        w = np.random.default_rng(s).standard_normal((16, 6 if s == 0 else 32))
        self.linear = ds.nn.Linear(w.shape[1], 16)
        self.linear.weight.data = ds.tensor((w * 0.3).astype(np.float32))
        self.last = s == SIZE - 1

    def forward(self, *xs):
        h = ds.tanh(self.linear(ds.cat(xs, 1)))
        return h if self.last else (h, h * h)


class Unsplit(ds.nn.Module):
    def __init__(self):
        super().__init__()
        self.stages = ds.nn.ModuleList([Pair(s) for s in range(SIZE)])
        for s, stage in enumerate(self.stages):
            stage.linear.bias.data = ds.tensor(np.full(16, 0.01 * s, np.float32))

    def forward(self, x):
        out = (x,)
        for stage in self.stages:
            out = stage(*out)
        return out


x, _ = batch(5)
y = np.random.default_rng(5).standard_normal((BATCH, 16)).astype(np.float32)
reference = Unsplit()
ds.nn.functional.mse_loss(reference(ds.tensor(x)), ds.tensor(y)).backward()
want_losses = [float(ds.nn.functional.mse_loss(reference(ds.tensor(x[i:i + 2])),
                                               ds.tensor(y[i:i + 2]))) for i in range(0, 8, 2)]
for kind in ("ScheduleGPipe", "Schedule1F1B"):
    ours = Unsplit().stages[RANK]
    losses = []
    out = run(getattr(pp, kind)(pp.PipelineStage(ours, RANK, SIZE), 4,
                                loss_fn=ds.nn.functional.mse_loss),
              ds.tensor(x), ds.tensor(y), losses)
    if LAST:
        check(f"tuple activations {kind} losses", [float(t) for t in losses], want_losses,
              atol=1e-6, rtol=1e-5)
        check(f"tuple activations {kind} output", out, reference(ds.tensor(x)).detach(),
              atol=1e-6, rtol=1e-5)
    for (name, p), q in zip(ours.named_parameters(), reference.stages[RANK].parameters()):
        check(f"tuple activations {kind} grad {name}", p.grad, q.grad, atol=1e-6, rtol=1e-5)

# without a loss_fn a schedule runs forward only: the output is the unsplit model's
ours, _ = stage_modules(RANK)
x, y = batch(6)
out = run(pp.ScheduleGPipe(pp.PipelineStage(ours, RANK, SIZE), 2), ds.tensor(x), None, None)
if LAST:
    model = ds.nn.Sequential(*[m for s in range(SIZE) for m in stage_modules(s)[0]])
    check("forward only: output", out, model(ds.tensor(x)).detach(), atol=1e-6, rtol=1e-5)
check("forward only: no gradients", [p.grad is None for p in ours.parameters()], [True] * 4)

# input_args / output_args are checked against what travels
ours, _ = stage_modules(RANK)
stage = pp.PipelineStage(ours, RANK, SIZE, input_args=ds.zeros(BATCH // 2, DIMS[RANK]),
                         output_args=ds.zeros(BATCH // 2, DIMS[RANK + 1]))
x, y = batch(7)
run(pp.Schedule1F1B(stage, 2 if SIZE == 2 else 4, loss_fn=ds.nn.functional.mse_loss),
    ds.tensor(x) if SIZE == 2 else ds.tensor(np.concatenate([x, x])),
    ds.tensor(y) if SIZE == 2 else ds.tensor(np.concatenate([y, y])), [])
check("input_args/output_args: gradients exist",
      [p.grad is not None for p in ours.parameters()], [True] * 4)

# pipeline(): split the unsplit Sequential at child names, then train its stage
model = ds.nn.Sequential(*[m for s in range(SIZE) for m in stage_modules(s)[0]])
pipe = pp.pipeline(model, (ds.zeros(BATCH // 2, DIMS[0]),),
                   split_spec={str(4 * s): pp.SplitPoint.BEGINNING for s in range(1, SIZE)})
check("pipeline: num_stages", pipe.num_stages, SIZE)
x, y = batch(0)
run(pp.ScheduleGPipe(pipe.build_stage(RANK, None), 2, loss_fn=ds.nn.functional.mse_loss),
    ds.tensor(x), ds.tensor(y), [])
whole_batch_gradients("pipeline", pipe.get_stage_module(RANK), x, y)
expect_error("pipeline: unknown child", ValueError,
             lambda: pp.pipeline(model, (), split_spec={"body": pp.SplitPoint.END}), "'body'",
             "not a child")

# errors: raised on every process before any message is sent
ours, _ = stage_modules(RANK)
expect_error("stage_index out of range", ValueError, lambda: pp.PipelineStage(ours, SIZE, SIZE),
             "Stage index", "out of range")
expect_error("num_stages vs world size", ValueError,
             lambda: pp.PipelineStage(ours, RANK, SIZE + 1), f"num_stages={SIZE + 1}",
             f"world size {SIZE}")
expect_error("stage_index vs rank", ValueError,
             lambda: pp.PipelineStage(ours, (RANK + 1) % SIZE, SIZE), "rank")
stage = pp.PipelineStage(ours, RANK, SIZE)
expect_error("n_microbatches=0", ValueError, lambda: pp.ScheduleGPipe(stage, 0), "n_microbatches")
schedule = pp.ScheduleGPipe(stage, 2, loss_fn=ds.nn.functional.mse_loss)
x, y = batch(8, n=7)
expect_error("batch not divisible", ValueError,
             lambda: schedule.step(ds.tensor(x), target=ds.tensor(y)), "batch size 7",
             "not divisible by n_microbatches=2")

# a one-stage pipeline in a group of its own: first and last at once
groups = [dist.new_group([r]) for r in range(SIZE)]
single = pp.PipelineStage(ds.nn.Sequential(ds.nn.Linear(6, 4)), 0, 1, group=groups[RANK])
x, y = batch(9)
schedule = pp.Schedule1F1B(single, 4, loss_fn=ds.nn.functional.mse_loss)
losses = []
out = schedule.step(ds.tensor(x), target=ds.tensor(y[:, :4]), losses=losses)
check("one stage: four losses", len(losses), 4)
check("one stage: output shape", tuple(out.shape), (BATCH, 4))
expect_error("last stage without target", ValueError, lambda: schedule.step(ds.tensor(x)),
             "target=")
expect_error("losses without loss_fn", RuntimeError,
             lambda: pp.ScheduleGPipe(single, 2).step(ds.tensor(x), losses=[]), "loss_fn")
finish()
