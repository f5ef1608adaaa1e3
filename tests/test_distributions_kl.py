"""deepseek.distributions against torch.distributions: kl_divergence values and gradients for
every registered pair, register_kl dispatch, transforms (values, inverses, log-Jacobians,
shapes, caching) and constraints."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
import torch
import torch.distributions as TD
import torch.distributions.constraints as TC

import deepseek as ds
import deepseek.distributions as D
import deepseek.distributions.constraints as C

from distribution_cases import DTYPES, OURS, TOL, TORCH, rng_for, to_numpy as _np



def assert_close(ours: Any, theirs: Any, dtype: str, what: str, scale: float = 1.0) -> None:
    a, b = _np(ours), _np(theirs)
    assert a.shape == b.shape, f"{what}: shape {a.shape}, torch {b.shape}"
    assert a.dtype == b.dtype, f"{what}: dtype {a.dtype}, torch {b.dtype}"
    tol = {k: v * scale for k, v in TOL[dtype].items()}
    np.testing.assert_allclose(a, b, equal_nan=True, err_msg=f"{what} ({dtype}, {tol})", **tol)


def _spd(rng: np.random.Generator, shape: tuple) -> np.ndarray:
    a = rng.normal(size=shape)
    return a @ np.swapaxes(a, -1, -2) + shape[-1] * np.eye(shape[-1])


def _pos(r, shape, lo=0.5, hi=3.0):
    return r.uniform(lo, hi, size=shape)


# (name, build(M, params) -> (p, q), params(rng))
KL_CASES = [
    ("Normal", lambda M, a: (M.Normal(a["m1"], a["s1"]), M.Normal(a["m2"], a["s2"])),
     lambda r: {"m1": r.normal(size=(3,)), "s1": _pos(r, (2, 1)), "m2": r.normal(size=(2, 3)),
                "s2": _pos(r, (3,))}),
    ("Bernoulli", lambda M, a: (M.Bernoulli(a["p1"]), M.Bernoulli(logits=a["l2"])),
     lambda r: {"p1": r.uniform(0.05, 0.95, (2, 3)), "l2": r.normal(size=(2, 3))}),
    ("Categorical", lambda M, a: (M.Categorical(a["p1"]), M.Categorical(logits=a["l2"])),
     lambda r: {"p1": _pos(r, (2, 4)), "l2": r.normal(size=(4,))}),
    ("OneHotCategorical", lambda M, a: (M.OneHotCategorical(a["p1"]),
                                        M.OneHotCategorical(a["p2"])),
     lambda r: {"p1": _pos(r, (2, 4)), "p2": _pos(r, (2, 4))}),
    ("Beta", lambda M, a: (M.Beta(a["a1"], a["b1"]), M.Beta(a["a2"], a["b2"])),
     lambda r: {"a1": _pos(r, (3,)), "b1": _pos(r, (2, 1)), "a2": _pos(r, (3,)),
                "b2": _pos(r, (3,))}),
    ("Gamma", lambda M, a: (M.Gamma(a["a1"], a["r1"]), M.Gamma(a["a2"], a["r2"])),
     lambda r: {"a1": _pos(r, (2, 3)), "r1": _pos(r, (3,)), "a2": _pos(r, (3,)),
                "r2": _pos(r, (2, 1))}),
    ("Dirichlet", lambda M, a: (M.Dirichlet(a["c1"]), M.Dirichlet(a["c2"])),
     lambda r: {"c1": _pos(r, (2, 4)), "c2": _pos(r, (2, 4))}),
    ("Exponential", lambda M, a: (M.Exponential(a["r1"]), M.Exponential(a["r2"])),
     lambda r: {"r1": _pos(r, (2, 3)), "r2": _pos(r, (3,))}),
    ("Uniform", lambda M, a: (M.Uniform(a["l1"], a["l1"] + a["w1"]),
                              M.Uniform(a["l2"], a["l2"] + a["w2"])),
     lambda r: {"l1": r.normal(size=(4,)), "w1": _pos(r, (4,)),
                "l2": r.normal(size=(4,)) - 1.0, "w2": _pos(r, (4,), 1.0, 6.0)}),
    ("Laplace", lambda M, a: (M.Laplace(a["m1"], a["s1"]), M.Laplace(a["m2"], a["s2"])),
     lambda r: {"m1": r.normal(size=(3,)), "s1": _pos(r, (2, 1)), "m2": r.normal(size=(3,)),
                "s2": _pos(r, (3,))}),
    ("Poisson", lambda M, a: (M.Poisson(a["r1"]), M.Poisson(a["r2"])),
     lambda r: {"r1": _pos(r, (2, 3)), "r2": _pos(r, (3,))}),
    ("Geometric", lambda M, a: (M.Geometric(a["p1"]), M.Geometric(a["p2"])),
     lambda r: {"p1": r.uniform(0.1, 0.9, (3,)), "p2": r.uniform(0.1, 0.9, (2, 3))}),
    ("MultivariateNormal",
     lambda M, a: (M.MultivariateNormal(a["m1"], covariance_matrix=a["c1"]),
                   M.MultivariateNormal(a["m2"], scale_tril=a["t2"])),
     lambda r: {"m1": r.normal(size=(2, 3)), "c1": _spd(r, (3, 3)), "m2": r.normal(size=(3,)),
                "t2": np.linalg.cholesky(_spd(r, (2, 3, 3)))}),
    ("Independent", lambda M, a: (M.Independent(M.Normal(a["m1"], a["s1"]), 1),
                                  M.Independent(M.Normal(a["m2"], a["s2"]), 1)),
     lambda r: {"m1": r.normal(size=(2, 3)), "s1": _pos(r, (2, 3)), "m2": r.normal(size=(2, 3)),
                "s2": _pos(r, (3,))}),
    ("LogNormal", lambda M, a: (M.LogNormal(a["m1"], a["s1"]), M.LogNormal(a["m2"], a["s2"])),
     lambda r: {"m1": r.normal(size=(3,)), "s1": _pos(r, (3,)), "m2": r.normal(size=(3,)),
                "s2": _pos(r, (3,))}),
    ("Binomial", lambda M, a: (M.Binomial(5, a["p1"]), M.Binomial(5, logits=a["l2"])),
     lambda r: {"p1": r.uniform(0.05, 0.95, (2, 3)), "l2": r.normal(size=(3,))}),
    ("HalfNormal", lambda M, a: (M.HalfNormal(a["s1"]), M.HalfNormal(a["s2"])),
     lambda r: {"s1": _pos(r, (2, 3)), "s2": _pos(r, (3,))}),
    ("Cauchy", lambda M, a: (M.Cauchy(a["m1"], a["s1"]), M.Cauchy(a["m2"], a["s2"])),
     lambda r: {"m1": r.normal(size=(3,)), "s1": _pos(r, (2, 1)), "m2": r.normal(size=(3,)),
                "s2": _pos(r, (3,))}),
    ("Gumbel", lambda M, a: (M.Gumbel(a["m1"], a["s1"]), M.Gumbel(a["m2"], a["s2"])),
     lambda r: {"m1": r.normal(size=(3,)), "s1": _pos(r, (2, 1)), "m2": r.normal(size=(3,)),
                "s2": _pos(r, (3,))}),
    ("Pareto", lambda M, a: (M.Pareto(a["s1"] + 1.0, a["a1"]), M.Pareto(a["s2"], a["a2"])),
     lambda r: {"s1": _pos(r, (2, 3)), "a1": _pos(r, (3,)), "s2": _pos(r, (3,), 0.2, 1.0),
                "a2": _pos(r, (2, 1))}),
    ("ContinuousBernoulli",
     lambda M, a: (M.ContinuousBernoulli(a["p1"]), M.ContinuousBernoulli(logits=a["l2"])),
     lambda r: {"p1": r.uniform(0.05, 0.95, (2, 3)), "l2": r.normal(size=(3,))}),
    ("LowRankMultivariateNormal",
     lambda M, a: (M.LowRankMultivariateNormal(a["m1"], a["w1"], a["d1"]),
                   M.LowRankMultivariateNormal(a["m2"], a["w2"], a["d2"])),
     lambda r: {"m1": r.normal(size=(2, 3)), "w1": r.normal(size=(3, 2)), "d1": _pos(r, (3,)),
                "m2": r.normal(size=(3,)), "w2": r.normal(size=(2, 3, 1)),
                "d2": _pos(r, (2, 3))}),
    ("LowRankMultivariateNormal, MultivariateNormal",
     lambda M, a: (M.LowRankMultivariateNormal(a["m1"], a["w1"], a["d1"]),
                   M.MultivariateNormal(a["m2"], scale_tril=a["t2"])),
     lambda r: {"m1": r.normal(size=(3,)), "w1": r.normal(size=(3, 2)), "d1": _pos(r, (3,)),
                "m2": r.normal(size=(2, 3)), "t2": np.linalg.cholesky(_spd(r, (3, 3)))}),
    ("MultivariateNormal, LowRankMultivariateNormal",
     lambda M, a: (M.MultivariateNormal(a["m1"], covariance_matrix=a["c1"]),
                   M.LowRankMultivariateNormal(a["m2"], a["w2"], a["d2"])),
     lambda r: {"m1": r.normal(size=(3,)), "c1": _spd(r, (2, 3, 3)), "m2": r.normal(size=(3,)),
                "w2": r.normal(size=(3, 2)), "d2": _pos(r, (3,))}),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, build, make", KL_CASES, ids=[c[0] for c in KL_CASES])
def test_kl_divergence_values_and_gradients_match_torch(name, build, make, dtype):
    arrays = make(rng_for(name))
    ours_a = {k: ds.tensor(v, dtype=OURS[dtype], requires_grad=True) for k, v in arrays.items()}
    theirs_a = {k: torch.tensor(v, dtype=TORCH[dtype], requires_grad=True)
                for k, v in arrays.items()}
    got = D.kl_divergence(*build(D, ours_a))
    expected = TD.kl_divergence(*build(TD, theirs_a))
    assert_close(got, expected, dtype, f"KL({name})")
    w = rng_for(name, "w").uniform(0.5, 1.5, size=tuple(expected.shape))
    (got * ds.tensor(w, dtype=OURS[dtype])).sum().backward()
    grads = torch.autograd.grad((expected * torch.tensor(w, dtype=TORCH[dtype])).sum(),
                                list(theirs_a.values()))
    for (k, ours_t), g in zip(ours_a.items(), grads):
        assert_close(ours_t.grad, g, dtype, f"KL({name}): d/d{k}", scale=10.0)
    p, _ = build(D, {k: ds.tensor(v, dtype=OURS[dtype]) for k, v in arrays.items()})
    assert np.allclose(_np(D.kl_divergence(p, p)), 0, atol=1e-5), f"KL({name})(p, p) != 0"


def test_kl_infinite_where_supports_do_not_nest():
    wide, narrow = D.Uniform(ds.tensor([0.0]), ds.tensor([4.0])), D.Uniform(1.0, 2.0)
    assert D.kl_divergence(wide, narrow).isinf().all()
    assert float(D.kl_divergence(narrow, wide)[0]) == pytest.approx(np.log(4.0))
    certain = D.Bernoulli(ds.tensor([1.0, 0.0]))
    assert _np(D.kl_divergence(D.Bernoulli(ds.tensor([0.5, 0.5])), certain)).tolist() == [
        np.inf, np.inf]
    assert _np(D.kl_divergence(certain, certain)).tolist() == [0.0, 0.0]


def test_kl_errors():
    with pytest.raises(NotImplementedError, match="No KL"):
        D.kl_divergence(D.Normal(0.0, 1.0), D.Cauchy(0.0, 1.0))  # neither library has it
    with pytest.raises(ValueError, match="different event shapes"):
        D.kl_divergence(D.MultivariateNormal(ds.zeros(2), ds.eye(2)),
                        D.MultivariateNormal(ds.zeros(3), ds.eye(3)))
    with pytest.raises(NotImplementedError):
        D.kl_divergence(D.Independent(D.Normal(ds.zeros(2, 3), 1.0), 1),
                        D.Independent(D.Normal(ds.zeros(2, 3), 1.0), 2))
    with pytest.raises(NotImplementedError, match="q.total_count > p.total_count"):
        D.kl_divergence(D.Binomial(3, ds.tensor(0.5)), D.Binomial(4, ds.tensor(0.5)))
    with pytest.raises(ValueError, match="different event shapes"):
        D.kl_divergence(D.LowRankMultivariateNormal(ds.zeros(2), ds.ones(2, 1), ds.ones(2)),
                        D.MultivariateNormal(ds.zeros(3), ds.eye(3)))


def test_kl_infinite_for_new_pairs_like_torch():
    """Where p's support reaches outside q's the divergence is infinite, as in torch."""
    pairs = [
        lambda M, f: (M.Pareto(f([0.5, 2.0]), f([2.0, 2.0])), M.Pareto(f([1.0, 1.0]),
                                                                       f([3.0, 3.0]))),
        lambda M, f: (M.Binomial(f([5.0, 4.0]), f([0.3, 0.3])), M.Binomial(f([5.0, 3.0]),
                                                                           f([0.4, 0.4]))),
    ]
    for build in pairs:
        got = D.kl_divergence(*build(D, lambda v: ds.tensor(v, dtype=ds.float64)))
        expected = TD.kl_divergence(*build(TD, lambda v: torch.tensor(v, dtype=torch.float64)))
        assert_close(got, expected, "float64", "KL with nested supports")


def test_register_kl_dispatches_to_the_most_specific_pair():
    class MyNormal(D.Normal):
        pass

    class Other(D.Normal):
        pass

    # a subclass falls back to the Normal-Normal rule until it registers its own
    p, q = MyNormal(0.0, 1.0), D.Normal(1.0, 1.0)
    assert float(D.kl_divergence(p, q)) == pytest.approx(0.5)

    @D.register_kl(MyNormal, D.Normal)
    def _mine(p, q):
        return ds.tensor(-1.0)

    assert float(D.kl_divergence(p, q)) == -1.0
    assert float(D.kl_divergence(p, MyNormal(0.0, 1.0))) == -1.0
    assert float(D.kl_divergence(q, p)) == pytest.approx(0.5)

    @D.register_kl(D.Normal, Other)
    def _other(p, q):
        return ds.tensor(-2.0)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        D.kl_divergence(p, Other(0.0, 1.0))  # (MyNormal, Normal) vs (Normal, Other): a tie
    assert any("Ambiguous kl_divergence" in str(w.message) for w in caught)
    with pytest.raises(TypeError):
        D.register_kl(int, D.Normal)


# ---------------------------------------------------------------- transforms
def _transform_cases(M: Any, shift: Any, scale: Any) -> list:
    T = M.transforms
    return [
        ("ExpTransform", T.ExpTransform(), "real"),
        ("SigmoidTransform", T.SigmoidTransform(), "real"),
        ("TanhTransform", T.TanhTransform(), "real"),
        ("AffineTransform", T.AffineTransform(shift, scale), "real"),
        ("AffineTransform(event_dim=1)", T.AffineTransform(shift, scale, event_dim=1), "real"),
        ("AffineTransform(number)", T.AffineTransform(1.5, -2.0), "real"),
        ("PowerTransform", T.PowerTransform(scale.abs() if hasattr(scale, "abs") else 2.0),
         "pos"),
        ("ExpTransform.inv", T.ExpTransform().inv, "pos"),
        ("Compose(affine, exp)", T.ComposeTransform([T.AffineTransform(shift, scale),
                                                     T.ExpTransform()]), "real"),
        ("Compose(softmax-free sigmoid.inv, exp)",
         T.ComposeTransform([T.SigmoidTransform().inv, T.ExpTransform()]), "unit"),
        ("Independent(exp, 1)", T.IndependentTransform(T.ExpTransform(), 1), "real"),
        ("Compose()", T.ComposeTransform([]), "real"),
    ]


TRANSFORM_IDS = [c[0] for c in _transform_cases(D, ds.zeros(3), ds.ones(3))]


def _inputs(kind: str, rng: np.random.Generator) -> np.ndarray:
    x = rng.normal(size=(2, 3))
    return {"real": x, "pos": np.exp(x), "unit": 1 / (1 + np.exp(-x))}[kind]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("index", range(len(TRANSFORM_IDS)), ids=TRANSFORM_IDS)
def test_transforms_match_torch(index, dtype):
    r = rng_for("transform", index)
    shift_a, scale_a = r.normal(size=(3,)), r.uniform(0.5, 2.0, (3,)) * np.array([1, -1, 1])
    shift_o = ds.tensor(shift_a, dtype=OURS[dtype], requires_grad=True)
    scale_o = ds.tensor(scale_a, dtype=OURS[dtype], requires_grad=True)
    shift_t = torch.tensor(shift_a, dtype=TORCH[dtype], requires_grad=True)
    scale_t = torch.tensor(scale_a, dtype=TORCH[dtype], requires_grad=True)
    name, ours, kind = _transform_cases(D, shift_o, scale_o)[index]
    _, theirs, _ = _transform_cases(TD, shift_t, scale_t)[index]
    x_a = _inputs(kind, r)
    x_o = ds.tensor(x_a, dtype=OURS[dtype], requires_grad=True)
    x_t = torch.tensor(x_a, dtype=TORCH[dtype], requires_grad=True)
    y_o, y_t = ours(x_o), theirs(x_t)
    assert_close(y_o, y_t, dtype, f"{name}(x)")
    assert_close(ours.inv(y_o), theirs.inv(y_t), dtype, f"{name}.inv(y)", scale=10.0)
    assert ours.inv.inv is ours, name
    assert ours.domain.event_dim == theirs.domain.event_dim, name
    assert ours.codomain.event_dim == theirs.codomain.event_dim, name
    assert ours.bijective == theirs.bijective, name
    assert ours.forward_shape((4, 2, 3)) == tuple(theirs.forward_shape((4, 2, 3))), name
    assert ours.inverse_shape((4, 2, 3)) == tuple(theirs.inverse_shape((4, 2, 3))), name
    assert bool(ours.codomain.check(y_o).all()), f"{name}: output outside the codomain"
    sign_t = theirs.sign
    sign_o = ours.sign
    assert np.array_equal(np.asarray(_np(sign_o) if isinstance(sign_o, ds.Tensor) else sign_o),
                          np.asarray(sign_t.detach().numpy() if isinstance(sign_t, torch.Tensor)
                                     else sign_t)), name
    ladj_o = ours.log_abs_det_jacobian(x_o, y_o)
    ladj_t = theirs.log_abs_det_jacobian(x_t, y_t)
    assert_close(ladj_o, ladj_t, dtype, f"{name}.log_abs_det_jacobian", scale=10.0)
    w = r.uniform(0.5, 1.5, size=tuple(ladj_t.shape))
    total_o = (ladj_o * ds.tensor(w, dtype=OURS[dtype])).sum() + y_o.sum()
    total_t = (ladj_t * torch.tensor(w, dtype=TORCH[dtype])).sum() + y_t.sum()
    total_o.backward()
    inputs = [x_t, shift_t, scale_t]
    grads = torch.autograd.grad(total_t, inputs, allow_unused=True)
    for label, ours_t, g in zip(("x", "loc", "scale"), (x_o, shift_o, scale_o), grads):
        if g is not None:
            assert_close(ours_t.grad, g, dtype, f"{name}: d/d{label}", scale=10.0)


def test_softmax_and_abs_transforms():
    x = rng_for("softmax").normal(size=(2, 4))
    ours, theirs = D.SoftmaxTransform(), TD.transforms.SoftmaxTransform()
    y = ours(ds.tensor(x))
    assert_close(y, theirs(torch.tensor(x)), "float64", "softmax")
    assert bool(ours.codomain.check(y).all()) and ours.codomain.event_dim == 1
    np.testing.assert_allclose(_np(ours(ours.inv(y))), _np(y), rtol=1e-12)
    assert not ours.bijective
    a = D.AbsTransform()
    np.testing.assert_array_equal(_np(a(ds.tensor([-2.0, 3.0]))), [2.0, 3.0])
    assert a == D.AbsTransform() and a != D.ExpTransform()


def test_transform_cache_and_equality():
    t = D.ExpTransform(cache_size=1)
    x = ds.tensor([0.5, 1.0])
    y = t(x)
    assert t.inv(y) is x and t(x) is y
    assert D.ExpTransform()(x) is not D.ExpTransform()(x)
    assert D.ExpTransform() == D.ExpTransform() and D.ExpTransform().inv == D.ExpTransform().inv
    assert D.AffineTransform(1.0, 2.0) == D.AffineTransform(1.0, 2.0)
    assert D.AffineTransform(1.0, 2.0) != D.AffineTransform(1.0, 3.0)
    assert D.ComposeTransform([D.ExpTransform()]) == D.ComposeTransform([D.ExpTransform()])
    with pytest.raises(ValueError, match="cache_size must be 0 or 1"):
        D.ExpTransform(cache_size=2)
    with pytest.raises(ValueError, match="transforms must be a Transform"):
        D.TransformedDistribution(D.Normal(0.0, 1.0), [D.ExpTransform(), "exp"])

    class Mixed(D.Transform):
        domain = C.real
        codomain = C.real_vector

    with pytest.raises(ValueError, match="Please use either"):
        _ = Mixed().event_dim


def test_transformed_distribution_with_decreasing_map():
    """cdf / icdf flip for a decreasing composition, as torch's do."""
    def build(M):
        return M.TransformedDistribution(M.Exponential(2.0),
                                         [M.transforms.AffineTransform(1.0, -3.0)])

    ours, theirs = build(D), build(TD)
    v = np.array([-4.0, -1.0, 0.5])
    assert_close(ours.cdf(ds.tensor(v, dtype=ds.float32)),
                 theirs.cdf(torch.tensor(v, dtype=torch.float32)), "float32", "cdf")
    q = np.array([0.1, 0.5, 0.9])
    assert_close(ours.icdf(ds.tensor(q, dtype=ds.float32)),
                 theirs.icdf(torch.tensor(q, dtype=torch.float32)), "float32", "icdf")
    assert type(ours.support).__name__ == type(theirs.support).__name__


def test_transformed_distribution_event_dims_follow_torch():
    def build(M):
        base = M.Normal(torch.zeros(2, 3) if M is TD else ds.zeros(2, 3), 1.0)
        return M.TransformedDistribution(base, [M.transforms.SoftmaxTransform()])

    ours, theirs = build(D), build(TD)
    assert ours.batch_shape == tuple(theirs.batch_shape)
    assert ours.event_shape == tuple(theirs.event_shape)
    assert isinstance(ours.base_dist, D.Independent)
    assert ours.support.event_dim == theirs.support.event_dim == 1


# ---------------------------------------------------------------- constraints
def _constraint_pairs() -> list:
    return [
        (C.real, TC.real), (C.positive, TC.positive), (C.nonnegative, TC.nonnegative),
        (C.unit_interval, TC.unit_interval), (C.boolean, TC.boolean),
        (C.nonnegative_integer, TC.nonnegative_integer),
        (C.positive_integer, TC.positive_integer),
        (C.integer_interval(0, 3), TC.integer_interval(0, 3)),
        (C.interval(-1.0, 2.0), TC.interval(-1.0, 2.0)),
        (C.half_open_interval(-1.0, 2.0), TC.half_open_interval(-1.0, 2.0)),
        (C.greater_than(1.0), TC.greater_than(1.0)),
        (C.greater_than_eq(1.0), TC.greater_than_eq(1.0)), (C.less_than(1.0), TC.less_than(1.0)),
        (C.simplex, TC.simplex), (C.one_hot, TC.one_hot), (C.real_vector, TC.real_vector),
        (C.independent(C.positive, 1), TC.independent(TC.positive, 1)),
        (C.lower_triangular, TC.lower_triangular), (C.lower_cholesky, TC.lower_cholesky),
        (C.square, TC.square), (C.symmetric, TC.symmetric),
        (C.positive_semidefinite, TC.positive_semidefinite),
        (C.positive_definite, TC.positive_definite),
    ]


def _constraint_values(event_dim: int) -> list:
    r = rng_for("constraints", event_dim)
    if event_dim == 0:
        return [np.array([-1.5, -1.0, 0.0, 0.5, 1.0, 2.0, 3.0, 4.0, np.nan, np.inf])]
    if event_dim == 1:
        return [np.array([[0.2, 0.3, 0.5], [0.0, 1.0, 0.0], [-0.1, 0.6, 0.5], [1.0, 1.0, 0.0],
                          [0.5, np.nan, 0.5], [2.0, 3.0, 4.0]])]
    spd = _spd(r, (3, 3))
    return [np.stack([spd, np.linalg.cholesky(spd), -spd, r.normal(size=(3, 3)), np.eye(3),
                      np.triu(np.ones((3, 3))), np.diag([1.0, 0.0, 2.0])])]


@pytest.mark.parametrize("index", range(23), ids=[repr(t) for _, t in _constraint_pairs()])
def test_constraints_check_like_torch(index):
    ours, theirs = _constraint_pairs()[index]
    assert ours.event_dim == theirs.event_dim and ours.is_discrete == theirs.is_discrete
    assert repr(ours) == repr(theirs)
    for v in _constraint_values(theirs.event_dim):
        got = ours.check(ds.tensor(v)).numpy()
        expected = theirs.check(torch.tensor(v)).numpy()
        assert got.dtype == np.bool_, repr(ours)
        np.testing.assert_array_equal(got, expected, err_msg=repr(ours))


def test_dependent_constraints():
    assert C.is_dependent(C.dependent) and not C.is_dependent(C.real)
    with pytest.raises(ValueError, match="Cannot determine validity"):
        C.dependent.check(ds.zeros(1))
    with pytest.raises(NotImplementedError):
        _ = C.dependent.event_dim
    assert C.dependent(is_discrete=True, event_dim=1).event_dim == 1
    assert C.is_dependent(D.Uniform.support) and D.Uniform.support.event_dim == 0
    assert repr(D.Uniform(0.0, 1.0).support).startswith("Interval(lower_bound=")


def test_probs_logits_utils_match_torch():
    from torch.distributions import utils as TU

    from deepseek.distributions import utils as U

    p = rng_for("utils").uniform(0.0, 1.0, size=(2, 5))
    p[0, 0], p[1, 1] = 0.0, 1.0
    for binary in (True, False):
        got = U.probs_to_logits(ds.tensor(p), is_binary=binary)
        assert_close(got, TU.probs_to_logits(torch.tensor(p), is_binary=binary), "float64",
                     f"probs_to_logits({binary})")
        assert_close(U.logits_to_probs(got, is_binary=binary),
                     TU.logits_to_probs(torch.tensor(_np(got)), is_binary=binary), "float64",
                     f"logits_to_probs({binary})")
    a, b = U.broadcast_all(ds.zeros(3, dtype=ds.float64), 1.0)
    assert a.shape == b.shape == (3,) and b.dtype == ds.float64
    with pytest.raises(ValueError, match="numbers.Number"):
        U.broadcast_all("x", ds.zeros(1))


def test_sampling_under_jit():
    """Draws made by ds ops replay fresh under ds.jit; a NumPy draw would be baked into the
    compiled graph, so tracing one raises (as does validation, which reads values)."""
    def normal_step(loc):
        return D.Normal(loc, 1.0, validate_args=False).rsample()

    compiled = ds.jit(normal_step)
    first, second = compiled(ds.zeros(3)), compiled(ds.zeros(3))
    assert first.shape == (3,) and not np.array_equal(_np(first), _np(second))

    def gamma_step(c):
        return D.Gamma(c, 1.0, validate_args=False).rsample().sum()

    with pytest.raises(Exception, match="cannot capture a gamma sample"):
        ds.jit(gamma_step)(ds.ones(3))
