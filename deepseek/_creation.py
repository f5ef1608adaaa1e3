"""Tensor creation (tensor, zeros, arange, …) and conversion (``to``, ``type``, ``float`` …)."""

from __future__ import annotations

import builtins
import math
from typing import Any, Optional, Sequence

import numpy as np

from . import _memory_format as _mf, dtypes as _dt
from ._errors import op_error
from ._options import factory
from .backend import CPU, device as _device
from .ops._kernels import float8_astype
from .ops._opdef import tensor_method
from .tensor import Size, Tensor

__all__ = ["tensor", "as_tensor", "asarray", "from_numpy", "from_dlpack", "zeros", "ones", "full",
           "empty", "zeros_like", "ones_like", "full_like", "empty_like", "arange", "range",
           "linspace", "logspace", "eye", "scalar_tensor", "tril_indices", "triu_indices"]


def _device_of(device: Any) -> _device:
    if device is None:
        return CPU
    d = _device(device)
    if d.type != "cpu":
        from .backend import get_backend

        get_backend(d)  # raises a clear error for backends this build lacks
    return d


def _dtype_np(dtype: Any, default: Optional[np.dtype] = None) -> Optional[np.dtype]:
    if dtype is None:
        return default
    return _dt.to_dtype(dtype).np


def _finish(data: np.ndarray, device: Any, requires_grad: bool) -> Tensor:
    t = Tensor._wrap(data, _device_of(device))
    if requires_grad:
        t.requires_grad = True
    return t


def _infer_array(data: Any, dtype: Any = None) -> np.ndarray:
    """NumPy array for Python data, with PyTorch's default dtypes (floats become float32)
    unless ``dtype`` is given: then Python floats round once, to it."""
    if isinstance(data, Tensor):
        return data._data
    if isinstance(data, np.ndarray):
        return data
    if isinstance(data, (list, tuple)) and data and _has_tensors(data):
        data = _untensor(data)
    arr = np.asarray(data)
    if arr.dtype == np.float64 and not isinstance(data, np.generic):
        arr = arr.astype(_dt.get_default_dtype().np if dtype is None else dtype)
    elif arr.dtype == np.complex128 and not isinstance(data, np.generic):
        arr = arr.astype(_dt.get_default_dtype().to_complex().np if dtype is None else dtype)
    elif arr.dtype.kind in "iu" and not isinstance(data, np.generic) and arr.dtype != np.uint8:
        arr = arr.astype(np.int64)
    elif arr.dtype.kind not in "biufc" and arr.dtype not in _dt.EXTRA_FLOATS_NP:
        raise TypeError(f"[tensor] could not infer dtype of {type(data).__name__} "
                        f"(numpy dtype {arr.dtype})")
    return arr


def _has_tensors(data: Any) -> bool:
    first = data[0]
    while isinstance(first, (list, tuple)) and first:
        first = first[0]
    return isinstance(first, Tensor)


def _untensor(data: Any) -> Any:
    if isinstance(data, Tensor):
        return data._data
    if isinstance(data, (list, tuple)):
        return [_untensor(d) for d in data]
    return data


@factory(out=False)
def tensor(data: Any, *, dtype: Any = None, device: Any = None,
           requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (nested lists, scalars, arrays or tensors)."""
    d = _dtype_np(dtype)
    if d in _dt.FLOAT8_NP:  # through float32, rounded and saturated as the cast is
        return _finish(float8_astype(np.array(_infer_array(data), order="C"), d), device,
                       requires_grad)
    arr = np.array(_infer_array(data, d), dtype=d, copy=True, order="C")
    return _finish(arr, device, requires_grad)


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    """Convert ``data`` to a tensor, sharing memory with a NumPy array or tensor when possible."""
    if isinstance(data, Tensor):
        return data if dtype is None else data.to(dtype)
    if isinstance(data, np.ndarray):
        return _finish(data if dtype is None else data.astype(_dtype_np(dtype), copy=False),
                       device, False)
    return tensor(data, dtype=dtype, device=device)


def asarray(obj: Any, *, dtype: Any = None, device: Any = None, copy: Optional[bool] = None,
            requires_grad: bool = False) -> Tensor:
    """``obj`` as a tensor (``torch.asarray``): sharing its memory when it is a tensor or an
    array that already has the dtype, unless ``copy=True``; ``copy=False`` refuses a copy."""
    if copy:
        out = tensor(obj, dtype=dtype, device=device)
    else:
        out = as_tensor(obj, dtype=dtype, device=device)
        shares = isinstance(obj, (Tensor, np.ndarray)) and np.shares_memory(
            out._data, obj._data if isinstance(obj, Tensor) else obj)
        if copy is False and not shares:
            raise op_error(ValueError, "asarray", "can't alias the input with dtype "
                           f"{getattr(obj, 'dtype', type(obj).__name__)} into dtype "
                           f"{out.dtype} without a copy (copy=False)")
    return out.requires_grad_(True) if requires_grad else out


def from_numpy(ndarray: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``ndarray`` (its dtype kept)."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"[from_numpy] expected np.ndarray (got {type(ndarray).__name__})")
    _dt.from_numpy_dtype(ndarray.dtype)
    return Tensor._wrap(ndarray)


class _Capsule:
    """A DLPack capsule (``to_dlpack``'s result) as the ``__dlpack__`` object NumPy takes."""

    def __init__(self, capsule: Any) -> None:
        self.capsule = capsule

    def __dlpack__(self, **kwargs: Any) -> Any:
        return self.capsule

    def __dlpack_device__(self) -> tuple:
        return (1, 0)  # kDLCPU: a capsule does not say, and NumPy refuses any other


def from_dlpack(ext_tensor: Any) -> Tensor:
    """A tensor sharing memory with any object that implements ``__dlpack__``, or with the
    producer of a DLPack capsule."""
    if type(ext_tensor).__name__ == "PyCapsule":
        ext_tensor = _Capsule(ext_tensor)
    try:
        return from_numpy(np.from_dlpack(ext_tensor))
    except (TypeError, BufferError, RuntimeError) as e:
        raise op_error(RuntimeError, "from_dlpack", f"cannot share the memory of a "
                       f"{type(ext_tensor).__name__}: {e}") from None


def _size(size: tuple, keyword: Any = None) -> tuple:
    """The shape from ``f(2, 3)``, ``f((2, 3))`` or torch's keyword spelling ``f(size=(2, 3))``
    (``keyword``)."""
    if keyword is not None:
        if size:
            raise TypeError("[size] given both positionally and by keyword")
        size = (keyword,)
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for s in size:
        if not isinstance(s, (int, np.integer)) or isinstance(s, bool):
            raise TypeError(f"[size] expected a sequence of integers, got {type(s).__name__}")
        if s < 0:
            raise RuntimeError(f"[size] Trying to create tensor with negative dimension {s}: "
                               f"{list(size)}")
    return tuple(int(s) for s in size)


def _filled(fill: Any, size: tuple, dtype: Any, device: Any, requires_grad: bool,
            default: Optional[np.dtype] = None) -> Tensor:
    d = _dtype_np(dtype, default or _dt.get_default_dtype().np)
    if fill is not None and d in _dt.FLOAT8_NP:
        fill = float8_astype(np.asarray(fill, np.float32), d)
    arr = np.empty(_size(size), dtype=d) if fill is None else np.full(_size(size), fill, dtype=d)
    return _finish(arr, device, requires_grad)


@factory
def zeros(*shape: Any, size: Any = None, dtype: Any = None, device: Any = None,
          requires_grad: bool = False) -> Tensor:
    """A tensor of zeros of shape ``size`` (given positionally or by keyword)."""
    d = _dtype_np(dtype, _dt.get_default_dtype().np)
    return _finish(np.zeros(_size(shape, size), dtype=d), device, requires_grad)


@factory
def ones(*shape: Any, size: Any = None, dtype: Any = None, device: Any = None,
         requires_grad: bool = False) -> Tensor:
    """A tensor of ones of shape ``size`` (given positionally or by keyword)."""
    return _filled(1, _size(shape, size), dtype, device, requires_grad)


@factory
def empty(*shape: Any, size: Any = None, dtype: Any = None, device: Any = None,
          requires_grad: bool = False, memory_format: Any = None) -> Tensor:
    """An uninitialized tensor of shape ``size`` (given positionally or by keyword), laid out
    in ``memory_format`` (``channels_last``: NHWC strides on an NCHW shape)."""
    shape = _size(shape, size)
    if memory_format is not None:
        d = _dtype_np(dtype, _dt.get_default_dtype().np)
        return _finish(_mf.empty(shape, d, memory_format), device, requires_grad)
    return _filled(None, shape, dtype, device, requires_grad)


@factory(out=False)
def empty_strided(size: Sequence[int], stride: Sequence[int], *, dtype: Any = None,
                  device: Any = None, requires_grad: bool = False) -> Tensor:
    """An uninitialized tensor of shape ``size`` with element strides ``stride``, on storage
    just large enough for them.

    Example:
        >>> deepseek.empty_strided((2, 3), (1, 2)).stride()
        (1, 2)
    """
    size, stride = _size((tuple(size),)), tuple(int(s) for s in stride)
    if len(size) != len(stride):
        raise RuntimeError(f"[empty_strided] mismatch in length of strides and shape: size "
                           f"{list(size)}, stride {list(stride)}")
    if any(s < 0 for s in stride):
        raise RuntimeError(f"[empty_strided] strides must be non-negative, got {list(stride)}")
    d = _dtype_np(dtype, _dt.get_default_dtype().np)
    n = 0 if 0 in size else 1 + builtins.sum((k - 1) * s for k, s in zip(size, stride))
    flat = np.empty(n, d)
    arr = np.lib.stride_tricks.as_strided(flat, size, tuple(s * flat.itemsize for s in stride))
    return _finish(arr, device, requires_grad)


@factory(out=False)
def empty_permuted(size: Sequence[int], physical_layout: Sequence[int], *, dtype: Any = None,
                   device: Any = None, requires_grad: bool = False) -> Tensor:
    """An uninitialized tensor of shape ``size`` whose dims lie in memory in the order
    ``physical_layout`` (outermost first): ``(0, 2, 3, 1)`` is channels_last.

    Example:
        >>> deepseek.empty_permuted((2, 3, 5, 7), (0, 2, 3, 1)).stride()
        (105, 1, 21, 3)
    """
    size, order = _size((tuple(size),)), tuple(int(d) for d in physical_layout)
    if len(order) != len(size):
        raise RuntimeError(f"[empty_permuted] Number of dimensions in size does not match the "
                           f"length of the physical_layout; i.e. len(size) = {len(size)} is not "
                           f"equal to len(physical_layout) = {len(order)}")
    if len(set(order)) != len(order) or any(not 0 <= d < len(size) for d in order):
        raise RuntimeError(f"[empty_permuted] Duplicate dim not allowed (physical_layout "
                           f"{list(order)} must be a permutation of the dims)")
    d = _dtype_np(dtype, _dt.get_default_dtype().np)
    physical = np.empty(tuple(size[i] for i in order), d)
    return _finish(np.transpose(physical, np.argsort(order)), device, requires_grad)


def frombuffer(buffer: Any, *, dtype: Any, count: int = -1, offset: int = 0,
               requires_grad: bool = False) -> Tensor:
    """A 1-d tensor sharing memory with an object that exposes the buffer protocol: ``count``
    elements of ``dtype`` (all that fit when -1) starting ``offset`` bytes in.

    Example:
        >>> deepseek.frombuffer(bytearray(8), dtype=deepseek.int16, count=2, offset=2)
        tensor([0, 0], dtype=deepseek.int16)
    """
    d = _dt.to_dtype(dtype).np
    size = memoryview(buffer).nbytes
    if offset < 0 or (size > 0 and offset >= size):
        raise ValueError(f"[frombuffer] offset ({offset} bytes) must be non-negative and no "
                         f"greater than buffer length ({size} bytes) minus 1")
    if count == 0 or (count < 0 and (size - offset) % d.itemsize):
        raise ValueError(f"[frombuffer] both buffer length ({size}) and offset ({offset}) must be "
                         f"a multiple of element size ({d.itemsize}); or count must be given "
                         "and positive")
    if count > 0 and count * d.itemsize > size - offset:
        raise ValueError(f"[frombuffer] requested buffer length ({count} * {d.itemsize} bytes) "
                         f"after offset ({offset} bytes) must not be greater than actual buffer "
                         f"length ({size} bytes)")
    arr = np.frombuffer(buffer, dtype=d, count=count, offset=offset)
    return _finish(arr, None, requires_grad)


@factory
def full(size: Sequence[int], fill_value: Any, *, dtype: Any = None, device: Any = None,
         requires_grad: bool = False) -> Tensor:
    """A tensor of shape ``size`` filled with ``fill_value`` (dtype inferred from it)."""
    default = (np.dtype(np.bool_) if isinstance(fill_value, bool) else np.dtype(np.int64)
               if isinstance(fill_value, int) else _dt.get_default_dtype().to_complex().np
               if isinstance(fill_value, complex) else None)
    return _filled(fill_value, (tuple(size),), dtype, device, requires_grad, default)


def _like(input: Tensor, dtype: Any) -> tuple:
    return (dtype if dtype is not None else input.dtype), input._device


def _filled_like(input: Tensor, fill: Any, dtype: Any, device: Any, requires_grad: bool,
                 memory_format: Any) -> Tensor:
    """``*_like``: ``memory_format=preserve_format`` (the default) keeps ``input``'s dense
    strides, else the format they suggest (``channels_last`` or contiguous), as PyTorch."""
    d, dev = _like(input, dtype)
    arr = _mf.empty_like(input._data, _dt.to_dtype(d).np, memory_format)
    if fill is not None:
        arr[...] = float8_astype(np.asarray(fill, np.float32), arr.dtype) if (
            arr.dtype in _dt.FLOAT8_NP) else fill
    return _finish(arr, device or dev, requires_grad)


@factory(out=False)
def zeros_like(input: Tensor, *, dtype: Any = None, device: Any = None,
               requires_grad: bool = False, memory_format: Any = None) -> Tensor:
    return _filled_like(input, 0, dtype, device, requires_grad, memory_format)


@factory(out=False)
def ones_like(input: Tensor, *, dtype: Any = None, device: Any = None,
              requires_grad: bool = False, memory_format: Any = None) -> Tensor:
    return _filled_like(input, 1, dtype, device, requires_grad, memory_format)


@factory(out=False)
def empty_like(input: Tensor, *, dtype: Any = None, device: Any = None,
               requires_grad: bool = False, memory_format: Any = None) -> Tensor:
    return _filled_like(input, None, dtype, device, requires_grad, memory_format)


@factory(out=False)
def full_like(input: Tensor, fill_value: Any, *, dtype: Any = None, device: Any = None,
              requires_grad: bool = False, memory_format: Any = None) -> Tensor:
    d = dtype if dtype is not None else input.dtype
    return _filled_like(input, fill_value, d, device, requires_grad, memory_format)


@factory(out=False)
def scalar_tensor(s: Any, *, dtype: Any = None, device: Any = None,
                  requires_grad: bool = False) -> Tensor:
    return full((), s, dtype=dtype or _dt.get_default_dtype(), device=device,
                requires_grad=requires_grad)


def _number(name: str, v: Any) -> Any:
    if isinstance(v, Tensor):
        return v.item()
    if not isinstance(v, (int, float, np.number)) or isinstance(v, bool):
        raise TypeError(f"[{name}] expected a number, got {type(v).__name__}")
    return v


@factory
def arange(start: Any = 0, end: Any = None, step: Any = 1, *, dtype: Any = None,
           device: Any = None, requires_grad: bool = False) -> Tensor:
    """Values from ``start`` up to (not including) ``end`` by ``step``."""
    if end is None:
        start, end = 0, start
    start, end, step = (_number("arange", v) for v in (start, end, step))
    if step == 0:
        raise RuntimeError("[arange] step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError(f"[arange] upper bound and larger bound inconsistent with step sign "
                           f"(start={start}, end={end}, step={step})")
    is_int = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
    d = _dtype_np(dtype, np.dtype(np.int64) if is_int else _dt.get_default_dtype().np)
    n = max(int(math.ceil((end - start) / step)), 0)
    arr = (start + np.arange(n, dtype=np.float64) * step) if not is_int else np.arange(
        start, end, step, dtype=np.int64)
    return _finish(arr.astype(d), device, requires_grad)


@factory
def range(start: Any = 0, end: Any = None, step: Any = 1, *, dtype: Any = None,
          device: Any = None, requires_grad: bool = False) -> Tensor:
    """Deprecated in PyTorch: like ``arange`` but including ``end``; float by default."""
    n = int(math.floor((end - start) / step)) + 1
    arr = start + np.arange(n, dtype=np.float64) * step
    return _finish(arr.astype(_dtype_np(dtype, _dt.get_default_dtype().np)), device,
                   requires_grad)


@factory
def linspace(start: Any, end: Any, steps: int, *, dtype: Any = None, device: Any = None,
             requires_grad: bool = False) -> Tensor:
    """``steps`` values evenly spaced from ``start`` to ``end`` inclusive."""
    if steps < 0:
        raise RuntimeError("[linspace] number of steps must be non-negative")
    start, end = _number("linspace", start), _number("linspace", end)
    d = _dtype_np(dtype, _dt.get_default_dtype().np)
    arr = np.linspace(start, end, steps, dtype=np.float64)
    if steps > 1:
        # PyTorch's kernel: the step in the dtype itself, ``start + step * i`` (fused, one
        # rounding, emulated in a wider type for float32/64; each operation rounded for
        # float16/bfloat16) and the second half filled back from ``end``
        idx = np.arange(steps)
        up, down = idx, steps - 1 - idx
        if d.kind == "f" or d == _dt.bfloat16.np:
            t = d.type
            step = t(t(end) - t(start)) / t(steps - 1)
            wide = {np.float64: np.longdouble, np.float32: np.float64}.get(d.type, d.type)
            step, start, end = wide(step), wide(t(start)), wide(t(end))
            up, down = up.astype(wide), down.astype(wide)
        else:
            step = (end - start) / (steps - 1)
        arr = np.where(idx < steps // 2, start + step * up, end - step * down)
    if d.kind in "iu":
        arr = np.trunc(arr)
    return _finish(arr.astype(d), device, requires_grad)


@factory
def logspace(start: Any, end: Any, steps: int, base: float = 10.0, *, dtype: Any = None,
             device: Any = None, requires_grad: bool = False) -> Tensor:
    """``base ** linspace(start, end, steps)``."""
    exps = np.linspace(float(start), float(end), steps, dtype=np.float64)
    return _finish(np.power(base, exps).astype(_dtype_np(dtype, _dt.get_default_dtype().np)),
                   device, requires_grad)


@factory
def eye(n: int, m: Optional[int] = None, *, dtype: Any = None, device: Any = None,
        requires_grad: bool = False) -> Tensor:
    """A 2-d tensor with ones on the diagonal."""
    if n < 0 or (m is not None and m < 0):
        raise RuntimeError(f"[eye] n and m must be non-negative, got n={n}, m={m}")
    return _finish(np.eye(n, m, dtype=_dtype_np(dtype, _dt.get_default_dtype().np)), device,
                   requires_grad)


@factory(out=False)
def tril_indices(row: int, col: int, offset: int = 0, *, dtype: Any = None,
                 device: Any = None) -> Tensor:
    r, c = np.tril_indices(row, offset, col)
    return _finish(np.stack([r, c]).astype(_dtype_np(dtype, np.dtype(np.int64))), device, False)


@factory(out=False)
def triu_indices(row: int, col: int, offset: int = 0, *, dtype: Any = None,
                 device: Any = None) -> Tensor:
    r, c = np.triu_indices(row, offset, col)
    return _finish(np.stack([r, c]).astype(_dtype_np(dtype, np.dtype(np.int64))), device, False)


# ---------------------------------------------------------------- Tensor.new_* and conversion
@tensor_method
@factory(out=False)
def new_tensor(self: Tensor, data: Any, *, dtype: Any = None, device: Any = None,
               requires_grad: bool = False) -> Tensor:
    return tensor(data, dtype=dtype or self.dtype, device=device or self._device,
                  requires_grad=requires_grad)


@tensor_method
@factory(out=False)
def new_zeros(self: Tensor, *shape: Any, size: Any = None, dtype: Any = None,
              device: Any = None, requires_grad: bool = False) -> Tensor:
    return zeros(*shape, size=size, dtype=dtype or self.dtype, device=device or self._device,
                 requires_grad=requires_grad)


@tensor_method
@factory(out=False)
def new_ones(self: Tensor, *shape: Any, size: Any = None, dtype: Any = None,
             device: Any = None, requires_grad: bool = False) -> Tensor:
    return ones(*shape, size=size, dtype=dtype or self.dtype, device=device or self._device,
                requires_grad=requires_grad)


@tensor_method
@factory(out=False)
def new_empty(self: Tensor, *shape: Any, size: Any = None, dtype: Any = None,
              device: Any = None, requires_grad: bool = False) -> Tensor:
    return empty(*shape, size=size, dtype=dtype or self.dtype, device=device or self._device,
                 requires_grad=requires_grad)


@tensor_method
@factory(out=False)
def new_empty_strided(self: Tensor, size: Sequence[int], stride: Sequence[int],
                      dtype: Any = None, device: Any = None,
                      requires_grad: bool = False) -> Tensor:
    """:func:`empty_strided` with ``self``'s dtype and device unless given.

    Example:
        >>> deepseek.zeros(1).new_empty_strided((2, 3), (1, 2)).stride()
        (1, 2)
    """
    return empty_strided(size, stride, dtype=dtype or self.dtype, device=device or self._device,
                         requires_grad=requires_grad)


@tensor_method
@factory(out=False)
def new_full(self: Tensor, size: Sequence[int], fill_value: Any, *, dtype: Any = None,
             device: Any = None, requires_grad: bool = False) -> Tensor:
    return full(size, fill_value, dtype=dtype or self.dtype, device=device or self._device,
                requires_grad=requires_grad)


def _parse_to(args: tuple, kwargs: dict) -> tuple:
    dev, dtype = kwargs.get("device"), kwargs.get("dtype")
    for a in args:
        if isinstance(a, Tensor):
            dev, dtype = a._device, a.dtype
        elif (isinstance(a, (_dt.dtype, builtins.type, np.dtype))
              or (isinstance(a, str) and a in _dt.BY_NAME)):
            dtype = a
        elif a is not None:
            dev = a
    return (None if dev is None else _device_of(dev)), (None if dtype is None
                                                        else _dt.to_dtype(dtype))


@tensor_method
def to(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
    """This tensor on another device and/or dtype; itself when nothing changes."""
    dev, dtype = _parse_to(args, kwargs)
    out = self
    if dtype is not None and dtype.np != self._data.dtype:
        from .ops.elementwise import to_dtype

        out = to_dtype(out, dtype.np, discard_imag=True)
    if dev is not None and dev != out._device:
        raise op_error(RuntimeError, "to", f"moving tensors to {dev} needs its backend, which "
                       "this build lacks")
    memory_format = kwargs.get("memory_format")
    if memory_format is not None:
        out = _mf.convert(out, memory_format)
    if kwargs.get("copy") and out is self:
        out = self.clone()
    return out


@tensor_method
def cpu(self: Tensor, memory_format: Any = None) -> Tensor:
    return to(self, CPU)


@tensor_method
def cuda(self: Tensor, device: Any = None, non_blocking: bool = False,
         memory_format: Any = None) -> Tensor:
    """This tensor on a CUDA device (``cuda`` or ``cuda:N``)."""
    return to(self, _device("cuda" if device is None else device))


@tensor_method
def pin_memory(self: Tensor, device: Any = None) -> Tensor:
    """Page-locked host memory speeds copies to an accelerator; there is none to copy to."""
    raise op_error(RuntimeError, "pin_memory", "Cannot access accelerator device when none is "
                   "available: pinned memory needs a CUDA backend, which this build lacks")


@tensor_method
def is_pinned(self: Tensor, device: Any = None) -> bool:
    return False


@tensor_method(name="type")
def tensor_type(self: Tensor, dtype: Any = None, non_blocking: bool = False) -> Any:
    """With no argument, PyTorch's type string (``'torch.FloatTensor'``); else a cast."""
    if dtype is None:
        return f"torch.{_dt.torch_name(self.dtype)}Tensor"
    if isinstance(dtype, str) and dtype.endswith("Tensor"):
        by_torch_name = {v: k for k, v in _dt.TORCH_NAMES.items()}
        dtype = by_torch_name[dtype.split(".")[-1][:-len("Tensor")]]
    elif isinstance(dtype, _LegacyType):  # x.type(torch.LongTensor)
        dtype = dtype.dtype
    return to(self, dtype)


def _caster(d: _dt.dtype, name: str):
    def cast(self: Tensor, memory_format: Any = None) -> Tensor:
        return to(self, d)

    cast.__name__ = cast.__qualname__ = name
    cast.__doc__ = f"``self.to({d})``"
    return cast


for _name, _d in (("float", _dt.float32), ("double", _dt.float64), ("half", _dt.float16),
                  ("bfloat16", _dt.bfloat16), ("long", _dt.int64), ("int", _dt.int32),
                  ("short", _dt.int16), ("char", _dt.int8), ("byte", _dt.uint8),
                  ("bool", _dt.bool_), ("cfloat", _dt.complex64), ("cdouble", _dt.complex128)):
    tensor_method(_caster(_d, _name))


@tensor_method
def type_as(self: Tensor, other: Tensor) -> Tensor:
    return to(self, other.dtype)


def _legacy_new(self: Tensor, args: tuple, kwargs: dict) -> None:
    if len(args) == 1 and not isinstance(args[0], (int, np.integer)):
        data = np.array(_infer_array(args[0]), dtype=np.float32)
    else:
        data = np.empty(_size(args), dtype=np.float32)
    fresh = Tensor._wrap(data)
    for slot in ("_data", "_device", "_requires_grad", "grad_fn", "_version_box"):
        setattr(self, slot, getattr(fresh, slot))


class _LegacyType(type):
    """``torch.FloatTensor`` and friends: calling one makes a tensor of its dtype (from data,
    or uninitialized of a shape); ``isinstance`` checks the dtype."""

    dtype: _dt.dtype

    def __call__(cls, *args: Any, device: Any = None) -> Tensor:
        if len(args) == 1 and not isinstance(args[0], (int, np.integer, Size)):
            return tensor(args[0], dtype=cls.dtype, device=device)
        return empty(*(args or (0,)), dtype=cls.dtype, device=device)

    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, Tensor) and obj.dtype is cls.dtype


LEGACY_TYPES = {f"{_dt.torch_name(d)}Tensor": _LegacyType(f"{_dt.torch_name(d)}Tensor", (),
                                                          {"dtype": d})
                for d in _dt.ALL if not d.is_complex}


def set_default_tensor_type(t: Any) -> None:
    """Deprecated ``torch.set_default_tensor_type``: the default dtype (and, for a
    ``'torch.cuda.*'`` name, the default device) from a legacy type or its name."""
    import warnings

    from ._settings import set_default_device

    warnings.warn("torch.set_default_tensor_type() is deprecated as of PyTorch 2.1, please use "
                  "torch.set_default_dtype() and torch.set_default_device() as alternatives.",
                  UserWarning, stacklevel=2)
    if isinstance(t, str):
        parts = t.split(".")
        if parts[0] != "torch" or parts[-1] not in LEGACY_TYPES:
            raise TypeError(f"invalid type: '{t}'")
        if "cuda" in parts[1:-1]:
            set_default_device("cuda")
        t = LEGACY_TYPES[parts[-1]]
    if not isinstance(t, _LegacyType):
        raise TypeError("invalid type object: only floating-point types are supported as the "
                        "default type")
    _dt.set_default_dtype(t.dtype)
