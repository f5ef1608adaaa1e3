"""Elementwise primitives and their front doors: arithmetic, math functions, comparisons."""

from __future__ import annotations

import math
import warnings
from typing import Any, Callable, Optional

import numpy as np

from .. import dtypes as _dt
from .._errors import op_error
from ..autograd.grad_mode import STATE
from ..tensor import Tensor
from ._common import (BOOL, LOWP, broadcast_shapes, cast, in_float32, is_float, promote,
                      require_tensor, scalar_array)
from . import _kernels
from ._opdef import apply, apply_inplace, defop, tensor_method

_F32 = np.dtype(np.float32)
_LN2 = math.log(2.0)
_LN10 = math.log(10.0)


def _same(x: Any, **attrs: Any) -> tuple:
    return x.shape, x.dtype


def _ew_meta(name: str, out_dtype: Optional[np.dtype] = None) -> Callable:
    def meta(*xs: Any, **attrs: Any) -> tuple:
        shape = broadcast_shapes(name, *xs)
        return shape, out_dtype if out_dtype is not None else xs[0].dtype

    return meta


def _quiet(fn: Callable) -> Callable:
    """Silence NumPy's divide/invalid warnings: like PyTorch, results are inf/nan, not warnings."""

    def forward(xp: Any, *xs: Any, **attrs: Any) -> Any:
        with np.errstate(all="ignore"):
            return fn(xp, *xs, **attrs)

    return forward


# ---------------------------------------------------------------- the cast
def _cast_forward(xp: Any, x: Any, dtype: np.dtype) -> Any:
    return _kernels.astype(x, dtype)


def _cast_vjp(ctx: Any, g: Tensor) -> tuple:
    return (g,)  # the engine casts gradients back to each input's dtype


CAST = defop("_to_copy", _cast_forward, lambda x, dtype: (x.shape, dtype), _cast_vjp,
             kind="elementwise", expr="{0}", save_inputs=False, complex=True)


def to_dtype(x: Tensor, dtype: Any, discard_imag: bool = False) -> Tensor:
    """``x`` converted to ``dtype`` (a differentiable copy; ``x`` itself if already so).

    A complex ``x`` goes to a real dtype only with ``discard_imag`` (``Tensor.to``, which warns
    as PyTorch does); anywhere else losing the imaginary part would be a silent error.
    """
    d = dtype if isinstance(dtype, np.dtype) else _dt.to_dtype(dtype).np
    if x._data.dtype == d:
        return x
    if x._data.dtype.kind == "c" and d.kind != "c":
        if not discard_imag:
            raise op_error(RuntimeError, "_to_copy", f"complex input where {d} is needed: this "
                           "op takes real tensors; pass .real, .imag or .abs()", x._data)
        warnings.warn("Casting complex values to real discards the imaginary part",
                      UserWarning, stacklevel=3)
        x = x.real
    return apply(CAST, x, dtype=d)


# ---------------------------------------------------------------- unary ops
def _unary(name: str, fn: Callable, expr: str, vjp: Optional[Callable], *, to_float: bool = True,
           save_output: bool = False, quiet: bool = False, out_dtype: Optional[np.dtype] = None,
           meta: Optional[Callable] = None, complex: bool = False, doc: str = "") -> tuple:
    forward = (lambda xp, x: fn(x))
    if to_float:
        forward = in_float32(forward, name)
    if quiet:
        forward = _quiet(forward)
    if meta is None:
        meta = _same if out_dtype is None else (lambda x: (x.shape, out_dtype))
    op = defop(name, forward, meta, vjp, kind="elementwise", expr=expr,
               amp="fp32" if name in _FP32_OPS else None,
               save_inputs=vjp is not None and not save_output, save_output=save_output, doc=doc,
               complex=complex)

    def front(input: Tensor) -> Tensor:
        x = require_tensor(name, input)
        if to_float and not is_float(x._data.dtype) and not (complex and x.is_complex()):
            x = cast(x, _dt.get_default_dtype().np)
        return apply(op, x)

    def front_(self: Tensor) -> Tensor:
        if to_float and not is_float(self._data.dtype) and not (complex and self.is_complex()):
            raise op_error(RuntimeError, name + "_", f"result type Float can't be cast to the "
                           f"desired output type {self.dtype.name}", self._data)
        return apply_inplace(op, self)

    front.__name__, front.__qualname__ = name, name
    front.__doc__ = doc or f"Elementwise ``{name}`` of ``input``."
    front_.__name__ = front_.__qualname__ = name + "_"
    front_.__doc__ = f"In-place :func:`{name}`."
    tensor_method(front)
    tensor_method(front_)
    return op, front, front_


_FP32_OPS = {"exp", "exp2", "expm1", "log", "log1p", "log2", "log10", "rsqrt", "reciprocal",
             "erfinv", "sinh", "cosh", "tan", "acos", "asin"}


def _zero_vjp(ctx: Any, g: Tensor) -> tuple:
    return (g * 0,)


def _erf(x: np.ndarray) -> np.ndarray:
    from ._special import erf

    return erf(x)


def _erfc(x: np.ndarray) -> np.ndarray:
    from ._special import erfc

    return erfc(x)


def _lgamma(x: np.ndarray) -> np.ndarray:
    from ._special import lgamma

    return lgamma(x)


def _erfinv(x: np.ndarray) -> np.ndarray:
    from ._special import erfinv

    return erfinv(x)


def _abs_meta(x: Any) -> tuple:
    return x.shape, (x.real.dtype if x.dtype.kind == "c" else x.dtype)


# Ops marked complex=True take complex operands; their vjps conjugate the derivative
# (``g * f'(z).conj()``), which is free for real tensors (conj returns them as they are).
ABS, abs, abs_ = _unary("abs", np.abs, "abs({0})", lambda c, g: (g * sgn(c.inputs[0]),),
                        to_float=False, meta=_abs_meta, complex=True)
absolute = abs
NEG, neg, neg_ = _unary("neg", np.negative, "-{0}", lambda c, g: (-g,), to_float=False,
                        complex=True)
negative = neg
EXP, exp, exp_ = _unary("exp", np.exp, "math.exp({0})", lambda c, g: (g * c.out.conj(),),
                        save_output=True, quiet=True, complex=True)
EXP2, exp2, exp2_ = _unary("exp2", np.exp2, "2.0 ** {0}", lambda c, g: (g * c.out * _LN2,),
                           save_output=True, quiet=True)
EXPM1, expm1, expm1_ = _unary("expm1", np.expm1, "math.expm1({0})",
                              lambda c, g: (g * (c.out + 1),), save_output=True, quiet=True)
LOG, log, log_ = _unary("log", np.log, "math.log({0})",
                        lambda c, g: (g / c.inputs[0].conj(),), quiet=True, complex=True)
LOG1P, log1p, log1p_ = _unary("log1p", np.log1p, "math.log1p({0})",
                              lambda c, g: (g / (c.inputs[0] + 1),), quiet=True)
LOG2, log2, log2_ = _unary("log2", np.log2, "math.log2({0})",
                           lambda c, g: (g / (c.inputs[0] * _LN2),), quiet=True)
LOG10, log10, log10_ = _unary("log10", np.log10, "math.log10({0})",
                              lambda c, g: (g / (c.inputs[0] * _LN10),), quiet=True)
SQRT, sqrt, sqrt_ = _unary("sqrt", np.sqrt, "math.sqrt({0})",
                           lambda c, g: (g / (2 * c.out.conj()),), save_output=True, quiet=True,
                           complex=True)
RSQRT, rsqrt, rsqrt_ = _unary("rsqrt", lambda x: 1 / np.sqrt(x), "1.0 / math.sqrt({0})",
                              lambda c, g: (g * (c.out * c.out * c.out).conj() * -0.5,),
                              save_output=True, quiet=True, complex=True)
SQUARE, square, square_ = _unary("square", np.square, "{0} * {0}",
                                 lambda c, g: (g * c.inputs[0].conj() * 2,), to_float=False,
                                 complex=True)
SIN, sin, sin_ = _unary("sin", np.sin, "math.sin({0})",
                        lambda c, g: (g * c.inputs[0].cos().conj(),), complex=True)
COS, cos, cos_ = _unary("cos", np.cos, "math.cos({0})",
                        lambda c, g: (-g * c.inputs[0].sin().conj(),), complex=True)
TAN, tan, tan_ = _unary("tan", np.tan, "math.tan({0})",
                        lambda c, g: (g * (c.out * c.out + 1).conj(),), save_output=True,
                        complex=True)
ASIN, asin, asin_ = _unary("asin", np.arcsin, "math.asin({0})",
                           lambda c, g: (g * (1 - c.inputs[0].square()).rsqrt(),), quiet=True)
ACOS, acos, acos_ = _unary("acos", np.arccos, "math.acos({0})",
                           lambda c, g: (-g * (1 - c.inputs[0].square()).rsqrt(),), quiet=True)
ATAN, atan, atan_ = _unary("atan", np.arctan, "math.atan({0})",
                           lambda c, g: (g / (c.inputs[0].square() + 1),))
SINH, sinh, sinh_ = _unary("sinh", np.sinh, "math.sinh({0})",
                           lambda c, g: (g * c.inputs[0].cosh().conj(),), quiet=True,
                           complex=True)
COSH, cosh, cosh_ = _unary("cosh", np.cosh, "math.cosh({0})",
                           lambda c, g: (g * c.inputs[0].sinh().conj(),), quiet=True,
                           complex=True)
TANH, tanh, tanh_ = _unary("tanh", np.tanh, "math.tanh({0})",
                           lambda c, g: (g * (1 - c.out * c.out).conj(),), save_output=True,
                           complex=True)
arcsin, arccos, arctan = asin, acos, atan


def _sigmoid_np(x: np.ndarray) -> np.ndarray:
    # exp of -|x| never overflows; both halves are exact where they are used
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


SIGMOID, sigmoid, sigmoid_ = _unary("sigmoid", _sigmoid_np, "1.0 / (1.0 + math.exp(-{0}))",
                                    lambda c, g: (g * c.out * (1 - c.out),), save_output=True)
ASINH, asinh, asinh_ = _unary("asinh", np.arcsinh, "math.asinh({0})",
                              lambda c, g: (g * (c.inputs[0].square() + 1).rsqrt(),))
arcsinh = asinh


def _lgamma_vjp(ctx: Any, g: Tensor) -> tuple:
    return (g * polygamma(0, ctx.inputs[0]),)


LGAMMA, lgamma, lgamma_ = _unary("lgamma", _lgamma, "math.lgamma({0})", _lgamma_vjp, quiet=True)


def _polygamma_forward(xp: Any, x: Any, n: int) -> Any:
    from ._special import polygamma

    return polygamma(n, x)


POLYGAMMA = defop("polygamma", _quiet(in_float32(_polygamma_forward)), _same,
                  lambda c, g: (g * polygamma(c.attrs["n"] + 1, c.inputs[0]),))


def polygamma(n: int, input: Tensor) -> Tensor:
    """The ``n``-th derivative of the digamma function of ``input``."""
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        raise op_error(RuntimeError, "polygamma", f"polygamma(n, x) does not support negative n "
                       f"or non-integer n, got n={n!r}")
    x = require_tensor("polygamma", input)
    if not is_float(x._data.dtype):
        x = cast(x, _dt.get_default_dtype().np)
    return apply(POLYGAMMA, x, n=n)


tensor_method(lambda self, n: polygamma(n, self), name="polygamma")


@tensor_method
def digamma(input: Tensor) -> Tensor:
    """The logarithmic derivative of the gamma function, ``polygamma(0, input)``."""
    return polygamma(0, input)


_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)
ERF, erf, erf_ = _unary("erf", _erf, "math.erf({0})",
                        lambda c, g: (g * (-c.inputs[0].square()).exp() * _TWO_OVER_SQRT_PI,))
ERFC, erfc, erfc_ = _unary("erfc", _erfc, "math.erfc({0})",
                           lambda c, g: (g * (-c.inputs[0].square()).exp() * -_TWO_OVER_SQRT_PI,))
ERFINV, erfinv, erfinv_ = _unary("erfinv", _erfinv, "_scalar.erfinv({0})",
                                 lambda c, g: (g * c.out.square().exp() / _TWO_OVER_SQRT_PI,),
                                 save_output=True, quiet=True)
FLOOR, floor, floor_ = _unary("floor", np.floor, "math.floor({0})", _zero_vjp, to_float=False)
CEIL, ceil, ceil_ = _unary("ceil", np.ceil, "math.ceil({0})", _zero_vjp, to_float=False)
TRUNC, trunc, trunc_ = _unary("trunc", np.trunc, "math.trunc({0})", _zero_vjp, to_float=False)
fix = trunc
FRAC, frac, frac_ = _unary("frac", lambda x: x - np.trunc(x), "{0} - math.trunc({0})",
                           lambda c, g: (g,), to_float=False)
SIGN, sign, sign_ = _unary("sign", np.sign, "(({0} > 0) - ({0} < 0))", _zero_vjp, to_float=False)
RECIPROCAL, reciprocal, reciprocal_ = _unary("reciprocal", lambda x: 1 / x, "1.0 / {0}",
                                             lambda c, g: (-g * (c.out * c.out).conj(),),
                                             save_output=True, quiet=True, complex=True)
ISNAN, isnan, _ = _unary("isnan", np.isnan, "math.isnan({0})", None, to_float=False,
                         out_dtype=BOOL, complex=True)
ISINF, isinf, _ = _unary("isinf", np.isinf, "math.isinf({0})", None, to_float=False,
                         out_dtype=BOOL, complex=True)
ISFINITE, isfinite, _ = _unary("isfinite", np.isfinite, "math.isfinite({0})", None,
                               to_float=False, out_dtype=BOOL, complex=True)
LOGICAL_NOT, logical_not, logical_not_ = _unary("logical_not", np.logical_not, "not {0}", None,
                                                to_float=False, out_dtype=BOOL)
for _name in ("isnan_", "isinf_", "isfinite_"):
    from ._opdef import TENSOR_METHODS as _TM

    _TM.pop(_name, None)


def _round_forward(xp: Any, x: Any, decimals: int = 0) -> Any:
    return xp.round(x, decimals) if decimals else xp.rint(x)  # half to even, as PyTorch


ROUND = defop("round", _round_forward, _same, _zero_vjp, kind="elementwise",
              expr="round({0}, {decimals})", save_inputs=False)


@tensor_method
def round(input: Tensor, *, decimals: int = 0) -> Tensor:
    """Round to the nearest integer (halves to even), or to ``decimals`` places."""
    return apply(ROUND, require_tensor("round", input), decimals=decimals)


def _bitwise_not_forward(xp: Any, x: Any) -> Any:
    if is_float(x.dtype):
        raise op_error(RuntimeError, "bitwise_not", "only integral and boolean inputs are "
                       "supported", x)
    return xp.invert(x)


BITWISE_NOT = defop("bitwise_not", _bitwise_not_forward, _same, None, kind="elementwise",
                    expr="~{0}")


@tensor_method
def bitwise_not(input: Tensor) -> Tensor:
    """Bitwise NOT (logical NOT for bool tensors)."""
    return apply(BITWISE_NOT, require_tensor("bitwise_not", input))


def _logit_forward(xp: Any, x: Any, eps: Optional[float] = None) -> Any:
    if eps is not None:
        x = xp.clip(x, eps, 1 - eps)
    return xp.log(x / (1 - x))


def _logit_vjp(ctx: Any, g: Tensor) -> tuple:
    (x,) = ctx.inputs
    eps = ctx.attrs.get("eps")
    grad = g / (x * (1 - x))
    if eps is not None:
        grad = where((x < eps) | (x > 1 - eps), 0.0, grad)
    return (grad,)


LOGIT = defop("logit", _quiet(in_float32(_logit_forward)), _same, _logit_vjp,
              kind="elementwise",
              expr="math.log(_scalar.clamp({0}, {eps}) / (1.0 - _scalar.clamp({0}, {eps})))")


@tensor_method
def logit(input: Tensor, eps: Optional[float] = None) -> Tensor:
    """``log(p / (1 - p))``, with ``p`` clamped to ``[eps, 1 - eps]`` when ``eps`` is given."""
    x = require_tensor("logit", input)
    if not is_float(x._data.dtype):
        x = cast(x, _dt.get_default_dtype().np)
    return apply(LOGIT, x, eps=eps)


def _nan_to_num_forward(xp: Any, x: Any, nan: float, posinf: Optional[float],
                        neginf: Optional[float]) -> Any:
    if not is_float(x.dtype):
        return x.copy()
    info = np.finfo(np.float32 if x.dtype in LOWP else x.dtype) if x.dtype not in LOWP else \
        _dt_finfo(x.dtype)
    out = xp.where(xp.isnan(x), nan, x)
    out = xp.where(out == np.inf, info.max if posinf is None else posinf, out)
    out = xp.where(out == -np.inf, info.min if neginf is None else neginf, out)
    return out.astype(x.dtype)


def _dt_finfo(d: np.dtype) -> Any:
    import ml_dtypes

    return ml_dtypes.finfo(d)


NAN_TO_NUM = defop("nan_to_num", _nan_to_num_forward, _same,
                   lambda c, g: (g * c.inputs[0].isfinite(),), kind="elementwise",
                   expr="_scalar.nan_to_num({0}, {nan}, {posinf}, {neginf})")


@tensor_method
def nan_to_num(input: Tensor, nan: float = 0.0, posinf: Optional[float] = None,
               neginf: Optional[float] = None) -> Tensor:
    """Replace NaN with ``nan`` and ±inf with ``posinf``/``neginf`` (default: the dtype's range)."""
    return apply(NAN_TO_NUM, require_tensor("nan_to_num", input), nan=nan, posinf=posinf,
                 neginf=neginf)


# ---------------------------------------------------------------- binary ops
def binary_operands(name: str, a: Any, b: Any, dtype: Optional[np.dtype] = None) -> tuple:
    """Promote two operands (tensors or scalars) to one dtype, PyTorch's way."""
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        da, db = a._data.dtype, b._data.dtype
        if da == db and dtype is None:
            return a, b
        if a._device is not b._device:
            raise op_error(RuntimeError, name, "Expected all tensors to be on the same device, but "
                           f"found at least two devices, {a.device} and {b.device}!")
    elif not isinstance(a, Tensor) and not isinstance(b, Tensor):
        raise op_error(TypeError, name, f"expected at least one Tensor operand, got "
                       f"{type(a).__name__} and {type(b).__name__}")
    d = promote(name, a, b) if dtype is None else dtype
    return _operand(a, d), _operand(b, d)


def _operand(x: Any, d: np.dtype) -> Tensor:
    """A tensor operand cast to ``d``; a scalar becomes a constant tensor (the fast apply path)."""
    if isinstance(x, Tensor):
        return cast(x, d)
    return Tensor._wrap(scalar_array(x, d))


def _binary(name: str, fn: Callable, expr: str, vjp: Optional[Callable], *,
            out_dtype: Optional[np.dtype] = None, to_float: bool = False, quiet: bool = False,
            save_inputs: bool = True, save_output: bool = False, no_float: bool = False,
            float_only: bool = False, amp: Optional[str] = None, complex: bool = False,
            doc: str = "") -> tuple:
    forward = (lambda xp, x, y: fn(x, y))
    if out_dtype is None:
        forward = in_float32(forward, name)
    if quiet:
        forward = _quiet(forward)

    def meta(x: Any, y: Any) -> tuple:
        if no_float and (is_float(x.dtype) or is_float(y.dtype)):
            raise op_error(RuntimeError, name, "only integral and boolean inputs are supported",
                           x, y)
        if float_only and not is_float(x.dtype):
            raise op_error(NotImplementedError, name, f'"{name}_cpu" not implemented for '
                           f"'{_dt.from_numpy_dtype(x.dtype).name}' (floating-point inputs only)",
                           x, y)
        return broadcast_shapes(name, x, y), out_dtype or x.dtype

    kind = "elementwise" if expr else "opaque"
    op = defop(name, forward, meta, vjp, kind=kind, expr=expr, amp=amp,
               save_inputs=save_inputs and vjp is not None, save_output=save_output, doc=doc,
               complex=complex)

    def operands(a: Any, b: Any) -> tuple:
        a, b = binary_operands(name, a, b)
        d = a._data.dtype if isinstance(a, Tensor) else getattr(a, "dtype", BOOL)
        if to_float and not is_float(d) and not (complex and d.kind == "c"):
            f = _dt.get_default_dtype().np
            a, b = cast(a, f), cast(b, f)
        return a, b

    def front(input: Any, other: Any) -> Tensor:
        if type(input) is Tensor and not to_float:
            if type(other) is Tensor:
                if input._data.dtype == other._data.dtype:
                    return apply(op, input, other)
            elif _keeps_dtype(input._data.dtype, other):
                return apply(op, input, Tensor._wrap(scalar_array(other, input._data.dtype)))
        elif type(other) is Tensor and not to_float and _keeps_dtype(other._data.dtype, input):
            return apply(op, Tensor._wrap(scalar_array(input, other._data.dtype)), other)
        return apply(op, *operands(input, other))

    def front_(self: Tensor, other: Any) -> Tensor:
        a, b = operands(self, other)
        return apply_inplace(op, self, b)

    front.__name__ = front.__qualname__ = name
    front.__doc__ = doc or f"Elementwise ``{name}`` of ``input`` and ``other`` (broadcast)."
    front_.__name__ = front_.__qualname__ = name + "_"
    front_.__doc__ = f"In-place :func:`{name}`."
    tensor_method(front)
    tensor_method(front_)
    return op, front, front_


def _keeps_dtype(d: np.dtype, scalar: Any) -> bool:
    """Whether a Python scalar leaves a tensor's dtype unchanged (the common fast path)."""
    t = type(scalar)
    return (t is float or t is int) and is_float(d) or t is int and d.kind in "iu"


def _add_vjp(ctx: Any, g: Tensor) -> tuple:
    return g, g


def _sub_vjp(ctx: Any, g: Tensor) -> tuple:
    return g, -g


def _mul_vjp(ctx: Any, g: Tensor) -> tuple:
    x, y = ctx.inputs
    need = ctx.needs_input_grad
    return (g * y.conj() if need[0] else None), (g * x.conj() if need[1] else None)


def _div_vjp(ctx: Any, g: Tensor) -> tuple:
    x, y = ctx.inputs
    gx = g / y.conj()
    return gx, (-gx * (x / y).conj() if ctx.needs_input_grad[1] else None)


def _pow_vjp(ctx: Any, g: Tensor) -> tuple:
    x, y = ctx.inputs
    need = ctx.needs_input_grad
    gx = gy = None
    if x.is_complex():  # no branch at 0 to guard: comparisons are undefined on complex values
        gx = (g * (y * x ** (y - 1)).conj()) if need[0] else None
        gy = (g * (x ** y * x.log()).conj()) if need[1] else None
        return gx, gy
    if need[0]:
        gx = where(y == 0, 0.0, g * y * x ** (y - 1))
    if need[1]:
        out = x ** y
        gy = where((x == 0) & (y >= 0), 0.0, g * out * x.log())
    return gx, gy


def _maxmin_vjp(ctx: Any, g: Tensor) -> tuple:
    x, y = ctx.inputs
    pick_x = (x > y) if ctx.op in (MAXIMUM, FMAX) else (x < y)
    tie = x == y
    half = g / 2
    gx = where(tie, half, where(pick_x, g, 0.0))
    gy = where(tie, half, where(pick_x, 0.0, g))
    return gx, gy


def _atan2_vjp(ctx: Any, g: Tensor) -> tuple:
    y, x = ctx.inputs
    d = x * x + y * y
    return g * x / d, -g * y / d


def _fmod_vjp(ctx: Any, g: Tensor) -> tuple:
    x, y = ctx.inputs
    return g, (-g * (x / y).trunc() if ctx.needs_input_grad[1] else None)


def _remainder_vjp(ctx: Any, g: Tensor) -> tuple:
    x, y = ctx.inputs
    return g, (-g * (x / y).floor() if ctx.needs_input_grad[1] else None)


def _remainder_np(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.remainder(x, y) if is_float(x.dtype) else np.mod(x, y)


ADD, _add, _add_ = _binary("add", np.add, "{0} + {1}", _add_vjp, save_inputs=False,
                           complex=True)
SUB, _sub, _sub_ = _binary("sub", np.subtract, "{0} - {1}", _sub_vjp, save_inputs=False,
                           complex=True)
MUL, mul, mul_ = _binary("mul", np.multiply, "{0} * {1}", _mul_vjp, complex=True)
DIV, _true_divide, _ = _binary("div", np.true_divide, "{0} / {1}", _div_vjp, to_float=True,
                               quiet=True, complex=True)
POW, _pow, _pow_ = _binary("pow", np.power, "{0} ** {1}", _pow_vjp, quiet=True, amp="fp32",
                           complex=True)
MAXIMUM, maximum, _ = _binary("maximum", np.maximum, "max({0}, {1})", _maxmin_vjp)
MINIMUM, minimum, _ = _binary("minimum", np.minimum, "min({0}, {1})", _maxmin_vjp)
ATAN2, atan2, atan2_ = _binary("atan2", np.arctan2, "math.atan2({0}, {1})", _atan2_vjp,
                               to_float=True)
arctan2 = atan2
FMOD, fmod, fmod_ = _binary("fmod", np.fmod, "math.fmod({0}, {1})", _fmod_vjp, quiet=True)
REMAINDER, remainder, remainder_ = _binary("remainder", _remainder_np, "{0} % {1}",
                                           _remainder_vjp, quiet=True)
FLOOR_DIVIDE, floor_divide, floor_divide_ = _binary("floor_divide", np.floor_divide,
                                                    "{0} // {1}", lambda c, g: (g * 0, g * 0),
                                                    quiet=True, save_inputs=False)
EQ, eq, _ = _binary("eq", np.equal, "{0} == {1}", None, out_dtype=BOOL, quiet=True,
                    complex=True)
NE, ne, _ = _binary("ne", np.not_equal, "{0} != {1}", None, out_dtype=BOOL, quiet=True,
                    complex=True)
LT, lt, _ = _binary("lt", np.less, "{0} < {1}", None, out_dtype=BOOL, quiet=True)
LE, le, _ = _binary("le", np.less_equal, "{0} <= {1}", None, out_dtype=BOOL, quiet=True)
GT, gt, _ = _binary("gt", np.greater, "{0} > {1}", None, out_dtype=BOOL, quiet=True)
GE, ge, _ = _binary("ge", np.greater_equal, "{0} >= {1}", None, out_dtype=BOOL, quiet=True)
less, less_equal, greater, greater_equal, not_equal = lt, le, gt, ge, ne
LOGICAL_AND, logical_and, _ = _binary("logical_and", np.logical_and, "{0} and {1}", None,
                                      out_dtype=BOOL)
LOGICAL_OR, logical_or, _ = _binary("logical_or", np.logical_or, "{0} or {1}", None,
                                    out_dtype=BOOL)
LOGICAL_XOR, logical_xor, _ = _binary("logical_xor", np.logical_xor, "bool({0}) != bool({1})",
                                      None, out_dtype=BOOL)
BITWISE_AND, bitwise_and, bitwise_and_ = _binary("bitwise_and", np.bitwise_and, "{0} & {1}", None,
                                                 no_float=True)
BITWISE_OR, bitwise_or, bitwise_or_ = _binary("bitwise_or", np.bitwise_or, "{0} | {1}", None,
                                              no_float=True)
BITWISE_XOR, bitwise_xor, bitwise_xor_ = _binary("bitwise_xor", np.bitwise_xor, "{0} ^ {1}",
                                                 None, no_float=True)
FMAX, fmax, _ = _binary("fmax", np.fmax, "max({0}, {1})", _maxmin_vjp)
FMIN, fmin, _ = _binary("fmin", np.fmin, "min({0}, {1})", _maxmin_vjp)


def _hypot_vjp(ctx: Any, g: Tensor) -> tuple:
    x, y = ctx.inputs
    return g * x / ctx.out, g * y / ctx.out


def _copysign_vjp(ctx: Any, g: Tensor) -> tuple:
    x = ctx.inputs[0]
    return where(x == 0, 0.0, g * ctx.out / x), g * 0


def _logaddexp_vjp(ctx: Any, g: Tensor) -> tuple:
    x, y = ctx.inputs
    scale = _LN2 if ctx.op is LOGADDEXP2 else 1.0
    return g * ((x - ctx.out) * scale).exp(), g * ((y - ctx.out) * scale).exp()


def _shift(fn: Callable, fill_right: bool) -> Callable:
    """Shifts by a negative count or by the bit width or more give 0 (or -1 for a negative
    value shifted right), as PyTorch's kernels do, instead of C's undefined behaviour."""

    def shifted(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        bits = x.dtype.itemsize * 8
        bad = (y < 0) | (y >= bits)
        out = fn(x, np.where(bad, 0, y).astype(x.dtype))
        fill = np.where(x < 0, -1, 0).astype(x.dtype) if fill_right else 0
        return np.where(bad, fill, out)

    return shifted


def _heaviside_np(x: np.ndarray, values: np.ndarray) -> np.ndarray:
    return np.where(x == 0, values, (x > 0).astype(x.dtype))


HYPOT, hypot, hypot_ = _binary("hypot", np.hypot, "math.hypot({0}, {1})", _hypot_vjp,
                               float_only=True, save_output=True)
COPYSIGN, copysign, copysign_ = _binary("copysign", np.copysign, "math.copysign({0}, {1})",
                                        _copysign_vjp, to_float=True, save_output=True)
LOGADDEXP, logaddexp, _ = _binary("logaddexp", np.logaddexp,
                                  "max({0}, {1}) + math.log1p(math.exp(-abs({0} - {1})))",
                                  _logaddexp_vjp, float_only=True, save_output=True, quiet=True)
LOGADDEXP2, logaddexp2, _ = _binary("logaddexp2", np.logaddexp2,
                                    "max({0}, {1}) + math.log2(1.0 + 2.0 ** -abs({0} - {1}))",
                                    _logaddexp_vjp, float_only=True, save_output=True, quiet=True)
def _xlogy_np(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.where((x == 0) & ~np.isnan(y), 0, x * np.log(y))


def _xlogy_vjp(ctx: Any, g: Tensor) -> tuple:
    x, y = ctx.inputs
    # torch's: d/dx is log(y) even where x == 0, but 0 where y <= 0 there too
    return where((x == 0) & (y <= 0), 0.0, xlogy(g, y)), g * x / y


XLOGY, xlogy, xlogy_ = _binary(
    "xlogy", _xlogy_np, "(0.0 if {0} == 0 and {1} == {1} else {0} * math.log({1}))",
    _xlogy_vjp, to_float=True, quiet=True,
    doc="``input * log(other)``, 0 where ``input`` is 0 (unless ``other`` is NaN).")
HEAVISIDE, heaviside, heaviside_ = _binary("heaviside", _heaviside_np,
                                           "({1} if {0} == 0 else float({0} > 0))", None)
# integer-only ops have no scalar expr (Python's shifts and math.gcd differ on these inputs),
# so they stay out of fused kernels
SHL, bitwise_left_shift, bitwise_left_shift_ = _binary(
    "bitwise_left_shift", _shift(np.left_shift, False), "", None, no_float=True)
SHR, bitwise_right_shift, bitwise_right_shift_ = _binary(
    "bitwise_right_shift", _shift(np.right_shift, True), "", None, no_float=True)
GCD, gcd, gcd_ = _binary("gcd", np.gcd, "", None, no_float=True)
LCM, lcm, lcm_ = _binary("lcm", np.lcm, "", None, no_float=True)
for _name in ("logaddexp_", "logaddexp2_", "fmax_", "fmin_"):  # PyTorch has no such methods
    _TM.pop(_name, None)
for _name, _fn in (("__lshift__", bitwise_left_shift), ("__rshift__", bitwise_right_shift),
                   ("__ilshift__", bitwise_left_shift_), ("__irshift__", bitwise_right_shift_)):
    tensor_method(_fn, name=_name)


@tensor_method
def add(input: Any, other: Any, *, alpha: Any = 1) -> Tensor:
    """``input + alpha * other``, broadcast and type-promoted."""
    return _add(input, other if alpha == 1 else other * alpha)


@tensor_method
def add_(self: Tensor, other: Any, *, alpha: Any = 1) -> Tensor:
    return _add_(self, other if alpha == 1 else other * alpha)


@tensor_method
def sub(input: Any, other: Any, *, alpha: Any = 1) -> Tensor:
    """``input - alpha * other``."""
    if isinstance(input, Tensor) and input._data.dtype == BOOL:
        raise op_error(RuntimeError, "sub", "Subtraction, the `-` operator, with two bool tensors "
                       "is not supported. Use the `^` or `logical_xor()` operator instead.")
    return _sub(input, other if alpha == 1 else other * alpha)


@tensor_method
def sub_(self: Tensor, other: Any, *, alpha: Any = 1) -> Tensor:
    return _sub_(self, other if alpha == 1 else other * alpha)


subtract, multiply = sub, mul


def rsub(input: Tensor, other: Any, *, alpha: Any = 1) -> Tensor:
    """``other - alpha * input``: subtraction with the operands swapped."""
    return sub(other, input, alpha=alpha)


@tensor_method
def div(input: Any, other: Any, *, rounding_mode: Optional[str] = None) -> Tensor:
    """``input / other``; ``rounding_mode`` ``'trunc'`` or ``'floor'`` rounds the quotient."""
    if rounding_mode is None:
        return _true_divide(input, other)
    if rounding_mode == "floor":
        a, b = binary_operands("div", input, other)
        if is_float(a.dtype if isinstance(a, Tensor) else b.dtype):
            return floor(_true_divide(a, b))
        return floor_divide(a, b)
    if rounding_mode == "trunc":
        a, b = binary_operands("div", input, other)
        q = trunc(_true_divide(a, b))
        return q if is_float(q._data.dtype) and is_float(
            a.dtype if isinstance(a, Tensor) else b.dtype) else to_dtype(q, promote("div", a, b))
    raise op_error(ValueError, "div", f"expected rounding_mode to be one of None, 'trunc', or "
                   f"'floor' but found '{rounding_mode}'")


@tensor_method
def div_(self: Tensor, other: Any, *, rounding_mode: Optional[str] = None) -> Tensor:
    if rounding_mode is None and not is_float(self._data.dtype):
        raise op_error(RuntimeError, "div_", "result type Float can't be cast to the desired "
                       f"output type {self.dtype.name}", self._data)
    if rounding_mode is None:
        return apply_inplace(DIV, self, binary_operands("div", self, other)[1])
    return copy_(self, div(self, other, rounding_mode=rounding_mode))


divide, true_divide = div, _true_divide


@tensor_method
def pow(input: Any, exponent: Any) -> Tensor:
    """``input ** exponent`` (tensor or scalar exponent)."""
    if isinstance(exponent, (int, float)) and isinstance(input, Tensor) and not isinstance(
            exponent, bool):
        if exponent == 2:
            return square(input) if is_float(input._data.dtype) else _pow(input, exponent)
        if isinstance(exponent, int) and exponent < 0 and not is_float(input._data.dtype):
            raise op_error(RuntimeError, "pow", "Integers to negative integer powers are not "
                           "allowed.", input._data)
    return _pow(input, exponent)


@tensor_method
def pow_(self: Tensor, exponent: Any) -> Tensor:
    return _pow_(self, exponent)


def _where_meta(c: Any, x: Any, y: Any) -> tuple:
    if c.dtype != BOOL:
        raise op_error(RuntimeError, "where", f"where expected condition to be a boolean tensor, "
                       f"but got a tensor with dtype {c.dtype}", c)
    return broadcast_shapes("where", c, x, y), x.dtype


def _where_vjp(ctx: Any, g: Tensor) -> tuple:
    (c,) = ctx.inputs[:1]
    zero = g * 0
    need = ctx.needs_input_grad
    return (None, where(c, g, zero) if need[1] else None, where(c, zero, g) if need[2] else None)


WHERE = defop("where", _kernels.where, _where_meta, _where_vjp, kind="elementwise",
              expr="({1} if {0} else {2})", complex=True)


@tensor_method
def where(condition: Tensor, input: Any = None, other: Any = None) -> Any:
    """Elements of ``input`` where ``condition`` is true, else of ``other``.

    With only ``condition``, the same as ``nonzero(condition, as_tuple=True)``.
    """
    if input is None and other is None:
        from .indexing import nonzero

        return nonzero(condition, as_tuple=True)
    c = require_tensor("where", condition, "condition")
    x, y = binary_operands("where", input, other)
    return apply(WHERE, c, x, y)


def _clamp_meta(x: Any, lo: Any, hi: Any) -> tuple:
    return broadcast_shapes("clamp", x, lo, hi), x.dtype


def _clamp_vjp(ctx: Any, g: Tensor) -> tuple:
    x, lo, hi = ctx.inputs
    need = ctx.needs_input_grad
    zero = g * 0
    gx = where((x >= lo) & (x <= hi), g, zero) if need[0] else None
    glo = where(x < lo, g, zero) if need[1] else None
    ghi = where(x > hi, g, zero) if need[2] else None
    return gx, glo, ghi


CLAMP = defop("clamp", lambda xp, x, lo, hi: xp.minimum(xp.maximum(x, lo), hi), _clamp_meta,
              _clamp_vjp, kind="elementwise", expr="min(max({0}, {1}), {2})")


def _clamp_operands(x: Tensor, min: Any, max: Any) -> tuple:
    if min is None and max is None:
        raise op_error(RuntimeError, "clamp", "At least one of 'min' or 'max' must not be None")
    d = promote("clamp", x, *(b for b in (min, max) if b is not None))
    if d.kind == "c":
        raise op_error(RuntimeError, "clamp", "clamp is not supported for complex types", x._data)
    x = cast(x, d)
    if is_float(d):
        lo = cast(-np.inf if min is None else min, d)
        hi = cast(np.inf if max is None else max, d)
    else:
        info = np.iinfo(d) if d != BOOL else None
        lo = cast((info.min if info else False) if min is None else min, d)
        hi = cast((info.max if info else True) if max is None else max, d)
    return x, lo, hi


@tensor_method
def clamp(input: Tensor, min: Any = None, max: Any = None) -> Tensor:
    """Limit ``input`` to ``[min, max]`` (scalars or tensors; either may be None)."""
    return apply(CLAMP, *_clamp_operands(require_tensor("clamp", input), min, max))


@tensor_method
def clamp_(self: Tensor, min: Any = None, max: Any = None) -> Tensor:
    x, lo, hi = _clamp_operands(self, min, max)
    return apply_inplace(CLAMP, self, lo, hi)


clip, clip_ = clamp, clamp_
tensor_method(clip)
tensor_method(clip_)


@tensor_method
def clamp_min(input: Tensor, min: Any) -> Tensor:
    return clamp(input, min=min)


@tensor_method
def clamp_max(input: Tensor, max: Any) -> Tensor:
    return clamp(input, max=max)


@tensor_method
def lerp(input: Tensor, end: Tensor, weight: Any) -> Tensor:
    """``input + weight * (end - input)``."""
    return input + weight * (end - input)


@tensor_method
def addcmul(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value: Any = 1) -> Tensor:
    """``input + value * tensor1 * tensor2``."""
    return input + (tensor1 * tensor2 if value == 1 else value * tensor1 * tensor2)


@tensor_method
def addcdiv(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value: Any = 1) -> Tensor:
    """``input + value * tensor1 / tensor2``."""
    return input + (tensor1 / tensor2 if value == 1 else value * tensor1 / tensor2)


def _as_float(name: str, input: Any) -> Tensor:
    x = require_tensor(name, input)
    return x if is_float(x._data.dtype) else cast(x, _dt.get_default_dtype().np)


@tensor_method
def acosh(input: Tensor) -> Tensor:
    """Inverse hyperbolic cosine, ``log(x + sqrt(x^2 - 1))`` (NaN below 1)."""
    x = _as_float("acosh", input)
    return log(x + sqrt(x * x - 1))


@tensor_method
def atanh(input: Tensor) -> Tensor:
    """Inverse hyperbolic tangent, ``(log1p(x) - log1p(-x)) / 2``."""
    x = _as_float("atanh", input)
    return (log1p(x) - log1p(-x)) * 0.5


arccosh, arctanh = acosh, atanh


@tensor_method
def float_power(input: Any, exponent: Any) -> Tensor:
    """``input ** exponent`` computed in float64."""
    f64 = np.dtype(np.float64)
    return pow(cast(input, f64) if isinstance(input, Tensor) else float(input),
               cast(exponent, f64) if isinstance(exponent, Tensor) else exponent)


@tensor_method
def ldexp(input: Tensor, other: Tensor) -> Tensor:
    """``input * 2 ** other``."""
    return mul(input, pow(2.0, other))


@tensor_method
def deg2rad(input: Tensor) -> Tensor:
    """Degrees to radians."""
    return _as_float("deg2rad", input) * (math.pi / 180)


@tensor_method
def rad2deg(input: Tensor) -> Tensor:
    """Radians to degrees."""
    return _as_float("rad2deg", input) * (180 / math.pi)


@tensor_method
def sinc(input: Tensor) -> Tensor:
    """The normalized sinc, ``sin(pi x) / (pi x)``, 1 at 0."""
    x = _as_float("sinc", input) * math.pi
    safe = where(x == 0, 1.0, x)
    return where(x == 0, 1.0, sin(safe) / safe)


@tensor_method
def signbit(input: Tensor) -> Tensor:
    """Whether the sign bit is set (true for -0.0)."""
    x = require_tensor("signbit", input)
    if not is_float(x._data.dtype):
        return x < 0
    return copysign(1.0, x) < 0


@tensor_method
def isposinf(input: Tensor) -> Tensor:
    """Whether each element is +inf."""
    return eq(require_tensor("isposinf", input), math.inf)


@tensor_method
def isneginf(input: Tensor) -> Tensor:
    """Whether each element is -inf."""
    return eq(require_tensor("isneginf", input), -math.inf)


@tensor_method
def isreal(input: Tensor) -> Tensor:
    """Whether each element is real: a zero imaginary part (always, for real dtypes)."""
    x = require_tensor("isreal", input)
    if x.is_complex():
        return x.imag == 0
    from .._creation import ones_like

    return ones_like(x, dtype=_dt.bool_)


@tensor_method
def positive(input: Tensor) -> Tensor:
    """``input`` itself (an error for bool tensors, as in PyTorch)."""
    x = require_tensor("positive", input)
    if x._data.dtype == BOOL:
        raise op_error(TypeError, "positive", "The `+` operator, on a bool tensor is not "
                       "supported.", x._data)
    return x


@tensor_method
def sgn_(self: Tensor) -> Tensor:
    """In-place :func:`sgn`."""
    return self.copy_(sgn(self)) if self.is_complex() else sign_(self)


@tensor_method
def sgn(input: Tensor) -> Tensor:
    """``input / |input|`` for complex tensors (0 at 0); :func:`sign` for real ones."""
    x = require_tensor("sgn", input)
    if not x.is_complex():
        return sign(x)
    a = abs(x)
    return x / where(a == 0, 1.0, a)


@tensor_method
def isclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08,
            equal_nan: bool = False) -> Tensor:
    """Elementwise ``|input - other| <= atol + rtol * |other|`` (infinities equal themselves)."""
    a = require_tensor("isclose", input)
    b = require_tensor("isclose", other, "other")
    if a._data.dtype != b._data.dtype:
        raise op_error(RuntimeError, "isclose", f"{a.dtype.name} did not match {b.dtype.name}",
                       a._data, b._data)
    if rtol < 0 or atol < 0:
        raise op_error(RuntimeError, "isclose", f"rtol and atol must be non-negative, got "
                       f"rtol={rtol}, atol={atol}")
    a, b = a.detach(), b.detach()
    close = eq(a, b)
    if not is_float(a._data.dtype) and a._data.dtype == BOOL:
        return close
    fa, fb = (a, b) if is_float(a._data.dtype) else (cast(a, np.dtype(np.float64)),
                                                     cast(b, np.dtype(np.float64)))
    close = close | (isfinite(fa) & isfinite(fb) & (abs(fa - fb) <= atol + rtol * abs(fb)))
    if equal_nan:
        close = close | (isnan(fa) & isnan(fb))
    return close


@tensor_method
def allclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08,
             equal_nan: bool = False) -> bool:
    """Whether :func:`isclose` holds everywhere (shapes broadcast)."""
    return bool(isclose(input, other, rtol, atol, equal_nan).all())


@tensor_method
def equal(input: Tensor, other: Tensor) -> bool:
    """Whether both tensors have the same shape and elements."""
    a = require_tensor("equal", input)
    b = require_tensor("equal", other, "other")
    return a.shape == b.shape and bool(eq(a.detach(), b.detach()).all())


@tensor_method
def is_nonzero(input: Tensor) -> bool:
    """Whether a one-element tensor is nonzero."""
    x = require_tensor("is_nonzero", input)
    if x.numel() != 1:
        raise op_error(RuntimeError, "is_nonzero", "Boolean value of Tensor with "
                       f"{'no values' if x.numel() == 0 else 'more than one value'} is ambiguous",
                       x._data)
    return bool(x.item())


def isin(elements: Any, test_elements: Any, *, assume_unique: bool = False,
         invert: bool = False) -> Tensor:
    """Whether each of ``elements`` is in ``test_elements``."""
    if not isinstance(elements, Tensor) and not isinstance(test_elements, Tensor):
        raise op_error(TypeError, "isin", "expected elements or test_elements to be a Tensor")
    a, b = binary_operands("isin", elements, test_elements)
    hit = eq(a.detach().unsqueeze(-1), b.detach().reshape(-1)).any(-1)
    return ~hit if invert else hit


def _inplace_of(name: str, fn: Callable) -> Callable:
    """The in-place variant of a composition: its result written back with ``copy_``. While
    autograd records, the composition reads a copy of ``self``, which its backward may save
    (``xlogy_`` saves ``self``): overwriting ``self`` must not change what was saved."""

    def front_(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        x = require_tensor(name + "_", self)
        records = STATE.enabled and any(isinstance(a, Tensor) and a.requires_grad
                                        for a in (x, *args, *kwargs.values()))
        out = fn(x.clone() if records else x, *args, **kwargs)
        if out.shape != self.shape:
            raise op_error(RuntimeError, name + "_", f"output with shape {list(self.shape)} "
                           f"doesn't match the broadcast shape {list(out.shape)}", self._data)
        if not np.can_cast(out._data.dtype, self._data.dtype, "same_kind"):
            raise op_error(RuntimeError, name + "_", f"result type {out.dtype.name} can't be "
                           f"cast to the desired output type {self.dtype.name}", self._data)
        return copy_(self, out)

    front_.__name__ = front_.__qualname__ = name + "_"
    front_.__doc__ = f"In-place :func:`{name}`."
    return tensor_method(front_)


for _name in ("lerp", "addcmul", "addcdiv", "clamp_min", "clamp_max", "float_power", "ldexp",
              "deg2rad", "rad2deg", "sinc", "acosh", "atanh", "round", "nan_to_num", "logit",
              "digamma"):
    globals()[_name + "_"] = _inplace_of(_name, globals()[_name])
_inplace_of("polygamma", lambda self, n: polygamma(n, self))
# aliases that PyTorch also binds as Tensor methods
for _alias, _fn in (("absolute", abs), ("absolute_", abs_), ("negative", neg),
                    ("negative_", neg_), ("arccos", acos), ("arccos_", acos_), ("arcsin", asin),
                    ("arcsin_", asin_), ("arctan", atan), ("arctan_", atan_),
                    ("arcsinh", asinh), ("arcsinh_", asinh_), ("arccosh", acosh),
                    ("arctanh", atanh), ("arctan2", atan2), ("arctan2_", atan2_),
                    ("fix", trunc), ("fix_", trunc_), ("multiply", mul), ("multiply_", mul_),
                    ("subtract", sub), ("subtract_", sub_), ("divide", div),
                    ("divide_", div_), ("true_divide", _true_divide),
                    ("greater", gt), ("greater_equal", ge), ("less", lt), ("less_equal", le),
                    ("not_equal", ne), ("clip", clamp), ("clip_", clamp_)):
    tensor_method(_fn, name=_alias)


@tensor_method
def copy_(self: Tensor, src: Any, non_blocking: bool = False) -> Tensor:
    """Copy ``src`` (broadcast, converted to this dtype) into this tensor, in place."""
    if not isinstance(src, Tensor):
        src = cast(src, self._data.dtype)
    elif src._data.dtype.kind == "c" and self._data.dtype.kind != "c":
        warnings.warn("Casting complex values to real discards the imaginary part",
                      UserWarning, stacklevel=2)
        src = src.real
    return apply_inplace(COPY, self, src)


def _copy_meta(dst: Any, src: Any) -> tuple:
    broadcast_shapes("copy_", dst, src)
    return dst.shape, dst.dtype


def _copy_forward(xp: Any, dst: Any, src: Any) -> Any:
    if dst.dtype in _dt.FLOAT8_NP and src.dtype != dst.dtype:  # PyTorch's float8 rounding
        return _kernels.float8_astype(xp.broadcast_to(src, dst.shape), dst.dtype)
    return xp.broadcast_to(src, dst.shape).astype(dst.dtype, copy=False)


COPY = defop("copy", _copy_forward, _copy_meta, lambda c, g: (g * 0, g), kind="elementwise",
             expr="{1}", save_inputs=False, complex=True)


@tensor_method
def fill_(self: Tensor, value: Any) -> Tensor:
    """Fill with ``value`` in place."""
    if isinstance(value, Tensor):
        if value.dim() != 0:
            raise op_error(RuntimeError, "fill_", "fill_ only supports 0-dimension value tensor "
                           f"but got tensor with {value.dim()} dimensions.")
        return copy_(self, value)
    return copy_(self, np.asarray(value, dtype=self._data.dtype))


@tensor_method
def zero_(self: Tensor) -> Tensor:
    """Fill with zeros in place."""
    return fill_(self, 0)


@tensor_method
def fill_diagonal_(self: Tensor, fill_value: Any, wrap: bool = False) -> Tensor:
    """Fill the main diagonal (``i, i, ...``) with ``fill_value`` in place; a tall matrix's
    diagonal restarts below each square block when ``wrap``."""
    x = require_tensor("fill_diagonal_", self)
    if x.ndim < 2:
        raise op_error(RuntimeError, "fill_diagonal_", "dimensions must larger than 1", x._data)
    if x.ndim > 2 and len(set(x.shape)) != 1:
        raise op_error(RuntimeError, "fill_diagonal_", "all dimensions of input must be of equal "
                       "length", x._data)
    mask = np.zeros(x.shape, bool)
    np.fill_diagonal(mask, True, wrap=wrap)
    return x.masked_fill_(Tensor._wrap(mask, x._device), fill_value)


# ---------------------------------------------------------------- Python operators
def _reflect(fn: Callable) -> Callable:
    return lambda self, other: fn(other, self)


def _inplace_op(fn_: Callable) -> Callable:
    return lambda self, other: fn_(self, other)


_OPERATORS = {
    "__add__": _add, "__radd__": _reflect(_add), "__iadd__": add_,
    "__sub__": sub, "__rsub__": _reflect(sub), "__isub__": sub_,
    "__mul__": mul, "__rmul__": _reflect(mul), "__imul__": mul_,
    "__truediv__": div, "__rtruediv__": _reflect(div), "__itruediv__": div_,
    "__floordiv__": lambda a, b: div(a, b, rounding_mode="floor"),
    "__rfloordiv__": lambda a, b: div(b, a, rounding_mode="floor"),
    "__mod__": remainder, "__rmod__": _reflect(remainder), "__imod__": remainder_,
    "__pow__": pow, "__rpow__": _reflect(pow), "__ipow__": pow_,
    "__and__": bitwise_and, "__rand__": _reflect(bitwise_and), "__iand__": bitwise_and_,
    "__or__": bitwise_or, "__ror__": _reflect(bitwise_or), "__ior__": bitwise_or_,
    "__xor__": bitwise_xor, "__rxor__": _reflect(bitwise_xor), "__ixor__": bitwise_xor_,
    "__eq__": eq, "__ne__": ne, "__lt__": lt, "__le__": le, "__gt__": gt, "__ge__": ge,
}
for _name, _fn in _OPERATORS.items():
    tensor_method(_fn, name=_name)
tensor_method(neg, name="__neg__")
tensor_method(abs, name="__abs__")
tensor_method(bitwise_not, name="__invert__")
tensor_method(lambda self: self, name="__pos__")


@tensor_method
def bitwise_not_(self: Tensor) -> Tensor:
    """In-place :func:`bitwise_not`."""
    return apply_inplace(BITWISE_NOT, require_tensor("bitwise_not_", self))


@tensor_method
def true_divide_(self: Tensor, other: Any) -> Tensor:
    """In-place true division (:meth:`div_` without a rounding mode)."""
    return div_(self, other)


# in-place spellings of the aliases above, which PyTorch also binds as Tensor methods
for _alias, _name in (("greater_", "gt_"), ("greater_equal_", "ge_"), ("less_", "lt_"),
                      ("less_equal_", "le_"), ("not_equal_", "ne_"), ("arccosh_", "acosh_"),
                      ("arctanh_", "atanh_")):
    tensor_method(_TM[_name], name=_alias)
