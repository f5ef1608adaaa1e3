"""``parallelize_module``: apply parallel styles to a module's submodules, named by plan."""

from __future__ import annotations

import fnmatch
from typing import Any, Optional, Union

from ...device_mesh import DeviceMesh, init_device_mesh
from ... import distributed_c10d as c10d
from .style import ParallelStyle

__all__ = ["parallelize_module"]


def _children(module: Any) -> list:
    return [name for name, _ in module.named_children()]


def _matches(module: Any, key: str) -> list:
    """``(fqn, submodule)`` for every submodule ``key`` names; each dot-separated part may
    hold ``*`` wildcards. Raises naming the first part that matches nothing."""
    found = [("", module)]
    for atom in key.split("."):
        step = []
        for prefix, parent in found:
            for name, child in parent.named_children():
                if fnmatch.fnmatchcase(name, atom):
                    step.append((f"{prefix}.{name}" if prefix else name, child))
        if not step:
            where = ", ".join(f"{p or '<root>'} ({type(m).__name__}) has {_children(m)}"
                              for p, m in found[:4])
            raise ValueError(f"[parallelize_module] plan key {key!r} names no submodule: "
                             f"nothing matches {atom!r}; {where}")
        found = step
    return found


def parallelize_module(module: Any, device_mesh: Optional[DeviceMesh] = None,
                       parallelize_plan: Union[ParallelStyle, dict, None] = None, *,
                       src_data_rank: Optional[int] = 0) -> Any:
    """Apply tensor parallelism to ``module`` in place over a 1-D mesh, and return it.

    The parameters of the modules the plan names become this process's local shards (plain
    Parameters): build optimizers after this call; ``state_dict`` holds local shards.

    Args:
        module (nn.Module): the module to parallelize.
        device_mesh (DeviceMesh, optional): a 1-D mesh (default: one over every process); of
            a 2-D mesh pass the tensor-parallel dimension, ``mesh["tp"]``.
        parallelize_plan (ParallelStyle or dict): a style for ``module`` itself, or a dict
            from submodule names (``"layers.*.mlp.fc1"``: ``*`` matches within one name) to
            styles.
        src_data_rank (int, optional): the mesh rank whose full parameters are sharded (they
            are broadcast first, so processes that initialized differently agree); None
            shards each process's own values.

    Example::

        >>> mesh = init_device_mesh("cpu", (2,))  # doctest: +SKIP
        >>> parallelize_module(mlp, mesh, {"fc1": ColwiseParallel(),  # doctest: +SKIP
        ...                                "fc2": RowwiseParallel()})
    """
    if device_mesh is None:
        device_mesh = init_device_mesh("cpu", (c10d.get_world_size(),))
    if not isinstance(device_mesh, DeviceMesh):
        raise TypeError(f"[parallelize_module] device_mesh must be a DeviceMesh, got "
                        f"{type(device_mesh).__name__}")
    if device_mesh.ndim != 1:
        name = (device_mesh.mesh_dim_names or ("tp",))[-1]
        raise ValueError(f"[parallelize_module] tensor parallelism takes a 1-D DeviceMesh, but "
                         f"got one of shape {device_mesh.shape}; pass its tensor-parallel "
                         f"dimension, e.g. device_mesh[{name!r}]")
    if parallelize_plan is None:
        return module
    if isinstance(parallelize_plan, ParallelStyle):
        targets = [("", module, parallelize_plan)]
    elif isinstance(parallelize_plan, dict):
        targets, seen = [], {}
        for key, style in parallelize_plan.items():
            if not isinstance(style, ParallelStyle):
                raise TypeError(f"[parallelize_module] plan[{key!r}] must be a ParallelStyle "
                                f"(ColwiseParallel(), RowwiseParallel()), got {style!r}")
            for fqn, sub in _matches(module, key):
                if id(sub) in seen:
                    raise ValueError(f"[parallelize_module] {fqn!r} is named by both plan keys "
                                     f"{seen[id(sub)]!r} and {key!r}")
                seen[id(sub)] = key
                targets.append((fqn, sub, style))
    else:
        raise TypeError(f"[parallelize_module] parallelize_plan must be a ParallelStyle or a "
                        f"dict of them, got {type(parallelize_plan).__name__}")
    for fqn, sub, style in targets:  # every check before any module changes
        style._check(sub, device_mesh, fqn)
    for fqn, sub, style in targets:
        style._apply(sub, device_mesh, fqn, src_data_rank)
    return module
