"""Allocator statistics, PyTorch's names: ``memory_stats``, ``memory_allocated``,
``max_memory_allocated``, ``reset_peak_memory_stats``, ``memory_summary`` and friends."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Optional

from ..backend import allocator as A

__all__ = ["memory_stats", "memory_allocated", "max_memory_allocated", "memory_reserved",
           "max_memory_reserved", "reset_peak_memory_stats", "memory_summary", "empty_cache",
           "set_caching"]


def memory_stats(device: Any = None) -> "OrderedDict[str, int]":
    """The allocator's counters (PyTorch's key names): bytes allocated and reserved (current,
    peak, cumulative), allocation counts, cache hits and misses of the size-class pool, OOMs.

    Allocated bytes are the bytes NumPy asked for (every array data buffer of this thread's
    context, deepseek's or not); reserved bytes are what the allocator holds from the OS,
    headers and the pool's cached buffers included.
    """
    s = A.STATS
    stats = {
        "allocated_bytes.all.current": s[A.ALLOC], "allocated_bytes.all.peak": s[A.ALLOC_PEAK],
        "allocated_bytes.all.allocated": s[A.ALLOC_TOTAL],
        "allocated_bytes.all.freed": s[A.FREED_TOTAL],
        "allocation.all.current": s[A.COUNT], "allocation.all.peak": s[A.COUNT_PEAK],
        "allocation.all.allocated": s[A.COUNT_TOTAL], "allocation.all.freed": s[A.FREE_TOTAL],
        "reserved_bytes.all.current": s[A.RESERVED], "reserved_bytes.all.peak": s[A.RESERVED_PEAK],
        "cached_bytes.all.current": s[A.CACHED],
        "num_cache_hits": s[A.HITS], "num_cache_misses": s[A.MISSES], "num_ooms": s[A.OOMS],
        "pool_enabled": s[A.POOL_ON], "limit_bytes": s[A.LIMIT],
    }
    return OrderedDict((k, int(v)) for k, v in sorted(stats.items()))


def memory_allocated(device: Any = None) -> int:
    """Bytes of array data currently allocated."""
    return A.stat(A.ALLOC)


def max_memory_allocated(device: Any = None) -> int:
    """Peak of :func:`memory_allocated` since start or the last :func:`reset_peak_memory_stats`."""
    return A.stat(A.ALLOC_PEAK)


def memory_reserved(device: Any = None) -> int:
    """Bytes the allocator holds from the OS (allocated, headers, cached buffers)."""
    return A.stat(A.RESERVED)


def max_memory_reserved(device: Any = None) -> int:
    """Peak of :func:`memory_reserved`."""
    return A.stat(A.RESERVED_PEAK)


def reset_peak_memory_stats(device: Any = None) -> None:
    """Set the peaks to the current values."""
    A.reset_peak()


def empty_cache() -> None:
    """Give the pool's cached buffers back to the OS."""
    A.empty_cache()


def set_caching(enabled: bool, max_cached_bytes: Optional[int] = None) -> None:
    """Reuse freed buffers of 64 KiB and more by size class (on by default; off also empties
    the cache, ``DS_ALLOCATOR_CACHE=0`` starts with it off)."""
    A.set_pool(enabled, max_cached_bytes)


def _fmt(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.2f} {unit}"
        n /= 1024
    return str(n)


def memory_summary(device: Any = None, abbreviated: bool = False) -> str:
    """A readable table of :func:`memory_stats`."""
    s = memory_stats()
    rows = [("Allocated memory", "allocated_bytes.all", True),
            ("Reserved memory", "reserved_bytes.all", True),
            ("Allocations", "allocation.all", False)]
    lines = ["deepseek CPU caching allocator" + (" (not installed)" if not A.installed() else ""),
             f"{'metric':<20}{'current':>14}{'peak':>14}{'total':>14}{'freed':>14}"]
    for title, key, is_bytes in rows:
        f = _fmt if is_bytes else str
        lines.append(f"{title:<20}{f(s[key + '.current']):>14}"
                     + (f"{f(s[key + '.peak']):>14}" if key + ".peak" in s else f"{'':>14}")
                     + (f"{f(s[key + '.allocated']):>14}{f(s[key + '.freed']):>14}"
                        if key + ".allocated" in s else ""))
    lines.append(f"{'Cached (pool)':<20}{_fmt(s['cached_bytes.all.current']):>14}")
    if not abbreviated:
        lines.append(f"pool {'on' if s['pool_enabled'] else 'off'}: {s['num_cache_hits']} hits, "
                     f"{s['num_cache_misses']} misses; OOMs: {s['num_ooms']}; limit: "
                     + (_fmt(s["limit_bytes"]) if s["limit_bytes"] else "none"))
    return "\n".join(lines)
