"""Batch normalization: ``BatchNorm1d/2d/3d`` with running statistics, and ``SyncBatchNorm``."""

from __future__ import annotations

from typing import Any, Optional

from ... import dtypes as _dt
from ..._creation import empty, ones, tensor, zeros
from ...autograd.grad_mode import no_grad
from ...ops.movement import cat
from ..._errors import op_error
from ...tensor import Tensor
from .. import functional as F
from .. import init
from ..parameter import Parameter
from .module import Module

__all__ = ["BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "SyncBatchNorm"]


class _NormBase(Module):
    """Affine parameters and running statistics shared by batch and instance norm."""

    _ranks: tuple = ()  # the input ranks the layer accepts

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: Optional[float] = 0.1,
                 affine: bool = True, track_running_stats: bool = True, device: Any = None,
                 dtype: Any = None, *, bias: bool = True) -> None:
        super().__init__()
        kw = {"device": device, "dtype": dtype}
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = Parameter(empty(num_features, **kw))
            if bias:
                self.bias = Parameter(empty(num_features, **kw))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", zeros(num_features, **kw))
            self.register_buffer("running_var", ones(num_features, **kw))
            self.register_buffer("num_batches_tracked", tensor(0, dtype=_dt.int64,
                                                               device=device))
        else:
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(name, None)
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            self.running_mean.zero_()
            self.running_var.fill_(1)
            self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def _check_input_dim(self, input: Tensor) -> None:
        if input.dim() not in self._ranks:
            expected = " or ".join(f"{n}D" for n in self._ranks)
            raise op_error(ValueError, type(self).__name__, f"expected {expected} input (got "
                           f"{input.dim()}D input)", input)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


class _BatchNorm(_NormBase):
    def _momentum(self) -> Any:
        """The running-stat update factor of this forward (counting the batch in training)."""
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:  # a cumulative moving average
                # (a float64 tensor, not a Python float: ds.jit reads the count at every run)
                factor = 1.0 / self.num_batches_tracked.double()
        return factor

    def forward(self, input: Tensor) -> Tensor:
        self._check_input_dim(input)
        factor = self._momentum()
        use_batch_stats = self.training or (self.running_mean is None
                                            and self.running_var is None)
        use_running = not self.training or self.track_running_stats
        return F.batch_norm(input, self.running_mean if use_running else None,
                            self.running_var if use_running else None, self.weight, self.bias,
                            use_batch_stats, factor, self.eps)


class BatchNorm1d(_BatchNorm):
    """Batch normalization over ``(N, C)`` or ``(N, C, L)`` inputs.

    Args:
        num_features: ``C``. eps: default 1e-5. momentum: running-stat update factor
        (default 0.1; None for a cumulative average). affine: learn ``weight``/``bias``.
        track_running_stats: keep running mean/var (used in eval). bias: learn the bias
        (keyword only, with affine). Default: True.

    Example::

        >>> bn = ds.nn.BatchNorm1d(4)
        >>> bn(ds.randn(8, 4)).shape
        deepseek.Size([8, 4])
    """

    _ranks = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalization over ``(N, C, H, W)`` inputs. Args: as ``BatchNorm1d``."""

    _ranks = (4,)


class BatchNorm3d(_BatchNorm):
    """Batch normalization over ``(N, C, D, H, W)`` inputs. Args: as ``BatchNorm1d``."""

    _ranks = (5,)


class SyncBatchNorm(_BatchNorm):
    """Batch normalization over ``(N, C, *)`` inputs of any rank whose batch statistics are,
    in training, those of the whole batch across the processes of ``process_group``, as
    ``torch.nn.SyncBatchNorm``.

    With ``ds.distributed`` initialized and more than one process in the group, training
    forwards combine the per-process sums (two all-reduces: the mean, then the squared
    deviations from it, so batches of different sizes combine exactly) and backward
    all-reduces their gradients, so each process's gradient is that of the whole batch.
    Otherwise (eval, or a single process) it normalizes as ``BatchNorm`` does.

    Args:
        num_features: ``C``. eps: default 1e-5. momentum: running-stat update factor
            (default 0.1; None for a cumulative average). affine: learn ``weight``/``bias``.
        track_running_stats: keep running mean/var (used in eval).
        process_group: the group whose batches are combined (None: all processes).
        bias: learn the bias (keyword only, with affine). Default: True.

    Shape:
        Input: ``(N, C, *)``, at least 2-D. Output: the same.

    Example:
        >>> net = ds.nn.SyncBatchNorm.convert_sync_batchnorm(
        ...     ds.nn.Sequential(ds.nn.Linear(4, 3), ds.nn.BatchNorm1d(3)))
        >>> net(ds.randn(8, 4)).shape
        deepseek.Size([8, 3])
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: Optional[float] = 0.1,
                 affine: bool = True, track_running_stats: bool = True,
                 process_group: Any = None, device: Any = None, dtype: Any = None, *,
                 bias: bool = True) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device,
                         dtype, bias=bias)
        self.process_group = process_group

    def forward(self, input: Tensor) -> Tensor:
        from ... import distributed as dist

        if not (self.training and dist.is_initialized()
                and dist.get_world_size(self.process_group) > 1):
            return super().forward(input)
        self._check_input_dim(input)
        factor = self._momentum()
        dtype = input.dtype
        low = dtype in (_dt.float16, _dt.bfloat16)
        if low:  # statistics in float32, as torch's
            input = input.float()
        reduce = dist.nn.functional.all_reduce
        dims = [0] + list(range(2, input.dim()))
        shape = [1, -1] + [1] * (input.dim() - 2)
        count = tensor([input.numel() / input.shape[1]], dtype=input.dtype)
        sums = reduce(cat([input.sum(dims), count]), group=self.process_group)
        total = sums[-1]
        mean = sums[:-1] / total
        centered = input - mean.reshape(shape)
        var = reduce((centered * centered).sum(dims), group=self.process_group) / total
        out = centered * (var + self.eps).rsqrt().reshape(shape)
        if self.weight is not None:
            out = out * self.weight.reshape(shape)
        if self.bias is not None:
            out = out + self.bias.reshape(shape)
        if self.track_running_stats and self.running_mean is not None:
            with no_grad():  # (tensor arithmetic, not float(total): ds.jit compiles this)
                unbiased = var * total / (total - 1).clamp(min=1)
                self.running_mean.mul_(1 - factor).add_(mean * factor)
                self.running_var.mul_(1 - factor).add_(unbiased * factor)
        return out.to(dtype) if low else out

    def _check_input_dim(self, input: Tensor) -> None:
        if input.dim() < 2:
            raise op_error(ValueError, "SyncBatchNorm", f"expected at least 2D input (got "
                           f"{input.dim()}D input)", input)
        if input.shape[1] == 0:
            raise op_error(ValueError, "SyncBatchNorm", "SyncBatchNorm number of input "
                           "channels should be non-zero", input)

    @classmethod
    def convert_sync_batchnorm(cls, module: Module, process_group: Any = None) -> Module:
        """``module`` with every ``BatchNorm*d`` in it (itself included) replaced by a
        ``SyncBatchNorm`` that takes over its parameters, running statistics and mode.

        Args:
            module: the module to convert.
            process_group: given to every new layer. Default: None (all processes).

        Example:
            >>> bn = ds.nn.BatchNorm2d(3)
            >>> ds.nn.SyncBatchNorm.convert_sync_batchnorm(bn).weight is bn.weight
            True
        """
        converted = module
        if isinstance(module, _BatchNorm):
            converted = cls(module.num_features, module.eps, module.momentum, module.affine,
                            module.track_running_stats, process_group,
                            bias=module.bias is not None)
            if module.affine:
                converted.weight = module.weight
                converted.bias = module.bias
            converted.running_mean = module.running_mean
            converted.running_var = module.running_var
            converted.num_batches_tracked = module.num_batches_tracked
            converted.training = module.training
            if hasattr(module, "qconfig"):
                converted.qconfig = module.qconfig
        for name, child in module.named_children():
            converted.add_module(name, cls.convert_sync_batchnorm(child, process_group))
        return converted
