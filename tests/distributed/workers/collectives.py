"""Every collective of ds.distributed, checked against torch.distributed (gloo) run on the
same data in the same processes, and against the result computed from every rank's input."""

import ml_dtypes
import numpy as np
import torch
import torch.distributed as tdist
from _check import RANK, SIZE, check, expect_error, finish, start

import deepseek as ds
import deepseek.distributed as dist

start()


def data(seed: int, shape, dtype, rank: int = RANK) -> np.ndarray:
    rng = np.random.default_rng(1000 * seed + rank)
    if np.dtype(dtype) == np.bool_:
        return rng.random(shape) > 0.5
    if np.dtype(dtype).kind in "iu":
        return rng.integers(-5 if np.dtype(dtype).kind == "i" else 0, 6, shape).astype(dtype)
    return rng.uniform(0.5, 1.5, shape).astype(dtype)


def every_rank(seed, shape, dtype):
    return [data(seed, shape, dtype, r) for r in range(SIZE)]


REDUCE = {"sum": lambda xs: np.sum(xs, 0), "product": lambda xs: np.prod(xs, 0),
          "min": lambda xs: np.min(xs, 0), "max": lambda xs: np.max(xs, 0),
          "avg": lambda xs: np.mean(xs, 0)}
OPS = {"sum": dist.ReduceOp.SUM, "product": dist.ReduceOp.PRODUCT, "min": dist.ReduceOp.MIN,
       "max": dist.ReduceOp.MAX, "avg": dist.ReduceOp.AVG}
TORCH_OPS = {"sum": tdist.ReduceOp.SUM, "product": tdist.ReduceOp.PRODUCT,
             "min": tdist.ReduceOp.MIN, "max": tdist.ReduceOp.MAX}

# all_reduce: every op on every dtype, blocking and asynchronous
seed = 0
for dtype in (np.float32, np.float64, np.int32, np.int64, np.float16, ml_dtypes.bfloat16):
    for name, op in OPS.items():
        if name == "avg" and np.dtype(dtype).kind == "i":
            continue
        seed += 1
        x = data(seed, (3, 5), dtype)
        want = REDUCE[name](np.stack(every_rank(seed, (3, 5), dtype)).astype(np.float64))
        t = ds.tensor(x)
        dist.all_reduce(t, op)
        tol = 1e-2 if np.dtype(dtype).itemsize == 2 else 1e-6
        check(f"all_reduce {name} {np.dtype(dtype)}", t.numpy().astype(np.float64), want,
              rtol=tol)
        if dtype in (np.float32, np.float64, np.int64) and name in TORCH_OPS:
            tt = torch.from_numpy(x.copy())
            tdist.all_reduce(tt, TORCH_OPS[name])
            check(f"all_reduce {name} {np.dtype(dtype)} vs torch", t, tt, rtol=1e-6)
for name in ("sum", "product", "min", "max"):
    x = data(99, (7,), np.bool_)
    t = ds.tensor(x)
    dist.all_reduce(t, OPS[name])
    xs = np.stack(every_rank(99, (7,), np.bool_))
    check(f"all_reduce {name} bool", t, xs.any(0) if name in ("sum", "max") else xs.all(0))

x = data(7, (4, 4), np.float32)
t = ds.tensor(x)
work = dist.all_reduce(t, async_op=True)
work.wait()
check("all_reduce async", t, np.sum(every_rank(7, (4, 4), np.float32), 0), rtol=1e-6)
t2 = ds.tensor(x)
fut = dist.all_reduce(t2, async_op=True).get_future()
check("all_reduce future value", fut.wait()[0], t, rtol=0)
check("Work.is_completed", dist.all_reduce(ds.tensor(x), async_op=True).wait(), True)

base = ds.zeros(3, 4)
base[1] = RANK + 1.0
version = base._version
dist.all_reduce(base[1])  # a contiguous view: the base tensor sees the result
check("all_reduce on a view", base[1], np.full(4, SIZE * (SIZE + 1) / 2, np.float32))
check("all_reduce bumps the version", base._version > version, True)

# broadcast, reduce
for shape in ((3, 4), (), (0, 2)):
    x = data(11, shape, np.float32)
    t = ds.tensor(x)
    dist.broadcast(t, src=SIZE - 1)
    tt = torch.from_numpy(x.copy())
    tdist.broadcast(tt, src=SIZE - 1)
    check(f"broadcast {shape}", t, tt)
    check(f"broadcast {shape} value", t, data(11, shape, np.float32, SIZE - 1))
t = ds.tensor(data(12, (5,), np.int64))
dist.broadcast(t, src=0, async_op=True).wait()
check("broadcast async int64", t, data(12, (5,), np.int64, 0))
for dst in range(SIZE):
    x = data(13, (2, 3), np.float64)
    t = ds.tensor(x)
    dist.reduce(t, dst=dst, op=dist.ReduceOp.MAX)
    want = np.max(every_rank(13, (2, 3), np.float64), 0) if RANK == dst else x
    check(f"reduce max to {dst}", t, want)

# all_gather, all_gather_into_tensor, gather, scatter
x = data(20, (2, 3), np.float32)
outs = [ds.empty(2, 3) for _ in range(SIZE)]
dist.all_gather(outs, ds.tensor(x))
touts = [torch.empty(2, 3) for _ in range(SIZE)]
tdist.all_gather(touts, torch.from_numpy(x))
for r in range(SIZE):
    check(f"all_gather [{r}]", outs[r], touts[r])
out = ds.empty(SIZE * 2, 3)
dist.all_gather_into_tensor(out, ds.tensor(x))
tout = torch.empty(SIZE * 2, 3)
tdist.all_gather_into_tensor(tout, torch.from_numpy(x))
check("all_gather_into_tensor", out, tout)
out = ds.empty(SIZE, 2, 3)  # the stacked form (gloo has only the concatenated one)
dist.all_gather_into_tensor(out, ds.tensor(x))
check("all_gather_into_tensor stacked", out, np.stack(every_rank(20, (2, 3), np.float32)))
out = ds.empty(SIZE * 2, 3)
dist.all_gather_single(out, ds.tensor(x), async_op=True).wait()
check("all_gather_single async", out, np.concatenate(every_rank(20, (2, 3), np.float32)))

gathered = [ds.empty(2, 3) for _ in range(SIZE)] if RANK == 1 else None
dist.gather(ds.tensor(x), gathered, dst=1)
if RANK == 1:
    for r in range(SIZE):
        check(f"gather [{r}]", gathered[r], data(20, (2, 3), np.float32, r))
parts = [ds.tensor(data(21 + r, (4,), np.int32, 0)) for r in range(SIZE)] if RANK == 0 else None
t = ds.empty(4, dtype=ds.int32)
dist.scatter(t, parts, src=0)
check("scatter", t, data(21 + RANK, (4,), np.int32, 0))

# reduce_scatter_tensor, reduce_scatter, all_to_all_single, all_to_all
x = data(30, (SIZE * 3, 2), np.float32)
out = ds.empty(3, 2)
dist.reduce_scatter_tensor(out, ds.tensor(x))
tout = torch.empty(3, 2)
tdist.reduce_scatter_tensor(tout, torch.from_numpy(x))
check("reduce_scatter_tensor", out, tout, rtol=1e-6)
out = ds.empty(3, 2)
dist.reduce_scatter_tensor(out, ds.tensor(x), op=dist.ReduceOp.AVG)
check("reduce_scatter_tensor avg", out, np.mean(every_rank(30, (SIZE * 3, 2), np.float32),
                                                 0)[RANK * 3:RANK * 3 + 3], rtol=1e-6)
out = ds.empty(3, 2)
dist.reduce_scatter(out, [ds.tensor(p) for p in np.split(x, SIZE)])
check("reduce_scatter", out, tout, rtol=1e-6)

x = data(40, (SIZE * 2, 3), np.float32)
out = ds.empty(SIZE * 2, 3)
dist.all_to_all_single(out, ds.tensor(x))
tout = torch.empty(SIZE * 2, 3)
tdist.all_to_all_single(tout, torch.from_numpy(x))
check("all_to_all_single", out, tout)
in_splits = [r + 1 for r in range(SIZE)]  # rank r sends r' + 1 rows to rank r'
out_splits = [RANK + 1] * SIZE
x = data(41, (sum(in_splits), 2), np.float64)
out = ds.empty(sum(out_splits), 2, dtype=ds.float64)
dist.all_to_all_single(out, ds.tensor(x), out_splits, in_splits)
tout = torch.empty(sum(out_splits), 2, dtype=torch.float64)
tdist.all_to_all_single(tout, torch.from_numpy(x), out_splits, in_splits)
check("all_to_all_single uneven", out, tout)
ins = [ds.tensor(data(50 + r, (r + 1,), np.float32)) for r in range(SIZE)]
outs = [ds.empty(RANK + 1) for _ in range(SIZE)]
dist.all_to_all(outs, ins)
for r in range(SIZE):
    check(f"all_to_all [{r}]", outs[r], data(50 + RANK, (RANK + 1,), np.float32, r))

# point to point
nxt, prv = (RANK + 1) % SIZE, (RANK - 1) % SIZE
got = ds.empty(3)
ops = [dist.P2POp(dist.isend, ds.tensor(data(60, (3,), np.float32)), nxt),
       dist.P2POp(dist.irecv, got, prv)]
for w in dist.batch_isend_irecv(ops):
    w.wait()
check("batch_isend_irecv ring", got, data(60, (3,), np.float32, prv))
if RANK == 0:
    dist.send(ds.arange(4.0), dst=1, tag=5)
elif RANK == 1:
    got = ds.empty(4)
    check("recv returns the sender", dist.recv(got, tag=5), 0)
    check("recv", got, np.arange(4, dtype=np.float32))

# groups
check("get_rank", dist.get_rank(), RANK)
check("get_world_size", dist.get_world_size(), SIZE)
check("get_backend", dist.get_backend(), "mpi")
last = dist.new_group([SIZE - 1])
both = dist.new_group(list(range(SIZE)))
if RANK == SIZE - 1:
    check("new_group rank", dist.get_rank(last), 0)
    check("get_global_rank", dist.get_global_rank(last, 0), SIZE - 1)
    check("get_process_group_ranks", dist.get_process_group_ranks(last), [SIZE - 1])
else:
    check("non-member", last is dist.GroupMember.NON_GROUP_MEMBER, True)
    check("non-member rank", dist.get_rank(last), -1)
t = ds.tensor([float(RANK)])
dist.all_reduce(t, group=last)  # a no-op outside the group
check("all_reduce on a one-process group", t, np.array([float(RANK)], np.float32))
t = ds.tensor([1.0])
dist.all_reduce(t, group=both)
check("all_reduce on a group of all", t, np.array([float(SIZE)], np.float32))
dist.barrier()
dist.barrier(async_op=True).wait()
dist.monitored_barrier()

# Python objects
objs = [{"a": RANK}, "x" * RANK] if RANK == 1 else [None, None]
dist.broadcast_object_list(objs, src=1)
check("broadcast_object_list", objs == [{"a": 1}, "x"], True)
everyone = [None] * SIZE
dist.all_gather_object(everyone, {"rank": RANK, "list": [RANK] * 2})
check("all_gather_object", everyone == [{"rank": r, "list": [r, r]} for r in range(SIZE)], True)
into = [None] * SIZE if RANK == 0 else None
dist.gather_object(RANK * 10, into, dst=0)
if RANK == 0:
    check("gather_object", into, [r * 10 for r in range(SIZE)])
out = [None]
dist.scatter_object_list(out, [f"to {r}" for r in range(SIZE)] if RANK == 0 else None, src=0)
check("scatter_object_list", out, [f"to {RANK}"])

# DistributedSampler takes its replicas and rank from the default group, as torch's does
for shuffle in (False, True):
    ours = ds.utils.data.DistributedSampler(range(11), shuffle=shuffle)
    theirs = torch.utils.data.DistributedSampler(range(11), shuffle=shuffle)
    check(f"DistributedSampler shuffle={shuffle} size", len(ours), len(theirs))
    if not shuffle:
        check("DistributedSampler indices", list(ours), list(theirs))

# misuse: clear errors, raised before anything is sent, so no process hangs
expect_error("non-contiguous", ValueError, lambda: dist.all_reduce(ds.ones(3, 4).t()),
             "all_reduce", "contiguous", "float32[4, 3]")
expect_error("not a tensor", TypeError, lambda: dist.broadcast(np.ones(3), src=0),
             "broadcast", "Tensor", "ndarray")
expect_error("all_gather list length", ValueError,
             lambda: dist.all_gather([ds.empty(2)], ds.ones(2)), "all_gather", f"{SIZE}")
expect_error("all_gather shapes", ValueError,
             lambda: dist.all_gather([ds.empty(3) for _ in range(SIZE)], ds.ones(2)),
             "all_gather", "float32[3]", "float32[2]")
expect_error("all_gather_into_tensor size", ValueError,
             lambda: dist.all_gather_into_tensor(ds.empty(3), ds.ones(2)),
             "all_gather_into_tensor", "world_size")
expect_error("unknown reduce op", ValueError, lambda: dist.all_reduce(ds.ones(2), "mean"),
             "all_reduce", "reduce op")
expect_error("bad src", ValueError, lambda: dist.broadcast(ds.ones(2), src=SIZE), "broadcast",
             f"src={SIZE}")
expect_error("missing src", ValueError, lambda: dist.broadcast(ds.ones(2)), "broadcast", "src")
expect_error("object not JSON", TypeError,
             lambda: dist.all_gather_object([None] * SIZE, object()), "JSON", "unpickled")
expect_error("all_to_all_single splits", ValueError,
             lambda: dist.all_to_all_single(ds.empty(SIZE), ds.ones(SIZE), [SIZE], None),
             "all_to_all_single", "output_split_sizes")
expect_error("init twice", ValueError, lambda: dist.init_process_group("mpi"), "twice")
expect_error("new_group ranks", ValueError, lambda: dist.new_group([0, SIZE]), "new_group")
finish()
