"""Lazy modules and uninitialized parameters against torch: the inferred sizes, the class they
become, state_dict loading both ways, errors before materialization, and ds.jit afterwards."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from nn_reference import close, compare_module

import deepseek as ds

R = np.random.default_rng(0)


def x(*shape):
    return R.uniform(-2.0, 2.0, shape)


# (id, constructor on lib, dry-run input, the attribute inferred)
CASES = [
    ("LazyLinear", lambda nn: nn.LazyLinear(3), x(2, 5, 4), "in_features"),
    ("LazyLinear_nobias", lambda nn: nn.LazyLinear(3, bias=False), x(5, 4), "in_features"),
    ("LazyConv1d", lambda nn: nn.LazyConv1d(4, 3, padding=1), x(2, 3, 7), "in_channels"),
    ("LazyConv1d_unbatched", lambda nn: nn.LazyConv1d(4, 3), x(3, 7), "in_channels"),
    ("LazyConv2d", lambda nn: nn.LazyConv2d(4, 3, groups=2), x(2, 6, 5, 5), "in_channels"),
    ("LazyConv3d", lambda nn: nn.LazyConv3d(2, 2, bias=False), x(1, 3, 3, 4, 4), "in_channels"),
    ("LazyConvTranspose1d", lambda nn: nn.LazyConvTranspose1d(4, 3, stride=2), x(2, 3, 5),
     "in_channels"),
    ("LazyConvTranspose2d", lambda nn: nn.LazyConvTranspose2d(4, 3, groups=2), x(1, 6, 4, 4),
     "in_channels"),
    ("LazyConvTranspose3d", lambda nn: nn.LazyConvTranspose3d(2, 2), x(1, 3, 2, 3, 3),
     "in_channels"),
    ("LazyBatchNorm1d", lambda nn: nn.LazyBatchNorm1d(), x(6, 4), "num_features"),
    ("LazyBatchNorm1d_3d", lambda nn: nn.LazyBatchNorm1d(momentum=None), x(4, 3, 5),
     "num_features"),
    ("LazyBatchNorm2d", lambda nn: nn.LazyBatchNorm2d(affine=False), x(2, 3, 4, 4),
     "num_features"),
    ("LazyBatchNorm3d", lambda nn: nn.LazyBatchNorm3d(track_running_stats=False),
     x(2, 3, 2, 3, 3), "num_features"),
    ("LazyInstanceNorm1d", lambda nn: nn.LazyInstanceNorm1d(), x(2, 4, 6), "num_features"),
    ("LazyInstanceNorm2d", lambda nn: nn.LazyInstanceNorm2d(affine=False), x(2, 3, 4, 4),
     "num_features"),
    ("LazyInstanceNorm3d", lambda nn: nn.LazyInstanceNorm3d(track_running_stats=False),
     x(2, 3, 2, 3, 3), "num_features"),
]
IDS = [c[0] for c in CASES]


def _dry_run(lib, make, array):
    m = make(lib.nn).double()
    m.train(True)
    m(torch.from_numpy(array.copy()) if lib is torch else ds.from_numpy(array.copy()))
    return m


@pytest.mark.parametrize("name,make,array,attr", CASES, ids=IDS)
def test_first_forward_infers_and_becomes_the_ordinary_module(name, make, array, attr):
    t_mod, d_mod = make(torch.nn), make(ds.nn)
    assert type(d_mod).__name__ == type(t_mod).__name__
    assert d_mod.has_uninitialized_params() == t_mod.has_uninitialized_params()
    assert list(d_mod.state_dict()) == list(t_mod.state_dict()), name
    assert repr(d_mod) == repr(t_mod), name
    for d_p, t_p in zip(d_mod.parameters(), t_mod.parameters()):
        assert type(d_p).__name__ == type(t_p).__name__ == "UninitializedParameter"
    t_mod, d_mod = _dry_run(torch, make, array), _dry_run(ds, make, array)
    assert type(d_mod).__name__ == type(t_mod).__name__, name
    assert type(d_mod).__module__.startswith("deepseek.nn.modules.")
    assert getattr(d_mod, attr) == getattr(t_mod, attr), f"{name}: {attr}"
    assert not any(ds.nn.parameter.is_lazy(t) for t in d_mod.state_dict().values())
    assert not hasattr(d_mod, "has_uninitialized_params") and not d_mod._forward_pre_hooks
    d_state, t_state = d_mod.state_dict(), t_mod.state_dict()
    assert list(d_state) == list(t_state), name
    for k in t_state:
        assert type(d_state[k]).__name__ == "Tensor", f"{name}: {k}"
        assert tuple(d_state[k].shape) == tuple(t_state[k].shape), f"{name}: {k}"
        assert str(d_state[k].dtype).split(".")[-1] == str(t_state[k].dtype).split(".")[-1]
    for k, p in d_mod.named_parameters():
        assert type(p).__name__ == "Parameter" and p.requires_grad, f"{name}: {k}"
    assert repr(d_mod) == repr(t_mod), name


@pytest.mark.parametrize("name,make,array,attr", CASES, ids=IDS)
def test_materialized_module_matches_torch(name, make, array, attr):
    """After the dry run: outputs, input and parameter gradients, buffers, on torch's
    weights."""
    compare_module(lambda lib: _dry_run(lib, make, array), (x(*array.shape),), train=True)


@pytest.mark.parametrize("name,make,array,attr", CASES, ids=IDS)
def test_loading_into_an_uninitialized_module_materializes_it(name, make, array, attr):
    """Like torch, loading materializes the parameters and the first forward converts the
    module; unlike torch, that forward also fills in the inferred size from the loaded
    weights (torch leaves it 0, so its InstanceNorm then rejects every input)."""
    t_mod = _dry_run(torch, make, array)
    state = {k: ds.from_numpy(v.detach().numpy().copy()) for k, v in t_mod.state_dict().items()}
    t_fresh, d_fresh = make(torch.nn).double(), make(ds.nn).double()
    t_fresh.load_state_dict(t_mod.state_dict())
    result = d_fresh.load_state_dict(state)
    assert not result.missing_keys and not result.unexpected_keys
    assert type(d_fresh).__name__ == type(t_fresh).__name__ == name.split("_")[0]
    for k, v in d_fresh.state_dict().items():
        close(f"{name} loaded {k}", v, t_fresh.state_dict()[k], "float64")
    t_mod.eval()
    d_fresh.eval()
    inp = x(*array.shape)
    t_out = t_mod(torch.from_numpy(inp.copy()))
    d_out = d_fresh(ds.from_numpy(inp.copy()))
    close(f"{name} output after load", d_out, t_out, "float64")
    assert type(d_fresh).__name__ == type(t_mod).__name__
    assert getattr(d_fresh, attr) == getattr(t_mod, attr)


def test_uninitialized_state_dicts_load_like_torch():
    for lib in (torch, ds):
        lazy = lib.nn.LazyLinear(3)
        state = lazy.state_dict()
        assert [type(v).__name__ for v in state.values()] == ["UninitializedParameter"] * 2
        other = lib.nn.LazyLinear(3)
        other.load_state_dict(state)  # uninitialized into uninitialized: stays so
        assert other.has_uninitialized_params()
        with pytest.raises(RuntimeError, match="uninitialized parameter"):
            lib.nn.Linear(4, 3).load_state_dict(state)
        partial = lib.nn.LazyLinear(3)
        with pytest.raises(RuntimeError, match='Missing key.*"bias"'):
            partial.load_state_dict({"weight": lib.zeros(3, 4)})
        assert not is_lazy_weight(partial) and type(partial).__name__ == "LazyLinear"


def is_lazy_weight(m):
    return type(m.weight).__name__ == "UninitializedParameter"


def test_buffers_of_lazy_batch_norm():
    for lib in (torch, ds):
        bn = lib.nn.LazyBatchNorm1d()
        assert type(bn.running_mean).__name__ == "UninitializedBuffer"
        assert not bn.running_mean.requires_grad
        assert int(bn.num_batches_tracked) == 0
        bn(lib.ones(4, 3))
        assert type(bn.running_mean).__name__ == "Tensor"
        assert tuple(bn.running_var.shape) == (3,) and int(bn.num_batches_tracked) == 1


def test_use_before_materialization_raises_like_torch():
    for lib in (torch, ds):
        m = lib.nn.LazyLinear(3)
        with pytest.raises(ValueError, match="uninitialized parameter"):
            m.weight + 1
        with pytest.raises(ValueError, match="uninitialized parameter"):
            m.weight.sum()
        with pytest.raises(RuntimeError, match="shape of an uninitialized"):
            _ = m.weight.shape
        assert m.weight.requires_grad and m.weight.is_leaf
        assert str(m.weight.dtype).endswith("float32")
        assert repr(m.weight) == "<UninitializedParameter>"
    with pytest.raises(ValueError, match=r"^\[UninitializedParameter\]"):
        ds.nn.LazyLinear(3).weight.exp()


@pytest.mark.parametrize("make,array,exc,message", [
    (lambda nn: nn.LazyConv2d(4, 3), x(3, 8), RuntimeError, "Expected 3D .* or 4D"),
    (lambda nn: nn.LazyConv2d(4, 3, groups=2), x(1, 3, 8, 8), ValueError,
     "in_channels must be divisible by groups"),
    (lambda nn: nn.LazyBatchNorm2d(), x(2, 3), ValueError, "expected 4D input"),
    (lambda nn: nn.LazyLinear(3), np.array(2.0), IndexError, None),
    (lambda nn: nn.LazyBatchNorm1d(), x(6), IndexError, None),
], ids=["conv_rank", "conv_groups", "batchnorm_rank", "linear_0d", "batchnorm_1d"])
def test_first_forward_errors_like_torch(make, array, exc, message):
    with pytest.raises(exc, match=message):
        make(torch.nn)(torch.from_numpy(array.copy()))
    d_mod = make(ds.nn)
    name = type(d_mod).__name__
    with pytest.raises(exc, match=message) as info:
        d_mod(ds.from_numpy(array.copy()))
    assert str(info.value).startswith(f"[{name.replace('Lazy', '')}]") or \
        str(info.value).startswith(f"[{name}]"), str(info.value)


def test_dtype_conversion_before_the_dry_run():
    for lib in (torch, ds):
        m = lib.nn.LazyConv1d(2, 3).double()
        assert str(m.weight.dtype).endswith("float64")
        out = m(lib.ones(1, 4, 6, dtype=lib.float64))
        assert str(out.dtype).endswith("float64") and str(m.bias.dtype).endswith("float64")
        m = lib.nn.LazyBatchNorm1d(dtype=lib.float64).float()
        m(lib.ones(2, 3))
        assert str(m.running_mean.dtype).endswith("float32")


def test_optimizer_built_before_the_dry_run_steps_like_torch():
    """As in torch, parameters materialize in place, so an optimizer built over them before
    the first forward updates them afterwards."""
    inp = x(4, 5)
    t_mod, d_mod = torch.nn.LazyLinear(3).double(), ds.nn.LazyLinear(3).double()
    t_opt = torch.optim.SGD(t_mod.parameters(), lr=0.1, momentum=0.9)
    d_opt = ds.optim.SGD(d_mod.parameters(), lr=0.1, momentum=0.9)
    t_mod(torch.from_numpy(inp))
    d_mod(ds.from_numpy(inp))
    d_mod.load_state_dict({k: ds.from_numpy(v.numpy().copy())
                           for k, v in t_mod.state_dict().items()})
    for _ in range(2):
        t_mod(torch.from_numpy(inp)).square().sum().backward()
        d_mod(ds.from_numpy(inp)).square().sum().backward()
        t_opt.step()
        d_opt.step()
    for (k, t_p), d_p in zip(t_mod.named_parameters(), d_mod.parameters()):
        close(f"LazyLinear {k} after SGD", d_p, t_p, "float64")
    with pytest.raises(ValueError, match="uninitialized parameter"):
        ds.optim.SGD(ds.nn.LazyLinear(3).parameters(), lr=0.1).flatten()


def test_uninitialized_parameter_and_buffer():
    p = ds.nn.UninitializedParameter(dtype=ds.float64)
    assert ds.nn.parameter.is_lazy(p) and p.requires_grad
    p.materialize((2, 3))
    assert type(p) is ds.nn.Parameter and tuple(p.shape) == (2, 3) and p.dtype == ds.float64
    assert not ds.nn.parameter.is_lazy(p)
    b = ds.nn.UninitializedBuffer(persistent=False)
    assert not b.requires_grad and repr(b) == "<UninitializedBuffer>"
    m = ds.nn.Module()
    m.stat = b  # registers, like a Buffer, with its persistence
    assert "stat" in m._buffers and "stat" not in m.state_dict()
    b.materialize(4, dtype=ds.int64)
    assert type(b) is ds.Tensor and b.dtype == ds.int64 and tuple(m.stat.shape) == (4,)


def test_has_uninitialized_params_is_per_module_and_deepcopy():
    for lib in (torch, ds):
        net = lib.nn.Sequential(lib.nn.LazyLinear(4), lib.nn.ReLU())
        assert net[0].has_uninitialized_params()
        twin = copy.deepcopy(net)
        net(lib.ones(2, 3))
        assert type(twin[0]).__name__ == "LazyLinear"
        twin(lib.ones(2, 7))
        assert (net[0].in_features, twin[0].in_features) == (3, 7)


def test_jit_after_the_first_eager_call():
    ds.manual_seed(0)
    model = ds.nn.Sequential(ds.nn.LazyLinear(16), ds.nn.ReLU(), ds.nn.LazyLinear(4))
    inp = ds.from_numpy(x(8, 6).astype(np.float32))
    model(inp)
    assert [type(m).__name__ for m in model] == ["Linear", "ReLU", "Linear"]
    compiled = ds.jit(model.eval())
    with ds.no_grad():
        for _ in range(3):
            np.testing.assert_allclose(compiled(inp).numpy(), model(inp).numpy(), rtol=1e-5,
                                       atol=1e-6)
    model.train()
    opt = ds.optim.SGD(model.parameters(), lr=0.05)
    target = ds.from_numpy(R.integers(0, 4, 8))

    def step(a, y):
        loss = ds.nn.functional.cross_entropy(model(a), y)
        loss.backward()
        opt.step()
        opt.zero_grad()
        return loss

    twin = copy.deepcopy(model)
    twin_opt = ds.optim.SGD(twin.parameters(), lr=0.05)
    compiled_step = ds.jit(step)
    for _ in range(3):
        loss = compiled_step(inp, target)
        eager = ds.nn.functional.cross_entropy(twin(inp), target)
        eager.backward()
        twin_opt.step()
        twin_opt.zero_grad()
        np.testing.assert_allclose(loss.detach().numpy(), eager.detach().numpy(), rtol=1e-5,
                                   atol=1e-6)
