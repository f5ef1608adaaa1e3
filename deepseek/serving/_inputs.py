"""Turning a ``POST /predict`` body into one array of examples, with a 400 message that names
what is wrong when it cannot be done."""

from __future__ import annotations

import json
from typing import Any, Optional

import numpy as np


class BadRequest(ValueError):
    """A request the server refuses; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


_USAGE = 'send {"inputs": [example, ...]}, each example a nested list of numbers'


def parse_inputs(body: bytes, dtype: np.dtype, example_shape: Optional[tuple],
                 max_examples: int) -> np.ndarray:
    """The examples in ``body`` as one array of shape ``(N, *example_shape)`` and ``dtype``.

    Raises :class:`BadRequest` for invalid JSON, a missing or empty ``"inputs"``, ragged or
    non-numeric lists, an example of the wrong shape, or more than ``max_examples`` examples.
    """
    try:
        payload = json.loads(body)
    except UnicodeDecodeError as e:
        raise BadRequest(f"invalid JSON: the body is not UTF-8 ({e})") from None
    except json.JSONDecodeError as e:
        raise BadRequest(f"invalid JSON: {e}") from None
    except RecursionError:
        raise BadRequest("invalid JSON: nested too deeply") from None
    if not isinstance(payload, dict):
        raise BadRequest(f"the body must be a JSON object; got {_json_type(payload)}: {_USAGE}")
    if "inputs" not in payload:
        keys = ", ".join(repr(k) for k in list(payload)[:8]) or "none"
        raise BadRequest(f'missing "inputs" (keys found: {keys}): {_USAGE}')
    inputs = payload["inputs"]
    if not isinstance(inputs, list):
        raise BadRequest(f'"inputs" must be a list of examples; got {_json_type(inputs)}: '
                         f"{_USAGE}")
    if not inputs:
        raise BadRequest(f'"inputs" is empty: {_USAGE}')
    if len(inputs) > max_examples:
        raise BadRequest(f"too many examples: {len(inputs)} in one request, at most "
                         f"{max_examples} (max_batch_size); split the request")
    try:
        array = np.array(inputs)
    except (ValueError, RecursionError):
        raise BadRequest(_find_problem(inputs)) from None
    if array.dtype.kind not in "biuf":
        raise BadRequest(_find_problem(inputs))
    if dtype.kind in "iub" and array.dtype.kind == "f":
        if not np.all(np.isfinite(array)) or not np.array_equal(array, np.round(array)):
            raise BadRequest(f"the model takes {dtype.name} inputs; the examples hold numbers "
                             "with a fractional part (or inf, NaN)")
    if example_shape is not None and array.shape[1:] != tuple(example_shape):
        raise BadRequest(f"each example must have shape {list(example_shape)} (the model's "
                         f"input is [N, {', '.join(map(str, example_shape))}]); got examples "
                         f"of shape {list(array.shape[1:])}")
    return array.astype(dtype, copy=False)


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
             int: "a number", float: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def _find_problem(inputs: list) -> str:
    """Why NumPy could not make one numeric array of ``inputs``: the first ragged list or the
    first entry that is not a number, with its path."""
    try:
        _shape_of(inputs, "inputs")
    except _Problem as problem:
        return str(problem)
    except RecursionError:
        return '"inputs" is nested too deeply'
    return '"inputs" must be a rectangular nested list of numbers'  # e.g. too many dimensions


class _Problem(Exception):
    pass


def _shape_of(value: Any, path: str) -> tuple:
    if isinstance(value, list):
        if not value:
            return (0,)
        first = _shape_of(value[0], f"{path}[0]")
        for i in range(1, len(value)):
            shape = _shape_of(value[i], f"{path}[{i}]")
            if shape != first:
                what = "examples" if path == "inputs" else "lists"
                raise _Problem(f"ragged inputs: {path}[{i}] has shape {list(shape)} but "
                               f"{path}[0] has shape {list(first)}; all {what} in a request "
                               "must have the same shape")
        return (len(value),) + first
    if not isinstance(value, (int, float)):  # bool is an int, as in NumPy
        raise _Problem(f"{path} is {_json_type(value)} ({json.dumps(value)[:40]}); entries "
                       "must be numbers")
    if isinstance(value, int) and not -2**63 <= value < 2**64:
        raise _Problem(f"{path} is the integer {value}, too large for any input dtype")
    return ()
