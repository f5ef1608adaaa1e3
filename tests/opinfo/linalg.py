"""Rows for matrix products, einsum/tensordot/kron, matrix norms and matrix functions."""

import math

from . import ALL_FLOAT, FLOAT, OpInfo, S, T

_MM_DTYPES = ALL_FLOAT + ("int64", "int32")


def product(name, fn, samples, dtypes=_MM_DTYPES, ops=("matmul",), **kw):
    return OpInfo(name, fn, samples, ops=ops, dtypes=dtypes, **kw)


def einsum(name, equation, *shapes, **kw):
    return OpInfo(f"einsum_{name}", lambda lib, *xs, _e=equation: lib.einsum(_e, *xs),
                  [S(*(T(s) for s in shapes))], ops=("einsum",), dtypes=ALL_FLOAT, **kw)


def well_conditioned(lib, a):
    """``a`` plus 4 on the diagonal: far from singular for entries in [-2, 2] and n <= 3."""
    return a + 4 * lib.eye(a.shape[-1], dtype=a.dtype)


ROWS = [
    product("matmul", lambda lib, x, y: lib.matmul(x, y),
            [S(T((3, 4)), T((4, 5)), name="2d"), S(T((4,)), T((4,)), name="1d_1d"),
             S(T((4,)), T((4, 5)), name="1d_2d"), S(T((3, 4)), T((4,)), name="2d_1d"),
             S(T((2, 3, 4)), T((4, 5)), name="3d_2d"),
             S(T((2, 1, 3, 4)), T((3, 4, 2)), name="broadcast"),
             S(T((4,)), T((2, 4, 3)), name="1d_3d"), S(T((2, 3, 4)), T((4,)), name="3d_1d"),
             S(T((0, 3)), T((3, 2)), name="empty"), S(T((3, 0)), T((0, 2)), name="empty_inner")]),
    product("matmul_operator", lambda lib, x, y: (x @ y, x.mT.__rmatmul__(y.mT)),
            [S(T((3, 4)), T((4, 5)))]),
    product("mm", lambda lib, x, y: lib.mm(x, y), [S(T((3, 4)), T((4, 5)))]),
    product("bmm", lambda lib, x, y: x.bmm(y), [S(T((2, 3, 4)), T((2, 4, 5)))]),
    product("mv", lambda lib, x, y: lib.mv(x, y), [S(T((3, 4)), T((4,)))]),
    product("dot", lambda lib, x, y: (lib.dot(x, y), x.vdot(y)), [S(T((5,)), T((5,)))]),
    product("outer", lambda lib, x, y: (lib.outer(x, y), lib.ger(x, y)), [S(T((3,)), T((4,)))],
            ops=("mul",)),
    product("addmm", lambda lib, c, a, b: (lib.addmm(c, a, b), c.addmm(a, b, beta=0.5, alpha=2)),
            [S(T((3, 5)), T((3, 4)), T((4, 5))), S(T((5,)), T((3, 4)), T((4, 5)), name="bias")],
            dtypes=ALL_FLOAT, ops=("matmul", "add", "mul")),
    product("addmm_beta0", lambda lib, c, a, b: lib.addmm(c, a, b, beta=0),
            [S(T((3, 5)), T((3, 4)), T((4, 5)))], dtypes=FLOAT, ops=("matmul", "where")),
    product("addmv", lambda lib, c, a, b: lib.addmv(c, a, b, beta=2, alpha=0.5),
            [S(T((3,)), T((3, 4)), T((4,)))], dtypes=ALL_FLOAT, ops=("matmul", "add", "mul")),
    product("addr", lambda lib, c, a, b: lib.addr(c, a, b, alpha=3),
            [S(T((3, 4)), T((3,)), T((4,)))], dtypes=ALL_FLOAT, ops=("mul", "add")),
    product("baddbmm", lambda lib, c, a, b: lib.baddbmm(c, a, b, beta=0.5),
            [S(T((2, 3, 5)), T((2, 3, 4)), T((2, 4, 5))), S(T((5,)), T((2, 3, 4)), T((2, 4, 5)))],
            dtypes=ALL_FLOAT, ops=("matmul", "add", "mul")),
    product("addbmm", lambda lib, c, a, b: lib.addbmm(c, a, b, alpha=2),
            [S(T((3, 5)), T((2, 3, 4)), T((2, 4, 5)))], dtypes=FLOAT,
            ops=("matmul", "sum", "add")),
    einsum("matmul", "ij,jk->ik", (3, 4), (4, 5)),
    einsum("implicit", "ij,jk", (3, 4), (4, 5)),
    einsum("implicit_order", "ba,Ab", (2, 3), (4, 2)),
    einsum("batch", "bij,bjk->bik", (2, 3, 4), (2, 4, 5)),
    einsum("diagonal", "ii->i", (3, 3)),
    einsum("trace", "ii", (3, 3)),
    einsum("repeated_summed", "iij->", (3, 3, 2)),
    einsum("repeated_out", "iji->ij", (3, 2, 3)),
    einsum("sum_all", "ij->", (3, 4)),
    einsum("transpose", "ij->ji", (3, 4)),
    einsum("outer", "i,j->ij", (3,), (4,)),
    einsum("three", "ij,jk,kl->il", (2, 3), (3, 4), (4, 2)),
    einsum("elementwise", "i,i,i->i", (4,), (4,), (4,)),
    einsum("summed_alone", "ij,jk->i", (3, 4), (4, 5)),
    einsum("ellipsis", "...ij,...jk->...ik", (2, 1, 3, 4), (3, 4, 2)),
    einsum("ellipsis_implicit", "bi...,...j", (2, 3, 4), (4, 5)),
    einsum("ellipsis_summed", "...ij->j", (5, 2, 3)),
    einsum("broadcast_one", "ij,jk->ik", (3, 1), (4, 5)),
    einsum("spaces", " i j , j k -> k i ", (3, 4), (4, 5)),
    einsum("zero_dim", ",ij->ij", (), (3, 4)),
    OpInfo("einsum_int", lambda lib, x, y: lib.einsum("ij,jk", x, y), [S(T((3, 4)), T((4, 5)))],
           ops=("einsum",), dtypes=("int64",), grad=False),
    OpInfo("einsum_list_forms", lambda lib, x, y: (lib.einsum("ij,jk", [x, y]),
                                                   lib.einsum(x, [0, 1], y, [1, 2], [2, 0]),
                                                   lib.einsum(x, [..., 1], [...])),
           [S(T((3, 4)), T((4, 5)))], ops=("einsum",)),
    OpInfo("tensordot", lambda lib, x, y: (lib.tensordot(x, y), lib.tensordot(x, y, 1)),
           [S(T((2, 4, 4)), T((4, 4, 3)))], ops=("einsum",), dtypes=ALL_FLOAT),
    OpInfo("tensordot_dims", lambda lib, x, y: (lib.tensordot(x, y, ([1, 0], [0, 2])),
                                                lib.tensordot(x, y, 0)),
           [S(T((2, 3, 4)), T((3, 4, 2)))], ops=("einsum",)),
    OpInfo("kron", lambda lib, x, y: lib.kron(x, y),
           [S(T((2, 3)), T((3, 2))), S(T((3,)), T((2, 2)), name="ranks"),
            S(T((2, 1, 2)), T((2, 3)), name="3d")],
           ops=("mul", "view"), dtypes=ALL_FLOAT + ("int64",)),
    OpInfo("linalg_cross", lambda lib, x, y: (lib.linalg.cross(x, y),
                                              lib.linalg.cross(x.mT, y.mT, dim=0)),
           [S(T((4, 3)), T((1, 3)))], ops=("cat", "mul", "sub")),
    OpInfo("linalg_inv", lambda lib, a: lib.linalg.inv(well_conditioned(lib, a)),
           [S(T((3, 3))), S(T((2, 3, 3))), S(T((0, 2, 2)))], ops=("linalg_inv",)),
    OpInfo("linalg_det", lambda lib, a: lib.linalg.det(well_conditioned(lib, a)),
           [S(T((3, 3))), S(T((2, 3, 3))), S(T((1, 1)))], ops=("linalg_det",)),
    OpInfo("linalg_solve", lambda lib, a, b: lib.linalg.solve(well_conditioned(lib, a), b),
           [S(T((3, 3)), T((3, 2))), S(T((3, 3)), T((3,)), name="vector"),
            S(T((2, 3, 3)), T((2, 3)), name="batch_vector"),
            S(T((2, 3, 3)), T((3, 4)), name="broadcast")], ops=("linalg_solve",)),
    OpInfo("linalg_solve_right", lambda lib, a, b: lib.linalg.solve(well_conditioned(lib, a), b,
                                                                    left=False),
           [S(T((3, 3)), T((2, 3)))], ops=("linalg_solve",)),
    OpInfo("linalg_svdvals", lambda lib, a: lib.linalg.svdvals(a),
           [S(T((3, 4))), S(T((2, 4, 3)))], ops=("linalg_svdvals",)),
] + [
    OpInfo(f"matrix_norm_{o}", lambda lib, a, _o=o, **k: lib.linalg.matrix_norm(a, _o, **k),
           [S(T((3, 4))), S(T((2, 3, 4)), dim=(0, 2), keepdim=True, name="dims_keepdim"),
            S(T((2, 4, 3)), dim=(-1, 0), name="reversed")],
           ops=("linalg_vector_norm", "linalg_svdvals", "sum", "amax", "amin", "abs"),
           dtypes=ALL_FLOAT if o not in ("nuc", 2, -2) else FLOAT)
    for o in ("fro", "nuc", math.inf, -math.inf, 1, -1, 2, -2)
] + [
    OpInfo("linalg_norm", lambda lib, a: (lib.linalg.norm(a), lib.linalg.norm(a, dim=1),
                                          lib.linalg.norm(a[0], 1), lib.linalg.norm(a[0, 0], 3),
                                          lib.linalg.norm(a, math.inf, dim=(0, 2)),
                                          lib.linalg.norm(a, "fro", (1, 2), keepdim=True)),
           [S(T((2, 3, 4)))], ops=("linalg_vector_norm",)),
]


# ---------------------------------------------------------------- decompositions and solvers
def spd(lib, a):
    """``a a^T + I``: symmetric positive-definite."""
    return a @ a.mT + lib.eye(a.shape[-1], dtype=a.dtype)


def symmetric(lib, a):
    return a + a.mT


def gauge_free_svd(u, s, vh):
    """What an SVD determines whatever the signs of its singular vectors."""
    k = s.shape[-1]
    u, vh = u[..., :k], vh[..., :k, :]
    return s, u * u, vh * vh, (u * s.unsqueeze(-2)) @ vh


def gauge_free_eigh(w, v):
    return w, v * v


def decomposition(name, fn, samples, ops, **kw):
    return OpInfo(name, fn, samples, ops=ops, **kw)


_TRI = ("linalg_solve_triangular",)
_BATCHES = [S(T((3, 3))), S(T((2, 3, 3)), name="batch")]

ROWS += [
    decomposition("linalg_cholesky", lambda lib, a: (lib.linalg.cholesky(spd(lib, a)),
                                                     lib.linalg.cholesky(spd(lib, a), upper=True)),
                  _BATCHES + [S(T((0, 2, 2)), name="empty")], ("linalg_cholesky_ex",) + _TRI),
    decomposition("linalg_cholesky_ex", lambda lib, a: lib.linalg.cholesky_ex(spd(lib, a)),
                  [S(T((2, 3, 3)))], ("linalg_cholesky_ex",) + _TRI),
    decomposition("cholesky_legacy", lambda lib, a: (lib.cholesky(spd(lib, a), True),
                                                     spd(lib, a).cholesky()),
                  [S(T((3, 3)))], ("linalg_cholesky_ex",) + _TRI),
    decomposition("cholesky_solve",
                  lambda lib, b, a: (lib.cholesky_solve(b, lib.linalg.cholesky(spd(lib, a))),
                                     b.cholesky_solve(well_conditioned(lib, a).triu(), True)),
                  [S(T((3, 2)), T((3, 3))), S(T((2, 1, 3, 2)), T((2, 3, 3)), name="broadcast")],
                  ("cholesky_solve", "linalg_cholesky_ex") + _TRI),
    decomposition("cholesky_inverse",
                  lambda lib, a: (lib.cholesky_inverse(lib.linalg.cholesky(spd(lib, a))),
                                  well_conditioned(lib, a).triu().cholesky_inverse(True)),
                  _BATCHES, ("cholesky_solve", "linalg_cholesky_ex") + _TRI),
    decomposition("linalg_qr", lambda lib, a, **k: lib.linalg.qr(a, **k),
                  [S(T((4, 3)), name="tall"), S(T((3, 4)), name="wide"),
                   S(T((2, 3, 3)), name="batch"), S(T((3, 4)), mode="complete", name="complete"),
                   S(T((0, 3)), name="empty")], ("linalg_qr",) + _TRI),
    decomposition("linalg_qr_r", lambda lib, a: lib.linalg.qr(a, mode="r"),
                  [S(T((4, 3))), S(T((2, 3, 4)), name="wide")], ("linalg_qr",), grad=False),
    decomposition("qr_legacy", lambda lib, a: (lib.qr(a), a.qr(some=True)), [S(T((4, 3)))],
                  ("linalg_qr",) + _TRI),
    decomposition("geqrf", lambda lib, a: lib.geqrf(a), [S(T((4, 3))), S(T((2, 3, 4)))],
                  ("geqrf",), grad=False),
    decomposition("linalg_householder_product",
                  lambda lib, a, tau: (lib.linalg.householder_product(a, tau), lib.orgqr(a, tau)),
                  [S(T((4, 3)), T((3,))), S(T((2, 4, 3)), T((2, 2)), name="batch")],
                  ("where", "matmul", "mul", "sub")),
    decomposition("householder_product_of_geqrf",
                  lambda lib, a: lib.linalg.householder_product(*lib.geqrf(a)),
                  [S(T((4, 3))), S(T((2, 3, 3)))], ("geqrf", "matmul"), grad=False),
    decomposition("linalg_eigh",
                  lambda lib, a, **k: gauge_free_eigh(*lib.linalg.eigh(symmetric(lib, a), **k)),
                  [S(T((3, 3))), S(T((2, 4, 4)), name="batch"), S(T((3, 3)), UPLO="U", name="U"),
                   S(T((0, 0)), name="empty")], ("linalg_eigh",)),
    decomposition("linalg_eigvalsh",
                  lambda lib, a, **k: lib.linalg.eigvalsh(symmetric(lib, a), **k),
                  [S(T((3, 3))), S(T((2, 4, 4)), UPLO="U", name="batch_U")], ("linalg_eigh",)),
    decomposition("linalg_svd",
                  lambda lib, a, **k: gauge_free_svd(*lib.linalg.svd(a, **k)),
                  [S(T((4, 3)), full_matrices=False, name="tall"),
                   S(T((3, 4)), full_matrices=False, name="wide"),
                   S(T((2, 3, 3)), name="batch"), S(T((4, 3)), name="full_tall"),
                   S(T((2, 3, 4)), name="full_wide")], ("linalg_svd",)),
    decomposition("svd_legacy", lambda lib, a: (gauge_free_svd(*lib.svd(a)[:2], lib.svd(a)[2].mT),
                                                a.svd(compute_uv=False).S),
                  [S(T((4, 3))), S(T((3, 4)), name="wide")], ("linalg_svd", "linalg_svdvals")),
    decomposition("linalg_slogdet",
                  lambda lib, a: (lib.linalg.slogdet(well_conditioned(lib, a)),
                                  lib.slogdet(-well_conditioned(lib, a))),
                  _BATCHES, ("linalg_slogdet", "linalg_solve_ex")),
    decomposition("logdet", lambda lib, a: (lib.logdet(spd(lib, a)), spd(lib, a).logdet()),
                  _BATCHES, ("linalg_slogdet", "log")),
    decomposition("linalg_solve_triangular",
                  lambda lib, a, b, **k: lib.linalg.solve_triangular(well_conditioned(lib, a), b,
                                                                     **k),
                  [S(T((3, 3)), T((3, 2)), upper=True),
                   S(T((3, 3)), T((2, 3)), upper=False, left=False, name="lower_right"),
                   S(T((2, 1, 3, 3)), T((2, 3, 1)), upper=False, unitriangular=True,
                     name="unit_broadcast"),
                   S(T((3, 3)), T((2, 3)), upper=True, left=False, unitriangular=True,
                     name="unit_upper_right")], _TRI),
    decomposition("triangular_solve_legacy",
                  lambda lib, b, a: lib.triangular_solve(b, well_conditioned(lib, a), upper=False,
                                                         transpose=True),
                  [S(T((3, 2)), T((3, 3)))], _TRI + ("clone",)),
    decomposition("linalg_lu_factor", lambda lib, a: lib.linalg.lu_factor(a),
                  [S(T((3, 3))), S(T((2, 4, 4)), name="batch"), S(T((4, 3)), name="tall"),
                   S(T((3, 4)), name="wide"), S(T((0, 3)), name="empty")],
                  ("linalg_lu_factor_ex", "lu_pivots_to_permutation") + _TRI),
    decomposition("linalg_lu_factor_ex", lambda lib, a: lib.linalg.lu_factor_ex(a),
                  [S(T((2, 3, 3)))], ("linalg_lu_factor_ex",) + _TRI),
    # P is no function of A's values: its rows hold no gradient, as the finite differences assume
    decomposition("linalg_lu", lambda lib, a: lib.linalg.lu(a)[1:],
                  [S(T((3, 3))), S(T((4, 3)), name="tall"), S(T((2, 3, 4)), name="wide")],
                  ("linalg_lu_factor_ex",) + _TRI),
    decomposition("linalg_lu_permutation", lambda lib, a: (lib.linalg.lu(a).P,
                                                           lib.lu_unpack(*lib.lu(a))),
                  [S(T((2, 4, 3)))], ("linalg_lu_factor_ex", "lu_pivots_to_permutation"),
                  grad=False),
    decomposition("lu_legacy", lambda lib, a, b: (lib.lu(a), lib.lu_solve(b, *lib.lu(a)),
                                                  lib.lu_unpack(*lib.lu(a))[1:]),
                  [S(T((3, 3)), T((3, 2)))], ("linalg_lu_factor_ex",) + _TRI),
    decomposition("linalg_lu_solve",
                  lambda lib, a, b, **k: lib.linalg.lu_solve(
                      *lib.linalg.lu_factor(well_conditioned(lib, a)), b, **k),
                  [S(T((3, 3)), T((3, 2))), S(T((3, 3)), T((3, 2)), adjoint=True, name="adjoint"),
                   S(T((3, 3)), T((2, 3)), left=False, name="right"),
                   S(T((2, 3, 3)), T((4, 1, 2, 3)), left=False, adjoint=True, name="right_adj")],
                  ("linalg_lu_factor_ex", "lu_pivots_to_permutation") + _TRI),
    decomposition("linalg_solve_ex",
                  lambda lib, a, b, **k: lib.linalg.solve_ex(well_conditioned(lib, a), b, **k),
                  [S(T((3, 3)), T((3, 2))), S(T((2, 3, 3)), T((2, 3)), name="batch_vector"),
                   S(T((2, 3, 3)), T((3, 4)), name="broadcast"),
                   S(T((3, 3)), T((2, 3)), left=False, name="right")], ("linalg_solve_ex",)),
    decomposition("linalg_inv_ex", lambda lib, a: lib.linalg.inv_ex(well_conditioned(lib, a)),
                  _BATCHES + [S(T((0, 2, 2)), name="empty")], ("linalg_solve_ex",)),
    decomposition("linalg_pinv", lambda lib, a, **k: lib.linalg.pinv(a, **k),
                  [S(T((3, 4))), S(T((2, 4, 3)), name="batch"),
                   S(T((3, 4)), atol=0.1, rtol=0.05, name="tolerances")], ("linalg_pinv",)),
    decomposition("linalg_pinv_hermitian",
                  lambda lib, a: lib.linalg.pinv(symmetric(lib, a), hermitian=True),
                  [S(T((3, 3)))], ("linalg_pinv",)),
    decomposition("pinverse", lambda lib, a: (lib.pinverse(a), a.pinverse(rcond=1e-3)),
                  [S(T((4, 3)))], ("linalg_pinv",)),
    decomposition("linalg_lstsq", lambda lib, a, b, **k: lib.linalg.lstsq(a, b, **k),
                  [S(T((5, 3)), T((5, 2)), name="tall"), S(T((3, 5)), T((3, 2)), name="wide"),
                   S(T((2, 1, 4, 3)), T((1, 3, 4, 2)), name="broadcast"),
                   S(T((5, 3)), T((5,)), name="vector"),
                   S(T((5, 3)), T((5, 2)), driver="gelsd", name="gelsd"),
                   S(T((2, 5, 3)), T((2, 5, 2)), driver="gels", name="gels")],
                  ("linalg_lstsq", "linalg_pinv", "linalg_svdvals")),
    decomposition("linalg_matrix_rank",
                  lambda lib, a: (lib.linalg.matrix_rank(a),
                                  lib.linalg.matrix_rank(lib.cat([a, a[..., :1] * 0], -1)),
                                  lib.linalg.matrix_rank(symmetric(lib, a[..., :3, :]),
                                                         hermitian=True),
                                  lib.linalg.matrix_rank(a, atol=1.0, rtol=0.5)),
                  [S(T((2, 4, 3)))], ("linalg_svdvals", "linalg_eigh"), grad=False),
    decomposition("linalg_cond", lambda lib, a: (lib.linalg.cond(a), lib.linalg.cond(a, -2)),
                  [S(T((3, 3))), S(T((2, 3, 4)), name="rectangular")], ("linalg_svdvals",)),
    decomposition("linalg_cond_norms",  # torch's backward fails for these norms
                  lambda lib, a: tuple(lib.linalg.cond(well_conditioned(lib, a), p)
                                       for p in ("fro", "nuc", 1, -1, math.inf, -math.inf)),
                  [S(T((2, 3, 3)))], ("linalg_solve_ex", "linalg_vector_norm"), grad=False),
    decomposition("linalg_matrix_exp", lambda lib, a: (lib.linalg.matrix_exp(a),
                                                       lib.matrix_exp(a * 3)),
                  _BATCHES, ("linalg_matrix_exp",)),
    decomposition("linalg_matrix_power",
                  lambda lib, a: tuple(lib.linalg.matrix_power(well_conditioned(lib, a) / 4, n)
                                       for n in (0, 1, 3, 6, -2)),
                  _BATCHES, ("matmul", "linalg_inv", "where")),
    decomposition("matrix_power_int", lambda lib, a: (lib.matrix_power(a, 3), a.matrix_power(0)),
                  [S(T((2, 3, 3)))], ("matmul",), dtypes=("int64",), grad=False),
    decomposition("linalg_multi_dot", lambda lib, *xs: (lib.linalg.multi_dot(xs),
                                                        lib.chain_matmul(*xs[1:-1])),
                  [S(T((3,)), T((3, 5)), T((5, 2)), T((2, 4)), T((4,))),
                   S(T((6, 2)), T((2, 5)), T((5, 1)), T((1, 4)), T((4, 3)), name="2d")],
                  ("matmul",)),
    decomposition("linalg_vecdot", lambda lib, x, y: (lib.linalg.vecdot(x, y),
                                                      lib.linalg.vecdot(x, y, dim=0)),
                  [S(T((3, 4)), T((2, 1, 4)))], ("mul", "sum")),
    decomposition("linalg_diagonal", lambda lib, a: (lib.linalg.diagonal(a),
                                                     lib.linalg.diagonal(a, offset=1, dim1=0)),
                  [S(T((2, 3, 4)))], ("diagonal",)),
    decomposition("linalg_vander", lambda lib, x: (lib.linalg.vander(x), lib.linalg.vander(x, N=4)),
                  [S(T((2, 3)))], ("cat", "cumprod"), dtypes=FLOAT + ("int64",)),
    decomposition("vander_legacy",  # torch's backward fails for torch.vander
                  lambda lib, x: (lib.vander(x), lib.vander(x, 2, True)), [S(T((3,)))],
                  ("cat", "cumprod", "flip"), dtypes=FLOAT + ("int64",), grad=False),
    decomposition("linalg_tensorinv",
                  lambda lib, a: lib.linalg.tensorinv(well_conditioned(lib, a).reshape(2, 2, 4),
                                                      ind=2),
                  [S(T((4, 4)))], ("linalg_inv", "view")),
    decomposition("linalg_tensorsolve",
                  lambda lib, a, b: (lib.linalg.tensorsolve(well_conditioned(lib, a).reshape(
                      2, 3, 6), b), lib.linalg.tensorsolve(well_conditioned(lib, a).reshape(
                          6, 2, 3), b, dims=(0,))),
                  [S(T((6, 6)), T((2, 3)))], ("linalg_solve", "view")),
    decomposition("linalg_methods",
                  lambda lib, a: (lambda m: (m.det(), m.inverse(), m.slogdet(), m.matrix_exp(),
                                             m.matrix_power(2), lib.det(m), lib.inverse(m)))(
                      well_conditioned(lib, a) / 4),
                  [S(T((2, 3, 3)))], ("linalg_det", "linalg_inv", "linalg_slogdet")),
]
