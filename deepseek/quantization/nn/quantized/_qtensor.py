"""Quantized activations as float tensors: values on the integer grid, qparams attached.

deepseek has no quantized tensor type. Between ``QuantStub`` and ``DeQuantStub`` activations
are ordinary float32 tensors holding ``(q - zero_point) * scale`` exactly, the numbers a
PyTorch quantized tensor dequantizes to, with ``(scale, zero_point, dtype)`` attached as
``_qparams``. A quantized module recovers the integers ``q`` from them. Ops that keep values on
the grid (``flatten``, ``reshape``, ``relu``, ``max_pool2d`` …) return untagged tensors; the
next quantized module then takes the qparams of the most recent quantized output, after
checking that its input lies on that grid.
"""

from __future__ import annotations

import threading
from typing import Optional

import numpy as np

from .... import _creation
from ....tensor import Tensor
from ... import _qmath
from ..._qtypes import qdtype, quint8

__all__ = ["make_quantized", "input_qparams", "int_repr", "q_scale", "q_zero_point"]

_ATTR = "_qparams"
_RECENT = threading.local()


def make_quantized(q: np.ndarray, scale: float, zero_point: int,
                   dtype: qdtype = quint8) -> Tensor:
    """The float tensor ``(q - zero_point) * scale`` tagged with its qparams."""
    scale = float(np.float32(scale))
    out = _creation.from_numpy(_qmath.dequantize(q, np.float32(scale), zero_point))
    qparams = (scale, int(zero_point), dtype)
    setattr(out, _ATTR, qparams)
    _RECENT.value = qparams
    return out


def _on_grid(x: np.ndarray, scale: float, zero_point: int, dtype: qdtype) -> bool:
    steps = x.astype(np.float64) / scale
    q = np.rint(steps) + zero_point
    return bool(np.all(np.abs(steps - np.rint(steps)) < 1e-3)
                and np.all((q >= dtype.qmin) & (q <= dtype.qmax)))


def input_qparams(x: Tensor, op: str) -> tuple:
    """``(scale, zero_point, dtype)`` of a quantized activation (see the module docstring)."""
    qparams = getattr(x, _ATTR, None)
    if qparams is not None:
        return qparams
    recent: Optional[tuple] = getattr(_RECENT, "value", None)
    if recent is not None and _on_grid(np.asarray(x.detach().numpy()), *recent):
        return recent
    raise RuntimeError(f"[{op}] expects a quantized activation (the output of a QuantStub or "
                       "of another quantized module), but got a float tensor that is not on "
                       "the grid of the last quantized output; put a QuantStub before this "
                       "module in the float model")


def int_repr(x: Tensor) -> np.ndarray:
    """The integers of a quantized activation, as ``Tensor.int_repr()`` gives them."""
    scale, zero_point, dtype = input_qparams(x, "int_repr")
    q = _qmath.quantize(np.asarray(x.detach().numpy()), scale, zero_point, dtype.qmin,
                        dtype.qmax)
    return q.astype(dtype.numpy)


def q_scale(x: Tensor) -> float:
    """The scale of a quantized activation."""
    return input_qparams(x, "q_scale")[0]


def q_zero_point(x: Tensor) -> int:
    """The zero point of a quantized activation."""
    return input_qparams(x, "q_zero_point")[1]
