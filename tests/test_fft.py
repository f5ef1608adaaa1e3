"""deepseek.fft and stft/istft against PyTorch: dtypes, shapes, argument rules and errors, and
the short-time transforms' values and gradients. (The transforms' values and gradients over
norms, sizes and dims are OpInfo rows: tests/opinfo/complex.py.)"""

import warnings

import numpy as np
import pytest
import torch

import deepseek as ds


def _np(t):
    t = t.detach()
    return t.resolve_conj().numpy() if isinstance(t, torch.Tensor) else t.numpy()


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "complex64", "complex128"])
@pytest.mark.parametrize("name", ["fft", "ifft", "fft2", "fftn", "rfft", "ihfft", "irfft",
                                  "hfft"])
def test_output_dtypes_and_shapes(name, dtype):
    x = np.arange(24).reshape(2, 3, 4) % 5 - 2
    if dtype.startswith("complex"):
        if name in ("rfft", "ihfft"):
            return
        x = x + 1j * (x[::-1] + 0.5)
    t = getattr(torch.fft, name)(torch.tensor(x, dtype=getattr(torch, dtype)))
    d = getattr(ds.fft, name)(ds.tensor(x, dtype=getattr(ds, dtype)))
    assert d.shape == tuple(t.shape) and str(d.dtype)[9:] == str(t.dtype)[6:]
    np.testing.assert_allclose(_np(d), _np(t), rtol=1e-5, atol=1e-5)


def test_s_and_dim_rules_match_torch():
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5))
    cases = [dict(s=(4, 6)), dict(dim=(0, 2)), dict(s=(2, 3), dim=(3, 1)), dict(s=(-1, 7)),
             dict(dim=-1), dict()]
    for kw in cases:
        for name in ("fftn", "rfftn", "ifftn", "hfftn", "irfftn"):
            t = getattr(torch.fft, name)(torch.tensor(x), **kw)
            d = getattr(ds.fft, name)(ds.tensor(x), **kw)
            assert d.shape == tuple(t.shape), (name, kw)
            np.testing.assert_allclose(_np(d), _np(t), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("call, error, message", [
    (lambda F, x: F.fft(x, norm="bad"), ValueError, "Invalid normalization mode"),
    (lambda F, x: F.fft(x, n=0), RuntimeError, "Invalid number of data points"),
    (lambda F, x: F.fftn(x, s=(2, 3), dim=(0,)), RuntimeError, "same length"),
    (lambda F, x: F.fftn(x, dim=(1, 1)), RuntimeError, "unique"),
    (lambda F, x: F.fft(x, dim=3), IndexError, "out of range"),
    (lambda F, x: F.rfft(x * 1j), RuntimeError, "real input"),
    (lambda F, x: F.irfft(x[:, :1]), RuntimeError, "Invalid number of data points"),
    (lambda F, x: F.fft(x.half()), RuntimeError, "Half"),
])
def test_errors(call, error, message):
    x = ds.randn(3, 4)
    with pytest.raises(error, match=message):
        call(ds.fft, x)
    with pytest.raises((RuntimeError, ValueError, IndexError)):  # torch refuses them too
        call(torch.fft, torch.randn(3, 4))


def test_frequencies_and_shifts_match_torch():
    for n, d in ((5, 1.0), (8, 0.25)):
        np.testing.assert_allclose(ds.fft.fftfreq(n, d).numpy(), torch.fft.fftfreq(n, d).numpy())
        np.testing.assert_allclose(ds.fft.rfftfreq(n, d).numpy(),
                                   torch.fft.rfftfreq(n, d).numpy())
    assert ds.fft.fftfreq(4, dtype=ds.float64).dtype == ds.float64
    x = np.arange(30).reshape(5, 6)
    for dim in (None, 0, (1,), (0, 1)):
        for name in ("fftshift", "ifftshift"):
            assert (getattr(ds.fft, name)(ds.tensor(x), dim=dim).tolist()
                    == getattr(torch.fft, name)(torch.tensor(x), dim=dim).tolist())


STFT_CASES = [dict(n_fft=16), dict(n_fft=16, hop_length=5, win_length=12, window=True),
              dict(n_fft=16, center=False, normalized=True),
              dict(n_fft=15, hop_length=3, pad_mode="constant"), dict(n_fft=16, onesided=False),
              dict(n_fft=8, hop_length=2, window=True, pad_mode="replicate")]


@pytest.mark.parametrize("kw", STFT_CASES, ids=lambda kw: "-".join(f"{k}{v}" for k, v in
                                                                   kw.items()))
@pytest.mark.parametrize("batched", [True, False])
def test_stft_istft_match_torch_values_and_gradients(kw, batched):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 60) if batched else (60,))
    window = np.hanning(kw.get("win_length", kw["n_fft"]))
    out = []
    for lib in (ds, torch):
        args = dict(kw)
        if args.pop("window", False):
            args["window"] = lib.tensor(window)
        xs = lib.tensor(x, requires_grad=True)
        spec = lib.stft(xs, return_complex=True, **args)
        spec.abs().sum().backward()
        args.pop("pad_mode", None)
        z = spec.detach().requires_grad_()
        y = lib.istft(z, length=60, **args)
        (y * lib.tensor(x)).sum().backward()
        out.append([_np(spec), _np(xs.grad), _np(y), _np(z.grad)])
    for ours, theirs in zip(*out):
        assert ours.shape == theirs.shape
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(out[0][2], x, atol=1e-12)  # perfect reconstruction


def test_stft_arguments_and_errors():
    x = ds.randn(40)
    with pytest.raises(RuntimeError, match="return_complex"):
        ds.stft(x, 8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        old = ds.stft(x, 8, return_complex=False)
        assert old.shape == tuple(torch.stft(torch.randn(40), 8, return_complex=False).shape)
    assert x.stft(8, return_complex=True).dtype == ds.complex64
    with pytest.raises(RuntimeError, match="win_length"):
        ds.stft(x, 8, win_length=9, return_complex=True)
    with pytest.raises(RuntimeError, match="window"):
        ds.stft(x, 8, window=ds.ones(7), return_complex=True)
    with pytest.raises(RuntimeError, match="1D or 2D"):
        ds.stft(ds.randn(2, 2, 40), 8, return_complex=True)
    spec = ds.stft(x, 8, return_complex=True)
    with pytest.raises(RuntimeError, match="complex-valued input"):
        ds.istft(spec.abs(), 8)
    with pytest.raises(RuntimeError, match="overlap add"):
        ds.istft(spec, 8, window=ds.zeros(8))
    with pytest.raises(RuntimeError, match="frequency dimension"):
        ds.istft(spec[:3], 8)
