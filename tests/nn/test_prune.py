"""nn.utils.prune against torch.nn.utils.prune on the same weights: masks, state_dict keys,
outputs and gradients on ``weight_orig``, iterative and global pruning, remove, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.utils.prune as TP

import deepseek as ds
import deepseek.nn.utils.prune as P

R = np.random.default_rng(0)


def _pair(kind):
    """The same layer in deepseek and torch, with torch's random weights copied over."""
    make = {"linear": lambda nn: nn.Linear(6, 5), "conv": lambda nn: nn.Conv2d(3, 4, 3)}[kind]
    theirs = make(torch.nn)
    ours = make(ds.nn)
    ours.load_state_dict({k: ds.from_numpy(v.detach().numpy().copy())
                          for k, v in theirs.state_dict().items()})
    return ours, theirs


def _input(kind):
    return R.standard_normal((3, 6) if kind == "linear" else (2, 3, 6, 6)).astype(np.float32)


def _close(got, want, what, tol=1e-5):
    got, want = got.detach().numpy(), want.detach().numpy()
    assert got.shape == want.shape, f"{what}: shape {got.shape} vs torch's {want.shape}"
    assert got.dtype == want.dtype, f"{what}: dtype {got.dtype} vs torch's {want.dtype}"
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol, err_msg=f"{what} (tol {tol})")


def _check_same(ours, theirs, kind, what):
    """Same state_dict (keys in order, values), same pruned weight, same output, same
    gradients on every parameter (``weight_orig`` among them)."""
    assert list(ours.state_dict()) == list(theirs.state_dict()), what
    theirs_state = theirs.state_dict()
    for key, value in ours.state_dict().items():
        _close(value, theirs_state[key], f"{what}: state_dict[{key!r}]")
    _close(ours.weight, theirs.weight, f"{what}: pruned weight")
    x = _input(kind)
    a, b = ours(ds.from_numpy(x)), theirs(torch.from_numpy(x))
    _close(a, b, f"{what}: output")
    (a * a).sum().backward()
    (b * b).sum().backward()
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        _close(p.grad, q.grad, f"{what}: grad of {name}", 1e-4)
    ours.zero_grad()
    theirs.zero_grad()


def _scores(module):
    return R.standard_normal(tuple(module.weight.shape)).astype(np.float32)


# (name, how to call it on a module; lib is ds or torch, prune that lib's prune module)
DETERMINISTIC = {
    "identity": lambda prune, lib, m: prune.identity(m, "weight"),
    "l1-int": lambda prune, lib, m: prune.l1_unstructured(m, "weight", amount=7),
    "l1-float": lambda prune, lib, m: prune.l1_unstructured(m, "weight", amount=0.35),
    "l1-all": lambda prune, lib, m: prune.l1_unstructured(m, "weight", amount=1.0),
    "l1-none": lambda prune, lib, m: prune.l1_unstructured(m, "weight", amount=0),
    "ln2-dim0": lambda prune, lib, m: prune.ln_structured(m, "weight", 2, n=2, dim=0),
    "ln1-dim1": lambda prune, lib, m: prune.ln_structured(m, "weight", 0.5, n=1, dim=1),
    "lninf-last": lambda prune, lib, m: prune.ln_structured(m, "weight", 0.4,
                                                            n=float("inf"), dim=-1),
    "lnfro": lambda prune, lib, m: prune.ln_structured(m, "weight", 1, n="fro", dim=0),
    "custom": lambda prune, lib, m: prune.custom_from_mask(
        m, "weight", lib.from_numpy((np.arange(m.weight.numel()) % 3 != 0).astype(np.float32)
                                    .reshape(tuple(m.weight.shape)))),
    "bias-l1": lambda prune, lib, m: prune.l1_unstructured(m, "bias", amount=2),
}


@pytest.mark.parametrize("kind, case", [
    (kind, case) for kind in ["linear", "conv"] for case in sorted(DETERMINISTIC)
    if (kind, case) != ("conv", "lnfro")])  # torch's norm takes "fro" over at most two dims
def test_pruning_function_matches_torch(kind, case):
    ours, theirs = _pair(kind)
    orig = ours.weight if case != "bias-l1" else ours.bias
    assert DETERMINISTIC[case](P, ds, ours) is ours
    DETERMINISTIC[case](TP, torch, theirs)
    name = "bias" if case == "bias-l1" else "weight"
    assert getattr(ours, name + "_orig") is orig  # the same Parameter: optimizers keep it
    assert isinstance(getattr(ours, name + "_mask"), ds.Tensor)
    assert name not in ours._parameters and name + "_mask" in ours._buffers
    assert P.is_pruned(ours) and TP.is_pruned(theirs)
    _check_same(ours, theirs, kind, case)

    P.remove(ours, name)
    TP.remove(theirs, name)
    assert getattr(ours, name) is orig and isinstance(orig, ds.nn.Parameter)
    assert not P.is_pruned(ours)
    _check_same(ours, theirs, kind, f"{case} after remove")


@pytest.mark.parametrize("kind", ["linear", "conv"])
@pytest.mark.parametrize("use", ["l1", "ln"])
def test_importance_scores_match_torch(kind, use):
    ours, theirs = _pair(kind)
    scores = _scores(ours)
    if use == "l1":
        P.l1_unstructured(ours, "weight", 0.5, importance_scores=ds.from_numpy(scores))
        TP.l1_unstructured(theirs, "weight", 0.5, importance_scores=torch.from_numpy(scores))
    else:
        P.ln_structured(ours, "weight", 2, 2, 0, importance_scores=ds.from_numpy(scores))
        TP.ln_structured(theirs, "weight", 2, 2, 0, importance_scores=torch.from_numpy(scores))
    _check_same(ours, theirs, kind, f"{use} with importance_scores")


def test_iterative_pruning_matches_torch():
    """l1 then ln_structured then l1 again on one tensor: a PruningContainer whose new masks
    act only on what is left, as torch's."""
    steps = [
        lambda prune, m: prune.l1_unstructured(m, "weight", amount=0.3),
        lambda prune, m: prune.ln_structured(m, "weight", amount=1, n=2, dim=0),
        lambda prune, m: prune.l1_unstructured(m, "weight", amount=0.5),
        lambda prune, m: prune.ln_structured(m, "weight", amount=0.5, n=1, dim=1),
        lambda prune, m: prune.identity(m, "weight"),
    ]
    for kind in ["linear", "conv"]:
        ours, theirs = _pair(kind)
        for i, step in enumerate(steps):
            step(P, ours)
            step(TP, theirs)
            _check_same(ours, theirs, kind, f"{kind} after step {i}")
            hooks = [h for h in ours._forward_pre_hooks.values()
                     if isinstance(h, P.BasePruningMethod)]
            assert len(hooks) == 1
            if i:
                assert isinstance(hooks[0], P.PruningContainer) and len(hooks[0]) == i + 1
                assert [type(m).__name__ for m in hooks[0]] == [
                    type(m).__name__ for m in next(h for h in theirs._forward_pre_hooks.values()
                                                   if isinstance(h, TP.BasePruningMethod))]
        P.remove(ours, "weight")
        TP.remove(theirs, "weight")
        _check_same(ours, theirs, kind, f"{kind} after remove")


def test_pruned_module_trains_like_torch():
    """SGD steps update ``weight_orig``; the pruned entries get no gradient and stay zero in
    the weight the module uses."""
    ours, theirs = _pair("linear")
    P.l1_unstructured(ours, "weight", amount=0.4)
    TP.l1_unstructured(theirs, "weight", amount=0.4)
    opts = [ds.optim.SGD(ours.parameters(), lr=0.1), torch.optim.SGD(theirs.parameters(), lr=0.1)]
    for step in range(3):
        _check_same(ours, theirs, "linear", f"step {step}")
        x = _input("linear")
        (ours(ds.from_numpy(x)) ** 2).sum().backward()
        (theirs(torch.from_numpy(x)) ** 2).sum().backward()
        assert np.all(ours.weight_orig.grad.numpy()[ours.weight_mask.numpy() == 0] == 0)
        for opt in opts:
            opt.step()
            opt.zero_grad()


@pytest.mark.parametrize("amount", [10, 0.3])
@pytest.mark.parametrize("with_scores", [False, True])
def test_global_unstructured_matches_torch(amount, with_scores):
    (lin, tlin), (conv, tconv) = _pair("linear"), _pair("conv")
    ours_scores = theirs_scores = None
    if with_scores:
        s = _scores(conv)
        ours_scores = {(conv, "weight"): ds.from_numpy(s)}
        theirs_scores = {(tconv, "weight"): torch.from_numpy(s)}
    P.l1_unstructured(lin, "bias", amount=1)  # an earlier pruning the global one composes with
    TP.l1_unstructured(tlin, "bias", amount=1)
    P.global_unstructured([(lin, "weight"), (conv, "weight"), (lin, "bias")],
                          pruning_method=P.L1Unstructured, importance_scores=ours_scores,
                          amount=amount)
    TP.global_unstructured([(tlin, "weight"), (tconv, "weight"), (tlin, "bias")],
                           pruning_method=TP.L1Unstructured, importance_scores=theirs_scores,
                           amount=amount)
    _check_same(lin, tlin, "linear", "global")
    _check_same(conv, tconv, "conv", "global")
    assert isinstance(lin._forward_pre_hooks[next(iter(lin._forward_pre_hooks))],
                      P.BasePruningMethod)


def test_global_unstructured_random_keeps_earlier_zeros():
    ds.manual_seed(0)
    a, b = ds.nn.Linear(6, 5), ds.nn.Linear(5, 2)
    P.l1_unstructured(a, "weight", amount=4)
    P.global_unstructured(iter([(a, "weight"), (b, "weight")]),
                          pruning_method=P.RandomUnstructured, amount=8)
    assert int((a.weight_mask == 0).sum()) + int((b.weight_mask == 0).sum()) == 12
    assert isinstance(a._forward_pre_hooks[next(iter(a._forward_pre_hooks))], P.PruningContainer)


def test_random_unstructured_prunes_the_count():
    ds.manual_seed(0)
    m = P.random_unstructured(ds.nn.Linear(6, 5), "weight", amount=0.4)
    mask = m.weight_mask.numpy()
    assert mask.dtype == np.float32 and set(np.unique(mask)) == {0.0, 1.0}
    assert (mask == 0).sum() == 12
    np.testing.assert_array_equal(m.weight.detach().numpy(),
                                  m.weight_orig.detach().numpy() * mask)
    before = mask.copy()
    P.random_unstructured(m, "weight", amount=0.5)  # half of the 18 left
    after = m.weight_mask.numpy()
    assert (after == 0).sum() == 12 + 9 and np.all(after[before == 0] == 0)
    ds.manual_seed(0)
    again = P.random_unstructured(ds.nn.Linear(6, 5), "weight", amount=0.4)
    np.testing.assert_array_equal(again.weight_mask.numpy(), before)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_random_structured_prunes_whole_channels(dim):
    ds.manual_seed(1)
    m = P.random_structured(ds.nn.Conv2d(3, 6, 3), "weight", amount=2, dim=dim)
    mask = np.moveaxis(m.weight_mask.numpy(), dim, 0).reshape(m.weight.shape[dim], -1)
    dead = np.all(mask == 0, axis=1)
    assert dead.sum() == 2 and np.all(mask[~dead] == 1)
    P.random_structured(m, "weight", amount=0.5, dim=dim)  # half of the channels left
    mask = np.moveaxis(m.weight_mask.numpy(), dim, 0).reshape(m.weight.shape[dim], -1)
    left = m.weight.shape[dim] - 2
    assert np.all(mask == 0, axis=1).sum() == 2 + round(0.5 * left)
    assert np.all((mask == 0).all(axis=1) | (mask == 1).all(axis=1))


def test_method_prune_and_classes_match_torch():
    w = R.standard_normal((4, 5)).astype(np.float32)
    t, tt = ds.from_numpy(w), torch.from_numpy(w)
    cases = [(P.L1Unstructured(0.5), TP.L1Unstructured(0.5)),
             (P.LnStructured(2, 2, dim=0), TP.LnStructured(2, 2, dim=0)),
             (P.Identity(), TP.Identity())]
    for ours, theirs in cases:
        _close(ours.prune(t), theirs.prune(tt), type(ours).__name__)
    assert [c.PRUNING_TYPE for c in (P.Identity, P.RandomUnstructured, P.L1Unstructured,
                                      P.RandomStructured, P.LnStructured, P.CustomFromMask)] == [
        c.PRUNING_TYPE for c in (TP.Identity, TP.RandomUnstructured, TP.L1Unstructured,
                                 TP.RandomStructured, TP.LnStructured, TP.CustomFromMask)]
    ours_method = P.L1Unstructured.apply(ds.nn.Linear(2, 3), "weight", amount=1)
    assert isinstance(ours_method, P.L1Unstructured) and ours_method._tensor_name == "weight"
    with pytest.raises(TypeError):
        P.BasePruningMethod()  # abstract: compute_mask is required


def test_ties_prune_the_earliest_entries():
    """torch's CPU topk leaves ties to its C++ library's selection algorithm; deepseek prunes
    the earliest of equal scores (and keeps the earliest of equal channel norms)."""
    m = ds.nn.Linear(4, 2)
    with ds.no_grad():
        m.weight.fill_(1.0)
    P.l1_unstructured(m, "weight", amount=3)
    np.testing.assert_array_equal(m.weight_mask.numpy().ravel(), [0, 0, 0, 1, 1, 1, 1, 1])
    P.ln_structured(m, "weight", amount=1, n=2, dim=1)  # column norms 1, 1, 1, sqrt(2)
    np.testing.assert_array_equal(m.weight_mask.numpy(), [[0, 0, 0, 1], [1, 1, 0, 1]])


def test_load_state_dict_between_ours_and_torch():
    ours, theirs = _pair("linear")
    P.ln_structured(ours, "weight", amount=2, n=1, dim=0)
    TP.identity(theirs, "weight")
    theirs.load_state_dict({k: torch.from_numpy(v.numpy().copy())
                            for k, v in ours.state_dict().items()})
    theirs(torch.zeros(1, 6))  # module.weight is recomputed at the next forward
    _check_same(ours, theirs, "linear", "after load_state_dict")


def _raises_like_torch(ours, theirs, op):
    with pytest.raises(Exception) as want:
        theirs()
    with pytest.raises(type(want.value)) as got:
        ours()
    assert str(got.value).startswith(f"[{op}]"), str(got.value)


ERRORS = {  # name: (function, its args after the module, torch's function)
    "negative": ("l1_unstructured", ("weight", -1)),
    "above-one": ("l1_unstructured", ("weight", 1.5)),
    "wrong-type": ("random_unstructured", ("weight", "a")),
    "too-many": ("l1_unstructured", ("weight", 100)),
    "too-many-channels": ("ln_structured", ("weight", 6, 2, 0)),
    "missing-name": ("l1_unstructured", ("foo", 1)),
    "dim-too-big": ("ln_structured", ("weight", 1, 2, 2)),
    "dim-too-small": ("random_structured", ("weight", 1, -3)),
    "structured-1d": ("ln_structured", ("bias", 1, 2, 0)),
    "custom-shape": ("custom_from_mask", ("weight", "mask")),
    "remove-unpruned": ("remove", ("weight",)),
}


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_errors_match_torch(case):
    op, args = ERRORS[case]
    ours, theirs = _pair("linear")
    before = list(ours.state_dict())

    def call(prune, lib, m):
        a = [lib.ones(3) if x == "mask" else x for x in args]
        return lambda: getattr(prune, op)(m, *a)

    _raises_like_torch(call(P, ds, ours), call(TP, torch, theirs), op)
    assert list(ours.state_dict()) == before and not P.is_pruned(ours)  # left untouched


def test_importance_scores_errors_match_torch():
    ours, theirs = _pair("linear")
    _raises_like_torch(lambda: P.l1_unstructured(ours, "weight", 1, ds.ones(3)),
                       lambda: TP.l1_unstructured(theirs, "weight", 1, torch.ones(3)),
                       "l1_unstructured")
    lin = ds.nn.Linear(2, 2)
    tlin = torch.nn.Linear(2, 2)
    _raises_like_torch(lambda: P.global_unstructured([(lin, "weight")], P.L1Unstructured,
                                                     importance_scores=[1], amount=1),
                       lambda: TP.global_unstructured([(tlin, "weight")], TP.L1Unstructured,
                                                      importance_scores=[1], amount=1),
                       "global_unstructured")
    _raises_like_torch(lambda: P.global_unstructured([(lin, "weight")], P.LnStructured,
                                                     amount=1, n=2, dim=0),
                       lambda: TP.global_unstructured([(tlin, "weight")], TP.LnStructured,
                                                      amount=1, n=2, dim=0),
                       "global_unstructured")
    _raises_like_torch(lambda: P.global_unstructured(3, P.L1Unstructured, amount=1),
                       lambda: TP.global_unstructured(3, TP.L1Unstructured, amount=1),
                       "global_unstructured")


def test_failed_second_pruning_leaves_the_first():
    ours = P.l1_unstructured(ds.nn.Linear(6, 5), "weight", amount=3)
    mask = ours.weight_mask.numpy().copy()
    with pytest.raises(ValueError, match=r"^\[l1_unstructured\] amount=100"):
        P.l1_unstructured(ours, "weight", amount=100)
    with pytest.raises(IndexError, match=r"^\[ln_structured\] invalid dim 5"):
        P.ln_structured(ours, "weight", amount=1, n=2, dim=5)
    np.testing.assert_array_equal(ours.weight_mask.numpy(), mask)
    hooks = list(ours._forward_pre_hooks.values())
    assert len(hooks) == 1 and type(hooks[0]) is P.L1Unstructured
    P.ln_structured(ours, "weight", amount=1, n=2, dim=0)
    assert len(next(iter(ours._forward_pre_hooks.values()))) == 2


def test_bool_amount_is_refused():
    with pytest.raises(TypeError, match=r"^\[l1_unstructured\] invalid type for amount"):
        P.l1_unstructured(ds.nn.Linear(2, 2), "weight", amount=True)


def test_unapplied_method_and_container_errors():
    with pytest.raises(AttributeError, match="has not been applied"):
        P.L1Unstructured(1).remove(ds.nn.Linear(2, 2))
    a, b = P.Identity(), P.Identity()
    a._tensor_name, b._tensor_name = "weight", "bias"
    with pytest.raises(ValueError, match="parameter named 'weight'"):
        P.PruningContainer(a, b)
    with pytest.raises(TypeError, match="not a BasePruningMethod"):
        P.PruningContainer(a).add_pruning_method(object())
