"""Differentiable collectives, as ``torch.distributed.nn.functional``: out of place, and
their backward is the matching collective on the gradients (the gradient of a sum over
processes is the sum of the gradients; of a gather, a reduce-scatter)."""

from __future__ import annotations

from typing import Any, Optional

from ...autograd.function import Function
from ...ops._opdef import apply, defop
from ...tensor import Tensor
from .. import distributed_c10d as c10d

__all__ = ["all_gather", "all_reduce", "broadcast", "reduce_scatter"]


def _copy(t: Tensor) -> Tensor:
    return Tensor._wrap(t._data.copy())


class _AllGather(Function):
    @staticmethod
    def forward(ctx: Any, group: Any, tensor: Tensor) -> tuple:
        ctx.group = group
        size = c10d.get_world_size(group)
        out = [Tensor._wrap(tensor._data.copy()) for _ in range(size)]
        c10d.all_gather(out, Tensor._wrap(tensor._data.copy()), group)
        return tuple(out)

    @staticmethod
    def backward(ctx: Any, *grads: Tensor) -> tuple:
        out = Tensor._wrap(grads[0]._data.copy())
        c10d.reduce_scatter(out, [_copy(g) for g in grads], c10d.ReduceOp.SUM, ctx.group)
        return None, out


class _Broadcast(Function):
    @staticmethod
    def forward(ctx: Any, src: int, group: Any, tensor: Tensor) -> Tensor:
        ctx.src, ctx.group = src, group
        out = _copy(tensor)
        c10d.broadcast(out, src, group)
        return out

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple:
        grad = _copy(grad)
        c10d.reduce(grad, ctx.src, c10d.ReduceOp.SUM, ctx.group)
        if c10d.get_rank() != ctx.src:  # the other processes' inputs did not reach the output
            grad._data[...] = 0
        return None, None, grad


class _ReduceScatter(Function):
    @staticmethod
    def forward(ctx: Any, op: Any, group: Any, *inputs: Tensor) -> Tensor:
        ctx.group = group
        out = Tensor._wrap(inputs[0]._data.copy())
        c10d.reduce_scatter(out, [_copy(t) for t in inputs], op, group)
        return out

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple:
        size = c10d.get_world_size(ctx.group)
        grads = [_copy(grad) for _ in range(size)]
        c10d.all_gather(grads, _copy(grad), ctx.group)
        return (None, None, *grads)


def _all_reduce_forward(xp: Any, x: Any, *, reduce_op: str, group: Any) -> Any:
    out = xp.array(x, order="C", copy=True)
    c10d._all_reduce_array(out, reduce_op, group)
    return out


def _all_reduce_vjp(ctx: Any, g: Tensor) -> tuple:
    return (all_reduce(g, c10d.ReduceOp.SUM, ctx.attrs["group"]),)


# A registered op rather than an autograd.Function, so ds.jit records it like any other and
# a compiled step (SyncBatchNorm's statistics) communicates where the eager one does.
_ALL_REDUCE = defop("c10d::all_reduce", _all_reduce_forward, lambda x, **_: (x.shape, x.dtype),
                    _all_reduce_vjp, save_inputs=False,
                    doc="``input`` reduced over a process group; the gradient is summed.")


def all_reduce(tensor: Tensor, op: Any = c10d.ReduceOp.SUM, group: Optional[Any] = None) -> Tensor:
    """``tensor`` reduced over ``group``, as a new tensor; backward sums the gradients."""
    g = c10d._group(group, "all_reduce")
    if g is None:  # outside the group: unchanged, as torch
        return tensor
    return apply(_ALL_REDUCE, tensor, reduce_op=getattr(op, "value", op), group=g)


def all_gather(tensor: Tensor, group: Optional[Any] = None) -> tuple:
    """Every process's ``tensor``, in rank order; backward reduce-scatters the gradients."""
    return _AllGather.apply(group, tensor)


def broadcast(tensor: Tensor, src: int, group: Optional[Any] = None) -> Tensor:
    """Process ``src``'s ``tensor`` in every process; backward sums the gradients into
    ``src``."""
    return _Broadcast.apply(src, group, tensor)


def reduce_scatter(output: Tensor, input_list: list, op: Any = c10d.ReduceOp.SUM,
                   group: Optional[Any] = None) -> Tensor:
    """``input_list[i]`` reduced over ``group`` lands in process i (a new tensor shaped as
    ``output``); backward all-gathers the gradients."""
    return _ReduceScatter.apply(op, group, *input_list)
