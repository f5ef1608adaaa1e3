"""Mixed precision: ``autocast`` regions, dynamic loss scaling (``GradScaler``) and float32
master weights for low-precision models."""

from .autocast_mode import (autocast, custom_bwd, custom_fwd, get_autocast_dtype,
                            is_autocast_available, is_autocast_cache_enabled,
                            is_autocast_enabled)
from .grad_scaler import GradScaler
from .master import master_weights

__all__ = ["GradScaler", "autocast", "custom_bwd", "custom_fwd", "get_autocast_dtype",
           "is_autocast_available", "is_autocast_cache_enabled", "is_autocast_enabled",
           "master_weights"]
