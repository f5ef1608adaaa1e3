"""Numerical differentiation of sampled functions: ``gradient``, composed of differentiable
slices and arithmetic, so autograd comes for free."""

from __future__ import annotations

from typing import Any, Optional, Union

import numpy as np

from .._errors import op_error
from ..tensor import Tensor
from ._common import require_tensor, wrap_dim
from .movement import cat, narrow

__all__ = ["gradient"]

_SCALARS = (int, float, np.integer, np.floating)


def _dims(x: Tensor, dim: Any) -> list:
    if dim is None:
        return list(range(x.ndim))
    raw = [dim] if isinstance(dim, (int, np.integer)) else list(dim)
    dims = [wrap_dim("gradient", d, x.ndim) for d in raw]
    for i, d in enumerate(dims):
        if d in dims[:i]:
            raise op_error(RuntimeError, "gradient", f"dim {d} appears multiple times in the "
                           "list of dims")
    return dims


def _spacings(x: Tensor, spacing: Any, dims: list, dim_given: bool) -> list:
    """One spacing per dim in ``dims``: a Python number or a 1-d coordinate tensor."""
    if isinstance(spacing, Tensor) and spacing.ndim == 0:
        spacing = spacing.item()
    if isinstance(spacing, _SCALARS) and not isinstance(spacing, bool):
        return [spacing] * len(dims)
    if not isinstance(spacing, (list, tuple)):
        raise op_error(TypeError, "gradient", "spacing must be a number, a list of numbers or a "
                       f"list of 1-d Tensors, got {type(spacing).__name__}")
    if len(spacing) != len(dims):
        if dim_given:
            raise op_error(RuntimeError, "gradient", "torch.gradient expected spacing to be "
                           "unspecified, a scalar or it's spacing and dim arguments to have the "
                           f"same length, but got a spacing argument of length {len(spacing)} "
                           f"and a dim argument of length {len(dims)}.")
        raise op_error(RuntimeError, "gradient", "torch.gradient expected spacing to be "
                       "unspecified, a scalar, or a list of length equal to 'self.dim() = "
                       f"{x.ndim}', since dim argument was not given, but got a list of length "
                       f"{len(spacing)}")
    tensors = [isinstance(s, Tensor) for s in spacing]
    if any(tensors) and not all(tensors):
        raise op_error(TypeError, "gradient", "spacing must be all numbers or all Tensors, not "
                       "a mix")
    for s, d in zip(spacing, dims):
        if isinstance(s, Tensor):
            if s.ndim != 1:
                raise op_error(RuntimeError, "gradient", "torch.gradient expected each element "
                               "of spacing to have one dimension, but got an element with "
                               f"{s.ndim} dimensions!", s._data)
            if s.shape[0] != x.shape[d]:
                raise op_error(RuntimeError, "gradient", f"coordinates for dim {d} must have "
                               f"one element per sample, got {s.shape[0]} coordinates for a "
                               f"dimension of size {x.shape[d]}", x._data, s._data)
        elif not isinstance(s, _SCALARS) or isinstance(s, bool):
            raise op_error(TypeError, "gradient", f"spacing must hold numbers or 1-d Tensors, "
                           f"got {type(s).__name__}")
    return list(spacing)


def _uniform(x: Tensor, d: int, h: Union[int, float], edge_order: int) -> Tensor:
    n = x.shape[d]

    def at(start: int, length: int = 1) -> Tensor:
        return narrow(x, d, start, length)

    inner = (at(2, n - 2) - at(0, n - 2)) / (2 * h)
    if edge_order == 1:
        first, last = (at(1) - at(0)) / h, (at(n - 1) - at(n - 2)) / h
    else:
        # float coefficients: integer samples are made floating before they are combined
        first = (-3.0 * at(0) + 4.0 * at(1) - at(2)) / (2 * h)
        last = (at(n - 3) - 4.0 * at(n - 2) + 3.0 * at(n - 1)) / (2 * h)
    return cat([first, inner, last], d)


def _coordinates(x: Tensor, d: int, coords: Tensor, edge_order: int) -> Tensor:
    n = x.shape[d]
    shape = [1] * x.ndim
    shape[d] = -1
    step = narrow(coords, 0, 1, n - 1) - narrow(coords, 0, 0, n - 1)

    def h(start: int, length: int = 1) -> Tensor:
        return narrow(step, 0, start, length).reshape(shape)

    def at(start: int, length: int = 1) -> Tensor:
        return narrow(x, d, start, length)

    # second-order central differences on an uneven grid (Fornberg 1988, as in PyTorch)
    left, right = h(0, n - 2), h(1, n - 2)
    inner = ((-right / (left * (left + right))) * at(0, n - 2)
             + ((right - left) / (left * right)) * at(1, n - 2)
             + (left / (right * (left + right))) * at(2, n - 2))
    if edge_order == 1:
        first, last = (at(1) - at(0)) / h(0), (at(n - 1) - at(n - 2)) / h(n - 2)
    else:
        a, b = h(0), h(1)
        first = ((-(2 * a + b) / (a * (a + b))) * at(0) + ((a + b) / (a * b)) * at(1)
                 + (-a / (b * (a + b))) * at(2))
        a, b = h(n - 3), h(n - 2)
        last = ((b / (a * (a + b))) * at(n - 3) + (-(a + b) / (a * b)) * at(n - 2)
                + ((2 * b + a) / (b * (a + b))) * at(n - 1))
    return cat([first, inner, last], d)


def gradient(input: Tensor, *, spacing: Any = 1, dim: Optional[Any] = None,
             edge_order: int = 1) -> tuple:
    """Estimate the derivatives of a function sampled in ``input`` along each of ``dim``.

    Interior points use second-order central differences; the boundary uses first- or
    second-order one-sided differences (``edge_order``). Differentiable in ``input`` and in
    coordinate tensors.

    Args:
        input: the samples (integer samples give a floating result; not bool).
        spacing: the distance between samples: one number for every dimension, a list of
            numbers (one per dimension of ``dim``), or a list of 1-d tensors holding each
            dimension's sample coordinates.
        dim: a dimension or list of dimensions to differentiate along (default: all).
        edge_order: 1 or 2, the accuracy order at the boundaries.

    Returns:
        A tuple with one tensor of ``input``'s shape per dimension.

    Example:
        >>> ds.gradient(ds.tensor([1., 2., 4., 8.]), spacing=2.0)
        (tensor([0.5000, 0.7500, 1.5000, 2.0000]),)
    """
    x = require_tensor("gradient", input)
    if x._data.dtype == np.bool_:
        raise op_error(RuntimeError, "gradient", "Subtraction, the `-` operator, with two bool "
                       "tensors is not supported: convert the input to a number dtype first",
                       x._data)
    if edge_order not in (1, 2) or isinstance(edge_order, bool):
        raise op_error(RuntimeError, "gradient", "torch.gradient only supports edge_order=1 and "
                       f"edge_order=2, got {edge_order!r}.")
    dims = _dims(x, dim)
    spacings = _spacings(x, spacing, dims, dim is not None)
    for d in dims:
        if x.shape[d] < edge_order + 1:
            raise op_error(RuntimeError, "gradient", "torch.gradient expected each dimension "
                           f"size to be at least edge_order+1, got size {x.shape[d]} at dim {d} "
                           f"with edge_order={edge_order}", x._data)
    return tuple(_coordinates(x, d, s, edge_order) if isinstance(s, Tensor)
                 else _uniform(x, d, s, edge_order) for d, s in zip(dims, spacings))
