"""Mixed precision against PyTorch: autocast's dtype policy and values op by op, nested and
decorated regions, gradients through the casts, GradScaler's scale sequence and state machine,
and float32 master weights."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import deepseek as ds
from deepseek.amp import autocast_mode
from deepseek.ops._opdef import AUTOCAST, REGISTRY

RNG = np.random.default_rng(0)


def _arr(*shape: int, low: float = -1.0, high: float = 1.0) -> np.ndarray:
    return RNG.uniform(low, high, shape).astype(np.float32)


def _to(lib, a: np.ndarray, grad: bool = False):
    t = lib.tensor(a)
    return t.requires_grad_() if grad else t


def _numpy(t) -> np.ndarray:
    if isinstance(t, torch.Tensor):
        return t.detach().float().numpy()
    return t.detach().float().numpy()


def _dtype_name(t) -> str:
    return str(t.dtype).rsplit(".", 1)[-1]


def _check(name: str, ours, theirs, rtol: float = 2e-2, atol: float = 2e-2) -> None:
    assert tuple(ours.shape) == tuple(theirs.shape), f"{name}: shape {ours.shape} vs {theirs.shape}"
    assert _dtype_name(ours) == _dtype_name(theirs), \
        f"{name}: dtype {ours.dtype} vs torch {theirs.dtype}"
    np.testing.assert_allclose(_numpy(ours), _numpy(theirs), rtol=rtol, atol=atol,
                               err_msg=f"{name} (rtol={rtol}, atol={atol})")


def _F(lib):
    return lib.nn.functional


SQ = _arr(4, 4) + 3 * np.eye(4, dtype=np.float32)  # well-conditioned for the matrix functions
TARGET = np.array([0, 2, 1, 3])

# (name, fn(lib, *tensors), numpy inputs): fn runs unchanged on deepseek and torch inside
# autocast("cpu", bfloat16); casts inside fn (.bfloat16()) make low-precision inputs.
CASES = [
    # lower precision
    ("mm", lambda lib, a, b: lib.mm(a, b), [_arr(3, 4), _arr(4, 5)]),
    ("matmul_batched", lambda lib, a, b: lib.matmul(a, b), [_arr(2, 3, 4), _arr(4, 5)]),
    ("matmul_vector", lambda lib, a, b: a @ b, [_arr(3, 4), _arr(4)]),
    ("bmm", lambda lib, a, b: lib.bmm(a, b), [_arr(2, 3, 4), _arr(2, 4, 5)]),
    ("einsum", lambda lib, a, b: lib.einsum("bij,jk->bik", a, b), [_arr(2, 3, 4), _arr(4, 5)]),
    ("tensordot", lambda lib, a, b: lib.tensordot(a, b, 1), [_arr(3, 4), _arr(4, 5)]),
    ("linear_no_bias", lambda lib, x, w: _F(lib).linear(x, w), [_arr(2, 3, 4), _arr(5, 4)]),
    ("conv1d", lambda lib, x, w, b: _F(lib).conv1d(x, w, b, padding=1),
     [_arr(2, 3, 6), _arr(4, 3, 3), _arr(4)]),
    ("conv2d", lambda lib, x, w, b: _F(lib).conv2d(x, w, b, stride=2),
     [_arr(1, 2, 5, 5), _arr(3, 2, 3, 3), _arr(3)]),
    ("conv_transpose2d", lambda lib, x, w: _F(lib).conv_transpose2d(x, w),
     [_arr(1, 2, 3, 3), _arr(2, 3, 2, 2)]),
    ("sdpa", lambda lib, q, k, v: _F(lib).scaled_dot_product_attention(q, k, v, is_causal=True),
     [_arr(2, 3, 4), _arr(2, 3, 4), _arr(2, 3, 4)]),
    ("float64_not_cast", lambda lib, a, b: a.double() @ b.double(), [_arr(3, 4), _arr(4, 5)]),
    # float32
    ("prod_low", lambda lib, x: x.bfloat16().prod(-1), [_arr(3, 4, low=0.5, high=1.5)]),
    ("cross_entropy_low", lambda lib, x, t: _F(lib).cross_entropy(x.bfloat16(), t),
     [_arr(4, 5), TARGET]),
    ("cross_entropy_after_mm", lambda lib, x, w, t: _F(lib).cross_entropy(x @ w, t),
     [_arr(4, 3), _arr(3, 5), TARGET]),
    ("nll_loss_low", lambda lib, x, t: _F(lib).nll_loss(x.bfloat16().log_softmax(-1), t),
     [_arr(4, 5), TARGET]),
    ("inv_low", lambda lib, a: lib.linalg.inv(a.bfloat16()), [SQ]),
    ("solve_low", lambda lib, a, b: lib.linalg.solve(a.bfloat16(), b.bfloat16()),
     [SQ, _arr(4, 2)]),
    ("svdvals_low", lambda lib, a: lib.linalg.svdvals(a.bfloat16()), [SQ]),
    # run in the input dtype on CPU (float32 on CUDA)
    ("softmax_low", lambda lib, x: x.bfloat16().softmax(-1), [_arr(3, 5)]),
    ("softmax_after_mm", lambda lib, x, w: (x @ w).softmax(-1), [_arr(3, 4), _arr(4, 5)]),
    ("softmax_f32", lambda lib, x: lib.softmax(x, -1), [_arr(3, 5)]),
    ("log_softmax_low", lambda lib, x: _F(lib).log_softmax(x.bfloat16(), -1), [_arr(3, 5)]),
    ("layer_norm_low", lambda lib, x: _F(lib).layer_norm(x.bfloat16(), (5,)), [_arr(3, 5)]),
    ("layer_norm_f32", lambda lib, x, w, b: _F(lib).layer_norm(x, (5,), w, b),
     [_arr(3, 5), _arr(5), _arr(5)]),
    ("group_norm_low", lambda lib, x: _F(lib).group_norm(x.bfloat16(), 2), [_arr(2, 4, 3)]),
    ("exp_low", lambda lib, x: x.bfloat16().exp(), [_arr(3, 4)]),
    ("log_low", lambda lib, x: x.bfloat16().log(), [_arr(3, 4, low=0.5, high=2)]),
    ("pow_low", lambda lib, x: x.bfloat16().pow(2), [_arr(3, 4)]),
    ("sum_low", lambda lib, x: x.bfloat16().sum(), [_arr(3, 4)]),
    ("mean_low", lambda lib, x: x.bfloat16().mean(0), [_arr(3, 4)]),
    ("cumsum_low", lambda lib, x: x.bfloat16().cumsum(0), [_arr(3, 4)]),
    ("logsumexp_low", lambda lib, x: x.bfloat16().logsumexp(-1), [_arr(3, 4)]),
    ("vector_norm_low", lambda lib, x: lib.linalg.vector_norm(x.bfloat16()), [_arr(3, 4)]),
    ("mse_loss_mixed", lambda lib, x, t: _F(lib).mse_loss(x.bfloat16(), t),
     [_arr(3, 4), _arr(3, 4)]),
    # promote
    ("cat_mixed", lambda lib, a, b: lib.cat([a.bfloat16(), b]), [_arr(2, 3), _arr(1, 3)]),
    ("stack_mixed", lambda lib, a, b: lib.stack([a, b.bfloat16()]), [_arr(2, 3), _arr(2, 3)]),
    ("add_mixed", lambda lib, a, b: a.bfloat16() + b, [_arr(2, 3), _arr(2, 3)]),
]

# Cases where deepseek does not match yet: each needs a change in a front door outside
# deepseek/amp (see the reason); strict, so a fix shows up as XPASS to remove the mark.
PENDING = {
    "mse_loss_low": "mse_loss is composed of ops that run in bfloat16 on CPU (PyTorch: float32)",
}
CASES += [
    ("linear_bias", lambda lib, x, w, b: _F(lib).linear(x, w, b),
     [_arr(2, 4), _arr(5, 4), _arr(5)]),
    ("addmm", lambda lib, c, a, b: lib.addmm(c, a, b), [_arr(3, 5), _arr(3, 4), _arr(4, 5)]),
    ("baddbmm", lambda lib, c, a, b: lib.baddbmm(c, a, b),
     [_arr(2, 3, 5), _arr(2, 3, 4), _arr(2, 4, 5)]),
    ("mm_mixed", lambda lib, a, b: a.bfloat16() @ b, [_arr(3, 4), _arr(4, 5)]),
    ("conv_mixed", lambda lib, x, w: _F(lib).conv1d(x.bfloat16(), w),
     [_arr(1, 2, 5), _arr(3, 2, 2)]),
    ("mv", lambda lib, a, b: lib.mv(a, b), [_arr(3, 4), _arr(4)]),
    ("prelu", lambda lib, x, w: _F(lib).prelu(x, w), [_arr(3, 4), np.array([0.25], np.float32)]),
    ("mse_loss_low", lambda lib, x, t: _F(lib).mse_loss(x.bfloat16(), t.bfloat16()),
     [_arr(3, 4), _arr(3, 4)]),
]


def _recurrent(kind: str, **kwargs):
    """``kind`` of ``lib.nn`` on the given weights, run on ``x``: its output and final states,
    flattened into one tensor (whose dtype is float32 if any of them is)."""
    def run(lib, x, *weights):
        m = getattr(lib.nn, kind)(4, 3, **kwargs)
        names = [n for n, _ in m.named_parameters()]
        m.load_state_dict({n: w for n, w in zip(names, weights, strict=True)})
        out, state = m(x)
        return lib.cat([t.reshape(-1) for t in (out, *(state if isinstance(state, tuple)
                                                        else (state,)))])

    layers, dirs = kwargs.get("num_layers", 1), 2 if kwargs.get("bidirectional") else 1
    gates = {"LSTM": 4, "GRU": 3, "RNN": 1}[kind]
    weights = []
    for layer in range(layers):
        for _ in range(dirs):
            inputs = 4 if layer == 0 else 3 * dirs
            weights += [_arr(gates * 3, inputs), _arr(gates * 3, 3), _arr(gates * 3),
                        _arr(gates * 3)]
    return run, [_arr(5, 2, 4)] + weights


CASES += [(f"{kind.lower()}{'_bi' if bi else ''}", *_recurrent(kind, bidirectional=bi,
                                                               num_layers=2))
          for kind in ("LSTM", "GRU", "RNN") for bi in (False, True)]


def _cell(kind: str, gates: int):
    def run(lib, x, *weights):
        m = getattr(lib.nn, kind)(4, 3)
        m.load_state_dict(dict(zip(["weight_ih", "weight_hh", "bias_ih", "bias_hh"], weights)))
        out = m(x)
        return lib.cat([t.reshape(-1) for t in (out if isinstance(out, tuple) else (out,))])

    return run, [_arr(2, 4), _arr(gates * 3, 4), _arr(gates * 3, 3), _arr(gates * 3),
                 _arr(gates * 3)]


CASES += [(kind.lower(), *_cell(kind, g)) for kind, g in (("LSTMCell", 4), ("GRUCell", 3),
                                                          ("RNNCell", 1))]


def _run(lib, fn, arrays, grad: bool = False):
    tensors = [_to(lib, a, grad and a.dtype == np.float32) for a in arrays]
    with lib.autocast("cpu", dtype=lib.bfloat16):
        out = fn(lib, *tensors)
    return out, tensors


@pytest.mark.parametrize("name,fn,arrays", [
    pytest.param(*c, marks=pytest.mark.xfail(reason=PENDING[c[0]], strict=True))
    if c[0] in PENDING else c for c in CASES], ids=[c[0] for c in CASES])
def test_policy_matches_torch(name, fn, arrays):
    ours, _ = _run(ds, fn, arrays)
    theirs, _ = _run(torch, fn, arrays)
    _check(name, ours, theirs)
    assert AUTOCAST[0] is None, "the policy must be removed when the region exits"


@pytest.mark.parametrize("name", ["linear_bias", "addmm", "baddbmm"])
def test_gemm_with_added_term_is_bit_exact(name):
    # the bias (or input) goes into the float32 accumulator: one rounding to bfloat16
    fn, arrays = next((c[1], c[2]) for c in CASES if c[0] == name)
    ours, _ = _run(ds, fn, arrays)
    theirs, _ = _run(torch, fn, arrays)
    assert _dtype_name(ours) == _dtype_name(theirs) == "bfloat16", name
    np.testing.assert_array_equal(_numpy(ours), _numpy(theirs), err_msg=f"{name}: bit-exact")


@pytest.mark.parametrize("name", ["mm", "conv1d", "sdpa", "cross_entropy_after_mm", "einsum"])
def test_gradients_reach_float32_inputs(name):
    fn, arrays = next((c[1], c[2]) for c in CASES if c[0] == name)
    ours, ds_in = _run(ds, fn, arrays, grad=True)
    theirs, torch_in = _run(torch, fn, arrays, grad=True)
    seed = _arr(*ours.shape)
    ours.backward(ds.tensor(seed).to(ours.dtype))
    theirs.backward(torch.tensor(seed).to(theirs.dtype))
    for i, (a, b) in enumerate(zip(ds_in, torch_in)):
        if b.grad is None:
            continue
        assert a.grad.dtype == ds.float32, f"{name}: input {i} got a {a.grad.dtype} gradient"
        _check(f"{name} grad {i}", a.grad, b.grad, rtol=3e-2, atol=3e-2)


def test_every_op_category_is_known():
    for name in autocast_mode.CPU_OVERRIDES:
        assert name in REGISTRY, f"CPU_OVERRIDES names {name!r}, which is not a registered op"
        assert REGISTRY[name].amp is not None, f"{name}: the override only applies to amp ops"


def test_nested_and_disabled_regions():
    x, w = ds.randn(2, 3), ds.randn(3, 3)
    assert not ds.is_autocast_enabled("cpu")
    with ds.autocast("cpu"):
        assert ds.is_autocast_enabled("cpu") and not ds.is_autocast_enabled()  # default: cuda
        assert (x @ w).dtype == ds.bfloat16
        with ds.autocast("cpu", enabled=False):
            assert not ds.is_autocast_enabled("cpu")
            assert (x @ w).dtype == ds.float32
            with ds.autocast("cpu", dtype=ds.float16):
                assert (x @ w).dtype == ds.float16
                with ds.amp.autocast("cpu"):  # inherits the enclosing dtype, as PyTorch
                    assert ds.get_autocast_dtype("cpu") == ds.float16
                    assert (x @ w).dtype == ds.float16
            assert (x @ w).dtype == ds.float32
        assert (x @ w).dtype == ds.bfloat16
    assert (x @ w).dtype == ds.float32 and AUTOCAST[0] is None
    assert ds.get_autocast_dtype("cpu") == ds.bfloat16


def test_region_restored_after_exception():
    with pytest.raises(ZeroDivisionError), ds.autocast("cpu"):
        _ = 1 / 0
    assert not ds.is_autocast_enabled("cpu") and AUTOCAST[0] is None


def test_decorator():
    x, w = ds.randn(2, 3), ds.randn(3, 3)

    @ds.autocast("cpu")
    def low(a, b):
        return a @ b

    @ds.autocast("cpu", enabled=False)
    def full(a, b):
        return a @ b

    def recursive(n):
        return recursive_low(n - 1) if n else ds.is_autocast_enabled("cpu")

    recursive_low = ds.autocast("cpu")(recursive)
    assert low(x, w).dtype == ds.bfloat16 and (x @ w).dtype == ds.float32
    with ds.autocast("cpu"):
        assert full(x, w).dtype == ds.float32
        assert (x @ w).dtype == ds.bfloat16
    assert recursive_low(3) and not ds.is_autocast_enabled("cpu")
    with pytest.raises(TypeError, match="requires a callable"):
        ds.autocast("cpu")(3)


def test_device_types_and_dtypes():
    with pytest.warns(UserWarning, match="CUDA is not available"):
        region = ds.autocast("cuda")
    with region:
        assert not ds.is_autocast_enabled("cuda")
        assert (ds.randn(2, 2) @ ds.randn(2, 2)).dtype == ds.float32
    with pytest.warns(UserWarning, match="not supported"):
        region = ds.autocast("cpu", dtype=ds.float32)
    with region:
        assert not ds.is_autocast_enabled("cpu")
    with pytest.raises(RuntimeError, match="unsupported autocast device_type 'tpu'"):
        ds.autocast("tpu")
    with pytest.raises(ValueError, match="device_type"):
        ds.autocast(ds.float16)
    assert ds.amp.is_autocast_available("cpu") and not ds.amp.is_autocast_available("tpu")
    assert ds.get_autocast_dtype("cuda") == ds.float16


def test_weight_cache_shares_one_cast():
    w = ds.randn(3, 3, requires_grad=True)
    x = ds.randn(2, 3)
    with ds.autocast("cpu"):
        a, b = x @ w, x @ w
        assert a.grad_fn.next_functions[1][0] is b.grad_fn.next_functions[1][0]
        with ds.no_grad():
            w.add_(1.0)  # an in-place update invalidates the cached cast
        c = x @ w
        assert c.grad_fn.next_functions[1][0] is not a.grad_fn.next_functions[1][0]
        np.testing.assert_allclose(_numpy(c), (x @ w.detach()).float().numpy())
    (a.float().sum() + b.float().sum()).backward()
    np.testing.assert_allclose(_numpy(w.grad), 2 * np.repeat(_numpy(x).sum(0)[:, None], 3, 1),
                               rtol=2e-2, atol=2e-2)
    with ds.autocast("cpu"):
        with ds.no_grad():
            assert not (x @ w).requires_grad
        assert (x @ w).requires_grad  # a cast made under no_grad is not cached
        w.data = ds.zeros(3, 3)  # nor reused once the parameter's data is replaced
        assert (x @ w).abs().sum().item() == 0
    with ds.autocast("cpu", cache_enabled=False):
        a, b = x @ w, x @ w
        assert a.grad_fn.next_functions[1][0] is not b.grad_fn.next_functions[1][0]
    assert not autocast_mode._CACHE


def test_multihead_attention_runs_under_autocast():
    x = ds.randn(3, 4)
    with ds.autocast("cpu"):
        assert ds.nn.MultiheadAttention(4, 2)(x, x, x)[0].dtype == ds.bfloat16


# ---------------------------------------------------------------- a training step
def _mlp_pair(dtype_ds=None):
    ours = ds.nn.Sequential(ds.nn.Linear(4, 8), ds.nn.ReLU(), ds.nn.Linear(8, 2))
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    with torch.no_grad():
        for p, q in zip(ours.parameters(), theirs.parameters()):
            q.copy_(torch.tensor(_numpy(p)))
    return ours, theirs


def test_mlp_training_step_matches_torch():
    ours, theirs = _mlp_pair()
    x, y = _arr(16, 4), _arr(16, 2)
    opt_ds = ds.optim.SGD(ours.parameters(), lr=0.1)
    opt_t = torch.optim.SGD(theirs.parameters(), lr=0.1)
    for _ in range(3):
        for lib, model, opt in ((ds, ours, opt_ds), (torch, theirs, opt_t)):
            with lib.autocast("cpu"):
                loss = _F(lib).mse_loss(model(lib.tensor(x)), lib.tensor(y))
            assert _dtype_name(loss) == "float32"
            opt.zero_grad()
            loss.backward()
            assert all(_dtype_name(p.grad) == "float32" for p in model.parameters())
            opt.step()
    for p, q in zip(ours.parameters(), theirs.parameters()):
        np.testing.assert_allclose(_numpy(p), _numpy(q), rtol=2e-2, atol=2e-2)


# ---------------------------------------------------------------- GradScaler
def _scaler_run(lib, steps, inject, **kwargs):
    """Train a linear model with a scaler; ``inject`` holds the steps whose gradients get an
    inf. Returns the scales after each update, the step results' skip flags and the weights."""
    model = (ds.nn.Linear(3, 1) if lib is ds else torch.nn.Linear(3, 1))
    with (torch.no_grad() if lib is torch else ds.no_grad()):
        model.weight.copy_(lib.tensor([[0.5, -0.25, 0.125]]))
        model.bias.copy_(lib.tensor([0.1]))
    opt = lib.optim.SGD(model.parameters(), lr=0.01)
    scaler = lib.amp.GradScaler("cpu", **kwargs)
    x = lib.tensor(np.linspace(-1, 1, 12, dtype=np.float32).reshape(4, 3))
    scales, skipped = [], []
    for i in range(steps):
        opt.zero_grad()
        loss = model(x).square().mean()
        scaler.scale(loss).backward()
        if i in inject:
            model.weight.grad[0, i % 3] = float("inf") if i % 2 else float("nan")
        before = model.weight.detach().clone()
        scaler.step(opt)
        skipped.append(bool((model.weight.detach() == before).all()))
        scaler.update()
        scales.append(scaler.get_scale())
    return scales, skipped, model.weight.detach().numpy(), scaler


def test_grad_scaler_matches_torch():
    kwargs = {"init_scale": 2.0**10, "growth_factor": 3.0, "backoff_factor": 0.25,
              "growth_interval": 2}
    inject = {1, 2, 5, 9}
    ours = _scaler_run(ds, 12, inject, **kwargs)
    theirs = _scaler_run(torch, 12, inject, **kwargs)
    assert ours[0] == theirs[0]
    assert ours[1] == theirs[1] == [i in inject for i in range(12)]
    np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-6)
    assert ours[3].state_dict() == theirs[3].state_dict()


def test_grad_scaler_state_dict_round_trip():
    *_, scaler = _scaler_run(ds, 5, {3}, init_scale=8.0, growth_interval=3)
    state = scaler.state_dict()
    assert state == {"scale": 8.0, "growth_factor": 2.0, "backoff_factor": 0.5,
                     "growth_interval": 3, "_growth_tracker": 1}
    fresh = ds.amp.GradScaler()
    fresh.load_state_dict(state)
    assert fresh.state_dict() == state and fresh.get_scale() == 8.0
    *_, theirs = _scaler_run(torch, 5, {3}, init_scale=8.0, growth_interval=3)
    fresh.load_state_dict(theirs.state_dict())  # PyTorch's format
    assert fresh.state_dict() == state
    with pytest.raises(RuntimeError, match="state dict is empty"):
        fresh.load_state_dict(ds.amp.GradScaler(enabled=False).state_dict())


def test_grad_scaler_scales_nested_outputs():
    scaler = ds.amp.GradScaler(init_scale=4.0)
    a, b = ds.ones(2), ds.ones(1, dtype=ds.bfloat16)
    out = scaler.scale([a, (b, a)])
    assert isinstance(out, list) and isinstance(out[1], tuple)
    assert out[0].tolist() == [4.0, 4.0] and out[1][0].dtype == ds.bfloat16
    with pytest.raises(ValueError, match="iterable of Tensors"):
        scaler.scale(3.0)
    off = ds.amp.GradScaler(enabled=False)
    assert off.scale(a) is a and off.get_scale() == 1.0 and off.state_dict() == {}


def _one_backward(scaler, dtype=ds.float32):
    w = ds.ones(2, dtype=dtype, requires_grad=True)
    opt = ds.optim.SGD([w], lr=0.1)
    scaler.scale(w.float().sum()).backward()
    return w, opt


def test_grad_scaler_misuse():
    scaler = ds.amp.GradScaler()
    w = ds.ones(2, requires_grad=True)
    opt = ds.optim.SGD([w], lr=0.1)
    w.sum().backward()
    for call in (lambda: scaler.step(opt), lambda: scaler.unscale_(opt), scaler.update):
        with pytest.raises(RuntimeError, match=r"did not use scaler.scale\(loss or outputs\)"):
            call()
    w, opt = _one_backward(scaler)
    with pytest.raises(AssertionError, match="No inf checks"):
        scaler.update()
    scaler.unscale_(opt)
    with pytest.raises(RuntimeError, match=r"unscale_\(\) has already been called on this "
                       r"optimizer since the last update\(\)."):
        scaler.unscale_(opt)
    assert scaler.step(opt) is None
    assert w.tolist() == pytest.approx([0.9, 0.9])  # unscaled once, not twice
    with pytest.raises(RuntimeError, match=r"unscale_\(\) is being called after step\(\)"):
        scaler.unscale_(opt)
    with pytest.raises(RuntimeError, match=r"step\(\) has already been called since the last "
                       r"update\(\)"):
        scaler.step(opt)
    scaler.update()
    _, other = _one_backward(scaler)
    scaler.unscale_(other)  # per-optimizer state: a second optimizer is independent
    scaler.step(opt)
    with pytest.raises(RuntimeError, match="Closure use is not currently supported"):
        scaler.step(other, closure=lambda: 0)
    with pytest.raises(ValueError, match="Attempting to unscale FP16 gradients"):
        half = ds.amp.GradScaler(init_scale=2.0)
        _, opt16 = _one_backward(half, ds.float16)
        half.unscale_(opt16)
    with pytest.raises(AssertionError, match="growth factor"):
        ds.amp.GradScaler(growth_factor=1.0)
    with pytest.raises(AssertionError, match="backoff factor"):
        ds.amp.GradScaler(backoff_factor=1.0)
    with pytest.warns(UserWarning, match="CUDA is not available"):
        assert not ds.amp.GradScaler("cuda").is_enabled()


def test_grad_scaler_update_new_scale_and_accessors():
    scaler = ds.amp.GradScaler(init_scale=16.0)
    _, opt = _one_backward(scaler)
    scaler.step(opt)
    scaler.update(4.0)
    assert scaler.get_scale() == 4.0
    _, opt = _one_backward(scaler)
    scaler.step(opt)
    scaler.update(ds.tensor([2.0]))
    assert scaler.get_scale() == 2.0
    with pytest.raises(AssertionError, match="new_scale should be a float"):
        _, opt = _one_backward(scaler)
        scaler.step(opt)
        scaler.update(ds.tensor([1.0, 2.0]))
    scaler.set_growth_factor(4.0)
    scaler.set_backoff_factor(0.125)
    scaler.set_growth_interval(7)
    assert (scaler.get_growth_factor(), scaler.get_backoff_factor(),
            scaler.get_growth_interval()) == (4.0, 0.125, 7)


def test_grad_scaler_collapse_names_the_parameter():
    model = ds.nn.Sequential(ds.nn.Linear(2, 2), ds.nn.Linear(2, 1))
    opt = ds.amp.master_weights(model, ds.optim.SGD(model.parameters(), lr=0.1))
    scaler = ds.amp.GradScaler(init_scale=4.0, min_scale=1.0)
    x = ds.ones(3, 2, dtype=ds.bfloat16)
    for step in range(3):
        opt.zero_grad()
        scaler.scale(model(x).float().sum()).backward()
        model[1].weight.grad[0, 1] = float("inf")
        scaler.step(opt)
        if step < 2:
            scaler.update()
    with pytest.raises(RuntimeError, match=r"3 steps in a row.* param_groups\[0\]\['params'\]"
                       r"\[2\] \('1.weight'\) of SGD"):
        scaler.update()


# ---------------------------------------------------------------- master weights
def test_master_weights_training_step_matches_reference():
    ours, theirs = _mlp_pair()
    opt = ds.amp.master_weights(ours, ds.optim.SGD(ours.parameters(), lr=0.1, momentum=0.9))
    assert all(p.dtype == ds.bfloat16 for p in ours.parameters())
    masters = opt.param_groups[0]["params"]
    assert all(m.dtype == ds.float32 for m in masters)
    assert opt.param_groups[0]["param_names"] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    # the reference: a bfloat16 torch model stepped through float32 copies by hand
    theirs = theirs.bfloat16()
    ref_masters = [p.detach().float().clone().requires_grad_() for p in theirs.parameters()]
    ref_opt = torch.optim.SGD(ref_masters, lr=0.1, momentum=0.9)
    scaler, ref_scaler = ds.amp.GradScaler(init_scale=256.0), torch.amp.GradScaler(
        "cpu", init_scale=256.0)
    x, y = _arr(16, 4), _arr(16, 2)
    for _ in range(3):
        opt.zero_grad()
        loss = _F(ds).mse_loss(ours(ds.tensor(x, dtype=ds.bfloat16)).float(), ds.tensor(y))
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        ref_opt.zero_grad()
        theirs.zero_grad()
        ref_loss = torch.nn.functional.mse_loss(theirs(torch.tensor(x).bfloat16()).float(),
                                                torch.tensor(y))
        ref_scaler.scale(ref_loss).backward()
        for p, m in zip(theirs.parameters(), ref_masters):
            m.grad = p.grad.float()
        ref_scaler.step(ref_opt)
        ref_scaler.update()
        with torch.no_grad():
            for p, m in zip(theirs.parameters(), ref_masters):
                p.copy_(m)
    for p, m, q, r in zip(ours.parameters(), masters, theirs.parameters(), ref_masters):
        assert p.dtype == ds.bfloat16 and p.grad is None
        np.testing.assert_allclose(_numpy(m), _numpy(r), rtol=2e-2, atol=2e-2)
        np.testing.assert_array_equal(_numpy(p), _numpy(m.to(ds.bfloat16)))
    assert scaler.get_scale() == ref_scaler.get_scale()


def test_master_weights_without_scaler_and_misuse():
    model = ds.nn.Linear(3, 2)
    before = model.weight.detach().clone()
    opt = ds.amp.master_weights(model, ds.optim.SGD(model.parameters(), lr=0.5))
    np.testing.assert_array_equal(_numpy(opt.param_groups[0]["params"][0]), _numpy(before))
    model(ds.ones(1, 3, dtype=ds.bfloat16)).sum().backward()
    opt.step()
    master = opt.param_groups[0]["params"][0]
    np.testing.assert_allclose(_numpy(master), _numpy(before) - 0.5, rtol=1e-6)
    with pytest.raises(RuntimeError, match="already applied"):
        ds.amp.master_weights(model, opt)
    stray = ds.ones(2, requires_grad=True)
    with pytest.raises(ValueError, match="not in the model"):
        ds.amp.master_weights(model, ds.optim.SGD([stray], lr=0.1))


def test_no_warnings_leak():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with ds.autocast("cpu"):
            ds.randn(2, 2) @ ds.randn(2, 2)
