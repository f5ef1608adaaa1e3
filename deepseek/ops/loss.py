"""Loss functions and the distances they are built on. ``cross_entropy`` and ``nll_loss`` are
one primitive with a hand-written, numerically stable backward; the other losses are
compositions of primitives, differentiated for free."""

from __future__ import annotations

import math
import warnings
from typing import Any, Optional

import numpy as np

from .. import dtypes as _dt
from .._errors import op_error
from ..autograd.grad_mode import STATE
from ..tensor import Tensor
from . import _kernels
from ._common import INT64, LOWP, broadcast_shapes, cast, is_float, promote, require_tensor
from ._opdef import apply, defop, tensor_method
from .elementwise import minimum, where, xlogy

__all__ = ["binary_cross_entropy_with_logits", "kl_div", "cosine_embedding_loss",
           "margin_ranking_loss", "triplet_margin_loss", "poisson_nll_loss",
           "hinge_embedding_loss", "cosine_similarity", "pairwise_distance", "pdist", "cdist",
           "dist"]

_F32 = np.dtype(np.float32)
_REDUCTIONS = ("none", "mean", "sum")
def _size(shape: tuple) -> str:
    return f"deepseek.Size({list(shape)})"


# ---------------------------------------------------------------- reductions
def reduction_mode(op: str, reduction: str, size_average: Any = None, reduce: Any = None) -> str:
    """``reduction``, or the mode the legacy ``size_average``/``reduce`` flags ask for."""
    if size_average is not None or reduce is not None:
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = "none" if not reduce else ("mean" if size_average else "sum")
        warnings.warn("size_average and reduce args will be deprecated, please use "
                      f"reduction='{reduction}' instead.", stacklevel=3)
    if reduction not in _REDUCTIONS:
        raise op_error(ValueError, op, f"{reduction} is not a valid value for reduction")
    return reduction


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _float_operands(op: str, *xs: Any) -> list:
    """Tensors (and numbers) promoted to one floating dtype; the tensors must broadcast."""
    broadcast_shapes(op, *(x._data for x in xs if isinstance(x, Tensor)))
    d = promote(op, *xs)
    if not is_float(d):
        d = _dt.get_default_dtype().np
    return [cast(x, d) for x in xs]


def _check_same_size(op: str, input: Tensor, target: Tensor) -> None:
    if target.shape != input.shape:
        warnings.warn(f"Using a target size ({_size(target.shape)}) that is different to the "
                      f"input size ({_size(input.shape)}). This will likely lead to incorrect "
                      "results due to broadcasting. Please ensure they have the same size.",
                      stacklevel=3)


def _softplus(x: Tensor) -> Tensor:
    """``log(1 + exp(x))`` without overflow."""
    return x.clamp(min=0) + (-x.abs()).exp().log1p()


# ---------------------------------------------------------------- cross_entropy / nll_loss
def _class_coefficients(xp: Any, target: Any, weight: Any, ignore_index: int,
                        label_smoothing: float, dtype: np.dtype) -> tuple:
    """``(dense, index, at_index, divisor)`` describing the loss of one element as
    ``-sum_c a[c] * logp[c]`` with ``a = dense + at_index * onehot(index)`` (classes on dim 1).

    'mean' divides the summed loss by ``divisor``. ``dense`` is None when zero and ``index``
    None for probability targets, so class-index targets never build an (N, C, ...) array.
    """
    n_classes = weight.shape[0]
    w = weight.astype(dtype, copy=False)
    eps = label_smoothing
    if is_float(target.dtype):  # class probabilities, same shape as the input
        q = target.astype(dtype, copy=False)
        if eps:
            q = q * (1 - eps) + eps / n_classes
        dense = q * w.reshape((1, n_classes) + (1,) * (target.ndim - 2))
        return dense, None, None, target.size // max(n_classes, 1)
    keep = target != ignore_index
    t = xp.where(keep, target, 0)
    wt = w[t] * keep
    dense = None
    if eps:
        dense = (eps / n_classes) * w.reshape((1, n_classes) + (1,) * (target.ndim - 1)) * \
            xp.expand_dims(keep, 1)
    return dense, xp.expand_dims(t, 1), xp.expand_dims(wt * (1 - eps), 1), wt.sum()


def _log_softmax(xp: Any, x: Any) -> Any:
    """Log-softmax over the class dim 1."""
    if x.ndim == 2 and x.size and _kernels.usable(xp, x):
        return _kernels.softmax(x, True)
    m = x.max(axis=1, keepdims=True)
    m = xp.where(xp.isfinite(m), m, 0)
    z = x - m
    return z - xp.log(xp.exp(z).sum(axis=1, keepdims=True))


def _class_loss_forward(xp: Any, x: Any, target: Any, weight: Any, *, ignore_index: int,
                        reduction: str, label_smoothing: float, logits: bool) -> Any:
    if x.dtype in LOWP:
        x = x.astype(_F32)
    with np.errstate(all="ignore"):
        logp = _log_softmax(xp, x) if logits else x
        dense, index, at_index, divisor = _class_coefficients(
            xp, target, weight, ignore_index, label_smoothing, x.dtype)
        loss = xp.zeros((), x.dtype)
        if index is not None:  # a zero coefficient wins over a -inf log-probability
            picked = xp.take_along_axis(logp, index, axis=1)
            loss = -xp.where(at_index == 0, 0, at_index * picked)
        if dense is not None:
            loss = loss - xp.where(dense == 0, 0, dense * logp).sum(axis=1, keepdims=True)
        loss = loss.squeeze(1)
        if reduction == "none":
            return loss
        total = loss.sum()
        return total / x.dtype.type(divisor) if reduction == "mean" else total


_PARTS = ("dense", "index", "at_index", "divisor")


def _coefficient_forward(xp: Any, target: Any, weight: Any, *, part: str, ignore_index: int,
                         label_smoothing: float, dtype: np.dtype) -> Any:
    parts = _class_coefficients(xp, target, weight, ignore_index, label_smoothing, dtype)
    return xp.asarray(parts[_PARTS.index(part)], dtype=INT64 if part == "index" else dtype)


def _coefficient_meta(target: Any, weight: Any, *, part: str, ignore_index: int,
                      label_smoothing: float, dtype: np.dtype) -> tuple:
    if part == "divisor":
        return (), dtype
    if part == "dense" and not is_float(target.dtype):  # (N, C, d1, ...) from (N, d1, ...)
        return target.shape[:1] + weight.shape + target.shape[1:], dtype
    if part == "dense":
        return target.shape, dtype
    return target.shape[:1] + (1,) + target.shape[1:], INT64 if part == "index" else dtype


# The coefficients depend on the target's values: an op of their own, so a traced backward
# recomputes them from the target it is given.
CLASS_COEFFICIENT = defop(
    "_class_loss_coefficient", _coefficient_forward, _coefficient_meta,
    doc="One part (``dense``, ``index``, ``at_index``, ``divisor``) of a class loss's "
        "coefficients ``a = dense + at_index * onehot(index)`` (see ``_class_coefficients``).")


def _class_loss_vjp(ctx: Any, g: Tensor) -> tuple:
    if STATE.enabled or ctx.needs_input_grad[1]:  # create_graph, or probabilities' gradient
        return _class_loss_vjp_composed(ctx, g)
    x, target, weight = ctx.inputs
    return apply(CLASS_LOSS_BACKWARD, x, target, weight, g, **ctx.attrs), None, None


def _class_loss_backward_forward(xp: Any, x: Any, target: Any, weight: Any, g: Any, *,
                                 ignore_index: int, reduction: str, label_smoothing: float,
                                 logits: bool) -> Any:
    """The input gradient of a class loss: ``softmax(x) * sum_c a_c - a`` times the output
    gradient (``-a`` alone for log-probabilities), with ``a`` from ``_class_coefficients``."""
    if x.dtype in LOWP:
        x = x.astype(_F32)
    g = g.astype(x.dtype)
    eps = label_smoothing
    n_classes = weight.shape[0]
    w = weight.astype(x.dtype, copy=False)
    index_target = not is_float(target.dtype)
    if logits and index_target and x.ndim == 2 and x.size and _kernels.usable(xp, x, w):
        keep = target != ignore_index
        t = xp.where(keep, target, 0)
        if reduction == "mean":  # (an all-ignored batch: zero gradients, as torch)
            g = g / ((w[t] * keep).sum() or 1)
        g_rows = xp.broadcast_to(g, keep.shape) * keep
        at_index = (w[t] * (1 - eps) * g_rows).astype(x.dtype)
        smooth = (g_rows * (eps / n_classes)).astype(x.dtype)
        a_sum = at_index + smooth * w.sum()
        out = np.empty(x.shape, x.dtype)
        _kernels.cross_entropy_rows_backward(np.ascontiguousarray(x), t, at_index, a_sum, smooth,
                                             np.ascontiguousarray(w), out)
        return out
    with np.errstate(all="ignore"):
        dense, index, at_index, divisor = _class_coefficients(
            xp, target, weight, ignore_index, label_smoothing, x.dtype)
        if reduction == "none":
            g = xp.expand_dims(g, 1)
        elif reduction == "mean":
            g = g / x.dtype.type(divisor or 1)
        grad = xp.zeros(x.shape, x.dtype)
        if logits:
            a_sum = dense.sum(axis=1, keepdims=True) if dense is not None else 0
            a_sum = a_sum if index is None else a_sum + at_index
            grad = xp.exp(_log_softmax(xp, x)) * (a_sum * g)
        if dense is not None:
            grad = grad - dense * g
        if index is not None:
            picked = xp.take_along_axis(grad, index, axis=1) - at_index * g
            xp.put_along_axis(grad, index, picked, axis=1)
        return grad


# Written for speed in first-order backward; not differentiable (``create_graph`` composes).
CLASS_LOSS_BACKWARD = defop(
    "_class_loss_backward", _class_loss_backward_forward,
    lambda x, target, weight, g, **attrs: (x.shape, x.dtype), kind="opaque",
    doc="The input gradient of cross_entropy (``logits``) or nll_loss from the output gradient.")


def _class_loss_vjp_composed(ctx: Any, g: Tensor) -> tuple:
    x, target, weight = ctx.inputs
    attrs = ctx.attrs
    xc = x.float() if x._data.dtype in LOWP else x
    eps, reduction = attrs["label_smoothing"], attrs["reduction"]

    def part(name: str) -> Tensor:
        return apply(CLASS_COEFFICIENT, target, weight, part=name,
                     ignore_index=attrs["ignore_index"], label_smoothing=eps,
                     dtype=xc._data.dtype)

    prob = is_float(target._data.dtype)
    dense = part("dense") if prob or eps else None
    index, at_index = (None, None) if prob else (part("index"), part("at_index"))
    if reduction == "none":
        g = g.unsqueeze(1)
    elif reduction == "mean":
        divisor = part("divisor")
        g = g / (float(target.numel() // max(x.shape[1], 1)) if prob else
                 divisor + (divisor == 0))  # an all-ignored batch: zero gradients
    logp = xc
    if attrs["logits"]:
        # d/dx of -sum_c a logp = softmax * sum_c a - a; shifted by the (constant) row max, as
        # the forward, so float32 keeps its precision
        m = xc.detach().amax(1, keepdim=True)
        shifted = xc - where(m.isfinite(), m, 0.0)
        e = shifted.exp()
        total = e.sum(1, keepdim=True)
        logp = shifted - total.log()
        a_sum = dense.sum(1, keepdim=True) if dense is not None else 0
        a_sum = a_sum if index is None else a_sum + at_index
        grad_x = (e / total) * (a_sum * g)
    else:
        grad_x = xc.new_zeros(xc.shape)
    if dense is not None:
        grad_x = grad_x - dense * g
    if index is not None:
        src = -at_index * g
        grad_x = grad_x.scatter_add(1, index, src.expand(index.shape))
    grad_target = None
    if ctx.needs_input_grad[1]:  # class probabilities: d loss / d target
        wshape = (1, -1) + (1,) * (x.ndim - 2)
        grad_target = -(logp * weight.to(xc.dtype).reshape(wshape) * g) * (1 - eps)
    return grad_x, grad_target, None


def _class_loss_meta(op: str):
    def meta(x: Any, target: Any, weight: Any, *, ignore_index: int, reduction: str,
             label_smoothing: float, logits: bool) -> tuple:
        if x.ndim < 2:
            raise op_error(ValueError, op, f"Expected 2 or more dimensions (got {x.ndim})", x)
        if weight.shape != (x.shape[1],):
            raise op_error(RuntimeError, op, f"weight tensor should be defined either for all "
                           f"{x.shape[1]} classes or no classes but got weight tensor of shape: "
                           f"{list(weight.shape)}", x, weight)
        if is_float(target.dtype) and target.shape == x.shape:
            out = (x.shape[0],) + x.shape[2:]
        else:
            _check_index_target(op, x, target)
            out = target.shape
        return (out if reduction == "none" else ()), x.dtype

    return meta


def _check_index_target(op: str, x: Any, target: Any) -> None:
    if target.dtype not in (INT64, np.dtype(np.uint8)):
        raise op_error(RuntimeError, op, "expected target dtype to be Long or Byte, but got "
                       f"{_dt.torch_name(target.dtype)}", x, target)
    n = target.shape[0] if target.ndim else 1
    if n != x.shape[0]:
        raise op_error(ValueError, op, f"Expected input batch_size ({x.shape[0]}) to match "
                       f"target batch_size ({n}).", x, target)
    if x.ndim == 2 and target.ndim != 1:
        raise op_error(RuntimeError, op, "0D or 1D target tensor expected, multi-target not "
                       "supported", x, target)
    want = (x.shape[0],) + x.shape[2:]
    if target.shape != want:
        raise op_error(RuntimeError, op, f"Expected target size {list(want)}, got "
                       f"{list(target.shape)}", x, target)


CROSS_ENTROPY = defop("cross_entropy_loss", _class_loss_forward,
                      _class_loss_meta("cross_entropy"), _class_loss_vjp, amp="fp32",
                      doc="Cross entropy of logits (class dim 1) against class indices or "
                          "probabilities.")
NLL_LOSS = defop("nll_loss", _class_loss_forward, _class_loss_meta("nll_loss"), _class_loss_vjp,
                 amp="fp32", doc="Negative log likelihood of log-probabilities (class dim 1).")


def _class_loss(op: str, opdef: Any, input: Any, target: Any, weight: Any, ignore_index: int,
                reduction: str, label_smoothing: float) -> Tensor:
    x = require_tensor(op, input)
    t = require_tensor(op, target, "target")
    if not 0.0 <= label_smoothing <= 1.0:
        raise op_error(RuntimeError, op, f"label_smoothing must be between 0.0 and 1.0. Got: "
                       f"{label_smoothing}")
    if not is_float(x._data.dtype):
        raise op_error(NotImplementedError, op, f"expected a floating-point input, got "
                       f"{_dt.torch_name(x._data.dtype)}", x._data)
    unbatched = x.ndim == 1
    if unbatched:
        x = x.unsqueeze(0)
        t = t.unsqueeze(0) if t.ndim == 0 or t.shape == (x.shape[1],) else t
    n_classes = x.shape[1] if x.ndim >= 2 else 0
    prob = t.shape == x.shape and opdef is CROSS_ENTROPY
    if prob:
        if not is_float(t._data.dtype):
            raise op_error(RuntimeError, op, "Expected floating point type for target with "
                           f"class probabilities, got {_dt.torch_name(t._data.dtype)}", t._data)
        if ignore_index >= 0:
            raise op_error(RuntimeError, op, "ignore_index is not supported for floating point "
                           "target", t._data)
        t = cast(t, x._data.dtype)
    elif t._data.dtype.kind in "iu" and t.numel():
        td = t._data
        bad = (td != ignore_index) & ((td < 0) | (td >= n_classes))
        if bad.any():
            raise op_error(IndexError, op, f"Target {int(td[bad].flat[0])} is out of bounds.")
    if weight is None:
        w = Tensor._wrap(np.ones(n_classes, dtype=x._data.dtype))
    else:
        w = _class_weight(op, weight, x._data.dtype)
    out = apply(opdef, x, t, w, ignore_index=int(ignore_index), reduction=reduction,
                label_smoothing=float(label_smoothing), logits=opdef is CROSS_ENTROPY)
    if unbatched and reduction == "none" and out.ndim:
        out = out.squeeze(0)
    return out


def _class_weight(op: str, weight: Any, dtype: np.dtype) -> Tensor:
    """A per-class weight as ``dtype``; like PyTorch, no gradient flows to it."""
    w = cast(require_tensor(op, weight, "weight"), dtype)
    if w._requires_grad:
        raise op_error(RuntimeError, op, f"The function '{op}' is not differentiable with "
                       "respect to argument 'weight'. This input cannot have requires_grad True.")
    return w


def cross_entropy(input: Tensor, target: Tensor, weight: Optional[Tensor] = None,
                  size_average: Any = None, ignore_index: int = -100, reduce: Any = None,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Cross entropy between logits ``input`` and ``target`` (computed as one stable op).

    Args:
        input: logits, ``(N, C)``, ``(N, C, d1, ...)`` or unbatched ``(C,)``.
        target: class indices (int64, shape ``(N,)``/``(N, d1, ...)``/``()``), or class
            probabilities with the shape of ``input``.
        weight: per-class rescaling, ``(C,)``.
        ignore_index: target value that contributes neither loss nor gradient; 'mean' divides
            by the summed weights of the other targets.
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``.
        label_smoothing: in ``[0, 1]``; mixes the target with the uniform distribution.

    Example:
        >>> loss = cross_entropy(ds.randn(3, 5), ds.tensor([1, 0, 4]))
    """
    return _class_loss("cross_entropy", CROSS_ENTROPY, input, target, weight, ignore_index,
                       reduction_mode("cross_entropy", reduction, size_average, reduce),
                       label_smoothing)


def nll_loss(input: Tensor, target: Tensor, weight: Optional[Tensor] = None,
             size_average: Any = None, ignore_index: int = -100, reduce: Any = None,
             reduction: str = "mean") -> Tensor:
    """Negative log likelihood of log-probabilities ``input`` at class indices ``target``.

    Shapes and options as :func:`cross_entropy` (class-index targets only).
    """
    return _class_loss("nll_loss", NLL_LOSS, input, target, weight, ignore_index,
                       reduction_mode("nll_loss", reduction, size_average, reduce), 0.0)


# ---------------------------------------------------------------- binary cross entropy
def _check_bce_operands(op: str, x: Tensor, t: Tensor, *weights: Optional[Tensor]) -> None:
    """A floating target; weights (``weight``, ``pos_weight``) that broadcast with the input."""
    if not is_float(t._data.dtype):
        raise op_error(RuntimeError, op, f"Found dtype {_dt.torch_name(t._data.dtype)} but "
                       "expected a floating point target (probabilities in [0, 1])", x._data,
                       t._data)
    broadcast_shapes(op, x._data, *(require_tensor(op, w, "weight")._data for w in weights
                                    if w is not None))


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Optional[Tensor] = None,
                         size_average: Any = None, reduce: Any = None,
                         reduction: str = "mean") -> Tensor:
    """Binary cross entropy of probabilities ``input`` (logs clamped to >= -100, as PyTorch)."""
    op = "binary_cross_entropy"
    mode = reduction_mode(op, reduction, size_average, reduce)
    x, t = require_tensor(op, input), require_tensor(op, target, "target")
    if t.shape != x.shape:
        raise op_error(ValueError, op, f"Using a target size ({_size(t.shape)}) that is "
                       f"different to the input size ({_size(x.shape)}) is deprecated. Please "
                       "ensure they have the same size.")
    _check_bce_operands(op, x, t, weight)
    xd = x._data
    if xd.size and ((xd < 0) | (xd > 1)).any():
        raise op_error(RuntimeError, op, "all elements of input should be between 0 and 1", xd)
    x, t = _float_operands(op, x, t)
    loss = -(t * x.log().clamp(min=-100) + (1 - t) * (1 - x).log().clamp(min=-100))
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, mode)


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor,
                                     weight: Optional[Tensor] = None, size_average: Any = None,
                                     reduce: Any = None, reduction: str = "mean",
                                     pos_weight: Optional[Tensor] = None) -> Tensor:
    """Sigmoid + binary cross entropy in one stable expression.

    ``pos_weight`` (broadcast over the last dim) weighs the positive term.
    """
    op = "binary_cross_entropy_with_logits"
    mode = reduction_mode(op, reduction, size_average, reduce)
    x, t = require_tensor(op, input), require_tensor(op, target, "target")
    if t.shape != x.shape:
        raise op_error(ValueError, op, f"Target size ({_size(t.shape)}) must be the same as "
                       f"input size ({_size(x.shape)})")
    _check_bce_operands(op, x, t, weight, pos_weight)
    x, t = _float_operands(op, x, t)
    softplus_neg = _softplus(-x)  # -log(sigmoid(x))
    if pos_weight is not None:
        softplus_neg = softplus_neg * ((pos_weight - 1) * t + 1)
    loss = (1 - t) * x + softplus_neg
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, mode)


# ---------------------------------------------------------------- regression losses
def _pointwise(op: str, input: Any, target: Any, fn: Any, reduction: str,
               weight: Optional[Tensor] = None, integer_ok: bool = False) -> Tensor:
    """``fn(input - target)`` reduced; integer operands only where PyTorch computes in them
    (``integer_ok``, and then not with a mean)."""
    x, t = require_tensor(op, input), require_tensor(op, target, "target")
    _check_same_size(op, x, t)
    broadcast_shapes(op, x._data, t._data)
    d = promote(op, x, t)
    if is_float(d):
        x, t = _float_operands(op, x, t)
    elif not integer_ok:
        raise op_error(NotImplementedError, op, f"\"{op}\" not implemented for "
                       f"'{_dt.torch_name(d)}'", x._data, t._data)
    elif reduction == "mean":
        raise op_error(RuntimeError, op, "mean(): could not infer output dtype: the mean of an "
                       f"integer loss ({_dt.torch_name(d)}) is undefined; pass floating point "
                       "tensors or reduction='sum'", x._data, t._data)
    loss = fn(x - t)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def mse_loss(input: Tensor, target: Tensor, size_average: Any = None, reduce: Any = None,
             reduction: str = "mean", weight: Optional[Tensor] = None) -> Tensor:
    """Mean squared error ``(input - target) ** 2``, reduced."""
    return _pointwise("mse_loss", input, target, lambda d: d.square(),
                      reduction_mode("mse_loss", reduction, size_average, reduce), weight)


def l1_loss(input: Tensor, target: Tensor, size_average: Any = None, reduce: Any = None,
            reduction: str = "mean", weight: Optional[Tensor] = None) -> Tensor:
    """Mean absolute error ``|input - target|``, reduced."""
    return _pointwise("l1_loss", input, target, lambda d: d.abs(),
                      reduction_mode("l1_loss", reduction, size_average, reduce), weight,
                      integer_ok=True)


def _huber(d: Tensor, delta: float, scale: float) -> Tensor:
    """``0.5 d^2 / scale`` inside ``|d| < delta``, linear ``delta / scale (|d| - delta / 2)``
    outside: huber with ``scale=1``, smooth L1 (beta = delta) with ``scale=delta``."""
    a = d.abs()
    return where(a < delta, d.square() * (0.5 / scale), (a - 0.5 * delta) * (delta / scale))


def smooth_l1_loss(input: Tensor, target: Tensor, size_average: Any = None, reduce: Any = None,
                   reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """Quadratic below ``beta``, L1 above; ``beta=0`` is L1."""
    if beta < 0:
        raise op_error(RuntimeError, "smooth_l1_loss", "smooth_l1_loss does not support negative "
                       "values for beta.")
    mode = reduction_mode("smooth_l1_loss", reduction, size_average, reduce)
    fn = (lambda d: d.abs()) if beta == 0 else (lambda d: _huber(d, beta, beta))
    return _pointwise("smooth_l1_loss", input, target, fn, mode)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,
               weight: Optional[Tensor] = None) -> Tensor:
    """Quadratic below ``delta``, ``delta``-scaled L1 above."""
    if delta <= 0:
        raise op_error(RuntimeError, "huber_loss", "huber_loss does not support non-positive "
                       "values for delta.")
    return _pointwise("huber_loss", input, target, lambda d: _huber(d, delta, 1.0),
                      reduction_mode("huber_loss", reduction), weight)


def kl_div(input: Tensor, target: Tensor, size_average: Any = None, reduce: Any = None,
           reduction: str = "mean", log_target: bool = False) -> Tensor:
    """Kullback-Leibler divergence of ``target`` from log-probabilities ``input``.

    ``reduction='batchmean'`` divides the sum by the batch size (the mathematically right mean).
    """
    op = "kl_div"
    mode = "batchmean" if reduction == "batchmean" and size_average is None and reduce is None \
        else reduction_mode(op, reduction, size_average, reduce)
    x, t = require_tensor(op, input), require_tensor(op, target, "target")
    if not (is_float(x._data.dtype) and is_float(t._data.dtype)):
        raise op_error(RuntimeError, op, "kl_div: Integral inputs not supported.", x._data,
                       t._data)
    x, t = _float_operands(op, x, t)
    if log_target:
        loss = t.exp() * (t - x)
    else:
        loss = xlogy(t, t) - t * x  # as torch: 0 at t == 0, nan for a negative target
    if mode == "batchmean":
        return loss.sum() / x.shape[0] if x.ndim else loss.sum()
    return _reduce(loss, mode)


def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool = True, full: bool = False,
                     size_average: Any = None, eps: float = 1e-8, reduce: Any = None,
                     reduction: str = "mean") -> Tensor:
    """Negative log likelihood of ``target ~ Poisson(input)`` (``exp(input)`` if log_input).

    ``full`` adds Stirling's approximation of ``log(target!)`` where ``target > 1``.
    """
    op = "poisson_nll_loss"
    mode = reduction_mode(op, reduction, size_average, reduce)
    x, t = _float_operands(op, require_tensor(op, input), require_tensor(op, target, "target"))
    loss = x.exp() - t * x if log_input else x - t * (x + eps).log()
    if full:
        big = t > 1
        ts = where(big, t, 1.0)
        stirling = ts * ts.log() - ts + (ts * (2 * math.pi)).log() * 0.5
        loss = loss + where(big, stirling, 0.0)
    return _reduce(loss, mode)


def gaussian_nll_loss(input: Tensor, target: Tensor, var: Any, full: bool = False,
                      eps: float = 1e-6, reduction: str = "mean") -> Tensor:
    """Negative log likelihood of ``target ~ N(input, var)``.

    ``var`` has the input's shape, or one dim fewer (homoscedastic over the last dim), or a
    last dim of 1; it is clamped to ``eps`` for stability without blocking its gradient.
    """
    op = "gaussian_nll_loss"
    mode = reduction_mode(op, reduction)
    x, t = require_tensor(op, input), require_tensor(op, target, "target")
    v = var if isinstance(var, Tensor) else Tensor._wrap(np.full(x.shape, var, x._data.dtype))
    if v.shape != x.shape:
        if x.shape[:-1] == v.shape:
            v = v.unsqueeze(-1)
        elif not (x.shape[:-1] == v.shape[:-1] and v.shape[-1:] == (1,)):
            raise op_error(ValueError, op, "var is of incorrect size")
    if (v._data < 0).any():
        raise op_error(ValueError, op, "var has negative entry/entries")
    x, t, v = _float_operands(op, x, t, v)
    v = v + (v.clamp(min=eps) - v).detach()  # clamp the value, keep the identity gradient
    loss = ((x - t).square() / v + v.log()) * 0.5
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, mode)


# ---------------------------------------------------------------- margin losses
def _targets_pick(target: Tensor, when_pos: Tensor, when_neg: Tensor) -> Tensor:
    """``when_pos`` where target == 1, ``when_neg`` where target == -1, 0 elsewhere (PyTorch)."""
    return where(target == 1, when_pos, 0.0) + where(target == -1, when_neg, 0.0)


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0,
                          size_average: Any = None, reduce: Any = None,
                          reduction: str = "mean") -> Tensor:
    """``1 - cos(x1, x2)`` for target 1, ``max(0, cos(x1, x2) - margin)`` for target -1."""
    op = "cosine_embedding_loss"
    mode = reduction_mode(op, reduction, size_average, reduce)
    x1, x2 = _float_operands(op, require_tensor(op, input1), require_tensor(op, input2, "input2"))
    if x1.ndim not in (1, 2) or x1.shape != x2.shape:
        raise op_error(RuntimeError, op, "expected 1D or 2D inputs of the same shape",
                       x1._data, x2._data)
    dim = x1.ndim - 1
    eps = 1e-12
    cos = (x1 * x2).sum(dim) / ((x1.square().sum(dim) + eps) * (x2.square().sum(dim) + eps)).sqrt()
    t = require_tensor(op, target, "target")
    if t.ndim > 1:
        raise op_error(RuntimeError, op, "0D or 1D target tensor expected, multi-target not "
                       "supported", t._data)
    broadcast_shapes(op, cos._data, t._data)
    return _reduce(_targets_pick(t, 1 - cos, (cos - margin).clamp(min=0)), mode)


def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0,
                        size_average: Any = None, reduce: Any = None,
                        reduction: str = "mean") -> Tensor:
    """``max(0, -target * (input1 - input2) + margin)``."""
    op = "margin_ranking_loss"
    mode = reduction_mode(op, reduction, size_average, reduce)
    x1, x2, t = _float_operands(op, require_tensor(op, input1), require_tensor(op, input2),
                                require_tensor(op, target, "target"))
    return _reduce((-t * (x1 - x2) + margin).clamp(min=0), mode)


def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0,
                         size_average: Any = None, reduce: Any = None,
                         reduction: str = "mean") -> Tensor:
    """``input`` where target is 1, ``max(0, margin - input)`` where target is -1."""
    op = "hinge_embedding_loss"
    mode = reduction_mode(op, reduction, size_average, reduce)
    x = require_tensor(op, input)
    t = require_tensor(op, target, "target")
    broadcast_shapes(op, x._data, t._data)
    loss = where(t != 1, (margin - x).clamp(min=0), 0.0) + where(t != -1, x, 0.0)
    return _reduce(loss, mode)


def soft_margin_loss(input: Tensor, target: Tensor, size_average: Any = None, reduce: Any = None,
                     reduction: str = "mean") -> Tensor:
    """``log(1 + exp(-target * input))``, computed stably."""
    op = "soft_margin_loss"
    mode = reduction_mode(op, reduction, size_average, reduce)
    x, t = _float_operands(op, require_tensor(op, input), require_tensor(op, target, "target"))
    return _reduce(_softplus(-t * x), mode)


def multilabel_soft_margin_loss(input: Tensor, target: Tensor, weight: Optional[Tensor] = None,
                                size_average: Any = None, reduce: Any = None,
                                reduction: str = "mean") -> Tensor:
    """Per-class binary logistic loss averaged over the classes (last dim)."""
    op = "multilabel_soft_margin_loss"
    mode = reduction_mode(op, reduction, size_average, reduce)
    x, t = _float_operands(op, require_tensor(op, input), require_tensor(op, target, "target"))
    # -(t log sigmoid(x) + (1 - t) log sigmoid(-x)) = t softplus(-x) + (1 - t) softplus(x)
    loss = t * _softplus(-x) + (1 - t) * _softplus(x)
    if weight is not None:
        loss = loss * weight
    n_classes = x.shape[-1] if x.ndim else 1
    return _reduce(loss.sum(x.ndim - 1 if x.ndim else None) / n_classes, mode)


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0,
                        p: float = 2, eps: float = 1e-6, swap: bool = False,
                        size_average: Any = None, reduce: Any = None,
                        reduction: str = "mean") -> Tensor:
    """``max(0, margin + d(anchor, positive) - d(anchor, negative))`` with p-norm distances.

    ``swap`` uses ``min(d(a, n), d(p, n))`` as the negative distance.
    """
    op = "triplet_margin_loss"
    return _triplet(op, anchor, positive, negative, lambda x, y: pairwise_distance(x, y, p, eps),
                    margin, swap, reduction_mode(op, reduction, size_average, reduce))


def triplet_margin_with_distance_loss(anchor: Tensor, positive: Tensor, negative: Tensor, *,
                                      distance_function: Any = None, margin: float = 1.0,
                                      swap: bool = False, reduction: str = "mean") -> Tensor:
    """:func:`triplet_margin_loss` with any ``distance_function(x, y)`` (default: the
    pairwise Euclidean distance); ``margin`` must be positive."""
    op = "triplet_margin_with_distance_loss"
    if not margin > 0:
        raise op_error(ValueError, op, f"margin must be greater than 0, got {margin}")
    return _triplet(op, anchor, positive, negative, distance_function or pairwise_distance,
                    margin, swap, reduction_mode(op, reduction))


def _triplet(op: str, anchor: Any, positive: Any, negative: Any, distance: Any, margin: float,
             swap: bool, mode: str) -> Tensor:
    a, pos, neg = (require_tensor(op, x) for x in (anchor, positive, negative))
    if not a.ndim == pos.ndim == neg.ndim:
        raise op_error(RuntimeError, op, "The anchor, positive, and negative tensors are "
                       f"expected to have the same number of dimensions, but got: anchor "
                       f"{a.ndim}D, positive {pos.ndim}D, and negative {neg.ndim}D inputs")
    broadcast_shapes(op, a._data, pos._data, neg._data)
    d_pos, d_neg = distance(a, pos), distance(a, neg)
    if swap:
        d_neg = minimum(d_neg, distance(pos, neg))
    return _reduce((d_pos - d_neg + margin).clamp(min=0), mode)


def _class_target(op: str, x: Tensor, target: Any) -> Tensor:
    """The class-index target of an ``(N, C)`` or ``(C,)`` input, checked, as ``(N, 1)``."""
    t = require_tensor(op, target, "target")
    if x.ndim not in (1, 2) or x.shape[-1] == 0:
        raise op_error(RuntimeError, op, "Expected non-empty vector or matrix with optional "
                       f"0-dim batch size, but got: {_size(x.shape)}", x._data)
    n = x.shape[0] if x.ndim == 2 else 1
    if is_float(t._data.dtype) or t.numel() != n or t.ndim > 1:
        raise op_error(RuntimeError, op, "target tensor should be 1-D with size equal to the "
                       "number of input samples (batch size). Expected target size "
                       f"[{n}], but got {list(t.shape)}. Input has shape {list(x.shape)}.",
                       x._data, t._data)
    return t.reshape(n, 1).to(_dt.int64)


def multi_margin_loss(input: Tensor, target: Tensor, p: int = 1, margin: float = 1.0,
                      weight: Optional[Tensor] = None, size_average: Any = None,
                      reduce: Any = None, reduction: str = "mean") -> Tensor:
    """Multi-class hinge loss: per sample, the mean over the classes ``j`` other than the
    target ``y`` of ``max(0, margin - x[y] + x[j])^p`` (``p`` 1 or 2), times ``weight[y]``."""
    op = "multi_margin_loss"
    mode = reduction_mode(op, reduction, size_average, reduce)
    if p not in (1, 2):
        raise op_error(ValueError, op, "only p == 1 and p == 2 supported")
    (x,) = _float_operands(op, require_tensor(op, input))
    t = _class_target(op, x, target)
    rows = x.reshape(t.shape[0], -1)
    n_classes = rows.shape[1]
    terms = (margin - rows.gather(1, t) + rows).clamp(min=0)
    if p == 2:
        terms = terms * terms
    if weight is not None:
        w = _class_weight(op, weight, x._data.dtype)
        if w.ndim != 1:
            raise op_error(ValueError, op, "weight must be one-dimensional", w._data)
        terms = terms * w[t]
    others = _arange_like(n_classes, t) != t
    loss = where(others, terms, 0.0).sum(1) / n_classes
    return _reduce(loss if x.ndim == 2 else loss.reshape(()), mode)


def multilabel_margin_loss(input: Tensor, target: Tensor, size_average: Any = None,
                           reduce: Any = None, reduction: str = "mean") -> Tensor:
    """Multi-label hinge loss: ``target`` holds each sample's class indices, ended by the first
    -1; the loss is the sum over its targets ``j`` and non-targets ``k`` of
    ``max(0, 1 - (x[j] - x[k]))``, over the number of classes."""
    op = "multilabel_margin_loss"
    mode = reduction_mode(op, reduction, size_average, reduce)
    (x,) = _float_operands(op, require_tensor(op, input))
    t = require_tensor(op, target, "target")
    if x.ndim not in (1, 2) or tuple(t.shape) != tuple(x.shape) or is_float(t._data.dtype):
        raise op_error(RuntimeError, op, f"inconsistent target size: {_size(t.shape)} for input "
                       f"of size: {_size(x.shape)}", x._data, t._data)
    n_classes = x.shape[-1]
    rows, t = x.reshape(-1, n_classes), t.reshape(-1, n_classes).to(_dt.int64)
    listed = (t < 0).to(_dt.int64).cumsum(1) == 0  # the targets before the first -1
    index = where(listed, t, 0)
    is_target = ((_arange_like(n_classes, t)[None] == index[:, :, None]) & listed[:, :, None]
                 ).any(1)
    gaps = (1 - (rows.gather(1, index)[:, :, None] - rows[:, None, :])).clamp(min=0)
    pairs = listed[:, :, None] & ~is_target[:, None, :]
    loss = where(pairs, gaps, 0.0).sum((1, 2)) / n_classes
    return _reduce(loss if x.ndim == 2 else loss.reshape(()), mode)


def _arange_like(n: int, like: Tensor) -> Tensor:
    return Tensor._wrap(np.arange(n, dtype=np.int64), like._device)


# ---------------------------------------------------------------- distances
def _vector_norm(x: Tensor, p: float, dim: int, keepdim: bool = False) -> Tensor:
    if p == 2:
        return x.square().sum(dim, keepdim).sqrt()
    if p == 1:
        return x.abs().sum(dim, keepdim)
    if p == math.inf:
        return x.abs().amax(dim, keepdim)
    if p == -math.inf:
        return x.abs().amin(dim, keepdim)
    if p == 0:
        return (x != 0).to(x.dtype).sum(dim, keepdim)
    return (x.abs() ** p).sum(dim, keepdim) ** (1.0 / p)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6,
                      keepdim: bool = False) -> Tensor:
    """p-norm of ``x1 - x2 + eps`` over the last dim (inputs broadcast)."""
    op = "pairwise_distance"
    a, b = _float_operands(op, require_tensor(op, x1), require_tensor(op, x2, "x2"))
    dim = max(a.ndim, b.ndim) - 1
    if dim < 0:
        return _vector_norm((a - b + eps).reshape(1), p, 0, keepdim).reshape(())
    return _vector_norm(a - b + eps, p, dim, keepdim)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """Cosine of the angle between ``x1`` and ``x2`` along ``dim`` (norms clamped to ``eps``)."""
    op = "cosine_similarity"
    a, b = _float_operands(op, require_tensor(op, x1), require_tensor(op, x2, "x2"))
    n1 = a.square().sum(dim, keepdim=True).sqrt().clamp(min=eps)
    n2 = b.square().sum(dim, keepdim=True).sqrt().clamp(min=eps)
    return ((a / n1) * (b / n2)).sum(dim)


def pdist(input: Tensor, p: float = 2) -> Tensor:
    """p-norm distances between the rows of ``input`` ``(N, M)``: the ``N(N-1)/2`` pairs i < j."""
    x = require_tensor("pdist", input)
    if x.ndim != 2:
        raise op_error(RuntimeError, "pdist", f"pdist only supports 2D tensors, got: {x.ndim}D",
                       x._data)
    i, j = np.triu_indices(x.shape[0], 1)
    return _vector_norm(x[i] - x[j], p, 1)


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0,
          compute_mode: str = "use_mm_for_euclid_dist_if_necessary") -> Tensor:
    """p-norm distances between each row of ``x1`` (*, P, M) and each of ``x2`` (*, R, M), as
    (*, P, R), batch dims broadcast. Euclidean distances of many rows (more than 25 on either
    side, or ``compute_mode="use_mm_for_euclid_dist"``) come from one matrix product, as in
    PyTorch; a zero distance has a zero gradient."""
    op = "cdist"
    a, b = require_tensor(op, x1, "x1"), require_tensor(op, x2, "x2")
    d = promote(op, a, b)
    a, b = (cast(t, d if is_float(d) else _dt.get_default_dtype().np) for t in (a, b))
    if a.ndim < 2 or b.ndim < 2 or a.shape[-1] != b.shape[-1]:
        raise op_error(RuntimeError, op, "cdist only supports at least 2D tensors with the same "
                       f"number of columns, X1 got: {a.ndim}D {list(a.shape)} and X2 got: "
                       f"{b.ndim}D {list(b.shape)}", a._data, b._data)
    if p < 0:
        raise op_error(RuntimeError, op, f"cdist only supports non-negative p values, got {p}")
    modes = ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist",
             "donot_use_mm_for_euclid_dist")
    if compute_mode not in modes:
        raise op_error(ValueError, op, f"{compute_mode} is not a valid value for compute_mode")
    many = a.shape[-2] > 25 or b.shape[-2] > 25
    if p == 2 and (compute_mode == modes[1] or compute_mode == modes[0] and many):
        squares = ((a * a).sum(-1, keepdim=True) + (b * b).sum(-1).unsqueeze(-2)
                   - 2 * (a @ b.mT))
        return squares.clamp(min=1e-30).sqrt()
    gaps = a.unsqueeze(-2) - b.unsqueeze(-3)
    if p == 2:
        squares = gaps.square().sum(-1)
        positive = squares > 0
        return where(positive, where(positive, squares, 1).sqrt(), 0)
    return _vector_norm(gaps, p, -1)


@tensor_method
def dist(input: Tensor, other: Tensor, p: float = 2) -> Tensor:
    """The p-norm of ``input - other`` (broadcast), over all elements."""
    a, b = require_tensor("dist", input), require_tensor("dist", other, "other")
    return _vector_norm((a - b).reshape(-1), p, 0)
