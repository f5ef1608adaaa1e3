"""The small torch.* names: constants, memory formats and layouts, float8 dtypes and the
front doors composed from existing ops, each checked against PyTorch."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

import deepseek as ds

FLOAT8 = ("float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz")


def _same(got: ds.Tensor, want: torch.Tensor, what: str) -> None:
    assert tuple(got.shape) == tuple(want.shape), f"{what}: shape {got.shape} vs {want.shape}"
    assert got.dtype.name == str(want.dtype).split(".")[1], f"{what}: dtype {got.dtype}"
    np.testing.assert_array_equal(got.numpy(), want.numpy(), err_msg=what)


# ---------------------------------------------------------------- constants
def test_constants():
    for name in ("pi", "e", "inf", "nan", "newaxis"):
        a, b = getattr(ds, name), getattr(torch, name)
        assert a is b or a == b or (math.isnan(a) and math.isnan(b)), name
    x = ds.arange(3)
    assert x[ds.newaxis].shape == (1, 3)


# ---------------------------------------------------------------- memory formats and layouts
def test_format_objects():
    for name in ("contiguous_format", "channels_last", "channels_last_3d", "preserve_format"):
        assert isinstance(getattr(ds, name), ds.memory_format)
        assert repr(getattr(ds, name)) == f"deepseek.{name}"
    assert isinstance(ds.strided, ds.layout) and repr(ds.strided) == "deepseek.strided"
    assert ds.zeros(2).layout is ds.strided
    assert ds.channels_last != ds.contiguous_format


@pytest.mark.parametrize("shape, fmt", [((2, 3, 4, 5), "channels_last"),
                                        ((2, 1, 4, 5), "channels_last"),
                                        ((2, 3, 1, 1), "channels_last"),
                                        ((2, 3, 4, 5, 6), "channels_last_3d")])
def test_contiguous_channels_last_strides(shape, fmt):
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    t, d = torch.from_numpy(x), ds.tensor(x)
    tf, df = getattr(torch, fmt), getattr(ds, fmt)
    want, got = t.contiguous(memory_format=tf), d.contiguous(memory_format=df)
    assert got.stride() == want.stride(), f"contiguous({fmt}) strides of {shape}"
    _same(got, want, f"contiguous({fmt})")
    for probe in (torch.contiguous_format, tf):
        name = str(probe).split(".")[1]
        assert got.is_contiguous(memory_format=getattr(ds, name)) == want.is_contiguous(
            memory_format=probe), f"is_contiguous({name}) of a {fmt} tensor {shape}"
        assert d.is_contiguous(memory_format=getattr(ds, name)) == t.is_contiguous(
            memory_format=probe), f"is_contiguous({name}) of a contiguous tensor {shape}"
    assert got.contiguous(memory_format=df) is got
    back = got.contiguous()
    assert back.is_contiguous() and back.stride() == t.stride()
    moved = d.to(memory_format=df)
    assert moved.stride() == t.to(memory_format=tf).stride()


def test_contiguous_channels_last_gradient():
    x = ds.randn(2, 3, 4, 5, requires_grad=True)
    (x.contiguous(memory_format=ds.channels_last) * ds.arange(5.0)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.broadcast_to(np.arange(5.0), (2, 3, 4, 5)))


def test_memory_format_rank_errors():
    for fn in (lambda m, f: m.randn(2, 3, 4).contiguous(memory_format=f.channels_last),
               lambda m, f: m.randn(2, 3, 4, 5).contiguous(memory_format=f.channels_last_3d),
               lambda m, f: m.empty(2, 3, memory_format=f.channels_last),
               lambda m, f: m.randn(2, 3).to(memory_format=f.channels_last)):
        with pytest.raises(RuntimeError) as want:
            fn(torch, torch)
        with pytest.raises(RuntimeError) as got:
            fn(ds, ds)
        assert str(want.value) in str(got.value)


def test_empty_memory_format():
    for shape, fmt in (((1, 2, 3, 4), "channels_last"), ((2, 3, 4, 5, 6), "channels_last_3d"),
                       ((2, 3), "contiguous_format")):
        got = ds.empty(*shape, memory_format=getattr(ds, fmt))
        want = torch.empty(*shape, memory_format=getattr(torch, fmt))
        assert got.shape == want.shape and got.stride() == want.stride(), fmt


@pytest.mark.parametrize("make", [
    lambda m, x: x, lambda m, x: x.permute(0, 2, 3, 1), lambda m, x: x[:, :, ::2],
    lambda m, x: x.transpose(1, 3),
    lambda m, x: x.contiguous(memory_format=m.channels_last),
    lambda m, x: x.contiguous(memory_format=m.channels_last)[:, :, ::2]])
@pytest.mark.parametrize("like", ["empty_like", "zeros_like", "ones_like", "full_like"])
def test_like_preserves_format(make, like):
    x = np.random.default_rng(1).standard_normal((2, 3, 4, 5)).astype(np.float32)
    t, d = make(torch, torch.from_numpy(x)), make(ds, ds.tensor(x))
    extra = (2.5,) if like == "full_like" else ()
    want, got = getattr(torch, like)(t, *extra), getattr(ds, like)(d, *extra)
    assert got.stride() == want.stride(), f"{like} of strides {t.stride()}"
    if like != "empty_like":
        _same(got, want, like)
    for fmt in ("contiguous_format", "channels_last"):
        w = getattr(torch, like)(t, *extra, memory_format=getattr(torch, fmt))
        g = getattr(ds, like)(d, *extra, memory_format=getattr(ds, fmt))
        assert g.stride() == w.stride(), f"{like}(memory_format={fmt})"


def test_elementwise_keeps_channels_last():
    x = ds.randn(2, 3, 4, 5).contiguous(memory_format=ds.channels_last)
    assert (x * 2 + 1).is_contiguous(memory_format=ds.channels_last)


# ---------------------------------------------------------------- float8
def test_float8_dtypes_and_finfo():
    for name in FLOAT8:
        d, t = getattr(ds, name), getattr(torch, name)
        assert repr(d) == f"deepseek.{name}" and d.itemsize == 1
        assert d.is_floating_point and not d.is_complex and d.is_signed
        fd, ft = ds.finfo(d), torch.finfo(t)
        for attr in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution"):
            assert getattr(fd, attr) == getattr(ft, attr), f"finfo({name}).{attr}"
        assert ds.promote_types(d, d) is d


def _probe_values() -> np.ndarray:
    rng = np.random.default_rng(0)
    bits = rng.integers(0, 2 ** 32, 200_000, dtype=np.uint64).astype(np.uint32)
    special = [0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan, 448, 464, 464.1, 480, 500, 240,
               57344, 61439, 61440, 1e-9, 2 ** -9, 2 ** -10, 3 * 2 ** -11, 1e38]
    return np.concatenate([bits.view(np.float32),
                           (rng.standard_normal(50_000) * 300).astype(np.float32),
                           np.array(special + [-v for v in special], np.float32)])


@pytest.mark.parametrize("name", FLOAT8)
def test_float8_cast_bits_match_torch(name):
    x = _probe_values()
    want = torch.from_numpy(x).to(getattr(torch, name))
    got = ds.tensor(x).to(getattr(ds, name))
    assert got.dtype is getattr(ds, name)
    np.testing.assert_array_equal(got.numpy().view(np.uint8), want.view(torch.uint8).numpy(),
                                  err_msg=f"float32 -> {name} bit patterns")
    np.testing.assert_array_equal(got.float().numpy(), want.float().numpy(),
                                  err_msg=f"{name} -> float32")
    with np.errstate(all="ignore"):
        x64 = x.astype(np.float64) * 1.0000001
    np.testing.assert_array_equal(
        ds.tensor(x64).to(getattr(ds, name)).numpy().view(np.uint8),
        torch.from_numpy(x64).to(getattr(torch, name)).view(torch.uint8).numpy(),
        err_msg=f"float64 -> {name}")
    for other in FLOAT8:  # float8 to float8, through float32
        np.testing.assert_array_equal(
            got.to(getattr(ds, other)).numpy().view(np.uint8),
            want.to(getattr(torch, other)).view(torch.uint8).numpy(), err_msg=f"{name}->{other}")


def test_float8_creation_and_printing():
    f = ds.float8_e4m3fn
    _same(ds.zeros(2, dtype=f).float(), torch.zeros(2, dtype=torch.float8_e4m3fn).float(), "zeros")
    _same(ds.ones(3, dtype=f).float(), torch.ones(3, dtype=torch.float8_e4m3fn).float(), "ones")
    data = [1.0, 2.7, 500.0, -1e9, float("inf")]
    want = torch.tensor(data, dtype=torch.float8_e4m3fn)
    np.testing.assert_array_equal(ds.tensor(data, dtype=f).numpy().view(np.uint8),
                                  want.view(torch.uint8).numpy())
    np.testing.assert_array_equal(ds.full((2,), 2.7, dtype=f).float().numpy(),
                                  torch.full((2,), 2.7, dtype=torch.float8_e4m3fn).float().numpy())
    assert ds.empty(2, dtype=f).dtype is f and ds.zeros_like(ds.zeros(2), dtype=f).dtype is f
    x = ds.tensor([1.5, -0.25, 448.0]).to(f)
    assert repr(x) == repr(torch.tensor([1.5, -0.25, 448.0]).to(torch.float8_e4m3fn)).replace(
        "torch.", "deepseek.")
    assert x.tolist() == [1.5, -0.25, 448.0] and x[0].item() == 1.5
    dst = ds.zeros(2, dtype=f)
    dst.copy_(ds.tensor([500.0, 3.3]))
    np.testing.assert_array_equal(dst.float().numpy(), torch.zeros(2, dtype=torch.float8_e4m3fn)
                                  .copy_(torch.tensor([500.0, 3.3])).float().numpy())


def test_float8_promotion_refused():
    f = ds.float8_e4m3fn
    for a, b in ((f, ds.float32), (ds.float32, f), (f, ds.bool), (ds.int64, ds.float8_e5m2),
                 (f, ds.float8_e5m2)):
        with pytest.raises(RuntimeError) as want:
            torch.promote_types(getattr(torch, a.name), getattr(torch, b.name))
        with pytest.raises(RuntimeError) as got:
            ds.promote_types(a, b)
        assert str(got.value) == str(want.value)
    with pytest.raises(RuntimeError, match="Promotion for Float8 Types is not supported"):
        ds.zeros(2) + ds.zeros(2, dtype=f)


def test_float8_arithmetic_refused_like_torch():
    a, t = ds.zeros(2, dtype=ds.float8_e4m3fn), torch.zeros(2, dtype=torch.float8_e4m3fn)
    for fn in (lambda x: x + x, lambda x: x * 2, lambda x: x.exp(), lambda x: x.sum(),
               lambda x: x @ x):
        with pytest.raises(NotImplementedError):
            fn(t)
        with pytest.raises(NotImplementedError, match="Float8_e4m3fn"):
            fn(a)
    _same(a == 0.0, t == 0.0, "float8 ==")
    _same(ds.cat([a, a]).float(), torch.cat([t, t]).float(), "float8 cat")
    assert ds.can_cast(ds.float8_e4m3fn, ds.float32) == torch.can_cast(t.dtype, torch.float32)


# ---------------------------------------------------------------- small front doors
def test_range():
    for args, kw in (((0, 5), {}), ((0, 1, 0.25), {}), ((1, 4), {"dtype": "int64"}),
                     ((5, 1, -1.5), {})):
        tk = {k: getattr(torch, v) for k, v in kw.items()}
        dk = {k: getattr(ds, v) for k, v in kw.items()}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            want = torch.range(*args, **tk)
        _same(ds.range(*args, **dk), want, f"range{args}")


def test_empty_strided_and_frombuffer():
    for size, stride in (((2, 3), (1, 2)), ((2, 3), (3, 1)), ((2, 0), (1, 1)), ((4,), (2,))):
        got, want = ds.empty_strided(size, stride), torch.empty_strided(size, stride)
        assert got.shape == want.shape and got.stride() == want.stride()
        assert got.dtype is ds.float32
    buf = bytearray(np.arange(6, dtype=np.float32).tobytes())
    _same(ds.frombuffer(buf, dtype=ds.float32), torch.frombuffer(buf, dtype=torch.float32), "fb")
    _same(ds.frombuffer(buf, dtype=ds.int16, count=3, offset=2),
          torch.frombuffer(buf, dtype=torch.int16, count=3, offset=2), "frombuffer count/offset")
    shared = ds.frombuffer(buf, dtype=ds.float32)
    buf[0:4] = np.float32(7).tobytes()
    assert shared[0].item() == 7.0
    for kw in ({"count": 100}, {"offset": 100}):
        with pytest.raises(ValueError):
            torch.frombuffer(buf, dtype=torch.float32, **kw)
        with pytest.raises(ValueError):
            ds.frombuffer(buf, dtype=ds.float32, **kw)


def test_can_cast():
    names = ("bool", "uint8", "int8", "int32", "int64", "float16", "bfloat16", "float32",
             "float64", "complex64", "complex128")
    for a in names:
        for b in names:
            assert ds.can_cast(getattr(ds, a), getattr(ds, b)) == torch.can_cast(
                getattr(torch, a), getattr(torch, b)), (a, b)


def test_is_inference_is_distributed_interop():
    x = ds.zeros(2)
    assert ds.is_inference(x) is False and x.is_inference() is False
    assert ds.is_distributed(x) is False and x.is_distributed() is False
    assert isinstance(ds.get_num_interop_threads(), int) and ds.get_num_interop_threads() >= 1
    with pytest.raises(RuntimeError):
        ds.set_num_interop_threads(0)


def test_fill_and_put():
    x = ds.randn(2, 3, requires_grad=True)
    y = ds.fill(x, 3)
    _same(y.detach(), torch.fill(torch.zeros(2, 3), 3), "fill")
    (y * 2).sum().backward()
    assert x.grad is not None and not x.grad.numpy().any()
    base = np.arange(6, dtype=np.float32).reshape(2, 3)
    idx, src = [0, -1, 4], [10.0, 20.0, 30.0]
    for acc in (False, True):
        want = torch.put(torch.tensor(base), torch.tensor(idx), torch.tensor(src), accumulate=acc)
        got = ds.put(ds.tensor(base), ds.tensor(idx), ds.tensor(src), accumulate=acc)
        _same(got, want, f"put accumulate={acc}")
    _same(ds.tensor(base).t().put(ds.tensor([1]), ds.tensor([9.0])),
          torch.tensor(base).t().put(torch.tensor([1]), torch.tensor([9.0])), "put transposed")
    s = ds.tensor(base, requires_grad=True)
    v = ds.tensor(src, requires_grad=True)
    ds.put(s, ds.tensor(idx), v).sum().backward()
    ts, tv = torch.tensor(base, requires_grad=True), torch.tensor(src, requires_grad=True)
    torch.put(ts, torch.tensor(idx), tv).sum().backward()
    _same(s.grad, ts.grad, "put grad input")
    _same(v.grad, tv.grad, "put grad source")
    for bad in ((ds.tensor([6]), ds.tensor([1.0])), (ds.tensor([0, 1]), ds.tensor([1.0]))):
        with pytest.raises((RuntimeError, IndexError)):
            ds.put(ds.tensor(base), *bad)


def test_bilinear_and_ctc_loss():
    rng = np.random.default_rng(2)
    x1, x2 = rng.standard_normal((4, 3)), rng.standard_normal((4, 5))
    w, b = rng.standard_normal((2, 3, 5)), rng.standard_normal(2)
    want = torch.bilinear(*(torch.tensor(a) for a in (x1, x2, w, b)))
    np.testing.assert_allclose(ds.bilinear(*(ds.tensor(a) for a in (x1, x2, w, b))).numpy(),
                               want.numpy(), rtol=1e-12)
    lp = torch.randn(6, 2, 4, dtype=torch.float64).log_softmax(-1)
    targets, il, tl = torch.tensor([[1, 2], [3, 3]]), [6, 5], [2, 2]
    for reduction in (0, 1, 2):
        want = torch.ctc_loss(lp, targets, il, tl, 0, reduction)
        got = ds.ctc_loss(ds.tensor(lp.numpy()), ds.tensor(targets.numpy()), il, tl, 0, reduction)
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-10,
                                   err_msg=f"ctc_loss reduction={reduction}")
