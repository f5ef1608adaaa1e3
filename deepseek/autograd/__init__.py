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
from . import functional  # noqa: F401

__all__ = ["backward", "grad", "no_grad", "enable_grad", "set_grad_enabled", "inference_mode",
           "is_grad_enabled", "Node", "Function", "FunctionCtx", "once_differentiable",
           "gradcheck", "gradgradcheck", "GradcheckError", "functional", "detect_anomaly",
           "set_detect_anomaly"]


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
