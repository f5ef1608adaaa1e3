"""Complex tensors: their parts (real, imag, view_as_real), building them (complex, polar,
view_as_complex), conj and angle.

Gradients follow PyTorch's convention: a complex tensor's ``.grad`` is ``dL/dre + i dL/dim``, so
a holomorphic op's vjp is ``g * conj(f'(z))`` and a real input of a complex op gets the real part.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .. import dtypes as _dt
from .._errors import op_error
from ..tensor import Tensor
from ._common import broadcast_shapes, is_float, require_tensor
from ._opdef import apply, defop, tensor_method

__all__ = ["real", "imag", "view_as_real", "view_as_complex", "complex", "polar", "conj",
           "conj_physical", "conj_physical_", "resolve_conj", "resolve_neg", "is_conj", "is_neg",
           "angle"]


def _real_dtype(d: np.dtype) -> np.dtype:
    return _dt.from_numpy_dtype(d).to_real().np


def _require_complex(name: str, x: Any) -> None:
    if x.dtype.kind != "c":
        raise op_error(RuntimeError, name, f"expected a complex tensor, got "
                       f"{_dt.torch_name(x.dtype)}", x)


# ---------------------------------------------------------------- parts, as views
def _view_as_real_forward(xp: Any, z: Any) -> Any:
    part = z.real  # same strides as z, one part wide
    return as_strided(part, z.shape + (2,), z.strides + (part.itemsize,))


def _view_as_real_meta(z: Any) -> tuple:
    _require_complex("view_as_real", z)
    return z.shape + (2,), _real_dtype(z.dtype)


def _view_as_complex_meta(x: Any) -> tuple:
    name = "view_as_complex"
    if x.dtype not in (np.float32, np.float64):
        raise op_error(RuntimeError, name, "view_as_complex is only supported for float and "
                       f"double tensors, but got a tensor of scalar type: "
                       f"{_dt.torch_name(x.dtype)}", x)
    if x.ndim == 0 or x.shape[-1] != 2:
        raise op_error(RuntimeError, name, "Tensor must have a last dimension of size 2", x)
    item = x.itemsize
    if x.size and x.strides[-1] != item:  # (an empty array's strides say nothing)
        raise op_error(RuntimeError, name, "Tensor must have a last dimension with stride 1", x)
    if x.size and any(s % (2 * item) for s, n in zip(x.strides[:-1], x.shape[:-1]) if n > 1):
        raise op_error(RuntimeError, name, "Tensor must have a stride divisible by 2 for all but "
                       "last dimension", x)
    return x.shape[:-1], np.dtype(np.complex64 if x.dtype == np.float32 else np.complex128)


def _view_as_complex_forward(xp: Any, x: Any) -> Any:
    if not x.size:
        return xp.empty(x.shape[:-1], np.complex64 if x.dtype == np.float32 else np.complex128)
    return x.view(np.complex64 if x.dtype == np.float32 else np.complex128)[..., 0]


VIEW_AS_REAL = defop("view_as_real", _view_as_real_forward, _view_as_real_meta,
                     lambda c, g: (view_as_complex(g.contiguous()),), kind="view",
                     save_inputs=False)
VIEW_AS_COMPLEX = defop("view_as_complex", _view_as_complex_forward, _view_as_complex_meta,
                        lambda c, g: (view_as_real(g),), kind="view", save_inputs=False)


def _part_meta(name: str):
    def meta(z: Any) -> tuple:
        _require_complex(name, z)
        return z.shape, _real_dtype(z.dtype)

    return meta


# the engine casts real gradients back to the complex input (imaginary part 0)
REAL = defop("real", lambda xp, z: z.real, _part_meta("real"), lambda c, g: (g,), kind="view",
             save_inputs=False)
IMAG = defop("imag", lambda xp, z: z.imag, _part_meta("imag"), lambda c, g: (g * 1j,),
             kind="view", save_inputs=False)


@tensor_method
def view_as_real(input: Tensor) -> Tensor:
    """A real view of a complex tensor with a last dimension of size 2 (real, imaginary)."""
    return apply(VIEW_AS_REAL, require_tensor("view_as_real", input))


@tensor_method
def view_as_complex(input: Tensor) -> Tensor:
    """A complex view of a real tensor whose last dimension (size 2, stride 1) holds the parts."""
    return apply(VIEW_AS_COMPLEX, require_tensor("view_as_complex", input))


def real(input: Tensor) -> Tensor:
    """The real part of ``input`` (a view), or ``input`` itself when it is real."""
    x = require_tensor("real", input)
    return apply(REAL, x) if x.is_complex() else x


def imag(input: Tensor) -> Tensor:
    """The imaginary part of a complex ``input``, as a view."""
    x = require_tensor("imag", input)
    if not x.is_complex():
        raise op_error(RuntimeError, "imag", "imag is not implemented for tensors with "
                       "non-complex dtypes.", x._data)
    return apply(IMAG, x)


# ---------------------------------------------------------------- building complex tensors
def _complex_meta(re: Any, im: Any) -> tuple:
    if re.dtype != im.dtype or re.dtype not in (np.float32, np.float64):
        raise op_error(RuntimeError, "complex", "Expected both inputs to be Float or Double "
                       f"tensors but got {_dt.torch_name(re.dtype)} and "
                       f"{_dt.torch_name(im.dtype)}", re, im)
    shape = broadcast_shapes("complex", re, im)
    return shape, np.dtype(np.complex64 if re.dtype == np.float32 else np.complex128)


def _complex_forward(xp: Any, re: Any, im: Any) -> Any:
    shape, dtype = _complex_meta(re, im)
    out = xp.empty(shape, dtype)
    out.real, out.imag = re, im
    return out


COMPLEX = defop("complex", _complex_forward, _complex_meta,
                lambda c, g: (real(g), imag(g)), save_inputs=False, complex=True)


def complex(real: Tensor, imag: Tensor) -> Tensor:
    """The complex tensor ``real + i imag`` (float32 parts give complex64, float64 complex128)."""
    return apply(COMPLEX, require_tensor("complex", real, "real"),
                 require_tensor("complex", imag, "imag"))


def polar(abs: Tensor, angle: Tensor) -> Tensor:
    """The complex tensor with modulus ``abs`` and argument ``angle``."""
    r, theta = require_tensor("polar", abs, "abs"), require_tensor("polar", angle, "angle")
    _complex_meta(r._data, theta._data)
    return complex(r * theta.cos(), r * theta.sin())


# ---------------------------------------------------------------- conjugate and argument
CONJ = defop("conj", lambda xp, z: xp.conj(z), lambda z: (z.shape, z.dtype),
             lambda c, g: (conj(g),), kind="elementwise", expr="({0}).conjugate()",
             save_inputs=False, complex=True)


@tensor_method
def conj(input: Tensor) -> Tensor:
    """The complex conjugate; a real tensor is returned as it is.

    PyTorch returns a lazily conjugated view; here the conjugate is computed, so writes to it
    do not reach ``input``.
    """
    x = require_tensor("conj", input)
    return apply(CONJ, x) if x.is_complex() else x


@tensor_method
def conj_physical(input: Tensor) -> Tensor:
    """The complex conjugate, computed (what :func:`conj` does here too)."""
    return conj(input)


@tensor_method
def conj_physical_(input: Tensor) -> Tensor:
    """In-place :func:`conj_physical`; a real ``input`` is returned untouched, as in PyTorch.

    Example:
        >>> z = deepseek.tensor([1 + 2j])
        >>> z.conj_physical_()
        tensor([1.-2.j])
    """
    x = require_tensor("conj_physical_", input)
    if not x.is_complex():
        return x
    return x.copy_(apply(CONJ, x))  # conj saves nothing, so overwriting x is safe


@tensor_method
def resolve_conj(input: Tensor) -> Tensor:
    """``input``: conjugation is never lazy here, so there is no conjugate bit to resolve."""
    return require_tensor("resolve_conj", input)


@tensor_method
def resolve_neg(input: Tensor) -> Tensor:
    """``input``: negation is never lazy here."""
    return require_tensor("resolve_neg", input)


@tensor_method
def is_conj(input: Tensor) -> bool:
    """False: no tensor carries a lazy-conjugation bit here."""
    return False


@tensor_method
def is_neg(input: Tensor) -> bool:
    """False: no tensor carries a lazy-negation bit here."""
    return False


def _angle_forward(xp: Any, x: Any) -> Any:
    if x.dtype.kind == "c":
        return xp.angle(x)
    with np.errstate(invalid="ignore"):
        return xp.where(x < 0, x.dtype.type(math.pi), xp.where(xp.isnan(x), x, 0)).astype(x.dtype)


def _angle_meta(x: Any) -> tuple:
    if x.dtype.kind == "c":
        return x.shape, _real_dtype(x.dtype)
    return x.shape, x.dtype


def _angle_vjp(ctx: Any, g: Tensor) -> tuple:
    (z,) = ctx.inputs
    if not z.is_complex():
        return (g * 0,)
    a2 = z.abs().square()
    return (g * z * 1j / a2.masked_fill(a2 == 0, 1),)


ANGLE = defop("angle", _angle_forward, _angle_meta, _angle_vjp, complex=True)


@tensor_method
def angle(input: Tensor) -> Tensor:
    """The argument of each element in radians (0 or pi for real tensors)."""
    x = require_tensor("angle", input)
    if not (is_float(x._data.dtype) or x.is_complex()):
        x = x.to(_dt.get_default_dtype())
    return apply(ANGLE, x)
