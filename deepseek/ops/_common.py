"""Helpers shared by the op modules: shape rules, dim checks, dtype promotion front doors."""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from .. import dtypes as _dt
from .._errors import op_error
from ..tensor import Tensor
from . import _kernels

BOOL = np.dtype(np.bool_)
INT64 = np.dtype(np.int64)
LOWP = (np.dtype(np.float16), _dt.bfloat16.np)
_NARROW = frozenset(LOWP) | _dt.FLOAT8_NP  # dtypes without kernels of their own

_F32 = np.dtype(np.float32)


def in_float32(fn: Callable, name: str = "op") -> Callable:
    """An op forward that computes float16/bfloat16 operands in float32 and rounds once, as
    PyTorch's CPU kernels do (BLAS accumulation for the products); float8 operands are refused,
    as PyTorch has no float8 arithmetic on the CPU."""

    def forward(xp: Any, *arrays: Any, **attrs: Any) -> Any:
        dt = arrays[0].dtype
        if dt in _NARROW:
            if dt in _dt.FLOAT8_NP:
                raise NotImplementedError(f"[{name}] \"{name}\" not implemented for "
                                          f"'{_dt.torch_name(dt)}': float8 tensors hold values "
                                          "for storage and casts; compute in a wider dtype "
                                          "(.float())")
            wide = (_kernels.astype(a, _F32) for a in arrays)
            return _kernels.astype(fn(xp, *wide, **attrs), dt)
        return fn(xp, *arrays, **attrs)

    return forward


def is_float(d: Any) -> bool:
    """Whether a NumPy or deepseek dtype is floating point."""
    if isinstance(d, _dt.dtype):
        return d.is_floating_point
    return d.kind == "f" or d in _dt.EXTRA_FLOATS_NP


def broadcast_shapes(op: str, *arrays: Any) -> tuple:
    """The broadcast shape of the operands, or PyTorch's error naming the op."""
    shape = arrays[0].shape
    for a in arrays[1:]:
        s = a.shape
        if s == shape:
            continue
        if len(s) > len(shape):
            shape, s = s, shape
        out = list(shape)
        off = len(shape) - len(s)
        for i, n in enumerate(s):
            m = out[off + i]
            if n != m:
                if m == 1:
                    out[off + i] = n
                elif n != 1:
                    raise op_error(RuntimeError, op, "shapes cannot be broadcast together "
                                   f"(size {m} vs size {n} at dimension {off + i})", *arrays)
        shape = tuple(out)
    return shape


def wrap_dim(op: str, dim: int, ndim: int) -> int:
    """``dim`` in ``[-ndim, ndim)`` as a non-negative index (0-d tensors accept 0 and -1)."""
    n = max(ndim, 1)
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise op_error(TypeError, op, f"dim must be an int, got {type(dim).__name__}")
    if not -n <= dim < n:
        raise op_error(IndexError, op, f"Dimension out of range (expected to be in range of "
                       f"[{-n}, {n - 1}], but got {dim})")
    return int(dim) % n


def wrap_dims(op: str, dims: Any, ndim: int) -> tuple:
    """Normalize ``dim`` (None, int or sequence) to a sorted tuple; None means every dim."""
    if dims is None:
        return tuple(range(ndim))
    if isinstance(dims, (int, np.integer)):
        dims = (dims,)
    out = tuple(sorted(wrap_dim(op, d, ndim) for d in dims))
    for a, b in zip(out, out[1:]):
        if a == b:
            raise op_error(RuntimeError, op, f"dim {a} appears multiple times in the list of dims")
    return out if ndim else ()


def scalar_dtype(x: Any) -> np.dtype:
    """The dtype a Python scalar takes on its own (bool, int64, default float)."""
    if isinstance(x, bool):
        return BOOL
    if isinstance(x, int):
        return INT64
    if isinstance(x, float):
        return _dt.get_default_dtype().np
    if isinstance(x, complex):
        return _dt.get_default_dtype().to_complex().np
    return np.asarray(x).dtype


def promote(op: str, *operands: Any) -> np.dtype:
    """PyTorch's result dtype of tensors and Python scalars."""
    dims, zeros, scalars = [], [], []
    for x in operands:
        if isinstance(x, Tensor):
            (dims if x._data.ndim else zeros).append(x._data.dtype)
        elif isinstance(x, (bool, int, float, complex)):
            scalars.append(x)
        elif isinstance(x, (np.ndarray, np.generic)):
            (dims if np.ndim(x) else zeros).append(_dt.from_numpy_dtype(x.dtype).np)
        else:
            raise op_error(TypeError, op, f"expected Tensor or number operands, got "
                           f"{type(x).__name__}")
    return _dt.result_type_np(dims, zeros, scalars)


def cast(x: Any, dtype: np.dtype) -> Any:
    """A tensor or scalar as ``dtype``: tensors through the differentiable cast op."""
    if isinstance(x, Tensor):
        if x._data.dtype == dtype:
            return x
        from .elementwise import to_dtype

        return to_dtype(x, dtype)
    if isinstance(x, np.ndarray) and x.dtype == dtype:
        return x
    return scalar_array(x, dtype)


def scalar_array(x: Any, dtype: np.dtype) -> np.ndarray:
    """A Python number as a 0-d array of ``dtype``, wrapping or overflowing to inf silently the
    way PyTorch converts scalars (NumPy 2 raises or warns instead)."""
    if dtype in LOWP:
        with np.errstate(over="ignore"):
            return np.asarray(x).astype(dtype)
    try:
        return np.asarray(x, dtype=dtype)
    except OverflowError:
        return np.asarray(x).astype(dtype)


def as_tensor_arg(op: str, x: Any, like: Tensor) -> Tensor:
    """Accept a Tensor, or a number/array made into a constant on ``like``'s device."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (bool, int, float, complex, np.ndarray, np.generic, list, tuple)):
        from .._creation import tensor

        return tensor(x, device=like._device)
    raise op_error(TypeError, op, f"expected a Tensor, got {type(x).__name__}")


def require_tensor(op: str, x: Any, name: str = "input") -> Tensor:
    if not isinstance(x, Tensor):
        raise op_error(TypeError, op, f"argument '{name}' must be Tensor, not {type(x).__name__}")
    return x


def same_shape_dtype(x: Any) -> tuple:
    return x.shape, x.dtype


def seq(x: Any) -> Sequence:
    return tuple(x) if isinstance(x, (list, tuple)) else (x,)
