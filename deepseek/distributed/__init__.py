"""``deepseek.distributed``: process groups and collectives on MPI, as ``torch.distributed``.

Start a job with ``python -m deepseek.distributed.run --nproc-per-node N script.py`` (or
``mpiexec -n N python script.py``); each process calls ``init_process_group()``.
"""

from .distributed_c10d import (  # noqa: F401
    Backend, GroupMember, P2POp, ProcessGroup, ReduceOp, Work, all_gather, all_gather_into_tensor,
    all_gather_single, batch_isend_irecv, get_process_group_ranks, monitored_barrier,
    reduce_scatter_single,
    all_gather_object, all_reduce, all_to_all, all_to_all_single, barrier, broadcast,
    broadcast_object_list, destroy_process_group, gather, gather_object, get_backend,
    get_global_rank, get_group_rank, get_rank, get_world_size, group, init_process_group, irecv,
    is_available, is_gloo_available, is_initialized, is_mpi_available, is_nccl_available, isend,
    new_group, recv, reduce, reduce_scatter, reduce_scatter_tensor, scatter, scatter_object_list,
    send,
)
from .distributed_c10d import __all__ as _c10d_all
from ..nn.modules.distributed import GradBucket  # noqa: F401
from .parameter_server import ParameterServer  # noqa: F401
from .device_mesh import DeviceMesh, init_device_mesh  # noqa: F401
from . import algorithms, checkpoint, device_mesh, fsdp, nn, pipelining, tensor  # noqa: F401

__all__ = _c10d_all + ["DeviceMesh", "GradBucket", "ParameterServer", "algorithms", "checkpoint",
                       "device_mesh", "fsdp", "init_device_mesh", "nn", "pipelining", "tensor"]
