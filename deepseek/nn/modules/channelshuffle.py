"""``ChannelShuffle``."""

from __future__ import annotations

from ...tensor import Tensor
from .module import Module

__all__ = ["ChannelShuffle"]


class ChannelShuffle(Module):
    """Splits the channels (dim 1) into ``groups`` and interleaves them:
    ``(N, g * c, *)`` viewed as ``(N, g, c, *)``, transposed to ``(N, c, g, *)``."""

    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups

    def forward(self, input: Tensor) -> Tensor:
        n, c = input.shape[0], input.shape[1]
        if c % self.groups != 0:
            raise RuntimeError(f"[channel_shuffle] Number of channels must be divisible by "
                               f"groups. Got {c} channels and {self.groups} groups.")
        rest = tuple(input.shape[2:])
        x = input.reshape((n, self.groups, c // self.groups) + rest).transpose(1, 2)
        return x.reshape((n, c) + rest)

    def extra_repr(self) -> str:
        return f"groups={self.groups}"
