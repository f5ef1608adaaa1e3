"""ParameterServer in 3 processes (server 0, workers 1 and 2): asynchronous updates are
every pushed gradient applied once; synchronous ones are SGD on the workers' mean gradient."""

import numpy as np
from _check import RANK, SIZE, check, expect_error, finish, start

import deepseek as ds
import deepseek.distributed as dist

start(with_torch=False)
STEPS, LR = 5, 0.1
WORKERS = range(1, SIZE)


def model():
    ds.manual_seed(RANK)  # different everywhere: the server's weights win
    return ds.nn.Sequential(ds.nn.Linear(4, 6), ds.nn.Tanh(), ds.nn.Linear(6, 2))


def coefficients(worker, step, net):
    rng = np.random.default_rng(100 * worker + step)
    return [rng.standard_normal(tuple(p.shape)).astype(np.float32) for p in net.parameters()]


# asynchronous: a loss linear in the parameters has the same gradient at any parameters, so
# the end is exactly the start minus lr times every pushed gradient, whatever the order
net = model()
opt = ds.optim.SGD(net.parameters(), lr=LR) if RANK == 0 else None
ps = dist.ParameterServer(net, opt)
start_params = [p.detach().clone() for p in net.parameters()]
if ps.is_server:
    ps.run()
    check("async updates", ps.updates, STEPS * len(WORKERS))
    for i, (p, p0) in enumerate(zip(net.parameters(), start_params)):
        total = sum(coefficients(w, s, net)[i] for w in WORKERS for s in range(STEPS))
        check(f"async parameter {i}", p, p0.numpy() - LR * total, atol=1e-5)
else:
    with ps:
        for step in range(STEPS):
            net.zero_grad()
            sum((p * ds.tensor(c)).sum() for p, c in zip(net.parameters(),
                                                          coefficients(RANK, step, net))
                ).backward()
            ps.push()
        ps.pull()

# synchronous: each step is SGD on the mean of the workers' gradients at the same parameters
def data(worker, step):
    rng = np.random.default_rng(1000 * worker + step)
    return ds.tensor(rng.standard_normal((8, 4)).astype(np.float32))


net = model()
opt = ds.optim.SGD(net.parameters(), lr=LR, momentum=0.9) if RANK == 0 else None
ps = dist.ParameterServer(net, opt, synchronous=True)
if ps.is_server:
    reference = model()
    reference.load_state_dict(net.state_dict())
    ref_opt = ds.optim.SGD(reference.parameters(), lr=LR, momentum=0.9)
    ps.run()
    for step in range(STEPS):
        ref_opt.zero_grad()
        grads = []
        for w in WORKERS:
            reference.zero_grad()
            reference(data(w, step)).pow(2).mean().backward()
            grads.append([p.grad.clone() for p in reference.parameters()])
        for p, *gs in zip(reference.parameters(), *grads):
            p.grad = sum(gs) / len(gs)
        ref_opt.step()
    check("sync updates", ps.updates, STEPS)
    for (name, p), q in zip(net.named_parameters(), reference.parameters()):
        check(f"sync parameter {name}", p, q, atol=1e-6, rtol=1e-5)
else:
    with ps:
        for step in range(STEPS):
            net.zero_grad()
            net(data(RANK, step)).pow(2).mean().backward()
            ps.push()

if RANK == 0:
    expect_error("push on the server", RuntimeError, ps.push, "server", "run()")
else:
    expect_error("push after stop", RuntimeError, ps.push, "already stopped")
expect_error("server_rank out of range", ValueError,
             lambda: dist.ParameterServer(model(), None, server_rank=SIZE), "server_rank")
if RANK == 0:  # refused before any message, so the workers are not left waiting
    expect_error("server without optimizer", ValueError,
                 lambda: dist.ParameterServer(model(), None), "needs the optimizer")
finish()
