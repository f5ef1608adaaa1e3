"""grid_sample and affine_grid against torch: every mode, padding and corner alignment, 2-d
and 3-d, points inside and far outside the input; values, the gradients of input, grid and
theta, and float64 finite differences."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

import deepseek as ds
import deepseek.nn.functional as F

R = np.random.default_rng(0)


def _both(fn, *arrays):
    out = []
    for lib in (ds, torch):
        ins = [lib.tensor(a, requires_grad=True) for a in arrays]
        out.append((fn(lib, *ins), ins))
    return out


def _compare(fn, *arrays, tol=1e-10):
    (a, ins_a), (b, ins_b) = _both(fn, *arrays)
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=tol, atol=tol)
    w = R.standard_normal(tuple(b.shape))
    (a * ds.tensor(w)).sum().backward()
    (b * torch.tensor(w)).sum().backward()
    for i, (x, y) in enumerate(zip(ins_a, ins_b)):
        # (nearest sampling does not reach the grid: None here, zeros in torch)
        got = x.grad.numpy() if x.grad is not None else np.zeros(x.shape)
        np.testing.assert_allclose(got, y.grad.numpy(), rtol=1e-8, atol=1e-8,
                                   err_msg=f"gradient of input {i}")


def _grid(*shape):
    """Points mostly inside [-1, 1], some far outside (reflected several times)."""
    g = R.uniform(-1.3, 1.3, shape)
    g.flat[::7] *= 3.1
    return g


@pytest.mark.parametrize("mode,padding,align", list(itertools.product(
    ["bilinear", "nearest", "bicubic"], ["zeros", "border", "reflection"], [False, True])))
def test_grid_sample_2d_matches_torch(mode, padding, align):
    x, g = R.standard_normal((2, 3, 5, 6)), _grid(2, 4, 7, 2)
    _compare(lambda lib, a, b: lib.nn.functional.grid_sample(a, b, mode=mode,
                                                             padding_mode=padding,
                                                             align_corners=align), x, g)


@pytest.mark.parametrize("mode,padding,align", list(itertools.product(
    ["bilinear", "nearest"], ["zeros", "border", "reflection"], [False, True])))
def test_grid_sample_3d_matches_torch(mode, padding, align):
    x, g = R.standard_normal((2, 2, 3, 4, 5)), _grid(2, 2, 3, 4, 3)
    _compare(lambda lib, a, b: lib.nn.functional.grid_sample(a, b, mode=mode,
                                                             padding_mode=padding,
                                                             align_corners=align), x, g)


@pytest.mark.parametrize("align", [False, True])
@pytest.mark.parametrize("size", [(2, 3, 4, 5), (2, 1, 3, 1, 4)], ids=["2d", "3d"])
def test_affine_grid_matches_torch(size, align):
    d = len(size) - 2
    theta = R.standard_normal((2, d, d + 1))
    _compare(lambda lib, t: lib.nn.functional.affine_grid(t, size, align_corners=align), theta)


def test_spatial_transformer_round_trip_and_finite_differences():
    """affine_grid into grid_sample (a spatial transformer): the identity map reproduces the
    input, and the float64 gradients of input and theta agree with finite differences."""
    x = ds.tensor(R.standard_normal((1, 2, 4, 5)), requires_grad=True)
    identity = ds.tensor([[[1.0, 0, 0], [0, 1.0, 0]]], dtype=ds.float64)
    grid = F.affine_grid(identity, (1, 2, 4, 5), align_corners=False)
    np.testing.assert_allclose(F.grid_sample(x, grid, align_corners=False).detach().numpy(),
                               x.detach().numpy(), atol=1e-12)
    # (points away from pixel centers and edges, where the interpolation has kinks)
    theta = ds.tensor([[[0.7, 0.1, 0.05], [0.05, 0.6, -0.1]]], dtype=ds.float64,
                      requires_grad=True)
    for padding in ("zeros", "reflection"):
        assert ds.autograd.gradcheck(lambda a, t, padding=padding: F.grid_sample(
            a, F.affine_grid(t, (1, 2, 3, 3), align_corners=True), padding_mode=padding,
            align_corners=True), (x, theta))


@pytest.mark.parametrize("call,exc,message", [
    (lambda lib, x, g: lib.nn.functional.grid_sample(x, g, mode="area", align_corners=False),
     ValueError, "expected mode to be 'bilinear', 'nearest' or 'bicubic'"),
    (lambda lib, x, g: lib.nn.functional.grid_sample(x, g, padding_mode="wrap",
                                                     align_corners=False), ValueError,
     "expected padding_mode to be 'zeros', 'border', or 'reflection'"),
    (lambda lib, x, g: lib.nn.functional.affine_grid(g[0, :2, :3], (1, 1, 2, 2), False),
     ValueError,
     "Expected a batch of 2D affine matrices of shape Nx2x3"),
    (lambda lib, x, g: lib.nn.functional.affine_grid(g, (1, 1, 2), False),
     NotImplementedError,
     "affine_grid only supports 4D and 5D sizes"),
])
def test_errors_match_torch(call, exc, message):
    x, g = R.standard_normal((1, 1, 3, 3)), _grid(1, 2, 2, 2)
    for lib in (ds, torch):
        with pytest.raises(exc, match=message):
            call(lib, lib.tensor(x), lib.tensor(g))


def test_default_align_corners_warns_as_torch():
    with pytest.warns(UserWarning, match="align_corners=False since 1.3.0"):
        F.grid_sample(ds.zeros(1, 1, 2, 2), ds.zeros(1, 1, 1, 2))
