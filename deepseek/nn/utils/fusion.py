"""Folding eval-mode BatchNorm into the convolution or linear layer before it."""

from __future__ import annotations

import copy

from ... import dtypes as _dt
from ...autograd.grad_mode import no_grad
from ..modules.batchnorm import BatchNorm1d, _BatchNorm
from ..modules.container import Sequential
from ..modules.conv import Conv1d, Conv2d, Conv3d
from ..modules.linear import Identity, Linear
from ..modules.module import Module
from ..parameter import Parameter

__all__ = ["fuse_layers"]

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
    with no_grad():
        f64 = _dt.float64
        weight = layer.weight.detach()
        mean, var = norm.running_mean.to(f64), norm.running_var.to(f64)
        scale = (var + norm.eps).rsqrt()
        if norm.weight is not None:
            scale = scale * norm.weight.to(f64)
        bias = -mean if layer.bias is None else layer.bias.to(f64) - mean
        bias = bias * scale
        if norm.bias is not None:
            bias = bias + norm.bias.to(f64)
        shape = (-1,) + (1,) * (weight.dim() - 1)
        layer.weight = Parameter((weight.to(f64) * scale.reshape(shape)).to(weight.dtype),
                                 requires_grad=layer.weight.requires_grad)
        layer.bias = Parameter(bias.to(weight.dtype), requires_grad=layer.weight.requires_grad)
