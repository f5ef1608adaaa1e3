"""OpInfo rows: one per op, each a function written once and run on both ``deepseek`` and
``torch``. The generic tests in ``tests/test_ops.py`` drive every row (forward values, gradients,
non-contiguous and negative-stride inputs, dtypes, float64 finite differences).

A row's ``fn(lib, *args, **kwargs)`` receives the library module (``deepseek`` or ``torch``) and
the sample's arguments, where every ``T(...)`` placeholder has become a tensor of that library.
Modules of this package define ``ROWS``; ``all_rows()`` gathers them.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

import numpy as np

FLOAT = ("float32", "float64")
ALL_FLOAT = ("float32", "float64", "float16", "bfloat16")
INT = ("int64", "int32", "int16", "int8", "uint8")


@dataclass(frozen=True)
class T:
    """A tensor argument: its shape, value range and (optional) fixed dtype."""

    shape: tuple
    low: float = -2.0
    high: float = 2.0
    dtype: Optional[str] = None  # None: the dtype under test
    grad: bool = True  # differentiate with respect to it (floating dtypes only)
    values: Optional[Any] = None  # exact values instead of random ones


@dataclass
class Sample:
    args: tuple
    kwargs: dict = field(default_factory=dict)
    name: str = ""


@dataclass
class OpInfo:
    """One op's row.

    Args:
        name: test id.
        fn: ``fn(lib, *args, **kwargs)`` run on deepseek and on torch.
        samples: the argument sets.
        ops: registry names of the primitives this row covers (for the registry test).
        dtypes: dtypes to test forward on; gradients use the floating ones.
        grad: whether to test gradients.
        atol/rtol: float32 tolerances (others scale from them).
        gradcheck: whether to run float64 finite differences.
        noncontig: whether to run the non-contiguous/negative-stride variants.
    """

    name: str
    fn: Callable
    samples: Sequence[Sample]
    ops: tuple = ()
    dtypes: tuple = FLOAT
    grad: bool = True
    atol: float = 1e-5
    rtol: float = 1.3e-5
    gradcheck: bool = True
    noncontig: bool = True
    sort_output: bool = False  # compare sorted values (ops with unspecified order)


def S(*args: Any, name: str = "", **kwargs: Any) -> Sample:
    return Sample(args, kwargs, name)


def all_rows() -> list:
    rows = []
    for mod in pkgutil.iter_modules(__path__):
        rows.extend(importlib.import_module(f"{__name__}.{mod.name}").ROWS)
    return rows


def make_array(spec: T, dtype: str, rng: np.random.Generator) -> np.ndarray:
    """Random values for a T placeholder as a float64/int64/bool NumPy array."""
    dt = spec.dtype or dtype
    if spec.values is not None:
        return np.array(spec.values, dtype=np.float64 if dt in ALL_FLOAT else None)
    if dt == "bool":
        return rng.random(spec.shape) < 0.5
    if dt in INT:
        lo = max(int(spec.low), 0) if dt == "uint8" else int(spec.low)
        return rng.integers(lo, max(int(spec.high), lo + 1), spec.shape).astype(np.int64)
    return rng.uniform(spec.low, spec.high, spec.shape)
