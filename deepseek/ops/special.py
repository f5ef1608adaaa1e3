"""Primitives of ``torch.special`` that NumPy lacks: the error-function family, the normal
distribution, modified Bessel functions, incomplete gamma, Hurwitz zeta, Airy's Ai, the orthogonal
polynomials and friends. Forwards are vectorized NumPy or Numba in float64 (rounded once to the
input's dtype; the polynomials compute in it, as PyTorch does); vjps are written in Tensor ops."""

from __future__ import annotations

import math
from collections import namedtuple
from typing import Any, Callable, Optional

import numpy as np

from .. import dtypes as _dt
from .._errors import op_error
from ..tensor import Tensor
from ._common import LOWP, broadcast_shapes, cast, is_float, require_tensor
from ._opdef import apply, apply_inplace, defop, tensor_method
from .elementwise import (_inplace_of, binary_operands, exp, lgamma, log, sign, square,
                          where)
from .elementwise import pow as power
from ._polynomials import FAMILIES, polynomial, polynomial_derivative
from ._special import airy_ai as airy_ai_np
from ._special import airy_ai_prime as airy_ai_prime_np
from ._special_kernels import (_SQRT_2PI, _SQRT_HALF, _SQRT_PI, bessel_i_np, bessel_jy_np,
                               bessel_k_np, entr_np, erfcx_np, gammainc_np, log_ndtr_np, ndtr_np,
                               ndtri_np, spherical_j0_np, xlog1py_np, zeta_np)

_F64 = np.dtype(np.float64)


# ---------------------------------------------------------------- front-door helpers
def _in_float64(kernel: Callable) -> Callable:
    """An op forward running ``kernel`` on the broadcast operands, flattened, in float64
    (``apply`` rounds the result to the op's dtype); NumPy's warnings are silenced since, as in
    PyTorch, domain errors give NaN or inf."""

    def forward(xp: Any, *arrays: Any, **attrs: Any) -> Any:
        wide = np.broadcast_arrays(*(np.asarray(a, dtype=_F64) for a in arrays))
        with np.errstate(all="ignore"):
            out = kernel(*(w.reshape(-1) for w in wide), **attrs)
        return out.reshape(wide[0].shape)

    return forward


def _not_implemented(name: str, *arrays: Any) -> NotImplementedError:
    """PyTorch's error for a dtype its CPU kernel lacks (``"erfcx_cpu" not implemented …``)."""
    kernel = name.removeprefix("special_")
    return op_error(NotImplementedError, name, f"\"{kernel}_cpu\" not implemented for "
                    f"'{_dt.torch_name(arrays[0].dtype)}'", *arrays)


def _float_meta(name: str, lowp: bool = True, ints: bool = True) -> Callable:
    """The shape rule of a floating elementwise op: operands broadcast, one dtype, and the
    dtypes PyTorch refuses (float16/bfloat16 when ``not lowp``, integers when ``not ints``)."""

    def meta(*xs: Any, **attrs: Any) -> tuple:
        d = xs[0].dtype
        if (not lowp and d in LOWP) or (not ints and not is_float(d)):
            raise _not_implemented(name, *xs)
        return broadcast_shapes(name, *xs), d

    return meta


def _float_input(name: str, input: Any) -> Tensor:
    """``input`` as a floating tensor: integers and bools become the default dtype."""
    x = require_tensor(name, input)
    return x if is_float(x._data.dtype) else cast(x, _dt.get_default_dtype().np)


def _float_operands(name: str, input: Any, other: Any) -> tuple:
    """Two operands (tensors or numbers) promoted together, then to the default float dtype
    when integral."""
    a, b = binary_operands(name, input, other)
    if not is_float(a._data.dtype):
        f = _dt.get_default_dtype().np
        a, b = cast(a, f), cast(b, f)
    return a, b


def _special_unary(name: str, kernel: Callable, vjp: Optional[Callable], *, lowp: bool = True,
                   save_output: bool = False, save_inputs: bool = True) -> Any:
    return defop(name, _in_float64(kernel), _float_meta(name, lowp), vjp,
                 save_inputs=vjp is not None and save_inputs, save_output=save_output)


# ---------------------------------------------------------------- error function, normal law
_TWO_OVER_SQRT_PI = 2 / _SQRT_PI


def _entr_vjp(ctx: Any, g: Tensor) -> tuple:
    return (-g * (log(ctx.inputs[0]) + 1),)


def _erfcx_vjp(ctx: Any, g: Tensor) -> tuple:
    return (g * (2 * ctx.inputs[0] * ctx.out - _TWO_OVER_SQRT_PI),)


def _ndtr_vjp(ctx: Any, g: Tensor) -> tuple:
    x = ctx.inputs[0]
    return (g * exp(-0.5 * square(x)) * (1 / _SQRT_2PI),)


def _log_ndtr_vjp(ctx: Any, g: Tensor) -> tuple:
    # pdf / cdf; in the lower tail exp(-(out + x^2/2)) cancels x^2 ulps away, while the ratio
    # is exactly 1 / (sqrt(pi/2) erfcx(-x / sqrt 2)) with nothing to cancel
    x = ctx.inputs[0]
    tail = x < -1
    near = exp(-(ctx.out + 0.5 * square(where(tail, 0.0, x)))) * (1 / _SQRT_2PI)
    far = 1 / (erfcx(where(tail, x, -1.0) * -_SQRT_HALF) * math.sqrt(math.pi / 2))
    return (g * where(tail, far, near),)


def _ndtri_vjp(ctx: Any, g: Tensor) -> tuple:
    return (g * exp(0.5 * square(ctx.out)) * _SQRT_2PI,)


ENTR = _special_unary("special_entr", entr_np, _entr_vjp)
ERFCX = _special_unary("special_erfcx", erfcx_np, _erfcx_vjp, lowp=False, save_output=True)
NDTR = _special_unary("special_ndtr", ndtr_np, _ndtr_vjp)
LOG_NDTR = _special_unary("special_log_ndtr", log_ndtr_np, _log_ndtr_vjp, lowp=False,
                          save_output=True)
NDTRI = _special_unary("special_ndtri", ndtri_np, _ndtri_vjp, lowp=False, save_output=True,
                       save_inputs=False)


def entr(input: Tensor) -> Tensor:
    """The entropy term ``-input * log(input)``: 0 at 0 and ``-inf`` for negative input.

    Example::

        >>> ds.special.entr(ds.tensor([0.0, 0.5, 2.0]))
        tensor([ 0.0000,  0.3466, -1.3863])
    """
    return apply(ENTR, _float_input("special_entr", input))


def erfcx(input: Tensor) -> Tensor:
    """The scaled complementary error function ``exp(input**2) * erfc(input)``, accurate where
    ``erfc`` underflows (it decays like ``1 / (sqrt(pi) * input)``).

    Example::

        >>> ds.special.erfcx(ds.tensor([0.0, 1.0, 100.0]))
        tensor([1.0000, 0.4276, 0.0056])
    """
    return apply(ERFCX, _float_input("special_erfcx", input))


def ndtr(input: Tensor) -> Tensor:
    """The standard normal cumulative distribution function, accurate in both tails.

    Example::

        >>> ds.special.ndtr(ds.tensor([-1.0, 0.0, 1.0]))
        tensor([0.1587, 0.5000, 0.8413])
    """
    return apply(NDTR, _float_input("special_ndtr", input))


def log_ndtr(input: Tensor) -> Tensor:
    """The log of :func:`ndtr`, finite far into the lower tail (about ``-input**2 / 2``).

    Example::

        >>> ds.special.log_ndtr(ds.tensor([-3.0, 0.0]))
        tensor([-6.6077, -0.6931])
    """
    return apply(LOG_NDTR, _float_input("special_log_ndtr", input))


def ndtri(input: Tensor) -> Tensor:
    """The quantile function of the standard normal law, the inverse of :func:`ndtr`: ``-inf``
    at 0, ``inf`` at 1, NaN outside ``[0, 1]``.

    Example::

        >>> ds.special.ndtri(ds.tensor([0.025, 0.5, 0.975]))
        tensor([-1.9600,  0.0000,  1.9600])
    """
    return apply(NDTRI, _float_input("special_ndtri", input))


# ---------------------------------------------------------------- modified Bessel I0, I1
def _i0_vjp(ctx: Any, g: Tensor) -> tuple:
    return (g * i1(ctx.inputs[0]),)


def _i0e_vjp(ctx: Any, g: Tensor) -> tuple:
    x = ctx.inputs[0]
    return (g * (i1e(x) - sign(x) * ctx.out),)


def _i1_vjp(ctx: Any, g: Tensor) -> tuple:
    x = ctx.inputs[0]
    safe = where(x == 0, 1.0, x)
    return (g * where(x == 0, 0.5, i0(x) - ctx.out / safe),)


def _i1e_vjp(ctx: Any, g: Tensor) -> tuple:
    x = ctx.inputs[0]
    safe = where(x == 0, 1.0, x)
    return (g * where(x == 0, 0.5, i0e(x) - ctx.out * (sign(x) + 1 / safe)),)


I0 = _special_unary("i0", lambda x: bessel_i_np(x, 0, False), _i0_vjp)
I0E = _special_unary("special_i0e", lambda x: bessel_i_np(x, 0, True), _i0e_vjp,
                     save_output=True)
I1 = _special_unary("special_i1", lambda x: bessel_i_np(x, 1, False), _i1_vjp, save_output=True)
I1E = _special_unary("special_i1e", lambda x: bessel_i_np(x, 1, True), _i1e_vjp,
                     save_output=True)


@tensor_method
def i0(input: Tensor) -> Tensor:
    """The modified Bessel function of the first kind of order 0.

    Example::

        >>> ds.i0(ds.tensor([0.0, 1.0, 2.0]))
        tensor([1.0000, 1.2661, 2.2796])
    """
    return apply(I0, _float_input("i0", input))


@tensor_method
def i0_(self: Tensor) -> Tensor:
    """In-place :func:`i0`."""
    if not is_float(self._data.dtype):
        raise op_error(RuntimeError, "i0_", "result type Float can't be cast to the desired "
                       f"output type {self.dtype.name}", self._data)
    return apply_inplace(I0, self)


def i0e(input: Tensor) -> Tensor:
    """The exponentially scaled :func:`i0`, ``exp(-|input|) * i0(input)`` (finite everywhere).

    Example::

        >>> ds.special.i0e(ds.tensor([0.0, 1.0, 700.0]))
        tensor([1.0000, 0.4658, 0.0151])
    """
    return apply(I0E, _float_input("special_i0e", input))


def i1(input: Tensor) -> Tensor:
    """The modified Bessel function of the first kind of order 1.

    Example::

        >>> ds.special.i1(ds.tensor([0.0, 1.0, -2.0]))
        tensor([ 0.0000,  0.5652, -1.5906])
    """
    return apply(I1, _float_input("special_i1", input))


def i1e(input: Tensor) -> Tensor:
    """The exponentially scaled :func:`i1`, ``exp(-|input|) * i1(input)``.

    Example::

        >>> ds.special.i1e(ds.tensor([0.0, 1.0, 700.0]))
        tensor([0.0000, 0.2079, 0.0151])
    """
    return apply(I1E, _float_input("special_i1e", input))


# ---------------------------------------------------------------- small binary ops
def _xlog1py_vjp(ctx: Any, g: Tensor) -> tuple:
    x, y = ctx.inputs
    need = ctx.needs_input_grad
    gx = where((x == 0) & (y <= -1), 0.0, xlog1py(g, y)) if need[0] else None
    gy = g * x / (y + 1) if need[1] else None
    return gx, gy


XLOG1PY = defop("special_xlog1py", _in_float64(xlog1py_np), _float_meta("special_xlog1py"),
                _xlog1py_vjp)


def xlog1py(input: Any, other: Any) -> Tensor:
    """``input * log1p(other)``, 0 where ``input`` is 0 (unless ``other`` is NaN). Either may be
    a Python number; the operands broadcast.

    Example::

        >>> ds.special.xlog1py(ds.tensor([0.0, 2.0]), ds.tensor([-1.0, 1.0]))
        tensor([0.0000, 1.3863])
    """
    return apply(XLOG1PY, *_float_operands("special_xlog1py", input, other))


NEXTAFTER = defop("nextafter", lambda xp, x, y: np.nextafter(x, y),
                  _float_meta("nextafter", ints=False), lambda c, g: (g, g * 0),
                  save_inputs=False)


@tensor_method
def nextafter(input: Tensor, other: Any) -> Tensor:
    """The next floating-point value after ``input`` towards ``other``, elementwise.

    Example::

        >>> ds.nextafter(ds.tensor([1.0]), ds.tensor([2.0])) - 1
        tensor([1.1921e-07])
    """
    x = require_tensor("nextafter", input)
    return apply(NEXTAFTER, *binary_operands("nextafter", x,
                                             require_tensor("nextafter", other, "other")))


@tensor_method
def nextafter_(self: Tensor, other: Any) -> Tensor:
    """In-place :func:`nextafter`."""
    other = require_tensor("nextafter_", other, "other")
    return apply_inplace(NEXTAFTER, self, binary_operands("nextafter", self, other)[1])


# ---------------------------------------------------------------- frexp
MantissaExponent = namedtuple("frexp", ["mantissa", "exponent"])  # torch.return_types
_I32 = np.dtype(np.int32)


def _frexp_meta(x: Any, **attrs: Any) -> tuple:
    if not is_float(x.dtype):
        raise op_error(RuntimeError, "frexp", "torch.frexp() only supports floating-point dtypes",
                       x)
    return x.shape, _I32 if attrs.get("part") == "exponent" else x.dtype


def _frexp_forward(xp: Any, x: Any, part: str) -> Any:
    wide = x.astype(np.float32) if x.dtype in LOWP else x  # exact: NumPy has no bfloat16 frexp
    mantissa, exponent = np.frexp(wide)
    return exponent if part == "exponent" else mantissa


def _frexp_vjp(ctx: Any, g: Tensor) -> tuple:
    e = apply(FREXP, ctx.inputs[0].detach(), part="exponent")
    return (g * power(2.0, cast(-e, g._data.dtype)),)


FREXP = defop("frexp", _frexp_forward, _frexp_meta, _frexp_vjp)


@tensor_method
def frexp(input: Tensor) -> tuple:
    """Split ``input`` into a mantissa in ``(-1, -0.5] ∪ [0.5, 1)`` (or 0) and an int32 exponent
    with ``input == mantissa * 2**exponent``.

    Example::

        >>> ds.frexp(ds.tensor([8.0, -3.0]))
        frexp(mantissa=tensor([ 0.5000, -0.7500]), exponent=tensor([4, 2], dtype=deepseek.int32))
    """
    x = require_tensor("frexp", input)
    return MantissaExponent(apply(FREXP, x, part="mantissa"),
                            apply(FREXP, x.detach(), part="exponent"))


# ---------------------------------------------------------------- gamma-function family
def multigammaln(input: Tensor, p: int) -> Tensor:
    """The log of the multivariate gamma function of dimension ``p``:
    ``p (p - 1) / 4 * log(pi) + sum(lgamma(input - j / 2) for j in range(p))``.

    Args:
        input: the argument (finite where ``input > (p - 1) / 2``).
        p: the dimension, at least 1.

    Example::

        >>> ds.special.multigammaln(ds.tensor([2.5, 3.0]), 2)
        tensor([0.8570, 1.5502])
    """
    x = require_tensor("mvlgamma", input)
    if x._data.dtype == np.bool_:
        raise op_error(RuntimeError, "mvlgamma", "The input tensor may not be a boolean tensor.",
                       x._data)
    if not isinstance(p, int) or isinstance(p, bool) or p < 1:
        raise op_error(RuntimeError, "mvlgamma", f"p has to be greater than or equal to 1, got "
                       f"p={p!r}")
    x = _float_input("mvlgamma", x)
    out = lgamma(x)
    for j in range(1, p):
        out = out + lgamma(x - 0.5 * j)
    return out + p * (p - 1) / 4 * math.log(math.pi)


mvlgamma = multigammaln
tensor_method(mvlgamma, name="mvlgamma")
_inplace_of("mvlgamma", mvlgamma)


# ---------------------------------------------------------------- incomplete gamma, zeta
def _not_differentiable(name: str, what: str) -> NotImplementedError:
    return op_error(NotImplementedError, name, f"the derivative for '{what}' is not implemented.")


def _igamma_vjp(ctx: Any, g: Tensor) -> tuple:
    a, x = ctx.inputs
    if ctx.needs_input_grad[0]:
        raise _not_differentiable(ctx.op.name, f"{ctx.op.name}: input")
    density = exp((a - 1) * log(x) - x - lgamma(a))
    return None, (g * density if ctx.op is IGAMMA else -g * density)


IGAMMA = defop("igamma", _in_float64(gammainc_np), _float_meta("igamma", ints=False),
               _igamma_vjp)
IGAMMAC = defop("igammac", _in_float64(lambda a, x: gammainc_np(a, x, upper=True)),
                _float_meta("igammac", ints=False), _igamma_vjp)


def _gamma_operands(name: str, input: Any, other: Any) -> tuple:
    a = require_tensor(name, input)
    return binary_operands(name, a, require_tensor(name, other, "other"))


@tensor_method
def igamma(input: Tensor, other: Tensor) -> Tensor:
    """The regularized lower incomplete gamma function
    ``P(a, x) = integral(t^(a-1) e^-t, 0, x) / Gamma(a)`` of ``a = input`` and ``x = other``
    (broadcast; floating point only). Differentiable in ``other`` only, as in PyTorch.

    Example::

        >>> ds.special.gammainc(ds.tensor([1.0, 3.0]), ds.tensor([1.0, 2.0]))
        tensor([0.6321, 0.3233])
    """
    return apply(IGAMMA, *_gamma_operands("igamma", input, other))


@tensor_method
def igammac(input: Tensor, other: Tensor) -> Tensor:
    """The regularized upper incomplete gamma function ``Q(a, x) = 1 - P(a, x)``, computed
    directly so it keeps its digits where ``P`` is close to 1. See :func:`igamma`.

    Example::

        >>> ds.special.gammaincc(ds.tensor([1.0, 3.0]), ds.tensor([1.0, 2.0]))
        tensor([0.3679, 0.6767])
    """
    return apply(IGAMMAC, *_gamma_operands("igammac", input, other))


@tensor_method
def igamma_(self: Tensor, other: Tensor) -> Tensor:
    """In-place :func:`igamma`."""
    return apply_inplace(IGAMMA, self, _gamma_operands("igamma_", self, other)[1])


@tensor_method
def igammac_(self: Tensor, other: Tensor) -> Tensor:
    """In-place :func:`igammac`."""
    return apply_inplace(IGAMMAC, self, _gamma_operands("igammac_", self, other)[1])


gammainc, gammaincc = igamma, igammac


def _zeta_vjp(ctx: Any, g: Tensor) -> tuple:
    x, q = ctx.inputs
    if ctx.needs_input_grad[0]:
        raise _not_differentiable("special_zeta", "zeta")
    return None, -g * x * zeta(x + 1, q)


ZETA = defop("special_zeta", _in_float64(zeta_np), _float_meta("special_zeta", lowp=False),
             _zeta_vjp)


def zeta(input: Any, other: Any) -> Tensor:
    """The Hurwitz zeta function ``sum((k + other) ** -input for k >= 0)``: ``inf`` at
    ``input = 1`` and at non-positive integer ``other``, NaN for ``input < 1``. Either operand
    may be a Python number; differentiable in ``other`` only, as in PyTorch.

    Example::

        >>> ds.special.zeta(ds.tensor([2.0, 4.0]), 1.0)
        tensor([1.6449, 1.0823])
    """
    return apply(ZETA, *_float_operands("special_zeta", input, other))


# ---------------------------------------------------------------- Bessel functions (no vjp)
def _bessel(name: str, kernel: Callable, summary: str) -> Callable:
    """A non-differentiable Bessel front door (PyTorch records no gradient for these either)."""
    op = _special_unary("special_" + name, kernel, None, lowp=False)

    def front(input: Tensor) -> Tensor:
        return apply(op, _float_input(op.name, input))

    front.__name__ = front.__qualname__ = name
    front.__doc__ = (f"{summary}\n\n    Integer inputs become the default float dtype; float16 "
                     "and bfloat16 are refused, as in PyTorch.\n")
    return front


bessel_j0 = _bessel("bessel_j0", lambda x: bessel_jy_np(x, 0, False),
                    "The Bessel function of the first kind of order 0, ``J0``.")
bessel_j1 = _bessel("bessel_j1", lambda x: bessel_jy_np(x, 1, False),
                    "The Bessel function of the first kind of order 1, ``J1``.")
bessel_y0 = _bessel("bessel_y0", lambda x: bessel_jy_np(x, 0, True),
                    "The Bessel function of the second kind of order 0, ``Y0`` (NaN below 0).")
bessel_y1 = _bessel("bessel_y1", lambda x: bessel_jy_np(x, 1, True),
                    "The Bessel function of the second kind of order 1, ``Y1`` (NaN below 0).")
modified_bessel_i0 = _bessel("modified_bessel_i0", lambda x: bessel_i_np(x, 0, False),
                             "The modified Bessel function of the first kind of order 0 "
                             "(:func:`i0` without its gradient).")
modified_bessel_i1 = _bessel("modified_bessel_i1", lambda x: bessel_i_np(x, 1, False),
                             "The modified Bessel function of the first kind of order 1 "
                             "(:func:`i1` without its gradient).")
modified_bessel_k0 = _bessel("modified_bessel_k0", lambda x: bessel_k_np(x, 0, False),
                             "The modified Bessel function of the second kind of order 0, "
                             "``K0`` (NaN below 0, inf at 0).")
modified_bessel_k1 = _bessel("modified_bessel_k1", lambda x: bessel_k_np(x, 1, False),
                             "The modified Bessel function of the second kind of order 1, "
                             "``K1`` (NaN below 0, inf at 0).")
scaled_modified_bessel_k0 = _bessel("scaled_modified_bessel_k0",
                                    lambda x: bessel_k_np(x, 0, True),
                                    "``exp(input) * modified_bessel_k0(input)``, finite for "
                                    "large input.")
scaled_modified_bessel_k1 = _bessel("scaled_modified_bessel_k1",
                                    lambda x: bessel_k_np(x, 1, True),
                                    "``exp(input) * modified_bessel_k1(input)``, finite for "
                                    "large input.")
spherical_bessel_j0 = _bessel("spherical_bessel_j0", spherical_j0_np,
                              "The spherical Bessel function of the first kind of order 0, "
                              "``sin(input) / input``.")


# ---------------------------------------------------------------- Airy Ai
def _airy_ai_vjp(ctx: Any, g: Tensor) -> tuple:
    return (g * apply(AIRY_AI_PRIME, ctx.inputs[0]),)


def _airy_ai_prime_vjp(ctx: Any, g: Tensor) -> tuple:
    x = ctx.inputs[0]
    return (g * x * apply(AIRY_AI, x),)  # Airy's equation: Ai'' = x Ai


AIRY_AI = _special_unary("special_airy_ai", airy_ai_np, _airy_ai_vjp, lowp=False)
AIRY_AI_PRIME = _special_unary("special_airy_ai_prime", airy_ai_prime_np, _airy_ai_prime_vjp,
                               lowp=False)


def airy_ai(input: Tensor) -> Tensor:
    """The Airy function ``Ai``, the solution of ``y'' = input * y`` that decays as ``input``
    grows: oscillating for negative input, 0 at both infinities (where PyTorch gives NaN).
    Differentiable (``Ai'`` is a primitive of its own), where PyTorch records no gradient;
    float16 and bfloat16 are refused.

    Example::

        >>> ds.special.airy_ai(ds.tensor([-2.0, 0.0, 2.0]))
        tensor([0.2274, 0.3550, 0.0349])
    """
    return apply(AIRY_AI, _float_input("special_airy_ai", input))


# ---------------------------------------------------------------- orthogonal polynomials
def _polynomial_forward(family: int) -> Callable:
    def forward(xp: Any, x: Any, n: Any) -> Any:
        with np.errstate(all="ignore"):
            return polynomial(family, x, n)

    return forward


def _derivative_forward(xp: Any, x: Any, n: Any, family: int, order: int) -> Any:
    with np.errstate(all="ignore"):
        return polynomial_derivative(family, np.asarray(x, dtype=_F64), np.asarray(n, dtype=_F64),
                                     order)


def _polynomial_vjp(ctx: Any, g: Tensor) -> tuple:
    x, n = ctx.inputs
    if ctx.needs_input_grad[1]:
        raise _not_differentiable(ctx.op.name, "n")
    if ctx.op is POLYNOMIAL_DERIVATIVE:
        family, order = ctx.attrs["family"], ctx.attrs["order"] + 1
    else:
        family, order = FAMILIES.index(ctx.op.name.removeprefix("special_")), 1
    return g * apply(POLYNOMIAL_DERIVATIVE, x, n, family=family, order=order), None


POLYNOMIALS = {name: defop("special_" + name, _polynomial_forward(family),
                           _float_meta("special_" + name, lowp=False), _polynomial_vjp)
               for family, name in enumerate(FAMILIES)}
# d^order/dx^order of FAMILIES[family]: the gradients of the polynomials, to any order
POLYNOMIAL_DERIVATIVE = defop("special_orthogonal_polynomial_derivative", _derivative_forward,
                              _float_meta("special_orthogonal_polynomial_derivative",
                                          lowp=False), _polynomial_vjp)


def _polynomial(name: str, summary: str, example: str) -> Callable:
    op = POLYNOMIALS[name]

    def front(input: Any, n: Any) -> Tensor:
        x, degree = binary_operands(op.name, input, n)
        if x._data.dtype.kind == "c":
            raise _not_implemented(op.name, x._data)
        if not is_float(x._data.dtype):
            f = _dt.get_default_dtype().np
            x, degree = cast(x, f), cast(degree, f)
        return apply(op, x, degree)

    front.__name__ = front.__qualname__ = name
    front.__doc__ = f"""{summary}

    Args:
        input: the points (a tensor or a number).
        n: the degree (a tensor or a number; either may be a number, not both), broadcast with
            ``input`` and truncated to an integer; negative degrees give 0.

    Values and their rounding are PyTorch's, shortcuts included. Unlike PyTorch the result is
    differentiable in ``input`` (to any order); a gradient for ``n`` is an error.

    Example::

        >>> ds.special.{name}(ds.tensor([0.5, 2.0]), 3)
        {example}
    """
    return front


chebyshev_polynomial_t = _polynomial(
    "chebyshev_polynomial_t", "The Chebyshev polynomial of the first kind ``T_n(input)``; "
    "``cos(n acos(input))`` inside (-1, 1) once ``n > 6``.", "tensor([-1., 26.])")
chebyshev_polynomial_u = _polynomial(
    "chebyshev_polynomial_u", "The Chebyshev polynomial of the second kind ``U_n(input)``.",
    "tensor([-1., 56.])")
chebyshev_polynomial_v = _polynomial(
    "chebyshev_polynomial_v", "The Chebyshev polynomial of the third kind ``V_n(input)``.",
    "tensor([-1., 41.])")
chebyshev_polynomial_w = _polynomial(
    "chebyshev_polynomial_w", "The Chebyshev polynomial of the fourth kind ``W_n(input)``.",
    "tensor([-1., 71.])")
shifted_chebyshev_polynomial_t = _polynomial(
    "shifted_chebyshev_polynomial_t", "The shifted Chebyshev polynomial ``T_n(2 input - 1)``.",
    "tensor([-0., 99.])")
shifted_chebyshev_polynomial_u = _polynomial(
    "shifted_chebyshev_polynomial_u", "The shifted Chebyshev polynomial ``U_n(2 input - 1)``.",
    "tensor([ -0., 204.])")
shifted_chebyshev_polynomial_v = _polynomial(
    "shifted_chebyshev_polynomial_v", "The shifted Chebyshev polynomial ``V_n(2 input - 1)``.",
    "tensor([  1., 169.])")
shifted_chebyshev_polynomial_w = _polynomial(
    "shifted_chebyshev_polynomial_w", "The shifted Chebyshev polynomial ``W_n(2 input - 1)``.",
    "tensor([ -1., 239.])")
hermite_polynomial_h = _polynomial(
    "hermite_polynomial_h", "The physicists' Hermite polynomial ``H_n(input)``.",
    "tensor([-5., 40.])")
hermite_polynomial_he = _polynomial(
    "hermite_polynomial_he", "The probabilists' Hermite polynomial ``He_n(input)``.",
    "tensor([-1.3750,  2.0000])")
laguerre_polynomial_l = _polynomial(
    "laguerre_polynomial_l", "The Laguerre polynomial ``L_n(input)``.",
    "tensor([-0.1458, -0.3333])")
legendre_polynomial_p = _polynomial(
    "legendre_polynomial_p", "The Legendre polynomial ``P_n(input)``.",
    "tensor([-0.4375, 17.0000])")
