"""``F.*`` activations and the softmax family: PyTorch's functional signatures (``inplace=``,
optional ``dim``) over the primitives of ``deepseek/ops/activation.py``."""

from __future__ import annotations

import warnings
from typing import Any

from ..._errors import op_error
from ...ops import activation as _act
from ...ops._common import require_tensor, wrap_dim
from ...ops.activation import (
    celu_,
    hardshrink,
    prelu,
    relu_,
    rrelu_,
    run_activation,
    selu_,
    threshold_,
)
from ...ops.elementwise import sigmoid, tanh
from ...ops.movement import narrow
from ...random import _gen
from ...tensor import Tensor

__all__ = [
    "celu",
    "celu_",
    "elu",
    "elu_",
    "gelu",
    "glu",
    "gumbel_softmax",
    "hardshrink",
    "hardsigmoid",
    "hardswish",
    "hardtanh",
    "hardtanh_",
    "leaky_relu",
    "leaky_relu_",
    "log_softmax",
    "logsigmoid",
    "mish",
    "prelu",
    "relu",
    "relu6",
    "relu_",
    "rrelu",
    "rrelu_",
    "selu",
    "selu_",
    "sigmoid",
    "silu",
    "softmax",
    "softmin",
    "softplus",
    "softshrink",
    "softsign",
    "tanh",
    "tanhshrink",
    "threshold",
    "threshold_",
]


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """``max(input, 0)``."""
    return run_activation(_act.RELU, input, inplace)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """``min(max(input, 0), 6)``."""
    return run_activation(_act.HARDTANH, input, inplace, name="relu6", min_val=0.0, max_val=6.0)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Tensor:
    """``input`` clamped to ``[min_val, max_val]``."""
    if min_val > max_val:
        raise op_error(ValueError, "hardtanh", "min_val cannot be greater than max_val")
    return run_activation(_act.HARDTANH, input, inplace, min_val=min_val, max_val=max_val)


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """In-place :func:`hardtanh`."""
    return hardtanh(input, min_val, max_val, inplace=True)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """``input`` where positive, else ``negative_slope * input``."""
    return run_activation(_act.LEAKY_RELU, input, inplace, negative_slope=negative_slope)


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    """In-place :func:`leaky_relu`."""
    return leaky_relu(input, negative_slope, inplace=True)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``input`` where positive, else ``alpha * (exp(input) - 1)``."""
    return run_activation(_act.ELU, input, inplace, alpha=alpha, scale=1.0, input_scale=1.0)


def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """In-place :func:`elu`."""
    return elu(input, alpha, inplace=True)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """Scaled ELU with the self-normalizing constants (see :func:`deepseek.selu`)."""
    return (selu_ if inplace else _act.selu)(input)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))``."""
    return (celu_ if inplace else _act.celu)(input, alpha)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """``x * Phi(x)`` with ``Phi`` the standard normal CDF, or its ``'tanh'`` approximation."""
    if approximate not in ("none", "tanh"):
        raise op_error(RuntimeError, "gelu", "approximate argument must be either none or tanh, "
                       f"got {approximate!r}")
    return run_activation(_act.GELU, input, approximate=approximate)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * sigmoid(x)`` (swish)."""
    return run_activation(_act.SILU, input, inplace)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * tanh(softplus(x))``."""
    return run_activation(_act.MISH, input, inplace)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """``log(1 + exp(beta * x)) / beta``, linear where ``beta * x > threshold``."""
    return run_activation(_act.SOFTPLUS, input, beta=beta, threshold=threshold)


def softsign(input: Tensor) -> Tensor:
    """``x / (1 + |x|)``."""
    return input / (input.abs() + 1)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * relu6(x + 3) / 6``."""
    return run_activation(_act.HARDSWISH, input, inplace)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """``relu6(x + 3) / 6``."""
    return run_activation(_act.HARDSIGMOID, input, inplace)


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """``input`` where greater than ``threshold``, else ``value``."""
    return (threshold_ if inplace else _act.threshold)(input, threshold, value)


def rrelu(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
          inplace: bool = False) -> Tensor:
    """Randomized leaky relu: negative slopes drawn from ``U(lower, upper)`` when training."""
    return _act.rrelu_impl(input, lower, upper, training, inplace)


def logsigmoid(input: Tensor) -> Tensor:
    """``log(sigmoid(x))``, computed stably."""
    return run_activation(_act.LOG_SIGMOID, input, name="logsigmoid")


def tanhshrink(input: Tensor) -> Tensor:
    """``x - tanh(x)``."""
    return input - input.tanh()


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """``x - lambd`` above ``lambd``, ``x + lambd`` below ``-lambd``, else 0."""
    return _act.shrink(_act.SOFTSHRINK, input, lambd)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """Gated linear unit: ``a * sigmoid(b)`` with ``a``, ``b`` the halves of ``input`` on ``dim``.
    """
    x = require_tensor("glu", input)
    if x.ndim == 0:
        raise op_error(RuntimeError, "glu", "glu does not support scalars because halving size "
                       "must be even")
    d = wrap_dim("glu", dim, x.ndim)
    if x.shape[d] % 2:
        raise op_error(RuntimeError, "glu", f"Halving dimension must be even, but dimension {d} "
                       f"is size {x.shape[d]}", x._data)
    _act.check_float("glu", x)
    half = x.shape[d] // 2
    return narrow(x, d, 0, half) * narrow(x, d, half, half).sigmoid()


# ---------------------------------------------------------------- softmax family
def _softmax_dim(name: str, ndim: int, dim: int | None, stacklevel: int) -> int:
    if dim is not None:
        return dim
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to "
                  "include dim=X as an argument.", stacklevel=stacklevel)
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
            dtype: Any = None) -> Tensor:
    """``exp(x) / sum(exp(x), dim)``, stable; ``dtype`` casts the input first."""
    x = require_tensor("softmax", input)
    return _act.softmax(x, _softmax_dim("softmax", x.ndim, dim, _stacklevel), dtype)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
                dtype: Any = None) -> Tensor:
    """``log(softmax(x, dim))``, stable."""
    x = require_tensor("log_softmax", input)
    return _act.log_softmax(x, _softmax_dim("log_softmax", x.ndim, dim, _stacklevel), dtype)


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
            dtype: Any = None) -> Tensor:
    """``softmax(-x, dim)``."""
    x = require_tensor("softmin", input)
    return _act.softmax(-x, _softmax_dim("softmin", x.ndim, dim, _stacklevel), dtype)


def gumbel_softmax(logits: Tensor, tau: float = 1, hard: bool = False, eps: float = 1e-10,
                   dim: int = -1) -> Tensor:
    """Samples from the Gumbel-softmax distribution; with ``hard``, one-hot in the forward pass
    and the soft sample's gradient in the backward pass (straight-through)."""
    x = require_tensor("gumbel_softmax", logits)
    gumbels = _gen(None).gumbel(size=tuple(x.shape)).astype(x._data.dtype)
    soft = _act.softmax((x + gumbels) / tau, dim)
    if not hard:
        return soft
    hard_one = (soft == soft.amax(dim, keepdim=True)).to(soft.dtype)
    return hard_one - soft.detach() + soft
