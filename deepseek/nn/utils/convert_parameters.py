"""``parameters_to_vector`` and ``vector_to_parameters``."""

from __future__ import annotations

from typing import Iterable

from ...autograd.grad_mode import no_grad
from ...ops.movement import cat
from ...tensor import Tensor


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """One 1-d tensor holding all ``parameters``, flattened and concatenated."""
    if isinstance(parameters, Tensor):
        raise TypeError(f"expected an iterable of Tensors, got {type(parameters).__name__}")
    return cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of the 1-d ``vec`` into ``parameters`` (in place)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected Tensor, but got: {type(vec).__name__}")
    offset = 0
    with no_grad():
        for p in parameters:
            n = p.numel()
            p.copy_(vec[offset:offset + n].reshape(p.shape))
            offset += n
