"""The CPU backend: NumPy arrays."""

from __future__ import annotations

import numpy as np

name = "cpu"
xp = np


def asarray(data, dtype=None) -> np.ndarray:
    return np.asarray(data, dtype=dtype)


def to_host(array) -> np.ndarray:
    return array


def is_available() -> bool:
    return True
