"""Adamax: Adam with the infinity norm in place of the second moment."""

from __future__ import annotations

from typing import Iterable, Tuple

import numpy as np

from ..tensor import Tensor
from .optimizer import (
    Optimizer,
    add_ratio_,
    advance,
    apply_weight_decay,
    check_betas,
    lerp_,
    step_state,
    zeros_state,
)

__all__ = ["Adamax"]


class Adamax(Optimizer):
    """Adamax, as ``torch.optim.Adamax``: ``u = max(beta2 * u, |g| + eps)`` and
    ``p -= lr / (1 - beta1^t) * m / u``.

    Args:
        params: parameters or parameter groups.
        lr: learning rate. Default: 2e-3.
        betas: decay rates of the mean and of the infinity norm. Default: (0.9, 0.999).
        eps: added to ``|g|``. Default: 1e-8.
        weight_decay: L2 penalty. Default: 0.
        maximize: maximize the objective instead of minimizing. Default: False.
    """

    def __init__(self, params: Iterable, lr: float = 2e-3,
                 betas: Tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, foreach=None, *, maximize: bool = False,
                 differentiable: bool = False, capturable: bool = False) -> None:
        check_betas(self, lr, eps, betas, weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable,
                                      capturable=capturable))

    def _init_state(self, p: Tensor, state: dict, group: dict) -> None:
        state["step"] = step_state()
        state["exp_avg"] = zeros_state(p)
        state["exp_inf"] = zeros_state(p)

    def _update_group(self, group: dict) -> None:
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        for _, x, g, state in self._grads(group):
            step = advance(state)
            g = apply_weight_decay(x, g, group["weight_decay"], lr)
            exp_avg, exp_inf = state["exp_avg"]._data, state["exp_inf"]._data
            tmp = np.empty_like(x)
            lerp_(exp_avg, g, 1 - beta1, tmp)
            exp_inf *= beta2
            np.abs(g, out=tmp)
            tmp += eps
            np.maximum(exp_inf, tmp, out=exp_inf)
            add_ratio_(x, exp_avg, exp_inf, -lr / (1 - beta1 ** step), tmp)
