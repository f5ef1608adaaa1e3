"""``deepseek.library.opcheck``: run a custom op once per check on copies of a sample call."""

from __future__ import annotations

from typing import Any, Optional, Sequence, Union

import numpy as np

from .._errors import describe
from ..autograd.grad_mode import no_grad
from ..tensor import Tensor
from . import CustomOpDef, _resolve

# ---------------------------------------------------------------------------------------------
# opcheck
# ---------------------------------------------------------------------------------------------

DEFAULT_TEST_UTILS = ("test_schema", "test_autograd_registration", "test_faketensor",
                      "test_aot_dispatch_dynamic")


class OpCheckError(Exception):
    """Raised by :func:`opcheck` when a check fails (the cause is chained)."""


def _copy(op: CustomOpDef, bound: list, dtype: Any = None) -> list:
    """``bound`` with fresh copies of its tensors (floating ones in ``dtype`` when given),
    keeping which require grad."""

    def one(t: Tensor) -> Tensor:
        c = t.detach().clone()
        if dtype is not None and c.is_floating_point():
            c = c.to(dtype)
        return c.requires_grad_(t.requires_grad and c.is_floating_point())

    return [None if v is None else [one(t) for t in v] if a.kind == "Tensor" and a.is_list
            else one(v) if a.kind == "Tensor" else v
            for a, v in zip(op._schema.arguments, bound)]


def _call(op: CustomOpDef, values: list) -> Any:
    return op._call_user(op, values)


def _check_schema(op: CustomOpDef, bound: list, atol: Any, rtol: Any) -> None:
    values = _copy(op, bound)
    before = [(a, t, t._version, np.array(t._data, copy=True))
              for a, v in zip(op._schema.arguments, values) if a.kind == "Tensor"
              and v is not None for t in (v if a.is_list else [v])]
    with no_grad():
        out = _call(op, values)
    for a, t, version, old in before:
        changed = old.tobytes() != np.ascontiguousarray(t._data).tobytes()
        if changed and not a.mutable:
            raise RuntimeError(f"[{op._qualname}] argument '{a.name}' was mutated in place, but "
                               "the schema does not declare it (add it to mutates_args, or "
                               "write Tensor(a!) in the schema)")
        if a.mutable and t._version == version:
            raise RuntimeError(f"[{op._qualname}] the version counter of the mutated argument "
                               f"'{a.name}' did not move")
    if (out is None) != (not op._schema.returns):
        raise RuntimeError(f"[{op._qualname}] returned {type(out).__name__}, but the schema "
                           f"{op._qualname}{op._schema.text} says otherwise")


def _differentiable(op: CustomOpDef, values: list) -> list:
    """The positions (argument, list index or None) of the tensors that require grad."""
    return [(i, j) for i, (a, v) in enumerate(zip(op._schema.arguments, values))
            if a.kind == "Tensor" and v is not None
            for j, t in ([(None, v)] if not a.is_list else enumerate(v)) if t.requires_grad]


def _substitute(values: list, where: list, tensors: Sequence) -> list:
    values = [list(v) if isinstance(v, list) else v for v in values]
    for (i, j), t in zip(where, tensors):
        if j is None:
            values[i] = t
        else:
            values[i][j] = t
    return values


def _check_autograd(op: CustomOpDef, bound: list, atol: Any, rtol: Any) -> None:
    from ..autograd.gradcheck import GradcheckError, gradcheck
    from ..dtypes import float64

    where = _differentiable(op, bound)
    if not where:
        return
    q = op._qualname
    if op._schema.mutable:
        raise RuntimeError(f"[{q}] mutates its inputs, so it has no autograd formula, but an "
                           "input requires grad")
    if op._backward_fn is None and op._autograd_fn is None and op._composite_fn is None:
        raise RuntimeError(f"[{q}] inputs require grad but no autograd formula is registered; "
                           "use register_autograd")
    values = _copy(op, bound, float64)
    wrt = [values[i] if j is None else values[i][j] for i, j in where]
    with no_grad():
        out = _call(op, values)
    if not out.is_floating_point():
        return
    try:
        gradcheck(lambda *ts: _call(op, _substitute(values, where, ts)), tuple(wrt),
                  atol=1e-5 if atol is None else atol, rtol=1e-3 if rtol is None else rtol)
    except GradcheckError as e:
        raise RuntimeError(f"[{q}] the gradients disagree with finite differences (float64): "
                           f"{e}") from e


def _check_fake(op: CustomOpDef, bound: list, atol: Any, rtol: Any) -> None:
    if op._composite_fn is not None and not op._backend_fns:
        return  # a composition: nothing to fake
    q = op._qualname
    with no_grad():
        real = _call(op, _copy(op, bound))
    if op._abstract_fn is None:
        if real is None:
            return  # nothing to describe: a mutating op's output is its inputs
        raise RuntimeError(f"There was no fake impl registered for {op}. This is necessary for "
                           f"opcheck (and for shape-only execution) to work. Please use "
                           f"{op._hint('register_fake')} to add a fake impl.")

    def stand_in(t: Tensor) -> Tensor:
        return Tensor._wrap(np.broadcast_to(np.zeros((), t._data.dtype), t.shape))

    values = [None if v is None else [stand_in(t) for t in v] if a.kind == "Tensor" and
              a.is_list else stand_in(v) if a.kind == "Tensor" else v
              for a, v in zip(op._schema.arguments, bound)]
    with no_grad():
        fake = op._call_user(op._abstract_fn, values)
    if real is None:
        if fake is not None:
            raise RuntimeError(f"[{q}] the fake impl returned {describe(fake)}, but the op "
                               "returns nothing")
        return
    if not isinstance(fake, Tensor):
        raise RuntimeError(f"[{q}] the fake impl returned {type(fake).__name__}, not a Tensor")
    if tuple(fake.shape) != tuple(real.shape) or fake.dtype != real.dtype:
        raise RuntimeError(f"[{q}] the fake impl returned {describe(fake._data)}, but the op "
                           f"returned {describe(real._data)}")


def _check_jit(op: CustomOpDef, bound: list, atol: Any, rtol: Any) -> None:
    from .._creation import ones_like
    from ..autograd import grad
    from ..jit.api import jit
    from ..testing import assert_close

    where = _differentiable(op, bound)

    def step(*tensors: Tensor) -> tuple:
        values = _substitute(template, everything, tensors)
        out = _call(op, values)
        if out is None:
            return tuple(t for (i, j), t in zip(everything, tensors)
                         if op._schema.arguments[i].mutable)
        if not where or not out.requires_grad:
            return (out,)
        diff = [t for (i, j), t in zip(everything, tensors) if t.requires_grad]
        grads = grad(out, diff, ones_like(out), allow_unused=True)
        return (out.detach(),) + tuple(g for g in grads if g is not None)

    results = []
    compiled = jit(step)
    template = _copy(op, bound)
    everything = [(i, j) for i, (a, v) in enumerate(zip(op._schema.arguments, template))
                  if a.kind == "Tensor" and v is not None
                  for j in ([None] if not a.is_list else range(len(v)))]
    for run in (step, compiled, compiled):  # eager, the tracing run, the compiled code
        values = _copy(op, bound)
        results.append(run(*[values[i] if j is None else values[i][j] for i, j in everything]))
    if op._composite_fn is None or op._backend_fns:
        graph = compiled.graph
        if op._qualname not in graph:
            raise RuntimeError(f"[{op._qualname}] ds.jit did not record the op as one node:\n"
                               f"{graph}")
    for got in results[1:]:
        assert_close(got, results[0], atol=atol, rtol=rtol,
                     msg=lambda m: f"[{op._qualname}] ds.jit disagrees with eager: {m}")


_CHECKS = {"test_schema": _check_schema, "test_autograd_registration": _check_autograd,
           "test_faketensor": _check_fake, "test_aot_dispatch_dynamic": _check_jit}


def opcheck(op: Union[str, CustomOpDef], args: tuple, kwargs: Optional[dict] = None, *,
            test_utils: Union[str, Sequence[str]] = DEFAULT_TEST_UTILS,
            raise_exception: bool = True, atol: Optional[float] = None,
            rtol: Optional[float] = None) -> dict:
    """Check a custom op's registrations on one sample call, as ``torch.library.opcheck``.

    The op runs on copies of ``args``/``kwargs`` (which are left alone). Checks, by torch's
    names:

    - ``test_schema``: the op runs; only the arguments declared mutable change (and their
      version counters move); it returns what the schema says.
    - ``test_autograd_registration``: when an input requires grad, an autograd formula is
      registered and its gradients match central finite differences in float64.
    - ``test_faketensor``: the fake impl gives the real output's shape and dtype.
    - ``test_aot_dispatch_dynamic``: under ``ds.jit`` the op is recorded as one node and the
      compiled run gives eager's outputs and gradients.

    Returns:
        ``{check: "SUCCESS" or the exception}``; with ``raise_exception`` the first failure
        raises :class:`OpCheckError` instead.

    Example:
        >>> # scale_add from custom_op's example, with register_autograd and register_fake
        >>> x = deepseek.randn(3, dtype=deepseek.float64, requires_grad=True)
        >>> deepseek.library.opcheck(scale_add, (x, deepseek.randn(3), 2.0))
        {'test_schema': 'SUCCESS', 'test_autograd_registration': 'SUCCESS', ...}
    """
    op = _resolve(op, "opcheck")
    if (atol is None) != (rtol is None):
        raise ValueError("opcheck(op, ...): give both atol and rtol, or neither")
    names = (test_utils,) if isinstance(test_utils, str) else tuple(test_utils)
    unknown = [n for n in names if n not in _CHECKS]
    if unknown:
        raise ValueError(f"opcheck(op, ...): test_utils={unknown} is not a subset of "
                         f"{DEFAULT_TEST_UTILS}")
    bound = op._schema.bind(op._qualname, tuple(args), dict(kwargs or {}))
    results: dict = {}
    for name in names:
        try:
            _CHECKS[name](op, bound, atol, rtol)
        except Exception as e:
            if raise_exception:
                raise OpCheckError(f"opcheck(op, ...): {name} failed with {e}") from e
            results[name] = e
        else:
            results[name] = "SUCCESS"
    return results
