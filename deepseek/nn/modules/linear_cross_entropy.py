"""``LinearCrossEntropyLoss``, a ``Linear`` head and its cross entropy in one module, and
``LinearCrossEntropyOptions``, which opts ``F.linear_cross_entropy`` into its chunked path."""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Optional

from ... import dtypes as _dt
from ...tensor import Tensor
from .. import functional as F
from .linear import Linear
from .loss import _WeightedLoss

__all__ = ["LinearCrossEntropyLoss", "LinearCrossEntropyOptions"]

_ACC_DTYPES = (_dt.float16, _dt.bfloat16, _dt.float32, _dt.float64)


@dataclasses.dataclass(frozen=True, slots=True)
class LinearCrossEntropyOptions:
    """Configuration of the chunked :func:`~deepseek.nn.functional.linear_cross_entropy`,
    which processes the batch in chunks so the ``(N, C)`` logits are never materialized.

    Args:
        allow_retain_graph: 'mean'/'sum' hand their precomputed gradients to the first
            backward, scaled in place, so a second backward raises; True keeps them (one more
            gradient-sized allocation per backward). 'none' recomputes and ignores this.
        batch_chunk_size: rows per chunk (default: from ``chunking_method``, or one chunk when
            that is None). Must agree with an explicit ``chunking_method``.
        chunking_method: ``"auto"`` (``batch_chunk_size`` when given, else ``"aspect_ratio"``
            for float16/bfloat16 and ``"aspect_ratio:2"`` otherwise, PyTorch's CPU picks),
            ``"aspect_ratio"`` (a chunk's logits about the size of the input:
            ``next_pow2(ceil(N / ceil(C / in_features)))`` rows), ``"aspect_ratio:k"`` (that
            divided by ``k >= 1``) or None (use ``batch_chunk_size``).
        acc_policy: ``"auto"`` | ``"accurate"`` | ``"balanced"`` | ``"compact"``, accepted for
            PyTorch compatibility. deepseek has one policy, PyTorch's ``"accurate"`` on the
            CPU: logits, softmax and every gradient accumulator in the accumulation dtype, the
            weight gradient summed into one ``(C, in_features)`` buffer.
        acc_dtype: None, or one of float16, bfloat16, float32, float64: the input's dtype, or
            float32 for float16/bfloat16 inputs. deepseek accumulates float16/bfloat16 inputs in
            float32 whatever is given, and others in their own dtype.

    Example:
        >>> opts = ds.nn.LinearCrossEntropyOptions(batch_chunk_size=1024)
        >>> loss = ds.nn.LinearCrossEntropyLoss(64, 32000, options=opts)
    """

    allow_retain_graph: bool = False
    batch_chunk_size: Optional[int] = None
    chunking_method: Optional[str] = "auto"
    acc_policy: str = "auto"
    acc_dtype: Any = None

    def __post_init__(self) -> None:
        if self.acc_policy not in ("auto", "accurate", "balanced", "compact"):
            raise ValueError(f"invalid acc_policy: {self.acc_policy!r}")
        method = self.chunking_method
        if method not in (None, "auto"):
            name, colon, factor = str(method).partition(":")
            valid_factor = not colon or factor.isdigit() and int(factor) > 0
            if not (isinstance(method, str) and name == "aspect_ratio" and valid_factor):
                raise ValueError(f"invalid chunking_method: {method!r}")
        size = self.batch_chunk_size
        if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
            raise ValueError(f"batch_chunk_size must be positive int or None, got {size!r}")
        if self.acc_dtype is not None:
            try:
                acc = _dt.to_dtype(self.acc_dtype)
            except TypeError:
                acc = None
            if acc not in _ACC_DTYPES:
                raise ValueError("acc_dtype must be one of {None, deepseek.float16, "
                                 "deepseek.bfloat16, deepseek.float32, deepseek.float64}, got "
                                 f"{self.acc_dtype!r}. Pass acc_dtype=None to let the op pick "
                                 "automatically.")
            object.__setattr__(self, "acc_dtype", acc)


class LinearCrossEntropyLoss(_WeightedLoss):
    """Cross entropy of ``input`` mapped to logits by a ``Linear`` layer, against ``target``.

    The layer is ``self.linear``, of ``in_features`` to ``C * prod(out_features)`` (flat, so
    its state_dict keys are ``linear.weight``/``linear.bias``); ``forward`` reshapes it to
    ``(C, *out_features, in_features)`` and calls
    :func:`~deepseek.nn.functional.linear_cross_entropy`.

    Args:
        in_features: size of each input sample. num_classes: ``C``.
        out_features: ``(d1, ..., dK)`` for a K-dimensional loss. Default: ``()``.
        bias: whether the layer adds a learnable bias. Default: False.
        device, dtype: of the layer's parameters.
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``. weight: per-class rescaling ``(C)``.
        ignore_index: a class index that contributes nothing; None means -100.
        label_smoothing: in ``[0, 1]``.
        options: None (reference) or a :class:`LinearCrossEntropyOptions` (chunked).

    Shape:
        - Input: ``(in_features)`` or ``(N, in_features)``.
        - Target: class indices ``()``, ``(N)`` or ``(N, *out_features)``, or class
          probabilities ``(C)`` or ``(N, C, *out_features)``.
        - Output: scalar, or with ``reduction='none'`` the target's shape (without ``C``).

    Example::

        >>> loss = ds.nn.LinearCrossEntropyLoss(5, 10, out_features=(4, 3))
        >>> loss(ds.randn(2, 5), ds.randint(0, 10, (2, 4, 3))).shape
        deepseek.Size([])
    """

    def __init__(self, in_features: int, num_classes: int, *, out_features: tuple = (),
                 bias: bool = False, device: Any = None, dtype: Any = None,
                 reduction: str = "mean", weight: Optional[Tensor] = None,
                 ignore_index: Optional[int] = None, label_smoothing: float = 0.0,
                 options: Optional[LinearCrossEntropyOptions] = None) -> None:
        if weight is not None and tuple(weight.shape) != (num_classes,):
            raise RuntimeError(f"[LinearCrossEntropyLoss] expected weight shape to be "
                               f"{(num_classes,)}, got {tuple(weight.shape)}")
        if not 0.0 <= label_smoothing <= 1.0:
            raise RuntimeError("[LinearCrossEntropyLoss] expected label_smoothing to be in "
                               f"range [0, 1], got {label_smoothing}")
        super().__init__(weight, reduction=reduction)
        self.num_classes = num_classes
        self.out_features = tuple(out_features)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing
        self.linear = Linear(in_features, math.prod(self.out_features, start=num_classes),
                             bias=bias, device=device, dtype=dtype)
        self.options = options

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        shape = (self.num_classes, *self.out_features)
        bias = self.linear.bias
        return F.linear_cross_entropy(
            input, self.linear.weight.reshape(*shape, self.linear.in_features), target,
            linear_bias=None if bias is None else bias.reshape(shape), weight=self.weight,
            reduction=self.reduction, ignore_index=self.ignore_index,
            label_smoothing=self.label_smoothing, options=self.options)

    def extra_repr(self) -> str:
        return (f"in_features={self.linear.in_features}, num_classes={self.num_classes}, "
                f"out_features={self.out_features}, bias={self.linear.bias is not None}, "
                f"reduction={self.reduction}, ignore_index={self.ignore_index}, "
                f"label_smoothing={self.label_smoothing}, options={self.options}")
