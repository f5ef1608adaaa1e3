"""Reading ``torch.save`` checkpoints without unpickling: a data-only interpreter of the pickle
opcode stream, whose globals resolve against an allow-list of our own constructors, over the
zip archive (torch>=1.6) or the legacy single-stream layout."""

from __future__ import annotations

import io
import struct
import sys
import zipfile
import zlib
from collections import OrderedDict
from typing import Any, Callable, Optional

import numpy as np

from .. import dtypes as _dt
from ..tensor import Size, Tensor

from ._pickle import _Callable, _Invalid, _Reader, _set_state

__all__ = ["is_torch_file", "load"]

_ZIP_MAGIC = b"PK\x03\x04"
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C  # the first pickle of a legacy torch.save file
_LEGACY_PROTOCOL = 1001
_TAR_MAGIC = b"ustar"  # at byte 257: torch<0.4 saved a tar archive
_MAX_RATIO = 1100  # deflate inflates at most ~1032x: a bound on what a small file can claim
# what zipfile raises on a damaged, encrypted or oddly compressed archive
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, OSError, EOFError, RuntimeError,
               NotImplementedError, ValueError, OverflowError, struct.error)
_RESAVE = "re-save it with torch>=1.6 (torch.save(torch.load(path), path))"



# ---- what a GLOBAL may name --------------------------------------------------------------



class _StorageType:
    """``torch.FloatStorage`` and kin in a persistent id: only the element type matters."""

    __slots__ = ("name", "dtype")

    def __init__(self, name: str, dtype: Optional[_dt.dtype]) -> None:
        self.name, self.dtype = name, dtype  # dtype None: UntypedStorage (bytes)

    def __repr__(self) -> str:
        return self.name


class _TensorType:
    """``torch.Tensor`` / ``torch.nn.Parameter`` as the class argument of
    ``_rebuild_from_type_v2``; nothing else may use them."""

    __slots__ = ("name", "parameter")

    def __init__(self, name: str, parameter: bool) -> None:
        self.name, self.parameter = name, parameter

    def __repr__(self) -> str:
        return self.name


_STORAGE_DTYPES = {
    "FloatStorage": _dt.float32, "DoubleStorage": _dt.float64, "HalfStorage": _dt.float16,
    "BFloat16Storage": _dt.bfloat16, "LongStorage": _dt.int64, "IntStorage": _dt.int32,
    "ShortStorage": _dt.int16, "CharStorage": _dt.int8, "ByteStorage": _dt.uint8,
    "BoolStorage": _dt.bool_, "ComplexFloatStorage": _dt.complex64,
    "ComplexDoubleStorage": _dt.complex128,
}
_TORCH_DTYPES = {  # torch's dtype names (``torch.float32`` pickles as GLOBAL torch float32)
    "float32": _dt.float32, "float": _dt.float32, "float64": _dt.float64, "double": _dt.float64,
    "float16": _dt.float16, "half": _dt.float16, "bfloat16": _dt.bfloat16,
    "int64": _dt.int64, "long": _dt.int64, "int32": _dt.int32, "int": _dt.int32,
    "int16": _dt.int16, "short": _dt.int16, "int8": _dt.int8, "uint8": _dt.uint8,
    "bool": _dt.bool_, "complex64": _dt.complex64, "cfloat": _dt.complex64,
    "complex128": _dt.complex128, "cdouble": _dt.complex128,
    **{d.name: d for d in _dt.FLOAT8},
}
_VALUES: dict = {
    **{("torch", name): _StorageType(f"torch.{name}", d) for name, d in _STORAGE_DTYPES.items()},
    ("torch.storage", "UntypedStorage"): _StorageType("torch.UntypedStorage", None),
    ("torch", "UntypedStorage"): _StorageType("torch.UntypedStorage", None),
    **{("torch", name): d for name, d in _TORCH_DTYPES.items()},
    ("torch", "Tensor"): _TensorType("torch.Tensor", False),
    ("torch.nn.parameter", "Parameter"): _TensorType("torch.nn.Parameter", True),
}
# (module, name) -> (method of _Builder, whether NEWOBJ may construct it too)
_CALLABLES = {
    ("collections", "OrderedDict"): ("new_ordered_dict", True),
    ("torch._utils", "_rebuild_tensor"): ("rebuild_tensor", False),
    ("torch._utils", "_rebuild_tensor_v2"): ("rebuild_tensor_v2", False),
    ("torch._utils", "_rebuild_tensor_v3"): ("rebuild_tensor_v3", False),
    ("torch._utils", "_rebuild_parameter"): ("rebuild_parameter", False),
    ("torch._utils", "_rebuild_parameter_with_state"): ("rebuild_parameter_with_state", False),
    ("torch._tensor", "_rebuild_from_type_v2"): ("rebuild_from_type_v2", False),
    ("torch", "device"): ("new_device", False),
    ("torch", "Size"): ("new_size", False),
    ("builtins", "set"): ("new_set", True),
    ("builtins", "frozenset"): ("new_frozenset", True),
    ("builtins", "complex"): ("new_complex", True),
    ("builtins", "slice"): ("new_slice", False),
    ("builtins", "bytearray"): ("new_bytearray", True),
    ("_codecs", "encode"): ("codecs_encode", False),
}
_MODULE_ALIASES = {"__builtin__": "builtins", "torch.tensor": "torch._tensor"}  # Python 2 names
_HINTS = {
    "torch._utils": "quantized, sparse, nested and device-only tensors are not supported",
    "numpy": "NumPy objects are not read; store tensors or plain numbers",
    "numpy.core.multiarray": "NumPy objects are not read; store tensors or plain numbers",
    "torch": "deepseek has no such dtype or type",
}
_ALLOWED = ("tensors and parameters, storages, dtypes, devices, torch.Size, OrderedDict, and "
            "builtin set/frozenset/complex/slice/bytes/bytearray")


def _describe_global(module: str, name: str) -> str:
    hint = _HINTS.get(module)
    if hint is None and module.split(".")[0] == "torch":
        hint = "save tensors and plain containers, e.g. model.state_dict(), not whole objects"
    return (f"global {module}.{name} is not allowed: a torch checkpoint is read as data only "
            f"(nothing is imported or called), and may hold {_ALLOWED}"
            + (f"; {hint}" if hint else ""))


# ---- storages ---------------------------------------------------------------------------


class _Storage:
    """One storage's bytes (``raw``, uint8) and its typed views: every tensor torch built on it
    is a strided view of the same array here."""

    __slots__ = ("key", "dtype", "raw", "typed")

    def __init__(self, key: str, dtype: Optional[_dt.dtype], raw: np.ndarray) -> None:
        self.key, self.dtype, self.raw = key, dtype, raw
        self.typed: dict = {}

    def view(self, dtype: _dt.dtype) -> np.ndarray:
        array = self.typed.get(dtype.name)
        if array is None:
            if self.raw.size % dtype.itemsize:
                raise _Invalid(f"storage {self.key!r} holds {self.raw.size} bytes, not a whole "
                               f"number of {dtype.name} elements")
            array = self.typed[dtype.name] = self.raw.view(dtype.np)
        return array


def _byteswap(raw: np.ndarray, dtype: _dt.dtype) -> None:
    """Swap each element's bytes in place (complex: each part, as torch does)."""
    if dtype.itemsize == 1:
        return
    if dtype.is_complex:
        raw.view(dtype.to_real().np).byteswap(inplace=True)
    else:
        raw.view(np.dtype(f"u{dtype.itemsize}")).byteswap(inplace=True)


def _storage_id(pid: Any, length: int) -> tuple:
    """Check a persistent id ``('storage', type, key, location, numel[, view])``."""
    if not isinstance(pid, tuple) or not pid or _ascii(pid[0]) != "storage":
        raise _Invalid(f"persistent id {pid!r:.80} is not a storage reference")
    if len(pid) != length:
        raise _Invalid(f"storage reference with {len(pid)} fields, expected {length}")
    storage_type, key, location, numel = pid[1:5]
    if not isinstance(storage_type, _StorageType):
        raise _Invalid(f"storage type {storage_type!r:.80} is not a torch storage type")
    key, location = _ascii(key), _ascii(location)
    if not isinstance(key, str) or not isinstance(location, str):
        raise _Invalid("storage key and location must be strings")
    return storage_type, key, location, _count(numel, "storage size")


class _ZipStorages:
    """Storages of a zip checkpoint: ``<archive>/data/<key>``, read once per key."""

    def __init__(self, archive: zipfile.ZipFile, prefix: str, size: int) -> None:
        self.archive, self.prefix, self.size, self.loaded = archive, prefix, size, {}
        order = b"little"
        if f"{prefix}byteorder" in archive.namelist():
            order = archive.read(f"{prefix}byteorder").strip()
            if order not in (b"little", b"big"):
                raise _Invalid(f"unknown byte order {order!r} in {prefix}byteorder")
        self.swap = order.decode() != sys.byteorder

    def __call__(self, pid: Any) -> _Storage:
        storage_type, key, _location, numel = _storage_id(pid, 5)
        if key in self.loaded:
            return self.loaded[key]
        dtype = storage_type.dtype
        nbytes = numel * (dtype.itemsize if dtype is not None else 1)
        name = f"{self.prefix}data/{key}"
        try:
            info = self.archive.getinfo(name)
        except KeyError:
            raise _Invalid(f"zip entry {name} is missing (the checkpoint is incomplete)") from None
        if info.compress_type != zipfile.ZIP_STORED and nbytes > _MAX_RATIO * self.size:
            raise _Invalid(f"zip entry {name} inflates to {nbytes} bytes from a {self.size}-byte "
                           "file (torch.save stores entries uncompressed)")
        if info.file_size != nbytes:
            raise _Invalid(f"zip entry {name} holds {info.file_size} bytes, but the checkpoint "
                           f"describes {numel} elements of {storage_type.name} ({nbytes} bytes)")
        raw = np.empty(nbytes, np.uint8)
        try:
            with self.archive.open(info) as fh:
                done = 0
                while done < nbytes:
                    got = fh.readinto(memoryview(raw)[done:])
                    if not got:
                        raise _Invalid(f"zip entry {name} ends after {done} of {nbytes} bytes")
                    done += got
        except _ZIP_ERRORS as e:
            raise _Invalid(f"cannot read zip entry {name} ({type(e).__name__}: {e})") from None
        if self.swap and dtype is not None:  # torch swaps typed storages only, so do we
            _byteswap(raw, dtype)
        storage = self.loaded[key] = _Storage(key, dtype, raw)
        return storage


class _LegacyStorages:
    """Storages of a legacy checkpoint: allocated when the pickle names them, filled from the
    records that follow it."""

    def __init__(self, available: int) -> None:
        self.available, self.loaded = available, {}

    def __call__(self, pid: Any) -> _Storage:
        storage_type, key, _location, numel = _storage_id(pid, 6)
        if pid[5] is not None:
            raise _Invalid(f"storage {key!r} is a view of another storage (torch<0.4 layout); "
                           + _RESAVE)
        if key in self.loaded:
            return self.loaded[key]
        dtype = storage_type.dtype
        nbytes = numel * (dtype.itemsize if dtype is not None else 1)
        if nbytes > self.available:
            raise _Invalid(f"storage {key!r} claims {nbytes} bytes, more than the file holds")
        storage = self.loaded[key] = _Storage(key, dtype, np.empty(nbytes, np.uint8))
        return storage


# ---- the constructors the allow-list names ----------------------------------------------


def _ascii(value: Any) -> Any:
    return value.decode("ascii", "replace") if isinstance(value, bytes) else value


def _count(value: Any, what: str) -> int:
    if type(value) is not int or value < 0:
        raise _Invalid(f"{what} must be a non-negative integer, got {value!r:.80}")
    return value


def _counts(value: Any, what: str) -> tuple:
    if not isinstance(value, tuple):
        raise _Invalid(f"{what} must be a tuple of integers, got {value!r:.80}")
    return tuple(_count(v, what) for v in value)


def _items(items: Any, what: str) -> Any:
    if not isinstance(items, (list, tuple)):
        raise _Invalid(f"{what} takes a list of items, got {type(items).__name__}")
    return items



class _Builder:
    """The allow-listed constructors of one load, and the record of which tensors sit on which
    storage (:meth:`link_views` makes them views of one array at the end)."""

    def __init__(self, device: Any) -> None:
        self.device = device  # None: stay on the CPU
        self.views: dict = {}  # (storage key, dtype name) -> (typed array, [its tensors])

    def resolve(self, module: str, name: str) -> Any:
        module = _MODULE_ALIASES.get(module, module)
        key = (module, name)
        if key in _VALUES:
            return _VALUES[key]
        if key in _CALLABLES:
            method, newobj = _CALLABLES[key]
            return _Callable(f"{module}.{name}", getattr(self, method), newobj)
        raise _Invalid(_describe_global(module, name))

    # tensors
    def _strided(self, storage: Any, offset: Any, size: Any, stride: Any, requires_grad: Any,
                 dtype: Optional[_dt.dtype], metadata: Any = None) -> Tensor:
        if not isinstance(storage, _Storage):
            raise _Invalid(f"the tensor's storage is a {type(storage).__name__}, not a storage")
        if storage.dtype is None and dtype is None:
            raise _Invalid("a tensor on an untyped storage needs _rebuild_tensor_v3's dtype")
        if storage.dtype is not None and dtype is not None and dtype is not storage.dtype:
            raise _Invalid(f"a {dtype.name} tensor on a {storage.dtype.name} storage")
        dtype = dtype or storage.dtype
        array = storage.view(dtype)
        offset = _count(offset, "storage offset")
        size, stride = _counts(size, "size"), _counts(stride, "stride")
        if len(size) != len(stride):
            raise _Invalid(f"size {size} and stride {stride} have different lengths")
        if not isinstance(requires_grad, bool):
            raise _Invalid(f"requires_grad must be a bool, got {requires_grad!r:.80}")
        if all(size):  # not empty: every element must lie inside the storage
            last = offset + sum((n - 1) * s for n, s in zip(size, stride))
            if last >= array.size:
                raise _Invalid(f"size {size}, stride {stride} and offset {offset} reach "
                               f"element {last} of a storage of {array.size} elements")
        # as_strided rebuilds its result from __array_interface__, which loses ml_dtypes'
        # types: stride raw elements of the same width, then view them as the dtype
        start = array[min(offset, array.size):].view(np.dtype((np.void, dtype.itemsize)))
        data = np.lib.stride_tricks.as_strided(
            start, shape=size, strides=tuple(s * dtype.itemsize for s in stride)).view(dtype.np)
        shared = True
        if metadata:
            if not isinstance(metadata, dict) or not set(metadata) <= {"conj", "neg"}:
                raise _Invalid(f"unknown tensor metadata {metadata!r:.80}")
            if metadata.get("conj"):
                data, shared = np.conj(data), False
            if metadata.get("neg"):
                data, shared = np.negative(data), False
        if requires_grad and not (dtype.is_floating_point or dtype.is_complex):
            raise _Invalid(f"a {dtype.name} tensor cannot require grad")
        t = Tensor._wrap(data)
        if self.device is not None:
            t = t.to(self.device)  # off the CPU each tensor is copied on its own
            shared = False
        t._requires_grad = requires_grad
        if shared:
            self.views.setdefault((storage.key, dtype.name), (array, []))[1].append(t)
        return t

    def rebuild_tensor(self, storage: Any, offset: Any, size: Any, stride: Any) -> Tensor:
        return self._strided(storage, offset, size, stride, False, None)

    def rebuild_tensor_v2(self, storage: Any, offset: Any, size: Any, stride: Any,
                          requires_grad: Any, backward_hooks: Any, metadata: Any = None) -> Tensor:
        return self._strided(storage, offset, size, stride, requires_grad, None, metadata)

    def rebuild_tensor_v3(self, storage: Any, offset: Any, size: Any, stride: Any,
                          requires_grad: Any, backward_hooks: Any, dtype: Any,
                          metadata: Any = None) -> Tensor:
        if not isinstance(dtype, _dt.dtype):
            raise _Invalid(f"dtype must be a torch dtype, got {dtype!r:.80}")
        return self._strided(storage, offset, size, stride, requires_grad, dtype, metadata)

    def _replace(self, old: Tensor, new: Tensor) -> None:
        for _, tensors in self.views.values():
            for i, t in enumerate(tensors):
                if t is old:
                    tensors[i] = new
                    return

    def rebuild_parameter(self, data: Any, requires_grad: Any, backward_hooks: Any) -> Tensor:
        from ..nn.parameter import Parameter

        if not isinstance(data, Tensor):
            raise _Invalid(f"a Parameter's data must be a tensor, got {type(data).__name__}")
        if not isinstance(requires_grad, bool):
            raise _Invalid(f"requires_grad must be a bool, got {requires_grad!r:.80}")
        if requires_grad and not (data.dtype.is_floating_point or data.dtype.is_complex):
            raise _Invalid(f"a {data.dtype.name} Parameter cannot require grad")
        param = Parameter(data, requires_grad=requires_grad)
        self._replace(data, param)
        return param

    def rebuild_parameter_with_state(self, data: Any, requires_grad: Any, backward_hooks: Any,
                                     state: Any) -> Tensor:
        param = self.rebuild_parameter(data, requires_grad, backward_hooks)
        _set_state(param, state, "a Parameter")
        return param

    def rebuild_from_type_v2(self, func: Any, new_type: Any, args: Any, state: Any) -> Tensor:
        if not isinstance(func, _Callable) or not func.name.startswith("torch._utils._rebuild"):
            raise _Invalid(f"_rebuild_from_type_v2 of {func!r:.80}, not a tensor rebuild")
        if not isinstance(new_type, _TensorType):
            raise _Invalid(f"_rebuild_from_type_v2 to type {new_type!r:.80}: only torch.Tensor "
                           "and torch.nn.Parameter are read")
        if not isinstance(args, tuple):
            raise _Invalid("_rebuild_from_type_v2's arguments must be a tuple")
        t = func.fn(*args)
        if new_type.parameter and not type(t).__name__ == "Parameter":
            t = self.rebuild_parameter(t, t.requires_grad, None)
        _set_state(t, state, "a tensor")
        return t

    def link_views(self) -> None:
        """Tensors that shared a storage become views of one tensor (``_base``), as a view op
        would make them: of one that spans the whole storage, else of the storage itself."""
        for array, tensors in self.views.values():
            whole = next((t for t in tensors if _spans(t._data, array)), None)
            if len(tensors) == 1 and whole is not None:
                continue  # one tensor owning its storage: a plain tensor, as torch.load gives
            base = whole if whole is not None else Tensor._wrap(array)
            for t in tensors:
                if t is not base:
                    t._base, t._version_box = base, base._version_box

    # plain data
    def new_ordered_dict(self, *args: Any) -> OrderedDict:
        if len(args) > 1 or (args and not isinstance(args[0], (list, tuple))):
            raise _Invalid("OrderedDict takes at most one list of (key, value) pairs")
        return OrderedDict(*args)

    def new_device(self, *args: Any) -> Any:
        from ..backend.device import device

        if not 1 <= len(args) <= 2 or not isinstance(args[0], str) or (
                len(args) == 2 and args[1] is not None and type(args[1]) is not int):
            raise _Invalid(f"torch.device{args!r:.80} is not a device")
        return device(*args)

    def new_size(self, dims: Any = ()) -> Size:
        return Size(_counts(tuple(dims) if isinstance(dims, list) else dims, "torch.Size"))

    def new_set(self, items: Any = ()) -> set:
        return set(_items(items, "set"))

    def new_frozenset(self, items: Any = ()) -> frozenset:
        return frozenset(_items(items, "frozenset"))

    def new_complex(self, real: Any = 0.0, imag: Any = 0.0) -> complex:
        if not all(type(v) in (int, float) for v in (real, imag)):
            raise _Invalid("complex takes two numbers")
        return complex(real, imag)

    def new_slice(self, *args: Any) -> slice:
        if len(args) != 3 or not all(v is None or type(v) is int for v in args):
            raise _Invalid("slice takes start, stop and step, each an int or None")
        return slice(*args)

    def new_bytearray(self, data: Any = b"", encoding: Any = None) -> bytearray:
        if isinstance(data, str):
            data = self.codecs_encode(data, encoding)
        if not isinstance(data, bytes):
            raise _Invalid("bytearray takes bytes")
        return bytearray(data)

    def codecs_encode(self, text: Any, encoding: Any = None) -> bytes:
        # protocol 2 writes bytes as _codecs.encode(latin-1 text, "latin1")
        if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
            raise _Invalid("_codecs.encode is read only for bytes (latin-1 text, 'latin1')")
        return text.encode("latin-1")


def _spans(data: np.ndarray, storage: np.ndarray) -> bool:
    """Whether ``data`` is all of ``storage``, in order."""
    return (data.size == storage.size and data.flags.c_contiguous
            and data.__array_interface__["data"][0] == storage.__array_interface__["data"][0])



# ---- the two layouts ---------------------------------------------------------------------


def is_torch_file(data: bytes) -> bool:
    """A zip archive (torch>=1.6 checkpoints, or something else: :func:`load` says which), a
    legacy checkpoint, which opens with the pickled magic number, or a tar archive (torch<0.4,
    refused by :func:`load`) that is not safetensors (whose JSON header opens at byte 8)."""
    return data[:4] == _ZIP_MAGIC or _is_tar(data) or (
        data[:1] == b"\x80" and data[2:4] == b"\x8a\x0a"
        and int.from_bytes(data[4:14], "little") == _LEGACY_MAGIC)


def _is_tar(data: bytes) -> bool:
    return data[257:262] == _TAR_MAGIC and data[8:9] != b"{"


def load(data: bytes, what: str, map_location: Any = None) -> Any:
    """What ``torch.save`` wrote to ``data``, as deepseek tensors and plain containers, read
    without unpickling. ``what`` names the file in errors; ``map_location`` is a device (or its
    name) or None for the CPU."""
    device = _device_of(map_location)
    builder = _Builder(device)
    if data[:4] == _ZIP_MAGIC:
        result = _load_zip(data, what, builder)
    elif _is_tar(data):
        raise RuntimeError(f"[load] {what} is a tar archive: a torch<0.4 checkpoint, which ds.load "
                           f"does not read; {_RESAVE}")
    else:
        result = _load_legacy(data, what, builder)
    builder.link_views()
    return result


def _device_of(map_location: Any) -> Any:
    if not (isinstance(map_location, str) or hasattr(map_location, "type")):
        return None
    from ..backend.device import device

    target = device(map_location) if isinstance(map_location, str) else map_location
    return None if target.type == "cpu" else target


def _load_zip(data: bytes, what: str, builder: _Builder) -> Any:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        names = archive.namelist()
    except _ZIP_ERRORS as e:
        raise RuntimeError(f"[load] {what} is a damaged zip archive ({e})") from None
    pickles = [n for n in names if n.split("/")[-1] == "data.pkl" and n.count("/") <= 1]
    if not pickles:
        raise RuntimeError(f"[load] {what} is not a deepseek file (expected safetensors with "
                           "deepseek metadata) nor a torch.save checkpoint: it is a zip archive "
                           "without data.pkl")
    stream = pickles[0]
    prefix = stream[:-len("data.pkl")]
    if any(n.startswith(f"{prefix}code/") for n in names) or f"{prefix}constants.pkl" in names:
        raise RuntimeError(f"[load] {what} is a TorchScript archive (torch.jit.save), which holds "
                           "code; ds.load reads torch.save checkpoints: save the model's "
                           "state_dict() with torch.save and load that")
    try:
        storages = _ZipStorages(archive, prefix, len(data))
        pickle = archive.read(stream)
    except _Invalid as e:
        raise RuntimeError(f"[load] {what}: {e}") from None
    except _ZIP_ERRORS as e:  # e.g. a bad CRC
        raise RuntimeError(f"[load] {what}: cannot read {stream} ({type(e).__name__}: {e})") \
            from None
    result, _ = _Reader(pickle, 0, stream, what, builder, storages).run()
    return result


def _load_legacy(data: bytes, what: str, builder: _Builder) -> Any:
    """The pre-1.6 layout: pickles of the magic number, the protocol version, the system info,
    the object and the storage keys, then each storage as an 8-byte count and its bytes."""
    stream = "the legacy checkpoint"

    def header(start: int) -> tuple:
        return _Reader(data, start, stream, what, builder, None).run()

    magic, pos = header(0)
    version, pos = header(pos)
    if magic != _LEGACY_MAGIC or version != _LEGACY_PROTOCOL:
        raise RuntimeError(f"[load] {what}: a legacy torch checkpoint of an unknown version "
                           f"({version!r:.40}); " + _RESAVE)
    info, pos = header(pos)
    if not isinstance(info, dict) or not isinstance(info.get("little_endian"), bool):
        raise RuntimeError(f"[load] {what}: a legacy torch checkpoint without its system info; "
                           + _RESAVE)
    # The storages' bytes follow the object stream, so a first pass sizes them (its tensors
    # are dropped) and the second builds the result on the filled storages.
    storages = _LegacyStorages(len(data))
    start = pos
    _, pos = _Reader(data, start, stream, what, _Builder(None), storages).run()
    keys, pos = header(pos)
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise RuntimeError(f"[load] {what}: the legacy checkpoint's storage keys are not a list "
                           "of strings")
    order = "<q" if info["little_endian"] else ">q"
    swap = info["little_endian"] != (sys.byteorder == "little")
    for key in keys:
        storage = storages.loaded.get(key)
        if storage is None:
            raise RuntimeError(f"[load] {what}: the legacy checkpoint holds data for storage "
                               f"{key!r}, which no tensor uses")
        itemsize = storage.dtype.itemsize if storage.dtype is not None else 1
        if pos + 8 + storage.raw.size > len(data):
            raise RuntimeError(f"[load] {what}: truncated: the data of storage {key!r} at byte "
                               f"{pos} runs past the end of the file")
        count = struct.unpack(order, data[pos:pos + 8])[0]
        if count * itemsize != storage.raw.size:
            raise RuntimeError(f"[load] {what}: storage {key!r} at byte {pos} holds {count} "
                               f"elements, the object stream says {storage.raw.size // itemsize}")
        pos += 8
        storage.raw[:] = np.frombuffer(data, np.uint8, storage.raw.size, pos)
        pos += storage.raw.size
        if swap and storage.dtype is not None:
            _byteswap(storage.raw, storage.dtype)
    missing = sorted(set(storages.loaded) - set(keys))
    if missing:
        raise RuntimeError(f"[load] {what}: the legacy checkpoint has no data for storage(s) "
                           f"{missing[:5]}")
    result, _ = _Reader(data, start, stream, what, builder, storages).run()
    return result
