"""Stochastic gradient descent with momentum, dampening, Nesterov and weight decay."""

from __future__ import annotations

from typing import Any, Iterable, Optional

import numpy as np

from ..sparse._coo import COOData, SparseTensor
from ..tensor import Tensor
from . import _kernels
from .optimizer import Optimizer, apply_weight_decay, check, check_real

__all__ = ["SGD"]


class SGD(Optimizer):
    """Stochastic gradient descent, as ``torch.optim.SGD``.

    With momentum ``m`` the update is ``b = m * b + (1 - dampening) * g`` and
    ``p -= lr * b`` (``p -= lr * (g + m * b)`` with ``nesterov``). A sparse gradient
    (``nn.Embedding(sparse=True)``) moves only the rows it holds and keeps a sparse momentum
    buffer, as in PyTorch (no ``weight_decay`` then).

    Args:
        params: parameters or parameter groups.
        lr: learning rate. Default: 1e-3.
        momentum: momentum factor. Default: 0.
        dampening: dampening of the momentum. Default: 0.
        weight_decay: L2 penalty. Default: 0.
        nesterov: use Nesterov momentum. Default: False.
        maximize: maximize the objective instead of minimizing. Default: False.
        fused: update each parameter in one multi-threaded pass (float32/float64 contiguous
            arrays); None: wherever it applies, False: never. Default: None.

    Example:
        >>> w = ds.zeros(3, requires_grad=True)
        >>> opt = ds.optim.SGD([w], lr=0.1, momentum=0.9)
        >>> (w - 1).square().sum().backward(); opt.step()
    """

    def __init__(self, params: Iterable, lr: float = 1e-3, momentum: float = 0,
                 dampening: float = 0, weight_decay: float = 0, nesterov: bool = False, *,
                 maximize: bool = False, foreach=None, differentiable: bool = False,
                 fused=None) -> None:
        check(self, "lr", lr, "Invalid learning rate")
        check(self, "momentum", momentum, "Invalid momentum value")
        check(self, "weight_decay", weight_decay, "Invalid weight_decay value")
        check_real(self, "dampening", dampening)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize, foreach=foreach,
                                      differentiable=differentiable, fused=fused))

    _sparse_refusal = None

    def _update_group(self, group: dict) -> None:
        lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
        for p, x, g, state in self._grads(group, stateful=momentum != 0):
            if p.grad.is_sparse:
                _sparse_sgd_(x, g, state, group)
                continue
            buf = state.get("momentum_buffer") if momentum else None
            arrays = (x, g) if buf is None else (x, g, buf._data)
            if _kernels.usable(group.get("fused"), *arrays):
                first = bool(momentum) and buf is None
                if first:
                    buf = state["momentum_buffer"] = Tensor._wrap(np.empty_like(x), p._device)
                _kernels.sgd_(x, g, None if buf is None else buf._data, lr,
                              group["weight_decay"], momentum, dampening, group["nesterov"], first)
                if buf is not None:
                    buf._version_box[0] += 1
                continue
            g = apply_weight_decay(x, g, group["weight_decay"], lr)
            if momentum:
                if buf is None:
                    buf = state["momentum_buffer"] = Tensor._wrap(np.array(g, copy=True), p._device)
                else:
                    b = buf._data
                    b *= momentum
                    b += (1 - dampening) * g if dampening else g
                    buf._version_box[0] += 1
                g = g + momentum * buf._data if group["nesterov"] else buf._data
            x -= lr * g


def _sparse_sgd_(x: np.ndarray, g: COOData, state: Optional[dict], group: dict) -> None:
    """PyTorch's SGD step from a sparse gradient: only the rows it holds move; the momentum
    buffer is sparse (uncoalesced, scaled and appended to, as PyTorch keeps it) unless dense
    gradients made it first. Weight decay would add a dense tensor to a sparse one, which
    PyTorch refuses."""
    lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
    if group["weight_decay"]:
        raise RuntimeError(_SPARSE_PLUS_DENSE)
    update: Any = g
    if momentum:
        buf = state.get("momentum_buffer")
        if buf is None:
            buf = state["momentum_buffer"] = SparseTensor._make(
                COOData(g.indices.copy(), g.values.copy(), g.shape, g.coalesced))
        elif buf.is_sparse:
            b = buf._data
            buf._data = _append(b, b.values * momentum, g, 1 - dampening)
            buf._version_box[0] += 1
        else:
            b = buf._data
            b *= momentum
            np.add.at(b, tuple(g.indices), (1 - dampening) * g.values)
            buf._version_box[0] += 1
        update = buf._data
        if group["nesterov"]:
            if not buf.is_sparse:
                raise RuntimeError(_SPARSE_PLUS_DENSE)
            update = _append(g, g.values, update, momentum)
    if isinstance(update, np.ndarray):
        x -= lr * update
    else:
        np.add.at(x, tuple(update.indices), -lr * update.values)


_SPARSE_PLUS_DENSE = "add(sparse, dense) is not supported. Use add(dense, sparse) instead."


def _append(a: COOData, a_values: np.ndarray, b: COOData, alpha: float) -> COOData:
    """``a + alpha * b`` with ``a``'s values replaced by ``a_values``, uncoalesced."""
    values = b.values if alpha == 1 else alpha * b.values
    return COOData(np.concatenate([a.indices, b.indices], 1),
                   np.concatenate([a_values, values.astype(a_values.dtype, copy=False)]),
                   a.shape, False)
