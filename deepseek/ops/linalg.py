"""Matrix products: matmul (batched, broadcast) and its front doors (mm, bmm, mv, dot, …)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._errors import op_error
from ..tensor import Tensor
from ._common import broadcast_shapes, require_tensor
from ._opdef import apply, defop, tensor_method


def _matmul_meta(x: Any, y: Any) -> tuple:
    if x.ndim < 2 or y.ndim < 2:
        raise op_error(RuntimeError, "matmul", "both arguments to matmul need to be at least 1D",
                       x, y)
    if x.shape[-1] != y.shape[-2]:
        raise op_error(RuntimeError, "matmul", f"mat1 and mat2 shapes cannot be multiplied "
                       f"({x.shape[-2]}x{x.shape[-1]} and {y.shape[-2]}x{y.shape[-1]})", x, y)
    if x.dtype != y.dtype:
        raise op_error(RuntimeError, "matmul", f"expected both operands to have the same dtype, "
                       f"but got {x.dtype} and {y.dtype}", x, y)
    batch = broadcast_shapes("matmul", _Shape(x.shape[:-2]), _Shape(y.shape[:-2]))
    return batch + (x.shape[-2], y.shape[-1]), x.dtype


class _Shape:
    __slots__ = ("shape", "dtype")

    def __init__(self, shape: tuple) -> None:
        self.shape, self.dtype = shape, None


_F32 = np.dtype(np.float32)


def _matmul_forward(xp: Any, x: Any, y: Any) -> Any:
    if x.dtype.kind == "f" and x.dtype.itemsize >= 4 or x.dtype.kind in "iub":
        return xp.matmul(x, y)
    # float16 / bfloat16: accumulate in float32 (BLAS), round once
    return xp.matmul(x.astype(_F32), y.astype(_F32)).astype(x.dtype)


def _matmul_vjp(ctx: Any, g: Tensor) -> tuple:
    x, y = ctx.inputs
    need = ctx.needs_input_grad
    return (g @ y.mT if need[0] else None), (x.mT @ g if need[1] else None)


MATMUL = defop("matmul", _matmul_forward, _matmul_meta, _matmul_vjp, amp="lower")


def _operands(name: str, a: Any, b: Any) -> tuple:
    a, b = require_tensor(name, a), require_tensor(name, b, "other")
    if a._data.dtype != b._data.dtype:
        raise op_error(RuntimeError, name, f"expected m1 and m2 to have the same dtype, but got: "
                       f"{a.dtype.name} != {b.dtype.name}", a._data, b._data)
    return a, b


@tensor_method
def matmul(input: Tensor, other: Tensor) -> Tensor:
    """Matrix product with NumPy/PyTorch semantics for 1-d operands and broadcast batch dims."""
    a, b = _operands("matmul", input, other)
    if a.ndim == 0 or b.ndim == 0:
        raise op_error(RuntimeError, "matmul", "both arguments to matmul need to be at least 1D, "
                       f"but they are {a.ndim}D and {b.ndim}D", a._data, b._data)
    if a.ndim == 1 and b.ndim == 1:
        if a.shape[0] != b.shape[0]:
            raise op_error(RuntimeError, "dot", f"inconsistent tensor size, expected tensor "
                           f"[{a.shape[0]}] and src [{b.shape[0]}] to have the same number of "
                           "elements, but got 1 and 1 elements respectively", a._data, b._data)
        return apply(MATMUL, a.unsqueeze(0), b.unsqueeze(1)).reshape(())
    if a.ndim == 1:
        return apply(MATMUL, a.unsqueeze(0), b).squeeze(-2)
    if b.ndim == 1:
        return apply(MATMUL, a, b.unsqueeze(1)).squeeze(-1)
    return apply(MATMUL, a, b)


tensor_method(matmul, name="__matmul__")
tensor_method(lambda self, other: matmul(other, self), name="__rmatmul__")


def _check_dims(name: str, t: Tensor, n: int, what: str) -> None:
    if t.ndim != n:
        raise op_error(RuntimeError, name, f"{what} must be a {n}D tensor, got {t.ndim}D", t._data)


@tensor_method
def mm(input: Tensor, mat2: Tensor) -> Tensor:
    """Product of two matrices."""
    a, b = _operands("mm", input, mat2)
    _check_dims("mm", a, 2, "self")
    _check_dims("mm", b, 2, "mat2")
    return apply(MATMUL, a, b)


@tensor_method
def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    """Batched product of ``(b, n, m)`` and ``(b, m, p)`` tensors."""
    a, b = _operands("bmm", input, mat2)
    _check_dims("bmm", a, 3, "batch1")
    _check_dims("bmm", b, 3, "batch2")
    if a.shape[0] != b.shape[0]:
        raise op_error(RuntimeError, "bmm", "batch1 and batch2 must have same number of batches, "
                       f"got {a.shape[0]} and {b.shape[0]}", a._data, b._data)
    return apply(MATMUL, a, b)


@tensor_method
def mv(input: Tensor, vec: Tensor) -> Tensor:
    """Matrix-vector product."""
    a, b = _operands("mv", input, vec)
    _check_dims("mv", a, 2, "self")
    _check_dims("mv", b, 1, "vec")
    return matmul(a, b)


@tensor_method
def dot(input: Tensor, tensor: Tensor) -> Tensor:
    """Inner product of two 1-d tensors."""
    a, b = _operands("dot", input, tensor)
    _check_dims("dot", a, 1, "1D tensors expected, but got self")
    _check_dims("dot", b, 1, "1D tensors expected, but got tensor")
    return matmul(a, b)


@tensor_method
def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """Outer product of two 1-d tensors."""
    a, b = require_tensor("outer", input), require_tensor("outer", vec2, "vec2")
    _check_dims("outer", a, 1, "self")
    _check_dims("outer", b, 1, "vec2")
    return a.unsqueeze(1) * b


ger = outer


@tensor_method
def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """``beta * input + alpha * (mat1 @ mat2)``."""
    prod = mm(mat1, mat2)
    if alpha != 1:
        prod = prod * alpha
    return prod + (input if beta == 1 else input * beta) if beta != 0 else prod


@tensor_method
def baddbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta: Any = 1,
            alpha: Any = 1) -> Tensor:
    """``beta * input + alpha * (batch1 @ batch2)``."""
    prod = bmm(batch1, batch2)
    if alpha != 1:
        prod = prod * alpha
    return prod + (input if beta == 1 else input * beta) if beta != 0 else prod


@tensor_method
def addmv(input: Tensor, mat: Tensor, vec: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    prod = mv(mat, vec)
    if alpha != 1:
        prod = prod * alpha
    return prod + (input if beta == 1 else input * beta) if beta != 0 else prod

