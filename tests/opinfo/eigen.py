"""Rows for linalg.eig/eigvals and the LDL factorization (ldl_factor, ldl_factor_ex, ldl_solve).

eig is compared through what neither its eigenvalue order (LAPACK's geev order, which MKL's and
OpenBLAS's runs do not always share) nor its eigenvectors' phases change: symmetric functions of
the eigenvalues and ``V diag(f(L)) V^H``. Complex results come back as real views."""

from . import OpInfo, S, T

_EIG = ("linalg_eig", "linalg_solve", "complex", "view_as_real", "matmul", "diagonal_scatter")
_LDL = ("linalg_ldl_factor_ex",)


def _r(lib, z):
    return lib.view_as_real(z)


def _power_sums(lib, w):
    """Symmetric in the eigenvalues' order: the traces of A, A^2, A^3."""
    return tuple(_r(lib, (w ** p).sum(-1)) for p in (1, 2, 3))


def gauge_free_eig(lib, w, v):
    """What an eigendecomposition determines whatever its order and its eigenvectors' phases."""
    vh = v.mH
    return _power_sums(lib, w) + (_r(lib, (v * w.unsqueeze(-2)) @ vh), _r(lib, v @ vh))


def rotating(lib, a):
    """``a / 2`` plus a rotation block: a complex-conjugate pair of eigenvalues near ±3i and a
    real one near 1, well separated."""
    block = lib.tensor([[0.0, 3.0, 0.0], [-3.0, 0.0, 0.0], [0.0, 0.0, 1.0]], dtype=a.dtype)
    return a / 2 + block


def small_diagonal(lib, a):
    """``a`` with its diagonal scaled down: Bunch-Kaufman then picks 2x2 pivots."""
    return a * (1 - 0.95 * lib.eye(a.shape[-1], dtype=a.dtype))


def hermitian(lib, a, b):
    z = lib.complex(a, b)
    return z + z.mH


ROWS = [
    OpInfo("linalg_eig", lambda lib, a: gauge_free_eig(lib, *lib.linalg.eig(a)),
           [S(T((3, 3))), S(T((2, 4, 4)), name="batch"), S(T((1, 1)), name="1x1")], ops=_EIG,
           atol=1e-4, rtol=1e-4),
    OpInfo("linalg_eig_empty", lambda lib, a: gauge_free_eig(lib, *lib.linalg.eig(a)),
           [S(T((0, 0))), S(T((2, 0, 0)), name="batch")], ops=_EIG),
    OpInfo("linalg_eig_complex_pair",
           lambda lib, a: gauge_free_eig(lib, *lib.linalg.eig(rotating(lib, a))),
           [S(T((3, 3)))], ops=_EIG),
    OpInfo("linalg_eig_complex_input",
           lambda lib, a, b: gauge_free_eig(lib, *lib.linalg.eig(lib.complex(a, b))),
           [S(T((3, 3)), T((3, 3))), S(T((2, 3, 3)), T((2, 3, 3)), name="batch")], ops=_EIG,
           atol=1e-4, rtol=1e-4),
    OpInfo("linalg_eigvals", lambda lib, a: _power_sums(lib, lib.linalg.eigvals(rotating(lib, a))),
           [S(T((3, 3))), S(T((2, 3, 3)), name="batch")], ops=_EIG),
    OpInfo("linalg_eigvals_complex_input",
           lambda lib, a, b: _power_sums(lib, lib.linalg.eigvals(lib.complex(a, b))),
           [S(T((4, 4)), T((4, 4)))], ops=_EIG, atol=1e-4, rtol=1e-4),
    # torch has no derivative for the LDL ops (backward raises: tests/test_linalg_eig.py)
    OpInfo("linalg_ldl_factor", lambda lib, a, **k: lib.linalg.ldl_factor(a, **k),
           [S(T((3, 3))), S(T((2, 5, 5)), name="batch"), S(T((4, 4)), hermitian=True,
                                                           name="hermitian_real"),
            S(T((0, 0)), name="empty")], ops=_LDL, grad=False),
    OpInfo("linalg_ldl_factor_2x2_pivots",
           lambda lib, a: lib.linalg.ldl_factor_ex(small_diagonal(lib, a)),
           [S(T((5, 5))), S(T((3, 4, 4)), name="batch")], ops=_LDL, grad=False),
    OpInfo("linalg_ldl_factor_ex_singular", lambda lib, a: lib.linalg.ldl_factor_ex(a),
           [S(T((3, 3), values=[[0.0, 5.0, 5.0], [0.0, 1.0, 5.0], [0.0, 2.0, 1.0]]))],
           ops=_LDL, grad=False),
    OpInfo("linalg_ldl_factor_complex",
           lambda lib, a, b, **k: (lambda out: (_r(lib, out.LD), out.pivots, out.info))(
               lib.linalg.ldl_factor_ex(lib.complex(a, b), **k)),
           [S(T((4, 4)), T((4, 4)), name="symmetric"),
            S(T((4, 4)), T((4, 4)), hermitian=True, name="hermitian"),
            S(T((2, 3, 3)), T((2, 3, 3), -0.1, 0.1), hermitian=True, name="batch_hermitian")],
           ops=_LDL + ("complex", "view_as_real"), grad=False),
    OpInfo("linalg_ldl_solve",
           lambda lib, a, b, **k: lib.linalg.ldl_solve(*lib.linalg.ldl_factor(
               small_diagonal(lib, a + a.mT)), b, **k),
           [S(T((4, 4)), T((4, 2))), S(T((2, 3, 3)), T((3, 1)), name="broadcast_B"),
            S(T((3, 3)), T((2, 3, 2)), name="broadcast_LD"),
            S(T((3, 3)), T((3, 2)), hermitian=True, name="hermitian_real")],
           ops=("linalg_ldl_solve",) + _LDL, grad=False),
    OpInfo("linalg_ldl_solve_complex",
           lambda lib, a, b, c, d: tuple(
               _r(lib, lib.linalg.ldl_solve(*lib.linalg.ldl_factor(m, hermitian=h),
                                            lib.complex(c, d), hermitian=h))
               for m, h in ((hermitian(lib, a, b), True), (lib.complex(a, b), False))),
           [S(T((4, 4)), T((4, 4)), T((4, 2)), T((4, 2)))],
           ops=("linalg_ldl_solve", "complex", "view_as_real") + _LDL, grad=False),
]
