"""``deepseek.distributed.tensor``: placements and tensor parallelism, as
``torch.distributed.tensor``.

DTensor itself is absent: tensor-parallel modules hold their local shards as plain
Parameters and exchange plain tensors (torch's ``use_local_output=True``). ``Shard``,
``Replicate`` and ``Partial`` name layouts for the parallel styles' ``input_layouts`` and
``output_layouts``.
"""

from ..device_mesh import DeviceMesh, init_device_mesh
from . import parallel
from .placement_types import Partial, Placement, Replicate, Shard

__all__ = ["DeviceMesh", "Partial", "Placement", "Replicate", "Shard", "init_device_mesh",
           "parallel"]
