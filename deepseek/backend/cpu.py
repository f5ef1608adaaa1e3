"""The CPU backend: NumPy arrays, and the thread pool ops split batched work over."""

from __future__ import annotations

import ctypes
import math
import os
import threading
from typing import Callable, Optional

import numpy as np

name = "cpu"
xp = np


def asarray(data, dtype=None) -> np.ndarray:
    return np.asarray(data, dtype=dtype)


def to_host(array) -> np.ndarray:
    return array


def is_available() -> bool:
    return True


def cores() -> int:
    """How many cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


_THREADS: list = [None]  # set_num_threads' choice; None: every core


def get_num_threads() -> int:
    """The threads CPU ops use: every core this process may run on, unless
    :func:`set_num_threads` chose fewer."""
    return _THREADS[0] or cores()


def set_num_threads(num: int) -> None:
    """Use ``num`` threads for CPU ops: the BLAS, the generated Numba kernels and the pool that
    splits batched work, as ``torch.set_num_threads``."""
    if isinstance(num, bool) or not isinstance(num, int) or num < 1:
        raise RuntimeError(f"[set_num_threads] expects a positive integer, got {num!r}")
    import numba

    _THREADS[0] = num
    numba.set_num_threads(min(num, numba.config.NUMBA_NUM_THREADS))
    blas = _BlasThreads(_openblas())
    if blas.set is not None:
        blas.set(num)


def _openblas() -> Optional[ctypes.CDLL]:
    """The OpenBLAS library NumPy loaded (None with MKL or Accelerate, or without /proc)."""
    try:
        with open("/proc/self/maps") as maps:
            paths = sorted({line.split()[-1] for line in maps
                            if "openblas" in line and "numpy" in line})
    except OSError:
        return None
    return ctypes.CDLL(paths[0]) if paths else None


def _quiet_idle_blas(lib: Optional[ctypes.CDLL]) -> None:
    """Let OpenBLAS's threads sleep as soon as a call ends. By default each spins for about
    2**28 cycles (0.1 s) first: on two cores the spinner then takes half the CPU from the
    Numba kernel that follows a GEMM (a fused bias+GELU after its matmul: 2.6 -> 5.2 ms).
    A user's own ``OPENBLAS_THREAD_TIMEOUT`` is left alone; the threads restart to read it."""
    read = getattr(lib, "openblas_read_env", None)
    restart = getattr(lib, "blas_thread_shutdown_", None)
    if read is None or restart is None or "OPENBLAS_THREAD_TIMEOUT" in os.environ:
        return
    os.environ["OPENBLAS_THREAD_TIMEOUT"] = "4"  # the least it takes: 2**4 cycles
    try:
        read()
    finally:
        del os.environ["OPENBLAS_THREAD_TIMEOUT"]
    restart()  # the threads start again at the next call, with the new timeout


class _BlasThreads:
    """Switches NumPy's OpenBLAS to one thread while ops run their own threads, each calling
    BLAS on a part of a batch: for the thin GEMMs of a convolution (few output channels, many
    positions) OpenBLAS's own threads barely scale on two cores, threads over samples do.
    Without OpenBLAS (MKL, Accelerate) it does nothing, and :func:`parallel_parts` then runs
    the parts in order."""

    def __init__(self, lib: Optional[ctypes.CDLL]) -> None:
        self.get = self.set = None
        self.depth, self.saved, self.lock = 0, 1, threading.Lock()
        for prefix, suffix in (("scipy_", "64_"), ("scipy_", ""), ("", "64_"), ("", "")):
            get = getattr(lib, f"{prefix}openblas_get_num_threads{suffix}", None)
            set_ = getattr(lib, f"{prefix}openblas_set_num_threads{suffix}", None)
            if get is not None and set_ is not None:
                set_.argtypes = [ctypes.c_int]
                self.get, self.set = get, set_
                return

    def __enter__(self) -> None:
        with self.lock:
            if self.depth == 0:
                self.saved = self.get()
                self.set(1)
            self.depth += 1

    def __exit__(self, *exc) -> None:
        with self.lock:
            self.depth -= 1
            if self.depth == 0:
                self.set(self.saved)


# multiply-adds in a stack of products below which handing parts to the pool costs more
_SPLIT_MIN = 1 << 22
_BLAS_REAL = (np.dtype(np.float32), np.dtype(np.float64))


def matmul(a: np.ndarray, b: np.ndarray, out: Optional[np.ndarray] = None) -> np.ndarray:
    """``np.matmul``, with a stack of products shared out over the cores along its first batch
    dim, one BLAS thread each. NumPy runs them one after another, each on all of OpenBLAS's
    threads, which meet more than they multiply on small matrices (W3's attention, 64
    products of 128 x 64 x 128: 1.65 -> 0.97 ms)."""
    batch = a.shape[:-2] if b.ndim == 2 else b.shape[:-2] if a.ndim == 2 else None
    if batch is None and a.ndim > 2 and b.ndim > 2:
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    if (not batch or batch[0] < 2 or a.dtype != b.dtype or a.dtype not in _BLAS_REAL
            or math.prod(batch) * a.shape[-2] * a.shape[-1] * b.shape[-1] < _SPLIT_MIN):
        return np.matmul(a, b, out=out)
    if out is None:
        out = np.empty(batch + (a.shape[-2], b.shape[-1]), a.dtype)

    def part(lo: int, hi: int) -> None:
        np.matmul(*(x[lo:hi] if x.ndim == out.ndim and x.shape[0] > 1 else x for x in (a, b)),
                  out=out[lo:hi])

    parallel_parts(part, batch[0])
    return out


_POOL: list = [None, None, None]  # pid, executor, BLAS switch (a forked child makes its own)


def _pool() -> Optional[tuple]:
    if _POOL[0] != os.getpid():
        from concurrent.futures import ThreadPoolExecutor

        n, blas = cores(), _BlasThreads(_openblas())
        usable = n > 1 and blas.set is not None
        _POOL[:] = [os.getpid(), ThreadPoolExecutor(n - 1, thread_name_prefix="ds-cpu")
                    if usable else None, blas]
    return None if _POOL[1] is None else (_POOL[1], _POOL[2])


def parallel_parts(fn: Callable[[int, int], None], n: int) -> None:
    """Run ``fn(lo, hi)`` over ``[0, n)`` cut into one contiguous part per core, the parts on
    the pool's threads and BLAS single-threaded meanwhile (``fn`` must release the GIL in
    NumPy calls to gain anything). With one core or no OpenBLAS to switch: ``fn(0, n)``."""
    nested = threading.current_thread().name.startswith("ds-cpu")  # the pool would wait on itself
    pool = _pool() if n > 1 and not nested and get_num_threads() > 1 else None
    if pool is None:
        fn(0, n)
        return
    executor, blas = pool
    parts = min(cores(), get_num_threads(), n)
    bounds = [n * i // parts for i in range(parts + 1)]
    with blas:
        futures = [executor.submit(fn, lo, hi) for lo, hi in zip(bounds[1:-1], bounds[2:])]
        try:
            fn(bounds[0], bounds[1])
        finally:
            for f in futures:
                f.result()


if cores() > 1:
    _quiet_idle_blas(_openblas())
