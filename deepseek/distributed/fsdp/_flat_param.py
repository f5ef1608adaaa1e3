"""One FSDP unit's parameters as a flat buffer: ``FlatParameter`` (this process's shard, what
the optimizer sees), the handle that gathers the full buffer, hands the module views of it,
frees it, and reduce-scatters the flat gradient into the shard's ``.grad``."""

from __future__ import annotations

import weakref
from typing import Any, Optional

import numpy as np

from ...autograd.function import Function, FunctionCtx
from ...autograd.graph import SAVED_TENSOR_HOOKS
from ...nn.parameter import Parameter
from ...tensor import Tensor
from .. import distributed_c10d as c10d
from .api import ShardingStrategy

__all__ = ["FlatParameter"]

_EMPTY = np.empty(0, np.float32)


class FlatParameter(Parameter):
    """This process's shard of an FSDP unit's parameters, flattened and concatenated in
    ``named_parameters`` order, the whole padded to a multiple of the world size.

    ``_fqns``, ``_shapes`` and ``_numels`` describe the original parameters (names relative
    to the wrapped module); ``_unpadded_unsharded_size`` is their total count.
    """


class _Stats:
    """Bytes of gathered (full) flat parameters alive right now, and the most at once: kept
    by finalizers on the arrays themselves, so they count what is really held, not what the
    handles think they hold."""

    live = 0
    peak = 0

    @classmethod
    def add(cls, array: np.ndarray) -> None:
        cls.live += array.nbytes
        cls.peak = max(cls.peak, cls.live)
        weakref.finalize(array, cls._release, array.nbytes)

    @classmethod
    def _release(cls, nbytes: int) -> None:
        cls.live -= nbytes


def gathered_bytes() -> dict:
    """``{"live": ..., "peak": ...}``: bytes of full flat parameters alive now and the peak
    since the last ``reset_peak_gathered_bytes()``, over every FSDP unit of this process."""
    return {"live": _Stats.live, "peak": _Stats.peak}


def reset_peak_gathered_bytes() -> None:
    _Stats.peak = _Stats.live


_LIVE: dict = {}  # id(full array) -> handle, for the pack hook to recognize views of it


class _Info:
    """Where one original parameter lives: its module, name, shape and span of the flat
    buffer."""

    __slots__ = ("module", "name", "fqn", "shape", "numel", "offset", "requires_grad")

    def __init__(self, module: Any, name: str, fqn: str, p: Tensor, offset: int) -> None:
        self.module, self.name, self.fqn = module, name, fqn
        self.shape = tuple(p.shape)
        self.numel = int(p._data.size)
        self.offset = offset
        self.requires_grad = p.requires_grad


class _Unflatten(Function):
    """The full flat parameter to the original parameters' views, as one graph node whose
    backward writes their gradients into one flat (padded) gradient."""

    @staticmethod
    def forward(ctx: FunctionCtx, flat: Tensor, handle: "_FlatParamHandle") -> tuple:
        ctx.handle = handle
        ctx.set_materialize_grads(False)
        return tuple(Tensor._wrap(v) for v in handle.views(flat._data))

    @staticmethod
    def backward(ctx: FunctionCtx, *grads: Any) -> tuple:
        handle = ctx.handle
        flat = np.zeros(handle.padded_numel, handle.dtype)
        for info, g in zip(handle.infos, grads):
            if g is not None:
                flat[info.offset:info.offset + info.numel] = g._data.reshape(-1)
        return Tensor._wrap(flat), None


class _FlatParamHandle:
    """Owns one unit's ``FlatParameter`` and the full buffer gathered from the shards."""

    def __init__(self, infos: list, params: list, group: Any, strategy: ShardingStrategy,
                 attach_to: Any) -> None:
        self.infos = infos
        self.group = group
        self.strategy = strategy
        self.world = group.size()
        self.rank = group.rank()
        self.dtype = params[0]._data.dtype
        total = sum(i.numel for i in infos)
        self.numel = total
        if strategy is ShardingStrategy.NO_SHARD:
            self.padded_numel = self.shard_numel = total
        else:
            self.shard_numel = -(-total // self.world)
            self.padded_numel = self.shard_numel * self.world
        full = np.zeros(self.padded_numel, self.dtype)
        for info, p in zip(infos, params):
            full[info.offset:info.offset + info.numel] = p._data.reshape(-1)
        start = self.rank * self.shard_numel if strategy is not ShardingStrategy.NO_SHARD else 0
        shard = full[start:start + self.shard_numel].copy()
        self.flat_param = FlatParameter(Tensor._wrap(shard), requires_grad=infos[0].requires_grad)
        self.flat_param._fqns = tuple(i.fqn for i in infos)
        self.flat_param._shapes = tuple(i.shape for i in infos)
        self.flat_param._numels = tuple(i.numel for i in infos)
        self.flat_param._unpadded_unsharded_size = total
        self.flat_param._padded_unsharded_size = self.padded_numel
        self.flat_param._sharded_size = self.shard_numel
        self.attach_to = attach_to
        self.full: Optional[np.ndarray] = None
        self.unsharded_grad: Optional[np.ndarray] = None  # accumulated under no_sync
        self.sync_grads = True

    @property
    def keeps_full(self) -> bool:
        """Whether the full buffer outlives the forward (saved tensors may keep it)."""
        return self.strategy is not ShardingStrategy.FULL_SHARD

    def views(self, full: np.ndarray) -> list:
        return [full[i.offset:i.offset + i.numel].reshape(i.shape) for i in self.infos]

    # ---- gather and free ----

    def unshard(self) -> np.ndarray:
        """The full flat buffer, all-gathered from the shards unless already held."""
        if self.strategy is ShardingStrategy.NO_SHARD:
            return self.flat_param._data
        if self.full is None:
            full = np.empty(self.padded_numel, self.dtype)
            c10d.all_gather_into_tensor(Tensor._wrap(full),
                                        Tensor._wrap(np.ascontiguousarray(self.flat_param._data)),
                                        group=self.group)
            _Stats.add(full)
            self.full = full
            _LIVE[id(full)] = self
        return self.full

    def reshard(self) -> None:
        """Drop the full buffer: its memory goes once nothing else holds it (saved tensors
        hold a ``_SavedView`` instead while the pack hook is on)."""
        if self.full is not None:
            _LIVE.pop(id(self.full), None)
            self.full = None

    def writeback(self, full: np.ndarray) -> None:
        """Copy this process's part of a (modified) full buffer back into the shard."""
        if self.strategy is ShardingStrategy.NO_SHARD:
            return
        start = self.rank * self.shard_numel
        self.flat_param._data[...] = full[start:start + self.shard_numel]
        self.flat_param._version_box[0] += 1

    # ---- forward ----

    def use_full_params(self, with_grad: bool) -> list:
        """Gather and give each original module attribute a view of the full buffer; with
        ``with_grad``, the views come from one recorded node whose leaf collects the flat
        gradient and reduce-scatters it when backward has accumulated it."""
        full = self.unshard()
        if with_grad and self.flat_param.requires_grad:
            leaf = Tensor._wrap(full)
            leaf.requires_grad_(True)
            leaf.register_post_accumulate_grad_hook(self._on_grad)
            views = list(_Unflatten.apply(leaf, self))
        else:
            leaf = None
            views = [Tensor._wrap(v) for v in self.views(full)]
        for info, v in zip(self.infos, views):
            info.module.__dict__[info.name] = v
        return [leaf]

    def drop_views(self, leaves: list) -> None:
        """After the unit's forward: the module attributes go, and with FULL_SHARD the full
        buffer too (the graph's leaf keeps no data; saved tensors are packed)."""
        for info in self.infos:
            info.module.__dict__.pop(info.name, None)
        if not self.keeps_full:
            for leaf in leaves:
                if leaf is not None:
                    leaf._data = _EMPTY
            self.reshard()

    # ---- backward ----

    def _on_grad(self, leaf: Tensor) -> None:
        g = leaf.grad._data.reshape(-1)
        leaf.grad = None
        leaf._data = _EMPTY
        if not self.sync_grads:  # no_sync: keep the local full gradient for later
            if self.unsharded_grad is None:
                self.unsharded_grad = g.copy()
            else:
                self.unsharded_grad += g
        else:
            if self.unsharded_grad is not None:
                g = g + self.unsharded_grad
                self.unsharded_grad = None
            self._reduce(np.ascontiguousarray(g))
        if self.strategy is not ShardingStrategy.NO_SHARD:
            self.reshard()

    def _reduce(self, g: np.ndarray) -> None:
        avg = c10d.ReduceOp.AVG
        if self.strategy is ShardingStrategy.NO_SHARD:
            out = g.copy()
            c10d.all_reduce(Tensor._wrap(out), avg, group=self.group)
        else:
            out = np.empty(self.shard_numel, self.dtype)
            c10d.reduce_scatter_tensor(Tensor._wrap(out), Tensor._wrap(g), avg,
                                       group=self.group)
        p = self.flat_param
        if p.grad is None:
            p.grad = Tensor._wrap(out)
        else:
            p.grad._data += out
            p.grad._version_box[0] += 1


class _SavedView:
    """What autograd keeps for a saved tensor that is a view of a full flat buffer: where
    in the buffer, so backward can gather the buffer again instead of the forward's copy
    staying alive in between."""

    __slots__ = ("handle", "offset", "shape", "strides", "dtype")

    def __init__(self, handle: _FlatParamHandle, data: np.ndarray, full: np.ndarray) -> None:
        self.handle = handle
        self.offset = data.__array_interface__["data"][0] - full.__array_interface__["data"][0]
        self.shape, self.strides, self.dtype = data.shape, data.strides, data.dtype


class _Outer:
    """A pack result of the saved-tensor hooks active outside FSDP's (they still apply)."""

    __slots__ = ("unpack", "packed")

    def __init__(self, unpack: Any, packed: Any) -> None:
        self.unpack, self.packed = unpack, packed


class saved_views:  # noqa: N801  a context manager, used like one
    """Within a unit's forward: saved views of FULL_SHARD buffers become ``_SavedView``s;
    other tensors go to the saved-tensor hooks that were active outside, if any."""

    def __enter__(self) -> "saved_views":
        self.outer = SAVED_TENSOR_HOOKS[-1] if SAVED_TENSOR_HOOKS else None
        SAVED_TENSOR_HOOKS.append((self._pack, self._unpack))
        return self

    def __exit__(self, *exc: Any) -> None:
        SAVED_TENSOR_HOOKS.pop()

    def _pack(self, t: Tensor) -> Any:
        data = t._data
        full = data if data.base is None else data.base
        handle = _LIVE.get(id(full))
        if handle is not None and handle.full is full and not handle.keeps_full:
            return _SavedView(handle, data, full)
        if self.outer is not None:
            return _Outer(self.outer[1], self.outer[0](t))
        return t

    @staticmethod
    def _unpack(obj: Any) -> Tensor:
        if isinstance(obj, _SavedView):
            full = obj.handle.unshard()
            return Tensor._wrap(np.ndarray(obj.shape, obj.dtype, buffer=full, offset=obj.offset,
                                           strides=obj.strides))
        if isinstance(obj, _Outer):
            return obj.unpack(obj.packed)
        return obj
