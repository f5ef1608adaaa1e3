"""``deepseek.linalg``: norms and matrix functions (``torch.linalg``); defined in ``ops/``."""

from __future__ import annotations

from .ops.linalg import cross, det, inv, matmul, matrix_norm, norm, solve, svdvals
from .ops.reduce import vector_norm

__all__ = ["cross", "det", "inv", "matmul", "matrix_norm", "norm", "solve", "svdvals",
           "vector_norm"]
