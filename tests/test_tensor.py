"""The Tensor object against PyTorch: NumPy/DLPack interop, Python protocols, devices and
conversions, and ``repr`` character for character."""

from __future__ import annotations

import copy

import ml_dtypes
import numpy as np
import pytest
import torch

import deepseek as ds

RNG = np.random.default_rng(0)


# ---------------------------------------------------------------- NumPy and DLPack
def test_numpy_shares_memory():
    t = ds.zeros(3)
    a = t.numpy()
    a[0] = 4
    assert t[0].item() == 4
    t.add_(1)
    assert a[1] == 1


def test_numpy_refuses_requires_grad_with_torchs_message():
    with pytest.raises(RuntimeError) as got:
        ds.ones(2, requires_grad=True).numpy()
    with pytest.raises(RuntimeError) as want:
        torch.ones(2, requires_grad=True).numpy()
    assert str(got.value) == str(want.value)
    assert ds.ones(2, requires_grad=True).numpy(force=True).shape == (2,)


def test_array_protocol():
    t = ds.arange(6).reshape(2, 3)
    a = np.asarray(t)
    assert a.dtype == np.int64 and a.shape == (2, 3)
    assert np.asarray(t, dtype=np.float32).dtype == np.float32
    np.testing.assert_array_equal(np.array(t), np.arange(6).reshape(2, 3))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.int8, np.bool_])
def test_dlpack_round_trips(dtype):
    a = (RNG.standard_normal((2, 3)) * 3).astype(dtype)
    t = ds.from_numpy(a.copy())
    back = np.from_dlpack(t)
    np.testing.assert_array_equal(back, a)
    assert np.shares_memory(back, t.numpy())
    tt = torch.from_dlpack(t)
    np.testing.assert_array_equal(tt.numpy(), a)
    d2 = ds.from_dlpack(tt)
    assert d2.dtype == t.dtype
    np.testing.assert_array_equal(d2.numpy(), a)
    d3 = ds.from_dlpack(np.ascontiguousarray(a))
    np.testing.assert_array_equal(d3.numpy(), a)


def test_from_dlpack_shares_memory_with_torch():
    tt = torch.zeros(3)
    d = ds.from_dlpack(tt)
    tt[0] = 5
    assert d[0].item() == 5


# ---------------------------------------------------------------- Python protocols
def test_tolist_item_len_iter_bool():
    t = ds.tensor([[1.5, 2.0], [3.0, 4.0]])
    assert t.tolist() == torch.tensor([[1.5, 2.0], [3.0, 4.0]]).tolist()
    assert ds.tensor(2.5).item() == 2.5 and isinstance(ds.tensor(3).item(), int)
    assert ds.tensor([True]).item() is True
    assert ds.tensor([1.5], dtype=ds.bfloat16).tolist() == [1.5]
    assert len(t) == 2
    rows = list(t)
    assert len(rows) == 2 and rows[1].tolist() == [3.0, 4.0]
    assert bool(ds.tensor([1])) and not bool(ds.tensor(0.0))
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(t)
    with pytest.raises(RuntimeError, match="cannot be converted to Scalar"):
        t.item()
    with pytest.raises(TypeError, match="len"):
        len(ds.tensor(1.0))
    with pytest.raises(TypeError, match="iteration over a 0-d tensor"):
        iter(ds.tensor(1.0))
    assert float(ds.tensor(2)) == 2.0 and int(ds.tensor(2.7)) == 2
    assert [10, 20, 30][ds.tensor(1)] == 20
    with pytest.raises(TypeError):
        [1, 2][ds.tensor(1.0)]
    assert f"{ds.tensor(1.23456):.2f}" == "1.23"


def test_metadata():
    t = ds.zeros(2, 3, 4)
    assert t.shape == (2, 3, 4) and t.size() == (2, 3, 4) and t.size(-1) == 4
    assert isinstance(t.shape, ds.Size) and t.shape.numel() == 24 and t.shape[1:] == (3, 4)
    assert repr(t.shape) == "deepseek.Size([2, 3, 4])"
    assert t.ndim == t.dim() == 3 and t.numel() == 24 and t.element_size() == 4
    assert t.stride() == torch.zeros(2, 3, 4).stride()
    p = t.permute(2, 0, 1)
    assert p.stride() == torch.zeros(2, 3, 4).permute(2, 0, 1).stride()
    assert not p.is_contiguous() and p.contiguous().is_contiguous()
    with pytest.raises(IndexError):
        t.size(3)


def test_deepcopy():
    x = ds.tensor([1.0, 2.0], requires_grad=True)
    y = copy.deepcopy(x)
    assert y.requires_grad and y.tolist() == [1.0, 2.0]
    y.detach().zero_()
    assert x.tolist() == [1.0, 2.0]
    with pytest.raises(RuntimeError, match="graph leaves"):
        copy.deepcopy(x * 2)


# ---------------------------------------------------------------- devices and conversions
def test_devices():
    d = ds.device("cpu")
    assert d.type == "cpu" and d.index is None and repr(d) == repr(torch.device("cpu"))
    assert str(ds.device("cuda:1")) == "cuda:1" and ds.device("cuda", 0).index == 0
    assert repr(ds.device("cuda:1")) == repr(torch.device("cuda:1"))
    assert d == "cpu" and ds.device(d) is d
    with pytest.raises(RuntimeError):
        ds.device("tpu")
    t = ds.ones(2)
    assert t.device == d and t.is_cpu and not t.is_cuda
    assert t.to("cpu") is t and t.cpu() is t and t.to(d) is t
    with pytest.raises(RuntimeError):
        ds.ones(2, device="cuda")


@pytest.mark.parametrize("method", ["float", "double", "half", "bfloat16", "long", "int",
                                    "short", "char", "byte", "bool"])
def test_cast_methods(method):
    a = np.array([0.0, 1.7, -2.2, 3.0], dtype=np.float32)
    if method in ("byte",):
        a = np.abs(a)
    got = getattr(ds.from_numpy(a.copy()), method)()
    want = getattr(torch.from_numpy(a.copy()), method)()
    assert got.dtype.name == str(want.dtype).replace("torch.", "")
    np.testing.assert_array_equal(got.float().numpy(), want.float().numpy())
    assert got.type() == want.type()


def test_to_and_type_variants():
    t = ds.ones(2)
    assert t.to(ds.float64).dtype == ds.float64
    assert t.to("cpu", ds.int32).dtype == ds.int32
    assert t.to(dtype=ds.float16).dtype == ds.float16
    assert t.to(ds.zeros(1, dtype=ds.int8)).dtype == ds.int8
    assert t.to(ds.float32) is t and t.to(ds.float32, copy=True) is not t
    assert t.type(ds.float64).dtype == ds.float64
    assert t.type("torch.DoubleTensor").dtype == ds.float64
    assert t.type(ds.LongTensor).dtype == ds.int64  # a legacy type, as torch.LongTensor
    assert t.type_as(ds.zeros(1, dtype=ds.int16)).dtype == ds.int16
    x = ds.ones(2, requires_grad=True)
    x.double().sum().backward()  # the cast is differentiable and casts back
    assert x.grad.dtype == ds.float32


# ---------------------------------------------------------------- repr
def _cases():
    rng = np.random.default_rng(1)
    return [
        np.array(1.5, np.float32), np.array(3), np.array(True), np.array([1.0, 2.0], np.float32),
        np.array([1.5, -2.25, 1e-5], np.float32), rng.standard_normal((3, 4)).astype(np.float32),
        rng.standard_normal((2, 3, 4)), np.array([True, False, True]),
        np.arange(12, dtype=np.int32).reshape(3, 4), np.array([1e10, 1.0]),
        np.array([np.nan, np.inf, -np.inf, 1.0], np.float32), np.array([0.0, -0.0]),
        rng.standard_normal(2000).astype(np.float32), rng.standard_normal((40, 40)).astype(
            np.float32), np.zeros((0,), np.float32), np.zeros((2, 0), np.int64),
        np.zeros((0,), np.int64), rng.standard_normal(30).astype(np.float16),
        (rng.standard_normal((2, 2)) * 1e-6).astype(np.float32), np.array([100000.0, 1.0]),
        np.array([1, -100, 5000], np.int16), rng.standard_normal((3, 2, 2, 2)),
        rng.integers(0, 1000, 50), np.array(np.nan, np.float32),
        np.arange(30.0).reshape(5, 6) * 1.5, np.array([123456.789, 0.5]),
        rng.standard_normal((4, 300)).astype(np.float32), np.array([255, 0], np.uint8),
    ]


@pytest.mark.parametrize("index", range(len(_cases())))
def test_repr_matches_torch(index):
    a = _cases()[index]
    want = repr(torch.from_numpy(a.copy())).replace("torch.", "deepseek.")
    assert repr(ds.from_numpy(a.copy())) == want
    assert str(ds.from_numpy(a.copy())) == want


def test_repr_bfloat16_and_autograd_suffixes():
    a = np.array([1.5, -0.25, 3.0], np.float32)
    got = repr(ds.from_numpy(a).to(ds.bfloat16))
    assert got == repr(torch.from_numpy(a).to(torch.bfloat16)).replace("torch.", "deepseek.")
    assert ds.from_numpy(a).to(ds.bfloat16).numpy().dtype == ml_dtypes.bfloat16
    x, xt = ds.tensor([1.5, 2.0], requires_grad=True), torch.tensor([1.5, 2.0], requires_grad=True)
    for got, want in [(x, xt), (x * 2, xt * 2), (x.sum(), xt.sum()), (x.exp(), xt.exp()),
                      (x.double(), xt.double())]:
        assert repr(got) == repr(want).replace("torch.", "deepseek.")


def test_printoptions():
    try:
        ds.set_printoptions(precision=2)
        torch.set_printoptions(precision=2)
        a = np.array([1.23456, 2.5])
        assert repr(ds.from_numpy(a)) == repr(torch.from_numpy(a)).replace("torch.", "deepseek.")
    finally:
        ds.set_printoptions(profile="default")
        torch.set_printoptions(profile="default")
