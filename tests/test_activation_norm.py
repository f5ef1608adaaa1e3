"""Activations, softmax, normalization and dropout: what the OpInfo rows cannot express (errors,
in-place forms, running statistics, randomness, numerical stability, fused expressions,
higher-order gradients)."""

from __future__ import annotations

import math
import warnings

import ml_dtypes
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import deepseek as ds
import deepseek.nn.functional as F
from deepseek.ops import REGISTRY, _scalar, activation

RNG = np.random.default_rng(0)


def both(fn, *arrays):
    """``fn(lib, F, *tensors)`` on deepseek and torch for float32 copies of ``arrays``."""
    ds_out = fn(ds, F, *(ds.tensor(a) for a in arrays))
    t_out = fn(torch, TF, *(torch.tensor(a) for a in arrays))
    return ds_out, t_out


def close(a, b, atol=1e-5, rtol=1e-5):
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), atol=atol, rtol=rtol)


# ---------------------------------------------------------------- errors, as PyTorch raises them
_X = np.zeros((3, 5), np.float32)
_ERRORS = {
    "layer_norm_shape": (lambda lib, F, x: F.layer_norm(x, [4]), _X),
    "layer_norm_weight": (lambda lib, F, x: F.layer_norm(x, [5], lib.ones(4)), _X),
    "rms_norm_shape": (lambda lib, F, x: F.rms_norm(x, [3]), _X),
    "group_norm_groups": (lambda lib, F, x: F.group_norm(x.reshape(1, 5, 3), 2), _X),
    "group_norm_weight": (lambda lib, F, x: F.group_norm(x.reshape(1, 5, 3), 5, lib.ones(4)),
                          _X),
    "group_norm_1d": (lambda lib, F, x: F.group_norm(x[0], 1), _X),
    "batch_norm_one_value": (lambda lib, F, x: F.batch_norm(x[:1], None, None, training=True),
                             _X),
    "batch_norm_stats_size": (lambda lib, F, x: F.batch_norm(x, lib.zeros(4), lib.ones(4)), _X),
    "batch_norm_eval_no_stats": (lambda lib, F, x: F.batch_norm(x, None, None), _X),
    "batch_norm_1d": (lambda lib, F, x: F.batch_norm(x[0], None, None, training=True), _X),
    "instance_norm_spatial": (lambda lib, F, x: F.instance_norm(x.reshape(3, 5, 1)), _X),
    "instance_norm_eval_no_stats": (lambda lib, F, x: F.instance_norm(
        x.reshape(1, 3, 5), use_input_stats=False), _X),
    "lrn_2d": (lambda lib, F, x: F.local_response_norm(x, 2), _X),
    "normalize_int": (lambda lib, F, x: F.normalize(x.long()), _X),
    "prelu_channels": (lambda lib, F, x: F.prelu(x, lib.ones(3)), _X),
    "prelu_2d_weight": (lambda lib, F, x: F.prelu(x, lib.ones(5, 1)), _X),
    "glu_odd": (lambda lib, F, x: F.glu(x), _X),
    "glu_scalar": (lambda lib, F, x: F.glu(x[0, 0]), _X),
    "gelu_approximate": (lambda lib, F, x: F.gelu(x, approximate="exact"), _X),
    "celu_alpha_zero": (lambda lib, F, x: F.celu(x, alpha=0.0), _X),
    "rrelu_bounds": (lambda lib, F, x: F.rrelu(x, 0.5, 0.1, training=True), _X),
    "softshrink_lambd": (lambda lib, F, x: F.softshrink(x, -1.0), _X),
    "hardtanh_bounds": (lambda lib, F, x: F.hardtanh(x, 1.0, -1.0), _X),
    "elu_int": (lambda lib, F, x: F.elu(x.long()), _X),
    "silu_int": (lambda lib, F, x: F.silu(x.long()), _X),
    "layer_norm_int": (lambda lib, F, x: F.layer_norm(x.long(), [5]), _X),
    "softmax_int": (lambda lib, F, x: F.softmax(x.long(), 0), _X),
    "softmax_dim": (lambda lib, F, x: lib.softmax(x, 2), _X),
    "log_softmax_dim": (lambda lib, F, x: lib.log_softmax(x, -3), _X),
    "dropout_p": (lambda lib, F, x: F.dropout(x, 1.5), _X),
    "ds_dropout_p": (lambda lib, F, x: lib.dropout(x, -0.1, True), _X),
    "alpha_dropout_p": (lambda lib, F, x: F.alpha_dropout(x, 2.0), _X),
    "dropout1d_dims": (lambda lib, F, x: F.dropout1d(x.reshape(1, 1, 3, 5)), _X),
    "feature_dropout_1d": (lambda lib, F, x: F.feature_alpha_dropout(x[0], 0.5, True), _X),
    "relu_leaf_inplace": (lambda lib, F, x: F.relu(x.requires_grad_(), inplace=True), _X),
    "selu_leaf_inplace": (lambda lib, F, x: lib.selu_(x.requires_grad_()), _X),
}


@pytest.mark.parametrize("name", sorted(_ERRORS))
def test_errors_match_torch(name):
    fn, arr = _ERRORS[name]
    with pytest.raises(Exception) as expected:
        fn(torch, TF, torch.tensor(arr))
    with pytest.raises(expected.type) as got:
        fn(ds, F, ds.tensor(arr))
    if not isinstance(got.value, RuntimeError) or "leaf" not in str(got.value):
        assert str(got.value).startswith("["), f"{name}: message should name the op: {got.value}"


# ---------------------------------------------------------------- in-place forms
@pytest.mark.parametrize("call", [
    lambda F, x: F.relu(x, inplace=True), lambda F, x: F.relu_(x),
    lambda F, x: F.leaky_relu(x, 0.3, inplace=True), lambda F, x: F.leaky_relu_(x, 0.3),
    lambda F, x: F.elu(x, inplace=True), lambda F, x: F.elu_(x, 0.5),
    lambda F, x: F.selu(x, inplace=True), lambda F, x: F.celu_(x, 0.7),
    lambda F, x: F.hardtanh(x, -0.2, 0.4, inplace=True), lambda F, x: F.hardtanh_(x),
    lambda F, x: F.relu6(x, inplace=True), lambda F, x: F.threshold_(x, 0.1, 9.0),
    lambda F, x: F.silu(x, inplace=True), lambda F, x: F.mish(x, inplace=True),
    lambda F, x: F.hardswish(x, inplace=True), lambda F, x: F.hardsigmoid(x, inplace=True),
    lambda F, x: F.rrelu(x, inplace=True), lambda F, x: F.rrelu_(x),
    lambda F, x: F.dropout(x, 0.0, inplace=True), lambda F, x: F.dropout(x, 1.0, inplace=True),
])
def test_inplace_returns_input_with_torch_values(call):
    arr = RNG.uniform(-8, 8, (4, 5)).astype(np.float32)
    x, xt = ds.tensor(arr), torch.tensor(arr)
    version = x._version
    assert call(F, x) is x and call(TF, xt) is xt
    assert x._version > version or np.array_equal(arr, x.numpy())
    close(x, xt)


def test_inplace_on_view_writes_base_and_tracks_grad():
    base = ds.tensor(RNG.standard_normal((3, 4)).astype(np.float32), requires_grad=True)
    y = base * 1
    F.relu(y[1], inplace=True)
    y.sum().backward()
    expected = np.ones((3, 4), np.float32)
    expected[1] = base.detach().numpy()[1] > 0
    np.testing.assert_array_equal(base.grad.numpy(), expected)
    assert np.all(y.detach().numpy()[1] >= 0)


def test_tensor_methods_and_ds_level_names():
    x = ds.tensor([[-1.0, 2.0], [3.0, -4.0]])
    assert x.relu().tolist() == [[0.0, 2.0], [3.0, 0.0]]
    assert x.clone().relu_().tolist() == [[0.0, 2.0], [3.0, 0.0]]
    assert x.hardshrink(2.5).tolist() == [[0.0, 0.0], [3.0, -4.0]]
    np.testing.assert_allclose(x.softmax(1).sum(1).numpy(), 1, rtol=1e-6)
    for name in ("relu", "relu_", "selu", "selu_", "celu", "celu_", "prelu", "rrelu", "rrelu_",
                 "threshold", "threshold_", "hardshrink", "softmax", "log_softmax",
                 "layer_norm", "rms_norm", "batch_norm", "group_norm", "instance_norm",
                 "dropout", "dropout_", "alpha_dropout", "feature_alpha_dropout",
                 "feature_dropout"):
        assert callable(getattr(ds, name)), name


def test_integer_activations_keep_dtype():
    x = ds.tensor([-3, 0, 2, 9])
    assert F.relu(x).dtype == ds.int64 and F.relu(x).tolist() == [0, 0, 2, 9]
    assert F.relu6(x).tolist() == [0, 0, 2, 6]
    assert F.hardtanh(x).tolist() == [-1, 0, 1, 1]
    assert F.threshold(x, 1, 7).tolist() == [7, 7, 2, 9]


# ---------------------------------------------------------------- softmax family
@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_softmax_large_inputs_are_stable(dtype):
    arr = np.array([[1000.0, 999.0, -1000.0], [-60000.0, -60000.0, -60000.0]])
    x = ds.tensor(arr.astype(np.float32)).to(getattr(ds, dtype)).requires_grad_()
    for fn in (ds.softmax, ds.log_softmax, F.softmin):
        out = fn(x, 1)
        assert out.dtype == x.dtype
        (out.float() * ds.tensor([[1.0, 2.0, 3.0]])).sum().backward()
        assert np.all(np.isfinite(out.detach().float().numpy())), fn
        assert np.all(np.isfinite(x.grad.float().numpy())), fn
        x.grad = None
    np.testing.assert_allclose(ds.softmax(x, 1).detach().float().numpy()[1], 1 / 3, rtol=1e-2)


def test_softmax_implicit_dim_warns_like_torch():
    arr = RNG.standard_normal((2, 3, 4)).astype(np.float32)
    for ndim_arr in (arr, arr[0], arr[0, 0]):
        with pytest.warns(UserWarning, match="Implicit dimension"):
            got = F.softmax(ds.tensor(ndim_arr))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            want = TF.softmax(torch.tensor(ndim_arr))
        close(got, want)


def test_softmax_dtype_argument_casts_first():
    x = ds.tensor([1, 2, 3])
    out = F.log_softmax(x, 0, dtype=ds.float64)
    assert out.dtype == ds.float64
    close(out, TF.log_softmax(torch.tensor([1, 2, 3]), 0, dtype=torch.float64))


def test_gumbel_softmax_samples_sum_to_one_and_hard_is_one_hot():
    ds.manual_seed(0)
    logits = ds.tensor(RNG.standard_normal((5, 4)).astype(np.float32), requires_grad=True)
    soft = F.gumbel_softmax(logits, tau=0.5)
    np.testing.assert_allclose(soft.sum(-1).detach().numpy(), 1, rtol=1e-5)
    hard = F.gumbel_softmax(logits, hard=True)
    assert sorted(set(hard.detach().numpy().ravel().tolist())) == [0.0, 1.0]
    np.testing.assert_array_equal(hard.sum(-1).detach().numpy(), 1)
    (hard * ds.arange(4.0)).sum().backward()
    assert logits.grad is not None and np.any(logits.grad.numpy() != 0)


# ---------------------------------------------------------------- normalization
@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 5), (2, 3, 2, 2), (2, 3, 2, 1, 2)])
def test_batch_norm_running_stats_and_eval(shape):
    arr = RNG.standard_normal(shape).astype(np.float32) * 3 + 1
    rm, rv = np.zeros(3, np.float32), np.ones(3, np.float32)
    got = [ds.tensor(rm), ds.tensor(rv)]
    want = [torch.tensor(rm), torch.tensor(rv)]
    for _ in range(2):
        F.batch_norm(ds.tensor(arr), *got, training=True, momentum=0.25)
        TF.batch_norm(torch.tensor(arr), *want, training=True, momentum=0.25)
    for a, b in zip(got, want):
        close(a, b)
    close(F.batch_norm(ds.tensor(arr), *got, eps=1e-3), TF.batch_norm(torch.tensor(arr), *want,
                                                                      eps=1e-3))


def test_batch_norm_half_input_float_stats():
    arr = RNG.standard_normal((4, 3, 2)).astype(np.float16)
    got = [ds.zeros(3), ds.ones(3)]
    want = [torch.zeros(3), torch.ones(3)]
    out = F.batch_norm(ds.tensor(arr), *got, training=True)
    out_t = TF.batch_norm(torch.tensor(arr), *want, training=True)
    assert out.dtype == ds.float16 and got[0].dtype == ds.float32
    close(out.float(), out_t.float(), atol=2e-3, rtol=2e-3)
    close(got[1], want[1], atol=1e-4, rtol=1e-4)
    close(F.batch_norm(ds.tensor(arr), *got).float(),
          TF.batch_norm(torch.tensor(arr), *want).float(), atol=2e-3, rtol=2e-3)


def test_instance_norm_running_stats_match_torch():
    arr = RNG.standard_normal((3, 2, 5)).astype(np.float32) * 2
    got, want = [ds.zeros(2), ds.ones(2)], [torch.zeros(2), torch.ones(2)]
    F.instance_norm(ds.tensor(arr), *got, momentum=0.5)
    TF.instance_norm(torch.tensor(arr), *want, momentum=0.5)
    for a, b in zip(got, want):
        close(a, b)


def test_rms_norm_default_eps_is_the_dtype_eps():
    x = ds.tensor([[1e-4, -1e-4, 0.0]], dtype=ds.float64)
    close(F.rms_norm(x, [3]), TF.rms_norm(torch.tensor([[1e-4, -1e-4, 0.0]],
                                                       dtype=torch.float64), [3]))


def test_normalize_zero_rows_and_out():
    x, xt = ds.zeros(2, 3, requires_grad=True), torch.zeros(2, 3, requires_grad=True)
    F.normalize(x).sum().backward()
    TF.normalize(xt).sum().backward()
    close(x.grad, xt.grad)  # 1 / eps: no nan from the norm's gradient at zero
    out = ds.empty(2, 3)
    arr = RNG.standard_normal((2, 3)).astype(np.float32)
    assert F.normalize(ds.tensor(arr), out=out) is out
    close(out, TF.normalize(torch.tensor(arr)))


_DOUBLE = {
    "layer_norm": lambda F, x, w, b: F.layer_norm(x, [4], w, b),
    "group_norm": lambda F, x, w, b: F.group_norm(x.reshape(3, 2, 2), 2, w[:2], b[:2]),
    "batch_norm": lambda F, x, w, b: F.batch_norm(x.reshape(3, 4, 1), None, None, w, b, True),
    "softmax": lambda F, x, w, b: F.softmax(x * w, 1),
    "log_softmax": lambda F, x, w, b: F.log_softmax(x * w, 0),
    "gelu": lambda F, x, w, b: F.gelu(x * w) + F.gelu(x, approximate="tanh"),
    "elu_mish_silu": lambda F, x, w, b: F.elu(x, 0.4) * F.mish(x) + F.silu(x * w),
    "softplus_logsigmoid": lambda F, x, w, b: F.softplus(x * w, 2.0, 1.0) + F.logsigmoid(x),
    "prelu": lambda F, x, w, b: F.prelu(x.reshape(3, 4, 1), w) ** 2,
}


@pytest.mark.parametrize("name", sorted(_DOUBLE))
def test_second_order_gradients_match_torch(name):
    fn = _DOUBLE[name]
    arrays = [RNG.standard_normal(s) for s in ((3, 4), (4,), (4,))]
    grads = []
    for lib, mod in ((ds, F), (torch, TF)):
        ins = [lib.tensor(a, requires_grad=True) for a in arrays]
        out = fn(mod, *ins)
        weights = lib.tensor(np.cos(np.arange(out.numel())).reshape(tuple(out.shape)))
        first = lib.autograd.grad((out * weights).sum(), ins, create_graph=True,
                                  allow_unused=True)
        second = lib.autograd.grad(sum((g * g).sum() for g in first if g is not None), ins,
                                   allow_unused=True)
        grads.append([g.detach().numpy() if g is not None else np.zeros(1) for g in second])
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, atol=1e-8, rtol=1e-6, err_msg=name)


def test_hardsigmoid_float64_finite_differences():
    x = ds.tensor(RNG.uniform(-5, 5, (3, 4)), requires_grad=True)
    assert ds.autograd.gradcheck(F.hardsigmoid, (x,))


# ---------------------------------------------------------------- dropout statistics
def test_dropout_statistics_and_gradient():
    ds.manual_seed(1)
    x = ds.ones(200, 100, requires_grad=True)
    out = F.dropout(x, 0.3)
    values = out.detach().numpy()
    kept = values != 0
    assert abs(1 - kept.mean() - 0.3) < 0.02
    np.testing.assert_allclose(values[kept], 1 / 0.7, rtol=1e-6)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), values)


def test_dropout_identity_rules_and_p_one():
    x = ds.randn(4, 5)
    for same in (F.dropout(x, 0.4, training=False), F.dropout(x, 0.0), F.alpha_dropout(x, 0.5),
                 F.feature_alpha_dropout(x, 0.5), ds.dropout(x, 0.7, False)):
        assert same is x or np.array_equal(same.numpy(), x.numpy())
    for zero in (F.dropout(x, 1.0), F.dropout1d(x, 1.0), F.alpha_dropout(x, 1.0, True),
                 ds.feature_dropout(x, 1.0, True)):
        assert np.all(zero.numpy() == 0)


def test_dropout_is_reproducible_with_the_seed():
    ds.manual_seed(5)
    a = F.dropout(ds.ones(50), 0.5).numpy()
    ds.manual_seed(5)
    np.testing.assert_array_equal(a, F.dropout(ds.ones(50), 0.5).numpy())


@pytest.mark.parametrize("fn,shape", [(F.dropout1d, (8, 16, 5)), (F.dropout1d, (16, 5)),
                                      (F.dropout2d, (8, 16, 3, 3)), (F.dropout3d, (8, 16, 2, 2, 2)),
                                      (F.dropout3d, (16, 2, 2, 2))])
def test_channel_dropout_drops_whole_channels(fn, shape):
    ds.manual_seed(2)
    out = fn(ds.ones(*shape), 0.5).numpy()
    assert out.shape == shape
    lead = 2 if len(shape) in (3, 4) and fn is not F.dropout3d or len(shape) == 5 else 1
    per_channel = out.reshape(int(np.prod(shape[:lead])), -1)
    assert np.all(per_channel.min(1) == per_channel.max(1))
    assert set(np.unique(per_channel).tolist()) == {0.0, 2.0}


def test_channel_dropout_in_place_unbatched():
    ds.manual_seed(3)
    x = ds.ones(16, 5)
    assert F.dropout1d(x, 0.5, inplace=True) is x
    assert x.shape == (16, 5) and set(np.unique(x.numpy()).tolist()) == {0.0, 2.0}


@pytest.mark.parametrize("feature", [False, True])
def test_alpha_dropout_keeps_mean_and_variance(feature):
    ds.manual_seed(4)
    x = ds.randn(200, 50, 20, dtype=ds.float64)
    fn = F.feature_alpha_dropout if feature else F.alpha_dropout
    out = fn(x, 0.2, training=True).numpy()
    assert abs(out.mean()) < 0.05 and abs(out.std() - 1) < 0.05
    dropped_value = -1.7580993408473766 / math.sqrt((1.7580993408473766 ** 2 * 0.2 + 1) * 0.8)
    dropped_value += 1.7580993408473766 * 0.2 / math.sqrt((1.7580993408473766 ** 2 * 0.2 + 1) * 0.8)
    dropped = np.isclose(out, dropped_value)
    assert abs(dropped.mean() - 0.2) < 0.02
    if feature:
        channels = dropped.reshape(200 * 50, 20)
        assert np.all(channels.all(1) | ~channels.any(1))


def test_rrelu_training_slopes():
    ds.manual_seed(6)
    x = ds.tensor(np.concatenate([-np.ones(1000), np.ones(10)]).astype(np.float32),
                  requires_grad=True)
    out = F.rrelu(x, 0.1, 0.3, training=True)
    slopes = -out.detach().numpy()[:1000]
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3 and abs(slopes.mean() - 0.2) < 0.01
    np.testing.assert_array_equal(out.detach().numpy()[1000:], 1)
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy()[:1000], slopes)


# ---------------------------------------------------------------- the fused expressions
_ATTRS = {"hardtanh": {"min_val": -0.5, "max_val": 1.5}, "leaky_relu": {"negative_slope": 0.2},
          "threshold": {"threshold": 0.3, "value": -2.0}, "softshrink": {"lambd": 0.4},
          "hardshrink": {"lambd": 0.4}, "elu": {"alpha": 0.7, "scale": 1.1, "input_scale": 0.5},
          "gelu": {"approximate": "none"}, "softplus": {"beta": 2.0, "threshold": 3.0}}
_ELEMENTWISE = ("relu", "hardtanh", "leaky_relu", "threshold", "softshrink", "hardshrink", "elu",
                "gelu", "silu", "mish", "softplus", "hardswish", "hardsigmoid", "log_sigmoid",
                "_prelu_kernel")


@pytest.mark.parametrize("name", _ELEMENTWISE)
def test_expr_matches_forward(name):
    op = REGISTRY[name]
    variants = [_ATTRS.get(name, {})] + ([{"approximate": "tanh"}] if name == "gelu" else [])
    values = np.linspace(-5, 5, 23)
    weight = np.full_like(values, 0.25)
    for attrs in variants:
        arrays = (values, weight)[:2 if name == "_prelu_kernel" else 1]
        want = op.forward(np, *arrays, **attrs)
        source = op.expr.format("x", "w", **{k: repr(v) for k, v in attrs.items()})
        got = [eval(source, {"math": math, "_scalar": _scalar}, {"x": float(v), "w": 0.25})
               for v in values]
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12, err_msg=source)


def test_every_op_here_is_registered_with_its_rules():
    for name in _ELEMENTWISE:
        assert REGISTRY[name].kind == "elementwise" and REGISTRY[name].expr
    for name in ("_softmax", "_log_softmax", "native_layer_norm", "native_batch_norm",
                 "native_group_norm"):
        assert REGISTRY[name].amp == "fp32" and REGISTRY[name].vjp is not None
    assert activation.check_float  # shared with normalization and F


def test_bfloat16_activations_compute_in_float32():
    arr = np.linspace(-4, 4, 17).astype(ml_dtypes.bfloat16)
    out = F.gelu(ds.tensor(arr))
    want = TF.gelu(torch.tensor(arr.astype(np.float32)).bfloat16()).float().numpy()
    assert out.dtype == ds.bfloat16
    np.testing.assert_array_equal(out.float().numpy(), want)


# ---------------------------------------------------------------- the row kernels (ops/_kernels.py)
_TARGET = [1, 5, 0, 3, 7, 2, 6, 4, 1, 0, 7, 7]
_KERNEL_OPS = {
    "softmax": lambda lib, F, x, w, b: F.softmax(x, -1),
    "log_softmax": lambda lib, F, x, w, b: F.log_softmax(x, dim=-1),
    "layer_norm": lambda lib, F, x, w, b: F.layer_norm(x, (x.shape[-1],), w, b),
    "gelu": lambda lib, F, x, w, b: F.gelu(x),
    "gelu_tanh": lambda lib, F, x, w, b: F.gelu(x, approximate="tanh"),
    "cross_entropy": lambda lib, F, x, w, b: F.cross_entropy(
        x.reshape(-1, x.shape[-1]), lib.tensor(_TARGET), weight=w.detach().abs(),
        label_smoothing=0.1, reduction="none"),
}


@pytest.mark.parametrize("parallel", [False, True], ids=["serial", "parallel"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(_KERNEL_OPS))
def test_row_kernels_serial_and_parallel_on_strided_input(name, dtype, parallel, monkeypatch):
    """Both compiled variants of each kernel, fed a transposed (non-contiguous) input with
    masked and large entries, match torch forward and backward."""
    from deepseek.ops import _kernels

    monkeypatch.setattr(_kernels, "PARALLEL_MIN", 0 if parallel else 1 << 62)
    x = (RNG.standard_normal((8, 3, 4)) * 4).astype(dtype)
    x[0, 0, 1] = 60.0
    if name in ("softmax", "log_softmax"):
        x[1, :, 2] = -np.inf  # masked positions
    w, b = RNG.standard_normal((2, 8)).astype(dtype)
    upstream = RNG.standard_normal((4, 3, 8))
    results = []
    for lib, mod in ((ds, F), (torch, TF)):
        xt = lib.tensor(x, requires_grad=True)
        wt, bt = lib.tensor(w, requires_grad=True), lib.tensor(b, requires_grad=True)
        out = _KERNEL_OPS[name](lib, mod, xt.permute(2, 1, 0), wt, bt)
        g = lib.tensor(upstream.reshape(-1)[:out.numel()].reshape(tuple(out.shape)).astype(dtype))
        (out * g).sum().backward()
        results.append([out.detach().numpy(), xt.grad.numpy()]
                       + [t.grad.numpy() for t in (wt, bt) if t.grad is not None])
    tol = 1e-5 if dtype == "float32" else 1e-12
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, atol=tol, rtol=tol * 10, err_msg=name)


@pytest.mark.parametrize("parallel", [False, True], ids=["serial", "parallel"])
@pytest.mark.parametrize("log", [False, True], ids=["softmax", "log_softmax"])
def test_softmax_kernel_scaled_and_biased_rows(log, parallel, monkeypatch):
    """The scaled, biased (attention) path of the softmax kernel, causal rows included, against
    torch; a row masked everywhere gives zeros (softmax)."""
    from deepseek.ops import _kernels

    monkeypatch.setattr(_kernels, "PARALLEL_MIN", 0 if parallel else 1 << 62)
    x = RNG.standard_normal((6, 8, 8)).astype(np.float32) * 3
    bias = np.triu(np.full((8, 8), -np.inf, np.float32), 1)
    out = np.empty_like(x)
    _kernels.softmax_rows(x.reshape(-1, 8), out.reshape(-1, 8), np.float32(0.5), bias, log, True)
    shifted = torch.tensor(x) * 0.5 + torch.tensor(bias)
    want = (torch.log_softmax if log else torch.softmax)(shifted, -1).numpy()
    np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-6)
    if not log:
        _kernels.softmax_rows(x[0], out[0], np.float32(1), np.full((1, 8), -np.inf, np.float32),
                              False, True)
        assert not out[0].any()


@pytest.mark.parametrize("parallel", [False, True], ids=["serial", "parallel"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_batch_norm_kernels_serial_and_parallel_on_strided_input(dtype, parallel, monkeypatch):
    """Both variants of the per-channel kernels, on a transposed input with an offset mean:
    output, running statistics and the input, weight and bias gradients match torch."""
    from deepseek.ops import _kernels

    monkeypatch.setattr(_kernels, "PARALLEL_MIN", 0 if parallel else 1 << 62)
    x = (RNG.standard_normal((4, 3, 5, 6)) * 3 + 100).astype(dtype)
    w, b = RNG.standard_normal((2, 6)).astype(dtype)
    upstream = RNG.standard_normal((4, 6, 5, 3)).astype(dtype)
    results = []
    for lib, mod in ((ds, F), (torch, TF)):
        xt = lib.tensor(x, requires_grad=True)
        wt, bt = lib.tensor(w, requires_grad=True), lib.tensor(b, requires_grad=True)
        rm, rv = lib.zeros(6, dtype=xt.dtype), lib.ones(6, dtype=xt.dtype)
        out = mod.batch_norm(xt.transpose(1, 3), rm, rv, wt, bt, training=True, momentum=0.5)
        (out * lib.tensor(upstream)).sum().backward()
        results.append([out.detach().numpy(), rm.numpy(), rv.numpy(), xt.grad.numpy(),
                        wt.grad.numpy(), bt.grad.numpy()])
    tol = 1e-4 if dtype == "float32" else 1e-10
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, atol=tol, rtol=tol)


@pytest.mark.parametrize("parallel", [False, True])
@pytest.mark.parametrize("norm", ["layer", "batch"])
def test_norm_backward_parts_and_all_in_one_call(norm, parallel, monkeypatch):
    """The fused backward primitive's ``part='all'`` is ``'input'`` then ``'affine'``, flat,
    from the kernels (serial and threaded) as from the reference formulas."""
    from deepseek.ops import _kernels, normalization as N
    from deepseek.ops._opdef import apply

    monkeypatch.setattr(_kernels, "PARALLEL_MIN", 0 if parallel else 1 << 62)
    x = RNG.standard_normal((4, 3, 5, 6)) * 3 + 100
    g = RNG.standard_normal((4, 3, 5, 6))
    op, dims, per = ((N.LAYER_NORM_BACKWARD, (3,), (0, 1, 2)) if norm == "layer" else
                     (N.BATCH_NORM_BACKWARD, (0, 2, 3), (0, 2, 3)))
    w = RNG.standard_normal(x.shape[dims[0]] if norm == "layer" else 3)
    wide = w if norm == "layer" else w.reshape(3, 1, 1)
    got, want = {}, {}
    for part in ("input", "affine", "all"):
        got[part] = apply(op, ds.tensor(x), ds.tensor(w), ds.tensor(g), part=part, dims=dims,
                          eps=1e-5).numpy()
        want[part] = N._norm_backward_composed(np, x, wide, g, part, dims, 1e-5, per)
        np.testing.assert_allclose(got[part], want[part], rtol=1e-9, atol=1e-9, err_msg=part)
    np.testing.assert_array_equal(got["all"], np.concatenate([got["input"].ravel(),
                                                              got["affine"].ravel()]))


@pytest.mark.parametrize("parallel", [False, True], ids=["serial", "parallel"])
def test_where_kernel_is_numpys_where(parallel, monkeypatch):
    """The select kernel behind the where op and the activations gives np.where's result, dtype
    and shape for every operand form it takes (full, one element, a Python number; inf and
    nan pass through untouched) and every one it leaves to NumPy (broadcasting, strides,
    mixed dtypes)."""
    from deepseek.ops import _kernels

    monkeypatch.setattr(_kernels, "PARALLEL_MIN", 0 if parallel else 1 << 62)
    for dtype in (np.float32, np.float64):
        x = RNG.standard_normal((3, 4, 5)).astype(dtype)
        x[0, 0, :2] = np.inf, np.nan
        y = RNG.standard_normal((3, 4, 5)).astype(dtype)
        c = RNG.random((3, 4, 5)) > 0.5
        one = np.asarray(-2.5, dtype)
        cases = [(c, x, y), (c, x, one), (c, one, y), (c, one, one[None]), (c, x, 0.0),
                 (c, 3, y), (c, x, np.ones((1, 1, 1, 1), dtype)), (c[:, :1], x, y),
                 (c.transpose(2, 1, 0), x.transpose(2, 1, 0), 1.0), (c, x, y.astype(np.float16)),
                 (c[0, 0, 0], x, y)]
        for args in cases:
            got, want = _kernels.where(np, *args), np.where(*args)
            assert got.dtype == want.dtype and got.shape == want.shape
            np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batch_norm_takes_the_statistics_it_is_given(dtype):
    """native_batch_norm and its backward given batch_norm_stats' statistics (as training
    passes them) compute exactly what they compute without, and really use them: other
    statistics give other results."""
    from deepseek.ops import normalization as N
    from deepseek.ops._opdef import apply

    x = ds.tensor((RNG.standard_normal((4, 3, 5, 6)) * 3 + 100).astype(dtype))
    w, b, g = (ds.tensor(RNG.standard_normal(s).astype(dtype)) for s in
               ((3, 1, 1), (3, 1, 1), (4, 3, 5, 6)))
    dims = (0, 2, 3)
    stats = apply(N.BATCH_STATS, x, dims=dims)
    assert stats.dtype == ds.float64
    for given in ((), (stats,)):
        out = apply(N.BATCH_NORM, x, w, b, *given, dims=dims, eps=1e-5).numpy()
        grads = apply(N.BATCH_NORM_BACKWARD, x, w, g, *given, part="all", dims=dims,
                      eps=1e-5).numpy()
        if not given:
            want = out, grads
    np.testing.assert_array_equal(out, want[0])
    np.testing.assert_array_equal(grads, want[1])
    other = stats * ds.tensor(np.array([[1.0], [4.0]]))  # the variance 4x
    out = apply(N.BATCH_NORM, x, w, b, other, dims=dims, eps=1e-5).numpy()
    np.testing.assert_allclose((out - b.numpy()) * 2, want[0] - b.numpy(), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kernel_exp_and_erfc_accuracy_and_limits(dtype):
    """Softmax through the vectorized exp stays within a few ulp of torch, with 0 for -inf and
    a tiny-absolute tolerance where it flushes below the normal range; GELU's float32 erfc is
    within 5e-6 relative of the exact value even in the far tail (torch's is 0 there)."""
    x = np.concatenate([np.linspace(-80, 80, 2001), [-np.inf, np.inf, 0.0, -1e4, 1e4]])
    x = x.astype(dtype)
    got = ds.softmax(ds.tensor(np.stack([x, np.zeros_like(x)], 1)), 1).numpy()[:, 0]
    want = torch.softmax(torch.tensor(np.stack([x, np.zeros_like(x)], 1)), 1).numpy()[:, 0]
    np.testing.assert_allclose(got, want, rtol=4 * np.finfo(dtype).eps, atol=np.finfo(dtype).tiny)
    y = np.linspace(-9, 9, 1001).astype(dtype)
    exact = [0.5 * v * math.erfc(-v / math.sqrt(2)) for v in y.astype(float)]  # with the tail
    np.testing.assert_allclose(F.gelu(ds.tensor(y)).numpy(), exact,
                               rtol=5e-6 if dtype == np.float32 else 5e-14, atol=1e-37)
