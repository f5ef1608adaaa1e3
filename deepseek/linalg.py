"""``deepseek.linalg``: norms, decompositions and matrix functions (``torch.linalg``); defined in
``ops/``."""

from __future__ import annotations

from ._options import accept_out as _accept_out
from .ops.decompositions import (LinAlgError, cholesky, cholesky_ex, eigh, eigvalsh,
                                 householder_product, lu, lu_factor, lu_factor_ex, lu_solve, qr,
                                 solve_triangular, svd)
from .ops.eigen import eig, eigvals, ldl_factor, ldl_factor_ex, ldl_solve
from .ops.solvers import (cond, diagonal, inv_ex, lstsq, matrix_exp, matrix_power, matrix_rank,
                          multi_dot, pinv, slogdet, solve_ex, tensorinv, tensorsolve, vander,
                          vecdot)
from .ops.linalg import cross, det, inv, matmul, matrix_norm, norm, solve, svdvals
from .ops.reduce import vector_norm

__all__ = ["LinAlgError", "cholesky", "cholesky_ex", "cond", "cross", "det", "diagonal", "eig",
           "eigh", "eigvals", "eigvalsh", "householder_product", "inv", "inv_ex", "ldl_factor",
           "ldl_factor_ex", "ldl_solve", "lstsq", "lu", "lu_factor", "lu_factor_ex", "lu_solve",
           "matmul", "matrix_exp", "matrix_norm", "matrix_power", "matrix_rank", "multi_dot",
           "norm", "pinv", "qr", "slogdet", "solve", "solve_ex", "solve_triangular", "svd",
           "svdvals", "tensorinv", "tensorsolve", "vander", "vecdot", "vector_norm"]

_accept_out(globals(), __name__)  # out= on the public names (deepseek/_options.py)
