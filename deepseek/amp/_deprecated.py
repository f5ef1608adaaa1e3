"""The deprecated per-device spellings ``torch.cuda.amp`` and ``torch.cpu.amp`` of
``autocast(device)`` and ``GradScaler(device)``, kept so older training scripts run; they warn as
torch does. ``deepseek.cuda.amp`` and ``deepseek.cpu.amp`` subclass these for their device."""

from __future__ import annotations

import warnings
from typing import Any

from .autocast_mode import autocast as _autocast
from .grad_scaler import GradScaler as _GradScaler


def _warn(device: str, name: str) -> None:
    warnings.warn(f"`deepseek.{device}.amp.{name}(args...)` is deprecated. Please use "
                  f"`deepseek.amp.{name}('{device}', args...)` instead.", FutureWarning,
                  stacklevel=3)


class DeviceAutocast(_autocast):
    """``deepseek.autocast(device, ...)`` under its deprecated name."""

    _device = "cuda"
    _dtype: Any = None  # the device's default

    def __init__(self, enabled: bool = True, dtype: Any = None,
                 cache_enabled: bool = True) -> None:
        _warn(self._device, "autocast")
        super().__init__(self._device, dtype=self._dtype if dtype is None else dtype,
                         enabled=enabled, cache_enabled=cache_enabled)


class DeviceGradScaler(_GradScaler):
    """``deepseek.amp.GradScaler(device, ...)`` under its deprecated name."""

    _device = "cuda"

    def __init__(self, init_scale: float = 2.0**16, growth_factor: float = 2.0,
                 backoff_factor: float = 0.5, growth_interval: int = 2000,
                 enabled: bool = True) -> None:
        _warn(self._device, "GradScaler")
        super().__init__(self._device, init_scale=init_scale, growth_factor=growth_factor,
                         backoff_factor=backoff_factor, growth_interval=growth_interval,
                         enabled=enabled)
