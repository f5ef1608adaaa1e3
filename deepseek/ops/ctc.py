"""The connectionist temporal classification loss: one primitive whose forward is the alpha
recursion and whose backward (a primitive of its own) adds the beta recursion, both in log space
and vectorized over the batch; ``ctc_loss`` reduces its per-sample losses."""

from __future__ import annotations

from typing import Any, Sequence, Union

import numpy as np

from .. import dtypes as _dt
from .._errors import op_error
from ..tensor import Tensor
from ._common import INT64, require_tensor
from ._opdef import apply, defop
from .loss import reduction_mode

__all__ = ["ctc_loss"]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))

# ---------------------------------------------------------------- the recursions
def _logsumexp3(a: Any, b: Any, c: Any) -> Any:
    """Elementwise ``log(exp(a) + exp(b) + exp(c))``; all ``-inf`` gives ``-inf``."""
    m = np.maximum(np.maximum(a, b), c)
    m = np.where(np.isfinite(m), m, 0)
    with np.errstate(divide="ignore"):
        return np.log(np.exp(a - m) + np.exp(b - m) + np.exp(c - m)) + m


def _shift(a: Any, k: int, fill: float) -> Any:
    """``a[..., s - k]`` (``k > 0``) or ``a[..., s + |k|]`` (``k < 0``), ``fill`` outside."""
    out = np.full_like(a, fill)
    if k > 0:
        out[..., k:] = a[..., :-k]
    else:
        out[..., :k] = a[..., -k:]
    return out


class _Lattice:
    """The extended label sequences (a blank around and between the labels) of a batch and the
    log-probabilities along them.

    Attributes:
        labels: ``(N, L)`` class of each extended position, ``L = 2 * max(target_lengths) + 1``.
        valid: ``(N, L)`` the positions inside each sample's ``2 * target_length + 1``.
        skip: ``(N, L)`` whether a path may jump from ``s - 2`` to ``s`` (a label that differs
            from the label before the blank in between).
        lp: ``(T, N, L)`` the log-probabilities of the extended labels.
    """

    def __init__(self, log_probs: Any, targets: Any, input_lengths: Any, target_lengths: Any,
                 blank: int, concatenated: bool) -> None:
        n = log_probs.shape[1]
        tl = target_lengths.astype(INT64)
        width = int(tl.max()) if n and tl.size else 0
        padded = np.full((n, width), blank, INT64)
        keep = np.arange(width) < tl[:, None]
        if concatenated:
            padded[keep] = targets[:int(tl.sum())]
        else:
            padded[keep] = targets[:, :width][keep]
        self.labels = np.full((n, 2 * width + 1), blank, INT64)
        self.labels[:, 1::2] = padded
        positions = np.arange(2 * width + 1)
        self.valid = positions < (2 * tl + 1)[:, None]
        self.skip = ((positions >= 2) & (self.labels != blank)
                     & (self.labels != _shift(self.labels, 2, blank)))
        self.input_lengths = input_lengths.astype(INT64)
        self.target_lengths = tl
        self.lp = log_probs[:, np.arange(n)[:, None], self.labels]

    def alpha(self) -> tuple:
        """``(alphas (T, N, L), nll (N,))``: the forward variables (frozen after each sample's
        input length) and the negative log-likelihood of the targets."""
        lp, valid, il = self.lp, self.valid, self.input_lengths
        steps, n, width = lp.shape
        alphas = np.full((max(steps, 1), n, width), -np.inf, lp.dtype)
        a = np.where(valid & (np.arange(width) < 2), lp[0] if steps else -np.inf, -np.inf)
        alphas[0] = a
        for t in range(1, steps):
            new = _logsumexp3(a, _shift(a, 1, -np.inf),
                              np.where(self.skip, _shift(a, 2, -np.inf), -np.inf)) + lp[t]
            a = np.where((t < il)[:, None], np.where(valid, new, -np.inf), a)
            alphas[t] = a
        last = 2 * self.target_lengths
        rows = np.arange(n)
        end = a[rows, last]
        before = np.where(last >= 1, a[rows, np.maximum(last - 1, 0)], -np.inf)
        nll = -np.logaddexp(end, before)
        empty = il == 0  # no frames: only the empty target has a (zero-cost) alignment
        nll = np.where(empty, np.where(self.target_lengths == 0, 0, np.inf), nll)
        return alphas, nll.astype(lp.dtype)

    def beta(self) -> Any:
        """``(T, N, L)`` the backward variables (each includes the frame's log-probability, as
        the alphas do); ``-inf`` from each sample's input length on."""
        lp, valid, il = self.lp, self.valid, self.input_lengths
        steps, n, width = lp.shape
        betas = np.full((steps, n, width), -np.inf, lp.dtype)
        last = (2 * self.target_lengths)[:, None]
        positions = np.arange(width)
        ends = valid & ((positions == last) | (positions == last - 1))
        skip_ahead = _shift(self.skip, -2, False)
        b = np.full((n, width), -np.inf, lp.dtype)
        for t in range(steps - 1, -1, -1):
            new = _logsumexp3(b, _shift(b, -1, -np.inf),
                              np.where(skip_ahead, _shift(b, -2, -np.inf), -np.inf)) + lp[t]
            start = np.where(ends, lp[t], -np.inf)
            b = np.where((t == il - 1)[:, None], start,
                         np.where((t < il - 1)[:, None] & valid, new, -np.inf))
            betas[t] = b
        return betas


def _check_dtype(x: Any) -> None:
    if x.dtype not in _FLOATS:
        name = _dt.torch_name(x.dtype)
        raise op_error(NotImplementedError, "ctc_loss", f"not implemented for '{name}' "
                       "log_probs (float32 or float64 expected)", x)


def _ctc_forward(xp: Any, log_probs: Any, targets: Any, input_lengths: Any,
                 target_lengths: Any, *, blank: int, zero_infinity: bool,
                 concatenated: bool) -> Any:
    lattice = _Lattice(log_probs, targets, input_lengths, target_lengths, blank, concatenated)
    _, nll = lattice.alpha()
    if zero_infinity:
        nll = np.where(np.isinf(nll), 0, nll).astype(nll.dtype)
    return nll


def _ctc_meta(log_probs: Any, targets: Any, input_lengths: Any, target_lengths: Any, *,
              blank: int, zero_infinity: bool, concatenated: bool) -> tuple:
    _check_dtype(log_probs)
    if log_probs.ndim != 3:
        raise op_error(RuntimeError, "ctc_loss", "Expected log_probs to be (T, N, C) or "
                       f"(T, C), got a {log_probs.ndim}-dimensional tensor", log_probs)
    n = log_probs.shape[1]
    for name, lengths in (("input_lengths", input_lengths), ("target_lengths", target_lengths)):
        if lengths.shape != (n,):
            raise op_error(RuntimeError, "ctc_loss", f"{name} must be of size batch_size ({n})",
                           log_probs, lengths)
    if targets.ndim != (1 if concatenated else 2) or (not concatenated
                                                      and targets.shape[0] != n):
        raise op_error(RuntimeError, "ctc_loss", f"Expected targets of shape (N={n}, S) or "
                       "(sum(target_lengths),)", log_probs, targets)
    return (n,), log_probs.dtype


def _ctc_vjp(ctx: Any, g: Tensor) -> tuple:
    log_probs, targets, input_lengths, target_lengths = ctx.inputs
    grad = apply(CTC_LOSS_BACKWARD, log_probs, targets, input_lengths, target_lengths, g,
                 **ctx.attrs)
    return grad, None, None, None


def _ctc_backward_forward(xp: Any, log_probs: Any, targets: Any, input_lengths: Any,
                          target_lengths: Any, g: Any, *, blank: int, zero_infinity: bool,
                          concatenated: bool) -> Any:
    """``g * (exp(lp) - occupancy / likelihood)`` over each sample's frames, the gradient
    PyTorch returns: the exact gradient of the logits when ``lp`` is their log_softmax (the
    ``exp(lp)`` term vanishes through it, as every frame's occupancy sums to the
    likelihood)."""
    lattice = _Lattice(log_probs, targets, input_lengths, target_lengths, blank, concatenated)
    alphas, nll = lattice.alpha()
    steps, n, _ = log_probs.shape
    if steps == 0:
        return np.zeros_like(log_probs)
    paths = alphas + lattice.beta()  # log-probability of the paths through (t, s), squared lp
    top = paths.max(axis=2, keepdims=True)
    top = np.where(np.isfinite(top), top, 0)
    weight = np.exp(paths - top)
    occupancy = np.zeros_like(log_probs)
    rows = np.arange(n)
    for s in range(paths.shape[2]):  # (n, labels[n, s]) pairs are distinct within one s
        occupancy[:, rows, lattice.labels[:, s]] += weight[:, :, s]
    with np.errstate(divide="ignore", invalid="ignore"):
        log_occupancy = np.log(occupancy) + top
        grad = np.exp(log_probs) - np.exp(log_occupancy + nll[None, :, None] - log_probs)
    frames = np.arange(steps)[:, None] < lattice.input_lengths[None, :]
    keep = frames if not zero_infinity else frames & ~np.isinf(nll)[None, :]
    grad = np.where(keep[:, :, None], grad * g.astype(grad.dtype)[None, :, None], 0)
    return grad.astype(log_probs.dtype)


CTC_LOSS = defop("ctc_loss", _ctc_forward, _ctc_meta, _ctc_vjp, amp="fp32",
                 doc="Per-sample CTC negative log-likelihood of log_probs (T, N, C) against "
                     "padded (N, S) or concatenated targets.")
CTC_LOSS_BACKWARD = defop(
    "_ctc_loss_backward", _ctc_backward_forward,
    lambda log_probs, *args, **attrs: (log_probs.shape, log_probs.dtype),
    doc="The gradient of ctc_loss with respect to log_probs, from the output gradient (not "
        "differentiable, as in PyTorch).")


# ---------------------------------------------------------------- the front door
def _lengths(name: str, value: Any, like: Tensor) -> Tensor:
    if isinstance(value, Tensor):
        if value._data.dtype.kind not in "iu":
            raise op_error(RuntimeError, "ctc_loss", f"{name} must be integral",
                           value._data)
        return value.to(_dt.int64)
    if isinstance(value, (int, np.integer)):
        value = [value]
    try:
        array = np.asarray(list(value), dtype=INT64)
    except (TypeError, ValueError):
        raise op_error(TypeError, "ctc_loss", f"{name} must be a Tensor or a tuple of ints, got "
                       f"{type(value).__name__}") from None
    return Tensor._wrap(array, like._device)


def _check_values(lp: Tensor, targets: Tensor, il: Tensor, tl: Tensor, blank: int,
                  concatenated: bool) -> None:
    steps, _, classes = lp.shape
    if not 0 <= blank < classes:
        raise op_error(RuntimeError, "ctc_loss", f"blank must be in label range [0, {classes}), "
                       f"got blank={blank}")
    for name, lengths, high in (("input_lengths", il._data, steps),
                                ("target_lengths", tl._data, None)):
        if lengths.size and lengths.min() < 0:
            raise op_error(RuntimeError, "ctc_loss", f"Expected {name} to have value at least 0, "
                           f"but got value {int(lengths.min())}")
        if high is not None and lengths.size and lengths.max() > high:
            raise op_error(RuntimeError, "ctc_loss", f"Expected {name} to have value at most "
                           f"{high}, but got value {int(lengths.max())}")
    t, lengths = targets._data, tl._data
    if concatenated:
        total = int(lengths.sum())
        if t.shape[0] != total:
            raise op_error(RuntimeError, "ctc_loss", f"Expected concatenated targets of size "
                           f"sum(target_lengths) = {total}, but got size {t.shape[0]}", t)
        used = t
    else:
        longest = int(lengths.max()) if lengths.size else 0
        if t.shape[1] < longest:
            raise op_error(RuntimeError, "ctc_loss", f"Expected targets to have size at least "
                           f"{longest} at dimension 1, but got size {t.shape[1]}", t)
        used = t[:, :longest][np.arange(longest) < lengths[:, None]]
    if used.size and (used.min() < 0 or used.max() >= classes):
        bad = used[(used < 0) | (used >= classes)][0]
        raise op_error(IndexError, "ctc_loss", f"Target {int(bad)} is out of bounds for "
                       f"{classes} classes.")


def ctc_loss(log_probs: Tensor, targets: Tensor, input_lengths: Union[Tensor, Sequence[int]],
             target_lengths: Union[Tensor, Sequence[int]], blank: int = 0,
             reduction: str = "mean", zero_infinity: bool = False) -> Tensor:
    """The connectionist temporal classification loss: the negative log-likelihood of each
    target sequence summed over all its alignments to the input frames.

    Args:
        log_probs: ``(T, N, C)`` or unbatched ``(T, C)`` log-probabilities (log_softmax over C).
        targets: ``(N, S)`` padded or 1-d concatenated class indices (never ``blank``).
        input_lengths: ``(N,)`` frames of each sample (tensor or tuple of ints), at most T.
        target_lengths: ``(N,)`` labels of each sample.
        blank: the blank class. Default: 0.
        reduction: ``'none'`` | ``'mean'`` (each loss divided by its target length, then the
            batch mean) | ``'sum'``.
        zero_infinity: zero the infinite losses (inputs too short for their targets) and their
            gradients.

    Shape:
        - Output: ``(N,)`` with ``'none'`` (``()`` unbatched), else a scalar.

    Example::

        >>> lp = ds.randn(10, 2, 5).log_softmax(2)
        >>> ctc_loss(lp, ds.tensor([[1, 2, 2], [3, 4, 0]]), (10, 9), (3, 2)).shape
        deepseek.Size([])
    """
    op = "ctc_loss"
    mode = reduction_mode(op, reduction)
    lp = require_tensor(op, log_probs, "log_probs")
    tg = require_tensor(op, targets, "targets")
    _check_dtype(lp._data)
    unbatched = lp.ndim == 2
    if unbatched:  # the (S,) targets then read as concatenated: S is the target length
        lp = lp.unsqueeze(1)
    il = _lengths("input_lengths", input_lengths, lp).reshape(-1)
    tl = _lengths("target_lengths", target_lengths, lp).reshape(-1)
    if tg._data.dtype != INT64:
        tg = tg.to(_dt.int64)
    concatenated = tg.ndim == 1
    _ctc_meta(lp._data, tg._data, il._data, tl._data, blank=blank, zero_infinity=zero_infinity,
              concatenated=concatenated)
    _check_values(lp, tg, il, tl, int(blank), concatenated)
    loss = apply(CTC_LOSS, lp, tg, il, tl, blank=int(blank), zero_infinity=bool(zero_infinity),
                 concatenated=concatenated)
    if unbatched and mode == "none":
        return loss.squeeze(0)
    if mode == "mean":
        return (loss / tl.clamp(min=1).to(loss.dtype)).mean()
    if mode == "sum":
        return loss.sum()
    return loss
