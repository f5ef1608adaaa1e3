"""The one error formatter: ``[op] what went wrong; shapes …, dtypes …``."""

from __future__ import annotations

from typing import Any


def describe(x: Any) -> str:
    """``float32[2, 3]`` for anything with a shape and dtype, ``repr`` otherwise."""
    shape = getattr(x, "shape", None)
    if shape is None:
        return repr(x)
    dtype = getattr(x, "dtype", None)
    name = getattr(dtype, "name", str(dtype))
    return f"{name}{list(shape)}"


def op_error(exc_type: type, op: str, message: str, *operands: Any) -> Exception:
    """An exception of ``exc_type`` whose message names the op and describes the operands."""
    text = f"[{op}] {message}"
    if operands:
        text += "; got " + ", ".join(describe(x) for x in operands)
    return exc_type(text)
