"""Module full backward hooks, built on tensor hooks: identity views mark the module's inputs
and outputs, and the user hooks run once every input gradient has arrived.

The engine has single-output nodes only, so with several differentiable inputs a hook's
returned ``grad_input`` replaces the gradient of the input whose gradient arrives last (the
others have already flowed on); with one differentiable input (the usual case) it is exact.
"""

from __future__ import annotations

from typing import Any

from ...autograd.grad_mode import is_grad_enabled
from ...tensor import Tensor


class _State:
    __slots__ = ("module", "n_inputs", "positions", "grad_inputs", "grad_outputs", "pending_out",
                 "pending_in")

    def __init__(self, module: Any, n_inputs: int) -> None:
        self.module = module
        self.n_inputs = n_inputs
        self.positions: list = []
        self.grad_inputs: list = [None] * n_inputs
        self.grad_outputs: list = []
        self.pending_out = 0
        self.pending_in = 0

    def run_hooks(self) -> Any:
        grad_input = tuple(self.grad_inputs)
        replaced = None
        for hook in list(self.module._backward_hooks.values()):
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


def wrap_inputs(module: Any, args: tuple) -> tuple:
    state = _State(module, sum(isinstance(a, Tensor) for a in args))
    if not is_grad_enabled():
        return args, None
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
    def hook(g: Tensor) -> None:
        state.grad_outputs[index] = g
        state.pending_out -= 1
        if state.pending_out == 0 and state.pending_in == 0:
            state.run_hooks()  # no input needs a gradient: grad_input is all None

    return hook
