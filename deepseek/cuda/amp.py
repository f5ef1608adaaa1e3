"""``deepseek.cuda.amp``: torch.cuda.amp's deprecated spellings of ``autocast('cuda')`` and
``GradScaler('cuda')``, kept so older training scripts run; they warn as torch does."""

from __future__ import annotations

from ..amp._deprecated import DeviceAutocast, DeviceGradScaler

__all__ = ["GradScaler", "autocast"]


class autocast(DeviceAutocast):
    _device = "cuda"


class GradScaler(DeviceGradScaler):
    _device = "cuda"
