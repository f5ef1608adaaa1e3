"""swa_utils (AveragedModel, SWALR, update_bn, the averaging functions), Adafactor and Muon
against torch.optim on the same weights, gradients and batches."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from _compare import assert_close, fake_grad, to_numpy, torch_state_to_ds

import deepseek as ds
from deepseek.optim import swa_utils


def _nets() -> tuple:
    """The same Linear-BatchNorm-Linear network in both libraries."""
    def make(lib):
        nn = lib.nn
        return nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Linear(6, 2))

    torch.manual_seed(0)
    theirs, ours = make(torch), make(ds)
    ours.load_state_dict({k: ds.tensor(v.numpy().copy()) for k, v in theirs.state_dict().items()})
    return ours, theirs


def _train_step(ours: ds.nn.Module, theirs: torch.nn.Module, step: int) -> None:
    """One SGD step on a batch both libraries see; the BatchNorm buffers move too."""
    x = np.random.default_rng(step).standard_normal((8, 4)).astype("float32")
    ours(ds.tensor(x)).square().mean().backward()
    theirs(torch.tensor(x)).square().mean().backward()
    with torch.no_grad():
        for a, b in zip(ours.parameters(), theirs.parameters()):
            a.data = a.detach() - 0.1 * a.grad
            b -= 0.1 * b.grad
            a.grad, b.grad = None, None


def _assert_same_state(ours: ds.nn.Module, theirs: torch.nn.Module, what: str) -> None:
    mine, reference = ours.state_dict(), theirs.state_dict()
    assert list(mine) == list(reference), f"{what}: keys {list(mine)} != {list(reference)}"
    for key in reference:
        assert_close(mine[key], reference[key], f"{what} {key}")


AVERAGES = {
    "swa": {},
    "swa_buffers": dict(use_buffers=True),
    "ema_avg_fn": dict(avg_fn="get_ema_avg_fn", decay=0.8),
    "ema_multi": dict(multi_avg_fn="get_ema_multi_avg_fn", decay=0.8, use_buffers=True),
    "swa_avg_fn": dict(avg_fn="get_swa_avg_fn"),
    "swa_multi": dict(multi_avg_fn="get_swa_multi_avg_fn"),
}


def _averaged(lib, model, options: dict):
    options = dict(options)
    decay = options.pop("decay", None)
    for key in ("avg_fn", "multi_avg_fn"):
        if key in options:
            make = getattr(lib.optim.swa_utils, options[key])
            options[key] = make() if decay is None else make(decay)
    return lib.optim.swa_utils.AveragedModel(model, **options)


@pytest.mark.parametrize("kind", list(AVERAGES))
def test_averaged_model_matches_torch(kind: str) -> None:
    ours, theirs = _nets()
    avg_ours, avg_theirs = _averaged(ds, ours, AVERAGES[kind]), _averaged(torch, theirs,
                                                                          AVERAGES[kind])
    for step in range(4):
        _train_step(ours, theirs, step)
        avg_ours.update_parameters(ours)
        avg_theirs.update_parameters(theirs)
        _assert_same_state(avg_ours, avg_theirs, f"AveragedModel({kind}) after update {step}")
    assert int(avg_ours.n_averaged.item()) == 4 and avg_ours.n_averaged.dtype == ds.int64
    x = np.random.default_rng(9).standard_normal((5, 4)).astype("float32")
    avg_ours.eval()
    avg_theirs.eval()
    assert_close(avg_ours(ds.tensor(x)), avg_theirs(torch.tensor(x)), f"AveragedModel({kind})")
    # the copy is independent of the model it started from
    assert all(a is not b for a, b in zip(avg_ours.parameters(), ours.parameters()))


def test_averaged_model_state_dict_loads_torchs() -> None:
    ours, theirs = _nets()
    avg_ours, avg_theirs = swa_utils.AveragedModel(ours), torch.optim.swa_utils.AveragedModel(
        theirs)
    for step in range(2):
        _train_step(ours, theirs, step)
        avg_theirs.update_parameters(theirs)
    state = {k: ds.tensor(v.numpy().copy()) for k, v in avg_theirs.state_dict().items()}
    avg_ours.load_state_dict(state)
    _assert_same_state(avg_ours, avg_theirs, "AveragedModel loaded from torch")
    _train_step(ours, theirs, 2)
    avg_ours.update_parameters(ours)
    avg_theirs.update_parameters(theirs)
    _assert_same_state(avg_ours, avg_theirs, "AveragedModel resumed from torch's state")


def test_averaging_function_errors() -> None:
    with pytest.raises(AssertionError, match="Only one of avg_fn and multi_avg_fn"):
        swa_utils.AveragedModel(ds.nn.Linear(2, 2), avg_fn=swa_utils.get_swa_avg_fn(),
                                multi_avg_fn=swa_utils.get_swa_multi_avg_fn())
    for make in (swa_utils.get_ema_avg_fn, swa_utils.get_ema_multi_avg_fn):
        with pytest.raises(ValueError, match=rf"^{make.__name__}: Invalid decay value 1.5"):
            make(1.5)


def test_update_bn_matches_torch() -> None:
    ours, theirs = _nets()
    rng = np.random.default_rng(3)
    batches = [rng.standard_normal((6, 4)).astype("float32") for _ in range(3)]
    # list batches contribute their first element, as torch's loaders give (input, target)
    loader_ours = [(ds.tensor(b), 0) for b in batches]
    loader_theirs = [(torch.tensor(b), 0) for b in batches]
    ours.eval()
    theirs.eval()
    ours[1].momentum = theirs[1].momentum = 0.3
    swa_utils.update_bn(loader_ours, ours)
    torch.optim.swa_utils.update_bn(loader_theirs, theirs)
    _assert_same_state(ours, theirs, "update_bn")
    assert not ours.training and ours[1].momentum == 0.3
    swa_utils.update_bn(loader_ours, ds.nn.Linear(4, 2))  # no batch norm: nothing to do


@pytest.mark.parametrize("strategy,epochs", [("cos", 3), ("linear", 4), ("cos", 0)])
def test_swalr_matches_torch(strategy: str, epochs: int) -> None:
    def run(lib):
        w = lib.zeros(2, requires_grad=True)
        b = lib.zeros(2, requires_grad=True)
        opt = lib.optim.SGD([{"params": [w]}, {"params": [b], "lr": 0.5}], lr=1.0)
        sched = lib.optim.swa_utils.SWALR(opt, swa_lr=[0.05, 0.1], anneal_epochs=epochs,
                                          anneal_strategy=strategy)
        rates = [[g["lr"] for g in opt.param_groups]]
        for _ in range(6):
            opt.step()
            sched.step()
            rates.append([g["lr"] for g in opt.param_groups])
        return rates, sched

    (ours, sched), (theirs, _) = run(ds), run(torch)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12,
                               err_msg=f"SWALR({strategy}, {epochs}) rates (rtol=1e-12)")
    resumed = run(ds)[1]
    resumed.load_state_dict(sched.state_dict())
    assert resumed.anneal_func(0.5) == sched.anneal_func(0.5)


def test_swalr_errors_match_torch() -> None:
    for kwargs in (dict(swa_lr=0.1, anneal_strategy="exp"), dict(swa_lr=0.1, anneal_epochs=-1),
                   dict(swa_lr=0.1, anneal_epochs=1.5), dict(swa_lr=[0.1, 0.2])):
        with pytest.raises(ValueError) as theirs:
            torch.optim.swa_utils.SWALR(torch.optim.SGD([torch.zeros(1, requires_grad=True)]),
                                        **kwargs)
        with pytest.raises(ValueError) as ours:
            swa_utils.SWALR(ds.optim.SGD([ds.zeros(1, requires_grad=True)]), **kwargs)
        assert str(ours.value).endswith(str(theirs.value)), f"{kwargs}: {ours.value!r}"


# ---- Adafactor and Muon ----
def _params(shapes: list, seed: int = 0) -> tuple:
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s).astype("float32") for s in shapes]
    return ([ds.tensor(a.copy(), requires_grad=True) for a in arrays],
            [torch.tensor(a.copy(), requires_grad=True) for a in arrays])


def _lockstep(ours, theirs, params: tuple, steps: range, what: str) -> None:
    for k in steps:
        for i, (a, b) in enumerate(zip(*params)):
            g = fake_grad(to_numpy(b), k, i)
            a.grad, b.grad = ds.tensor(g.copy()), torch.tensor(g.copy())
        ours.step()
        theirs.step()
        for i, (a, b) in enumerate(zip(*params)):
            assert_close(a.detach(), b.detach(), f"{what} step {k} param {i}")


ADAFACTOR_SHAPES = [(3, 4), (5,), (2, 3, 4), ()]
CASES = [
    ("Adafactor", ADAFACTOR_SHAPES, {}),
    ("Adafactor", ADAFACTOR_SHAPES, dict(lr=0.05, beta2_decay=-0.5, eps=(1e-3, 1e-2), d=1.5,
                                         weight_decay=0.1, maximize=True)),
    ("Adafactor", ADAFACTOR_SHAPES, dict(lr=0.5, foreach=True)),
    ("Muon", [(6, 4), (3, 8)], {}),
    ("Muon", [(6, 4), (3, 8)], dict(lr=0.02, nesterov=False, momentum=0.9, weight_decay=0.01,
                                    adjust_lr_fn="match_rms_adamw")),
    ("Muon", [(5, 5)], dict(lr=0.05, ns_steps=3, ns_coefficients=(2.0, -1.5, 0.5), eps=1e-3,
                            adjust_lr_fn="original")),
]
IDS = [f"{name}-{i}" for i, (name, _, _) in enumerate(CASES)]


@pytest.mark.parametrize("name,shapes,kwargs", CASES, ids=IDS)
def test_matches_torch_and_resumes(name: str, shapes: list, kwargs: dict) -> None:
    params = _params(shapes)
    ours = getattr(ds.optim, name)(params[0], **kwargs)
    theirs = getattr(torch.optim, name)(params[1], **kwargs)
    _lockstep(ours, theirs, params, range(5), name)
    assert_close(ours.state_dict(), theirs.state_dict(), f"{name} state_dict")

    buffer = io.BytesIO()
    ds.save(ours.state_dict(), buffer)
    buffer.seek(0)
    resumed = getattr(ds.optim, name)(params[0], **kwargs)
    resumed.load_state_dict(ds.load(buffer))
    _lockstep(resumed, theirs, params, range(5, 8), f"{name} resumed from ds.load")
    from_torch = getattr(ds.optim, name)(params[0], **kwargs)
    from_torch.load_state_dict(torch_state_to_ds(theirs.state_dict()))
    _lockstep(from_torch, theirs, params, range(8, 10), f"{name} resumed from torch's state")


def test_adafactor_state_is_factored() -> None:
    w, v = ds.zeros(2, 3, 4, requires_grad=True), ds.zeros(4, requires_grad=True)
    opt = ds.optim.Adafactor([w, v])
    w.grad, v.grad = ds.ones(2, 3, 4), ds.ones(4)
    opt.step()
    assert {k: tuple(t.shape) for k, t in opt.state[w].items()} == {
        "step": (), "row_var": (2, 3, 1), "col_var": (2, 1, 4)}
    assert {k: tuple(t.shape) for k, t in opt.state[v].items()} == {"step": (), "variance": (4,)}


@pytest.mark.parametrize("name,kwargs", [
    ("Adafactor", dict(lr=-1)), ("Adafactor", dict(beta2_decay=0.5)),
    ("Adafactor", dict(eps=(-1e-3, 1e-3))), ("Adafactor", dict(eps=(None, -1))),
    ("Adafactor", dict(d=0.5)), ("Adafactor", dict(weight_decay=-0.1)),
    ("Muon", dict(lr=-1)), ("Muon", dict(momentum=-0.5)), ("Muon", dict(weight_decay=-1)),
    ("Muon", dict(adjust_lr_fn="sqrt")),
])
def test_hyperparameter_errors_match_torch(name: str, kwargs: dict) -> None:
    with pytest.raises(ValueError) as theirs:
        getattr(torch.optim, name)([torch.zeros(2, 2, requires_grad=True)], **kwargs)
    with pytest.raises(ValueError) as ours:
        getattr(ds.optim, name)([ds.zeros(2, 2, requires_grad=True)], **kwargs)
    assert str(ours.value).startswith(f"{name}: {theirs.value}"), (
        f"{name}({kwargs}): {ours.value!r} vs torch {theirs.value!r}")


def test_muon_rejects_non_matrices_and_bad_iterations() -> None:
    with pytest.raises(ValueError, match=r"^Muon only supports 2D parameters whereas we found a "
                                         r"parameter with size: deepseek.Size\(\[5\]\)"):
        ds.optim.Muon([ds.zeros(5, requires_grad=True)])
    for kwargs, message in ((dict(ns_steps=100), "Number of steps must be less than 100"),
                            (dict(ns_coefficients=(1.0, 2.0)), "Coefficients must be a tuple "
                                                               "of exactly 3 values")):
        w = ds.zeros(2, 2, requires_grad=True)
        opt = ds.optim.Muon([w], **kwargs)
        w.grad = ds.ones(2, 2)
        with pytest.raises(ValueError, match=f"^Muon: {message}"):
            opt.step()


@pytest.mark.parametrize("lr", [1, 0.5, np.float32(0.5), ds.tensor(0.5), ds.tensor([0.5])],
                         ids=["int", "float", "np.float32", "tensor0d", "tensor1"])
def test_muon_lr_types(lr) -> None:
    """The checks tests/optim/test_optimizers.py makes of every optimizer, on a matrix."""
    opt = ds.optim.Muon([ds.zeros(2, 2, requires_grad=True)], lr=lr)
    assert opt.param_groups[0]["lr"] is lr
    with pytest.raises(TypeError, match="^Muon: lr must be a real number.*got str '0.1'"):
        ds.optim.Muon([ds.zeros(2, 2, requires_grad=True)], lr="0.1")
    with pytest.raises(ValueError, match="^Muon: Tensor lr must be 1-element"):
        ds.optim.Muon([ds.zeros(2, 2, requires_grad=True)], lr=ds.ones(2))


def test_muon_tensor_lr_steps_as_float() -> None:
    runs = []
    for lr in (float(np.float32(0.01)), ds.tensor(0.01), torch.tensor(0.01)):
        lib = torch if isinstance(lr, torch.Tensor) else ds
        params = _params([(4, 3)])[1 if lib is torch else 0]
        opt = lib.optim.Muon(params, lr=lr)
        for k in range(3):
            params[0].grad = lib.tensor(fake_grad(to_numpy(params[0]), k, 0))
            opt.step()
        runs.append(to_numpy(params[0]).copy())
    np.testing.assert_array_equal(runs[1], runs[0], err_msg="Muon: Tensor lr vs float lr")
    np.testing.assert_allclose(runs[1], runs[2], rtol=1e-5, atol=1e-6,
                               err_msg="Muon: Tensor lr vs torch (rtol=1e-5, atol=1e-6)")
