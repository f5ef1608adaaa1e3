"""``F.linear_cross_entropy``, ``nn.LinearCrossEntropyLoss`` and ``LinearCrossEntropyOptions``
against torch: the reference path, the chunked path (values, gradients, fallbacks, memory),
the options' validation and chunk sizes, and the errors."""

from __future__ import annotations

import tracemalloc
import warnings

import numpy as np
import pytest
import torch
from nn_reference import Const, compare_module

import deepseek as ds
from deepseek.nn.functional import _linear_cross_entropy as lce

R = np.random.default_rng(0)
N, D, C = 10, 4, 7
TOL = {"float64": 1e-12, "float32": 1e-5}


def _tensor(lib, a, grad):
    if a is None:
        return None
    t = lib.tensor(a)
    return t.requires_grad_() if grad and t.is_floating_point() else t


def run(lib, x, w, t, *, b=None, cw=None, options=None, **kw):
    """The loss and the gradients of input, linear_weight, linear_bias under a random upstream
    gradient (the same for both libraries)."""
    xs, ws, bs = (_tensor(lib, a, True) for a in (x, w, b))
    opts = None if options is None else lib.nn.LinearCrossEntropyOptions(**options)
    loss = lib.nn.functional.linear_cross_entropy(
        xs, ws, _tensor(lib, t, False), linear_bias=bs, weight=_tensor(lib, cw, False),
        options=opts, **kw)
    # small integers: exact in every dtype, so low-precision runs share the upstream exactly
    g = np.random.default_rng(1).integers(1, 5, tuple(loss.shape)).astype(x.dtype)
    (loss * lib.tensor(g)).sum().backward()
    grads = [None if a is None else a.grad for a in (xs, ws, bs)]
    return [loss.detach().numpy()] + [None if g is None else g.numpy() for g in grads]


def assert_close(got, want, what, dtype="float64"):
    for name, a, b in zip(("loss", "grad input", "grad weight", "grad bias"), got, want):
        assert (a is None) == (b is None), f"{what}: {name} is {a} vs {b}"
        if a is not None:
            assert a.shape == b.shape, f"{what}: {name} shape {a.shape} != {b.shape}"
            np.testing.assert_allclose(a, b, rtol=TOL[dtype], atol=TOL[dtype], equal_nan=True,
                                       err_msg=f"{what}: {name} (tol {TOL[dtype]})")


def index_target(*shape, ignore=()):
    t = R.integers(0, C, shape)
    t.flat[list(ignore)] = -100
    return t


def prob_target(*shape):
    p = R.random(shape)
    return p / p.sum(1, keepdims=True)


x2, w2, b1 = R.standard_normal((N, D)), R.standard_normal((C, D)), R.standard_normal(C)
wk, bk = R.standard_normal((C, 3, 2, D)), R.standard_normal((C, 3, 2))

REFERENCE = [  # (id, x, w, target, b, class weight, kwargs)
    ("index", x2, w2, index_target(N, ignore=[2]), None, None, {}),
    ("index_bias_sum", x2, w2, index_target(N), b1, None, {"reduction": "sum"}),
    ("index_none_weight", x2, w2, index_target(N, ignore=[1]), b1, R.random(C),
     {"reduction": "none"}),
    ("index_ignore_smooth", x2, w2, index_target(N), b1, R.random(C),
     {"ignore_index": 3, "label_smoothing": 0.2}),
    ("prob", x2, w2, prob_target(N, C), b1, None, {}),
    ("prob_weight_smooth_none", x2, w2, prob_target(N, C), None, R.random(C),
     {"reduction": "none", "label_smoothing": 0.1}),
    ("kdim_index", x2, wk, index_target(N, 3, 2, ignore=[4]), bk, R.random(C), {}),
    ("kdim_index_none", x2, wk, index_target(N, 3, 2), None, None,
     {"reduction": "none", "label_smoothing": 0.3}),
    ("kdim_prob", x2, wk, prob_target(N, C, 3, 2), bk, None, {"reduction": "sum"}),
    ("unbatched_index", x2[0], w2, np.array(4), b1, None, {}),
    ("unbatched_index_none", x2[0], w2, np.array(4), b1, None, {"reduction": "none"}),
    ("unbatched_prob", x2[0], w2, prob_target(1, C)[0], None, R.random(C), {}),
    ("uint8", x2, w2, index_target(N).astype(np.uint8), b1, None, {}),
]


@pytest.mark.parametrize("x,w,t,b,cw,kw", [c[1:] for c in REFERENCE], ids=[c[0] for c in REFERENCE])
def test_reference_matches_torch(x, w, t, b, cw, kw):
    assert_close(run(ds, x, w, t, b=b, cw=cw, **kw), run(torch, x, w, t, b=b, cw=cw, **kw),
                 "reference")


CHUNKED = [  # (id, target, bias, class weight, ignore_index, options)
    ("one_chunk", index_target(N, ignore=[3]), b1, None, None, {"chunking_method": None}),
    ("rows_1", index_target(N, ignore=[0, 9]), None, R.random(C), None,
     {"batch_chunk_size": 1}),
    ("rows_3_ignore", index_target(N), b1, R.random(C), 2, {"batch_chunk_size": 3}),
    ("aspect_ratio", index_target(N), b1, None, None, {"chunking_method": "aspect_ratio:2"}),
    ("auto", index_target(N, ignore=[5]), None, None, None, {}),
]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("t,b,cw,ignore,options", [c[1:] for c in CHUNKED],
                         ids=[c[0] for c in CHUNKED])
def test_chunked_matches_reference_and_torch(reduction, t, b, cw, ignore, options):
    if ignore is not None:
        t = np.where(t < 0, ignore, t)
    kw = {"reduction": reduction, "ignore_index": ignore}
    got = run(ds, x2, w2, t, b=b, cw=cw, options=options, **kw)
    assert_close(got, run(ds, x2, w2, t, b=b, cw=cw, **kw), "chunked vs reference")
    assert_close(got, run(torch, x2, w2, t, b=b, cw=cw, **kw), "chunked vs torch")


@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_chunked_float32_and_unbatched(reduction):
    x, w, b = (a.astype(np.float32) for a in (x2, w2, b1))
    t = index_target(N, ignore=[4])
    opts = {"batch_chunk_size": 4}
    assert_close(run(ds, x, w, t, b=b, options=opts, reduction=reduction),
                 run(torch, x, w, t, b=b, reduction=reduction), "float32", "float32")
    assert_close(run(ds, x[1], w, np.array(5), b=b, options=opts, reduction=reduction),
                 run(torch, x[1], w, np.array(5), b=b, reduction=reduction), "unbatched",
                 "float32")


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_chunked_low_precision_accumulates_in_float32(dtype, reduction):
    np_dtype = getattr(ds, dtype).np
    x, w, b = (a.astype(np_dtype) for a in (x2, w2, b1))
    t = index_target(N, ignore=[1])
    got = run(ds, x, w, t, b=b, options={"batch_chunk_size": 3}, reduction=reduction)
    assert all(a.dtype == np_dtype for a in got)
    # float64 from the same rounded inputs: only the results' own rounding may differ
    want = run(ds, *(a.astype(np.float64) for a in (x, w)), t, b=b.astype(np.float64),
               reduction=reduction)
    eps = float(ds.finfo(getattr(ds, dtype)).eps)
    for name, a, e in zip(("loss", "grad input", "grad weight", "grad bias"), got, want):
        np.testing.assert_allclose(a.astype(np.float64), e, rtol=eps,
                                   atol=eps * np.abs(e).max(), err_msg=f"{dtype} {name}")


@pytest.mark.parametrize("case", ["label_smoothing", "prob", "uint8", "kdim"])
def test_unsupported_options_fall_back_with_torch_warning(case):
    t, w, kw = index_target(N), w2, {}
    if case == "label_smoothing":
        kw = {"label_smoothing": 0.1}
    elif case == "prob":
        t = prob_target(N, C)
    elif case == "uint8":
        t = t.astype(np.uint8)
    else:
        w, t = wk, index_target(N, 3, 2)
    with pytest.warns(UserWarning, match="``options`` ignored; chunked path needs"):
        got = run(ds, x2, w, t, options={}, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = run(torch, x2, w, t, options={}, **kw)
    assert_close(got, want, f"fallback {case}")


def test_all_ignored_mean_is_nan_with_zero_gradients_as_torch():
    t = np.full(N, -100)
    got = run(ds, x2, w2, t, b=b1, options={"batch_chunk_size": 4})
    assert np.isnan(got[0])
    assert_close(got, run(torch, x2, w2, t, b=b1), "all ignored")


def test_chunked_double_backward_raises():
    x, w = ds.tensor(x2, requires_grad=True), ds.tensor(w2, requires_grad=True)
    for reduction in ("mean", "none"):
        loss = ds.nn.functional.linear_cross_entropy(
            x, w, ds.tensor(index_target(N)), reduction=reduction,
            options=ds.nn.LinearCrossEntropyOptions())
        with pytest.raises(RuntimeError, match=r"\[linear_cross_entropy\] create_graph=True"):
            ds.autograd.grad(loss.sum(), x, create_graph=True)


@pytest.mark.parametrize("reduction,allow", [("mean", False), ("sum", True), ("none", False)])
def test_chunked_second_backward(reduction, allow):
    x = ds.tensor(x2, requires_grad=True)
    opts = ds.nn.LinearCrossEntropyOptions(allow_retain_graph=allow, batch_chunk_size=3)
    loss = ds.nn.functional.linear_cross_entropy(x, ds.tensor(w2), ds.tensor(index_target(N)),
                                                 reduction=reduction, options=opts).sum()
    loss.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    if reduction == "mean" and not allow:  # the gradients were handed over, scaled in place
        with pytest.raises(RuntimeError, match="allow_retain_graph=True"):
            loss.backward()
        return
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * first, rtol=1e-14)


def test_chunked_no_grad_and_frozen_weight():
    x, w = ds.tensor(x2), ds.tensor(w2, requires_grad=True)
    t = ds.tensor(index_target(N))
    opts = ds.nn.LinearCrossEntropyOptions(batch_chunk_size=3)
    with ds.no_grad():
        assert ds.nn.functional.linear_cross_entropy(x, w, t, options=opts).grad_fn is None
    ds.nn.functional.linear_cross_entropy(x, w, t, options=opts).backward()
    assert x.grad is None and w.grad is not None


def test_chunked_respects_batch_chunk_size(monkeypatch):
    seen = []
    chunk = lce._chunk
    monkeypatch.setattr(lce, "_chunk", lambda x, *a: seen.append(x.shape[0]) or chunk(x, *a))
    run(ds, x2, w2, index_target(N), options={"batch_chunk_size": 4})
    assert seen == [4, 4, 2]


@pytest.mark.parametrize("options,n,d,c,dtype", [
    ({}, 4096, 64, 8192, "float32"),
    ({}, 4096, 64, 8192, "bfloat16"),
    ({"chunking_method": "aspect_ratio:4"}, 1000, 16, 50, "float64"),
    ({"chunking_method": "aspect_ratio"}, 3, 16, 500, "float16"),
    ({"chunking_method": None}, 37, 4, 9, "float32"),
    ({"chunking_method": None, "batch_chunk_size": 5}, 37, 4, 9, "float32"),
    ({"batch_chunk_size": 50}, 37, 4, 9, "float32"),
])
def test_chunk_size_and_acc_dtype_match_torch(options, n, d, c, dtype):
    want = torch.nn.LinearCrossEntropyOptions(**options)._adjust(
        n, d, c, getattr(torch, dtype), torch.device("cpu"))
    rows, acc = lce._plan(ds.nn.LinearCrossEntropyOptions(**options), n, d, c,
                          getattr(ds, dtype).np)
    assert rows == want.batch_chunk_size
    assert acc == getattr(ds, str(want.acc_dtype).split(".")[1]).np


def test_chunked_peak_memory_is_well_below_the_logits():
    n, c, d = 4096, 8192, 64
    x = ds.tensor(R.standard_normal((n, d), dtype=np.float32), requires_grad=True)
    w = ds.tensor(R.standard_normal((c, d), dtype=np.float32) * 0.1, requires_grad=True)
    t = ds.tensor(R.integers(0, c, n))

    def peak(options):
        tracemalloc.start()
        try:
            ds.nn.functional.linear_cross_entropy(x, w, t, options=options).backward()
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    logits = n * c * 4
    assert peak(None) >= logits  # the measure sees NumPy's buffers: the reference holds them
    # 32 chunks: torch's CPU default (16 rows, 256 chunks) is as small but slower on a busy host
    chunked = peak(ds.nn.LinearCrossEntropyOptions(batch_chunk_size=128))
    assert chunked < logits / 8, f"chunked peak {chunked} bytes vs logits {logits}"


@pytest.mark.parametrize("kwargs", [
    {"chunking_method": "bad"}, {"chunking_method": "aspect_ratio:0"},
    {"chunking_method": "aspect_ratio:1.5"}, {"chunking_method": "fixed"},
    {"acc_policy": "bad"}, {"acc_policy": None}, {"batch_chunk_size": 0},
    {"batch_chunk_size": -1}, {"batch_chunk_size": 2.5},
])
def test_options_validation_matches_torch(kwargs):
    with pytest.raises(ValueError) as want:
        torch.nn.LinearCrossEntropyOptions(**kwargs)
    with pytest.raises(ValueError) as got:
        ds.nn.LinearCrossEntropyOptions(**kwargs)
    assert str(got.value) == str(want.value)


def test_options_fields_and_values():
    opts = ds.nn.LinearCrossEntropyOptions()
    assert [f for f in opts.__dataclass_fields__] == [
        f for f in torch.nn.LinearCrossEntropyOptions.__dataclass_fields__]
    assert opts == ds.nn.LinearCrossEntropyOptions() and hash(opts) is not None
    with pytest.raises(AttributeError):
        opts.batch_chunk_size = 3
    for policy in ("auto", "accurate", "balanced", "compact"):
        ds.nn.LinearCrossEntropyOptions(acc_policy=policy, chunking_method="aspect_ratio:8")
    with pytest.raises(ValueError, match="acc_dtype must be one of"):
        ds.nn.LinearCrossEntropyOptions(acc_dtype=ds.int64)
    assert ds.nn.LinearCrossEntropyOptions(acc_dtype="float32").acc_dtype is ds.float32


def _errors():
    t = index_target(N)
    o = {"options": {}}
    return [  # (id, x, w, t, kwargs, exception, torch's words)
        ("input_3d", x2[None], w2, t, o, RuntimeError, "dimensionality 1 or 2, got 3"),
        ("weight_1d", x2, w2[0], t, o, RuntimeError, "dimensionality at least 2, got 1"),
        ("in_features", x2, w2[:, :3], t, o, RuntimeError,
         "expected equal input and linear_weight last dimensions (in_features), got 4 and 3"),
        ("bias_shape", x2, w2, t, {"b": b1[None]}, RuntimeError,
         "expected linear_bias shape (7,), got (1, 7)"),
        ("kdim_unbatched", x2[0], wk, np.array(1), {}, RuntimeError,
         "requires batched input, (N, 4), got unbatched input with shape (4,)"),
        ("prob_ignore_index", x2, w2, prob_target(N, C), {"ignore_index": -100}, RuntimeError,
         "ignore_index cannot be specified when target contains probabilities"),
        ("target_dtype", x2, w2, t.astype(np.int32), o, RuntimeError,
         "expected target dtype to be Long or Byte, but got Int"),
        ("target_range", x2, w2, np.full(N, 7), o, IndexError, "Target 7 is out of bounds."),
        ("target_negative", x2, w2, np.full(N, -1), {}, IndexError, "Target -1 is out of bounds."),
        ("class_weight", x2, w2, t, {"cw": np.ones(6), **o}, RuntimeError,
         "weight tensor should be defined either for all 7 classes or no classes"),
        ("smoothing", x2, w2, t, {"label_smoothing": 1.5}, RuntimeError,
         "label_smoothing must be between 0.0 and 1.0. Got: 1.5"),
        ("reduction", x2, w2, t, {"reduction": "bad", **o}, ValueError,
         "bad is not a valid value for reduction"),
    ]


@pytest.mark.parametrize("x,w,t,kw,exc,words", [e[1:] for e in _errors()],
                         ids=[e[0] for e in _errors()])
def test_errors_name_the_op_and_match_torch(x, w, t, kw, exc, words):
    with pytest.raises(exc, match=r"^\[linear_cross_entropy\] ") as got:
        run(ds, x, w, t, **kw)
    assert words in str(got.value)
    with pytest.raises(Exception) as want, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run(torch, x, w, t, **{k: v for k, v in kw.items() if k != "options"})
    assert words in str(want.value)


@pytest.mark.parametrize("x,w,t,words", [
    (x2, w2.astype(np.float32), index_target(N), "float64[10, 4], float32[7, 4]"),
    (x2, w2, index_target(5), "int64[5]"),
    (x2.astype(np.int64), w2.astype(np.int64), index_target(N), "int64[10, 4]"),
])
@pytest.mark.parametrize("options", [None, {}])
def test_errors_describe_shapes_and_dtypes(x, w, t, words, options):
    with pytest.raises(RuntimeError, match=r"^\[linear_cross_entropy\] ") as got:
        run(ds, x, w, t, options=options)
    assert words in str(got.value)


def test_options_must_be_options_and_acc_dtype_must_fit():
    x, w, t = ds.tensor(x2), ds.tensor(w2), ds.tensor(index_target(N))
    with pytest.raises(TypeError, match="options must be a LinearCrossEntropyOptions"):
        ds.nn.functional.linear_cross_entropy(x, w, t, options={"batch_chunk_size": 2})
    with pytest.raises(RuntimeError, match="supports float32 acc_dtype with float16/bfloat16"):
        ds.nn.functional.linear_cross_entropy(
            x, w, t, options=ds.nn.LinearCrossEntropyOptions(acc_dtype=ds.float32))
    with pytest.raises(ValueError, match="give different chunk sizes"):
        ds.nn.functional.linear_cross_entropy(x, w, t, options=ds.nn.LinearCrossEntropyOptions(
            batch_chunk_size=3, chunking_method="aspect_ratio"))


MODULES = [  # (id, kwargs of both constructors, input, target)
    ("default", {}, x2, index_target(N)),
    ("bias_kdim", {"out_features": (3, 2), "bias": True}, x2, index_target(N, 3, 2)),
    ("weight_ignore_smooth", {"weight": np.linspace(0.5, 2, C), "ignore_index": 2,
                              "label_smoothing": 0.1, "reduction": "sum"}, x2, index_target(N)),
    ("prob", {"bias": True}, x2, prob_target(N, C)),
    ("chunked", {"bias": True, "reduction": "none", "options": {"batch_chunk_size": 3}}, x2,
     index_target(N, ignore=[6])),
    ("chunked_unbatched", {"bias": True, "options": {}}, x2[0], np.array(3)),
]


def _make(kwargs):
    def make(lib):
        kw = dict(kwargs)
        if "weight" in kw:
            kw["weight"] = lib.tensor(kw["weight"])
        if "options" in kw:  # ours chunked against torch's reference (its chunks load dynamo)
            options = kw.pop("options")
            if lib is ds:
                kw["options"] = ds.nn.LinearCrossEntropyOptions(**options)
        return lib.nn.LinearCrossEntropyLoss(D, C, **kw)

    return make


@pytest.mark.parametrize("kwargs,x,t", [m[1:] for m in MODULES], ids=[m[0] for m in MODULES])
def test_module_matches_torch(kwargs, x, t):
    make = _make(kwargs)
    compare_module(make, (x, Const(t)))
    if "options" in kwargs:
        compare_module(make, (x, Const(t)), dtype="float32")


def test_module_state_dict_init_and_repr_match_torch():
    for kwargs in ({}, {"out_features": (3, 2), "bias": True, "weight": np.ones(C)}):
        mine, theirs = _make(kwargs)(ds), _make(kwargs)(torch)
        assert {k: tuple(v.shape) for k, v in mine.state_dict().items()} == {
            k: tuple(v.shape) for k, v in theirs.state_dict().items()}
        assert [n for n, _ in mine.named_modules()] == [n for n, _ in theirs.named_modules()]
        assert repr(mine) == repr(theirs)
        bound = 1 / np.sqrt(D)
        assert np.abs(mine.linear.weight.detach().numpy()).max() <= bound
    m = ds.nn.LinearCrossEntropyLoss(D, C, dtype=ds.float64)
    assert m.linear.weight.dtype == ds.float64 and m.ignore_index is None
    with pytest.raises(RuntimeError, match=r"expected weight shape to be \(7,\), got \(6,\)"):
        ds.nn.LinearCrossEntropyLoss(D, C, weight=ds.ones(6))
    with pytest.raises(RuntimeError, match="expected label_smoothing to be in range"):
        ds.nn.LinearCrossEntropyLoss(D, C, label_smoothing=-0.1)


def test_chunked_under_autocast_gives_the_reference_dtypes():
    x, w = ds.tensor(x2.astype(np.float32)), ds.tensor(w2.astype(np.float32))
    x.requires_grad_()
    t = ds.tensor(index_target(N))
    opts = ds.nn.LinearCrossEntropyOptions(batch_chunk_size=4)
    with ds.autocast("cpu", dtype=ds.bfloat16):
        got = ds.nn.functional.linear_cross_entropy(x, w, t, reduction="none", options=opts)
        want = ds.nn.functional.linear_cross_entropy(x, w, t, reduction="none")
    assert got.dtype == want.dtype == ds.float32
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=2 ** -6)
    got.sum().backward()
    assert x.grad.dtype == ds.float32


def test_chunked_falls_back_under_jit_tracing():
    m = ds.nn.LinearCrossEntropyLoss(D, C, options=ds.nn.LinearCrossEntropyOptions())
    t = ds.tensor(index_target(N))
    step = ds.jit(lambda x: m(x, t))
    x = ds.tensor(x2.astype(np.float32))
    with pytest.warns(UserWarning, match="tracing=True"):
        got = step(x)
    np.testing.assert_allclose(got.detach().numpy(), m(x, t).detach().numpy(), rtol=1e-6)
