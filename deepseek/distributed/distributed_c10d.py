"""Process groups and collectives over MPI (mpi4py), as ``torch.distributed``'s c10d API.

Processes are started by MPI (``python -m deepseek.distributed.run`` or ``mpiexec``), so
``init_process_group`` finds its rank and world size there. Collectives act on a tensor's
storage in place; ``async_op=True`` returns a ``Work`` around MPI's nonblocking request.
"""

from __future__ import annotations

import json
import os
from typing import Any, Callable, Optional, Sequence

import numpy as np

from .._errors import op_error
from .._extras import require
from ..ops import _opdef
from ..futures import Future
from ..tensor import Tensor

__all__ = [
    "Backend", "GroupMember", "P2POp", "ProcessGroup", "ReduceOp", "Work", "all_gather",
    "all_gather_into_tensor", "all_gather_single", "batch_isend_irecv", "get_process_group_ranks",
    "monitored_barrier", "reduce_scatter_single", "all_gather_object", "all_reduce", "all_to_all",
    "all_to_all_single", "barrier", "broadcast", "broadcast_object_list", "destroy_process_group",
    "gather", "gather_object", "get_backend", "get_global_rank", "get_group_rank", "get_rank",
    "get_world_size", "group", "init_process_group", "irecv", "is_available", "is_initialized",
    "is_mpi_available", "is_nccl_available", "is_gloo_available", "isend", "new_group", "recv",
    "reduce", "reduce_scatter", "reduce_scatter_tensor", "scatter", "scatter_object_list", "send",
]

def _mpi() -> Any:
    return require("mpi4py.MPI", "distributed", "deepseek.distributed")


class Backend(str):
    """Backend names. On the CPU every name means MPI: ``gloo`` is accepted so that code
    written for PyTorch's CPU backend runs unchanged."""

    UNDEFINED = "undefined"
    GLOO = "gloo"
    NCCL = "nccl"
    MPI = "mpi"

    def __new__(cls, name: str) -> "Backend":
        if not isinstance(name, str):
            raise ValueError(f"Backend name must be a string, but got: {name!r}")
        value = name.lower()
        if value not in ("gloo", "mpi", "nccl", "cpu:gloo", "cpu:mpi"):
            raise ValueError(f"[init_process_group] unknown backend {name!r}; deepseek's are "
                             "'mpi' and its alias 'gloo'")
        return super().__new__(cls, value)


class ReduceOp:
    """The reduction of ``all_reduce``, ``reduce`` and ``reduce_scatter``."""

    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"
    BAND = "band"
    BOR = "bor"
    BXOR = "bxor"


_REDUCE_OPS = {"sum": "SUM", "avg": "SUM", "product": "PROD", "min": "MIN", "max": "MAX",
               "band": "BAND", "bor": "BOR", "bxor": "BXOR"}
# Reductions MPI can't do in a dtype run in a wider one; bool reduces as uint8.
_BOOL_OPS = {"sum": "MAX", "avg": "MAX", "product": "MIN", "min": "MIN", "max": "MAX",
             "band": "BAND", "bor": "BOR", "bxor": "BXOR"}
_MPI_NATIVE = frozenset(np.dtype(t) for t in (
    np.float32, np.float64, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16,
    np.uint32, np.uint64, np.complex64, np.complex128))


class ProcessGroup:
    """A set of processes that run collectives together (an MPI communicator)."""

    def __init__(self, comm: Any, backend: str) -> None:
        self.comm = comm
        self._backend = backend

    def rank(self) -> int:
        return self.comm.Get_rank()

    def size(self) -> int:
        return self.comm.Get_size()

    def name(self) -> str:
        return self._backend

    def __repr__(self) -> str:
        return f"ProcessGroup(backend={self._backend!r}, rank={self.rank()}, size={self.size()})"


class GroupMember:
    """``GroupMember.WORLD`` (the default group) and ``NON_GROUP_MEMBER``, what ``new_group``
    returns to processes outside the new group."""

    WORLD: Optional[ProcessGroup] = None
    NON_GROUP_MEMBER = object()


class group:  # noqa: N801  torch.distributed.group.WORLD
    WORLD: Optional[ProcessGroup] = None


class Work:
    """A pending collective: ``wait()`` completes it, ``get_future()`` wraps it in a
    ``Future`` whose value is the list of output tensors."""

    def __init__(self, requests: list, finish: Optional[Callable[[], None]] = None,
                 result: Optional[list] = None) -> None:
        self._requests = requests
        self._finish = finish
        self._result = result or []
        self._done = not requests and finish is None

    def wait(self, timeout: Any = None) -> bool:
        if not self._done:
            _mpi().Request.Waitall(self._requests)
            self._done = True
            if self._finish is not None:
                self._finish()
        return True

    def is_completed(self) -> bool:
        if not self._done and self._requests and _mpi().Request.Testall(self._requests):
            self.wait()
        return self._done

    def is_success(self) -> bool:
        return self._done

    def exception(self) -> None:
        return None

    def result(self) -> list:
        self.wait()
        return self._result

    def get_future(self) -> Future:
        return Future(_waiter=self.result)


# ---- the default group ----

def is_available() -> bool:
    """Always True: ``deepseek.distributed`` is part of every build (it needs mpi4py to run)."""
    return True


def is_mpi_available() -> bool:
    try:
        _mpi()
    except ImportError:
        return False
    return True


def is_gloo_available() -> bool:
    """deepseek's ``gloo`` is MPI under PyTorch's CPU name."""
    return is_mpi_available()


def is_nccl_available() -> bool:
    return False


def is_initialized() -> bool:
    return GroupMember.WORLD is not None


def init_process_group(backend: Optional[str] = None, init_method: Optional[str] = None,
                       timeout: Any = None, world_size: int = -1, rank: int = -1,
                       store: Any = None, group_name: str = "", pg_options: Any = None,
                       device_id: Any = None) -> None:
    """Join the default process group: every process MPI started.

    ``world_size`` and ``rank``, when given, must agree with MPI's. ``init_method`` and
    ``store`` are accepted for compatibility; MPI has already met the processes.
    """
    if is_initialized():
        raise ValueError("trying to initialize the default process group twice!")
    name = Backend(backend or "mpi")
    if name == Backend.NCCL:
        raise RuntimeError("[init_process_group] the NCCL backend is not available in deepseek "
                           "yet; use backend='mpi' (with CUDA-aware MPI for GPU tensors)")
    comm = _mpi().COMM_WORLD
    env_size = int(os.environ.get("WORLD_SIZE", comm.Get_size()))
    for what, given, actual in (("world_size", world_size, comm.Get_size()),
                                ("rank", rank, comm.Get_rank()),
                                ("WORLD_SIZE", env_size, comm.Get_size())):
        if given not in (-1, None, actual):
            raise ValueError(
                f"[init_process_group] {what}={given} but MPI started {comm.Get_size()} "
                f"process(es) and this one is rank {comm.Get_rank()}; start the job with "
                f"`python -m deepseek.distributed.run --nproc-per-node N script.py` or mpiexec")
    _set_world(ProcessGroup(comm.Dup(), "mpi"))


def _set_world(world: Optional[ProcessGroup]) -> None:
    GroupMember.WORLD = group.WORLD = world


def destroy_process_group(group: Optional[ProcessGroup] = None) -> None:
    """Leave ``group`` (default: the default group, and with it every group)."""
    if group is None or group is GroupMember.WORLD:
        _world("destroy_process_group").comm.Free()
        _set_world(None)
    elif isinstance(group, ProcessGroup):
        group.comm.Free()


def _world(op: str) -> ProcessGroup:
    world = GroupMember.WORLD
    if world is None:
        raise ValueError(f"[{op}] Default process group has not been initialized, please make "
                         "sure to call init_process_group.")
    return world


def _eager(op: str) -> None:
    """Collectives move data outside the recorded ops, so ds.jit must not bake a graph
    around them (its replay would skip the communication)."""
    tracer = _opdef.TRACER[0]
    if tracer is not None:
        tracer.unsupported(f"ds.distributed.{op}: collectives are not compiled yet; run the "
                           "distributed part of the step eagerly")


def _group(group: Any, op: str) -> Optional[ProcessGroup]:
    """The group to run on; None for a process outside it (the collective is skipped)."""
    if group is None or group is GroupMember.WORLD:
        return _world(op)
    if group is GroupMember.NON_GROUP_MEMBER:
        return None
    if not isinstance(group, ProcessGroup):
        raise TypeError(f"[{op}] group must be a ProcessGroup from new_group, got "
                        f"{type(group).__name__}")
    return group


def new_group(ranks: Optional[Sequence[int]] = None, timeout: Any = None,
              backend: Optional[str] = None, pg_options: Any = None,
              use_local_synchronization: bool = False, group_desc: Optional[str] = None) -> Any:
    """A group of the processes with global ``ranks`` (default: all). Every process of the
    default group must call it; those outside get ``GroupMember.NON_GROUP_MEMBER``."""
    world = _world("new_group")
    size = world.size()
    members = list(range(size)) if ranks is None else sorted(int(r) for r in ranks)
    if len(set(members)) != len(members) or any(not 0 <= r < size for r in members):
        raise ValueError(f"[new_group] ranks must be distinct and in [0, {size - 1}], got "
                         f"{list(ranks)}")
    comm = world.comm.Create_group(world.comm.Get_group().Incl(members))
    if comm == _mpi().COMM_NULL:
        return GroupMember.NON_GROUP_MEMBER
    return ProcessGroup(comm, "mpi")


def get_rank(group: Optional[ProcessGroup] = None) -> int:
    """This process's rank in ``group`` (-1 outside it)."""
    g = _group(group, "get_rank")
    return -1 if g is None else g.rank()


def get_world_size(group: Optional[ProcessGroup] = None) -> int:
    """The number of processes in ``group`` (-1 outside it)."""
    g = _group(group, "get_world_size")
    return -1 if g is None else g.size()


def get_backend(group: Optional[ProcessGroup] = None) -> str:
    g = _group(group, "get_backend")
    if g is None:
        raise ValueError("[get_backend] Invalid process group specified")
    return g.name()


def get_global_rank(group: ProcessGroup, group_rank: int) -> int:
    """The default group's rank of ``group``'s rank ``group_rank``."""
    g = _group(group, "get_global_rank")
    return _translate(g, _world("get_global_rank"), group_rank, "get_global_rank")


def get_group_rank(group: ProcessGroup, global_rank: int) -> int:
    """``group``'s rank of the default group's rank ``global_rank``."""
    g = _group(group, "get_group_rank")
    return _translate(_world("get_group_rank"), g, global_rank, "get_group_rank")


def _translate(source: ProcessGroup, target: ProcessGroup, rank: int, op: str) -> int:
    if not 0 <= rank < source.size():
        raise ValueError(f"[{op}] rank {rank} is not in a group of size {source.size()}")
    out = _mpi().Group.Translate_ranks(source.comm.Get_group(), [rank],
                                       target.comm.Get_group())[0]
    if out < 0:
        raise ValueError(f"[{op}] rank {rank} is not part of the group")
    return out


def _peer(g: ProcessGroup, global_rank: Optional[int], group_rank: Optional[int],
          op: str, what: str) -> int:
    """The group rank of a collective's root or peer, given as a global or group rank."""
    if global_rank is None and group_rank is None:
        raise ValueError(f"[{op}] {what} (or group_{what}) must be given")
    if group_rank is not None:
        if not 0 <= group_rank < g.size():
            raise ValueError(f"[{op}] group_{what}={group_rank} is not in a group of size "
                             f"{g.size()}")
        return group_rank
    if g is GroupMember.WORLD:
        if not 0 <= global_rank < g.size():
            raise ValueError(f"[{op}] {what}={global_rank} is not a rank of a world of size "
                             f"{g.size()}")
        return global_rank
    return _translate(_world(op), g, global_rank, op)


# ---- buffers ----

def _array(t: Any, op: str, what: str = "tensor") -> np.ndarray:
    _eager(op)
    if not isinstance(t, Tensor):
        raise TypeError(f"[{op}] {what} must be a Tensor, got {type(t).__name__}")
    data = t._data
    if not data.flags.c_contiguous:
        raise ValueError(op_error(ValueError, op, "Tensors must be contiguous", t).args[0])
    return data


def _bytes(data: np.ndarray) -> np.ndarray:
    """A byte view of a contiguous array, for collectives that only move data."""
    return data.reshape(-1).view(np.uint8)


def _touch(*tensors: Tensor) -> None:
    for t in tensors:
        t._version_box[0] += 1


def _run(start: Callable, finish: Optional[Callable], async_op: bool,
         outputs: Sequence[Tensor]) -> Optional[Work]:
    """Start a collective, as ``start(nonblocking) -> [requests]``; blocking calls finish
    before returning, asynchronous ones when their ``Work`` is waited on."""
    def done() -> None:
        if finish is not None:
            finish()
        _touch(*outputs)

    if not async_op:
        start(False)
        done()
        return None
    return Work(start(True), done, list(outputs))


def _reduction(data: np.ndarray, op: Any, name: str) -> tuple:
    """``(buffer, mpi_op)`` to reduce ``data`` with ``op`` in its own dtype. ``buffer`` is
    what MPI is handed: ``data`` itself, its uint8 view for bool, or for the float dtypes
    MPI lacks (float16, bfloat16, float8) its bytes with an element type and a reduction
    of our own, so compressed gradients travel compressed."""
    key = getattr(op, "value", op)
    if key not in _REDUCE_OPS:
        raise ValueError(f"[{name}] unknown reduce op {op!r}; use a ds.distributed.ReduceOp")
    MPI = _mpi()
    if data.dtype == np.bool_:
        return data.view(np.uint8), getattr(MPI, _BOOL_OPS[key])
    if data.dtype in _MPI_NATIVE:
        return data, getattr(MPI, _REDUCE_OPS[key])
    if data.dtype.kind in "fV" and key in _UFUNCS:
        element, mpi_op = _user_op(data.dtype, key)
        return [_bytes(data), data.size, element], mpi_op
    raise TypeError(op_error(TypeError, name, f"can't reduce dtype {data.dtype} with {key}",
                             data).args[0])


_UFUNCS = {"sum": np.add, "avg": np.add, "product": np.multiply, "min": np.minimum,
           "max": np.maximum}
_USER_OPS: dict = {}


def _user_op(dtype: np.dtype, key: str) -> tuple:
    """An MPI element type for ``dtype`` and the reduction ``key`` on it, made once."""
    if (dtype, key) not in _USER_OPS:
        MPI = _mpi()
        ufunc = _UFUNCS[key]

        def reduce(inbuf: Any, inoutbuf: Any, datatype: Any) -> None:
            ufunc(np.frombuffer(inbuf, dtype), np.frombuffer(inoutbuf, dtype),
                  out=np.frombuffer(inoutbuf, dtype))

        element = MPI.BYTE.Create_contiguous(dtype.itemsize).Commit()
        _USER_OPS[dtype, key] = element, MPI.Op.Create(reduce, commute=True)
    return _USER_OPS[dtype, key]


def _average(data: np.ndarray, op: Any, count: int) -> None:
    if getattr(op, "value", op) == "avg" and data.dtype != np.bool_:
        np.divide(data, count, out=data, casting="unsafe")


# ---- collectives ----

def barrier(group: Optional[ProcessGroup] = None, async_op: bool = False,
            device_ids: Any = None) -> Optional[Work]:
    """Block until every process of ``group`` has reached this call."""
    _eager("barrier")
    g = _group(group, "barrier")
    if g is None:
        return None
    return _run(lambda nb: [g.comm.Ibarrier()] if nb else g.comm.Barrier(), None, async_op, ())


def broadcast(tensor: Tensor, src: Optional[int] = None, group: Optional[ProcessGroup] = None,
              async_op: bool = False, group_src: Optional[int] = None) -> Optional[Work]:
    """Copy ``tensor`` of process ``src`` into ``tensor`` of every process of ``group``."""
    data = _array(tensor, "broadcast")
    g = _group(group, "broadcast")
    if g is None:
        return None
    root = _peer(g, src, group_src, "broadcast", "src")
    buf = _bytes(data)
    return _run(lambda nb: [g.comm.Ibcast(buf, root)] if nb else g.comm.Bcast(buf, root),
                None, async_op, (tensor,))


def _all_reduce_array(data: np.ndarray, op: Any, g: ProcessGroup) -> None:
    """Reduce a contiguous array in place over ``g`` (the all_reduce op's kernel, which
    ds.jit may call: no tracing check here)."""
    buf, mpi_op = _reduction(data, op, "all_reduce")
    g.comm.Allreduce(_mpi().IN_PLACE, buf, mpi_op)
    _average(data, op, g.size())


def _all_gather_array(data: np.ndarray, g: ProcessGroup) -> np.ndarray:
    """Every process's ``data``, stacked along a new first dim (a kernel, like the above)."""
    out = np.empty((g.size(),) + data.shape, data.dtype)
    g.comm.Allgather(_bytes(np.ascontiguousarray(data)), _bytes(out))
    return out


def _reduce_scatter_array(stacked: np.ndarray, g: ProcessGroup) -> np.ndarray:
    """``stacked`` (one row per process) summed over the processes: this process's row."""
    stacked = np.ascontiguousarray(stacked)
    out = np.empty(stacked.shape[1:], stacked.dtype)
    send, mpi_op = _reduction(stacked, "sum", "reduce_scatter")
    recv, _ = _reduction(out, "sum", "reduce_scatter")
    g.comm.Reduce_scatter_block(send, recv, mpi_op)
    return out


def all_reduce(tensor: Tensor, op: Any = ReduceOp.SUM, group: Optional[ProcessGroup] = None,
               async_op: bool = False) -> Optional[Work]:
    """Reduce ``tensor`` over every process of ``group``, leaving the result in each."""
    data = _array(tensor, "all_reduce")
    g = _group(group, "all_reduce")
    if g is None:
        return None
    buf, mpi_op = _reduction(data, op, "all_reduce")
    IN_PLACE = _mpi().IN_PLACE

    def start(nb: bool) -> Any:
        if nb:
            return [g.comm.Iallreduce(IN_PLACE, buf, mpi_op)]
        g.comm.Allreduce(IN_PLACE, buf, mpi_op)

    return _run(start, lambda: _average(data, op, g.size()), async_op, (tensor,))


def reduce(tensor: Tensor, dst: Optional[int] = None, op: Any = ReduceOp.SUM,
           group: Optional[ProcessGroup] = None, async_op: bool = False,
           group_dst: Optional[int] = None) -> Optional[Work]:
    """Reduce ``tensor`` over ``group`` into ``tensor`` of process ``dst``."""
    data = _array(tensor, "reduce")
    g = _group(group, "reduce")
    if g is None:
        return None
    root = _peer(g, dst, group_dst, "reduce", "dst")
    buf, mpi_op = _reduction(data, op, "reduce")
    mine = g.rank() == root
    send = _mpi().IN_PLACE if mine else buf

    def start(nb: bool) -> Any:
        if nb:
            return [g.comm.Ireduce(send, buf if mine else None, mpi_op, root)]
        g.comm.Reduce(send, buf if mine else None, mpi_op, root)

    return _run(start, (lambda: _average(data, op, g.size())) if mine else None, async_op,
                (tensor,) if mine else ())


def _same_shapes(op: str, outputs: Sequence[Tensor], like: Tensor, count: int) -> None:
    if len(outputs) != count:
        raise ValueError(f"[{op}] expected a list of {count} tensors (the group size), got "
                         f"{len(outputs)}")
    for t in outputs:
        _array(t, op, "each output")
        if t.shape != like.shape or t.dtype != like.dtype:
            raise op_error(ValueError, op, "every tensor in the list must have the input's "
                           "shape and dtype", t, like)


def all_gather_into_tensor(output_tensor: Tensor, input_tensor: Tensor,
                           group: Optional[ProcessGroup] = None,
                           async_op: bool = False) -> Optional[Work]:
    """Gather ``input_tensor`` of every process, in rank order, into ``output_tensor``
    (``world_size`` times as many elements: concatenated or stacked along dim 0)."""
    src, out = _array(input_tensor, "all_gather_into_tensor"), _array(
        output_tensor, "all_gather_into_tensor", "output_tensor")
    g = _group(group, "all_gather_into_tensor")
    if g is None:
        return None
    if out.size != src.size * g.size() or out.dtype != src.dtype:
        raise op_error(ValueError, "all_gather_into_tensor", f"output_tensor must hold "
                       f"world_size ({g.size()}) times the input's elements, in its dtype",
                       output_tensor, input_tensor)
    send, recv = _bytes(src), _bytes(out)
    return _run(lambda nb: [g.comm.Iallgather(send, recv)] if nb else g.comm.Allgather(
        send, recv), None, async_op, (output_tensor,))


def all_gather(tensor_list: list, tensor: Tensor, group: Optional[ProcessGroup] = None,
               async_op: bool = False) -> Optional[Work]:
    """Gather ``tensor`` of every process into ``tensor_list`` (one per rank, in order)."""
    data = _array(tensor, "all_gather")
    g = _group(group, "all_gather")
    if g is None:
        return None
    _same_shapes("all_gather", tensor_list, tensor, g.size())
    flat = np.empty(g.size() * data.nbytes, np.uint8)
    send = _bytes(data)

    def finish() -> None:
        for i, t in enumerate(tensor_list):
            _bytes(t._data)[...] = flat[i * data.nbytes:(i + 1) * data.nbytes]

    return _run(lambda nb: [g.comm.Iallgather(send, flat)] if nb else g.comm.Allgather(
        send, flat), finish, async_op, tensor_list)


def gather(tensor: Tensor, gather_list: Optional[list] = None, dst: Optional[int] = None,
           group: Optional[ProcessGroup] = None, async_op: bool = False,
           group_dst: Optional[int] = None) -> Optional[Work]:
    """Gather ``tensor`` of every process into ``gather_list`` of process ``dst``."""
    data = _array(tensor, "gather")
    g = _group(group, "gather")
    if g is None:
        return None
    root = _peer(g, 0 if dst is None and group_dst is None else dst, group_dst, "gather", "dst")
    mine = g.rank() == root
    if mine:
        _same_shapes("gather", gather_list or [], tensor, g.size())
    elif gather_list:
        raise ValueError("[gather] Argument ``gather_list`` must NOT be specified on non-"
                         "destination ranks.")
    flat = np.empty(g.size() * data.nbytes, np.uint8) if mine else None
    send = _bytes(data)

    def finish() -> None:
        for i, t in enumerate(gather_list):
            _bytes(t._data)[...] = flat[i * data.nbytes:(i + 1) * data.nbytes]

    return _run(lambda nb: [g.comm.Igather(send, flat, root)] if nb else g.comm.Gather(
        send, flat, root), finish if mine else None, async_op, gather_list if mine else ())


def scatter(tensor: Tensor, scatter_list: Optional[list] = None, src: Optional[int] = None,
            group: Optional[ProcessGroup] = None, async_op: bool = False,
            group_src: Optional[int] = None) -> Optional[Work]:
    """Copy ``scatter_list[i]`` of process ``src`` into ``tensor`` of the process of rank i."""
    data = _array(tensor, "scatter")
    g = _group(group, "scatter")
    if g is None:
        return None
    root = _peer(g, 0 if src is None and group_src is None else src, group_src, "scatter",
                 "src")
    mine = g.rank() == root
    if mine:
        _same_shapes("scatter", scatter_list or [], tensor, g.size())
        flat = np.concatenate([_bytes(t._data) for t in scatter_list])
    elif scatter_list:
        raise ValueError("[scatter] Argument ``scatter_list`` must NOT be specified on non-"
                         "source ranks.")
    else:
        flat = None
    recv = _bytes(data)
    return _run(lambda nb: [g.comm.Iscatter(flat, recv, root)] if nb else g.comm.Scatter(
        flat, recv, root), None, async_op, (tensor,))


def reduce_scatter_tensor(output: Tensor, input: Tensor, op: Any = ReduceOp.SUM,
                          group: Optional[ProcessGroup] = None,
                          async_op: bool = False) -> Optional[Work]:
    """Reduce ``input`` over ``group`` and leave rank i's equal share (the i-th block of
    dim 0, or of the flat elements) in ``output``."""
    src, out = _array(input, "reduce_scatter_tensor", "input"), _array(
        output, "reduce_scatter_tensor", "output")
    g = _group(group, "reduce_scatter_tensor")
    if g is None:
        return None
    if src.size != out.size * g.size() or src.dtype != out.dtype:
        raise op_error(ValueError, "reduce_scatter_tensor", f"input must hold world_size "
                       f"({g.size()}) times the output's elements, in its dtype", output, input)
    send, mpi_op = _reduction(src, op, "reduce_scatter_tensor")  # src itself is not written
    recv, _ = _reduction(out, op, "reduce_scatter_tensor")

    def start(nb: bool) -> Any:
        if nb:
            return [g.comm.Ireduce_scatter_block(send, recv, mpi_op)]
        g.comm.Reduce_scatter_block(send, recv, mpi_op)

    return _run(start, lambda: _average(out, op, g.size()), async_op, (output,))


def reduce_scatter(output: Tensor, input_list: list, op: Any = ReduceOp.SUM,
                   group: Optional[ProcessGroup] = None, async_op: bool = False) -> Optional[Work]:
    """Reduce ``input_list[i]`` over ``group`` into ``output`` of the process of rank i."""
    g = _group(group, "reduce_scatter")
    if g is None:
        return None
    _same_shapes("reduce_scatter", input_list, output, g.size())
    stacked = Tensor._wrap(np.concatenate([t._data.reshape(-1) for t in input_list]))
    return reduce_scatter_tensor(output, stacked, op, group, async_op)


def all_to_all_single(output: Tensor, input: Tensor,
                      output_split_sizes: Optional[Sequence[int]] = None,
                      input_split_sizes: Optional[Sequence[int]] = None,
                      group: Optional[ProcessGroup] = None,
                      async_op: bool = False) -> Optional[Work]:
    """Split ``input`` along dim 0, send part i to rank i, and concatenate what arrives, in
    rank order, into ``output`` (equal parts unless split sizes are given)."""
    src = _array(input, "all_to_all_single", "input")
    out = _array(output, "all_to_all_single", "output")
    g = _group(group, "all_to_all_single")
    if g is None:
        return None
    size = g.size()
    row_in = src[0].nbytes if src.ndim and src.shape[0] else 0
    row_out = out[0].nbytes if out.ndim and out.shape[0] else 0

    def counts(splits: Optional[Sequence[int]], rows: int, row: int, what: str) -> list:
        if splits is None:
            if rows % size:
                raise op_error(ValueError, "all_to_all_single", f"dim 0 of {what} ({rows}) "
                               f"must divide by the group size {size}", src, out)
            splits = [rows // size] * size
        if len(splits) != size or sum(splits) != rows:
            raise ValueError(f"[all_to_all_single] {what}_split_sizes {list(splits)} must have "
                             f"{size} entries summing to dim 0 ({rows})")
        return [int(s) * row for s in splits]

    send_counts = counts(input_split_sizes, src.shape[0] if src.ndim else 0, row_in, "input")
    recv_counts = counts(output_split_sizes, out.shape[0] if out.ndim else 0, row_out, "output")
    send = [_bytes(src), (send_counts, list(np.cumsum([0] + send_counts[:-1])))]
    recv = [_bytes(out), (recv_counts, list(np.cumsum([0] + recv_counts[:-1])))]
    return _run(lambda nb: [g.comm.Ialltoallv(send, recv)] if nb else g.comm.Alltoallv(
        send, recv), None, async_op, (output,))


def all_to_all(output_tensor_list: list, input_tensor_list: list,
               group: Optional[ProcessGroup] = None, async_op: bool = False) -> Optional[Work]:
    """Send ``input_tensor_list[i]`` to rank i and receive rank i's into
    ``output_tensor_list[i]``."""
    g = _group(group, "all_to_all")
    if g is None:
        return None
    for what, tensors in (("input", input_tensor_list), ("output", output_tensor_list)):
        if len(tensors) != g.size():
            raise ValueError(f"[all_to_all] expected {g.size()} {what} tensors (the group "
                             f"size), got {len(tensors)}")
    send = np.concatenate([_bytes(_array(t, "all_to_all", "input")) for t in input_tensor_list])
    recv = np.empty(sum(_array(t, "all_to_all", "output").nbytes for t in output_tensor_list),
                    np.uint8)
    send_counts = [t._data.nbytes for t in input_tensor_list]
    recv_counts = [t._data.nbytes for t in output_tensor_list]
    recv_offsets = list(np.cumsum([0] + recv_counts[:-1]))
    sendspec = [send, (send_counts, list(np.cumsum([0] + send_counts[:-1])))]
    recvspec = [recv, (recv_counts, recv_offsets)]

    def finish() -> None:
        for t, start, n in zip(output_tensor_list, recv_offsets, recv_counts):
            _bytes(t._data)[...] = recv[start:start + n]

    return _run(lambda nb: [g.comm.Ialltoallv(sendspec, recvspec)] if nb else g.comm.Alltoallv(
        sendspec, recvspec), finish, async_op, output_tensor_list)


# ---- point to point ----

def isend(tensor: Tensor, dst: Optional[int] = None, group: Optional[ProcessGroup] = None,
          tag: int = 0, group_dst: Optional[int] = None) -> Optional[Work]:
    """Start sending ``tensor`` to process ``dst``; wait on the returned ``Work``."""
    data = _array(tensor, "isend")
    g = _group(group, "isend")
    if g is None:
        return None
    peer = _peer(g, dst, group_dst, "isend", "dst")
    return Work([g.comm.Isend(_bytes(data), peer, tag)])


def irecv(tensor: Tensor, src: Optional[int] = None, group: Optional[ProcessGroup] = None,
          tag: int = 0, group_src: Optional[int] = None) -> Optional[Work]:
    """Start receiving into ``tensor`` from process ``src`` (any process when None)."""
    data = _array(tensor, "irecv")
    g = _group(group, "irecv")
    if g is None:
        return None
    peer = _mpi().ANY_SOURCE if src is None and group_src is None else _peer(
        g, src, group_src, "irecv", "src")
    return Work([g.comm.Irecv(_bytes(data), peer, tag)], lambda: _touch(tensor), [tensor])


def send(tensor: Tensor, dst: Optional[int] = None, group: Optional[ProcessGroup] = None,
         tag: int = 0, group_dst: Optional[int] = None) -> None:
    """Send ``tensor`` to process ``dst``."""
    work = isend(tensor, dst, group, tag, group_dst)
    if work is not None:
        work.wait()


def recv(tensor: Tensor, src: Optional[int] = None, group: Optional[ProcessGroup] = None,
         tag: int = 0, group_src: Optional[int] = None) -> int:
    """Receive into ``tensor`` from process ``src`` (any when None); returns the sender's
    rank in the default group."""
    data = _array(tensor, "recv")
    g = _group(group, "recv")
    if g is None:
        return -1
    MPI = _mpi()
    peer = MPI.ANY_SOURCE if src is None and group_src is None else _peer(
        g, src, group_src, "recv", "src")
    status = MPI.Status()
    g.comm.Recv(_bytes(data), peer, tag, status)
    _touch(tensor)
    sender = status.Get_source()
    return sender if g is GroupMember.WORLD else _translate(g, _world("recv"), sender, "recv")


# ---- Python objects (JSON, never pickle) ----

def _encode(obj: Any, op: str) -> bytes:
    try:
        return json.dumps(obj).encode()
    except (TypeError, ValueError) as e:
        raise TypeError(f"[{op}] objects travel as JSON in deepseek (nothing is unpickled), and "
                        f"this one can't: {e}") from e


def broadcast_object_list(object_list: list, src: Optional[int] = None,
                          group: Optional[ProcessGroup] = None, device: Any = None,
                          group_src: Optional[int] = None) -> None:
    """Replace ``object_list``'s items with those of process ``src`` (JSON-serializable
    objects)."""
    _eager("broadcast_object_list")
    g = _group(group, "broadcast_object_list")
    if g is None:
        return
    root = _peer(g, 0 if src is None and group_src is None else src, group_src,
                 "broadcast_object_list", "src")
    payload = _encode(object_list, "broadcast_object_list") if g.rank() == root else None
    object_list[:] = json.loads(g.comm.bcast(payload, root))


def all_gather_object(object_list: list, obj: Any, group: Optional[ProcessGroup] = None) -> None:
    """Fill ``object_list`` (of group size) with ``obj`` of every process, in rank order."""
    _eager("all_gather_object")
    g = _group(group, "all_gather_object")
    if g is None:
        return
    if len(object_list) != g.size():
        raise ValueError(f"[all_gather_object] object_list must have {g.size()} entries (the "
                         f"group size), got {len(object_list)}")
    object_list[:] = [json.loads(p) for p in g.comm.allgather(_encode(obj, "all_gather_object"))]


def gather_object(obj: Any, object_gather_list: Optional[list] = None, dst: Optional[int] = None,
                  group: Optional[ProcessGroup] = None, group_dst: Optional[int] = None) -> None:
    """Gather ``obj`` of every process into ``object_gather_list`` of process ``dst``."""
    _eager("gather_object")
    g = _group(group, "gather_object")
    if g is None:
        return
    root = _peer(g, 0 if dst is None and group_dst is None else dst, group_dst,
                 "gather_object", "dst")
    payloads = g.comm.gather(_encode(obj, "gather_object"), root)
    if g.rank() == root:
        if object_gather_list is None or len(object_gather_list) != g.size():
            raise ValueError(f"[gather_object] object_gather_list must have {g.size()} "
                             "entries on the destination rank")
        object_gather_list[:] = [json.loads(p) for p in payloads]


def scatter_object_list(scatter_object_output_list: list, scatter_object_input_list: Any = None,
                        src: Optional[int] = None, group: Optional[ProcessGroup] = None,
                        group_src: Optional[int] = None) -> None:
    """Put item i of ``scatter_object_input_list`` of process ``src`` into
    ``scatter_object_output_list[0]`` of the process of rank i."""
    _eager("scatter_object_list")
    g = _group(group, "scatter_object_list")
    if g is None:
        return
    root = _peer(g, 0 if src is None and group_src is None else src, group_src,
                 "scatter_object_list", "src")
    payloads = None
    if g.rank() == root:
        if scatter_object_input_list is None or len(scatter_object_input_list) != g.size():
            raise ValueError(f"[scatter_object_list] scatter_object_input_list must have "
                             f"{g.size()} entries on the source rank")
        payloads = [_encode(o, "scatter_object_list") for o in scatter_object_input_list]
    if not scatter_object_output_list:
        raise ValueError("[scatter_object_list] scatter_object_output_list must have at least "
                         "one entry")
    scatter_object_output_list[0] = json.loads(g.comm.scatter(payloads, root))


all_gather_single = all_gather_into_tensor  # torch 2.13's name for all_gather_into_tensor
reduce_scatter_single = reduce_scatter_tensor


def monitored_barrier(group: Optional[ProcessGroup] = None, timeout: Any = None,
                      wait_all_ranks: bool = False) -> None:
    """``barrier`` (MPI reports a process that dies, so there is nothing more to monitor)."""
    barrier(group)


def get_process_group_ranks(group: Optional[ProcessGroup]) -> list:
    """The default group's ranks of ``group``'s processes, in group rank order."""
    g = _group(group, "get_process_group_ranks")
    return [_translate(g, _world("get_process_group_ranks"), r, "get_process_group_ranks")
            for r in range(g.size())]


class P2POp:
    """One send or receive for ``batch_isend_irecv``: ``op`` is ``isend`` or ``irecv``."""

    def __init__(self, op: Callable, tensor: Tensor, peer: Optional[int] = None,
                 group: Optional[ProcessGroup] = None, tag: int = 0,
                 group_peer: Optional[int] = None) -> None:
        if op not in (isend, irecv):
            raise ValueError("[P2POp] op must be ds.distributed.isend or ds.distributed.irecv, "
                             f"got {op!r}")
        self.op, self.tensor, self.peer, self.group, self.tag = op, tensor, peer, group, tag
        self.group_peer = group_peer


def batch_isend_irecv(p2p_op_list: list) -> list:
    """Start every send and receive of ``p2p_op_list``; returns their ``Work``s."""
    if not all(isinstance(p, P2POp) for p in p2p_op_list):
        raise TypeError("[batch_isend_irecv] expected a list of P2POp")
    return [p.op(p.tensor, p.peer, p.group, p.tag, p.group_peer) for p in p2p_op_list]
