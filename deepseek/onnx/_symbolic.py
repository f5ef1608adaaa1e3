"""Symbolic dims for ``dynamic_axes``: a dim is an int or a :class:`Sym` (an int times a product
of named sizes), with the concrete size the trace saw, so reshape targets can be rebuilt."""

from __future__ import annotations

import itertools
import math
from typing import Any, Sequence, Union

__all__ = ["Sym", "Dim", "product", "broadcast_dims", "reshape_dims"]


class Sym:
    """``coef * prod(factors)``: ``factors`` name symbols (graph-input dims or dims the
    exporter reads back with Shape); ``size`` is the value in the traced run."""

    __slots__ = ("coef", "factors", "size")

    def __init__(self, coef: int, factors: Sequence[str], size: int) -> None:
        self.coef, self.factors, self.size = coef, tuple(sorted(factors)), size

    def __mul__(self, other: "Dim") -> "Sym":
        if isinstance(other, Sym):
            return Sym(self.coef * other.coef, self.factors + other.factors,
                       self.size * other.size)
        return Sym(self.coef * other, self.factors, self.size * other)

    __rmul__ = __mul__

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, Sym) and (self.coef, self.factors) == (other.coef,
                                                                          other.factors)

    def __hash__(self) -> int:
        return hash((self.coef, self.factors))

    def __repr__(self) -> str:
        return "*".join(([str(self.coef)] if self.coef != 1 else []) + list(self.factors))


Dim = Union[int, Sym]


def size(d: Dim) -> int:
    return d.size if isinstance(d, Sym) else d


def product(dims: Sequence[Dim]) -> Dim:
    out: Dim = 1
    for d in dims:
        out = d * out if isinstance(d, Sym) else out * d
    return out


def broadcast_dims(shape: Sequence[int], operands: Sequence[Sequence[Dim]]) -> tuple:
    """The dims of a broadcast result of concrete ``shape``: at each position the first
    symbolic operand dim of that size, else the size."""
    out = []
    for i in range(len(shape)):
        pick: Dim = shape[i]
        for dims in operands:
            j = i - (len(shape) - len(dims))
            if j >= 0 and isinstance(dims[j], Sym) and dims[j].size == shape[i]:
                pick = dims[j]
                break
        out.append(pick)
    return tuple(out)


def _groups(a: Sequence[int], b: Sequence[int]) -> list:
    """Runs of ``a``'s and ``b``'s positions with equal products (how a reshape regroups)."""
    groups, i, j = [], 0, 0
    while i < len(a) or j < len(b):
        ga, gb, pa, pb = [], [], 1, 1
        if i < len(a):
            ga.append(i)
            pa *= a[i]
            i += 1
        if j < len(b):
            gb.append(j)
            pb *= b[j]
            j += 1
        while pa != pb:
            if pa < pb and i < len(a):
                ga.append(i)
                pa *= a[i]
                i += 1
            elif pb < pa and j < len(b):
                gb.append(j)
                pb *= b[j]
                j += 1
            else:
                return []
        groups.append((ga, gb))
    return groups


def reshape_dims(dims: Sequence[Dim], shape: Sequence[int], values: dict) -> tuple:
    """The dims of ``dims`` (concrete ``[size(d) for d in dims]``) reshaped to ``shape``.

    A symbolic group that splits into several dims gives each symbol to one of them, so that
    every dim divides evenly; order-preserving choices win. ``values`` maps each symbol to its
    traced size. Raises ValueError when no assignment fits.
    """
    sizes = [size(d) for d in dims]
    groups = _groups(sizes, shape)
    if not groups:
        raise ValueError(f"cannot match shape {sizes} to {list(shape)}")
    out: list = list(shape)
    for ga, gb in groups:
        p = product([dims[i] for i in ga])
        if not isinstance(p, Sym):
            continue
        if len(gb) == 1:
            out[gb[0]] = p
            continue
        out_sizes = [shape[j] for j in gb]
        choice = _assign(p, out_sizes, values)
        if choice is None:
            raise ValueError(f"cannot tell which of the dims {out_sizes} carry the dynamic "
                             f"size {p!r}")
        for j, d in zip(gb, choice):
            out[j] = d
    return tuple(out)


def _assign(p: Sym, out_sizes: list, values: dict) -> Any:
    factors = list(p.factors)
    if len(out_sizes) ** len(factors) > 4096:
        return None
    fallback = None
    for where in itertools.product(range(len(out_sizes)), repeat=len(factors)):
        parts = [[f for f, w in zip(factors, where) if w == k] for k in range(len(out_sizes))]
        coefs = []
        for n, fs in zip(out_sizes, parts):
            base = math.prod(values[f] for f in fs)
            if n % base:
                break
            coefs.append(n // base)
        else:
            if math.prod(coefs) != p.coef:
                continue
            dims = tuple(Sym(c, fs, n) if fs else n for c, fs, n in zip(coefs, parts, out_sizes))
            if list(where) == sorted(where):
                return dims
            fallback = fallback or dims
    return fallback
