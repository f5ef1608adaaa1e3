"""Argument helpers shared by the layers: ``_pair((3))`` → ``(3, 3)`` and friends."""

from __future__ import annotations

import collections.abc
import numbers
from itertools import repeat
from typing import Any, Callable

from ..._errors import op_error


def _ntuple(n: int, name: str = "parse") -> Callable[[Any], tuple]:
    def parse(x: Any) -> tuple:
        if isinstance(x, collections.abc.Iterable) and not isinstance(x, str):
            return tuple(x)
        return tuple(repeat(x, n))

    parse.__name__ = name
    return parse


_single = _ntuple(1, "_single")
_pair = _ntuple(2, "_pair")
_triple = _ntuple(3, "_triple")
_quadruple = _ntuple(4, "_quadruple")


def _reverse_repeat_tuple(t: tuple, n: int) -> tuple:
    """``(a, b)`` → ``(b, b, a, a)`` for n=2: F.pad's order (last dim first)."""
    return tuple(x for x in reversed(t) for _ in range(n))


def _check_sizes(layer: str, **sizes: Any) -> None:
    """A layer's size arguments must be non-negative ints (checked before any allocation)."""
    for name, n in sizes.items():
        if not isinstance(n, numbers.Integral) or isinstance(n, bool):
            raise op_error(TypeError, layer, f"{name} must be an int, got {n!r}")
        if n < 0:
            raise op_error(RuntimeError, layer, f"{name} must be non-negative, got {name}={n}")
