"""Pooling layers: max (and its partial inverse), average, power-average, adaptive average,
adaptive max over 1-3 spatial dims, and fractional max over 2-3."""

from __future__ import annotations

from typing import Any, Optional

from ..._errors import op_error
from ...tensor import Tensor
from .. import functional as F
from .module import Module
from .utils import _ntuple

__all__ = ["MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d",
           "LPPool1d", "LPPool2d", "LPPool3d", "MaxUnpool1d", "MaxUnpool2d", "MaxUnpool3d",
           "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d", "AdaptiveMaxPool1d",
           "AdaptiveMaxPool2d", "AdaptiveMaxPool3d", "FractionalMaxPool2d", "FractionalMaxPool3d"]


class _MaxPoolNd(Module):
    """Max pooling. Args: kernel_size, stride (default kernel_size), padding (0),
    dilation (1), return_indices (False), ceil_mode (False)."""

    _dims = 0

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 dilation: Any = 1, return_indices: bool = False, ceil_mode: bool = False
                 ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def forward(self, input: Tensor) -> Any:
        return getattr(F, f"max_pool{self._dims}d")(
            input, self.kernel_size, self.stride, self.padding, self.dilation,
            ceil_mode=self.ceil_mode, return_indices=self.return_indices)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(_MaxPoolNd):
    """1-d max pooling over ``(N, C, L)``. Args: as ``_MaxPoolNd``."""

    _dims = 1


class MaxPool2d(_MaxPoolNd):
    """2-d max pooling over ``(N, C, H, W)``.

    Example::

        >>> ds.nn.MaxPool2d(2)(ds.randn(1, 3, 8, 8)).shape
        deepseek.Size([1, 3, 4, 4])
    """

    _dims = 2


class MaxPool3d(_MaxPoolNd):
    """3-d max pooling over ``(N, C, D, H, W)``."""

    _dims = 3


class _MaxUnpoolNd(Module):
    """The partial inverse of max pooling: ``forward(input, indices, output_size=None)`` puts
    each value back at its index, zeros elsewhere. Args: kernel_size, stride (default
    kernel_size), padding (0)."""

    _dims = 0

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding

    def forward(self, input: Tensor, indices: Tensor, output_size: Any = None) -> Tensor:
        return getattr(F, f"max_unpool{self._dims}d")(input, indices, self.kernel_size,
                                                      self.stride, self.padding, output_size)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(_MaxUnpoolNd):
    """Inverse of :class:`MaxPool1d` over ``(N, C, L)``."""

    _dims = 1


class MaxUnpool2d(_MaxUnpoolNd):
    """Inverse of :class:`MaxPool2d` over ``(N, C, H, W)``."""

    _dims = 2


class MaxUnpool3d(_MaxUnpoolNd):
    """Inverse of :class:`MaxPool3d` over ``(N, C, D, H, W)``."""

    _dims = 3


class _AvgPoolNd(Module):
    """Average pooling. Args: kernel_size, stride (default kernel_size), padding (0),
    ceil_mode (False), count_include_pad (True), divisor_override (2-d and 3-d only)."""

    _dims = 0

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 ceil_mode: bool = False, count_include_pad: bool = True,
                 divisor_override: Optional[int] = None) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, input: Tensor) -> Tensor:
        return getattr(F, f"avg_pool{self._dims}d")(
            input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
            self.count_include_pad, self.divisor_override)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool1d(_AvgPoolNd):
    """1-d average pooling over ``(N, C, L)``."""

    _dims = 1

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 ceil_mode: bool = False, count_include_pad: bool = True) -> None:
        super().__init__(_one(kernel_size), _one(stride if stride is not None
                                                 else kernel_size), _one(padding),
                         ceil_mode, count_include_pad)

    def forward(self, input: Tensor) -> Tensor:
        return F.avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)


def _one(x: Any) -> tuple:
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


class AvgPool2d(_AvgPoolNd):
    """2-d average pooling over ``(N, C, H, W)``."""

    _dims = 2


class AvgPool3d(_AvgPoolNd):
    """3-d average pooling over ``(N, C, D, H, W)``."""

    _dims = 3


class _LPPoolNd(Module):
    """Power-average pooling, ``(sum over a window of x^p)^(1/p)``. Args: norm_type ``p``,
    kernel_size, stride (default kernel_size), ceil_mode (False)."""

    _dims = 0

    def __init__(self, norm_type: float, kernel_size: Any, stride: Any = None,
                 ceil_mode: bool = False) -> None:
        super().__init__()
        self.norm_type = norm_type
        self.kernel_size = kernel_size
        self.stride = stride
        self.ceil_mode = ceil_mode

    def forward(self, input: Tensor) -> Tensor:
        return getattr(F, f"lp_pool{self._dims}d")(input, self.norm_type, self.kernel_size,
                                                   self.stride, self.ceil_mode)

    def extra_repr(self) -> str:
        return (f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, ceil_mode={self.ceil_mode}")


class LPPool1d(_LPPoolNd):
    """1-d power-average pooling over ``(N, C, L)``."""

    _dims = 1


class LPPool2d(_LPPoolNd):
    """2-d power-average pooling over ``(N, C, H, W)``."""

    _dims = 2


class LPPool3d(_LPPoolNd):
    """3-d power-average pooling over ``(N, C, D, H, W)``."""

    _dims = 3


class _AdaptiveAvgPoolNd(Module):
    """Average pooling to a fixed ``output_size`` (None keeps that dim's size)."""

    _dims = 0

    def __init__(self, output_size: Any) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:
        return getattr(F, f"adaptive_avg_pool{self._dims}d")(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(_AdaptiveAvgPoolNd):
    """Adaptive average pooling over ``(N, C, L)``."""

    _dims = 1


class AdaptiveAvgPool2d(_AdaptiveAvgPoolNd):
    """Adaptive average pooling over ``(N, C, H, W)``.

    Example::

        >>> ds.nn.AdaptiveAvgPool2d((1, 1))(ds.randn(2, 3, 5, 7)).shape
        deepseek.Size([2, 3, 1, 1])
    """

    _dims = 2


class AdaptiveAvgPool3d(_AdaptiveAvgPoolNd):
    """Adaptive average pooling over ``(N, C, D, H, W)``."""

    _dims = 3


class _AdaptiveMaxPoolNd(Module):
    """Max pooling to a fixed ``output_size``. Args: output_size, return_indices (False)."""

    _dims = 0

    def __init__(self, output_size: Any, return_indices: bool = False) -> None:
        super().__init__()
        self.output_size = output_size
        self.return_indices = return_indices

    def forward(self, input: Tensor) -> Any:
        return getattr(F, f"adaptive_max_pool{self._dims}d")(input, self.output_size,
                                                               self.return_indices)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveMaxPool1d(_AdaptiveMaxPoolNd):
    """Adaptive max pooling over ``(N, C, L)``."""

    _dims = 1


class AdaptiveMaxPool2d(_AdaptiveMaxPoolNd):
    """Adaptive max pooling over ``(N, C, H, W)``."""

    _dims = 2


class AdaptiveMaxPool3d(_AdaptiveMaxPoolNd):
    """Adaptive max pooling over ``(N, C, D, H, W)``."""

    _dims = 3


class _FractionalMaxPoolNd(Module):
    """Fractional max pooling: windows of ``kernel_size`` at pseudo-random starts that shrink
    the input to ``output_size`` (or ``output_ratio`` of its size), one draw per forward.

    Args:
        kernel_size: the window size.
        output_size: the output size (int or tuple).
        output_ratio: the output size as a fraction in (0, 1) of the input's (float or tuple);
            give exactly one of the two.
        return_indices: also return the flat input index of each maximum. Default: False.
        _random_samples: fixed ``(N, C, dims)`` samples in [0, 1) placing the windows (a
            buffer); drawn at every forward when None.
    """

    _dims = 0

    def __init__(self, kernel_size: Any, output_size: Any = None, output_ratio: Any = None,
                 return_indices: bool = False, _random_samples: Optional[Tensor] = None
                 ) -> None:
        super().__init__()
        name = type(self).__name__
        tup = _ntuple(self._dims)
        self.kernel_size = tup(kernel_size)
        self.return_indices = return_indices
        self.register_buffer("_random_samples", _random_samples)
        self.output_size = tup(output_size) if output_size is not None else None
        self.output_ratio = tup(output_ratio) if output_ratio is not None else None
        if output_size is None and output_ratio is None:
            raise op_error(ValueError, name, f"{name} requires specifying either an output "
                           "size, or a pooling ratio")
        if output_size is not None and output_ratio is not None:
            raise op_error(ValueError, name, "only one of output_size and output_ratio may be "
                           "specified")
        if self.output_ratio is not None and not all(0 < r < 1 for r in self.output_ratio):
            raise op_error(ValueError, name, f"output_ratio must be between 0 and 1 (got "
                           f"{output_ratio})")

    def forward(self, input: Tensor) -> Any:
        return getattr(F, f"fractional_max_pool{self._dims}d")(
            input, self.kernel_size, self.output_size, self.output_ratio, self.return_indices,
            _random_samples=self._random_samples)


class FractionalMaxPool2d(_FractionalMaxPoolNd):
    """2-d fractional max pooling over ``(N, C, H, W)`` or ``(C, H, W)``; samples
    ``(N, C, 2)``, the width's first. Args: as ``_FractionalMaxPoolNd``.

    Example::

        >>> ds.nn.FractionalMaxPool2d(3, output_ratio=0.5)(ds.randn(1, 2, 10, 12)).shape
        deepseek.Size([1, 2, 5, 6])
    """

    _dims = 2


class FractionalMaxPool3d(_FractionalMaxPoolNd):
    """3-d fractional max pooling over ``(N, C, T, H, W)`` or ``(C, T, H, W)``; samples
    ``(N, C, 3)``. Args: as ``_FractionalMaxPoolNd``."""

    _dims = 3
