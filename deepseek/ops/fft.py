"""Discrete Fourier transforms: three primitives (complex-to-complex, real-to-complex,
complex-to-real) over any set of dims, and torch.fft's front doors built on them.

Each vjp is another transform with the dual normalization ("backward" <-> "forward"): the
adjoint of a DFT is the unscaled inverse DFT.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from .. import dtypes as _dt
from .._errors import op_error
from .._options import factory
from ..tensor import Tensor
from ._common import is_float, require_tensor, wrap_dim
from ._opdef import apply, defop

_NORMS = ("backward", "forward", "ortho")
_DUAL = {"backward": "forward", "forward": "backward", "ortho": "ortho"}


def _complex_of(d: np.dtype) -> np.dtype:
    return np.dtype(np.complex128 if d in (np.float64, np.complex128) else np.complex64)


# ---------------------------------------------------------------- the primitives
def _c2c_forward(xp: Any, z: Any, dims: tuple, norm: str, forward: bool) -> Any:
    fn = xp.fft.fftn if forward else xp.fft.ifftn
    return fn(z, axes=dims, norm=norm).astype(z.dtype, copy=False)


def _c2c_vjp(ctx: Any, g: Tensor) -> tuple:
    a = ctx.attrs
    return (apply(C2C, g, dims=a["dims"], norm=_DUAL[a["norm"]], forward=not a["forward"]),)


C2C = defop("_fft_c2c", _c2c_forward, lambda z, dims, norm, forward: (z.shape, z.dtype),
            _c2c_vjp, save_inputs=False, complex=True)


def _r2c_meta(x: Any, dims: tuple, norm: str) -> tuple:
    shape = list(x.shape)
    shape[dims[-1]] = shape[dims[-1]] // 2 + 1
    return tuple(shape), _complex_of(x.dtype)


def _r2c_forward(xp: Any, x: Any, dims: tuple, norm: str) -> Any:
    return xp.fft.rfftn(x, axes=dims, norm=norm).astype(_complex_of(x.dtype), copy=False)


def _r2c_vjp(ctx: Any, g: Tensor) -> tuple:
    # the onesided spectrum is the first half of the full one: pad the gradient with zeros
    # for the dropped half, then take the real part of the adjoint full transform
    dims, last = ctx.attrs["dims"], ctx.attrs["dims"][-1]
    n = ctx.shapes[0][last]
    full = _resize(g, last, n)
    return (apply(C2C, full, dims=dims, norm=_DUAL[ctx.attrs["norm"]], forward=False).real,)


R2C = defop("_fft_r2c", _r2c_forward, _r2c_meta, _r2c_vjp, save_inputs=False, complex=True)


def _c2r_meta(z: Any, dims: tuple, norm: str, n: int) -> tuple:
    shape = list(z.shape)
    shape[dims[-1]] = n
    return tuple(shape), np.dtype(np.float64 if z.dtype == np.complex128 else np.float32)


def _c2r_forward(xp: Any, z: Any, dims: tuple, norm: str, n: int) -> Any:
    s = [z.shape[d] for d in dims[:-1]] + [n]
    out = xp.fft.irfftn(z, s=s, axes=dims, norm=norm)
    return out.astype(np.float64 if z.dtype == np.complex128 else np.float32, copy=False)


def _c2r_vjp(ctx: Any, g: Tensor) -> tuple:
    # each bin but the self-conjugate ones (0 and n/2) stands for itself and its mirror image
    dims, n = ctx.attrs["dims"], ctx.attrs["n"]
    gz = apply(R2C, g, dims=dims, norm=_DUAL[ctx.attrs["norm"]])
    doubled = n - gz.shape[dims[-1]]
    if doubled > 0:
        w = np.ones(gz.shape[dims[-1]], dtype=g._data.dtype)
        w[1:1 + doubled] = 2
        shape = [1] * gz.ndim
        shape[dims[-1]] = w.size
        gz = gz * Tensor._wrap(w.reshape(shape))
    return (gz,)


C2R = defop("_fft_c2r", _c2r_forward, _c2r_meta, _c2r_vjp, save_inputs=False, complex=True)


# ---------------------------------------------------------------- argument handling
def _norm(name: str, norm: Optional[str]) -> str:
    if norm is None:
        return "backward"
    if norm not in _NORMS:
        raise op_error(ValueError, name, f"Invalid normalization mode: {norm!r}; expected one "
                       f"of {_NORMS} or None")
    return norm


def _resize(x: Tensor, dim: int, n: int) -> Tensor:
    """``x`` cut or zero-padded to length ``n`` along ``dim``."""
    size = x.shape[dim]
    if n == size:
        return x
    if n < size:
        return x.narrow(dim, 0, n)
    from .._creation import zeros
    from .movement import cat

    shape = list(x.shape)
    shape[dim] = n - size
    return cat([x, zeros(shape, dtype=x.dtype)], dim)


def _as_inexact(name: str, x: Tensor, want_complex: bool) -> Tensor:
    d = x._data.dtype
    if d in (np.float16, _dt.bfloat16.np):
        raise op_error(RuntimeError, name, f"Unsupported dtype {_dt.torch_name(d)}: the CPU "
                       "transforms take float32, float64, complex64 or complex128", x._data)
    if not is_float(d) and d.kind != "c":
        x = x.to(_dt.get_default_dtype())
    if want_complex and not x.is_complex():
        x = x.to(_dt.from_numpy_dtype(x._data.dtype).to_complex())
    return x


def _dims_and_sizes(name: str, x: Tensor, s: Any, dim: Any, default_dims: Any) -> tuple:
    """torch.fft's rules for ``s`` and ``dim``: each fills in the other; both None means
    ``default_dims`` (every dim for the n-d transforms)."""
    if dim is None and s is not None:
        dims = tuple(range(x.ndim - len(s), x.ndim))
    elif dim is None:
        dims = tuple(range(x.ndim)) if default_dims is None else default_dims
    else:
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
    dims = tuple(wrap_dim(name, d, x.ndim) for d in dims)
    if len(set(dims)) != len(dims):
        raise op_error(RuntimeError, name, f"FFT dims must be unique, got {list(dims)}", x._data)
    if s is None:
        sizes = [None] * len(dims)
    else:
        sizes = list(s)
        if len(sizes) != len(dims):
            raise op_error(RuntimeError, name, f"When given, dim and shape arguments must have "
                           f"the same length; got s={list(sizes)} and dim={list(dims)}", x._data)
    for n in sizes:
        if n is not None and n != -1 and n < 1:
            raise op_error(RuntimeError, name, f"Invalid number of data points ({n}) specified",
                           x._data)
    return dims, [None if n == -1 else n for n in sizes]


def _c2c(name: str, input: Tensor, s: Any, dim: Any, norm: Optional[str], forward: bool,
         default_dims: Any = None) -> Tensor:
    x = _as_inexact(name, require_tensor(name, input), want_complex=True)
    dims, sizes = _dims_and_sizes(name, x, s, dim, default_dims)
    for d, n in zip(dims, sizes):
        if n is not None:
            x = _resize(x, d, n)
    return apply(C2C, x, dims=dims, norm=_norm(name, norm), forward=forward)


def _r2c(name: str, input: Tensor, s: Any, dim: Any, norm: Optional[str], forward: bool,
         default_dims: Any = None) -> Tensor:
    x = require_tensor(name, input)
    if x.is_complex():
        raise op_error(RuntimeError, name, f"{name} expects a real input tensor, but got "
                       f"{_dt.torch_name(x._data.dtype)}", x._data)
    x = _as_inexact(name, x, want_complex=False)
    dims, sizes = _dims_and_sizes(name, x, s, dim, default_dims)
    for d, n in zip(dims, sizes):
        if n is not None:
            x = _resize(x, d, n)
    # the inverse half-transform (ihfft) is the conjugate of a forward one with dual norm
    norm = _norm(name, norm)
    out = apply(R2C, x, dims=dims, norm=norm if forward else _DUAL[norm])
    return out if forward else out.conj()


def _c2r(name: str, input: Tensor, s: Any, dim: Any, norm: Optional[str], forward: bool,
         default_dims: Any = None) -> Tensor:
    x = _as_inexact(name, require_tensor(name, input), want_complex=True)
    dims, sizes = _dims_and_sizes(name, x, s, dim, default_dims)
    last = dims[-1]
    n = sizes[-1] if sizes[-1] is not None else 2 * (x.shape[last] - 1)
    if n < 1:
        raise op_error(RuntimeError, name, f"Invalid number of data points ({n}) specified",
                       x._data)
    for d, size in zip(dims[:-1], sizes[:-1]):
        if size is not None:
            x = _resize(x, d, size)
    x = _resize(x, last, n // 2 + 1)
    # hfft is the inverse half-transform of the conjugate with the dual normalization
    norm = _norm(name, norm)
    if forward:
        x, norm = x.conj(), _DUAL[norm]
    return apply(C2R, x, dims=dims, norm=norm, n=n)


# ---------------------------------------------------------------- torch.fft
def fft(input: Tensor, n: Optional[int] = None, dim: int = -1,
        norm: Optional[str] = None) -> Tensor:
    """The 1-d discrete Fourier transform along ``dim`` (``input`` cut or zero-padded to ``n``).

    Args:
        norm: ``"backward"`` (default, no scaling), ``"ortho"`` (1/sqrt(n)) or ``"forward"``
            (1/n).
    """
    return _c2c("fft_fft", input, None if n is None else [n], dim, norm, True)


def ifft(input: Tensor, n: Optional[int] = None, dim: int = -1,
         norm: Optional[str] = None) -> Tensor:
    """The 1-d inverse discrete Fourier transform along ``dim``."""
    return _c2c("fft_ifft", input, None if n is None else [n], dim, norm, False)


def fft2(input: Tensor, s: Optional[Sequence[int]] = None, dim: Sequence[int] = (-2, -1),
         norm: Optional[str] = None) -> Tensor:
    """The 2-d discrete Fourier transform over ``dim``."""
    return _c2c("fft_fft2", input, s, dim, norm, True)


def ifft2(input: Tensor, s: Optional[Sequence[int]] = None, dim: Sequence[int] = (-2, -1),
          norm: Optional[str] = None) -> Tensor:
    """The 2-d inverse discrete Fourier transform over ``dim``."""
    return _c2c("fft_ifft2", input, s, dim, norm, False)


def fftn(input: Tensor, s: Optional[Sequence[int]] = None, dim: Any = None,
         norm: Optional[str] = None) -> Tensor:
    """The n-d discrete Fourier transform over ``dim`` (every dim, or the last ``len(s)``)."""
    return _c2c("fft_fftn", input, s, dim, norm, True)


def ifftn(input: Tensor, s: Optional[Sequence[int]] = None, dim: Any = None,
          norm: Optional[str] = None) -> Tensor:
    """The n-d inverse discrete Fourier transform."""
    return _c2c("fft_ifftn", input, s, dim, norm, False)


def rfft(input: Tensor, n: Optional[int] = None, dim: int = -1,
         norm: Optional[str] = None) -> Tensor:
    """The Fourier transform of a real signal: the ``n // 2 + 1`` non-redundant frequencies."""
    return _r2c("fft_rfft", input, None if n is None else [n], dim, norm, True)


def irfft(input: Tensor, n: Optional[int] = None, dim: int = -1,
          norm: Optional[str] = None) -> Tensor:
    """The inverse of :func:`rfft`: a real signal of length ``n`` (default ``2 (m - 1)``)."""
    return _c2r("fft_irfft", input, None if n is None else [n], dim, norm, False)


def rfft2(input: Tensor, s: Optional[Sequence[int]] = None, dim: Sequence[int] = (-2, -1),
          norm: Optional[str] = None) -> Tensor:
    """The 2-d Fourier transform of a real signal (onesided in the last dim)."""
    return _r2c("fft_rfft2", input, s, dim, norm, True)


def irfft2(input: Tensor, s: Optional[Sequence[int]] = None, dim: Sequence[int] = (-2, -1),
           norm: Optional[str] = None) -> Tensor:
    """The inverse of :func:`rfft2`."""
    return _c2r("fft_irfft2", input, s, dim, norm, False)


def rfftn(input: Tensor, s: Optional[Sequence[int]] = None, dim: Any = None,
          norm: Optional[str] = None) -> Tensor:
    """The n-d Fourier transform of a real signal (onesided in the last dim)."""
    return _r2c("fft_rfftn", input, s, dim, norm, True)


def irfftn(input: Tensor, s: Optional[Sequence[int]] = None, dim: Any = None,
           norm: Optional[str] = None) -> Tensor:
    """The inverse of :func:`rfftn`."""
    return _c2r("fft_irfftn", input, s, dim, norm, False)


def hfft(input: Tensor, n: Optional[int] = None, dim: int = -1,
         norm: Optional[str] = None) -> Tensor:
    """The Fourier transform of a Hermitian-symmetric signal given by its first half: real."""
    return _c2r("fft_hfft", input, None if n is None else [n], dim, norm, True)


def ihfft(input: Tensor, n: Optional[int] = None, dim: int = -1,
          norm: Optional[str] = None) -> Tensor:
    """The inverse of :func:`hfft`: the onesided Hermitian spectrum of a real signal."""
    return _r2c("fft_ihfft", input, None if n is None else [n], dim, norm, False)


def hfft2(input: Tensor, s: Optional[Sequence[int]] = None, dim: Sequence[int] = (-2, -1),
          norm: Optional[str] = None) -> Tensor:
    """The 2-d :func:`hfft`."""
    return _c2r("fft_hfft2", input, s, dim, norm, True)


def ihfft2(input: Tensor, s: Optional[Sequence[int]] = None, dim: Sequence[int] = (-2, -1),
           norm: Optional[str] = None) -> Tensor:
    """The 2-d :func:`ihfft`."""
    return _r2c("fft_ihfft2", input, s, dim, norm, False)


def hfftn(input: Tensor, s: Optional[Sequence[int]] = None, dim: Any = None,
          norm: Optional[str] = None) -> Tensor:
    """The n-d :func:`hfft`."""
    return _c2r("fft_hfftn", input, s, dim, norm, True)


def ihfftn(input: Tensor, s: Optional[Sequence[int]] = None, dim: Any = None,
           norm: Optional[str] = None) -> Tensor:
    """The n-d :func:`ihfft`."""
    return _r2c("fft_ihfftn", input, s, dim, norm, False)


@factory
def fftfreq(n: int, d: float = 1.0, *, dtype: Any = None, device: Any = None,
            requires_grad: bool = False) -> Tensor:
    """The sample frequencies of an ``n``-point :func:`fft` with sample spacing ``d``."""
    from .._creation import tensor

    values = np.fft.fftfreq(n, d)
    return tensor(values, dtype=dtype or _dt.get_default_dtype(), device=device,
                  requires_grad=requires_grad)


@factory
def rfftfreq(n: int, d: float = 1.0, *, dtype: Any = None, device: Any = None,
             requires_grad: bool = False) -> Tensor:
    """The sample frequencies of an ``n``-point :func:`rfft` with sample spacing ``d``."""
    from .._creation import tensor

    values = np.fft.rfftfreq(n, d)
    return tensor(values, dtype=dtype or _dt.get_default_dtype(), device=device,
                  requires_grad=requires_grad)


def _shift(name: str, input: Tensor, dim: Any, sign: int) -> Tensor:
    x = require_tensor(name, input)
    dims = tuple(range(x.ndim)) if dim is None else ((dim,) if isinstance(dim, int) else
                                                      tuple(dim))
    dims = tuple(wrap_dim(name, d, x.ndim) for d in dims)
    return x.roll(tuple(sign * (x.shape[d] // 2) for d in dims), dims)


def fftshift(input: Tensor, dim: Any = None) -> Tensor:
    """Move the zero frequency to the middle of ``dim`` (every dim by default)."""
    return _shift("fft_fftshift", input, dim, 1)


def ifftshift(input: Tensor, dim: Any = None) -> Tensor:
    """The inverse of :func:`fftshift`."""
    return _shift("fft_ifftshift", input, dim, -1)
