"""Scalar helpers that elementwise ``expr`` strings call (in Python and in Numba kernels)."""

from __future__ import annotations

import math

from ._kernels import fast_exp as exp  # noqa: F401  (vectorizes in kernels)
from ._special import erfinv_scalar as erfinv  # noqa: F401

_F64_MAX = 1.7976931348623157e308


def nan_to_num(x: float, nan: float, posinf, neginf) -> float:
    if math.isnan(x):
        return nan
    if x == math.inf:
        return _F64_MAX if posinf is None else posinf
    if x == -math.inf:
        return -_F64_MAX if neginf is None else neginf
    return x


def clamp(x: float, eps) -> float:
    """``x`` limited to ``[eps, 1 - eps]`` (no limit when ``eps`` is None), as logit does."""
    if eps is None:
        return x
    return min(max(x, eps), 1.0 - eps)
