"""The differentiating transforms of ``deepseek.func``: grad, grad_and_value, vjp, jvp,
linearize, jacrev, jacfwd and hessian.

Each transform runs the function once on its own stand-ins for the differentiated inputs and
asks the engine for gradients with respect to those. Forward-mode products come from the
double-vjp trick: ``J^T u`` is built with ``create_graph`` for a private cotangent ``u``, and
``J v`` is its gradient with respect to ``u`` for the cotangent ``v``.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Optional, Union

from .. import autograd
from ..autograd.grad_mode import enable_grad, is_grad_enabled
from ..autograd.graph import Node
from ..tensor import Tensor
from ._pytree import tree_flatten, tree_map, tree_unflatten
from ._randomness import RandomnessScope, check_randomness_arg

__all__ = ["grad", "grad_and_value", "vjp", "jvp", "linearize", "jacrev", "jacfwd", "hessian"]

Argnums = Union[int, tuple]


class _Level:
    """One transform's stand-ins for the inputs it differentiates with respect to.

    An input that already requires grad (the user's, or an enclosing transform's stand-in)
    enters as a view of itself, so that the results stay differentiable with respect to it
    (``grad(grad(f))``); any other input enters as a fresh private leaf. A result whose graph
    reaches no leaf but the private ones is returned detached, as torch.func returns it.
    """

    def __init__(self) -> None:
        self.recording = is_grad_enabled()
        self.own: set = set()
        self._alive: list = []  # the private leaves, so their ids stay unique

    def wrap(self, t: Any, api: str) -> Tensor:
        if not isinstance(t, Tensor):
            raise ValueError(f"{api}: Thing passed to transform API must be Tensor, got {type(t)}")
        if self.recording and t._requires_grad:
            return t.view_as(t)
        if not t.is_floating_point():
            raise RuntimeError(f"{api}: only Tensors of floating point dtype can require "
                               f"gradients, got an input of dtype {t.dtype.name}")
        return self.adopt(t.detach().requires_grad_(True))

    def adopt(self, leaf: Tensor) -> Tensor:
        self.own.add(id(leaf))
        self._alive.append(leaf)
        return leaf

    def reaches_outside(self, tensors: list) -> bool:
        """Whether any of ``tensors`` depends on a tensor requiring grad that is not ours."""
        stack, seen = [], set()
        for t in tensors:
            if not isinstance(t, Tensor) or not t._requires_grad:
                continue
            if t.grad_fn is None:
                if id(t) not in self.own:
                    return True
            else:
                stack.append(t.grad_fn)
        while stack:
            node = stack.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            for edge in node.next:
                if isinstance(edge, Node):
                    stack.append(edge)
                elif edge is not None and id(edge) not in self.own:
                    return True
        return False

    def lift(self, tree: Any, recording: Optional[bool] = None) -> Any:
        """``tree`` with every tensor that depends only on our stand-ins detached."""
        recording = self.recording if recording is None else recording

        def one(t: Any) -> Any:
            if not isinstance(t, Tensor) or not t._requires_grad:
                return t
            return t if recording and self.reaches_outside([t]) else t.detach()

        return tree_map(one, tree)


# ---------------------------------------------------------------- shared pieces
def _check_argnums_type(argnums: Any, api: str) -> None:
    if isinstance(argnums, tuple):
        if not argnums:
            raise RuntimeError(f"{api}: argnums must be non-empty")
        for a in argnums:
            if not isinstance(a, int) or isinstance(a, bool):
                raise RuntimeError(f"{api}: argnum must be int, got: {type(a)}")
    elif not isinstance(argnums, int) or isinstance(argnums, bool):
        raise RuntimeError(f"{api}: argnums must be int or Tuple[int, ...], got: {type(argnums)}")


def _positions(argnums: Argnums, nargs: int, api: str) -> tuple:
    """``argnums`` as non-negative positions into ``nargs`` positional arguments."""
    raw = argnums if isinstance(argnums, tuple) else (argnums,)
    out = []
    for a in raw:
        if not -nargs <= a < nargs:
            raise RuntimeError(f"{api}: Got argnum={a}, but only {nargs} positional inputs")
        out.append(a % nargs)
    if len(set(out)) != len(out):
        raise RuntimeError(f"{api}: argnums elements must be unique, got {argnums}")
    return tuple(out)


class _Diff:
    """The differentiated arguments: their stand-ins, flat, and how to regroup per-input
    results into the arguments' structure (a tuple over argnums when argnums is a tuple)."""

    def __init__(self, args: tuple, argnums: Argnums, level: _Level, api: str) -> None:
        self.as_tuple = isinstance(argnums, tuple)
        self.specs: list = []
        self.inputs: list = []
        new_args = list(args)
        for p in _positions(argnums, len(args), api):
            leaves, spec = tree_flatten(args[p])
            wrapped = [level.wrap(t, api) for t in leaves]
            new_args[p] = tree_unflatten(wrapped, spec)
            self.specs.append(spec)
            self.inputs.extend(wrapped)
        self.args = tuple(new_args)

    def regroup(self, flat: list) -> Any:
        groups, i = [], 0
        for spec in self.specs:
            groups.append(tree_unflatten(list(flat[i:i + spec.num_leaves]), spec))
            i += spec.num_leaves
        return tuple(groups) if self.as_tuple else groups[0]


def _split_aux(out: Any, has_aux: bool, api: str) -> tuple:
    if not has_aux:
        return out, None
    if not (isinstance(out, tuple) and len(out) == 2):
        raise RuntimeError(f"{api}: output of function f should be a tuple: (output, aux) if "
                           "has_aux is True")
    return out


def _tensor_leaves(out: Any, api: str, call: str) -> tuple:
    leaves, spec = tree_flatten(out)
    for o in leaves:
        if not isinstance(o, Tensor):
            raise RuntimeError(f"{api}: expected {call} to return only tensors, got unsupported "
                               f"type {type(o)}")
    return leaves, spec


def _vjp_core(outputs: list, inputs: list, cotangents: list, create_graph: bool) -> list:
    """``sum_k cotangents[k]^T d outputs[k] / d inputs``, zeros where an input is unused."""
    from .._creation import zeros_like

    pairs = [(o, c) for o, c in zip(outputs, cotangents) if o._requires_grad]
    grads: Any = [None] * len(inputs)
    if pairs:
        grads = autograd.grad([o for o, _ in pairs], inputs, [c for _, c in pairs],
                              retain_graph=True, create_graph=create_graph, allow_unused=True)
    return [zeros_like(t) if g is None else g for g, t in zip(grads, inputs)]


def _one_hot(like: Tensor, k: int) -> Tensor:
    from .._creation import zeros

    seed = zeros(like.numel(), dtype=like.dtype)
    seed._data[k] = 1
    return seed.reshape(tuple(like.shape))


# ---------------------------------------------------------------- reverse mode
def grad_and_value(func: Callable, argnums: Argnums = 0, has_aux: bool = False) -> Callable:
    """``func`` transformed to return ``(gradient, value)`` of its scalar output with respect
    to the arguments at ``argnums``.

    Args:
        func (Callable): returns a 0-dim tensor (``(output, aux)`` with ``has_aux``).
        argnums (int or tuple of ints): the positional arguments to differentiate; each may be
            a pytree (tuple, list, dict) of tensors. A tuple gives a tuple of gradients.
        has_aux (bool): ``func`` returns ``(output, aux)``; the result is then
            ``(gradient, (value, aux))``.

    Example:
        >>> g, v = grad_and_value(lambda x: (x ** 2).sum())(ds.tensor([1.0, 2.0]))
        >>> g.tolist(), v.item()
        ([2.0, 4.0], 5.0)
    """
    api = "grad_and_value(f)(*args)"
    _check_argnums_type(argnums, api)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from .._creation import ones_like

        level = _Level()
        with enable_grad():
            diff = _Diff(args, argnums, level, api)
            out, aux = _split_aux(func(*diff.args, **kwargs), has_aux, api)
            if not isinstance(out, Tensor):
                raise RuntimeError(f"{api}: Expected f(*args) to return a Tensor, got "
                                   f"{type(out)}")
            if out.dim() != 0:
                raise RuntimeError(f"{api}: Expected f(*args) to return a scalar Tensor, got "
                                   f"tensor with {out.dim()} dims. Maybe you wanted to use the "
                                   "vjp or jacrev APIs instead?")
            create = level.recording and level.reaches_outside([out])
            grads = _vjp_core([out], diff.inputs, [ones_like(out)], create)
        grads = level.lift(diff.regroup(grads))
        if has_aux:
            return grads, (level.lift(out), level.lift(aux))
        return grads, level.lift(out)

    return wrapper


def grad(func: Callable, argnums: Argnums = 0, has_aux: bool = False) -> Callable:
    """``func`` transformed to return the gradient of its scalar output with respect to the
    arguments at ``argnums``; composes with itself and the other transforms.

    Args:
        func (Callable): returns a 0-dim tensor (``(output, aux)`` with ``has_aux``).
        argnums (int or tuple of ints): the positional arguments to differentiate; each may be
            a pytree of tensors. A tuple gives a tuple of gradients.
        has_aux (bool): ``func`` returns ``(output, aux)``; the result is ``(gradient, aux)``.

    Example:
        >>> x = ds.tensor(0.5)
        >>> d2 = grad(grad(lambda x: x.sin()))(x)  # -sin(x)
        >>> round(d2.item(), 4)
        -0.4794
    """
    inner = grad_and_value(func, argnums, has_aux)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        grads, value = inner(*args, **kwargs)
        return (grads, value[1]) if has_aux else grads

    return wrapper


def vjp(func: Callable, *primals: Any, has_aux: bool = False) -> tuple:
    """``(func(*primals), vjp_fn)``: ``vjp_fn(cotangents)`` gives the vector-Jacobian product
    at ``primals``, a tuple with one entry (shaped like the primal) per primal.

    Args:
        func (Callable): returns a pytree of tensors (``(output, aux)`` with ``has_aux``).
        primals: the arguments, pytrees of tensors.
        has_aux (bool): ``func`` returns ``(output, aux)``; the result is then
            ``(output, vjp_fn, aux)``.

    ``vjp_fn`` takes one pytree of cotangents shaped like the output and may be called
    several times.

    Example:
        >>> x = ds.tensor([1.0, 2.0])
        >>> out, vjp_fn = vjp(lambda x: x * x, x)
        >>> vjp_fn(ds.ones(2))[0].tolist()
        [2.0, 4.0]
    """
    api = "vjp(f, *primals)"
    level = _Level()
    with enable_grad():
        diff = _Diff(primals, tuple(range(len(primals))), level, api) if primals else None
        out, aux = _split_aux(func(*(diff.args if diff else ())), has_aux, api)
        out_leaves, out_spec = _tensor_leaves(out, api, "f(*primals)")
    inputs = diff.inputs if diff else []

    def vjp_fn(cotangents: Any) -> tuple:
        ct_leaves, ct_spec = tree_flatten(cotangents)
        if ct_spec != out_spec:
            raise RuntimeError("vjp_fn: Expected pytree structure of cotangents to be the same "
                               "as pytree structure of outputs to the function. cotangents: "
                               f"{ct_spec}, primal output: {out_spec}")
        for i, (c, o) in enumerate(zip(ct_leaves, out_leaves)):
            if not isinstance(c, Tensor):
                raise RuntimeError(f"vjp_fn: expected cotangents to be Tensors, got {type(c)}")
            if c.shape != o.shape:
                raise RuntimeError(f"vjp_fn: Mismatch in shape: grad_output[{i}] has a shape of "
                                   f"{list(c.shape)} and output[{i}] has a shape of "
                                   f"{list(o.shape)}.")
        recording = is_grad_enabled()
        create = recording and level.reaches_outside(out_leaves + ct_leaves)
        with enable_grad():
            grads = _vjp_core(out_leaves, inputs, ct_leaves, create)
        result = diff.regroup(grads) if diff else ()
        return level.lift(result, recording)

    if has_aux:
        return level.lift(out), vjp_fn, level.lift(aux)
    return level.lift(out), vjp_fn


def jacrev(func: Callable, argnums: Argnums = 0, *, has_aux: bool = False,
           chunk_size: Optional[int] = None, _preallocate_and_copy: bool = False) -> Callable:
    """``func`` transformed to return its Jacobian with respect to the arguments at
    ``argnums``, by reverse mode (one vjp per output element).

    For each output tensor ``o`` and input tensor ``x`` the block has shape
    ``o.shape + x.shape``; blocks nest as the output's pytree, then (for a tuple ``argnums``)
    a tuple over arguments, then each argument's pytree.

    Args:
        func (Callable): returns a pytree of tensors (``(output, aux)`` with ``has_aux``).
        argnums (int or tuple of ints): the positional arguments to differentiate.
        has_aux (bool): ``func`` returns ``(output, aux)``; the result is ``(jacobian, aux)``.
        chunk_size (int, optional): accepted as torch's; the vjps run one at a time anyway,
            so it changes nothing but must be positive.

    Example:
        >>> jacrev(lambda x: x.sin())(ds.zeros(2)).tolist()
        [[1.0, 0.0], [0.0, 1.0]]
    """
    api = "jacrev(f)(*args)"
    if chunk_size is not None and not (isinstance(chunk_size, int) and chunk_size > 0):
        raise ValueError("jacrev: `chunk_size` should be greater than 0.")
    _check_argnums_type(argnums, api)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from .._creation import zeros
        from ..ops.movement import stack

        level = _Level()
        with enable_grad():
            diff = _Diff(args, argnums, level, api)
            out, aux = _split_aux(func(*diff.args, **kwargs), has_aux, api)
            out_leaves, out_spec = _tensor_leaves(out, api, "f(*args)")
            create = level.recording and level.reaches_outside(out_leaves)
            blocks = []
            for o in out_leaves:
                rows: list = [[] for _ in diff.inputs]
                if o._requires_grad:
                    for k in range(o.numel()):
                        for col, g in enumerate(_vjp_core([o], diff.inputs, [_one_hot(o, k)],
                                                          create)):
                            rows[col].append(g)
                per_input = []
                for x, row in zip(diff.inputs, rows):
                    shape = tuple(o.shape) + tuple(x.shape)
                    per_input.append(stack(row).reshape(shape) if row
                                     else zeros(shape, dtype=x.dtype))
                blocks.append(diff.regroup(per_input))
        jac = level.lift(tree_unflatten(blocks, out_spec))
        return (jac, level.lift(aux)) if has_aux else jac

    return wrapper


# ---------------------------------------------------------------- forward mode
class _Linearization:
    """``func``'s outputs at the primals with ``J^T u`` built for private cotangents ``u``,
    so that each ``J v`` costs one more backward, through ``u``."""

    def __init__(self, level: _Level, outputs: list, inputs: list) -> None:
        from .._creation import zeros_like

        self.level, self.outputs, self.inputs = level, outputs, inputs
        self.us = [level.adopt(zeros_like(o).requires_grad_(True)) if o._requires_grad
                   else None for o in outputs]
        live = [(o, u) for o, u in zip(outputs, self.us) if u is not None]
        self.vjps: Any = [None] * len(inputs)
        if live:
            self.vjps = autograd.grad([o for o, _ in live], inputs, [u for _, u in live],
                                      retain_graph=True, create_graph=True, allow_unused=True)

    def apply(self, tangents: list, recording: bool) -> list:
        """``J v`` per output, for one tangent (or None, for zero) per input."""
        from .._creation import zeros_like

        pairs = [(g, v) for g, v in zip(self.vjps, tangents)
                 if v is not None and g is not None and g._requires_grad]
        live = [u for u in self.us if u is not None]
        got: Any = [None] * len(live)
        if pairs and live:
            create = recording and self.level.reaches_outside(
                self.outputs + [v for _, v in pairs])
            with enable_grad():
                got = autograd.grad([g for g, _ in pairs], live, [v for _, v in pairs],
                                    retain_graph=True, create_graph=create, allow_unused=True)
        it = iter(got)
        out = []
        for o, u in zip(self.outputs, self.us):
            jv = next(it) if u is not None else None
            out.append(zeros_like(o) if jv is None else jv)
        return out


def _check_tangents(primals: list, tangents: list, api: str) -> None:
    for p, t in zip(primals, tangents):
        if not isinstance(t, Tensor):
            raise ValueError(f"{api}: Thing passed to transform API must be Tensor, got "
                             f"{type(t)}")
        if isinstance(p, Tensor) and t.shape != p.shape:
            raise RuntimeError(f"{api}: Trying to set a forward gradient that has a different "
                               "size than that of the original Tensor, this is not supported. "
                               f"Tensor is of size {list(p.shape)} while the given forward "
                               f"gradient is of size {list(t.shape)}.")


def jvp(func: Callable, primals: Any, tangents: Any, *, strict: bool = False,
        has_aux: bool = False) -> tuple:
    """``(func(*primals), J v)``: the Jacobian-vector product at ``primals`` for the tangents
    ``v``, shaped like the output.

    Args:
        func (Callable): returns a pytree of tensors (``(output, aux)`` with ``has_aux``).
        primals (tuple): the arguments, pytrees of tensors.
        tangents (tuple): one tangent per primal tensor, in the same structure.
        strict (bool): accepted as torch's, which ignores it too.
        has_aux (bool): ``func`` returns ``(output, aux)``; the result is then
            ``(output, jvp_out, aux)``.

    Example:
        >>> out, jv = jvp(lambda x: x * x, (ds.tensor([1.0, 2.0]),), (ds.ones(2),))
        >>> jv.tolist()
        [2.0, 4.0]
    """
    api = "jvp(f, primals, tangents)"
    if not isinstance(primals, tuple):
        raise RuntimeError(f"{api}: Expected primals to be a tuple. E.g. it should be valid to "
                           "call f(*primals).")
    p_leaves, p_spec = tree_flatten(primals)
    t_leaves, t_spec = tree_flatten(tangents)
    if p_spec != t_spec:
        raise RuntimeError(f"{api}: Expected primals and tangents to have the same python "
                           "structure. For example, if primals is a tuple of 3 tensors, "
                           f"tangents also must be. Got primals with structure {p_spec} and "
                           f"tangents with structure {t_spec}")
    _check_tangents(p_leaves, t_leaves, api)
    level = _Level()
    with enable_grad():
        inputs = [level.wrap(p, api) for p in p_leaves]
        out, aux = _split_aux(func(*tree_unflatten(inputs, p_spec)), has_aux, api)
        out_leaves, out_spec = _tensor_leaves(out, api, "f(*primals)")
        jv = _Linearization(level, out_leaves, inputs).apply(t_leaves, level.recording)
    result = (level.lift(out), level.lift(tree_unflatten(jv, out_spec)))
    return result + (level.lift(aux),) if has_aux else result


def linearize(func: Callable, *primals: Any) -> tuple:
    """``(func(*primals), jvp_fn)``: ``jvp_fn(*tangents)`` gives the Jacobian-vector product
    at ``primals`` without running ``func`` again.

    Args:
        func (Callable): returns a pytree of tensors.
        primals: the arguments, pytrees of tensors.

    Example:
        >>> out, jvp_fn = linearize(lambda x: x * x, ds.tensor([1.0, 2.0]))
        >>> jvp_fn(ds.ones(2)).tolist()
        [2.0, 4.0]
    """
    api = "linearize(f, *primals)"
    p_leaves, p_spec = tree_flatten(primals)
    level = _Level()
    with enable_grad():
        inputs = [level.wrap(p, api) for p in p_leaves]
        out = func(*tree_unflatten(inputs, p_spec))
        out_leaves, out_spec = _tensor_leaves(out, api, "f(*primals)")
        lin = _Linearization(level, out_leaves, inputs)

    def jvp_fn(*tangents: Any) -> Any:
        t_leaves, t_spec = tree_flatten(tangents)
        if t_spec != p_spec:
            raise RuntimeError(f"jvp_fn: Expected the tangents {t_spec} to have the same "
                               f"argspec as the primals {p_spec}")
        _check_tangents(p_leaves, t_leaves, "jvp_fn")
        recording = is_grad_enabled()
        return level.lift(tree_unflatten(lin.apply(t_leaves, recording), out_spec), recording)

    return level.lift(out), jvp_fn


def jacfwd(func: Callable, argnums: Argnums = 0, has_aux: bool = False, *,
           randomness: str = "error") -> Callable:
    """``func`` transformed to return its Jacobian with respect to the arguments at
    ``argnums``, by forward mode (one jvp per input element, ``func`` evaluated once).

    Blocks are shaped and nested as :func:`jacrev`'s.

    Args:
        func (Callable): returns a pytree of tensors (``(output, aux)`` with ``has_aux``).
        argnums (int or tuple of ints): the positional arguments to differentiate.
        has_aux (bool): ``func`` returns ``(output, aux)``; the result is ``(jacobian, aux)``.
        randomness (str): ``'error'`` (default) refuses random draws in ``func``;
            ``'different'`` and ``'same'`` allow them.

    Example:
        >>> jacfwd(lambda x: 2 * x)(ds.zeros(2)).tolist()
        [[2.0, 0.0], [0.0, 2.0]]
    """
    api = "jacfwd(f)(*args)"
    check_randomness_arg(randomness)
    _check_argnums_type(argnums, api)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from .._creation import zeros
        from ..ops.movement import stack

        level = _Level()
        with enable_grad():
            diff = _Diff(args, argnums, level, api)
            raw = RandomnessScope(randomness).call(func, *diff.args, **kwargs)
            out, aux = _split_aux(raw, has_aux, api)
            out_leaves, out_spec = _tensor_leaves(out, api, "f(*args)")
            lin = _Linearization(level, out_leaves, diff.inputs)
            columns: list = [[[] for _ in diff.inputs] for _ in out_leaves]
            for i, x in enumerate(diff.inputs):
                tangents: list = [None] * len(diff.inputs)
                for k in range(x.numel()):
                    tangents[i] = _one_hot(x, k)
                    for o_idx, col in enumerate(lin.apply(tangents, level.recording)):
                        columns[o_idx][i].append(col)
            blocks = []
            for o, cols in zip(out_leaves, columns):
                per_input = []
                for x, col in zip(diff.inputs, cols):
                    shape = tuple(o.shape) + tuple(x.shape)
                    per_input.append(stack(col, dim=o.ndim).reshape(shape) if col
                                     else zeros(shape, dtype=x.dtype))
                blocks.append(diff.regroup(per_input))
        jac = level.lift(tree_unflatten(blocks, out_spec))
        return (jac, level.lift(aux)) if has_aux else jac

    return wrapper


def hessian(func: Callable, argnums: Argnums = 0) -> Callable:
    """``func`` transformed to return the Hessian of its output with respect to the arguments
    at ``argnums``: ``jacfwd(jacrev(func, argnums), argnums)`` (forward over reverse).

    Args:
        func (Callable): returns a tensor (a scalar gives the usual Hessian).
        argnums (int or tuple of ints): the positional arguments to differentiate.

    Example:
        >>> hessian(lambda x: (x ** 3).sum())(ds.tensor([1.0, 2.0])).tolist()
        [[6.0, 0.0], [0.0, 12.0]]
    """
    return jacfwd(jacrev(func, argnums), argnums)
