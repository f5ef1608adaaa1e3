"""What the distribution test files share: tolerances per dtype, the dtypes in both libraries,
and a generator seeded by a test's own key."""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np
import torch

import deepseek as ds

TOL = {"float32": dict(rtol=1.3e-5, atol=1e-5), "float64": dict(rtol=1e-7, atol=1e-10)}
TORCH = {"float32": torch.float32, "float64": torch.float64}
OURS = {"float32": ds.float32, "float64": ds.float64}
DTYPES = ["float32", "float64"]


def rng_for(*key: Any) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


def to_numpy(t: Any) -> np.ndarray:
    return np.asarray(t.detach().numpy())
