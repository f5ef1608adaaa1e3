"""The collectives at the edges of tensor-parallel modules, each with the backward that the
layouts of its gradient call for (Megatron's f and g operators and their sharded kin).

Unlike ``distributed.nn.functional.all_reduce``, whose backward sums the gradients (right when
each process's loss is a separate term), the loss here is computed redundantly on every
process, so a replicated output's gradient is already the whole gradient: the all-reduce of
a partial sum has the identity as its backward, and the copy of a replicated input into
sharded compute has the all-reduce.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...autograd.function import Function
from ...tensor import Tensor
from .. import distributed_c10d as c10d


def _wrap(data: np.ndarray) -> Tensor:
    return Tensor._wrap(np.ascontiguousarray(data))


def all_reduce(t: Tensor, group: Any) -> Tensor:
    out = _wrap(t._data.copy())
    c10d.all_reduce(out, c10d.ReduceOp.SUM, group)
    return out


def all_gather(t: Tensor, dim: int, group: Any) -> Tensor:
    """The processes' ``t`` concatenated along ``dim``, in group-rank order."""
    data = np.ascontiguousarray(t._data)
    parts = [_wrap(np.empty_like(data)) for _ in range(c10d.get_world_size(group))]
    c10d.all_gather(parts, _wrap(data), group)
    return _wrap(np.concatenate([p._data for p in parts], axis=dim))


def chunk(t: Tensor, dim: int, group: Any) -> Tensor:
    """This process's chunk of ``t`` along ``dim`` (a copy)."""
    size, rank = c10d.get_world_size(group), c10d.get_rank(group)
    return _wrap(np.split(t._data, size, axis=dim)[rank].copy())


def reduce_scatter(t: Tensor, dim: int, group: Any) -> Tensor:
    """``t`` summed over the processes, of which this process keeps its chunk along ``dim``."""
    inputs = [_wrap(a) for a in np.split(t._data, c10d.get_world_size(group), axis=dim)]
    out = _wrap(np.empty_like(inputs[0]._data))
    c10d.reduce_scatter(out, inputs, c10d.ReduceOp.SUM, group)
    return out


class ReduceFromParallel(Function):
    """Partial -> Replicate: all-reduce; the replicated gradient passes through."""

    @staticmethod
    def forward(ctx: Any, group: Any, x: Tensor) -> Tensor:
        return all_reduce(x, group)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple:
        return None, g


class CopyToParallel(Function):
    """A replicated input entering sharded compute: the identity, whose gradient (a partial
    sum from each process's shard) is all-reduced."""

    @staticmethod
    def forward(ctx: Any, group: Any, x: Tensor) -> Tensor:
        ctx.group = group
        return _wrap(x._data.copy())

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple:
        return None, all_reduce(g, ctx.group)


class GatherFromParallel(Function):
    """Shard(dim) -> Replicate: all-gather. The gradient comes back replicated (take this
    process's chunk) or, with ``grad_is_partial``, partial (reduce-scatter it)."""

    @staticmethod
    def forward(ctx: Any, dim: int, grad_is_partial: bool, group: Any, x: Tensor) -> Tensor:
        ctx.dim, ctx.grad_is_partial, ctx.group = dim, grad_is_partial, group
        return all_gather(x, dim, group)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple:
        if ctx.grad_is_partial:
            return None, None, None, reduce_scatter(g, ctx.dim, ctx.group)
        return None, None, None, chunk(g, ctx.dim, ctx.group)


class ScatterToParallel(Function):
    """Replicate -> Shard(dim): keep this process's chunk; the gradient is all-gathered."""

    @staticmethod
    def forward(ctx: Any, dim: int, group: Any, x: Tensor) -> Tensor:
        ctx.dim, ctx.group = dim, group
        return chunk(x, dim, group)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple:
        return None, None, all_gather(g, ctx.dim, ctx.group)


class ReduceScatterFromParallel(Function):
    """Partial -> Shard(dim): reduce-scatter; the sharded gradient is all-gathered."""

    @staticmethod
    def forward(ctx: Any, dim: int, group: Any, x: Tensor) -> Tensor:
        ctx.dim, ctx.group = dim, group
        return reduce_scatter(x, dim, group)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple:
        return None, None, all_gather(g, ctx.dim, ctx.group)
