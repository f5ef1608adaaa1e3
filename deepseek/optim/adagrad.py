"""Adagrad: per-coordinate learning rates from the running sum of squared gradients."""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from .optimizer import (
    Optimizer,
    add_ratio_,
    advance,
    apply_weight_decay,
    check,
    step_state,
    zeros_state,
)

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """Adagrad, as ``torch.optim.Adagrad``: ``s += g^2`` and
    ``p -= lr / (1 + (t - 1) * lr_decay) * g / (sqrt(s) + eps)``. Its state is created for
    every parameter when the optimizer is built, as PyTorch does.

    A sparse gradient (``nn.Embedding(sparse=True)``) updates only the rows it holds, as in
    PyTorch (no ``weight_decay`` then).

    Args:
        params: parameters or parameter groups.
        lr: learning rate. Default: 1e-2.
        lr_decay: learning-rate decay per step. Default: 0.
        weight_decay: L2 penalty. Default: 0.
        initial_accumulator_value: starting value of the sum of squares. Default: 0.
        eps: added to the denominator. Default: 1e-10.
        maximize: maximize the objective instead of minimizing. Default: False.
    """

    def __init__(self, params: Iterable, lr: float = 1e-2, lr_decay: float = 0,
                 weight_decay: float = 0, initial_accumulator_value: float = 0,
                 eps: float = 1e-10, foreach=None, *, maximize: bool = False,
                 differentiable: bool = False, fused=None) -> None:
        check(self, "lr", lr, "Invalid learning rate")
        check(self, "lr_decay", lr_decay, "Invalid lr_decay value")
        check(self, "weight_decay", weight_decay, "Invalid weight_decay value")
        check(self, "initial_accumulator_value", initial_accumulator_value,
              "Invalid initial_accumulator_value value")
        check(self, "eps", eps, "Invalid epsilon value")
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, eps=eps,
                                      weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      foreach=foreach, maximize=maximize,
                                      differentiable=differentiable, fused=fused))
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p] = {"step": step_state(),
                                 "sum": zeros_state(p, group["initial_accumulator_value"])}

    _sparse_refusal = None

    def _update_group(self, group: dict) -> None:
        lr = group["lr"]
        for p, x, g, state in self._grads(group):
            step = advance(state)
            clr = lr / (1 + (step - 1) * group["lr_decay"])
            if p.grad.is_sparse:
                if group["weight_decay"]:
                    raise RuntimeError("weight_decay option is not compatible with sparse "
                                       "gradients")
                _sparse_adagrad_(x, g, state["sum"]._data, clr, group["eps"])
                state["sum"]._version_box[0] += 1
                continue
            g = apply_weight_decay(x, g, group["weight_decay"], lr)
            total = state["sum"]._data
            std = np.multiply(g, g)
            total += std
            np.sqrt(total, out=std)
            std += group["eps"]
            add_ratio_(x, g, std, -clr, std)


def _sparse_adagrad_(x: np.ndarray, g: Any, total: np.ndarray, clr: float, eps: float) -> None:
    """PyTorch's Adagrad step from a sparse gradient ``g`` (``COOData``): on its coalesced
    rows only, ``s += g^2`` and ``p -= clr * g / (sqrt(s) + eps)``."""
    indices, values, _ = g.coalesced_parts()  # the update is not linear in g
    at = tuple(indices)
    total[at] += values * values
    std = np.sqrt(total[at])
    std += eps
    x[at] += -clr * (values / std)
