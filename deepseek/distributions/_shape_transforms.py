"""Transforms that rearrange or split their input: ReshapeTransform, and CatTransform and
StackTransform, which apply one transform per slice. Re-exported by ``transforms``."""

from __future__ import annotations

from typing import Optional, Sequence

from .._creation import zeros
from ..ops.movement import cat, stack
from ..tensor import Size, Tensor
from . import constraints
from .transforms import Transform
from .utils import sum_rightmost

__all__ = ["CatTransform", "ReshapeTransform", "StackTransform"]


class ReshapeTransform(Transform):
    """The rightmost dims of shape ``in_shape`` reshaped to ``out_shape`` (log-Jacobian 0).

    Args:
        in_shape: the event shape of the input.
        out_shape: the event shape of the output, with as many elements.
        cache_size: see :class:`Transform`.

    Example:
        >>> ReshapeTransform((2, 3), (6,))(deepseek.zeros(4, 2, 3)).shape
        deepseek.Size([4, 6])
    """

    bijective = True

    def __init__(self, in_shape: Sequence[int], out_shape: Sequence[int],
                 cache_size: int = 0) -> None:
        self.in_shape = Size(tuple(in_shape))
        self.out_shape = Size(tuple(out_shape))
        if self.in_shape.numel() != self.out_shape.numel():
            raise ValueError("in_shape, out_shape have different numbers of elements")
        super().__init__(cache_size=cache_size)

    @property
    def domain(self) -> constraints.Constraint:
        return constraints.independent(constraints.real, len(self.in_shape))

    @property
    def codomain(self) -> constraints.Constraint:
        return constraints.independent(constraints.real, len(self.out_shape))

    def with_cache(self, cache_size: int = 1) -> Transform:
        if self._cache_size == cache_size:
            return self
        return ReshapeTransform(self.in_shape, self.out_shape, cache_size=cache_size)

    def _call(self, x: Tensor) -> Tensor:
        batch = tuple(x.shape[:x.dim() - len(self.in_shape)])
        return x.reshape(batch + tuple(self.out_shape))

    def _inverse(self, y: Tensor) -> Tensor:
        batch = tuple(y.shape[:y.dim() - len(self.out_shape)])
        return y.reshape(batch + tuple(self.in_shape))

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        batch = tuple(x.shape[:x.dim() - len(self.in_shape)])
        return zeros(batch, dtype=x.dtype)

    @staticmethod
    def _swap(shape: Sequence[int], old: Size, new: Size) -> Size:
        if len(shape) < len(old):
            raise ValueError("Too few dimensions on input")
        cut = len(shape) - len(old)
        if tuple(shape[cut:]) != tuple(old):
            raise ValueError(f"Shape mismatch: expected {tuple(shape[cut:])} but got {old}")
        return Size(tuple(shape[:cut]) + tuple(new))

    def forward_shape(self, shape: Sequence[int]) -> Size:
        return self._swap(shape, self.in_shape, self.out_shape)

    def inverse_shape(self, shape: Sequence[int]) -> Size:
        return self._swap(shape, self.out_shape, self.in_shape)


def _check_dim(what: str, dim: int, x: Tensor) -> None:
    if not -x.dim() <= dim < x.dim():
        raise ValueError(f"{what}: dim {dim} is out of range for an input of shape "
                         f"{tuple(x.shape)}")


class CatTransform(Transform):
    """``tseq[i]`` applied to the ``i``-th of consecutive slices along ``dim`` (of length
    ``lengths[i]``, default 1), the results concatenated: the transform of which
    ``constraints.cat`` is the codomain.

    Args:
        tseq: the transforms.
        dim: the dim the slices run along.
        lengths: each slice's length.
        cache_size: see :class:`Transform`.

    Example:
        >>> t = CatTransform([ExpTransform(), identity_transform], dim=0, lengths=[1, 2])
        >>> t(deepseek.zeros(3))
        tensor([1., 0., 0.])
    """

    def __init__(self, tseq: Sequence[Transform], dim: int = 0,
                 lengths: Optional[Sequence[int]] = None, cache_size: int = 0) -> None:
        if not all(isinstance(t, Transform) for t in tseq):
            raise ValueError("CatTransform expects a sequence of Transforms")
        if cache_size:
            tseq = [t.with_cache(cache_size) for t in tseq]
        super().__init__(cache_size=cache_size)
        self.transforms = list(tseq)
        self.lengths = [1] * len(self.transforms) if lengths is None else list(lengths)
        if len(self.lengths) != len(self.transforms):
            raise ValueError(f"CatTransform got {len(self.transforms)} transforms but "
                             f"{len(self.lengths)} lengths")
        self.dim = dim

    @property
    def event_dim(self) -> int:
        return max(t.event_dim for t in self.transforms)

    @property
    def length(self) -> int:
        return sum(self.lengths)

    def with_cache(self, cache_size: int = 1) -> Transform:
        if self._cache_size == cache_size:
            return self
        return CatTransform(self.transforms, self.dim, self.lengths, cache_size)

    def _map(self, x: Tensor, inverse: bool) -> Tensor:
        _check_dim("CatTransform", self.dim, x)
        if x.shape[self.dim] != self.length:
            raise ValueError(f"CatTransform expects size {self.length} along dim {self.dim}, "
                             f"got {x.shape[self.dim]}")
        parts, start = [], 0
        for t, length in zip(self.transforms, self.lengths):
            piece = x.narrow(self.dim, start, length)
            parts.append(t.inv(piece) if inverse else t(piece))
            start += length
        return cat(parts, self.dim)

    def _call(self, x: Tensor) -> Tensor:
        return self._map(x, inverse=False)

    def _inverse(self, y: Tensor) -> Tensor:
        return self._map(y, inverse=True)

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        _check_dim("CatTransform", self.dim, x)
        terms, start = [], 0
        for t, length in zip(self.transforms, self.lengths):
            term = t.log_abs_det_jacobian(x.narrow(self.dim, start, length),
                                          y.narrow(self.dim, start, length))
            terms.append(sum_rightmost(term, self.event_dim - t.event_dim))
            start += length
        # the dim of the log-Jacobians that ``dim`` becomes; inside the event they sum
        dim = (self.dim - x.dim() if self.dim >= 0 else self.dim) + self.event_dim
        if dim < 0:
            return cat(terms, dim)
        return sum(terms[1:], terms[0])

    @property
    def bijective(self) -> bool:
        return all(t.bijective for t in self.transforms)

    @property
    def domain(self) -> constraints.Constraint:
        return constraints.cat([t.domain for t in self.transforms], self.dim, self.lengths)

    @property
    def codomain(self) -> constraints.Constraint:
        return constraints.cat([t.codomain for t in self.transforms], self.dim, self.lengths)


class StackTransform(Transform):
    """``tseq[i]`` applied to ``x.select(dim, i)``, the results stacked along ``dim``.

    Args:
        tseq: the transforms, one per index along ``dim``.
        dim: the dim to split and stack along.
        cache_size: see :class:`Transform`.

    Example:
        >>> StackTransform([ExpTransform(), identity_transform])(deepseek.zeros(2))
        tensor([1., 0.])
    """

    def __init__(self, tseq: Sequence[Transform], dim: int = 0, cache_size: int = 0) -> None:
        if not all(isinstance(t, Transform) for t in tseq):
            raise ValueError("StackTransform expects a sequence of Transforms")
        if cache_size:
            tseq = [t.with_cache(cache_size) for t in tseq]
        super().__init__(cache_size=cache_size)
        self.transforms = list(tseq)
        self.dim = dim

    def with_cache(self, cache_size: int = 1) -> Transform:
        if self._cache_size == cache_size:
            return self
        return StackTransform(self.transforms, self.dim, cache_size)

    def _slices(self, x: Tensor) -> list:
        _check_dim("StackTransform", self.dim, x)
        if x.shape[self.dim] != len(self.transforms):
            raise ValueError(f"StackTransform has {len(self.transforms)} transforms but the "
                             f"input has size {x.shape[self.dim]} along dim {self.dim}")
        return [x.select(self.dim, i) for i in range(x.shape[self.dim])]

    def _call(self, x: Tensor) -> Tensor:
        return stack([t(v) for t, v in zip(self.transforms, self._slices(x))], self.dim)

    def _inverse(self, y: Tensor) -> Tensor:
        return stack([t.inv(v) for t, v in zip(self.transforms, self._slices(y))], self.dim)

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        terms = [t.log_abs_det_jacobian(a, b)
                 for t, a, b in zip(self.transforms, self._slices(x), self._slices(y))]
        return stack(terms, self.dim)

    @property
    def bijective(self) -> bool:
        return all(t.bijective for t in self.transforms)

    @property
    def domain(self) -> constraints.Constraint:
        return constraints.stack([t.domain for t in self.transforms], self.dim)

    @property
    def codomain(self) -> constraints.Constraint:
        return constraints.stack([t.codomain for t in self.transforms], self.dim)
