"""dtype objects and the one type-promotion table (PyTorch's rules)."""

from __future__ import annotations

from typing import Any

import ml_dtypes
import numpy as np

__all__ = ["dtype", "promote_types", "result_type", "can_cast", "get_default_dtype",
           "set_default_dtype"]


class dtype:
    """A tensor element type, backed by a NumPy dtype (``ml_dtypes`` for bfloat16)."""

    __slots__ = ("name", "np", "itemsize", "is_floating_point", "is_complex", "is_signed", "_rank")

    def __init__(self, name: str, np_dtype, rank: int) -> None:
        self.name = name
        self.np = np.dtype(np_dtype)
        self.itemsize = self.np.itemsize
        self.is_floating_point = name.startswith(("float", "bfloat"))
        self.is_complex = name.startswith("complex")
        self.is_signed = name not in ("bool", "uint8")
        self._rank = rank

    def __repr__(self) -> str:
        return f"deepseek.{self.name}"

    def __reduce__(self):
        return self.name

    def to_real(self) -> "dtype":
        """The dtype of a complex dtype's parts (``float32`` for ``complex64``); others as is."""
        return _REAL.get(self, self)

    def to_complex(self) -> "dtype":
        """The complex dtype with this floating dtype's parts (``complex64`` below float64)."""
        if self.is_complex:
            return self
        if not self.is_floating_point:
            raise TypeError(f"to_complex is only defined for floating dtypes, got {self}")
        return complex128 if self is float64 else complex64

    @property
    def category(self) -> int:
        """0 bool, 1 integer, 2 floating, 3 complex."""
        if self.is_complex:
            return 3
        return 0 if self.name == "bool" else (2 if self.is_floating_point else 1)


bool_ = dtype("bool", np.bool_, 0)
uint8 = dtype("uint8", np.uint8, 1)
int8 = dtype("int8", np.int8, 1)
int16 = dtype("int16", np.int16, 2)
int32 = dtype("int32", np.int32, 3)
int64 = dtype("int64", np.int64, 4)
float16 = dtype("float16", np.float16, 5)
bfloat16 = dtype("bfloat16", ml_dtypes.bfloat16, 5)
float32 = dtype("float32", np.float32, 6)
float64 = dtype("float64", np.float64, 7)
complex64 = dtype("complex64", np.complex64, 8)
complex128 = dtype("complex128", np.complex128, 9)
_REAL = {complex64: float32, complex128: float64}
# float8 (ml_dtypes): storage and casts only; PyTorch promotes them with no other dtype
float8_e4m3fn = dtype("float8_e4m3fn", ml_dtypes.float8_e4m3fn, 5)
float8_e5m2 = dtype("float8_e5m2", ml_dtypes.float8_e5m2, 5)
float8_e4m3fnuz = dtype("float8_e4m3fnuz", ml_dtypes.float8_e4m3fnuz, 5)
float8_e5m2fnuz = dtype("float8_e5m2fnuz", ml_dtypes.float8_e5m2fnuz, 5)
FLOAT8 = (float8_e4m3fn, float8_e5m2, float8_e4m3fnuz, float8_e5m2fnuz)
FLOAT8_NP = frozenset(d.np for d in FLOAT8)
EXTRA_FLOATS_NP = frozenset((bfloat16.np,) + tuple(FLOAT8_NP))  # floating, though kind "V"

ALL = (bool_, uint8, int8, int16, int32, int64, float16, bfloat16, float32, float64, complex64,
       complex128)
FLOATING = (float16, bfloat16, float32, float64)
BY_NAME = {d.name: d for d in ALL + FLOAT8}
BY_NAME.update(
    half=float16, float=float32, double=float64, long=int64, int=int32, short=int16, bool=bool_,
    cfloat=complex64, cdouble=complex128,
)
_BY_NP = {d.np: d for d in ALL + FLOAT8}


def from_numpy_dtype(np_dtype) -> dtype:
    """The deepseek dtype of a NumPy dtype; TypeError for ones deepseek does not support."""
    d = _BY_NP.get(np_dtype)
    if d is None:
        d = _BY_NP.get(np.dtype(np_dtype))
        if d is None:
            raise TypeError(
                f"can't convert np.ndarray of type {np.dtype(np_dtype)}. The only supported types "
                "are: complex128, complex64, float64, float32, float16, bfloat16, int64, int32, "
                "int16, int8, uint8, and bool."
            )
    return d


def to_dtype(d) -> dtype:
    """Accept a deepseek dtype, a NumPy dtype, a Python type or a name."""
    if isinstance(d, dtype):
        return d
    if d is float:
        return get_default_dtype()
    if d is int:
        return int64
    if d is bool:
        return bool_
    if isinstance(d, str):
        if d.startswith("torch.") or d.startswith("deepseek."):
            d = d.split(".", 1)[1]
        if d in BY_NAME:
            return BY_NAME[d]
    try:
        return from_numpy_dtype(np.dtype(d))
    except TypeError as e:
        raise TypeError(f"{d!r} is not a deepseek dtype") from e


def _promote(a: dtype, b: dtype) -> dtype:
    if a is b:
        return a
    if a is bool_:
        return b
    if b is bool_:
        return a
    if a.is_complex or b.is_complex:  # complex parts as wide as the widest floating operand
        wide = float64 in (a.to_real(), b.to_real())
        return complex128 if wide else complex64
    fa, fb = a.is_floating_point, b.is_floating_point
    if fa and fb:
        if a._rank == b._rank:  # float16 with bfloat16
            return float32
        return a if a._rank > b._rank else b
    if fa or fb:
        return a if fa else b
    if uint8 in (a, b):  # unsigned with signed: a signed type that holds both
        other = b if a is uint8 else a
        return other if other.itemsize > 1 else int16
    return a if a._rank > b._rank else b


_PROMOTE = {(a.np, b.np): _promote(a, b).np for a in ALL for b in ALL}
_PROMOTE.update({(d.np, d.np): d.np for d in FLOAT8})  # float8 pairs with nothing else


def _no_promotion(a: np.dtype, b: np.dtype) -> RuntimeError:
    """PyTorch's refusal to promote a float8 dtype with any other (the only missing pairs)."""
    return RuntimeError("Promotion for Float8 Types is not supported, attempted to promote "
                        f"{torch_name(a)} and {torch_name(b)}")


def promote_types(type1: dtype, type2: dtype) -> dtype:
    """The smallest dtype both ``type1`` and ``type2`` convert to (``torch.promote_types``)."""
    a, b = to_dtype(type1).np, to_dtype(type2).np
    try:
        return _BY_NP[_PROMOTE[(a, b)]]
    except KeyError:
        raise _no_promotion(a, b) from None


def promote_np(a: np.dtype, b: np.dtype) -> np.dtype:
    """:func:`promote_types` on NumPy dtypes, for the hot path."""
    try:
        return _PROMOTE[(a, b)]
    except KeyError:
        raise _no_promotion(a, b) from None


def _category(np_dtype: np.dtype) -> int:
    return _BY_NP[np_dtype].category


def result_type_np(dims: list, zeros: list, scalars: list) -> np.dtype:
    """PyTorch's result type: dimensioned tensors beat 0-d tensors beat Python scalars,
    unless the weaker group is of a higher category (bool < integer < floating < complex).

    ``dims``/``zeros`` hold NumPy dtypes; ``scalars`` holds Python numbers.
    """

    def fold(types):
        out = None
        for t in types:
            out = t if out is None else _PROMOTE[(out, t)]
        return out

    wrapped = None
    for s in scalars:
        if isinstance(s, bool):
            t = bool_.np
        elif isinstance(s, int):
            t = int64.np
        elif isinstance(s, float):
            t = _default.np
        elif isinstance(s, complex):
            t = _default.to_complex().np
        else:
            t = from_numpy_dtype(np.asarray(s).dtype).np
        wrapped = t if wrapped is None else _PROMOTE[(wrapped, t)]
    try:
        return _combine(fold(dims), _combine(fold(zeros), wrapped))
    except KeyError as e:  # a float8 dtype met another one
        raise _no_promotion(*e.args[0]) from None


def _combine(higher, lower):
    if higher is None:
        return lower
    if lower is None:
        return higher
    ch, cl = _category(higher), _category(lower)
    if ch == 3:
        return higher
    if cl == 3 and ch == 2:  # a complex scalar keeps the floating tensor's precision
        return _BY_NP[higher].to_complex().np
    if ch == 2:
        return higher
    if ch == 0 or cl > ch:
        return _PROMOTE[(higher, lower)]
    return higher


def result_type(*operands) -> dtype:
    """``torch.result_type`` over tensors and Python scalars."""
    dims, zeros, scalars = [], [], []
    for x in operands:
        data = getattr(x, "_data", None)
        if data is None:
            scalars.append(x)
        elif data.ndim:
            dims.append(data.dtype)
        else:
            zeros.append(data.dtype)
    return _BY_NP[result_type_np(dims, zeros, scalars)]


_default = float32

# PyTorch's scalar-type names, which its error messages use ("expected Float but found Long")
TORCH_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16",
               "int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
               "bool": "Bool", "complex64": "ComplexFloat", "complex128": "ComplexDouble",
               "float8_e4m3fn": "Float8_e4m3fn", "float8_e5m2": "Float8_e5m2",
               "float8_e4m3fnuz": "Float8_e4m3fnuz", "float8_e5m2fnuz": "Float8_e5m2fnuz"}


def torch_name(d) -> str:
    """PyTorch's name of a dtype (ours or NumPy's) in error messages: ``'Float'``, ``'Long'`` …"""
    key = d.name if isinstance(d, dtype) else np.dtype(d).name
    return TORCH_NAMES.get(key, key)


def can_cast(from_: Any, to: Any) -> bool:
    """Whether PyTorch's casting rules allow ``from_`` to become ``to`` in an op with an output
    (no floating to integral, no complex to real, nothing but bool to bool).

    Example:
        >>> deepseek.can_cast(deepseek.int32, deepseek.float32)
        True
    """
    a, b = to_dtype(from_), to_dtype(to)
    return a.category <= b.category


def get_default_dtype() -> dtype:
    """The dtype of floating-point tensors made from Python floats."""
    return _default


def set_default_dtype(d) -> None:
    """Set the default floating-point dtype (float32 or float64, as in PyTorch)."""
    global _default
    d = to_dtype(d)
    if not d.is_floating_point:
        raise TypeError(f"only floating-point types are supported as the default type, got {d}")
    _default = d


class finfo:
    """Machine limits of a floating dtype, as ``torch.finfo`` (the default dtype when omitted).

    Example:
        >>> deepseek.finfo(deepseek.float32).eps
        1.1920928955078125e-07
    """

    def __init__(self, type=None) -> None:
        d = _default if type is None else to_dtype(type).to_real()
        if not d.is_floating_point:
            raise TypeError(f"finfo() requires a floating point input type, got {d}; use "
                            "deepseek.iinfo for integer types")
        info = ml_dtypes.finfo(d.np)
        self.dtype, self.bits = d.name, info.bits
        self.eps, self.max, self.min = float(info.eps), float(info.max), float(info.min)
        if d is float8_e5m2fnuz:
            self.eps = 0.125  # PyTorch's numeric_limits say 2 ** -3, though the step is 2 ** -2
        self.tiny = self.smallest_normal = float(info.smallest_normal)
        digits = info.precision if d not in FLOAT8 else int(np.floor(info.nmant * np.log10(2)))
        self.resolution = 10.0 ** -digits  # PyTorch's 10 ** -digits10 (ml_dtypes rounds float8's)

    def __repr__(self) -> str:
        return (f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, "
                f"eps={self.eps:g}, smallest_normal={self.smallest_normal:g}, "
                f"tiny={self.tiny:g}, dtype={self.dtype})")


class iinfo:
    """Limits of an integer (or bool) dtype, as ``torch.iinfo``."""

    def __init__(self, type) -> None:
        d = to_dtype(type)
        if d.is_floating_point or d.is_complex:
            raise TypeError(f"iinfo() requires an integer input type, got {d}; use "
                            "deepseek.finfo for floating types")
        info = np.iinfo(np.uint8 if d is bool_ else d.np)
        self.dtype, self.bits = d.name, info.bits
        self.min, self.max = int(info.min), (1 if d is bool_ else int(info.max))

    def __repr__(self) -> str:
        return f"iinfo(min={self.min:g}, max={self.max:g}, dtype={self.dtype})"
