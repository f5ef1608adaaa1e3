"""Module backward hooks, built on tensor hooks: identity views mark the module's inputs and
outputs; the backward pre-hooks run once every output gradient has arrived, the full backward
hooks once every input gradient has.

The engine has single-output nodes only, so with several differentiable inputs a hook's
returned ``grad_input`` replaces the gradient of the input whose gradient arrives last (the
others have already flowed on); with one differentiable input (the usual case) it is exact.
"""

from __future__ import annotations

import warnings
from typing import Any

from ...autograd.grad_mode import is_grad_enabled
from ...tensor import Tensor


class _State:
    __slots__ = ("module", "hooks", "pre_hooks", "n_inputs", "positions", "grad_inputs",
                 "grad_outputs", "pending_out", "pending_in")

    def __init__(self, module: Any, hooks: list, pre_hooks: list, n_inputs: int) -> None:
        self.module = module
        self.hooks, self.pre_hooks = hooks, pre_hooks  # as registered when forward ran
        self.n_inputs = n_inputs
        self.positions: list = []
        self.grad_inputs: list = [None] * n_inputs
        self.grad_outputs: list = []
        self.pending_out = 0
        self.pending_in = 0

    def run_pre_hooks(self) -> Any:
        """Run the backward pre-hooks on ``grad_output``; returns the replacement, or None."""
        grad_output = tuple(self.grad_outputs)
        replaced = None
        for hook in self.pre_hooks:
            res = hook(self.module, grad_output)
            if res is not None:
                res = tuple(res) if isinstance(res, (tuple, list)) else (res,)
                if len(res) != len(grad_output):
                    raise RuntimeError(f"Backward pre hook returned an invalid number of "
                                       f"grad_output, got {len(res)}, but expected "
                                       f"{len(grad_output)}")
                grad_output = replaced = res
        self.grad_outputs = list(grad_output)  # what the full hooks see
        return replaced

    def run_hooks(self) -> Any:
        grad_input = tuple(self.grad_inputs)
        replaced = None
        for hook in self.hooks:
            res = hook(self.module, grad_input, tuple(self.grad_outputs))
            if res is not None:
                res = tuple(res) if isinstance(res, (tuple, list)) else (res,)
                if len(res) != len(grad_input):
                    raise RuntimeError(f"Backward hook returned an invalid number of grad_input, "
                                       f"got {len(res)}, but expected {len(grad_input)}")
                grad_input = replaced = res
        return replaced


def _identity(x: Tensor) -> Tensor:
    return x.view_as(x)


def wrap_inputs(module: Any, args: tuple, hooks: list, pre_hooks: list) -> tuple:
    """``args`` with their tensors marked for the full backward ``hooks``, and the state the
    outputs' marks share (None when grad mode is off)."""
    state = _State(module, hooks, pre_hooks, sum(isinstance(a, Tensor) for a in args))
    if not is_grad_enabled():
        return args, None
    if not hooks:  # pre-hooks only: the inputs need no marking
        return args, state
    out, k = [], 0
    for a in args:
        if isinstance(a, Tensor):
            if a.requires_grad:
                a = _identity(a)
                state.pending_in += 1
                a.register_hook(_input_hook(state, k))
            k += 1
        out.append(a)
    return tuple(out), state


def _input_hook(state: _State, index: int):
    def hook(g: Tensor) -> Any:
        state.grad_inputs[index] = g
        state.pending_in -= 1
        if state.pending_in == 0:
            replaced = state.run_hooks()
            if replaced is not None:
                return replaced[index]
        return None

    return hook


def wrap_outputs(module: Any, result: Any, state: Any) -> Any:
    if state is None:
        return result
    outputs = result if isinstance(result, tuple) else (result,)
    wrapped = []
    for o in outputs:
        if isinstance(o, Tensor) and o.requires_grad:
            i = len(state.grad_outputs)
            state.grad_outputs.append(None)
            state.pending_out += 1
            o = _identity(o)
            o.register_hook(_output_hook(state, i))
        wrapped.append(o)
    return tuple(wrapped) if isinstance(result, tuple) else wrapped[0]


def _output_hook(state: _State, index: int):
    def hook(g: Tensor) -> Any:
        state.grad_outputs[index] = g
        state.pending_out -= 1
        if state.pending_out != 0:
            return None
        replaced = state.run_pre_hooks() if state.pre_hooks else None
        if state.pending_in == 0 and state.hooks:
            state.run_hooks()  # no input needs a gradient: grad_input is all None
        return None if replaced is None else replaced[index]

    return hook


_NON_FULL = ("Using a non-full backward hook {when} is deprecated and will be removed in future "
             "versions. This hook will be missing some {what}. Please use "
             "register_full_backward_hook to get the documented behavior (deepseek passes the "
             "module's gradients, as register_full_backward_hook does).")


def warn_non_full(args: tuple, result: Any) -> None:
    """torch's FutureWarning for a ``register_backward_hook`` hook whose ``grad_input`` (the
    gradients of the last op's inputs, in torch) is not the module's: the output is not
    Tensors, the inputs are not, or ``forward`` is more than one op on its inputs. ``args``
    are the inputs as ``forward`` got them."""
    outputs = result if isinstance(result, tuple) else (result,)
    if not all(isinstance(o, Tensor) for o in outputs):
        when = ("on a Module that does not return a single Tensor or a tuple of Tensors",
                "grad_output")
    elif not all(isinstance(a, Tensor) for a in args):
        when = ("on a Module that does not take as input a single Tensor or a tuple of "
                "Tensors", "grad_input")
    else:
        nodes = {id(o.grad_fn): o.grad_fn for o in outputs if o.grad_fn is not None}
        if len(nodes) != 1:
            when = ("when outputs are generated by different autograd Nodes", "grad_output")
        else:
            node = next(iter(nodes.values()))
            edges = {id(e) for e in node.next if e is not None}
            inputs = {id(a if a.grad_fn is None else a.grad_fn) for a in args if a.requires_grad}
            if edges == inputs:
                return
            when = ("when the forward contains multiple autograd Nodes", "grad_input")
    warnings.warn(_NON_FULL.format(when=when[0], what=when[1]), FutureWarning, stacklevel=4)
