"""nn.AdaptiveLogSoftmaxWithLoss against torch on copied weights: forward (output, loss),
gradients, log_prob, predict and errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from nn_reference import Const, compare_module, copy_weights

import deepseek as ds

R = np.random.default_rng(0)


def _make(head_bias=True, div_value=2.0, cutoffs=(4, 10, 15)):
    return lambda lib: lib.nn.AdaptiveLogSoftmaxWithLoss(8, 20, list(cutoffs),
                                                         div_value=div_value,
                                                         head_bias=head_bias)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("make,target", [
    (_make(), np.array([0, 3, 7, 12, 19, 15, 4, 10])),
    (_make(head_bias=False, div_value=4.0, cutoffs=(5,)), np.array([0, 4, 5, 19, 11])),
    (_make(), np.array([1, 2, 3, 0])),  # shortlist only
    (_make(), np.array([16, 17, 18])),  # one cluster only
    (_make(div_value=4.0, cutoffs=(4, 10)), np.array([0, 5, 12, 19])),  # a 0-wide projection
], ids=["clusters", "one_cutoff", "shortlist", "last_cluster", "empty_projection"])
def test_forward_matches_torch(make, target, dtype):
    inp = R.standard_normal((len(target), 8))
    compare_module(make, (inp, Const(target)), dtype=dtype)


def test_unbatched_forward_matches_torch():
    compare_module(_make(), (R.standard_normal(8), Const(np.array(12))))
    compare_module(_make(), (R.standard_normal(8), Const(np.array(2))))


def test_output_is_the_named_pair():
    out = _make()(ds)(ds.randn(3, 8), ds.tensor([0, 5, 19]))
    assert type(out).__name__ == "_ASMoutput" and out._fields == ("output", "loss")
    assert tuple(out.output.shape) == (3,) and tuple(out.loss.shape) == ()


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_log_prob_matches_torch(dtype):
    compare_module(_make(), (R.standard_normal((5, 8)),), dtype=dtype,
                   call=lambda lib, m, x: m.log_prob(x))
    m = _make()(ds)
    total = m.log_prob(ds.randn(4, 8)).exp().sum(1).detach().numpy()
    np.testing.assert_allclose(total, 1.0, rtol=1e-5)


@pytest.mark.parametrize("token_bias", [[0, 0, 0], [6, 0, 0], [9, 9, 9]],
                         ids=["mostly_shortlist", "mixed", "all_clusters"])
def test_predict_matches_torch(token_bias):
    torch.manual_seed(1)
    t_mod = _make()(torch).double()
    with torch.no_grad():
        t_mod.head.bias[4:] += torch.tensor(token_bias, dtype=torch.float64)
    d_mod = _make()(ds).double()
    copy_weights(t_mod, d_mod)
    inp = R.standard_normal((12, 8))
    want = t_mod.predict(torch.from_numpy(inp)).numpy()
    got = d_mod.predict(ds.from_numpy(inp))
    assert got.dtype == ds.int64
    np.testing.assert_array_equal(got.numpy(), want)
    if token_bias[0] == 9:
        assert (want >= 4).all()
    np.testing.assert_array_equal(d_mod.predict(ds.from_numpy(inp[0])).numpy(), want[0])


@pytest.mark.parametrize("cutoffs", [[4, 4], [4, 20], [0, 4], [10, 4], [4.5], []],
                         ids=["repeated", "too_high", "zero", "unsorted", "fraction", "empty"])
def test_bad_cutoffs_raise_like_torch(cutoffs):
    for lib in (torch, ds):
        with pytest.raises(ValueError, match="cutoffs should be a sequence"):
            lib.nn.AdaptiveLogSoftmaxWithLoss(8, 20, cutoffs)


@pytest.mark.parametrize("inp,target,message", [
    ((5, 8), [0, 1, 20, 3, 4], "Target values should be in"),
    ((5, 8), [0, 1, -1, 3, 4], "Target values should be in"),
    ((5, 8), [0, 1, 3, 4], "same size in the batch dimension"),
    ((5, 8), [[0, 1]] * 5, "multi-target not supported"),
    ((5, 8), 1, "0D target tensor expects 1D input"),
    ((2, 5, 8), [0, 1], "1D target tensor expects 2D input"),
], ids=["above", "negative", "batch", "2d_target", "0d_target", "3d_input"])
def test_forward_errors_like_torch(inp, target, message):
    array = R.standard_normal(inp).astype(np.float32)
    for lib in (torch, ds):
        make = torch.from_numpy if lib is torch else ds.from_numpy
        with pytest.raises(RuntimeError, match=message) as info:
            _make()(lib)(make(array.copy()), make(np.array(target)))
        if lib is ds:
            assert str(info.value).startswith("[AdaptiveLogSoftmaxWithLoss]")
