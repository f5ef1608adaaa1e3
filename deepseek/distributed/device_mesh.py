"""``DeviceMesh``: the processes of a job laid out as an n-dimensional array, one process group
per line along each dimension, as ``torch.distributed.device_mesh``."""

from __future__ import annotations

import math
from typing import Any, Optional, Sequence, Union

import numpy as np

from . import distributed_c10d as c10d

__all__ = ["DeviceMesh", "init_device_mesh"]


class DeviceMesh:
    """Processes arranged as an array of global ranks, with a process group for every line of
    the array along each dimension (for a 1-D mesh, one group of all its processes).

    Every process of the default group must build the same mesh together, as groups are
    created collectively; each keeps the groups it belongs to.

    Args:
        device_type (str): ``"cpu"`` (or ``"cuda"``); collectives run on MPI either way.
        mesh: the global ranks, a nested sequence, array or tensor of ints.
        mesh_dim_names (tuple of str, optional): a name for each dimension.

    Example::

        >>> mesh = DeviceMesh("cpu", [0, 1], mesh_dim_names=("tp",))  # doctest: +SKIP
        >>> mesh.size(), mesh.get_local_rank()  # doctest: +SKIP
        (2, 0)
    """

    def __init__(self, device_type: str, mesh: Any, *,
                 mesh_dim_names: Optional[Sequence[str]] = None, _groups: Any = None) -> None:
        ranks = np.asarray(mesh.numpy() if hasattr(mesh, "numpy") else mesh, dtype=np.int64)
        if ranks.ndim == 0:
            ranks = ranks.reshape(1)
        self.device_type = str(device_type)
        self._ranks = ranks
        self.mesh_dim_names = None if mesh_dim_names is None else tuple(mesh_dim_names)
        if self.mesh_dim_names is not None:
            if len(self.mesh_dim_names) != ranks.ndim:
                raise RuntimeError(f"[DeviceMesh] mesh of shape {tuple(ranks.shape)} has "
                                   f"{ranks.ndim} dimension(s) but got mesh_dim_names "
                                   f"{self.mesh_dim_names}")
            if len(set(self.mesh_dim_names)) != ranks.ndim:
                raise RuntimeError(f"[DeviceMesh] mesh_dim_names must be unique, got "
                                   f"{self.mesh_dim_names}")
        if len(np.unique(ranks)) != ranks.size:
            raise ValueError(f"[DeviceMesh] the ranks of a mesh must be distinct, got "
                             f"{ranks.tolist()}")
        rank = c10d.get_rank()
        where = np.argwhere(ranks == rank)
        if len(where) == 0:
            raise RuntimeError(f"[DeviceMesh] rank {rank} is not in the mesh {ranks.tolist()}; "
                               "every process of the job must be part of its mesh")
        self._coordinate = [int(i) for i in where[0]]
        self._groups = list(_groups) if _groups is not None else self._make_groups()

    def _make_groups(self) -> list:
        world_size, rank = c10d.get_world_size(), c10d.get_rank()
        groups = []
        for dim in range(self._ranks.ndim):
            lines = np.moveaxis(self._ranks, dim, -1).reshape(-1, self._ranks.shape[dim])
            mine = None
            for line in lines:  # every process creates every group, as MPI requires
                members = [int(r) for r in line]
                if members != sorted(members):
                    # a group's ranks follow the global order; the mesh's must agree
                    raise NotImplementedError(f"[DeviceMesh] the ranks along each dimension "
                                              f"must increase, got {members}")
                if members == list(range(world_size)):
                    group = c10d.GroupMember.WORLD
                else:
                    group = c10d.new_group(members)
                if rank in members:
                    mine = group
            groups.append(mine)
        return groups

    def _dim(self, mesh_dim: Union[int, str, None], op: str) -> int:
        if mesh_dim is None:
            if self.ndim != 1:
                raise RuntimeError(f"[DeviceMesh.{op}] the mesh has {self.ndim} dimensions "
                                   f"(shape {self.shape}); pass mesh_dim")
            return 0
        if isinstance(mesh_dim, str):
            if self.mesh_dim_names is None or mesh_dim not in self.mesh_dim_names:
                raise KeyError(f"[DeviceMesh.{op}] no mesh dimension named {mesh_dim!r}; the "
                               f"mesh's are {self.mesh_dim_names}")
            return self.mesh_dim_names.index(mesh_dim)
        if not -self.ndim <= mesh_dim < self.ndim:
            raise IndexError(f"[DeviceMesh.{op}] mesh_dim {mesh_dim} is out of range for a "
                             f"mesh of {self.ndim} dimension(s)")
        return mesh_dim % self.ndim

    @property
    def mesh(self) -> Any:
        """The global ranks, as an int32 tensor (torch's dtype) shaped as the mesh."""
        from ..tensor import Tensor

        return Tensor._wrap(self._ranks.astype(np.int32))

    @property
    def ndim(self) -> int:
        return self._ranks.ndim

    @property
    def shape(self) -> tuple:
        return tuple(self._ranks.shape)

    def size(self, mesh_dim: Union[int, str, None] = None) -> int:
        """The number of processes in the mesh, or along ``mesh_dim``."""
        if mesh_dim is None:
            return int(self._ranks.size)
        return int(self._ranks.shape[self._dim(mesh_dim, "size")])

    def get_group(self, mesh_dim: Union[int, str, None] = None) -> Any:
        """The process group of this process's line along ``mesh_dim`` (optional on a 1-D
        mesh)."""
        return self._groups[self._dim(mesh_dim, "get_group")]

    def get_all_groups(self) -> list:
        return list(self._groups)

    def get_rank(self) -> int:
        """This process's global rank."""
        return c10d.get_rank()

    def get_local_rank(self, mesh_dim: Union[int, str, None] = None) -> int:
        """This process's index along ``mesh_dim`` (optional on a 1-D mesh)."""
        return self._coordinate[self._dim(mesh_dim, "get_local_rank")]

    def get_coordinate(self) -> list:
        """This process's index along every dimension."""
        return list(self._coordinate)

    def __getitem__(self, mesh_dim_names: Union[str, Sequence[str]]) -> "DeviceMesh":
        """The 1-D mesh of this process's line along the named dimension (``mesh["tp"]``);
        slicing several dimensions at once is supported only for all of them, in order."""
        names = (mesh_dim_names,) if isinstance(mesh_dim_names, str) else tuple(mesh_dim_names)
        if self.mesh_dim_names is None:
            raise RuntimeError("[DeviceMesh] can't slice a mesh without mesh_dim_names; pass "
                               "mesh_dim_names to init_device_mesh")
        if names == self.mesh_dim_names:
            return self
        if len(names) != 1:
            raise NotImplementedError(f"[DeviceMesh] slicing {names} out of a mesh with "
                                      f"dimensions {self.mesh_dim_names}: deepseek slices one "
                                      "dimension at a time")
        dim = self._dim(names[0], "__getitem__")
        index = list(self._coordinate)
        index[dim] = slice(None)
        return DeviceMesh(self.device_type, self._ranks[tuple(index)], mesh_dim_names=names,
                          _groups=[self._groups[dim]])

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, DeviceMesh) and self.device_type == other.device_type
                and self.shape == other.shape and bool((self._ranks == other._ranks).all())
                and self.mesh_dim_names == other.mesh_dim_names)

    def __hash__(self) -> int:
        return hash((self.device_type, self._ranks.tobytes(), self.shape, self.mesh_dim_names))

    def __repr__(self) -> str:
        names = "" if self.mesh_dim_names is None else f", mesh_dim_names={self.mesh_dim_names}"
        return f"DeviceMesh('{self.device_type}', {self._ranks.tolist()}{names})"


def init_device_mesh(device_type: str, mesh_shape: Sequence[int], *,
                     mesh_dim_names: Optional[Sequence[str]] = None) -> DeviceMesh:
    """A mesh of shape ``mesh_shape`` over every process of the job, ranks in row-major
    order; initializes the default process group first if needed.

    Args:
        device_type (str): ``"cpu"`` (or ``"cuda"``).
        mesh_shape (tuple of int): its product must equal the world size.
        mesh_dim_names (tuple of str, optional): a name for each dimension, to index the mesh
            with (``mesh["tp"]``).

    Example::

        >>> mesh = init_device_mesh("cpu", (2,), mesh_dim_names=("tp",))  # doctest: +SKIP
    """
    shape = (mesh_shape,) if isinstance(mesh_shape, int) else tuple(int(s) for s in mesh_shape)
    if mesh_dim_names is not None and len(tuple(mesh_dim_names)) != len(shape):
        raise RuntimeError(f"[init_device_mesh] mesh_shape {shape} and mesh_dim_names "
                           f"{tuple(mesh_dim_names)} should have the same length")
    if not c10d.is_initialized():
        c10d.init_process_group()
    world_size = c10d.get_world_size()
    if math.prod(shape) != world_size:
        raise RuntimeError(f"[init_device_mesh] mesh_shape {shape} holds {math.prod(shape)} "
                           f"processes but the job has {world_size}; the product of mesh_shape "
                           "must equal the world size")
    ranks = np.arange(world_size, dtype=np.int64).reshape(shape)
    return DeviceMesh(device_type, ranks, mesh_dim_names=mesh_dim_names)
