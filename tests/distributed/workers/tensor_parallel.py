"""Tensor parallelism (parallelize_module with ColwiseParallel/RowwiseParallel) against the
unsharded deepseek model on the same full weights and against torch's parallelize_module on
gloo in the same processes: outputs, losses, gradients (gathered shards), SGD steps; the
device mesh; the errors."""

import numpy as np
import torch
import torch.distributed as tdist
from _check import RANK, SIZE, check, check_compiled, expect_error, finish, sgd_step, start
from torch.distributed.device_mesh import init_device_mesh as torch_init_device_mesh
from torch.distributed.tensor import Replicate as TReplicate
from torch.distributed.tensor import Shard as TShard
from torch.distributed.tensor import parallel as tparallel

import deepseek as ds
import deepseek.distributed as dist
import deepseek.distributed.nn.functional as dist_functional
from deepseek.distributed.device_mesh import DeviceMesh, init_device_mesh
from deepseek.distributed.tensor import Replicate, Shard
from deepseek.distributed.tensor.parallel import (ColwiseParallel, RowwiseParallel,
                                                  parallelize_module)

start()
ATOL, RTOL = 1e-5, 1e-5  # float32 sums in another order; values reach ~50
mesh = init_device_mesh("cpu", (SIZE,), mesh_dim_names=("tp",))
tmesh = torch_init_device_mesh("cpu", (SIZE,), mesh_dim_names=("tp",))

# ---- the mesh ----
check("mesh size", mesh.size(), tmesh.size())
check("mesh local rank", mesh.get_local_rank(), tmesh.get_local_rank())
check("mesh dim names", mesh.mesh_dim_names, tmesh.mesh_dim_names)
check("mesh ranks", mesh.mesh, tmesh.mesh)
check("mesh group size", dist.get_world_size(mesh.get_group()), SIZE)
check("mesh by name", mesh["tp"] is mesh, True)
grid = init_device_mesh("cpu", (1, SIZE), mesh_dim_names=("dp", "tp"))
tgrid = torch_init_device_mesh("cpu", (1, SIZE), mesh_dim_names=("dp", "tp"))
for name in ("dp", "tp"):
    check(f"2-D mesh {name} size", grid[name].size(), tgrid[name].size())
    check(f"2-D mesh {name} local rank", grid[name].get_local_rank(),
          tgrid[name].get_local_rank())
    check(f"2-D mesh {name} group size", dist.get_world_size(grid.get_group(name)),
          tgrid[name].size())
check("2-D mesh coordinate", grid.get_coordinate(), tgrid.get_coordinate())
check("2-D mesh size", grid.size(), tgrid.size())
expect_error("2-D get_group without dim", RuntimeError, grid.get_group, "mesh_dim")
expect_error("mesh shape vs world", RuntimeError,
             lambda: init_device_mesh("cpu", (SIZE + 1,)), "world size")
check("DeviceMesh class", isinstance(grid["tp"], DeviceMesh), True)


def gather(t: ds.Tensor, dim: int) -> np.ndarray:
    """The whole tensor from every process's shard along ``dim``."""
    parts = [ds.zeros(*t.shape, dtype=t.dtype) for _ in range(SIZE)]
    dist.all_gather(parts, t.detach().contiguous())
    return np.concatenate([p.numpy() for p in parts], axis=dim)


class MLP(ds.nn.Module):
    def __init__(self, d_in, hidden, d_out, act):
        super().__init__()
        self.fc1 = ds.nn.Linear(d_in, hidden)
        self.act = act()
        self.fc2 = ds.nn.Linear(hidden, d_out)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class TMLP(torch.nn.Module):
    def __init__(self, d_in, hidden, d_out, act):
        super().__init__()
        self.fc1 = torch.nn.Linear(d_in, hidden)
        self.act = act()
        self.fc2 = torch.nn.Linear(hidden, d_out)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class Lookup(ds.nn.Module):
    def __init__(self, vocab, dim, d_out, padding_idx=None):
        super().__init__()
        self.embed = ds.nn.Embedding(vocab, dim, padding_idx=padding_idx)
        self.head = ds.nn.Linear(dim, d_out)

    def forward(self, ids):
        return self.head(self.embed(ids))


class TLookup(torch.nn.Module):
    def __init__(self, vocab, dim, d_out, padding_idx=None):
        super().__init__()
        self.embed = torch.nn.Embedding(vocab, dim, padding_idx=padding_idx)
        self.head = torch.nn.Linear(dim, d_out)

    def forward(self, ids):
        return self.head(self.embed(ids))


def triple(make, tmake, seed):
    """The same full weights (on every process) in a deepseek model to shard, an unsharded
    deepseek reference and a torch model to shard."""
    ours, full, theirs = make(), make(), tmake()
    rng = np.random.default_rng(seed)
    for p, q, tp in zip(ours.parameters(), full.parameters(), theirs.parameters()):
        value = (rng.standard_normal(tuple(p.shape)) * 0.3).astype(np.float32)
        p.data, q.data = ds.tensor(value), ds.tensor(value.copy())
        tp.data = torch.from_numpy(value.copy())
    return ours, full, theirs


# which dim of each parameter a style shards (None: replicated)
SHARD_DIMS = {(ColwiseParallel, "Linear", "weight"): 0, (ColwiseParallel, "Linear", "bias"): 0,
              (RowwiseParallel, "Linear", "weight"): 1, (RowwiseParallel, "Linear", "bias"): None,
              (ColwiseParallel, "Embedding", "weight"): 1,
              (RowwiseParallel, "Embedding", "weight"): 0}


def shard_dims(model, plan):
    dims = {}
    for fqn, style in plan.items():
        sub = model.get_submodule(fqn)
        for name, _ in sub.named_parameters():
            dims[f"{fqn}.{name}"] = SHARD_DIMS[type(style), type(sub).__name__, name]
    return dims


def compare_params(name, ours, full, theirs, dims, grads=True):
    tparams = dict(theirs.named_parameters())
    for (pname, p), q in zip(ours.named_parameters(), full.parameters()):
        dim, tp = dims.get(pname), tparams[pname]
        whole = p.detach().numpy() if dim is None else gather(p, dim)
        check(f"{name} {pname} vs unsharded", whole, q.detach().numpy(), ATOL, RTOL)
        tlocal = tp.to_local() if hasattr(tp, "to_local") else tp
        check(f"{name} {pname} shard vs torch", p, tlocal.detach(), ATOL, RTOL)
        if not grads:
            continue
        whole = p.grad.numpy() if dim is None else gather(p.grad, dim)
        check(f"{name} {pname}.grad vs unsharded", whole, q.grad.numpy(), ATOL, RTOL)
        # torch's gradient may lie otherwise than its parameter (an embedding's is partial)
        tgrad = tp.grad.full_tensor() if hasattr(tp.grad, "full_tensor") else tp.grad
        check(f"{name} {pname}.grad vs torch", whole, tgrad, ATOL, RTOL)


def run(name, ours, full, theirs, plan, tplan, inputs, out_dim=None, in_dim=None):
    """Forward, loss, backward and two SGD steps, sharded and not. ``inputs`` is the whole
    batch; with ``in_dim``/``out_dim`` the sharded models take/give it split along that dim."""
    dims = shard_dims(ours, plan)
    parallelize_module(ours, mesh, plan)
    tparallel.parallelize_module(theirs, tmesh, tplan)
    compare_params(f"{name} after parallelize", ours, full, theirs, dims, grads=False)
    check(f"{name} state_dict keys", list(ours.state_dict()), list(full.state_dict()))
    opt = ds.optim.SGD(ours.parameters(), lr=0.1)
    fopt = ds.optim.SGD(full.parameters(), lr=0.1)
    topt = torch.optim.SGD(theirs.parameters(), lr=0.1)
    for step in range(2):
        x = inputs(step)
        floating = x.dtype.kind == "f"
        local = x if in_dim is None else np.split(x, SIZE, axis=in_dim)[RANK]
        xs, xf = ds.tensor(local.copy()), ds.tensor(x.copy())
        xt = torch.from_numpy(local.copy())
        if floating:
            for t in (xs, xf, xt):
                t.requires_grad_(True)
        out, fout, tout = ours(xs), full(xf), theirs(xt)
        whole = out.detach().numpy() if out_dim is None else gather(out, out_dim)
        check(f"{name} step {step} output vs unsharded", whole, fout.detach().numpy(),
              ATOL, RTOL)
        tlocal = tout.to_local() if hasattr(tout, "to_local") else tout
        check(f"{name} step {step} output vs torch", out, tlocal.detach(), ATOL, RTOL)
        weights = np.linspace(-1, 1, fout.numel(), dtype=np.float32).reshape(tuple(fout.shape))
        wlocal = weights if out_dim is None else np.split(weights, SIZE, axis=out_dim)[RANK]
        # the sharded loss: each process's part, summed over the mesh
        part = (out * out * ds.tensor(wlocal)).sum()
        tpart = (tlocal * tlocal * torch.from_numpy(wlocal.copy())).sum()
        if out_dim is None:
            loss, tloss = part, tpart
        else:
            # each process holds the mean; the all-reduce's backward sums the gradients back
            loss = dist_functional.all_reduce(part) / SIZE
            tloss = torch.distributed.nn.functional.all_reduce(tpart) / SIZE
        floss = (fout * fout * ds.tensor(weights)).sum()
        scale = 1 if out_dim is None else SIZE
        check(f"{name} step {step} loss vs unsharded", loss.detach().numpy() * scale,
              floss.detach().numpy(), ATOL, RTOL)
        check(f"{name} step {step} loss vs torch", loss, tloss.detach(), ATOL, RTOL)
        loss.backward()
        floss.backward()
        tloss.backward()
        compare_params(f"{name} step {step}", ours, full, theirs, dims)
        if floating:
            whole = xs.grad.numpy() if in_dim is None else gather(xs.grad, in_dim)
            check(f"{name} step {step} input grad vs unsharded", whole, xf.grad.numpy(),
                  ATOL, RTOL)
            check(f"{name} step {step} input grad vs torch", xs.grad, xt.grad, ATOL, RTOL)
        opt.step()
        fopt.step()
        topt.step()
        compare_params(f"{name} after SGD step {step}", ours, full, theirs, dims, grads=False)
        for o in (opt, fopt, topt):
            o.zero_grad()


def batch(shape, seed):
    return lambda step: np.random.default_rng(seed + step).standard_normal(shape).astype(
        np.float32)


def token_ids(shape, vocab, seed, extra=()):
    def make(step):
        ids = np.random.default_rng(seed + step).integers(0, vocab, shape)
        ids.flat[:len(extra)] = extra
        return ids
    return make


# ---- MLP: Linear colwise -> activation -> Linear rowwise ----
for act, tact in ((ds.nn.ReLU, torch.nn.ReLU), (ds.nn.GELU, torch.nn.GELU)):
    run(f"mlp {act.__name__}", *triple(lambda a=act: MLP(8, 12, 6, a),
                                       lambda a=tact: TMLP(8, 12, 6, a), 1),
        {"fc1": ColwiseParallel(), "fc2": RowwiseParallel()},
        {"fc1": tparallel.ColwiseParallel(), "fc2": tparallel.RowwiseParallel()},
        batch((2, 3, 8), 10))

# the outer layouts: a replicated output from colwise, a replicated input to rowwise
run("colwise Replicate output", *triple(lambda: MLP(8, 12, 6, ds.nn.ReLU),
                                        lambda: TMLP(8, 12, 6, torch.nn.ReLU), 2),
    {"fc1": ColwiseParallel(output_layouts=Replicate()),
     "fc2": RowwiseParallel(input_layouts=Replicate())},
    {"fc1": tparallel.ColwiseParallel(output_layouts=TReplicate()),
     "fc2": tparallel.RowwiseParallel(input_layouts=TReplicate())},
    batch((4, 8), 20))

# sequence-sharded edges: input split along dim 1, gathered; output reduce-scattered
run("sequence-sharded edges", *triple(lambda: MLP(8, 12, 6, ds.nn.GELU),
                                      lambda: TMLP(8, 12, 6, torch.nn.GELU), 3),
    {"fc1": ColwiseParallel(input_layouts=Shard(1)),
     "fc2": RowwiseParallel(output_layouts=Shard(1))},
    {"fc1": tparallel.ColwiseParallel(input_layouts=TShard(1)),
     "fc2": tparallel.RowwiseParallel(output_layouts=TShard(1))},
    batch((2, 2 * SIZE, 8), 30), out_dim=1, in_dim=1)

# ---- Embedding + Linear ----
run("embedding rowwise + linear colwise", *triple(lambda: Lookup(16, 8, 6),
                                                  lambda: TLookup(16, 8, 6), 4),
    {"embed": RowwiseParallel(input_layouts=Replicate()),
     "head": ColwiseParallel(output_layouts=Replicate())},
    {"embed": tparallel.RowwiseParallel(input_layouts=TReplicate()),
     "head": tparallel.ColwiseParallel(output_layouts=TReplicate())},
    token_ids((3, 5), 16, 40, extra=(0, 15, 7, 8)))
run("embedding colwise + linear rowwise", *triple(lambda: Lookup(16, 8, 6),
                                                  lambda: TLookup(16, 8, 6), 5),
    {"embed": ColwiseParallel(), "head": RowwiseParallel()},
    {"embed": tparallel.ColwiseParallel(), "head": tparallel.RowwiseParallel()},
    token_ids((3, 5), 16, 50))

# padding_idx in one process's vocabulary shard: its row gets no gradient
ours, full, _ = triple(lambda: Lookup(16, 8, 6, padding_idx=11),
                       lambda: TLookup(16, 8, 6, padding_idx=11), 6)
parallelize_module(ours, mesh, {"embed": RowwiseParallel(input_layouts=Replicate()),
                                "head": ColwiseParallel(output_layouts=Replicate())})
ids = np.array([[11, 3, 11, 15], [0, 11, 8, 9]])
out, fout = ours(ds.tensor(ids)), full(ds.tensor(ids))
check("padding_idx output", out.detach().numpy(), fout.detach().numpy(), ATOL, RTOL)
out.square().sum().backward()
fout.square().sum().backward()
check("padding_idx embedding grad", gather(ours.embed.weight.grad, 0),
      full.embed.weight.grad.numpy(), ATOL, RTOL)
check("padding_idx row grad is zero", float(np.abs(gather(ours.embed.weight.grad, 0)[11]).max()),
      0.0)

# ---- a plan with wildcards over a stack of blocks ----
ours = ds.nn.Sequential(MLP(8, 12, 8, ds.nn.ReLU), MLP(8, 12, 6, ds.nn.ReLU))
full = ds.nn.Sequential(MLP(8, 12, 8, ds.nn.ReLU), MLP(8, 12, 6, ds.nn.ReLU))
full.load_state_dict(ours.state_dict())
parallelize_module(ours, mesh, {"*.fc1": ColwiseParallel(), "*.fc2": RowwiseParallel()})
check("wildcard sharded fc1", tuple(ours[1].fc1.weight.shape), (12 // SIZE, 8))
check("wildcard sharded fc2", tuple(ours[0].fc2.weight.shape), (8, 12 // SIZE))
x = np.random.default_rng(7).standard_normal((5, 8)).astype(np.float32)
check("wildcard output", ours(ds.tensor(x)).detach().numpy(),
      full(ds.tensor(x)).detach().numpy(), ATOL, RTOL)

# ---- the processes' full weights come from mesh rank 0 (src_data_rank=0) ----
ds.manual_seed(100 + RANK)
layer = ds.nn.Linear(4, 2 * SIZE)  # each process initialized it differently
rank0 = layer.weight.detach().clone()
dist.broadcast(rank0, src=0)
parallelize_module(layer, mesh, ColwiseParallel())
check("src_data_rank=0 weight", gather(layer.weight, 0), rank0.numpy())

# ---- errors: raised before anything changes ----
bad = MLP(8, 2 * SIZE + 1, 6, ds.nn.ReLU)
expect_error("out_features not divisible", ValueError,
             lambda: parallelize_module(bad, mesh, {"fc1": ColwiseParallel()}),
             "'fc1'", "Linear", f"({2 * SIZE + 1}, 8)", f"size {SIZE}", "out_features")
expect_error("in_features not divisible", ValueError,
             lambda: parallelize_module(bad, mesh, {"fc2": RowwiseParallel()}),
             "'fc2'", f"(6, {2 * SIZE + 1})", f"size {SIZE}", "in_features")
expect_error("vocabulary not divisible", ValueError,
             lambda: parallelize_module(Lookup(2 * SIZE + 1, 4, 2), mesh,
                                        {"embed": RowwiseParallel(input_layouts=Replicate())}),
             "Embedding", "num_embeddings", f"size {SIZE}")
expect_error("unsupported module", NotImplementedError,
             lambda: parallelize_module(bad, mesh, {"act": ColwiseParallel()}),
             "'act'", "ReLU", "ColwiseParallel", "nn.Linear")
expect_error("unknown fqn", ValueError,
             lambda: parallelize_module(bad, mesh, {"fc3": RowwiseParallel()}),
             "'fc3'", "fc1", "fc2")
expect_error("unknown nested fqn", ValueError,
             lambda: parallelize_module(ds.nn.Sequential(bad), mesh, {"0.fc9": ColwiseParallel()}),
             "'0.fc9'", "'fc9'")
good = MLP(8, 2 * SIZE, 6, ds.nn.ReLU)
expect_error("a failing plan changes nothing", ValueError,
             lambda: parallelize_module(good, mesh, {"fc1": ColwiseParallel(),
                                                     "nope": RowwiseParallel()}), "'nope'")
check("a failing plan changes nothing", tuple(good.fc1.weight.shape), (2 * SIZE, 8))
expect_error("2-D mesh", ValueError, lambda: parallelize_module(good, grid, ColwiseParallel()),
             "1-D", "'tp'")
expect_error("use_local_output=False", NotImplementedError,
             lambda: ColwiseParallel(use_local_output=False), "DTensor")
expect_error("unsupported layout", NotImplementedError,
             lambda: parallelize_module(good, mesh, {"fc1": ColwiseParallel(
                 output_layouts=Shard(0))}), "output_layouts=Shard(dim=0)", "Linear")

# a ds.jit-compiled tensor-parallel step communicates where the eager one does
def tensor_parallel_mlp():
    net = MLP(8, 4 * SIZE, 6, ds.nn.GELU)
    parallelize_module(net, mesh, {"fc1": ColwiseParallel(), "fc2": RowwiseParallel()})
    return sgd_step(net, lambda m, x: m(x).pow(2).mean(), lr=0.1)


check_compiled("tensor parallel", tensor_parallel_mlp,
               [(ds.tensor(batch((5, 8), 300)(i)),) for i in range(4)])

tdist.barrier()
finish()
