"""Muon: momentum SGD for 2-D weights whose update is orthogonalized by a Newton-Schulz
iteration (run in bfloat16, rounded where torch's bfloat16 kernels round)."""

from __future__ import annotations

import math
from typing import Iterable, Optional, Tuple

import numpy as np

from .. import dtypes as _dt
from ..tensor import Tensor
from .adafactor import lerp_
from .optimizer import Optimizer, check, check_real, zeros_state

__all__ = ["Muon"]

_ADJUST_LR = (None, "original", "match_rms_adamw")


def _bf16(x: np.ndarray) -> np.ndarray:
    """``x`` rounded to bfloat16 (round to nearest even), held in float32."""
    return np.asarray(x, np.float32).astype(_dt.bfloat16.np).astype(np.float32)


def zeropower_via_newtonschulz(g: np.ndarray, ns_coefficients: tuple, ns_steps: int,
                               eps: float) -> np.ndarray:
    """The orthogonalization ``U S' V^T`` (``S'`` near 1) of the 2-D ``g = U S V^T`` by
    ``ns_steps`` quintic Newton-Schulz steps with coefficients ``(a, b, c)``:
    ``A = X X^T``, ``X = a X + (b A + c A^2) X``, from ``X = g / max(||g||, eps)``.

    Each product accumulates in float32 and is rounded once to bfloat16, as torch's bfloat16
    ``addmm`` does; the result is float32 holding bfloat16 values.
    """
    if ns_steps >= 100:
        raise ValueError("Muon: Number of steps must be less than 100 for computational "
                         f"efficiency (ns_steps={ns_steps})")
    if g.ndim != 2:
        raise ValueError(f"Muon: Input tensor gradient must be a 2D matrix, got shape {g.shape}")
    if len(ns_coefficients) != 3:
        raise ValueError("Muon: Coefficients must be a tuple of exactly 3 values, got "
                         f"{ns_coefficients!r}")
    a, b, c = ns_coefficients
    x = _bf16(g)
    tall = x.shape[0] > x.shape[1]
    if tall:  # the Gram matrix of the shorter side is the cheaper one
        x = x.T
    norm = _bf16(np.sqrt(np.sum(x * x, dtype=np.float32)))
    x = _bf16(x / max(norm, _bf16(eps)))
    for _ in range(ns_steps):
        gram = _bf16(x @ x.T)
        poly = _bf16(b * gram + c * (gram @ gram))
        x = _bf16(a * x + poly @ x)
    return x.T if tall else x


def _adjusted_lr(lr: float, adjust_lr_fn: Optional[str], shape: tuple) -> float:
    rows, cols = shape[:2]
    if adjust_lr_fn == "match_rms_adamw":
        return lr * 0.2 * math.sqrt(max(rows, cols))
    return lr * math.sqrt(max(1, rows / cols))


class Muon(Optimizer):
    """Muon, as ``torch.optim.Muon``: ``B = momentum * B + (1 - momentum) * g``, the update
    ``O = NS(g.lerp(B, momentum))`` (or ``NS(B)`` without ``nesterov``) orthogonalized by
    :func:`zeropower_via_newtonschulz`, then ``p *= 1 - lr * weight_decay`` and
    ``p -= lr' * O``, where ``lr'`` is ``lr * sqrt(max(1, rows / cols))`` ("original") or
    ``0.2 * lr * sqrt(max(rows, cols))`` ("match_rms_adamw").

    Only 2-D parameters are accepted: optimize biases, embeddings and the like with a standard
    optimizer such as AdamW.

    Args:
        params: 2-D parameters or parameter groups of them.
        lr: learning rate. Default: 1e-3.
        weight_decay: decoupled weight decay. Default: 0.1.
        momentum: momentum factor. Default: 0.95.
        nesterov: use Nesterov momentum. Default: True.
        ns_coefficients: the Newton-Schulz coefficients ``(a, b, c)``.
            Default: (3.4445, -4.775, 2.0315).
        eps: floors the norm the iteration starts by dividing by. Default: 1e-7.
        ns_steps: Newton-Schulz steps (below 100). Default: 5.
        adjust_lr_fn: ``"original"`` or ``"match_rms_adamw"``; None means "original".

    Example:
        >>> w = ds.randn(4, 3, requires_grad=True)
        >>> opt = ds.optim.Muon([w], lr=0.02)
        >>> w.square().sum().backward(); opt.step()
    """

    def __init__(self, params: Iterable, lr: float = 1e-3, weight_decay: float = 0.1,
                 momentum: float = 0.95, nesterov: bool = True,
                 ns_coefficients: Tuple[float, float, float] = (3.4445, -4.775, 2.0315),
                 eps: float = 1e-7, ns_steps: int = 5,
                 adjust_lr_fn: Optional[str] = None) -> None:
        check(self, "lr", lr, "Learning rate should be >= 0 but is")
        check(self, "momentum", momentum, "momentum should be >= 0 but is")
        check(self, "weight_decay", weight_decay, "weight decay should be >= 0 but is")
        check_real(self, "eps", eps)
        if adjust_lr_fn not in _ADJUST_LR:
            raise ValueError(f"Muon: Adjust learning rate function {adjust_lr_fn} is not "
                             "supported; expected 'original' or 'match_rms_adamw'")
        super().__init__(params, dict(lr=lr, weight_decay=weight_decay, momentum=momentum,
                                      nesterov=nesterov, ns_coefficients=tuple(ns_coefficients),
                                      eps=eps, ns_steps=ns_steps, adjust_lr_fn=adjust_lr_fn))
        for group in self.param_groups:
            for p in group["params"]:
                if p.ndim != 2:
                    raise ValueError("Muon only supports 2D parameters whereas we found a "
                                     f"parameter with size: {p.shape}; optimize it with a "
                                     "standard optimizer such as AdamW")

    def _init_state(self, p: Tensor, state: dict, group: dict) -> None:
        if p.is_complex():
            raise RuntimeError("Muon does not support complex parameters")
        state["momentum_buffer"] = zeros_state(p)

    def _update_group(self, group: dict) -> None:
        lr, momentum, decay = group["lr"], group["momentum"], group["weight_decay"]
        for _, x, g, state in self._grads(group):
            buf = state["momentum_buffer"]
            lerp_(buf._data, g, 1 - momentum)
            buf._version_box[0] += 1
            update = buf._data
            if group["nesterov"]:
                update = g.copy()
                lerp_(update, buf._data, momentum)
            update = zeropower_via_newtonschulz(update, group["ns_coefficients"],
                                                group["ns_steps"], group["eps"])
            x *= 1 - lr * decay
            x -= _adjusted_lr(lr, group["adjust_lr_fn"], x.shape) * update.astype(x.dtype)
