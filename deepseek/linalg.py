"""``deepseek.linalg``: norms and matrix functions."""

from __future__ import annotations

from .ops.linalg import matmul  # noqa: F401

__all__ = ["matmul"]
