"""Every optimizer against torch.optim's class of the same name: parameters after each step,
the state_dict, and continuing from a state_dict (torch's, and ours through ds.save/ds.load)."""

from __future__ import annotations

import inspect
import io

import numpy as np
import pytest
import torch
from _compare import assert_close, make_params, set_grads, to_numpy, torch_state_to_ds

import deepseek as ds

CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9, weight_decay=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3, maximize=True)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.9), weight_decay=0.1, amsgrad=True)),
    ("Adam", dict(lr=0.01, maximize=True, decoupled_weight_decay=True, weight_decay=0.2)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.02, weight_decay=0.3, amsgrad=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, centered=True, momentum=0.5, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, centered=True, maximize=True)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05, initial_accumulator_value=0.5, weight_decay=0.1)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, weight_decay=0.1, maximize=True)),
    ("Adamax", dict(lr=0.01)),
    ("Adamax", dict(lr=0.01, betas=(0.7, 0.9), weight_decay=0.1)),
    ("NAdam", dict(lr=0.01)),
    ("NAdam", dict(lr=0.01, momentum_decay=0.01, weight_decay=0.1)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("RAdam", dict(lr=0.01)),
    ("RAdam", dict(lr=0.01, weight_decay=0.1)),
    ("RAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, betas=(0.9, 0.9))),
    ("Rprop", dict()),
    ("Rprop", dict(lr=0.05, etas=(0.3, 1.5), step_sizes=(1e-3, 0.08), maximize=True)),
    ("ASGD", dict()),
    ("ASGD", dict(lr=0.05, lambd=0.01, alpha=0.5, t0=2, weight_decay=0.1, maximize=True)),
]
IDS = [f"{name}-{i}" for i, (name, _) in enumerate(CASES)]


def _run(ours: ds.optim.Optimizer, theirs: torch.optim.Optimizer, params: tuple, steps: range,
         what: str) -> None:
    for k in steps:
        set_grads(*params, k)
        ours.step()
        theirs.step()
        for i, (a, b) in enumerate(zip(*params)):
            assert_close(a.detach(), b.detach(), f"{what} step {k} param {i}")


@pytest.mark.parametrize("name,kwargs", CASES, ids=IDS)
def test_matches_torch(name: str, kwargs: dict) -> None:
    params = make_params()
    ours = getattr(ds.optim, name)(params[0], **kwargs)
    theirs = getattr(torch.optim, name)(params[1], **kwargs)
    _run(ours, theirs, params, range(6), name)
    assert_close(ours.state_dict(), theirs.state_dict(), f"{name} state_dict")


@pytest.mark.parametrize("name,kwargs", CASES, ids=IDS)
def test_state_dict_round_trip(name: str, kwargs: dict) -> None:
    """Load torch's state into a fresh optimizer, and ours through ds.save/ds.load, then
    continue in lockstep."""
    params = make_params()
    first = getattr(ds.optim, name)(params[0], **kwargs)
    theirs = getattr(torch.optim, name)(params[1], **kwargs)
    _run(first, theirs, params, range(3), name)

    buffer = io.BytesIO()
    ds.save(first.state_dict(), buffer)
    buffer.seek(0)
    loaded = ds.load(buffer)
    assert_close(loaded, theirs.state_dict(), f"{name} saved state_dict")
    resumed = getattr(ds.optim, name)(params[0], **kwargs)
    resumed.load_state_dict(loaded)
    _run(resumed, theirs, params, range(3, 6), f"{name} resumed from ds.load")

    from_torch = getattr(ds.optim, name)(params[0], **kwargs)
    from_torch.load_state_dict(torch_state_to_ds(theirs.state_dict()))
    _run(from_torch, theirs, params, range(6, 9), f"{name} resumed from torch's state")


def test_param_groups_and_float64() -> None:
    params = make_params("float64")
    groups = lambda ps: [{"params": [ps[0]], "lr": 0.1}, {"params": [ps[1]]}]  # noqa: E731
    ours = ds.optim.Adam(groups(params[0]), lr=0.01, weight_decay=0.1)
    theirs = torch.optim.Adam(groups(params[1]), lr=0.01, weight_decay=0.1)
    for k in range(5):
        set_grads(*params, k)
        ours.step()
        theirs.step()
    for i, (a, b) in enumerate(zip(*params)):
        assert_close(a.detach(), b.detach(), f"float64 param {i}", rtol=1e-12, atol=1e-12)
    assert_close(ours.state_dict(), theirs.state_dict(), "float64 state_dict", 1e-12, 1e-12)


def test_parameters_without_grad_are_skipped() -> None:
    params = make_params()
    ours = ds.optim.Adam(params[0], lr=0.1)
    params[0][0].grad = ds.ones(3, 4)
    before = to_numpy(params[0][1]).copy()
    ours.step()
    np.testing.assert_array_equal(to_numpy(params[0][1]), before)
    assert list(ours.state_dict()["state"]) == [0]


def test_version_counter_is_bumped() -> None:
    w = ds.zeros(3, requires_grad=True)
    y = (w * w).sum()
    opt = ds.optim.SGD([w], lr=0.1)
    w.grad = ds.ones(3)
    version = w._version
    opt.step()
    assert w._version > version
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_zero_grad() -> None:
    w = ds.zeros(3, requires_grad=True)
    opt = ds.optim.SGD([w], lr=0.1)
    (w * 2).sum().backward()
    opt.zero_grad(set_to_none=False)
    assert w.grad is not None and w.grad.tolist() == [0.0, 0.0, 0.0]
    opt.zero_grad()
    assert w.grad is None


def test_closure_and_hooks() -> None:
    w = ds.tensor([1.0, -2.0], requires_grad=True)
    opt = ds.optim.SGD([w], lr=0.25)
    calls = []
    opt.register_step_pre_hook(lambda o, a, k: calls.append("pre"))
    handle = opt.register_step_post_hook(lambda o, a, k: calls.append("post"))

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    with ds.no_grad():
        loss = opt.step(closure)  # the closure runs with grad enabled
    assert loss.item() == 5.0
    assert w.tolist() == [0.5, -1.0]
    handle.remove()
    opt.step(closure)
    assert calls == ["pre", "post", "pre"]


def test_module_parameters() -> None:
    layer = ds.nn.Linear(4, 2)
    reference = torch.nn.Linear(4, 2)
    with torch.no_grad():
        reference.weight.copy_(torch.tensor(layer.weight.detach().numpy()))
        reference.bias.copy_(torch.tensor(layer.bias.detach().numpy()))
    ours = ds.optim.AdamW(layer.parameters(), lr=0.01)
    theirs = torch.optim.AdamW(reference.parameters(), lr=0.01)
    x = np.random.default_rng(0).standard_normal((8, 4)).astype("float32")
    for _ in range(3):
        ours.zero_grad()
        theirs.zero_grad()
        layer(ds.tensor(x)).square().mean().backward()
        reference(torch.tensor(x)).square().mean().backward()
        ours.step()
        theirs.step()
    assert_close(layer.weight.detach(), reference.weight.detach(), "Linear weight")
    assert_close(layer.bias.detach(), reference.bias.detach(), "Linear bias")


@pytest.mark.parametrize("make,message", [
    (lambda p: ds.optim.SGD(p, lr=-1), "SGD: Invalid learning rate: -1"),
    (lambda p: ds.optim.SGD(p, momentum=-0.5), "SGD: Invalid momentum value: -0.5"),
    (lambda p: ds.optim.SGD(p, nesterov=True), "Nesterov momentum requires a momentum"),
    (lambda p: ds.optim.Adam(p, betas=(1.0, 0.9)), "Adam: Invalid beta parameter at index 0: 1.0"),
    (lambda p: ds.optim.Adam(p, eps=-1e-8), "Adam: Invalid epsilon value: -1e-08"),
    (lambda p: ds.optim.AdamW(p, weight_decay=-1), "AdamW: Invalid weight_decay value: -1"),
    (lambda p: ds.optim.RMSprop(p, alpha=-1), "RMSprop: Invalid alpha value: -1"),
    (lambda p: ds.optim.Adagrad(p, lr_decay=-1), "Adagrad: Invalid lr_decay value: -1"),
    (lambda p: ds.optim.Adadelta(p, rho=1.5), "Adadelta: Invalid rho value: 1.5"),
    (lambda p: ds.optim.NAdam(p, momentum_decay=-1), "NAdam: Invalid momentum_decay value: -1"),
    (lambda p: ds.optim.Rprop(p, etas=(1.5, 2.0)), "Rprop: Invalid eta values: 1.5, 2.0"),
    (lambda p: ds.optim.ASGD(p, lr=-0.1), "ASGD: Invalid learning rate: -0.1"),
    (lambda p: ds.optim.SGD([], lr=0.1), "optimizer got an empty parameter list"),
])
def test_hyperparameter_errors(make, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        make([ds.zeros(2, requires_grad=True)] if "empty" not in message else [])



OPTIMIZERS = [name for name in ds.optim.__all__ if isinstance(getattr(ds.optim, name), type)
              and issubclass(getattr(ds.optim, name), ds.optim.Optimizer)
              and name != "Optimizer"]
ADAM_FAMILY = [name for name in OPTIMIZERS
               if "betas" in inspect.signature(getattr(ds.optim, name)).parameters]


def _param() -> list:
    return [ds.zeros(2, 2, requires_grad=True)]  # a matrix: Muon takes nothing else


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_lr_must_be_a_number(name: str) -> None:
    with pytest.raises(TypeError, match=f"^{name}: lr must be a real number.*got str '0.1'"):
        getattr(ds.optim, name)(_param(), lr="0.1")


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_negative_lr_matches_torch(name: str) -> None:
    reference = getattr(torch.optim, name, None)
    expected = "Invalid learning rate: -1"
    if reference is not None:
        with pytest.raises(ValueError) as theirs:
            reference([torch.zeros(2, 2, requires_grad=True)], lr=-1)
        expected = str(theirs.value)
    with pytest.raises(ValueError) as ours:
        getattr(ds.optim, name)(_param(), lr=-1)
    assert str(ours.value) == f"{name}: {expected}", f"{name}: {ours.value!r} vs torch {expected!r}"


@pytest.mark.parametrize("name", OPTIMIZERS)
@pytest.mark.parametrize("lr", [1, 0.5, True, np.float32(0.5), np.int64(1), np.array(0.5),
                                ds.tensor(0.5), ds.tensor([0.5])],
                         ids=["int", "float", "bool", "np.float32", "np.int64", "np.0d",
                              "tensor0d", "tensor1"])
def test_lr_accepted_types(name: str, lr) -> None:
    opt = getattr(ds.optim, name)(_param(), lr=lr)
    assert opt.param_groups[0]["lr"] is lr, f"{name}: lr {lr!r} was not kept as given"


# the rates as the float32 Tensors ds.tensor(0.01) and torch.tensor(0.01) hold them
LR, NEW_LR = float(np.float32(0.01)), float(np.float32(0.005))
# every optimizer as it steps by default (SGD, Adam and AdamW in deepseek/optim/_kernels.py),
# and the NumPy update of those three
# (SparseAdam steps on sparse gradients only: tests/test_surface_extras.py covers it)
TENSOR_LR_CASES = [(name, {}) for name in OPTIMIZERS if name != "SparseAdam"] + [
    (name, {"fused": False}) for name in ("SGD", "Adam", "AdamW")]


def _trajectory(lib, name: str, lr, kwargs: dict) -> tuple:
    """The optimizer and its parameters after each of three closure steps from ``lr``; before
    the last step the rate becomes NEW_LR: in place for a Tensor ``lr``, in the group for a
    float."""
    params = [p for p in make_params()[0 if lib is ds else 1] if name != "Muon" or p.ndim == 2]
    opt = getattr(lib.optim, name)(params, lr=lr, **kwargs)

    def closure():
        opt.zero_grad()
        loss = sum(((p - 0.5) ** 2).sum() + 0.1 * (p ** 4).sum() for p in params)
        loss.backward()
        return loss

    snapshots = []
    for k in range(3):
        if k == 2 and isinstance(lr, (ds.Tensor, torch.Tensor)):
            lr.fill_(NEW_LR)
        elif k == 2:
            opt.param_groups[0]["lr"] = NEW_LR
        opt.step(closure)
        snapshots.append([to_numpy(p).copy() for p in params])
    return opt, snapshots


@pytest.mark.parametrize("name,kwargs", TENSOR_LR_CASES,
                         ids=[name + "".join(f"-{k}={v}" for k, v in kwargs.items())
                              for name, kwargs in TENSOR_LR_CASES])
@pytest.mark.parametrize("value", [0.01, [0.01]], ids=["tensor0d", "tensor1"])
def test_tensor_lr_steps(name: str, kwargs: dict, value) -> None:
    """A Tensor lr steps as its float does, is read again at every step (an in-place change
    counts from the next one), stays the group's Tensor, and matches torch's Tensor lr."""
    lr = ds.tensor(value)
    _, expected = _trajectory(ds, name, LR, kwargs)
    opt, ours = _trajectory(ds, name, lr, kwargs)
    _, theirs = _trajectory(torch, name, torch.tensor(value), kwargs)
    assert opt.param_groups[0]["lr"] is lr, f"{name}: the group's Tensor lr was replaced"
    # torch's LBFGS keeps the Tensor lr itself as state["t"], so the in-place change also
    # rewrites the step length its next step resumes from; ours keeps the float it used
    compared_with_torch = 2 if name == "LBFGS" else 3
    for k, (a, b, c) in enumerate(zip(ours, expected, theirs)):
        for i in range(len(a)):
            what = f"{name}({kwargs}) Tensor lr {value!r} step {k} param {i}"
            np.testing.assert_array_equal(a[i], b[i], err_msg=f"{what}: vs float lr (exact)")
            if k < compared_with_torch:
                np.testing.assert_allclose(a[i], c[i], rtol=1e-5, atol=1e-6,
                                           err_msg=f"{what}: vs torch (rtol=1e-5, atol=1e-6)")


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_tensor_lr_must_be_one_element(name: str) -> None:
    with pytest.raises(ValueError) as theirs:
        getattr(torch.optim, name)([torch.zeros(2, 2, requires_grad=True)], lr=torch.ones(2))
    with pytest.raises(ValueError, match=f"^{name}: {theirs.value}"):
        getattr(ds.optim, name)(_param(), lr=ds.ones(2))


@pytest.mark.parametrize("name,argument", [
    ("SGD", "momentum"), ("SGD", "dampening"), ("SGD", "weight_decay"),
    ("RMSprop", "alpha"), ("RMSprop", "eps"), ("Adagrad", "lr_decay"),
    ("Adagrad", "initial_accumulator_value"), ("Adadelta", "rho"),
    ("NAdam", "momentum_decay"), ("AdamW", "eps"), ("RAdam", "weight_decay"),
])
def test_hyperparameter_must_be_a_number(name: str, argument: str) -> None:
    with pytest.raises(TypeError, match=f"^{name}: {argument} must be a real number, got"):
        getattr(ds.optim, name)(_param(), **{argument: "0.1"})
    with pytest.raises(TypeError, match=f"^{name}: {argument} must be a real number, got"):
        getattr(ds.optim, name)(_param(), **{argument: ds.tensor(0.1)})


@pytest.mark.parametrize("name", ADAM_FAMILY)
@pytest.mark.parametrize("betas,message", [
    (0.9, "betas must be a pair of real numbers, got float 0.9"),
    ("0.9,0.999", "betas must be a pair of real numbers, got str '0.9,0.999'"),
    ((0.9,), r"betas must be a pair of real numbers, got tuple \(0.9,\)"),
    ((0.9, 0.99, 0.999), "betas must be a pair of real numbers, got tuple"),
    ((0.9, "0.999"), r"betas\[1\] must be a real number, got str '0.999'"),
    ((None, 0.999), r"betas\[0\] must be a real number, got NoneType None"),
])
def test_betas_errors(name: str, betas, message: str) -> None:
    with pytest.raises(TypeError, match=f"^{name}: {message}"):
        getattr(ds.optim, name)(_param(), betas=betas)


@pytest.mark.parametrize("name", ADAM_FAMILY)
def test_betas_list_accepted(name: str) -> None:
    opt = getattr(ds.optim, name)(_param(), betas=[0.8, np.float64(0.9)])
    assert opt.param_groups[0]["betas"] == (0.8, 0.9), f"{name}: betas not kept as a tuple"


def test_param_errors() -> None:
    w = ds.zeros(2, requires_grad=True)
    with pytest.raises(TypeError, match="iterable of Tensors or dicts"):
        ds.optim.SGD(w, lr=0.1)
    with pytest.raises(TypeError, match="ordered collections"):
        ds.optim.SGD([{"params": {w}}], lr=0.1)
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        ds.optim.SGD([w * 2], lr=0.1)
    opt = ds.optim.SGD([w], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [w]})
    with pytest.raises(ValueError, match="different number of parameter groups"):
        opt.load_state_dict({"state": {}, "param_groups": []})
    with pytest.raises(ValueError, match="doesn't match the size"):
        opt.load_state_dict({"state": {}, "param_groups": [{"params": [0, 1], "lr": 0.1}]})
