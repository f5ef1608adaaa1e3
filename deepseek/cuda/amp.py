"""``deepseek.cuda.amp``: torch.cuda.amp's deprecated spellings of ``autocast('cuda')`` and
``GradScaler('cuda')``, kept so older training scripts run; they warn as torch does."""

from __future__ import annotations

import warnings
from typing import Any

from .. import amp as _amp

__all__ = ["GradScaler", "autocast"]


class autocast(_amp.autocast):
    """``deepseek.autocast('cuda', ...)`` under its deprecated name."""

    def __init__(self, enabled: bool = True, dtype: Any = None,
                 cache_enabled: bool = True) -> None:
        warnings.warn("`deepseek.cuda.amp.autocast(args...)` is deprecated. Please use "
                      "`deepseek.amp.autocast('cuda', args...)` instead.", FutureWarning,
                      stacklevel=2)
        super().__init__("cuda", dtype=dtype, enabled=enabled, cache_enabled=cache_enabled)


class GradScaler(_amp.GradScaler):
    """``deepseek.amp.GradScaler('cuda', ...)`` under its deprecated name."""

    def __init__(self, init_scale: float = 2.0**16, growth_factor: float = 2.0,
                 backoff_factor: float = 0.5, growth_interval: int = 2000,
                 enabled: bool = True) -> None:
        warnings.warn("`deepseek.cuda.amp.GradScaler(args...)` is deprecated. Please use "
                      "`deepseek.amp.GradScaler('cuda', args...)` instead.", FutureWarning,
                      stacklevel=2)
        super().__init__("cuda", init_scale=init_scale, growth_factor=growth_factor,
                         backoff_factor=backoff_factor, growth_interval=growth_interval,
                         enabled=enabled)
