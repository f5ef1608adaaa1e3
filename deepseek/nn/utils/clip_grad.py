"""Gradient clipping: ``clip_grad_norm_``, ``clip_grads_with_norm_``, ``clip_grad_value_``,
``get_total_norm``."""

from __future__ import annotations

import math
import warnings
from typing import Iterable, Optional, Union

from ..._creation import tensor
from ...autograd.grad_mode import no_grad
from ...ops.movement import stack
from ...tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_norm", "clip_grads_with_norm_", "clip_grad_value_",
           "get_total_norm"]

_Tensors = Union[Tensor, Iterable[Tensor]]


def _as_list(tensors: _Tensors) -> list:
    return [tensors] if isinstance(tensors, Tensor) else list(tensors)


def _refuse_sparse(name: str, grads: list, kernel: str) -> None:
    """PyTorch has no sparse kernel for the norm or the clamp: it raises NotImplementedError."""
    if any(g.is_sparse for g in grads):
        raise NotImplementedError(f"[{name}] Could not run 'aten::{kernel}' with arguments from "
                                  "the 'SparseCPU' backend: sparse gradients (e.g. from "
                                  "nn.Embedding(sparse=True)) cannot be clipped here, as in "
                                  "PyTorch; call .to_dense() on them first")


def _norm(x: Tensor, norm_type: float) -> Tensor:
    """The ``norm_type``-norm of all elements of ``x``, accumulated in at least float32."""
    a = x.abs()
    if a.dtype.itemsize < 4:
        a = a.float()
    if norm_type == math.inf:
        return a.amax() if a.numel() else a.sum()
    if norm_type == -math.inf:
        return a.amin()
    if norm_type == 0:
        return (a != 0).sum().to(a.dtype)
    if norm_type == 1:
        return a.sum()
    if norm_type == 2:
        return (a * a).sum().sqrt()
    return (a ** norm_type).sum() ** (1.0 / norm_type)


def get_total_norm(tensors: _Tensors, norm_type: float = 2.0,
                   error_if_nonfinite: bool = False, foreach: Optional[bool] = None) -> Tensor:
    """The norm of the norms of ``tensors`` (as if they were concatenated into one vector)."""
    tensors = _as_list(tensors)
    norm_type = float(norm_type)
    if not tensors:
        return tensor(0.0)
    _refuse_sparse("get_total_norm", tensors, "linalg_vector_norm")
    with no_grad():
        norms = [_norm(t, norm_type) for t in tensors]
        dtype = norms[0].dtype
        total = _norm(stack([n.to(dtype) for n in norms]), norm_type)
    if error_if_nonfinite and not bool(total.isfinite()):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from "
                           "`parameters` is non-finite, so it cannot be clipped. To disable "
                           "this error and scale the gradients by the non-finite norm anyway, "
                           "set `error_if_nonfinite=False`")
    return total


def clip_grad_norm_(parameters: _Tensors, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach: Optional[bool] = None) -> Tensor:
    """Scale the gradients of ``parameters`` in place so that their total norm is at most
    ``max_norm``; returns the total norm before clipping.

    Args:
        parameters: tensors (or one tensor) whose ``.grad`` is clipped.
        max_norm: the largest allowed norm. norm_type: the p of the p-norm (``inf`` allowed).
        error_if_nonfinite: raise when the total norm is nan or inf.
        foreach: accepted for compatibility.

    Example::

        >>> w = ds.ones(3, requires_grad=True)
        >>> (w * 10).sum().backward()
        >>> float(ds.nn.utils.clip_grad_norm_([w], 1.0)) > 1
        True
    """
    parameters = _as_list(parameters)
    grads = [p.grad for p in parameters if p.grad is not None]
    total = get_total_norm(grads, norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(parameters, max_norm, total, foreach)
    return total


def clip_grads_with_norm_(parameters: _Tensors, max_norm: float, total_norm: Tensor,
                          foreach: Optional[bool] = None) -> None:
    """Scale the gradients of ``parameters`` in place by ``min(max_norm / (total_norm + 1e-6),
    1)``: the second half of ``clip_grad_norm_``, for a total norm computed separately (e.g.
    by ``get_total_norm``, or all-reduced across processes).

    Args:
        parameters: tensors (or one tensor) whose ``.grad`` is scaled.
        max_norm: the largest allowed norm.
        total_norm: the total norm of the gradients, a Tensor.
        foreach: accepted for compatibility.

    Example::

        >>> w = ds.ones(3, requires_grad=True)
        >>> (w * 10).sum().backward()
        >>> ds.nn.utils.clip_grads_with_norm_([w], 1.0, ds.nn.utils.get_total_norm([w.grad]))
        >>> round(float(w.grad.norm()), 4)
        1.0
    """
    if not isinstance(total_norm, Tensor):
        raise TypeError("clip_grads_with_norm_: total_norm must be a Tensor (e.g. from "
                        f"get_total_norm), got {type(total_norm).__name__}")
    grads = [p.grad for p in _as_list(parameters) if p.grad is not None]
    if not grads:
        return
    with no_grad():
        coef = (float(max_norm) / (total_norm + 1e-6)).clamp(max=1.0)
        for g in grads:
            if g.is_sparse:  # in place, as PyTorch's sparse mul_: the values scale
                data = g._data
                factor = coef._to_host().astype(data.dtype)
                g._data = type(data)(data.indices, data.values * factor, data.shape,
                                     data.coalesced)
                g._version_box[0] += 1
            else:
                g.mul_(coef.to(g.dtype))


def clip_grad_norm(parameters: _Tensors, max_norm: float, norm_type: float = 2.0,
                   error_if_nonfinite: bool = False, foreach: Optional[bool] = None) -> Tensor:
    """Deprecated alias of ``clip_grad_norm_``."""
    warnings.warn("`torch.nn.utils.clip_grad_norm` is now deprecated in favor of "
                  "`torch.nn.utils.clip_grad_norm_`.", FutureWarning, stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def clip_grad_value_(parameters: _Tensors, clip_value: float,
                     foreach: Optional[bool] = None) -> None:
    """Clamp the gradients of ``parameters`` to ``[-clip_value, clip_value]`` in place."""
    clip_value = float(clip_value)
    parameters = _as_list(parameters)
    _refuse_sparse("clip_grad_value_", [p.grad for p in parameters if p.grad is not None],
                   "clamp")
    with no_grad():
        for p in parameters:
            if p.grad is not None:
                p.grad.clamp_(min=-clip_value, max=clip_value)
