"""Window functions: ``torch.signal.windows`` and the ``torch.*_window`` factories, which share
one body per window. Values are computed in float64 on the host and rounded once to the dtype."""

from __future__ import annotations

import math
from typing import Any, Callable, Iterable, Optional

import numpy as np

from .. import dtypes as _dt
from .._creation import _finish
from .._errors import op_error
from .._options import factory
from ..tensor import Tensor

__all__ = ["bartlett", "blackman", "cosine", "exponential", "gaussian", "general_cosine",
           "general_hamming", "hamming", "hann", "kaiser", "nuttall", "bartlett_window",
           "blackman_window", "hamming_window", "hann_window", "kaiser_window"]

_NUTTALL = (0.3635819, 0.4891775, 0.1365995, 0.0106411)
_BLACKMAN = (0.42, 0.5, 0.08)


# ------------------------------------------------------------------ the windows, in float64
def _points(M: int, sym: bool) -> tuple:
    """Sample positions 0..M-1 and the length ``N`` the window is laid out over: ``M`` for a
    symmetric window, ``M + 1`` for a periodic one (the last point is dropped), except that a
    one-point window is never extended (PyTorch's rule)."""
    return np.arange(M, dtype=np.float64), (M if sym or M == 1 else M + 1)


def _cosine_sum(M: int, a: tuple, sym: bool) -> np.ndarray:
    if M == 1:
        return np.ones(1)
    n, N = _points(M, sym)
    k = 2 * math.pi * n / max(N - 1, 1)
    return sum((-1) ** i * c * np.cos(i * k) for i, c in enumerate(a)) + np.zeros(M)


def _bartlett(M: int, sym: bool) -> np.ndarray:
    if M == 1:
        return np.ones(1)
    n, N = _points(M, sym)
    return 1 - np.abs(2 * n / (N - 1) - 1)


def _kaiser(M: int, beta: float, sym: bool) -> np.ndarray:
    if M == 1:
        return np.ones(1)
    n, N = _points(M, sym)
    r = 2 * n / (N - 1) - 1
    return np.i0(beta * np.sqrt(np.clip(1 - r * r, 0, None))) / np.i0(beta)


def _cosine(M: int, sym: bool) -> np.ndarray:
    if M == 1:
        return np.ones(1)
    n, N = _points(M, sym)
    return np.sin(math.pi * (n + 0.5) / N)


def _gaussian(M: int, std: float, sym: bool) -> np.ndarray:
    n, N = _points(M, sym)
    return np.exp(-0.5 * ((n - (N - 1) / 2) / std) ** 2)


def _exponential(M: int, center: Optional[float], tau: float, sym: bool) -> np.ndarray:
    n, N = _points(M, sym)
    c = (N - 1) / 2 if center is None else center
    return np.exp(-np.abs(n - c) / tau)


# ------------------------------------------------------------------ torch.*_window front doors
def _factory(name: str, values: Callable[[int, bool], np.ndarray], window_length: Any,
             periodic: Any, dtype: Any, device: Any, requires_grad: bool) -> Tensor:
    for arg, value, kind in (("window_length", window_length, int),
                             ("periodic", periodic, bool)):
        ok = isinstance(value, (bool, np.bool_)) if kind is bool else (
            isinstance(value, (int, np.integer)) and not isinstance(value, bool))
        if not ok:
            raise op_error(TypeError, name, f"{name}(): argument '{arg}' must be "
                           f"{kind.__name__}, not {type(value).__name__}")
    if window_length < 0:
        raise op_error(RuntimeError, name, f"{name} requires non-negative window_length, got "
                       f"window_length={window_length}")
    d = _dt.get_default_dtype() if dtype is None else _dt.to_dtype(dtype)
    if not d.is_floating_point:
        raise op_error(RuntimeError, name, f"{name} expects floating point dtypes, got: {d}")
    out = values(int(window_length), not periodic) if window_length else np.zeros(0)
    return _finish(out.astype(d.np), device, requires_grad)


@factory(out=False)
def hann_window(window_length: int, periodic: bool = True, *, dtype: Any = None, device: Any = None,
                requires_grad: bool = False) -> Tensor:
    """The Hann window ``0.5 - 0.5 cos(2 pi n / (N - 1))``.

    Args:
        window_length: the size of the returned window.
        periodic: if True, a window for spectral analysis (the first ``window_length`` points
            of a symmetric window one longer); if False, a symmetric window for filter design.
        dtype, device, requires_grad: as for :func:`deepseek.zeros` (a floating dtype).

    Example:
        >>> ds.hann_window(4)
        tensor([0.0000, 0.5000, 1.0000, 0.5000])
    """
    return _factory("hann_window", lambda M, sym: _cosine_sum(M, (0.5, 0.5), sym),
                    window_length, periodic, dtype, device, requires_grad)


@factory(out=False)
def hamming_window(window_length: int, periodic: bool = True, alpha: float = 0.54,
                   beta: float = 0.46, *, dtype: Any = None, device: Any = None,
                   requires_grad: bool = False) -> Tensor:
    """The Hamming window ``alpha - beta cos(2 pi n / (N - 1))``.

    Args:
        window_length, periodic, dtype, device, requires_grad: as for :func:`hann_window`.
        alpha, beta: the window's coefficients.

    Example:
        >>> ds.hamming_window(3, periodic=False)
        tensor([0.0800, 1.0000, 0.0800])
    """
    return _factory("hamming_window", lambda M, sym: _cosine_sum(M, (alpha, beta), sym),
                    window_length, periodic, dtype, device, requires_grad)


@factory(out=False)
def blackman_window(window_length: int, periodic: bool = True, *, dtype: Any = None,
                    device: Any = None, requires_grad: bool = False) -> Tensor:
    """The Blackman window ``0.42 - 0.5 cos(2 pi n / (N - 1)) + 0.08 cos(4 pi n / (N - 1))``.

    Args:
        window_length, periodic, dtype, device, requires_grad: as for :func:`hann_window`.

    Example:
        >>> ds.blackman_window(3, periodic=False)
        tensor([-1.3878e-17,  1.0000e+00, -1.3878e-17])
    """
    return _factory("blackman_window", lambda M, sym: _cosine_sum(M, _BLACKMAN, sym),
                    window_length, periodic, dtype, device, requires_grad)


@factory(out=False)
def bartlett_window(window_length: int, periodic: bool = True, *, dtype: Any = None,
                    device: Any = None, requires_grad: bool = False) -> Tensor:
    """The Bartlett (triangular) window ``1 - |2n / (N - 1) - 1|``.

    Args:
        window_length, periodic, dtype, device, requires_grad: as for :func:`hann_window`.

    Example:
        >>> ds.bartlett_window(5, periodic=False)
        tensor([0.0000, 0.5000, 1.0000, 0.5000, 0.0000])
    """
    return _factory("bartlett_window", _bartlett, window_length, periodic, dtype, device,
                    requires_grad)


@factory(out=False)
def kaiser_window(window_length: int, periodic: bool = True, beta: float = 12.0, *,
                  dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """The Kaiser window ``I0(beta sqrt(1 - (2n / (N - 1) - 1)^2)) / I0(beta)``.

    Args:
        window_length, periodic, dtype, device, requires_grad: as for :func:`hann_window`.
        beta: the shape parameter.

    Example:
        >>> ds.kaiser_window(3, periodic=False, beta=0.0)
        tensor([1., 1., 1.])
    """
    return _factory("kaiser_window", lambda M, sym: _kaiser(M, float(beta), sym),
                    window_length, periodic, dtype, device, requires_grad)


# ------------------------------------------------------------------ torch.signal.windows
def _window(name: str, values: Callable[[], np.ndarray], M: Any, dtype: Any, device: Any,
            requires_grad: bool) -> Tensor:
    """Check ``M`` and ``dtype`` the way torch.signal.windows does, then build the tensor."""
    if not isinstance(M, (int, np.integer)) or isinstance(M, bool):
        raise op_error(TypeError, name, f"M must be an int, got {type(M).__name__}")
    if M < 0:
        raise op_error(ValueError, name, f"{name} requires non-negative window length, got "
                       f"M={M}")
    d = _dt.get_default_dtype() if dtype is None else _dt.to_dtype(dtype)
    if d not in (_dt.float32, _dt.float64):
        raise op_error(ValueError, name, f"{name} expects float32 or float64 dtypes, got: {d}")
    out = values() if M else np.zeros(0)
    return _finish(out.astype(d.np), device, requires_grad)


@factory(out=False)
def general_cosine(M: int, *, a: Iterable, sym: bool = True, dtype: Any = None, device: Any = None,
                   requires_grad: bool = False) -> Tensor:
    """The generic weighted sum of cosines ``sum_i (-1)^i a_i cos(2 pi i n / (M - 1))``.

    Args:
        M: the length of the window (0 gives an empty tensor, 1 a single one).
        a: the coefficients, a list or tuple of numbers.
        sym: if True (default), a symmetric window for filter design; if False, a periodic
            one for spectral analysis.
        dtype, device, requires_grad: as for :func:`deepseek.zeros` (float32 or float64).

    Example:
        >>> ds.signal.windows.general_cosine(3, a=[0.5, 0.5])
        tensor([0., 1., 0.])
    """
    if not isinstance(a, (list, tuple)):
        raise op_error(TypeError, "general_cosine", "Coefficients must be a list/tuple")
    if not a:
        raise op_error(ValueError, "general_cosine", "Coefficients cannot be empty")
    coefficients = tuple(float(c) for c in a)
    return _window("general_cosine", lambda: _cosine_sum(M, coefficients, sym), M, dtype,
                   device, requires_grad)


@factory(out=False)
def general_hamming(M: int, *, alpha: float = 0.54, sym: bool = True, dtype: Any = None,
                    device: Any = None, requires_grad: bool = False) -> Tensor:
    """The generalized Hamming window ``alpha - (1 - alpha) cos(2 pi n / (M - 1))``.

    Args:
        M, sym, dtype, device, requires_grad: as for :func:`general_cosine`.
        alpha: the window's coefficient.

    Example:
        >>> ds.signal.windows.general_hamming(3, alpha=0.5)
        tensor([0., 1., 0.])
    """
    return _window("general_hamming", lambda: _cosine_sum(M, (alpha, 1 - alpha), sym), M,
                   dtype, device, requires_grad)


@factory(out=False)
def hann(M: int, *, sym: bool = True, dtype: Any = None, device: Any = None,
         requires_grad: bool = False) -> Tensor:
    """The Hann window (a general Hamming window with ``alpha = 0.5``).

    Args:
        M, sym, dtype, device, requires_grad: as for :func:`general_cosine`.

    Example:
        >>> ds.signal.windows.hann(4, sym=False)
        tensor([0.0000, 0.5000, 1.0000, 0.5000])
    """
    return _window("hann", lambda: _cosine_sum(M, (0.5, 0.5), sym), M, dtype, device,
                   requires_grad)


@factory(out=False)
def hamming(M: int, *, sym: bool = True, dtype: Any = None, device: Any = None,
            requires_grad: bool = False) -> Tensor:
    """The Hamming window (a general Hamming window with ``alpha = 0.54``).

    Args:
        M, sym, dtype, device, requires_grad: as for :func:`general_cosine`.

    Example:
        >>> ds.signal.windows.hamming(3)
        tensor([0.0800, 1.0000, 0.0800])
    """
    return _window("hamming", lambda: _cosine_sum(M, (0.54, 0.46), sym), M, dtype, device,
                   requires_grad)


@factory(out=False)
def blackman(M: int, *, sym: bool = True, dtype: Any = None, device: Any = None,
             requires_grad: bool = False) -> Tensor:
    """The Blackman window (a general cosine window with ``a = [0.42, 0.5, 0.08]``).

    Args:
        M, sym, dtype, device, requires_grad: as for :func:`general_cosine`.

    Example:
        >>> ds.signal.windows.blackman(3, dtype=ds.float64)
        tensor([-1.3878e-17,  1.0000e+00, -1.3878e-17], dtype=deepseek.float64)
    """
    return _window("blackman", lambda: _cosine_sum(M, _BLACKMAN, sym), M, dtype, device,
                   requires_grad)


@factory(out=False)
def nuttall(M: int, *, sym: bool = True, dtype: Any = None, device: Any = None,
            requires_grad: bool = False) -> Tensor:
    """The minimum 4-term Blackman-Harris window of Nuttall (a general cosine window).

    Args:
        M, sym, dtype, device, requires_grad: as for :func:`general_cosine`.

    Example:
        >>> ds.signal.windows.nuttall(3)
        tensor([3.6280e-04, 1.0000e+00, 3.6280e-04])
    """
    return _window("nuttall", lambda: _cosine_sum(M, _NUTTALL, sym), M, dtype, device,
                   requires_grad)


@factory(out=False)
def bartlett(M: int, *, sym: bool = True, dtype: Any = None, device: Any = None,
             requires_grad: bool = False) -> Tensor:
    """The Bartlett (triangular) window ``1 - |2n / (M - 1) - 1|``.

    Args:
        M, sym, dtype, device, requires_grad: as for :func:`general_cosine`.

    Example:
        >>> ds.signal.windows.bartlett(5)
        tensor([0.0000, 0.5000, 1.0000, 0.5000, 0.0000])
    """
    return _window("bartlett", lambda: _bartlett(M, sym), M, dtype, device, requires_grad)


@factory(out=False)
def cosine(M: int, *, sym: bool = True, dtype: Any = None, device: Any = None,
           requires_grad: bool = False) -> Tensor:
    """The cosine (sine) window ``sin(pi (n + 0.5) / M)``.

    Args:
        M, sym, dtype, device, requires_grad: as for :func:`general_cosine`.

    Example:
        >>> ds.signal.windows.cosine(3)
        tensor([0.5000, 1.0000, 0.5000])
    """
    return _window("cosine", lambda: _cosine(M, sym), M, dtype, device, requires_grad)


@factory(out=False)
def kaiser(M: int, *, beta: float = 12.0, sym: bool = True, dtype: Any = None, device: Any = None,
           requires_grad: bool = False) -> Tensor:
    """The Kaiser window ``I0(beta sqrt(1 - (2n / (M - 1) - 1)^2)) / I0(beta)``.

    Args:
        M, sym, dtype, device, requires_grad: as for :func:`general_cosine`.
        beta: the non-negative shape parameter.

    Example:
        >>> ds.signal.windows.kaiser(3, beta=0.0)
        tensor([1., 1., 1.])
    """
    if beta < 0:
        raise op_error(ValueError, "kaiser", f"beta must be non-negative, got: {beta} instead.")
    return _window("kaiser", lambda: _kaiser(M, float(beta), sym), M, dtype, device,
                   requires_grad)


@factory(out=False)
def gaussian(M: int, *, std: float = 1.0, sym: bool = True, dtype: Any = None, device: Any = None,
             requires_grad: bool = False) -> Tensor:
    """The Gaussian window ``exp(-((n - (M - 1) / 2) / std)^2 / 2)``.

    Args:
        M, sym, dtype, device, requires_grad: as for :func:`general_cosine`.
        std: the positive standard deviation, in samples.

    Example:
        >>> ds.signal.windows.gaussian(3)
        tensor([0.6065, 1.0000, 0.6065])
    """
    if std <= 0:
        raise op_error(ValueError, "gaussian", f"Standard deviation must be positive, got: "
                       f"{std} instead.")
    return _window("gaussian", lambda: _gaussian(M, float(std), sym), M, dtype, device,
                   requires_grad)


@factory(out=False)
def exponential(M: int, *, center: Optional[float] = None, tau: float = 1.0, sym: bool = True,
                dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """The exponential (Poisson) window ``exp(-|n - center| / tau)``.

    Args:
        M, sym, dtype, device, requires_grad: as for :func:`general_cosine`.
        center: where the window peaks (default: its middle); only for ``sym=False``.
        tau: the positive decay constant.

    Example:
        >>> ds.signal.windows.exponential(3)
        tensor([0.3679, 1.0000, 0.3679])
    """
    if tau <= 0:
        raise op_error(ValueError, "exponential", f"Tau must be positive, got: {tau} instead.")
    if sym and center is not None:
        raise op_error(ValueError, "exponential", "Center must be None for symmetric windows")
    return _window("exponential", lambda: _exponential(M, center, float(tau), sym), M, dtype,
                   device, requires_grad)
