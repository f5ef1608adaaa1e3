"""Adam and AdamW: one update body; AdamW decouples the weight decay."""

from __future__ import annotations

import math
from typing import Iterable, Tuple

import numpy as np

from .._creation import zeros_like
from .._creation import tensor
from .optimizer import Optimizer, check

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    """``torch.optim.Adam`` (``amsgrad``, ``maximize``, L2 ``weight_decay``)."""

    _decoupled = False

    def __init__(self, params: Iterable, lr: float = 1e-3, betas: Tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False, *,
                 foreach=None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False, fused=None, decoupled_weight_decay: bool = False
                 ) -> None:
        check(lr >= 0.0, f"Invalid learning rate: {lr}")
        check(eps >= 0.0, f"Invalid epsilon value: {eps}")
        check(0.0 <= betas[0] < 1.0, f"Invalid beta parameter at index 0: {betas[0]}")
        check(0.0 <= betas[1] < 1.0, f"Invalid beta parameter at index 1: {betas[1]}")
        check(weight_decay >= 0.0, f"Invalid weight_decay value: {weight_decay}")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize, foreach=foreach, capturable=capturable,
                                      differentiable=differentiable, fused=fused,
                                      decoupled_weight_decay=decoupled_weight_decay
                                      or self._decoupled))

    def _update_group(self, group: dict) -> None:
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        wd, amsgrad, decoupled = group["weight_decay"], group["amsgrad"], \
            group["decoupled_weight_decay"]
        for p in group["params"]:
            if p.grad is None:
                continue
            state = self.state[p]
            if not state:
                state["step"] = tensor(0.0)
                state["exp_avg"] = zeros_like(p)
                state["exp_avg_sq"] = zeros_like(p)
                if amsgrad:
                    state["max_exp_avg_sq"] = zeros_like(p)
            x = p._data
            g = -p.grad._data if group["maximize"] else p.grad._data
            if wd:
                if decoupled:
                    x *= 1 - lr * wd
                else:
                    g = g + wd * x
            state["step"]._data += 1
            step = float(state["step"]._data)
            m, v = state["exp_avg"]._data, state["exp_avg_sq"]._data
            m += (1 - beta1) * (g - m)  # lerp, as PyTorch computes it
            v *= beta2
            v += (1 - beta2) * g * g
            if amsgrad:
                vmax = state["max_exp_avg_sq"]._data
                np.maximum(vmax, v, out=vmax)
                v = vmax
            bias1 = 1 - beta1 ** step
            bias2_sqrt = math.sqrt(1 - beta2 ** step)
            denom = np.sqrt(v) / bias2_sqrt + eps
            x -= (lr / bias1) * m / denom
            p._version_box[0] += 1


class AdamW(Adam):
    """``torch.optim.AdamW``: Adam with decoupled weight decay (default 1e-2)."""

    _decoupled = True

    def __init__(self, params: Iterable, lr: float = 1e-3, betas: Tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False,
                 **kwargs) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, **kwargs)
