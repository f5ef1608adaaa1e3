"""nn.init (statistics, fans, gains, errors, generator), nn.utils (clipping, vector conversion,
packed sequences) and the containers."""

from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np
import pytest
import torch

import deepseek as ds

init = ds.nn.init


def test_calculate_gain_and_fans_match_torch():
    for name, param in [("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None),
                        ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.2),
                        ("selu", None)]:
        assert init.calculate_gain(name, param) == pytest.approx(
            torch.nn.init.calculate_gain(name, param))
    for shape in [(3, 4), (5, 2, 3, 3), (2, 6, 4)]:
        assert init._calculate_fan_in_and_fan_out(ds.empty(shape)) == \
            torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    with pytest.raises(ValueError, match="Unsupported nonlinearity foo"):
        init.calculate_gain("foo")
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(ds.empty(3))
    with pytest.raises(ValueError, match="Mode fan_mid not supported"):
        init.kaiming_normal_(ds.empty(3, 3), mode="fan_mid")


def _stats(t):
    a = t.detach().numpy().astype(np.float64)
    return a.mean(), a.std(), a.min(), a.max()


def test_distributions():
    w = ds.empty(200, 300)
    bound = math.sqrt(6 / 500)
    mean, std, lo, hi = _stats(init.xavier_uniform_(w))
    assert -bound <= lo and hi <= bound and abs(std - bound / math.sqrt(3)) < 0.01 * bound
    mean, std, _, _ = _stats(init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu"))
    assert abs(std - math.sqrt(2 / 200)) < 0.02 * std and abs(mean) < 0.01
    _, std, lo, hi = _stats(init.kaiming_uniform_(w, a=math.sqrt(5)))
    assert hi <= 1 / math.sqrt(300) and lo >= -1 / math.sqrt(300)
    _, std, _, _ = _stats(init.xavier_normal_(w, gain=2.0))
    assert abs(std - 2 * math.sqrt(2 / 500)) < 0.02 * std
    mean, std, lo, hi = _stats(init.trunc_normal_(w, mean=1.0, std=2.0, a=-1.0, b=2.0))
    assert lo >= -1.0 and hi <= 2.0 and lo < -0.99 and hi > 1.99
    mean, _, lo, hi = _stats(init.uniform_(w, 3, 4))
    assert 3 <= lo and hi <= 4
    assert float(init.constant_(w, 0.5).mean()) == 0.5
    assert float(init.zeros_(w).abs().sum()) == 0 and float(init.ones_(w).mean()) == 1


def test_structured_inits():
    np.testing.assert_array_equal(init.eye_(ds.empty(3, 5)).numpy(), np.eye(3, 5))
    q = init.orthogonal_(ds.empty(4, 6), gain=2.0).numpy()
    np.testing.assert_allclose(q @ q.T, 4 * np.eye(4), atol=1e-5)
    q = init.orthogonal_(ds.empty(6, 2, 2)).numpy().reshape(6, 4)
    np.testing.assert_allclose(q.T @ q, np.eye(4), atol=1e-5)
    for groups in (1, 2):
        w = init.dirac_(ds.empty(4, 2, 3, 3), groups=groups)
        want = torch.nn.init.dirac_(torch.empty(4, 2, 3, 3), groups=groups)
        np.testing.assert_array_equal(w.numpy(), want.numpy())
    s = init.sparse_(ds.empty(10, 4), sparsity=0.3).numpy()
    assert ((s == 0).sum(0) >= 3).all()


def test_init_under_no_grad_and_generator():
    p = ds.nn.Parameter(ds.empty(3, 3))
    init.normal_(p)
    assert p.requires_grad and p.grad_fn is None
    g1, g2 = ds.Generator().manual_seed(3), ds.Generator().manual_seed(3)
    a = init.kaiming_uniform_(ds.empty(4, 4), generator=g1).numpy()
    b = init.kaiming_uniform_(ds.empty(4, 4), generator=g2).numpy()
    np.testing.assert_array_equal(a, b)


def test_default_initialization_bounds():
    lin = ds.nn.Linear(50, 40)
    assert float(lin.weight.abs().max()) <= 1 / math.sqrt(50)
    assert float(lin.bias.abs().max()) <= 1 / math.sqrt(50)
    conv = ds.nn.Conv2d(4, 8, 3)
    assert float(conv.bias.abs().max()) <= 1 / math.sqrt(36)
    emb = ds.nn.Embedding(100, 20, padding_idx=3)
    assert float(emb.weight[3].abs().sum()) == 0 and 0.8 < float(emb.weight.std()) < 1.2
    lstm = ds.nn.LSTM(3, 16)
    assert all(float(p.abs().max()) <= 0.25 for p in lstm.parameters())
    mha = ds.nn.MultiheadAttention(8, 2)
    assert float(mha.in_proj_bias.abs().sum()) == 0


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
def test_clip_grad_norm_matches_torch(norm_type):
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal(s) for s in [(3, 4), (5,), ()]]
    ps, ts = [], []
    for g in grads:
        p, t = ds.zeros(g.shape, dtype=ds.float64), torch.zeros(g.shape, dtype=torch.float64)
        p.grad, t.grad = ds.from_numpy(g.copy()), torch.from_numpy(g.copy())
        ps.append(p)
        ts.append(t)
    total = ds.nn.utils.clip_grad_norm_(ps, 1.5, norm_type=norm_type, foreach=True)
    want = torch.nn.utils.clip_grad_norm_(ts, 1.5, norm_type=norm_type)
    assert float(total) == pytest.approx(float(want))
    for p, t in zip(ps, ts):
        np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), rtol=1e-12)
    ds.nn.utils.clip_grad_value_(ps, 0.1)
    torch.nn.utils.clip_grad_value_(ts, 0.1)
    for p, t in zip(ps, ts):
        np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy())


def test_clip_grad_norm_nonfinite_and_empty():
    p = ds.zeros(2)
    p.grad = ds.tensor([1.0, float("inf")])
    with pytest.raises(RuntimeError, match="non-finite"):
        ds.nn.utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
    assert float(ds.nn.utils.clip_grad_norm_([ds.zeros(2)], 1.0)) == 0


def test_parameters_vector_round_trip():
    m = ds.nn.Linear(3, 2)
    v = ds.nn.utils.parameters_to_vector(m.parameters())
    assert v.shape == (8,)
    ds.nn.utils.vector_to_parameters(ds.arange(8.0), m.parameters())
    np.testing.assert_array_equal(m.weight.detach().numpy(), np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(m.bias.detach().numpy(), [6.0, 7.0])


def test_rnn_utils_match_torch():
    rng = np.random.default_rng(0)
    seqs = [rng.standard_normal((n, 2)) for n in (2, 4, 1)]
    d = [ds.from_numpy(s.copy()).requires_grad_() for s in seqs]
    t = [torch.from_numpy(s.copy()).requires_grad_() for s in seqs]
    R, TR = ds.nn.utils.rnn, torch.nn.utils.rnn
    for kw in [{}, {"batch_first": True, "padding_value": -1.0},
               {"padding_side": "left", "batch_first": True}]:
        np.testing.assert_array_equal(R.pad_sequence(d, **kw).detach().numpy(),
                                      TR.pad_sequence(t, **kw).detach().numpy())
    dp, tp = R.pack_sequence(d, enforce_sorted=False), TR.pack_sequence(t, enforce_sorted=False)
    np.testing.assert_array_equal(dp.data.detach().numpy(), tp.data.detach().numpy())
    assert dp.batch_sizes.tolist() == tp.batch_sizes.tolist()
    assert dp.sorted_indices.tolist() == tp.sorted_indices.tolist()
    assert dp.unsorted_indices.tolist() == tp.unsorted_indices.tolist()
    (dpad, dlen), (tpad, tlen) = R.pad_packed_sequence(dp), TR.pad_packed_sequence(tp)
    np.testing.assert_array_equal(dpad.detach().numpy(), tpad.detach().numpy())
    assert dlen.tolist() == tlen.tolist() and dlen.dtype == ds.int64
    (dpad * ds.arange(1.0, 4.0).reshape(1, 3, 1)).sum().backward()
    (tpad * torch.arange(1.0, 4.0).reshape(1, 3, 1)).sum().backward()
    for a, b in zip(d, t):
        np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())
    assert [s.shape[0] for s in R.unpack_sequence(dp)] == [2, 4, 1]
    with pytest.raises(RuntimeError, match="sorted in decreasing order"):
        R.pack_padded_sequence(ds.zeros(4, 3), [2, 4, 1])
    with pytest.raises(ValueError, match="total_length"):
        R.pad_packed_sequence(dp, total_length=2)


def test_sequential_and_module_list():
    a, b, c = ds.nn.ReLU(), ds.nn.Tanh(), ds.nn.Sigmoid()
    s = ds.nn.Sequential(a, b)
    assert len(s) == 2 and s[0] is a and s[-1] is b and list(s) == [a, b]
    assert isinstance(s[0:1], ds.nn.Sequential) and list(s[0:1]) == [a]
    s.append(c).insert(0, ds.nn.Identity())
    assert [type(m).__name__ for m in s] == ["Identity", "ReLU", "Tanh", "Sigmoid"]
    del s[0]
    assert list(s._modules) == ["0", "1", "2"] and s[0] is a
    s.extend([ds.nn.Identity()])
    s[1] = c
    assert s[1] is c and len(s) == 4
    with pytest.raises(IndexError):
        s[7]
    named = ds.nn.Sequential(OrderedDict(first=a, second=b))
    assert named.first is a and list(named._modules) == ["first", "second"]
    assert float(named(ds.tensor(-1.0))) == 0.0
    ml = ds.nn.ModuleList([a, b])
    ml += [c]
    ml.insert(1, ds.nn.Identity())
    assert [type(m).__name__ for m in ml] == ["ReLU", "Identity", "Tanh", "Sigmoid"]
    assert ml[-1] is c and len(ml[1:]) == 3 and ml.pop(0) is a and len(ml) == 3


def test_module_dict_parameter_list_dict():
    md = ds.nn.ModuleDict({"a": ds.nn.Linear(1, 1)})
    md["b"] = ds.nn.ReLU()
    md.update([("c", ds.nn.Tanh())])
    assert list(md.keys()) == ["a", "b", "c"] and "b" in md and len(md) == 3
    assert len(list(md.parameters())) == 2
    assert isinstance(md.pop("b"), ds.nn.ReLU) and list(md) == ["a", "c"]
    pl = ds.nn.ParameterList([ds.ones(2), ds.nn.Parameter(ds.zeros(3))])
    pl.append(ds.ones(1))
    assert len(pl) == 3 and all(isinstance(p, ds.nn.Parameter) for p in pl)
    assert [k for k, _ in pl.named_parameters()] == ["0", "1", "2"]
    pd = ds.nn.ParameterDict({"w": ds.ones(2)})
    pd["v"] = ds.zeros(1)
    assert isinstance(pd["w"], ds.nn.Parameter) and list(pd.keys()) == ["w", "v"]
    assert repr(pl) == repr(torch.nn.ParameterList(
        [torch.ones(2), torch.zeros(3), torch.ones(1)])).replace("torch.", "deepseek.")


def test_layer_argument_errors():
    with pytest.raises(ValueError, match="in_channels must be divisible by groups"):
        ds.nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="padding='same' is not supported for strided"):
        ds.nn.Conv1d(2, 2, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="padding_mode must be one of"):
        ds.nn.Conv2d(2, 2, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1"):
        ds.nn.Dropout(1.5)
    with pytest.raises(ValueError, match=r"expected 4D input \(got 3D input\)"):
        ds.nn.BatchNorm2d(3)(ds.zeros(2, 3, 4))
    with pytest.raises(AssertionError, match="embed_dim must be divisible by num_heads"):
        ds.nn.MultiheadAttention(6, 4)
    with pytest.raises(ValueError, match="num_channels must be divisible by num_groups"):
        ds.nn.GroupNorm(3, 4)


def test_batchnorm_cumulative_average_and_eval():
    bn, tb = ds.nn.BatchNorm1d(2, momentum=None).double(), torch.nn.BatchNorm1d(
        2, momentum=None).double()
    rng = np.random.default_rng(0)
    for _ in range(3):
        a = rng.standard_normal((5, 2))
        bn(ds.from_numpy(a.copy()))
        tb(torch.from_numpy(a.copy()))
    assert int(bn.num_batches_tracked) == 3
    np.testing.assert_allclose(bn.running_var.numpy(), tb.running_var.numpy(), rtol=1e-12)
    bn.eval()
    tb.eval()
    a = rng.standard_normal((4, 2))
    np.testing.assert_allclose(bn(ds.from_numpy(a.copy())).detach().numpy(),
                               tb(torch.from_numpy(a.copy())).detach().numpy(), rtol=1e-10)


def test_dropout_module_train_eval_and_from_pretrained():
    d = ds.nn.Dropout(0.5)
    y = d(ds.ones(1000)).numpy()
    assert set(np.unique(y)) <= {0.0, 2.0} and 300 < (y == 0).sum() < 700
    assert (d.eval()(ds.ones(10)).numpy() == 1).all()
    w = ds.randn(4, 3)
    e = ds.nn.Embedding.from_pretrained(w)
    assert not e.weight.requires_grad and e.weight.data_ptr() == w.data_ptr()
    assert ds.nn.Embedding.from_pretrained(w, freeze=False).weight.requires_grad
