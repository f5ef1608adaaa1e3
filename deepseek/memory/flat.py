"""Flat parameter storage: all parameters of a dtype, their gradients and (through the
optimizer) its state in single contiguous buffers, the tensors being views into them."""

from __future__ import annotations

from typing import Any, Iterable, Optional

import numpy as np

from ..tensor import Tensor

__all__ = ["FlatBuffer", "flatten_parameters"]


class FlatBuffer:
    """Parameters of one dtype in one buffer.

    Attributes:
        params: the parameters, in buffer order.
        data: a 1-D Tensor over all their values.
        grad: a 1-D Tensor over all their gradients (each ``p.grad`` is a view of it).
    """

    def __init__(self, params: list) -> None:
        dtype = params[0]._data.dtype
        self.params = params
        self.offsets = np.cumsum([0] + [p._data.size for p in params]).tolist()
        values = np.empty(self.offsets[-1], dtype=dtype)
        grads = np.zeros(self.offsets[-1], dtype=dtype)
        self.views = []
        for p, lo, hi in zip(params, self.offsets, self.offsets[1:]):
            values[lo:hi] = p._data.reshape(-1)
            if p.grad is not None:
                grads[lo:hi] = p.grad._data.reshape(-1)
            p._data = values[lo:hi].reshape(p._data.shape)
            p._version_box[0] += 1
            p.grad = Tensor._wrap(grads[lo:hi].reshape(p._data.shape), p._device)
            self.views.append(p.grad)
        self.data = Tensor._wrap(values, params[0]._device)
        self.grad = Tensor._wrap(grads, params[0]._device)
        self.data.grad = self.grad

    def sync_grads(self) -> None:
        """Bring back ``.grad`` views that were replaced (``model.zero_grad()`` sets None)."""
        for p, view in zip(self.params, self.views):
            g = p.grad
            if g is view:
                continue
            if g is None:
                view._data[...] = 0
            else:
                view._data[...] = g._data
            p.grad = view
            view._version_box[0] += 1

    def zero_grad(self) -> None:
        """Zero every gradient in one operation (the views stay)."""
        self.sync_grads()
        self.grad._data[...] = 0
        self.grad._version_box[0] += 1

    def __repr__(self) -> str:
        return (f"FlatBuffer({len(self.params)} tensors, {self.offsets[-1]} elements, "
                f"{self.data._data.dtype})")


def flatten_parameters(model_or_params: Any, optimizer: Optional[Any] = None) -> list:
    """Move parameters into flat per-dtype buffers (one per optimizer group and dtype when
    ``optimizer`` is given, which then updates each buffer as a whole: see
    ``Optimizer.flatten``).

    Gradients become views of a zeroed flat gradient buffer and backward accumulates into
    them in place. Call it before training: earlier references to the old arrays (saved
    graphs, optimizer state) do not follow.

    Args:
        model_or_params: a module or an iterable of parameters.
        optimizer: the optimizer of these parameters (optional).

    Returns:
        the list of :class:`FlatBuffer`.
    """
    if optimizer is not None:
        return optimizer.flatten()
    params = model_or_params.parameters() if hasattr(model_or_params, "parameters") \
        else model_or_params
    return group_buffers(params)


def group_buffers(params: Iterable[Tensor]) -> list:
    """One :class:`FlatBuffer` per dtype of ``params`` (duplicates skipped)."""
    by_dtype: dict = {}
    seen: set = set()
    for p in params:
        if id(p) not in seen:
            seen.add(id(p))
            by_dtype.setdefault(p._data.dtype, []).append(p)
    return [FlatBuffer(ps) for ps in by_dtype.values()]
