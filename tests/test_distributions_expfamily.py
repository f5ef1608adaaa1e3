"""deepseek.distributions.ExponentialFamily against torch's: which classes derive from it, each
family's natural parameters, log normalizer and carrier measure, the Bregman entropy (values,
gradients, agreement with the closed forms) and the generic same-family KL divergence."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
import torch.distributions as TD
from torch.distributions import kl as torch_kl

import deepseek as ds
import deepseek.distributions as D
from deepseek.distributions import kl as ours_kl

from distribution_cases import DTYPES, OURS, TORCH, rng_for, to_numpy as _np
from distribution_cases import TOL as _TOL

TOL = dict(_TOL, float64=dict(rtol=1e-9, atol=1e-10))



def assert_close(ours: Any, theirs: Any, dtype: str, what: str) -> None:
    a, b = _np(ours), _np(theirs)
    assert a.shape == b.shape, f"{what}: shape {a.shape}, torch {b.shape}"
    assert a.dtype == b.dtype, f"{what}: dtype {a.dtype}, torch {b.dtype}"
    tol = TOL[dtype]
    np.testing.assert_allclose(a, b, equal_nan=True, err_msg=f"{what} ({dtype}, {tol})", **tol)


def _spd(rng: np.random.Generator, shape: tuple) -> np.ndarray:
    a = rng.normal(size=shape)
    return a @ np.swapaxes(a, -1, -2) + shape[-1] * np.eye(shape[-1])


def _pos(r: np.random.Generator, shape: tuple, lo: float = 0.5, hi: float = 3.0) -> np.ndarray:
    return r.uniform(lo, hi, size=shape)


# (name, build(M, params) -> distribution, params(rng)); every torch ExponentialFamily
# subclass, with ContinuousBernoulli on both sides of its Taylor cut (|logits| <= 1e-3)
CASES = [
    ("Bernoulli", lambda M, a: M.Bernoulli(a["p"]),
     lambda r: {"p": r.uniform(0.05, 0.95, (2, 3))}),
    ("Bernoulli-logits", lambda M, a: M.Bernoulli(logits=a["l"]),
     lambda r: {"l": r.normal(size=(3,))}),
    ("Beta", lambda M, a: M.Beta(a["a"], a["b"]),
     lambda r: {"a": _pos(r, (3,)), "b": _pos(r, (2, 1))}),
    ("ContinuousBernoulli", lambda M, a: M.ContinuousBernoulli(a["p"]),
     lambda r: {"p": r.uniform(0.05, 0.95, (2, 3))}),
    ("ContinuousBernoulli-logits", lambda M, a: M.ContinuousBernoulli(logits=a["l"]),
     lambda r: {"l": np.array([-2.0, -1e-3, -4e-4, 0.0, 6e-4, 1e-3, 1.5e-3, 3.0])
                * r.uniform(0.8, 1.0, 8)}),
    ("Dirichlet", lambda M, a: M.Dirichlet(a["c"]),
     lambda r: {"c": _pos(r, (2, 4))}),
    ("Exponential", lambda M, a: M.Exponential(a["r"]),
     lambda r: {"r": _pos(r, (2, 3))}),
    ("Gamma", lambda M, a: M.Gamma(a["a"], a["r"]),
     lambda r: {"a": _pos(r, (2, 3)), "r": _pos(r, (3,))}),
    ("Chi2", lambda M, a: M.Chi2(a["df"]),
     lambda r: {"df": _pos(r, (2, 3), 0.5, 6.0)}),
    ("Normal", lambda M, a: M.Normal(a["m"], a["s"]),
     lambda r: {"m": r.normal(size=(3,)), "s": _pos(r, (2, 1))}),
    ("Poisson", lambda M, a: M.Poisson(a["r"]),
     lambda r: {"r": _pos(r, (2, 3))}),
    ("Wishart", lambda M, a: M.Wishart(a["df"], covariance_matrix=a["c"]),
     lambda r: {"df": _pos(r, (2,), 3.0, 6.0), "c": _spd(r, (2, 3, 3))}),
    ("Wishart-precision", lambda M, a: M.Wishart(a["df"], precision_matrix=a["c"]),
     lambda r: {"df": _pos(r, (), 2.5, 5.0), "c": _spd(r, (2, 2))}),
]
IDS = [c[0] for c in CASES]


def _build(build: Any, arrays: dict, dtype: str, requires_grad: bool = False) -> tuple:
    ours_a = {k: ds.tensor(v, dtype=OURS[dtype], requires_grad=requires_grad)
              for k, v in arrays.items()}
    theirs_a = {k: torch.tensor(v, dtype=TORCH[dtype], requires_grad=requires_grad)
                for k, v in arrays.items()}
    return build(D, ours_a), build(TD, theirs_a), ours_a, theirs_a


def _outcome(fn: Any) -> Any:
    """``fn()``, or NotImplemented where it raises NotImplementedError."""
    try:
        return fn()
    except NotImplementedError:
        return NotImplemented


# ---------------------------------------------------------------- class relations
def _descendants(cls: type) -> set:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub.__name__} | _descendants(sub)
    return found


def test_subclasses_like_torch():
    assert D.exp_family.ExponentialFamily is D.ExponentialFamily
    assert issubclass(D.ExponentialFamily, D.Distribution)
    theirs = {n for n in _descendants(TD.ExponentialFamily) if n in TD.__all__}
    assert theirs == {"Bernoulli", "Beta", "Chi2", "ContinuousBernoulli", "Dirichlet",
                      "Exponential", "Gamma", "Normal", "Poisson", "Wishart"}
    assert {n for n in _descendants(D.ExponentialFamily) if n in D.__all__} == theirs
    for name in TD.__all__:
        their_cls = getattr(TD, name)
        if isinstance(their_cls, type) and issubclass(their_cls, TD.Distribution):
            ours_cls = getattr(D, name)
            assert (issubclass(ours_cls, D.ExponentialFamily)
                    == issubclass(their_cls, TD.ExponentialFamily)), name
            # the closed forms are kept exactly where torch overrides the Bregman entropy
            if issubclass(their_cls, TD.ExponentialFamily):
                assert (("entropy" in vars(ours_cls))
                        == ("entropy" in vars(their_cls))), f"{name}.entropy"


def test_abstract_members_raise_like_torch():
    ours = D.ExponentialFamily(validate_args=False)
    theirs = TD.ExponentialFamily(validate_args=False)
    for probe in (lambda d: d._natural_params, lambda d: d._log_normalizer(),
                  lambda d: d._mean_carrier_measure, lambda d: d.entropy()):
        with pytest.raises(NotImplementedError):
            probe(theirs)
        with pytest.raises(NotImplementedError):
            probe(ours)
    with pytest.raises(NotImplementedError, match="Poisson does not define _mean_carrier"):
        D.Poisson(ds.tensor([1.0])).entropy()
    with pytest.raises(NotImplementedError):
        TD.Poisson(torch.tensor([1.0])).entropy()


# ---------------------------------------------------------------- the family's members
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, build, make", CASES, ids=IDS)
def test_natural_params_log_normalizer_carrier_like_torch(name, build, make, dtype):
    ours, theirs, _, _ = _build(build, make(rng_for(name)), dtype)
    assert type(ours).__name__ == type(theirs).__name__
    ours_params, their_params = ours._natural_params, theirs._natural_params
    assert isinstance(ours_params, tuple) and len(ours_params) == len(their_params), name
    for i, (a, b) in enumerate(zip(ours_params, their_params)):
        assert_close(a, b, dtype, f"{name}._natural_params[{i}]")
    assert_close(ours._log_normalizer(*ours_params), theirs._log_normalizer(*their_params),
                 dtype, f"{name}._log_normalizer")
    their_carrier = _outcome(lambda: theirs._mean_carrier_measure)
    assert _outcome(lambda: ours._mean_carrier_measure) == their_carrier, name


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, build, make", CASES, ids=IDS)
def test_log_normalizer_gradient_like_torch(name, build, make, dtype):
    """``grad F(theta)`` (the mean of the sufficient statistic), which the Bregman forms use."""
    ours, theirs, _, _ = _build(build, make(rng_for(name)), dtype)
    ours_params = [t.detach().requires_grad_() for t in ours._natural_params]
    their_params = [t.detach().requires_grad_() for t in theirs._natural_params]
    w = rng_for(name, "w").uniform(0.5, 1.5, size=tuple(theirs.batch_shape))
    (ours._log_normalizer(*ours_params) * ds.tensor(w, dtype=OURS[dtype])).sum().backward()
    their_grads = torch.autograd.grad(
        (theirs._log_normalizer(*their_params) * torch.tensor(w, dtype=TORCH[dtype])).sum(),
        their_params)
    for i, (a, g) in enumerate(zip(ours_params, their_grads)):
        assert_close(a.grad, g, dtype, f"{name}: dF/dtheta[{i}]")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, build, make", CASES, ids=IDS)
def test_bregman_entropy_like_torch_and_closed_form(name, build, make, dtype):
    ours, theirs, ours_a, theirs_a = _build(build, make(rng_for(name)), dtype, True)
    expected = _outcome(lambda: TD.ExponentialFamily.entropy(theirs))
    got = _outcome(lambda: D.ExponentialFamily.entropy(ours))
    if expected is NotImplemented:  # Beta, Dirichlet, Poisson: no _mean_carrier_measure
        assert got is NotImplemented, f"{name}: torch raises NotImplementedError"
        return
    assert_close(got, expected, dtype, f"ExponentialFamily.entropy({name})")
    assert_close(got, ours.entropy(), dtype, f"{name}: Bregman vs closed-form entropy")
    # torch detaches the natural parameters before differentiating F: the result depends on
    # them through a graph of its own, and no gradient reaches the distribution's parameters
    assert got.requires_grad and expected.requires_grad
    w = rng_for(name, "w").uniform(0.5, 1.5, size=tuple(expected.shape))
    (got * ds.tensor(w, dtype=OURS[dtype])).sum().backward()
    (expected * torch.tensor(w, dtype=TORCH[dtype])).sum().backward()
    for k in theirs_a:
        assert theirs_a[k].grad is None, f"torch's {name}: d/d{k}"
        assert ours_a[k].grad is None, f"{name}: d/d{k} reached the detached parameter"


# ---------------------------------------------------------------- the generic KL
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, build, make", CASES, ids=IDS)
def test_generic_kl_like_torch(name, build, make, dtype):
    """The Bregman KL called directly for every family (only Wishart reaches it through
    kl_divergence): values and gradients as torch's, and as the closed forms where
    registered. Batched Wishart is compared per element, as torch sums its df term over the
    batch."""
    arrays_p, arrays_q = make(rng_for(name, "p")), make(rng_for(name, "q"))
    p, their_p, ours_p, _ = _build(build, arrays_p, dtype, True)
    q, their_q, ours_q, theirs_q = _build(build, arrays_q, dtype, True)
    got = ours_kl._kl_expfamily_expfamily(p, q)
    if name == "Wishart":
        parts = [torch_kl._kl_expfamily_expfamily(
            TD.Wishart(their_p.df[i], their_p.covariance_matrix[i]),
            TD.Wishart(their_q.df[i], their_q.covariance_matrix[i])) for i in range(2)]
        expected = torch.stack(parts)
    else:
        expected = torch_kl._kl_expfamily_expfamily(their_p, their_q)
    assert_close(got, expected, dtype, f"Bregman KL({name})")
    assert_close(got, D.kl_divergence(p, q), dtype, f"{name}: Bregman vs registered KL")
    w = rng_for(name, "w").uniform(0.5, 1.5, size=tuple(expected.shape))
    (got * ds.tensor(w, dtype=OURS[dtype])).sum().backward()
    grads = torch.autograd.grad((expected * torch.tensor(w, dtype=TORCH[dtype])).sum(),
                                list(theirs_q.values()))
    for k, g in zip(theirs_q, grads):
        assert_close(ours_q[k].grad, g, dtype, f"Bregman KL({name}): d/dq.{k}")
    for k, t in ours_p.items():  # theta_p is detached, as in torch
        assert t.grad is None, f"Bregman KL({name}): d/dp.{k} reached the detached parameter"


@pytest.mark.parametrize("dtype", DTYPES)
def test_wishart_kl_divergence_resolves_to_bregman_like_torch(dtype):
    rng = rng_for("wishart-kl")
    arrays = {"df1": np.array(4.0), "c1": _spd(rng, (3, 3)), "df2": np.array(5.5),
              "c2": _spd(rng, (3, 3))}
    ours_a = {k: ds.tensor(v, dtype=OURS[dtype], requires_grad=True) for k, v in arrays.items()}
    theirs_a = {k: torch.tensor(v, dtype=TORCH[dtype], requires_grad=True)
                for k, v in arrays.items()}
    got = D.kl_divergence(D.Wishart(ours_a["df1"], ours_a["c1"]),
                          D.Wishart(ours_a["df2"], ours_a["c2"]))
    expected = TD.kl_divergence(TD.Wishart(theirs_a["df1"], theirs_a["c1"]),
                                TD.Wishart(theirs_a["df2"], theirs_a["c2"]))
    assert_close(got, expected, dtype, "KL(Wishart, Wishart)")
    got.backward()
    expected.backward()
    assert theirs_a["df1"].grad is None and theirs_a["c2"].grad is not None
    for k in arrays:  # p's parameters are detached, in torch as here
        assert (ours_a[k].grad is None) == (theirs_a[k].grad is None), f"d/d{k}"
        if theirs_a[k].grad is not None:
            assert_close(ours_a[k].grad, theirs_a[k].grad, dtype, f"KL(Wishart): d/d{k}")
    ours_t = {k: ds.tensor(v, dtype=OURS[dtype]) for k, v in arrays.items()}
    theirs_t = {k: torch.tensor(v, dtype=TORCH[dtype]) for k, v in arrays.items()}
    p = D.Wishart(ours_t["df1"], ours_t["c1"])
    assert abs(float(D.kl_divergence(p, p))) < TOL[dtype]["atol"]
    # an unbatched p against a batch of q: one KL per q, each as torch's unbatched one
    batch = D.Wishart(ds.stack([ours_t["df1"], ours_t["df2"]]),
                      ds.stack([ours_t["c1"], ours_t["c2"]]))
    their_p = TD.Wishart(theirs_t["df1"], theirs_t["c1"])
    expected = torch.stack([TD.kl_divergence(their_p, TD.Wishart(theirs_t[df], theirs_t[c]))
                            for df, c in (("df1", "c1"), ("df2", "c2"))])
    assert_close(D.kl_divergence(p, batch), expected, dtype, "KL(Wishart, batched Wishart)")


def _exp_family_classes(module: Any, base: type) -> list:
    return [getattr(module, n) for n in module.__all__
            if isinstance(getattr(module, n), type) and issubclass(getattr(module, n), base)]


def test_dispatch_to_bregman_like_torch():
    """Same-class pairs reach the generic rule exactly where torch's do; every cross-family
    pair torch sends there is sent there too (where we have no closed form torch lacks)."""
    same = [cls.__name__ for cls in _exp_family_classes(TD, TD.ExponentialFamily)
            if torch_kl._dispatch_kl(cls, cls) is torch_kl._kl_expfamily_expfamily]
    assert same == ["ExponentialFamily", "Wishart"]
    for cls in _exp_family_classes(D, D.ExponentialFamily):
        ours_is_generic = ours_kl._dispatch(cls, cls) is ours_kl._kl_expfamily_expfamily
        assert ours_is_generic == (cls.__name__ in same), cls.__name__
    for their_p in _exp_family_classes(TD, TD.ExponentialFamily):
        for their_q in _exp_family_classes(TD, TD.ExponentialFamily):
            if (their_p is not their_q and torch_kl._dispatch_kl(their_p, their_q)
                    is torch_kl._kl_expfamily_expfamily):
                found = ours_kl._dispatch(getattr(D, their_p.__name__),
                                          getattr(D, their_q.__name__))
                assert found is ours_kl._kl_expfamily_expfamily, (their_p, their_q)


@pytest.mark.parametrize("pair", [("Bernoulli", "Normal"), ("Normal", "Bernoulli"),
                                  ("Beta", "Dirichlet"), ("Gamma", "Poisson"),
                                  ("Wishart", "Normal"), ("Chi2", "Wishart")])
def test_cross_family_kl_raises_like_torch(pair):
    def make(module: Any, name: str, lib: Any) -> Any:
        if name == "Wishart":
            return module.Wishart(lib.tensor(3.0), lib.eye(2))
        if name == "Dirichlet":
            return module.Dirichlet(lib.tensor([1.5, 2.0]))
        if name in ("Normal", "Beta", "Gamma"):
            return getattr(module, name)(lib.tensor(0.5), lib.tensor(2.0))
        return getattr(module, name)(lib.tensor(0.5))

    with pytest.raises(NotImplementedError, match="different exponential families"):
        TD.kl_divergence(make(TD, pair[0], torch), make(TD, pair[1], torch))
    with pytest.raises(NotImplementedError, match=f"No KL.*{pair[0]}.*{pair[1]}.*different "
                                                  "exponential families"):
        D.kl_divergence(make(D, pair[0], ds), make(D, pair[1], ds))
