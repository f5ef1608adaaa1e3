"""Folding eval-mode BatchNorm into the convolution or linear layer before it."""

from __future__ import annotations

import copy
from typing import Optional

from ... import dtypes as _dt
from ...autograd.grad_mode import no_grad
from ...tensor import Tensor
from ..modules.batchnorm import BatchNorm1d, _BatchNorm
from ..modules.container import Sequential
from ..modules.conv import Conv1d, Conv2d, Conv3d
from ..modules.linear import Identity, Linear
from ..modules.module import Module
from ..parameter import Parameter

__all__ = ["fuse_layers", "fuse_conv_bn_eval", "fuse_conv_bn_weights", "fuse_linear_bn_eval",
           "fuse_linear_bn_weights"]

_CONVS = (Conv1d, Conv2d, Conv3d)


def fuse_layers(model: Module) -> Module:
    """Return a copy of an eval-mode ``model`` with each BatchNorm that directly follows a
    ``Conv1d``/``Conv2d``/``Conv3d`` (any BatchNorm) or a ``Linear`` (``BatchNorm1d``) in a
    ``Sequential``, at any depth, folded into that layer's weight and bias (a bias is created
    where there was none) and replaced by ``Identity``. Activations such as a following ``ReLU``
    are kept. ``model`` itself is left untouched.

    The folded layer computes ``scale * (layer(x) - running_mean) + beta`` with
    ``scale = gamma / sqrt(running_var + eps)``, evaluated in float64 and stored in the layer's
    dtype. A BatchNorm without running statistics (which normalizes with batch statistics even in
    eval mode) is left as it is. As ``torch.nn.utils.fusion.fuse_linear_bn_eval``, a
    ``Linear``→``BatchNorm1d`` pair assumes ``(N, C)`` inputs.

    Args:
        model: a module in eval mode (``model.eval()``).

    Example:
        >>> net = ds.nn.Sequential(ds.nn.Conv2d(3, 8, 3), ds.nn.BatchNorm2d(8), ds.nn.ReLU())
        >>> fused = ds.nn.fuse_layers(net.eval())
        >>> fused
        Sequential(
          (0): Conv2d(3, 8, kernel_size=(3, 3), stride=(1, 1))
          (1): Identity()
          (2): ReLU()
        )
    """
    if not isinstance(model, Module):
        raise TypeError(f"fuse_layers: expected a Module, but got {type(model).__name__}")
    training = [name or type(model).__name__ for name, m in model.named_modules() if m.training]
    if training:
        raise RuntimeError(f"fuse_layers: folds BatchNorm's running statistics, which only eval "
                           f"mode uses, but {training[0]} is in training mode; call "
                           f"model.eval() first")
    fused = copy.deepcopy(model)
    for module in fused.modules():
        if isinstance(module, Sequential):
            _fuse_sequential(module)
    return fused


def _foldable(layer: Module, norm: Module) -> bool:
    if not isinstance(norm, _BatchNorm) or norm.running_mean is None or norm.running_var is None:
        return False
    if isinstance(layer, _CONVS):
        return norm.num_features == layer.out_channels
    return (isinstance(layer, Linear) and isinstance(norm, BatchNorm1d)
            and norm.num_features == layer.out_features)


def _fuse_sequential(seq: Sequential) -> None:
    names = list(seq._modules)
    for first, second in zip(names, names[1:]):
        layer, norm = seq._modules[first], seq._modules[second]
        if _foldable(layer, norm):
            _fold(layer, norm)
            setattr(seq, second, Identity())


def _fold(layer: Module, norm: _BatchNorm) -> None:
    """Scale ``layer``'s output channels and shift its bias by ``norm``'s eval-mode affine map."""
    layer.weight, layer.bias = fuse_conv_bn_weights(
        layer.weight, layer.bias, norm.running_mean, norm.running_var, norm.eps, norm.weight,
        norm.bias)


def fuse_conv_bn_weights(conv_w: Tensor, conv_b: Optional[Tensor], bn_rm: Tensor, bn_rv: Tensor,
                         bn_eps: float, bn_w: Optional[Tensor], bn_b: Optional[Tensor],
                         transpose: bool = False) -> tuple:
    """The weight and bias (Parameters, in the layer's dtypes, computed in float64) of a
    convolution followed by an eval-mode BatchNorm with running statistics ``bn_rm``/``bn_rv``
    and affine ``bn_w``/``bn_b`` (None: identity); ``transpose`` for a transposed convolution,
    whose output channels are dim 1. A missing bias becomes one, as in PyTorch."""
    with no_grad():
        f64 = _dt.float64
        scale = (bn_rv.to(f64) + bn_eps).rsqrt()
        if bn_w is not None:
            scale = scale * bn_w.to(f64)
        bias = -bn_rm.to(f64) if conv_b is None else conv_b.to(f64) - bn_rm.to(f64)
        bias = bias * scale
        if bn_b is not None:
            bias = bias + bn_b.to(f64)
        shape = ((1, -1) if transpose else (-1, 1)) + (1,) * (conv_w.dim() - 2)
        weight = (conv_w.to(f64) * scale.reshape(shape)).to(conv_w.dtype)
        bias = bias.to(conv_w.dtype if conv_b is None else conv_b.dtype)
    return (Parameter(weight, requires_grad=conv_w.requires_grad),
            Parameter(bias, requires_grad=conv_b is not None and conv_b.requires_grad))


def fuse_linear_bn_weights(linear_w: Tensor, linear_b: Optional[Tensor], bn_rm: Tensor,
                           bn_rv: Tensor, bn_eps: float, bn_w: Optional[Tensor],
                           bn_b: Optional[Tensor]) -> tuple:
    """The weight and bias of a ``Linear`` followed by an eval-mode ``BatchNorm1d``: as
    :func:`fuse_conv_bn_weights`."""
    return fuse_conv_bn_weights(linear_w, linear_b, bn_rm, bn_rv, bn_eps, bn_w, bn_b)


def _check_eval(name: str, layer: Module, bn: _BatchNorm) -> None:
    if layer.training or bn.training:
        raise AssertionError(f"{name}: Fusion only for eval! Call .eval() on both modules first")
    if bn.running_mean is None or bn.running_var is None:
        raise AssertionError(f"{name}: the BatchNorm keeps no running statistics "
                             "(track_running_stats=False), so there is nothing to fold")


def fuse_conv_bn_eval(conv: Module, bn: _BatchNorm, transpose: bool = False) -> Module:
    """A copy of the eval-mode convolution ``conv`` with the eval-mode BatchNorm ``bn`` that
    follows it folded in (``transpose`` for a transposed convolution)."""
    _check_eval("fuse_conv_bn_eval", conv, bn)
    fused = copy.deepcopy(conv)
    fused.weight, fused.bias = fuse_conv_bn_weights(fused.weight, fused.bias, bn.running_mean,
                                                    bn.running_var, bn.eps, bn.weight, bn.bias,
                                                    transpose)
    return fused


def fuse_linear_bn_eval(linear: Module, bn: _BatchNorm) -> Module:
    """A copy of the eval-mode ``linear`` with the eval-mode ``BatchNorm1d`` ``bn`` that follows
    it folded in; ``bn`` has ``linear.out_features`` features or one."""
    _check_eval("fuse_linear_bn_eval", linear, bn)
    if linear.out_features != bn.num_features and bn.num_features != 1:
        raise AssertionError("fuse_linear_bn_eval: To fuse, linear.out_features must equal "
                             f"bn.num_features or bn.num_features must be 1, got "
                             f"{linear.out_features} and {bn.num_features}")
    fused = copy.deepcopy(linear)
    fused.weight, fused.bias = fuse_linear_bn_weights(fused.weight, fused.bias, bn.running_mean,
                                                      bn.running_var, bn.eps, bn.weight, bn.bias)
    return fused
