"""``repr`` of a tensor, character for character PyTorch's (``torch/_tensor_str.py`` rules)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Optional

import numpy as np

from . import dtypes as _dt

if TYPE_CHECKING:
    from .tensor import Tensor

__all__ = ["set_printoptions", "get_printoptions"]


class _Options:
    __slots__ = ("precision", "threshold", "edgeitems", "linewidth", "sci_mode")

    def __init__(self) -> None:
        self.precision, self.threshold, self.edgeitems, self.linewidth = 4, 1000, 3, 80
        self.sci_mode: Optional[bool] = None


OPTIONS = _Options()
_PROFILES = {"default": (4, 1000, 3, 80), "short": (2, 1000, 2, 80),
             "full": (4, math.inf, 3, 80)}


def set_printoptions(precision: Optional[int] = None, threshold: Optional[float] = None,
                     edgeitems: Optional[int] = None, linewidth: Optional[int] = None,
                     profile: Optional[str] = None, sci_mode: Optional[bool] = None) -> None:
    """Set how tensors print (``torch.set_printoptions``).

    Args:
        precision: digits after the decimal point (default 4).
        threshold: element count above which the output is summarized (default 1000).
        edgeitems: items shown at each end of a summarized dimension (default 3).
        linewidth: characters per line (default 80).
        profile: ``"default"``, ``"short"`` or ``"full"``; sets the four above.
        sci_mode: force (True) or forbid (False) scientific notation; None chooses.
    """
    if profile is not None:
        (OPTIONS.precision, OPTIONS.threshold, OPTIONS.edgeitems,
         OPTIONS.linewidth) = _PROFILES[profile]
    for name, value in (("precision", precision), ("threshold", threshold),
                        ("edgeitems", edgeitems), ("linewidth", linewidth)):
        if value is not None:
            setattr(OPTIONS, name, value)
    OPTIONS.sci_mode = sci_mode


def get_printoptions() -> dict:
    """The current print options as a dict."""
    return {name: getattr(OPTIONS, name) for name in _Options.__slots__}


class _Formatter:
    """Chooses fixed, integer-valued or scientific notation and the common width."""

    def __init__(self, values: np.ndarray) -> None:
        self.floating = values.dtype.kind == "f"
        self.int_mode, self.sci_mode, self.width = True, False, 1
        flat = values.reshape(-1)
        if not self.floating:
            if flat.size:
                self.width = max(len(str(v)) for v in flat.tolist())
            return
        finite = flat[np.isfinite(flat) & (flat != 0)].astype(np.float64)
        if finite.size:
            p = OPTIONS.precision
            absolute = np.abs(finite)
            lo, hi = absolute.min(), absolute.max()
            self.int_mode = bool(np.all(finite == np.ceil(finite)))
            self.sci_mode = hi / lo > 1000.0 or hi > 1.0e8 or (not self.int_mode and lo < 1.0e-4)
            if self.sci_mode:
                self.width = max(len(f"{v:.{p}e}") for v in finite.tolist())
            elif self.int_mode:
                self.width = max(len(f"{v:.0f}") + 1 for v in finite.tolist())
            else:
                self.width = max(len(f"{v:.{p}f}") for v in finite.tolist())
        if OPTIONS.sci_mode is not None:
            self.sci_mode = OPTIONS.sci_mode

    def format(self, value: Any) -> str:
        if not self.floating:
            text = str(value)
        elif self.sci_mode:
            text = f"{value:{self.width}.{OPTIONS.precision}e}"
        elif self.int_mode:
            text = f"{value:.0f}" + ("" if math.isinf(value) or math.isnan(value) else ".")
        else:
            text = f"{value:.{OPTIONS.precision}f}"
        return text.rjust(self.width)


class _ComplexFormatter:
    """Real and imaginary parts each with their own notation, printed as ``re+imj``."""

    def __init__(self, values: np.ndarray) -> None:
        self.real, self.imag = _Formatter(values.real), _Formatter(values.imag)
        self.width = self.real.width + self.imag.width + 1

    def format(self, value: complex) -> str:
        imag = (self.imag.format(value.imag) + "j").lstrip()
        return self.real.format(value.real) + ("" if imag[0] in "+-" else "+") + imag


def _summarized(a: np.ndarray) -> np.ndarray:
    """The values that are printed when ``a`` is summarized (edge items of every dim)."""
    e = OPTIONS.edgeitems
    if a.ndim == 0:
        return a
    if a.shape[0] > 2 * e:
        a = np.concatenate([a[:e], a[-e:]])
    if a.ndim == 1:
        return a
    return np.stack([_summarized(x) for x in a])


def _body(a: np.ndarray, indent: int, summarize: bool, fmt: _Formatter) -> str:
    e = OPTIONS.edgeitems
    cut = summarize and a.shape[0] > 2 * e
    if a.ndim == 1:
        per_line = max(1, int(math.floor((OPTIONS.linewidth - indent) / (fmt.width + 2))))
        if cut:
            items = ([fmt.format(v) for v in a[:e].tolist()] + [" ..."]
                     + [fmt.format(v) for v in a[-e:].tolist()])
        else:
            items = [fmt.format(v) for v in a.tolist()]
        lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
        return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"
    rows = range(a.shape[0])
    if cut:
        parts = ([_body(a[i], indent + 1, summarize, fmt) for i in rows[:e]] + ["..."]
                 + [_body(a[i], indent + 1, summarize, fmt) for i in rows[-e:]])
    else:
        parts = [_body(a[i], indent + 1, summarize, fmt) for i in rows]
    return "[" + ("," + "\n" * (a.ndim - 1) + " " * (indent + 1)).join(parts) + "]"


def _values(a: np.ndarray, indent: int = len("tensor(")) -> str:
    if a.dtype in _dt.EXTRA_FLOATS_NP or a.dtype == np.float16:
        a = a.astype(np.float32)
    summarize = a.size > OPTIONS.threshold
    shown = _summarized(a) if summarize else a
    fmt = _ComplexFormatter(shown) if a.dtype.kind == "c" else _Formatter(shown)
    if a.ndim == 0:
        return fmt.format(a.item())
    return _body(a, indent, summarize, fmt)


def _with_suffixes(text: str, suffixes: list) -> str:
    indent = len("tensor(")
    parts = [text]
    last = len(text) - text.rfind("\n") + 1
    for s in suffixes:
        if last + len(s) + 2 > OPTIONS.linewidth:
            parts.append(",\n" + " " * indent + s)
            last = indent + len(s)
        else:
            parts.append(", " + s)
            last += len(s) + 2
    return "".join(parts) + ")"


def format_tensor(t: "Tensor") -> str:
    """``repr(t)``: PyTorch's layout, with ``deepseek.`` dtype names."""
    suffixes = []
    if t._device.type != "cpu":
        suffixes.append(f"device='{t._device}'")
    dtype = t.dtype
    default = _dt.get_default_dtype()
    if t._device.type == "meta":
        suffixes.append(f"size={tuple(t.shape)}")
        if dtype is not default:
            suffixes.append(f"dtype={dtype!r}")
        body = "..."
    elif t.numel() == 0:
        if t.ndim != 1:
            suffixes.append(f"size={tuple(t.shape)}")
        if dtype is not default:
            suffixes.append(f"dtype={dtype!r}")
        body = "[]"
    else:
        if dtype not in (default, default.to_complex(), _dt.int64, _dt.bool_):
            suffixes.append(f"dtype={dtype!r}")
        body = _values(np.asarray(t._to_host()))
    if t.grad_fn is not None:
        suffixes.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t._requires_grad:
        suffixes.append("requires_grad=True")
    return _with_suffixes("tensor(" + body, suffixes)
