"""Module methods (to_empty, backward pre-hooks and the deprecated backward hook, state_dict
hooks, set_submodule, share_memory, compile), nn.init.eye/dirac, nn.utils.skip_init and
clip_grads_with_norm_, SyncBatchNorm and DataParallel, against torch on the same weights."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from nn_reference import compare_module, copy_weights

import deepseek as ds


def _net(lib):
    nn = lib.nn
    return nn.Sequential(nn.Linear(3, 4), nn.Sequential(nn.BatchNorm1d(4), nn.ReLU()),
                         nn.Linear(4, 2))


def _pair() -> tuple:
    torch.manual_seed(0)
    theirs, ours = _net(torch), _net(ds)
    copy_weights(theirs, ours)
    return ours, theirs


def _summary(value):
    """Hook arguments as comparable values: tensors by their sums (None kept), modules by
    class name, containers elementwise."""
    if isinstance(value, (ds.Tensor, torch.Tensor)):
        return round(float(value.detach().double().sum()), 6)
    if isinstance(value, (ds.nn.Module, torch.nn.Module)):
        return type(value).__name__
    if isinstance(value, (tuple, list)):
        return [_summary(v) for v in value]
    if isinstance(value, dict):
        return sorted(value)
    return value


# ---- to_empty ----
def test_to_empty_keeps_parameters_and_gives_fresh_storage() -> None:
    ours, theirs = _pair()
    weight, inner = ours[0].weight, ours[1][0].running_mean
    before = weight.detach().numpy()
    assert ours.to_empty(device="cpu", recurse=False) is ours
    assert ours[0].weight.detach().numpy() is not None and ours[1][0].running_mean is inner
    ours.to_empty(device="cpu")
    theirs.to_empty(device="cpu")
    assert ours[0].weight is weight, "to_empty replaced the Parameter object"
    assert not np.shares_memory(weight.detach().numpy(), before)
    for (k, a), (k2, b) in zip(ours.state_dict().items(), theirs.state_dict().items()):
        assert k == k2 and tuple(a.shape) == tuple(b.shape) and str(a.dtype)[9:] == str(
            b.dtype)[6:], f"to_empty: {k} {a.shape} {a.dtype} vs torch {b.shape} {b.dtype}"
    with pytest.raises(TypeError):
        ours.to_empty("cpu")  # device is keyword-only, as in torch


# ---- backward hooks ----
def _hooked_backward(lib, *, x_requires_grad: bool = True) -> tuple:
    m = lib.nn.Linear(3, 2)
    with (torch.no_grad() if lib is torch else ds.no_grad()):
        m.weight.copy_(lib.tensor([[1.0, -2.0, 0.5], [0.25, 1.0, -1.0]]))
        m.bias.copy_(lib.tensor([0.1, -0.3]))
    calls = []
    m.register_full_backward_pre_hook(lambda mod, go: calls.append(("pre", _summary(go))))
    m.register_full_backward_pre_hook(
        lambda mod, go: calls.append(("double", _summary(go))) or (go[0] * 2,))
    m.register_full_backward_pre_hook(lambda mod, go: calls.append(("first", _summary(go))),
                                      prepend=True)
    m.register_full_backward_hook(lambda mod, gi, go: calls.append(("full", _summary(gi),
                                                                     _summary(go))))
    x = lib.tensor(np.arange(12.0, dtype="float32").reshape(4, 3) / 7,
                   requires_grad=x_requires_grad)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch: "Full backward hook is firing when ..."
        (m(x) * lib.tensor([1.0, 3.0])).sum().backward()
    return calls, _summary(x.grad), _summary(m.weight.grad), _summary(m.bias.grad)


@pytest.mark.parametrize("x_requires_grad", [True, False])
def test_full_backward_pre_hook_order_arguments_and_replacement(x_requires_grad: bool) -> None:
    ours = _hooked_backward(ds, x_requires_grad=x_requires_grad)
    theirs = _hooked_backward(torch, x_requires_grad=x_requires_grad)
    assert ours == theirs, f"backward pre-hooks: {ours} vs torch {theirs}"


def test_backward_pre_hook_errors_and_removal() -> None:
    for lib in (torch, ds):
        m = lib.nn.Linear(3, 2)
        handle = m.register_full_backward_pre_hook(lambda mod, go: (go[0], go[0]))
        with pytest.raises(RuntimeError, match="Backward pre hook returned an invalid number of "
                                               "grad_output, got 2, but expected 1"):
            m(lib.ones(2, 3)).sum().backward()
        handle.remove()
        m(lib.ones(2, 3)).sum().backward()


def _deprecated_hook(lib, module) -> tuple:
    calls = []
    module.register_backward_hook(lambda mod, gi, go: calls.append((_summary(gi),
                                                                     _summary(go))))
    x = lib.tensor([[-1.0, 2.0, 0.5], [3.0, -0.5, 1.5]], requires_grad=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        y = module(x * 1)  # a non-leaf input, so torch's single-node check holds
    (y * y).sum().backward()
    return calls, _summary(x.grad), [(w.category, str(w.message)[:80]) for w in caught]


def test_register_backward_hook_matches_torch_on_one_op() -> None:
    for name in ("ReLU", "Tanh"):
        ours = _deprecated_hook(ds, getattr(ds.nn, name)())
        theirs = _deprecated_hook(torch, getattr(torch.nn, name)())
        assert ours == theirs, f"register_backward_hook on {name}: {ours} vs torch {theirs}"
    # a forward of several ops: torch's grad_input would be the last op's; both warn
    ours, theirs = _deprecated_hook(ds, ds.nn.Linear(3, 2)), _deprecated_hook(torch,
                                                                             torch.nn.Linear(3, 2))
    assert ours[2] == theirs[2] == [(FutureWarning, "Using a non-full backward hook when the "
                                     "forward contains multiple autograd Nodes")]


def test_backward_hook_kinds_do_not_mix() -> None:
    message = ("Cannot use both regular backward hooks and full backward hooks on a single "
               "Module. Please use only one of them.")
    for lib in (torch, ds):
        m = lib.nn.ReLU()
        m.register_full_backward_hook(lambda *a: None)
        with pytest.raises(RuntimeError, match=f"^{message}$"):
            m.register_backward_hook(lambda *a: None)
        m = lib.nn.ReLU()
        m.register_backward_hook(lambda *a: None)
        with pytest.raises(RuntimeError, match=f"^{message}$"):
            m.register_full_backward_hook(lambda *a: None)


# ---- state_dict hooks ----
def _state_dict_calls(lib, net) -> list:
    calls = []
    for name, module in net.named_modules():
        module.register_state_dict_pre_hook(
            lambda mod, prefix, keep_vars, n=name: calls.append(("pre", n, prefix, keep_vars)))
        module.register_state_dict_post_hook(
            lambda mod, sd, prefix, meta, n=name: calls.append(("post", n, prefix, len(sd))))
    net.state_dict(keep_vars=True)
    return calls


def _load_calls(lib, net, state: dict) -> list:
    calls = []

    def rename(mod, sd, prefix, meta, strict, missing, unexpected, errors):
        calls.append(("pre", prefix, strict, sorted(k for k in sd if k.startswith(prefix))))
        if prefix + "w" in sd:
            sd[prefix + "weight"] = sd.pop(prefix + "w")

    for name, module in net.named_modules():
        module.register_load_state_dict_pre_hook(rename)
        module.register_load_state_dict_post_hook(
            lambda mod, keys, n=name: calls.append(("post", n, list(keys.missing_keys),
                                                    list(keys.unexpected_keys))))
    net.load_state_dict(state)
    return calls


def test_state_dict_hooks_match_torch() -> None:
    ours, theirs = _pair()
    assert _state_dict_calls(ds, ours) == _state_dict_calls(torch, theirs)
    mine = {k: ds.tensor(v.numpy().copy()) for k, v in theirs.state_dict().items()}
    mine["0.w"], reference = mine.pop("0.weight"), dict(theirs.state_dict())
    reference["0.w"] = reference.pop("0.weight")
    given = dict(mine)
    assert _load_calls(ds, ours, mine) == _load_calls(torch, theirs, reference)
    assert mine == given, "load_state_dict let its pre-hooks change the caller's dict"
    np.testing.assert_array_equal(ours[0].weight.detach().numpy(),
                                  theirs[0].weight.detach().numpy())


def test_state_dict_hooks_must_return_none() -> None:
    for lib, error in ((torch, RuntimeError), (ds, RuntimeError)):
        m = lib.nn.Linear(2, 2)
        m.register_state_dict_post_hook(lambda mod, sd, prefix, meta: {})
        with pytest.raises(error, match="state_dict post-hook must return None"):
            m.state_dict()
    for lib in (torch, ds):
        m = lib.nn.Linear(2, 2)
        m.register_load_state_dict_post_hook(lambda mod, keys: keys)
        with pytest.raises(AssertionError, match="are not expected to return new values"):
            m.load_state_dict(m.state_dict())


# ---- set_submodule, share_memory ----
def test_set_submodule_matches_torch() -> None:
    ours, theirs = _pair()
    ours.set_submodule("1.1", ds.nn.Tanh())
    theirs.set_submodule("1.1", torch.nn.Tanh())
    ours.set_submodule("1.extra", ds.nn.Identity())
    theirs.set_submodule("1.extra", torch.nn.Identity())
    assert repr(ours) == repr(theirs)
    for target, module, strict in (("", "Tanh", False), ("1.1", "notamodule", False),
                                   ("1.missing", "Tanh", True), ("0.weight", "Tanh", False),
                                   ("9.1", "Tanh", False)):
        errors = []
        for net, lib in ((theirs, torch), (ours, ds)):
            value = getattr(lib.nn, module)() if module == "Tanh" else module
            with pytest.raises((ValueError, AttributeError)) as info:
                net.set_submodule(target, value, strict=strict)
            errors.append((info.type, str(info.value).replace("torch.", "").replace(
                "deepseek.", "")))
        assert errors[0][0] is errors[1][0], f"set_submodule({target!r}): {errors}"
        if module == "Tanh":
            assert errors[0][1] == errors[1][1], f"set_submodule({target!r}): {errors}"


def test_share_memory_returns_the_module_unchanged() -> None:
    ours, _ = _pair()
    before = {k: v.numpy().copy() for k, v in ours.state_dict().items()}
    weight = ours[0].weight
    assert ours.share_memory() is ours and ours[0].weight is weight
    for k, v in ours.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k], err_msg=f"share_memory changed {k}")


# ---- compile ----
def test_compile_in_place_runs_the_compiled_call() -> None:
    ours, theirs = _pair()
    ours.eval()
    theirs.eval()
    calls = []
    ours.register_forward_hook(lambda mod, args, out: calls.append(tuple(out.shape)))
    keys = list(ours.state_dict())
    assert ours.compile() is None
    x = np.random.default_rng(0).standard_normal((5, 3)).astype("float32")
    with ds.no_grad():
        outs = [ours(ds.tensor(x)) for _ in range(3)]
    expected = theirs(torch.tensor(x)).detach().numpy()
    for out in outs:
        np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-6,
                                   err_msg="compiled module vs torch (rtol=1e-5, atol=1e-6)")
    assert ours._compiled_call_impl._traces == 1, ds.jit.explain(ours._compiled_call_impl)
    assert calls == [(5, 2)], "the forward hook was not traced into the compiled call once"
    assert list(ours.state_dict()) == keys
    ours(ds.tensor(x)).sum().backward()  # with grad: runs eagerly, gradients still flow
    assert ours[0].weight.grad is not None
    with pytest.raises(RuntimeError, match=r"\[compile\] unknown mode 'fastest'"):
        ds.nn.Linear(2, 2).compile(mode="fastest")


# ---- nn.init and nn.utils ----
@pytest.mark.parametrize("name,shape,kwargs", [("eye", (3, 5), {}),
                                               ("dirac", (4, 2, 3, 3), {"groups": 2})])
def test_deprecated_init_aliases_warn_as_torch(name: str, shape: tuple, kwargs: dict) -> None:
    results = []
    for lib in (torch, ds):
        t = lib.zeros(*shape)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = getattr(lib.nn.init, name)(t, **kwargs)
        results.append((out.numpy().copy(), [(w.category, str(w.message)) for w in caught]))
    np.testing.assert_array_equal(results[1][0], results[0][0], err_msg=f"nn.init.{name}")
    assert results[1][1] == results[0][1], f"nn.init.{name} warnings"


def test_skip_init() -> None:
    ds.manual_seed(0)
    expected = ds.randn(3)
    ds.manual_seed(0)
    m = ds.nn.utils.skip_init(ds.nn.Linear, 5, 1, bias=False, dtype=ds.float64)
    assert ds.randn(3).tolist() == expected.tolist(), "skip_init drew from the random state"
    assert tuple(m.weight.shape) == (1, 5) and m.weight.dtype == ds.float64
    assert isinstance(m.weight, ds.nn.Parameter) and m.bias is None
    bn = ds.nn.utils.skip_init(ds.nn.BatchNorm1d, num_features=3, device="cpu")
    assert str(bn.running_var.device) == "cpu" and tuple(bn.running_var.shape) == (3,)
    for args in ((int, 3), (ds.nn.ReLU,)):
        errors = []
        for lib in (torch, ds):
            target = args[0] if args[0] is int else lib.nn.ReLU
            with pytest.raises(RuntimeError) as info:
                lib.nn.utils.skip_init(target, *args[1:])
            errors.append(str(info.value))
        assert errors[0] == errors[1], f"skip_init{args}: {errors}"


@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grads_with_norm_matches_torch(max_norm: float) -> None:
    rng = np.random.default_rng(1)
    grads = [rng.standard_normal(s).astype("float32") for s in ((3, 4), (5,))]
    results = []
    for lib in (torch, ds):
        params = [lib.zeros(*g.shape, requires_grad=True) for g in grads]
        for p, g in zip(params, grads):
            p.grad = lib.tensor(g.copy())
        total = lib.nn.utils.get_total_norm([p.grad for p in params])
        assert lib.nn.utils.clip_grads_with_norm_(params, max_norm, total) is None
        results.append([p.grad.numpy().copy() for p in params])
    for i, (a, b) in enumerate(zip(results[1], results[0])):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7,
                                   err_msg=f"clip_grads_with_norm_({max_norm}) grad {i}")
    with pytest.raises(TypeError, match="^clip_grads_with_norm_: total_norm must be a Tensor"):
        ds.nn.utils.clip_grads_with_norm_([ds.zeros(2, requires_grad=True)], 1.0, 3.0)


# ---- SyncBatchNorm and DataParallel ----
@pytest.mark.parametrize("shape,kwargs,train", [
    ((6, 3), {}, True), ((4, 3, 5), dict(momentum=None), True), ((2, 3, 4, 4), {}, True),
    ((2, 3, 2, 2, 3), dict(affine=False), True), ((4, 3, 5), {}, False),
    ((6, 3), dict(track_running_stats=False), True)])
def test_sync_batch_norm_matches_torch(shape: tuple, kwargs: dict, train: bool) -> None:
    x = np.random.default_rng(2).standard_normal(shape)

    def call(lib, module, input):
        module(input * 0.5)  # a second batch moves the running statistics further
        return module(input)

    compare_module(lambda lib: lib.nn.SyncBatchNorm(3, **kwargs), (x,), train=train, call=call)


def test_sync_batch_norm_input_errors_match_torch() -> None:
    for shape in ((3,), (4, 0, 2)):
        messages = []
        for lib in (torch, ds):
            with pytest.raises(ValueError) as info:
                lib.nn.SyncBatchNorm(0 if shape[-1] == 2 else 3)(lib.zeros(*shape))
            messages.append(str(info.value))
        assert messages[1].startswith(f"[SyncBatchNorm] {messages[0]}"), messages


def test_convert_sync_batchnorm_matches_torch() -> None:
    ours, theirs = _pair()
    ours[1][0].eval()
    theirs[1][0].eval()
    old = ours[1][0]
    ours = ds.nn.SyncBatchNorm.convert_sync_batchnorm(ours, process_group="group")
    theirs = torch.nn.SyncBatchNorm.convert_sync_batchnorm(theirs)
    assert repr(ours) == repr(theirs)
    new = ours[1][0]
    assert type(new) is ds.nn.SyncBatchNorm and new.process_group == "group"
    assert new.weight is old.weight and new.running_mean is old.running_mean
    assert not new.training and ours.training
    assert list(ours.state_dict()) == list(theirs.state_dict())
    bn = ds.nn.BatchNorm2d(2, affine=False)
    converted = ds.nn.SyncBatchNorm.convert_sync_batchnorm(bn)
    assert converted.weight is None and converted.running_var is bn.running_var


def test_data_parallel_runs_the_module_on_cpu() -> None:
    ours, theirs = _pair()
    wrapped, reference = ds.nn.DataParallel(ours), torch.nn.DataParallel(theirs)
    assert wrapped.module is ours and wrapped.device_ids == reference.device_ids == []
    assert list(wrapped.state_dict()) == list(reference.state_dict())
    assert all(k.startswith("module.") for k in wrapped.state_dict())
    x = np.random.default_rng(4).standard_normal((6, 3)).astype("float32")
    out, expected = wrapped(ds.tensor(x)), reference(torch.tensor(x))
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-5,
                               atol=1e-6, err_msg="DataParallel forward (rtol=1e-5, atol=1e-6)")
    out.sum().backward()
    assert ours[0].weight.grad is not None
    fresh = ds.nn.DataParallel(_net(ds))
    fresh.load_state_dict({k: ds.tensor(v.numpy().copy())
                           for k, v in reference.state_dict().items()})
    assert ds.nn.parallel.DataParallel is ds.nn.DataParallel
    with pytest.raises(TypeError, match=r"^\[DataParallel\] module must be an nn.Module"):
        ds.nn.DataParallel(lambda x: x)
