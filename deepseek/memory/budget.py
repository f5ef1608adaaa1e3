"""Memory budgets: a limit on allocated bytes, saved activations offloaded to disk in LRU order
when it is approached, parameters kept in memory-mapped files, and an out-of-memory error that
names the tensors holding the memory."""

from __future__ import annotations

import gc
import os
import shutil
import tempfile
import weakref
from collections import OrderedDict
from typing import Any, Optional

import numpy as np

from ..autograd.graph import saved_tensors_hooks
from ..backend import allocator as A
from ..tensor import Tensor

__all__ = ["OutOfMemoryError", "set_limit", "get_limit", "limit", "offload_parameters",
           "offload_stats"]

HEADROOM = 0.25  # offload until a quarter of the limit is free for the next ops' buffers
MIN_OFFLOAD_BYTES = 1 << 16  # smaller saved tensors are not worth a file


class OutOfMemoryError(RuntimeError, MemoryError):
    """An allocation did not fit under the memory limit, even after offloading."""


class _Spill:
    """One saved activation: in memory until evicted, then in a memory-mapped file."""

    __slots__ = ("array", "path", "shape", "dtype", "nbytes", "budget", "__weakref__")

    def __init__(self, array: np.ndarray, budget: "_Budget") -> None:
        self.array, self.path, self.budget = array, None, budget
        self.shape, self.dtype, self.nbytes = array.shape, array.dtype, array.nbytes

    def evict(self) -> None:
        budget = self.budget
        self.path = os.path.join(budget.directory(), f"{id(self):x}.bin")
        mm = np.memmap(self.path, dtype=self.dtype, mode="w+", shape=self.shape)
        mm[...] = self.array
        mm.flush()
        del mm
        self.array = None
        budget.offloaded_bytes += self.nbytes
        budget.evictions += 1

    def load(self) -> np.ndarray:
        if self.array is not None:
            return self.array
        self.budget.loads += 1
        return np.array(np.memmap(self.path, dtype=self.dtype, mode="r", shape=self.shape))

    def __del__(self) -> None:
        if self.path is not None:
            try:
                os.remove(self.path)
            except OSError:
                pass


class _Budget:
    """The active limit: its spill directory and the LRU of in-memory saved activations."""

    def __init__(self, nbytes: int) -> None:
        self.limit = int(nbytes)
        self.lru: "OrderedDict[int, weakref.ref]" = OrderedDict()
        self._dir: Optional[str] = None
        self._remove_dir: Optional[weakref.finalize] = None
        self.offloaded_bytes = self.evictions = self.loads = 0
        self.reserve = 0  # the largest growth of allocated bytes seen between two hook calls
        self.mark = A.stat(A.ALLOC)
        A.window_peak(reset=True)

    def directory(self) -> str:
        if self._dir is None:
            self._dir = tempfile.mkdtemp(prefix="deepseek-offload-")
            # removed on close(), when the budget is collected, or at exit, whichever is first
            self._remove_dir = weakref.finalize(self, shutil.rmtree, self._dir, True)
        return self._dir

    def pack(self, t: Tensor) -> Any:
        base = t if t._base is None else t._base
        if (base._requires_grad and base.grad_fn is None) or t._data.nbytes < MIN_OFFLOAD_BYTES:
            return t  # parameters (and views of them) and small tensors stay where they are
        spill = _Spill(t._data, self)
        self.lru[id(spill)] = weakref.ref(spill)
        self.make_room()
        return spill

    def unpack(self, obj: Any) -> Tensor:
        if isinstance(obj, Tensor):
            return obj
        self.lru.pop(id(obj), None)
        # backward's gradients and temporaries grow too: evict what it needs last, first
        self.make_room(0 if obj.array is not None else obj.nbytes)
        return Tensor._wrap(obj.load())

    def make_room(self, incoming: int = 0) -> None:
        """Evict the least recently saved activations until the free part of the limit (after
        ``incoming`` more bytes) covers HEADROOM of it and twice the largest working set seen
        between two saves or loads (an op's temporaries, a vjp's gradients)."""
        grown = A.window_peak() - self.mark
        self.reserve = min(max(self.reserve, grown), self.limit // 2)
        target = self.limit - max(self.limit * HEADROOM, 2 * self.reserve) - incoming
        lru = self.lru
        while lru and A.stat(A.ALLOC) > target:
            spill = lru.popitem(last=False)[1]()
            if spill is not None and spill.array is not None:
                spill.evict()
        self.mark = A.stat(A.ALLOC) + incoming
        A.window_peak(reset=True)

    def close(self) -> None:
        self.lru.clear()
        if self._remove_dir is not None:
            self._remove_dir()
            self._dir = self._remove_dir = None


_ACTIVE: list = [None, None]  # the global budget and its hooks context


def set_limit(nbytes: Optional[int]) -> None:
    """Limit allocated bytes to ``nbytes`` (None or 0: no limit), for the rest of the process.

    Saved activations are offloaded to memory-mapped files (least recently saved first) once
    allocated memory passes three quarters of the limit, and read back when backward needs
    them. An allocation that would pass the limit fails: under :class:`limit` it raises
    :class:`OutOfMemoryError` naming the largest live tensors; after ``set_limit`` NumPy's
    ``MemoryError`` surfaces as is (call :func:`oom_report` for the same list).
    """
    if _ACTIVE[0] is not None:
        _ACTIVE[1].__exit__(None, None, None)
        _ACTIVE[0].close()
        _ACTIVE[0] = _ACTIVE[1] = None
    A.set_hard_limit(nbytes or 0)
    if nbytes:
        budget = _Budget(nbytes)
        hooks = saved_tensors_hooks(budget.pack, budget.unpack)
        hooks.__enter__()
        _ACTIVE[0], _ACTIVE[1] = budget, hooks


def get_limit() -> int:
    """The current limit in bytes (0: none)."""
    return A.stat(A.LIMIT)


class limit:
    """Context manager: :func:`set_limit` inside the block, the previous limit restored after.

    Args:
        nbytes: the limit on allocated bytes.
        offload: offload saved activations to disk when the limit is approached. Default: True.

    Example:
        >>> with ds.memory.limit(1 << 30):
        ...     loss = model(x).sum(); loss.backward()
    """

    def __init__(self, nbytes: int, offload: bool = True) -> None:
        self.nbytes, self.offload = int(nbytes), offload
        self.budget: Optional[_Budget] = None

    def __enter__(self) -> "limit":
        self.previous = A.stat(A.LIMIT)
        A.set_hard_limit(self.nbytes)
        if self.offload:
            self.budget = _Budget(self.nbytes)
            self.hooks = saved_tensors_hooks(self.budget.pack, self.budget.unpack)
            self.hooks.__enter__()
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        A.set_hard_limit(self.previous)
        if self.budget is not None:
            self.hooks.__exit__(None, None, None)
            # spilled activations still referenced by a graph keep their files until freed
            self.budget.lru.clear()
        if exc_type is not None and issubclass(exc_type, MemoryError) \
                and not isinstance(exc, OutOfMemoryError):
            raise OutOfMemoryError(oom_report(str(exc), self.nbytes)) from exc

    @property
    def stats(self) -> dict:
        b = self.budget
        return {} if b is None else {"evictions": b.evictions, "loads": b.loads,
                                     "offloaded_bytes": b.offloaded_bytes}


def offload_stats() -> dict:
    """Evictions, loads and offloaded bytes of the global budget (:func:`set_limit`)."""
    b = _ACTIVE[0]
    return {} if b is None else {"evictions": b.evictions, "loads": b.loads,
                                 "offloaded_bytes": b.offloaded_bytes}


def _root(data: np.ndarray) -> np.ndarray:
    while isinstance(data.base, np.ndarray):
        data = data.base
    return data


def _known_storages() -> dict:
    """id(storage) -> (rank, description, storage) for parameters (by module path from the outermost
    module alive), their gradients and optimizer state, and activations saved for backward."""
    from ..autograd.graph import Node, _Packed
    from ..nn import Module

    names: dict = {}
    optimizers, nodes = [], []
    for obj in gc.get_objects():
        kind = type(obj)
        if issubclass(kind, Module):
            for name, p in obj.named_parameters():
                if len(name) > len(names.get(id(p), ("", None))[0]):
                    names[id(p)] = (name, p)
        elif kind is Node:
            nodes.append(obj)
        elif callable(getattr(kind, "add_param_group", None)) and isinstance(
                getattr(obj, "state", None), dict):
            optimizers.append(obj)
    known: dict = {}

    def note(data: Any, rank: int, text: str) -> None:
        root = _root(data)
        if id(root) not in known or known[id(root)][0] > rank:
            known[id(root)] = (rank, text, root)

    for name, p in names.values():
        note(p._data, 0, f"parameter {name}")
        if p.grad is not None:
            note(p.grad._data, 1, f"gradient of {name}")
    for opt in optimizers:
        for p, state in list(opt.state.items()):
            name = names.get(id(p), ("a parameter", None))[0]
            for key, value in state.items():
                if isinstance(value, Tensor):
                    note(value._data, 2, f"{type(opt).__name__} {key} of {name}")
    for node in nodes:
        saved = node._saved
        items = saved.objects if type(saved) is _Packed else saved or ()
        for t in items:
            data = t._data if isinstance(t, Tensor) else getattr(t, "array", None)
            if data is not None:
                producer = t.grad_fn.op.name if isinstance(t, Tensor) and t.grad_fn else None
                note(data, 3, (f"op {producer}, saved" if producer else "a tensor saved")
                     + f" for {node.name()}")
        out = node._out
        if type(out) is _Packed:
            out = getattr(out.objects[0], "array", None)
        if isinstance(out, np.ndarray):
            note(out, 3, f"op {node.op.name}, its output saved for {node.name()}")
    return known


def _dtype_name(dtype: np.dtype) -> str:
    from ..dtypes import to_dtype

    try:
        return to_dtype(dtype).name
    except (TypeError, ValueError, KeyError):
        return str(dtype)


def largest_tensors(count: int = 10) -> list:
    """(bytes, shape, dtype, producer) of the largest live tensor storages, largest first.

    ``producer`` names a parameter by its module path (``blocks.0.qkv.weight``), a gradient
    or optimizer state by its parameter, a saved activation by the op that made it and the
    backward that needs it, and other tensors by the op that made them.
    """
    known = _known_storages()
    storages: dict = {}
    for obj in gc.get_objects():
        if issubclass(type(obj), Tensor):  # type(), not isinstance: gc holds weak proxies
            base = _root(obj._data)
            if id(base) not in storages or obj.grad_fn is not None:
                storages[id(base)] = (base, obj)
    rows = []
    for key, (base, t) in storages.items():
        if key in known:
            producer = known[key][1]
        elif t.grad_fn is not None:
            producer = f"op {t.grad_fn.op.name}"
        else:
            producer = "leaf tensor" if t._requires_grad else "tensor (no grad)"
        rows.append((int(base.nbytes), tuple(base.shape), t.dtype.name, producer))
    for key, (_, text, base) in known.items():  # saved arrays that no Tensor wraps now
        if key not in storages:
            rows.append((int(base.nbytes), tuple(base.shape), _dtype_name(base.dtype), text))
    rows.sort(key=lambda r: -r[0])
    return rows[:count]


def oom_report(what: str = "", limit_bytes: Optional[int] = None) -> str:
    """The message of :class:`OutOfMemoryError`: what failed and the largest live tensors."""
    saved = A.stat(A.LIMIT)
    A.set_hard_limit(0)  # the report itself allocates
    try:
        rows = largest_tensors()
    finally:
        A.set_hard_limit(saved)
    lim = limit_bytes or saved
    lines = [f"[memory] out of memory: {what}".rstrip(),
             f"allocated {A.stat(A.ALLOC) / 2**20:.1f} MiB of a {lim / 2**20:.1f} MiB limit; "
             "largest live tensors:"]
    for nbytes, shape, dtype, producer in rows:
        lines.append(f"  {nbytes / 2**20:9.2f} MiB  {dtype:<9} {list(shape)}  from {producer}")
    lines.append("Try ds.memory.auto_checkpoint(model) (recompute activations in backward), "
                 "a smaller batch, or a larger limit.")
    return "\n".join(lines)


def offload_parameters(module: Any, directory: Optional[str] = None) -> str:
    """Keep ``module``'s parameters and buffers in memory-mapped files: the OS pages a layer's
    weights in while it runs and may drop them after, so they count against no limit.

    In-place updates (optimizer steps) write through to the files. Returns the directory
    (a new temporary one unless given), removed when the process exits.

    Args:
        module: the module whose parameters to offload.
        directory: where to put the files.
    """
    if directory is None:
        directory = tempfile.mkdtemp(prefix="deepseek-params-")
        weakref.finalize(module, shutil.rmtree, directory, True)
    tensors = list(module.named_parameters()) + list(module.named_buffers())
    for i, (name, t) in enumerate(tensors):
        if t is None or t._data.nbytes == 0:
            continue
        path = os.path.join(directory, f"{i}-{name}.bin")
        mm = np.memmap(path, dtype=t._data.dtype, mode="w+", shape=t._data.shape)
        mm[...] = t._data
        t._data = mm.view(np.ndarray)
    return directory
