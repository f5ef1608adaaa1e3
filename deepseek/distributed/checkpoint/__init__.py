"""``deepseek.distributed.checkpoint``: save and load a training job's state from every
process, as ``torch.distributed.checkpoint`` (``dcp.save`` / ``dcp.load``).

A checkpoint is a directory: rank 0 writes the state (safetensors with JSON structure, via
``ds.save``; nothing is pickled) and then ``.metadata``, each file atomically, so a checkpoint
without ``.metadata`` is incomplete and ``load`` refuses it. Data-parallel processes hold the
same state, so rank 0's is the job's. Values with ``state_dict``/``load_state_dict``
(modules, optimizers, schedulers: torch's ``Stateful``) are saved through them.
"""

from __future__ import annotations

import json
import os
from typing import Any, Optional

from ...serialization import _write_atomically, load as _load, save as _save
from ...tensor import Tensor
from .. import distributed_c10d as c10d

__all__ = ["latest", "load", "save"]

_DATA, _METADATA = "state.safetensors", ".metadata"


def _stateful(value: Any) -> bool:
    return callable(getattr(value, "state_dict", None)) and callable(
        getattr(value, "load_state_dict", None))


def _rank(process_group: Any) -> int:
    return c10d.get_rank(process_group) if c10d.is_initialized() else 0


def _barrier(process_group: Any) -> None:
    if c10d.is_initialized():
        c10d.barrier(process_group)


def save(state_dict: dict, *, checkpoint_id: Any = None, storage_writer: Any = None,
         planner: Any = None, process_group: Any = None, no_dist: bool = False) -> dict:
    """Write ``state_dict`` (a dict of tensors, plain values, nested dicts and ``Stateful``
    objects) into the directory ``checkpoint_id``; every process calls it and returns once the
    checkpoint is complete. Returns its metadata."""
    if checkpoint_id is None:
        raise ValueError("[dcp.save] checkpoint_id (the checkpoint's directory) must be given")
    if not isinstance(state_dict, dict):
        raise TypeError(f"[dcp.save] state_dict must be a dict, got {type(state_dict).__name__}")
    path = os.fspath(checkpoint_id)
    plain = {k: v.state_dict() if _stateful(v) else v for k, v in state_dict.items()}
    metadata = {"format": "deepseek-dcp/1", "keys": sorted(map(str, plain))}
    if no_dist or _rank(process_group) == 0:
        os.makedirs(path, exist_ok=True)
        stale = os.path.join(path, _METADATA)
        if os.path.exists(stale):
            os.remove(stale)  # incomplete until the new data is down
        _save(plain, os.path.join(path, _DATA))
        _write_atomically(stale, json.dumps(metadata).encode())
    if not no_dist:
        _barrier(process_group)
    return metadata


def load(state_dict: dict, *, checkpoint_id: Any = None, storage_reader: Any = None,
         planner: Any = None, process_group: Any = None, no_dist: bool = False) -> None:
    """Read the checkpoint in directory ``checkpoint_id`` into ``state_dict`` in place:
    tensors are copied into (shapes must agree), other values replaced, ``Stateful`` objects
    given their saved state with ``load_state_dict``."""
    if checkpoint_id is None:
        raise ValueError("[dcp.load] checkpoint_id (the checkpoint's directory) must be given")
    path = os.fspath(checkpoint_id)
    if not os.path.exists(os.path.join(path, _METADATA)):
        raise FileNotFoundError(f"[dcp.load] {path!r} is not a complete checkpoint (no "
                                f"{_METADATA}: it was never written, or its save was "
                                "interrupted)")
    saved = _load(os.path.join(path, _DATA))
    for key, value in state_dict.items():
        if key not in saved:
            raise KeyError(f"[dcp.load] {key!r} is not in the checkpoint {path!r}; it holds "
                           f"{sorted(saved)}")
        if _stateful(value):
            value.load_state_dict(saved[key])
        else:
            state_dict[key] = _fill(value, saved[key], key)


def _fill(target: Any, value: Any, where: str) -> Any:
    """``value`` written into ``target`` where ``target`` is a tensor or a dict; else
    ``value``."""
    if isinstance(target, Tensor):
        if not isinstance(value, Tensor) or tuple(value.shape) != tuple(target.shape):
            raise ValueError(f"[dcp.load] {where}: the checkpoint holds "
                             f"{getattr(value, 'shape', type(value).__name__)}, the state_dict "
                             f"a tensor of shape {tuple(target.shape)}")
        target._data[...] = value._data
        target._version_box[0] += 1
        return target
    if isinstance(target, dict) and isinstance(value, dict):
        for key, v in value.items():
            target[key] = _fill(target[key], v, f"{where}.{key}") if key in target else v
        return target
    return value


def latest(root: Any) -> Optional[str]:
    """The newest complete checkpoint directory under ``root`` (by name, so number them
    ``step_000100``…), or None: what a restarted job resumes from."""
    root = os.fspath(root)
    if not os.path.isdir(root):
        return None
    complete = [d for d in sorted(os.listdir(root))
                if os.path.exists(os.path.join(root, d, _METADATA))]
    return os.path.join(root, complete[-1]) if complete else None
