"""deepseek.quantization against torch.ao.quantization on the same weights and data."""

import numpy as np
import pytest
import torch
import torch.ao.quantization as ttq

import deepseek as ds
import deepseek.quantization as tq

pytestmark = pytest.mark.filterwarnings("ignore:Please use quant_min")


def _torch_kwargs(kw):
    return {k: getattr(torch, v) if k in ("dtype", "qscheme") else v for k, v in kw.items()}


def _ds_kwargs(kw):
    return {k: getattr(tq, v) if k in ("dtype", "qscheme") else v for k, v in kw.items()}


OBSERVERS = [
    ("MinMaxObserver", {}),
    ("MinMaxObserver", dict(dtype="qint8", qscheme="per_tensor_symmetric")),
    ("MinMaxObserver", dict(reduce_range=True)),
    ("MinMaxObserver", dict(quant_min=0, quant_max=15)),
    ("MinMaxObserver", dict(dtype="quint8", qscheme="per_tensor_symmetric")),
    ("MovingAverageMinMaxObserver", dict(averaging_constant=0.3)),
    ("PerChannelMinMaxObserver", dict(ch_axis=1)),
    ("PerChannelMinMaxObserver", dict(dtype="qint8", qscheme="per_channel_symmetric")),
    ("PerChannelMinMaxObserver", dict(qscheme="per_channel_symmetric")),
    ("MovingAveragePerChannelMinMaxObserver", dict(ch_axis=2, averaging_constant=0.5)),
    ("HistogramObserver", dict(reduce_range=True, bins=256)),
    ("HistogramObserver", dict(dtype="qint8", qscheme="per_tensor_symmetric", bins=256)),
]


@pytest.mark.parametrize("name,kw", OBSERVERS, ids=[f"{n}-{k}" for n, k in OBSERVERS])
def test_observer_qparams_equal_torch(name, kw):
    rng = np.random.default_rng(len(name) + len(kw))
    for _ in range(4):
        theirs = getattr(ttq, name)(**_torch_kwargs(kw))
        ours = getattr(tq, name)(**_ds_kwargs(kw))
        for _ in range(3):
            x = (rng.standard_normal((4, 3, 5)) * rng.uniform(0.01, 10)
                 + rng.uniform(-3, 3)).astype(np.float32)
            theirs(torch.from_numpy(x))
            ours(ds.from_numpy(x))
        t_scale, t_zp = theirs.calculate_qparams()
        d_scale, d_zp = ours.calculate_qparams()
        assert tuple(d_scale.shape) == tuple(t_scale.shape), name
        assert d_zp.numpy().dtype == t_zp.numpy().dtype, (name, d_zp.dtype, t_zp.dtype)
        np.testing.assert_array_equal(d_scale.numpy(), t_scale.numpy(), err_msg=f"{name} {kw}")
        np.testing.assert_array_equal(d_zp.numpy(), t_zp.numpy(), err_msg=f"{name} {kw}")


def test_observer_errors():
    with pytest.raises(ValueError, match="unknown qscheme"):
        tq.MinMaxObserver(qscheme="per_tensor_weird")
    with pytest.raises(ValueError, match="per-channel"):
        tq.MinMaxObserver(qscheme=tq.per_channel_affine)
    with pytest.raises(ValueError, match="include 0"):
        tq.MinMaxObserver(quant_min=3, quant_max=10)
    with pytest.raises(ValueError, match="unsupported quantized dtype"):
        tq.MinMaxObserver(dtype=ds.float32)


def _grad_pair(x, ds_fn, torch_fn):
    xd = ds.from_numpy(x.copy()).requires_grad_(True)
    xt = torch.from_numpy(x.copy()).requires_grad_(True)
    yd, yt = ds_fn(xd), torch_fn(xt)
    g = np.random.default_rng(1).standard_normal(x.shape).astype(np.float32)
    (yd * ds.from_numpy(g)).sum().backward()
    (yt * torch.from_numpy(g)).sum().backward()
    return yd, yt, xd.grad, xt.grad


@pytest.mark.parametrize("qmin,qmax,zp", [(0, 255, 128), (-128, 127, 0), (0, 127, 3)])
def test_fake_quantize_per_tensor_matches_torch(qmin, qmax, zp):
    x = (np.random.default_rng(qmax).standard_normal((6, 7)) * 3).astype(np.float32)
    scale = 0.037
    yd, yt, gd, gt = _grad_pair(
        x, lambda t: tq.fake_quantize_per_tensor_affine(t, scale, zp, qmin, qmax),
        lambda t: torch.fake_quantize_per_tensor_affine(t, scale, zp, qmin, qmax))
    assert tuple(yd.shape) == tuple(yt.shape)
    np.testing.assert_array_equal(yd.detach().numpy(), yt.detach().numpy())
    np.testing.assert_array_equal(gd.numpy(), gt.numpy())
    assert 0 < (gt.numpy() == 0).mean() < 1  # the sample exercises both sides of the clamp


@pytest.mark.parametrize("axis", [0, 1])
def test_fake_quantize_per_channel_matches_torch(axis):
    rng = np.random.default_rng(axis)
    x = (rng.standard_normal((4, 5, 3)) * 2).astype(np.float32)
    n = x.shape[axis]
    scale = rng.uniform(0.005, 0.03, n).astype(np.float32)
    zp = rng.integers(-20, 20, n).astype(np.int32)
    yd, yt, gd, gt = _grad_pair(
        x, lambda t: tq.fake_quantize_per_channel_affine(
            t, ds.from_numpy(scale), ds.from_numpy(zp), axis, -128, 127),
        lambda t: torch.fake_quantize_per_channel_affine(
            t, torch.from_numpy(scale), torch.from_numpy(zp), axis, -128, 127))
    np.testing.assert_array_equal(yd.detach().numpy(), yt.detach().numpy())
    np.testing.assert_array_equal(gd.numpy(), gt.numpy())
    assert 0 < (gt.numpy() == 0).mean() < 1


class _TorchNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.quant = ttq.QuantStub()
        self.conv = torch.nn.Conv2d(3, 6, 3, padding=1)
        self.bn = torch.nn.BatchNorm2d(6)
        self.relu = torch.nn.ReLU()
        self.fc = torch.nn.Linear(6 * 6 * 6, 5)
        self.dequant = ttq.DeQuantStub()

    def forward(self, x):
        x = self.relu(self.bn(self.conv(self.quant(x))))
        return self.dequant(self.fc(x.flatten(1)))


class _DsNet(ds.nn.Module):
    def __init__(self):
        super().__init__()
        self.quant = tq.QuantStub()
        self.conv = ds.nn.Conv2d(3, 6, 3, padding=1)
        self.bn = ds.nn.BatchNorm2d(6)
        self.relu = ds.nn.ReLU()
        self.fc = ds.nn.Linear(6 * 6 * 6, 5)
        self.dequant = tq.DeQuantStub()

    def forward(self, x):
        x = self.relu(self.bn(self.conv(self.quant(x))))
        return self.dequant(self.fc(x.flatten(1)))


def _twin_models(seed=0):
    torch.manual_seed(seed)
    theirs = _TorchNet()
    with torch.no_grad():
        theirs.bn.running_mean.uniform_(-0.2, 0.2)
        theirs.bn.running_var.uniform_(0.5, 2.0)
        theirs.bn.weight.uniform_(0.5, 1.5)
        theirs.bn.bias.uniform_(-0.3, 0.3)
    ours = _DsNet()
    ours.load_state_dict({k: ds.from_numpy(v.detach().numpy().copy())
                          for k, v in theirs.state_dict().items()})
    return theirs, ours


def _batches(n=3, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((4, 3, 6, 6)).astype(np.float32) for _ in range(n)]


def _compare_quantized(out_d, out_t, scale):
    d, t = out_d.numpy(), out_t.numpy()
    assert d.shape == t.shape
    assert np.abs(d - t).max() <= scale * 1.0001, np.abs(d - t).max()
    same = np.rint(d / scale) == np.rint(t / scale)
    assert same.mean() >= 0.95, same.mean()


@pytest.mark.parametrize("engine", ["fbgemm", "x86"])
@pytest.mark.parametrize("qconfig", ["minmax", "default"])
def test_post_training_static_matches_torch(engine, qconfig):
    theirs, ours = _twin_models()
    theirs.eval()
    ours.eval()
    if qconfig == "default":
        theirs.qconfig = ttq.get_default_qconfig(engine)
        ours.qconfig = tq.get_default_qconfig(engine)
    else:
        theirs.qconfig = ttq.QConfig(activation=ttq.MinMaxObserver.with_args(reduce_range=True),
                                     weight=ttq.default_per_channel_weight_observer)
        ours.qconfig = tq.QConfig(activation=tq.MinMaxObserver.with_args(reduce_range=True),
                                  weight=tq.default_per_channel_weight_observer)
    theirs = ttq.fuse_modules(theirs, [["conv", "bn", "relu"]])
    ours = tq.fuse_modules(ours, [["conv", "bn", "relu"]])
    theirs, ours = ttq.prepare(theirs), tq.prepare(ours)
    for x in _batches():
        theirs(torch.from_numpy(x))
        ours(ds.from_numpy(x))
    previous = torch.backends.quantized.engine
    torch.backends.quantized.engine = engine
    try:
        theirs, ours = ttq.convert(theirs), tq.convert(ours)
        assert isinstance(ours.conv, tq.quantized.ConvReLU2d)
        assert isinstance(ours.fc, tq.quantized.Linear)
        assert ours.fc.scale == pytest.approx(theirs.fc.scale, rel=1e-5)
        np.testing.assert_array_equal(ours.fc.weight().numpy(),
                                      theirs.fc.weight().dequantize().numpy())
        x = _batches(1, seed=7)[0]
        _compare_quantized(ours(ds.from_numpy(x)), theirs(torch.from_numpy(x)), theirs.fc.scale)
    finally:
        torch.backends.quantized.engine = previous


def test_quantize_dynamic_matches_torch():
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.ReLU(),
                                 torch.nn.Linear(32, 4))
    ours = ds.nn.Sequential(ds.nn.Linear(16, 32), ds.nn.ReLU(), ds.nn.Linear(32, 4))
    ours.load_state_dict({k: ds.from_numpy(v.detach().numpy().copy())
                          for k, v in theirs.state_dict().items()})
    q_theirs = torch.ao.quantization.quantize_dynamic(theirs, {torch.nn.Linear},
                                                      dtype=torch.qint8)
    q_ours = tq.quantize_dynamic(ours, {ds.nn.Linear}, dtype=tq.qint8)
    assert isinstance(q_ours[0], tq.quantized.dynamic.Linear)
    np.testing.assert_array_equal(q_ours[0].weight().numpy(),
                                  q_theirs[0].weight().dequantize().numpy())
    x = np.random.default_rng(3).standard_normal((8, 16)).astype(np.float32)
    d = q_ours(ds.from_numpy(x)).numpy()
    t = q_theirs(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(d, t, rtol=1e-5, atol=1e-6)


def test_qat_losses_match_torch():
    theirs, ours = _twin_models(seed=1)
    theirs.train()
    ours.train()
    theirs.qconfig = ttq.get_default_qat_qconfig("x86")
    ours.qconfig = tq.get_default_qat_qconfig("x86")
    theirs = ttq.fuse_modules_qat(theirs, [["conv", "bn", "relu"]])
    ours = tq.fuse_modules_qat(ours, [["conv", "bn", "relu"]])
    theirs, ours = ttq.prepare_qat(theirs), tq.prepare_qat(ours)
    opt_t = torch.optim.SGD(theirs.parameters(), lr=0.05)
    opt_d = ds.optim.SGD(ours.parameters(), lr=0.05)
    rng = np.random.default_rng(5)
    for x in _batches(4, seed=2):
        target = rng.standard_normal((4, 5)).astype(np.float32)
        loss_t = ((theirs(torch.from_numpy(x)) - torch.from_numpy(target)) ** 2).mean()
        loss_d = ((ours(ds.from_numpy(x)) - ds.from_numpy(target)) ** 2).mean()
        assert abs(loss_t.item() - loss_d.item()) <= 1e-5, (loss_t.item(), loss_d.item())
        opt_t.zero_grad()
        opt_d.zero_grad()
        loss_t.backward()
        loss_d.backward()
        opt_t.step()
        opt_d.step()
    theirs.eval()
    ours.eval()
    q_theirs, q_ours = ttq.convert(theirs), tq.convert(ours)
    x = _batches(1, seed=9)[0]
    _compare_quantized(q_ours(ds.from_numpy(x)), q_theirs(torch.from_numpy(x)),
                       q_theirs.fc.scale)


def test_bad_input_errors():
    _, ours = _twin_models()
    ours.eval()
    with pytest.raises(RuntimeError, match="prepare"):
        tq.convert(ours)
    ours.qconfig = tq.default_qconfig
    with pytest.raises(RuntimeError, match="prepare"):
        tq.convert(ours)

    class Odd(ds.nn.Module):
        def forward(self, x):
            return x

    model = ds.nn.Sequential(tq.QuantStub(), ds.nn.Linear(4, 4), Odd(), tq.DeQuantStub())
    model.qconfig = tq.default_qconfig
    prepared = tq.prepare(model.eval(), allow_list={ds.nn.Linear, tq.QuantStub, Odd})
    prepared(ds.randn(2, 4))
    with pytest.raises(NotImplementedError, match="Odd"):
        tq.convert(prepared)
    with pytest.raises(NotImplementedError, match="Conv2d"):
        tq.quantize_dynamic(ds.nn.Sequential(ds.nn.Conv2d(1, 1, 1)), {ds.nn.Conv2d})
    with pytest.raises(ValueError, match="backend"):
        tq.get_default_qconfig("tpu")
    with pytest.raises(NotImplementedError, match="cannot fuse"):
        tq.fuse_modules(ds.nn.Sequential(ds.nn.ReLU(), ds.nn.Linear(2, 2)), ["0", "1"])
    fq = ds.randn(3, 4)
    with pytest.raises(ValueError, match="shape"):
        tq.fake_quantize_per_channel_affine(fq, ds.ones(2), ds.zeros(2, dtype=ds.int32), 1,
                                            0, 255)
