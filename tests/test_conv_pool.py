"""Convolution, pooling, padding and resampling semantics the OpInfo rows cannot express:
errors, higher-order gradients, indices, NaN propagation, argument forms."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import deepseek as ds
import deepseek.nn.functional as F


def _pair(*shapes, seed=0, grad=True):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s) for s in shapes]
    mine = [ds.from_numpy(a.copy()).requires_grad_(grad) for a in arrays]
    theirs = [torch.from_numpy(a.copy()).requires_grad_(grad) for a in arrays]
    return mine, theirs


def _close(a, b, what, atol=1e-9, rtol=1e-7):
    assert tuple(a.shape) == tuple(b.shape), f"{what}: shape {tuple(a.shape)} != {tuple(b.shape)}"
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), atol=atol, rtol=rtol,
                               err_msg=what)


@pytest.mark.parametrize("name, shapes, kw", [
    ("conv2d", [(2, 3, 6, 6), (4, 3, 3, 3)], {"stride": 2, "padding": 1}),
    ("conv2d", [(1, 4, 5, 5), (4, 2, 2, 3)], {"groups": 2, "dilation": (2, 1), "padding": "same"}),
    ("conv_transpose2d", [(2, 4, 3, 4), (4, 3, 3, 3)], {"stride": 2, "output_padding": 1}),
    ("conv_transpose1d", [(2, 4, 5), (4, 2, 3)], {"padding": 1, "groups": 2}),
    ("conv3d", [(1, 2, 3, 4, 3), (2, 2, 2, 2, 2)], {"padding": 1}),
])
def test_conv_double_backward(name, shapes, kw):
    (x, w), (xt, wt) = _pair(*shapes)
    for lib, fn, a, b in ((ds, getattr(F, name), x, w), (torch, getattr(TF, name), xt, wt)):
        y = fn(a, b, **kw)
        gx, gw = lib.autograd.grad((y * y).sum(), (a, b), create_graph=True)
        ((gx * gx).sum() + (gw * gw * gw).sum()).backward()
    _close(x.grad, xt.grad, f"{name} second-order grad of input")
    _close(w.grad, wt.grad, f"{name} second-order grad of weight")


@pytest.mark.parametrize("shapes, kw", [
    ([(4, 16, 32, 32), (16, 16, 3, 3)], {"stride": 2, "padding": 1}),
    ([(4, 16, 32, 32), (16, 16, 1, 1)], {"stride": 2}),
    ([(4, 16, 16, 16), (16, 16, 3, 3)], {"padding": 1}),
    ([(4, 16, 16, 16), (16, 4, 3, 3)], {"padding": 2, "dilation": 2, "groups": 4}),
])
def test_conv_float32_large_planes(shapes, kw):
    """float32 at sizes where the col2im kernel runs in parallel, against torch."""
    (x, w), (xt, wt) = _pair(*shapes)
    x, w = (ds.from_numpy(t.detach().numpy().astype(np.float32)).requires_grad_() for t in (x, w))
    xt, wt = (t.detach().float().requires_grad_() for t in (xt, wt))
    for lib, a, b in ((F, x, w), (TF, xt, wt)):
        y = lib.conv2d(a, b, **kw)
        (y * y.detach()).sum().backward()
    _close(x.grad, xt.grad, "conv2d float32 input grad", atol=1e-3, rtol=1e-4)
    _close(w.grad, wt.grad, "conv2d float32 weight grad", atol=1e-2, rtol=1e-4)


@pytest.mark.parametrize("kw", [{"padding": 1}, {"stride": 2, "padding": 1},
                                {"groups": 2, "padding": 1}, {"stride": 2}])
def test_conv_over_batch_chunks_and_threads(kw, monkeypatch):
    """Chunks of one sample, split over the pool's threads (odd batch), match torch in every
    primitive, and NumPy's BLAS gets its thread count back."""
    from deepseek.backend import cpu
    from deepseek.ops import conv

    monkeypatch.setattr(conv, "_CHUNK_BYTES", 1)
    shapes = [(5, 4, 9, 9), (6, 4 // kw.get("groups", 1), 3, 3)]
    pool = cpu._pool()
    threads = pool[1].get() if pool else None
    (x, w), (xt, wt) = _pair(*shapes)
    ys = []
    for lib, a, b in ((F, x, w), (TF, xt, wt)):
        ys.append(lib.conv2d(a, b, **kw))
        (ys[-1] * ys[-1].detach()).sum().backward()
    _close(*ys, "conv2d", atol=1e-8, rtol=1e-8)
    _close(x.grad, xt.grad, "conv2d input grad", atol=1e-8, rtol=1e-8)
    _close(w.grad, wt.grad, "conv2d weight grad", atol=1e-8, rtol=1e-8)
    if pool:
        assert pool[1].get() == threads


@pytest.mark.parametrize("name, shapes, kw", [
    ("conv2d", [(3, 16, 7, 9), (17, 16, 3, 3)], {"padding": 1}),
    ("conv2d", [(2, 16, 6, 5), (16, 16, 3, 3)], {"padding": (0, 2)}),
    ("conv2d", [(2, 16, 5, 6), (16, 16, 3, 3)], {"padding": "same"}),
    ("conv_transpose2d", [(2, 16, 5, 5), (16, 18, 3, 3)], {"padding": 1}),
    ("conv_transpose2d", [(2, 16, 8, 7), (16, 16, 3, 3)], {"padding": 2}),
])
@pytest.mark.parametrize("chunk", [None, 1])
def test_conv_winograd_path(name, shapes, kw, chunk, monkeypatch):
    """3x3 stride-1 convolutions of 16 channels or more run through the Winograd transforms
    (odd sizes, padding on one side, transposed ones with a crop): float64 values, first and
    second-order gradients against torch, whole or in chunks of one sample over the threads."""
    from deepseek.ops import conv

    if chunk:
        monkeypatch.setattr(conv, "_CHUNK_BYTES", chunk)
    (x, w), (xt, wt) = _pair(*shapes)
    ys = []
    for lib, fn, a, b in ((ds, getattr(F, name), x, w), (torch, getattr(TF, name), xt, wt)):
        ys.append(fn(a, b, **kw))
        gx, gw = lib.autograd.grad((ys[-1] * ys[-1]).sum(), (a, b), create_graph=True)
        ((gx * gx).sum() + (gw * gw).sum()).backward()
    _close(*ys, name, atol=1e-10, rtol=1e-10)
    _close(x.grad, xt.grad, f"{name} second-order grad of input", atol=1e-8, rtol=1e-10)
    _close(w.grad, wt.grad, f"{name} second-order grad of weight", atol=1e-8, rtol=1e-10)


def test_conv_winograd_kernels_run_for_large_channel_counts(monkeypatch):
    """The Winograd path is the one taken (a broken transform would fail here, not fall back)."""
    from deepseek.ops import _winograd

    calls = []
    for name in ("forward", "weight_gradient"):
        real = getattr(_winograd, name)
        monkeypatch.setattr(_winograd, name, lambda *a, _real=real, _n=name: (
            calls.append(_n), _real(*a))[1])
    (x, w), _ = _pair((2, 16, 6, 6), (16, 16, 3, 3))
    F.conv2d(x, w, padding=1).sum().backward()
    assert set(calls) == {"forward", "weight_gradient"}


@pytest.mark.parametrize("stride", [1, 2])
def test_conv_empty_batch(stride):
    """A batch of zero samples: empty output and input gradient, zero weight gradient."""
    (x, w), (xt, wt) = _pair((0, 3, 5, 5), (4, 3, 3, 3))
    for lib, a, b in ((F, x, w), (TF, xt, wt)):
        lib.conv2d(a, b, padding=1, stride=stride).sum().backward()
    _close(x.grad, xt.grad, "conv2d input grad")
    _close(w.grad, wt.grad, "conv2d weight grad")


@pytest.mark.parametrize("name, args, kw", [
    ("avg_pool2d", (3,), {"stride": 2, "padding": 1, "ceil_mode": True, "count_include_pad": False}),
    ("pad", ((1, 2, -1, 1),), {"value": 0.5}),
    ("unfold", ((2, 2),), {"stride": 2, "padding": 1}),
])
def test_linear_ops_double_backward(name, args, kw):
    (x,), (xt,) = _pair((1, 2, 5, 6))
    for lib, fn, a in ((ds, getattr(F, name), x), (torch, getattr(TF, name), xt)):
        y = fn(a, *args, **kw)
        (gx,) = lib.autograd.grad((y * y * y).sum(), (a,), create_graph=True)
        (gx * gx).sum().backward()
    _close(x.grad, xt.grad, f"{name} second-order grad")


def test_fold_double_backward():
    (c,), (ct,) = _pair((1, 8, 6))
    for lib, fn, a in ((ds, F.fold, c), (torch, TF.fold, ct)):
        y = fn(a, (3, 4), 2)
        (g,) = lib.autograd.grad((y * y * y).sum(), (a,), create_graph=True)
        (g * g).sum().backward()
    _close(c.grad, ct.grad, "fold second-order grad")


def test_max_pool_indices_and_values():
    (x,), (xt,) = _pair((2, 3, 7, 6))
    v, i = F.max_pool2d(x, 3, stride=2, padding=1, return_indices=True)
    vt, it = TF.max_pool2d(xt, 3, stride=2, padding=1, return_indices=True)
    assert i.dtype == ds.int64
    np.testing.assert_array_equal(i.numpy(), it.numpy())
    _close(v, vt, "max_pool2d values")


def test_max_pool_nan_propagates():
    a = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
    a[0, 0, 0, 1] = np.nan
    v, i = F.max_pool2d(ds.from_numpy(a), 2, return_indices=True)
    vt, it = TF.max_pool2d(torch.from_numpy(a), 2, return_indices=True)
    np.testing.assert_array_equal(v.numpy(), vt.numpy())
    np.testing.assert_array_equal(i.numpy(), it.numpy())


def test_max_pool_ties_take_first():
    a = np.ones((1, 1, 4, 4), dtype=np.float32)
    _, i = F.max_pool2d(ds.from_numpy(a), 2, return_indices=True)
    _, it = TF.max_pool2d(torch.from_numpy(a), 2, return_indices=True)
    np.testing.assert_array_equal(i.numpy(), it.numpy())


def test_adaptive_max_pool_indices():
    (x,), (xt,) = _pair((2, 3, 7, 5))
    _, i = F.adaptive_max_pool2d(x, (3, 4), return_indices=True)
    _, it = TF.adaptive_max_pool2d(xt, (3, 4), return_indices=True)
    np.testing.assert_array_equal(i.numpy(), it.numpy())


def test_torch_level_names():
    x = ds.randn(1, 2, 6, 6)
    assert ds.max_pool2d(x, 2).shape == (1, 2, 3, 3)
    assert ds.conv2d(x, ds.randn(3, 2, 3, 3)).shape == (1, 3, 4, 4)
    assert ds.pixel_shuffle(ds.randn(1, 8, 2, 2), 2).shape == (1, 2, 4, 4)
    assert ds.constant_pad_nd(x, (1, 1)).shape == (1, 2, 6, 8)


def test_int_constant_pad_and_nearest():
    x = ds.arange(6).reshape(1, 1, 2, 3)
    xt = torch.arange(6).reshape(1, 1, 2, 3)
    np.testing.assert_array_equal(F.pad(x, (1, 1), value=7).numpy(),
                                  TF.pad(xt, (1, 1), value=7).numpy())
    np.testing.assert_array_equal(F.interpolate(x.float(), scale_factor=2).numpy(),
                                  TF.interpolate(xt.float(), scale_factor=2).numpy())


def test_conv_output_is_contiguous():
    y = F.conv2d(ds.randn(2, 3, 5, 5), ds.randn(4, 3, 3, 3), padding=1)
    assert y.is_contiguous()
    assert y.view(2, -1).shape == (2, 100)


def test_nearest_upsample_gradient_is_sum():
    x = ds.randn(1, 1, 2, 2, requires_grad=True)
    F.interpolate(x, scale_factor=3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full((1, 1, 2, 2), 9.0))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
def test_antialias_interpolate_random_geometry(mode, dtype):
    rng = np.random.default_rng(0)
    tol = 1e-5 if dtype == "float32" else 1e-12
    for _ in range(60):
        h, w = rng.integers(1, 24, 2)
        x = rng.standard_normal((2, 2, h, w)).astype(dtype)
        kw = {"align_corners": bool(rng.integers(2))}
        if rng.integers(2):
            kw["size"] = tuple(int(n) for n in rng.integers(1, 30, 2))
        else:
            kw["scale_factor"] = tuple(float(f) for f in rng.uniform(0.1, 2.5, 2))
            kw["recompute_scale_factor"] = bool(rng.integers(2))
        want = TF.interpolate(torch.from_numpy(x), mode=mode, antialias=True, **kw)
        if want.numel() == 0 or (want.shape[3] == 1 and want.shape[2] != h):
            continue  # see test_antialias_width_one_output
        got = F.interpolate(ds.tensor(x), mode=mode, antialias=True, **kw)
        assert got.shape == tuple(want.shape), (mode, kw)
        assert got.dtype.name == dtype
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=tol, atol=tol,
                                   err_msg=f"interpolate {mode} antialias {kw}")


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
def test_antialias_width_one_output(mode):
    # torch 2.13's CPU forward resamples the height wrongly when the output width is 1 (every
    # row gets the first row's weights; its own backward disagrees). We follow its backward:
    # the same resampling as on the transposed image, where torch's forward is right.
    x = np.random.default_rng(1).standard_normal((2, 3, 9, 4))
    want = TF.interpolate(torch.from_numpy(x).transpose(2, 3), size=(1, 4), mode=mode,
                          antialias=True).transpose(2, 3)
    got = F.interpolate(ds.tensor(x), size=(4, 1), mode=mode, antialias=True)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12, atol=1e-12)


def test_antialias_bilinear_upsampling_is_plain_bilinear():
    x = ds.randn(1, 2, 4, 5, dtype=ds.float64)
    np.testing.assert_allclose(
        F.interpolate(x, size=(7, 9), mode="bilinear", antialias=True).numpy(),
        F.interpolate(x, size=(7, 9), mode="bilinear").numpy(), rtol=1e-12, atol=1e-12)


_X4 = (2, 3, 5, 5)
_ERRORS = [
    (RuntimeError, "Given groups=1", lambda lib, x: lib.conv2d(x, lib.randn(4, 2, 3, 3))),
    (RuntimeError, "divisible by 2",
     lambda lib, x: lib.conv2d(lib.randn(2, 4, 5, 5), lib.randn(3, 2, 3, 3), groups=2)),
    (RuntimeError, "Kernel size can't be greater",
     lambda lib, x: lib.conv2d(x, lib.randn(4, 3, 7, 7))),
    (RuntimeError, "expected bias", lambda lib, x: lib.conv2d(x, lib.randn(4, 3, 3, 3),
                                                              lib.randn(5))),
    (RuntimeError, "Expected 3D (unbatched) or 4D (batched) input to conv2d",
     lambda lib, x: lib.conv2d(lib.randn(3, 5), lib.randn(4, 3, 3, 3))),
    (RuntimeError, "non-positive stride", lambda lib, x: lib.conv2d(x, lib.randn(4, 3, 3, 3),
                                                                   stride=0)),
    (RuntimeError, "negative padding", lambda lib, x: lib.conv2d(x, lib.randn(4, 3, 3, 3),
                                                                padding=-1)),
    (RuntimeError, "padding='same' is not supported for strided",
     lambda lib, x: lib.conv2d(x, lib.randn(4, 3, 3, 3), padding="same", stride=2)),
    (RuntimeError, "Invalid padding string",
     lambda lib, x: lib.conv2d(x, lib.randn(4, 3, 3, 3), padding="foo")),
    (RuntimeError, "list of 2 values",
     lambda lib, x: lib.conv2d(x, lib.randn(4, 3, 3, 3), stride=(1, 1, 1))),
    (RuntimeError, "output padding must be smaller",
     lambda lib, x: lib.conv_transpose2d(x, lib.randn(3, 4, 3, 3), output_padding=1)),
    (RuntimeError, "Given transposed=1",
     lambda lib, x: lib.conv_transpose2d(x, lib.randn(4, 4, 3, 3))),
    (RuntimeError, "pad should be at most half",
     lambda lib, x: lib.nn.functional.max_pool2d(x, 3, padding=2)),
    (RuntimeError, "Output size is too small", lambda lib, x: lib.nn.functional.max_pool2d(x, 7)),
    (RuntimeError, "3D or 4D", lambda lib, x: lib.nn.functional.max_pool2d(lib.randn(5), 2)),
    (RuntimeError, "pad should be at most half",
     lambda lib, x: lib.nn.functional.avg_pool2d(x, 3, padding=2)),
    (RuntimeError, "Padding length must be divisible by 2",
     lambda lib, x: lib.nn.functional.pad(x, (1,))),
    (RuntimeError, "Padding length should be less than or equal to",
     lambda lib, x: lib.nn.functional.pad(x, (1,) * 10)),
    (NotImplementedError, "Padding size 2 is not supported for 4D",
     lambda lib, x: lib.nn.functional.pad(x, (1, 1), mode="reflect")),
    (RuntimeError, "Padding size should be less than the corresponding input dimension",
     lambda lib, x: lib.nn.functional.pad(x, (5, 5, 1, 1), mode="reflect")),
    (RuntimeError, "wrapping around more than once",
     lambda lib, x: lib.nn.functional.pad(x, (6, 6, 1, 1), mode="circular")),
    (NotImplementedError, "Unrecognised padding mode",
     lambda lib, x: lib.nn.functional.pad(x, (1, 1), mode="foo")),
    (ValueError, "only one of size or scale_factor",
     lambda lib, x: lib.nn.functional.interpolate(x, size=3, scale_factor=2)),
    (ValueError, "recompute_scale_factor is not meaningful",
     lambda lib, x: lib.nn.functional.interpolate(x, size=3, recompute_scale_factor=True)),
    (ValueError, "either size or scale_factor",
     lambda lib, x: lib.nn.functional.interpolate(x)),
    (ValueError, "align_corners option can only be set",
     lambda lib, x: lib.nn.functional.interpolate(x, size=3, align_corners=True)),
    (NotImplementedError, "Got 4D input, but linear mode needs 3D input",
     lambda lib, x: lib.nn.functional.interpolate(x, size=3, mode="linear")),
    (ValueError, "same number of spatial dimensions",
     lambda lib, x: lib.nn.functional.interpolate(x, size=(3, 3, 3))),
    (ValueError, "Anti-alias option is restricted",
     lambda lib, x: lib.nn.functional.interpolate(x, size=3, antialias=True)),
    (ValueError, "restricted to bilinear, bicubic",
     lambda lib, x: lib.nn.functional.interpolate(lib.randn(2, 3, 5), size=3, mode="linear",
                                                  antialias=True)),
    (ValueError, "requires a 4-D tensor as input",
     lambda lib, x: lib.nn.functional.interpolate(lib.randn(2, 3, 5), size=3, mode="bilinear",
                                                  antialias=True)),
    (ValueError, "Anti-alias option",
     lambda lib, x: lib.nn.functional.interpolate(lib.randn(1, 2, 3, 4, 5), size=2,
                                                  mode="trilinear", antialias=True)),
    (RuntimeError, "divisible by the square of upscale_factor",
     lambda lib, x: lib.nn.functional.pixel_shuffle(x, 2)),
    (RuntimeError, "at least 3 dimensions",
     lambda lib, x: lib.nn.functional.pixel_shuffle(lib.randn(4, 4), 2)),
    (RuntimeError, "height to be divisible by downscale_factor",
     lambda lib, x: lib.nn.functional.pixel_unshuffle(x, 2)),
    (RuntimeError, "Expected 3D or 4D (batch mode) tensor",
     lambda lib, x: lib.nn.functional.unfold(lib.randn(1, 1, 2, 2, 2), 2)),
    (RuntimeError, "Expected 3D or 4D tensor",
     lambda lib, x: lib.nn.functional.adaptive_max_pool2d(lib.randn(5), 2)),
]


@pytest.mark.parametrize("exc, text, fn", _ERRORS, ids=[e[1][:30] for e in _ERRORS])
def test_errors_match_torch(exc, text, fn):
    with pytest.raises(exc, match=text.replace("(", r"\(").replace(")", r"\)")):
        fn(torch, torch.randn(*_X4))
    with pytest.raises(exc, match=text.replace("(", r"\(").replace(")", r"\)")) as info:
        fn(ds, ds.randn(*_X4))
    assert str(info.value).startswith("["), "errors name the op"


def test_dtype_mismatch_is_an_error():
    with pytest.raises(RuntimeError, match=r"\[conv2d\].*float64.*float32"):
        F.conv2d(ds.randn(1, 3, 5, 5, dtype=ds.float64), ds.randn(4, 3, 3, 3))
