"""``repr`` of a tensor in PyTorch's format."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from . import dtypes as _dt

if TYPE_CHECKING:
    from .tensor import Tensor

_DEFAULT_SUFFIX = {"float32", "int64", "bool"}


def _float_formatter(values: np.ndarray):
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return lambda v: _special(v) or f"{v:.4f}"
    absmax, absmin = np.abs(finite).max(), np.abs(finite).min()
    if np.all(finite == np.round(finite)) and absmax < 1e8:
        width = max(len(f"{v:.0f}.") for v in finite)
        return lambda v: (_special(v) or f"{v:.0f}.").rjust(width)
    if absmax >= 1e8 or (absmin > 0 and (absmax / absmin > 1000 or absmax < 1e-4)):
        return lambda v: _special(v) or f"{v:.4e}"
    width = max(len(f"{v:.4f}") for v in finite)
    return lambda v: (_special(v) or f"{v:.4f}").rjust(width)


def _special(v: float) -> str:
    if np.isnan(v):
        return "nan"
    if np.isinf(v):
        return "inf" if v > 0 else "-inf"
    return ""


def format_tensor(t: "Tensor") -> str:
    a = np.asarray(t._to_host())
    if a.dtype == _dt.bfloat16.np or a.dtype == np.float16:
        a = a.astype(np.float32)
    name = t.dtype.name
    if a.dtype.kind == "f":
        fmt = _float_formatter(a.reshape(-1)) if a.size else str
    elif a.dtype == np.bool_:
        fmt = str
    else:
        fmt = str
    body = np.array2string(a, separator=", ", formatter={"all": fmt}, threshold=1000,
                           edgeitems=3, max_line_width=80, prefix="tensor(")
    extras = []
    if t._device.type != "cpu":
        extras.append(f"device='{t._device}'")
    if name not in _DEFAULT_SUFFIX or a.size == 0 and name != "float32":
        extras.append(f"dtype=deepseek.{name}")
    if t.grad_fn is not None:
        extras.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t._requires_grad:
        extras.append("requires_grad=True")
    if a.size == 0 and a.ndim > 1:
        extras.insert(0, f"size={tuple(a.shape)}")
        body = "[]"
    return "tensor(" + body + "".join(", " + e for e in extras) + ")"
