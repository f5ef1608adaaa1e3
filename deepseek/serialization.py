"""``ds.save`` / ``ds.load``: tensors as safetensors, structure as JSON in the safetensors
metadata; nothing is pickled, so loading a file cannot run code. Tensors that share memory are
saved as views of one byte buffer and load sharing it again. ``ds.load`` also reads
``torch.save`` checkpoints, as data only (``_torch_format``)."""

from __future__ import annotations

import json
import math
import os
import tempfile
from typing import Any

import numpy as np

from . import _torch_format, dtypes as _dt
from ._storage import _Buffer, _extent, _root
from .tensor import Tensor

__all__ = ["save", "load"]

# deepseek/1: every tensor its own safetensors entry. deepseek/2 adds "views": tensors that
# shared memory point into one uint8 buffer entry (covering only the bytes they touch).
_FORMAT = "deepseek/2"
_READS = ("deepseek/1", "deepseek/2")
# dtypes safetensors' NumPy side cannot load back: stored as unsigned ints of their width
_AS_BITS = {d.name: np.dtype(f"u{d.itemsize}") for d in (_dt.bfloat16, *_dt.FLOAT8)}
_BITS_OF = {_dt.BY_NAME[name].np: name for name in _AS_BITS}
_NAMES = {d.np: d.name for d in _dt.BY_NAME.values()}  # the dtypes a view may have
_VIEW_KEYS = {"buffer", "offset", "shape", "strides", "dtype"}
_LIMIT = 2**62  # sizes, strides and offsets past this are damage, not data
_MAX_DIMS = 32  # NumPy 1's limit
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
        key = _entry(obj["__tensor__"], arrays)
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
        return arrays[_entry(obj["__ndarray__"], arrays)]
    if "__dict__" in obj:
        return {_hashable(_unpack(k, arrays, device)): _unpack(v, arrays, device)
                for k, v in obj["__dict__"]}
    if "__tuple__" in obj:
        return tuple(_unpack(v, arrays, device) for v in obj["__tuple__"])
    if "__dtype__" in obj:
        return _dt.to_dtype(obj["__dtype__"])
    raise RuntimeError(f"[load] unknown entry in the file's structure: {sorted(obj)}")


def _shared_buffers(hosts: dict) -> tuple:
    """For arrays of ``hosts`` that share a root buffer with another: one uint8 entry per root,
    the bytes from the lowest to the highest any of them touches, and each array as a view
    (byte offset of its first element, shape, element strides, dtype) into it. Empty arrays, and
    arrays whose offset or strides are not whole elements or whose dtype deepseek lacks (a
    NumPy uint16, say), are stored on their own."""
    groups: dict = {}
    for key, a in hosts.items():
        if a.size and a.dtype in _NAMES and a.ndim <= _MAX_DIMS:
            root = _root(a)
            groups.setdefault(id(root), (root, []))[1].append(key)
    buffers: dict = {}
    views: dict = {}
    for root, keys in groups.values():
        if len(keys) < 2:
            continue
        low = min(_extent(hosts[k])[0] for k in keys)
        members = [k for k in keys if _whole_elements(hosts[k], low)]
        if len(members) < 2:
            continue
        high = max(sum(_extent(hosts[k])) for k in members)
        name = f"b{len(buffers)}"
        buffers[name] = np.asarray(_Buffer(root, low, high - low))
        for k in members:
            a = hosts[k]
            views[k] = {"buffer": name, "offset": a.__array_interface__["data"][0] - low,
                        "shape": list(a.shape),
                        "strides": [s // a.itemsize for s in a.strides],
                        "dtype": _NAMES[a.dtype]}
    return buffers, views


def _whole_elements(a: np.ndarray, low: int) -> bool:
    size = a.itemsize
    return ((a.__array_interface__["data"][0] - low) % size == 0
            and all(s % size == 0 for s in a.strides))


def _view(key: str, spec: Any, stored: dict) -> np.ndarray:
    """The array entry ``key`` of the file's views describes, checked to lie inside its buffer
    (an entry of ``stored``, the file's safetensors arrays): a hostile or damaged file raises,
    and never reads outside the buffer."""
    def bad(why: str) -> RuntimeError:
        return RuntimeError(f"[load] damaged file: view {key!r:.80} {why}")

    if not isinstance(spec, dict) or set(spec) != _VIEW_KEYS:
        raise bad(f"must be an object with keys {sorted(_VIEW_KEYS)}, got {spec!r:.120}")
    if key in stored:
        raise bad("is also a tensor entry of the file")
    buffer = stored.get(spec["buffer"]) if isinstance(spec["buffer"], str) else None
    if (buffer is None or buffer.dtype != np.uint8 or buffer.ndim != 1
            or not buffer.flags.c_contiguous):
        raise bad(f"names buffer {spec['buffer']!r:.80}, which is not a 1-D uint8 entry of the "
                  "file")
    name = spec["dtype"]
    if not isinstance(name, str) or name not in _dt.BY_NAME:
        raise bad(f"has unknown dtype {name!r:.80}")
    dtype = _dt.BY_NAME[name]
    itemsize = dtype.itemsize
    offset, shape, strides = spec["offset"], spec["shape"], spec["strides"]

    def ints(value: Any) -> bool:
        return isinstance(value, list) and all(type(v) is int and abs(v) < _LIMIT for v in value)

    if type(offset) is not int or not 0 <= offset < _LIMIT:
        raise bad(f"has offset {offset!r:.80}; expected a non-negative integer")
    if not ints(shape) or any(n < 0 for n in shape) or len(shape) > _MAX_DIMS:
        raise bad(f"has shape {shape!r:.120}; expected at most {_MAX_DIMS} non-negative "
                  "integers")
    if not ints(strides) or len(strides) != len(shape):
        raise bad(f"has strides {strides!r:.120} for shape {shape}; expected one integer per "
                  "dimension")
    if any(abs(s) * itemsize >= _LIMIT for s in strides):
        raise bad(f"has strides {strides} too large for {name}")
    if math.prod(n for n in shape if n) * itemsize >= _LIMIT:
        raise bad(f"has shape {shape} too large for {name}")
    if offset % itemsize:
        raise bad(f"has byte offset {offset}, not a multiple of {name}'s itemsize {itemsize}")
    if all(shape):  # not empty: every element must lie inside the buffer
        low = offset + itemsize * sum((n - 1) * s for n, s in zip(shape, strides) if s < 0)
        high = offset + itemsize * (1 + sum((n - 1) * s for n, s in zip(shape, strides) if s > 0))
        if low < 0 or high > buffer.size:
            raise bad(f"(offset {offset}, shape {shape}, strides {strides}, {name}) reaches bytes "
                      f"{low} to {high} of a buffer of {buffer.size} bytes")
    # as_strided rebuilds its result from __array_interface__, which loses ml_dtypes' types:
    # stride raw elements of the same width, then view them as the dtype
    start = buffer[min(offset, buffer.size):]
    start = start[:start.size // itemsize * itemsize].view(np.dtype((np.void, itemsize)))
    return np.lib.stride_tricks.as_strided(
        start, shape=tuple(shape), strides=tuple(s * itemsize for s in strides)).view(dtype.np)


def _entry(key: Any, arrays: dict) -> str:
    if not isinstance(key, str) or key not in arrays:
        raise RuntimeError(f"[load] damaged file: the structure names tensor {key!r:.80}, which "
                           "the file does not hold")
    return key


def _hashable(k: Any) -> Any:
    return tuple(k) if isinstance(k, list) else k


def save(obj: Any, f: Any, pickle_module: Any = None, pickle_protocol: int = 2,
         _use_new_zipfile_serialization: bool = True) -> None:
    """Save ``obj`` to a file: tensors as safetensors, everything else as JSON.

    Tensors (and NumPy arrays) in ``obj`` that share memory are saved as views of one buffer
    holding only the bytes they reach, and load sharing it again, as with ``torch.save``; a
    tensor sharing with nothing else saved is stored compactly, even when it is a slice of a
    larger tensor.

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
    hosts = {key: t if isinstance(t, np.ndarray) else t.detach()._to_host()
             for key, t in tensors.items()}
    arrays, views = _shared_buffers(hosts)
    dtypes = {}
    for key, a in hosts.items():
        if key in views:
            continue
        a = a if a.flags.c_contiguous else a.copy(order="C")
        name = _BITS_OF.get(a.dtype)
        if name is not None:
            dtypes[key] = name
            a = a.view(_AS_BITS[name])
        arrays[key] = a
    meta = {"format": _FORMAT, "structure": json.dumps(structure), "dtypes": json.dumps(dtypes),
            "views": json.dumps(views)}
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
    from the file, and every view is checked to lie inside its buffer: a damaged or hostile file
    raises a RuntimeError naming the entry.

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
    if meta.get("format") not in _READS:
        raise RuntimeError(_NOT_OURS.format(what=what) + f" (format {meta.get('format')!r})")
    arrays = st_load(data)
    try:
        dtypes, views = json.loads(meta.get("dtypes", "{}")), json.loads(meta.get("views", "{}"))
    except ValueError as e:
        raise RuntimeError(f"[load] damaged file: {what}'s metadata is not valid JSON") from e
    if not isinstance(dtypes, dict) or not isinstance(views, dict):
        raise RuntimeError(f"[load] damaged file: {what}'s dtypes and views must be JSON objects")
    for key, name in dtypes.items():
        bits = _AS_BITS.get(name) if isinstance(name, str) else None
        if key not in arrays or bits is None or arrays[key].dtype != bits:
            raise RuntimeError(f"[load] damaged file: entry {key!r} is marked {name!r:.80}, "
                               f"which does not match what the file holds")
        arrays[key] = arrays[key].view(_dt.BY_NAME[name].np)
    stored = dict(arrays)
    for key, spec in views.items():
        arrays[key] = _view(key, spec, stored)
    device = map_location if isinstance(map_location, str) or hasattr(map_location, "type") \
        else None
    return _unpack(json.loads(meta["structure"]), arrays, device)
