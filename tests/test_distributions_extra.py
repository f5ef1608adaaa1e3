"""The rest of torch.distributions against deepseek.distributions: the heavy-tailed, relaxed,
count, matrix and mixture distributions (shapes, moments, densities and their gradients,
cdf / icdf, expand, support, validation, sample moments, reparameterized gradients), the
structured transforms, the new constraints and the biject_to / transform_to registries."""

from __future__ import annotations

import math
import re
import warnings
from typing import Any, Callable, NamedTuple

import numpy as np
import pytest
import torch
import torch.distributions as TD
import torch.distributions.constraints as TC
from test_distributions import (DTYPES, OURS, TORCH, _check_grads, _lib_params, _method_or_none,
                                _np, _pair, _spd, _value, assert_close, rng_for)
from test_distributions import test_invalid_parameters_raise_like_torch as _invalid_like_torch
from test_distributions import test_rsample_gradients_follow_the_cdf as _rsample_follows_cdf
from test_distributions import test_sample_moments as _sample_moments

import deepseek as ds
import deepseek.distributions as D
import deepseek.distributions.constraints as C


class Case(NamedTuple):
    name: str
    build: Callable  # build(M, params) with M one of D, TD
    params: Callable  # params(rng) -> {name: float64 array}
    fixed: tuple = ()  # parameters not differentiated
    bad: dict = {}  # parameters that break a constraint
    sample_params: Callable = None  # milder parameters for moment checks
    not_torch: tuple = ()  # properties where torch is wrong (checked on their own below)
    dtypes: tuple = ("float32", "float64")
    tol: float = 1.0  # tolerance multiplier, where torch approximates


def _pos(r, shape, lo=0.5, hi=2.0):
    return r.uniform(lo, hi, size=shape)


def _tril(r, shape):
    return np.linalg.cholesky(_spd(r, shape))


CASES = [
    Case("HalfCauchy", lambda M, p: M.HalfCauchy(p["scale"]),
         lambda r: {"scale": _pos(r, (2, 3))}, bad={"scale": -1.0}),
    Case("Pareto", lambda M, p: M.Pareto(p["scale"], p["alpha"]),
         lambda r: {"scale": _pos(r, (2, 1)), "alpha": np.array([0.8, 1.5, 3.0])},
         bad={"alpha": 0.0},
         sample_params=lambda r: {"scale": _pos(r, (2,)), "alpha": np.array([9.0, 12.0])}),
    Case("Weibull", lambda M, p: M.Weibull(p["scale"], p["concentration"]),
         lambda r: {"scale": _pos(r, (2, 1)), "concentration": _pos(r, (3,), 1.2, 4.0)},
         bad={"concentration": -1.0}),
    Case("Kumaraswamy", lambda M, p: M.Kumaraswamy(p["concentration1"], p["concentration0"]),
         lambda r: {"concentration1": _pos(r, (2, 3), 0.5, 4.0),
                    "concentration0": _pos(r, (3,), 0.5, 4.0)},
         bad={"concentration0": -1.0}, not_torch=("mode",)),
    Case("InverseGamma", lambda M, p: M.InverseGamma(p["concentration"], p["rate"]),
         lambda r: {"concentration": np.array([0.8, 1.5, 3.0]), "rate": _pos(r, (2, 1))},
         bad={"rate": -1.0},
         sample_params=lambda r: {"concentration": np.array([9.0, 12.0]),
                                  "rate": _pos(r, (2,))}),
    Case("FisherSnedecor", lambda M, p: M.FisherSnedecor(p["df1"], p["df2"]),
         lambda r: {"df1": np.array([[1.5], [4.0]]), "df2": np.array([1.5, 3.0, 6.0])},
         bad={"df2": 0.0},
         sample_params=lambda r: {"df1": np.array([5.0, 8.0]), "df2": np.array([12.0, 15.0])}),
    # torch's log I0 is a polynomial approximation, good to ~3e-8 relative
    Case("VonMises", lambda M, p: M.VonMises(p["loc"], p["concentration"]),
         lambda r: {"loc": r.normal(size=(3,)), "concentration": _pos(r, (2, 1), 0.3, 8.0)},
         bad={"concentration": -1.0}, tol=30.0),
    # torch's GeneralizedPareto fails in float64 (isclose of a double with a float tensor)
    Case("GeneralizedPareto",
         lambda M, p: M.GeneralizedPareto(p["loc"], p["scale"], p["concentration"]),
         lambda r: {"loc": r.normal(size=(3,)), "scale": _pos(r, (2, 1)),
                    "concentration": np.array([0.3, 0.0, -0.4])},
         bad={"scale": -1.0}, dtypes=("float32",)),
    Case("ContinuousBernoulli(probs)", lambda M, p: M.ContinuousBernoulli(p["probs"]),
         lambda r: {"probs": np.array([[0.1, 0.4995, 0.8], [0.3, 0.5004, 0.97]])}),
    Case("ContinuousBernoulli(logits)", lambda M, p: M.ContinuousBernoulli(logits=p["logits"]),
         lambda r: {"logits": np.array([-2.0, 1e-3, 1.5])}, bad={"logits": np.nan}),
    Case("LogisticNormal", lambda M, p: M.LogisticNormal(p["loc"], p["scale"]),
         lambda r: {"loc": r.normal(size=(2, 3)), "scale": _pos(r, (3,), 0.3, 1.0)},
         bad={"scale": -1.0}),
    Case("RelaxedBernoulli", lambda M, p: M.RelaxedBernoulli(p["temperature"], p["probs"]),
         lambda r: {"temperature": np.array(0.7), "probs": _pos(r, (2, 3), 0.1, 0.9)},
         bad={"probs": 1.5}),
    Case("RelaxedBernoulli(logits)",
         lambda M, p: M.RelaxedBernoulli(p["temperature"], logits=p["logits"]),
         lambda r: {"temperature": _pos(r, (3,)), "logits": r.normal(size=(3,))}),
    Case("RelaxedOneHotCategorical",
         lambda M, p: M.RelaxedOneHotCategorical(p["temperature"], p["probs"]),
         lambda r: {"temperature": np.array(0.8), "probs": _pos(r, (2, 4))},
         bad={"probs": np.array([-0.5, 0.5, 1.0])}),
    Case("LowRankMultivariateNormal",
         lambda M, p: M.LowRankMultivariateNormal(p["loc"], p["cov_factor"], p["cov_diag"]),
         lambda r: {"loc": r.normal(size=(2, 3)), "cov_factor": r.normal(size=(3, 2)),
                    "cov_diag": _pos(r, (3,))},
         bad={"cov_diag": -np.ones(3)}),
    Case("Wishart(cov)", lambda M, p: M.Wishart(p["df"], covariance_matrix=p["cov"]),
         lambda r: {"df": np.array([3.5, 6.0]), "cov": _spd(r, (3, 3))},
         bad={"cov": -np.eye(3)}),
    Case("Wishart(precision)", lambda M, p: M.Wishart(p["df"], precision_matrix=p["prec"]),
         lambda r: {"df": np.array(4.5), "prec": _spd(r, (2, 3, 3))}),
    # torch differentiates the upper triangle of scale_tril too: compared on its own below
    Case("Wishart(scale_tril)", lambda M, p: M.Wishart(p["df"], scale_tril=p["tril"]),
         lambda r: {"df": np.array([[2.5], [7.0]]), "tril": _tril(r, (2, 2))},
         fixed=("tril",), bad={"tril": np.triu(np.ones((2, 2)))}),
    Case("LKJCholesky", lambda M, p: M.LKJCholesky(3, p["concentration"]),
         lambda r: {"concentration": np.array([0.5, 1.0, 2.5])}, bad={"concentration": -1.0}),
    Case("Multinomial", lambda M, p: M.Multinomial(4, p["probs"]),
         lambda r: {"probs": _pos(r, (2, 3))}, bad={"probs": np.array([-0.5, 0.5, 1.0])}),
    Case("Multinomial(logits)", lambda M, p: M.Multinomial(3, logits=p["logits"]),
         lambda r: {"logits": r.normal(size=(4,))}),
    Case("NegativeBinomial", lambda M, p: M.NegativeBinomial(p["total_count"], p["probs"]),
         lambda r: {"total_count": _pos(r, (2, 1), 0.5, 6.0),
                    "probs": np.array([0.2, 0.5, 0.7])}, bad={"probs": 1.0}),
    Case("NegativeBinomial(logits)",
         lambda M, p: M.NegativeBinomial(p["total_count"], logits=p["logits"]),
         lambda r: {"total_count": np.array([3.0]), "logits": r.normal(size=(3,))},
         bad={"total_count": -1.0}),
    Case("MixtureSameFamily(Normal)",
         lambda M, p: M.MixtureSameFamily(M.Categorical(p["weights"]),
                                          M.Normal(p["loc"], p["scale"])),
         lambda r: {"weights": _pos(r, (2, 3)), "loc": r.normal(size=(2, 3)) * 2,
                    "scale": _pos(r, (3,))}),
    Case("MixtureSameFamily(Independent)",
         lambda M, p: M.MixtureSameFamily(
             M.Categorical(p["weights"]), M.Independent(M.Normal(p["loc"], p["scale"]), 1)),
         lambda r: {"weights": _pos(r, (2, 3)), "loc": r.normal(size=(2, 3, 4)),
                    "scale": _pos(r, (2, 3, 4))}),
    Case("OneHotCategoricalStraightThrough",
         lambda M, p: M.OneHotCategoricalStraightThrough(p["probs"]),
         lambda r: {"probs": _pos(r, (2, 4))}, bad={"probs": np.array([-0.5, 0.5, 1.0])}),
]
IDS = [c.name for c in CASES]
DTYPE_CASES = [(c, dt) for c in CASES for dt in c.dtypes]
DTYPE_IDS = [f"{c.name}-{dt}" for c, dt in DTYPE_CASES]


def _compare(case: Case, ours: Any, theirs: Any, name: str, *args: Any, dtype: str,
             scale: float = 1.0) -> tuple:
    """(ours, torch's) of a method or property, both NotImplemented or both close."""
    expected = _method_or_none(theirs, name, *args[1:2])
    got = _method_or_none(ours, name, *args[:1])
    if expected is NotImplemented:
        assert got is NotImplemented, f"{case.name}.{name}: torch does not define it"
        return got, expected
    assert_close(got, expected, dtype, f"{case.name}.{name}", scale * case.tol)
    return got, expected


@pytest.mark.parametrize("case, dtype", DTYPE_CASES, ids=DTYPE_IDS)
def test_shapes_and_moments_match_torch(case, dtype):
    ours, theirs, _, _ = _pair(case, dtype, grad=False)
    assert ours.batch_shape == tuple(theirs.batch_shape), case.name
    assert ours.event_shape == tuple(theirs.event_shape), case.name
    assert ours.has_rsample == theirs.has_rsample, case.name
    assert ours.has_enumerate_support == theirs.has_enumerate_support, case.name
    assert isinstance(ours, D.TransformedDistribution) == isinstance(
        theirs, TD.TransformedDistribution), f"{case.name}: a TransformedDistribution in torch"
    for name in ("mean", "mode", "variance", "stddev"):
        if name not in case.not_torch:
            _compare(case, ours, theirs, name, dtype=dtype)


@pytest.mark.parametrize("case, dtype", DTYPE_CASES, ids=DTYPE_IDS)
def test_log_prob_entropy_and_gradients_match_torch(case, dtype):
    ours, theirs, ours_p, theirs_p = _pair(case, dtype)
    value, their_value = _value(theirs, dtype)
    what = f"{case.name}.log_prob"
    got, expected = ours.log_prob(value), theirs.log_prob(their_value)
    assert_close(got, expected, dtype, what, case.tol)
    _check_grads(case, got, expected, ours_p, theirs_p, dtype, what, 10 * case.tol)

    ours, theirs, ours_p, theirs_p = _pair(case, dtype)
    got, expected = _compare(case, ours, theirs, "entropy", dtype=dtype)
    if expected is not NotImplemented:
        _check_grads(case, got, expected, ours_p, theirs_p, dtype, f"{case.name}.entropy",
                     10 * case.tol)


@pytest.mark.parametrize("case, dtype", DTYPE_CASES, ids=DTYPE_IDS)
def test_cdf_icdf_match_torch(case, dtype):
    ours, theirs, ours_p, theirs_p = _pair(case, dtype)
    value, their_value = _value(theirs, dtype)
    got, expected = _compare(case, ours, theirs, "cdf", value, their_value, dtype=dtype)
    if expected is not NotImplemented:
        _check_grads(case, got, expected, ours_p, theirs_p, dtype, f"{case.name}.cdf", 10.0)

    ours, theirs, ours_p, theirs_p = _pair(case, dtype)
    q = rng_for(case.name, "q").uniform(0.05, 0.95, size=tuple(theirs.batch_shape))
    got, expected = _compare(case, ours, theirs, "icdf", ds.tensor(q, dtype=OURS[dtype]),
                             torch.tensor(q, dtype=TORCH[dtype]), dtype=dtype, scale=10.0)
    if expected is not NotImplemented:
        _check_grads(case, got, expected, ours_p, theirs_p, dtype, f"{case.name}.icdf", 10.0)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_expand_matches_torch(case):
    dtype = case.dtypes[-1]
    ours, theirs, _, _ = _pair(case, dtype, grad=False)
    shape = (4,) + tuple(theirs.batch_shape)
    ours_e, theirs_e = ours.expand(shape), theirs.expand(shape)
    assert type(ours_e) is type(ours), case.name
    assert ours_e.batch_shape == shape and ours_e.event_shape == ours.event_shape, case.name
    value, their_value = _value(theirs_e, dtype, ())
    assert_close(ours_e.log_prob(value), theirs_e.log_prob(their_value), dtype,
                 f"{case.name}.expand().log_prob", case.tol)
    assert tuple(ours_e.sample((2,)).shape) == (2,) + shape + tuple(ours.event_shape)
    expected = _method_or_none(theirs_e, "mean")
    if expected is not NotImplemented:
        assert ours_e.mean.shape == tuple(expected.shape), case.name


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_support_matches_torch(case):
    dtype = case.dtypes[-1]
    ours, theirs, _, _ = _pair(case, dtype, grad=False)
    value, their_value = _value(theirs, dtype, (3,))
    assert bool(ours.support.check(value).all()), f"{case.name}: a sample is outside support"
    assert ours.support.is_discrete == theirs.support.is_discrete, case.name
    assert ours.support.event_dim == theirs.support.event_dim, case.name
    assert type(ours.support).__name__.lstrip("_") == type(theirs.support).__name__.lstrip(
        "_"), case.name
    for off in (their_value - 0.5, their_value * -3.0 - 0.25, their_value * np.nan,
                their_value + 1.0):
        got = ours.support.check(ds.tensor(off.numpy())).numpy()
        np.testing.assert_array_equal(got, theirs.support.check(off).numpy(),
                                      err_msg=f"{case.name}.support.check")


# torch checks these parameters through the distributions it builds inside (Gamma,
# Dirichlet), or fails in a Cholesky factorization first (LinAlgError); ours raise the
# ValueError of validation, naming the parameter given
CHECKED_INSIDE = ("FisherSnedecor", "LKJCholesky", "LowRankMultivariateNormal", "Wishart(cov)")


@pytest.mark.parametrize("case", [c for c in CASES if c.bad], ids=[c.name for c in CASES
                                                                   if c.bad])
def test_invalid_parameters_raise_like_torch(case):
    if case.name not in CHECKED_INSIDE:
        _invalid_like_torch(case)
        return
    arrays = case.params(rng_for(case.name))
    for name, bad in case.bad.items():
        broken = dict(arrays, **{name: np.broadcast_to(bad, np.shape(arrays[name])).copy()})
        with pytest.raises(Exception) as theirs:
            case.build(TD, _lib_params(case, broken, "float64", torch, False))
        assert theirs.value is not None
        with pytest.raises(ValueError, match=f"Expected parameter {name}"):
            case.build(D, _lib_params(case, broken, "float64", ds, False))


def test_argument_errors_match_torch():
    """Errors raised before validation, with torch's wording (``torch.`` read as ours)."""
    def t(a):
        return torch.tensor(a, dtype=torch.float64)

    def o(a):
        return ds.tensor(a, dtype=ds.float64)

    calls = [
        lambda M, f: M.LKJCholesky(1),
        lambda M, f: M.Multinomial(f(2.0), f([0.5, 0.5])),
        lambda M, f: M.LowRankMultivariateNormal(f(0.0), f([[1.0]]), f([1.0])),
        lambda M, f: M.LowRankMultivariateNormal(f([0.0, 0.0]), f([1.0, 1.0]), f([1.0, 1.0])),
        lambda M, f: M.LowRankMultivariateNormal(f([0.0, 0.0]), f(np.ones((3, 1))),
                                                 f([1.0, 1.0])),
        lambda M, f: M.LowRankMultivariateNormal(f(np.zeros((3, 2))), f(np.ones((2, 2, 1))),
                                                 f([1.0, 1.0])),
        lambda M, f: M.ContinuousBernoulli(f(1.5), validate_args=True),
        lambda M, f: M.MixtureSameFamily(M.Categorical(f(np.ones(3))),
                                         M.Normal(f(np.zeros(2)), 1.0)),
        lambda M, f: M.MixtureSameFamily(M.Categorical(f(np.ones((3, 2)))),
                                         M.Normal(f(np.zeros((2, 2))), 1.0)),
        lambda M, f: M.MixtureSameFamily(M.Categorical(f(np.ones(2))), 3),
        lambda M, f: M.Wishart(f(0.5), f(np.eye(2))),
        lambda M, f: M.Wishart(f(3.0), f(np.eye(2)), scale_tril=f(np.eye(2))),
        lambda M, f: M.Wishart(f(3.0), scale_tril=f([1.0, 2.0])),
    ]
    for i, call in enumerate(calls):
        with pytest.raises(Exception) as theirs:
            call(TD, t)
        with pytest.raises(type(theirs.value)) as ours:
            call(D, o)
        expected = re.sub(r"\s+", " ", str(theirs.value).replace("torch.", "deepseek.")).strip()
        got = re.sub(r"\s+", " ", str(ours.value)).strip()
        assert got == expected, f"call {i}: {got!r} vs torch {expected!r}"


# ---------------------------------------------------------------- samples
# VonMises: circular moments below; LKJCholesky: torch's samples are off (see below)
SAMPLED = [c for c in CASES if c.name not in ("VonMises", "LKJCholesky")]


@pytest.mark.parametrize("case", SAMPLED, ids=[c.name for c in SAMPLED])
def test_sample_shapes_dtypes_and_moments(case):
    dtype = case.dtypes[0]
    ours, theirs, _, _ = _pair(case, dtype)
    for shape in ((), (5,), (2, 3)):
        got, expected = ours.sample(shape), theirs.sample(shape)
        assert got.shape == tuple(expected.shape), f"{case.name}.sample({shape})"
        assert _np(got).dtype == expected.numpy().dtype, f"{case.name}.sample({shape})"
        assert not got.requires_grad, case.name
        assert bool(ours.support.check(got).all()), f"{case.name}: sample outside support"
        if theirs.has_rsample:
            r = ours.rsample(shape)
            assert r.shape == tuple(expected.shape) and r.requires_grad, case.name
    if case.dtypes == ("float64",) or "float64" in case.dtypes:
        _sample_moments(case)


def test_generalized_pareto_sample_moments():
    ds.manual_seed(2)
    loc, scale, xi = np.array([0.5, -1.0, 0.0]), np.array([1.0, 2.0, 0.5]), np.array(
        [0.2, 0.0, -0.3])
    d = D.GeneralizedPareto(ds.tensor(loc), ds.tensor(scale), ds.tensor(xi))
    x = _np(d.sample((40000,)))
    mean = loc + scale / (1 - xi)
    var = scale ** 2 / ((1 - xi) ** 2 * (1 - 2 * xi))
    assert np.all(np.abs(x.mean(0) - mean) < 5 * np.sqrt(var / len(x))), x.mean(0)
    assert np.all(np.abs(x.var(0) / var - 1) < 0.1), x.var(0) / var


def test_von_mises_samples():
    """Circular moments: the mean direction is ``loc``, ``1 - |E e^{ix}|`` the variance."""
    loc, k = np.array([0.5, -2.5, 3.0]), np.array([0.5, 2.0, 10.0])
    d = D.VonMises(ds.tensor(loc), ds.tensor(k))
    ds.manual_seed(4)
    x = _np(d.sample((20000,)))
    assert x.dtype == np.float64 and np.all(np.abs(x) <= np.pi)
    resultant = np.exp(1j * x).mean(0)
    theirs = TD.VonMises(torch.tensor(loc), torch.tensor(k))
    np.testing.assert_allclose(1 - np.abs(resultant), theirs.variance.numpy(), atol=0.01)
    np.testing.assert_allclose(np.angle(resultant * np.exp(-1j * loc)), 0, atol=0.05)


def test_manual_seed_reproduces_samples():
    for case in CASES:
        ours, _, _, _ = _pair(case, "float32", grad=False)
        ds.manual_seed(7)
        a = _np(ours.sample((4,)))
        ds.manual_seed(7)
        np.testing.assert_array_equal(a, _np(ours.sample((4,))), err_msg=case.name)


# Samples that are a monotone function of one uniform draw hold their CDF value as the
# parameters move: dx/dtheta = -(dF/dtheta)(x) / pdf(x), with F from torch.
QUANTILE_CASES = [c for c in CASES if c.name in ("HalfCauchy", "Pareto", "Weibull",
                                                 "Kumaraswamy", "ContinuousBernoulli(probs)",
                                                 "ContinuousBernoulli(logits)")]


@pytest.mark.parametrize("case", QUANTILE_CASES, ids=[c.name for c in QUANTILE_CASES])
def test_rsample_gradients_follow_the_cdf(case):
    _rsample_follows_cdf(case)


def test_generalized_pareto_rsample_gradients_follow_the_cdf():
    """As above, with torch in float32 (its float64 GeneralizedPareto does not run)."""
    arrays = {"loc": np.array([0.5, -1.0, 0.0]), "scale": np.array([1.0, 2.0, 0.5]),
              "concentration": np.array([0.3, -0.2, 0.1])}
    ours_p = {k: ds.tensor(v, requires_grad=True) for k, v in arrays.items()}
    ds.manual_seed(3)
    x = D.GeneralizedPareto(**ours_p).rsample()
    x.sum().backward()
    for name in arrays:
        params = {k: torch.tensor(v, dtype=torch.float32, requires_grad=(k == name))
                  for k, v in arrays.items()}
        dist = TD.GeneralizedPareto(**params)
        sample = torch.tensor(_np(x))
        (cdf_grad,) = torch.autograd.grad(dist.cdf(sample).sum(), [params[name]])
        expected = -cdf_grad / dist.log_prob(sample).exp().detach()
        np.testing.assert_allclose(_np(ours_p[name].grad), expected.numpy(), rtol=2e-4,
                                   atol=1e-5, err_msg=f"d rsample / d {name}")


@pytest.mark.parametrize("name", ["InverseGamma", "FisherSnedecor", "Wishart",
                                  "LowRankMultivariateNormal", "LogisticNormal"])
def test_rsample_gradient_is_unbiased(name):
    """Samples from several draws: the mean of per-sample gradients estimates the gradient
    of a moment torch computes in closed form (for LogisticNormal: by its own rsample)."""
    n, value = 4000, {"InverseGamma": 3.5, "FisherSnedecor": 9.0, "Wishart": 4.5,
                      "LowRankMultivariateNormal": 0.7, "LogisticNormal": 0.4}[name]
    p = ds.full((n,), value, dtype=ds.float64, requires_grad=True)
    a = torch.tensor(value, dtype=torch.float64, requires_grad=True)
    ds.manual_seed(11)
    if name == "InverseGamma":
        per = D.InverseGamma(p, ds.tensor(2.0, dtype=ds.float64)).rsample()
        target = TD.InverseGamma(a, torch.tensor(2.0, dtype=torch.float64)).mean
    elif name == "FisherSnedecor":
        per = D.FisherSnedecor(ds.tensor(4.0, dtype=ds.float64), p).rsample()
        target = TD.FisherSnedecor(torch.tensor(4.0, dtype=torch.float64), a).mean
    elif name == "Wishart":
        cov = np.array([[1.0, 0.3], [0.3, 0.5]])
        per = D.Wishart(p, ds.tensor(cov)).rsample().sum((-2, -1))
        target = TD.Wishart(a, torch.tensor(cov)).mean.sum()
    elif name == "LowRankMultivariateNormal":
        factor = ds.stack([p, ds.ones_like(p)], -1).unsqueeze(-1)
        per = D.LowRankMultivariateNormal(ds.zeros(n, 2, dtype=ds.float64), factor,
                                          ds.ones(n, 2, dtype=ds.float64)).rsample()
        per = per.square().sum(-1)
        target = TD.LowRankMultivariateNormal(
            torch.zeros(2, dtype=torch.float64), torch.stack([a, a * 0 + 1]).unsqueeze(-1),
            torch.ones(2, dtype=torch.float64)).variance.sum()
    else:
        loc = ds.stack([p, ds.zeros_like(p)], -1)
        per = D.LogisticNormal(loc, ds.tensor([0.5, 0.8], dtype=ds.float64)).rsample()[..., 0]
        torch.manual_seed(0)
        many = TD.LogisticNormal(torch.stack([a, a * 0]), torch.tensor([0.5, 0.8],
                                 dtype=torch.float64)).rsample((200000,))
        target = many[..., 0].mean()
    per.sum().backward()
    per_sample = _np(p.grad)
    (expected,) = torch.autograd.grad(target, [a])
    stderr = per_sample.std() / np.sqrt(n)
    assert abs(per_sample.mean() - expected.item()) < 5 * stderr + 1e-3 * abs(
        expected.item()), (f"{name}: mean gradient {per_sample.mean()} vs {expected.item()} "
                           f"(stderr {stderr})")


def test_scale_tril_gradients_match_torch_on_the_lower_triangle():
    """Our scale_tril parameters read only their lower triangle (so the upper one gets no
    gradient); torch's Wishart reads the full matrix in places."""
    r = rng_for("wishart tril")
    tril, value = _tril(r, (3, 3)), _spd(r, (3, 3))
    ours_t = ds.tensor(tril, requires_grad=True)
    theirs_t = torch.tensor(tril, requires_grad=True)
    D.Wishart(ds.tensor(4.0, dtype=ds.float64), scale_tril=ours_t).log_prob(
        ds.tensor(value)).backward()
    (expected,) = torch.autograd.grad(TD.Wishart(torch.tensor(4.0, dtype=torch.float64),
                                                 scale_tril=theirs_t).log_prob(
        torch.tensor(value)), [theirs_t])
    np.testing.assert_allclose(np.tril(_np(ours_t.grad)), np.tril(expected.numpy()),
                               rtol=1e-8, atol=1e-10)
    assert not np.triu(_np(ours_t.grad), 1).any()


def test_relaxed_bernoulli_rsample_gradients():
    """``x = sigmoid((noise + logits) / T)``: dx/dlogits = x (1 - x) / T and
    dx/dT = -x (1 - x) logit(x) / T, at every sample."""
    logits = ds.tensor([-1.0, 0.5, 2.0], dtype=ds.float64, requires_grad=True)
    temperature = ds.tensor([0.3, 0.7, 1.5], dtype=ds.float64, requires_grad=True)
    ds.manual_seed(9)
    x = D.RelaxedBernoulli(temperature, logits=logits).rsample()
    x.sum().backward()
    v, t = _np(x), _np(temperature)
    np.testing.assert_allclose(_np(logits.grad), v * (1 - v) / t, rtol=1e-9)
    np.testing.assert_allclose(_np(temperature.grad), -v * (1 - v) * np.log(v / (1 - v)) / t,
                               rtol=1e-7)


def test_straight_through_rsample_passes_the_probs_gradient():
    probs = ds.tensor([0.2, 0.3, 0.5], dtype=ds.float64, requires_grad=True)
    d = D.OneHotCategoricalStraightThrough(probs)
    ds.manual_seed(1)
    x = d.rsample((6,))
    assert set(_np(x).sum(-1)) == {1.0} and set(np.unique(_np(x))) <= {0.0, 1.0}
    w = ds.tensor(rng_for("st").normal(size=(6, 3)))
    (x * w).sum().backward()
    # probs are renormalized, q = p / sum(p) with sum(p) = 1: dq_j/dp_i = [i = j] - p_j
    c = _np(w).sum(0)
    np.testing.assert_allclose(_np(probs.grad), c - c @ np.array([0.2, 0.3, 0.5]), rtol=1e-10)


# ---------------------------------------------------------------- where torch is wrong
def test_kumaraswamy_mode_is_the_density_peak():
    """torch's Kumaraswamy.mode is NaN for every parameter (log1p of -concentration0)."""
    a = np.array([1.5, 2.0, 5.0, 0.7, 1.0])
    b = np.array([3.0, 1.0, 2.0, 2.0, 1.0])
    d = D.Kumaraswamy(ds.tensor(a), ds.tensor(b))
    mode = _np(d.mode)
    grid = np.linspace(1e-4, 1 - 1e-4, 20001)
    density = _np(d.log_prob(ds.tensor(np.repeat(grid[:, None], 5, 1))))
    np.testing.assert_allclose(mode[:3], grid[density[:, :3].argmax(0)], atol=1e-4)
    assert np.isnan(mode[3:]).all()  # no interior maximum
    assert np.isnan(TD.Kumaraswamy(torch.tensor(a), torch.tensor(b)).mode.numpy()).all()


def test_weibull_mode_is_zero_below_concentration_one():
    """torch's Weibull.mode raises a negative base to ``1 / k``: NaN (or garbage) for k < 1."""
    d = D.Weibull(ds.tensor([2.0, 2.0, 2.0]), ds.tensor([0.5, 0.8, 1.0]))
    np.testing.assert_array_equal(_np(d.mode), [0.0, 0.0, 0.0])


# ---------------------------------------------------------------- specifics
def test_multinomial_specifics():
    with pytest.raises(NotImplementedError, match="inhomogeneous total_count"):
        D.Multinomial(ds.tensor(3.0), ds.tensor([0.5, 0.5]))
    d = D.Multinomial(5, ds.tensor([0.2, 0.0, 0.8]))
    ds.manual_seed(0)
    x = _np(d.sample((100,)))
    assert np.all(x.sum(-1) == 5) and np.all(x[:, 1] == 0)
    assert np.isfinite(_np(d.log_prob(ds.tensor([1.0, 0.0, 4.0]))))
    assert D.Multinomial(5, logits=ds.tensor([0.0, -math.inf])).log_prob(
        ds.tensor([5.0, 0.0])).item() == 0.0
    assert not bool(d.support.check(ds.tensor([3.0, 0.0, 3.0])))


def test_continuous_bernoulli_specifics():
    with pytest.raises(ValueError, match="The parameter probs has invalid values"):
        D.ContinuousBernoulli(ds.tensor([1.5]), validate_args=False)
    d = D.ContinuousBernoulli(0.3)
    assert d.batch_shape == () and d.probs.dtype == ds.float32
    # the Taylor branch and the closed form agree at the edge of lims
    probs = np.array([0.4989, 0.4991, 0.5009, 0.5011])
    theirs = TD.ContinuousBernoulli(torch.tensor(probs))
    ours = D.ContinuousBernoulli(ds.tensor(probs))
    for name in ("mean", "variance", "entropy"):
        assert_close(_method_or_none(ours, name), _method_or_none(theirs, name), "float64",
                     f"ContinuousBernoulli.{name} at the lims")


def test_mixture_same_family_cdf_and_event_dims():
    weights, loc, scale = np.array([0.2, 0.5, 0.3]), np.array([-1.0, 0.5, 2.0]), np.array(
        [0.5, 1.0, 2.0])
    ours = D.MixtureSameFamily(D.Categorical(ds.tensor(weights)),
                               D.Normal(ds.tensor(loc), ds.tensor(scale)))
    theirs = TD.MixtureSameFamily(TD.Categorical(torch.tensor(weights)),
                                  TD.Normal(torch.tensor(loc), torch.tensor(scale)))
    v = np.array([-2.0, 0.0, 1.0, 3.0])
    assert_close(ours.cdf(ds.tensor(v)), theirs.cdf(torch.tensor(v)), "float64", "cdf")
    assert ours.mixture_distribution.probs.shape == (3,)
    assert isinstance(ours.component_distribution, D.Normal)
    assert repr(ours.support) == repr(theirs.support) == "MixtureSameFamilyConstraint(Real())"


def test_lkj_cholesky_samples_follow_the_density():
    """A reference independent of both libraries: correlation matrices uniform by rejection
    (symmetric, unit diagonal, uniform off-diagonals, kept when positive definite), weighted
    by ``det(C) ** (eta - 1)``. Our onion samples match its moments of ``L_ii^2``; torch's
    sampler does not (E[L_22^2] is 0.40 for eta = 1, against 0.50 by rejection and by the
    log_prob torch and we share)."""
    r = np.random.default_rng(0)
    n = 300000
    off = r.uniform(-1, 1, (n, 3))
    c = np.tile(np.eye(3), (n, 1, 1))
    c[:, 1, 0] = c[:, 0, 1] = off[:, 0]
    c[:, 2, 0] = c[:, 0, 2] = off[:, 1]
    c[:, 2, 1] = c[:, 1, 2] = off[:, 2]
    c = c[np.linalg.eigvalsh(c)[:, 0] > 0]
    reference = np.linalg.cholesky(c)
    concentration = np.array([0.5, 1.0, 3.0])
    ds.manual_seed(5)
    ours = _np(D.LKJCholesky(3, ds.tensor(concentration)).sample((20000,)))
    for j, eta in enumerate(concentration):
        w = np.linalg.det(c) ** (eta - 1)
        w = w / w.sum()
        for i in (1, 2):
            expected = (w * reference[:, i, i] ** 2).sum()
            got = ours[:, j, i, i] ** 2
            stderr = got.std() / np.sqrt(len(got))
            assert abs(got.mean() - expected) < 5 * stderr + 2e-3, (eta, i, got.mean(),
                                                                    expected)


# ---------------------------------------------------------------- transforms
def _transform_cases(M: Any) -> list:
    T = M.transforms
    return [
        ("StickBreakingTransform", T.StickBreakingTransform(), (2, 3)),
        ("CorrCholeskyTransform", T.CorrCholeskyTransform(), (2, 6)),
        ("SoftplusTransform", T.SoftplusTransform(), (2, 3)),
        ("ReshapeTransform", T.ReshapeTransform((2, 3), (3, 2)), (4, 2, 3)),
        ("CatTransform", T.CatTransform([T.ExpTransform(), T.identity_transform,
                                         T.SoftplusTransform()], dim=-1, lengths=[1, 2, 1]),
         (2, 4)),
        ("CatTransform(dim=0)", T.CatTransform([T.ExpTransform(), T.SigmoidTransform()],
                                               dim=0, lengths=[2, 1]), (3, 2)),
        ("StackTransform", T.StackTransform([T.ExpTransform(), T.TanhTransform()], dim=1),
         (3, 2)),
        ("CumulativeDistributionTransform",
         T.CumulativeDistributionTransform(M.Normal(0.5, 2.0)), (2, 3)),
        ("Compose(StickBreaking.inv)", T.StickBreakingTransform().inv, None),
    ]


TRANSFORM_IDS = [c[0] for c in _transform_cases(D)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("index", range(len(TRANSFORM_IDS)), ids=TRANSFORM_IDS)
def test_transforms_match_torch(index, dtype):
    name, ours, shape = _transform_cases(D)[index]
    _, theirs, _ = _transform_cases(TD)[index]
    r = rng_for("extra transform", index)
    if shape is None:  # an inverse: start from the simplex
        x_a = r.dirichlet(np.ones(4), size=2)
    else:
        x_a = r.normal(size=shape)
    x_o = ds.tensor(x_a, dtype=OURS[dtype], requires_grad=True)
    x_t = torch.tensor(x_a, dtype=TORCH[dtype], requires_grad=True)
    y_o, y_t = ours(x_o), theirs(x_t)
    assert_close(y_o, y_t, dtype, f"{name}(x)")
    assert_close(ours.inv(y_o), theirs.inv(y_t), dtype, f"{name}.inv(y)", scale=10.0)
    assert ours.inv.inv is ours, name
    assert ours.domain.event_dim == theirs.domain.event_dim, name
    assert ours.codomain.event_dim == theirs.codomain.event_dim, name
    assert ours.bijective == theirs.bijective, name
    assert ours.forward_shape(x_a.shape) == tuple(theirs.forward_shape(x_a.shape)), name
    assert ours.inverse_shape(tuple(y_t.shape)) == tuple(theirs.inverse_shape(y_t.shape)), name
    assert bool(ours.codomain.check(y_o).all()), f"{name}: output outside the codomain"
    ladj_o = ours.log_abs_det_jacobian(x_o, y_o)
    ladj_t = theirs.log_abs_det_jacobian(x_t, y_t)
    assert_close(ladj_o, ladj_t, dtype, f"{name}.log_abs_det_jacobian", scale=10.0)
    w = r.uniform(0.5, 1.5, size=tuple(ladj_t.shape))
    w_y = r.uniform(0.5, 1.5, size=tuple(y_t.shape))
    total_o = (ladj_o * ds.tensor(w, dtype=OURS[dtype])).sum() + (
        y_o * ds.tensor(w_y, dtype=OURS[dtype])).sum()
    total_t = (ladj_t * torch.tensor(w, dtype=TORCH[dtype])).sum() + (
        y_t * torch.tensor(w_y, dtype=TORCH[dtype])).sum()
    total_o.backward()
    (g,) = torch.autograd.grad(total_t, [x_t])
    assert_close(x_o.grad, g, dtype, f"{name}: d/dx", scale=10.0)


@pytest.mark.parametrize("name", ["LowerCholeskyTransform", "PositiveDefiniteTransform"])
def test_matrix_transforms_match_torch(name):
    x = rng_for(name).normal(size=(2, 3, 3))
    ours, theirs = getattr(D, name)(), getattr(TD.transforms, name)()
    y_o, y_t = ours(ds.tensor(x)), theirs(torch.tensor(x))
    assert_close(y_o, y_t, "float64", name)
    assert bool(ours.codomain.check(y_o).all())
    assert_close(ours.inv(y_o), theirs.inv(y_t), "float64", f"{name}.inv", scale=100.0)
    assert ours.bijective == theirs.bijective and ours.domain.event_dim == 2
    assert ours == getattr(D, name)() and ours != D.ExpTransform()


def test_transform_shape_errors_match_torch():
    calls = [lambda T: T.ReshapeTransform((2, 3), (4,)),
             lambda T: T.ReshapeTransform((2, 3), (6,)).forward_shape((5,)),
             lambda T: T.ReshapeTransform((2, 3), (6,)).forward_shape((5, 3)),
             lambda T: T.CorrCholeskyTransform().forward_shape((4,))]
    for call in calls:
        with pytest.raises(ValueError) as theirs:
            call(TD.transforms)
        with pytest.raises(ValueError, match=re.escape(str(theirs.value).split(" but")[0])):
            call(D.transforms)


def test_cached_structured_transforms():
    t = D.CatTransform([D.ExpTransform(), D.identity_transform], lengths=[1, 2], cache_size=1)
    x = ds.tensor([0.5, 1.0, 2.0])
    y = t(x)
    assert t.inv(y) is x and t(x) is y
    assert D.ReshapeTransform((2,), (2, 1)).with_cache(1)._cache_size == 1
    assert D.StickBreakingTransform() == D.StickBreakingTransform()


# ---------------------------------------------------------------- constraints and registry
def _constraint_cases(K: Any) -> list:
    return [
        (K.corr_cholesky, lambda r: np.stack([np.eye(3), np.linalg.cholesky(
            np.corrcoef(r.normal(size=(3, 6)))), np.tril(np.ones((3, 3))), -np.eye(3)])),
        (K.multinomial(4), lambda r: np.array([[1.0, 3.0], [2.0, 3.0], [-1.0, 2.0],
                                               [0.0, 0.0]])),
        (K.cat([K.positive, K.real, K.unit_interval], -1, [1, 2, 1]),
         lambda r: r.normal(size=(5, 4))),
        (K.stack([K.positive, K.interval(-1.0, 1.0)], 0), lambda r: r.normal(size=(2, 5))),
        (K.stack([K.simplex, K.real_vector], -1), lambda r: r.uniform(size=(3, 2, 2))),
        (K.MixtureSameFamilyConstraint(K.positive), lambda r: r.normal(size=(4, 3))),
    ]


@pytest.mark.parametrize("index", range(6), ids=[repr(c) for c, _ in _constraint_cases(TC)])
def test_new_constraints_check_like_torch(index):
    ours, make = _constraint_cases(C)[index]
    theirs, _ = _constraint_cases(TC)[index]
    v = make(rng_for("constraint", index))
    assert repr(ours) == repr(theirs)
    assert ours.event_dim == theirs.event_dim and ours.is_discrete == theirs.is_discrete
    got = ours.check(ds.tensor(v)).numpy()
    expected = theirs.check(torch.tensor(v)).numpy()
    assert got.dtype == np.bool_ and got.shape == expected.shape, repr(ours)
    np.testing.assert_array_equal(got, expected, err_msg=repr(ours))


def _registry_constraints(K: Any, lib: Any) -> list:
    return [K.real, K.positive, K.nonnegative, K.greater_than(1.5), K.greater_than_eq(-1.0),
            K.less_than(2.0), K.interval(-1.0, 3.0), K.half_open_interval(0.0, 2.0),
            K.unit_interval, K.simplex, K.real_vector, K.independent(K.positive, 1),
            K.lower_cholesky, K.positive_definite, K.positive_semidefinite, K.corr_cholesky,
            K.cat([K.real, K.positive], -1, [1, 2]), K.stack([K.real, K.unit_interval], -1),
            K.greater_than(lib.tensor([0.5, 1.0, 2.0]))]


def _domain_shape(transform: Any) -> tuple:
    if transform.domain.event_dim == 2 or isinstance(
            transform, (D.LowerCholeskyTransform, D.PositiveDefiniteTransform)):
        return (2, 3, 3)
    if isinstance(transform, D.StackTransform):
        return (4, 2)
    return (4, 3)


@pytest.mark.parametrize("registry", ["biject_to", "transform_to"])
def test_biject_to_and_transform_to_match_torch(registry):
    ours_registry, their_registry = getattr(D, registry), getattr(TD, registry)
    for ours_c, their_c in zip(_registry_constraints(C, ds), _registry_constraints(TC, torch)):
        try:
            expected = their_registry(their_c)
        except NotImplementedError:
            with pytest.raises(NotImplementedError, match="Cannot transform"):
                ours_registry(ours_c)
            continue
        got = ours_registry(ours_c)
        assert re.sub(r"\s", "", repr(got)) == re.sub(r"\s", "", repr(expected)), repr(ours_c)
        x = rng_for(registry, repr(ours_c)).normal(size=_domain_shape(got))
        y_o, y_t = got(ds.tensor(x)), expected(torch.tensor(x))
        assert_close(y_o, y_t, "float64", f"{registry}({ours_c!r})", scale=100.0)
        assert bool(ours_c.check(y_o).all()), f"{registry}({ours_c!r}): leaves the constraint"
        if got.bijective:
            np.testing.assert_allclose(_np(got.inv(y_o)), x, rtol=1e-6, atol=1e-8,
                                       err_msg=f"{registry}({ours_c!r}).inv")


def test_registry_register_and_errors():
    registry = D.constraint_registry.ConstraintRegistry()

    @registry.register(C.positive)
    def _to_positive(constraint):
        return D.ExpTransform()

    assert isinstance(registry(C.greater_than(3.0)), D.ExpTransform)
    with pytest.raises(NotImplementedError, match="Cannot transform _Boolean constraints"):
        registry(C.boolean)
    with pytest.raises(TypeError, match="Expected constraint"):
        registry.register(int, _to_positive)


def test_every_torch_member_exists():
    """Everything torch.distributions exports, bar the ExponentialFamily base."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        missing = set(TD.__all__) - set(dir(D)) - {"ExponentialFamily"}
    assert not missing, missing
    assert not set(TD.transforms.__all__) - set(dir(D.transforms))
    assert not set(TC.__all__) - set(dir(C))
