"""ASGD: SGD with a decaying step size that keeps a running average of the parameters."""

from __future__ import annotations

from typing import Iterable

import numpy as np

from ..tensor import Tensor
from .optimizer import Optimizer, advance, apply_weight_decay, check, step_state, zeros_state

__all__ = ["ASGD"]


class ASGD(Optimizer):
    """Averaged stochastic gradient descent, as ``torch.optim.ASGD``: ``p *= 1 - lambd * eta``,
    ``p -= eta * g``, and after step ``t0`` the average ``ax`` of the parameters moves toward
    them by ``mu``; ``eta = lr / (1 + lambd * lr * t)^alpha`` and ``mu = 1 / max(1, t - t0)``
    (state ``eta``, ``mu`` and ``ax`` per parameter, as PyTorch keeps them).

    Args:
        params: parameters or parameter groups.
        lr: learning rate. Default: 1e-2.
        lambd: decay term. Default: 1e-4.
        alpha: power of the step-size decay. Default: 0.75.
        t0: the step averaging starts at. Default: 1e6.
        weight_decay: L2 penalty. Default: 0.
        maximize: maximize the objective instead of minimizing. Default: False.
    """

    def __init__(self, params: Iterable, lr: float = 1e-2, lambd: float = 1e-4,
                 alpha: float = 0.75, t0: float = 1e6, weight_decay: float = 0, foreach=None,
                 maximize: bool = False, differentiable: bool = False,
                 capturable: bool = False) -> None:
        check(self, "lr", lr, "Invalid learning rate")
        check(self, "weight_decay", weight_decay, "Invalid weight_decay value")
        super().__init__(params, dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0,
                                      weight_decay=weight_decay, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable,
                                      capturable=capturable))

    def _init_state(self, p: Tensor, state: dict, group: dict) -> None:
        state["step"] = step_state()
        state["eta"] = Tensor._wrap(np.array(group["lr"], np.float32))
        state["mu"] = Tensor._wrap(np.ones((), np.float32))
        state["ax"] = zeros_state(p)

    def _update_group(self, group: dict) -> None:
        lr, lambd = group["lr"], group["lambd"]
        for _, x, g, state in self._grads(group):
            step = advance(state)
            g = apply_weight_decay(x, g, group["weight_decay"], lr)
            eta, mu, ax = (state[k]._data for k in ("eta", "mu", "ax"))
            x *= 1 - lambd * float(eta)
            x -= float(eta) * g
            if float(mu) != 1:
                ax += (x - ax) * mu.astype(x.dtype)
            else:
                ax[...] = x
            eta[...] = lr / ((1 + lambd * lr * step) ** group["alpha"])
            mu[...] = 1 / max(1, step - group["t0"])
