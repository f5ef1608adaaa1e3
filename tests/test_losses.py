"""Losses, attention and the misc functional ops: errors, special arguments and in-place effects
that the OpInfo rows cannot express."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import deepseek as ds
import deepseek.nn.functional as F


def both(fn, *arrays, grad=True):
    """Run ``fn(lib, *tensors)`` on deepseek and torch; return outputs and input tensors."""
    out = []
    for lib in (ds, torch):
        ins = [lib.tensor(a, requires_grad=grad and a.dtype.kind == "f") for a in arrays]
        out.append((fn(lib, *ins), ins))
    return out


def assert_matches(fn, *arrays, atol=1e-6):
    (a, ins_a), (b, ins_b) = both(fn, *arrays)
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), atol=atol, equal_nan=True)
    if b.requires_grad:
        a.sum().backward()
        b.sum().backward()
        for x, y in zip(ins_a, ins_b):
            if y.grad is not None:
                np.testing.assert_allclose(x.grad.numpy(), y.grad.numpy(), atol=atol,
                                           equal_nan=True)


# ---------------------------------------------------------------- error parity
ERRORS = [
    (lambda lib, x: lib.nn.functional.cross_entropy(x, lib.tensor([0, 1, 5])), IndexError,
     "Target 5 is out of bounds"),
    (lambda lib, x: lib.nn.functional.cross_entropy(x, lib.tensor([0, -1, 2])), IndexError,
     "Target -1 is out of bounds"),
    (lambda lib, x: lib.nn.functional.nll_loss(x, lib.tensor([0, 1, 9])), IndexError,
     "Target 9 is out of bounds"),
    (lambda lib, x: lib.nn.functional.cross_entropy(x, lib.tensor([0, 1, 2, 3])), ValueError,
     r"Expected input batch_size \(3\) to match target batch_size \(4\)"),
    (lambda lib, x: lib.nn.functional.cross_entropy(x, lib.tensor([0.0, 1.0, 2.0])),
     RuntimeError, "expected target dtype to be Long or Byte, but got Float"),
    (lambda lib, x: lib.nn.functional.cross_entropy(x, lib.tensor([0, 1, 2], dtype=lib.int32)),
     RuntimeError, "expected target dtype to be Long or Byte, but got Int"),
    (lambda lib, x: lib.nn.functional.cross_entropy(x, lib.zeros(3, 2, dtype=lib.long)),
     RuntimeError, "0D or 1D target tensor expected, multi-target not supported"),
    (lambda lib, x: lib.nn.functional.cross_entropy(x.reshape(3, 5, 1).expand(3, 5, 2),
                                                    lib.zeros(3, 4, dtype=lib.long)),
     RuntimeError, r"Expected target size \[3, 2\], got \[3, 4\]"),
    (lambda lib, x: lib.nn.functional.cross_entropy(x, lib.zeros(3, 5, dtype=lib.long)),
     RuntimeError, "Expected floating point type for target with class probabilities"),
    (lambda lib, x: lib.nn.functional.cross_entropy(x, x.softmax(1) if lib is torch else
                                                    x.exp(), ignore_index=1),
     RuntimeError, "ignore_index is not supported for floating point target"),
    (lambda lib, x: lib.nn.functional.cross_entropy(x, lib.tensor([0, 1, 2]), reduction="avg"),
     ValueError, "avg is not a valid value for reduction"),
    (lambda lib, x: lib.nn.functional.cross_entropy(x, lib.tensor([0, 1, 2]),
                                                    weight=lib.ones(4)),
     RuntimeError, "weight tensor should be defined either for all 5 classes or no classes"),
    (lambda lib, x: lib.nn.functional.cross_entropy(x, lib.tensor([0, 1, 2]),
                                                    label_smoothing=1.5),
     RuntimeError, "label_smoothing must be between 0.0 and 1.0. Got: 1.5"),
    (lambda lib, x: lib.nn.functional.nll_loss(x, lib.tensor([0, 1, 2]),
                                               weight=lib.ones(5, requires_grad=True)),
     RuntimeError, "not differentiable with respect to argument 'weight'"),
    (lambda lib, x: lib.nn.functional.binary_cross_entropy(x.sigmoid(), x[:, :1].sigmoid()),
     ValueError, "that is different to the input size"),
    (lambda lib, x: lib.nn.functional.binary_cross_entropy(x, x), RuntimeError,
     "all elements of input should be between 0 and 1"),
    (lambda lib, x: lib.nn.functional.binary_cross_entropy_with_logits(x, x[:, :1]),
     ValueError, "must be the same as input size"),
    (lambda lib, x: lib.nn.functional.mse_loss(x, x, reduction="bogus"), ValueError,
     "bogus is not a valid value for reduction"),
    (lambda lib, x: lib.nn.functional.gaussian_nll_loss(x, x, lib.ones(3, 3)), ValueError,
     "var is of incorrect size"),
    (lambda lib, x: lib.nn.functional.gaussian_nll_loss(x, x, -lib.ones(3, 5)), ValueError,
     "var has negative entry/entries"),
    (lambda lib, x: lib.nn.functional.one_hot(lib.tensor([1, 2]), 2), RuntimeError,
     "Class values must be smaller than num_classes."),
    (lambda lib, x: lib.nn.functional.one_hot(lib.tensor([1, -2])), RuntimeError,
     "Class values must be non-negative."),
    (lambda lib, x: lib.nn.functional.one_hot(lib.tensor([1.0])), RuntimeError,
     "one_hot is only applicable to index tensor of type LongTensor."),
    (lambda lib, x: lib.nn.functional.one_hot(lib.tensor([], dtype=lib.long)), RuntimeError,
     "Can not infer total number of classes from empty tensor."),
    (lambda lib, x: lib.nn.functional.embedding(lib.tensor([1, 9]), x), IndexError,
     "index out of range in self"),
    (lambda lib, x: lib.nn.functional.embedding(lib.tensor([1, 2]), x, padding_idx=7),
     AssertionError, "Padding_idx must be within num_embeddings"),
    (lambda lib, x: lib.nn.functional.embedding(lib.tensor([1.0, 2.0]), x), RuntimeError,
     "Expected tensor for argument #1 'indices'"),
    (lambda lib, x: lib.nn.functional.linear(x, lib.ones(4, 4)), RuntimeError,
     r"mat1 and mat2 shapes cannot be multiplied \(3x5 and 4x4\)"),
    (lambda lib, x: lib.nn.functional.scaled_dot_product_attention(
        x, x, x, attn_mask=lib.ones(3, 3, dtype=lib.bool), is_causal=True), RuntimeError,
     "Explicit attn_mask should not be set when is_causal=True"),
    (lambda lib, x: lib.nn.functional.scaled_dot_product_attention(x, x.double(), x),
     RuntimeError, "Expected query, key, and value to have the same dtype"),
    (lambda lib, x: lib.nn.functional.scaled_dot_product_attention(x[0], x[0], x[0]),
     RuntimeError, "at least 2 dimensional"),
    (lambda lib, x: lib.nn.functional.scaled_dot_product_attention(
        x.reshape(1, 3, 1, 5), x.reshape(1, 3, 1, 5)[:, :2], x.reshape(1, 3, 1, 5)[:, :2],
        enable_gqa=True), RuntimeError, "Number of heads in key and value must divide"),
    (lambda lib, x: lib.nn.functional.max_unpool1d(*lib.nn.functional.max_pool1d(
        x, 2, return_indices=True), 2, output_size=[9]), ValueError, "invalid output_size"),
    (lambda lib, x: lib.nn.functional.max_unpool2d(x[None], lib.zeros(1, 3, 4).long(), 2),
     RuntimeError, "Expected shape of indices to be same as that of the input tensor"),
    (lambda lib, x: lib.nn.functional.multi_margin_loss(x, lib.tensor([0, 1, 2]), p=3),
     ValueError, "only p == 1 and p == 2 supported"),
    (lambda lib, x: lib.nn.functional.multi_margin_loss(x, lib.tensor([0, 1])), RuntimeError,
     r"Expected target size \[3\], but got \[2\]"),
    (lambda lib, x: lib.nn.functional.multi_margin_loss(x, lib.tensor([0, 1, 2]),
                                                        weight=lib.ones(5, 1)),
     ValueError, "weight must be one-dimensional"),
    (lambda lib, x: lib.nn.functional.multilabel_margin_loss(x, lib.tensor([0, 1])),
     RuntimeError, "inconsistent target size"),
    (lambda lib, x: lib.nn.functional.triplet_margin_with_distance_loss(x, x, x, margin=0),
     ValueError, "margin must be greater than 0, got 0"),
]


@pytest.mark.parametrize("fn, exc, message", ERRORS, ids=[str(i) for i in range(len(ERRORS))])
def test_errors_match_torch(fn, exc, message):
    x = np.random.default_rng(0).standard_normal((3, 5)).astype(np.float32)
    for lib in (torch, ds):
        with pytest.raises(exc, match=message):
            fn(lib, lib.tensor(x))


# ---------------------------------------------------------------- cross entropy semantics
def test_cross_entropy_all_ignored_mean_is_nan():
    (a, _), (b, _) = both(lambda lib, x: lib.nn.functional.cross_entropy(
        x, lib.tensor([-100, -100])), np.zeros((2, 3)))
    assert math.isnan(a.item()) and math.isnan(b.item())


def test_cross_entropy_masked_logits_stay_finite():
    x = np.array([[0.0, -np.inf, 1.0], [-np.inf, 2.0, -np.inf]])
    assert_matches(lambda lib, x: lib.nn.functional.cross_entropy(x, lib.tensor([0, 1])), x)


def test_cross_entropy_extreme_logits_are_stable():
    x = np.array([[1000.0, -1000.0, 0.0], [-500.0, 800.0, 800.0]], np.float32)
    assert_matches(lambda lib, x: lib.nn.functional.cross_entropy(x, lib.tensor([1, 2])), x)


@pytest.mark.parametrize("size_average, reduce", [(None, False), (False, None), (True, True)])
def test_legacy_reduction_flags(size_average, reduce):
    x, y = np.random.default_rng(1).standard_normal((2, 3, 4))
    for name in ("mse_loss", "l1_loss", "smooth_l1_loss"):
        assert_matches(lambda lib, x, y, _n=name: getattr(lib.nn.functional, _n)(
            x, y, size_average=size_average, reduce=reduce), x, y)
    assert_matches(lambda lib, x: lib.nn.functional.cross_entropy(
        x, lib.tensor([0, 3, 1]), size_average=size_average, reduce=reduce), x)


def test_cross_entropy_double_backward():
    rng = np.random.default_rng(2)
    x, t = rng.standard_normal((3, 4)), np.array([0, 3, 1])
    grads = []
    for lib in (ds, torch):
        xt = lib.tensor(x, requires_grad=True)
        loss = lib.nn.functional.cross_entropy(xt, lib.tensor(t), label_smoothing=0.1)
        (g,) = (ds.autograd if lib is ds else torch.autograd).grad(loss, xt, create_graph=True)
        (g * g).sum().backward()
        grads.append(xt.grad.numpy())
    np.testing.assert_allclose(*grads, atol=1e-10)


def test_class_losses_are_exported():
    assert ds.binary_cross_entropy_with_logits is F.binary_cross_entropy_with_logits
    assert ds.kl_div is F.kl_div and ds.pdist is F.pdist
    assert ds.cosine_similarity is F.cosine_similarity


# ---------------------------------------------------------------- attention
def _reference_attention(q, k, v, keep, p):
    s = q @ k.mT / math.sqrt(q.shape[-1])
    w = (s - s.logsumexp(-1, keepdim=True)).exp()
    return (w * keep / (1 - p)) @ v


def test_sdpa_dropout_uses_default_generator():
    rng = np.random.default_rng(3)
    q, k, v = (ds.tensor(rng.standard_normal((2, 3, 4)), requires_grad=True) for _ in range(3))
    ds.manual_seed(7)
    out = F.scaled_dot_product_attention(q, k, v, dropout_p=0.4)
    ds.manual_seed(7)
    keep = (ds.rand(2, 3, 3, dtype=ds.float32) >= 0.4).double()
    grads = ds.autograd.grad(out.sum(), (q, k, v))
    ref = _reference_attention(q, k, v, keep, 0.4)
    ref_grads = ds.autograd.grad(ref.sum(), (q, k, v))
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), atol=1e-12)
    for a, b in zip(grads, ref_grads):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-12)
    assert 0 < (keep.numpy() == 0).mean() < 1


def test_sdpa_fully_masked_rows_give_zeros_and_zero_grads():
    rng = np.random.default_rng(4)
    mask = np.ones((4, 4), bool)
    mask[1] = False
    q, k, v = rng.standard_normal((3, 2, 4, 5))
    assert_matches(lambda lib, q, k, v: lib.nn.functional.scaled_dot_product_attention(
        q, k, v, attn_mask=lib.tensor(mask)), q, k, v)


def test_sdpa_float16_runs_in_float16():
    q = ds.randn(2, 3, 4).half()
    out = F.scaled_dot_product_attention(q, q, q)
    assert out.dtype == ds.float16


# ---------------------------------------------------------------- embeddings
def test_embedding_max_norm_renormalizes_rows_in_place():
    weight = np.random.default_rng(5).standard_normal((6, 3)) * 3
    idx = np.array([[1, 2, 2], [0, 5, 2]])
    outs = []
    for lib in (ds, torch):
        w = lib.tensor(weight, requires_grad=True)
        out = lib.nn.functional.embedding(lib.tensor(idx), w, max_norm=1.0, norm_type=1.5)
        out.sum().backward()
        outs.append((out.detach().numpy(), w.detach().numpy(), w.grad.numpy()))
    for a, b in zip(*outs):
        np.testing.assert_allclose(a, b, atol=1e-12)
    assert np.allclose(outs[0][1][3], weight[3]), "rows not looked up stay as they were"


def test_embedding_padding_row_gets_no_gradient():
    w = ds.randn(4, 2, requires_grad=True)
    F.embedding(ds.tensor([0, 1, 1, 3]), w, padding_idx=1).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [[1, 1], [0, 0], [0, 0], [1, 1]])


def test_embedding_bag_errors():
    w = ds.randn(4, 2)
    with pytest.raises(ValueError, match="offsets has to be None"):
        F.embedding_bag(ds.tensor([[0, 1]]), w, ds.tensor([0]))
    with pytest.raises(NotImplementedError, match="per_sample_weights"):
        F.embedding_bag(ds.tensor([[0, 1]]), w, mode="mean", per_sample_weights=ds.ones(1, 2))
    with pytest.raises(ValueError, match="mode has to be one of sum, mean or max"):
        F.embedding_bag(ds.tensor([[0, 1]]), w, mode="median")
    for offsets, last, message in [([1], False, "offsets\\[0\\] has to be 0"),
                                   ([0, 3], False, "can not be greater than input's length 2"),
                                   ([0, 3], True, "can not be greater than input's length 2"),
                                   ([0, 2, 1], False, "non-decreasing")]:
        with pytest.raises(RuntimeError, match=message):
            F.embedding_bag(ds.tensor([1, 2]), w, ds.tensor(offsets), include_last_offset=last)
    assert F.embedding_bag(ds.tensor([1, 2]), w, ds.tensor([], dtype=ds.int64)).shape == (0, 2)


@pytest.mark.parametrize("shape", [(4, 5), (5,)])
def test_margin_losses_weighted_and_unbatched(shape):
    """multi_margin_loss with class weights, both margin losses on one unbatched sample."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape)
    y = rng.integers(0, 5, shape[:-1])
    w = rng.uniform(0.5, 2.0, 5)
    for reduction in ("none", "sum", "mean"):
        assert_matches(lambda lib, a, t: lib.nn.functional.multi_margin_loss(
            a, t, p=2, margin=0.7, weight=lib.tensor(w), reduction=reduction), x, y)
    labels = np.array([[4, 1, -1, 2, 3], [0, 0, 2, -1, -1], [-1, 1, 2, 3, 4],
                       [0, 1, 2, 3, 4]])[: shape[0] if len(shape) == 2 else 1].reshape(shape)
    assert_matches(lambda lib, a, t: lib.nn.functional.multilabel_margin_loss(
        a, t, reduction="none"), x, labels)


@pytest.mark.parametrize("case", ["cross_entropy", "nll_loss", "smoothed_double", "spatial"])
def test_all_ignored_mean_is_nan_with_zero_gradients_as_torch(case):
    x = np.random.default_rng(0).standard_normal((3, 4))
    t = np.full(3, -100)

    def run(lib):
        a = lib.tensor(x.T[None].copy() if case == "spatial" else x, requires_grad=True)
        f = lib.nn.functional
        target = lib.tensor(t[None] if case == "spatial" else t)
        loss = (f.nll_loss(a.log_softmax(1), target) if case == "nll_loss" else
                f.cross_entropy(a, target, label_smoothing=0.1 if case == "smoothed_double"
                                else 0.0))
        (g,) = lib.autograd.grad(loss, a, create_graph=case == "smoothed_double")
        return np.isnan(loss.item()), g.detach().numpy()

    ours, theirs = run(ds), run(torch)
    assert ours[0] and theirs[0]
    np.testing.assert_array_equal(ours[1], theirs[1])
