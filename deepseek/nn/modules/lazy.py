"""Lazy modules: ``LazyModuleMixin`` and the layers that infer their input size (``in_features``,
``in_channels``, ``num_features``) at the first forward, then become the ordinary layer."""

from __future__ import annotations

import itertools
from typing import Any

from ... import dtypes as _dt
from ..._creation import tensor
from ..._errors import op_error
from ...autograd.grad_mode import no_grad
from ...tensor import Tensor
from ..parameter import UninitializedBuffer, UninitializedParameter, is_lazy
from .batchnorm import BatchNorm1d, BatchNorm2d, BatchNorm3d, _BatchNorm, _NormBase
from .conv import (Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d,
                   _Conv, _ConvTranspose)
from .instancenorm import InstanceNorm1d, InstanceNorm2d, InstanceNorm3d, _InstanceNorm
from .linear import Linear

__all__ = ["LazyModuleMixin", "LazyLinear", "LazyConv1d", "LazyConv2d", "LazyConv3d",
           "LazyConvTranspose1d", "LazyConvTranspose2d", "LazyConvTranspose3d",
           "LazyBatchNorm1d", "LazyBatchNorm2d", "LazyBatchNorm3d", "LazyInstanceNorm1d",
           "LazyInstanceNorm2d", "LazyInstanceNorm3d"]


class LazyModuleMixin:
    """A module whose parameters are ``UninitializedParameter``s until its first forward.

    A forward pre-hook calls ``initialize_parameters(*args, **kwargs)`` with the first inputs,
    which materializes the parameters (and buffers) with the shapes the inputs imply and
    initializes them; the module then turns into ``cls_to_become`` (``LazyLinear`` into
    ``Linear``) and the hook is gone. Loading a state_dict of an initialized module into a lazy
    one materializes the parameters with the loaded shapes (the first forward still finishes
    the conversion); an uninitialized state_dict loads into a lazy module and stays
    uninitialized.

    Convert dtype and device (``.double()``, ``.to(...)``) before the first forward; an
    optimizer may be built before it too, as the parameters are materialized in place.

    Example::

        >>> net = ds.nn.Sequential(ds.nn.LazyLinear(8), ds.nn.ReLU(), ds.nn.LazyLinear(2))
        >>> net(ds.randn(4, 5)).shape
        deepseek.Size([4, 2])
        >>> type(net[0]).__name__, net[0].in_features
        ('Linear', 5)
    """

    cls_to_become: Any = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._initialize_hook = self.register_forward_pre_hook(_infer_parameters,
                                                               with_kwargs=True)

    def has_uninitialized_params(self) -> bool:
        """Whether this module (not its children) still holds uninitialized tensors."""
        return any(is_lazy(t) for t in itertools.chain(self._parameters.values(),
                                                        self._buffers.values()))

    def initialize_parameters(self, *args: Any, **kwargs: Any) -> None:
        """Materialize and initialize the parameters from the first forward's inputs."""
        raise NotImplementedError(f"initialize_parameters is not implemented for "
                                  f"{type(self).__name__}")

    def _save_to_state_dict(self, destination: dict, prefix: str, keep_vars: bool) -> None:
        for name, t in itertools.chain(self._parameters.items(), self._buffers.items()):
            if t is None or name in self._non_persistent_buffers_set:
                continue
            destination[prefix + name] = t if keep_vars or is_lazy(t) else t.detach()

    def _load_from_state_dict(self, state_dict: dict, prefix: str, *args: Any,
                              **kwargs: Any) -> None:
        for name, t in itertools.chain(self._parameters.items(), self._buffers.items()):
            key = prefix + name
            if is_lazy(t) and key in state_dict:
                value = state_dict[key]
                if isinstance(value, Tensor) and not is_lazy(value):
                    with no_grad():
                        t.materialize(value.shape)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


def _infer_parameters(module: Any, args: tuple, kwargs: dict) -> None:
    """The lazy modules' forward pre-hook: initialize, check, become the ordinary module."""
    module.initialize_parameters(*args, **kwargs)
    if module.has_uninitialized_params():
        raise op_error(RuntimeError, module._get_name(), f"module {module._get_name()} has not "
                       "been fully initialized")
    module._initialize_hook.remove()
    del module._initialize_hook
    if module.cls_to_become is not None:
        module.__class__ = module.cls_to_become


def _uninitialized(device: Any, dtype: Any) -> UninitializedParameter:
    return UninitializedParameter(device=device, dtype=dtype)


# ---------------------------------------------------------------- linear
class LazyLinear(LazyModuleMixin, Linear):
    """A ``Linear`` whose ``in_features`` is the last dim of the first input.

    Args:
        out_features: size of each output sample.
        bias: whether to learn an additive bias. Default: True.

    Shape:
        - Input: ``(*, H_in)``; Output: ``(*, out_features)``.

    Example::

        >>> m = ds.nn.LazyLinear(30)
        >>> m(ds.randn(128, 20)).shape
        deepseek.Size([128, 30])
    """

    cls_to_become = Linear

    def __init__(self, out_features: int, bias: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__(0, 0, False)
        self.weight = _uninitialized(device, dtype)
        self.out_features = out_features
        if bias:
            self.bias = _uninitialized(device, dtype)

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.in_features != 0:
            super().reset_parameters()

    def initialize_parameters(self, input: Tensor, *args: Any, **kwargs: Any) -> None:
        if self.has_uninitialized_params():
            if input.dim() == 0:
                raise op_error(IndexError, type(self).__name__, "expected an input with at "
                               "least 1 dimension (the features), got a 0-d tensor")
            with no_grad():
                self.in_features = input.shape[-1]
                self.weight.materialize((self.out_features, self.in_features))
                if self.bias is not None:
                    self.bias.materialize((self.out_features,))
                self.reset_parameters()
        if self.in_features == 0:  # materialized by load_state_dict
            self.in_features = self.weight.shape[-1]


# ---------------------------------------------------------------- convolutions
class _LazyConvMixin(LazyModuleMixin):
    """In-channel inference shared by the lazy convolutions."""

    def _make_lazy(self, out_channels: int, bias: bool, device: Any, dtype: Any) -> None:
        self.weight = _uninitialized(device, dtype)
        self.out_channels = out_channels
        if bias:
            self.bias = _uninitialized(device, dtype)

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.in_channels != 0:
            super().reset_parameters()

    def initialize_parameters(self, input: Tensor, *args: Any, **kwargs: Any) -> None:
        name = type(self).__name__
        if self.has_uninitialized_params():
            unbatched = self._dims + 1
            if input.dim() not in (unbatched, unbatched + 1):
                raise op_error(RuntimeError, name, f"Expected {unbatched}D (unbatched) or "
                               f"{unbatched + 1}D (batched) input to {name}, but got input of "
                               f"size: {list(input.shape)}", input)
            in_channels = input.shape[input.dim() - unbatched]
            if in_channels % self.groups != 0:
                raise op_error(ValueError, name, f"in_channels must be divisible by groups (got "
                               f"in_channels={in_channels}, groups={self.groups})", input)
            self.in_channels = in_channels
            if self._transposed:
                shape = (in_channels, self.out_channels // self.groups) + self.kernel_size
            else:
                shape = (self.out_channels, in_channels // self.groups) + self.kernel_size
            with no_grad():
                self.weight.materialize(shape)
                if self.bias is not None:
                    self.bias.materialize((self.out_channels,))
                self.reset_parameters()
        if self.in_channels == 0:  # materialized by load_state_dict
            size = self.weight.shape[0 if self._transposed else 1]
            self.in_channels = size if self._transposed else size * self.groups


class _LazyConv(_LazyConvMixin, _Conv):
    def __init__(self, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 dilation: Any = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", device: Any = None, dtype: Any = None) -> None:
        super().__init__(0, 0, kernel_size, stride, padding, dilation, groups, False,
                         padding_mode, device, dtype)
        self._make_lazy(out_channels, bias, device, dtype)


class _LazyConvTranspose(_LazyConvMixin, _ConvTranspose):
    def __init__(self, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 output_padding: Any = 0, groups: int = 1, bias: bool = True,
                 dilation: Any = 1, padding_mode: str = "zeros", device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__(0, 0, kernel_size, stride, padding, output_padding, groups, False,
                         dilation, padding_mode, device, dtype)
        self._make_lazy(out_channels, bias, device, dtype)


class LazyConv1d(_LazyConv):
    """A ``Conv1d`` whose ``in_channels`` is inferred from the first input's channel dim.

    Args: as ``Conv1d`` without ``in_channels``.

    Example::

        >>> ds.nn.LazyConv1d(8, 3)(ds.randn(2, 4, 10)).shape
        deepseek.Size([2, 8, 8])
    """

    _dims = 1
    cls_to_become = Conv1d


class LazyConv2d(_LazyConv):
    """A ``Conv2d`` whose ``in_channels`` is inferred. Args: as ``Conv2d`` without
    ``in_channels``."""

    _dims = 2
    cls_to_become = Conv2d


class LazyConv3d(_LazyConv):
    """A ``Conv3d`` whose ``in_channels`` is inferred. Args: as ``Conv3d`` without
    ``in_channels``."""

    _dims = 3
    cls_to_become = Conv3d


class LazyConvTranspose1d(_LazyConvTranspose):
    """A ``ConvTranspose1d`` whose ``in_channels`` is inferred. Args: as ``ConvTranspose1d``
    without ``in_channels``."""

    _dims = 1
    cls_to_become = ConvTranspose1d


class LazyConvTranspose2d(_LazyConvTranspose):
    """A ``ConvTranspose2d`` whose ``in_channels`` is inferred. Args: as ``ConvTranspose2d``
    without ``in_channels``."""

    _dims = 2
    cls_to_become = ConvTranspose2d


class LazyConvTranspose3d(_LazyConvTranspose):
    """A ``ConvTranspose3d`` whose ``in_channels`` is inferred. Args: as ``ConvTranspose3d``
    without ``in_channels``."""

    _dims = 3
    cls_to_become = ConvTranspose3d


# ---------------------------------------------------------------- normalization
class _LazyNormBase(LazyModuleMixin, _NormBase):
    """``num_features`` inferred from the first input's channel dim (dim 1)."""

    def __init__(self, eps: float = 1e-5, momentum: Any = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device: Any = None, dtype: Any = None, *,
                 bias: bool = True) -> None:
        # built without weights or statistics, then given uninitialized ones
        super().__init__(0, eps, momentum, False, False, device, dtype)
        self.affine = affine
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = _uninitialized(device, dtype)
            if bias:
                self.bias = _uninitialized(device, dtype)
        if track_running_stats:
            self.running_mean = UninitializedBuffer(device=device, dtype=dtype)
            self.running_var = UninitializedBuffer(device=device, dtype=dtype)
            self.num_batches_tracked = tensor(0, dtype=_dt.int64, device=device)

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.num_features != 0:
            super().reset_parameters()

    def _feature_dim(self, input: Tensor) -> int:
        if input.dim() < 2:
            raise op_error(IndexError, type(self).__name__, "expected an input with a channel "
                           f"dim 1, got {input.dim()}D input", input)
        return 1

    def initialize_parameters(self, input: Tensor, *args: Any, **kwargs: Any) -> None:
        if self.has_uninitialized_params():
            self.num_features = input.shape[self._feature_dim(input)]
            with no_grad():
                for t in itertools.chain(self._parameters.values(), self._buffers.values()):
                    if is_lazy(t):
                        t.materialize((self.num_features,))
                self.reset_parameters()
        if self.num_features == 0:  # materialized by load_state_dict
            loaded = self.weight if self.weight is not None else self.running_mean
            if loaded is not None:
                self.num_features = loaded.shape[0]


class _LazyBatchNorm(_LazyNormBase, _BatchNorm):
    pass


class LazyBatchNorm1d(_LazyBatchNorm):
    """A ``BatchNorm1d`` whose ``num_features`` is inferred from the first input.

    Args: as ``BatchNorm1d`` without ``num_features``.

    Example::

        >>> bn = ds.nn.LazyBatchNorm1d()
        >>> bn(ds.randn(8, 4)).shape, bn.num_features
        (deepseek.Size([8, 4]), 4)
    """

    _ranks = BatchNorm1d._ranks
    cls_to_become = BatchNorm1d


class LazyBatchNorm2d(_LazyBatchNorm):
    """A ``BatchNorm2d`` whose ``num_features`` is inferred. Args: as ``BatchNorm2d`` without
    ``num_features``."""

    _ranks = BatchNorm2d._ranks
    cls_to_become = BatchNorm2d


class LazyBatchNorm3d(_LazyBatchNorm):
    """A ``BatchNorm3d`` whose ``num_features`` is inferred. Args: as ``BatchNorm3d`` without
    ``num_features``."""

    _ranks = BatchNorm3d._ranks
    cls_to_become = BatchNorm3d


class _LazyInstanceNorm(_LazyNormBase, _InstanceNorm):
    def _feature_dim(self, input: Tensor) -> int:
        # unbatched inputs have their channels first (PyTorch reads dim 1 regardless)
        if input.dim() == self._ranks[0]:
            return 0
        return super()._feature_dim(input)


class LazyInstanceNorm1d(_LazyInstanceNorm):
    """An ``InstanceNorm1d`` whose ``num_features`` is inferred from dim 1 of the first input.

    Args: eps (1e-5), momentum (0.1), affine (True), track_running_stats (True), as PyTorch's
    lazy instance norms (the eager ``InstanceNorm1d`` defaults both to False).
    """

    _ranks = InstanceNorm1d._ranks
    cls_to_become = InstanceNorm1d


class LazyInstanceNorm2d(_LazyInstanceNorm):
    """An ``InstanceNorm2d`` whose ``num_features`` is inferred. Args: as
    ``LazyInstanceNorm1d``."""

    _ranks = InstanceNorm2d._ranks
    cls_to_become = InstanceNorm2d


class LazyInstanceNorm3d(_LazyInstanceNorm):
    """An ``InstanceNorm3d`` whose ``num_features`` is inferred. Args: as
    ``LazyInstanceNorm1d``."""

    _ranks = InstanceNorm3d._ranks
    cls_to_become = InstanceNorm3d

