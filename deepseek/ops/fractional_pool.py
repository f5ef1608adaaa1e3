"""Fractional max pooling (Graham, 2014): windows of a fixed size whose starts follow a
pseudo-random sequence per plane, fixed by one uniform sample per spatial dim. The flat indices
of the maxima are a non-differentiable primitive; the values are a gather at them, as in the
other max pools."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from .._errors import op_error
from ..tensor import Tensor
from ._common import INT64, is_float, require_tensor
from ._opdef import apply, defop
from .conv import kernel_offsets, ntuple
from .pool import _argmax_of, _values_at

__all__ = ["fractional_max_pool2d", "fractional_max_pool2d_with_indices",
           "fractional_max_pool3d", "fractional_max_pool3d_with_indices"]

# which of a plane's samples draws each spatial dim (PyTorch's layout: W first in 2-d)
_SAMPLE_OF_DIM = {2: (1, 0), 3: (0, 1, 2)}
_DIM_NAMES = {2: ("height", "width"), 3: ("time", "height", "width")}


def _starts(u: Any, n: int, o: int, k: int) -> Any:
    """``(planes, o)`` window starts over an input of ``n`` for samples ``u`` in [0, 1): the
    sequence ``floor((i + u) a) - floor(u a)`` with ``a = (n - k) / (o - 1)``, ending at
    ``n - k``. Computed in the samples' dtype, as PyTorch does, so the same samples give the
    same windows."""
    starts = np.empty(u.shape + (o,), INT64)
    if o > 1:
        alpha = u.dtype.type(n - k) / u.dtype.type(o - 1)
        i = np.arange(o - 1, dtype=u.dtype)
        starts[..., :-1] = (((i + u[..., None]) * alpha).astype(INT64)
                            - (u * alpha).astype(INT64)[..., None])
    if o > 0:
        starts[..., -1] = n - k
    return starts


def _indices_forward(xp: Any, x: Any, samples: Any, *, kernel: tuple, out: tuple) -> Any:
    d = len(kernel)
    batch, channels = x.shape[:2]
    size = x.shape[2:]
    u = samples[:batch]
    starts = [_starts(u[:, :, _SAMPLE_OF_DIM[d][j]], size[j], out[j], kernel[j])
              for j in range(d)]
    flat_x = x.reshape(batch, channels, -1)

    def candidates() -> Any:
        for offset in kernel_offsets(kernel):
            flat = 0
            for j, (start, k) in enumerate(zip(starts, offset)):
                shape = (batch, channels) + tuple(out[i] if i == j else 1 for i in range(d))
                flat = flat * size[j] + (start + k).reshape(shape)
            flat = np.broadcast_to(flat, (batch, channels) + out)
            values = np.take_along_axis(flat_x, flat.reshape(batch, channels, -1), axis=2)
            yield values.reshape(flat.shape), flat

    return _argmax_of(xp, candidates())


def _indices_meta(x: Any, samples: Any, *, kernel: tuple, out: tuple) -> tuple:
    return x.shape[:2] + tuple(out), INT64


FRACTIONAL_MAX_INDICES = defop(
    "fractional_max_pool_with_indices", _indices_forward, _indices_meta,
    doc="Flat input indices of each fractional max-pool window's maximum, the windows placed by "
        "one sample per (batch, channel, spatial dim).")


def _output_size(name: str, x: Tensor, d: int, output_size: Any, output_ratio: Any) -> tuple:
    size = x.shape[x.ndim - d:]
    if output_size is not None:
        return ntuple(name, output_size, d, "output_size")
    if output_ratio is None:
        raise op_error(ValueError, name, f"{name} requires specifying either an output_size or "
                       "an output_ratio")
    ratios = tuple(output_ratio) if isinstance(output_ratio, (tuple, list)) else (
        (output_ratio,) * d)
    if len(ratios) != d:
        raise op_error(ValueError, name, f"output_ratio must be a float or {d} floats, got "
                       f"{output_ratio}")
    return tuple(int(n * r) for n, r in zip(size, ratios))


def _fractional(name: str, d: int, input: Tensor, kernel_size: Any, output_size: Any,
                output_ratio: Any, random_samples: Optional[Tensor]) -> tuple:
    x = require_tensor(name, input)
    if x.ndim < d + 1:
        raise op_error(IndexError, name, f"Dimension out of range: expected a {d + 1}D or "
                       f"{d + 2}D (batch mode) input, got {x.ndim}D", x._data)
    if x.ndim > d + 2 or any(n == 0 for n in x.shape[x.ndim - d - 1:]):
        raise op_error(RuntimeError, name, f"Expected {d + 1}D or {d + 2}D tensor, but got: "
                       f"{list(x.shape)}", x._data)
    if not is_float(x._data.dtype):
        raise op_error(RuntimeError, name, "expected a floating-point input", x._data)
    kernel = ntuple(name, kernel_size, d, "kernel_size")
    if any(k <= 0 for k in kernel):
        raise op_error(RuntimeError, name, f"kernel_size must be greater than zero, but got "
                       f"{list(kernel)}")
    out = _output_size(name, x, d, output_size, output_ratio)
    size = x.shape[x.ndim - d:]
    for dim, n, o, k in zip(_DIM_NAMES[d], size, out, kernel):
        if o < 0:
            raise op_error(RuntimeError, name, f"output_size must be non-negative, got "
                           f"{list(out)}")
        if o + k - 1 > n:
            raise op_error(RuntimeError, name, f"pool {dim} {k} too large relative to input "
                           f"{dim} {n} (output {dim} {o})", x._data)
    unbatched = x.ndim == d + 1
    if unbatched:
        x = x.unsqueeze(0)
    batch, channels = x.shape[:2]
    if random_samples is None:
        from ..random import rand

        samples = rand(batch, channels, d, dtype=x.dtype)
    else:
        samples = require_tensor(name, random_samples, "_random_samples")
        s = samples._data
        if s.ndim != 3 or s.shape[2] != d:
            raise op_error(RuntimeError, name, f"Expect _random_samples of shape (N, C, {d})",
                           s)
        if s.shape[0] < batch:
            raise op_error(RuntimeError, name, "Expect _random_samples.size(0) no less than "
                           f"input batch size ({batch})", s)
        if s.shape[1] != channels:
            raise op_error(RuntimeError, name, "Expect _random_samples.size(1) equals to input "
                           f"channel size ({channels})", s)
        if s.dtype != x._data.dtype:
            raise op_error(RuntimeError, name, "Expect _random_samples to have the same dtype "
                           "as input", x._data, s)
    index = apply(FRACTIONAL_MAX_INDICES, x, samples, kernel=kernel, out=out)
    values = _values_at(x, index, d)
    if unbatched:
        return values.squeeze(0), index.squeeze(0)
    return values, index


def fractional_max_pool2d_with_indices(input: Tensor, kernel_size: Any, output_size: Any = None,
                                       output_ratio: Any = None, return_indices: bool = False,
                                       _random_samples: Optional[Tensor] = None) -> tuple:
    """:func:`fractional_max_pool2d`'s values and flat indices (over ``H * W``)."""
    return _fractional("fractional_max_pool2d", 2, input, kernel_size, output_size,
                       output_ratio, _random_samples)


def fractional_max_pool2d(input: Tensor, kernel_size: Any, output_size: Any = None,
                          output_ratio: Any = None, return_indices: bool = False,
                          _random_samples: Optional[Tensor] = None) -> Any:
    """2-d fractional max pooling of (N, C, H, W) or (C, H, W).

    Args:
        kernel_size: the window size (int or pair).
        output_size: the output's (H, W) (int or pair); it wins over ``output_ratio``.
        output_ratio: the output size as a fraction of the input's (float or pair in (0, 1)).
        return_indices: also return the flat input index of each maximum.
        _random_samples: ``(N, C, 2)`` samples in [0, 1) of the input's dtype, the width's
            first, that place the windows (drawn from the default generator when None).

    Example:
        >>> fractional_max_pool2d(ds.randn(1, 2, 9, 9), 2, output_size=4).shape
        deepseek.Size([1, 2, 4, 4])
    """
    values, index = _fractional("fractional_max_pool2d", 2, input, kernel_size, output_size,
                                output_ratio, _random_samples)
    return (values, index) if return_indices else values


def fractional_max_pool3d_with_indices(input: Tensor, kernel_size: Any, output_size: Any = None,
                                       output_ratio: Any = None, return_indices: bool = False,
                                       _random_samples: Optional[Tensor] = None) -> tuple:
    """:func:`fractional_max_pool3d`'s values and flat indices (over ``T * H * W``)."""
    return _fractional("fractional_max_pool3d", 3, input, kernel_size, output_size,
                       output_ratio, _random_samples)


def fractional_max_pool3d(input: Tensor, kernel_size: Any, output_size: Any = None,
                          output_ratio: Any = None, return_indices: bool = False,
                          _random_samples: Optional[Tensor] = None) -> Any:
    """3-d fractional max pooling of (N, C, T, H, W) or (C, T, H, W); arguments as in
    :func:`fractional_max_pool2d`, with triples and ``(N, C, 3)`` samples (time, height,
    width)."""
    values, index = _fractional("fractional_max_pool3d", 3, input, kernel_size, output_size,
                                output_ratio, _random_samples)
    return (values, index) if return_indices else values
