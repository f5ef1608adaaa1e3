"""``Parameter`` (a Tensor a Module registers as learnable) and ``Buffer`` (state it keeps)."""

from __future__ import annotations

from typing import Any, Optional

from ..tensor import Tensor

__all__ = ["Parameter", "Buffer"]


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
