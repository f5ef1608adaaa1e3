"""The global module hooks (torch.nn.modules.module.register_module_*_hook) against torch's:
which hooks run, in which order, with which values, and what their returns replace."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.modules.module as torch_module

import deepseek as ds
import deepseek.nn.modules.module as ds_module

LIBS = ((ds, ds_module), (torch, torch_module))


def _model(lib):
    lib.manual_seed(0)
    return lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.ReLU(), lib.nn.Linear(4, 2))


def _same_weights(ours, theirs):
    with ds.no_grad():
        for (_, a), (_, b) in zip(ours.named_parameters(), theirs.named_parameters()):
            a.copy_(ds.from_numpy(b.detach().numpy().copy()))


def _run(lib, mod, register, x, model):
    """Register hooks through ``register(lib, mod, log, model)``, run forward and backward,
    remove them; returns the log, the output and the input's gradient."""
    log: list = []
    handles = register(lib, mod, log, model)
    xt = lib.tensor(x, requires_grad=True)
    out = model(xt)
    out.sum().backward()
    for h in handles:
        h.remove()
    return log, out.detach().numpy(), xt.grad.numpy()


def _compare(register):
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    models = [_model(lib) for lib, _ in LIBS]
    _same_weights(*models)
    ours, theirs = (_run(lib, mod, register, x, m) for (lib, mod), m in zip(LIBS, models))
    assert ours[0] == theirs[0]
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-5, atol=1e-6)
    # once removed, nothing runs
    log, *_ = _run(LIBS[0][0], LIBS[0][1], lambda *a: [], x, _model(ds))
    assert log == []


def _name(m):
    return type(m).__name__


def test_forward_hooks_run_before_the_modules_own():
    def register(lib, mod, log, model):
        model[0].register_forward_pre_hook(lambda m, a: log.append(("own pre", _name(m))))
        model[0].register_forward_hook(lambda m, a, o: log.append(("own post", _name(m))))
        return [mod.register_module_forward_pre_hook(lambda m, a: log.append(("pre", _name(m)))),
                mod.register_module_forward_hook(lambda m, a, o: log.append(("post", _name(m))))]

    _compare(register)


def test_forward_hook_returns_replace_args_and_outputs():
    def register(lib, mod, log, model):
        def pre(m, args):
            if isinstance(m, lib.nn.ReLU):
                return (args[0] * 2,)

        def post(m, args, out):
            log.append(tuple(out.shape))
            return out + 1 if isinstance(m, lib.nn.Linear) else None

        return [mod.register_module_forward_pre_hook(pre),
                mod.register_module_forward_hook(post)]

    _compare(register)


def test_forward_hook_with_kwargs_and_always_call():
    for lib, mod in LIBS:
        seen = []
        h = mod.register_module_forward_hook(
            lambda m, a, *k_o, seen=seen: seen.append(
                (_name(m), sorted(k_o[0]) if len(k_o) == 2 else None, k_o[-1] is None)),
            with_kwargs=True, always_call=True)
        try:
            lin = lib.nn.Linear(3, 2)
            lin(input=lib.ones(1, 3))
            with pytest.raises(RuntimeError):
                lin(lib.ones(1, 5))
        finally:
            h.remove()
        # on an error torch 2.13 calls a global with_kwargs hook without the kwargs; deepseek
        # keeps the hook's signature
        assert seen == [("Linear", ["input"], False),
                        ("Linear", [] if lib is ds else None, True)], lib.__name__


def test_a_failing_always_call_hook_warns_like_torch():
    for lib, mod in LIBS:
        def hook(m, a, o):
            raise ValueError("boom")

        h = mod.register_module_forward_hook(hook, always_call=True)
        try:
            with pytest.warns(UserWarning, match="global module forward hook with "
                              "``always_call=True`` raised an exception.*boom"):
                with pytest.raises(RuntimeError):
                    lib.nn.Linear(3, 2)(lib.ones(1, 5))
        finally:
            h.remove()


def test_full_backward_hooks_see_torchs_gradients():
    def register(lib, mod, log, model):
        def pre(m, grad_output):
            log.append(("pre", _name(m), np.round(grad_output[0].numpy(), 4).tolist()))

        def hook(m, grad_input, grad_output):
            log.append(("bw", _name(m), np.round(grad_input[0].numpy(), 4).tolist()))
            if isinstance(m, lib.nn.ReLU):
                return (grad_input[0] * 3,)

        return [mod.register_module_full_backward_pre_hook(pre),
                mod.register_module_full_backward_hook(hook)]

    _compare(register)


def test_registration_hooks():
    events = []
    for lib, mod in LIBS:
        log = []

        def param_hook(m, name, p, log=log):
            log.append(("param", _name(m), name, tuple(p.shape)))

        def buffer_hook(m, name, b, log=log, lib=lib):
            log.append(("buffer", _name(m), name))
            if name == "extra_buf":
                return lib.full_like(b, 7.0)

        def module_hook(m, name, sub, log=log):
            log.append(("module", _name(m), name, _name(sub)))

        handles = [mod.register_module_parameter_registration_hook(param_hook),
                   mod.register_module_buffer_registration_hook(buffer_hook),
                   mod.register_module_module_registration_hook(module_hook)]
        try:
            net = lib.nn.Sequential(lib.nn.Linear(2, 3), lib.nn.BatchNorm1d(3))
            net.extra = lib.nn.ReLU()
            net[1].running_var = lib.zeros(3)  # reassigning a buffer is a registration too
            net[1].register_buffer("extra_buf", lib.zeros(3))
        finally:
            for h in handles:
                h.remove()
        assert net[1].extra_buf.tolist() == [7.0, 7.0, 7.0]
        events.append(log)
    assert events[0] == events[1]


def test_global_hooks_are_not_torch_nn_names():
    for name in ds_module.__all__:
        assert hasattr(torch_module, name), name
        assert hasattr(ds.nn, name) == hasattr(torch.nn, name), name
