"""``deepseek.cuda``: torch.cuda's queries and controls. With no CUDA backend in this build,
``is_available()`` is False, the counters read zero and the seeds are ignored (as torch does
without CUDA); what needs a device raises a clear error instead of doing nothing."""

from __future__ import annotations

from typing import Any, NoReturn

from ..backend import device as _device, get_backend
from . import amp  # noqa: F401  torch.cuda.amp's deprecated spellings

__all__ = ["amp", "current_device", "device_count", "empty_cache", "get_device_capability",
           "get_device_name", "get_device_properties", "get_rng_state", "init", "is_available",
           "is_bf16_supported", "is_initialized", "manual_seed", "manual_seed_all",
           "max_memory_allocated", "max_memory_reserved", "mem_get_info", "memory_allocated",
           "memory_reserved", "memory_stats", "memory_summary", "reset_peak_memory_stats",
           "seed", "seed_all", "set_device", "set_rng_state", "synchronize"]


def is_available() -> bool:
    """Whether tensors can be placed on a CUDA device."""
    try:
        get_backend(_device("cuda"))
    except RuntimeError:
        return False
    return True


def device_count() -> int:
    """The number of CUDA devices (0 without the CUDA backend)."""
    return 0


def is_initialized() -> bool:
    return False


def is_bf16_supported() -> bool:
    return False


def _unavailable(name: str) -> NoReturn:
    raise RuntimeError(f"[cuda.{name}] CUDA is not available: deepseek has no CUDA backend in "
                       "this build and no device to use; keep tensors on 'cpu', or check "
                       "deepseek.cuda.is_available() first")


def init() -> None:
    _unavailable("init")


def synchronize(device: Any = None) -> None:
    _unavailable("synchronize")


def current_device() -> int:
    _unavailable("current_device")


def set_device(device: Any) -> None:
    _unavailable("set_device")


def get_device_name(device: Any = None) -> str:
    _unavailable("get_device_name")


def get_device_capability(device: Any = None) -> tuple:
    _unavailable("get_device_capability")


def get_device_properties(device: Any = None) -> Any:
    _unavailable("get_device_properties")


def mem_get_info(device: Any = None) -> tuple:
    _unavailable("mem_get_info")


def get_rng_state(device: Any = "cuda") -> Any:
    _unavailable("get_rng_state")


def set_rng_state(new_state: Any, device: Any = "cuda") -> None:
    _unavailable("set_rng_state")


def manual_seed(seed: int) -> None:
    """Seed the CUDA generators: ignored while no CUDA device exists, as in torch (seed the CPU
    with ``deepseek.manual_seed``, which every script calls as well)."""


manual_seed_all = manual_seed


def seed() -> None:
    """Seed the CUDA generators randomly: ignored while no CUDA device exists."""


seed_all = seed


def memory_allocated(device: Any = None) -> int:
    """Bytes held by tensors on the CUDA device (0: none exist)."""
    return 0


max_memory_allocated = memory_reserved = max_memory_reserved = memory_allocated


def memory_stats(device: Any = None) -> dict:
    """The CUDA allocator's counters: empty, as no CUDA allocator has run."""
    return {}


def reset_peak_memory_stats(device: Any = None) -> None:
    """Nothing to reset without a CUDA allocator."""


def empty_cache() -> None:
    """Nothing is cached without a CUDA allocator."""


def memory_summary(device: Any = None, abbreviated: bool = False) -> str:
    return "No CUDA memory in use: deepseek has no CUDA backend in this build.\n"
