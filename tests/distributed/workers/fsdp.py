"""FullyShardedDataParallel against torch's FSDP (gloo, CPU, device_id=cpu) on the same
weights and per-rank batches: names and sizes of the shards, losses, sharded gradients and
shards over AdamW steps, clip_grad_norm_, full state dicts; against unsharded training on the
whole batch; summon_full_params, load_state_dict, memory held, and the errors."""

import functools

import numpy as np
import torch
from _check import RANK, SIZE, check, expect_error, finish, start
from torch.distributed.fsdp import FullyShardedDataParallel as TorchFSDP
from torch.distributed.fsdp import ShardingStrategy as TorchStrategy
from torch.distributed.fsdp import StateDictType as TorchStateDictType
from torch.distributed.fsdp.wrap import ModuleWrapPolicy as TorchWrap

import deepseek as ds
import deepseek.distributed as dist
from deepseek.distributed.fsdp import (CPUOffload, FullStateDictConfig, MixedPrecision,
                                       ShardingStrategy, StateDictType)
from deepseek.distributed.fsdp import FullyShardedDataParallel as FSDP
from deepseek.distributed.fsdp._flat_param import gathered_bytes, reset_peak_gathered_bytes
from deepseek.distributed.fsdp.wrap import ModuleWrapPolicy, size_based_auto_wrap_policy

start()
SIZES = [(8, 31), (31, 32), (32, 32), (32, 5)]  # odd sizes: the flat buffers need padding
NUMELS = [i * o + o for i, o in SIZES]


def weights(seed):
    r = np.random.default_rng(seed)
    return [(r.standard_normal((o, i)).astype(np.float32) * 0.3,
             r.standard_normal(o).astype(np.float32) * 0.1) for i, o in SIZES]


def mlp(lib, values):
    layers = []
    for k, ((i, o), (w, b)) in enumerate(zip(SIZES, values)):
        lin = lib.nn.Linear(i, o)
        if lib is ds:
            lin.weight.data, lin.bias.data = ds.tensor(w), ds.tensor(b)
        else:
            lin.weight.data, lin.bias.data = torch.from_numpy(w.copy()), torch.from_numpy(b.copy())
        layers.append(lin)
        if k < len(SIZES) - 1:
            layers.append(lib.nn.ReLU())
    return lib.nn.Sequential(*layers)


def batch(step, rank=RANK, n=6):
    r = np.random.default_rng(1000 * step + rank)
    return r.standard_normal((n, 8)).astype(np.float32), r.integers(0, 5, n)


def whole_batch(step):
    parts = [batch(step, r) for r in range(SIZE)]
    return np.concatenate([x for x, _ in parts]), np.concatenate([y for _, y in parts])


STRATEGIES = [(ShardingStrategy.FULL_SHARD, TorchStrategy.FULL_SHARD),
              (ShardingStrategy.SHARD_GRAD_OP, TorchStrategy.SHARD_GRAD_OP),
              (ShardingStrategy.NO_SHARD, TorchStrategy.NO_SHARD)]
init = weights(0)
total_bytes = sum(NUMELS) * 4
trained = {}

for strategy, torch_strategy in STRATEGIES:
    name = strategy.name
    ours = FSDP(mlp(ds, init), auto_wrap_policy=ModuleWrapPolicy({ds.nn.Linear}),
                sharding_strategy=strategy)
    theirs = TorchFSDP(mlp(torch, init), auto_wrap_policy=TorchWrap({torch.nn.Linear}),
                       sharding_strategy=torch_strategy, device_id=torch.device("cpu"))
    names = [(n, tuple(p.shape)) for n, p in ours.named_parameters()]
    check(f"{name} parameter names and shard shapes", str(names),
          str([(n, tuple(p.shape)) for n, p in theirs.named_parameters()]))
    shard_numel = sum(p.numel() for p in ours.parameters())
    want = sum(NUMELS) if strategy is ShardingStrategy.NO_SHARD else sum(
        -(-n // SIZE) for n in NUMELS)
    check(f"{name} shard numel", shard_numel, want)
    for (pname, p), tp in zip(ours.named_parameters(), theirs.parameters()):
        check(f"{name} initial shard {pname}", p, tp.detach())
    reference = mlp(ds, init)  # unsharded training on every rank's batch at once
    opt = ds.optim.AdamW(ours.parameters(), lr=1e-2, weight_decay=0.01)
    topt = torch.optim.AdamW(theirs.parameters(), lr=1e-2, weight_decay=0.01)
    ropt = ds.optim.AdamW(reference.parameters(), lr=1e-2, weight_decay=0.01)
    between, peak = [], 0
    for step in range(3):
        x, y = batch(step)
        reset_peak_gathered_bytes()
        loss = ds.nn.functional.cross_entropy(ours(ds.tensor(x)), ds.tensor(y))
        if strategy is ShardingStrategy.FULL_SHARD:  # saved tensors do not pin the buffers
            check(f"{name} step {step} gathered bytes alive after forward",
                  gathered_bytes()["live"], 0)
        tloss = torch.nn.functional.cross_entropy(theirs(torch.from_numpy(x)),
                                                  torch.from_numpy(y))
        check(f"{name} loss {step}", loss, tloss.detach(), atol=1e-6, rtol=1e-5)
        loss.backward()
        tloss.backward()
        peak = max(peak, gathered_bytes()["peak"])
        for (pname, p), tp in zip(ours.named_parameters(), theirs.parameters()):
            check(f"{name} step {step} sharded grad {pname}", p.grad, tp.grad, atol=1e-6,
                  rtol=1e-5)
        norm = ours.clip_grad_norm_(0.5)
        tnorm = theirs.clip_grad_norm_(0.5)
        check(f"{name} step {step} clip_grad_norm_", norm, tnorm, atol=1e-6, rtol=1e-5)
        opt.step()
        topt.step()
        opt.zero_grad()
        topt.zero_grad()
        between.append(sum(p._data.nbytes for p in ours.parameters())
                       + gathered_bytes()["live"])
        xs, ys = whole_batch(step)
        ds.nn.functional.cross_entropy(reference(ds.tensor(xs)), ds.tensor(ys)).backward()
        ds.nn.utils.clip_grad_norm_(reference.parameters(), 0.5)
        ropt.step()
        ropt.zero_grad()
    for (pname, p), tp in zip(ours.named_parameters(), theirs.parameters()):
        check(f"{name} shard after training {pname}", p, tp.detach(), atol=1e-6, rtol=1e-5)
    with FSDP.state_dict_type(ours, StateDictType.FULL_STATE_DICT):
        state = ours.state_dict()
    with TorchFSDP.state_dict_type(theirs, TorchStateDictType.FULL_STATE_DICT):
        tstate = theirs.state_dict()
    check(f"{name} full state dict keys", list(state), list(tstate))
    check(f"{name} full state dict keys are the unwrapped model's", list(state),
          list(reference.state_dict()))
    for key, value in tstate.items():
        check(f"{name} full state dict {key} vs torch", state[key], value, atol=1e-5,
              rtol=1e-5)
        check(f"{name} full state dict {key} vs unsharded", state[key],
              reference.state_dict()[key], atol=1e-5, rtol=1e-5)
    trained[name] = (ours, state)
    if RANK == 0:
        print(f"MEMORY {name} world={SIZE}: parameter bytes per rank between steps "
              f"{max(between)} (DDP: {total_bytes}); peak during a step {max(between) + peak} "
              f"(shards + at most {peak} gathered)")
    if strategy is not ShardingStrategy.NO_SHARD:
        check(f"{name} bytes between steps are the shards only", max(between),
              4 * sum(-(-n // SIZE) for n in NUMELS))
    if strategy is ShardingStrategy.FULL_SHARD:  # one or two units gathered, never all four
        two_largest = 4 * sum(sorted(-(-n // SIZE) * SIZE for n in NUMELS)[-2:])
        check(f"{name} peak gathered bytes <= two units", peak <= two_largest, True)

# full state dict on rank 0 only
model, state = trained["FULL_SHARD"]
with FSDP.state_dict_type(model, StateDictType.FULL_STATE_DICT,
                          FullStateDictConfig(rank0_only=True)):
    only = model.state_dict()
check("rank0_only state dict", list(only), list(state) if RANK == 0 else [])

# LOCAL_STATE_DICT: the flat shards under the wrapped names
with FSDP.state_dict_type(model, StateDictType.LOCAL_STATE_DICT):
    local = model.state_dict()
check("local state dict keys", list(local), [n for n, _ in model.named_parameters()])

# summon_full_params: original names and full values; writeback reaches the shards
with FSDP.summon_full_params(model):
    full = dict(model.named_parameters())
    check("summon names", list(full), list(state))
    for key, value in state.items():
        check(f"summon {key}", full[key].detach(), value)
    full["2.bias"].data.add_(1.0)
check("summon writeback", model.state_dict()["2.bias"], state["2.bias"] + 1.0, atol=1e-6)
with FSDP.summon_full_params(model, writeback=False):
    dict(model.named_parameters())["2.bias"].data.add_(1.0)
check("summon without writeback", model.state_dict()["2.bias"], state["2.bias"] + 1.0,
      atol=1e-6)

# load_state_dict of a full state dict into a differently initialized model
fresh = FSDP(mlp(ds, weights(5)), auto_wrap_policy=ModuleWrapPolicy({ds.nn.Linear}))
result = fresh.load_state_dict(state)
check("load_state_dict result", str((result.missing_keys, result.unexpected_keys)),
      str(([], [])))
for key, value in fresh.state_dict().items():
    check(f"loaded {key}", value, state[key])
plain = mlp(ds, init)
plain.load_state_dict(state)
x, _ = batch(9)
with ds.no_grad():
    check("loaded forward", fresh(ds.tensor(x)), plain(ds.tensor(x)), atol=1e-6, rtol=1e-5)
expect_error("load_state_dict missing key", RuntimeError,
             lambda: fresh.load_state_dict({k: v for k, v in state.items() if k != "0.bias"}),
             "Missing key(s)", "0.bias")

# sync_module_states: rank 0's weights everywhere; size-based policy nests the big layers
synced = FSDP(mlp(ds, weights(100 + RANK)), sync_module_states=True,
              auto_wrap_policy=functools.partial(size_based_auto_wrap_policy,
                                                 min_num_params=1000))
check("size-based policy wraps layers of >= 1000 parameters",
      [type(m).__name__ for m in synced.module], ["Linear", "ReLU", "FullyShardedDataParallel",
                                                  "ReLU", "FullyShardedDataParallel", "ReLU",
                                                  "Linear"])
for key, value in synced.state_dict().items():
    check(f"sync_module_states {key}", value, mlp(ds, weights(100)).state_dict()[key])

# no_sync: accumulate locally, reduce at the first synced backward (as torch)
ours = FSDP(mlp(ds, init), auto_wrap_policy=ModuleWrapPolicy({ds.nn.Linear}))
theirs = TorchFSDP(mlp(torch, init), auto_wrap_policy=TorchWrap({torch.nn.Linear}),
                   device_id=torch.device("cpu"))
for step in range(2):
    x, _ = batch(20 + step)
    context = (ours.no_sync(), theirs.no_sync()) if step == 0 else None
    if context:
        with context[0]:
            ours(ds.tensor(x)).sum().backward()
        with context[1]:
            theirs(torch.from_numpy(x)).sum().backward()
    else:
        ours(ds.tensor(x)).sum().backward()
        theirs(torch.from_numpy(x)).sum().backward()
for (pname, p), tp in zip(ours.named_parameters(), theirs.parameters()):
    check(f"no_sync then sync grad {pname}", p.grad, tp.grad, atol=1e-5, rtol=1e-5)

# errors
linear = ds.nn.Linear(4, 4)
expect_error("use_orig_params", NotImplementedError, lambda: FSDP(linear, use_orig_params=True),
             "use_orig_params=True", "use_orig_params=False")
expect_error("hybrid", NotImplementedError,
             lambda: FSDP(linear, sharding_strategy=ShardingStrategy.HYBRID_SHARD), "HYBRID")
expect_error("mixed precision", NotImplementedError,
             lambda: FSDP(linear, mixed_precision=MixedPrecision(param_dtype=ds.float16)),
             "mixed_precision", "autocast")
expect_error("device_id", ValueError, lambda: FSDP(linear, device_id=0), "device_id=0")
expect_error("sharded state dict", NotImplementedError,
             lambda: FSDP.set_state_dict_type(model, StateDictType.SHARDED_STATE_DICT),
             "SHARDED_STATE_DICT")
expect_error("clip on a nested unit", RuntimeError,
             lambda: model.module[0].clip_grad_norm_(1.0), "root")
expect_error("mixed dtypes", ValueError,
             lambda: FSDP(ds.nn.Sequential(ds.nn.Linear(2, 2), ds.nn.Linear(2, 2).double())),
             "dtype")
offloaded = FSDP(ds.nn.Linear(4, 4), cpu_offload=CPUOffload(offload_params=True))
check("cpu offload on the CPU is accepted", offloaded.cpu_offload.offload_params, True)
dist.barrier()
finish()
