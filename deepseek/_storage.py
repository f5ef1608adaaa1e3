"""Storages: the whole NumPy buffer a tensor's array views, as ``torch.UntypedStorage`` (bytes)
and the deprecated ``torch.TypedStorage`` (elements of one dtype)."""

from __future__ import annotations

import warnings
from typing import Any, Optional

import numpy as np

from . import dtypes as _dt
from .backend import CPU, device as _device

__all__ = ["UntypedStorage", "TypedStorage"]

_TYPED_WARNING = (
    "TypedStorage is deprecated. It will be removed in the future and UntypedStorage will be the "
    "only storage class. This should only matter to you if you are using storages directly.  To "
    "access UntypedStorage directly, use tensor.untyped_storage() instead of tensor.storage()")


def _warn_typed(stacklevel: int = 3) -> None:
    warnings.warn(_TYPED_WARNING, UserWarning, stacklevel=stacklevel)


def _root(data: np.ndarray) -> np.ndarray:
    """The array that owns ``data``'s buffer: follow ``.base``, also through the wrappers
    ``as_strided`` and storages put between a view and its base."""
    root = data
    while True:
        base = root.base
        if isinstance(base, np.ndarray):
            root = base
        elif base is not None and isinstance(getattr(base, "base", None), np.ndarray):
            root = base.base
        else:
            return root


def _extent(array: np.ndarray) -> tuple:
    """The lowest address ``array`` touches and its length in bytes."""
    start = array.__array_interface__["data"][0]
    if array.size == 0:
        return start, 0
    low = high = start
    for n, s in zip(array.shape, array.strides):
        if s < 0:
            low += (n - 1) * s
        else:
            high += (n - 1) * s
    return low, high - low + array.itemsize


def storage_offset(data: np.ndarray) -> int:
    """``data``'s first element, in elements of its dtype from the start of its storage."""
    low, _ = _extent(_root(data))
    return (data.__array_interface__["data"][0] - low) // data.itemsize


class _Buffer:
    """Exposes ``length`` bytes at ``address`` inside ``base`` to NumPy, keeping ``base`` alive."""

    def __init__(self, base: np.ndarray, address: int, length: int) -> None:
        self.base = base
        self.__array_interface__ = {"data": (address, not base.flags.writeable),
                                    "shape": (length,), "typestr": "|u1", "version": 3}


def _bytes_of(data: np.ndarray) -> np.ndarray:
    root = _root(data)
    address, length = _extent(root)
    return np.asarray(_Buffer(root, address, length))


def _index(i: Any, size: int, kind: str) -> int:
    if isinstance(i, (bool, np.bool_)) or not isinstance(i, (int, np.integer)):
        raise TypeError(f"can't index a deepseek.{kind} with {type(i).__name__}")
    i = int(i)
    if not -size <= i < size:
        raise IndexError(f"index {i} out of range for storage of size {size}")
    return i + size if i < 0 else i


def _check_copy(nbytes: int, source: Any) -> np.ndarray:
    if not isinstance(source, (UntypedStorage, TypedStorage)):
        raise TypeError(f"[copy_] expected a storage source, got {type(source).__name__}")
    src = source.untyped()._bytes
    if src.size != nbytes:
        raise RuntimeError(f"size does not match, self was {nbytes} bytes but src was "
                           f"{src.size} bytes")
    return src


class UntypedStorage:
    """A flat run of bytes that tensors view (``torch.UntypedStorage``).

    ``tensor.untyped_storage()`` is the whole NumPy buffer the tensor's array views, so two
    tensors share memory exactly when their storages have the same :meth:`data_ptr`. Indexing
    reads and writes single bytes (ints, stored modulo 256), and writes show in every tensor on
    the storage. ``UntypedStorage(n)`` makes ``n`` zero bytes (PyTorch leaves them
    uninitialized); ``UntypedStorage(sequence)`` takes byte values.

    Example::

        >>> t = deepseek.arange(4.)
        >>> t[1:].untyped_storage().data_ptr() == t.untyped_storage().data_ptr()
        True
        >>> t.untyped_storage().nbytes()
        16
    """

    def __init__(self, *args: Any, device: Any = None) -> None:
        if device is not None and _device(device).type != "cpu":
            raise RuntimeError(f"[UntypedStorage] only cpu storages exist, got device {device}")
        if len(args) > 1:
            raise TypeError(f"[UntypedStorage] expected a size or a sequence, got {len(args)} "
                            "arguments")
        arg = args[0] if args else 0
        if isinstance(arg, (int, np.integer)) and not isinstance(arg, bool):
            if arg < 0:
                raise RuntimeError(f"[UntypedStorage] size must be non-negative, got {arg}")
            data = np.zeros(int(arg), np.uint8)
        else:
            data = np.asarray([int(v) & 0xFF for v in arg], np.uint8)
        self._bytes = data
        self._device = CPU
        self._resizable = True
        self._shared = False

    @classmethod
    def _of(cls, data: np.ndarray, device: _device, shared: bool) -> "UntypedStorage":
        """The storage a tensor's array ``data`` views; NumPy owns it, so it cannot resize."""
        return cls._wrap(_bytes_of(data), device, shared)

    @classmethod
    def _wrap(cls, data: np.ndarray, device: _device, shared: bool = False) -> "UntypedStorage":
        storage = object.__new__(cls)
        storage._bytes = data
        storage._device = device
        storage._resizable = False
        storage._shared = shared
        return storage

    # ---- metadata ----
    @property
    def device(self) -> _device:
        return self._device

    @property
    def is_cuda(self) -> bool:
        return self._device.type == "cuda"

    def nbytes(self) -> int:
        return int(self._bytes.size)

    def size(self) -> int:
        return int(self._bytes.size)

    def __len__(self) -> int:
        return int(self._bytes.size)

    def element_size(self) -> int:
        return 1

    def data_ptr(self) -> int:
        return self._bytes.__array_interface__["data"][0]

    def untyped(self) -> "UntypedStorage":
        return self

    def type(self, dtype: Any = None, non_blocking: bool = False) -> str:
        return "deepseek.storage.UntypedStorage"

    def is_shared(self) -> bool:
        return self._shared

    def share_memory_(self) -> "UntypedStorage":
        """Mark the storage shared; deepseek moves no memory (see ``Tensor.share_memory_``)."""
        self._shared = True
        return self

    def is_pinned(self, device: Any = "cuda") -> bool:
        return False

    def resizable(self) -> bool:
        return self._resizable

    # ---- values ----
    def tolist(self) -> list:
        return self._bytes.tolist()

    def __iter__(self):
        return iter(self.tolist())

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            start, stop, step = i.indices(self.size())
            if step != 1:
                raise RuntimeError("[UntypedStorage] slices with steps are not supported")
            return UntypedStorage._wrap(self._bytes[start:max(start, stop)], self._device,
                                        self._shared)
        return int(self._bytes[_index(i, self.size(), "UntypedStorage")])

    def __setitem__(self, i: Any, value: Any) -> None:
        if not isinstance(i, slice):
            i = _index(i, self.size(), "UntypedStorage")
        self._bytes[i] = int(value) & 0xFF

    def fill_(self, value: Any) -> "UntypedStorage":
        self._bytes[...] = int(value) & 0xFF
        return self

    def copy_(self, source: Any, non_blocking: Optional[bool] = None) -> "UntypedStorage":
        """Copy ``source``'s bytes (a storage of the same number of bytes) into this one."""
        self._bytes[...] = _check_copy(self.nbytes(), source)
        return self

    def clone(self) -> "UntypedStorage":
        """A new, resizable storage holding a copy of these bytes."""
        out = UntypedStorage(0)
        out._bytes = self._bytes.copy()
        out._device = self._device
        return out

    def cpu(self) -> "UntypedStorage":
        return self

    def resize_(self, size: int) -> "UntypedStorage":
        """Grow or shrink to ``size`` bytes, keeping the leading ones (new bytes are zeros).

        Only a storage made by the constructor (or :meth:`clone`) and not yet under a tensor
        resizes: a tensor's storage is a NumPy buffer, which cannot move beneath the arrays
        that view it, as PyTorch refuses for a tensor from ``from_numpy``."""
        if not self._resizable:
            raise RuntimeError("Trying to resize storage that is not resizable (deepseek "
                               "storages viewed by tensors are NumPy buffers; resize the tensor "
                               "with Tensor.resize_, or clone() the storage first)")
        size = int(size)
        if size < 0:
            raise RuntimeError(f"[resize_] size must be non-negative, got {size}")
        grown = np.zeros(size, np.uint8)
        keep = min(size, self._bytes.size)
        grown[:keep] = self._bytes[:keep]
        self._bytes = grown
        return self

    def _typed(self, dtype: np.dtype) -> np.ndarray:
        """The whole elements of ``dtype`` this storage holds, as a flat view."""
        whole = self._bytes.size // dtype.itemsize * dtype.itemsize
        return self._bytes[:whole].view(dtype)

    def __repr__(self) -> str:
        return f"[deepseek.storage.UntypedStorage(device={self._device}) of size {self.size()}]"

    def __str__(self) -> str:
        body = "\n".join(f" {v}" for v in self.tolist())
        return (body + "\n" if body else "") + repr(self)


class TypedStorage:
    """Deprecated: a storage read as elements of one dtype (``torch.TypedStorage``).

    ``tensor.storage()`` gives one, with PyTorch's deprecation warning; prefer
    :meth:`Tensor.untyped_storage`. ``TypedStorage(n, dtype=...)`` makes ``n`` zeros,
    ``TypedStorage(sequence, dtype=...)`` holds its values, and
    ``TypedStorage(wrap_storage=untyped, dtype=...)`` reads an existing storage.
    """

    def __init__(self, *args: Any, dtype: Any = None, device: Any = None,
                 wrap_storage: Optional[UntypedStorage] = None, _internal: bool = False) -> None:
        if not _internal:
            _warn_typed()
        self.dtype = _dt.get_default_dtype() if dtype is None else _dt.to_dtype(dtype)
        if wrap_storage is not None:
            if args:
                raise RuntimeError("[TypedStorage] no positional arguments are allowed with "
                                   "wrap_storage")
            if not isinstance(wrap_storage, UntypedStorage):
                raise TypeError(f"[TypedStorage] wrap_storage must be an UntypedStorage, got "
                                f"{type(wrap_storage).__name__}")
            self._untyped = wrap_storage
            return
        if len(args) > 1:
            raise TypeError(f"[TypedStorage] expected a size or a sequence, got {len(args)} "
                            "arguments")
        arg = args[0] if args else 0
        if isinstance(arg, (int, np.integer)) and not isinstance(arg, bool):
            values = np.zeros(int(arg), self.dtype.np)
        else:
            values = np.asarray(list(arg)).astype(self.dtype.np)
        self._untyped = UntypedStorage(0, device=device)
        self._untyped._bytes = values.reshape(-1).view(np.uint8)

    @classmethod
    def _wrap(cls, untyped: UntypedStorage, dtype: _dt.dtype) -> "TypedStorage":
        return cls(wrap_storage=untyped, dtype=dtype, _internal=True)

    def _values(self) -> np.ndarray:
        return self._untyped._typed(self.dtype.np)

    # ---- metadata ----
    @property
    def device(self) -> _device:
        return self._untyped.device

    @property
    def is_cuda(self) -> bool:
        return self._untyped.is_cuda

    def untyped(self) -> UntypedStorage:
        return self._untyped

    def size(self) -> int:
        return self._untyped.nbytes() // self.dtype.itemsize

    def __len__(self) -> int:
        return self.size()

    def element_size(self) -> int:
        return self.dtype.itemsize

    def nbytes(self) -> int:
        return self._untyped.nbytes()

    def data_ptr(self) -> int:
        return self._untyped.data_ptr()

    def is_shared(self) -> bool:
        return self._untyped.is_shared()

    def share_memory_(self) -> "TypedStorage":
        self._untyped.share_memory_()
        return self

    def is_pinned(self, device: Any = "cuda") -> bool:
        return False

    def resizable(self) -> bool:
        return self._untyped.resizable()

    # ---- values ----
    def tolist(self) -> list:
        from .tensor import Tensor

        return Tensor._wrap(self._values()).tolist()

    def __iter__(self):
        return iter(self.tolist())

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            raise RuntimeError("slices are only supported in UntypedStorage.__getitem__")
        from .tensor import Tensor

        return Tensor._wrap(self._values()[_index(i, self.size(), "TypedStorage")]).item()

    def __setitem__(self, i: Any, value: Any) -> None:
        if not isinstance(i, slice):
            i = _index(i, self.size(), "TypedStorage")
        self._values()[i] = self._scalar(value)

    def _scalar(self, value: Any) -> Any:
        target = self.dtype.np
        if target.kind in "iu":
            info = np.iinfo(target)
            if isinstance(value, (int, np.integer)) and not info.min <= int(value) <= info.max:
                raise RuntimeError(f"value cannot be converted to type {self.dtype.name} "
                                   "without overflow")
        with np.errstate(over="ignore", invalid="ignore"):
            out = np.asarray(value).astype(target)
        if (target.kind == "f" and np.isinf(out) and not np.isinf(value)):
            raise RuntimeError(f"value cannot be converted to type {self.dtype.name} without "
                               "overflow")
        return out

    def fill_(self, value: Any) -> "TypedStorage":
        self._values()[...] = self._scalar(value)
        return self

    def copy_(self, source: Any, non_blocking: Optional[bool] = None) -> "TypedStorage":
        """Copy ``source``'s bytes (a storage of the same number of bytes) into this one."""
        self._untyped._bytes[...] = _check_copy(self.nbytes(), source)
        return self

    def clone(self) -> "TypedStorage":
        return TypedStorage._wrap(self._untyped.clone(), self.dtype)

    def cpu(self) -> "TypedStorage":
        return TypedStorage._wrap(self._untyped, self.dtype)

    def resize_(self, size: int) -> "TypedStorage":
        """Resize to ``size`` elements (see :meth:`UntypedStorage.resize_`)."""
        self._untyped.resize_(int(size) * self.dtype.itemsize)
        return self

    def __repr__(self) -> str:
        return (f"[deepseek.storage.TypedStorage(dtype={self.dtype}, device={self.device}) of "
                f"size {self.size()}]")

    def __str__(self) -> str:
        body = "\n".join(f" {v}" for v in self.tolist())
        return (body + "\n" if body else "") + repr(self)


def tensor_data(storage: Any, dtype: np.dtype, offset: int, size: Any,
                stride: Any) -> np.ndarray:
    """The array ``Tensor.set_(storage, offset, size, stride)`` views (offset in elements)."""
    from .tensor import _strided

    if isinstance(storage, TypedStorage):
        if storage.dtype.np != dtype:
            wanted = _dt.from_numpy_dtype(dtype)
            raise RuntimeError(f"[set_] Expected a Storage of type {wanted.name} or an "
                               f"UntypedStorage, but got type {storage.dtype.name}")
        storage = storage.untyped()
    storage._resizable = False  # a tensor now views its bytes
    flat = storage._typed(dtype)
    if size is None:
        size = (max(flat.size - int(offset), 0),)
    return _strided(flat, "set_", size, stride, int(offset))
