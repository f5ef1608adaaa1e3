"""Stochastic gradient descent with momentum, dampening, Nesterov and weight decay."""

from __future__ import annotations

from typing import Iterable

import numpy as np

from .optimizer import Optimizer, check

__all__ = ["SGD"]


class SGD(Optimizer):
    """``torch.optim.SGD``: ``p -= lr * (g + momentum buffer)``; updates are whole-array ops.

    Example:
        >>> opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    """

    def __init__(self, params: Iterable, lr: float = 1e-3, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False, *,
                 maximize: bool = False, foreach=None, differentiable: bool = False,
                 fused=None) -> None:
        check(lr >= 0.0, f"Invalid learning rate: {lr}")
        check(momentum >= 0.0, f"Invalid momentum value: {momentum}")
        check(weight_decay >= 0.0, f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize, foreach=foreach,
                                      differentiable=differentiable, fused=fused))

    def _update_group(self, group: dict) -> None:
        lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
        wd, nesterov, maximize = group["weight_decay"], group["nesterov"], group["maximize"]
        for p in group["params"]:
            if p.grad is None:
                continue
            g = p.grad._data
            if maximize:
                g = -g
            if wd:
                g = g + wd * p._data
            if momentum:
                state = self.state[p]
                buf = state.get("momentum_buffer")
                if buf is None:
                    buf = p.grad.detach().clone()
                    buf._data[...] = g
                    state["momentum_buffer"] = buf
                else:
                    b = buf._data
                    b *= momentum
                    b += (1 - dampening) * g if dampening else g
                g = g + momentum * buf._data if nesterov else buf._data
            np.subtract(p._data, lr * g, out=p._data, casting="unsafe")
            p._version_box[0] += 1
