"""``deepseek.cpu.amp``: torch.cpu.amp's deprecated spellings of ``autocast('cpu')`` (bfloat16
by default) and ``GradScaler('cpu')``; they warn as torch does."""

from __future__ import annotations

from .. import dtypes as _dtypes
from ..amp._deprecated import DeviceAutocast, DeviceGradScaler

__all__ = ["GradScaler", "autocast"]


class autocast(DeviceAutocast):
    _device, _dtype = "cpu", _dtypes.bfloat16


class GradScaler(DeviceGradScaler):
    _device = "cpu"
