"""Normalization (layer, rms, batch, group, instance, local response) and dropout.

Layer, batch, group and instance norm share one primitive rule: normalize over ``dims`` and apply
a broadcast affine ``weight``/``bias``; it is registered under PyTorch's name for each."""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from .._errors import op_error
from ..autograd.grad_mode import STATE, no_grad
from ..random import _gen
from ..tensor import Tensor
from . import _kernels
from ._common import LOWP, broadcast_shapes, require_tensor, wrap_dim
from ._opdef import OpDef, apply, defop
from .activation import check_float
from .elementwise import _quiet, mul, to_dtype
from .movement import cat, narrow

__all__ = [
    "alpha_dropout",
    "alpha_dropout_",
    "batch_norm",
    "dropout",
    "dropout_",
    "feature_alpha_dropout",
    "feature_alpha_dropout_",
    "feature_dropout",
    "feature_dropout_",
    "group_norm",
    "instance_norm",
    "layer_norm",
    "rms_norm",
]

_F32 = np.dtype(np.float32)


def _acc(d: np.dtype) -> np.dtype:
    return _F32 if d in LOWP else d


# ---------------------------------------------------------------- the normalize-and-scale rule
def _norm_forward(xp: Any, x: Any, w: Any, b: Any, dims: tuple, eps: float) -> Any:
    acc = _acc(x.dtype)
    xa = x.astype(acc, copy=False)
    centered = xa - xa.mean(axis=dims, keepdims=True)
    var = (centered * centered).mean(axis=dims, keepdims=True)
    return centered / xp.sqrt(var + eps) * w.astype(acc, copy=False) + b.astype(acc, copy=False)


def _norm_meta(name: str):
    def meta(x: Any, w: Any, b: Any, *stats: Any, dims: tuple, eps: float) -> tuple:
        if broadcast_shapes(name, x, w, b) != x.shape:
            raise op_error(RuntimeError, name, "weight and bias must broadcast to the input",
                           x, w, b)
        return x.shape, x.dtype

    return meta


def _norm_vjp(ctx: Any, g: Tensor) -> tuple:
    x, w = ctx.inputs[:2]
    dims, eps = ctx.attrs["dims"], ctx.attrs["eps"]
    acc = _acc(x._data.dtype)
    x, w, g = to_dtype(x, acc), to_dtype(w, acc), to_dtype(g, acc)
    centered = x - x.mean(dims, keepdim=True)
    rstd = ((centered * centered).mean(dims, keepdim=True) + eps).rsqrt()
    xhat = centered * rstd
    need = ctx.needs_input_grad
    gx = None
    if need[0]:
        gxhat = g * w
        gx = rstd * (gxhat - gxhat.mean(dims, keepdim=True)
                     - xhat * (gxhat * xhat).mean(dims, keepdim=True))
    return gx, (g * xhat if need[1] else None), (g if need[2] else None)


def _fused_vjp(backward: OpDef):
    """The vjp of a normalization whose gradients one primitive computes (``part='input'``,
    ``'affine'``: weight and bias gradients stacked, or ``'all'``: both, flat, when they share
    a dtype); composed under ``create_graph``, so it can be differentiated again. Statistics
    the forward was given go to the backward too."""

    def vjp(ctx: Any, g: Tensor) -> tuple:
        if STATE.enabled:
            return _norm_vjp(ctx, g)
        x, w, b, *stats = ctx.inputs
        need, attrs = ctx.needs_input_grad, ctx.attrs
        affine = None
        if need[0] and (need[1] or need[2]) and x._data.dtype == _acc(x._data.dtype):
            both = apply(backward, x, w, g, *stats, part="all", **attrs)  # one pass for all
            gx, affine = both[:x.numel()].view(x.shape), both[x.numel():].view(2, -1)
        else:
            gx = apply(backward, x, w, g, *stats, part="input", **attrs) if need[0] else None
            if need[1] or need[2]:
                affine = apply(backward, x, w, g, *stats, part="affine", **attrs)
        gw = affine[0].reshape(w.shape) if need[1] else None
        gb = affine[1].reshape(b.shape) if need[2] else None
        return gx, gw, gb

    return vjp


def _norm_backward_composed(xp: Any, x: Any, w: Any, g: Any, part: str, dims: tuple,
                            eps: float, param_sum: tuple) -> Any:
    """The fused backward primitives' reference (other dtypes, backends and layouts): the input
    gradient, the affine gradients summed over ``param_sum`` and stacked, or both (flat)."""
    acc = _acc(x.dtype)
    xa, w, g = x.astype(acc), w.astype(acc), g.astype(acc)
    centered = xa - xa.mean(axis=dims, keepdims=True)
    rstd = 1 / xp.sqrt((centered * centered).mean(axis=dims, keepdims=True) + eps)
    xhat = centered * rstd
    out = []
    if part != "affine":
        gxhat = g * w
        out.append(rstd * (gxhat - gxhat.mean(axis=dims, keepdims=True)
                           - xhat * (gxhat * xhat).mean(axis=dims, keepdims=True)))
    if part != "input":
        out.append(xp.stack([(g * xhat).sum(axis=param_sum), g.sum(axis=param_sum)]))
    return out[0] if len(out) == 1 else xp.concatenate([a.ravel() for a in out])


def _backward_meta(param_shape: Callable):
    def meta(x: Any, w: Any, g: Any, *stats: Any, part: str, dims: tuple, eps: float) -> tuple:
        if part == "input":
            return x.shape, x.dtype
        if part == "all":
            return (math.prod(x.shape) + 2 * math.prod(param_shape(x.shape, dims)),), x.dtype
        return (2,) + param_shape(x.shape, dims), _acc(x.dtype)

    return meta


def _fused_norm(name: str, forward: Callable, backward: Callable, param_shape: Callable,
                per: str) -> tuple:
    """Register ``native_<name>`` and its fused backward ``native_<name>_backward``."""
    back = defop(f"native_{name}_backward", _quiet(backward), _backward_meta(param_shape),
                 kind="opaque",
                 doc=f"{name}'s input gradient (``part='input'``), its weight and bias gradients "
                     f"stacked (``part='affine'``) or all three flat (``part='all'``), "
                     f"statistics recomputed per {per}. Not differentiable.")
    op = defop(f"native_{name}", _quiet(forward), _norm_meta(name), _fused_vjp(back),
               kind="opaque", amp="fp32")
    return op, back


# ---------------------------------------------------------------- batch norm: channel kernels
def _channels(xp: Any, x: Any, dims: tuple, *params: Any) -> Any:
    """``x`` as (N, C, S) in its accumulation dtype when the channel kernels apply (``dims`` are
    every dim but 1, parameters per channel or scalars); else None."""
    if not x.size or x.ndim < 2 or dims != (0,) + tuple(range(2, x.ndim)):
        return None
    xa = xp.ascontiguousarray(x.astype(_acc(x.dtype), copy=False))
    ok = all(p.size in (1, x.shape[1]) for p in params)
    return xa.reshape(x.shape[0], x.shape[1], -1) if ok and _kernels.usable(xp, xa, *params) \
        else None


# Training passes the statistics batch_norm_stats computed (for the running averages) to
# native_batch_norm and its backward, which would otherwise compute them again, each.
def _batch_norm_forward(xp: Any, x: Any, w: Any, b: Any, *stats: Any, dims: tuple,
                        eps: float) -> Any:
    x3 = _channels(xp, x, dims, w, b)
    if x3 is None:
        return _norm_forward(xp, x, w, b, dims, eps)
    return _kernels.batch_norm(x3, w, b, eps, *stats).reshape(x.shape)


def _batch_norm_backward_forward(xp: Any, x: Any, w: Any, g: Any, *stats: Any, part: str,
                                 dims: tuple, eps: float) -> Any:
    g = xp.broadcast_to(g, x.shape)
    x3 = _channels(xp, x, dims, w)
    if x3 is None or g.dtype not in (x.dtype, x3.dtype):
        per_channel = (0,) + tuple(range(2, x.ndim))  # instance norm normalizes over fewer
        return _norm_backward_composed(xp, x, w, g, part, dims, eps, per_channel)
    g3 = xp.ascontiguousarray(g.astype(x3.dtype, copy=False)).reshape(x3.shape)
    out = _kernels.batch_norm_backward(x3, w, g3, eps, part, *stats)
    return out.reshape(x.shape) if part == "input" else out


def _batch_stats_forward(xp: Any, x: Any, dims: tuple) -> Any:
    x3 = _channels(xp, x, dims)
    if x3 is None:
        return xp.stack([x.mean(axis=dims), x.var(axis=dims)])
    return _kernels.batch_stats(x3)


def _batch_stats_meta(x: Any, dims: tuple) -> tuple:
    # float64: what the channel kernels compute and take, so that given statistics normalize
    # exactly as ones computed in place
    return (2,) + tuple(n for d, n in enumerate(x.shape) if d not in dims), np.dtype(np.float64)


def _channel_shape(shape: tuple, dims: tuple) -> tuple:
    return (shape[1],)


BATCH_NORM, BATCH_NORM_BACKWARD = _fused_norm("batch_norm", _batch_norm_forward,
                                              _batch_norm_backward_forward, _channel_shape,
                                              "channel")
GROUP_NORM = defop("native_group_norm", _quiet(_norm_forward), _norm_meta("group_norm"),
                   _norm_vjp, kind="opaque", amp="fp32")
BATCH_STATS = defop("batch_norm_stats", _batch_stats_forward, _batch_stats_meta, kind="opaque",
                    doc="Mean and biased variance over ``dims``, stacked. Not differentiable.")


# ---------------------------------------------------------------- layer norm: row kernels
def _layer_norm_rows(xp: Any, x: Any, dims: tuple, *params: Any) -> Any:
    """``x`` (in its accumulation dtype) when the row kernels apply: the normalized dims are the
    trailing ones and every parameter is per normalized element or a scalar; else None."""
    if not x.size or dims[0] + len(dims) != x.ndim:
        return None
    xa = x.astype(_acc(x.dtype), copy=False)
    n = math.prod(x.shape[dims[0]:])
    ok = all(p.size in (1, n) and p.ndim <= len(dims) for p in params)
    return xa if ok and _kernels.usable(xp, xa, *params) else None


def _layer_norm_forward(xp: Any, x: Any, w: Any, b: Any, dims: tuple, eps: float) -> Any:
    xa = _layer_norm_rows(xp, x, dims, w, b)
    if xa is None:
        return _norm_forward(xp, x, w, b, dims, eps)
    n = math.prod(x.shape[dims[0]:])
    return _kernels.layer_norm(xa.reshape(-1, n), w.reshape(-1), b.reshape(-1),
                               eps).reshape(x.shape)


def _layer_norm_backward_forward(xp: Any, x: Any, w: Any, g: Any, *, part: str, dims: tuple,
                                 eps: float) -> Any:
    g = xp.broadcast_to(g, x.shape)
    xa = _layer_norm_rows(xp, x, dims, w)
    if xa is None or g.dtype not in (x.dtype, xa.dtype):
        return _norm_backward_composed(xp, x, w, g, part, dims, eps, tuple(range(dims[0])))
    n = math.prod(x.shape[dims[0]:])
    out = _kernels.layer_norm_backward(xa.reshape(-1, n), w.reshape(-1),
                                       g.astype(xa.dtype, copy=False).reshape(-1, n), eps, part)
    if part == "input":
        return out.reshape(x.shape)
    return out.reshape((2,) + x.shape[dims[0]:]) if part == "affine" else out


def _normalized_shape(shape: tuple, dims: tuple) -> tuple:
    return tuple(shape[dims[0]:])


LAYER_NORM, LAYER_NORM_BACKWARD = _fused_norm("layer_norm", _layer_norm_forward,
                                              _layer_norm_backward_forward, _normalized_shape,
                                              "row")


def _normalize(op: OpDef, x: Tensor, weight: Tensor | None, bias: Tensor | None,
               shape: tuple, dims: tuple, eps: float, *stats: Tensor) -> Tensor:
    """``op`` over ``dims`` of ``x`` with ``weight``/``bias`` viewed as ``shape`` (1 if None)
    and the statistics of :func:`_batch_stats`, when given."""
    acc = _acc(x._data.dtype)
    w = np.ones((), acc) if weight is None else weight.reshape(shape)
    b = np.zeros((), acc) if bias is None else bias.reshape(shape)
    return apply(op, x, w, b, *stats, dims=dims, eps=float(eps))


def _apply_stats(x: Tensor, mean: Tensor, var: Tensor, weight: Tensor | None,
                 bias: Tensor | None, shape: tuple, eps: float) -> Tensor:
    """Normalize with given statistics (evaluation mode), in the wider of the two dtypes."""
    scale = (var.reshape(shape) + eps).rsqrt()
    if weight is not None:
        scale = scale * weight.reshape(shape)
    out = (x - mean.reshape(shape)) * scale
    if bias is not None:
        out = out + bias.reshape(shape)
    return to_dtype(out, x._data.dtype)


def _update_running(running_mean: Tensor | None, running_var: Tensor | None, stats: Tensor,
                    n: int, momentum: float | Tensor) -> None:
    """``running = (1 - momentum) * running + momentum * stat``, in place, for the mean and
    the unbiased variance of ``n`` values from :func:`_batch_stats` (``momentum`` a number or
    a 0-d tensor)."""
    with no_grad():
        for running, stat in ((running_mean, stats[0]), (running_var, stats[1])):
            if running is None:
                continue
            if running is running_var:
                stat = stat * (n / (n - 1) if n > 1 else math.inf)
            running.mul_(1 - momentum).add_(mul(to_dtype(stat, running._data.dtype), momentum))


def _batch_stats(x: Tensor, dims: tuple) -> Tensor:
    """Mean and biased variance over ``dims``, stacked (no gradient)."""
    with no_grad():
        return apply(BATCH_STATS, to_dtype(x, _acc(x._data.dtype)), dims=dims)


def _check_same_dtype(name: str, x: Tensor, **params: Tensor | None) -> None:
    """PyTorch's CPU kernels take parameters of the input's dtype (float32 for a half input)."""
    d = x._data.dtype
    for key, t in params.items():
        if t is not None and t._data.dtype != d and not (d in LOWP and t._data.dtype == _F32):
            raise op_error(RuntimeError, name, f"mixed dtype: {key} ({t.dtype.name}) must have "
                           f"the input's dtype ({x.dtype.name})", x._data, t._data)


def _check_channels(name: str, x: Tensor, **vectors: Tensor | None) -> int:
    channels = x.shape[wrap_dim(name, 1, x.ndim)]
    for key, t in vectors.items():
        if t is not None and t.numel() != channels:
            raise op_error(RuntimeError, name, f"{key} should contain {channels} elements not "
                           f"{t.numel()}", x._data, t._data)
    return channels


# ---------------------------------------------------------------- layer / rms norm
def _trailing_dims(name: str, x: Tensor, normalized_shape: Any, **affine: Tensor | None
                   ) -> tuple:
    """The dims ``normalized_shape`` covers, after PyTorch's shape checks."""
    shape = ((int(normalized_shape),) if isinstance(normalized_shape, (int, np.integer))
             else tuple(int(n) for n in normalized_shape))
    k = len(shape)
    if k == 0 or x.ndim < k or tuple(x.shape[x.ndim - k:]) != shape:
        raise op_error(RuntimeError, name, f"Given normalized_shape={list(shape)}, expected input "
                       f"with shape [*, {', '.join(map(str, shape))}], but got input of size"
                       f"{list(x.shape)}", x._data)
    for key, t in affine.items():
        if t is not None and tuple(t.shape) != shape:
            raise op_error(RuntimeError, name, f"Expected {key} to be of same shape as "
                           f"normalized_shape, but got {key} of shape {list(t.shape)} and "
                           f"normalized_shape = {list(shape)}", x._data, t._data)
    check_float(name, x)
    return tuple(range(x.ndim - k, x.ndim))


def layer_norm(input: Tensor, normalized_shape: Any, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5,
               cudnn_enable: bool = True) -> Tensor:
    """Normalize over the trailing ``normalized_shape`` dims, then scale by ``weight`` and shift
    by ``bias`` (both of shape ``normalized_shape``, optional)."""
    x = require_tensor("layer_norm", input)
    _check_same_dtype("layer_norm", x, weight=weight, bias=bias)
    dims = _trailing_dims("layer_norm", x, normalized_shape, weight=weight, bias=bias)
    return _normalize(LAYER_NORM, x, weight, bias, tuple(x.shape[dims[0]:]), dims, eps)


def rms_norm(input: Tensor, normalized_shape: Any, weight: Tensor | None = None,
             eps: float | None = None) -> Tensor:
    """``x / sqrt(mean(x**2) + eps) * weight`` over the trailing ``normalized_shape`` dims;
    ``eps`` defaults to the machine epsilon of the (float32 for half types) compute dtype."""
    x = require_tensor("rms_norm", input)
    dims = _trailing_dims("rms_norm", x, normalized_shape, weight=weight)
    acc = _acc(x._data.dtype)
    if eps is None:
        eps = float(np.finfo(acc).eps)
    xa = to_dtype(x, acc)
    out = to_dtype(xa * (xa.square().mean(dims, keepdim=True) + eps).rsqrt(), x._data.dtype)
    return out if weight is None else out * weight


# ---------------------------------------------------------------- batch / instance / group norm
def _channel_input(name: str, input: Any, **params: Any) -> tuple:
    """The checked ``(N, C, *)`` input of a per-channel norm and the shape ``(C, 1, …)`` its
    per-channel parameters broadcast in."""
    x = require_tensor(name, input)
    channels = _check_channels(name, x, **params)
    check_float(name, x)
    _check_same_dtype(name, x, **params)
    return x, (channels,) + (1,) * (x.ndim - 2)


def batch_norm(input: Tensor, weight: Tensor | None, bias: Tensor | None,
               running_mean: Tensor | None, running_var: Tensor | None, training: bool,
               momentum: float, eps: float, cudnn_enabled: bool = True) -> Tensor:
    """Normalize each channel (dim 1) of an ``(N, C, *)`` input.

    Training uses the batch statistics and, when given, updates ``running_mean`` and
    ``running_var`` in place with ``momentum`` (the variance unbiased); evaluation uses them.
    """
    x, shape = _channel_input("batch_norm", input, weight=weight, bias=bias,
                              running_mean=running_mean, running_var=running_var)
    if not training:
        for key, t in (("running_mean", running_mean), ("running_var", running_var)):
            if t is None:
                raise op_error(RuntimeError, "batch_norm", f"{key} must be defined in "
                               "evaluation mode", x._data)
        return _apply_stats(x, running_mean, running_var, weight, bias, shape, eps)
    dims = (0,) + tuple(range(2, x.ndim))
    stats = _batch_stats(x, dims)
    _update_running(running_mean, running_var, stats, math.prod(x.shape[d] for d in dims),
                    momentum)
    return _normalize(BATCH_NORM, x, weight, bias, shape, dims, eps, stats)


def instance_norm(input: Tensor, weight: Tensor | None, bias: Tensor | None,
                  running_mean: Tensor | None, running_var: Tensor | None,
                  use_input_stats: bool, momentum: float, eps: float,
                  cudnn_enabled: bool = True) -> Tensor:
    """Normalize each channel of each sample of an ``(N, C, *)`` input over its spatial dims.

    With ``use_input_stats`` the running statistics (when given) move toward the batch average
    of the per-instance statistics; without it they are used instead.
    """
    x, shape = _channel_input("instance_norm", input, weight=weight, bias=bias,
                              running_mean=running_mean, running_var=running_var)
    if not use_input_stats:
        if running_mean is None or running_var is None:
            raise op_error(RuntimeError, "instance_norm", "Expected running_mean and running_var "
                           "to be defined when use_input_stats is false", x._data)
        return _apply_stats(x, running_mean, running_var, weight, bias, shape, eps)
    dims = tuple(range(2, x.ndim))
    if running_mean is not None or running_var is not None:
        n = math.prod(x.shape[2:])
        _update_running(running_mean, running_var, _batch_stats(x, dims).mean(1), n, momentum)
    return _normalize(BATCH_NORM, x, weight, bias, shape, dims, eps)


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5,
               cudnn_enabled: bool = True) -> Tensor:
    """Normalize each of ``num_groups`` groups of channels of an ``(N, C, *)`` input, then apply
    the per-channel ``weight`` and ``bias``."""
    x = require_tensor("group_norm", input)
    if x.ndim < 2:
        raise op_error(RuntimeError, "group_norm", "Expected at least 2 dimensions for input "
                       f"tensor but received {x.ndim}", x._data)
    n, channels = x.shape[:2]
    if num_groups <= 0 or channels % num_groups:
        raise op_error(RuntimeError, "group_norm", "Expected number of channels in input to be "
                       f"divisible by num_groups, but got input of shape {list(x.shape)} and "
                       f"num_groups={num_groups}", x._data)
    for key, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != (channels,):
            raise op_error(RuntimeError, "group_norm", f"Expected {key} to be a vector of size "
                           "equal to the number of channels in input, but got "
                           f"{key} of shape {list(t.shape)} and input of shape {list(x.shape)}",
                           x._data, t._data)
    _check_same_dtype("group_norm", x, weight=weight, bias=bias)
    check_float("group_norm", x)
    per_group = channels // num_groups
    grouped = x.reshape(n, num_groups, per_group, math.prod(x.shape[2:]))
    out = _normalize(GROUP_NORM, grouped, weight, bias, (num_groups, per_group, 1), (2, 3), eps)
    return out.reshape(x.shape)


def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75,
                        k: float = 1.0) -> Tensor:
    """Divide each element by ``(k + alpha * mean of squares over size neighbouring channels)
    ** beta`` (the window is zero padded, centred on the channel)."""
    x = require_tensor("local_response_norm", input)
    if x.ndim < 3:
        raise op_error(ValueError, "local_response_norm", "Expected 3D or higher dimensionality "
                       f"input (got {x.ndim} dimensions)", x._data)
    if x.numel() == 0:
        return x
    channels = x.shape[1]
    pad = [(size // 2), (size - 1) // 2]
    pieces = [x.new_zeros((x.shape[0], p) + tuple(x.shape[2:])) for p in pad]
    padded = cat([pieces[0], x * x, pieces[1]], 1)
    window = narrow(padded, 1, 0, channels)
    for offset in range(1, size):
        window = window + narrow(padded, 1, offset, channels)
    return x / (window * (alpha / size) + k) ** beta


# ---------------------------------------------------------------- dropout
_SELU_NEG = 1.7580993408473766  # -selu_scale * selu_alpha: where alpha dropout sends a dropped unit


def _dropout_mask_forward(xp: Any, *, shape: tuple, p: float, dtype: np.dtype, scaled: bool,
                          generator: Any, draw: np.dtype) -> Any:
    keep = (_gen(generator).random(shape, dtype=draw) >= p).astype(_acc(dtype))
    return keep / keep.dtype.type(1 - p) if scaled and p < 1 else keep


# The draw is an op of its own, with the generator as an attribute, so that a traced program
# replays it with fresh numbers from the same stream.
DROPOUT_MASK = defop(
    "_dropout_mask", _dropout_mask_forward,
    lambda *, shape, p, dtype, scaled, generator, draw: (tuple(shape), np.dtype(dtype)),
    doc="1 where a uniform draw of ``draw`` dtype is ``>= p``, else 0 (divided by ``1 - p`` "
        "when ``scaled``), computed in float32 for float16/bfloat16.")


def dropout_mask(shape: tuple, p: float, dtype: np.dtype, scaled: bool = True,
                 generator: Any = None, draw: Any = np.float64) -> Tensor:
    """A ``shape`` tensor of ``dtype``: kept units 1 (``1 / (1 - p)`` when ``scaled``), dropped
    units 0, each dropped with probability ``p``."""
    return apply(DROPOUT_MASK, shape=tuple(shape), p=float(p), dtype=np.dtype(dtype),
                 scaled=scaled, generator=generator, draw=np.dtype(draw))


def dropout_impl(name: str, input: Tensor, p: float, train: bool, inplace: bool = False,
                 feature: bool = False, alpha: bool = False) -> Tensor:
    """Zero elements (or whole channels with ``feature``) with probability ``p`` and rescale.

    With ``alpha`` the dropped units take SELU's negative saturation value and an affine map
    keeps the mean and variance. ``p == 0`` or ``not train`` returns ``input`` itself.
    """
    x = require_tensor(name, input)
    if not 0 <= p <= 1:
        raise op_error(RuntimeError, name, "dropout probability has to be between 0 and 1, but "
                       f"got {p}")
    if feature and x.ndim < 2:
        raise op_error(RuntimeError, name, "Feature dropout requires at least 2 dimensions in the "
                       "input", x._data)
    if p == 0 or not train or x.numel() == 0:
        return x
    check_float(name, x)
    if p == 1:
        return x.mul_(0) if inplace else mul(x, 0)
    dt = x._data.dtype
    shape = tuple(x.shape[:2]) + (1,) * (x.ndim - 2) if feature else tuple(x.shape)
    if not alpha:
        noise = dropout_mask(shape, p, dt)
        return x.mul_(noise) if inplace else mul(x, noise)
    keep = dropout_mask(shape, p, _acc(dt), scaled=False)
    a = 1 / math.sqrt((_SELU_NEG * _SELU_NEG * p + 1) * (1 - p))
    shift = to_dtype((keep - 1) * (_SELU_NEG * a) + _SELU_NEG * a * p, dt)
    noise = to_dtype(keep * a, dt)
    return x.mul_(noise).add_(shift) if inplace else mul(x, noise) + shift


def dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``."""
    return dropout_impl("dropout", input, p, train)


def dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    """In-place :func:`dropout`."""
    return dropout_impl("dropout_", input, p, train, inplace=True)


def feature_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """Zero whole channels (dim 1 of ``(N, C, *)``) with probability ``p``."""
    return dropout_impl("feature_dropout", input, p, train, feature=True)


def feature_dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    """In-place :func:`feature_dropout`."""
    return dropout_impl("feature_dropout_", input, p, train, inplace=True, feature=True)


def alpha_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """Dropout that keeps a SELU network's mean and variance."""
    return dropout_impl("alpha_dropout", input, p, train, alpha=True)


def alpha_dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    """In-place :func:`alpha_dropout`."""
    return dropout_impl("alpha_dropout_", input, p, train, inplace=True, alpha=True)


def feature_alpha_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """:func:`alpha_dropout` of whole channels."""
    return dropout_impl("feature_alpha_dropout", input, p, train, feature=True, alpha=True)


def feature_alpha_dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    """In-place :func:`feature_alpha_dropout`."""
    return dropout_impl("feature_alpha_dropout_", input, p, train, inplace=True, feature=True,
                        alpha=True)

