"""``F.*`` normalization and dropout: PyTorch's functional signatures and argument checks over
``deepseek/ops/normalization.py``."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

from ..._errors import op_error
from ...ops import normalization as _norm
from ...ops._common import is_float, require_tensor
from ...ops.elementwise import where
from ...ops.normalization import dropout_impl, layer_norm, local_response_norm, rms_norm
from ...tensor import Tensor

__all__ = [
    "alpha_dropout",
    "batch_norm",
    "dropout",
    "dropout1d",
    "dropout2d",
    "dropout3d",
    "feature_alpha_dropout",
    "group_norm",
    "instance_norm",
    "layer_norm",
    "local_response_norm",
    "normalize",
    "rms_norm",
]


def _spatial_count(shape: Sequence[int]) -> int:
    return math.prod(shape[2:])


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Batch normalization over dim 1 of an ``(N, C, *)`` input (see
    :func:`deepseek.batch_norm`)."""
    x = require_tensor("batch_norm", input)
    if training and x.ndim >= 2 and x.shape[0] * _spatial_count(x.shape) == 1:
        raise op_error(ValueError, "batch_norm", "Expected more than 1 value per channel when "
                       f"training, got input size {list(x.shape)}", x._data)
    return _norm.batch_norm(x, weight, bias, running_mean, running_var, training, momentum, eps)


def instance_norm(input: Tensor, running_mean: Tensor | None = None,
                  running_var: Tensor | None = None, weight: Tensor | None = None,
                  bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Instance normalization of each channel of each sample (see
    :func:`deepseek.instance_norm`)."""
    x = require_tensor("instance_norm", input)
    if use_input_stats and _spatial_count(x.shape) == 1:
        raise op_error(ValueError, "instance_norm", "Expected more than 1 spatial element when "
                       f"training, got input size {list(x.shape)}", x._data)
    return _norm.instance_norm(x, weight, bias, running_mean, running_var, use_input_stats,
                               momentum, eps)


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Group normalization (see :func:`deepseek.group_norm`)."""
    return _norm.group_norm(input, num_groups, weight, bias, eps)


def _vector_norm(x: Tensor, p: float, dim: Any) -> Tensor:
    """The ``p``-norm over ``dim`` (kept), with a zero gradient where the norm is zero."""
    if p == math.inf:
        return x.abs().amax(dim, keepdim=True)
    if p == -math.inf:
        return x.abs().amin(dim, keepdim=True)
    if p == 0:
        return (x != 0).sum(dim, keepdim=True).to(x.dtype)
    total = (x.square() if p == 2 else x.abs() ** p).sum(dim, keepdim=True)
    positive = total > 0
    return where(positive, where(positive, total, 1.0) ** (1.0 / p), 0.0)


def normalize(input: Tensor, p: float = 2.0, dim: Any = 1, eps: float = 1e-12,
              out: Tensor | None = None) -> Tensor:
    """``input / max(||input||_p, eps)`` with the norm taken over ``dim``.

    Args:
        input: a floating-point tensor.
        p: the norm's exponent. Default: 2.
        dim: the dimension (or dimensions) to reduce. Default: 1.
        eps: the smallest denominator. Default: 1e-12.
        out: write the result here (not differentiable).
    """
    x = require_tensor("normalize", input)
    if not is_float(x._data.dtype):
        raise op_error(RuntimeError, "normalize", "expected a floating point tensor as input",
                       x._data)
    result = x / _vector_norm(x, p, dim).clamp_min(eps)
    return result if out is None else out.copy_(result.detach())


# ---------------------------------------------------------------- dropout
def _check_p(name: str, p: float) -> None:
    if p < 0.0 or p > 1.0:
        raise op_error(ValueError, name, f"dropout probability has to be between 0 and 1, but "
                       f"got {p}")


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``; the
    identity when not ``training``.

    Args:
        input: any tensor.
        p: probability of an element to be zeroed. Default: 0.5.
        training: apply dropout if ``True``. Default: ``True``.
        inplace: do it in place. Default: ``False``.
    """
    _check_p("dropout", p)
    return dropout_impl("dropout", input, p, training, inplace)


def _channel_dropout(name: str, input: Tensor, p: float, training: bool, inplace: bool,
                     batched_ndim: int) -> Tensor:
    """Whole-channel dropout of a batched (``batched_ndim``-d) or unbatched input."""
    _check_p(name, p)
    x = require_tensor(name, input)
    if x.ndim == batched_ndim - 1:
        dropped = dropout_impl(name, x.unsqueeze(0), p, training, inplace, feature=True)
        return x if inplace else dropped.squeeze(0)
    return dropout_impl(name, x, p, training, inplace, feature=True)


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels of an ``(N, C, L)`` or ``(C, L)`` input with probability ``p``."""
    x = require_tensor("dropout1d", input)
    if x.ndim not in (2, 3):
        raise op_error(RuntimeError, "dropout1d", f"dropout1d: Expected 2D or 3D input, but "
                       f"received a {x.ndim}D input. Note that dropout1d exists to provide "
                       "channel-wise dropout on inputs with 1 spatial dimension, a channel "
                       "dimension, and an optional batch dimension (i.e. 2D or 3D inputs).",
                       x._data)
    return _channel_dropout("dropout1d", x, p, training, inplace, 3)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels of an ``(N, C, H, W)`` input with probability ``p``.

    As in PyTorch, a 3-d input is taken as ``(N, C, L)`` (with a warning).
    """
    x = require_tensor("dropout2d", input)
    if x.ndim not in (3, 4):
        warnings.warn(f"dropout2d: Received a {x.ndim}-D input to dropout2d, which is deprecated "
                      "and will result in an error in a future release. To retain the behavior "
                      "and silence this warning, please use dropout instead.", stacklevel=2)
    if x.ndim == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise "
                      "1D dropout behavior is desired - input is interpreted as shape (N, C, L). "
                      "To maintain the 1D channel-wise dropout behavior, please switch to using "
                      "dropout1d instead.", stacklevel=2)
    _check_p("dropout2d", p)
    return dropout_impl("dropout2d", x, p, training, inplace, feature=True)


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels of an ``(N, C, D, H, W)`` or ``(C, D, H, W)`` input."""
    x = require_tensor("dropout3d", input)
    if x.ndim not in (4, 5):
        warnings.warn(f"dropout3d: Received a {x.ndim}-D input to dropout3d, which is deprecated "
                      "and will result in an error in a future release. To retain the behavior "
                      "and silence this warning, please use dropout instead.", stacklevel=2)
    return _channel_dropout("dropout3d", x, p, training, inplace, 5)


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False,
                  inplace: bool = False) -> Tensor:
    """Dropout that keeps the mean and variance of SELU activations (see ``nn.AlphaDropout``)."""
    _check_p("alpha_dropout", p)
    return dropout_impl("alpha_dropout", input, p, training, inplace, alpha=True)


def feature_alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False,
                          inplace: bool = False) -> Tensor:
    """:func:`alpha_dropout` of whole channels."""
    _check_p("feature_alpha_dropout", p)
    return dropout_impl("feature_alpha_dropout", input, p, training, inplace, feature=True,
                        alpha=True)

