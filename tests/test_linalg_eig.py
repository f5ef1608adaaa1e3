"""linalg.eig/eigvals and the LDL factorization beyond the OpInfo rows: named results, dtypes,
eigenvalue order and the decomposition itself, batching, empty inputs, errors (class and
message), the eigenvector phase gauge, pivots and solves against torch, and that the LDL ops,
as in torch, have no derivative."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

import deepseek as ds

# torch warns creating the complex32 eigenvalues of a float16 input before refusing it
pytestmark = pytest.mark.filterwarnings("ignore:ComplexHalf support is experimental")

_RNG = np.random.default_rng(11)


def _array(*shape, complex=False, rng=_RNG):
    a = rng.uniform(-2, 2, shape)
    return a + 1j * rng.uniform(-2, 2, shape) if complex else a


def _tensor(lib, a, dtype=None, grad=False):
    a = np.array(a, dtype=dtype)
    t = ds.from_numpy(a) if lib is ds else torch.from_numpy(a)
    return t.requires_grad_(grad)


def _both(fn, *arrays, dtype=None):
    return tuple(fn(lib, *(_tensor(lib, a, dtype) for a in arrays)) for lib in (ds, torch))


def _close(what, got, want, atol=1e-10, rtol=1e-8):
    got, want = got.detach().numpy(), want.detach().numpy()
    assert got.shape == want.shape, f"{what}: shape {got.shape} != torch's {want.shape}"
    assert str(got.dtype) == str(want.dtype), f"{what}: dtype {got.dtype} != torch's {want.dtype}"
    np.testing.assert_allclose(got, want, atol=atol, rtol=rtol, err_msg=what)


def _by_value(w):
    """The eigenvalues' order by (real part, imaginary part), robust to rounding."""
    w = np.asarray(w)
    return np.lexsort((w.imag, np.round(w.real, 6)), axis=-1)


# ---------------------------------------------------------------- eig: results
@pytest.mark.parametrize("dtype,complex_dtype", [("float32", "complex64"),
                                                 ("float64", "complex128"),
                                                 ("complex64", "complex64"),
                                                 ("complex128", "complex128")])
def test_eig_dtypes_and_named_results(dtype, complex_dtype):
    a = _array(2, 3, 3, complex=dtype.startswith("complex"))
    ours, theirs = _both(lambda L, x: L.linalg.eig(x), a, dtype=dtype)
    assert ours._fields == ("eigenvalues", "eigenvectors")
    for name in ours._fields:
        got, want = getattr(ours, name), getattr(theirs, name)
        assert got.dtype == getattr(ds, complex_dtype), name
        assert want.dtype == getattr(torch, complex_dtype), name
        assert tuple(got.shape) == tuple(want.shape), name
    values = ds.linalg.eigvals(_tensor(ds, a, dtype))
    assert values.dtype == ours.eigenvalues.dtype
    np.testing.assert_array_equal(values.numpy(), ours.eigenvalues.numpy())


@pytest.mark.parametrize("complex_input", [False, True])
def test_eig_decomposes_and_matches_torch(complex_input):
    a = _array(3, 5, 5, complex=complex_input)
    ours, theirs = _both(lambda L, x: L.linalg.eig(x), a)
    w, v = ours.eigenvalues.numpy(), ours.eigenvectors.numpy()
    np.testing.assert_allclose(a @ v, v * w[..., None, :], atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(v, axis=-2), 1, atol=1e-12)
    # torch's eigenvalues, in the same order up to rounding-level ties of LAPACK's geev
    tw, tv = theirs.eigenvalues.numpy(), theirs.eigenvectors.numpy()
    i, j = _by_value(w), _by_value(tw)
    np.testing.assert_allclose(np.take_along_axis(w, i, -1), np.take_along_axis(tw, j, -1),
                               atol=1e-12)
    # each eigenvector is torch's times a phase
    v, tv = np.take_along_axis(v, i[..., None, :], -1), np.take_along_axis(tv, j[..., None, :], -1)
    phase = (tv.conj() * v).sum(-2, keepdims=True)
    np.testing.assert_allclose(np.abs(phase), 1, atol=1e-10)
    np.testing.assert_allclose(v, tv * phase, atol=1e-10)


def test_eig_of_a_real_matrix_with_a_complex_pair():
    rotation = np.array([[0.0, -2.0], [2.0, 0.0]])
    ours, theirs = _both(lambda L, x: L.linalg.eig(x), rotation)
    _close("eigenvalues", ours.eigenvalues, theirs.eigenvalues)  # geev's order: +2i first
    # the vectors as torch's up to a sign: MKL's and OpenBLAS's geev do not agree on it
    _close("|eigenvectors|", ours.eigenvectors.abs(), theirs.eigenvectors.abs())
    np.testing.assert_allclose(ours.eigenvectors.numpy()[1], [2 ** -0.5] * 2)  # real, largest


def test_eig_batched_matches_one_by_one():
    a = _array(2, 3, 4, 4)
    ours = ds.linalg.eig(ds.from_numpy(a))
    for idx in np.ndindex(2, 3):
        one = ds.linalg.eig(ds.from_numpy(a[idx]))
        np.testing.assert_allclose(ours.eigenvalues.numpy()[idx], one.eigenvalues.numpy(),
                                   atol=1e-12)
        np.testing.assert_allclose(ours.eigenvectors.numpy()[idx], one.eigenvectors.numpy(),
                                   atol=1e-12)


@pytest.mark.parametrize("shape", [(0, 0), (2, 0, 0), (0, 3, 3)])
def test_eig_empty(shape):
    ours, theirs = _both(lambda L, x: (*L.linalg.eig(x), L.linalg.eigvals(x)), np.zeros(shape))
    for got, want in zip(ours, theirs):
        _close(f"eig {shape}", got, want)


def test_eig_autocast_computes_in_float32():
    a = ds.from_numpy(_array(3, 3).astype(np.float32)).bfloat16()
    with ds.autocast("cpu", dtype=ds.bfloat16):
        assert ds.linalg.eig(a).eigenvectors.dtype == ds.complex64
        assert ds.linalg.eigvals(a).dtype == ds.complex64


# ---------------------------------------------------------------- eig: gradients
def test_eig_gradients_of_invariant_losses_match_torch():
    a = _array(2, 4, 4)
    grads = []
    for lib in (ds, torch):
        x = _tensor(lib, a, grad=True)
        w, v = lib.linalg.eig(x)
        # sums over the eigenpairs of phase-free terms: whatever the order and the phases
        weighted = v @ (v.mH * (w.abs() ** 2).unsqueeze(-1))
        loss = ((w ** 3).sum().real + lib.view_as_real((v * w.unsqueeze(-2)) @ v.mH).sum()
                + (lib.view_as_real(weighted) ** 2).sum())
        loss.backward()
        grads.append(x.grad)
    _close("eig grad", *grads, atol=1e-9)


def test_eig_second_derivatives_match_torch():
    a = _array(3, 3)
    results = []
    for lib in (ds, torch):
        x = _tensor(lib, a, grad=True)
        w, v = lib.linalg.eig(x)
        loss = lib.view_as_real((v * w.unsqueeze(-2)) @ v.mH).sum() + (w * w).real.sum()
        (g,) = lib.autograd.grad(loss, x, create_graph=True)
        (gg,) = lib.autograd.grad((g * g).sum(), x)
        results.append(gg)
    _close("eig second derivative", *results, atol=1e-8, rtol=1e-6)


def test_eigvals_gradient_matches_torch_and_repeated_values_stay_finite():
    for a in (_array(4, 4), np.eye(3)):
        grads = []
        for lib in (ds, torch):
            x = _tensor(lib, a, grad=True)
            (lib.linalg.eigvals(x) ** 2).sum().real.backward()
            grads.append(x.grad)
        _close("eigvals grad", *grads, atol=1e-9)


@pytest.mark.parametrize("loss", [
    lambda w, v: v.real.sum(),
    lambda w, v: v.imag.sum(),
    lambda w, v: (v.sum() * (1 + 2j)).real + w.real.sum(),
], ids=["real", "imag", "mixed"])
@pytest.mark.parametrize("matrix", [
    np.array([[0.0, -2.0, 1.0], [2.0, 0.0, 0.5], [0.3, 0.2, 1.0]]),  # a complex pair
    _array(3, 3, complex=True),
], ids=["real", "complex"])
def test_eig_refuses_losses_that_depend_on_the_phase(loss, matrix):
    errors = []
    for lib in (torch, ds):
        with pytest.raises(RuntimeError) as info:
            loss(*lib.linalg.eig(_tensor(lib, matrix, grad=True))).backward()
        errors.append(str(info.value))
    assert errors[1].startswith("[linalg.eig] ") and errors[0] in errors[1], errors


# ---------------------------------------------------------------- errors
# name: (the op our message names, torch's message is part of ours, fn(lib))
EIG, EIGVALS, LDL, LDL_EX, SOLVE = ("linalg.eig", "linalg.eigvals", "linalg.ldl_factor",
                                    "linalg.ldl_factor_ex", "linalg.ldl_solve")
NAN = float("nan")
ERRORS = {
    "eig_square": (EIG, True, lambda L: L.linalg.eig(L.ones(2, 3))),
    "eig_1d": (EIG, True, lambda L: L.linalg.eig(L.ones(3))),
    "eig_long": (EIG, True, lambda L: L.linalg.eig(L.ones(2, 2).long())),
    "eig_bool_1d": (EIG, True, lambda L: L.linalg.eig(L.ones(3).bool())),
    "eig_half": (EIG, True, lambda L: L.linalg.eig(L.eye(2).half())),
    "eig_bfloat16_square": (EIG, True, lambda L: L.linalg.eig(L.ones(2, 3).bfloat16())),
    "eig_nan": (EIG, True, lambda L: L.linalg.eig(L.tensor([[1.0, NAN], [0.0, 1.0]]))),
    "eig_inf_batch": (EIG, True, lambda L: L.linalg.eig(
        L.stack([L.eye(2), L.tensor([[float("inf"), 0.0], [0.0, 1.0]])]))),
    "eigvals_square": (EIGVALS, True, lambda L: L.linalg.eigvals(L.ones(2, 3))),
    "eigvals_int": (EIGVALS, True, lambda L: L.linalg.eigvals(L.ones(2, 2).int())),
    # needing the eigenvectors for the gradient, torch runs linalg.eig and names it
    "eigvals_grad_square": (EIG, True, lambda L: L.linalg.eigvals(
        L.ones(2, 3, requires_grad=True))),
    "eigvals_grad_nan": (EIG, True, lambda L: L.linalg.eigvals(
        L.tensor([[1.0, NAN], [0.0, 1.0]], requires_grad=True))),
    "ldl_square": (LDL, True, lambda L: L.linalg.ldl_factor(L.ones(2, 3))),
    "ldl_1d": (LDL_EX, True, lambda L: L.linalg.ldl_factor_ex(L.ones(3))),
    "ldl_long": (LDL, True, lambda L: L.linalg.ldl_factor(L.ones(2, 2).long())),
    "ldl_long_square": (LDL, True, lambda L: L.linalg.ldl_factor(L.ones(2, 3).long())),
    "ldl_half": (LDL, True, lambda L: L.linalg.ldl_factor(L.eye(2).half())),
    "ldl_bfloat16_autocast": (LDL, True, lambda L: _autocast(
        L, lambda: L.linalg.ldl_factor(L.eye(2).bfloat16()))),
    # torch's message is an internal assert ("Unknown error code: 1"); ours says what failed
    "ldl_singular": (LDL, False, lambda L: L.linalg.ldl_factor(L.zeros(2, 2))),
    "ldl_singular_batch": (LDL, False, lambda L: L.linalg.ldl_factor(
        L.stack([L.eye(2), L.zeros(2, 2)]))),
    "ldl_ex_check_errors": (LDL_EX, False, lambda L: L.linalg.ldl_factor_ex(
        L.zeros(2, 2), check_errors=True)),
    "ldl_solve_B_dtype": (SOLVE, True, lambda L: L.linalg.ldl_solve(
        *L.linalg.ldl_factor(L.eye(3)), L.ones(3, 2).double())),
    "ldl_solve_B_1d": (SOLVE, True, lambda L: L.linalg.ldl_solve(
        *L.linalg.ldl_factor(L.eye(3)), L.ones(3))),
    "ldl_solve_B_rows": (SOLVE, True, lambda L: L.linalg.ldl_solve(
        *L.linalg.ldl_factor(L.eye(3)), L.ones(2, 2))),
    "ldl_solve_pivots_shape": (SOLVE, True, lambda L: L.linalg.ldl_solve(
        L.eye(3), L.ones(2, dtype=L.int32), L.ones(3, 2))),
    "ldl_solve_pivots_float": (SOLVE, True, lambda L: L.linalg.ldl_solve(
        L.eye(3), L.ones(3), L.ones(3, 2))),
    "ldl_solve_pivots_bool": (SOLVE, True, lambda L: L.linalg.ldl_solve(
        L.eye(3), L.ones(3, dtype=L.bool), L.ones(3, 2))),
    "ldl_solve_LD_square": (SOLVE, True, lambda L: L.linalg.ldl_solve(
        L.ones(2, 3), L.ones(2, dtype=L.int32), L.ones(3, 2))),
    "ldl_solve_LD_1d": (SOLVE, True, lambda L: L.linalg.ldl_solve(
        L.ones(3), L.ones(3, dtype=L.int32), L.ones(3, 2))),
    "ldl_solve_LD_long": (SOLVE, True, lambda L: L.linalg.ldl_solve(
        L.ones(3, 3).long(), L.ones(3, dtype=L.int32), L.ones(3, 2).long())),
    "ldl_solve_half": (SOLVE, True, lambda L: L.linalg.ldl_solve(
        L.eye(3).half(), L.ones(3, dtype=L.int32), L.ones(3, 2).half())),
}


def _autocast(lib, fn):
    with lib.autocast("cpu", dtype=lib.bfloat16):
        return fn()


@pytest.mark.parametrize("name", list(ERRORS))
def test_errors_match_torch(name):
    op, same_text, fn = ERRORS[name]
    with pytest.raises(Exception) as want:
        fn(torch)
    with pytest.raises(Exception) as got:
        fn(ds)
    want, got = want.value, got.value
    assert type(got) is type(want), (f"{name}: deepseek raised {type(got).__name__}: {got}; "
                                     f"torch {type(want).__name__}: {want}")
    text = str(got)
    assert text.startswith(f"[{op}] "), f"{name}: the message does not name {op}: {text}"
    assert re.search(r"; got (\w+\[[\d, ]*\](, )?)+$", text), f"{name}: no shapes, dtypes: {text}"
    if same_text:
        assert str(want).split("\n")[0] in text, f"{name}: {text!r} lacks torch's text"


def test_eigvals_refuses_non_finite_input():
    """torch's eigvals runs LAPACK on them (garbage, or a crash); ours raises as eig does."""
    with pytest.raises(RuntimeError, match=r"^\[linalg.eigvals\] torch.linalg.eigvals: input "
                       r"tensor should not contain infs or NaNs.; got float32\[2, 2\]$"):
        ds.linalg.eigvals(ds.tensor([[1.0, NAN], [0.0, 1.0]]))


# ---------------------------------------------------------------- ldl
def _symmetric_cases():
    """Random matrices of every kind ldl takes, many of them needing 2x2 pivots or singular."""
    cases, rng = [], np.random.default_rng(5)  # fixed: whichever tests run before
    for trial in range(240):
        n = 1 + trial % 7
        dtype = ("float32", "float64", "complex64", "complex128")[trial % 4]
        a = _array(n, n, complex=dtype.startswith("complex"), rng=rng)
        if trial % 3 == 0:
            a = a * (rng.random((n, n)) < 0.6)  # zero entries, some zero columns
        if trial % 5 < 3:
            a[np.diag_indices(n)] *= 0.05
        cases.append((a.astype(dtype), dtype.startswith("complex") and trial % 8 < 4))
    return cases


def test_ldl_factor_matches_torch():
    """Pivots equal to torch's (LAPACK's sytrf/hetrf: 1-based, negative for the rows of a 2x2
    block), LD and info too; only the lower triangle of A is read."""
    two_by_two = 0
    for a, herm in _symmetric_cases():
        ours, theirs = _both(lambda L, x, h=herm: L.linalg.ldl_factor_ex(x, hermitian=h), a)
        assert ours._fields == ("LD", "pivots", "info") and ours.pivots.dtype == ds.int32
        np.testing.assert_array_equal(ours.pivots.numpy(), theirs.pivots.numpy(),
                                      err_msg=f"pivots of {a!r} (hermitian={herm})")
        np.testing.assert_array_equal(ours.info.numpy(), theirs.info.numpy())
        tol = 1e-4 if a.dtype in (np.float32, np.complex64) else 1e-10
        _close(f"LD of {a!r}", ours.LD, theirs.LD, atol=tol, rtol=tol)
        two_by_two += bool((ours.pivots.numpy() < 0).any())
    assert two_by_two > 40, two_by_two


@pytest.mark.parametrize("hermitian", [False, True])
def test_ldl_hermitian_complex(hermitian):
    z = _array(2, 4, 4, complex=True)
    a = (z + np.swapaxes(z.conj() if hermitian else z, -1, -2)) * (1 - 0.95 * np.eye(4))
    b = _array(2, 4, 3, complex=True)
    ours, theirs = _both(lambda L, x, y: (lambda f: (f, L.linalg.ldl_solve(
        f.LD, f.pivots, y, hermitian=hermitian)))(L.linalg.ldl_factor(x, hermitian=hermitian)),
        a, b)
    np.testing.assert_array_equal(ours[0].pivots.numpy(), theirs[0].pivots.numpy())
    _close("LD", ours[0].LD, theirs[0].LD)
    _close("ldl_solve", ours[1], theirs[1])
    np.testing.assert_allclose(a @ ours[1].numpy(), b, atol=1e-10)
    if hermitian:  # D's diagonal is real
        assert not np.diagonal(ours[0].LD.numpy(), 0, -2, -1).imag.any()


def test_ldl_batched_matches_one_by_one():
    a = _array(2, 3, 5, 5)
    ours = ds.linalg.ldl_factor(ds.from_numpy(a))
    for idx in np.ndindex(2, 3):
        one = ds.linalg.ldl_factor(ds.from_numpy(a[idx]))
        np.testing.assert_array_equal(ours.pivots.numpy()[idx], one.pivots.numpy())
        np.testing.assert_array_equal(ours.LD.numpy()[idx], one.LD.numpy())


@pytest.mark.parametrize("a_shape,b_shape", [((4, 4), (4, 3)), ((2, 4, 4), (4, 1)),
                                             ((4, 4), (2, 3, 4, 2)), ((2, 1, 4, 4), (3, 4, 2))])
def test_ldl_solve_solves_and_broadcasts(a_shape, b_shape):
    a = _array(*a_shape)
    a = a + np.swapaxes(a, -1, -2)
    b = _array(*b_shape)
    x = ds.linalg.ldl_solve(*ds.linalg.ldl_factor(ds.from_numpy(a)), ds.from_numpy(b))
    np.testing.assert_allclose(x.numpy(), np.linalg.solve(a, b), atol=1e-10)
    if a_shape[:-2] in ((), np.broadcast_shapes(a_shape[:-2], b_shape[:-2])):
        # the cases torch computes (it crashes when LD's batch dims must grow)
        theirs = torch.linalg.ldl_solve(*torch.linalg.ldl_factor(torch.from_numpy(a)),
                                        torch.from_numpy(b))
        _close("ldl_solve", x, theirs)


def test_ldl_solve_takes_any_integer_pivots():
    a = _array(4, 4)
    ld, pivots = ds.linalg.ldl_factor(ds.from_numpy(a + a.T))
    b = ds.from_numpy(_array(4, 2))
    want = ds.linalg.ldl_solve(ld, pivots, b).numpy()
    for dtype in (ds.int64, ds.int16, ds.int8):
        np.testing.assert_array_equal(ds.linalg.ldl_solve(ld, pivots.to(dtype), b).numpy(), want)


@pytest.mark.parametrize("shape", [(0, 0), (0, 3, 3), (2, 0, 0)])
def test_ldl_empty(shape):
    ours, theirs = _both(lambda L, x: (lambda f: (*f, L.linalg.ldl_solve(
        f.LD, f.pivots, x[..., :1] if x.shape[-1] else x)))(L.linalg.ldl_factor_ex(x)),
        np.zeros(shape))
    for k, (got, want) in enumerate(zip(ours, theirs)):
        _close(f"ldl {shape} output {k}", got, want)


def test_ldl_is_not_differentiable():
    """As in torch: the results require grad, and backward raises (pivots and info do not)."""
    a, b = _array(3, 3), _array(3, 2)
    for lib, ldl_name in ((torch, "aten::linalg_ldl_factor_ex"),
                          (ds, "[linalg.ldl_factor] derivative for aten::linalg_ldl_factor_ex")):
        x = _tensor(lib, a + a.T, grad=True)
        ld, pivots, info = lib.linalg.ldl_factor_ex(x)
        assert ld.requires_grad and not pivots.requires_grad and not info.requires_grad
        with pytest.raises(RuntimeError, match=re.escape(ldl_name) + " is not implemented"):
            ld.sum().backward()
        y = _tensor(lib, b, grad=True)
        out = lib.linalg.ldl_solve(ld.detach(), pivots, y)
        assert out.requires_grad
        with pytest.raises(RuntimeError, match="aten::linalg_ldl_solve is not implemented"):
            out.sum().backward()
