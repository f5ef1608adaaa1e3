"""Rprop: per-element step sizes that grow while the gradient keeps its sign and shrink when it
flips; only the gradient's sign moves the parameters."""

from __future__ import annotations

from typing import Iterable, Tuple

import numpy as np

from ..tensor import Tensor
from .optimizer import Optimizer, advance, check, check_real, step_state, zeros_state

__all__ = ["Rprop"]


class Rprop(Optimizer):
    """Resilient backpropagation, as ``torch.optim.Rprop``: each element's step size is
    multiplied by ``etas[1]`` when its gradient kept its sign since the last step and by
    ``etas[0]`` when it flipped (that step is then skipped), clamped to ``step_sizes``, and
    ``p -= sign(g) * step_size``.

    Args:
        params: parameters or parameter groups.
        lr: the initial step size. Default: 1e-2.
        etas: (decrease, increase) factors, ``0 < etas[0] < 1 < etas[1]``. Default: (0.5, 1.2).
        step_sizes: (least, greatest) step size. Default: (1e-6, 50).
        maximize: maximize the objective instead of minimizing. Default: False.
    """

    def __init__(self, params: Iterable, lr: float = 1e-2,
                 etas: Tuple[float, float] = (0.5, 1.2),
                 step_sizes: Tuple[float, float] = (1e-6, 50), *, capturable: bool = False,
                 foreach=None, maximize: bool = False, differentiable: bool = False) -> None:
        check(self, "lr", lr, "Invalid learning rate")
        down, up = (check_real(self, f"etas[{i}]", e) for i, e in enumerate(etas))
        if not 0.0 < down < 1.0 < up:
            raise ValueError(f"Rprop: Invalid eta values: {etas[0]}, {etas[1]}")
        super().__init__(params, dict(lr=lr, etas=tuple(etas), step_sizes=tuple(step_sizes),
                                      foreach=foreach, maximize=maximize,
                                      differentiable=differentiable, capturable=capturable))

    def _init_state(self, p: Tensor, state: dict, group: dict) -> None:
        state["step"] = step_state()
        state["prev"] = zeros_state(p)
        state["step_size"] = zeros_state(p, float(group["lr"]))

    def _update_group(self, group: dict) -> None:
        (down, up), (least, most) = group["etas"], group["step_sizes"]
        for _, x, g, state in self._grads(group):
            advance(state)
            prev, size = state["prev"]._data, state["step_size"]._data
            sign = np.sign(g * prev)
            flipped = sign < 0
            size *= np.where(sign > 0, x.dtype.type(up), np.where(flipped, x.dtype.type(down),
                                                                   x.dtype.type(1)))
            np.clip(size, least, most, out=size)
            g = np.where(flipped, x.dtype.type(0), g)  # no step where the sign flipped
            x -= np.sign(g) * size
            prev[...] = g
