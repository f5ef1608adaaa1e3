"""nn.utils.parametrize, parametrizations.weight_norm/spectral_norm and the hook-based
nn.utils.weight_norm/spectral_norm against torch's on the same weights and buffers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import deepseek as ds
from deepseek.nn.utils import parametrize as P

R = np.random.default_rng(0)


def _to_torch(ours, theirs):
    theirs.load_state_dict({k: torch.tensor(v.numpy().copy()) for k, v in
                            ours.state_dict().items()})


def _close(a, b, what, tol=1e-5):
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=tol, atol=tol,
                               err_msg=what)


def _layers(nn, kind):
    return {"linear": lambda: nn.Linear(5, 4),
            "conv": lambda: nn.Conv2d(3, 4, 3),
            "conv-transpose": lambda: nn.ConvTranspose2d(3, 4, 3)}[kind]()


def _input(kind):
    return R.standard_normal((2, 5) if kind == "linear" else (2, 3, 5, 5)).astype(np.float32)


def _train_in_lockstep(ours, theirs, kind, steps=3):
    """Forward, backward and an SGD step on both; outputs, parameter gradients and state
    (power-iteration buffers included) must agree at every step."""
    opts = [lib.optim.SGD(m.parameters(), lr=0.1) for lib, m in ((ds, ours), (torch, theirs))]
    for step in range(steps):
        x = _input(kind)
        a, b = ours(ds.from_numpy(x)), theirs(torch.from_numpy(x))
        _close(a, b, f"output at step {step}")
        (a * a).sum().backward()
        (b * b).sum().backward()
        for (name, p), q in zip(ours.named_parameters(), theirs.parameters()):
            _close(p.grad, q.grad, f"grad of {name} at step {step}", 1e-4)
        for opt in opts:
            opt.step()
            opt.zero_grad()
    theirs_state = theirs.state_dict()
    for key, value in ours.state_dict().items():
        _close(value, theirs_state[key], key, 1e-4)


@pytest.mark.parametrize("kind", ["linear", "conv"])
@pytest.mark.parametrize("dim", [0, 1, None])
def test_weight_norm_parametrization_matches_torch(kind, dim):
    ours = ds.nn.utils.parametrizations.weight_norm(_layers(ds.nn, kind), dim=dim)
    theirs = torch.nn.utils.parametrizations.weight_norm(_layers(torch.nn, kind), dim=dim)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert type(ours).__name__ == type(theirs).__name__
    _to_torch(ours, theirs)
    _train_in_lockstep(ours, theirs, kind)


@pytest.mark.parametrize("shape,orthogonal_map,use_trivialization", [
    ((4, 4), None, True), ((5, 3), None, True), ((3, 5), None, True), ((4, 4), "cayley", True),
    ((3, 6), "matrix_exp", True), ((5, 3), "householder", False), ((4, 4), "householder", False),
])
def test_orthogonal_parametrization_matches_torch(shape, orthogonal_map, use_trivialization):
    w = R.standard_normal(shape).astype(np.float32)
    models = []
    for lib in (ds, torch):
        m = lib.nn.Linear(shape[1], shape[0], bias=False)
        m.weight = lib.nn.Parameter(lib.tensor(w))
        models.append(lib.nn.utils.parametrizations.orthogonal(
            m, orthogonal_map=orthogonal_map, use_trivialization=use_trivialization))
    ours, theirs = models
    assert list(ours.state_dict()) == list(theirs.state_dict())
    q = ours.weight.detach().numpy()
    gram = q.T @ q if shape[0] >= shape[1] else q @ q.T
    np.testing.assert_allclose(gram, np.eye(min(shape)), atol=1e-5, err_msg="orthonormal")
    if shape[0] == shape[1] or not use_trivialization:  # else base's new columns are random
        _close(ours.weight, theirs.weight, "weight right after registering")
    ours.load_state_dict({k: ds.tensor(v.detach().numpy()) for k, v in  # torch's base
                          theirs.state_dict().items()})
    x = R.standard_normal((2, shape[1])).astype(np.float32)
    a, b = ours(ds.from_numpy(x)), theirs(torch.from_numpy(x))
    _close(a, b, "output")
    (a * a).sum().backward()
    (b * b).sum().backward()
    _close(ours.parametrizations.weight.original.grad,
           theirs.parametrizations.weight.original.grad, "grad of original", 1e-4)


@pytest.mark.parametrize("kind", ["linear", "conv", "conv-transpose"])
def test_spectral_norm_parametrization_matches_torch(kind):
    ours = ds.nn.utils.parametrizations.spectral_norm(_layers(ds.nn, kind), n_power_iterations=2)
    theirs = torch.nn.utils.parametrizations.spectral_norm(_layers(torch.nn, kind),
                                                           n_power_iterations=2)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    w = ours.weight.detach()
    w = (w.transpose(0, 1) if kind == "conv-transpose" else w).flatten(1)
    assert abs(float(ds.linalg.svdvals(w)[0]) - 1) < 1e-3  # 15 power iterations at the start
    _to_torch(ours, theirs)
    _train_in_lockstep(ours, theirs, kind)
    ours.eval()
    theirs.eval()
    u = ours.parametrizations.weight[0]._u.numpy().copy()
    x = _input(kind)
    _close(ours(ds.from_numpy(x)), theirs(torch.from_numpy(x)), "eval output")
    np.testing.assert_array_equal(ours.parametrizations.weight[0]._u.numpy(), u)  # no update


@pytest.mark.parametrize("kind", ["linear", "conv"])
def test_hook_weight_norm_matches_torch(kind):
    ours = ds.nn.utils.weight_norm(_layers(ds.nn, kind))
    theirs = torch.nn.utils.weight_norm(_layers(torch.nn, kind))
    assert sorted(dict(ours.named_parameters())) == sorted(dict(theirs.named_parameters()))
    _to_torch(ours, theirs)
    _train_in_lockstep(ours, theirs, kind)
    ds.nn.utils.remove_weight_norm(ours)
    torch.nn.utils.remove_weight_norm(theirs)
    assert sorted(dict(ours.named_parameters())) == sorted(dict(theirs.named_parameters()))
    _close(ours.weight, theirs.weight, "weight after remove_weight_norm")
    with pytest.raises(ValueError, match="weight_norm of 'weight' not found"):
        ds.nn.utils.remove_weight_norm(ours)


@pytest.mark.parametrize("kind", ["linear", "conv-transpose"])
def test_hook_spectral_norm_matches_torch(kind):
    ours = ds.nn.utils.spectral_norm(_layers(ds.nn, kind))
    theirs = torch.nn.utils.spectral_norm(_layers(torch.nn, kind))
    assert sorted(ours.state_dict()) == sorted(theirs.state_dict())
    _to_torch(ours, theirs)
    _train_in_lockstep(ours, theirs, kind)
    ds.nn.utils.remove_spectral_norm(ours)
    torch.nn.utils.remove_spectral_norm(theirs)
    assert sorted(ours.state_dict()) == sorted(theirs.state_dict())
    _close(ours.weight, theirs.weight, "weight after remove_spectral_norm")
    with pytest.raises(RuntimeError, match="Cannot register two spectral_norm hooks"):
        ds.nn.utils.spectral_norm(ds.nn.utils.spectral_norm(ds.nn.Linear(2, 2)))


def _symmetric(nn):
    """A parametrization of symmetric matrices by their upper triangle."""
    return type("Symmetric", (nn.Module,), {"forward": lambda self, x: x.triu() + x.triu(1).mT,
                                            "right_inverse": lambda self, a: a.triu()})()


def test_register_assign_cache_and_remove_as_torch():
    """A user parametrization with a right_inverse: values, assignment through it, a chain of
    two, the cache, and removal (keeping the parametrized value or the original)."""
    ours, theirs = ds.nn.Linear(3, 3), torch.nn.Linear(3, 3)
    _to_torch(ours, theirs)
    for lib, m in ((ds, ours), (torch, theirs)):
        lib.nn.utils.parametrize.register_parametrization(m, "weight", _symmetric(lib.nn))
        assert lib.nn.utils.parametrize.is_parametrized(m, "weight")
        assert not lib.nn.utils.parametrize.is_parametrized(m, "bias")
    _close(ours.weight, theirs.weight, "symmetric weight")
    assert np.allclose(ours.weight.detach().numpy(), ours.weight.detach().numpy().T)
    value = R.standard_normal((3, 3)).astype(np.float32)
    value = value + value.T
    ours.weight = ds.from_numpy(value.copy())
    theirs.weight = torch.from_numpy(value.copy())
    _close(ours.weight, theirs.weight, "weight after assignment")
    _close(ours.parametrizations.weight.original, theirs.parametrizations.weight.original,
           "original after assignment")
    original = ours.parametrizations.weight.original
    with P.cached():
        assert ours.weight is ours.weight
    assert ours.weight is not ours.weight
    for lib, m in ((ds, ours), (torch, theirs)):  # a chain: scale after symmetrizing
        scale = type("Scale", (lib.nn.Module,), {"forward": lambda self, x: 2 * x,
                                                 "right_inverse": lambda self, x: x / 2})()
        lib.nn.utils.parametrize.register_parametrization(m, "weight", scale)
    _close(ours.weight, theirs.weight, "chained weight")
    assert P.type_before_parametrizations(ours) is ds.nn.Linear
    for lib, m in ((ds, ours), (torch, theirs)):
        lib.nn.utils.parametrize.remove_parametrizations(m, "weight")
    assert type(ours) is ds.nn.Linear and not hasattr(ours, "parametrizations")
    assert ours.weight is original  # the same Parameter (an optimizer may hold it)
    _close(ours.weight, theirs.weight, "weight left parametrized")


def test_parametrize_errors():
    m = ds.nn.Linear(3, 2)
    with pytest.raises(ValueError, match="does not have a parameter, a buffer"):
        P.register_parametrization(m, "nothing", ds.nn.Identity())
    with pytest.raises(ValueError, match="may not change the shape"):
        P.register_parametrization(m, "weight", type("T", (ds.nn.Module,), {
            "forward": lambda self, x: x.T})())
    assert not P.is_parametrized(m)
    with pytest.raises(ValueError, match="does not have a parametrization on weight"):
        P.remove_parametrizations(m, "weight")
    ds.nn.utils.parametrizations.weight_norm(m)
    with pytest.raises(ValueError, match="Cannot leave unparametrized"):
        P.remove_parametrizations(m, "weight", leave_parametrized=False)


def test_parametrized_model_compiles_and_trains_as_in_eager():
    """Under ds.jit the parametrized weights (and spectral norm's in-place power iteration on
    its buffers) are recomputed at every compiled run, as in eager mode."""
    def build():
        ds.manual_seed(0)
        net = ds.nn.Sequential(ds.nn.Linear(4, 8), ds.nn.Tanh(), ds.nn.Linear(8, 3))
        ds.nn.utils.parametrizations.weight_norm(net[0])
        ds.nn.utils.parametrizations.spectral_norm(net[2])
        return net

    losses = []
    for compile_it in (False, True):
        net = build()
        opt = ds.optim.SGD(net.parameters(), lr=0.1)

        def step(x, y):
            loss = ds.nn.functional.cross_entropy(net(x), y)
            loss.backward()
            opt.step()
            opt.zero_grad()
            return loss

        fn = ds.jit(step) if compile_it else step
        rng = np.random.default_rng(1)
        x = ds.from_numpy(rng.standard_normal((6, 4)).astype(np.float32))
        y = ds.from_numpy(rng.integers(0, 3, 6))
        losses.append([float(fn(x, y)) for _ in range(6)])
    np.testing.assert_allclose(losses[1], losses[0], rtol=1e-5)
    assert len(set(losses[0])) == 6
