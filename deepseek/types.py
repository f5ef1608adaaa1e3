"""``deepseek.types`` (``torch.types``): the type aliases annotations import."""

from __future__ import annotations

import os
from typing import IO, Union

from ._memory_format import layout as _layout  # noqa: F401  (torch.types has these names)
from ._storage import UntypedStorage as Storage
from .backend import device as _device
from .dtypes import dtype as _dtype  # noqa: F401
from .tensor import Size, Tensor

__all__ = ["Number", "Device", "FileLike", "Storage", "Size", "Tensor", "IntLikeType",
           "FloatLikeType", "BoolLikeType"]

_int, _float, _bool, _complex, _str, _bytes = int, float, bool, complex, str, bytes
_Number = Number = Union[int, float, bool]
IntLikeType, FloatLikeType, BoolLikeType = int, float, bool  # no symbolic sizes here
Device = Union[_device, str, int, None]
FileLike = Union[str, os.PathLike[str], IO[bytes]]
_size = Union[Size, list, tuple]
_TensorOrTensors = Union[Tensor, tuple[Tensor, ...]]
