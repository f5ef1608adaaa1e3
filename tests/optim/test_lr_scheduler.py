"""Every LR schedule against torch.optim.lr_scheduler's over many steps: the rates (and the
cycled momenta), get_last_lr, and resuming from state_dict through ds.save/ds.load."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest
import torch

import deepseek as ds


def _rate(lib, lr: float, form: str):
    """``lr`` as a float, a 0-d Tensor or a 1-element Tensor."""
    if form == "float":
        return lr
    return lib.tensor(lr if form == "tensor0d" else [lr])


def _optimizer(lib, kind: str = "SGD", form: str = "float"):
    groups = [{"params": [lib.zeros(2, requires_grad=True)], "lr": _rate(lib, 0.1, form)},
              {"params": [lib.zeros(3, requires_grad=True)], "lr": _rate(lib, 0.03, form)}]
    if kind == "Adam":
        return lib.optim.Adam(groups, lr=0.01)
    return lib.optim.SGD(groups, lr=0.01, momentum=0.9)


CASES = {
    "LambdaLR": (lambda s, o: s.LambdaLR(o, lambda e: 0.9 ** e), "SGD"),
    "LambdaLR-list": (lambda s, o: s.LambdaLR(o, [lambda e: 0.9 ** e, lambda e: 1 / (e + 1)]),
                      "SGD"),
    "MultiplicativeLR": (lambda s, o: s.MultiplicativeLR(o, lambda e: 0.95), "SGD"),
    "StepLR": (lambda s, o: s.StepLR(o, step_size=3, gamma=0.5), "SGD"),
    "MultiStepLR": (lambda s, o: s.MultiStepLR(o, milestones=[2, 5, 5, 9], gamma=0.5), "SGD"),
    "ConstantLR": (lambda s, o: s.ConstantLR(o, factor=0.5, total_iters=4), "SGD"),
    "LinearLR": (lambda s, o: s.LinearLR(o, start_factor=0.2, end_factor=0.9,
                                         total_iters=6), "SGD"),
    "ExponentialLR": (lambda s, o: s.ExponentialLR(o, gamma=0.9), "SGD"),
    "PolynomialLR": (lambda s, o: s.PolynomialLR(o, total_iters=8, power=2.0), "SGD"),
    "CosineAnnealingLR": (lambda s, o: s.CosineAnnealingLR(o, T_max=5, eta_min=0.01), "SGD"),
    "CosineAnnealingWarmRestarts": (
        lambda s, o: s.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=0.001), "SGD"),
    "CyclicLR-triangular": (lambda s, o: s.CyclicLR(o, 0.01, 0.1, step_size_up=3), "SGD"),
    "CyclicLR-triangular2": (lambda s, o: s.CyclicLR(o, [0.01, 0.02], 0.1, step_size_up=2,
                                                     step_size_down=4, mode="triangular2"),
                             "SGD"),
    "CyclicLR-exp_range": (lambda s, o: s.CyclicLR(o, 0.01, 0.1, step_size_up=3,
                                                   mode="exp_range", gamma=0.9), "Adam"),
    "OneCycleLR": (lambda s, o: s.OneCycleLR(o, max_lr=0.5, total_steps=30), "SGD"),
    "OneCycleLR-three-linear": (lambda s, o: s.OneCycleLR(
        o, max_lr=[0.5, 0.2], epochs=3, steps_per_epoch=10, three_phase=True,
        anneal_strategy="linear"), "Adam"),
    "SequentialLR": (lambda s, o: s.SequentialLR(o, [s.LinearLR(o, start_factor=0.1,
                                                                total_iters=4),
                                                     s.ExponentialLR(o, gamma=0.8)],
                                                 milestones=[4]), "SGD"),
    "ChainedScheduler": (lambda s, o: s.ChainedScheduler([s.ConstantLR(o, factor=0.5,
                                                                       total_iters=3),
                                                          s.ExponentialLR(o, gamma=0.9)]),
                         "SGD"),
}
STEPS = 30


def _groups(opt) -> list:
    return [{k: v for k, v in g.items() if k in ("lr", "momentum", "betas", "initial_lr")}
            for g in opt.param_groups]


def _same_value(ours, theirs, what: str) -> None:
    """A Tensor where torch has one (then the same shape and dtype), and the same value."""
    assert isinstance(ours, ds.Tensor) == isinstance(theirs, torch.Tensor), \
        f"{what}: {type(ours).__name__} where torch has {type(theirs).__name__}"
    a, b = np.asarray(ours), np.asarray(theirs)
    if isinstance(theirs, torch.Tensor):
        assert a.shape == b.shape, f"{what}: shape {a.shape} != {b.shape}"
        assert a.dtype == b.dtype, f"{what}: dtype {a.dtype} != {b.dtype}"
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15, err_msg=what)


def _check(ours_sched, theirs_sched, ours_opt, theirs_opt, what: str) -> None:
    ours_last, theirs_last = ours_sched.get_last_lr(), theirs_sched.get_last_lr()
    assert len(ours_last) == len(theirs_last), f"{what}: get_last_lr() length"
    for i, (a, b) in enumerate(zip(ours_last, theirs_last)):
        _same_value(a, b, f"{what}: get_last_lr()[{i}]")
    for a, b in zip(_groups(ours_opt), _groups(theirs_opt)):
        assert a.keys() == b.keys(), what
        for k in a:
            _same_value(a[k], b[k], f"{what}: {k}")


def _step(sched, opt) -> None:
    opt.step()
    sched.step()


@pytest.mark.parametrize("name", list(CASES))
def test_matches_torch(name: str) -> None:
    make, kind = CASES[name]
    ours_opt, theirs_opt = _optimizer(ds, kind), _optimizer(torch, kind)
    ours = make(ds.optim.lr_scheduler, ours_opt)
    theirs = make(torch.optim.lr_scheduler, theirs_opt)
    _check(ours, theirs, ours_opt, theirs_opt, f"{name} at construction")
    for k in range(STEPS):
        _step(ours, ours_opt)
        _step(theirs, theirs_opt)
        _check(ours, theirs, ours_opt, theirs_opt, f"{name} step {k}")


@pytest.mark.parametrize("name", list(CASES))
def test_resume_from_state_dict(name: str) -> None:
    make, kind = CASES[name]
    ours_opt, theirs_opt = _optimizer(ds, kind), _optimizer(torch, kind)
    ours = make(ds.optim.lr_scheduler, ours_opt)
    theirs = make(torch.optim.lr_scheduler, theirs_opt)
    for _ in range(7):
        _step(ours, ours_opt)
        _step(theirs, theirs_opt)
    buffer = io.BytesIO()
    ds.save({"optimizer": ours_opt.state_dict(), "scheduler": ours.state_dict()}, buffer)
    buffer.seek(0)
    saved = ds.load(buffer)
    resumed_opt = _optimizer(ds, kind)
    resumed = make(ds.optim.lr_scheduler, resumed_opt)
    resumed_opt.load_state_dict(saved["optimizer"])
    resumed.load_state_dict(saved["scheduler"])
    assert getattr(resumed, "last_epoch", None) == getattr(theirs, "last_epoch", None)
    for k in range(10):
        _step(resumed, resumed_opt)
        _step(theirs, theirs_opt)
        _check(resumed, theirs, resumed_opt, theirs_opt, f"{name} resumed step {k}")


@pytest.mark.parametrize("form", ["float", "tensor0d", "tensor1"])
def test_reduce_lr_on_plateau(form: str) -> None:
    metrics = [1.0, 0.9, 0.9, 0.95, 0.91, 0.92, 0.93, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 0.4, 0.5]
    for kwargs in (dict(patience=1), dict(mode="max", patience=2, cooldown=1, factor=0.5),
                   dict(patience=0, threshold_mode="abs", threshold=0.05, min_lr=[0.05, 0.02])):
        ours_opt, theirs_opt = _optimizer(ds, form=form), _optimizer(torch, form=form)
        ours = ds.optim.lr_scheduler.ReduceLROnPlateau(ours_opt, **kwargs)
        theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(theirs_opt, **kwargs)
        for k, m in enumerate(metrics):
            ours.step(ds.tensor(m) if k % 2 else m)
            theirs.step(m)
            _check(ours, theirs, ours_opt, theirs_opt, f"ReduceLROnPlateau {kwargs} step {k}")
            if k == 6:  # resume halfway through ds.save/ds.load
                buffer = io.BytesIO()
                ds.save(ours.state_dict(), buffer)
                buffer.seek(0)
                ours = ds.optim.lr_scheduler.ReduceLROnPlateau(ours_opt)
                ours.load_state_dict(ds.load(buffer))


@pytest.mark.parametrize("form", ["tensor0d", "tensor1"])
@pytest.mark.parametrize("name", list(CASES))
def test_tensor_lr_matches_torch(name: str, form: str) -> None:
    """With Tensor rates the groups keep their Tensors where torch does (torch fills them in
    place), get_last_lr gives copies as torch's does, and the parameters stepped with the
    scheduled rates match torch's."""
    make, kind = CASES[name]
    ours_opt, theirs_opt = _optimizer(ds, kind, form), _optimizer(torch, kind, form)
    ours_lrs = [group["lr"] for group in ours_opt.param_groups]
    theirs_lrs = [group["lr"] for group in theirs_opt.param_groups]
    ours = make(ds.optim.lr_scheduler, ours_opt)
    theirs = make(torch.optim.lr_scheduler, theirs_opt)
    for k in range(STEPS):
        for lib, opt in ((ds, ours_opt), (torch, theirs_opt)):
            for group in opt.param_groups:
                for p in group["params"]:
                    p.grad = lib.ones(*p.shape)
        _step(ours, ours_opt)
        _step(theirs, theirs_opt)
        what = f"{name} with {form} lr, step {k}"
        _check(ours, theirs, ours_opt, theirs_opt, what)
        for i, (a, b) in enumerate(zip(ours_opt.param_groups, theirs_opt.param_groups)):
            assert (a["lr"] is ours_lrs[i]) == (b["lr"] is theirs_lrs[i]), \
                f"{what}: group {i} lr kept as the given Tensor: ours {a['lr'] is ours_lrs[i]}"
            assert (ours.get_last_lr()[i] is a["lr"]) == (theirs.get_last_lr()[i] is b["lr"]), \
                f"{what}: get_last_lr()[{i}] aliases the group's lr"
            np.testing.assert_allclose(np.asarray(a["params"][0].detach()),
                                       b["params"][0].detach().numpy(), rtol=1e-5, atol=1e-6,
                                       err_msg=f"{what}: group {i} param (rtol=1e-5, atol=1e-6)")


def test_closed_form_with_epoch_argument() -> None:
    for make in (lambda s, o: s.StepLR(o, step_size=3, gamma=0.5),
                 lambda s, o: s.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2)):
        ours_opt, theirs_opt = _optimizer(ds), _optimizer(torch)
        ours = make(ds.optim.lr_scheduler, ours_opt)
        theirs = make(torch.optim.lr_scheduler, theirs_opt)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for epoch in (4, 7.5, 2, 12, 0.5):
                if isinstance(ours, ds.optim.lr_scheduler.StepLR):
                    epoch = int(epoch)
                ours.step(epoch)
                theirs.step(epoch)
                _check(ours, theirs, ours_opt, theirs_opt, f"{type(ours).__name__} at {epoch}")


def test_warns_when_stepped_before_the_optimizer() -> None:
    opt = _optimizer(ds)
    sched = ds.optim.lr_scheduler.StepLR(opt, step_size=2)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        sched.step()


def test_errors() -> None:
    opt = _optimizer(ds)
    s = ds.optim.lr_scheduler
    with pytest.raises(TypeError, match="is not an Optimizer"):
        s.StepLR(object(), step_size=2)
    with pytest.raises(KeyError, match="initial_lr"):
        s.StepLR(opt, step_size=2, last_epoch=3)
    with pytest.raises(ValueError, match="Expected 2 lr_lambdas, but got 1"):
        s.LambdaLR(opt, [lambda e: 1.0])
    with pytest.raises(ValueError, match="between 0 and 1"):
        s.ConstantLR(opt, factor=2.0)
    with pytest.raises(ValueError, match="Expected positive integer T_0"):
        s.CosineAnnealingWarmRestarts(opt, T_0=0)
    with pytest.raises(ValueError, match="Factor should be < 1.0"):
        s.ReduceLROnPlateau(opt, factor=1.0)
    with pytest.raises(ValueError, match="mode foo is unknown"):
        s.ReduceLROnPlateau(opt, mode="foo")
    with pytest.raises(ValueError, match="one more than the number of milestone"):
        s.SequentialLR(opt, [s.StepLR(opt, 2)], milestones=[3])
    with pytest.raises(ValueError, match="does not support `ReduceLROnPlateau`"):
        s.ChainedScheduler([s.ReduceLROnPlateau(opt)])
    with pytest.raises(ValueError, match="total_steps OR"):
        s.OneCycleLR(opt, max_lr=0.1)
    one_cycle = s.OneCycleLR(opt, max_lr=0.1, total_steps=2)
    opt.step()
    one_cycle.step()
    one_cycle.step()
    with pytest.raises(ValueError, match="Tried to step 3 times"):
        one_cycle.step()
