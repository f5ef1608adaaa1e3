"""F.ctc_loss and nn.CTCLoss against torch (values and the log_probs gradient torch returns),
finite differences through log_softmax, and the errors torch raises."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from nn_reference import compare_module

import deepseek as ds
import deepseek.nn.functional as F

TOL = {"float64": (1e-10, 1e-9), "float32": (1e-5, 1e-5)}


def _case(seed, steps=12, batch=4, classes=5, width=4):
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal((steps, batch, classes))
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    targets = rng.integers(1, classes, (batch, width))
    targets[0, :4] = [2, 2, 3, 3][:width]  # repeated labels need a blank between them
    input_lengths = np.array([steps, steps - 2, 3, steps - 4][:batch])  # 3 < 4 + repeats: inf
    target_lengths = np.array([width, width - 1, width, 0][:batch])  # and an empty target
    return log_probs, targets, input_lengths, target_lengths


def _run(lib, log_probs, targets, input_lengths, target_lengths, grad_out, **kw):
    F_ = TF if lib is torch else F
    make = torch.from_numpy if lib is torch else ds.from_numpy
    lp = make(log_probs.copy()).requires_grad_(True)
    out = F_.ctc_loss(lp, make(targets.copy()), input_lengths, target_lengths, **kw)
    (out * make(grad_out.astype(log_probs.dtype))).sum().backward()
    return out.detach().numpy(), lp.grad.numpy()


def _compare(what, case, dtype, lengths_as="tensor", **kw):
    log_probs, targets, il, tl = case
    log_probs = log_probs.astype(dtype)
    out_shape = (log_probs.shape[1],) if kw.get("reduction") == "none" else ()
    if log_probs.ndim == 2 and kw.get("reduction") == "none":
        out_shape = ()
    grad_out = np.random.default_rng(1).standard_normal(out_shape)
    results = []
    for lib in (torch, ds):
        if lengths_as == "tuple":
            lengths = (tuple(int(v) for v in np.atleast_1d(il)),
                       tuple(int(v) for v in np.atleast_1d(tl)))
        else:
            make = torch.from_numpy if lib is torch else ds.from_numpy
            lengths = make(np.asarray(il)), make(np.asarray(tl))
        results.append(_run(lib, log_probs, targets, *lengths, grad_out, **kw))
    (t_out, t_grad), (d_out, d_grad) = results
    atol, rtol = TOL[dtype]
    for name, got, want in (("loss", d_out, t_out), ("grad of log_probs", d_grad, t_grad)):
        assert got.shape == want.shape, f"ctc_loss {what} {name}: shape {got.shape} != {want.shape}"
        assert got.dtype == want.dtype, f"ctc_loss {what} {name}: dtype {got.dtype} != {want.dtype}"
        np.testing.assert_allclose(got, want, atol=atol, rtol=rtol, equal_nan=True,
                                   err_msg=f"ctc_loss {what} {name} (atol={atol}, rtol={rtol})")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("zero_infinity", [False, True])
def test_padded_targets_match_torch(dtype, reduction, zero_infinity):
    _compare(f"padded {reduction} zero_infinity={zero_infinity}", _case(0), dtype,
             reduction=reduction, zero_infinity=zero_infinity)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("reduction", ["none", "mean"])
def test_concatenated_targets_and_tuple_lengths_match_torch(dtype, reduction):
    log_probs, targets, il, tl = _case(2)
    flat = np.concatenate([row[:n] for row, n in zip(targets, tl)])
    for lengths_as in ("tensor", "tuple"):
        _compare(f"concatenated {reduction} {lengths_as}", (log_probs, flat, il, tl), dtype,
                 lengths_as=lengths_as, reduction=reduction, zero_infinity=True)


@pytest.mark.parametrize("blank", [0, 4])
def test_other_blank_and_all_lengths_feasible_match_torch(blank):
    log_probs, targets, _, tl = _case(3, steps=15, batch=3, classes=6, width=5)
    targets = np.where(targets == blank, (blank + 1) % 6, targets)
    _compare(f"blank={blank}", (log_probs, targets, np.array([15, 13, 11]), tl[:3]),
             "float64", blank=blank, reduction="sum")


@pytest.mark.parametrize("reduction", ["none", "mean"])
def test_unbatched_matches_torch(reduction):
    log_probs, targets, _, _ = _case(4)
    _compare(f"unbatched {reduction}", (log_probs[:, 0], targets[0, :3], np.array(11),
                                        np.array(3)), "float64", reduction=reduction)


def test_empty_targets_and_zero_input_lengths_match_torch():
    log_probs, _, _, _ = _case(5, batch=3)
    _compare("empty", (log_probs, np.zeros((3, 0), np.int64), np.array([12, 0, 5]),
                       np.array([0, 0, 0])), "float64", reduction="none")
    _compare("zero frames", (log_probs, np.ones((3, 2), np.int64), np.array([0, 12, 1]),
                             np.array([1, 2, 0])), "float64", reduction="none")


def test_gradient_through_log_softmax_matches_finite_differences():
    rng = np.random.default_rng(6)
    logits = rng.standard_normal((7, 2, 4))
    targets = ds.tensor([[1, 1, 3], [2, 3, 0]])
    lengths = (ds.tensor([7, 6]), ds.tensor([3, 2]))

    def loss(array):
        lp = ds.from_numpy(array).log_softmax(2)
        return F.ctc_loss(lp, targets, *lengths, reduction="mean")

    x = ds.from_numpy(logits.copy()).requires_grad_(True)
    F.ctc_loss(x.log_softmax(2), targets, *lengths, reduction="mean").backward()
    eps = 1e-6
    numeric = np.zeros_like(logits)
    for index in np.ndindex(logits.shape):
        up, down = logits.copy(), logits.copy()
        up[index] += eps
        down[index] -= eps
        numeric[index] = (loss(up).item() - loss(down).item()) / (2 * eps)
    np.testing.assert_allclose(x.grad.numpy(), numeric, atol=1e-8, rtol=1e-6,
                               err_msg="ctc_loss gradient vs central differences (atol=1e-8)")


def test_ctc_loss_module_matches_torch():
    log_probs, targets, il, tl = _case(7)
    compare_module(lambda lib: lib.nn.CTCLoss(blank=0, reduction="mean", zero_infinity=True),
                   (log_probs, targets, il, tl))
    compare_module(lambda lib: lib.nn.CTCLoss(reduction="none"),
                   (log_probs, targets, il, tl), dtype="float32")


def _errors_case():
    log_probs, targets, il, tl = _case(8)
    return log_probs.astype(np.float32), targets, il, tl


@pytest.mark.parametrize("change,exc", [
    (lambda a: {**a, "blank": 5}, RuntimeError),
    (lambda a: {**a, "blank": -1}, RuntimeError),
    (lambda a: {**a, "input_lengths": np.array([13, 5, 5, 5])}, RuntimeError),
    (lambda a: {**a, "input_lengths": np.array([-1, 5, 5, 5])}, RuntimeError),
    (lambda a: {**a, "target_lengths": np.array([-1, 1, 1, 1])}, RuntimeError),
    (lambda a: {**a, "target_lengths": np.array([5, 1, 1, 1])}, RuntimeError),
    (lambda a: {**a, "input_lengths": np.array([5, 5])}, RuntimeError),
    (lambda a: {**a, "target_lengths": np.array([1, 1, 1])}, RuntimeError),
    (lambda a: {**a, "input_lengths": np.array([5.0, 5, 5, 5])}, RuntimeError),
    (lambda a: {**a, "targets": a["targets"][:2]}, RuntimeError),
    (lambda a: {**a, "targets": np.array([1, 2, 3])}, RuntimeError),
    (lambda a: {**a, "log_probs": a["log_probs"][None]}, RuntimeError),
    (lambda a: {**a, "log_probs": a["log_probs"].astype(np.float16)}, NotImplementedError),
    (lambda a: {**a, "log_probs": a["targets"]}, NotImplementedError),
    (lambda a: {**a, "reduction": "average"}, ValueError),
    (lambda a: {**a, "log_probs": a["log_probs"][:, 0], "input_lengths": np.array(9),
                "target_lengths": np.array(2), "targets": a["targets"][0]}, RuntimeError),
], ids=["blank_high", "blank_negative", "input_too_long", "input_negative", "target_negative",
        "target_longer_than_S", "input_lengths_size", "target_lengths_size", "float_lengths",
        "targets_batch", "concatenated_size", "log_probs_4d", "float16", "int64",
        "reduction", "unbatched_targets_longer_than_length"])
def test_errors_like_torch(change, exc):
    log_probs, targets, il, tl = _errors_case()
    args = change({"log_probs": log_probs, "targets": targets, "input_lengths": il,
                   "target_lengths": tl})
    for lib, fn in ((torch, TF.ctc_loss), (ds, F.ctc_loss)):
        make = torch.from_numpy if lib is torch else ds.from_numpy
        kw = {k: make(np.ascontiguousarray(v)) if isinstance(v, np.ndarray) else v
              for k, v in args.items()}
        with pytest.raises(exc) as info:
            fn(**kw)
        if lib is ds:
            assert str(info.value).startswith("[ctc_loss]"), str(info.value)


def test_out_of_range_targets_raise():
    log_probs, targets, il, tl = _errors_case()
    targets[1, 0] = 9
    with pytest.raises(IndexError, match=r"\[ctc_loss\] Target 9 is out of bounds"):
        F.ctc_loss(ds.from_numpy(log_probs), ds.from_numpy(targets), ds.from_numpy(il),
                   ds.from_numpy(tl))
