"""``deepseek.testing``: ``assert_close`` and ``make_tensor`` (and the deprecated
``assert_allclose``), as ``torch.testing``'s, for tests written against either framework."""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, Callable, Optional, Union

import numpy as np

from . import dtypes as _dt
from .tensor import Tensor

__all__ = ["assert_close", "make_tensor", "assert_allclose"]

# (rtol, atol) when neither is given, by dtype: torch's defaults
_TOLERANCES = {"float16": (1e-3, 1e-5), "bfloat16": (1.6e-2, 1e-5), "float32": (1.3e-6, 1e-5),
               "float64": (1e-7, 1e-7)}


def _dtype_of(x: Any) -> _dt.dtype:
    if isinstance(x, Tensor):
        return x.dtype
    if isinstance(x, np.ndarray):
        return _dt.from_numpy_dtype(x.dtype)
    return _dt.bool_ if isinstance(x, bool) else _dt.int64 if isinstance(x, int) else _dt.float64


def _values(x: Any) -> np.ndarray:
    return x.detach()._to_host() if isinstance(x, Tensor) else np.asarray(x)


def _fail(msg: Union[str, Callable, None], default: str, path: str) -> AssertionError:
    if path:
        default += f"\n\nThe failure occurred for item {path}"
    return AssertionError(msg(default) if callable(msg) else msg or default)


def _tensor_like(x: Any) -> bool:
    return isinstance(x, (Tensor, np.ndarray, bool, int, float, complex, np.generic))


def assert_close(actual: Any, expected: Any, *, allow_subclasses: bool = True,
                 rtol: Optional[float] = None, atol: Optional[float] = None,
                 equal_nan: bool = False, check_device: bool = True, check_dtype: bool = True,
                 check_layout: bool = True, check_stride: bool = False,
                 msg: Union[str, Callable[[str], str], None] = None) -> None:
    """Assert that ``actual`` and ``expected`` are close: ``|actual - expected| <= atol + rtol *
    |expected|`` elementwise, after their shapes, dtypes and devices match. Tensors, NumPy
    arrays, Python scalars, and sequences or mappings of them (compared item by item).

    Without ``rtol`` and ``atol`` the dtype's defaults apply (float32: 1.3e-6 and 1e-5; exact for
    integers and bools). ``msg`` replaces the message, or builds it from the default one.

    Example:
        >>> deepseek.testing.assert_close(deepseek.tensor([1.0]), deepseek.tensor([1.0 + 1e-7]))
    """
    if (rtol is None) != (atol is None):
        raise ValueError("Both 'rtol' and 'atol' must be either specified or omitted, but got no "
                         f"{'atol' if atol is None else 'rtol'}.")
    _compare(actual, expected, "", rtol=rtol, atol=atol, equal_nan=equal_nan,
             check_device=check_device, check_dtype=check_dtype, msg=msg)


# assert_allclose's own (rtol, atol) defaults; other dtypes compare exactly
_ALLCLOSE_TOLERANCES = {"float16": (1e-3, 1e-3), "float32": (1e-4, 1e-5),
                        "float64": (1e-5, 1e-8)}


def assert_allclose(actual: Any, expected: Any, rtol: Optional[float] = None,
                    atol: Optional[float] = None, equal_nan: bool = True, msg: str = "") -> None:
    """Deprecated (a FutureWarning, as ``torch.testing.assert_allclose``): :func:`assert_close`
    with looser default tolerances (float32: ``rtol=1e-4``, ``atol=1e-5``), ``equal_nan``
    on and dtypes not compared; non-tensors become tensors (``expected`` in ``actual``'s
    dtype). Use :func:`assert_close` instead.
    """
    from ._creation import tensor

    warnings.warn("`deepseek.testing.assert_allclose()` is deprecated since 1.12 and will be "
                  "removed in a future release. Please use `deepseek.testing.assert_close()` "
                  "instead. You can find detailed upgrade instructions in "
                  "https://github.com/pytorch/pytorch/issues/61844.", FutureWarning, stacklevel=2)
    if not isinstance(actual, Tensor):
        actual = tensor(actual)
    if not isinstance(expected, Tensor):
        expected = tensor(expected, dtype=actual.dtype)
    if rtol is None and atol is None:
        rtol, atol = (max(x) for x in zip(*(_ALLCLOSE_TOLERANCES.get(t.dtype.name, (0.0, 0.0))
                                            for t in (actual, expected))))
    assert_close(actual, expected, rtol=rtol, atol=atol, equal_nan=equal_nan, check_device=True,
                 check_dtype=False, check_stride=False, msg=msg or None)


def _compare(actual: Any, expected: Any, path: str, **options: Any) -> None:
    if isinstance(actual, Mapping) and isinstance(expected, Mapping):
        if set(actual) != set(expected):
            raise _fail(options["msg"], "The keys of the mappings do not match: "
                        f"{sorted(map(repr, actual))} != {sorted(map(repr, expected))}", path)
        for key in actual:
            _compare(actual[key], expected[key], f"{path}[{key!r}]", **options)
        return
    if (isinstance(actual, Sequence) and isinstance(expected, Sequence)
            and not isinstance(actual, str) and not isinstance(expected, str)):
        if len(actual) != len(expected):
            raise _fail(options["msg"], "The length of the sequences mismatch: "
                        f"{len(actual)} != {len(expected)}", path)
        for i, (a, e) in enumerate(zip(actual, expected)):
            _compare(a, e, f"{path}[{i}]", **options)
        return
    if not (_tensor_like(actual) and _tensor_like(expected)) or (
            isinstance(actual, Tensor) != isinstance(expected, Tensor)):
        raise TypeError(f"No comparison pair was able to handle inputs of type {type(actual)} "
                        f"and {type(expected)}.")
    _compare_values(actual, expected, path, **options)


def _compare_values(actual: Any, expected: Any, path: str, *, rtol: Optional[float],
                    atol: Optional[float], equal_nan: bool, check_device: bool,
                    check_dtype: bool, msg: Any) -> None:
    scalars = not isinstance(actual, (Tensor, np.ndarray))
    if scalars and check_dtype and type(actual) is not type(expected):
        raise _fail(msg, f"The (d)types do not match: {type(actual)} != {type(expected)}.", path)
    a, e = _values(actual), _values(expected)
    if a.shape != e.shape:
        raise _fail(msg, "The values for attribute 'shape' do not match: "
                    f"{_shape(actual)} != {_shape(expected)}.", path)
    da, de = _dtype_of(actual), _dtype_of(expected)
    if check_dtype and da is not de:
        raise _fail(msg, f"The values for attribute 'dtype' do not match: {da} != {de}.", path)
    if check_device and isinstance(actual, Tensor) and actual.device != expected.device:
        raise _fail(msg, "The values for attribute 'device' do not match: "
                    f"{actual.device} != {expected.device}.", path)
    if rtol is None:
        rtol, atol = (max(x) for x in zip(*(_TOLERANCES.get(d.to_real().name, (0.0, 0.0))
                                            for d in (da, de))))
    common = _dt.promote_types(da, de)
    inexact = common.is_floating_point or common.is_complex
    # the differences in the common dtype (integers and bools as int64), relative ones in a float
    a = a.astype(common.np if inexact else np.int64)
    e = e.astype(a.dtype)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        diff = np.abs(a - e)
        finite = np.isfinite(a) & np.isfinite(e)
        close = (a == e) | (finite & (diff <= atol + rtol * np.abs(e)))
        if equal_nan:
            close |= np.isnan(a) & np.isnan(e)
        if close.all():
            return
        real = diff.dtype if inexact else np.dtype(np.float32)
        rel = diff.astype(real) / np.abs(e).astype(real)
    exact = rtol == 0 and atol == 0
    kind = "Scalars" if a.ndim == 0 else "Tensor-likes"
    report = f"{kind} are not {'equal' if exact else 'close'}!\n\n"
    is_int = not inexact

    def number(v: Any) -> Any:
        return int(v) if is_int else float(v)

    abs_allowed = "" if exact else f" (up to {atol} allowed)"
    rel_allowed = "" if exact else f" (up to {rtol} allowed)"
    if a.ndim == 0:
        report += (f"Expected {_scalar(expected)} but got {_scalar(actual)}.\n"
                   f"Absolute difference: {number(diff)}{abs_allowed}\n"
                   f"Relative difference: {float(rel)}{rel_allowed}")
    else:
        bad = ~close
        report += (f"Mismatched elements: {int(bad.sum())} / {bad.size} "
                   f"({100 * bad.sum() / bad.size:.1f}%)\n")
        for name, values, allowed, as_number in (("absolute", diff, abs_allowed, number),
                                                 ("relative", rel, rel_allowed, float)):
            where = _worst(values, bad)
            report += (f"Greatest {name} difference: {as_number(values[where])} at index "
                       f"{where}{allowed}\n")
        report = report.rstrip("\n")
    raise _fail(msg, report, path)


def _worst(values: np.ndarray, bad: np.ndarray) -> tuple:
    """The index of the largest value among the mismatches (a nan counts as largest)."""
    masked = np.where(bad, values, -np.inf)
    flat = int(np.argmax(np.where(np.isnan(masked), np.inf, masked)))
    return tuple(int(i) for i in np.unravel_index(flat, values.shape))


def _shape(x: Any) -> Any:
    return x.shape if isinstance(x, Tensor) else f"deepseek.Size({list(np.shape(x))})"


def _scalar(x: Any) -> Any:
    return x.item() if isinstance(x, (Tensor, np.ndarray, np.generic)) else x


def make_tensor(*shape: Any, dtype: Any, device: Any = "cpu", low: Optional[float] = None,
                high: Optional[float] = None, requires_grad: bool = False,
                noncontiguous: bool = False, exclude_zero: bool = False,
                generator: Any = None) -> Tensor:
    """A random tensor for tests: uniform on ``[low, high)`` (floats default to ``[-9, 9)``,
    integers to ``[-9, 10)``, uint8 to ``[0, 10)``, bools to ``{False, True}``);
    ``noncontiguous`` gives a strided view of a larger buffer with the same values."""
    from ._creation import tensor
    from .random import _gen

    if len(shape) == 1 and isinstance(shape[0], Sequence):
        shape = tuple(shape[0])
    d = _dt.to_dtype(dtype)
    rng = _gen(generator)
    if d is _dt.bool_:
        data = rng.integers(0, 2, shape).astype(bool)
    elif d.is_floating_point:
        lo, hi = -9.0 if low is None else low, 9.0 if high is None else high
        data = rng.uniform(lo, hi, shape)
    else:
        info = np.iinfo(d.np)
        lo = max(info.min, -9 if low is None else math.ceil(low))
        hi = min(info.max, 10 if high is None else math.ceil(high))
        data = rng.integers(0 if d is _dt.uint8 and low is None else lo, hi, shape)
    data = np.asarray(data).astype(d.np)
    if exclude_zero:
        tiny = _dt.finfo(d).tiny if d.is_floating_point else 1
        data[data == 0] = tiny
    if noncontiguous and data.size > 1:  # every other element of a buffer twice the size
        out = Tensor._wrap(np.repeat(data[..., None], 2, axis=-1)[..., 0])
    else:
        out = tensor(data)
    return out.requires_grad_(requires_grad)
