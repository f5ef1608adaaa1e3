"""torch's process-level API beside the ops: deepseek.cuda and deepseek.backends without a GPU,
the top-level switches, finfo/iinfo, thread counts, deepseek.testing, and the Tensor methods
that only report or refuse (devices, pinning), each against torch's behaviour."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.testing

import deepseek as ds
import deepseek.backends.cudnn as cudnn
import deepseek.testing


def test_cuda_without_a_device_answers_like_torch():
    assert ds.cuda.is_available() is torch.cuda.is_available() is False
    assert ds.cuda.device_count() == torch.cuda.device_count() == 0
    assert ds.cuda.is_initialized() is False and ds.cuda.is_bf16_supported() is False
    for fn in (ds.cuda.manual_seed, ds.cuda.manual_seed_all):
        assert fn(0) is None
    ds.cuda.seed(), ds.cuda.seed_all(), ds.cuda.empty_cache(), ds.cuda.reset_peak_memory_stats()
    for name in ("memory_allocated", "max_memory_allocated", "memory_reserved",
                 "max_memory_reserved"):
        assert getattr(ds.cuda, name)() == getattr(torch.cuda, name)() == 0
    assert ds.cuda.memory_stats() == {} and "no CUDA" in ds.cuda.memory_summary()
    for name, args in (("synchronize", ()), ("current_device", ()), ("set_device", (0,)),
                       ("get_device_name", ()), ("get_device_properties", (0,)),
                       ("get_device_capability", ()), ("mem_get_info", ()),
                       ("get_rng_state", ()), ("init", ())):
        with pytest.raises(RuntimeError, match=rf"\[cuda\.{name}\] CUDA is not available"):
            getattr(ds.cuda, name)(*args)


def test_the_usual_device_idiom_picks_the_cpu():
    dev = ds.device("cuda" if ds.cuda.is_available() else "cpu")
    assert ds.ones(2, device=dev).device == ds.device("cpu")
    for dev in ((), (1,), ("cuda:0",)):
        with pytest.raises(RuntimeError, match="CUDA backend is not available"):
            ds.ones(2).cuda(*dev)


@pytest.mark.filterwarnings("ignore:.*CUDA is not available:UserWarning")
def test_cuda_amp_spellings_warn_and_disable():
    with pytest.warns(FutureWarning, match="deepseek.amp.GradScaler"):
        scaler = ds.cuda.amp.GradScaler()
    assert isinstance(scaler, ds.amp.GradScaler) and not scaler.is_enabled()
    with pytest.warns(FutureWarning, match="deepseek.amp.autocast"):
        region = ds.cuda.amp.autocast()
    with region:
        assert not ds.is_autocast_enabled("cuda")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with ds.cuda.amp.autocast(enabled=False):
            pass


def test_backends_flags_are_kept():
    assert cudnn.is_available() is torch.backends.cudnn.is_available() is False
    assert (cudnn.enabled, cudnn.benchmark, cudnn.deterministic) == (
        torch.backends.cudnn.enabled, torch.backends.cudnn.benchmark,
        torch.backends.cudnn.deterministic)
    cudnn.benchmark = True
    assert ds.backends.cudnn.benchmark is True
    cudnn.benchmark = False
    assert ds.backends.cuda.matmul.allow_tf32 is torch.backends.cuda.matmul.allow_tf32
    ds.backends.cuda.matmul.allow_tf32 = True
    ds.backends.cuda.matmul.allow_tf32 = False
    assert ds.backends.mps.is_available() is ds.backends.mps.is_built() is False
    assert ds.backends.cuda.is_built() is torch.backends.cuda.is_built()
    ds.backends.cuda.enable_flash_sdp(False)
    assert not ds.backends.cuda.flash_sdp_enabled()
    ds.backends.cuda.enable_flash_sdp(True)
    assert ds.backends.cpu.get_cpu_capability() == torch.backends.cpu.get_cpu_capability()


def test_top_level_switches():
    assert ds.get_float32_matmul_precision() == torch.get_float32_matmul_precision()
    ds.set_float32_matmul_precision("high")
    assert ds.get_float32_matmul_precision() == "high"
    ds.set_float32_matmul_precision("highest")
    with pytest.raises(RuntimeError, match="set_float32_matmul_precision"):
        ds.set_float32_matmul_precision("fast")
    assert ds.are_deterministic_algorithms_enabled() is False
    ds.use_deterministic_algorithms(True, warn_only=True)
    assert ds.are_deterministic_algorithms_enabled()
    assert ds.is_deterministic_algorithms_warn_only_enabled()
    ds.use_deterministic_algorithms(False)
    assert ds.get_default_device() == ds.device("cpu")
    ds.set_default_device("cpu")
    with pytest.raises(RuntimeError, match=r"\[set_default_device\].*cuda"):
        ds.set_default_device("cuda")


def test_thread_count_round_trips():
    before = ds.get_num_threads()
    assert before == torch.get_num_threads()
    try:
        ds.set_num_threads(1)
        assert ds.get_num_threads() == 1
        a = ds.randn(4, 64, 64)
        np.testing.assert_allclose((a @ a).numpy(), a.numpy() @ a.numpy(), rtol=1e-5, atol=1e-5)
    finally:
        ds.set_num_threads(before)
    assert ds.get_num_threads() == before
    for bad in (0, -1, 1.5, True):
        with pytest.raises(RuntimeError, match="set_num_threads"):
            ds.set_num_threads(bad)


@pytest.mark.parametrize("name", ["float16", "bfloat16", "float32", "float64"])
def test_finfo_matches_torch(name):
    got, want = ds.finfo(getattr(ds, name)), torch.finfo(getattr(torch, name))
    for field in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution", "dtype"):
        assert getattr(got, field) == getattr(want, field), field
    assert repr(got) == repr(want)


@pytest.mark.parametrize("name", ["uint8", "int8", "int16", "int32", "int64"])
def test_iinfo_matches_torch(name):
    got, want = ds.iinfo(getattr(ds, name)), torch.iinfo(getattr(torch, name))
    assert (got.bits, got.min, got.max, got.dtype) == (want.bits, want.min, want.max, want.dtype)
    assert repr(got) == repr(want)


def test_finfo_defaults_and_refusals():
    assert ds.finfo().dtype == "float32"
    with pytest.raises(TypeError, match="iinfo"):
        ds.finfo(ds.int32)
    with pytest.raises(TypeError, match="finfo"):
        ds.iinfo(ds.float32)


def _cases(lib):
    nan, inf = float("nan"), float("inf")
    return [
        (lib.tensor([1.0, 2, 3]), lib.tensor([1.0, 2.5, 3]), {}),
        (lib.tensor([1.0, 2, 3]), lib.tensor([1.0, 2.0 + 1e-6, 3]), {}),
        (1.0, 1.5, {}), (1, 1.0, {}), (lib.tensor(1.0), lib.tensor(2.0), {}),
        (lib.ones(2), lib.ones(3), {}), (lib.ones(2), lib.ones(2, dtype=lib.float64), {}),
        (lib.ones(2), lib.ones(2, dtype=lib.float64), {"check_dtype": False}),
        ([lib.ones(2), lib.ones(2)], [lib.ones(2), lib.zeros(2)], {}),
        ({"a": lib.ones(2)}, {"a": lib.zeros(2)}, {}), ([1, 2], [1, 2, 3], {}),
        (lib.tensor([1, 2]), lib.tensor([1, 3]), {}),
        (lib.tensor([1, 2], dtype=lib.uint8), lib.tensor([1, 3], dtype=lib.uint8), {}),
        (lib.tensor(True), lib.tensor(False), {}),
        (lib.tensor([nan]), lib.tensor([nan]), {}),
        (lib.tensor([1.0, nan]), lib.tensor([1.0, nan]), {"equal_nan": True}),
        (lib.tensor([1.0, inf]), lib.tensor([1.0, inf]), {}),
        (lib.tensor([1.0, inf]), lib.tensor([1.0, -inf]), {}),
        (lib.tensor([1.0, 2]), lib.tensor([1.0, 3]), {"atol": 0, "rtol": 0}),
        (lib.tensor([1.0, 2]), lib.tensor([1.0, 2.01]), {"atol": 0.1, "rtol": 0}),
        (lib.tensor([1.0, 2]).half(), lib.tensor([1.0, 2.01]).half(), {}),
        (lib.tensor([1.0, 2]).bfloat16(), lib.tensor([1.0, 2.1]).bfloat16(), {}),
        (np.ones(2), np.zeros(2), {}), (lib.ones(2, 3)[:, 1], lib.ones(2), {}),
        (lib.ones(2, 2), lib.tensor([[1.0, 1], [1, 2]]), {"msg": "custom"}),
        (lib.ones(2, 2), lib.tensor([[1.0, 1], [1, 2]]), {"msg": lambda m: "X" + m[:12]}),
        (lib.ones(2), lib.ones(2), {"rtol": 1e-3}),
    ]


@pytest.mark.parametrize("case", range(len(_cases(torch))))
def test_assert_close_matches_torch(case):
    def outcome(lib, assert_close):
        actual, expected, kwargs = _cases(lib)[case]
        try:
            assert_close(actual, expected, **kwargs)
        except (AssertionError, ValueError, TypeError) as e:
            return type(e), str(e).replace("torch.", "").replace("deepseek.", "")
        return None

    assert outcome(ds, deepseek.testing.assert_close) == outcome(torch, torch.testing.assert_close)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "uint8", "bool"])
def test_make_tensor(dtype):
    ds.manual_seed(0)
    t = deepseek.testing.make_tensor(3, 4, dtype=getattr(ds, dtype), low=-2, high=3)
    assert t.shape == (3, 4) and t.dtype == getattr(ds, dtype)
    values = t.numpy().astype(np.float64)
    if dtype != "bool":
        assert values.min() >= (0 if dtype == "uint8" else -2) and values.max() < 3
    nc = deepseek.testing.make_tensor((2, 5), dtype=getattr(ds, dtype), noncontiguous=True)
    assert not nc.is_contiguous() and nc.shape == (2, 5)
    z = deepseek.testing.make_tensor(50, dtype=getattr(ds, dtype), exclude_zero=True)
    assert (z.numpy() != 0).all()
    g = deepseek.testing.make_tensor(2, dtype=ds.float32, requires_grad=True)
    assert g.requires_grad and g.is_leaf


def test_reporting_methods_match_torch():
    for lib in (ds, torch):
        x = lib.ones(2, 3)
        assert (x.get_device(), x.is_pinned(), x.is_signed(), x.is_same_size(lib.ones(2, 3)),
                x.is_same_size(lib.ones(3, 2))) == (-1, False, True, True, False)
        assert x.bool().is_signed() is False and x.byte().is_signed() is False
        assert x.mH.shape == x.adjoint().shape == (3, 2) and x.H.shape == (3, 2)
    with pytest.raises(RuntimeError, match=r"\[pin_memory\].*accelerator"):
        ds.ones(2).pin_memory()


@pytest.mark.parametrize("fill, check", [
    ("geometric_", lambda v: ((v >= 1) & (v == np.round(v))).all()
     and abs(v.mean() - 1 / 0.3) < 0.2),
    ("cauchy_", lambda v: abs(np.median(v) - 1.0) < 0.1),
    ("log_normal_", lambda v: (v > 0).all() and abs(np.log(v).mean() - 0.5) < 0.05),
])
def test_random_fills(fill, check):
    args = {"geometric_": (0.3,), "cauchy_": (1.0, 0.5), "log_normal_": (0.5, 0.8)}[fill]
    ds.manual_seed(3)
    a = getattr(ds.empty(20000), fill)(*args)
    ds.manual_seed(3)
    b = getattr(ds.empty(20000), fill)(*args)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert a.dtype == ds.float32 and check(a.numpy().astype(np.float64))
    assert getattr(torch.empty(3), fill)(*args).dtype == torch.float32
