"""``DistributedDataParallel``: data-parallel training over a process group, as
``torch.nn.parallel.DistributedDataParallel``: gradients are averaged in buckets, each
bucket's all-reduce starting as soon as backward has produced all of its gradients."""

from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator, Optional

import numpy as np

from ...autograd.grad_mode import is_grad_enabled
from ...autograd.graph import _collect
from ...func._pytree import tree_flatten
from ...ops import _opdef
from ...tensor import Tensor
from .module import Module

__all__ = ["DistributedDataParallel"]

_FIRST_BUCKET_BYTES = 1 << 20  # torch's: a small first bucket starts communication early


def _dist() -> Any:
    from ... import distributed

    return distributed


class _Bucket:
    """Parameters whose gradients travel together in one flat buffer."""

    def __init__(self, index: int, params: list, dtype: np.dtype) -> None:
        self.index = index
        self.params = params
        sizes = [p._data.size for p in params]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
        self.buffer = np.zeros(int(self.offsets[-1]), dtype)
        self.pending = len(params)
        self.future: Any = None
        self.is_last = False

    def view(self, i: int) -> np.ndarray:
        return self.buffer[self.offsets[i]:self.offsets[i + 1]].reshape(self.params[i]._data.shape)


class _Reducer:
    """Buckets the parameters (in reverse order, as gradients tend to arrive), collects each
    gradient as its post-accumulate hook fires, launches the bucket's communication hook in
    bucket order (the same on every process, as MPI requires) and, once the last bucket is
    launched, waits for them all and writes the averages back into ``.grad``."""

    def __init__(self, ddp: "DistributedDataParallel", params: list, bucket_bytes: int) -> None:
        self.ddp = ddp
        self.buckets: list = []
        self.where: dict = {}  # id(param) -> (bucket, index in bucket)
        current: dict = {}  # dtype -> params being gathered
        limit = _FIRST_BUCKET_BYTES
        for p in reversed(params):
            group = current.setdefault(p._data.dtype, [])
            group.append(p)
            if sum(q._data.nbytes for q in group) >= limit:
                self._close(current.pop(p._data.dtype))
                limit = bucket_bytes
        for group in current.values():
            self._close(group)
        self.buckets[-1].is_last = True
        self.next_launch = 0
        self.used: set = set()
        self.expecting = False
        self.handles = [p.register_post_accumulate_grad_hook(self._ready) for p in params]

    def _close(self, params: list) -> None:
        bucket = _Bucket(len(self.buckets), params, params[0]._data.dtype)
        for i, p in enumerate(params):
            self.where[id(p)] = (bucket, i)
        self.buckets.append(bucket)

    def prepare(self, outputs: Any) -> None:
        """Start an iteration: with ``find_unused_parameters``, parameters the outputs do not
        depend on are ready at once (with no gradient)."""
        self.expecting = True
        self.used = set()
        if self.ddp.find_unused_parameters:
            reached = _leaves_reached(outputs)
            for bucket in self.buckets:
                for p in bucket.params:
                    if id(p) not in reached:
                        self._mark(bucket)

    def _ready(self, param: Tensor) -> None:
        if not self.ddp.require_backward_grad_sync:
            return
        if not self.expecting:
            raise RuntimeError("[DistributedDataParallel] a parameter received a gradient twice "
                               "in one iteration (or outside a DDP forward): run forward again "
                               "before each backward, or use static_graph=False code paths")
        bucket, _ = self.where[id(param)]
        self.used.add(id(param))
        self._mark(bucket)

    def _mark(self, bucket: _Bucket) -> None:
        bucket.pending -= 1
        if _opdef.TRACER[0] is not None:  # under ds.jit: one recorded call, after backward
            if all(b.pending == 0 for b in self.buckets):
                _recorded(self.reduce_now, "DistributedDataParallel.reduce()",
                          [p.grad for b in self.buckets for p in b.params if p.grad is not None])
            return
        while self.next_launch < len(self.buckets) and self.buckets[self.next_launch].pending == 0:
            self._launch(self.buckets[self.next_launch])
            self.next_launch += 1
        if self.next_launch == len(self.buckets):
            self._finish()

    def reduce_now(self) -> None:
        """Launch every bucket and write the averages back (what a compiled step runs)."""
        for bucket in self.buckets:
            self._launch(bucket)
        self._finish()

    def _launch(self, bucket: _Bucket) -> None:
        # as torch: without a hook each gradient is divided on its way in; hooks divide
        scale = 1.0 if self.ddp._hook_set else 1.0 / self.ddp._world_size
        for i, p in enumerate(bucket.params):
            view = bucket.view(i)
            g = p.grad
            if g is None:  # as torch: an unused parameter's old gradient still counts
                view[...] = 0
            elif g._data is not view and not np.shares_memory(g._data, view):
                np.multiply(g._data, scale, out=view, casting="unsafe")
            else:
                view *= scale
        state, hook = self.ddp._comm_hook
        bucket.future = hook(state, GradBucket(bucket, self.ddp._world_size))

    def _finish(self) -> None:
        globally_used = self._globally_used() if self.ddp.find_unused_parameters else None
        for bucket in self.buckets:
            result = bucket.future.wait()
            if isinstance(result, list) and len(result) == 1:
                result = result[0]
            data = result._data if isinstance(result, Tensor) else np.asarray(result)
            if data.size != bucket.buffer.size:
                raise RuntimeError(f"[DistributedDataParallel] the communication hook's future "
                                   f"must hold a tensor of the bucket's {bucket.buffer.size} "
                                   f"elements, got {data.size}")
            if data.reshape(-1) is not bucket.buffer:
                np.copyto(bucket.buffer, data.reshape(-1), casting="unsafe")
            for i, p in enumerate(bucket.params):
                if globally_used is not None and id(p) not in globally_used:
                    continue
                self._write_grad(p, bucket.view(i))
            bucket.pending = len(bucket.params)
            bucket.future = None
        self.next_launch = 0
        self.expecting = False

    def _write_grad(self, p: Tensor, view: np.ndarray) -> None:
        if self.ddp.gradient_as_bucket_view:
            if p.grad is None or p.grad._data is not view:
                p.grad = Tensor._wrap(view)
            p.grad._version_box[0] += 1
        elif p.grad is None:
            p.grad = Tensor._wrap(view.copy())
        else:
            np.copyto(p.grad._data, view)
            p.grad._version_box[0] += 1

    def _globally_used(self) -> set:
        dist = _dist()
        used = Tensor._wrap(np.array([id(p) in self.used for b in self.buckets
                                      for p in b.params], np.uint8))
        dist.all_reduce(used, dist.ReduceOp.MAX, group=self.ddp.process_group)
        flags = iter(used._data.tolist())
        return {id(p) for b in self.buckets for p in b.params if next(flags)}

    def unfinished(self) -> list:
        """Names of the parameters still waiting for a gradient from the last backward."""
        if not self.expecting or all(b.pending == len(b.params) for b in self.buckets):
            return []
        names = {id(p): n for n, p in self.ddp.module.named_parameters()}
        return [names.get(id(p), "?") for b in self.buckets for p in b.params
                if id(p) not in self.used]


def _recorded(fn: Callable[[], None], label: str, mutates: list) -> None:
    """Run ``fn``; while ds.jit traces, as a call the compiled step makes at this point."""
    tracer = _opdef.TRACER[0]
    if tracer is None:
        fn()
        return
    _opdef.TRACER[0] = None  # what fn does is communication, not ops to record
    try:
        tracer.call(fn, label, (), {}, mutates, [])
    finally:
        _opdef.TRACER[0] = tracer


def _leaves_reached(outputs: Any) -> set:
    """``id``s of the leaf tensors the autograd graph of ``outputs`` reaches."""
    tensors = [t for t in tree_flatten(outputs)[0] if isinstance(t, Tensor)]
    leaves = {id(t) for t in tensors if t.grad_fn is None and t._requires_grad}
    reached = _collect([t.grad_fn for t in tensors if t.grad_fn is not None])
    return leaves | {id(e) for e in reached if isinstance(e, Tensor)}


class GradBucket:
    """What a communication hook receives: one bucket of gradients in a flat buffer, as
    ``torch.distributed.GradBucket``."""

    def __init__(self, bucket: _Bucket, world_size: int) -> None:
        self._bucket = bucket
        self._buffer = Tensor._wrap(bucket.buffer)

    def index(self) -> int:
        return self._bucket.index

    def buffer(self) -> Tensor:
        """The flat gradients (summed, not averaged, over the group by the hook: dividing
        by the world size is the hook's part, as in torch)."""
        return self._buffer

    def set_buffer(self, buffer: Tensor) -> None:
        np.copyto(self._bucket.buffer, buffer._data.reshape(-1), casting="unsafe")

    def gradients(self) -> list:
        """Each parameter's gradient: views of ``buffer()`` in the parameter's shape."""
        return [Tensor._wrap(self._bucket.view(i)) for i in range(len(self._bucket.params))]

    def parameters(self) -> list:
        return list(self._bucket.params)

    def offsets(self) -> list:
        return self._bucket.offsets[:-1].tolist()

    def is_last(self) -> bool:
        return self._bucket.is_last


def _sum_hook(process_group: Any, bucket: GradBucket) -> Any:
    """The built-in reduction: the gradients were divided on their way into the bucket."""
    dist = _dist()
    return dist.all_reduce(bucket.buffer(), group=process_group, async_op=True).get_future()


class DistributedDataParallel(Module):
    """Train ``module`` on each process's share of the batch, averaging gradients over
    ``process_group`` during backward, as ``torch.nn.parallel.DistributedDataParallel``.

    At construction the parameters and buffers of rank 0 are copied to every process. Each
    forward (in training with ``broadcast_buffers``) copies rank 0's buffers again. Backward
    averages the gradients in buckets of about ``bucket_cap_mb``; a bucket's all-reduce starts
    as soon as its last gradient is accumulated and all are written back before ``backward``
    returns. ``no_sync()`` skips the averaging (gradients accumulate locally) and
    ``register_comm_hook`` replaces it (compression: ``ds.distributed.algorithms``).

    Args:
        module: the module to replicate; state_dict keys get the prefix ``module.``.
        device_ids, output_device, dim: accepted for compatibility (CPU processes).
        broadcast_buffers: copy rank 0's buffers at each forward. Default: True.
        process_group: the group to average over (default: the default group).
        bucket_cap_mb: bucket size in MiB. Default: 25.
        find_unused_parameters: walk the output's graph each forward so parameters it does
            not reach count as ready; parameters unused on every process keep no gradient.
        gradient_as_bucket_view: make ``.grad`` views of the buckets (saves a copy).

    Example:
        >>> ds.distributed.init_process_group("gloo")  # doctest: +SKIP
        >>> model = ds.nn.parallel.DistributedDataParallel(ds.nn.Linear(4, 2))  # doctest: +SKIP
    """

    def __init__(self, module: Module, device_ids: Any = None, output_device: Any = None,
                 dim: int = 0, broadcast_buffers: bool = True, init_sync: bool = True,
                 process_group: Any = None, bucket_cap_mb: Optional[float] = None,
                 find_unused_parameters: bool = False, check_reduction: bool = False,
                 gradient_as_bucket_view: bool = False, static_graph: bool = False,
                 delay_all_reduce_named_params: Any = None, param_to_hook_all_reduce: Any = None,
                 mixed_precision: Any = None, device_mesh: Any = None) -> None:
        super().__init__()
        dist = _dist()
        if not isinstance(module, Module):
            raise TypeError(f"[DistributedDataParallel] module must be an nn.Module, got "
                            f"{type(module).__name__}")
        self.module = module
        self.process_group = dist.distributed_c10d._group(process_group, "DistributedDataParallel")
        self.device_ids = device_ids
        self.output_device = output_device
        self.dim = dim
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self.gradient_as_bucket_view = gradient_as_bucket_view
        self.static_graph = static_graph
        self.require_backward_grad_sync = True
        self.require_forward_param_sync = True
        self._world_size = self.process_group.size()
        self._comm_hook: tuple = (self.process_group, _sum_hook)
        self._hook_set = False
        params = list(dict.fromkeys(p for p in module.parameters() if p.requires_grad))
        if not params:
            raise RuntimeError("[DistributedDataParallel] DistributedDataParallel is not needed "
                               "when a module doesn't have any parameter that requires a "
                               "gradient.")
        self._verify_same_model(params)
        if init_sync:
            self._broadcast(list(module.parameters()) + list(module.buffers()))
        cap = 25 if bucket_cap_mb is None else bucket_cap_mb
        self._reducer = _Reducer(self, params, int(cap * (1 << 20)))

    def _verify_same_model(self, params: list) -> None:
        dist = _dist()
        mine = [list(p.shape) for p in params]
        everyone = [None] * self._world_size
        dist.all_gather_object(everyone, mine, group=self.process_group)
        for rank, theirs in enumerate(everyone):
            if theirs != mine:
                raise RuntimeError(f"[DistributedDataParallel] the model differs across "
                                   f"processes: rank {rank} has parameter shapes {theirs}, "
                                   f"rank {self.process_group.rank()} has {mine}")

    def _broadcast(self, tensors: list) -> None:
        dist = _dist()
        root = dist.get_global_rank(self.process_group, 0) if self.process_group is not \
            dist.GroupMember.WORLD else 0
        for t in tensors:
            if t._data.flags.c_contiguous:
                dist.broadcast(t, root, group=self.process_group)
            else:
                tmp = Tensor._wrap(np.ascontiguousarray(t._data))
                dist.broadcast(tmp, root, group=self.process_group)
                t._data[...] = tmp._data

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        unfinished = self._reducer.unfinished()
        if unfinished:
            raise RuntimeError(
                "[DistributedDataParallel] Expected to have finished reduction in the prior "
                "iteration before starting a new one. This error indicates that your module has "
                "parameters that were not used in producing loss. You can enable unused "
                "parameter detection by passing the keyword argument "
                "`find_unused_parameters=True` to `DistributedDataParallel`, and by making sure "
                "all `forward` function outputs participate in calculating loss. Parameters "
                f"that did not receive a gradient: {unfinished}")
        if self.broadcast_buffers and self.training and self._world_size > 1 \
                and self.require_forward_param_sync:
            buffers = list(self.module.buffers())
            if buffers:
                _recorded(lambda: self._broadcast(buffers), "DistributedDataParallel"
                          ".broadcast_buffers()", buffers)
        out = self.module(*inputs, **kwargs)
        if is_grad_enabled() and self.require_backward_grad_sync:
            self._reducer.prepare(out)
        return out

    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Inside, backward accumulates gradients locally; the first backward after it
        averages what was accumulated."""
        before = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = before

    def register_comm_hook(self, state: Any, hook: Callable) -> None:
        """Communicate each bucket with ``hook(state, bucket) -> Future`` whose value is the
        bucket's averaged flat gradient tensor (``ds.distributed.algorithms.ddp_comm_hooks``
        has allreduce, fp16/bf16 compression and PowerSGD)."""
        if self._hook_set:
            raise RuntimeError("[DistributedDataParallel] register_comm_hook can only be called "
                               "once")
        if not callable(hook):
            raise TypeError("[DistributedDataParallel] hook must be callable as "
                            "hook(state, bucket) -> Future")
        self._comm_hook = (state, hook)
        self._hook_set = True

    def _get_ddp_logging_data(self) -> dict:
        return {"world_size": self._world_size, "bucket_sizes":
                [b.buffer.nbytes for b in self._reducer.buckets]}
