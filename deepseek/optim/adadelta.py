"""Adadelta: step sizes from the ratio of running RMS of updates and of gradients."""

from __future__ import annotations

from typing import Iterable

import numpy as np

from ..tensor import Tensor
from .optimizer import (
    Optimizer,
    advance,
    apply_weight_decay,
    check,
    ema_square_,
    step_state,
    zeros_state,
)

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    """Adadelta, as ``torch.optim.Adadelta``: ``v = rho * v + (1 - rho) * g^2``,
    ``d = sqrt(u + eps) / sqrt(v + eps) * g``, ``u = rho * u + (1 - rho) * d^2``,
    ``p -= lr * d``.

    Args:
        params: parameters or parameter groups.
        lr: coefficient of the delta. Default: 1.0.
        rho: decay rate of the running averages. Default: 0.9.
        eps: added inside the square roots. Default: 1e-6.
        weight_decay: L2 penalty. Default: 0.
        maximize: maximize the objective instead of minimizing. Default: False.
    """

    def __init__(self, params: Iterable, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0, foreach=None, *, capturable: bool = False,
                 maximize: bool = False, differentiable: bool = False) -> None:
        check(self, "lr", lr, "Invalid learning rate")
        check(self, "rho", rho, "Invalid rho value", at_most=1.0)
        check(self, "eps", eps, "Invalid epsilon value")
        check(self, "weight_decay", weight_decay, "Invalid weight_decay value")
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay,
                                      maximize=maximize, capturable=capturable, foreach=foreach,
                                      differentiable=differentiable))

    def _init_state(self, p: Tensor, state: dict, group: dict) -> None:
        state["step"] = step_state()
        state["square_avg"] = zeros_state(p)
        state["acc_delta"] = zeros_state(p)

    def _update_group(self, group: dict) -> None:
        lr, rho, eps = group["lr"], group["rho"], group["eps"]
        for _, x, g, state in self._grads(group):
            advance(state)
            g = apply_weight_decay(x, g, group["weight_decay"], lr)
            square_avg, acc_delta = state["square_avg"]._data, state["acc_delta"]._data
            std, delta = np.empty_like(x), np.empty_like(x)
            ema_square_(square_avg, g, rho, std)
            np.add(square_avg, eps, out=std)
            np.sqrt(std, out=std)
            np.add(acc_delta, eps, out=delta)
            np.sqrt(delta, out=delta)
            delta /= std
            delta *= g
            ema_square_(acc_delta, delta, rho, std)
            delta *= lr
            x -= delta
