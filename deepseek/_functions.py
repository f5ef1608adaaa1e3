"""``ds.*`` front doors composed from existing ops and settings (no primitives of their own):
``fill``, ``put``, ``can_cast``, ``is_inference``, ``ctc_loss`` … as ``torch.*`` spells them."""

from __future__ import annotations

from typing import Any, Optional

from . import dtypes as _dt
from ._errors import op_error
from .ops._opdef import tensor_method
from .tensor import Tensor

__all__ = ["can_cast", "is_inference", "fill", "put", "is_distributed", "bilinear", "ctc_loss",
           "get_num_interop_threads", "set_num_interop_threads"]


def can_cast(from_: Any, to: Any) -> bool:
    """Whether PyTorch's casting rules allow ``from_`` to become ``to`` in an op with an output
    (no floating to integral, no complex to real, nothing but bool to bool).

    Example:
        >>> deepseek.can_cast(deepseek.int32, deepseek.float32)
        True
    """
    a, b = _dt.to_dtype(from_), _dt.to_dtype(to)
    return a.category <= b.category


@tensor_method
def is_inference(input: Tensor) -> bool:
    """Whether ``input`` is an inference tensor. deepseek's ``inference_mode`` only switches
    recording off and makes ordinary tensors, so this is always False."""
    return False


def fill(input: Tensor, value: Any) -> Tensor:
    """A tensor shaped and typed as ``input`` holding ``value`` everywhere (out-of-place
    :meth:`Tensor.fill_`; the gradient to ``input`` is zero).

    Example:
        >>> deepseek.fill(deepseek.zeros(2), 3)
        tensor([3., 3.])
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"[fill] expected a Tensor input, got {type(input).__name__}")
    return input.clone().fill_(value)


@tensor_method
def put(input: Tensor, index: Tensor, source: Tensor, accumulate: bool = False) -> Tensor:
    """``input`` with the elements at flat positions ``index`` (row-major, negative from the
    end) replaced by, or with ``accumulate`` increased by, ``source``'s elements in order.

    Example:
        >>> deepseek.put(deepseek.zeros(2, 2), deepseek.tensor([0, 3]), deepseek.tensor([1., 2.]))
        tensor([[1., 0.],
                [0., 2.]])
    """
    from .ops.indexing import index_put

    if not isinstance(index, Tensor) or index.dtype is not _dt.int64:
        raise op_error(RuntimeError, "put", "put_(): Expected a long tensor for index, but got "
                       f"{getattr(index, 'dtype', type(index).__name__)}")
    if not isinstance(source, Tensor) or source.dtype is not input.dtype:
        raise op_error(RuntimeError, "put", "put_(): self and source expected to have the same "
                       f"dtype, but got self.dtype = {input.dtype} and source.dtype = "
                       f"{getattr(source, 'dtype', type(source).__name__)}")
    if index.numel() != source.numel():
        raise op_error(RuntimeError, "put", f"put_(): Expected source and index to have the "
                       f"same number of elements, but got source.numel() = {source.numel()}, "
                       f"index.numel() = {index.numel()}")
    n = input.numel()
    flat = index.reshape(-1)
    if flat.numel() and (int(flat.max()) >= n or int(flat.min()) < -n):
        bad = int(flat.max()) if int(flat.max()) >= n else int(flat.min())
        raise op_error(IndexError, "put", f"out of range: tried to access index {bad} on a "
                       f"tensor of {n} elements.")
    out = index_put(input.reshape(-1), (flat,), source.reshape(-1), accumulate)
    return out.reshape(input.shape)


@tensor_method
def is_distributed(input: Tensor) -> bool:
    """Whether ``input`` is split across processes; deepseek tensors never are."""
    return False


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor,
             bias: Optional[Tensor] = None) -> Tensor:
    """``torch.bilinear``: :func:`deepseek.nn.functional.bilinear`."""
    from .nn.functional import bilinear as _bilinear

    return _bilinear(input1, input2, weight, bias)


_REDUCTIONS = {0: "none", 1: "mean", 2: "sum"}


def ctc_loss(log_probs: Tensor, targets: Tensor, input_lengths: Any, target_lengths: Any,
             blank: int = 0, reduction: Any = 1, zero_infinity: bool = False) -> Tensor:
    """``torch.ctc_loss``: :func:`deepseek.nn.functional.ctc_loss` with ``reduction`` also
    given as aten's integer (0 ``'none'``, 1 ``'mean'``, 2 ``'sum'``; default mean)."""
    from .ops.ctc import ctc_loss as _ctc_loss

    if isinstance(reduction, int) and not isinstance(reduction, bool):
        if reduction not in _REDUCTIONS:
            raise ValueError(f"[ctc_loss] reduction must be 0 (none), 1 (mean) or 2 (sum), got "
                             f"{reduction}")
        reduction = _REDUCTIONS[reduction]
    return _ctc_loss(log_probs, targets, input_lengths, target_lengths, blank, reduction,
                     zero_infinity)


_INTEROP_THREADS: list = [None]


def get_num_interop_threads() -> int:
    """The threads for running independent ops side by side (``torch.get_num_interop_threads``).
    deepseek runs ops one after another, so the number is only recorded."""
    from .backend.cpu import cores

    return _INTEROP_THREADS[0] or cores()


def set_num_interop_threads(num: int) -> None:
    """Record ``num`` inter-op threads; as in PyTorch, only once (see
    :func:`get_num_interop_threads`)."""
    if isinstance(num, bool) or not isinstance(num, int) or num < 1:
        raise RuntimeError(f"[set_num_interop_threads] Expected positive number of threads, got "
                           f"{num!r}")
    if _INTEROP_THREADS[0] is not None:
        raise RuntimeError("[set_num_interop_threads] Error: cannot set number of interop "
                           "threads after parallel work has started or set_num_interop_threads "
                           "called")
    _INTEROP_THREADS[0] = num
