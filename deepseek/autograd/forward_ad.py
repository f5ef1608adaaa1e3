"""Forward-mode AD with dual tensors, as ``torch.autograd.forward_ad``: ``dual_level``,
``make_dual``, ``unpack_dual``.

Inside a level every primitive that reads a dual tensor gives its output a tangent at once, so
the semantics are torch's: tangents flow under ``no_grad``, through in-place ops and views, and
``requires_grad`` is left as it was. There is no second set of derivative rules: as
``deepseek.func.jvp`` does for a whole function, a primitive's Jacobian-vector product is
obtained from its vjp by the double-vjp trick. For ``out = op(*inputs)`` the vjp ``J^T u`` is
built for a private cotangent ``u`` (the vjp is linear in ``u``), and ``J v`` is the gradient of
``sum_i <(J^T u)_i, v_i>`` with respect to ``u``. View ops, which are linear, apply themselves
to the tangent instead, so a view's tangent aliases its base's and an in-place op on either
updates both. The dispatch path in ``ops/_opdef.py`` reads ``FORWARD_AD[0]`` once per op to find
the active level; with none active nothing else runs.

Only one level may be active at a time, as in torch ("Nested forward mode AD is not supported
at the moment"). The tangent is differentiable in reverse mode (reverse-over-forward) when grad
mode is on and a primal or tangent requires grad. Complex dual tensors are refused; a custom
``autograd.Function`` is seen through, op by op (torch would call its ``jvp``).
"""

from __future__ import annotations

import functools
import weakref
from typing import Any, Callable, NamedTuple, Optional

import numpy as np

from .grad_mode import STATE

__all__ = ["UnpackedDualTensor", "enter_dual_level", "exit_dual_level", "make_dual",
           "unpack_dual", "dual_level"]

_LEVELS: list = []  # the active _DualLevel, at most one
_current_level = -1


class UnpackedDualTensor(NamedTuple):
    """What :func:`unpack_dual` returns: the primal (a view of the dual tensor, without its
    tangent) and the tangent (None for a tensor that is not dual at the level)."""

    primal: Any
    tangent: Optional[Any]


class _DualLevel:
    """One forward-AD level: the tangent of every dual tensor, by tensor identity (weakly, so
    a dead tensor's tangent goes with it), and the per-op tangent rule the dispatch path calls."""

    def __init__(self, index: int) -> None:
        self.index = index
        self._tangents: dict = {}

    # ---- the table
    def tangent(self, t: Any) -> Any:
        entry = self._tangents.get(id(t))
        if entry is None or entry[0]() is not t:
            return None
        return entry[1]

    def set_tangent(self, t: Any, tangent: Any) -> None:
        key, table = id(t), self._tangents

        def forget(ref: Any) -> None:
            entry = table.get(key)
            if entry is not None and entry[0] is ref:
                del table[key]

        table[key] = (weakref.ref(t, forget), tangent)

    def drop(self, t: Any) -> None:
        if self.tangent(t) is not None:
            del self._tangents[id(t)]

    def clear(self) -> None:
        self._tangents.clear()

    # ---- called by ops/_opdef.py while this level is active
    def propagate(self, op: Any, args: tuple, attrs: dict, out: Any) -> None:
        """Give ``out = op(*args)`` its tangent when an input has one."""
        from ..tensor import Tensor

        tangents = self._input_tangents(args)
        if tangents is None or op.vjp is None or out._data.dtype.kind != "f":
            return
        jv = self._quiet(_op_jvp, op, args, attrs, out, tangents)
        if jv is not None and isinstance(out, Tensor):
            self.set_tangent(out, jv)

    def inplace(self, op: Any, target: Any, args: tuple, attrs: dict) -> Any:
        """Run ``op`` in place on ``target`` and set ``target``'s tangent to the new one."""
        from ..ops._opdef import apply_inplace
        from ..tensor import Tensor

        tangents = self._input_tangents((target,) + args)
        if tangents is None:
            return self._quiet(apply_inplace, op, target, *args, **attrs)
        old = Tensor._wrap(target._data.copy(), target._device)
        old._requires_grad, old.grad_fn = target._requires_grad, target.grad_fn
        self._quiet(apply_inplace, op, target, *args, **attrs)
        if op.vjp is None or target._data.dtype.kind != "f":
            self.drop(target)
            return target
        inputs = (old,) + tuple(old if a is target else a for a in args)
        jv = self._quiet(_op_jvp, op, inputs, attrs, target, tangents)
        self._write(target, jv)
        return target

    def _input_tangents(self, args: tuple) -> Optional[list]:
        from ..tensor import Tensor

        found = None
        for i, a in enumerate(args):
            if isinstance(a, Tensor):
                tangent = self.tangent(a)
                if tangent is not None:
                    if found is None:
                        found = [None] * len(args)
                    found[i] = tangent
        return found

    def _quiet(self, fn: Callable, *args: Any, **kwargs: Any) -> Any:
        """``fn`` run with no level active: the tangent's own ops carry no tangents."""
        from ..ops._opdef import FORWARD_AD

        FORWARD_AD[0] = None
        try:
            return fn(*args, **kwargs)
        finally:
            FORWARD_AD[0] = self

    def _write(self, target: Any, jv: Any) -> None:
        """Store ``jv`` as ``target``'s tangent in the tangent's own memory when it has one (as
        torch does, so views of it see the change), else alias the base's tangent for a view."""
        current = self.tangent(target)
        plain = not jv._requires_grad
        if current is not None:
            data = current._data
            if (plain and not current._requires_grad and data.shape == jv._data.shape
                    and data.flags.writeable):
                np.copyto(data, jv._data, casting="unsafe")
                current._version_box[0] += 1
                return
        elif plain and target._base is not None:
            region = self._base_region(target)
            if region is not None:
                np.copyto(region._data, jv._data, casting="unsafe")
                self.set_tangent(target, region)
                return
        self.set_tangent(target, jv)

    def _base_region(self, view: Any) -> Any:
        """The part of the base's tangent that ``view`` covers (a zero tangent is made for a
        base without one), or None when the layouts do not allow it."""
        from ..tensor import Tensor

        base = view._base
        bdata, vdata = base._data, view._data
        if bdata.dtype.kind != "f" or not bdata.flags.c_contiguous:
            return None
        bt = self.tangent(base)
        if bt is None:
            bt = Tensor._wrap(np.zeros(bdata.shape, bdata.dtype), base._device)
            self.set_tangent(base, bt)
        tdata = bt._data
        if (bt._requires_grad or tdata.shape != bdata.shape or not tdata.flags.c_contiguous
                or not tdata.flags.writeable):
            return None
        item = bdata.itemsize
        offset = (vdata.__array_interface__["data"][0]
                  - bdata.__array_interface__["data"][0]) // item
        strides = tuple(s // item * tdata.itemsize for s in vdata.strides)
        flat = tdata.reshape(-1)[offset:]
        region = np.lib.stride_tricks.as_strided(flat, vdata.shape, strides)
        return Tensor._wrap(region, base._device)


def _op_jvp(op: Any, args: tuple, attrs: dict, out: Any, tangents: list) -> Any:
    """``J v`` of one primitive application, from its vjp (see the module docstring)."""
    from .. import autograd
    from ..ops._opdef import apply
    from ..tensor import Tensor
    from .grad_mode import enable_grad
    from .graph import Node, sum_to

    live = [i for i, t in enumerate(tangents) if t is not None]
    if op.is_view and live == [0]:
        return apply(op, tangents[0], **attrs)
    edges, shapes, dtypes, saved = [], [], [], []
    for a, t in zip(args, tangents):
        data = a._data if isinstance(a, Tensor) else a
        edges.append(None if t is None else a)
        shapes.append(data.shape)
        dtypes.append(data.dtype)
        saved.append(a if isinstance(a, Tensor) else Tensor._wrap(np.asarray(a)))
    ctx = Node(op, tuple(edges), attrs, tuple(shapes), tuple(dtypes))
    ctx._saved = tuple(saved)
    ctx._versions = tuple(a._version_box[0] for a in saved)
    if op.save_output:
        ctx._out, ctx._out_box = out._data, out._version_box
        ctx._out_version = out._version_box[0]
    create = STATE.enabled and (any(a._requires_grad for a in saved) or any(
        tangents[i]._requires_grad for i in live))
    u = Tensor._wrap(np.zeros(out._data.shape, out._data.dtype), out._device)
    u._requires_grad = True
    with enable_grad():
        grads = op.vjp(ctx, u)
        if not isinstance(grads, tuple):
            grads = (grads,)
        outputs, cotangents = [], []
        for i in live:
            g = grads[i] if i < len(grads) else None
            if g is None or not g._requires_grad:  # linear in u: one that does not read u is 0
                continue
            if g._data.shape != shapes[i]:
                g = sum_to(g, shapes[i])
            outputs.append(g)
            cotangents.append(tangents[i])
        jv = None
        if outputs:
            (jv,) = autograd.grad(outputs, [u], cotangents, retain_graph=create,
                                  create_graph=create, allow_unused=True)
    if jv is None:
        return Tensor._wrap(np.zeros(out._data.shape, out._data.dtype), out._device)
    if any(np.shares_memory(jv._data, tangents[i]._data) for i in live):
        jv = jv.clone()  # a vjp that passes u through (clone, add) returns the tangent itself
    return jv


# ---------------------------------------------------------------- the public API
def enter_dual_level() -> int:
    """Enter a new forward-AD level and make it the default of the other functions; returns
    its index. Only one level may be active at a time."""
    from ..ops._opdef import FORWARD_AD

    global _current_level
    if _LEVELS:
        raise RuntimeError("Nested forward mode AD is not supported at the moment")
    level = _DualLevel(_current_level + 1)
    _LEVELS.append(level)
    FORWARD_AD[0] = level
    _current_level = level.index
    return level.index


def exit_dual_level(*, level: Optional[int] = None) -> None:
    """Exit the forward-AD level ``level`` (the current one by default), dropping every
    tangent made in it. Only the last level entered may be exited."""
    from ..ops._opdef import FORWARD_AD

    global _current_level
    if level is None:
        level = _current_level
    if level != _current_level:
        raise RuntimeError("Trying to exit a forward AD level that was not the last one that was "
                           "created. This is not supported.")
    if not _LEVELS:
        raise RuntimeError("Dual level must be a positive number.")
    _LEVELS.pop().clear()
    FORWARD_AD[0] = None
    _current_level = level - 1


def _level(level: Optional[int], api: str) -> Optional[_DualLevel]:
    index = _current_level if level is None else level
    if index < 0:
        return None
    if not _LEVELS or _LEVELS[-1].index != index:
        raise RuntimeError(f"Invalid level given to {api}")
    return _LEVELS[-1]


def _check_floating(t: Any, what: str) -> None:
    from ..tensor import Tensor

    if not isinstance(t, Tensor):
        raise TypeError(f"make_dual(): argument '{what}' must be Tensor, not {type(t).__name__}")
    if not (t.is_floating_point() or t.is_complex()):
        raise ValueError(f"Expected {what} to be floating point or complex, but got: {t.dtype}")
    if t.is_complex():
        raise NotImplementedError(f"make_dual(): complex {what} tensors are not supported yet; "
                                  "use view_as_real() to make a real dual tensor")


def make_dual(tensor: Any, tangent: Any, *, level: Optional[int] = None) -> Any:
    """A dual tensor: a view of ``tensor`` carrying ``tangent`` (stored as is) at ``level``.

    Ops on it give their outputs tangents, the Jacobian-vector products; read them with
    :func:`unpack_dual`. The result is differentiable in reverse mode with respect to
    ``tensor``.

    Args:
        tensor (Tensor): the primal, floating point.
        tangent (Tensor): the tangent, floating point, of ``tensor``'s shape.
        level (int, optional): the level (the current one by default).

    Example:
        >>> import deepseek.autograd.forward_ad as fwAD
        >>> with fwAD.dual_level():
        ...     x = fwAD.make_dual(ds.tensor([1.0, 2.0]), ds.tensor([1.0, 0.0]))
        ...     fwAD.unpack_dual(x * x).tangent.tolist()
        [2.0, 0.0]
    """
    if (_current_level if level is None else level) < 0:
        raise RuntimeError("Trying to create a dual Tensor for forward AD but no level exists, "
                           "make sure to enter_dual_level() first.")
    _check_floating(tensor, "primal")
    _check_floating(tangent, "tangent")
    lvl = _level(level, "_make_dual")
    if tangent.shape != tensor.shape:
        raise RuntimeError("Trying to set a forward gradient that has a different size than that "
                           "of the original Tensor, this is not supported. Tensor is of size "
                           f"{list(tensor.shape)} while the given forward gradient is of size "
                           f"{list(tangent.shape)}.")
    if lvl.tangent(tensor) is not None:
        raise RuntimeError("Making a dual Tensor based on a Tensor that already has a forward "
                           f"gradient at the same level {lvl.index} is not supported.")
    dual = lvl._quiet(tensor.view_as, tensor)
    lvl.set_tangent(dual, tangent)
    return dual


def unpack_dual(tensor: Any, *, level: Optional[int] = None) -> UnpackedDualTensor:
    """``(primal, tangent)`` of ``tensor`` at ``level``: the primal is a view of ``tensor``
    without the tangent; the tangent is None when ``tensor`` is not dual there (outside any
    level, ``(tensor, None)``).

    Example:
        >>> import deepseek.autograd.forward_ad as fwAD
        >>> with fwAD.dual_level():
        ...     y = fwAD.make_dual(ds.tensor([3.0]), ds.tensor([1.0])).exp()
        ...     primal, tangent = fwAD.unpack_dual(y)
    """
    from ..tensor import Tensor

    lvl = _level(level, "_unpack_dual")
    if lvl is None:
        return UnpackedDualTensor(tensor, None)
    if not isinstance(tensor, Tensor):
        raise TypeError("_unpack_dual(): argument 'dual' (position 1) must be Tensor, not "
                        f"{type(tensor).__name__}")
    tangent = lvl.tangent(tensor)
    if tangent is None:
        return UnpackedDualTensor(tensor, None)
    return UnpackedDualTensor(lvl._quiet(tensor.view_as, tensor), tangent)


class dual_level:
    """Context manager (and decorator) for a forward-AD level: entered on ``__enter__``
    (which returns its index) and exited, with all its tangents, on ``__exit__``.

    Example:
        >>> import deepseek.autograd.forward_ad as fwAD
        >>> x, v = ds.tensor([0.0, 1.0]), ds.ones(2)
        >>> with fwAD.dual_level():
        ...     jvp = fwAD.unpack_dual(fwAD.make_dual(x, v).sin()).tangent
        >>> [round(v, 4) for v in jvp.tolist()]  # cos(x)
        [1.0, 0.5403]
    """

    def __enter__(self) -> int:
        return enter_dual_level()

    def __exit__(self, *exc: Any) -> None:
        exit_dual_level()

    def __call__(self, fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with dual_level():
                return fn(*args, **kwargs)

        return wrapper
