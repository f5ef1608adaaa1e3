"""Sampling at arbitrary points: ``grid_sample`` (bilinear, nearest or bicubic over 2-d, and
bilinear or nearest over 3-d inputs) and the ``affine_grid`` of points it usually samples at.
Both are compositions of primitives (gathers and elementwise weights), so the gradients for
the input and the grid come from theirs."""

from __future__ import annotations

import itertools
import math
import warnings
from typing import Optional, Sequence

from .._errors import op_error
from ..tensor import Tensor
from ._common import is_float, require_tensor
from .elementwise import where
from .movement import stack

__all__ = ["grid_sample", "affine_grid"]

_MODES = ("bilinear", "nearest", "bicubic")
_PADDINGS = ("zeros", "border", "reflection")
_CUBIC_A = -0.75  # the cubic convolution kernel's parameter, as PyTorch's bicubic


def _align_corners(align_corners: Optional[bool]) -> bool:
    if align_corners is None:
        warnings.warn("Default grid_sample and affine_grid behavior has changed to "
                      "align_corners=False since 1.3.0. Please specify align_corners=True if the "
                      "old behavior is desired. See the documentation of grid_sample for "
                      "details.", UserWarning, stacklevel=3)
        return False
    return bool(align_corners)


def _unnormalize(c: Tensor, n: int, align: bool) -> Tensor:
    """Grid coordinates in [-1, 1] as pixel positions along a dim of size ``n``."""
    return (c + 1) * ((n - 1) / 2) if align else ((c + 1) * n - 1) / 2


def _reflect(c: Tensor, twice_low: int, twice_high: int) -> Tensor:
    """``c`` reflected into ``[twice_low / 2, twice_high / 2]`` as often as needed."""
    if twice_low == twice_high:
        return c * 0
    low, span = twice_low / 2, (twice_high - twice_low) / 2
    c = (c - low).abs()
    extra = c.fmod(span)
    flips = (c / span).floor()
    return where(flips.fmod(2) == 0, extra + low, span - extra + low)


def _pad(c: Tensor, n: int, padding_mode: str, align: bool) -> Tensor:
    """A pixel position mapped inside the input by ``padding_mode`` (``zeros`` leaves it)."""
    if padding_mode == "reflection":
        c = _reflect(c, 0, 2 * (n - 1)) if align else _reflect(c, -1, 2 * n - 1)
    if padding_mode != "zeros":
        c = c.clamp(0, n - 1)
    return c


def _cubic_weights(t: Tensor) -> list:
    """The four cubic convolution weights of taps at offsets -1, 0, 1, 2 from ``floor``."""
    a = _CUBIC_A

    def near(s: Tensor) -> Tensor:  # |s| <= 1
        return ((a + 2) * s - (a + 3)) * s * s + 1

    def far(s: Tensor) -> Tensor:  # 1 < |s| < 2
        return ((a * s - 5 * a) * s + 8 * a) * s - 4 * a

    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


def grid_sample(input: Tensor, grid: Tensor, mode: str = "bilinear", padding_mode: str = "zeros",
                align_corners: Optional[bool] = None) -> Tensor:
    """Sample ``input`` (N, C, H, W) or (N, C, D, H, W) at the points of ``grid``
    (N, *out, 2 or 3), given as (x, y[, z]) in [-1, 1] across the input's width, height and
    depth; points outside are handled by ``padding_mode``. ``align_corners``: -1 and 1 are the
    centers of the corner pixels (True) or their outer edges (False, the default)."""
    name = "grid_sample"
    x, g = require_tensor(name, input), require_tensor(name, grid, "grid")
    if mode not in _MODES:
        raise op_error(ValueError, name, "nn.functional.grid_sample(): expected mode to be "
                       f"'bilinear', 'nearest' or 'bicubic', but got: '{mode}'")
    if padding_mode not in _PADDINGS:
        raise op_error(ValueError, name, "nn.functional.grid_sample(): expected padding_mode "
                       f"to be 'zeros', 'border', or 'reflection', but got: '{padding_mode}'")
    align = _align_corners(align_corners)
    d = x.ndim - 2
    if x.ndim not in (4, 5) or g.ndim != x.ndim or g.shape[0] != x.shape[0] or g.shape[-1] != d:
        raise op_error(RuntimeError, name, "grid_sampler(): expected a 4-D or 5-D input and a "
                       "grid of the same number of dims, the same batch size and its last dim "
                       f"the input's spatial dims, but got input of shape {list(x.shape)} and "
                       f"grid of shape {list(g.shape)}", x._data, g._data)
    if not is_float(x._data.dtype) or x._data.dtype != g._data.dtype:
        raise op_error(RuntimeError, name, "grid_sampler(): expected input and grid to have the "
                       f"same floating point dtype, but input has {x.dtype} and grid has "
                       f"{g.dtype}", x._data, g._data)
    if mode == "bicubic" and d != 2:
        raise op_error(RuntimeError, name, "grid_sampler(): bicubic interpolation only supports "
                       "4D input", x._data)
    sizes, out = tuple(x.shape[2:]), tuple(g.shape[1:-1])
    n, c = x.shape[:2]
    flat = x.reshape(n, c, math.prod(sizes))
    strides = [math.prod(sizes[k + 1:]) for k in range(d)]

    def tap(index: Sequence[Tensor]) -> Tensor:
        """The input at integer positions ``index`` (one float tensor per dim), zero outside."""
        inside = None
        linear = 0
        for i, size, stride in zip(index, sizes, strides):
            ok = (i >= 0) & (i <= size - 1)
            inside = ok if inside is None else inside & ok
            linear = linear + i.clamp(0, size - 1).long() * stride
        picked = flat.gather(2, linear.reshape(n, 1, -1).expand(n, c, -1)).reshape(
            (n, c) + out)
        return where(inside.unsqueeze(1), picked, 0.0)

    # grid[..., 0] is x, along the last dim of the input
    coords = [_unnormalize(g[..., d - 1 - k], sizes[k], align) for k in range(d)]
    if mode == "bicubic":  # each tap is padded, not the point
        low = [p.floor().detach() for p in coords]
        weights = [_cubic_weights(p - lo) for p, lo in zip(coords, low)]
        result = 0
        for offsets in itertools.product(range(4), repeat=d):
            index = [_pad(lo + (o - 1), size, padding_mode, align)
                     for lo, o, size in zip(low, offsets, sizes)]
            w = math.prod(ws[o] for ws, o in zip(weights, offsets))
            result = result + tap(index) * w.unsqueeze(1)
        return result
    coords = [_pad(p, size, padding_mode, align) for p, size in zip(coords, sizes)]
    if mode == "nearest":
        return tap([p.round().detach() for p in coords])
    low = [p.floor().detach() for p in coords]
    frac = [p - lo for p, lo in zip(coords, low)]
    result = 0
    for corner in itertools.product((0, 1), repeat=d):
        w = math.prod(f if bit else 1 - f for f, bit in zip(frac, corner))
        result = result + tap([lo + bit for lo, bit in zip(low, corner)]) * w.unsqueeze(1)
    return result


def _base_coordinates(n: int, align: bool, like: Tensor) -> Tensor:
    """Pixel centers of a dim of size ``n`` in [-1, 1] coordinates."""
    from .._creation import linspace  # (deepseek._creation imports the ops)

    if n <= 1:
        return linspace(0, 0, 1, dtype=like.dtype)
    steps = linspace(-1, 1, n, dtype=like.dtype)
    return steps if align else steps * ((n - 1) / n)


def affine_grid(theta: Tensor, size: Sequence[int], align_corners: Optional[bool] = None
                ) -> Tensor:
    """The sampling grid (N, H, W, 2) or (N, D, H, W, 3) of the affine maps ``theta``
    (N, 2, 3) or (N, 3, 4) over an output of ``size`` (N, C, H, W) or (N, C, D, H, W), for
    :func:`grid_sample`."""
    name = "affine_grid"
    t = require_tensor(name, theta, "theta")
    align = _align_corners(align_corners)
    size = [int(s) for s in size]
    if not is_float(t._data.dtype):
        raise op_error(ValueError, name, "Expected theta to have floating point type, but got "
                       f"{t.dtype}", t._data)
    if len(size) not in (4, 5):
        raise op_error(NotImplementedError, name, "affine_grid only supports 4D and 5D sizes, "
                       "for 2D and 3D affine transforms, respectively. Got size "
                       f"{size}.")
    d = len(size) - 2
    if t.ndim != 3 or tuple(t.shape[1:]) != (d, d + 1) or t.shape[0] != size[0]:
        raise op_error(ValueError, name, f"Expected a batch of {d}D affine matrices of shape "
                       f"Nx{d}x{d + 1} for size {size}. Got {list(t.shape)}.", t._data)
    if min(size) <= 0:
        raise op_error(ValueError, name, f"Expected non-zero, positive output size. Got {size}")
    spatial = size[2:]
    axes = []  # x, y[, z] (the last spatial dim first), then the homogeneous 1
    for k in range(d):
        dim = d - 1 - k
        shape = [1] * d
        shape[dim] = spatial[dim]
        axes.append(_base_coordinates(spatial[dim], align, t).reshape(shape).expand(spatial))
    axes.append(axes[0] * 0 + 1)
    base = stack(axes, -1).reshape(1, -1, d + 1)
    return (base @ t.mT).reshape([size[0]] + spatial + [d])
