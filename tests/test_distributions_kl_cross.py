"""deepseek.distributions.kl_divergence against torch.distributions for every pair in torch's
KL registry (same-family and cross-family, infinite where the supports differ): values,
gradients w.r.t. both sides' parameters, and that our registry covers torch's."""

from __future__ import annotations

import warnings
from typing import Any, Callable

import numpy as np
import pytest
import torch
import torch.distributions as TD
import torch.distributions.kl as TK

import deepseek as ds
import deepseek.distributions as D
import deepseek.distributions.kl as DK

from distribution_cases import DTYPES, OURS, TOL, TORCH, rng_for, to_numpy as _np



def _pos(r: np.random.Generator, shape: tuple, lo: float = 0.5, hi: float = 3.0) -> np.ndarray:
    return r.uniform(lo, hi, size=shape)


def _spd(r: np.random.Generator, shape: tuple) -> np.ndarray:
    a = r.normal(size=shape)
    return a @ np.swapaxes(a, -1, -2) + shape[-1] * np.eye(shape[-1])


def _both(a: tuple, b: tuple) -> tuple:
    return tuple(np.broadcast_shapes(a, b))


def _straddle(r: np.random.Generator, values: list, shape: tuple) -> np.ndarray:
    """The rows of ``values`` (jittered) in a random order filling ``shape`` (batch dims, then
    a row's dims): each side of a threshold shows up however small the batch."""
    values = np.asarray(values, dtype=float)
    batch = shape[:len(shape) - (values.ndim - 1)]
    rows = values[r.permutation(np.resize(np.arange(len(values)), int(np.prod(batch))))]
    return (rows + r.uniform(-0.02, 0.02, rows.shape)).reshape(shape)


def _uniform(r, a, b, role):
    # p straddles 0 and 1 (so the support checks of Uniform-Beta, -Exponential, ... see both
    # outcomes); q is wider and covers p (and [0, 1]) only sometimes
    if role == "p":
        low = _straddle(r, [-0.2, 0.05, 0.3, 0.15, -0.1, 0.4], _both(a, b))
        return {"low": low, "high": low + _pos(r, b, 0.1, 0.9)}
    # (low, width): covering [0, 1], missing below it, above it, ...
    bounds = _straddle(r, [[-0.5, 1.7], [0.1, 1.2], [-0.3, 0.9], [-0.05, 1.2], [0.2, 0.6],
                           [-0.4, 1.6]], _both(a, b) + (2,))
    return {"low": bounds[..., 0], "high": bounds[..., 0] + bounds[..., 1]}


def _pareto(r, a, b, role):
    if role == "p":  # alpha on both sides of 1 and 2, where the moments stop existing
        alpha = _straddle(r, [0.6, 1.3, 2.4, 0.85, 1.7, 3.5], _both(a, b))
        return {"scale": _straddle(r, [0.1, 1.5], a), "alpha": alpha}
    return {"scale": _pos(r, a, 0.2, 0.4), "alpha": _pos(r, b, 0.5, 3.0)}


def _binary(r, a, b, role):
    if role == "p":
        return {"probs": r.uniform(0.05, 0.95, _both(a, b))}
    return {"logits": r.normal(size=_both(a, b))}


def _location_scale(r, a, b, role):
    return {"loc": r.normal(size=a), "scale": _pos(r, b, 0.5, 2.0)}


def _event(r, a, b, role, k=4):
    if role == "p":
        return {"probs": _pos(r, _both(a, b) + (k,))}
    return {"logits": r.normal(size=_both(a, b) + (k,))}


# name -> (params(rng, shape_a, shape_b, role) -> arrays, build(M, arrays) -> distribution);
# the two shapes broadcast to the batch shape. Abstract types stand in as a concrete member.
FAMILIES: dict[str, tuple[Callable, Callable]] = {
    "Normal": (_location_scale, lambda M, a: M.Normal(a["loc"], a["scale"])),
    "Laplace": (_location_scale, lambda M, a: M.Laplace(a["loc"], a["scale"])),
    "Cauchy": (_location_scale, lambda M, a: M.Cauchy(a["loc"], a["scale"])),
    "Gumbel": (_location_scale, lambda M, a: M.Gumbel(a["loc"], a["scale"])),
    "HalfNormal": (lambda r, a, b, role: {"scale": _pos(r, _both(a, b))},
                   lambda M, a: M.HalfNormal(a["scale"])),
    "TransformedDistribution": (_location_scale, lambda M, a: M.LogNormal(a["loc"], a["scale"])),
    "Uniform": (_uniform, lambda M, a: M.Uniform(a["low"], a["high"])),
    "Exponential": (lambda r, a, b, role: {"rate": _pos(r, _both(a, b))},
                    lambda M, a: M.Exponential(a["rate"])),
    "Gamma": (lambda r, a, b, role: {"concentration": _pos(r, a), "rate": _pos(r, b)},
              lambda M, a: M.Gamma(a["concentration"], a["rate"])),
    "Beta": (lambda r, a, b, role: {"concentration1": _pos(r, a), "concentration0": _pos(r, b)},
             lambda M, a: M.Beta(a["concentration1"], a["concentration0"])),
    "Pareto": (_pareto, lambda M, a: M.Pareto(a["scale"], a["alpha"])),
    "Poisson": (lambda r, a, b, role: {"rate": _pos(r, _both(a, b))},
                lambda M, a: M.Poisson(a["rate"])),
    "Geometric": (lambda r, a, b, role: {"probs": r.uniform(0.1, 0.9, _both(a, b))},
                  lambda M, a: M.Geometric(a["probs"])),
    "Bernoulli": (_binary, lambda M, a: M.Bernoulli(**a)),
    "Binomial": (_binary, lambda M, a: M.Binomial(5, **a)),
    "ContinuousBernoulli": (_binary, lambda M, a: M.ContinuousBernoulli(**a)),
    "Categorical": (_event, lambda M, a: M.Categorical(**a)),
    "OneHotCategorical": (_event, lambda M, a: M.OneHotCategorical(**a)),
    "Dirichlet": (lambda r, a, b, role: {"concentration": _pos(r, _both(a, b) + (4,))},
                  lambda M, a: M.Dirichlet(a["concentration"])),
    "MultivariateNormal": (
        lambda r, a, b, role: {"loc": r.normal(size=a + (3,)),
                               "scale_tril": np.linalg.cholesky(_spd(r, b + (3, 3)))},
        lambda M, a: M.MultivariateNormal(a["loc"], scale_tril=a["scale_tril"])),
    "LowRankMultivariateNormal": (
        lambda r, a, b, role: {"loc": r.normal(size=a + (3,)),
                               "cov_factor": r.normal(size=b + (3, 2)),
                               "cov_diag": _pos(r, b + (3,))},
        lambda M, a: M.LowRankMultivariateNormal(a["loc"], a["cov_factor"], a["cov_diag"])),
    "Independent": (
        lambda r, a, b, role: {"loc": r.normal(size=a + (2,)), "scale": _pos(r, b + (2,))},
        lambda M, a: M.Independent(M.Normal(a["loc"], a["scale"]), 1)),
    # unbatched: for a batch, torch's Bregman form sums Wishart's df term over the batch
    # (see test_distributions_expfamily.py), ours keeps one value per batch element
    "ExponentialFamily": (
        lambda r, a, b, role: {"df": np.array(r.uniform(4.0, 6.0)), "covariance": _spd(r, (3, 3))},
        lambda M, a: M.Wishart(a["df"], covariance_matrix=a["covariance"])),
}

# p's batch is (2, 3) from parameters of shapes (2, 1) and (3,); q's is (3,), broadcast against
# p's, except where torch masks with q's parameters alone (``result[mask] = inf``, which wants
# the mask in the result's shape)
P_SHAPES = ((2, 1), (3,))
Q_SHAPES = ((3,), (1,))
Q_FULL = {("Bernoulli", "Bernoulli"), ("Beta", "Uniform"), ("ContinuousBernoulli", "Uniform")}

# infinite for some parameters only: the sample must show both outcomes
MIXED = {("Beta", "Uniform"), ("ContinuousBernoulli", "Uniform"), ("Pareto", "Exponential"),
         ("Pareto", "Gamma"), ("Pareto", "Normal"), ("Pareto", "Pareto"), ("Uniform", "Beta"),
         ("Uniform", "ContinuousBernoulli"), ("Uniform", "Exponential"), ("Uniform", "Gamma"),
         ("Uniform", "Pareto"), ("Uniform", "Uniform")}

TORCH_PAIRS = sorted((p.__name__, q.__name__) for p, q in TK._KL_REGISTRY)


def _sample(pair: tuple) -> dict:
    r = rng_for("kl-cross", pair)
    p_name, q_name = pair
    q_shapes = P_SHAPES if pair in Q_FULL else Q_SHAPES
    p_arrays = FAMILIES[p_name][0](r, *P_SHAPES, "p")
    q_arrays = FAMILIES[q_name][0](r, *q_shapes, "q")
    return {**{("p", k): v for k, v in p_arrays.items()},
            **{("q", k): v for k, v in q_arrays.items()}}


def _build(M: Any, pair: tuple, leaves: dict) -> tuple:
    sides = {side: {k: v for (s, k), v in leaves.items() if s == side} for side in ("p", "q")}
    return FAMILIES[pair[0]][1](M, sides["p"]), FAMILIES[pair[1]][1](M, sides["q"])


def test_registry_covers_every_torch_pair():
    ours = {(p.__name__, q.__name__) for p, q in DK._KL_REGISTRY}
    missing = sorted(set(TORCH_PAIRS) - ours)
    assert not missing, f"kl_divergence: torch registers {missing}, deepseek does not"


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("pair", TORCH_PAIRS, ids=[f"{p}-{q}" for p, q in TORCH_PAIRS])
def test_kl_divergence_matches_torch(pair, dtype):
    assert pair[0] in FAMILIES and pair[1] in FAMILIES, (
        f"torch registers KL{pair}: add a sample for it to FAMILIES")
    arrays = _sample(pair)
    ours_a = {k: ds.tensor(v, dtype=OURS[dtype], requires_grad=True) for k, v in arrays.items()}
    theirs_a = {k: torch.tensor(v, dtype=TORCH[dtype], requires_grad=True)
                for k, v in arrays.items()}
    what = f"KL{pair}"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = D.kl_divergence(*_build(D, pair, ours_a))
    ambiguous = [str(w.message) for w in caught if "Ambiguous" in str(w.message)]
    assert not ambiguous, f"{what}: {ambiguous}"
    expected = TD.kl_divergence(*_build(TD, pair, theirs_a))
    a, b = _np(got), _np(expected)
    assert a.shape == b.shape, f"{what}: shape {a.shape}, torch {b.shape}"
    assert a.dtype == b.dtype, f"{what}: dtype {a.dtype}, torch {b.dtype}"
    np.testing.assert_allclose(a, b, err_msg=f"{what} ({dtype}, {TOL[dtype]})", **TOL[dtype])
    if pair in MIXED:
        assert np.isinf(b).any() and np.isfinite(b).any(), f"{what}: sample not mixed: {b}"
    assert got.requires_grad == expected.requires_grad, f"{what}: requires_grad"
    if not expected.requires_grad:  # infinite throughout, a constant in torch as here
        assert np.isinf(b).all(), f"{what}: constant but finite"
        return
    # gradients of the finite entries only: torch's at an infinite one can be NaN (x log x of a
    # negative bound, masked afterwards), so its reference takes the finite entries alone (the
    # MIXED pairs have batch-shaped parameters only), and ours must be zero at the others
    finite = np.isfinite(b)
    w = rng_for("kl-cross", pair, "w").uniform(0.5, 1.5, size=b.shape)
    finite_got = ds.where(ds.tensor(finite), got, 0.0)
    (finite_got * ds.tensor(w, dtype=OURS[dtype])).sum().backward()
    if finite.all():
        reference, w_reference = expected, w
    else:
        mask = torch.tensor(finite)
        reference = TD.kl_divergence(*_build(TD, pair, {
            k: t.expand(b.shape)[mask] for k, t in theirs_a.items()}))
        w_reference = w[finite]
    grads = torch.autograd.grad((reference * torch.tensor(w_reference, dtype=TORCH[dtype])).sum(),
                                list(theirs_a.values()), allow_unused=True)
    tol = {k: 10 * v for k, v in TOL[dtype].items()}
    for (key, ours_t), g in zip(ours_a.items(), grads):
        theirs = np.zeros(arrays[key].shape, b.dtype) if g is None else _np(g)
        ours = np.zeros(arrays[key].shape, a.dtype) if ours_t.grad is None else _np(ours_t.grad)
        assert ours.shape == theirs.shape, f"{what}: d/d{key} shape {ours.shape}, {theirs.shape}"
        np.testing.assert_allclose(ours, theirs, **tol,
                                   err_msg=f"{what}: d/d{key} ({dtype}, {tol})")


def _midpoints(n: int = 200_000) -> np.ndarray:
    return (np.arange(n) + 0.5) / n


def test_unit_uniform_against_continuous_bernoulli_is_finite():
    """Deliberately unlike torch, which is infinite when Uniform(0, 1) meets a
    ContinuousBernoulli (on [0, 1]) either way round: there the supports match."""
    probs = ds.tensor([0.2, 0.5, 0.9], dtype=ds.float64)
    q = D.ContinuousBernoulli(probs)
    unit = D.Uniform(ds.zeros(3, dtype=ds.float64), ds.ones(3, dtype=ds.float64))
    x = ds.tensor(_midpoints()[:, None], dtype=ds.float64)
    # KL(U(0, 1) || q) = -E_U[log q(x)], by the midpoint rule
    expected = -_np(q.log_prob(x)).mean(0)
    np.testing.assert_allclose(_np(D.kl_divergence(unit, q)), expected, rtol=1e-8,
                               err_msg="KL(Uniform(0, 1) || ContinuousBernoulli)")
    np.testing.assert_allclose(_np(D.kl_divergence(q, unit)), -_np(q.entropy()), rtol=1e-12,
                               err_msg="KL(ContinuousBernoulli || Uniform(0, 1))")
    assert torch.isinf(TD.kl_divergence(TD.Uniform(0.0, 1.0), TD.ContinuousBernoulli(0.2)))
