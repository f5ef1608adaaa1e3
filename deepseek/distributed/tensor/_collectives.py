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


from ...ops._opdef import apply, defop
from ...tensor import Tensor
from .. import distributed_c10d as c10d



def _resized(x: Any, dim: int, group: Any, factor: float) -> tuple:
    shape = list(x.shape)
    dim %= len(shape)
    shape[dim] = int(shape[dim] * factor)
    return tuple(shape), x.dtype


def _reduce_forward(xp: Any, x: Any, *, group: Any) -> Any:
    out = xp.array(x, order="C", copy=True)
    c10d._all_reduce_array(out, "sum", group)
    return out


def _gather_forward(xp: Any, x: Any, *, dim: int, grad_is_partial: bool, group: Any) -> Any:
    return xp.concatenate(list(c10d._all_gather_array(x, group)), axis=dim)


def _chunk_forward(xp: Any, x: Any, *, dim: int, group: Any) -> Any:
    return xp.split(x, group.size(), axis=dim)[group.rank()].copy()


def _reduce_scatter_forward(xp: Any, x: Any, *, dim: int, group: Any) -> Any:
    return c10d._reduce_scatter_array(xp.stack(xp.split(x, group.size(), axis=dim)), group)


def _same(x: Any, **_: Any) -> tuple:
    return x.shape, x.dtype


# Registered ops rather than autograd.Functions, so ds.jit records them like any other op
# and a compiled tensor-parallel step communicates where the eager one does.
_REDUCE = defop("c10d::reduce_from_parallel", _reduce_forward, _same,
                lambda ctx, g: (g,), save_inputs=False,
                doc="Partial -> Replicate: all-reduce; the replicated gradient passes through.")
_COPY = defop("c10d::copy_to_parallel", lambda xp, x, *, group: xp.array(x, copy=True), _same,
              lambda ctx, g: (apply(_REDUCE, g, group=ctx.attrs["group"]),), save_inputs=False,
              doc="A replicated input entering sharded compute: the identity, whose gradient "
                  "(a partial sum from each process's shard) is all-reduced.")
_GATHER = defop("c10d::gather_from_parallel", _gather_forward,
                lambda x, *, dim, grad_is_partial, group: _resized(x, dim, group, group.size()),
                lambda ctx, g: (apply(_SCATTER_BY[ctx.attrs["grad_is_partial"]], g,
                                      dim=ctx.attrs["dim"], group=ctx.attrs["group"]),),
                save_inputs=False,
                doc="Shard(dim) -> Replicate: all-gather. The gradient comes back replicated "
                    "(this process's chunk is kept) or, with grad_is_partial, partial "
                    "(reduce-scattered).")
_CHUNK = defop("c10d::scatter_to_parallel", _chunk_forward,
               lambda x, *, dim, group: _resized(x, dim, group, 1 / group.size()),
               lambda ctx, g: (apply(_GATHER, g, dim=ctx.attrs["dim"], grad_is_partial=False,
                                     group=ctx.attrs["group"]),), save_inputs=False,
               doc="Replicate -> Shard(dim): this process's chunk; the gradient is all-gathered.")
_REDUCE_SCATTER = defop("c10d::reduce_scatter_from_parallel", _reduce_scatter_forward,
                        lambda x, *, dim, group: _resized(x, dim, group, 1 / group.size()),
                        lambda ctx, g: (apply(_GATHER, g, dim=ctx.attrs["dim"],
                                              grad_is_partial=True, group=ctx.attrs["group"]),),
                        save_inputs=False,
                        doc="Partial -> Shard(dim): reduce-scatter; the sharded gradient is "
                            "all-gathered.")
_SCATTER_BY = {False: _CHUNK, True: _REDUCE_SCATTER}


class ReduceFromParallel:
    @staticmethod
    def apply(group: Any, x: Tensor) -> Tensor:
        return apply(_REDUCE, x, group=group)


class CopyToParallel:
    @staticmethod
    def apply(group: Any, x: Tensor) -> Tensor:
        return apply(_COPY, x, group=group)


class GatherFromParallel:
    @staticmethod
    def apply(dim: int, grad_is_partial: bool, group: Any, x: Tensor) -> Tensor:
        return apply(_GATHER, x, dim=dim, grad_is_partial=grad_is_partial, group=group)


class ScatterToParallel:
    @staticmethod
    def apply(dim: int, group: Any, x: Tensor) -> Tensor:
        return apply(_CHUNK, x, dim=dim, group=group)


class ReduceScatterFromParallel:
    @staticmethod
    def apply(dim: int, group: Any, x: Tensor) -> Tensor:
        return apply(_REDUCE_SCATTER, x, dim=dim, group=group)
