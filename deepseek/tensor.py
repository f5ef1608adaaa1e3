"""The Tensor: an array on a device plus autograd state. Op methods are bound from ``ops/``."""

from __future__ import annotations

import weakref
from typing import Any, Callable, Iterator, Optional

import numpy as np

from . import dtypes as _dt
from .backend import CPU, device as _device

__all__ = ["Tensor", "Size"]


class Size(tuple):
    """A tensor's shape: a tuple with ``numel()`` (``torch.Size``)."""

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n

    def __repr__(self) -> str:
        return f"deepseek.Size({list(self)})"

    def __getitem__(self, item):
        out = tuple.__getitem__(self, item)
        return Size(out) if isinstance(item, slice) else out


class Tensor:
    """A multi-dimensional array with automatic differentiation, as ``torch.Tensor``."""

    __slots__ = ("_data", "_device", "_requires_grad", "grad_fn", "_version_box", "__weakref__",
                 "__dict__")
    # Rarely set per tensor, so class defaults keep Tensor._wrap (the hot path) short.
    grad: Optional["Tensor"] = None
    _base: Optional["Tensor"] = None  # the tensor whose storage this view shares
    _hooks: Optional[list] = None
    _post_hooks: Optional[list] = None
    _shared = False  # share_memory_ was called

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Tensor(data) / Tensor(2, 3) as in PyTorch's legacy constructor: float32 by default
        from ._creation import _legacy_new

        _legacy_new(self, args, kwargs)

    @classmethod
    def _wrap(cls, data: np.ndarray, device: _device = CPU) -> "Tensor":
        t = object.__new__(cls)  # not cls.__new__: subclasses (Parameter) define their own
        t._data = data
        t._device = device
        t._requires_grad = False
        t.grad_fn = None
        t._version_box = [0]
        return t

    # ---- metadata ----
    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    def size(self, dim: Optional[int] = None):
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[self._wrap_dim(dim, "size")]

    @property
    def dtype(self) -> _dt.dtype:
        return _dt.from_numpy_dtype(self._data.dtype)

    @property
    def device(self) -> _device:
        return self._device

    @property
    def is_cuda(self) -> bool:
        return self._device.type == "cuda"

    @property
    def is_cpu(self) -> bool:
        return self._device.type == "cpu"

    @property
    def is_meta(self) -> bool:
        return self._device.type == "meta"

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def T(self) -> "Tensor":
        return self.permute(tuple(range(self.ndim - 1, -1, -1)))

    @property
    def mT(self) -> "Tensor":
        return self.transpose(-2, -1)

    @property
    def H(self) -> "Tensor":
        return self.T.conj()

    @property
    def mH(self) -> "Tensor":
        return self.mT.conj()

    def adjoint(self) -> "Tensor":
        return self.mT.conj()

    @property
    def real(self) -> "Tensor":
        """The real part: a view of a complex tensor's storage, or the tensor itself if real."""
        from .ops.complex import real

        return real(self)

    @real.setter
    def real(self, value: Any) -> None:
        self.real.copy_(value)

    @property
    def imag(self) -> "Tensor":
        """The imaginary part of a complex tensor, a view of its storage."""
        from .ops.complex import imag

        return imag(self)

    @imag.setter
    def imag(self, value: Any) -> None:
        self.imag.copy_(value)

    def dim(self) -> int:
        return self._data.ndim

    ndimension = dim

    def numel(self) -> int:
        return int(self._data.size)

    nelement = numel

    def element_size(self) -> int:
        return self._data.itemsize

    @property
    def itemsize(self) -> int:
        return self._data.itemsize

    @property
    def nbytes(self) -> int:
        return int(self._data.nbytes)

    def stride(self, dim: Optional[int] = None):
        item = self._data.itemsize
        strides = tuple(s // item for s in self._data.strides)
        return strides if dim is None else strides[self._wrap_dim(dim, "stride")]

    def storage_offset(self) -> int:
        """Where the first element lies in :meth:`untyped_storage`, in elements."""
        from ._storage import storage_offset

        return storage_offset(self._data)

    def untyped_storage(self) -> Any:
        """The whole buffer this tensor's memory lies in, as bytes (``UntypedStorage``); views
        of one buffer give storages with equal ``data_ptr()``."""
        from ._storage import UntypedStorage

        return UntypedStorage._of(self._data, self._device, self.is_shared())

    def storage(self) -> Any:
        """Deprecated: :meth:`untyped_storage` read as this tensor's dtype (``TypedStorage``)."""
        from ._storage import TypedStorage, _warn_typed

        _warn_typed()
        return TypedStorage._wrap(self.untyped_storage(), self.dtype)

    def data_ptr(self) -> int:
        return self._data.__array_interface__["data"][0]

    def is_contiguous(self, memory_format: Any = None) -> bool:
        if memory_format is None:
            return bool(self._data.flags.c_contiguous)
        from ._memory_format import is_contiguous

        return is_contiguous(self._data, memory_format)

    def const_data_ptr(self) -> int:
        """The address of the first element, for reading (:meth:`data_ptr`)."""
        return self.data_ptr()

    def dim_order(self, *, ambiguity_check: Any = False) -> tuple:
        """The dims from outermost to innermost in memory (``(0, 2, 3, 1)`` for channels_last).

        ``ambiguity_check=True`` raises RuntimeError when the order is not unique (size-1 dims,
        equal strides); a list of memory formats accepts a tensor that is contiguous in
        exactly one of them.
        """
        from ._memory_format import memory_format

        formats = []
        if not isinstance(ambiguity_check, bool):
            if not isinstance(ambiguity_check, list) or not all(
                    isinstance(f, memory_format) for f in ambiguity_check):
                raise TypeError("[dim_order] The ambiguity_check argument must be a bool or a "
                                "list of memory formats.")
            formats = ambiguity_check
        sizes, strides = self.shape, self.stride()
        if ambiguity_check is not False:
            several = (any(a == b for a, b in zip(strides, strides[1:]))
                       or any(n == 1 for n in sizes))
            if several and sum(self.is_contiguous(memory_format=f) for f in formats) != 1:
                raise RuntimeError("[dim_order] The tensor does not have unique dim order, or "
                                   "cannot map to exact one of the given memory formats.")
        return _dim_order(sizes, strides)

    @property
    def output_nr(self) -> int:
        """Which output of its ``grad_fn`` this tensor is: always 0, since every deepseek graph
        node has one output (PyTorch numbers the outputs of ``unbind``, ``split``, ``svd``)."""
        return 0

    def share_memory_(self) -> "Tensor":
        """Mark the tensor as shared and return it. deepseek moves no memory: its CPU tensors
        live in this process, and :mod:`deepseek.multiprocessing` copies tensors it sends.
        Afterwards :meth:`is_shared` says True, as PyTorch does for a CPU tensor."""
        self._shared = True
        return self

    def is_shared(self) -> bool:
        """Whether :meth:`share_memory_` was called on this tensor or the one it views."""
        return self._shared or (self._base is not None and self._base._shared)

    def is_set_to(self, tensor: "Tensor") -> bool:
        """Whether both tensors view the same memory with the same sizes and strides."""
        a, b = self._data, tensor._data
        return (a.__array_interface__["data"][0] == b.__array_interface__["data"][0]
                and a.shape == b.shape and a.strides == b.strides and a.dtype == b.dtype
                and self._device == tensor._device)

    def set_(self, source: Optional["Tensor"] = None, storage_offset: int = 0,
             size: Any = None, stride: Any = None) -> "Tensor":
        """Make this tensor view ``source``'s memory (no copy): all of it, or ``size`` with
        ``stride`` (in elements) from ``storage_offset`` of its contiguous data; ``set_()``
        leaves an empty tensor. Writes through either tensor show in both. ``source`` may be a
        storage (``untyped_storage()``), whose ``storage_offset`` counts from its start."""
        from ._storage import TypedStorage, UntypedStorage, tensor_data

        self._refuse_resize("set_")
        if source is None:
            data = np.empty((0,), self._data.dtype)
        elif isinstance(source, (UntypedStorage, TypedStorage)):
            data = tensor_data(source, self._data.dtype, storage_offset, size, stride)
            self._device = source.device
            self._base = None
        else:
            if not isinstance(source, Tensor):
                raise TypeError(f"[set_] expected a Tensor or storage source, got "
                                f"{type(source).__name__}")
            if source._data.dtype != self._data.dtype:
                raise RuntimeError(f"[set_] Could not set tensor of type {self.dtype.name} to a "
                                   f"tensor of type {source.dtype.name}")
            data = source._data
            if size is not None:
                data = _strided(data, "set_", size, stride, storage_offset)
            self._device = source._device
        self._data = data
        self._version_box[0] += 1
        return self

    def _refuse_resize(self, op: str) -> None:
        if self._requires_grad:
            raise RuntimeError(f"[{op}] cannot resize variables that require grad")

    def resize_(self, *sizes: Any, memory_format: Any = None) -> "Tensor":
        """Give this tensor the shape ``sizes``, contiguous, keeping its elements in memory
        order; new elements (when it grows) are zeros, where PyTorch leaves them
        uninitialized. A same-shape resize keeps the strides."""
        self._refuse_resize("resize_")
        if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
            sizes = tuple(sizes[0])
        shape = tuple(int(n) for n in sizes)
        if any(n < 0 for n in shape):
            raise RuntimeError(f"[resize_] Trying to create tensor with negative dimension: "
                               f"{list(shape)}")
        if shape != self._data.shape:
            n = int(np.prod(shape, dtype=np.int64))
            flat = _storage_from(self._data)
            if n <= flat.size:
                self._data = flat[:n].reshape(shape)
            else:
                grown = np.zeros(n, flat.dtype)
                grown[:flat.size] = flat
                self._data = grown.reshape(shape)
                self._base = None
        if memory_format is not None:
            from ._memory_format import contiguous

            self._data = contiguous(Tensor._wrap(self._data), memory_format)._data
        self._version_box[0] += 1
        return self

    def resize_as_(self, the_template: "Tensor", memory_format: Any = None) -> "Tensor":
        """:meth:`resize_` to ``the_template``'s shape."""
        return self.resize_(tuple(the_template.shape), memory_format=memory_format)

    def resize(self, *sizes: Any) -> "Tensor":
        """Deprecated out-of-place resize: a reshape to ``sizes`` (same number of elements)."""
        import warnings

        warnings.warn("non-inplace resize is deprecated", stacklevel=2)
        return self.reshape(*sizes)

    def resize_as(self, tensor: "Tensor") -> "Tensor":
        """Deprecated out-of-place resize to ``tensor``'s shape (same number of elements)."""
        import warnings

        warnings.warn("non-inplace resize_as is deprecated", stacklevel=2)
        return self.reshape(tuple(tensor.shape))

    @property
    def layout(self) -> Any:
        from ._memory_format import strided

        return strided

    is_sparse = False  # deepseek.sparse.SparseTensor says True

    def to_sparse(self, sparse_dim: Optional[int] = None) -> "Tensor":
        """This tensor in sparse COO layout (its nonzeros); see :mod:`deepseek.sparse`."""
        from .sparse._functions import to_sparse

        return to_sparse(self, sparse_dim)

    def to_dense(self, dtype: Any = None, *, masked_grad: Optional[bool] = None) -> "Tensor":
        """A dense tensor is already dense: itself (or cast to ``dtype``)."""
        return self if dtype is None else self.to(dtype)

    def is_floating_point(self) -> bool:
        return self._data.dtype.kind == "f" or self._data.dtype in _dt.EXTRA_FLOATS_NP

    def is_complex(self) -> bool:
        return self._data.dtype.kind == "c"

    def is_signed(self) -> bool:
        return self.dtype.is_signed

    def is_same_size(self, other: "Tensor") -> bool:
        return self.shape == other.shape

    def get_device(self) -> int:
        """The CUDA device index, or -1 for a CPU tensor."""
        return -1 if self._device.index is None else self._device.index

    def _wrap_dim(self, dim: int, op: str) -> int:
        n = max(self._data.ndim, 1)
        if not -n <= dim < n:
            raise IndexError(f"[{op}] Dimension out of range (expected to be in range of "
                             f"[{-n}, {n - 1}], but got {dim})")
        return dim % n

    # ---- autograd state ----
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if self.grad_fn is not None and not value:
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables. If you want to use a "
                "computed variable in a subgraph that doesn't require differentiation use "
                "var_no_grad = var.detach().")
        if value and not (self.is_floating_point() or self.is_complex()):
            raise RuntimeError("only Tensors of floating point and complex dtype can require "
                               f"gradients (got {self.dtype.name})")
        self._requires_grad = bool(value)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        self.requires_grad = requires_grad
        return self

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def _version(self) -> int:
        return self._version_box[0]

    @property
    def data(self) -> "Tensor":
        t = Tensor._wrap(self._data, self._device)
        t._version_box = self._version_box
        return t

    @data.setter
    def data(self, value: "Tensor") -> None:
        self._data = value._data
        self._device = value._device

    def detach(self) -> "Tensor":
        """A tensor sharing this one's data, outside the autograd graph."""
        t = Tensor._wrap(self._data, self._device)
        t._version_box = self._version_box
        t._base = self._base
        return t

    def detach_(self) -> "Tensor":
        self.grad_fn = None
        self._requires_grad = False
        return self

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor after backward."""
        if not self._requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self.grad_fn is not None:
            self.grad_fn.retained = weakref.ref(self)

    @property
    def retains_grad(self) -> bool:
        return self.grad_fn is not None and self.grad_fn.retained is not None

    def register_hook(self, hook: Callable) -> "_RemovableHandle":
        """Call ``hook(grad)`` when this tensor's gradient is computed; a non-None return
        replaces the gradient."""
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is not None:
            self.grad_fn.register_hook(hook)
            return _RemovableHandle(self.grad_fn.hooks, hook)
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(hook)
        return _RemovableHandle(self._hooks, hook)

    def register_post_accumulate_grad_hook(self, hook: Callable) -> "_RemovableHandle":
        """Call ``hook(tensor)`` after a gradient is accumulated into this leaf's ``.grad``."""
        if self.grad_fn is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf "
                               "tensors")
        if self._post_hooks is None:
            self._post_hooks = []
        self._post_hooks.append(hook)
        return _RemovableHandle(self._post_hooks, hook)

    def backward(self, gradient: Optional["Tensor"] = None, retain_graph: Optional[bool] = None,
                 create_graph: bool = False, inputs: Any = None) -> None:
        """Accumulate the gradient of this tensor into the leaves' ``.grad``."""
        from .autograd import backward

        backward(self, gradient, retain_graph, create_graph, inputs=inputs)

    # ---- conversion ----
    def numpy(self, *, force: bool = False) -> np.ndarray:
        if self._requires_grad and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. "
                               "Use tensor.detach().numpy() instead.")
        return self._data if self._device.type == "cpu" else self._to_host()

    def _to_host(self) -> np.ndarray:
        from .backend import get_backend

        return get_backend(self._device).to_host(self._data)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        a = self._data if self._device.type == "cpu" else self._to_host()
        return a if dtype is None else a.astype(dtype, copy=False)

    def __dlpack__(self, *args: Any, **kwargs: Any):
        return self._data.__dlpack__(*args, **kwargs)

    def __dlpack_device__(self):
        return self._data.__dlpack_device__()

    def tolist(self) -> Any:
        hook = _ITEM_HOOK[0]
        if hook is not None:
            hook(self, "tolist")
        a = self._to_host()
        if a.dtype in _dt.EXTRA_FLOATS_NP:
            a = a.astype(np.float32)
        return a.tolist()

    def item(self) -> Any:
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted "
                               "to Scalar")
        hook = _ITEM_HOOK[0]
        if hook is not None:
            hook(self, "item")
        a = self._to_host()
        if a.dtype in _dt.EXTRA_FLOATS_NP:
            a = a.astype(np.float32)
        return a.reshape(()).item()

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self) -> Iterator["Tensor"]:
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError(f"Boolean value of Tensor with more than one value is ambiguous "
                               f"(shape {list(self._data.shape)})")
        return bool(self.item())

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self._data.size != 1 or self.is_floating_point() or self._data.dtype == np.bool_:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __complex__(self) -> complex:
        return complex(self.item())

    def __hash__(self) -> int:
        return id(self)

    def __reduce_ex__(self, protocol):
        raise TypeError("deepseek tensors are not pickled; use deepseek.save (safetensors)")

    def __repr__(self) -> str:
        from ._format import format_tensor

        return format_tensor(self)

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        if self._data.ndim == 0:
            return format(self.item(), spec)
        return repr(self)

    def __deepcopy__(self, memo: dict) -> "Tensor":
        if not self.is_leaf:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) support "
                               "the deepcopy protocol at the moment.")
        new = type(self).__new__(type(self))
        for slot in ("_device", "_requires_grad", "_hooks", "_post_hooks"):
            setattr(new, slot, getattr(self, slot))
        new._data = self._data.copy()
        new.grad = None if self.grad is None else self.grad.__deepcopy__(memo)
        new.grad_fn, new._base, new._version_box = None, None, [0]
        new.__dict__.update({k: v for k, v in self.__dict__.items()})
        memo[id(self)] = new
        return new

    def __array_ufunc__(self, *args: Any, **kwargs: Any):
        return NotImplemented  # numpy op Tensor falls back to Tensor's reflected operators

    __array_priority__ = 1000


def _dim_order(sizes: tuple, strides: tuple) -> tuple:
    """PyTorch's logical-to-physical permutation: an insertion sort, from the innermost dim,
    that moves a dim outwards only past dims of smaller stride (size-1 and 0-stride dims are
    ambiguous and stay in logical order)."""
    ndim = len(sizes)
    if ndim < 2:
        return tuple(range(ndim))

    def should_swap(a: int, b: int) -> int:
        sa, sb = strides[a], strides[b]
        if sa == 0 or sb == 0:
            return 0
        if sa == sb:
            return 0 if sizes[a] <= sizes[b] else 1
        return -1 if sb > sa else 1

    perm = list(range(ndim - 1, -1, -1))
    for i in range(1, ndim):
        j = i
        for k in range(i - 1, -1, -1):
            order = should_swap(perm[k], perm[j])
            if order > 0:
                perm[k], perm[j] = perm[j], perm[k]
                j = k
            elif order < 0:
                break
    return tuple(reversed(perm))


def _storage_from(data: np.ndarray) -> np.ndarray:
    """The flat memory from ``data``'s first element to the end of the buffer it was cut from
    (PyTorch's storage from the storage offset on), or a flat copy when ``data`` is strided."""
    root = data
    while isinstance(root.base, np.ndarray):
        root = root.base
    start = data.__array_interface__["data"][0]
    root_start = root.__array_interface__["data"][0]
    if (data.flags.c_contiguous and root.flags.c_contiguous and root.dtype == data.dtype
            and root_start <= start < root_start + root.nbytes):
        return root.reshape(-1)[(start - root_start) // data.itemsize:]
    return np.ascontiguousarray(data).reshape(-1)


def _strided(data: np.ndarray, op: str, size: Any, stride: Any, offset: int) -> np.ndarray:
    """A view of ``size``/``stride`` (elements) from ``offset`` of contiguous ``data``."""
    size = tuple(int(n) for n in size)
    stride = tuple(int(s) for s in (stride if stride is not None else
                                    np.cumprod((1,) + size[:0:-1])[::-1]))
    if len(size) != len(stride):
        raise RuntimeError(f"[{op}] mismatch in length of strides and shape ({len(stride)} vs "
                           f"{len(size)})")
    if not data.flags.c_contiguous:
        raise RuntimeError(f"[{op}] the source must be contiguous to be viewed with explicit "
                           "sizes and strides; call .contiguous() first")
    flat = data.reshape(-1)
    if size and all(n > 0 for n in size):
        last = offset + sum((n - 1) * s for n, s in zip(size, stride))
        if offset < 0 or last >= flat.size:
            raise RuntimeError(f"[{op}] sizes {list(size)}, strides {list(stride)}, storage "
                               f"offset {offset} are out of bounds for storage of {flat.size} "
                               "elements")
    return np.lib.stride_tricks.as_strided(flat[offset:], size,
                                           tuple(s * data.itemsize for s in stride))


# The tracer installs a hook here to report data-dependent Python decisions at trace time.
_ITEM_HOOK: list = [None]


def host_values(t: Tensor, what: str) -> np.ndarray:
    """``t``'s values as a host array, for Python-side bookkeeping (lengths, offsets, which
    rows are maxima): ``what`` names the read in ds.jit's report of a traced ``t``, whose
    values a compiled graph would otherwise bake in."""
    hook = _ITEM_HOOK[0]
    if hook is not None:
        hook(t, what)
    return t._to_host()


class _RemovableHandle:
    __slots__ = ("_list", "_fn")

    def __init__(self, hooks: list, fn: Callable) -> None:
        self._list, self._fn = hooks, fn

    def remove(self) -> None:
        if self._fn in self._list:
            self._list.remove(self._fn)


def _bind_methods() -> None:
    from . import _creation, _functions, ops, random  # noqa: F401  (register primitives, front doors)
    from .ops._opdef import TENSOR_METHODS

    for name, fn in TENSOR_METHODS.items():
        setattr(Tensor, name, fn)


_bind_methods()
