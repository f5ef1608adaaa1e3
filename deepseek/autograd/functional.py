"""``autograd.functional``: vjp, jvp, jacobian and hessian of functions of tensors."""

from __future__ import annotations

from typing import Any, Callable

__all__ = ["vjp", "jvp", "jacobian", "hessian", "vhp", "hvp"]


def _as_tuple(x: Any) -> tuple:
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _prepare(inputs: tuple, create_graph: bool) -> tuple:
    """Inputs that require grad: the same tensors under create_graph, else detached copies."""
    out = []
    for t in inputs:
        if create_graph and t._requires_grad:
            out.append(t.view_as(t))
        else:
            out.append(t.detach().requires_grad_(True))
    return tuple(out)


def _grads(outputs: tuple, inputs: tuple, vs: tuple, create_graph: bool, strict: bool) -> tuple:
    """VJPs of ``outputs`` with cotangents ``vs``; zeros (or an error if strict) where unused."""
    from .._creation import zeros_like
    from . import grad

    pairs = [(o, v) for o, v in zip(outputs, vs) if o._requires_grad]
    gs = (None,) * len(inputs)
    if pairs:
        gs = grad([o for o, _ in pairs], inputs, [v for _, v in pairs], retain_graph=True,
                  create_graph=create_graph, allow_unused=True)
    result = []
    for i, (g, t) in enumerate(zip(gs, inputs)):
        if g is None:
            if strict:
                raise RuntimeError(f"The output of the user-provided function is independent of "
                                   f"input {i}. This is not allowed in strict mode.")
            g = zeros_like(t)
        result.append(g)
    return tuple(result)


def _detach(ts: tuple, create_graph: bool) -> tuple:
    return ts if create_graph else tuple(t.detach() for t in ts)


def _ones_for(outputs: tuple, what: str) -> tuple:
    from .._creation import ones_like

    for o in outputs:
        if o.numel() != 1:
            raise RuntimeError(f"The vector v can only be None if the user-provided function "
                               f"returns a single Tensor with a single element ({what}).")
    return tuple(ones_like(o) for o in outputs)


def _check_sizes(vs: tuple, like: tuple) -> tuple:
    """``vs`` as given, if each has the shape of its partner in ``like`` (torch's message)."""
    if len(vs) != len(like):
        raise RuntimeError(f"v is a tuple of invalid length: should be {len(like)} but got "
                           f"{len(vs)}.")
    for v, t in zip(vs, like):
        if tuple(v.shape) != tuple(t.shape):
            raise RuntimeError(f"v has invalid size: should be {t.shape} but got {v.shape}.")
    return vs


def _input_vector(v: Any, ins: tuple) -> tuple:
    """``v`` (one tensor per input, of its shape), ones when None for a single-element input."""
    if v is None:
        from .._creation import ones_like

        if any(t.numel() != 1 for t in ins):
            raise RuntimeError("The vector v can only be None if the input to the user-provided "
                               "function is a single Tensor with a single element.")
        return tuple(ones_like(t) for t in ins)
    return _check_sizes(_as_tuple(v), ins)


def vjp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple:
    """``(func(inputs), v^T J)``: the vector-Jacobian product at ``inputs``.

    ``v`` may be None only when ``func`` returns a single element.
    """
    is_tuple = isinstance(inputs, (tuple, list))
    ins = _prepare(_as_tuple(inputs), create_graph)
    raw = func(*ins)
    outs = _as_tuple(raw)
    vs = _ones_for(outs, "vjp") if v is None else _check_sizes(_as_tuple(v), outs)
    gs = _detach(_grads(outs, ins, vs, create_graph, strict), create_graph)
    outs = _detach(outs, create_graph)
    return (outs if isinstance(raw, tuple) else outs[0]), (gs if is_tuple else gs[0])


def jvp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple:
    """``(func(inputs), J v)``: the Jacobian-vector product, by differentiating a vjp in its
    cotangent (the double-backward trick)."""
    from .._creation import zeros_like

    ins = _prepare(_as_tuple(inputs), True)
    raw = func(*ins)
    outs = _as_tuple(raw)
    vs = _input_vector(v, ins)
    us = tuple(zeros_like(o).requires_grad_(True) for o in outs)
    gs = _grads(outs, ins, us, True, strict)
    jv = _grads(gs, us, vs, create_graph, strict)
    jv, outs = _detach(jv, create_graph), _detach(outs, create_graph)
    return (outs if isinstance(raw, tuple) else outs[0]), (jv if isinstance(raw, tuple) else jv[0])


def jacobian(func: Callable, inputs: Any, create_graph: bool = False, strict: bool = False,
             vectorize: bool = False, strategy: str = "reverse-mode") -> Any:
    """The Jacobian of ``func`` at ``inputs``, of shape ``output.shape + input.shape``.

    A tensor for one input and one output; a tuple over inputs for several inputs; a tuple
    over outputs (of such) for several outputs. One backward per output element.
    """
    from .._creation import zeros, zeros_like
    from ..ops.movement import stack

    is_tuple = isinstance(inputs, (tuple, list))
    ins = _prepare(_as_tuple(inputs), create_graph)
    raw = func(*ins)
    outs = _as_tuple(raw)
    per_output = []
    for o in outs:
        rows: list = [[] for _ in ins]
        flat = o.reshape(-1)
        for k in range(o.numel()):
            seed = zeros_like(flat)
            seed._data[k] = 1
            for col, g in enumerate(_grads((flat,), ins, (seed,), create_graph, strict)):
                rows[col].append(g)
        jac = []
        for t, row in zip(ins, rows):
            shape = tuple(o.shape) + tuple(t.shape)
            j = stack(row).reshape(shape) if row else zeros(shape, dtype=t.dtype)
            jac.append(j if create_graph else j.detach())
        per_output.append(tuple(jac) if is_tuple else jac[0])
    return tuple(per_output) if isinstance(raw, tuple) else per_output[0]


def hessian(func: Callable, inputs: Any, create_graph: bool = False, strict: bool = False,
            vectorize: bool = False, outer_jacobian_strategy: str = "reverse-mode") -> Any:
    """The Hessian of a scalar function ``func`` at ``inputs`` (the Jacobian of its gradient)."""
    is_tuple = isinstance(inputs, (tuple, list))

    def gradient(*xs: Any) -> Any:
        out = func(*xs)
        if out.numel() != 1:
            raise RuntimeError("The function given to hessian should return a single Tensor "
                               "with a single element")
        gs = _grads((out.reshape(()),), xs, _ones_for((out.reshape(()),), "hessian"), True,
                    strict)
        return gs if is_tuple else gs[0]

    return jacobian(gradient, inputs, create_graph=create_graph, strict=strict)


def _hessian_product(name: str, func: Callable, inputs: Any, v: Any, create_graph: bool,
                     strict: bool) -> tuple:
    """``(func(inputs), v^T H)`` for ``vhp``, ``(func(inputs), H v)`` for ``hvp``, with ``H``
    the Hessian of the scalar ``func`` at ``inputs``."""
    from .._creation import ones_like, zeros_like

    is_tuple = isinstance(inputs, (tuple, list))
    ins = _prepare(_as_tuple(inputs), True)
    out = func(*ins)
    if not hasattr(out, "numel") or out.numel() != 1:
        raise RuntimeError(f"The Tensor returned by the function given to {name} should contain "
                           "a single element")
    vs = _input_vector(v, ins)
    if strict and not out._requires_grad:
        raise RuntimeError("Output 0 of the user-provided function does not require gradients. "
                           "The outputs must be computed in a differentiable manner from the "
                           "input when running in strict mode.")
    scalar = out.reshape(())
    gs = _grads((scalar,), ins, (ones_like(scalar),), True, strict)
    if name == "vhp":
        result = _grads(gs, ins, vs, create_graph, strict)
    else:  # H v as the derivative of u -> u^T H in u (the double-vjp trick of jvp)
        us = tuple(zeros_like(g).requires_grad_(True) for g in gs)
        result = _grads(_grads(gs, ins, us, True, strict), us, vs, create_graph, strict)
    result = _detach(result, create_graph)
    return _detach((out,), create_graph)[0], (result if is_tuple else result[0])


def vhp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple:
    """``(func(inputs), v^T H)``: the vector-Hessian product of the scalar ``func``."""
    return _hessian_product("vhp", func, inputs, v, create_graph, strict)


def hvp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple:
    """``(func(inputs), H v)``: the Hessian-vector product of the scalar ``func``."""
    return _hessian_product("hvp", func, inputs, v, create_graph, strict)
