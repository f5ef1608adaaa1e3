"""``ds.save`` / ``ds.load``: tensors as safetensors, structure as JSON in the safetensors
metadata; nothing is pickled, so loading a file cannot run code. ``ds.load`` also reads
``torch.save`` checkpoints, as data only (``_torch_format``)."""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any

import numpy as np

from . import _torch_format, dtypes as _dt
from .tensor import Tensor

__all__ = ["save", "load"]

_FORMAT = "deepseek/1"
_NOT_OURS = ("[load] {what} is not a deepseek file (expected safetensors with deepseek "
             "metadata, as written by deepseek.save) nor a torch.save checkpoint")


def _pack(obj: Any, tensors: dict, index: dict, where: str = "obj") -> Any:
    """JSON for ``obj``; tensors go to ``tensors`` (shared ones once) and become references.
    Every JSON object written is a tagged marker, so user data cannot be mistaken for one.
    ``where`` is the path to ``obj`` inside what is saved, for the error message."""
    if isinstance(obj, Tensor) or isinstance(obj, np.ndarray):
        key = index.get(id(obj))
        if key is None:
            key = index[id(obj)] = f"t{len(tensors)}"
            tensors[key] = obj
        if isinstance(obj, np.ndarray):
            return {"__ndarray__": key}
        return {"__tensor__": key, "requires_grad": obj.requires_grad,
                "parameter": type(obj).__name__ == "Parameter"}
    if isinstance(obj, dict):
        return {"__dict__": [[_pack(k, tensors, index, f"{where} key {k!r}"),
                              _pack(v, tensors, index, f"{where}[{k!r}]")]
                             for k, v in obj.items()]}
    if isinstance(obj, tuple):
        return {"__tuple__": [_pack(v, tensors, index, f"{where}[{i}]")
                              for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [_pack(v, tensors, index, f"{where}[{i}]") for i, v in enumerate(obj)]
    if isinstance(obj, np.generic):
        return obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, _dt.dtype):
        return {"__dtype__": obj.name}
    raise TypeError(f"[save] cannot store an object of type {type(obj).__name__} at {where}: "
                    "deepseek files hold tensors, NumPy arrays, numbers, strings, None, dtypes, "
                    "and lists, tuples and dicts of them")


def _unpack(obj: Any, arrays: dict, device: Any) -> Any:
    if isinstance(obj, list):
        return [_unpack(v, arrays, device) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if "__tensor__" in obj:
        key = obj["__tensor__"]
        if isinstance(arrays[key], Tensor):  # a tensor saved once and referenced again
            return arrays[key]
        t = Tensor._wrap(arrays[key])
        if device is not None:
            t = t.to(device)
        if obj.get("parameter"):
            from .nn.parameter import Parameter

            t = Parameter(t, requires_grad=obj.get("requires_grad", True))
        elif obj.get("requires_grad"):
            t.requires_grad_(True)
        arrays[key] = t
        return t
    if "__ndarray__" in obj:
        return arrays[obj["__ndarray__"]]
    if "__dict__" in obj:
        return {_hashable(_unpack(k, arrays, device)): _unpack(v, arrays, device)
                for k, v in obj["__dict__"]}
    if "__tuple__" in obj:
        return tuple(_unpack(v, arrays, device) for v in obj["__tuple__"])
    if "__dtype__" in obj:
        return _dt.to_dtype(obj["__dtype__"])
    raise RuntimeError(f"[load] unknown entry in the file's structure: {sorted(obj)}")


def _hashable(k: Any) -> Any:
    return tuple(k) if isinstance(k, list) else k


def save(obj: Any, f: Any, pickle_module: Any = None, pickle_protocol: int = 2,
         _use_new_zipfile_serialization: bool = True) -> None:
    """Save ``obj`` to a file: tensors as safetensors, everything else as JSON.

    Args:
        obj: tensors, NumPy arrays, numbers, strings, None, dtypes, and (nested) lists, tuples
            and dicts of them, e.g. a module's or an optimizer's ``state_dict()``.
        f: a path or a writable binary file object (e.g. ``io.BytesIO``).

    Example:
        >>> ds.save({"w": ds.ones(2), "step": 3}, "checkpoint.safetensors")
    """
    from safetensors.numpy import save as st_save

    tensors: dict = {}
    structure = _pack(obj, tensors, {})
    arrays, dtypes = {}, {}
    for key, t in tensors.items():
        a = t if isinstance(t, np.ndarray) else t.detach()._to_host()
        a = a if a.flags.c_contiguous else a.copy(order="C")
        if a.dtype == _dt.bfloat16.np:  # safetensors' NumPy side has no bfloat16: store the bits
            dtypes[key] = "bfloat16"
            a = a.view(np.uint16)
        arrays[key] = a
    meta = {"format": _FORMAT, "structure": json.dumps(structure), "dtypes": json.dumps(dtypes)}
    data = st_save(arrays, metadata=meta)
    if isinstance(f, (str, os.PathLike)):
        _write_atomically(os.fspath(f), data)
    else:
        f.write(data)


def _write_atomically(path: str, data: bytes) -> None:
    """Write to a temporary file beside ``path``, fsync, then rename over it: a crash mid-save
    never leaves a half-written file under the final name."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".deepseek-save-", dir=folder)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp's 0600 would differ from a plain open()
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load(f: Any, map_location: Any = None, pickle_module: Any = None, *,
         weights_only: bool = True, mmap: Any = None, **pickle_load_args: Any) -> Any:
    """Load what :func:`save` wrote, or a ``torch.save`` checkpoint. Loading never executes code
    from the file.

    A torch checkpoint (the zip layout of torch>=1.6, or the legacy one) is read without
    unpickling: its pickle stream is interpreted as data, and the only globals it may name are
    tensors and parameters, storages, dtypes, devices, ``torch.Size``, ``OrderedDict`` and a few
    builtins (set, frozenset, complex, slice, bytes, bytearray), each built by our own
    constructor; anything else (a class, a function such as ``os.system``) raises a
    RuntimeError naming it, without importing it. Tensors come back as deepseek tensors
    (Parameters where torch had ``nn.Parameter``, ``requires_grad`` kept), and tensors that
    shared a storage in torch are views of one array.

    Args:
        f: a path, a readable binary file object, or the file's bytes.
        map_location: a device (or its name) to put the tensors on; None keeps the CPU (for a
            torch checkpoint too, whatever device it was saved from).
        weights_only: accepted for PyTorch compatibility, True or False alike: deepseek never
            runs code from a file, so loading is always data-only.

    Example:
        >>> state = ds.load("checkpoint.safetensors")
        >>> model.load_state_dict(ds.load("model.pt"))  # written by torch.save
    """
    from safetensors.numpy import load as st_load

    what = repr(os.fspath(f)) if isinstance(f, (str, os.PathLike)) else "the input"
    if isinstance(f, (str, os.PathLike)):
        with open(f, "rb") as fh:
            data = fh.read()
    elif isinstance(f, (bytes, bytearray, memoryview)):
        data = bytes(f)
    else:
        data = f.read()
    if _torch_format.is_torch_file(data):
        return _torch_format.load(data, what, map_location)
    header_len = int.from_bytes(data[:8], "little")
    try:
        if len(data) < 8 or header_len > len(data) - 8:
            raise ValueError("truncated header")
        meta = json.loads(data[8:8 + header_len]).get("__metadata__") or {}
    except (ValueError, UnicodeDecodeError, AttributeError) as e:
        raise RuntimeError(_NOT_OURS.format(what=what)) from e
    if meta.get("format") != _FORMAT:
        raise RuntimeError(_NOT_OURS.format(what=what) + f" (format {meta.get('format')!r})")
    arrays = st_load(data)
    for key, name in json.loads(meta.get("dtypes", "{}")).items():
        arrays[key] = arrays[key].view(_dt.to_dtype(name).np)
    device = map_location if isinstance(map_location, str) or hasattr(map_location, "type") \
        else None
    return _unpack(json.loads(meta["structure"]), arrays, device)
