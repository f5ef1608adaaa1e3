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
