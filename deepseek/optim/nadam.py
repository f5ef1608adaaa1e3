"""NAdam: Adam with Nesterov momentum and a momentum-decay schedule."""

from __future__ import annotations

from typing import Iterable, Tuple

import numpy as np

from ..tensor import Tensor
from .optimizer import (
    Optimizer,
    add_ratio_,
    advance,
    apply_weight_decay,
    check,
    check_betas,
    ema_square_,
    lerp_,
    step_state,
    zeros_state,
)

__all__ = ["NAdam"]


class NAdam(Optimizer):
    """NAdam, as ``torch.optim.NAdam``: Adam whose step mixes the current gradient and the
    momentum with the schedule ``mu_t = beta1 * (1 - 0.5 * 0.96^(t * momentum_decay))``.

    Args:
        params: parameters or parameter groups.
        lr: learning rate. Default: 2e-3.
        betas: decay rates of the two moving averages. Default: (0.9, 0.999).
        eps: added to the denominator. Default: 1e-8.
        weight_decay: L2 penalty (decoupled with ``decoupled_weight_decay``). Default: 0.
        momentum_decay: momentum decay. Default: 4e-3.
        decoupled_weight_decay: decay the weights directly, as AdamW. Default: False.
        maximize: maximize the objective instead of minimizing. Default: False.
    """

    def __init__(self, params: Iterable, lr: float = 2e-3,
                 betas: Tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, foreach=None, maximize: bool = False,
                 capturable: bool = False, differentiable: bool = False) -> None:
        check_betas(self, lr, eps, betas, weight_decay)
        check(self, "momentum_decay", momentum_decay, "Invalid momentum_decay value")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, momentum_decay=momentum_decay,
                                      decoupled_weight_decay=decoupled_weight_decay,
                                      maximize=maximize, foreach=foreach, capturable=capturable,
                                      differentiable=differentiable))

    def _init_state(self, p: Tensor, state: dict, group: dict) -> None:
        state["step"] = step_state()
        state["mu_product"] = Tensor._wrap(np.ones((), dtype=np.float32))
        state["exp_avg"] = zeros_state(p)
        state["exp_avg_sq"] = zeros_state(p)

    def _update_group(self, group: dict) -> None:
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        decay = group["momentum_decay"]
        for _, x, g, state in self._grads(group):
            step = advance(state)
            g = apply_weight_decay(x, g, group["weight_decay"], lr, group["decoupled_weight_decay"])
            mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * decay))
            mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * decay))
            mu_product = state["mu_product"]._data  # float32, as PyTorch rounds it
            mu_product *= mu
            mu_product_next = float(mu_product) * mu_next
            exp_avg, exp_avg_sq = state["exp_avg"]._data, state["exp_avg_sq"]._data
            denom, tmp = np.empty_like(x), np.empty_like(x)
            lerp_(exp_avg, g, 1 - beta1, tmp)
            ema_square_(exp_avg_sq, g, beta2, tmp)
            np.divide(exp_avg_sq, 1 - beta2 ** step, out=denom)
            np.sqrt(denom, out=denom)
            denom += eps
            add_ratio_(x, g, denom, -lr * (1.0 - mu) / (1.0 - float(mu_product)), tmp)
            add_ratio_(x, exp_avg, denom, -lr * mu_next / (1.0 - mu_product_next), tmp)
