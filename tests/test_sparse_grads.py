"""Sparse COO gradients from nn.Embedding / F.embedding / EmbeddingBag(sparse=True), and how the
optimizers, zero_grad and gradient clipping treat them, against PyTorch on the same weights."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import deepseek as ds
import deepseek.nn.functional as F

pytestmark = pytest.mark.filterwarnings("ignore:Sparse invariant checks")  # torch's Adagrad

INDICES = [[1, 2, 1], [0, 5, 1]]


def _weights(seed=0, shape=(6, 3)):
    w = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    return ds.tensor(w, requires_grad=True), torch.tensor(w, requires_grad=True)


def _check_sparse(name, ours, theirs, rtol=1e-6):
    assert ours.is_sparse, f"{name}: deepseek's gradient is dense"
    assert theirs.is_sparse
    assert tuple(ours.shape) == tuple(theirs.shape), name
    a, b = ours.coalesce(), theirs.coalesce()
    np.testing.assert_array_equal(a.indices().numpy(), b.indices().numpy(), err_msg=name)
    assert a.values().dtype.name == str(b.values().dtype).removeprefix("torch."), name
    np.testing.assert_allclose(a.values().detach().numpy(), b.values().numpy(), rtol=rtol,
                               atol=1e-7, err_msg=f"{name} (rtol {rtol})")


def _close(name, ours, theirs, rtol=1e-6):
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=rtol,
                               atol=1e-7, err_msg=f"{name} (rtol {rtol})")


# ---------------------------------------------------------------- the gradients
@pytest.mark.parametrize("padding_idx", [None, 1])
def test_embedding_sparse_grad_matches_torch(padding_idx):
    w, tw = _weights()
    g = np.random.default_rng(1).standard_normal((2, 3, 3)).astype(np.float32)
    F.embedding(ds.tensor(INDICES), w, padding_idx=padding_idx, sparse=True).backward(
        ds.tensor(g))
    TF.embedding(torch.tensor(INDICES), tw, padding_idx=padding_idx, sparse=True).backward(
        torch.tensor(g))
    _check_sparse(f"embedding padding_idx={padding_idx}", w.grad, tw.grad)
    assert w.grad._nnz() == tw.grad._nnz()  # uncoalesced, padding entries left out


def test_embedding_module_sparse_repeated_indices_accumulate():
    torch.manual_seed(0)
    ref = torch.nn.Embedding(6, 3, sparse=True)
    emb = ds.nn.Embedding(6, 3, sparse=True)
    emb.weight.data = ds.tensor(ref.weight.detach().numpy())
    for _ in range(2):  # two backwards: the sparse gradients accumulate
        emb(ds.tensor(INDICES)).square().sum().backward()
        ref(torch.tensor(INDICES)).square().sum().backward()
    _check_sparse("Embedding(sparse=True) twice", emb.weight.grad, ref.weight.grad)


def test_embedding_sparse_scale_grad_by_freq_raises_as_torch():
    w, tw = _weights()
    out = TF.embedding(torch.tensor(INDICES), tw, scale_grad_by_freq=True, sparse=True)
    with pytest.raises(RuntimeError, match="scale_grad_by_freq not supported with sparse"):
        out.sum().backward()
    out = F.embedding(ds.tensor(INDICES), w, scale_grad_by_freq=True, sparse=True)
    with pytest.raises(RuntimeError, match="scale_grad_by_freq not supported with sparse"):
        out.sum().backward()


@pytest.mark.parametrize("mode", ["sum", "mean"])
@pytest.mark.parametrize("padding_idx", [None, 3])
def test_embedding_bag_sparse_grad_matches_torch(mode, padding_idx):
    w, tw = _weights()
    idx, offsets = [1, 2, 1, 0, 5, 3], [0, 2, 2, 5]
    g = np.random.default_rng(2).standard_normal((4, 3)).astype(np.float32)
    F.embedding_bag(ds.tensor(idx), w, ds.tensor(offsets), mode=mode, sparse=True,
                    padding_idx=padding_idx).backward(ds.tensor(g))
    TF.embedding_bag(torch.tensor(idx), tw, torch.tensor(offsets), mode=mode, sparse=True,
                     padding_idx=padding_idx).backward(torch.tensor(g))
    _check_sparse(f"embedding_bag mode={mode} padding_idx={padding_idx}", w.grad, tw.grad)


def test_embedding_bag_module_sparse_2d_per_sample_weights():
    w, tw = _weights()
    psw = np.random.default_rng(3).standard_normal((2, 2)).astype(np.float32)
    bag = ds.nn.EmbeddingBag.from_pretrained(w, freeze=False, mode="sum", sparse=True)
    ref = torch.nn.EmbeddingBag.from_pretrained(tw, freeze=False, mode="sum", sparse=True)
    bag(ds.tensor([[1, 2], [3, 3]]), per_sample_weights=ds.tensor(psw)).sum().backward()
    ref(torch.tensor([[1, 2], [3, 3]]), per_sample_weights=torch.tensor(psw)).sum().backward()
    _check_sparse("EmbeddingBag sum 2-d per_sample_weights", bag.weight.grad, ref.weight.grad)


def test_embedding_bag_sparse_max_raises_as_torch():
    w, tw = _weights()
    with pytest.raises(ValueError, match="max mode does not support sparse weights"):
        TF.embedding_bag(torch.tensor([[1, 2]]), tw, mode="max", sparse=True)
    with pytest.raises(ValueError, match="max mode does not support sparse weights"):
        F.embedding_bag(ds.tensor([[1, 2]]), w, mode="max", sparse=True)


# ---------------------------------------------------------------- optimizers
def _run(make_ours, make_theirs, steps=3, seed=0):
    """A few steps on shifting index batches; returns both weights and optimizers."""
    w, tw = _weights(seed)
    opt, topt = make_ours([w]), make_theirs([tw])
    for s in range(steps):
        idx = [[(i + s) % 6 for i in row] for row in INDICES]
        opt.zero_grad()
        topt.zero_grad()
        F.embedding(ds.tensor(idx), w, sparse=True).square().sum().backward()
        TF.embedding(torch.tensor(idx), tw, sparse=True).square().sum().backward()
        opt.step()
        topt.step()
    return w, tw, opt, topt


SGD_CASES = [dict(), dict(maximize=True), dict(momentum=0.9), dict(momentum=0.9, dampening=0.3),
             dict(momentum=0.9, nesterov=True)]


@pytest.mark.parametrize("kwargs", SGD_CASES, ids=str)
def test_sgd_sparse_matches_torch(kwargs):
    w, tw, opt, topt = _run(lambda p: ds.optim.SGD(p, lr=0.1, **kwargs),
                            lambda p: torch.optim.SGD(p, lr=0.1, **kwargs))
    _close(f"SGD {kwargs}", w, tw)
    if kwargs.get("momentum"):
        buf, tbuf = opt.state[w]["momentum_buffer"], topt.state[tw]["momentum_buffer"]
        _check_sparse(f"SGD {kwargs} momentum_buffer", buf, tbuf)


def test_sgd_sparse_after_dense_momentum_matches_torch():
    w, tw = _weights()
    opt, topt = ds.optim.SGD([w], lr=0.1, momentum=0.9), torch.optim.SGD([tw], lr=0.1,
                                                                        momentum=0.9)
    w.square().sum().backward()
    tw.square().sum().backward()
    opt.step()
    topt.step()
    opt.zero_grad()
    topt.zero_grad()
    F.embedding(ds.tensor(INDICES), w, sparse=True).sum().backward()
    TF.embedding(torch.tensor(INDICES), tw, sparse=True).sum().backward()
    opt.step()
    topt.step()
    _close("SGD dense then sparse", w, tw)
    assert not opt.state[w]["momentum_buffer"].is_sparse


def test_sgd_sparse_weight_decay_raises_as_torch():
    message = r"add\(sparse, dense\) is not supported"
    with pytest.raises(RuntimeError, match=message):
        _run(lambda p: ds.optim.SGD(p, lr=0.1, weight_decay=0.1),
             lambda p: torch.optim.SGD(p, lr=0.1), steps=1)
    with pytest.raises(RuntimeError, match=message):
        _run(lambda p: ds.optim.SGD(p, lr=0.1),
             lambda p: torch.optim.SGD(p, lr=0.1, weight_decay=0.1), steps=1)


@pytest.mark.parametrize("kwargs", [dict(), dict(lr_decay=0.1), dict(maximize=True),
                                    dict(initial_accumulator_value=0.5, eps=1e-3)], ids=str)
def test_adagrad_sparse_matches_torch(kwargs):
    w, tw, opt, topt = _run(lambda p: ds.optim.Adagrad(p, lr=0.1, **kwargs),
                            lambda p: torch.optim.Adagrad(p, lr=0.1, **kwargs))
    _close(f"Adagrad {kwargs}", w, tw)
    _close(f"Adagrad {kwargs} sum", opt.state[w]["sum"], topt.state[tw]["sum"])


def test_adagrad_sparse_weight_decay_raises_as_torch():
    message = "weight_decay option is not compatible with sparse gradients"
    for make_ours, make_theirs in [
            (lambda p: ds.optim.Adagrad(p, weight_decay=0.1), lambda p: torch.optim.Adagrad(p)),
            (lambda p: ds.optim.Adagrad(p), lambda p: torch.optim.Adagrad(p, weight_decay=0.1))]:
        with pytest.raises(RuntimeError, match=message):
            _run(make_ours, make_theirs, steps=1)


@pytest.mark.parametrize("kwargs", [dict(), dict(maximize=True, betas=(0.8, 0.99))], ids=str)
def test_sparse_adam_with_embedding_matches_torch(kwargs):
    w, tw, opt, topt = _run(lambda p: ds.optim.SparseAdam(p, lr=0.1, **kwargs),
                            lambda p: torch.optim.SparseAdam(p, lr=0.1, **kwargs))
    _close(f"SparseAdam {kwargs}", w, tw)


def test_lbfgs_sparse_grad_matches_torch():
    def closure(opt, w, embedding, idx):
        def run():
            opt.zero_grad()
            loss = (embedding(idx, w, sparse=True) - 1).square().sum()
            loss.backward()
            return loss
        return run

    w, tw = _weights()
    opt, topt = ds.optim.LBFGS([w], lr=0.1, max_iter=3), torch.optim.LBFGS([tw], lr=0.1,
                                                                          max_iter=3)
    opt.step(closure(opt, w, F.embedding, ds.tensor(INDICES)))
    topt.step(closure(topt, tw, TF.embedding, torch.tensor(INDICES)))
    _close("LBFGS", w, tw, rtol=1e-5)


REFUSING = ["Adam", "AdamW", "Adamax", "NAdam", "RAdam", "RMSprop", "Rprop", "Adadelta", "ASGD",
            "Adafactor", "Muon"]


@pytest.mark.parametrize("name", REFUSING)
def test_dense_only_optimizers_raise_torchs_error(name):
    w, tw = _weights()
    F.embedding(ds.tensor(INDICES), w, sparse=True).sum().backward()
    TF.embedding(torch.tensor(INDICES), tw, sparse=True).sum().backward()
    with pytest.raises(RuntimeError) as theirs:
        getattr(torch.optim, name)([tw]).step()
    with pytest.raises(RuntimeError) as ours:
        getattr(ds.optim, name)([w]).step()
    assert str(ours.value) == str(theirs.value), name
    _close(f"{name} left the weight alone", w, tw)


@pytest.mark.parametrize("set_to_none", [True, False])
def test_zero_grad_sparse_matches_torch(set_to_none):
    w, tw = _weights()
    F.embedding(ds.tensor(INDICES), w, sparse=True).sum().backward()
    TF.embedding(torch.tensor(INDICES), tw, sparse=True).sum().backward()
    ds.optim.SGD([w]).zero_grad(set_to_none=set_to_none)
    torch.optim.SGD([tw]).zero_grad(set_to_none=set_to_none)
    if set_to_none:
        assert w.grad is None and tw.grad is None
        return
    assert w.grad.is_sparse and w.grad._nnz() == tw.grad._nnz() == 0
    np.testing.assert_array_equal(w.grad.to_dense().numpy(), tw.grad.to_dense().numpy())


# ---------------------------------------------------------------- gradient clipping
def _sparse_grads():
    w, tw = _weights()
    g = 5 * np.random.default_rng(4).standard_normal((2, 3, 3)).astype(np.float32)
    F.embedding(ds.tensor(INDICES), w, sparse=True).backward(ds.tensor(g))
    TF.embedding(torch.tensor(INDICES), tw, sparse=True).backward(torch.tensor(g))
    return w, tw


@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf])
def test_clip_grad_norm_sparse_raises_as_torch(norm_type):
    w, tw = _sparse_grads()
    with pytest.raises(NotImplementedError, match="linalg_vector_norm"):
        torch.nn.utils.clip_grad_norm_([tw], 1.0, norm_type)
    with pytest.raises(NotImplementedError, match="linalg_vector_norm"):
        ds.nn.utils.clip_grad_norm_([w], 1.0, norm_type)


def test_clip_grad_value_sparse_raises_as_torch():
    w, tw = _sparse_grads()
    with pytest.raises(NotImplementedError, match="clamp"):
        torch.nn.utils.clip_grad_value_([tw], 1.0)
    with pytest.raises(NotImplementedError, match="clamp"):
        ds.nn.utils.clip_grad_value_([w], 1.0)


def test_clip_grads_with_norm_scales_sparse_values_as_torch():
    w, tw = _sparse_grads()
    torch.nn.utils.clip_grads_with_norm_([tw], 1.0, torch.tensor(100.0))
    ds.nn.utils.clip_grads_with_norm_([w], 1.0, ds.tensor(100.0))
    assert w.grad.is_sparse and not w.grad.is_coalesced()
    _check_sparse("clip_grads_with_norm_", w.grad, tw.grad)


def test_sparse_and_dense_gradients_of_one_weight_add_up_dense_like_torch():
    grads = []
    for lib in (ds, torch):
        e = lib.nn.Embedding(5, 3, sparse=True)
        with lib.no_grad():
            e.weight.copy_(lib.tensor(np.arange(15.0).reshape(5, 3)))
        idx = lib.tensor([1, 2, 1])
        (e(idx).sum() + (e.weight * 2).sum()).backward()  # both in one backward (tied weights)
        first = e.weight.grad
        e.weight.grad = lib.ones(5, 3)
        e(idx).sum().backward()  # a dense .grad, then a sparse gradient arrives
        grads.append((first.is_sparse, first.numpy().tolist(), e.weight.grad.is_sparse,
                      e.weight.grad.numpy().tolist()))
    assert grads[0] == grads[1]
