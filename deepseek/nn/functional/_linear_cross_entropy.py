"""``linear_cross_entropy``: cross entropy of ``linear(input, linear_weight)`` logits, either
composed from ``linear`` and ``cross_entropy`` (``options=None``) or chunked over the batch so
the ``(N, C)`` logits never exist at once (``options=LinearCrossEntropyOptions(...)``)."""

from __future__ import annotations

import math
import warnings
from typing import Any, Optional

import numpy as np

from ... import dtypes as _dt
from ..._errors import op_error
from ...autograd.function import Function, FunctionCtx
from ...autograd.grad_mode import STATE
from ...ops._common import INT64, LOWP, is_float, require_tensor
from ...ops._opdef import AUTOCAST, FORWARD_AD, TRACER, autocast_args
from ...ops.linalg import MATMUL
from ...ops.loss import cross_entropy, reduction_mode
from ...tensor import Tensor
from ._misc import linear

__all__ = ["linear_cross_entropy"]

_OP = "linear_cross_entropy"
_F32 = np.dtype(np.float32)


def linear_cross_entropy(input: Tensor, linear_weight: Tensor, target: Tensor, *,
                         linear_bias: Optional[Tensor] = None, weight: Optional[Tensor] = None,
                         reduction: str = "mean", ignore_index: Optional[int] = None,
                         label_smoothing: float = 0.0, options: Any = None) -> Tensor:
    """Cross entropy between ``linear(input, linear_weight) + linear_bias`` and ``target``.

    With ``options=None`` this is exactly ``cross_entropy(linear(...), target, ...)``. With a
    :class:`~deepseek.nn.LinearCrossEntropyOptions` the batch is processed in chunks: each
    chunk's loss and its gradients with respect to ``input``, ``linear_weight`` and
    ``linear_bias`` are computed in forward (float32 accumulation for float16/bfloat16), so at
    most ``(batch_chunk_size, C)`` logits exist at a time; backward only scales the stored
    gradients (``reduction='none'`` recomputes them chunk by chunk from the saved inputs). The
    chunked path takes class-index int64 targets, ``label_smoothing=0`` and no ``out_features``;
    other calls, and calls under ``ds.jit`` tracing or forward-mode AD (which see primitives
    only), warn and use the reference. It has no second derivative: backward with
    ``create_graph=True`` raises.

    Args:
        input: ``(N, in_features)`` or unbatched ``(in_features)``.
        linear_weight: ``(C, in_features)``, or ``(C, d1, ..., dK, in_features)`` for a
            K-dimensional loss (batched input only).
        target: class indices ``(N)``, ``(N, d1, ..., dK)`` or ``()``, or class probabilities
            with the logits' shape ``(N, C, d1, ..., dK)`` or ``(C)``.
        linear_bias: ``(C, d1, ..., dK)``.
        weight: per-class rescaling ``(C)``.
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``.
        ignore_index: a class index that contributes nothing; None means -100 (and must be None
            for probability targets).
        label_smoothing: in ``[0, 1]``.
        options: None (reference) or a ``LinearCrossEntropyOptions`` (chunked).

    Example:
        >>> x, w = ds.randn(6, 4, requires_grad=True), ds.randn(10, 4, requires_grad=True)
        >>> opts = ds.nn.LinearCrossEntropyOptions(batch_chunk_size=2)
        >>> linear_cross_entropy(x, w, ds.tensor([1, 0, 9, 3, 3, 2]), options=opts).backward()
    """
    x = require_tensor(_OP, input)
    w = require_tensor(_OP, linear_weight, "linear_weight")
    t = require_tensor(_OP, target, "target")
    b = None if linear_bias is None else require_tensor(_OP, linear_bias, "linear_bias")
    reduction = reduction_mode(_OP, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise op_error(RuntimeError, _OP, "label_smoothing must be between 0.0 and 1.0. Got: "
                       f"{label_smoothing}")
    out_features, logits_shape = _check_linear(x, w, b)
    prob = t.shape == logits_shape
    if prob and ignore_index is not None:
        raise op_error(RuntimeError, _OP, "ignore_index cannot be specified when target "
                       "contains probabilities", t._data)
    ignore_index = -100 if ignore_index is None else int(ignore_index)
    _check_target(x, w, t, prob, ignore_index, logits_shape)
    class_weight = _check_class_weight(w, weight)
    if options is not None and _chunkable(options, t, out_features, prob, reduction,
                                          label_smoothing, b):
        return _chunked(x, w, b, t, class_weight, ignore_index, reduction, options)
    if out_features:
        w = w.reshape(math.prod(w.shape[:-1]), w.shape[-1])
        b = None if b is None else b.reshape(-1)
    logits = linear(x, w, b)
    if out_features:
        logits = logits.reshape(logits_shape)
    return cross_entropy(logits, t, class_weight, ignore_index=ignore_index, reduction=reduction,
                         label_smoothing=label_smoothing)


# ---------------------------------------------------------------- the front door's checks
def _check_linear(x: Tensor, w: Tensor, b: Optional[Tensor]) -> tuple:
    """``(out_features, logits_shape)`` of valid ``input``/``linear_weight``/``linear_bias``."""
    if x.ndim not in (1, 2):
        raise op_error(RuntimeError, _OP, f"expected input with dimensionality 1 or 2, got "
                       f"{x.ndim}", x._data)
    if w.ndim < 2:
        raise op_error(RuntimeError, _OP, "expected linear_weight with dimensionality at least "
                       f"2, got {w.ndim}", w._data)
    if x.shape[-1] != w.shape[-1]:
        raise op_error(RuntimeError, _OP, "expected equal input and linear_weight last "
                       f"dimensions (in_features), got {x.shape[-1]} and {w.shape[-1]}, "
                       "respectively", x._data, w._data)
    xc, wc = autocast_args(MATMUL, x, w)
    if not is_float(xc._data.dtype) or xc._data.dtype != wc._data.dtype:
        raise op_error(RuntimeError, _OP, "expected floating-point input and linear_weight of "
                       "the same dtype", x._data, w._data)
    out_features = tuple(w.shape[1:-1])
    if b is not None and tuple(b.shape) != tuple(w.shape[:-1]):
        raise op_error(RuntimeError, _OP, f"expected linear_bias shape {tuple(w.shape[:-1])}, "
                       f"got {tuple(b.shape)}", b._data)
    if out_features and x.ndim == 1:
        raise op_error(RuntimeError, _OP, "K-dimensional loss defined by linear_weight shape "
                       f"{tuple(w.shape)} requires batched input, (N, {x.shape[-1]}), got "
                       f"unbatched input with shape {tuple(x.shape)}", x._data, w._data)
    return out_features, tuple(x.shape[:-1]) + tuple(w.shape[:-1])


def _check_target(x: Tensor, w: Tensor, t: Tensor, prob: bool, ignore_index: int,
                  logits_shape: tuple) -> None:
    td = t._data
    if prob:
        if not is_float(td.dtype):
            raise op_error(RuntimeError, _OP, "Expected floating point type for target with "
                           f"class probabilities, got {_dt.torch_name(td.dtype)}", td)
        return
    if td.dtype not in (INT64, np.dtype(np.uint8)):
        raise op_error(RuntimeError, _OP, "expected target dtype to be Long or Byte, but got "
                       f"{_dt.torch_name(td.dtype)}", td)
    want = (logits_shape[:1] + logits_shape[2:]) if x.ndim == 2 else ()
    if td.shape != want and not (x.ndim == 1 and td.shape == (1,)):
        raise op_error(RuntimeError, _OP, f"expected class-index target of shape {list(want)} "
                       f"or class probabilities of shape {list(logits_shape)}, got target of "
                       f"shape {list(td.shape)}", x._data, w._data, td)
    bad = (td != ignore_index) & ((td < 0) | (td >= w.shape[0]))
    if bad.any():
        raise op_error(IndexError, _OP, f"Target {int(td[bad].flat[0])} is out of bounds.")


def _check_class_weight(w: Tensor, weight: Any) -> Optional[Tensor]:
    if weight is None:
        return None
    cw = require_tensor(_OP, weight, "weight")
    if tuple(cw.shape) != (w.shape[0],):
        raise op_error(RuntimeError, _OP, "weight tensor should be defined either for all "
                       f"{w.shape[0]} classes or no classes but got weight tensor of shape: "
                       f"{list(cw.shape)}", cw._data)
    if cw._requires_grad:
        raise op_error(RuntimeError, _OP, f"The function '{_OP}' is not differentiable with "
                       "respect to argument 'weight'. This input cannot have requires_grad True.")
    return cw


def _chunkable(options: Any, t: Tensor, out_features: tuple, prob: bool, reduction: str,
               label_smoothing: float, b: Optional[Tensor]) -> bool:
    """Whether the chunked path takes this call; warns, as PyTorch, when it does not."""
    from ..modules.linear_cross_entropy import LinearCrossEntropyOptions

    if not isinstance(options, LinearCrossEntropyOptions):
        raise op_error(TypeError, _OP, "options must be a LinearCrossEntropyOptions or None, "
                       f"got {type(options).__name__}")
    # a tracer or forward-mode AD sees primitives only: the hand-written chunks would be lost
    tracing = TRACER[0] is not None or FORWARD_AD[0] is not None
    on_cpu = isinstance(t._data, np.ndarray)  # the chunks are NumPy code
    if not (out_features or prob or label_smoothing != 0.0 or t._data.dtype != INT64
            or tracing or not on_cpu):
        return True
    warnings.warn(
        "linear_cross_entropy: ``options`` ignored; chunked path needs reduction in "
        "{'mean','sum','none'}, label_smoothing == 0, target.dtype == int64, out_features == (). "
        f"Got reduction={reduction!r}, label_smoothing={label_smoothing}, "
        f"target.dtype={_dt.from_numpy_dtype(t._data.dtype)}, out_features={out_features}, "
        f"tracing={tracing}, cpu={on_cpu}, "
        f"linear_bias.shape={None if b is None else tuple(b.shape)}.",
        stacklevel=3)
    return False


# ---------------------------------------------------------------- the chunked path
def _plan(options: Any, n: int, in_features: int, n_classes: int, dtype: np.dtype) -> tuple:
    """``(batch_chunk_size, accumulation dtype)`` for a call, from the options.

    ``chunking_method="aspect_ratio[:k]"`` sizes a chunk so its ``(rows, C)`` logits take about
    the memory of the ``(N, in_features)`` input (divided by ``k``), rounded to a power of two;
    ``"auto"`` means ``batch_chunk_size`` when given, else PyTorch's CPU pick.
    """
    method, size = options.chunking_method, options.batch_chunk_size
    if method == "auto":
        method = None if size is not None else "aspect_ratio" if dtype in LOWP else \
            "aspect_ratio:2"
    rows = n if size is None else min(size, n)
    if method is not None:
        factor = int(method.partition(":")[2] or 1)
        target = -(-n // -(-n_classes // max(in_features, 1)))
        fit = min((1 << max(target - 1, 0).bit_length()) // factor, n)
        if size is not None and size != fit:
            raise op_error(ValueError, _OP, f"batch_chunk_size (={size}) and chunking_method "
                           f"('{method}') give different chunk sizes ({size} vs {fit}); pass "
                           "only one.")
        rows = fit
    acc = options.acc_dtype
    if acc is not None and acc.np != dtype and not (acc.np == _F32 and dtype in LOWP):
        raise op_error(RuntimeError, _OP, "supports float32 acc_dtype with float16/bfloat16 "
                       f"inputs, but got {acc} acc_dtype and {_dt.from_numpy_dtype(dtype)} "
                       "inputs.")
    return max(rows, 1), _F32 if dtype in LOWP else dtype


def _chunked(x: Tensor, w: Tensor, b: Optional[Tensor], t: Tensor, class_weight: Any,
             ignore_index: int, reduction: str, options: Any) -> Tensor:
    x, w = autocast_args(MATMUL, x, w)
    if b is not None:
        (b,) = autocast_args(MATMUL, b)
        if b._data.dtype != x._data.dtype:
            raise op_error(RuntimeError, _OP, "expected linear_bias of the input's dtype",
                           x._data, b._data)
    unbatched = x.ndim == 1
    if unbatched:
        x, t = x.reshape(1, -1), t.reshape(1)
    dtype = x._data.dtype
    rows, acc = _plan(options, x.shape[0], x.shape[1], w.shape[0], dtype)
    # under autocast the reference's cross_entropy gives float32 losses of low-precision logits
    out_dtype = _F32 if AUTOCAST[0] is not None and dtype in LOWP else dtype
    out = _ChunkedLinearCrossEntropy.apply(x, w, b, t, class_weight, ignore_index, reduction,
                                           rows, acc, out_dtype,
                                           bool(options.allow_retain_graph))
    return out.reshape(()) if unbatched and reduction == "none" else out


def _row_weights(target: np.ndarray, class_weight: Any, ignore_index: int,
                 acc: np.dtype) -> tuple:
    """Each row's class (0 where ignored) and weight (0 where ignored)."""
    keep = target != ignore_index
    index = np.where(keep, target, 0)
    if class_weight is None:
        return index, keep.astype(acc)
    return index, class_weight._data.astype(acc)[index] * keep


def _chunk(x: np.ndarray, w: np.ndarray, b: Any, index: np.ndarray, row_weight: np.ndarray,
           coef: Any, grads: tuple) -> np.ndarray:
    """One chunk's per-row losses; with ``coef`` (each row's loss gradient), also adds the
    chunk's gradients into ``grads = (grad_x rows, grad_w, grad_b)`` (None where unwanted)."""
    z = x @ w.T
    if b is not None:
        z += b
    peak = z.max(axis=1, keepdims=True)
    z -= np.where(np.isfinite(peak), peak, 0)
    rows = np.arange(len(index))
    picked = z[rows, index]
    np.exp(z, out=z)
    total = z.sum(axis=1)
    # a zero weight (an ignored row) wins over an infinite log-probability
    loss = np.where(row_weight == 0, 0, row_weight * (np.log(total) - picked))
    if coef is None:
        return loss
    z *= (coef / total)[:, None]  # softmax times the row's gradient, minus it at the target
    z[rows, index] -= coef
    grad_x, grad_w, grad_b = grads
    if grad_x is not None:
        np.matmul(z, w, out=grad_x)
    if grad_w is not None:
        grad_w += z.T @ x
    if grad_b is not None:
        grad_b += z.sum(axis=0)
    return loss


def _sweep(ctx: FunctionCtx, x: np.ndarray, w: np.ndarray, b: Any, index: np.ndarray,
           row_weight: np.ndarray, coef: Any, needs: tuple) -> tuple:
    """Run every chunk: ``(per-row losses, [grad_x, grad_w, grad_b])`` in the accumulation
    dtype (a gradient is None unless ``needs`` asks for it and ``coef`` is given)."""
    acc, rows = ctx.acc, ctx.rows
    w = w.astype(acc, copy=False)
    b = None if b is None else b.astype(acc, copy=False)
    wanted = [coef is not None and need for need in needs]
    grads = [np.empty(x.shape, acc) if wanted[0] else None,
             np.zeros(w.shape, acc) if wanted[1] else None,
             np.zeros(w.shape[:1], acc) if wanted[2] and b is not None else None]
    losses = np.empty(x.shape[0], acc)
    with np.errstate(invalid="ignore", divide="ignore"):  # -inf logits, as the reference
        for start in range(0, x.shape[0], rows):
            part = slice(start, start + rows)
            chunk_grads = (None if grads[0] is None else grads[0][part], grads[1], grads[2])
            losses[part] = _chunk(x[part].astype(acc, copy=False), w, b, index[part],
                                  row_weight[part], None if coef is None else coef[part],
                                  chunk_grads)
    return losses, grads


class _ChunkedLinearCrossEntropy(Function):
    """The chunked loss: 'mean'/'sum' compute the gradients in forward and backward scales
    them; 'none' saves its inputs and recomputes them in backward with each row's gradient."""

    @staticmethod
    def forward(ctx: FunctionCtx, x: Tensor, w: Tensor, b: Optional[Tensor], t: Tensor,
                class_weight: Any, ignore_index: int, reduction: str, rows: int, acc: np.dtype,
                out_dtype: np.dtype, keep_grads: bool) -> Tensor:
        ctx.rows, ctx.acc, ctx.reduction, ctx.keep_grads = rows, acc, reduction, keep_grads
        ctx.ignore_index, ctx.class_weight = ignore_index, class_weight
        dtype, device = x._data.dtype, x._device
        index, row_weight = _row_weights(t._data, class_weight, ignore_index, acc)
        bd = None if b is None else b._data
        if reduction == "none":
            ctx.save_for_backward(x, w, b, t)
            losses, _ = _sweep(ctx, x._data, w._data, bd, index, row_weight, None,
                               (False,) * 3)
            return Tensor._wrap(losses.astype(out_dtype), device)
        scale = 1
        if reduction == "mean":  # an all-ignored batch: a nan loss and zero gradients, as torch
            divisor = row_weight.sum()
            scale = 1 / divisor if divisor else 0
        coef = row_weight * acc.type(scale)
        losses, grads = _sweep(ctx, x._data, w._data, bd, index, row_weight, coef,
                               ctx.needs_input_grad[:3])
        ctx.grads = [None if g is None else g.astype(dtype, copy=False) for g in grads]
        with np.errstate(invalid="ignore", divide="ignore"):
            total = losses.sum() if reduction == "sum" else losses.sum() / row_weight.sum()
        return Tensor._wrap(np.asarray(total, out_dtype), device)

    @staticmethod
    def backward(ctx: FunctionCtx, g: Tensor) -> tuple:
        if STATE.enabled:
            raise op_error(RuntimeError, _OP, "create_graph=True (double backward) is not "
                           "supported by the chunked path (options=LinearCrossEntropyOptions"
                           "(...)); use options=None for higher-order gradients")
        if ctx.reduction == "none":
            grads = _ChunkedLinearCrossEntropy._recompute(ctx, g)
        else:
            grads = _ChunkedLinearCrossEntropy._scale(ctx, g)
        return (*grads, None, None, None, None, None, None, None, None)

    @staticmethod
    def _scale(ctx: FunctionCtx, g: Tensor) -> list:
        """The forward's gradients times ``g``: scaled in place and handed over (so a second
        backward raises) unless ``allow_retain_graph`` keeps them."""
        grads = ctx.grads
        if grads is None:
            raise op_error(RuntimeError, _OP, "backward ran twice through the chunked path, "
                           "whose gradients were computed in forward and consumed by the first "
                           "backward; pass LinearCrossEntropyOptions(allow_retain_graph=True) "
                           "to backward more than once")
        scale, device = g._data, g._device
        out = []
        for grad in grads:
            if grad is not None:
                if ctx.keep_grads:
                    grad = grad * scale
                elif scale != 1:
                    grad *= scale
                grad = Tensor._wrap(grad, device)
            out.append(grad)
        if not ctx.keep_grads:
            ctx.grads = None
        return out

    @staticmethod
    def _recompute(ctx: FunctionCtx, g: Tensor) -> list:
        x, w, b, t = ctx.saved_tensors
        acc = ctx.acc
        index, row_weight = _row_weights(t._data, ctx.class_weight, ctx.ignore_index, acc)
        coef = row_weight * g._data.astype(acc).reshape(-1)
        _, grads = _sweep(ctx, x._data, w._data, None if b is None else b._data, index,
                          row_weight, coef, ctx.needs_input_grad[:3])
        return [None if grad is None else Tensor._wrap(grad.astype(like._data.dtype), like._device)
                for grad, like in zip(grads, (x, w, b))]
