"""The quantized dtypes (``quint8``, ``qint8``, ``qint32``) and quantization schemes.

deepseek has no quantized tensor type, so these are plain descriptors: observers and
quantized modules read their integer range from them. Strings (``"quint8"``), these objects
and the integer dtypes ``ds.uint8``/``ds.int8``/``ds.int32`` are all accepted where PyTorch
takes ``torch.quint8``/``torch.qint8``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["qdtype", "quint8", "qint8", "qint32", "qscheme", "per_tensor_affine",
           "per_tensor_symmetric", "per_channel_affine", "per_channel_symmetric",
           "per_channel_affine_float_qparams"]


class qdtype:
    """A quantized integer type: its name, numpy storage type and full integer range."""

    __slots__ = ("name", "numpy", "qmin", "qmax", "bits")

    def __init__(self, name: str, numpy_type: type, bits: int) -> None:
        self.name = name
        self.numpy = numpy_type
        info = np.iinfo(numpy_type)
        self.qmin, self.qmax, self.bits = int(info.min), int(info.max), bits

    @property
    def is_signed(self) -> bool:
        return self.qmin < 0

    def __repr__(self) -> str:
        return f"deepseek.quantization.{self.name}"

    def __reduce__(self) -> str:
        return self.name  # pickles and deep-copies as the module-level singleton


quint8 = qdtype("quint8", np.uint8, 8)
qint8 = qdtype("qint8", np.int8, 8)
qint32 = qdtype("qint32", np.int32, 32)
_QDTYPES = {"quint8": quint8, "qint8": qint8, "qint32": qint32, "uint8": quint8,
            "int8": qint8, "int32": qint32}


def as_qdtype(dtype: Any, where: str) -> qdtype:
    """``dtype`` (a ``qdtype``, its name, or ``ds.uint8``/``ds.int8``/``ds.int32``) as a qdtype."""
    if isinstance(dtype, qdtype):
        return dtype
    name = dtype if isinstance(dtype, str) else getattr(dtype, "name", None)
    if isinstance(name, str):
        name = name.rsplit(".", 1)[-1]
        if name in _QDTYPES:
            return _QDTYPES[name]
    raise ValueError(f"[{where}] unsupported quantized dtype {dtype!r}; expected one of "
                     "deepseek.quantization.quint8, qint8, qint32 (or ds.uint8, ds.int8, "
                     "ds.int32)")


class qscheme:
    """How scale and zero point are chosen: per tensor or per channel, affine or symmetric."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    @property
    def is_per_channel(self) -> bool:
        return self.name.startswith("per_channel")

    @property
    def is_symmetric(self) -> bool:
        return self.name.endswith("symmetric")

    def __repr__(self) -> str:
        return f"deepseek.quantization.{self.name}"

    def __reduce__(self) -> str:
        return self.name


per_tensor_affine = qscheme("per_tensor_affine")
per_tensor_symmetric = qscheme("per_tensor_symmetric")
per_channel_affine = qscheme("per_channel_affine")
per_channel_symmetric = qscheme("per_channel_symmetric")
per_channel_affine_float_qparams = qscheme("per_channel_affine_float_qparams")
_QSCHEMES = {s.name: s for s in (per_tensor_affine, per_tensor_symmetric, per_channel_affine,
                                 per_channel_symmetric, per_channel_affine_float_qparams)}


def as_qscheme(scheme: Any, where: str) -> qscheme:
    """``scheme`` (a ``qscheme`` or its name, e.g. ``"per_tensor_affine"``) as a qscheme."""
    if isinstance(scheme, qscheme):
        return scheme
    name = scheme if isinstance(scheme, str) else getattr(scheme, "name", str(scheme))
    name = name.rsplit(".", 1)[-1]
    if name in _QSCHEMES:
        return _QSCHEMES[name]
    raise ValueError(f"[{where}] unknown qscheme {scheme!r}; expected one of "
                     f"{sorted(_QSCHEMES)}")
