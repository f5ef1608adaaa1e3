"""``deepseek.memory``: allocator statistics, flat parameter storage, budgets with offload to
disk, and automatic recomputation."""

from .budget import (OutOfMemoryError, get_limit, largest_tensors, limit, offload_parameters,
                     offload_stats, oom_report, set_limit)
from .flat import FlatBuffer, flatten_parameters
from .recompute import auto_checkpoint, checkpoint_from_env, install_from_env
from .stats import (empty_cache, max_memory_allocated, max_memory_reserved, memory_allocated,
                    memory_reserved, memory_stats, memory_summary, reset_peak_memory_stats,
                    set_caching)

__all__ = ["OutOfMemoryError", "FlatBuffer", "auto_checkpoint", "checkpoint_from_env",
           "empty_cache", "flatten_parameters", "get_limit", "largest_tensors", "limit",
           "max_memory_allocated", "max_memory_reserved", "memory_allocated", "memory_reserved",
           "memory_stats", "memory_summary", "offload_parameters", "offload_stats", "oom_report",
           "reset_peak_memory_stats", "set_caching", "set_limit"]

install_from_env()  # DS_GRADIENT_CHECKPOINTING=1
