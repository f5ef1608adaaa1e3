"""torch's module paths and small controls: every ``import torch.x.y`` a script may write has a
``deepseek.x.y`` holding the same objects; nn.attention's kernel switches, torch.compiler's
controls under ds.jit, torch.cpu, and amp's custom_fwd/custom_bwd, each against PyTorch."""

from __future__ import annotations

import importlib
import types
import warnings

import numpy as np
import pytest
import torch

import deepseek as ds


# ---------------------------------------------------------------- module paths
def _torch_submodules(package: types.ModuleType) -> list:
    return sorted(n for n in dir(package) if isinstance(getattr(package, n), types.ModuleType)
                  and getattr(package, n).__name__ == f"{package.__name__}.{n}")


@pytest.mark.parametrize("name", _torch_submodules(torch.distributions))
def test_distribution_module_paths(name):
    ours = importlib.import_module(f"deepseek.distributions.{name}")
    for attr in getattr(torch.distributions, name).__all__:
        assert hasattr(ours, attr), f"deepseek.distributions.{name} lacks {attr}"
        if attr[0].isupper() and hasattr(ds.distributions, attr):
            assert getattr(ours, attr) is getattr(ds.distributions, attr)


@pytest.mark.parametrize("diag", [-3, -1, 0, 2, 3])
def test_tril_vec_helpers_like_torch(diag):
    from torch.distributions import utils as theirs

    from deepseek.distributions import utils as ours

    m = np.random.default_rng(3).standard_normal((2, 4, 4)).astype(np.float32)
    vec = ours.tril_matrix_to_vec(ds.tensor(m, requires_grad=True), diag)
    want = theirs.tril_matrix_to_vec(torch.from_numpy(m), diag)
    np.testing.assert_array_equal(vec.detach().numpy(), want.numpy())
    back = ours.vec_to_tril_matrix(vec, diag)
    np.testing.assert_array_equal(back.detach().numpy(),
                                  theirs.vec_to_tril_matrix(want, diag).numpy())
    back.sum().backward()  # differentiable both ways


def test_tril_vec_helpers_errors():
    from deepseek.distributions.utils import tril_matrix_to_vec, vec_to_tril_matrix

    with pytest.raises(ValueError, match=r"diag \(4\) provided is outside \[-4, 3\]"):
        tril_matrix_to_vec(ds.zeros(4, 4), 4)
    with pytest.raises(ValueError, match="size of last dimension is 5"):
        vec_to_tril_matrix(ds.zeros(5))


def test_paths_hold_the_same_objects():
    from deepseek.ao.quantization import QuantStub, observer
    from deepseek.nn.parallel import DataParallel, DistributedDataParallel
    from deepseek.nn.parallel.distributed import DistributedDataParallel as DDP
    from deepseek.utils.hooks import RemovableHandle

    assert DistributedDataParallel is DDP is ds.nn.parallel.DistributedDataParallel
    assert DataParallel is ds.nn.DataParallel
    assert QuantStub is ds.quantization.QuantStub
    assert observer is ds.quantization.observer
    assert importlib.import_module("deepseek.ao.nn.quantized.dynamic") is \
        ds.quantization.nn.quantized.dynamic
    assert ds.ao.quantization is ds.quantization
    handle = ds.nn.Linear(2, 2).register_forward_hook(lambda *a: None)
    assert isinstance(handle, RemovableHandle)


def test_torch_types_aliases_annotate_as_torch():
    from deepseek.types import Device, FileLike, Number, Size, Tensor
    import torch.types

    assert Tensor is ds.Tensor and Size is ds.Size
    assert Number == torch.types.Number  # int | float | bool
    for alias, theirs in ((Device, torch.types.Device), (FileLike, torch.types.FileLike)):
        names = {getattr(a, "__name__", str(a)) for a in alias.__args__}
        assert names == {getattr(a, "__name__", str(a)) for a in theirs.__args__}


# ---------------------------------------------------------------- nn.attention
def _qkv():
    rng = np.random.default_rng(0)
    return [rng.standard_normal((2, 3, 5, 8)).astype(np.float32) for _ in range(3)]


@pytest.mark.parametrize("backends", [
    "MATH", "FLASH_ATTENTION", "EFFICIENT_ATTENTION", "CUDNN_ATTENTION",
    ("EFFICIENT_ATTENTION", "MATH"), ("CUDNN_ATTENTION", "EFFICIENT_ATTENTION")])
def test_sdpa_kernel_like_torch(backends):
    from deepseek.nn.attention import SDPBackend, sdpa_kernel

    names = [backends] if isinstance(backends, str) else list(backends)
    arrays = _qkv()
    ours, theirs = ([getattr(SDPBackend, n) for n in names],
                    [getattr(torch.nn.attention.SDPBackend, n) for n in names])
    flags = ("math", "flash", "mem_efficient", "cudnn")
    with sdpa_kernel(ours), torch.nn.attention.sdpa_kernel(theirs):
        assert [getattr(ds.backends.cuda, f"{f}_sdp_enabled")() for f in flags] == \
            [getattr(torch.backends.cuda, f"{f}_sdp_enabled")() for f in flags]
        try:
            want = torch.nn.functional.scaled_dot_product_attention(
                *map(torch.from_numpy, arrays), is_causal=True)
        except RuntimeError:
            with pytest.raises(RuntimeError, match="No viable backend"):
                ds.nn.functional.scaled_dot_product_attention(*map(ds.from_numpy, arrays))
        else:
            got = ds.nn.functional.scaled_dot_product_attention(*map(ds.from_numpy, arrays),
                                                                is_causal=True)
            np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-6)
    assert all(getattr(ds.backends.cuda, f"{f}_sdp_enabled")() for f in flags)


def test_sdpa_kernel_refuses_non_backends():
    from deepseek.nn.attention import SDPBackend, sdpa_kernel

    assert [b.name for b in SDPBackend] == list(torch.nn.attention.SDPBackend.__members__)
    assert [int(b) for b in SDPBackend] == [int(b) for b in
                                            torch.nn.attention.SDPBackend.__members__.values()]
    with pytest.raises(TypeError, match="sdpa_kernel.*SDPBackend"):
        with sdpa_kernel("math"):
            pass


# ---------------------------------------------------------------- torch.compiler under ds.jit
def _model_and_step(log: list):
    ds.manual_seed(0)
    model = ds.nn.Linear(4, 3)
    opt = ds.optim.SGD(model.parameters(), lr=0.1)

    @ds.compiler.disable
    def record(loss):
        log.append(loss.item())  # a data-dependent read: fine, it runs eagerly

    def step(x):
        loss = model(x).square().mean()
        loss.backward()
        opt.step()
        opt.zero_grad()
        record(loss)
        return loss

    return model, step


def test_disable_runs_the_signature_eagerly():
    x = ds.from_numpy(np.random.default_rng(1).standard_normal((5, 4)).astype(np.float32))
    eager_log: list = []
    model, step = _model_and_step(eager_log)
    eager = [step(x).item() for _ in range(4)]
    compiled_log: list = []
    model2, step2 = _model_and_step(compiled_log)
    fn = ds.jit(step2)
    got = [fn(x).item() for _ in range(4)]
    assert got == eager and compiled_log == eager_log == eager  # the side effect ran each call
    np.testing.assert_array_equal(model2.weight.detach().numpy(), model.weight.detach().numpy())
    assert "kept out of compiled code by deepseek.compiler.disable" in ds.jit.explain(fn)
    with pytest.raises(RuntimeError, match="no compiled graph.*compiler.disable"):
        _ = fn.code


def test_disable_as_decorator_with_arguments_and_outside_jit():
    @ds.compiler.disable(reason="host logging")
    def f(t):
        return t * 2

    assert f(ds.ones(2)).tolist() == [2.0, 2.0]
    fn = ds.jit(lambda t: f(t) + 1)
    with ds.no_grad():
        assert fn(ds.ones(2)).tolist() == [3.0, 3.0]
    assert "(host logging)" in ds.jit.explain(fn)


def test_is_compiling_and_reset():
    seen: list = []

    def f(t):
        seen.append(ds.compiler.is_compiling())
        return t + 1

    fn = ds.jit(f)
    with ds.no_grad():
        fn(ds.ones(2))
        fn(ds.ones(2))
        assert seen == [True] and not ds.compiler.is_compiling()
        ds.compiler.reset()
        fn(ds.ones(2))
    assert seen == [True, True] and fn._traces == 1
    assert not ds.compiler.is_exporting()
    assert "inductor" in ds.compiler.list_backends() and ds.compiler.compile is ds.compile


def test_onnx_export_refuses_a_disabled_function(tmp_path):
    pytest.importorskip("onnx")

    class M(ds.nn.Module):
        def forward(self, x):
            return ds.compiler.disable(lambda t: t * 2)(x)

    with pytest.raises(RuntimeError, match=r"ds.onnx.export.*compiler.disable"):
        ds.onnx.export(M(), (ds.ones(2),), str(tmp_path / "m.onnx"))


# ---------------------------------------------------------------- torch.cpu
def test_cpu_module_like_torch():
    for name in ("is_available", "is_initialized", "device_count", "current_device"):
        assert getattr(ds.cpu, name)() == getattr(torch.cpu, name)(), name
    ds.cpu.set_device("cpu")
    ds.cpu.set_device(0)
    with pytest.raises(ValueError, match="cpu.set_device"):
        ds.cpu.set_device("cuda")
    s = ds.cpu.Stream()
    with ds.cpu.stream(s):
        assert ds.cpu.current_stream() is s
    assert ds.cpu.current_stream() is not s
    assert s.record_event().query() and ds.cpu.synchronize() is None


def test_cpu_amp_spellings_warn_and_cast():
    with pytest.warns(FutureWarning, match=r"deepseek.cpu.amp.autocast.*deprecated"):
        region = ds.cpu.amp.autocast()
    with region:
        out = ds.nn.functional.linear(ds.ones(2, 3), ds.ones(4, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        with torch.cpu.amp.autocast():
            want = torch.nn.functional.linear(torch.ones(2, 3), torch.ones(4, 3))
    assert out.dtype.name == str(want.dtype).split(".")[1] == "bfloat16"
    with pytest.warns(FutureWarning, match="deepseek.cpu.amp.GradScaler"):
        scaler = ds.cpu.amp.GradScaler(init_scale=8.0)
    assert scaler.get_scale() == 8.0


# ---------------------------------------------------------------- amp.custom_fwd / custom_bwd
def _function(lib, cast_inputs):
    amp = lib.amp

    class Scale(lib.autograd.Function):
        @staticmethod
        @amp.custom_fwd(device_type="cpu", cast_inputs=cast_inputs)
        def forward(ctx, x, w):
            ctx.save_for_backward(x, w)
            return lib.mm(x, w)

        @staticmethod
        @amp.custom_bwd(device_type="cpu")
        def backward(ctx, g):
            x, w = ctx.saved_tensors
            return lib.mm(g, w.t()), lib.mm(x.t(), g)

    return Scale


@pytest.mark.parametrize("cast", [None, "float32"])
@pytest.mark.parametrize("autocast", [False, True])
def test_custom_fwd_bwd_like_torch(cast, autocast):
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((3, 4)).astype(np.float32), rng.standard_normal((4, 2)).astype(
        np.float32)
    results = []
    for lib in (ds, torch):
        x, w = (lib.tensor(v, requires_grad=True) for v in (a, b))
        fn = _function(lib, None if cast is None else getattr(lib, cast))
        with lib.autocast("cpu", enabled=autocast):
            out = fn.apply(x, w)
        out.float().sum().backward()
        results.append((str(out.dtype).split(".")[-1], out.float().detach().numpy(),
                        x.grad.dtype, w.grad.float().numpy()))
    (d1, o1, gx1, gw1), (d2, o2, gx2, gw2) = results
    assert d1 == d2 and str(gx1).split(".")[-1] == str(gx2).split(".")[-1]
    np.testing.assert_allclose(o1, o2, rtol=1e-2, atol=1e-2)
    np.testing.assert_allclose(gw1, gw2, rtol=1e-2, atol=1e-2)


def test_custom_fwd_needs_a_device_type():
    with pytest.raises(TypeError):
        ds.amp.custom_fwd(lambda ctx, x: x)
    with pytest.raises(RuntimeError, match="unsupported autocast device_type 'tpu'"):
        ds.amp.custom_fwd(device_type="tpu")(lambda ctx, x: x)
