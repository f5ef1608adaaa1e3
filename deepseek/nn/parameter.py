"""``Parameter`` (a Tensor a Module registers as learnable), ``Buffer`` (state it keeps) and
their uninitialized forms, which lazy modules hold until their first forward."""

from __future__ import annotations

from typing import Any, Optional

from ..tensor import Tensor

__all__ = ["Parameter", "Buffer", "UninitializedParameter", "UninitializedBuffer", "is_lazy"]


def _share(cls: type, data: Optional[Tensor]) -> Tensor:
    """A new ``cls`` instance sharing ``data``'s storage and version counter."""
    if data is None:
        from .._creation import empty

        data = empty(0)
    if not isinstance(data, Tensor):
        raise TypeError(f"[{cls.__name__}] data must be a Tensor, got {type(data).__name__}")
    t = cls._wrap(data._data, data._device)
    t._version_box = data._version_box
    return t


class Parameter(Tensor):
    """A Tensor that is a module parameter: assigning it to a Module attribute registers it.

    Args:
        data: the tensor whose storage the parameter shares (an empty tensor when None).
        requires_grad: whether the parameter requires gradient. Default: True.

    Example::

        >>> p = ds.nn.Parameter(ds.zeros(2))
        >>> p.requires_grad
        True
    """

    def __new__(cls, data: Optional[Tensor] = None, requires_grad: bool = True) -> "Parameter":
        t = _share(cls, data)
        t.requires_grad = requires_grad
        return t

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass  # everything is done in __new__

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    __str__ = __repr__


class Buffer(Tensor):
    """A Tensor that is a module buffer: assigning it to a Module attribute registers it.

    Args:
        data: the tensor whose storage the buffer shares.
        persistent: whether the buffer is part of the module's ``state_dict``. Default: True.
    """

    def __new__(cls, data: Optional[Tensor] = None, *, persistent: bool = True) -> "Buffer":
        t = _share(cls, data)
        t.persistent = persistent
        return t

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass


_UNINITIALIZED_USE = ("Attempted to use an uninitialized {kind}. This error happens when you are "
                      "using a `LazyModule` or explicitly manipulating `{cls}` objects. When "
                      "using LazyModules call `forward` with a dummy batch to initialize the "
                      "parameters before calling deepseek functions")


class UninitializedTensorMixin:
    """A tensor with a dtype and a device but no shape or data yet; ``materialize`` gives it
    both and turns it into ``cls_to_become``.

    Every op reads a tensor's array, so reading this one's raises: no op can run on it. Its
    array slot holds an empty array of its dtype, which ``dtype``, ``to`` and ``data`` use.
    """

    __slots__ = ()
    cls_to_become: type = Tensor
    _kind = "tensor"

    @property
    def _data(self) -> Any:
        name = type(self).__name__
        raise ValueError(f"[{name}] " + _UNINITIALIZED_USE.format(kind=self._kind, cls=name))

    @_data.setter
    def _data(self, value: Any) -> None:
        Tensor._data.__set__(self, value)

    def _empty(self) -> Any:
        return Tensor._data.__get__(self)

    @property
    def shape(self) -> Any:
        raise RuntimeError(f"[{type(self).__name__}] Can't access the shape of an uninitialized "
                           "parameter or buffer. This error usually happens in `load_state_dict` "
                           "when trying to load an uninitialized parameter into an initialized "
                           "one. Call `forward` to initialize the parameters before accessing "
                           "their attributes.")

    @property
    def dtype(self) -> Any:
        from .. import dtypes

        return dtypes.from_numpy_dtype(self._empty().dtype)

    def is_floating_point(self) -> bool:
        return self.dtype.is_floating_point

    @property
    def data(self) -> Tensor:
        """An empty tensor of this one's dtype (there is no data yet)."""
        return Tensor._wrap(self._empty(), self._device)

    @data.setter
    def data(self, value: Tensor) -> None:
        # Module._apply (``.to``, ``.double()`` ...) assigns the converted uninitialized tensor
        if not isinstance(value, UninitializedTensorMixin):
            raise TypeError(f"[{type(self).__name__}] cannot assign data to an uninitialized "
                            "tensor; call materialize(shape) instead")
        self._data = value._empty()
        self._device = value._device

    def _like(self, dtype: Any = None, device: Any = None) -> "UninitializedTensorMixin":
        from .._creation import empty

        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        base = empty(0, dtype=dtype or self.dtype, device=device or self._device)
        new._data, new._device = base._data, base._device
        new._requires_grad, new.grad_fn, new._version_box = self._requires_grad, None, [0]
        return new

    def to(self, *args: Any, **kwargs: Any) -> "UninitializedTensorMixin":
        """The same uninitialized tensor with another dtype and/or device."""
        from .._creation import _parse_to

        device, dtype = _parse_to(args, kwargs)
        return self._like(dtype, device)

    def cpu(self, memory_format: Any = None) -> "UninitializedTensorMixin":
        return self.to("cpu")

    def cuda(self, device: Any = None, non_blocking: bool = False,
             memory_format: Any = None) -> "UninitializedTensorMixin":
        return self.to("cuda" if device is None else device)

    def float(self, memory_format: Any = None) -> "UninitializedTensorMixin":
        return self.to("float32")

    def double(self, memory_format: Any = None) -> "UninitializedTensorMixin":
        return self.to("float64")

    def half(self, memory_format: Any = None) -> "UninitializedTensorMixin":
        return self.to("float16")

    def materialize(self, shape: Any, device: Any = None, dtype: Any = None) -> None:
        """Give the tensor an (uninitialized) array of ``shape`` and make it a
        ``cls_to_become`` (a ``Parameter`` or a plain ``Tensor``) in place.

        Args:
            shape: the shape (an int or a sequence of ints).
            device: the device (default: the tensor's).
            dtype: the dtype (default: the tensor's).
        """
        from .._creation import empty

        if isinstance(shape, int):
            shape = (shape,)
        value = empty(tuple(shape), dtype=dtype or self.dtype, device=device or self._device)
        self._data, self._device = value._data, value._device
        self._version_box[0] += 1
        self.__class__ = self.cls_to_become
        self.__dict__.pop("persistent", None)

    def __deepcopy__(self, memo: dict) -> "UninitializedTensorMixin":
        new = self._like()
        memo[id(self)] = new
        return new

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"

    __str__ = __repr__


def is_lazy(tensor: Any) -> bool:
    """Whether ``tensor`` is an uninitialized parameter or buffer (of a lazy module)."""
    return isinstance(tensor, UninitializedTensorMixin)


class UninitializedParameter(UninitializedTensorMixin, Parameter):
    """A parameter whose shape is not known yet (lazy modules hold them until their first
    forward). Any use other than ``materialize``, ``to`` and reading ``dtype``/``device``
    raises; ``materialize(shape)`` turns it into a ``Parameter`` in place.

    Args:
        requires_grad: whether the parameter will require gradient. Default: True.
        device, dtype: of the parameter it becomes.

    Example::

        >>> p = ds.nn.UninitializedParameter()
        >>> p.materialize((2, 3))
        >>> type(p).__name__, tuple(p.shape)
        ('Parameter', (2, 3))
    """

    cls_to_become = Parameter
    _kind = "parameter"

    def __new__(cls, requires_grad: bool = True, device: Any = None,
                dtype: Any = None) -> "UninitializedParameter":
        from .._creation import empty

        t = _share(cls, empty(0, dtype=dtype, device=device))
        t.requires_grad = requires_grad
        return t


class UninitializedBuffer(UninitializedTensorMixin, Buffer):
    """A buffer whose shape is not known yet; ``materialize(shape)`` turns it into a plain
    ``Tensor`` in place. Args: requires_grad (False), device, dtype, persistent (True)."""

    cls_to_become = Tensor
    _kind = "buffer"

    def __new__(cls, requires_grad: bool = False, device: Any = None, dtype: Any = None,
                persistent: bool = True) -> "UninitializedBuffer":
        from .._creation import empty

        t = _share(cls, empty(0, dtype=dtype, device=device))
        t.requires_grad = requires_grad
        t.persistent = persistent
        return t
