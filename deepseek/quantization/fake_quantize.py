"""Fake quantization: round onto the integer grid and back in float, for quantization-aware
training; gradients pass straight through where the value was inside the range."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from .. import _creation
from ..autograd.function import Function, FunctionCtx
from ..nn.modules.module import Module
from ..tensor import Tensor
from . import _qmath
from ._qtypes import as_qdtype, per_channel_symmetric, per_tensor_symmetric, qint8, quint8
from .observer import (MovingAverageMinMaxObserver, MovingAveragePerChannelMinMaxObserver,
                       _array, _buffer, _with_args)

__all__ = ["fake_quantize_per_tensor_affine", "fake_quantize_per_channel_affine",
           "FakeQuantizeBase", "FakeQuantize", "FusedMovingAvgObsFakeQuantize",
           "default_fake_quant", "default_weight_fake_quant",
           "default_per_channel_weight_fake_quant", "default_fused_act_fake_quant",
           "default_fused_wt_fake_quant", "default_fused_per_channel_wt_fake_quant",
           "disable_fake_quant", "enable_fake_quant", "disable_observer", "enable_observer"]


class _FakeQuantizeFunction(Function):
    """Forward: fake-quantized values; backward: the gradient where the value was in range."""

    @staticmethod
    def forward(ctx: FunctionCtx, input: Tensor, scale: np.ndarray, zero_point: np.ndarray,
                quant_min: int, quant_max: int, axis: Optional[int]) -> Tensor:
        x = np.asarray(input.detach().numpy())
        out, mask = _qmath.fake_quantize(x, scale, zero_point, quant_min, quant_max, axis)
        ctx.save_for_backward(_creation.from_numpy(mask.astype(x.dtype)))
        return _creation.from_numpy(out)

    @staticmethod
    def backward(ctx: FunctionCtx, grad: Tensor) -> tuple:
        (mask,) = ctx.saved_tensors
        return grad * mask, None, None, None, None, None


def _check_range(op: str, input: Tensor, quant_min: int, quant_max: int) -> None:
    if not input.is_floating_point():
        raise TypeError(f"[{op}] expects a floating-point input, got {input.dtype}")
    if quant_min > quant_max:
        raise ValueError(f"[{op}] quant_min ({quant_min}) must be less than or equal to "
                         f"quant_max ({quant_max})")


def _as_array(value: Any, dtype: type) -> np.ndarray:
    if isinstance(value, Tensor):
        return np.asarray(value.detach().numpy()).astype(dtype)
    return np.asarray(value, dtype)


def fake_quantize_per_tensor_affine(input: Tensor, scale: Any, zero_point: Any, quant_min: int,
                                    quant_max: int) -> Tensor:
    """``(clamp(round(input / scale) + zero_point, quant_min, quant_max) - zero_point) * scale``,
    with the straight-through gradient (1 inside the range, 0 where it clamped).

    Args:
        input: a floating-point tensor.
        scale: float or one-element tensor. zero_point: int or one-element tensor.
        quant_min, quant_max: the integer range.

    Example::

        >>> x = ds.tensor([-1.0, 0.3, 9.0], requires_grad=True)
        >>> y = fake_quantize_per_tensor_affine(x, 0.1, 0, 0, 255)
        >>> y.sum().backward(); x.grad
        tensor([0., 1., 1.])
    """
    op = "fake_quantize_per_tensor_affine"
    _check_range(op, input, quant_min, quant_max)
    scale, zero_point = _as_array(scale, np.float32), _as_array(zero_point, np.int64)
    if scale.size != 1 or zero_point.size != 1:
        raise ValueError(f"[{op}] expects a single scale and zero_point, got shapes "
                         f"{list(scale.shape)} and {list(zero_point.shape)}; use "
                         "fake_quantize_per_channel_affine for per-channel qparams")
    return _FakeQuantizeFunction.apply(input, scale.reshape(()), zero_point.reshape(()),
                                       quant_min, quant_max, None)


def fake_quantize_per_channel_affine(input: Tensor, scale: Tensor, zero_point: Tensor,
                                     axis: int, quant_min: int, quant_max: int) -> Tensor:
    """Per-channel :func:`fake_quantize_per_tensor_affine`: ``scale[c]``/``zero_point[c]`` for
    slice ``c`` along ``axis``.

    Args:
        input: a floating-point tensor.
        scale, zero_point: 1-d tensors of length ``input.size(axis)``.
        axis: the channel dimension. quant_min, quant_max: the integer range.
    """
    op = "fake_quantize_per_channel_affine"
    _check_range(op, input, quant_min, quant_max)
    scale, zero_point = _as_array(scale, np.float32), _as_array(zero_point, np.int64)
    if not -input.dim() <= axis < input.dim():
        raise IndexError(f"[{op}] axis {axis} is out of range for a {input.dim()}-d input")
    axis = axis % input.dim()
    if scale.shape != (input.shape[axis],) or zero_point.shape != scale.shape:
        raise ValueError(f"[{op}] expected scale and zero_point of shape [{input.shape[axis]}] "
                         f"(input.size({axis})), got {list(scale.shape)} and "
                         f"{list(zero_point.shape)}")
    return _FakeQuantizeFunction.apply(input, scale, zero_point, quant_min, quant_max, axis)


class FakeQuantizeBase(Module):
    """Base of fake-quantize modules: the ``fake_quant_enabled``/``observer_enabled`` switches."""

    with_args = classmethod(_with_args)

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("fake_quant_enabled", _buffer([1], np.uint8))
        self.register_buffer("observer_enabled", _buffer([1], np.uint8))

    def enable_fake_quant(self, enabled: bool = True) -> None:
        self.fake_quant_enabled = _buffer([1 if enabled else 0], np.uint8)

    def disable_fake_quant(self) -> None:
        self.enable_fake_quant(False)

    def enable_observer(self, enabled: bool = True) -> None:
        self.observer_enabled = _buffer([1 if enabled else 0], np.uint8)

    def disable_observer(self) -> None:
        self.enable_observer(False)

    def _flag(self, name: str) -> bool:
        return bool(_array(getattr(self, name))[0])


class FakeQuantize(FakeQuantizeBase):
    """Observes its input with ``observer`` (while ``observer_enabled``) and fake-quantizes it
    with the observed qparams (while ``fake_quant_enabled``).

    Args:
        observer: the observer class or ``with_args`` factory (default
            :class:`MovingAverageMinMaxObserver`).
        quant_min, quant_max: the integer range. observer_kwargs: passed to ``observer``.

    Example::

        >>> fq = FakeQuantize(quant_min=0, quant_max=255)
        >>> fq(ds.randn(4, 4)).shape
        deepseek.Size([4, 4])
    """

    def __init__(self, observer: Any = MovingAverageMinMaxObserver,
                 quant_min: Optional[int] = None, quant_max: Optional[int] = None,
                 is_dynamic: bool = False, **observer_kwargs: Any) -> None:
        super().__init__()
        if quant_min is not None and quant_max is not None:
            if quant_min > quant_max:
                raise ValueError(f"[FakeQuantize] quant_min ({quant_min}) must be less than or "
                                 f"equal to quant_max ({quant_max})")
            dtype = as_qdtype(observer_kwargs.get("dtype", quint8), "FakeQuantize")
            if not (dtype.qmin <= quant_min and quant_max <= dtype.qmax):
                raise ValueError(f"[FakeQuantize] quant_min/quant_max [{quant_min}, "
                                 f"{quant_max}] are out of the range of {dtype.name}")
            observer_kwargs.update(quant_min=quant_min, quant_max=quant_max)
        observer_kwargs["is_dynamic"] = is_dynamic
        self.activation_post_process = observer(**observer_kwargs)
        post = self.activation_post_process
        self.quant_min, self.quant_max = post.quant_min, post.quant_max
        self.is_dynamic = post.is_dynamic
        self.register_buffer("scale", _buffer([1.0]))
        self.register_buffer("zero_point", _buffer([0], np.int32))
        self.dtype = post.dtype
        self.qscheme = post.qscheme
        self.ch_axis = getattr(post, "ch_axis", -1)
        self.is_per_channel = self.qscheme.is_per_channel

    def calculate_qparams(self) -> tuple:
        return self.activation_post_process.calculate_qparams()

    def forward(self, X: Tensor) -> Tensor:
        if self._flag("observer_enabled"):
            self.activation_post_process(X.detach())
            self.scale, self.zero_point = self.calculate_qparams()
        if self._flag("fake_quant_enabled"):
            return self._fake_quantize(X)
        return X

    def _fake_quantize(self, X: Tensor) -> Tensor:
        post = self.activation_post_process
        if self.is_per_channel:
            return fake_quantize_per_channel_affine(X, self.scale, self.zero_point,
                                                    self.ch_axis, post.quant_min,
                                                    post.quant_max)
        return fake_quantize_per_tensor_affine(X, self.scale, self.zero_point, post.quant_min,
                                               post.quant_max)

    def extra_repr(self) -> str:
        return (f"fake_quant_enabled={self._flag('fake_quant_enabled')}, "
                f"observer_enabled={self._flag('observer_enabled')}, "
                f"quant_min={self.quant_min}, quant_max={self.quant_max}, dtype={self.dtype}, "
                f"qscheme={self.qscheme}, ch_axis={self.ch_axis}, "
                f"scale={_array(self.scale)}, zero_point={_array(self.zero_point)}")


class FusedMovingAvgObsFakeQuantize(FakeQuantize):
    """:class:`FakeQuantize` with a moving-average min/max observer, computed as PyTorch's
    fused ``fused_moving_avg_obs_fake_quant`` op does: the average in double precision and the
    qparams by fbgemm's rule (not the observer's ``calculate_qparams``), so QAT with
    ``get_default_qat_qconfig`` matches PyTorch step for step."""

    def __init__(self, observer: Any = MovingAverageMinMaxObserver, quant_min: int = 0,
                 quant_max: int = 255, **observer_kwargs: Any) -> None:
        super().__init__(observer, quant_min, quant_max, **observer_kwargs)
        post = self.activation_post_process
        if not isinstance(post, (MovingAverageMinMaxObserver,
                                 MovingAveragePerChannelMinMaxObserver)):
            raise TypeError("[FusedMovingAvgObsFakeQuantize] only works with "
                            f"MovingAverageMinMaxObserver, got {type(post).__name__}")
        self.register_buffer("fake_quant_enabled", _buffer([1], np.int64))
        self.register_buffer("observer_enabled", _buffer([1], np.int64))
        self.is_symmetric_quant = self.qscheme.is_symmetric

    def forward(self, X: Tensor) -> Tensor:
        if self._flag("observer_enabled"):
            self._observe(np.asarray(X.detach().numpy()).astype(np.float32))
        if self._flag("fake_quant_enabled"):
            return self._fake_quantize(X)
        return X

    def _observe(self, x: np.ndarray) -> None:
        post = self.activation_post_process
        if self.is_per_channel:
            rows = np.moveaxis(x, self.ch_axis, 0).reshape(x.shape[self.ch_axis], -1)
            low, high = rows.min(axis=1), rows.max(axis=1)
        else:
            low, high = np.atleast_1d(x.min()), np.atleast_1d(x.max())
        old_low = np.atleast_1d(_array(post.min_val)).astype(np.float32)
        old_high = np.atleast_1d(_array(post.max_val)).astype(np.float32)
        if old_low.size == 0:
            old_low = np.full(low.shape, np.inf, np.float32)
            old_high = np.full(high.shape, -np.inf, np.float32)
        c = post.averaging_constant
        new_low = np.where(np.isinf(old_low), low,
                           old_low.astype(np.float64) + c * (low - old_low).astype(np.float64))
        new_high = np.where(np.isinf(old_high), high,
                            old_high.astype(np.float64)
                            + c * (high - old_high).astype(np.float64))
        new_low, new_high = new_low.astype(np.float32), new_high.astype(np.float32)
        shape = () if not self.is_per_channel else new_low.shape
        post.min_val, post.max_val = _buffer(new_low.reshape(shape)), _buffer(
            new_high.reshape(shape))
        pairs = [_qmath.choose_qparams(lo, hi, post.quant_min, post.quant_max,
                                       preserve_sparsity=self.is_symmetric_quant)
                 for lo, hi in zip(new_low, new_high)]
        self.scale = _buffer([s for s, _ in pairs])
        self.zero_point = _buffer([z for _, z in pairs], np.int32)


def _set(mod: Module, method: str) -> None:
    if isinstance(mod, FakeQuantizeBase):
        getattr(mod, method)()


def disable_fake_quant(mod: Module) -> None:
    """Turn fake quantization off in ``mod`` (use as ``model.apply(disable_fake_quant)``)."""
    _set(mod, "disable_fake_quant")


def enable_fake_quant(mod: Module) -> None:
    """Turn fake quantization on in ``mod`` (use as ``model.apply(enable_fake_quant)``)."""
    _set(mod, "enable_fake_quant")


def disable_observer(mod: Module) -> None:
    """Freeze the qparams of ``mod`` (use as ``model.apply(disable_observer)``)."""
    _set(mod, "disable_observer")


def enable_observer(mod: Module) -> None:
    """Let ``mod`` update its qparams again (use as ``model.apply(enable_observer)``)."""
    _set(mod, "enable_observer")


default_fake_quant = FakeQuantize.with_args(
    observer=MovingAverageMinMaxObserver, quant_min=0, quant_max=255, dtype=quint8,
    reduce_range=True)
default_weight_fake_quant = FakeQuantize.with_args(
    observer=MovingAverageMinMaxObserver, quant_min=-128, quant_max=127, dtype=qint8,
    qscheme=per_tensor_symmetric, reduce_range=False)
default_per_channel_weight_fake_quant = FakeQuantize.with_args(
    observer=MovingAveragePerChannelMinMaxObserver, quant_min=-128, quant_max=127,
    dtype=qint8, qscheme=per_channel_symmetric, reduce_range=False, ch_axis=0)
default_fused_act_fake_quant = FusedMovingAvgObsFakeQuantize.with_args(
    observer=MovingAverageMinMaxObserver, quant_min=0, quant_max=255, dtype=quint8)
default_fused_wt_fake_quant = FusedMovingAvgObsFakeQuantize.with_args(
    observer=MovingAverageMinMaxObserver, quant_min=-128, quant_max=127, dtype=qint8,
    qscheme=per_tensor_symmetric)
default_fused_per_channel_wt_fake_quant = FusedMovingAvgObsFakeQuantize.with_args(
    observer=MovingAveragePerChannelMinMaxObserver, quant_min=-128, quant_max=127,
    dtype=qint8, qscheme=per_channel_symmetric)
