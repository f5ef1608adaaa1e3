"""The CPU caching allocator: NumPy's data-memory handler (NEP 49), so every array NumPy
allocates in this thread's context is counted exactly, and large buffers can be reused by
size class instead of going back to the OS.

The handler's four functions are Numba ``cfunc``s (compiled once, cached on disk) that keep
their counters in one int64 array: no Python runs per allocation, so eager ops cost the same.
"""

from __future__ import annotations

import ctypes
import os

import numba
import numpy as np
from numba import carray, types
from numba.extending import intrinsic

__all__ = ["STATS", "install", "installed", "stat", "reset_peak", "set_pool", "empty_cache",
           "set_hard_limit", "window_peak", "FIELDS"]

# Counter slots in STATS (the handler's context).
(ALLOC, ALLOC_PEAK, ALLOC_TOTAL, FREED_TOTAL, COUNT, COUNT_PEAK, COUNT_TOTAL, FREE_TOTAL,
 RESERVED, RESERVED_PEAK, HITS, MISSES, OOMS, LIMIT, POOL_ON, POOL_CAP, CACHED, RETRIES,
 WINDOW_PEAK) = range(19)  # WINDOW_PEAK: a second peak, reset by memory budgets, not by users
FIELDS = 32
MIN_CLASS_LOG2 = 16  # buffers of 64 KiB and more are pooled (smaller ones are cheap in malloc)
CLASSES = 80  # four classes per power of two, up to 2**36 bytes
SLOTS = 8  # cached buffers kept per class
HEADER = 16  # bytes before each buffer: requested size, block size (0: not poolable)
_WORDS = FIELDS + CLASSES * (SLOTS + 1)  # counters, then per class a count and its slots

_malloc = types.ExternalFunction("malloc", types.intp(types.uintp))
_calloc = types.ExternalFunction("calloc", types.intp(types.uintp, types.uintp))
_free = types.ExternalFunction("free", types.void(types.intp))
_memset = types.ExternalFunction("memset", types.intp(types.intp, types.intc, types.uintp))
_memcpy = types.ExternalFunction("memcpy", types.intp(types.intp, types.intp, types.uintp))


@intrinsic
def _words(typingctx, addr):  # an address as an int64 pointer (Numba has no pointer casts)
    sig = types.CPointer(types.int64)(addr)

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], context.get_value_type(signature.return_type))

    return sig, codegen


@numba.njit(cache=True)
def _size_class(size: int) -> tuple:
    """(class index, block bytes) for a request, or (-1, 0) when it is not pooled."""
    k = MIN_CLASS_LOG2
    if size < (1 << k):
        return -1, 0
    while (1 << (k + 1)) <= size:
        k += 1
    step = 1 << (k - 2)
    q = (size + step - 1) // step
    if q == 8:
        k, q = k + 1, 4
    index = (k - MIN_CLASS_LOG2) * 4 + q - 4
    if index >= CLASSES:
        return -1, 0
    return index, q << (k - 2)


@numba.njit(cache=True)
def _alloc(ctx: int, size: int, zero: bool) -> int:
    s = carray(_words(ctx), _WORDS)
    if s[LIMIT] > 0 and s[ALLOC] + size > s[LIMIT]:
        s[OOMS] += 1
        return 0
    cls, block = -1, 0
    if s[POOL_ON]:
        cls, block = _size_class(size)
    raw = 0
    if cls >= 0:
        n = s[FIELDS + cls]
        if n > 0:
            raw = s[FIELDS + CLASSES + cls * SLOTS + n - 1]
            s[FIELDS + cls] = n - 1
            s[CACHED] -= block + HEADER
            s[HITS] += 1
            if zero:
                _memset(raw + HEADER, 0, size)
        else:
            s[MISSES] += 1
    if raw == 0:
        nbytes = (block if cls >= 0 else size) + HEADER
        raw = _calloc(nbytes, 1) if zero else _malloc(nbytes)
        if raw == 0:
            s[OOMS] += 1
            return 0
        s[RESERVED] += nbytes
        if s[RESERVED] > s[RESERVED_PEAK]:
            s[RESERVED_PEAK] = s[RESERVED]
    h = carray(_words(raw), 2)
    h[0], h[1] = size, block
    s[ALLOC] += size
    s[ALLOC_TOTAL] += size
    if s[ALLOC] > s[ALLOC_PEAK]:
        s[ALLOC_PEAK] = s[ALLOC]
    if s[ALLOC] > s[WINDOW_PEAK]:
        s[WINDOW_PEAK] = s[ALLOC]
    s[COUNT] += 1
    s[COUNT_TOTAL] += 1
    if s[COUNT] > s[COUNT_PEAK]:
        s[COUNT_PEAK] = s[COUNT]
    return raw + HEADER


@numba.njit(cache=True)
def _release(ctx: int, ptr: int) -> None:
    if ptr == 0:
        return
    s = carray(_words(ctx), _WORDS)
    raw = ptr - HEADER
    h = carray(_words(raw), 2)
    size, block = h[0], h[1]
    s[ALLOC] -= size
    s[FREED_TOTAL] += size
    s[COUNT] -= 1
    s[FREE_TOTAL] += 1
    if block > 0 and s[POOL_ON]:
        cls = _size_class(block)[0]
        n = s[FIELDS + cls]
        if n < SLOTS and s[CACHED] + block + HEADER <= s[POOL_CAP]:
            s[FIELDS + CLASSES + cls * SLOTS + n] = raw
            s[FIELDS + cls] = n + 1
            s[CACHED] += block + HEADER
            return
    s[RESERVED] -= (block if block > 0 else size) + HEADER
    _free(raw)


@numba.cfunc(types.intp(types.intp, types.uintp), cache=True)
def _c_malloc(ctx, size):
    return _alloc(ctx, size, False)


@numba.cfunc(types.intp(types.intp, types.uintp, types.uintp), cache=True)
def _c_calloc(ctx, count, itemsize):
    return _alloc(ctx, count * itemsize, True)


@numba.cfunc(types.intp(types.intp, types.intp, types.uintp), cache=True)
def _c_realloc(ctx, ptr, size):
    new = _alloc(ctx, size, False)
    if new != 0 and ptr != 0:
        old = carray(_words(ptr - HEADER), 2)[0]
        _memcpy(new, ptr, min(old, size))
        _release(ctx, ptr)
    return new


@numba.cfunc(types.void(types.intp, types.intp, types.uintp), cache=True)
def _c_free(ctx, ptr, size):
    _release(ctx, ptr)


@numba.njit(cache=True)
def _drain(ctx: int) -> None:
    """Return every cached buffer to the OS."""
    s = carray(_words(ctx), _WORDS)
    for cls in range(CLASSES):
        for i in range(s[FIELDS + cls]):
            raw = s[FIELDS + CLASSES + cls * SLOTS + i]
            s[RESERVED] -= carray(_words(raw), 2)[1] + HEADER
            _free(raw)
        s[FIELDS + cls] = 0
    s[CACHED] = 0


class _Allocator(ctypes.Structure):
    _fields_ = [("ctx", ctypes.c_void_p), ("malloc", ctypes.c_void_p),
                ("calloc", ctypes.c_void_p), ("realloc", ctypes.c_void_p),
                ("free", ctypes.c_void_p)]


class _Handler(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char * 127), ("version", ctypes.c_uint8),
                ("allocator", _Allocator)]


def _immortal(ctype: type) -> ctypes.Structure:
    """A ``ctype`` in memory that is never freed: arrays freed during interpreter shutdown,
    after this module is gone, still reach the handler and its counters."""
    libc_calloc = ctypes.CDLL(None).calloc
    libc_calloc.restype, libc_calloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t] * 2
    return ctype.from_address(libc_calloc(1, ctypes.sizeof(ctype)))


STATS = np.ctypeslib.as_array(_immortal(ctypes.c_int64 * _WORDS))
STATS[POOL_CAP] = 1 << 30
# Reuse by size class pays on the CPU: a fresh large buffer costs an mmap and a page fault per
# 4 KiB on first touch (eager W3: 800 -> 540 ms per step). DS_ALLOCATOR_CACHE=0 turns it off.
STATS[POOL_ON] = int(os.environ.get("DS_ALLOCATOR_CACHE", "1") not in ("", "0"))
_HANDLER = _immortal(_Handler)
_HANDLER.name, _HANDLER.version = b"deepseek_caching_allocator", 1
_HANDLER.allocator = _Allocator(STATS.ctypes.data, _c_malloc.address, _c_calloc.address,
                                _c_realloc.address, _c_free.address)
_KEEP = (_c_malloc, _c_calloc, _c_realloc, _c_free)  # their machine code must outlive arrays
_INSTALLED = [False]


def _capsule_pointer(capsule: object) -> int:
    get = ctypes.pythonapi.PyCapsule_GetPointer
    get.restype, get.argtypes = ctypes.c_void_p, [ctypes.py_object, ctypes.c_char_p]
    return get(capsule, None)


def install() -> None:
    """Make the caching allocator NumPy's handler in the current context (idempotent).

    NumPy keeps the handler in a context variable: threads started later (data-loader
    workers) allocate through NumPy's default handler and are not counted.
    """
    if _INSTALLED[0]:
        return
    from numpy._core import _multiarray_umath

    new = ctypes.pythonapi.PyCapsule_New
    new.restype, new.argtypes = ctypes.py_object, [ctypes.c_void_p, ctypes.c_char_p,
                                                   ctypes.c_void_p]
    capsule = new(ctypes.addressof(_HANDLER), b"mem_handler", None)
    api = ctypes.cast(_capsule_pointer(_multiarray_umath._ARRAY_API),
                      ctypes.POINTER(ctypes.c_void_p))
    set_handler = ctypes.PYFUNCTYPE(ctypes.py_object, ctypes.py_object)(api[304])
    set_handler(capsule)
    _INSTALLED[0] = True


def installed() -> bool:
    return _INSTALLED[0] and np._core.multiarray.get_handler_name() == _HANDLER.name.decode()


def stat(field: int) -> int:
    return int(STATS[field])


def window_peak(reset: bool = False) -> int:
    """The peak of allocated bytes since the last ``window_peak(reset=True)``."""
    peak = int(STATS[WINDOW_PEAK])
    if reset:
        STATS[WINDOW_PEAK] = STATS[ALLOC]
    return peak


def reset_peak() -> None:
    STATS[ALLOC_PEAK], STATS[COUNT_PEAK] = STATS[ALLOC], STATS[COUNT]
    STATS[RESERVED_PEAK] = STATS[RESERVED]


def set_pool(enabled: bool, cap_bytes: int | None = None) -> None:
    """Turn reuse by size class on or off (off also empties the cache)."""
    STATS[POOL_ON] = int(enabled)
    if cap_bytes is not None:
        STATS[POOL_CAP] = int(cap_bytes)
    if not enabled:
        empty_cache()


def empty_cache() -> None:
    _drain(STATS.ctypes.data)


def set_hard_limit(nbytes: int) -> None:
    """Refuse allocations that would take allocated bytes past ``nbytes`` (0: no limit)."""
    STATS[LIMIT] = int(nbytes)
