"""RMSprop: divide the gradient by a running root mean square (optionally centered)."""

from __future__ import annotations

from typing import Iterable

import numpy as np

from ..tensor import Tensor
from .optimizer import (
    Optimizer,
    add_ratio_,
    advance,
    apply_weight_decay,
    check,
    ema_square_,
    lerp_,
    step_state,
    zeros_state,
)

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop, as ``torch.optim.RMSprop``: ``v = alpha * v + (1 - alpha) * g^2`` and
    ``p -= lr * g / (sqrt(v) + eps)``; ``centered`` subtracts the squared mean gradient from
    ``v``, ``momentum`` keeps a buffer of the steps.

    Args:
        params: parameters or parameter groups.
        lr: learning rate. Default: 1e-2.
        alpha: smoothing constant. Default: 0.99.
        eps: added to the denominator. Default: 1e-8.
        weight_decay: L2 penalty. Default: 0.
        momentum: momentum factor. Default: 0.
        centered: normalize by the estimated variance of the gradient. Default: False.
        maximize: maximize the objective instead of minimizing. Default: False.
    """

    def __init__(self, params: Iterable, lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0, momentum: float = 0,
                 centered: bool = False, capturable: bool = False, foreach=None,
                 maximize: bool = False, differentiable: bool = False) -> None:
        check(self, "lr", lr, "Invalid learning rate")
        check(self, "eps", eps, "Invalid epsilon value")
        check(self, "momentum", momentum, "Invalid momentum value")
        check(self, "weight_decay", weight_decay, "Invalid weight_decay value")
        check(self, "alpha", alpha, "Invalid alpha value")
        super().__init__(params, dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps,
                                      centered=centered, weight_decay=weight_decay,
                                      capturable=capturable, foreach=foreach, maximize=maximize,
                                      differentiable=differentiable))

    def _init_state(self, p: Tensor, state: dict, group: dict) -> None:
        state["step"] = step_state()
        state["square_avg"] = zeros_state(p)
        if group["momentum"] > 0:
            state["momentum_buffer"] = zeros_state(p)
        if group["centered"]:
            state["grad_avg"] = zeros_state(p)

    def _update_group(self, group: dict) -> None:
        lr, alpha, momentum = group["lr"], group["alpha"], group["momentum"]
        for _, x, g, state in self._grads(group):
            advance(state)
            g = apply_weight_decay(x, g, group["weight_decay"], lr)
            square_avg = state["square_avg"]._data
            avg = np.empty_like(x)
            ema_square_(square_avg, g, alpha, avg)
            if group["centered"]:
                grad_avg = state["grad_avg"]._data
                lerp_(grad_avg, g, 1 - alpha, avg)
                np.multiply(grad_avg, grad_avg, out=avg)
                np.subtract(square_avg, avg, out=avg)
                np.sqrt(avg, out=avg)
            else:
                np.sqrt(square_avg, out=avg)
            avg += group["eps"]
            if momentum > 0:
                buf = state["momentum_buffer"]._data
                buf *= momentum
                add_ratio_(buf, g, avg, 1, avg)
                x -= lr * buf
            else:
                add_ratio_(x, g, avg, -lr, avg)
