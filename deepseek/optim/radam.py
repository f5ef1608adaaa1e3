"""RAdam: Adam with a rectified (variance-corrected) adaptive step."""

from __future__ import annotations

import math
from typing import Iterable, Tuple

import numpy as np

from ..tensor import Tensor
from .optimizer import (
    Optimizer,
    advance,
    apply_weight_decay,
    check_betas,
    ema_square_,
    lerp_,
    step_state,
    zeros_state,
)

__all__ = ["RAdam"]


class RAdam(Optimizer):
    """RAdam, as ``torch.optim.RAdam``: while the variance of the adaptive rate is intractable
    (``rho_t <= 5``) the step is SGD with momentum, afterwards Adam's step times a rectifier.

    Args:
        params: parameters or parameter groups.
        lr: learning rate. Default: 1e-3.
        betas: decay rates of the two moving averages. Default: (0.9, 0.999).
        eps: added to the denominator. Default: 1e-8.
        weight_decay: L2 penalty (decoupled with ``decoupled_weight_decay``). Default: 0.
        decoupled_weight_decay: decay the weights directly, as AdamW. Default: False.
        maximize: maximize the objective instead of minimizing. Default: False.
    """

    def __init__(self, params: Iterable, lr: float = 1e-3,
                 betas: Tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, decoupled_weight_decay: bool = False, *,
                 foreach=None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False) -> None:
        check_betas(self, lr, eps, betas, weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, maximize=maximize,
                                      foreach=foreach, capturable=capturable,
                                      decoupled_weight_decay=decoupled_weight_decay,
                                      differentiable=differentiable))

    def _init_state(self, p: Tensor, state: dict, group: dict) -> None:
        state["step"] = step_state()
        state["exp_avg"] = zeros_state(p)
        state["exp_avg_sq"] = zeros_state(p)

    def _update_group(self, group: dict) -> None:
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        for _, x, g, state in self._grads(group):
            step = advance(state)
            g = apply_weight_decay(x, g, group["weight_decay"], lr, group["decoupled_weight_decay"])
            exp_avg, exp_avg_sq = state["exp_avg"]._data, state["exp_avg_sq"]._data
            update, tmp = np.empty_like(x), np.empty_like(x)
            lerp_(exp_avg, g, 1 - beta1, tmp)
            ema_square_(exp_avg_sq, g, beta2, tmp)
            bias_correction2 = 1 - beta2 ** step
            np.divide(exp_avg, 1 - beta1 ** step, out=update)
            update *= lr
            rho_inf = 2 / (1 - beta2) - 1
            rho_t = rho_inf - 2 * step * beta2 ** step / bias_correction2
            if rho_t > 5.0:
                rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf
                                 / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
                np.sqrt(exp_avg_sq, out=tmp)
                tmp += eps
                np.divide(math.sqrt(bias_correction2), tmp, out=tmp)
                update *= tmp
                update *= rect
            x -= update
