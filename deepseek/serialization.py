"""``ds.save`` / ``ds.load``: tensors as safetensors, structure as JSON; nothing is pickled."""

from __future__ import annotations


import json
import os
from typing import Any

import numpy as np

from . import dtypes as _dt
from .tensor import Tensor

__all__ = ["save", "load"]

_FORMAT = "deepseek/1"


def _pack(obj: Any, tensors: dict) -> Any:
    if isinstance(obj, Tensor):
        key = f"t{len(tensors)}"
        tensors[key] = obj
        return {"__tensor__": key, "requires_grad": obj.requires_grad,
                "parameter": type(obj).__name__ == "Parameter"}
    if isinstance(obj, dict):
        return {"__dict__": [[_pack(k, tensors), _pack(v, tensors)] for k, v in obj.items()]}
    if isinstance(obj, tuple):
        return {"__tuple__": [_pack(v, tensors) for v in obj]}
    if isinstance(obj, list):
        return [_pack(v, tensors) for v in obj]
    if isinstance(obj, (np.generic,)):
        return obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, _dt.dtype):
        return {"__dtype__": obj.name}
    raise TypeError(f"[save] cannot store an object of type {type(obj).__name__}: deepseek files "
                    "hold tensors, numbers, strings, None, lists, tuples and dicts of them")


def _unpack(obj: Any, arrays: dict) -> Any:
    if isinstance(obj, list):
        return [_unpack(v, arrays) for v in obj]
    if isinstance(obj, dict):
        if "__tensor__" in obj:
            t = Tensor._wrap(arrays[obj["__tensor__"]])
            if obj.get("parameter"):
                from .nn.parameter import Parameter

                return Parameter(t, requires_grad=obj.get("requires_grad", True))
            return t.requires_grad_(True) if obj.get("requires_grad") else t
        if "__dict__" in obj:
            return {_hashable(_unpack(k, arrays)): _unpack(v, arrays) for k, v in obj["__dict__"]}
        if "__tuple__" in obj:
            return tuple(_unpack(v, arrays) for v in obj["__tuple__"])
        if "__dtype__" in obj:
            return _dt.to_dtype(obj["__dtype__"])
    return obj


def _hashable(k: Any) -> Any:
    return tuple(k) if isinstance(k, list) else k


def save(obj: Any, f: Any) -> None:
    """Write ``obj`` (tensors, state dicts and plain containers) to a path or binary file."""
    from safetensors.numpy import save as st_save

    tensors: dict = {}
    structure = _pack(obj, tensors)
    arrays, dtypes = {}, {}
    for k, t in tensors.items():
        a = np.ascontiguousarray(t.detach()._to_host())
        if a.dtype == _dt.bfloat16.np:  # stored as its bit pattern, tagged with the real dtype
            dtypes[k] = "bfloat16"
            a = a.view(np.uint16)
        arrays[k] = a
    meta = {"format": _FORMAT, "structure": json.dumps(structure), "dtypes": json.dumps(dtypes)}
    data = st_save(arrays, metadata=meta)
    if isinstance(f, (str, os.PathLike)):
        with open(f, "wb") as fh:
            fh.write(data)
    else:
        f.write(data)


def load(f: Any, map_location: Any = None, weights_only: bool = True, **kwargs: Any) -> Any:
    """Read what :func:`save` wrote. Loading never executes code from the file."""
    from safetensors import safe_open  # noqa: F401  (checks the extra is present)
    from safetensors.numpy import load as st_load

    if isinstance(f, (str, os.PathLike)):
        with open(f, "rb") as fh:
            data = fh.read()
    elif isinstance(f, (bytes, bytearray)):
        data = bytes(f)
    else:
        data = f.read()
    try:
        header_len = int.from_bytes(data[:8], "little")
        header = json.loads(data[8:8 + header_len])
        meta = header.get("__metadata__") or {}
    except (ValueError, UnicodeDecodeError) as e:
        raise RuntimeError("[load] not a deepseek file (expected safetensors with deepseek "
                           "metadata); PyTorch pickle files are refused on purpose") from e
    if meta.get("format") != _FORMAT:
        raise RuntimeError(f"[load] not a deepseek file: format {meta.get('format')!r}")
    arrays = st_load(bytes(data) if not isinstance(data, bytes) else data)
    for k, name in json.loads(meta.get("dtypes", "{}")).items():
        arrays[k] = arrays[k].view(_dt.to_dtype(name).np)
    return _unpack(json.loads(meta["structure"]), arrays)



