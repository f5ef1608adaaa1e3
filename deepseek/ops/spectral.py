"""Short-time Fourier transforms (``stft``, ``istft``), composed of framing, the transforms of
``ops/fft.py`` and an overlap-add, so autograd comes for free."""

from __future__ import annotations

import warnings
from typing import Optional

import numpy as np

from .._errors import op_error
from ..tensor import Tensor
from . import fft as _fft
from ._common import require_tensor
from ._opdef import tensor_method


def _window(name: str, window: Optional[Tensor], n_fft: int, win_length: int,
            like: Tensor) -> Tensor:
    """The window, centred and zero-padded to ``n_fft`` (a rectangular one when None)."""
    from .._creation import ones
    from .movement import cat

    if window is None:
        window = ones(win_length, dtype=like.dtype.to_real())
    elif window.ndim != 1 or window.shape[0] != win_length:
        raise op_error(RuntimeError, name, f"expected a 1D window tensor of size equal to "
                       f"win_length={win_length}, but got window with size "
                       f"{list(window.shape)}", window._data)
    if win_length == n_fft:
        return window
    from .._creation import zeros

    left = (n_fft - win_length) // 2
    return cat([zeros(left, dtype=window.dtype), window,
                zeros(n_fft - win_length - left, dtype=window.dtype)])


def _lengths(name: str, n_fft: int, hop_length: Optional[int],
             win_length: Optional[int]) -> tuple:
    hop = n_fft // 4 if hop_length is None else hop_length
    win = n_fft if win_length is None else win_length
    if n_fft <= 0:
        raise op_error(RuntimeError, name, f"expected 0 < n_fft, but got n_fft={n_fft}")
    if hop <= 0:
        raise op_error(RuntimeError, name, f"expected hop_length > 0, but got "
                       f"hop_length={hop}")
    if not 0 < win <= n_fft:
        raise op_error(RuntimeError, name, f"expected 0 < win_length <= n_fft, but got "
                       f"win_length={win}")
    return hop, win


@tensor_method
def stft(input: Tensor, n_fft: int, hop_length: Optional[int] = None,
         win_length: Optional[int] = None, window: Optional[Tensor] = None, center: bool = True,
         pad_mode: str = "reflect", normalized: bool = False, onesided: Optional[bool] = None,
         return_complex: Optional[bool] = None) -> Tensor:
    """The short-time Fourier transform of a 1-d signal or a batch of them, ``(B?, L)``.

    Returns the spectrogram ``(B?, n_freq, n_frames)``: ``n_freq = n_fft // 2 + 1`` when
    onesided (the default for real input and window), else ``n_fft``.

    Example:
        >>> spec = deepseek.stft(x, 512, window=deepseek.hann_window(512), return_complex=True)
    """
    name = "stft"
    x = require_tensor(name, input)
    if x.ndim not in (1, 2):
        raise op_error(RuntimeError, name, f"expected a 1D or 2D tensor, got {x.ndim}D",
                       x._data)
    complex_input = x.is_complex() or (window is not None and window.is_complex())
    if return_complex is None:
        if not complex_input:
            raise op_error(RuntimeError, name, "stft requires the return_complex parameter be "
                           "given for real inputs, and will further require that "
                           "return_complex=True in a future PyTorch release.")
        return_complex = True
    hop, win = _lengths(name, n_fft, hop_length, win_length)
    batched = x.ndim == 2
    if not batched:
        x = x.unsqueeze(0)
    if center:
        from .pool import pad

        x = pad(x.unsqueeze(1), (n_fft // 2, n_fft // 2), mode=pad_mode).squeeze(1)
    if x.shape[-1] < n_fft:
        raise op_error(RuntimeError, name, f"expected 0 < n_fft <= {x.shape[-1]} (the padded "
                       f"signal length), but got n_fft={n_fft}", x._data)
    frames = x.unfold(-1, n_fft, hop) * _window(name, window, n_fft, win, x)
    norm = "ortho" if normalized else "backward"
    if onesided is None:
        onesided = not complex_input
    if onesided and complex_input:
        raise op_error(RuntimeError, name, "Cannot have onesided output if window or input is "
                       "complex")
    spec = (_fft.rfft(frames, norm=norm) if onesided else _fft.fft(frames, norm=norm)).mT
    if not batched:
        spec = spec.squeeze(0)
    if return_complex:
        return spec
    warnings.warn("stft with return_complex=False is deprecated; use view_as_real on the "
                  "complex output instead", UserWarning, stacklevel=2)
    return spec.view_as_real() if spec.is_contiguous() else spec.contiguous().view_as_real()


def _overlap_add(frames: Tensor, hop: int, length: int) -> Tensor:
    """Sum ``frames`` ``(B, n_frames, n)`` placed ``hop`` apart into ``(B, length)``."""
    from .._creation import tensor, zeros

    b, count, n = frames.shape
    index = (np.arange(count)[:, None] * hop + np.arange(n)[None, :]).reshape(1, -1)
    out = zeros(b, length, dtype=frames.dtype)
    return out.scatter_add(1, tensor(index).expand(b, -1), frames.reshape(b, -1))


@tensor_method
def istft(input: Tensor, n_fft: int, hop_length: Optional[int] = None,
          win_length: Optional[int] = None, window: Optional[Tensor] = None, center: bool = True,
          normalized: bool = False, onesided: Optional[bool] = None, length: Optional[int] = None,
          return_complex: bool = False) -> Tensor:
    """The inverse of :func:`stft`: the signal ``(B?, length)`` from a complex spectrogram
    ``(B?, n_freq, n_frames)``, by inverse transforms and a window-normalized overlap-add."""
    name = "istft"
    z = require_tensor(name, input)
    if not z.is_complex():
        raise op_error(RuntimeError, name, "istft requires a complex-valued input tensor",
                       z._data)
    if z.ndim not in (2, 3):
        raise op_error(RuntimeError, name, f"expected a tensor with 2 or 3 dimensions of "
                       f"complex dtype, but got {z.ndim}D", z._data)
    hop, win = _lengths(name, n_fft, hop_length, win_length)
    batched = z.ndim == 3
    if not batched:
        z = z.unsqueeze(0)
    n_freq = z.shape[-2]
    if onesided is None:
        onesided = n_freq != n_fft
    expected = n_fft // 2 + 1 if onesided else n_fft
    if n_freq != expected:
        raise op_error(RuntimeError, name, f"expected the frequency dimension (3rd to the last) "
                       f"of the input tensor to match n_fft / 2 + 1 when onesided=True, or n_fft "
                       f"otherwise; got {n_freq} for n_fft={n_fft}", z._data)
    norm = "ortho" if normalized else "backward"
    spec = z.mT
    if return_complex:
        if onesided:
            raise op_error(RuntimeError, name, "cannot have onesided output if window or input "
                           "is complex")
        frames = _fft.ifft(spec, norm=norm)
    else:  # a real signal: its spectrum's first half determines it
        frames = _fft.irfft(spec.narrow(-1, 0, n_fft // 2 + 1), n=n_fft, norm=norm)
    w = _window(name, window, n_fft, win, frames)
    count = frames.shape[1]
    total = n_fft + hop * (count - 1)
    signal = _overlap_add(frames * w, hop, total)
    envelope = _overlap_add((w * w).reshape(1, 1, n_fft).expand(1, count, n_fft), hop, total)
    start = n_fft // 2 if center else 0
    end = total - (n_fft // 2 if center else 0) if length is None else start + length
    end = min(end, total)
    envelope = envelope[:, start:end]
    if bool((envelope.abs() < 1e-11).any()):
        raise op_error(RuntimeError, name, "window overlap add min: the window's squared "
                       "overlap-add is 0 somewhere, so the signal cannot be recovered (NOLA "
                       "condition)")
    y = signal[:, start:end] / envelope
    if length is not None and y.shape[-1] < length:
        from .._creation import zeros
        from .movement import cat

        y = cat([y, zeros(y.shape[0], length - y.shape[-1], dtype=y.dtype)], -1)
    return y if batched else y.squeeze(0)
