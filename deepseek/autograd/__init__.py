"""``deepseek.autograd``: backward, grad, grad mode, Function, gradcheck, functional."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from .grad_mode import (enable_grad, inference_mode, is_grad_enabled, no_grad,
                        set_grad_enabled)
from .anomaly_mode import (detect_anomaly, is_anomaly_check_nan_enabled,  # noqa: F401
                           is_anomaly_enabled, set_detect_anomaly)
from .graph import Node, run_backward
from .function import Function, FunctionCtx, once_differentiable
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from . import forward_ad, functional  # noqa: F401

__all__ = ["backward", "grad", "no_grad", "enable_grad", "set_grad_enabled", "inference_mode",
           "is_grad_enabled", "Node", "Function", "FunctionCtx", "once_differentiable",
           "gradcheck", "gradgradcheck", "GradcheckError", "functional", "detect_anomaly",
           "set_detect_anomaly", "forward_ad", "Variable", "is_multithreading_enabled",
           "set_multithreading_enabled"]


class _VariableMeta(type):
    def __instancecheck__(cls, other: Any) -> bool:
        from ..tensor import Tensor

        return isinstance(other, Tensor)


class Variable(metaclass=_VariableMeta):
    """torch's legacy wrapper, kept as its alias: ``Variable(t)`` is a new tensor sharing
    ``t``'s data, detached, with ``requires_grad`` set; every Tensor is an instance.

    Example:
        >>> v = ds.autograd.Variable(ds.ones(2), requires_grad=True)
        >>> v.requires_grad, isinstance(ds.ones(1), ds.autograd.Variable)
        (True, True)
    """

    def __new__(cls, data: Any, requires_grad: bool = False, volatile: bool = False) -> Any:
        from ..tensor import Tensor

        if not isinstance(data, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
        return data.detach().requires_grad_(requires_grad)


_MULTITHREADING = [True]


def is_multithreading_enabled() -> bool:
    """Whether multithreaded backward is enabled (the switch torch has; our engine runs
    backward on the calling thread either way)."""
    return _MULTITHREADING[0]


class set_multithreading_enabled:
    """Turn multithreaded backward on or off, as a call, a context manager or a decorator.

    Accepted for torch's API: our engine is single-threaded, so the switch is recorded and
    reported by :func:`is_multithreading_enabled` but changes nothing else.
    """

    def __init__(self, mode: bool) -> None:
        self.prev = _MULTITHREADING[0]
        self.mode = bool(mode)
        _MULTITHREADING[0] = self.mode

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: Any) -> None:
        _MULTITHREADING[0] = self.prev

    def __call__(self, fn: Any) -> Any:
        import functools

        _MULTITHREADING[0] = self.prev

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with set_multithreading_enabled(self.mode):
                return fn(*args, **kwargs)

        return wrapper


def _tensors(x: Any) -> list:
    from ..tensor import Tensor

    if isinstance(x, Tensor):
        return [x]
    return list(x)


def _make_grads(outputs: list, grad_outputs: Optional[list], create_graph: bool) -> list:
    from ..tensor import Tensor

    grads = []
    for i, out in enumerate(outputs):
        g = None if grad_outputs is None else grad_outputs[i]
        if g is None:
            if out.numel() != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs "
                                   f"(got an output of shape {list(out.shape)}); pass gradient=")
            if not out.is_floating_point():
                raise RuntimeError("grad can be implicitly created only for real scalar outputs "
                                   f"but got {out.dtype.name}")
            g = Tensor._wrap(np.ones_like(out._data), out._device)  # 1 even if out is nan
        elif not isinstance(g, Tensor):
            from .._creation import tensor

            g = tensor(g, dtype=out.dtype)
        elif g.shape != out.shape:
            raise RuntimeError(f"Mismatch in shape: grad_output[{i}] has a shape of "
                               f"{list(g.shape)} and output[{i}] has a shape of {list(out.shape)}.")
        grads.append(g)
    return grads


def backward(tensors: Any, grad_tensors: Any = None, retain_graph: Optional[bool] = None,
             create_graph: bool = False, inputs: Any = None) -> None:
    """Accumulate gradients of ``tensors`` into the ``.grad`` of the leaves."""
    outs = _tensors(tensors)
    for t in outs:
        if not t._requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a "
                               "grad_fn")
    gts = None if grad_tensors is None else _tensors(grad_tensors)
    grads = _make_grads(outs, gts, create_graph)
    if retain_graph is None:
        retain_graph = create_graph
    if inputs is not None:
        wanted = _tensors(inputs)
        got = run_backward(outs, grads, retain_graph, create_graph, inputs=wanted,
                           accumulate=False)
        for t, g in zip(wanted, got):
            if g is None:
                continue
            t.grad = (g if create_graph else g.detach().clone()) if t.grad is None else t.grad + g
        return
    run_backward(outs, grads, retain_graph, create_graph)


def grad(outputs: Any, inputs: Any, grad_outputs: Any = None, retain_graph: Optional[bool] = None,
         create_graph: bool = False, only_inputs: bool = True, allow_unused: Optional[bool] = None,
         is_grads_batched: bool = False, materialize_grads: bool = False) -> tuple:
    """Gradients of ``outputs`` with respect to ``inputs``, without touching ``.grad``."""
    outs = _tensors(outputs)
    ins = _tensors(inputs)
    for t in outs:
        if not t._requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a "
                               "grad_fn")
    for t in ins:
        if not t._requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    gos = None if grad_outputs is None else _tensors(grad_outputs)
    grads = _make_grads(outs, gos, create_graph)
    if retain_graph is None:
        retain_graph = create_graph
    got = run_backward(outs, grads, retain_graph, create_graph, inputs=ins, accumulate=False)
    result = []
    for t, g in zip(ins, got):
        if g is None:
            if materialize_grads:
                from .._creation import zeros_like

                g = zeros_like(t)
            elif not allow_unused:
                raise RuntimeError("One of the differentiated Tensors appears to not have been "
                                   "used in the graph. Set allow_unused=True if this is the "
                                   "desired behavior.")
        elif not create_graph:
            g = g.detach()
        result.append(g)
    return tuple(result)
