"""Activation checkpointing: run a function without keeping its intermediate tensors and
recompute them in backward (with the same random numbers)."""

from __future__ import annotations

import contextlib
import functools
from typing import Any, Callable, Iterable, Optional

from .. import random as _random
from ..autograd.function import Function
from ..autograd.grad_mode import STATE, enable_grad
from ..autograd.graph import Node, _deliver_leaf, run_backward
from ..tensor import Tensor

__all__ = ["checkpoint", "checkpoint_sequential", "detach_variable", "noop_context_fn",
           "set_checkpoint_early_stop"]


class _Run:
    """What the recomputation needs: the function, its keyword arguments, the RNG state."""

    __slots__ = ("fn", "kwargs", "rng_state", "num_args", "context")

    def __init__(self, fn: Callable, kwargs: dict, rng_state: Optional[Tensor],
                 num_args: int, context: Any) -> None:
        self.fn, self.kwargs, self.rng_state, self.num_args = fn, kwargs, rng_state, num_args
        self.context = context  # entered around the recomputation


class _Checkpoint(Function):
    """One graph node for the whole of ``fn``: its inputs are ``fn``'s arguments plus the
    leaves (parameters) found in ``fn``, so gradients reach them through the engine."""

    @staticmethod
    def forward(ctx: Any, run: _Run, *inputs: Any) -> Any:
        ctx.run = run
        ctx.save_for_backward(*(a if isinstance(a, Tensor) else None for a in inputs))
        ctx.constants = [None if isinstance(a, Tensor) else a for a in inputs]
        return run.fn(*inputs[:run.num_args], **run.kwargs)

    @staticmethod
    def backward(ctx: Any, *grads: Any) -> tuple:
        run, create_graph = ctx.run, STATE.enabled
        saved = ctx.saved_tensors
        args = [c if t is None else t.detach().requires_grad_(t._requires_grad)
                for t, c in zip(saved[:run.num_args], ctx.constants)]
        known = list(saved[run.num_args:])
        with _rng_state(run.rng_state), enable_grad(), run.context:
            outputs = _flatten(run.fn(*args, **run.kwargs))
        pairs = [(o, g) for o, g in zip(outputs, grads)
                 if isinstance(o, Tensor) and o._requires_grad and g is not None]
        # backward walks the outputs' graph; the recomputed values themselves can go now
        roots = [o if o.grad_fn is None else _Root(o.grad_fn) for o, _ in pairs]
        out_grads = [g for _, g in pairs]
        del outputs, pairs
        fresh = [a for a in args if isinstance(a, Tensor) and a._requires_grad]
        leaves = _leaves(roots)
        inner = [t for t in leaves if not any(t is a for a in fresh)]
        got = _grads(roots, out_grads, fresh + inner, create_graph)
        by_id = {id(t): g for t, g in zip(fresh + inner, got)}
        for leaf in inner:  # used by fn but not an input of our node: accumulate directly
            g = by_id[id(leaf)]
            if g is not None and not any(leaf is k for k in known):
                _deliver_leaf(leaf, g, {}, True, create_graph)
        result = [by_id.get(id(a)) if isinstance(a, Tensor) else None for a in args]
        result += [by_id.get(id(k)) for k in known]
        return (None, *result)


class _Root:
    """What backward needs of a recomputed output: its ``grad_fn``, not its data."""

    __slots__ = ("grad_fn",)

    def __init__(self, grad_fn: Node) -> None:
        self.grad_fn = grad_fn


def _flatten(outputs: Any) -> list:
    return list(outputs) if isinstance(outputs, tuple) else [outputs]


def _leaves(outputs: Iterable[Tensor]) -> list:
    """The leaf tensors requiring grad that the graph of ``outputs`` reaches."""
    found: dict = {}
    stack = [o.grad_fn for o in outputs if o.grad_fn is not None]
    seen = {id(n) for n in stack}
    for o in outputs:
        if o.grad_fn is None:
            found[id(o)] = o
    while stack:
        for edge in stack.pop().next:
            if isinstance(edge, Node):
                if id(edge) not in seen:
                    seen.add(id(edge))
                    stack.append(edge)
            elif edge is not None:
                found.setdefault(id(edge), edge)
    return list(found.values())


def _grads(outputs: list, grads: list, inputs: list, create_graph: bool) -> list:
    """Gradients of ``outputs`` for ``inputs``; the inputs' own hooks are left for whoever
    delivers the gradient to them (the engine, or us), so they run exactly once."""
    if not outputs or not inputs:
        return [None] * len(inputs)
    hooks = [t.__dict__.pop("_hooks", None) for t in inputs]
    try:
        return run_backward(outputs, grads, False, create_graph, inputs=inputs,
                            accumulate=False)
    finally:
        for t, h in zip(inputs, hooks):
            if h is not None:
                t._hooks = h


class _rng_state:
    """Within the block, the default generator is in ``state``; afterwards back where it was."""

    def __init__(self, state: Optional[Tensor]) -> None:
        self.state, self.outer = state, None

    def __enter__(self) -> None:
        if self.state is not None:
            self.outer = _random.get_rng_state()
            _random.set_rng_state(self.state)

    def __exit__(self, *exc: Any) -> None:
        if self.outer is not None:
            _random.set_rng_state(self.outer)


def _captured_leaves(fn: Any) -> list:
    """Leaf tensors requiring grad that ``fn`` evidently uses: a module's parameters (``fn``
    itself, its ``__self__``, a partial's arguments) and tensors or modules in its closure."""
    found: dict = {}

    def visit(obj: Any, depth: int) -> None:
        if isinstance(obj, Tensor):
            if obj._requires_grad and obj.grad_fn is None:
                found.setdefault(id(obj), obj)
        elif callable(getattr(obj, "parameters", None)) and hasattr(obj, "_parameters"):
            for p in obj.parameters():
                visit(p, depth)
        elif depth < 2 and isinstance(obj, (list, tuple)):
            for item in obj:
                visit(item, depth + 1)
        elif depth < 2 and isinstance(obj, functools.partial):
            for item in (obj.func, *obj.args, *obj.keywords.values()):
                visit(item, depth + 1)
        elif depth < 2 and callable(obj):
            visit(getattr(obj, "__self__", None), depth + 1)
            for item in getattr(obj, "__dict__", {}).values():
                visit(item, depth + 1)
            for cell in getattr(obj, "__closure__", None) or ():
                try:
                    visit(cell.cell_contents, depth + 1)
                except ValueError:  # an empty cell
                    pass

    visit(fn, 0)
    return list(found.values())


def noop_context_fn() -> tuple:
    """The default ``context_fn`` of :func:`checkpoint`: two contexts that do nothing."""
    return contextlib.nullcontext(), contextlib.nullcontext()


def detach_variable(inputs: tuple) -> tuple:
    """The tensors of ``inputs`` detached, each keeping its ``requires_grad``."""
    if not isinstance(inputs, tuple):
        raise RuntimeError("Only tuple of tensors is supported. Got Unsupported input type: "
                           f"{type(inputs).__name__}")
    return tuple(t.detach().requires_grad_(t.requires_grad) if isinstance(t, Tensor) else t
                 for t in inputs)


@contextlib.contextmanager
def set_checkpoint_early_stop(enable: bool) -> Any:
    """Accepted as torch's: whether a recomputation may stop once it has what backward needs.
    Ours always runs the whole function (the results are the same either way)."""
    yield


def checkpoint(function: Callable, *args: Any, use_reentrant: Optional[bool] = None,
               context_fn: Any = None, determinism_check: str = "default",
               debug: bool = False, preserve_rng_state: bool = True, **kwargs: Any) -> Any:
    """Run ``function(*args, **kwargs)`` without keeping its intermediate tensors; backward
    runs it again (with the default generator's state of the first run, so dropout masks
    match) and differentiates that. Gradients equal those of the plain call.

    Parameters reach the graph through the checkpoint node when ``function`` is a module, a
    module's method, or a closure over modules or tensors; other leaves it uses get their
    gradient accumulated into ``.grad`` during backward (so ``autograd.grad`` does not see
    them). Differentiating the gradients a second time is not supported.

    Args:
        function: the function to run.
        *args: its arguments (tensors and other values).
        use_reentrant: accepted for PyTorch compatibility; both modes behave the same.
        context_fn: returns two context managers, entered around the forward run and around
            the recomputation (``use_reentrant=False`` only, as torch).
        preserve_rng_state: replay the random numbers of the forward run. Default: True.
        **kwargs: keyword arguments of ``function``.

    Example:
        >>> block = ds.nn.Sequential(ds.nn.Linear(4, 4), ds.nn.GELU())
        >>> y = checkpoint(block, ds.randn(2, 4, requires_grad=True))
    """
    if use_reentrant and (context_fn not in (None, noop_context_fn) or debug):
        raise ValueError("Passing `context_fn` or `debug` is only supported when "
                         "use_reentrant=False.")
    forward_context, recompute_context = (context_fn or noop_context_fn)()
    rng_state = _random.get_rng_state() if preserve_rng_state else None
    with forward_context:
        if not STATE.enabled:
            return function(*args, **kwargs)
        leaves = [t for t in _captured_leaves(function) if not any(t is a for a in args)]
        run = _Run(function, kwargs, rng_state, len(args), recompute_context)
        return _Checkpoint.apply(run, *args, *leaves)


def checkpoint_sequential(functions: Any, segments: int, input: Any,
                          use_reentrant: Optional[bool] = None, **kwargs: Any) -> Any:
    """Run a sequence of functions (or a ``Sequential``) in ``segments`` chunks, all but the
    last checkpointed.

    Args:
        functions: a ``Sequential``, or a list of modules or functions run in order.
        segments: number of chunks.
        input: the input of the first function.
        preserve_rng_state: replay the random numbers of the forward run. Default: True.

    Example:
        >>> model = ds.nn.Sequential(*[ds.nn.Linear(4, 4) for _ in range(4)])
        >>> y = checkpoint_sequential(model, 2, ds.randn(2, 4, requires_grad=True))
    """
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs:
        raise ValueError(f"Unexpected keyword arguments: {','.join(kwargs)}")
    if callable(getattr(functions, "children", None)):
        functions = list(functions.children())
    functions = list(functions)
    size = len(functions) // segments
    end = -1
    for start in range(0, size * (segments - 1), size):
        end = start + size - 1
        input = checkpoint(_Segment(functions[start:end + 1]), input,
                           use_reentrant=use_reentrant, preserve_rng_state=preserve)
    return _Segment(functions[end + 1:])(input)


class _Segment:
    """Apply ``functions`` one after the other."""

    def __init__(self, functions: list) -> None:
        self.functions = functions

    def __call__(self, x: Any) -> Any:
        for fn in self.functions:
            x = fn(x)
        return x
