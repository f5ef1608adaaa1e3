"""``deepseek.linalg``: norms and matrix functions (``torch.linalg``); defined in ``ops/``."""

from __future__ import annotations

from .ops.linalg import (cross, det, inv, matmul, matrix_norm, norm, solve,  # noqa: F401
                         svdvals)
from .ops.reduce import vector_norm  # noqa: F401

__all__ = ["cross", "det", "inv", "matmul", "matrix_norm", "norm", "solve", "svdvals",
           "vector_norm"]
