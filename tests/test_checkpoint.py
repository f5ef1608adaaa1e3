"""ds.utils.checkpoint: gradients equal the plain computation's (dropout included), for
modules, closures, several outputs, hooks, autograd.grad and checkpoint_sequential."""

from __future__ import annotations

import weakref

import numpy as np
import pytest

import deepseek as ds
from deepseek.utils.checkpoint import checkpoint, checkpoint_sequential


def _model() -> ds.nn.Module:
    ds.manual_seed(0)
    return ds.nn.Sequential(ds.nn.Linear(4, 5), ds.nn.Dropout(0.5), ds.nn.Tanh(),
                            ds.nn.Linear(5, 3), ds.nn.Dropout(0.3), ds.nn.Linear(3, 2))


def _grads(run, model: ds.nn.Module, x: ds.Tensor) -> list:
    """Loss and gradients (input, then parameters) of ``run``, from a fixed RNG state."""
    model.zero_grad()
    x.grad = None
    ds.manual_seed(123)
    loss = run(model, x).square().sum()
    loss.backward()
    return [loss.detach().numpy(), x.grad.numpy()] + [p.grad.numpy() for p in model.parameters()]


def _assert_same(a: list, b: list) -> None:
    assert len(a) == len(b)
    for i, (u, v) in enumerate(zip(a, b)):
        np.testing.assert_allclose(u, v, rtol=1e-6, atol=1e-7, err_msg=f"gradient {i}")


def test_module_with_dropout() -> None:
    model, x = _model(), ds.randn(6, 4, requires_grad=True)
    plain = _grads(lambda m, x: m(x), model, x)
    _assert_same(_grads(lambda m, x: checkpoint(m, x), model, x), plain)
    _assert_same(_grads(lambda m, x: checkpoint(m, x, use_reentrant=True), model, x), plain)
    _assert_same(_grads(lambda m, x: checkpoint_sequential(m, 2, x), model, x), plain)
    _assert_same(_grads(lambda m, x: checkpoint_sequential(list(m), 3, x), model, x), plain)


def test_backward_does_not_consume_randomness() -> None:
    model, x = _model(), ds.randn(6, 4, requires_grad=True)
    y = checkpoint(model, x)
    state = ds.get_rng_state()
    y.sum().backward()
    assert ds.get_rng_state().tolist() == state.tolist()


def test_autograd_grad_reaches_module_parameters() -> None:
    model, x = _model(), ds.randn(6, 4, requires_grad=True)
    params = list(model.parameters())
    ds.manual_seed(1)
    plain = ds.autograd.grad(model(x).sum(), [x] + params)
    ds.manual_seed(1)
    ours = ds.autograd.grad(checkpoint(model, x).sum(), [x] + params)
    _assert_same([g.numpy() for g in ours], [g.numpy() for g in plain])


def test_closures_outputs_kwargs_and_hooks() -> None:
    w = ds.randn(4, 3, requires_grad=True)
    b = ds.randn(3, requires_grad=True)
    seen = []
    w.register_hook(lambda g: seen.append(1) or g * 2)

    def fn(x, scale, shift=0.0):
        h = (x @ w).tanh() * scale + shift
        return h, (h * b).sum(-1)

    x = ds.randn(5, 4, requires_grad=True)
    results = []
    for wrap in (lambda *a, **k: fn(*a, **k), lambda *a, **k: checkpoint(fn, *a, **k)):
        w.grad = b.grad = x.grad = None
        h, s = wrap(x, 3.0, shift=1.0)
        (h.square().sum() + s.sum()).backward()
        results.append([w.grad.numpy(), b.grad.numpy(), x.grad.numpy()])
    _assert_same(results[1], results[0])
    assert seen == [1, 1]  # the hook ran once per backward


def test_leaf_not_captured_gets_its_gradient() -> None:
    holder = {"w": ds.randn(3, 3, requires_grad=True)}

    def fn(x):
        return x @ _lookup(holder)

    x = ds.randn(2, 3, requires_grad=True)
    checkpoint(fn, x).sum().backward()
    expected = x.detach().numpy().T @ np.ones((2, 3), np.float32)
    np.testing.assert_allclose(holder["w"].grad.numpy(), expected, rtol=1e-6)


def _lookup(holder: dict) -> ds.Tensor:
    return holder["w"]


def test_input_modified_in_place_is_detected() -> None:
    x = ds.randn(3, requires_grad=True)
    y = x * 1
    out = checkpoint(lambda t: t.sin(), y)
    with ds.no_grad():
        y.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()


def test_no_grad_runs_plainly() -> None:
    model = _model()
    with ds.no_grad():
        y = checkpoint(model, ds.randn(2, 4))
    assert not y.requires_grad


def test_recomputed_output_is_freed_before_its_backward() -> None:
    """Backward through a checkpoint needs the recomputed graph, not the recomputed output:
    a block's output (often its largest tensor) must not stay alive through the block's
    backward."""
    outputs: list = []
    dead: list = []

    class Probe(ds.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1.0

        @staticmethod
        def backward(ctx, g):
            dead.append(outputs[-1]() is None)  # the latest output: the recomputed one
            return g

    def block(x):
        out = Probe.apply(x) * 2.0 + 1.0
        outputs.append(weakref.ref(out._data))
        return out

    x = ds.randn(8, 8, requires_grad=True)
    checkpoint(block, x).sum().backward()
    assert len(outputs) == 2 and dead == [True]
    np.testing.assert_allclose(x.grad.numpy(), np.full((8, 8), 2.0))


def test_context_fn_contexts_wrap_the_run_and_the_recomputation() -> None:
    import torch

    def run(lib) -> list:
        cp = lib.utils.checkpoint
        events = []

        class Note:
            def __init__(self, name: str) -> None:
                self.name = name

            def __enter__(self) -> None:
                events.append(f"enter {self.name}")

            def __exit__(self, *exc) -> None:
                events.append(f"exit {self.name}")

        x = lib.ones(3, requires_grad=True)
        y = cp.checkpoint(lambda a: (events.append("fn"), a.sin())[1], x, use_reentrant=False,
                          context_fn=lambda: (Note("forward"), Note("recompute")))
        events.append("backward")
        y.sum().backward()
        with pytest.raises(ValueError, match="only supported when use_reentrant=False"):
            cp.checkpoint(lambda a: a, x, use_reentrant=True,
                          context_fn=lambda: (Note("a"), Note("b")))
        cp.checkpoint(lambda a: a, x, use_reentrant=True, context_fn=cp.noop_context_fn)
        with cp.set_checkpoint_early_stop(False):
            cp.checkpoint(lambda a: a * 2, x, use_reentrant=False).sum().backward()
        a, b = cp.detach_variable((x, 3))
        assert a.requires_grad and a.grad_fn is None and b == 3
        with pytest.raises(RuntimeError, match="Got Unsupported input type: list"):
            cp.detach_variable([x])
        return events + [x.grad.tolist()]

    assert run(ds) == run(torch)
