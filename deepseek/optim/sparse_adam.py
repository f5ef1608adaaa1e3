"""SparseAdam: Adam's moments and update applied only at the entries a sparse gradient holds."""

from __future__ import annotations

import math
from typing import Any, Iterable, Tuple

import numpy as np

from .optimizer import Optimizer, check_real, zeros_state

__all__ = ["SparseAdam"]


class SparseAdam(Optimizer):
    """SparseAdam, as ``torch.optim.SparseAdam``: for dense parameters whose gradients are
    sparse COO tensors. Only the entries the (coalesced) gradient holds move: there the moments
    become ``m = b1 m + (1 - b1) g`` and ``v = b2 v + (1 - b2) g^2``, and the parameter
    ``p -= lr sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)``; everything else, moments
    included, is left alone. ``t`` counts this parameter's steps.

    Sparse gradients come from ``nn.Embedding(sparse=True)``, ``nn.EmbeddingBag(sparse=True)``,
    ``deepseek.sparse`` operations, or a sparse tensor assigned to ``.grad``; dense ones are
    refused as PyTorch does (use :class:`Adam`).

    Args:
        params: parameters or parameter groups (dense, real).
        lr: learning rate. Default: 1e-3.
        betas: decay rates of the two moving averages. Default: (0.9, 0.999).
        eps: added to the denominator. Default: 1e-8.
        maximize: maximize the objective instead of minimizing. Default: False.

    Example:
        >>> w = ds.zeros(4, 2, requires_grad=True)
        >>> opt = ds.optim.SparseAdam([w], lr=0.1)
        >>> w.grad = ds.sparse_coo_tensor([[1, 3]], ds.ones(2, 2), (4, 2))
        >>> opt.step()
        >>> w[0].tolist(), [round(v, 4) for v in w[1].tolist()]
        ([0.0, 0.0], [-0.1, -0.1])
    """

    def __init__(self, params: Iterable, lr: Any = 1e-3,
                 betas: Tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 maximize: bool = False) -> None:
        owner = type(self).__name__
        if not 0.0 < check_real(self, "lr", lr):
            raise ValueError(f"{owner}: Invalid learning rate: {lr}")
        if not 0.0 < check_real(self, "eps", eps):
            raise ValueError(f"{owner}: Invalid epsilon value: {eps}")
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise TypeError(f"{owner}: betas must be a pair of real numbers, got "
                            f"{type(betas).__name__} {betas!r}")
        for i, beta in enumerate(betas):
            if not 0.0 <= check_real(self, f"betas[{i}]", beta) < 1.0:
                raise ValueError(f"{owner}: Invalid beta parameter at index {i}: {beta}")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, maximize=maximize))
        where = [[i, j] for i, group in enumerate(self.param_groups)
                 for j, p in enumerate(group["params"]) if p.is_sparse]
        if where:
            raise ValueError(f"{owner}: Sparse params at indices {where}: SparseAdam requires "
                             "dense parameter tensors")
        where = [[i, j] for i, group in enumerate(self.param_groups)
                 for j, p in enumerate(group["params"]) if p.is_complex()]
        if where:
            raise ValueError(f"{owner}: Complex params at indices {where}: SparseAdam does not "
                             "support complex parameters")

    def flatten(self) -> list:
        raise RuntimeError("[SparseAdam] flatten() is not supported: sparse gradients cannot "
                           "live in a flat gradient buffer")

    def _update_group(self, group: dict) -> None:
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        maximize = group.get("maximize", False)
        for p in group["params"]:
            grad = p.grad
            if grad is None:
                continue
            if not grad.is_sparse:
                raise RuntimeError("SparseAdam does not support dense gradients, please consider "
                                   "Adam instead")
            state = self.state[p]
            if not state:
                state["step"] = 0  # a Python int, as PyTorch keeps it for SparseAdam
                state["exp_avg"] = zeros_state(p)
                state["exp_avg_sq"] = zeros_state(p)
            state["step"] += 1
            indices, values, _ = grad._data.coalesced_parts()  # the update is not linear
            if values.size == 0:
                continue
            _sparse_adam_(p._data, state["exp_avg"]._data, state["exp_avg_sq"]._data,
                          tuple(indices), -values if maximize else values, lr, beta1, beta2,
                          eps, state["step"])
            for t in (p, state["exp_avg"], state["exp_avg_sq"]):
                t._version_box[0] += 1


def _sparse_adam_(x: np.ndarray, m: np.ndarray, v: np.ndarray, at: tuple, g: np.ndarray,
                  lr: float, beta1: float, beta2: float, eps: float, step: int) -> None:
    """One update of the rows ``x[at]`` (``at`` unique), in PyTorch's rounding order."""
    g = g.astype(x.dtype, copy=False)
    old_m, old_v = m[at], v[at]
    m_update = (g - old_m) * (1 - beta1)
    m[at] += m_update
    v_update = (g * g - old_v) * (1 - beta2)
    v[at] += v_update
    numer = m_update + old_m
    denom = np.sqrt(v_update + old_v) + eps
    step_size = lr * math.sqrt(1 - beta2 ** step) / (1 - beta1 ** step)
    x[at] += -step_size * (numer / denom)
