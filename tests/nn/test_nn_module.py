"""nn.Module semantics (registration, traversal, state_dict, conversion, hooks, repr) and
Parameter, checked against torch.nn where the behaviour is observable."""

from __future__ import annotations

import copy
from collections import OrderedDict

import numpy as np
import pytest
import torch

import deepseek as ds


def net(lib):
    nn = lib.nn

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)
            self.norm = nn.LayerNorm(4)
            self.register_buffer("scale", lib.ones(4))
            self.register_buffer("tmp", lib.zeros(2), persistent=False)

        def forward(self, x):
            return self.norm(self.fc(x)) * self.scale

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.ModuleList([Block(), Block()])
            self.head = nn.Sequential(OrderedDict(act=nn.ReLU(), out=nn.Linear(4, 2)))
            self.tied = self.blocks[0].fc  # a shared module: its parameters come once

        def forward(self, x):
            for b in self.blocks:
                x = b(x)
            return self.head(x)

    return Net()


def test_traversal_matches_torch():
    d, t = net(ds), net(torch)
    assert [k for k, _ in d.named_parameters()] == [k for k, _ in t.named_parameters()]
    assert ([k for k, _ in d.named_parameters(remove_duplicate=False)]
            == [k for k, _ in t.named_parameters(remove_duplicate=False)])
    assert [k for k, _ in d.named_buffers()] == [k for k, _ in t.named_buffers()]
    assert [k for k, _ in d.named_modules()] == [k for k, _ in t.named_modules()]
    assert [k for k, _ in d.named_children()] == [k for k, _ in t.named_children()]
    assert list(d.state_dict()) == list(t.state_dict())
    assert ([k for k, _ in d.blocks.named_parameters(prefix="b", recurse=False)]
            == [k for k, _ in t.blocks.named_parameters(prefix="b", recurse=False)])
    assert len(list(d.parameters())) == len(list(t.parameters())) == 10
    assert repr(d).replace("deepseek", "torch") == repr(t)


def test_repr_matches_torch():
    def build(nn):
        return nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, bias=False), nn.BatchNorm2d(8),
                             nn.LeakyReLU(0.1, inplace=True), nn.MaxPool2d(2),
                             nn.Dropout(0.2), nn.Flatten(), nn.Embedding(5, 2, padding_idx=0),
                             nn.LSTM(3, 4, 2, batch_first=True), nn.GELU("tanh"),
                             nn.MultiheadAttention(4, 2), nn.CrossEntropyLoss(),
                             nn.ModuleDict({"a": nn.Identity()}), nn.Softmax(dim=-1),
                             nn.TransformerEncoderLayer(4, 2, 8))

    assert repr(build(ds.nn)) == repr(build(torch.nn))


def test_state_dict_round_trip_and_strict_errors():
    d = net(ds)
    sd = d.state_dict()
    assert all(not v.requires_grad for v in sd.values())
    other = net(ds)
    assert repr(other.load_state_dict(sd)) == "<All keys matched successfully>"
    np.testing.assert_array_equal(other.head.out.weight.detach().numpy(),
                                  d.head.out.weight.detach().numpy())
    bad = OrderedDict(sd)
    del bad["head.out.bias"]
    bad["extra.weight"] = ds.zeros(1)
    with pytest.raises(RuntimeError) as e:
        other.load_state_dict(bad)
    msg = str(e.value)
    assert msg.startswith("Error(s) in loading state_dict for Net:")
    assert 'Missing key(s) in state_dict: "head.out.bias".' in msg
    assert 'Unexpected key(s) in state_dict: "extra.weight".' in msg
    result = other.load_state_dict(bad, strict=False)
    assert result.missing_keys == ["head.out.bias"] and result.unexpected_keys == ["extra.weight"]
    bad = OrderedDict(sd)
    bad["head.out.bias"] = ds.zeros(3)
    with pytest.raises(RuntimeError, match="size mismatch for head.out.bias: copying a param "
                       r"with shape deepseek.Size\(\[3\]\) from checkpoint"):
        other.load_state_dict(bad)


def test_load_state_dict_copies_or_assigns():
    m = ds.nn.Linear(2, 2)
    w = m.weight
    new = {"weight": ds.ones(2, 2), "bias": ds.zeros(2)}
    m.load_state_dict(new)
    assert m.weight is w and float(m.weight.sum()) == 4
    m.load_state_dict(new, assign=True)
    assert m.weight is not w and isinstance(m.weight, ds.nn.Parameter)
    assert m.weight.requires_grad and m.weight.data_ptr() == new["weight"].data_ptr()


def test_to_dtype_keeps_parameter_identity():
    m = ds.nn.Sequential(ds.nn.Linear(3, 2), ds.nn.BatchNorm1d(2))
    w = m[0].weight
    m(ds.randn(4, 3)).sum().backward()
    m.double()
    assert m[0].weight is w and w.dtype == ds.float64 and w.grad.dtype == ds.float64
    assert m[1].running_mean.dtype == ds.float64
    assert m[1].num_batches_tracked.dtype == ds.int64  # integers are left alone
    assert m.to(ds.bfloat16)[0].bias.dtype == ds.bfloat16
    assert m.half()[0].weight.dtype == ds.float16
    assert m.to("cpu", dtype=ds.float32).float()[0].weight.dtype == ds.float32
    with pytest.raises(TypeError, match="floating point"):
        m.to(ds.int64)


def test_setattr_semantics():
    m = ds.nn.Module()
    m.w = ds.nn.Parameter(ds.ones(2))
    assert "w" in m._parameters and "w" not in m.__dict__
    with pytest.raises(TypeError, match="cannot assign 'Tensor' as parameter 'w'"):
        m.w = ds.ones(2)
    m.w = None
    assert m.w is None and "w" in m._parameters
    m.sub = ds.nn.Linear(1, 1)
    with pytest.raises(TypeError, match="cannot assign 'int' as child module 'sub'"):
        m.sub = 3
    m.register_buffer("b", ds.zeros(1))
    m.b = ds.ones(1)
    assert float(m.b) == 1 and "b" in m._buffers
    with pytest.raises(TypeError, match="as buffer 'b'"):
        m.b = 3
    with pytest.raises(KeyError, match="attribute 'sub' already exists"):
        m.register_buffer("sub", ds.ones(1))
    with pytest.raises(KeyError, match="parameter name can"):
        m.register_parameter("a.b", None)
    with pytest.raises(AttributeError, match="'Module' object has no attribute 'nope'"):
        _ = m.nope
    del m.sub
    assert "sub" not in m._modules and not hasattr(m, "sub")
    m.plain = 3
    assert m.plain == 3 and "plain" in dir(m) and "w" in dir(m)
    m.buf = ds.nn.Buffer(ds.ones(1), persistent=False)
    assert "buf" in m._buffers and "buf" not in m.state_dict()
    with pytest.raises(AttributeError, match="before Module.__init__"):
        class Bad(ds.nn.Module):
            def __init__(self):
                self.p = ds.nn.Parameter(ds.ones(1))

        Bad()


def test_get_submodule_parameter_apply_train():
    d = net(ds)
    assert d.get_submodule("blocks.1.norm") is d.blocks[1].norm
    assert d.get_parameter("head.out.bias") is d.head.out.bias
    assert d.get_buffer("blocks.0.scale") is d.blocks[0].scale
    with pytest.raises(AttributeError, match="has no attribute `nope`"):
        d.get_submodule("blocks.nope")
    with pytest.raises(AttributeError, match="is not an nn.Parameter"):
        d.get_parameter("blocks.0.scale")
    seen, want = [], []
    d.apply(lambda m: seen.append(type(m).__name__))
    net(torch).apply(lambda m: want.append(type(m).__name__))
    assert seen == want and seen[-1] == "Net"
    assert d.eval() is d and not any(m.training for m in d.modules())
    d.train()
    assert all(m.training for m in d.modules())
    with pytest.raises(ValueError, match="boolean"):
        d.train("yes")
    d.requires_grad_(False)
    assert not any(p.requires_grad for p in d.parameters())


def test_zero_grad():
    m = ds.nn.Linear(2, 1)
    m(ds.ones(1, 2)).sum().backward()
    m.zero_grad(set_to_none=False)
    assert float(m.weight.grad.abs().sum()) == 0
    m.zero_grad()
    assert m.weight.grad is None and m.bias.grad is None


def test_parameter():
    data = ds.ones(2)
    p = ds.nn.Parameter(data)
    assert isinstance(p, ds.Tensor) and p.requires_grad and p.data_ptr() == data.data_ptr()
    assert repr(p) == "Parameter containing:\ntensor([1., 1.], requires_grad=True)"
    assert not ds.nn.Parameter(data, requires_grad=False).requires_grad
    assert type(p * 2) is ds.Tensor
    q = copy.deepcopy(p)
    assert type(q) is ds.nn.Parameter and q.data_ptr() != p.data_ptr()
    assert ds.nn.Parameter().shape == (0,)
    m = copy.deepcopy(net(ds))
    assert m.tied is m.blocks[0].fc


def test_forward_hooks():
    m = ds.nn.Linear(2, 2)
    calls = []
    h1 = m.register_forward_pre_hook(lambda mod, args: (args[0] * 0,))
    h2 = m.register_forward_hook(lambda mod, args, out: calls.append("post") or out + 1)
    m.register_forward_hook(lambda mod, args, out: calls.append("first"), prepend=True)
    out = m(ds.ones(1, 2))
    np.testing.assert_allclose(out.detach().numpy(), m.bias.detach().numpy()[None] + 1)
    assert calls == ["first", "post"]
    h1.remove()
    h2.remove()
    with m.register_forward_pre_hook(lambda mod, a, kw: ((a[0] * 2,), kw), with_kwargs=True):
        np.testing.assert_allclose(m(ds.ones(1, 2)).detach().numpy(),
                                   ds.nn.functional.linear(ds.full((1, 2), 2.0), m.weight,
                                                           m.bias).detach().numpy())
    assert not m._forward_pre_hooks
    m2 = ds.nn.Linear(2, 2)
    seen = []
    m2.register_forward_hook(lambda mod, args, out: seen.append(out), always_call=True)
    with pytest.raises(RuntimeError):
        m2(ds.ones(1, 3))
    assert seen == [None]


def test_full_backward_hook_matches_torch():
    def run(lib):
        lib.manual_seed(0)
        m = lib.nn.Linear(3, 2).double()
        got = {}

        def hook(mod, grad_input, grad_output):
            got["in"], got["out"] = grad_input[0].clone(), grad_output[0].clone()
            return (grad_input[0] * 2,)

        m.register_full_backward_hook(hook)
        w = np.arange(6.0).reshape(2, 3) / 10
        with lib.no_grad():
            m.weight.copy_(lib.from_numpy(w))
            m.bias.fill_(0.5)
        x = lib.from_numpy(np.ones((4, 3))).requires_grad_()
        (m(x) ** 2).sum().backward()
        return got["in"].numpy(), got["out"].numpy(), x.grad.numpy()

    for a, b in zip(run(ds), run(torch)):
        np.testing.assert_allclose(a, b, atol=1e-12)


def test_custom_module_forward_and_missing_forward():
    class Twice(ds.nn.Module):
        def forward(self, x, *, scale=2):
            return x * scale

    assert float(Twice()(ds.ones(()), scale=3)) == 3
    with pytest.raises(NotImplementedError, match='missing the required "forward"'):
        ds.nn.Module()(1)
