"""deepseek.memory: exact allocator statistics, saved-tensor hooks as torch's, offload under a
limit (bitwise-identical gradients), the OOM report, automatic checkpointing, flat storage."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import deepseek as ds


def test_stats_exact_on_known_pattern() -> None:
    ds.reset_peak_memory_stats()
    base = ds.memory_allocated()
    count = ds.memory_stats()["allocation.all.current"]
    x = ds.zeros(1000)  # float32: 4000 bytes
    y = ds.empty(256, 256, dtype=ds.float64)  # 524288 bytes
    assert ds.memory_allocated() - base == 4000 + 524288
    assert ds.memory_stats()["allocation.all.current"] - count == 2
    del y
    assert ds.memory_allocated() - base == 4000
    assert ds.max_memory_allocated() - base == 4000 + 524288
    ds.reset_peak_memory_stats()
    assert ds.max_memory_allocated() == ds.memory_allocated()
    del x
    assert ds.memory_allocated() == base
    assert "Allocated memory" in ds.memory_summary()


def test_pool_reuses_by_size_class() -> None:
    ds.memory.set_caching(True)
    try:
        hits = ds.memory_stats()["num_cache_hits"]
        for _ in range(4):
            t = ds.ones(300, 300)  # 360000 bytes: pooled
            del t
        assert ds.memory_stats()["num_cache_hits"] - hits == 3
        z = ds.zeros(300, 300)  # a cached buffer handed out for zeros must be zeroed
        assert float(z.abs().sum()) == 0.0
    finally:
        ds.memory.set_caching(False)
    assert ds.memory_stats()["cached_bytes.all.current"] == 0


def _graph(lib, x):
    y = (x * x).exp()
    return (y * x.sin()).sum()


def test_saved_tensors_hooks_like_torch() -> None:
    logs = {}
    for lib in (ds, torch):
        calls = []

        def pack(t, calls=calls):
            calls.append(("pack", tuple(t.shape)))
            return t.detach().clone()

        def unpack(t, calls=calls):
            calls.append(("unpack", tuple(t.shape)))
            return t

        x = lib.tensor([0.5, -1.0, 2.0], requires_grad=True)
        with lib.autograd.graph.saved_tensors_hooks(pack, unpack):
            loss = _graph(lib, x)
        n_pack = len(calls)
        loss.backward()
        logs[lib.__name__] = (n_pack, len(calls) - n_pack, x.grad.detach().numpy().copy())
    (p1, u1, g1), (p2, u2, g2) = logs["deepseek"], logs["torch"]
    assert (p1, u1) == (p2, u2)
    np.testing.assert_allclose(g1, g2, rtol=1e-6)


def test_unpack_must_return_tensor() -> None:
    x = ds.randn(3, requires_grad=True)
    with ds.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: 1):
        y = x.exp().sum()
    with pytest.raises(TypeError, match="unpack_hook"):
        y.backward()


def _gpt(layers: int = 2):
    import sys, os  # noqa: E401

    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "bench"))
    from workloads import gpt

    ds.manual_seed(0)
    return gpt(ds, vocab=32, ctx=16, layers=layers, heads=2, width=32)


def _step_grads(model, idx, tgt) -> list:
    for p in model.parameters():
        p.grad = None
    out = model(idx)
    ds.nn.functional.cross_entropy(out.flatten(0, 1), tgt.flatten()).backward()
    return [p.grad.numpy().copy() for p in model.parameters()]


def test_offload_gives_bitwise_identical_grads(monkeypatch) -> None:
    model = _gpt()
    rng = np.random.default_rng(0)
    idx, tgt = (ds.from_numpy(rng.integers(0, 32, (8, 16))) for _ in range(2))
    plain = _step_grads(model, idx, tgt)
    monkeypatch.setattr(ds.memory.budget, "MIN_OFFLOAD_BYTES", 1024)
    monkeypatch.setattr(ds.memory.budget, "HEADROOM", 0.99)  # offload nearly everything
    with ds.memory.limit(ds.memory_allocated() + (8 << 20)) as lim:
        offloaded = _step_grads(model, idx, tgt)
    assert lim.stats["evictions"] > 0 and lim.stats["loads"] > 0
    for a, b in zip(plain, offloaded):
        assert np.array_equal(a, b)


def test_spill_directory_is_removed_at_exit(tmp_path) -> None:
    """A limit set for the rest of the process still removes its spill files when it exits."""
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent("""
        import deepseek as ds
        ds.memory.budget.MIN_OFFLOAD_BYTES = 0
        ds.memory.set_limit(ds.memory_allocated() + (4 << 20))
        x = ds.randn(512, 512, requires_grad=True)
        y = (x * 2).exp().sum()
        assert ds.memory.offload_stats()["evictions"] > 0
        y.backward()
    """)
    env = {**__import__("os").environ, "TMPDIR": str(tmp_path)}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
    assert list(tmp_path.iterdir()) == []


def test_oom_names_largest_tensors() -> None:
    keep = ds.randn(512, 256)  # 512 KiB
    with pytest.raises(ds.OutOfMemoryError) as info:
        with ds.memory.limit(ds.memory_allocated() + (1 << 20), offload=False):
            big = ds.ones(1024, 1024)  # 4 MiB: cannot fit
            del big
    message = str(info.value)
    assert "[512, 256]" in message and "float32" in message and "checkpoint" in message
    assert isinstance(info.value, RuntimeError)
    assert ds.memory.get_limit() == 0
    del keep


def test_auto_checkpoint_same_grads_with_dropout() -> None:
    ds.manual_seed(0)
    model = ds.nn.Sequential(ds.nn.Linear(4, 8), ds.nn.Dropout(0.5), ds.nn.Tanh(),
                             ds.nn.Sequential(ds.nn.Linear(8, 8), ds.nn.Dropout(0.3)),
                             ds.nn.Linear(8, 2))
    x = ds.randn(5, 4)

    def grads():
        ds.manual_seed(7)
        model.zero_grad()
        model(x).square().sum().backward()
        return [p.grad.numpy().copy() for p in model.parameters()]

    plain = grads()
    ds.memory.auto_checkpoint(model)
    assert "forward" in model[0].__dict__
    recomputed = grads()
    for a, b in zip(plain, recomputed):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert set(model.state_dict()) == {f"{k}" for k in model.state_dict()}
    ds.memory.auto_checkpoint(model, enabled=False)
    assert "forward" not in model[0].__dict__


def test_checkpoint_from_env(monkeypatch) -> None:
    model = _gpt()
    monkeypatch.setenv("DS_GRADIENT_CHECKPOINTING", "1")
    ds.memory.checkpoint_from_env(model)
    assert all("forward" in b.__dict__ for b in model.blocks)


def _train(flat: bool, steps: int = 3) -> list:
    model = _gpt()
    opt = ds.optim.AdamW(model.parameters(), lr=1e-2)
    if flat:
        bufs = ds.memory.flatten_parameters(model, optimizer=opt)
        assert len(bufs) == 1 and bufs[0].data.numel() == sum(p.numel()
                                                                for p in model.parameters())
    rng = np.random.default_rng(1)
    idx, tgt = (ds.from_numpy(rng.integers(0, 32, (4, 16))) for _ in range(2))
    for _ in range(steps):
        opt.zero_grad()
        out = model(idx)
        ds.nn.functional.cross_entropy(out.flatten(0, 1), tgt.flatten()).backward()
        opt.step()
    return [p.detach().numpy().copy() for p in model.parameters()], opt, model


def test_flat_optimizer_matches_plain() -> None:
    plain, _, _ = _train(False)
    flat, opt, model = _train(True)
    for a, b in zip(plain, flat):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    buf = opt.flatten()[0]
    p = next(model.parameters())
    assert p._data.base is buf.data._data and p.grad._data.base is buf.grad._data
    opt.zero_grad(set_to_none=True)  # keeps the views
    assert p.grad is not None and float(buf.grad.abs().sum()) == 0.0
    sd = opt.state_dict()
    assert sd["state"][0]["exp_avg"].shape == p.shape
    opt.load_state_dict(sd)
    assert len(opt.state) == 1


def test_offload_parameters_keeps_values() -> None:
    model = ds.nn.Linear(4, 3)
    before = model.weight.detach().numpy().copy()
    ds.memory.offload_parameters(model)
    assert np.array_equal(model.weight.detach().numpy(), before)
    model(ds.randn(2, 4)).sum().backward()
    assert model.weight.grad.shape == (3, 4)


def test_env_variable_checkpoints_without_code_changes():
    """DS_GRADIENT_CHECKPOINTING=1 at import: same gradients, blocks run checkpointed."""
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent("""
        import numpy as np, deepseek as ds
        def grads():
            ds.manual_seed(0)
            m = ds.nn.Sequential(ds.nn.Linear(4, 8), ds.nn.Tanh(), ds.nn.Linear(8, 2))
            m(ds.ones(3, 4)).sum().backward()
            return m, [p.grad.numpy().copy() for p in m.parameters()]
        m, g = grads()
        print("wrapped" if "forward" in m[0].__dict__ else "plain")
        np.save("grads.npy", np.concatenate([x.ravel() for x in g]))
    """)
    import os
    import tempfile

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for flag in ("0", "1"):
            env = dict(os.environ, DS_GRADIENT_CHECKPOINTING=flag)
            r = subprocess.run([sys.executable, "-c", code], cwd=tmp, env=env,
                               capture_output=True, text=True, check=True)
            out[flag] = (r.stdout.strip(), np.load(os.path.join(tmp, "grads.npy")))
    assert out["0"][0] == "plain" and out["1"][0] == "wrapped"
    np.testing.assert_array_equal(out["0"][1], out["1"][1])


def test_window_peak_is_exact_and_separate() -> None:
    from deepseek.backend import allocator as A

    ds.reset_peak_memory_stats()
    A.window_peak(reset=True)
    base = ds.memory_allocated()
    t = ds.empty(1000, dtype=ds.float64)  # 8000 bytes
    del t
    assert A.window_peak(reset=True) - base == 8000
    assert A.window_peak() == ds.memory_allocated()  # reset to the current value
    assert ds.max_memory_allocated() - base == 8000  # the user's peak is untouched


class _Square(ds.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 2 * x * g


def test_function_saved_tensors_go_through_hooks_like_torch() -> None:
    class TorchSquare(torch.autograd.Function):
        forward, backward = staticmethod(_Square.forward), staticmethod(_Square.backward)

    counts = {}
    for lib, fn in ((ds, _Square), (torch, TorchSquare)):
        calls = []
        x = lib.tensor([1.0, -2.0, 3.0], requires_grad=True)
        with lib.autograd.graph.saved_tensors_hooks(
                lambda t, calls=calls: calls.append("pack") or t.detach(),
                lambda t, calls=calls: calls.append("unpack") or t):
            y = fn.apply(x.exp()).sum()
        y.backward()
        counts[lib.__name__] = (calls.count("pack"), calls.count("unpack"),
                                x.grad.detach().numpy().copy())
    assert counts["deepseek"][:2] == counts["torch"][:2] == (2, 2)  # exp's output, Square's input
    np.testing.assert_allclose(counts["deepseek"][2], counts["torch"][2], rtol=1e-6)


def test_offload_reaches_checkpoint_inputs_bitwise(monkeypatch) -> None:
    model = _gpt(layers=3)
    rng = np.random.default_rng(0)
    idx, tgt = (ds.from_numpy(rng.integers(0, 32, (8, 16))) for _ in range(2))
    ds.memory.auto_checkpoint(model)
    plain = _step_grads(model, idx, tgt)
    monkeypatch.setattr(ds.memory.budget, "MIN_OFFLOAD_BYTES", 1024)
    monkeypatch.setattr(ds.memory.budget, "HEADROOM", 0.99)
    with ds.memory.limit(ds.memory_allocated() + (8 << 20)) as lim:
        offloaded = _step_grads(model, idx, tgt)
    assert lim.stats["evictions"] >= 3  # the blocks' inputs, saved by the checkpoint Function
    for a, b in zip(plain, offloaded):
        assert np.array_equal(a, b)


def test_parameters_and_their_views_are_never_spilled() -> None:
    budget = ds.memory.budget._Budget(1 << 30)
    w = ds.nn.Parameter(ds.randn(256, 256))
    assert budget.pack(w) is w and budget.pack(w.t()) is not None
    assert isinstance(budget.pack(w.t()), ds.Tensor)
    activation = (w * 2).relu()
    assert isinstance(budget.pack(activation), ds.memory.budget._Spill)
    budget.close()


def test_oom_report_names_parameters_state_and_saved_activations() -> None:
    model = ds.nn.Sequential(ds.nn.Linear(256, 512), ds.nn.GELU(), ds.nn.Linear(512, 256))
    opt = ds.optim.AdamW(model.parameters())
    model(ds.randn(4, 256)).sum().backward()
    opt.step()
    y = model(ds.randn(1024, 256))  # keeps gelu's input (op addmm/add) for backward
    rows = ds.memory.largest_tensors(30)
    producers = [r[3] for r in rows]
    assert "parameter 0.weight" in producers and "gradient of 2.weight" in producers
    assert "AdamW exp_avg_sq of 0.weight" in producers
    saved = [p for (n, s, d, p) in rows if s == (1024, 512)]
    assert saved and all("saved for GeluBackward0" in p or "saved for" in p for p in saved)
    with pytest.raises(ds.OutOfMemoryError, match="parameter 0.weight"):
        with ds.memory.limit(ds.memory_allocated() + (1 << 20), offload=False):
            ds.ones(1024, 1024)
    del y


def test_pack_hook_may_run_ops_that_save_tensors():
    x = ds.randn(3, requires_grad=True)
    with ds.autograd.graph.saved_tensors_hooks(lambda t: t * 1, lambda t: t):
        (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.detach().numpy())
