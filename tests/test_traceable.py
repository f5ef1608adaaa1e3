"""The invariant ``ds.jit`` traces by: every array a forward or backward pass wraps into a Tensor is
the output of a registered op (or a view of one, or a leaf that existed before), and every
constant array that reaches an op depends on shapes and attributes only, never on tensor values
or on random draws made outside an op.

Each computation runs twice, with different input values and generator seeds; the arrays that
are neither op outputs nor leaves (constants handed to ops, tensors wrapped outside the dispatch)
must come out identical both times, or a replay would use stale values."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import deepseek as ds
import deepseek.nn.functional as F
from deepseek.ops import REGISTRY
from deepseek.tensor import Tensor


class Audit:
    """Records, while active, the arrays that enter ops or get wrapped without being op outputs."""

    def __init__(self, leaves: list) -> None:
        self.known = {id(t._data): t._data for t in leaves}
        self.foreign: list = []  # (where, copy of the array)

    def is_known(self, a) -> bool:
        while isinstance(a, np.ndarray):
            if id(a) in self.known:
                return True
            a = a.base
        return False

    def note(self, where: str, a) -> None:
        if isinstance(a, np.ndarray) and not self.is_known(a):
            self.foreign.append((where, a.copy()))

    def _forward(self, op):
        original = op.forward

        def forward(xp, *arrays, **attrs):
            for a in arrays:
                self.note(f"constant input of {op.name}", a)
            out = original(xp, *arrays, **attrs)
            self.known[id(out)] = out
            return out

        return forward

    def __enter__(self) -> "Audit":
        self.saved = {name: op.forward for name, op in REGISTRY.items()}
        for op in REGISTRY.values():
            op.forward = self._forward(op)
        self.wrap = Tensor.__dict__["_wrap"]
        original, audit = self.wrap.__func__, self

        def wrap(cls, data, *args):
            caller = sys._getframe(1).f_code
            if caller.co_filename.endswith("_opdef.py") and caller.co_name.startswith("apply"):
                audit.known[id(data)] = data  # the op's output after its dtype cast
            else:
                audit.note(f"Tensor._wrap in {caller.co_name} ({caller.co_filename})", data)
            return original(cls, data, *args)

        Tensor._wrap = classmethod(wrap)
        return self

    def __exit__(self, *exc) -> None:
        Tensor._wrap = self.wrap
        for name, forward in self.saved.items():
            REGISTRY[name].forward = forward


def _t(rng, *shape, grad=True, low=-2.0, high=2.0):
    return ds.tensor(rng.uniform(low, high, shape).astype(np.float32), requires_grad=grad)


def _labels(rng, n, classes):
    return ds.tensor(rng.integers(0, classes, n))


def _module_leaves(module) -> list:
    return list(module.parameters()) + list(module.buffers())


# Each case builds its leaves from ``rng`` and returns them with a function computing a loss.
def _mlp(rng, **ce):
    ds.manual_seed(0)
    model = ds.nn.Sequential(ds.nn.Linear(6, 8), ds.nn.ReLU(), ds.nn.Linear(8, 5))
    x, y = _t(rng, 4, 6, grad=False), _labels(rng, 4, 5)
    return [x, y] + _module_leaves(model), lambda: F.cross_entropy(model(x), y, **ce)


def _conv_bn(rng):
    ds.manual_seed(0)
    model = ds.nn.Sequential(ds.nn.Conv2d(2, 3, 3, padding=1), ds.nn.BatchNorm2d(3),
                             ds.nn.ReLU())
    x = _t(rng, 2, 2, 5, 5)
    return [x] + _module_leaves(model), lambda: model(x).square().mean()


def _attention(rng, **kw):
    q, k, v = _t(rng, 2, 2, 4, 3), _t(rng, 2, 2, 5, 3), _t(rng, 2, 2, 5, 3)
    leaves = [q, k, v]
    mask = kw.pop("mask", None)
    if mask == "bool":
        kw["attn_mask"] = ds.tensor(rng.random((4, 5)) < 0.7)
    elif mask == "float":
        kw["attn_mask"] = _t(rng, 4, 5)
    if mask:
        leaves.append(kw["attn_mask"])
    if kw.get("is_causal"):
        k, v = _t(rng, 2, 2, 4, 3), _t(rng, 2, 2, 4, 3)
        leaves += [k, v]
    return leaves, lambda: F.scaled_dot_product_attention(q, k, v, **kw).square().sum()


def _embedding(rng):
    w, idx = _t(rng, 6, 3), ds.tensor(rng.integers(0, 6, (2, 5)))
    return [w, idx], lambda: (F.embedding(idx, w, padding_idx=2).square().sum()
                              + F.embedding(idx, w, scale_grad_by_freq=True).sum())


def _unary(fn, *shape):
    def case(rng):
        x = _t(rng, *shape)
        return [x], lambda: (fn(x) * ds.arange(x.numel()).reshape(x.shape)).sum()

    return case


def _dropouts(x):
    return (F.dropout(x, 0.3) + F.alpha_dropout(x, 0.2) + F.dropout2d(x, 0.5)
            + F.rrelu(x, training=True))


def _loss(name, target="same", **kw):
    def case(rng):
        x = _t(rng, 4, 5, low=0.05, high=0.95) if name == "binary_cross_entropy" else _t(rng, 4, 5)
        if target == "same":
            t = _t(rng, 4, 5, grad=False, low=0.05, high=0.95)
        elif target == "sign":
            t = ds.tensor(np.sign(rng.uniform(-1, 1, (4, 5))).astype(np.float32))
        elif target == "labels":
            t = _labels(rng, 4, 5)
        fn = getattr(F, name)
        extra = [x, t]
        if name in ("margin_ranking_loss", "cosine_embedding_loss"):
            x2 = _t(rng, 4, 5)
            extra.append(x2)
            t = ds.tensor(np.sign(rng.uniform(-1, 1, 4)).astype(np.float32))
            extra.append(t)
            if name == "margin_ranking_loss":
                return extra, lambda: fn(x[:, 0], x2[:, 0], t)
            return extra, lambda: fn(x, x2, t)
        if name == "triplet_margin_loss":
            x2, x3 = _t(rng, 4, 5), _t(rng, 4, 5)
            return [x, x2, x3], lambda: fn(x, x2, x3)
        if name == "gaussian_nll_loss":
            var = _t(rng, 4, 5, low=0.1, high=1.0)
            return [x, t, var], lambda: fn(x, t, var)
        return extra, lambda: fn(x if name != "nll_loss" else x.log_softmax(1), t, **kw)

    return case


CASES = {
    "mlp_cross_entropy": _mlp,
    "cross_entropy_smoothing_weight": lambda rng: _mlp(rng, label_smoothing=0.1,
                                                       weight=ds.linspace(0.5, 1.5, 5)),
    "cross_entropy_ignore_index": lambda rng: _mlp(rng, ignore_index=1),
    "layer_norm": _unary(lambda x: F.layer_norm(x, (5,), ds.linspace(0.5, 2, 5),
                                                ds.linspace(-1, 1, 5)), 3, 5),
    "softmax": _unary(lambda x: F.softmax(x, -1) + F.log_softmax(x, 0) + x.softmax(1), 3, 5),
    "gelu_tanh": _unary(lambda x: F.gelu(x, approximate="tanh"), 3, 5),
    "gelu_erf": _unary(F.gelu, 3, 5),
    "attention_causal": lambda rng: _attention(rng, is_causal=True),
    "attention_bool_mask": lambda rng: _attention(rng, mask="bool"),
    "attention_float_mask": lambda rng: _attention(rng, mask="float"),
    "attention_dropout": lambda rng: _attention(rng, dropout_p=0.3),
    "embedding": _embedding,
    "conv2d_batch_norm": _conv_bn,
    "dropout_train": _unary(_dropouts, 2, 3, 4, 4),
    "bernoulli": _unary(lambda x: x * ds.bernoulli(x.detach().sigmoid()), 3, 5),
    **{name: _loss(name) for name in ("mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss",
                                      "binary_cross_entropy", "binary_cross_entropy_with_logits",
                                      "kl_div", "poisson_nll_loss", "gaussian_nll_loss",
                                      "triplet_margin_loss")},
    **{name: _loss(name, "sign") for name in ("hinge_embedding_loss", "soft_margin_loss")},
    "multilabel_soft_margin_loss": _loss("multilabel_soft_margin_loss"),
    "cross_entropy_probabilities": _loss("cross_entropy"),
    "nll_loss": _loss("nll_loss", "labels"),
    "margin_ranking_loss": _loss("margin_ranking_loss"),
    "cosine_embedding_loss": _loss("cosine_embedding_loss"),
}


def _foreign_arrays(case, seed: int) -> list:
    leaves, compute = case(np.random.default_rng(seed))
    with Audit(leaves) as audit:
        ds.manual_seed(seed)
        compute().backward()
    return audit.foreign


@pytest.mark.parametrize("name", sorted(CASES))
def test_only_ops_make_tensors(name):
    first, second = (_foreign_arrays(CASES[name], seed) for seed in (0, 1))
    assert [w for w, _ in first] == [w for w, _ in second], f"{name}: runs differ in structure"
    for (where, a), (_, b) in zip(first, second):
        assert a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True), (
            f"{name}: an array made outside a registered op depends on the data or on a draw "
            f"(a replay would reuse it): {where}, shape {a.shape}")


def test_audit_catches_a_blind_spot():
    """A tensor computed from another's data outside any op is reported."""

    def case(rng):
        x = _t(rng, 3)
        return [x], lambda: (x * Tensor._wrap(x._data * 2)).sum()

    first, second = (_foreign_arrays(case, seed) for seed in (0, 1))
    assert any(not np.array_equal(a, b) for (_, a), (_, b) in zip(first, second))


def test_dropout_stream_unchanged():
    """The mask draw consumes the generator as NumPy's ``random(shape)`` would."""
    x = ds.ones(4, 6)
    ds.manual_seed(3)
    out = F.dropout(x, 0.25).numpy()
    keep = np.random.Generator(np.random.PCG64(3)).random((4, 6)) >= 0.25
    np.testing.assert_array_equal(out, keep.astype(np.float32) / np.float32(0.75))
