"""TorchScript's spellings under deepseek.jit: model code written for torch.jit.script/trace
runs unchanged (eagerly) and gives torch's numbers; archives are refused."""

from __future__ import annotations

import typing

import numpy as np
import pytest
import torch

import deepseek as ds


def _model_file(lib):
    """A module written the TorchScript way, for ``lib`` in torch's place."""
    nn = lib.nn

    @lib.jit.script
    def bias_gelu(x, bias):
        return lib.nn.functional.gelu(x + bias, approximate="tanh")

    class Block(nn.Module):
        __constants__ = ["scale"]

        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)
            self.bias = nn.Parameter(lib.zeros(4))
            self.scale = 0.5

        @lib.jit.unused
        def debug(self, x):
            return x.sum()

        @lib.jit.export
        def half(self, x):
            return x * self.scale

        def forward(self, x):
            if not lib.jit.is_scripting():
                x = lib.jit.annotate(lib.Tensor, x)
            return self.half(bias_gelu(self.fc(x), self.bias))

    return Block()


def test_torchscript_style_module_runs_like_torch():
    theirs = torch.jit.script(_model_file(torch))
    ours = ds.jit.script(_model_file(ds))
    with ds.no_grad():
        for name, p in ours.named_parameters():
            p.copy_(ds.from_numpy(dict(theirs.named_parameters())[name].detach().numpy().copy()))
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    want = theirs(torch.from_numpy(x))
    got = ours(ds.from_numpy(x))
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-5, atol=1e-6)
    got.sum().backward()
    want.sum().backward()
    np.testing.assert_allclose(ours.fc.weight.grad.numpy(), theirs.fc.weight.grad.numpy(),
                               rtol=1e-5, atol=1e-6)
    assert ds.jit.Final is typing.Final is torch.jit.Final


def test_trace_runs_the_function_once_on_the_example_inputs():
    calls = []

    def f(x, y=None):
        calls.append(x.shape)
        return x * 2

    traced = ds.jit.trace(f, ds.ones(2, 3))
    assert traced is f and calls == [ds.Size([2, 3])]
    ds.jit.trace(f, (ds.ones(1),), example_kwarg_inputs={"y": ds.ones(1)})
    assert len(calls) == 2
    with pytest.raises(RuntimeError, match="example_kwarg_inputs or example_inputs"):
        ds.jit.trace(f)


def test_freeze_and_inference_helpers_like_torch():
    m = ds.nn.Linear(2, 2)
    with pytest.raises(RuntimeError) as ours:
        ds.jit.freeze(m)
    with pytest.raises(RuntimeError) as theirs:
        torch.jit.freeze(torch.jit.script(torch.nn.Linear(2, 2)))
    assert str(ours.value) == str(theirs.value)
    assert ds.jit.freeze(m.eval()) is m
    assert ds.jit.optimize_for_inference(m.train()) is m and not m.training
    previous = ds.jit.set_fusion_strategy([("DYNAMIC", 3)])
    assert previous == torch.jit.set_fusion_strategy(torch.jit.set_fusion_strategy(previous))
    assert ds.jit.set_fusion_strategy(previous) == [("DYNAMIC", 3)]
    with ds.jit.optimized_execution(False):
        assert not ds.jit.is_scripting() and not ds.jit.is_tracing()


def test_fork_wait_annotate_ignore():
    fut = ds.jit.fork(lambda a, b: a + b, ds.ones(2), b=ds.ones(2))
    assert ds.jit.wait(fut).tolist() == [2.0, 2.0]
    assert ds.jit.annotate(list, []) == [] == torch.jit.annotate(list, [])
    assert ds.jit.Attribute(3, int) == 3

    @ds.jit.ignore
    def a(x):
        return x + 1

    @ds.jit.ignore(drop=True)
    def b(x):
        return x + 2

    assert a(1) == 2 and b(1) == 3
    with pytest.raises(RuntimeError, match=r"jit.script.*expected a function"):
        ds.jit.script(3)


@pytest.mark.parametrize("op", ["save", "load"])
def test_archives_are_refused(op, tmp_path):
    args = (ds.nn.Linear(1, 1), str(tmp_path / "m.pt")) if op == "save" else (
        str(tmp_path / "m.pt"),)
    with pytest.raises(RuntimeError, match=rf"jit.{op}.*hold code.*deepseek.save"):
        getattr(ds.jit, op)(*args)


def test_the_compiler_is_still_callable():
    fn = ds.jit(lambda x: x * 3)
    with ds.no_grad():
        assert fn(ds.ones(2)).tolist() == [3.0, 3.0]
