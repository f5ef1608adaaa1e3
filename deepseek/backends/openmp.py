"""``deepseek.backends.openmp``: whether the CPU kernels run on OpenMP threads (Numba's
threading layer does the parallel work here)."""


def is_available() -> bool:
    return False
