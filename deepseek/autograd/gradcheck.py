"""``gradcheck`` / ``gradgradcheck``: analytic gradients against central finite differences."""

from __future__ import annotations

import warnings
from typing import Any, Callable, Optional, Sequence

import numpy as np

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError"]


class GradcheckError(RuntimeError):
    """Raised by :func:`gradcheck` when the analytic and numeric Jacobians differ."""


def _as_tuple(x: Any) -> tuple:
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _tensor_outputs(func: Callable, inputs: tuple) -> list:
    from ..tensor import Tensor

    return [o for o in _as_tuple(func(*inputs)) if isinstance(o, Tensor)]


def _numeric_jacobians(func: Callable, inputs: tuple, wrt: list, eps: float) -> list:
    """``[output][input]`` Jacobians of shape (output numel, input numel) by central differences."""
    from .grad_mode import no_grad

    with no_grad():
        n_out = [o.numel() for o in _tensor_outputs(func, inputs)]
        jac = [[np.zeros((n, inputs[i].numel())) for i in wrt] for n in n_out]
        for col, i in enumerate(wrt):
            data = inputs[i]._data  # perturbed in place, whatever its strides
            for k, idx in enumerate(np.ndindex(data.shape)):
                old = data[idx].copy()
                data[idx] = old + eps
                hi = [o._data.astype(np.float64).reshape(-1)
                      for o in _tensor_outputs(func, inputs)]
                data[idx] = old - eps
                lo = [o._data.astype(np.float64).reshape(-1)
                      for o in _tensor_outputs(func, inputs)]
                data[idx] = old
                for r, (h, low) in enumerate(zip(hi, lo)):
                    jac[r][col][:, k] = (h - low) / (2 * eps)
    return jac


def _analytic_jacobians(func: Callable, inputs: tuple, wrt: list) -> list:
    """``[output][input]`` Jacobians from one backward per output element."""
    from .._creation import zeros_like
    from . import grad

    outputs = _tensor_outputs(func, inputs)
    jac = [[np.zeros((o.numel(), inputs[i].numel())) for i in wrt] for o in outputs]
    targets = [inputs[i] for i in wrt]
    for r, out in enumerate(outputs):
        if not out._requires_grad:
            continue
        for k in range(out.numel()):
            seed = zeros_like(out)
            seed._data.reshape(-1)[k] = 1
            gs = grad(out, targets, seed, retain_graph=True, allow_unused=True)
            for col, g in enumerate(gs):
                if g is not None:
                    jac[r][col][k] = g._data.astype(np.float64).reshape(-1)
    return jac


def gradcheck(func: Callable, inputs: Any, *, eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, raise_exception: bool = True, nondet_tol: float = 0.0,
              check_undefined_grad: bool = True, check_grad_dtypes: bool = False,
              check_batched_grad: bool = False, check_backward_ad: bool = True,
              fast_mode: bool = False, masked: Optional[bool] = None) -> bool:
    """Check the gradients of ``func`` at ``inputs`` against central finite differences.

    Inputs that require grad are perturbed by ``eps``; the check passes when every entry
    satisfies ``|analytic - numeric| <= atol + rtol * |numeric|``. Use float64 inputs.

    Args:
        func: a function of tensors returning a tensor or a tuple of tensors.
        inputs: a tensor or a tuple of arguments.
        eps: the finite-difference step.
        atol, rtol: tolerances.
        raise_exception: raise :class:`GradcheckError` on mismatch instead of returning False.

    Example:
        >>> x = deepseek.randn(3, dtype=deepseek.float64, requires_grad=True)
        >>> deepseek.autograd.gradcheck(deepseek.tanh, (x,))
        True
    """
    from ..tensor import Tensor

    inputs = _as_tuple(inputs)
    wrt = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t._requires_grad]
    if not wrt:
        raise ValueError("gradcheck expects at least one input tensor to require gradient, but "
                         "none of the them have requires_grad=True.")
    for i in wrt:
        if inputs[i].dtype.name != "float64":
            warnings.warn(f"Input #{i} requires gradient and is not a double precision floating "
                          "point. This check will likely fail if all the inputs are not of double "
                          "precision floating point.", stacklevel=2)
    numeric = _numeric_jacobians(func, inputs, wrt, eps)
    analytic = _analytic_jacobians(func, inputs, wrt)
    for r, (num_row, ana_row) in enumerate(zip(numeric, analytic)):
        for col, (n, a) in enumerate(zip(num_row, ana_row)):
            if not np.allclose(a, n, rtol=rtol, atol=atol):
                if not raise_exception:
                    return False
                raise GradcheckError(f"Jacobian mismatch for output {r} with respect to input "
                                     f"{wrt[col]},\nnumerical:{n}\nanalytical:{a}\n")
    return True


def gradgradcheck(func: Callable, inputs: Any, grad_outputs: Optional[Sequence] = None, *,
                  eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
                  gen_non_contig_grad_outputs: bool = False, raise_exception: bool = True,
                  nondet_tol: float = 0.0, check_undefined_grad: bool = True,
                  check_grad_dtypes: bool = False, check_batched_grad: bool = False,
                  check_fwd_over_rev: bool = False, check_rev_over_rev: bool = True,
                  fast_mode: bool = False, masked: bool = False) -> bool:
    """Check second derivatives: :func:`gradcheck` of the vector-Jacobian product of ``func``.

    ``grad_outputs`` (random float64 by default) are the vectors, differentiated too.
    """
    from .._creation import tensor
    from ..random import default_generator
    from ..tensor import Tensor
    from . import grad

    inputs = _as_tuple(inputs)
    outputs = _tensor_outputs(func, inputs)
    if grad_outputs is None:
        rng = default_generator.np
        grad_outputs = tuple(tensor(rng.standard_normal(o.shape).astype(o._data.dtype),
                                    requires_grad=True) for o in outputs)
    grad_outputs = _as_tuple(grad_outputs)
    n = len(inputs)
    wrt = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t._requires_grad]

    def first_grads(*args: Any) -> tuple:
        ins, vs = args[:n], args[n:]
        outs = [o for o in _tensor_outputs(func, ins) if o._requires_grad]
        targets = [ins[i] for i in wrt]
        gs = grad(outs, targets, list(vs[:len(outs)]), create_graph=True, allow_unused=True)
        return tuple(g for g in gs if g is not None)

    return gradcheck(first_grads, inputs + grad_outputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)
