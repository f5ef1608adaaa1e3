"""ds.jit: compiled steps give eager's numbers; guards retrace; the passes and the generated
code do what they say."""

from __future__ import annotations

import copy
import os
import sys
import warnings

import numpy as np
import pytest
import torch

import deepseek as ds
import deepseek.nn as nn
import deepseek.nn.functional as F
from deepseek.ops._opdef import REGISTRY

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "bench"))
from workloads import gpt  # noqa: E402

GOLDEN = os.path.join(os.path.dirname(__file__), "golden", "jit_mlp_step.py.txt")


@pytest.fixture(autouse=True, scope="module")
def _kernel_cache(tmp_path_factory):
    old = os.environ.get("DS_JIT_CACHE")
    os.environ["DS_JIT_CACHE"] = str(tmp_path_factory.mktemp("jit"))
    yield
    if old is None:
        os.environ.pop("DS_JIT_CACHE")
    else:
        os.environ["DS_JIT_CACHE"] = old


def _mlp() -> nn.Module:
    ds.manual_seed(0)
    return nn.Sequential(nn.Linear(12, 32), nn.ReLU(), nn.Linear(32, 32), nn.GELU("tanh"),
                         nn.Linear(32, 4))


def _train_step(model, opt, scheduler=None, zero_first=False):
    def step(x, y):
        if zero_first:
            opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        if not zero_first:
            opt.zero_grad()
        if scheduler is not None:
            scheduler.step()
        return loss

    return step


def _pair(make_opt, build=_mlp, **kw):
    """The same model and optimizer twice: one step function eager, one compiled."""
    m1 = build()
    m2 = copy.deepcopy(m1)
    o1, o2 = make_opt(m1), make_opt(m2)
    return (_train_step(m1, o1, **kw), ds.jit(_train_step(m2, o2, **kw)), m1, m2)


def _data(n=16, classes=4, features=12, seed=0):
    rng = np.random.default_rng(seed)
    return (ds.from_numpy(rng.standard_normal((n, features)).astype(np.float32)),
            ds.from_numpy(rng.integers(0, classes, n)))


@pytest.mark.parametrize("make_opt", [
    lambda m: ds.optim.SGD(m.parameters(), lr=0.05, momentum=0.9),
    lambda m: ds.optim.AdamW(m.parameters(), lr=1e-2),
], ids=["sgd", "adamw"])
@pytest.mark.parametrize("zero_first", [False, True])
def test_compiled_training_matches_eager(make_opt, zero_first):
    eager, compiled, m1, m2 = _pair(make_opt, zero_first=zero_first)
    x, y = _data()
    for _ in range(50):
        np.testing.assert_allclose(compiled(x, y).item(), eager(x, y).item(), rtol=1e-5,
                                   atol=1e-6)
    for p1, p2 in zip(m1.parameters(), m2.parameters()):
        np.testing.assert_allclose(p2.detach().numpy(), p1.detach().numpy(), atol=1e-5)
    assert compiled._traces <= 2  # the first call, and the one after grads appear or not


def test_gpt_training_matches_eager():
    build = lambda: (ds.manual_seed(0), gpt(ds, vocab=32, ctx=16, layers=2, heads=2,
                                            width=32))[1]
    m1 = build()
    m2 = copy.deepcopy(m1)
    o1, o2 = (ds.optim.AdamW(m.parameters(), lr=1e-2) for m in (m1, m2))

    def make(model, opt):
        def step(x, y):
            loss = F.cross_entropy(model(x).flatten(0, 1), y.flatten())
            loss.backward()
            opt.step()
            opt.zero_grad()
            return loss
        return step

    eager, compiled = make(m1, o1), ds.jit(make(m2, o2))
    rng = np.random.default_rng(1)
    x, y = (ds.from_numpy(rng.integers(0, 32, (4, 16))) for _ in range(2))
    for _ in range(20):
        np.testing.assert_allclose(compiled(x, y).item(), eager(x, y).item(), rtol=1e-5,
                                   atol=1e-6)
    assert "fused[" in compiled.graph
    assert "= fused[gelu](" in compiled.graph  # GELU's output computed again for its backward


def test_recomputing_late_reads_shrinks_the_arena(monkeypatch):
    """GELU's output, otherwise kept from the forward for the next layer's weight gradient, is
    computed again in the backward: the planned arena is smaller, the numbers the same."""
    from deepseek.jit import passes

    build = lambda: (ds.manual_seed(0), gpt(ds, vocab=32, ctx=16, layers=2, heads=2,
                                            width=32))[1]
    rng = np.random.default_rng(1)
    x, y = (ds.from_numpy(rng.integers(0, 32, (4, 16))) for _ in range(2))
    results = []
    for remat in (True, False):
        if not remat:
            monkeypatch.setattr(passes, "rematerialize", lambda graph, mutable: None)
        model = build()

        @ds.jit
        def grads(x, model=model):
            loss = F.cross_entropy(model(x).flatten(0, 1), y.flatten())
            loss.backward()
            return loss, [p.grad for p in model.parameters()]

        loss, gs = grads(x)
        loss, gs = grads(x)  # the second trace (gradients exist), then a compiled run
        model.zero_grad()
        loss, gs = grads(x)
        results.append((grads.memory_plan()["pooled_bytes"], loss.item(),
                        [g.numpy().copy() for g in gs]))
    (small, loss1, g1), (large, loss2, g2) = results
    assert small < large
    np.testing.assert_allclose(loss1, loss2, rtol=1e-6)
    for a, b in zip(g1, g2):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_scheduler_learning_rate_is_read_every_step():
    make = lambda m: ds.optim.SGD(m.parameters(), lr=0.1)
    m1, m2 = _mlp(), _mlp()
    o1, o2 = make(m1), make(m2)
    s1 = ds.optim.lr_scheduler.StepLR(o1, step_size=2, gamma=0.5)
    s2 = ds.optim.lr_scheduler.StepLR(o2, step_size=2, gamma=0.5)
    eager, compiled = _train_step(m1, o1, s1), ds.jit(_train_step(m2, o2, s2))
    x, y = _data()
    for _ in range(8):
        np.testing.assert_allclose(compiled(x, y).item(), eager(x, y).item(), rtol=1e-6)
    assert o2.param_groups[0]["lr"] == pytest.approx(0.1 * 0.5 ** 4)
    assert compiled._traces == 1


def test_guards_retrace_and_explain():
    model = _mlp()
    opt = ds.optim.SGD(model.parameters(), lr=0.01)
    step = ds.jit(_train_step(model, opt))
    step(*_data(16))
    step(*_data(16))
    step(*_data(8))  # a new batch size
    model.eval()
    step(*_data(8))  # train/eval flags
    assert step._traces == 3
    text = ds.jit.explain(step)
    assert "first call" in text and "(16, 12)" in text and "(8, 12)" in text
    assert "module train/eval flags" in text


class _Trainer:
    """A step as a method, its model and optimizer attributes of the object; gradients
    cleared between the forward and the backward, by ``zero_grad`` or by hand."""

    def __init__(self, model, opt, by_hand=False):
        self.model, self.opt, self.by_hand = model, opt, by_hand

    def step(self, x, y):
        loss = F.cross_entropy(self.model(x), y)
        if self.by_hand:
            for p in self.model.parameters():
                p.grad = None
        else:
            self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        return loss


@pytest.mark.parametrize("hide", [False, True], ids=["method", "in-a-dict"])
@pytest.mark.parametrize("by_hand", [False, True], ids=["zero_grad", "by-hand"])
def test_grad_guards_settle_wherever_the_model_lives(hide, by_hand):
    """Gradients cleared by ``zero_grad()`` before the backward make the graph independent of
    the ``.grad`` the call starts with: one trace. Cleared by hand, the guard is on that
    state, read on entry for the model's parameters, found through a method's object or
    (inside a dict) while the first trace ran: two traces, never one per call."""
    model = _mlp()
    twin = copy.deepcopy(model)
    reference = _Trainer(twin, ds.optim.SGD(twin.parameters(), lr=0.05, momentum=0.9), by_hand)
    trainer = _Trainer(model, ds.optim.SGD(model.parameters(), lr=0.05, momentum=0.9), by_hand)
    if hide:
        parts = {"trainer": trainer}
        step = ds.jit(lambda x, y: parts["trainer"].step(x, y))
    else:
        step = ds.jit(trainer.step)
    x, y = _data()
    for _ in range(6):
        np.testing.assert_allclose(step(x, y).item(), reference.step(x, y).item(), rtol=1e-5)
    assert step._traces == (2 if by_hand else 1), ds.jit.explain(step)
    if not hide:
        model.eval()
        step(x, y)
        assert "module train/eval flags" in ds.jit.explain(step)


def test_retrace_limit_warns_once_and_runs_eagerly():
    model = _mlp()

    @ds.jit(retrace_limit=2)
    def infer(x):
        with ds.no_grad():
            return model(x)

    for n in (1, 2):
        infer(_data(n)[0])
    with pytest.warns(UserWarning, match="retrace_limit"):
        out = infer(_data(3)[0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        infer(_data(4)[0])
    np.testing.assert_allclose(out.numpy(), model(_data(3)[0]).detach().numpy(), rtol=1e-6)
    assert "retrace limit" in ds.jit.explain(infer)


def test_python_scalars_are_guarded():
    @ds.jit
    def scale(x, k):
        return x * k

    x = ds.ones(3)
    assert scale(x, 2.0).tolist() == [2.0] * 3
    assert scale(x, 2.0).tolist() == [2.0] * 3
    assert scale(x, 3.0).tolist() == [3.0] * 3
    assert scale._traces == 2


@pytest.mark.parametrize("read", ["item", "bool", "tolist"])
def test_data_dependent_python_is_reported(read):
    @ds.jit
    def f(x):
        s = x.sum()
        if read == "item":
            return x * s.item()
        if read == "bool":
            return x if s > 0 else -x
        return ds.tensor(x.tolist())

    with pytest.raises(ds.jit.TraceError, match="depends on the data"):
        f(ds.ones(3))


def test_inference_module_and_no_grad():
    model = _mlp().eval()
    compiled = ds.jit(model)
    x = _data()[0]
    with ds.no_grad():
        for _ in range(3):
            np.testing.assert_allclose(compiled(x).numpy(), model(x).numpy(), rtol=1e-5,
                                       atol=1e-7)
    assert "fused[" in compiled.graph


def test_outputs_needing_autograd_run_eagerly():
    model = _mlp()
    compiled = ds.jit(model)
    out = compiled(_data()[0])
    assert out.grad_fn is not None  # still differentiable: this signature runs eagerly
    assert "no backward" in ds.jit.explain(compiled)


def test_custom_operator_is_captured():
    @ds.operator("jit_test::cube", backward=lambda ctx, g: (3 * ctx.inputs[0] ** 2 * g,))
    def cube(xp, x):
        return x * x * x

    w = ds.ones(3, requires_grad=True)
    opt = ds.optim.SGD([w], lr=0.1)

    @ds.jit
    def step(x):
        loss = cube(w * x).sum()
        loss.backward()
        opt.step()
        opt.zero_grad()
        return loss

    x = ds.tensor([1.0, 2.0, 3.0])
    try:
        losses = [step(x).item() for _ in range(3)]
        assert "jit_test::cube" in step.graph
    finally:
        REGISTRY.pop("jit_test::cube")
    w2 = ds.ones(3, requires_grad=True)
    for _ in range(3):
        (w2 * x).pow(3).sum().backward()
        with ds.no_grad():
            w2 -= 0.1 * w2.grad
        w2.grad = None
    np.testing.assert_allclose(w.detach().numpy(), w2.detach().numpy(), rtol=1e-6)
    assert losses[0] > losses[1] > losses[2]


def test_passes_simplify_fold_cse_dce():
    @ds.jit
    def f(x):
        y = (x * 1 + 0).t().t()  # identities and a transpose undone
        a = y.exp()
        b = y.exp()  # the same computation again
        unused = y.sin()  # noqa: F841  (dead)
        c = ds.ones(3) * 2 + 1  # constants only
        return a + b + c

    x = ds.ones(2, 3)
    first = f(x)
    np.testing.assert_allclose(f(x).numpy(), first.numpy())
    graph = f.graph
    assert "sin" not in graph and "mul(" not in graph and "permute" not in graph
    assert graph.count("exp") == 1



def test_split_gradient_becomes_one_cat():
    w = ds.randn(4, 9, requires_grad=True)

    @ds.jit
    def f(x):
        a, b, c = (x @ w).split([2, 3, 4], dim=1)
        loss = a.sin().sum() + (b * b).sum() + c.exp().sum()
        loss.backward()
        return loss

    x = ds.randn(5, 4)
    for _ in range(2):
        w.grad = None
        f(x)
    got = w.grad.numpy().copy()
    w.grad = None
    a, b, c = (x @ w).split([2, 3, 4], dim=1)
    (a.sin().sum() + (b * b).sum() + c.exp().sum()).backward()
    np.testing.assert_allclose(got, w.grad.numpy(), rtol=1e-6)
    assert "cat(" in f.graph and "index_put" not in f.graph


def test_gradients_of_split_heads_join_in_one_copy():
    """Attention's q, k, v gradients, transposed back and joined, are one cat of the strided
    pieces (no clone of each first), with the eager gradient."""
    w = ds.randn(8, 24, requires_grad=True)

    def loss_of(x):
        q, k, v = (x @ w).split(8, dim=2)
        q, k, v = (t.view(2, 5, 2, 4).transpose(1, 2) for t in (q, k, v))
        return ((q @ k.transpose(-1, -2)).softmax(-1) @ v).sin().sum()

    @ds.jit
    def f(x):
        loss = loss_of(x)
        loss.backward()
        return loss

    x = ds.randn(2, 5, 8)
    for _ in range(2):
        w.grad = None
        f(x)
    got = w.grad.numpy().copy()
    w.grad = None
    loss_of(x).backward()
    np.testing.assert_allclose(got, w.grad.numpy(), rtol=1e-5, atol=1e-6)
    assert f.graph.count("cat(") == 1 and "[2, 5, 2, 4] = clone" not in f.graph


def test_fused_kernels_are_cached_on_disk():
    model = _mlp()
    with ds.no_grad():
        compiled = ds.jit(model)
        compiled(_data()[0])
    files = os.listdir(os.environ["DS_JIT_CACHE"])
    assert any(f.startswith("ds_kernel_") and f.endswith(".py") for f in files)
    plan = compiled.memory_plan()
    assert plan["peak_bytes"] >= plan["pooled_bytes"] > 0


def test_memory_plan_reuses_buffers_between_runs():
    eager, compiled, _, _ = _pair(lambda m: ds.optim.SGD(m.parameters(), lr=0.01))
    x, y = _data(64)
    compiled(x, y)
    compiled(x, y)
    take = compiled._last.run.__globals__["buffers"]
    before = [b.__array_interface__["data"][0] for b in take()]
    compiled(x, y)
    assert before and before == [b.__array_interface__["data"][0] for b in take()]
    arena = compiled.memory_plan()["pooled_bytes"]
    ends = [b.__array_interface__["data"][0] - min(before) + b.nbytes for b in take()]
    assert max(ends) <= arena <= sum(-(-b.nbytes // 64) * 64 for b in take())


def test_arena_buffers_alive_at_once_never_overlap():
    """Greedy-by-size offsets on random lifetimes and sizes: two buffers alive at the same node
    never share a byte, and the arena is no larger than the buffers laid end to end."""
    from deepseek.jit.codegen import _arena

    class Buffer:
        def __init__(self, nbytes):
            self.nbytes = nbytes

    rng = np.random.default_rng(0)
    for _ in range(20):
        spans = []
        for _ in range(int(rng.integers(1, 40))):
            first = int(rng.integers(0, 50))
            spans.append([first, first + int(rng.integers(0, 20)),
                          Buffer(int(rng.integers(1, 5000)))])
        offsets, size = _arena(spans)
        for i, (a0, a1, va) in enumerate(spans):
            assert offsets[i] % 64 == 0 and offsets[i] + va.nbytes <= size
            for j, (b0, b1, vb) in enumerate(spans[:i]):
                if a0 <= b1 and b0 <= a1:  # alive at once
                    assert (offsets[i] + va.nbytes <= offsets[j]
                            or offsets[j] + vb.nbytes <= offsets[i]), (spans, offsets)
        assert size <= sum(-(-v.nbytes // 64) * 64 for _, _, v in spans)


def test_tracing_costs_about_one_eager_step_of_memory():
    def wide():
        ds.manual_seed(0)
        return nn.Sequential(nn.Linear(64, 512), nn.GELU("tanh"), nn.Linear(512, 512),
                             nn.GELU("tanh"), nn.Linear(512, 4))

    eager, compiled, _, _ = _pair(lambda m: ds.optim.SGD(m.parameters(), lr=0.01), build=wide,
                                  zero_first=True)
    x, y = _data(4096, features=64)
    eager(x, y)
    ds.reset_peak_memory_stats()
    base = ds.memory_allocated()
    eager(x, y)
    eager_peak = ds.max_memory_allocated() - base
    ds.reset_peak_memory_stats()
    for _ in range(3):  # a trace (zero_grad first: .grad set or not, one graph), two runs
        compiled(x, y)
    assert [what for what, _ in compiled.log] == ["traced"]
    assert ds.max_memory_allocated() - base < 1.5 * eager_peak


@pytest.mark.parametrize("channels", [3, 16], ids=["im2col", "winograd"])
def test_fuse_layers_under_jit(channels):
    """The folded Conv-BN-ReLU runs as one convolution whose chunks get the bias and the ReLU
    right after their GEMM (no separate ReLU pass), on both convolution paths."""
    ds.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(channels, 16, 3, padding=1), nn.BatchNorm2d(16),
                          nn.ReLU()).eval()
    with ds.no_grad():
        model[1].running_mean.uniform_(-1, 1)
        model[1].running_var.uniform_(0.5, 2)
        fused = ds.nn.fuse_layers(model)
        compiled = ds.jit(fused)
        x = ds.randn(5, channels, 8, 8)
        for _ in range(2):
            np.testing.assert_allclose(compiled(x).numpy(), model(x).numpy(), atol=1e-5)
    assert "activation='relu'" in compiled.code and " relu(" not in compiled.code


def test_generated_code_golden():
    """The generated source of a small training step; regenerate with DS_UPDATE_GOLDEN=1."""
    ds.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    opt = ds.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    step = ds.jit(_train_step(model, opt))
    step(*_data(5, classes=3, features=4))
    code = step.code
    if os.environ.get("DS_UPDATE_GOLDEN"):
        os.makedirs(os.path.dirname(GOLDEN), exist_ok=True)
        with open(GOLDEN, "w") as f:
            f.write(code)
    with open(GOLDEN) as f:
        assert code == f.read(), "generated code changed; review it, then DS_UPDATE_GOLDEN=1"


def test_explain_rejects_plain_functions():
    with pytest.raises(TypeError, match="made by ds.jit"):
        ds.jit.explain(lambda: None)


def test_dropout_draws_fresh_numbers_each_run():
    def build():
        ds.manual_seed(0)
        return nn.Sequential(nn.Linear(12, 32), nn.Dropout(0.5), nn.Linear(32, 4))

    eager, compiled, _, _ = _pair(lambda m: ds.optim.SGD(m.parameters(), lr=0.05), build=build)
    x, y = _data()
    ds.manual_seed(1)
    want = [eager(x, y).item() for _ in range(5)]
    ds.manual_seed(1)
    got = [compiled(x, y).item() for _ in range(5)]
    np.testing.assert_allclose(got, want, rtol=1e-5)
    assert len(set(got)) == 5


@pytest.mark.parametrize("momentum", [0.1, None], ids=["momentum", "cumulative"])
def test_conv_training_matches_eager(momentum):
    """Conv-BN-ReLU and a Conv-ReLU (whose ReLU becomes the convolution's epilogue) train as
    in eager mode, the running statistics included (a cumulative average's factor changes
    every step)."""
    def build():
        ds.manual_seed(0)
        return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1, bias=False),
                             nn.BatchNorm2d(4, momentum=momentum),
                             nn.ReLU(), nn.Conv2d(4, 4, 3, padding=1), nn.ReLU(),
                             nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3))

    eager, compiled, m1, m2 = _pair(lambda m: ds.optim.SGD(m.parameters(), lr=0.1,
                                                           momentum=0.9), build=build)
    rng = np.random.default_rng(0)
    y = ds.from_numpy(rng.integers(0, 3, 4))
    for i in range(10):
        x = ds.from_numpy((rng.standard_normal((4, 3, 6, 6)) + i).astype(np.float32))
        np.testing.assert_allclose(compiled(x, y).item(), eager(x, y).item(), rtol=1e-5,
                                   atol=1e-6)
    for stat in ("running_mean", "running_var"):
        np.testing.assert_allclose(getattr(m2[1], stat).numpy(), getattr(m1[1], stat).numpy(),
                                   rtol=1e-5, atol=1e-6)
    assert "activation='relu'" in compiled.code


def test_fuse_false_compiles_without_kernels():
    eager, _, m1, _ = _pair(lambda m: ds.optim.SGD(m.parameters(), lr=0.05))
    m2 = copy.deepcopy(m1)
    compiled = ds.jit(_train_step(m2, ds.optim.SGD(m2.parameters(), lr=0.05)), fuse=False)
    x, y = _data()
    for _ in range(3):
        np.testing.assert_allclose(compiled(x, y).item(), eager(x, y).item(), rtol=1e-6)
    assert "fused[" not in compiled.graph


def test_a_lone_elementwise_op_gets_a_kernel_when_big_or_compound(monkeypatch):
    """NumPy runs one ufunc pass on one core: a single op becomes a (threaded) kernel when its
    output reaches PARALLEL_MIN elements or NumPy would need several passes; a small simple
    one stays a NumPy call."""
    from deepseek.jit import passes

    monkeypatch.setattr(passes, "PARALLEL_MIN", 64)
    b = ds.randn(8)
    for shape, fused in (((4, 8), False), ((8, 8), True)):
        x = ds.randn(*shape)
        compiled = ds.jit(lambda x: x + b)
        np.testing.assert_array_equal(compiled(x).numpy(), (x + b).numpy())
        assert ("fused[" in compiled.graph) == fused, compiled.graph
    compiled = ds.jit(lambda x: F.gelu(x))
    x = ds.randn(4, 8)
    np.testing.assert_allclose(compiled(x).numpy(), F.gelu(x).numpy(), rtol=1e-6, atol=1e-7)
    assert "fused[" in compiled.graph


class _RandomNet(nn.Module):
    """A random stack of the blocks the passes rewrite: linear+activation (fused epilogues,
    GELU recomputed for its backward), residual adds, layer norm, conv+ReLU (the convolution
    epilogue) on 16 channels (Winograd) or fewer (im2col)."""

    def __init__(self, rng, width, conv_channels):
        super().__init__()
        self.conv = nn.Conv2d(2, conv_channels, 3, padding=1)
        self.conv2 = nn.Conv2d(conv_channels, conv_channels, 3, padding=1,
                               bias=bool(rng.integers(2)))
        self.inp = nn.Linear(conv_channels * 16, width)
        self.blocks = nn.ModuleList()
        self.kinds = []
        for _ in range(int(rng.integers(2, 5))):
            kind = str(rng.choice(["gelu", "relu", "tanh", "norm"]))
            self.kinds.append(kind)
            self.blocks.append(nn.ModuleList([nn.Linear(width, 2 * width),
                                              nn.Linear(2 * width, width), nn.LayerNorm(width)]))
        self.head = nn.Linear(width, 3)

    def forward(self, x):
        h = F.relu(self.conv(x))
        h = F.relu(self.conv2(h)) + h
        h = self.inp(h.flatten(1))
        for kind, (up, down, norm) in zip(self.kinds, self.blocks):
            z = up(norm(h) if kind == "norm" else h)
            z = F.gelu(z, approximate="tanh") if kind in ("gelu", "norm") else (
                F.relu(z) if kind == "relu" else z.tanh())
            h = h + down(z)
        return self.head(h)


@pytest.mark.parametrize("seed", range(6))
def test_random_networks_train_as_in_eager(seed):
    """Random networks of the rewritten patterns, trained compiled and eager from the same
    weights: the same losses and weights after a few steps (a planned buffer overlapping a
    live one, or a wrong recomputation, would change the numbers). SGD, whose update is
    linear in the gradient: Adam's would blow float32 rounding of near-zero gradients up to
    its step size."""
    rng = np.random.default_rng(seed)
    width = int(rng.choice([8, 24, 40]))
    channels = int(rng.choice([4, 16]))
    build = lambda: (ds.manual_seed(seed), _RandomNet(np.random.default_rng(seed), width,
                                                       channels))[1]
    eager, compiled, m1, m2 = _pair(lambda m: ds.optim.SGD(m.parameters(), lr=0.05,
                                                           momentum=0.9), build=build)
    x = ds.from_numpy(rng.standard_normal((int(rng.integers(2, 6)), 2, 4, 4)).astype(np.float32))
    y = ds.from_numpy(rng.integers(0, 3, x.shape[0]))
    for _ in range(4):
        np.testing.assert_allclose(compiled(x, y).item(), eager(x, y).item(), rtol=1e-4,
                                   atol=1e-5)
    for p1, p2 in zip(m1.parameters(), m2.parameters()):
        np.testing.assert_allclose(p2.detach().numpy(), p1.detach().numpy(), rtol=1e-4,
                                   atol=1e-6)
    assert "activation='relu'" in compiled.code


def test_a_gradient_read_in_the_function_is_the_current_one():
    """``p.grad`` read inside a compiled function (gradient accumulation scaled by hand) is
    looked up on the parameter at every run, not the tensor object seen while tracing, which
    ``zero_grad()`` replaces."""
    model = _mlp()

    @ds.jit
    def grad_norm():
        return sum((p.grad * p.grad).sum() for p in model.parameters())

    x, y = _data()
    for scale in (1.0, 3.0):
        model.zero_grad()
        (F.cross_entropy(model(x), y) * scale).backward()
        want = sum(float((p.grad.numpy().astype(np.float64) ** 2).sum())
                   for p in model.parameters())
        np.testing.assert_allclose(grad_norm().item(), want, rtol=1e-5)
    assert grad_norm._traces == 1


@pytest.mark.filterwarnings("ignore:overflow encountered")  # the scale overflowing, on purpose
def test_grad_scaler_scales_by_its_current_scale_and_its_step_is_reported():
    """Under autocast, scaler.scale(loss).backward() compiles and multiplies by the scale at
    each run (here it grows every step until the gradients overflow, then backs off), with step
    and update after the compiled call, as in eager; step inside the compiled function, whose
    inf check decides on the data, is a clear error."""
    x, y = _data()
    x = x * 1e3
    runs = []
    for compiled in (False, True):
        model = _mlp()
        opt = ds.optim.SGD(model.parameters(), lr=1e-6)
        scaler = ds.amp.GradScaler("cpu", init_scale=2.0**118, growth_interval=1)

        def forward_backward(x, y):
            with ds.autocast("cpu", dtype=ds.bfloat16):
                loss = F.cross_entropy(model(x), y)
            scaler.scale(loss).backward()
            return loss

        fn = ds.jit(forward_backward) if compiled else forward_backward
        seen = []
        for _ in range(10):
            loss = fn(x, y)
            scaler.step(opt)
            scaler.update()
            opt.zero_grad()
            seen.append((float(loss), scaler.get_scale()))
        seen.append(float(sum(p.detach().abs().sum() for p in model.parameters())))
        runs.append(seen)
    scales = [s for _, s in runs[0][:-1]]
    assert max(scales) > scales[0] and scales[-1] < max(scales)  # it grew, then backed off
    np.testing.assert_allclose(np.array(runs[1][:-1]), np.array(runs[0][:-1]), rtol=1e-6)
    np.testing.assert_allclose(runs[1][-1], runs[0][-1], rtol=1e-6)
    assert fn._traces == 1

    @ds.jit
    def whole_step(x, y):
        loss = F.cross_entropy(model(x), y)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        return loss

    with pytest.raises(ds.jit.TraceError, match="GradScaler.unscale_"):
        whole_step(x, y)


@pytest.mark.parametrize("rnn", [nn.LSTM, nn.GRU])
def test_recurrent_training_matches_eager(rnn):
    """A recurrent layer's cell is fused kernels read again steps later, which the
    recomputation rewires: the kernels reading a recomputed value read it (not the old one)."""
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn, self.head = rnn(6, 8, num_layers=2, batch_first=True), nn.Linear(8, 4)

        def forward(self, x):
            return self.head(self.rnn(x)[0][:, -1])

    ds.manual_seed(0)
    eager, compiled, m1, m2 = _pair(lambda m: ds.optim.SGD(m.parameters(), lr=0.1,
                                                           momentum=0.9), build=Net)
    rng = np.random.default_rng(0)
    x = ds.from_numpy(rng.standard_normal((8, 5, 6)).astype(np.float32))
    y = ds.from_numpy(rng.integers(0, 4, 8))
    for _ in range(4):
        np.testing.assert_allclose(float(compiled(x, y)), float(eager(x, y)), rtol=1e-5)
    for p1, p2 in zip(m1.parameters(), m2.parameters()):
        np.testing.assert_allclose(p2.detach().numpy(), p1.detach().numpy(), rtol=1e-4,
                                   atol=1e-6)


def test_index_and_mask_tensors_are_inputs_not_constants():
    """A mask or index the function is given or computes is read at every run (an attribute
    of the op would be baked in): masked_fill, index_put with computed indices, setitem."""
    def f(x, mask):
        y = x.masked_fill(mask, 0.0) + x.index_put((x.argsort()[:2],), ds.tensor([9.0, 9.0]))
        y[x > 1] = -1.0
        return y + x.scatter(0, ds.tensor([0, 2]), x.sum(), reduce="add")

    compiled = ds.jit(f)
    rng = np.random.default_rng(0)
    for _ in range(3):
        x = ds.from_numpy(rng.standard_normal(6).astype(np.float32) * 2)
        mask = ds.from_numpy(rng.random(6) > 0.5)
        np.testing.assert_array_equal(compiled(x, mask).numpy(), f(x, mask).numpy())
    assert compiled._traces == 1


@pytest.mark.parametrize("make", [
    lambda x: x[x > 0], lambda x: ds.masked_select(x, x > 0), lambda x: ds.nonzero(x),
    lambda x: ds.unique(x), lambda x: x[x.argmax()], lambda x: x + ds.empty_like(x).normal_(),
    lambda x: x.repeat_interleave((x > 0).long()),
    lambda x: F.one_hot((x > 0).long()),
    lambda x: F.embedding_bag((x > 0).long(), x[:, None].expand(3, 2), (x > 5).long()),
    lambda x: F.embedding_bag((x > 0).long()[None], x[:, None].expand(3, 2), mode="max"),
    lambda x: nn.utils.rnn.pack_padded_sequence(x[:, None, None], (x > 0).long() + 1,
                                                enforce_sorted=False),
    lambda x: x.masked_scatter(x > 0, ds.zeros(3)),
], ids=["bool-index", "masked_select", "nonzero", "unique", "tensor-int-index", "fill_",
        "repeat_interleave", "one_hot", "bag-offsets", "bag-max", "packed-lengths",
        "masked_scatter"])
def test_data_dependent_shapes_and_fills_are_reported(make):
    with pytest.raises(ds.jit.TraceError, match=r"\[ds.jit\]"):
        ds.jit(make)(ds.tensor([1.0, -2.0, 3.0]))


def test_random_draws_are_fresh_at_every_run_and_follow_the_seed():
    """randn, rand_like, randint, randperm, normal and two bernoulli draws of one input (which
    must not merge) draw again at every compiled run, the same numbers as eager from the same
    seed."""
    def f(x):
        return (x + ds.randn(3) + ds.rand_like(x) + ds.randint(0, 9, (3,)) + ds.randperm(3)
                + ds.normal(x, 2.0) + (x.sigmoid().bernoulli() - x.sigmoid().bernoulli()) * 10)

    compiled = ds.jit(f)
    x = ds.tensor([0.5, -1.0, 2.0])
    ds.manual_seed(3)
    want = [f(x).numpy() for _ in range(3)]
    ds.manual_seed(3)
    got = [compiled(x).numpy() for _ in range(3)]
    np.testing.assert_allclose(got, want, rtol=1e-6)
    assert not np.allclose(got[1], got[2])


def test_compile_is_torch_compile_spelled_for_jit():
    torch_model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(),
                                      torch.nn.Linear(8, 2))
    model = ds.nn.Sequential(ds.nn.Linear(4, 8), ds.nn.ReLU(), ds.nn.Linear(8, 2))
    model.load_state_dict({k: ds.tensor(v.detach().numpy())
                           for k, v in torch_model.state_dict().items()})
    compiled, torch_compiled = ds.compile(model), torch.compile(torch_model)
    assert list(compiled.state_dict()) == list(torch_compiled.state_dict())
    assert [n for n, _ in compiled.named_parameters()] == [
        n for n, _ in torch_compiled.named_parameters()]
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    compiled(ds.tensor(x)).sum().backward()  # backward outside: that signature runs eagerly
    torch_model(torch.tensor(x)).sum().backward()
    np.testing.assert_allclose(model[0].weight.grad.numpy(), torch_model[0].weight.grad.numpy(),
                               rtol=1e-5, atol=1e-6)
    with ds.no_grad():
        outs = [compiled(ds.tensor(x)) for _ in range(3)]
    np.testing.assert_allclose(outs[-1].numpy(), torch_model(torch.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    log = ds.jit.explain(compiled._compiled)
    assert "outputs require grad" in log and "traced" in log
    compiled.eval()
    assert not model.training

    @ds.compile(mode="max-autotune")
    def step(a):
        return (a * 2).sin()

    np.testing.assert_allclose(step(ds.tensor(x)).numpy(), np.sin(2 * x), rtol=1e-6)
    assert ds.compile(step, disable=True) is step
    with pytest.raises(RuntimeError, match=r"\[compile\] unknown mode"):
        ds.compile(step, mode="fastest")


def test_gemm_floor_records_every_product_of_a_step():
    # bench/gemm_floor.py's bound on jit/eager rests on seeing each product of the step once
    from gemm_floor import flops, record_products
    from workloads import WORKLOADS, make_step

    spec = WORKLOADS["W1 MLP"]
    model = spec["build"](ds)
    opt = ds.optim.SGD(model.parameters(), lr=0.1)
    x, y = (ds.from_numpy(a) for a in spec["batch"](np.random.default_rng(0)))
    calls = record_products(make_step(ds, model, opt, spec["loss"]), x, y)
    widths = [(784, 1024), (1024, 1024), (1024, 10)]
    forward = sum(2 * 256 * i * o for i, o in widths)
    # forward, weight gradients and input gradients but the first layer's (x needs none)
    assert len(calls) == 3 + 3 + 2
    assert sum(flops(a, b) for _, a, b in calls) == 3 * forward - 2 * 256 * 784 * 1024
