"""Decompositions and solvers beyond the OpInfo rows: named results, modes, the top-level and
Tensor-method forms, errors (class and message), failure reports (info), empty and batched
inputs, degenerate and second derivatives, autocast and ds.jit."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import deepseek as ds
from deepseek.ops import REGISTRY

# torch warns that its older top-level forms are deprecated
pytestmark = pytest.mark.filterwarnings("ignore:.*(deprecated|replaced):UserWarning")

_RNG = np.random.default_rng(7)
_SINGULAR = [[1.0, 2.0], [2.0, 4.0]]
_NOT_PD = [[1.0, 2.0], [2.0, 1.0]]


def _array(*shape):
    return _RNG.standard_normal(shape)


def _spd(*shape):
    a = _array(*shape)
    return a @ np.swapaxes(a, -1, -2) + np.eye(shape[-1])


def _lib_tensor(lib, a, grad=False):
    t = (ds.from_numpy if lib is ds else torch.from_numpy)(np.array(a, dtype=np.float64))
    return t.requires_grad_(grad)


def _close(what, got, want, atol=1e-10, rtol=1e-8):
    got, want = np.asarray(got.detach().numpy()), want.detach().numpy()
    assert got.shape == want.shape, f"{what}: shape {got.shape} != torch's {want.shape}"
    assert str(got.dtype) == str(want.dtype), f"{what}: dtype {got.dtype} != torch's {want.dtype}"
    np.testing.assert_allclose(got, want, atol=atol, rtol=rtol, equal_nan=True, err_msg=what)


def _both(fn, *arrays):
    return fn(ds, *(_lib_tensor(ds, a) for a in arrays)), fn(torch, *(_lib_tensor(torch, a)
                                                                        for a in arrays))


def _flat(x):
    return [y for o in x for y in _flat(o)] if isinstance(x, (tuple, list)) else [x]


def _compare(what, fn, *arrays):
    ours, theirs = (_flat(out) for out in _both(fn, *arrays))
    assert len(ours) == len(theirs), f"{what}: {len(ours)} outputs, torch {len(theirs)}"
    for k, (a, b) in enumerate(zip(ours, theirs)):
        _close(f"{what} output {k}", a, b)


# ---------------------------------------------------------------- named results
FIELDS = {
    "cholesky_ex": (lambda L, a: L.linalg.cholesky_ex(a), ("L", "info")),
    "qr": (lambda L, a: L.linalg.qr(a), ("Q", "R")),
    "qr_legacy": (lambda L, a: L.qr(a), ("Q", "R")),
    "eigh": (lambda L, a: L.linalg.eigh(a), ("eigenvalues", "eigenvectors")),
    "svd": (lambda L, a: L.linalg.svd(a), ("U", "S", "Vh")),
    "svd_legacy": (lambda L, a: L.svd(a), ("U", "S", "V")),
    "slogdet": (lambda L, a: L.linalg.slogdet(a), ("sign", "logabsdet")),
    "slogdet_legacy": (lambda L, a: L.slogdet(a), ("sign", "logabsdet")),
    "lstsq": (lambda L, a: L.linalg.lstsq(a, a),
              ("solution", "residuals", "rank", "singular_values")),
    "lu_factor": (lambda L, a: L.linalg.lu_factor(a), ("LU", "pivots")),
    "lu_factor_ex": (lambda L, a: L.linalg.lu_factor_ex(a), ("LU", "pivots", "info")),
    "lu": (lambda L, a: L.linalg.lu(a), ("P", "L", "U")),
    "lu_unpack": (lambda L, a: L.lu_unpack(*L.linalg.lu_factor(a)), ("P", "L", "U")),
    "lu_legacy_infos": (lambda L, a: L.lu(a, get_infos=True), ("LU", "pivots", "info")),
    "inv_ex": (lambda L, a: L.linalg.inv_ex(a), ("inverse", "info")),
    "solve_ex": (lambda L, a: L.linalg.solve_ex(a, a), ("result", "info")),
    "triangular_solve": (lambda L, a: L.triangular_solve(a, a), ("solution",
                                                                 "cloned_coefficient")),
    "geqrf": (lambda L, a: L.geqrf(a), ("a", "tau")),
}


@pytest.mark.parametrize("name", list(FIELDS))
def test_named_results(name):
    fn, fields = FIELDS[name]
    ours, theirs = _both(fn, _spd(3, 3))
    assert ours._fields == fields, f"{name}: fields {ours._fields}"
    for f in fields:
        _close(f"{name}.{f}", getattr(ours, f), getattr(theirs, f))


def test_legacy_lu_is_a_plain_pair():
    ours = ds.lu(ds.eye(2))
    assert type(ours) is tuple and len(ours) == 2 and ours[1].dtype == ds.int32


# ---------------------------------------------------------------- modes and options
@pytest.mark.parametrize("shape", [(4, 3), (3, 4), (2, 3, 3)])
@pytest.mark.parametrize("mode", ["reduced", "complete", "r"])
def test_qr_modes(shape, mode):
    _compare(f"qr {mode}", lambda L, a: L.linalg.qr(a, mode=mode), _array(*shape))


@pytest.mark.parametrize("shape", [(4, 3), (3, 4), (2, 3, 3)])
@pytest.mark.parametrize("full_matrices", [True, False])
def test_svd_shapes_and_reconstruction(shape, full_matrices):
    a = _array(*shape)
    ours, theirs = _both(lambda L, x: L.linalg.svd(x, full_matrices=full_matrices), a)
    for f in ("U", "S", "Vh"):
        assert tuple(getattr(ours, f).shape) == tuple(getattr(theirs, f).shape), f
    _close("S", ours.S, theirs.S)
    k = ours.S.shape[-1]
    u, vh = ours.U.numpy()[..., :k], ours.Vh.numpy()[..., :k, :]
    np.testing.assert_allclose((u * ours.S.numpy()[..., None, :]) @ vh, a, atol=1e-12)
    for q in (ours.U.numpy(), np.swapaxes(ours.Vh.numpy(), -1, -2)):  # orthonormal columns
        gram = np.swapaxes(q, -1, -2) @ q
        np.testing.assert_allclose(gram, np.broadcast_to(np.eye(q.shape[-1]), gram.shape),
                                   atol=1e-12)


@pytest.mark.parametrize("uplo", ["L", "U", "l"])
def test_eigh_reads_one_triangle(uplo):
    a = _array(2, 4, 4)  # not symmetric: the other triangle must be ignored
    _compare("eigvalsh", lambda L, x: L.linalg.eigvalsh(x, UPLO=uplo), a)
    ours, theirs = _both(lambda L, x: L.linalg.eigh(x, UPLO=uplo), a)
    _close("eigenvalues", ours.eigenvalues, theirs.eigenvalues)
    _close("|eigenvectors|", ours.eigenvectors.abs(), theirs.eigenvectors.abs())


@pytest.mark.parametrize("upper", [False, True])
def test_cholesky_reads_one_triangle(upper):
    a = _spd(2, 3, 3) + np.triu(_array(3, 3), 1) * (not upper) + np.tril(_array(3, 3), -1) * upper
    _compare("cholesky", lambda L, x: L.linalg.cholesky(x, upper=upper), a)
    _compare("cholesky legacy", lambda L, x: (L.cholesky(x, upper), x.cholesky(upper=upper)), a)


def test_solve_triangular_casts_B_to_A_dtype():
    a = ds.tensor([[2.0, 1.0], [0.0, 4.0]])
    assert ds.linalg.solve_triangular(a, ds.ones(2, 1, dtype=ds.float64), upper=True).dtype \
        == ds.float32
    assert ds.linalg.solve_triangular(a.double(), ds.ones(2, 1, dtype=ds.int64),
                                      upper=True).dtype == ds.float64


def test_tolerances_and_hermitian():
    a = np.diag([1.0, -0.1, 0.01])
    _compare("matrix_rank", lambda L, x: (
        L.linalg.matrix_rank(x, 0.05), L.linalg.matrix_rank(x, atol=0.05, rtol=0.5),
        L.linalg.matrix_rank(x, hermitian=True), L.linalg.matrix_rank(x, rtol=0.09),
        L.linalg.matrix_rank(x, atol=L.tensor([0.5, 0.001], dtype=x.dtype))), a)
    batch = np.broadcast_to(np.diag([1.0, 0.2]), (3, 2, 2))
    _compare("pinv", lambda L, x: (
        L.linalg.pinv(x, atol=L.tensor([0.5, 1.5, 0.1], dtype=x.dtype)),
        L.linalg.pinv(x, atol=1.0), L.linalg.pinv(x, rtol=0.3, hermitian=True),
        L.pinverse(x, 0.5)), batch)


@pytest.mark.parametrize("driver", [None, "gelsy", "gelsd", "gelss", "gels"])
def test_lstsq_drivers(driver):
    a, b = _array(2, 5, 3), _array(2, 5, 2)
    _compare(f"lstsq {driver}", lambda L, x, y: L.linalg.lstsq(x, y, driver=driver), a, b)
    _compare(f"lstsq {driver} vector", lambda L, x, y: L.linalg.lstsq(x, y[..., 0],
                                                                      driver=driver), a, b)
    if driver != "gels":  # which assumes full rank
        deficient = np.concatenate([a[..., :2], a[..., :1]], -1)  # rank 2: no residuals
        # an rcond well above rounding: the default (eps * 5) sits at the size of the third
        # singular value's rounding error, where LAPACK's rank decision is not reproducible
        _compare(f"lstsq {driver} rank 2", lambda L, x, y: L.linalg.lstsq(
            x, y, rcond=1e-8, driver=driver)[1:3], deficient, b)


def test_lstsq_rank_is_per_matrix_of_A():
    ours, theirs = _both(lambda L, x, y: L.linalg.lstsq(x, y, rcond=1e-3),
                         _array(2, 1, 4, 3), _array(1, 3, 4, 2))
    _close("solution", ours.solution, theirs.solution)
    _close("rank", ours.rank, theirs.rank)


# ---------------------------------------------------------------- top-level forms and methods
def test_top_level_and_methods():
    a, b = _spd(2, 3, 3) / 4, _array(2, 3, 2)
    _compare("top level", lambda L, x, y: (
        L.det(x), L.inverse(x), L.slogdet(x), L.logdet(x), L.pinverse(x), L.matrix_power(x, 3),
        L.matrix_exp(x), L.cholesky(x), L.qr(x), L.qr(x, some=False), L.svd(x, compute_uv=False),
        L.svd(x).S, L.lu(x), L.lu_solve(y, *L.lu(x)), L.lu_unpack(*L.lu(x)),
        L.cholesky_solve(y, L.cholesky(x)), L.cholesky_inverse(L.cholesky(x)),
        L.cholesky_inverse(L.cholesky(x, True), True), L.triangular_solve(y, x),
        L.orgqr(*L.geqrf(x)), L.geqrf(x), L.chain_matmul(x[0], x[1], x[0]),
        L.vander(y[0, 0], 4, True)), a, b)
    _compare("methods", lambda L, x, y: (
        x.det(), x.inverse(), x.slogdet(), x.logdet(), x.pinverse(), x.matrix_power(-2),
        x.matrix_exp(), x.cholesky(), x.qr(), x.svd(compute_uv=False), x.lu(), x.lu(get_infos=True),
        y.lu_solve(*x.lu()), y.cholesky_solve(x.cholesky()), x.cholesky().cholesky_inverse(),
        y.triangular_solve(x, upper=False, transpose=True), x.geqrf(), x.orgqr(x.geqrf().tau)),
        a, b)


def test_linalg_namespace_is_complete():
    names = ("cholesky cholesky_ex qr eigh eigvalsh svd slogdet solve_triangular pinv lstsq "
             "matrix_power matrix_rank multi_dot vecdot diagonal inv_ex solve_ex cond matrix_exp "
             "lu_factor lu_factor_ex lu lu_solve vander tensorinv tensorsolve householder_product "
             "eig eigvals ldl_factor ldl_factor_ex ldl_solve LinAlgError").split()
    for name in names:
        assert hasattr(ds.linalg, name) and hasattr(torch.linalg, name), name
        assert name in ds.linalg.__all__, name
    assert issubclass(ds.linalg.LinAlgError, RuntimeError)


# ---------------------------------------------------------------- failures and their reports
def test_info_reports_match_torch():
    not_pd = np.stack([np.eye(2), _NOT_PD, -np.array(_NOT_PD)])
    singular = np.stack([np.eye(2), _SINGULAR, np.zeros((2, 2))])
    _compare("cholesky_ex", lambda L, x: L.linalg.cholesky_ex(x), not_pd)  # L as LAPACK leaves it
    _compare("cholesky_ex upper", lambda L, x: L.linalg.cholesky_ex(x, upper=True).info, not_pd)
    _compare("lu_factor_ex", lambda L, x: L.linalg.lu_factor_ex(x), singular)
    _compare("torch.lu infos", lambda L, x: L.lu(x, get_infos=True), singular)
    _compare("inv_ex", lambda L, x: L.linalg.inv_ex(x), singular[:2])
    _compare("inv_ex info", lambda L, x: L.linalg.inv_ex(x).info, singular)
    _compare("solve_ex", lambda L, x: L.linalg.solve_ex(x, L.ones(3, 1, 2, 1, dtype=x.dtype)),
             singular[:2])
    _compare("solve_triangular singular", lambda L, x: L.linalg.solve_triangular(
        x, L.ones(2, 1, dtype=x.dtype), upper=True), np.triu(_SINGULAR) * [[1, 1], [1, 0]])
    _compare("slogdet singular", lambda L, x: (L.linalg.slogdet(x), L.logdet(x), L.logdet(-x)),
             np.stack([np.zeros((2, 2)), np.eye(2) * [[-1], [1]]]))
    _compare("cond singular", lambda L, x: (L.linalg.cond(x, "fro"), L.linalg.cond(x, 1)),
             _SINGULAR)


# name: (whether deepseek's message contains torch's, fn(lib)); fn runs on deepseek and torch
ERRORS = {
    "cholesky_not_pd": (True, lambda L: L.linalg.cholesky(L.tensor(_NOT_PD))),
    "cholesky_not_pd_batch": (True, lambda L: L.linalg.cholesky(L.tensor([[[1.0, 0.0], [0.0, 1.0]],
                                                                          _NOT_PD]))),
    "cholesky_ex_check": (True, lambda L: L.linalg.cholesky_ex(-L.eye(2), check_errors=True)),
    "cholesky_legacy": (True, lambda L: L.cholesky(L.tensor(_NOT_PD))),
    "cholesky_square": (True, lambda L: L.linalg.cholesky(L.ones(2, 3))),
    "cholesky_1d": (True, lambda L: L.linalg.cholesky(L.ones(3))),
    "cholesky_half": (True, lambda L: L.linalg.cholesky(L.eye(2).half())),
    "cholesky_bf16": (True, lambda L: L.linalg.cholesky(L.eye(2).bfloat16())),
    "cholesky_half_square": (True, lambda L: L.linalg.cholesky(L.ones(2, 3).half())),
    "cholesky_int": (False, lambda L: L.linalg.cholesky(L.eye(2).long())),
    "qr_mode": (True, lambda L: L.linalg.qr(L.eye(2), mode="x")),
    "qr_half": (True, lambda L: L.linalg.qr(L.eye(2).half())),
    "qr_1d": (True, lambda L: L.linalg.qr(L.ones(2))),
    "qr_r_backward": (True, lambda L: L.linalg.qr(L.ones(3, 2, requires_grad=True),
                                                  mode="r").R.sum().backward()),
    "qr_complete_backward": (True, lambda L: L.linalg.qr(L.ones(3, 2, requires_grad=True),
                                                         mode="complete").Q.sum().backward()),
    "eigh_square": (True, lambda L: L.linalg.eigh(L.ones(2, 3))),
    "eigh_uplo": (True, lambda L: L.linalg.eigh(L.eye(2), UPLO="X")),
    "eigh_half": (True, lambda L: L.linalg.eigh(L.eye(2).half())),
    "eigh_int": (True, lambda L: L.linalg.eigh(L.eye(2).long())),
    "eigvalsh_1d": (True, lambda L: L.linalg.eigvalsh(L.ones(2))),
    "svd_half": (True, lambda L: L.linalg.svd(L.eye(2).half())),
    "svd_1d": (True, lambda L: L.linalg.svd(L.ones(2))),
    "svd_driver": (True, lambda L: L.linalg.svd(L.eye(2), driver="gesvd")),
    "svd_legacy_half": (True, lambda L: L.svd(L.eye(2).half(), compute_uv=False)),
    "slogdet_square": (True, lambda L: L.linalg.slogdet(L.ones(2, 3))),
    "slogdet_half": (False, lambda L: L.linalg.slogdet(L.eye(2).half())),
    "solve_triangular_half": (True, lambda L: L.linalg.solve_triangular(
        L.eye(2).half(), L.eye(2).half(), upper=True)),
    "solve_triangular_int": (True, lambda L: L.linalg.solve_triangular(
        L.eye(2).long(), L.ones(2, 1), upper=True)),
    "solve_triangular_shapes": (True, lambda L: L.linalg.solve_triangular(
        L.eye(2), L.ones(3, 1), upper=True)),
    "solve_triangular_shapes_right": (True, lambda L: L.linalg.solve_triangular(
        L.eye(2), L.ones(3, 1), upper=True, left=False)),
    "solve_triangular_square": (True, lambda L: L.linalg.solve_triangular(
        L.ones(2, 3), L.ones(2, 1), upper=True)),
    "solve_triangular_1d": (True, lambda L: L.linalg.solve_triangular(L.eye(2), L.ones(2),
                                                                      upper=True)),
    "inv_ex_check": (True, lambda L: L.linalg.inv_ex(L.tensor([[[1.0, 0.0], [0.0, 1.0]],
                                                               _SINGULAR]), check_errors=True)),
    "solve_ex_check": (True, lambda L: L.linalg.solve_ex(L.tensor(_SINGULAR), L.ones(2, 1),
                                                         check_errors=True)),
    "solve_ex_dtype": (True, lambda L: L.linalg.solve_ex(L.eye(2), L.ones(2, 1).double())),
    "solve_ex_shapes": (True, lambda L: L.linalg.solve_ex(L.eye(2), L.ones(3))),
    "solve_ex_half": (True, lambda L: L.linalg.solve_ex(L.eye(2).half(), L.eye(2).half())),
    "lu_factor_singular": (True, lambda L: L.linalg.lu_factor(L.tensor(_SINGULAR))),
    "lu_factor_ex_check": (True, lambda L: L.linalg.lu_factor_ex(
        L.tensor([[[1.0, 0.0], [0.0, 1.0]], _SINGULAR]), check_errors=True)),
    "lu_factor_half": (True, lambda L: L.linalg.lu_factor(L.eye(2).half())),
    "lu_no_pivot": (True, lambda L: L.linalg.lu(L.eye(2), pivot=False)),
    "lu_solve_shapes": (True, lambda L: L.linalg.lu_solve(*L.linalg.lu_factor(L.eye(3)),
                                                          L.ones(2, 1))),
    "lu_solve_pivots_dtype": (True, lambda L: L.linalg.lu_solve(L.eye(3), L.ones(3).long(),
                                                                L.ones(3, 1))),
    "lu_solve_pivots_count": (True, lambda L: L.linalg.lu_solve(
        L.eye(3), L.ones(2, dtype=L.int32), L.ones(3, 1))),
    "lu_solve_pivots_batch": (True, lambda L: L.linalg.lu_solve(
        L.eye(2).expand(3, 2, 2), L.ones(2, dtype=L.int32), L.ones(2, 1))),
    "lu_solve_dtype": (True, lambda L: L.linalg.lu_solve(L.eye(2), L.ones(2, dtype=L.int32),
                                                         L.ones(2, 1).double())),
    "lu_solve_1d": (True, lambda L: L.linalg.lu_solve(*L.linalg.lu_factor(L.eye(3)), L.ones(3))),
    "lu_solve_half": (True, lambda L: L.linalg.lu_solve(L.eye(2).half(), L.ones(2, dtype=L.int32),
                                                        L.eye(2).half())),
    "pinv_half": (True, lambda L: L.linalg.pinv(L.eye(2).half())),
    "pinv_int": (True, lambda L: L.linalg.pinv(L.eye(2).long())),
    "pinv_1d": (True, lambda L: L.linalg.pinv(L.ones(2))),
    "lstsq_half": (True, lambda L: L.linalg.lstsq(L.eye(2).half(), L.eye(2).half())),
    "lstsq_rows": (True, lambda L: L.linalg.lstsq(L.ones(3, 2), L.ones(4, 2))),
    "lstsq_dtype": (True, lambda L: L.linalg.lstsq(L.ones(3, 2), L.ones(3, 2).double())),
    "lstsq_driver": (True, lambda L: L.linalg.lstsq(L.ones(3, 2), L.ones(3, 2), driver="foo")),
    "lstsq_1d": (True, lambda L: L.linalg.lstsq(L.ones(3), L.ones(3))),
    "lstsq_dims": (True, lambda L: L.linalg.lstsq(L.ones(2, 3, 2), L.ones(3))),
    "matrix_rank_half": (True, lambda L: L.linalg.matrix_rank(L.eye(2).half())),
    "matrix_rank_1d": (True, lambda L: L.linalg.matrix_rank(L.ones(2))),
    "matrix_exp_square": (True, lambda L: L.linalg.matrix_exp(L.ones(2, 3))),
    "matrix_exp_1d": (True, lambda L: L.linalg.matrix_exp(L.ones(2))),
    "matrix_power_square": (True, lambda L: L.linalg.matrix_power(L.ones(2, 3), 2)),
    "matrix_power_1d": (True, lambda L: L.linalg.matrix_power(L.ones(2), 2)),
    "matrix_power_float_n": (True, lambda L: L.linalg.matrix_power(L.eye(2), 1.5)),
    "matrix_power_int_negative": (False, lambda L: L.linalg.matrix_power(L.ones(2, 2).long(), -1)),
    "multi_dot_one": (True, lambda L: L.linalg.multi_dot([L.ones(2, 2)])),
    "multi_dot_first_3d": (True, lambda L: L.linalg.multi_dot([L.ones(2, 2, 2), L.ones(2, 2)])),
    "multi_dot_middle_1d": (True, lambda L: L.linalg.multi_dot([L.ones(2, 2), L.ones(2),
                                                                L.ones(2, 2)])),
    "multi_dot_last_3d": (True, lambda L: L.linalg.multi_dot([L.ones(2, 2), L.ones(2, 2, 2)])),
    "multi_dot_shapes": (True, lambda L: L.linalg.multi_dot([L.ones(2, 3), L.ones(4, 2)])),
    "multi_dot_dtypes": (True, lambda L: L.linalg.multi_dot([L.ones(2, 3),
                                                             L.ones(3, 2).double()])),
    "vecdot_dtypes": (True, lambda L: L.linalg.vecdot(L.ones(3), L.ones(3).double())),
    "vecdot_int": (True, lambda L: L.linalg.vecdot(L.ones(3).long(), L.ones(3).long())),
    "tensorinv_ind": (True, lambda L: L.linalg.tensorinv(L.ones(4, 6, 8, 3), ind=0)),
    "tensorinv_shape": (True, lambda L: L.linalg.tensorinv(L.ones(4, 6, 2, 3), ind=2)),
    "tensorsolve_shape": (True, lambda L: L.linalg.tensorsolve(L.ones(2, 3, 5), L.ones(2, 3))),
    "vander_N": (True, lambda L: L.linalg.vander(L.ones(3), N=1)),
    "vander_half": (True, lambda L: L.linalg.vander(L.ones(3).half())),
    "vander_bool": (True, lambda L: L.linalg.vander(L.ones(3).bool())),
    "householder_wide": (True, lambda L: L.linalg.householder_product(L.ones(3, 4), L.ones(2))),
    "householder_tau_long": (True, lambda L: L.linalg.householder_product(L.ones(4, 3),
                                                                          L.ones(4))),
    "householder_tau_ndim": (True, lambda L: L.linalg.householder_product(L.ones(4, 3),
                                                                          L.ones(2, 2))),
    "householder_batch": (True, lambda L: L.linalg.householder_product(L.ones(2, 4, 3),
                                                                       L.ones(3, 2))),
    "householder_dtype": (True, lambda L: L.linalg.householder_product(L.ones(4, 3),
                                                                       L.ones(2).double())),
    "householder_half": (True, lambda L: L.linalg.householder_product(L.ones(4, 3).half(),
                                                                      L.ones(2).half())),
    "householder_1d": (True, lambda L: L.linalg.householder_product(L.ones(4), L.ones(3))),
    "geqrf_1d": (True, lambda L: L.geqrf(L.ones(4))),
    "geqrf_int": (True, lambda L: L.geqrf(L.eye(2).long())),
    "cond_norm": (True, lambda L: L.linalg.cond(L.eye(2), 3)),
    "cond_square": (True, lambda L: L.linalg.cond(L.ones(2, 3), "fro")),
    "cond_half": (True, lambda L: L.linalg.cond(L.eye(2).half())),
    "cholesky_solve_sizes": (True, lambda L: L.cholesky_solve(L.ones(2, 1), L.eye(3))),
    "cholesky_solve_1d": (True, lambda L: L.cholesky_solve(L.ones(3), L.eye(3))),
    "cholesky_solve_dtypes": (True, lambda L: L.cholesky_solve(L.ones(3, 1).double(), L.eye(3))),
    "cholesky_solve_int": (True, lambda L: L.cholesky_solve(L.ones(2, 1).long(),
                                                            L.eye(2).long())),
    "cholesky_inverse_square": (True, lambda L: L.cholesky_inverse(L.ones(2, 3))),
    "cholesky_inverse_half": (True, lambda L: L.cholesky_inverse(L.eye(2).half())),
    "triangular_solve_half": (True, lambda L: L.triangular_solve(L.eye(2).half(),
                                                                 L.eye(2).half())),
}


@pytest.mark.parametrize("name", list(ERRORS))
def test_errors_match_torch(name):
    same_text, fn = ERRORS[name]
    with pytest.raises(Exception) as want:
        fn(torch)
    with pytest.raises(Exception) as got:
        fn(ds)
    if type(want.value).__name__ == "_LinAlgError":
        assert isinstance(got.value, ds.linalg.LinAlgError), f"{name}: {got.value!r}"
    else:
        assert type(got.value) is type(want.value), (
            f"{name}: deepseek raised {type(got.value).__name__}: {got.value}; torch "
            f"{type(want.value).__name__}: {want.value}")
    text = str(got.value)
    assert text.startswith("["), f"{name}: the message does not name the op: {text}"
    if same_text:
        assert str(want.value).split("\n")[0] in text, f"{name}: {text!r} lacks torch's text"


# ---------------------------------------------------------------- empty and batched inputs
EMPTY = [
    ("cholesky", lambda L, a: L.linalg.cholesky(a), (0, 2, 2)),
    ("cholesky_ex", lambda L, a: L.linalg.cholesky_ex(a), (2, 0, 0)),
    ("qr", lambda L, a: L.linalg.qr(a), (0, 3)), ("qr_r", lambda L, a: L.linalg.qr(a, "r"), (3, 0)),
    ("eigh", lambda L, a: L.linalg.eigh(a), (0, 0)),
    ("eigvalsh", lambda L, a: L.linalg.eigvalsh(a), (3, 0, 0)),
    ("svd", lambda L, a: L.linalg.svd(a, False), (0, 3)),
    ("slogdet", lambda L, a: L.linalg.slogdet(a), (2, 0, 0)),
    ("pinv", lambda L, a: L.linalg.pinv(a), (0, 3)),
    ("lu_factor", lambda L, a: L.linalg.lu_factor(a), (0, 3)),
    ("lu", lambda L, a: L.linalg.lu(a), (3, 0)),
    ("matrix_exp", lambda L, a: L.linalg.matrix_exp(a), (2, 0, 0)),
    ("inv_ex", lambda L, a: L.linalg.inv_ex(a), (0, 0)),
    ("solve_triangular", lambda L, a: L.linalg.solve_triangular(a, a, upper=True), (2, 0, 0)),
    ("matrix_rank", lambda L, a: L.linalg.matrix_rank(a), (0, 3)),
    ("cond", lambda L, a: L.linalg.cond(a), (0, 0)),
    ("lstsq_no_rows", lambda L, a: L.linalg.lstsq(a, a[..., :2]), (0, 3)),
    ("lstsq_no_columns", lambda L, a: L.linalg.lstsq(a, L.ones(3, 2, dtype=a.dtype)), (3, 0)),
    ("batch_of_none", lambda L, a: (L.linalg.qr(a), L.linalg.svd(a), L.linalg.eigvalsh(a),
                                    L.linalg.lu_factor(a), L.linalg.slogdet(a)), (0, 3, 3)),
]


@pytest.mark.parametrize("name,fn,shape", EMPTY, ids=[e[0] for e in EMPTY])
def test_empty_inputs(name, fn, shape):
    ours, theirs = _both(fn, np.zeros(shape))
    for k, (a, b) in enumerate(zip(_flat(ours), _flat(theirs))):
        if b.numel() == 0 or name in ("lu", "lstsq_no_rows", "lstsq_no_columns", "cond",
                                      "slogdet", "inv_ex", "matrix_rank", "cholesky_ex"):
            _close(f"{name} output {k}", a, b)
        else:  # the identity factors of an empty matrix: only shapes are specified
            assert tuple(a.shape) == tuple(b.shape), f"{name} output {k}"


def test_batched_matches_one_by_one():
    a = _spd(2, 3, 4, 4)
    batched = ds.linalg.cholesky(ds.from_numpy(a)).numpy()
    for idx in np.ndindex(2, 3):
        np.testing.assert_allclose(batched[idx], np.linalg.cholesky(a[idx]), atol=1e-12)
    ours = ds.linalg.lu_factor(ds.from_numpy(a))
    for idx in np.ndindex(2, 3):
        one = ds.linalg.lu_factor(ds.from_numpy(a[idx]))
        np.testing.assert_allclose(ours.LU.numpy()[idx], one.LU.numpy(), atol=1e-12)
        np.testing.assert_array_equal(ours.pivots.numpy()[idx], one.pivots.numpy())


def test_large_triangular_solve_and_lu():  # several row blocks, and many pivots
    a = _array(150, 150) + 20 * np.eye(150)
    b = _array(150, 3)
    _compare("solve_triangular", lambda L, x, y: (L.linalg.solve_triangular(x, y, upper=True),
                                                  L.linalg.solve_triangular(x, y, upper=False)),
             a, b)
    ours, theirs = _both(lambda L, x: L.linalg.lu_factor(x), _array(130, 130))
    np.testing.assert_array_equal(ours.pivots.numpy(), theirs.pivots.numpy())
    _close("LU", ours.LU, theirs.LU, atol=1e-9)


# ---------------------------------------------------------------- gradients torch cannot check
def _grads(fn, *arrays):
    out = []
    for lib in (ds, torch):
        xs = [_lib_tensor(lib, a, grad=True) for a in arrays]
        y = fn(lib, *xs)
        y = y if isinstance(y, (tuple, list)) else (y,)
        sum(t.sum() for t in y if t.requires_grad).backward()
        out.append([x.grad for x in xs])
    return out


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # inf * 0 in matmul
@pytest.mark.parametrize("name,fn", [
    ("eigvalsh", lambda L, a: L.linalg.eigvalsh(a)),
    ("eigh_values", lambda L, a: L.linalg.eigh(a).eigenvalues),
    ("svd_values", lambda L, a: L.linalg.svd(a[:, :2]).S),
    ("eigh_vectors", lambda L, a: L.linalg.eigh(a).eigenvectors),  # both not finite
])
def test_degenerate_gradients(name, fn):
    """Repeated eigenvalues / zero singular values: finite when only values are used, not finite
    (as in torch) when the vectors are."""
    (ours,), (theirs,) = _grads(fn, np.eye(3))
    _close(name, ours, theirs)


def test_cholesky_solve_differentiates_all_of_L():
    b, factor = _array(3, 2), np.linalg.cholesky(_spd(3, 3))
    for upper in (False, True):
        f = factor.T.copy() if upper else factor
        ours, theirs = _grads(lambda L, x, y, u=upper: (L.cholesky_solve(x, y, u),
                                                        L.cholesky_inverse(y, u)), b, f)
        for k, (a, t) in enumerate(zip(ours, theirs)):
            _close(f"grad {k}", a, t)


@pytest.mark.parametrize("name,fn,shape", [
    ("cond_norms", lambda a: tuple(ds.linalg.cond(a + 4 * ds.eye(3, dtype=a.dtype), p)
                                   for p in ("fro", "nuc", 1, -1, math.inf, -math.inf)), (3, 3)),
    ("vander_legacy", lambda x: ds.vander(x, 4), (3,)),
    ("householder_product", lambda a: ds.linalg.householder_product(a[..., :3], a[..., 0, :2]),
     (2, 4, 3)),
    ("matrix_exp_scaled", lambda a: ds.linalg.matrix_exp(8 * a), (3, 3)),
])
def test_gradcheck(name, fn, shape):
    x = ds.from_numpy(_array(*shape)).requires_grad_()
    assert ds.autograd.gradcheck(fn, (x,), eps=1e-6, atol=1e-5, rtol=1e-4), name


def _spd_lib(lib, a):
    return a @ a.mT + lib.eye(a.shape[-1], dtype=a.dtype)


SECOND = {
    "cholesky": lambda L, a: L.linalg.cholesky(_spd_lib(L, a)),
    "cholesky_upper": lambda L, a: L.linalg.cholesky(_spd_lib(L, a), upper=True),
    "eigh": lambda L, a: (lambda w, v: (w ** 3, v * v * L.arange(9, dtype=a.dtype).reshape(3, 3)))(
        *L.linalg.eigh(a + a.mT)),
    "qr": lambda L, a: (lambda q, r: (q ** 3, r ** 2))(*L.linalg.qr(a[..., :2])),
    "qr_wide": lambda L, a: (lambda q, r: (q ** 3, r ** 2))(*L.linalg.qr(a[..., :2, :])),
    "svd": lambda L, a: (lambda u, s, vh: (s ** 3, u * u * L.arange(6, dtype=a.dtype).reshape(
        3, 2)))(*L.linalg.svd(a[..., :2], full_matrices=False)),
    "slogdet": lambda L, a: L.linalg.slogdet(a + 4 * L.eye(3, dtype=a.dtype)).logabsdet,
    "matrix_exp": lambda L, a: L.linalg.matrix_exp(a) ** 2,
    "solve_triangular": lambda L, a: L.linalg.solve_triangular(a + 4 * L.eye(3, dtype=a.dtype),
                                                               a, upper=True) ** 2,
    "lu_factor": lambda L, a: L.linalg.lu_factor(a).LU ** 3,
    "pinv": lambda L, a: L.linalg.pinv(a[..., :2]) ** 2,
    "lstsq": lambda L, a: L.linalg.lstsq(a[..., :2], a).solution ** 2,
    "solve_ex": lambda L, a: L.linalg.solve_ex(a + 4 * L.eye(3, dtype=a.dtype), a).result ** 2,
    "cholesky_solve": lambda L, a: L.cholesky_solve(a, L.linalg.cholesky(_spd_lib(L, a))) ** 2,
}


@pytest.mark.parametrize("name", list(SECOND))
def test_second_derivatives(name):
    a = _array(3, 3)
    results = []
    for lib in (ds, torch):
        x = _lib_tensor(lib, a, grad=True)
        y = SECOND[name](lib, x)
        y = y if isinstance(y, tuple) else (y,)
        (g,) = lib.autograd.grad(sum(t.sum() for t in y), x, create_graph=True)
        (gg,) = lib.autograd.grad((g * g).sum(), x)
        results.append(gg)
    _close(f"{name} second derivative", *results, atol=1e-9, rtol=1e-7)


# ---------------------------------------------------------------- autocast, the compiler
DECOMPOSITION_OPS = ("linalg_cholesky_ex", "cholesky_solve", "linalg_qr", "geqrf", "linalg_eigh",
                     "linalg_svd", "linalg_slogdet", "linalg_solve_triangular",
                     "linalg_lu_factor_ex", "linalg_solve_ex", "linalg_pinv", "linalg_lstsq",
                     "linalg_matrix_exp")


def test_autocast_computes_in_float32():
    assert all(REGISTRY[name].amp == "fp32" for name in DECOMPOSITION_OPS)
    a = ds.from_numpy(_spd(3, 3).astype(np.float32) + 3 * np.eye(3, dtype=np.float32))
    low = a.bfloat16()
    with ds.autocast("cpu", dtype=ds.bfloat16):
        outs = [ds.linalg.cholesky(low), ds.linalg.qr(low).R, ds.linalg.eigvalsh(low),
                ds.linalg.svd(low).S, ds.linalg.inv_ex(low).inverse, ds.linalg.lstsq(low, low)[0],
                ds.cholesky_inverse(low), ds.linalg.householder_product(low, low[0]),
                ds.linalg.cond(low), ds.svd(low, compute_uv=False).S]
        assert ds.linalg.matrix_rank(low).dtype == ds.int64
    assert all(o.dtype == ds.float32 for o in outs)


def test_jit_matches_eager(tmp_path, monkeypatch):
    monkeypatch.setenv("DS_JIT_CACHE", str(tmp_path))
    w = ds.from_numpy(_array(4, 3)).requires_grad_()

    def step(x):
        a = (w * x) @ (w * x).mT + ds.eye(4, dtype=x.dtype)
        values, vectors = ds.linalg.eigh(a)
        loss = (ds.linalg.cholesky(a).sum() + values.sum() + (vectors * vectors)[0].sum()
                + ds.linalg.qr(w * x).R.sum() + ds.linalg.lu_factor(a).LU.sum()
                + ds.linalg.slogdet(a).logabsdet + ds.linalg.matrix_exp(a / 10).sum())
        loss.backward()
        return loss

    compiled = ds.jit(step)
    for _ in range(2):
        x = ds.from_numpy(_array(4, 3))
        w.grad = None
        got = float(compiled(x))
        got_grad = w.grad.numpy().copy()
        w.grad = None
        assert got == pytest.approx(float(step(x)), rel=1e-12)
        np.testing.assert_allclose(got_grad, w.grad.numpy(), rtol=1e-10)
