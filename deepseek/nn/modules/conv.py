"""Convolution layers: ``Conv1d/2d/3d`` and ``ConvTranspose1d/2d/3d`` (one N-d base)."""

from __future__ import annotations

import math
from typing import Any, Optional, Sequence

from ..._creation import empty
from ..._errors import op_error
from ...tensor import Tensor
from .. import functional as F
from .. import init
from ..parameter import Parameter
from .module import Module
from .utils import _check_sizes, _ntuple, _reverse_repeat_tuple

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d",
           "ConvTranspose3d"]

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    """What every convolution shares: arguments, parameters, initialization, ``extra_repr``."""

    _dims = 0
    _transposed = False

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, dilation: Any = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", output_padding: Any = 0, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        tup = _ntuple(self._dims)
        self._check_arguments(in_channels, out_channels, tup(stride), padding, groups,
                              padding_mode)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = tup(kernel_size)
        self.stride = tup(stride)
        self.padding = padding if isinstance(padding, str) else tup(padding)
        self.dilation = tup(dilation)
        self.transposed = self._transposed
        self.output_padding = tup(output_padding)
        self.groups = groups
        self.padding_mode = padding_mode
        if padding == "same":
            pads = []
            for d, k in zip(reversed(self.dilation), reversed(self.kernel_size)):
                total = d * (k - 1)
                pads += [total // 2, total - total // 2]
            self._reversed_padding_repeated_twice = pads
        elif padding == "valid":
            self._reversed_padding_repeated_twice = [0, 0] * self._dims
        else:
            self._reversed_padding_repeated_twice = list(_reverse_repeat_tuple(self.padding, 2))
        if self._transposed:
            shape = (in_channels, out_channels // groups) + self.kernel_size
        else:
            shape = (out_channels, in_channels // groups) + self.kernel_size
        self.weight = Parameter(empty(shape, device=device, dtype=dtype))
        if bias:
            self.bias = Parameter(empty(out_channels, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def _check_arguments(self, in_channels: int, out_channels: int, stride: tuple, padding: Any,
                         groups: int, padding_mode: str) -> None:
        name = type(self).__name__
        _check_sizes(name, in_channels=in_channels, out_channels=out_channels)
        if groups <= 0:
            raise op_error(ValueError, name, f"groups must be a positive integer, got {groups}")
        if in_channels % groups != 0:
            raise op_error(ValueError, name, "in_channels must be divisible by groups (got "
                           f"in_channels={in_channels}, groups={groups})")
        if out_channels % groups != 0:
            raise op_error(ValueError, name, "out_channels must be divisible by groups (got "
                           f"out_channels={out_channels}, groups={groups})")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise op_error(ValueError, name, f"Invalid padding string {padding!r}, should be "
                               "one of ['same', 'valid']")
            if padding == "same" and any(s != 1 for s in stride):
                raise op_error(ValueError, name, "padding='same' is not supported for strided "
                               f"convolutions (stride={stride})")
        if padding_mode not in _PADDING_MODES:
            raise op_error(ValueError, name, f"padding_mode must be one of "
                           f"{list(_PADDING_MODES)}, but got padding_mode='{padding_mode}'")

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            if fan_in != 0:
                bound = 1 / math.sqrt(fan_in)
                init.uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,) * len(self.padding):
            s += f", padding={self.padding}"
        if self.dilation != (1,) * len(self.dilation):
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * len(self.output_padding):
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class _Conv(_ConvNd):
    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, dilation: Any = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", device: Any = None, dtype: Any = None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, 0, device, dtype)

    def _conv_forward(self, input: Tensor, weight: Tensor, bias: Optional[Tensor]) -> Tensor:
        conv = getattr(F, f"conv{self._dims}d")
        if self.padding_mode != "zeros":
            padded = F.pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            return conv(padded, weight, bias, self.stride, 0, self.dilation, self.groups)
        return conv(input, weight, bias, self.stride, self.padding, self.dilation, self.groups)

    def forward(self, input: Tensor) -> Tensor:
        return self._conv_forward(input, self.weight, self.bias)


class Conv1d(_Conv):
    """1-d convolution over ``(N, C_in, L)`` (or ``(C_in, L)``) inputs.

    Args:
        in_channels, out_channels: channel counts. kernel_size: int or tuple.
        stride: default 1. padding: int, tuple, ``'valid'`` or ``'same'``; default 0.
        dilation: default 1. groups: default 1. bias: default True.
        padding_mode: ``'zeros'`` | ``'reflect'`` | ``'replicate'`` | ``'circular'``.

    Example::

        >>> ds.nn.Conv1d(4, 8, 3)(ds.randn(2, 4, 10)).shape
        deepseek.Size([2, 8, 8])
    """

    _dims = 1


class Conv2d(_Conv):
    """2-d convolution over ``(N, C_in, H, W)`` (or ``(C_in, H, W)``) inputs.

    Args: as ``Conv1d``, with int-or-pair sizes.

    Example::

        >>> ds.nn.Conv2d(3, 8, 3, padding=1)(ds.randn(2, 3, 8, 8)).shape
        deepseek.Size([2, 8, 8, 8])
    """

    _dims = 2


class Conv3d(_Conv):
    """3-d convolution over ``(N, C_in, D, H, W)`` inputs. Args: as ``Conv1d``."""

    _dims = 3


class _ConvTranspose(_ConvNd):
    _transposed = True

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, output_padding: Any = 0, groups: int = 1, bias: bool = True,
                 dilation: Any = 1, padding_mode: str = "zeros", device: Any = None,
                 dtype: Any = None) -> None:
        if padding_mode != "zeros":
            raise op_error(ValueError, type(self).__name__, 'Only "zeros" padding mode is '
                           f"supported for {type(self).__name__}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, output_padding, device, dtype)

    def _output_padding(self, input: Tensor, output_size: Optional[Sequence[int]]) -> tuple:
        if output_size is None:
            return self.output_padding
        n = self._dims
        output_size = list(output_size)
        if len(output_size) == input.ndim:
            output_size = output_size[-n:]
        if len(output_size) != n:
            raise ValueError(f"ConvTranspose{n}D: for {input.ndim}D input, output_size must "
                             f"have {n} or {input.ndim} elements (got {len(output_size)})")
        result = []
        for d in range(n):
            size = input.shape[input.ndim - n + d]
            low = ((size - 1) * self.stride[d] - 2 * self.padding[d]
                   + self.dilation[d] * (self.kernel_size[d] - 1) + 1)
            high = low + self.stride[d] - 1
            if not low <= output_size[d] <= high:
                raise ValueError(f"requested an output size of {output_size}, but valid sizes "
                                 f"range from {low} to {high} (for an input of "
                                 f"{list(input.shape[-n:])})")
            result.append(output_size[d] - low)
        return tuple(result)

    def forward(self, input: Tensor, output_size: Optional[Sequence[int]] = None) -> Tensor:
        output_padding = self._output_padding(input, output_size)
        conv = getattr(F, f"conv_transpose{self._dims}d")
        return conv(input, self.weight, self.bias, self.stride, self.padding, output_padding,
                    self.groups, self.dilation)


class ConvTranspose1d(_ConvTranspose):
    """1-d transposed convolution (the gradient of ``Conv1d`` with respect to its input).

    Args: in_channels, out_channels, kernel_size, stride (1), padding (0),
    output_padding (0), groups (1), bias (True), dilation (1).
    """

    _dims = 1


class ConvTranspose2d(_ConvTranspose):
    """2-d transposed convolution. Args: as ``ConvTranspose1d``.

    Example::

        >>> ds.nn.ConvTranspose2d(4, 2, 3, stride=2)(ds.randn(1, 4, 5, 5)).shape
        deepseek.Size([1, 2, 11, 11])
    """

    _dims = 2


class ConvTranspose3d(_ConvTranspose):
    """3-d transposed convolution. Args: as ``ConvTranspose1d``."""

    _dims = 3
