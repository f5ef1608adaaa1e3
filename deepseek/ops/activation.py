"""Activation primitives (the relu family, smooth activations, shrinkage, prelu) and the softmax
family. Elementwise ops carry an ``expr`` whose ``{0}``/``{1}`` are the operands and whose named
fields (``{alpha}``) are the op's attributes."""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from .. import dtypes as _dt
from .._errors import op_error
from ..random import Generator, _gen
from ..tensor import Tensor
from . import _kernels
from ._common import LOWP, broadcast_shapes, in_float32, is_float, require_tensor, wrap_dim
from ._opdef import OpDef, apply, apply_inplace, defop, tensor_method
from ._special import erf as _erf
from .elementwise import _quiet, _sigmoid_np, mul, to_dtype, where

_where = _kernels.where  # np.where without its per-element branch

__all__ = [
    "celu",
    "celu_",
    "hardshrink",
    "log_softmax",
    "prelu",
    "relu",
    "relu_",
    "rrelu",
    "rrelu_",
    "selu",
    "selu_",
    "softmax",
    "threshold",
    "threshold_",
]

_F32 = np.dtype(np.float32)
_SQRT1_2 = 1 / math.sqrt(2.0)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)
_GELU_K = math.sqrt(2 / math.pi)
_GELU_C = 0.044715
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
_INT_OK = {"relu", "hardtanh", "threshold"}  # the activations PyTorch also runs on integers


def check_float(op: str, x: Tensor) -> None:
    """PyTorch's error for a floating-point-only kernel given an integer or bool tensor."""
    d = x._data.dtype
    if not is_float(d):
        raise op_error(NotImplementedError, op, f"\"{op}\" not implemented for "
                       f"'{_dt.torch_name(d)}'", x._data)


def run_activation(op: OpDef, input: Any, inplace: bool = False, name: str | None = None,
                   **attrs: Any) -> Tensor:
    """Apply the elementwise activation ``op`` to ``input`` (in place when ``inplace``)."""
    name = name or op.name
    x = require_tensor(name, input)
    if op.name not in _INT_OK:
        check_float(name, x)
    return apply_inplace(op, x, **attrs) if inplace else apply(op, x, **attrs)


def _activation(name: str, forward: Callable, expr: str, vjp: Callable, *,
                save_output: bool = False) -> OpDef:
    return defop(name, _quiet(in_float32(forward)), lambda x, **attrs: (x.shape, x.dtype), vjp,
                 kind="elementwise", expr=expr, save_inputs=not save_output,
                 save_output=save_output)


# ---------------------------------------------------------------- piecewise-linear
def _relu_vjp(ctx: Any, g: Tensor) -> tuple:
    return (where(ctx.out > 0, g, 0.0),)


def _hardtanh_vjp(ctx: Any, g: Tensor) -> tuple:
    (x,) = ctx.inputs
    inside = (x > ctx.attrs["min_val"]) & (x < ctx.attrs["max_val"])
    return (where(inside, g, 0.0),)


def _leaky_relu_vjp(ctx: Any, g: Tensor) -> tuple:
    (x,) = ctx.inputs
    return (where(x > 0, g, g * ctx.attrs["negative_slope"]),)


def _threshold_vjp(ctx: Any, g: Tensor) -> tuple:
    (x,) = ctx.inputs
    return (where(x > ctx.attrs["threshold"], g, 0.0),)


def _shrink_vjp(ctx: Any, g: Tensor) -> tuple:
    (x,) = ctx.inputs
    lambd = ctx.attrs["lambd"]
    return (where((x >= -lambd) & (x <= lambd), 0.0, g),)


RELU = _activation("relu", lambda xp, x: xp.maximum(x, 0), "max({0}, 0)", _relu_vjp,
                   save_output=True)
HARDTANH = _activation("hardtanh", lambda xp, x, min_val, max_val: xp.clip(x, min_val, max_val),
                       "min(max({0}, {min_val}), {max_val})", _hardtanh_vjp)
LEAKY_RELU = _activation(
    "leaky_relu", lambda xp, x, negative_slope: _where(xp, x > 0, x, x * negative_slope),
    "({0} if {0} > 0 else {0} * {negative_slope})", _leaky_relu_vjp)
THRESHOLD = _activation("threshold",
                        lambda xp, x, threshold, value: _where(xp, x > threshold, x, value),
                        "({0} if {0} > {threshold} else {value})", _threshold_vjp)
SOFTSHRINK = _activation(
    "softshrink",
    lambda xp, x, lambd: _where(xp, x > lambd, x - lambd,
                                _where(xp, x < -lambd, x + lambd, 0)),
    "({0} - {lambd} if {0} > {lambd} else ({0} + {lambd} if {0} < -{lambd} else 0.0))",
    _shrink_vjp)
HARDSHRINK = _activation("hardshrink",
                         lambda xp, x, lambd: _where(xp, (x >= -lambd) & (x <= lambd), 0, x),
                         "(0.0 if -{lambd} <= {0} <= {lambd} else {0})", _shrink_vjp)


# ---------------------------------------------------------------- smooth activations
def _elu_forward(xp: Any, x: Any, alpha: float, scale: float, input_scale: float) -> Any:
    return _where(xp, x > 0, x * scale, xp.expm1(x * input_scale) * (alpha * scale))


def _elu_vjp(ctx: Any, g: Tensor) -> tuple:
    (x,) = ctx.inputs
    alpha, scale, input_scale = (ctx.attrs[k] for k in ("alpha", "scale", "input_scale"))
    # clamp so the unused branch of where cannot overflow into inf * 0 in higher-order grads
    negative = (x.clamp(max=0) * input_scale).exp() * (alpha * scale * input_scale)
    return (where(x > 0, g * scale, g * negative),)


def _gelu_forward(xp: Any, x: Any, approximate: str) -> Any:
    if x.size and _kernels.usable(xp, x):
        return _kernels.gelu(x, approximate)
    if approximate == "tanh":
        return 0.5 * x * (1 + xp.tanh(_GELU_K * (x + _GELU_C * x * x * x)))
    return 0.5 * x * (1 + _erf(x * _SQRT1_2))


def _gelu_vjp(ctx: Any, g: Tensor) -> tuple:
    return (apply(GELU_BACKWARD, g, ctx.inputs[0], approximate=ctx.attrs["approximate"]),)


def _gelu_backward_forward(xp: Any, g: Any, x: Any, approximate: str = "none") -> Any:
    if x.size and _kernels.usable(xp, x, g):
        return _kernels.gelu_backward(g, x, approximate)
    if approximate == "tanh":
        t = xp.tanh(_GELU_K * (x + _GELU_C * x * x * x))
        slope = (t + 1) * 0.5 + x * (1 - t * t) * (x * x * (3 * _GELU_C) + 1) * (0.5 * _GELU_K)
    else:
        slope = (_erf(x * _SQRT1_2) + 1) * 0.5 + x * xp.exp(x * x * -0.5) * _INV_SQRT_2PI
    return g * slope


def _gelu_backward_vjp(ctx: Any, gg: Tensor) -> tuple:
    g, x = ctx.inputs
    approximate = ctx.attrs["approximate"]
    need = ctx.needs_input_grad
    grad_g = apply(GELU_BACKWARD, gg, x, approximate=approximate) if need[0] else None
    grad_x = None
    if need[1]:  # gelu''(x)
        if approximate == "tanh":
            x2 = x * x
            t = ((x + x * x2 * _GELU_C) * _GELU_K).tanh()
            du = (x2 * (3 * _GELU_C) + 1) * _GELU_K
            curvature = (1 - t * t) * (du - x * t * du * du + x2 * (3 * _GELU_K * _GELU_C))
        else:
            curvature = (x * x * -0.5).exp() * (2 - x * x) * _INV_SQRT_2PI
        grad_x = gg * g * curvature
    return grad_g, grad_x


def _silu_vjp(ctx: Any, g: Tensor) -> tuple:
    (x,) = ctx.inputs
    s = x.sigmoid()
    return (g * s * (1 + x * (1 - s)),)


def _mish_vjp(ctx: Any, g: Tensor) -> tuple:
    (x,) = ctx.inputs
    t = apply(SOFTPLUS, x, beta=1.0, threshold=20.0).tanh()
    return (g * (t + x * x.sigmoid() * (1 - t * t)),)


def _softplus_forward(xp: Any, x: Any, beta: float, threshold: float) -> Any:
    bx = x * beta
    return _where(xp, bx > threshold, x, xp.logaddexp(0, bx) / beta)


def _softplus_vjp(ctx: Any, g: Tensor) -> tuple:
    (x,) = ctx.inputs
    bx = x * ctx.attrs["beta"]
    return (where(bx > ctx.attrs["threshold"], g, g * bx.sigmoid()),)


def _hardswish_vjp(ctx: Any, g: Tensor) -> tuple:
    (x,) = ctx.inputs
    return (where(x < -3, 0.0, where(x <= 3, g * (x / 3 + 0.5), g)),)


def _hardsigmoid_vjp(ctx: Any, g: Tensor) -> tuple:
    (x,) = ctx.inputs
    return (where((x > -3) & (x < 3), g / 6, 0.0),)


def _log_sigmoid_vjp(ctx: Any, g: Tensor) -> tuple:
    (x,) = ctx.inputs
    return (g * (-x).sigmoid(),)


ELU = _activation("elu", _elu_forward,
                  "({0} * {scale} if {0} > 0 else math.expm1({0} * {input_scale}) * {alpha} * "
                  "{scale})", _elu_vjp)
# the tanh form as x * sigmoid(2 u), u = sqrt(2 / pi) (x + 0.044715 x^3): an exp that
# vectorizes in kernels (_scalar.exp) instead of libm's tanh
_SIGMOID_2U = "(1.0 / (1.0 + _scalar.exp(-1.5957691216057308 * ({0} + 0.044715 * {0} ** 3))))"
GELU = _activation("gelu", _gelu_forward,
                   f"({{0}} * {_SIGMOID_2U} if {{approximate}} == 'tanh' else 0.5 * {{0}} * "
                   "(1.0 + math.erf({0} * 0.7071067811865476)))", _gelu_vjp)
_SIG = _SIGMOID_2U.replace("{0}", "{1}")
GELU_BACKWARD = defop(
    "gelu_backward", _quiet(in_float32(_gelu_backward_forward)),
    lambda g, x, approximate="none": (broadcast_shapes("gelu_backward", g, x), x.dtype),
    _gelu_backward_vjp, kind="elementwise",
    expr=(f"({{0}} * ({_SIG} + ({{1}} + {{1}}) * {_SIG} * (1.0 - {_SIG}) * 0.7978845608028654 "
          "* (1.0 + 0.134145 * {1} * {1})) if {approximate} == 'tanh' else {0} * "
          "((math.erf({1} * 0.7071067811865476) + 1.0) * 0.5 + {1} * math.exp({1} * {1} * -0.5)"
          " * 0.3989422804014327))"),
    doc="GELU's input gradient ``g * gelu'(x)``.")
SILU = _activation("silu", lambda xp, x: x * _sigmoid_np(x), "{0} / (1.0 + math.exp(-{0}))",
                   _silu_vjp)
MISH = _activation("mish", lambda xp, x: x * xp.tanh(xp.logaddexp(0, x)),
                   "{0} * math.tanh(math.log1p(math.exp({0})))", _mish_vjp)
SOFTPLUS = _activation("softplus", _softplus_forward,
                       "({0} if {0} * {beta} > {threshold} else "
                       "math.log1p(math.exp({0} * {beta})) / {beta})", _softplus_vjp)
HARDSWISH = _activation("hardswish", lambda xp, x: x * xp.clip(x + 3, 0, 6) / 6,
                        "{0} * min(max({0} + 3.0, 0.0), 6.0) / 6.0", _hardswish_vjp)
HARDSIGMOID = _activation("hardsigmoid", lambda xp, x: xp.clip(x + 3, 0, 6) / 6,
                          "min(max({0} + 3.0, 0.0), 6.0) / 6.0", _hardsigmoid_vjp)
LOG_SIGMOID = _activation("log_sigmoid",
                          lambda xp, x: xp.minimum(x, 0) - xp.log1p(xp.exp(-xp.abs(x))),
                          "min({0}, 0.0) - math.log1p(math.exp(-abs({0})))", _log_sigmoid_vjp)


# ---------------------------------------------------------------- ds-level front doors
@tensor_method
def relu(input: Tensor) -> Tensor:
    """``max(input, 0)`` elementwise."""
    return run_activation(RELU, input)


@tensor_method
def relu_(input: Tensor) -> Tensor:
    """In-place :func:`relu`."""
    return run_activation(RELU, input, True)


def selu(input: Tensor) -> Tensor:
    """``scale * (max(0, x) + min(0, alpha * (exp(x) - 1)))`` with the self-normalizing constants
    ``alpha = 1.6732…`` and ``scale = 1.0507…``."""
    return run_activation(ELU, input, name="selu", alpha=SELU_ALPHA, scale=SELU_SCALE,
                          input_scale=1.0)


def selu_(input: Tensor) -> Tensor:
    """In-place :func:`selu`."""
    return run_activation(ELU, input, True, name="selu_", alpha=SELU_ALPHA, scale=SELU_SCALE,
                          input_scale=1.0)


def _celu(input: Tensor, alpha: float, inplace: bool) -> Tensor:
    if alpha == 0:
        raise op_error(RuntimeError, "celu", "ZeroDivisionError: alpha cannot be 0 for CELU")
    return run_activation(ELU, input, inplace, name="celu", alpha=float(alpha), scale=1.0,
                          input_scale=1.0 / alpha)


def celu(input: Tensor, alpha: float = 1.0) -> Tensor:
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))``."""
    return _celu(input, alpha, False)


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """In-place :func:`celu`."""
    return _celu(input, alpha, True)


def threshold(input: Tensor, threshold: float, value: float) -> Tensor:
    """``input`` where it is greater than ``threshold``, else ``value``."""
    return run_activation(THRESHOLD, input, threshold=threshold, value=value)


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    """In-place :func:`threshold`."""
    return run_activation(THRESHOLD, input, True, threshold=threshold, value=value)


def shrink(op: OpDef, input: Tensor, lambd: float) -> Tensor:
    """Soft or hard shrinkage by ``lambd`` (which must be non-negative)."""
    x = require_tensor(op.name, input)
    if lambd < 0:
        raise op_error(RuntimeError, op.name, f"lambda must be in range [0, inf) for input dtype "
                       f"{x.dtype.name}, but found {lambd}")
    return run_activation(op, x, lambd=lambd)


@tensor_method
def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """``input`` where ``|input| > lambd``, else 0."""
    return shrink(HARDSHRINK, input, lambd)


# ---------------------------------------------------------------- prelu / rrelu
def _prelu_vjp(ctx: Any, g: Tensor) -> tuple:
    x, w = ctx.inputs
    positive = x > 0
    need = ctx.needs_input_grad
    return (where(positive, g, g * w) if need[0] else None,
            where(positive, 0.0, g * x) if need[1] else None)


PRELU = defop("_prelu_kernel", lambda xp, x, w: _where(xp, x > 0, x, w * x),
              lambda x, w: (broadcast_shapes("prelu", x, w), x.dtype), _prelu_vjp,
              kind="elementwise", expr="({0} if {0} > 0 else {1} * {0})", amp="lower")


@tensor_method
def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """``max(0, x) + weight * min(0, x)`` with one learned slope, or one per channel (dim 1).

    Args:
        input: ``(N, C, *)``, ``(C,)`` or any shape when ``weight`` has one element.
        weight: a scalar or a 1-d tensor of ``1`` or ``C`` slopes.
    """
    x = require_tensor("prelu", input)
    w = require_tensor("prelu", weight, "weight")
    check_float("prelu", x)
    if w.ndim > 1:
        raise op_error(RuntimeError, "prelu", "prelu: Expected `weight` to be a scalar or 1D "
                       f"tensor, but got: ndim = {w.ndim}", x._data, w._data)
    if x.ndim == 0:
        raise op_error(RuntimeError, "prelu", "Not allow zero-dim input tensor.", x._data)
    channels = x.shape[1] if x.ndim > 1 else 1
    if w.numel() != 1 and w.numel() != channels:
        raise op_error(RuntimeError, "prelu", "Mismatch of parameter numbers and input channel "
                       f"size. Found parameter numbers = {w.numel()} and channel size = "
                       f"{channels}.", x._data, w._data)
    if w.numel() != 1:
        w = w.reshape((channels,) + (1,) * (x.ndim - 2))
    return apply(PRELU, x, to_dtype(w, x._data.dtype))


def _rrelu_noise_forward(xp: Any, x: Any, *, lower: float, upper: float, generator: Any) -> Any:
    slopes = _gen(generator).uniform(lower, upper, x.shape)
    return _where(xp, x <= 0, slopes, 1.0)


# The slopes are drawn by an op of their own (the generator an attribute), so that a traced
# program replays the draw.
RRELU_NOISE = defop("_rrelu_noise", _rrelu_noise_forward,
                    lambda x, *, lower, upper, generator: (x.shape, x.dtype),
                    doc="Slopes ``U(lower, upper)`` where ``x <= 0``, 1 elsewhere.")


def rrelu_impl(input: Tensor, lower: float, upper: float, training: bool, inplace: bool,
               generator: Generator | None = None) -> Tensor:
    """Randomized leaky relu: negative slopes drawn from ``U(lower, upper)`` when training, their
    mean otherwise."""
    x = require_tensor("rrelu", input)
    check_float("rrelu", x)
    if lower > upper:
        raise op_error(RuntimeError, "rrelu", "Lower bound should be less than or equal to the "
                       "upper bound")
    if not training:
        return run_activation(LEAKY_RELU, x, inplace, name="rrelu",
                              negative_slope=(lower + upper) / 2)
    noise = apply(RRELU_NOISE, x.detach(), lower=lower, upper=upper, generator=generator)
    return x.mul_(noise) if inplace else mul(x, noise)


def rrelu(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
          generator: Generator | None = None) -> Tensor:
    """Randomized leaky relu (see :func:`rrelu_impl`)."""
    return rrelu_impl(input, lower, upper, training, False, generator)


def rrelu_(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
           generator: Generator | None = None) -> Tensor:
    """In-place :func:`rrelu`."""
    return rrelu_impl(input, lower, upper, training, True, generator)


# ---------------------------------------------------------------- softmax family
def _softmax_inputs(x: Any, dim: int) -> tuple:
    """``x`` in its accumulation dtype (at least 1-d) and its max along ``dim``."""
    xa = x.astype(_F32) if x.dtype in LOWP else x
    if xa.ndim == 0:
        xa = xa.reshape(1)
    if xa.size == 0:
        return xa, xa.sum(axis=dim, keepdims=True)
    return xa, xa.max(axis=dim, keepdims=True)


def _softmax_forward(xp: Any, x: Any, dim: int, log: bool = False) -> Any:
    xa = x.astype(_F32) if x.dtype in LOWP else x
    if dim == x.ndim - 1 and xa.size and _kernels.usable(xp, xa):
        return _kernels.softmax(xa, log)
    xa, m = _softmax_inputs(x, dim)
    shifted = xa - m
    if log:
        return (shifted - xp.log(xp.exp(shifted).sum(axis=dim, keepdims=True))).reshape(x.shape)
    e = xp.exp(shifted, out=shifted)
    return (e / e.sum(axis=dim, keepdims=True)).reshape(x.shape)


def _log_softmax_forward(xp: Any, x: Any, dim: int) -> Any:
    return _softmax_forward(xp, x, dim, log=True)


def _softmax_backward_forward(xp: Any, y: Any, g: Any, dim: int, log: bool = False) -> Any:
    """The input gradient of (log-)softmax from its output ``y``."""
    if y.ndim and dim % y.ndim == y.ndim - 1 and y.size and _kernels.usable(xp, y, g):
        return _kernels.softmax_backward(y, g, log)
    if log:
        return g - xp.exp(y) * g.sum(axis=dim, keepdims=True)
    return y * (g - (g * y).sum(axis=dim, keepdims=True))


def _softmax_backward_vjp(ctx: Any, gg: Tensor) -> tuple:
    y, g = ctx.inputs
    dim, log = ctx.attrs["dim"], ctx.op is LOG_SOFTMAX_BACKWARD
    need = ctx.needs_input_grad
    if log:  # out = g - exp(y) * sum(g)
        e = y.exp()
        grad_y = -gg * e * g.sum(dim, keepdim=True) if need[0] else None
        grad_g = gg - (gg * e).sum(dim, keepdim=True) if need[1] else None
        return grad_y, grad_g
    # out = y * (g - sum(g * y)): linear in g (and self-adjoint there)
    grad_y = None
    if need[0]:
        grad_y = gg * (g - (g * y).sum(dim, keepdim=True)) - g * (gg * y).sum(dim, keepdim=True)
    grad_g = apply(SOFTMAX_BACKWARD, y, gg, dim=dim) if need[1] else None
    return grad_y, grad_g


def _softmax_backward_meta(y: Any, g: Any, dim: int) -> tuple:
    if y.shape != g.shape:
        raise op_error(RuntimeError, "_softmax_backward_data", "grad_output and output must have "
                       "the same shape", y, g)
    return y.shape, y.dtype


SOFTMAX_BACKWARD = defop("_softmax_backward_data", _quiet(in_float32(_softmax_backward_forward)),
                         _softmax_backward_meta, _softmax_backward_vjp, kind="opaque",
                         doc="Softmax's input gradient from its output ``y`` and ``g``.")
LOG_SOFTMAX_BACKWARD = defop(
    "_log_softmax_backward_data", _quiet(in_float32(partial(_softmax_backward_forward, log=True))),
    _softmax_backward_meta, _softmax_backward_vjp, kind="opaque",
    doc="Log-softmax's input gradient from its output ``y`` and ``g``.")


def _softmax_vjp(ctx: Any, g: Tensor) -> tuple:
    return (apply(SOFTMAX_BACKWARD, ctx.out, g, dim=ctx.attrs["dim"]),)


def _log_softmax_vjp(ctx: Any, g: Tensor) -> tuple:
    return (apply(LOG_SOFTMAX_BACKWARD, ctx.out, g, dim=ctx.attrs["dim"]),)


SOFTMAX = defop("_softmax", _quiet(_softmax_forward), lambda x, dim: (x.shape, x.dtype),
                _softmax_vjp, kind="opaque", amp="fp32", save_inputs=False, save_output=True)
LOG_SOFTMAX = defop("_log_softmax", _quiet(_log_softmax_forward),
                    lambda x, dim: (x.shape, x.dtype), _log_softmax_vjp, kind="opaque",
                    amp="fp32", save_inputs=False, save_output=True)


def softmax_impl(op: OpDef, name: str, input: Tensor, dim: int, dtype: Any) -> Tensor:
    """Run ``op`` (softmax or log-softmax) along ``dim``, after casting ``input`` to ``dtype``."""
    x = require_tensor(name, input)
    if dtype is not None:
        x = to_dtype(x, _dt.to_dtype(dtype).np)
    check_float(name, x)
    return apply(op, x, dim=wrap_dim(name, dim, x.ndim))


@tensor_method
def softmax(input: Tensor, dim: int, dtype: Any = None) -> Tensor:
    """``exp(x) / sum(exp(x), dim)``, computed stably (float16/bfloat16 in float32).

    Args:
        input: the input tensor.
        dim: the dimension the outputs sum to 1 along.
        dtype: cast ``input`` to this dtype first.
    """
    return softmax_impl(SOFTMAX, "softmax", input, dim, dtype)


@tensor_method
def log_softmax(input: Tensor, dim: int, dtype: Any = None) -> Tensor:
    """``log(softmax(input, dim))``, computed stably."""
    return softmax_impl(LOG_SOFTMAX, "log_softmax", input, dim, dtype)
