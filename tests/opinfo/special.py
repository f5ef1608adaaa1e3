"""Rows for the special functions: ``torch.special`` and the torch.* names and Tensor methods
(``i0``, ``igamma``, ``mvlgamma``, ``nextafter``, ``frexp`` …) that share its primitives."""

import deepseek.special  # noqa: F401  (binds ds.special even before deepseek/__init__ does)

from . import ALL_FLOAT, FLOAT, OpInfo, S, T

POLYNOMIALS = ("chebyshev_polynomial_t", "chebyshev_polynomial_u", "chebyshev_polynomial_v",
               "chebyshev_polynomial_w", "shifted_chebyshev_polynomial_t",
               "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v",
               "shifted_chebyshev_polynomial_w", "hermite_polynomial_h", "hermite_polynomial_he",
               "laguerre_polynomial_l", "legendre_polynomial_p")


def sp(name, *extra):
    return lambda lib, *args, _n=name, **kw: getattr(lib.special, _n)(*args, *extra, **kw)


def unary(name, low, high, dtypes=FLOAT, ops=None, fn=None, **kw):
    samples = [S(T((3, 4), low, high)), S(T((2, 3, 5), low, high)), S(T((), low, high)),
               S(T((0, 3), low, high))]
    return OpInfo(name, fn or sp(name), samples, ops=ops or ("special_" + name,), dtypes=dtypes,
                  **kw)


def binary(name, x, y, dtypes=FLOAT, ops=None, fn=None, grad_x=True, **kw):
    """``x`` and ``y`` are ``(low, high)`` ranges of the two operands; ``grad_x=False`` for ops
    PyTorch does not differentiate in their first operand."""
    samples = [S(T((3, 4), *x, grad=grad_x), T((3, 4), *y)),
               S(T((2, 3, 4), *x, grad=grad_x), T((3, 1), *y), name="broadcast"),
               S(T((4,), *x, grad=grad_x), T((2, 1, 4), *y), name="broadcast_left"),
               S(T((), *x, grad=grad_x), T((3,), *y), name="zero_dim")]
    return OpInfo(name, fn or sp(name), samples, ops=ops or ("special_" + name,), dtypes=dtypes,
                  **kw)


def polynomial(name):
    """Forward only (PyTorch records no gradient): degrees as int64 and as float tensors (up to
    60, past the trig-form thresholds), broadcast both ways, scalar degrees and scalar points;
    the points straddle the interval of orthogonality."""
    low, high = {"shifted": (-0.1, 1.1), "hermite": (-3.0, 3.0),
                 "laguerre": (-1.0, 8.0)}.get(name.split("_")[0], (-1.2, 1.2))
    degrees = T((3, 4), 0, 60, dtype="int64")
    samples = [S(T((3, 4), low, high), degrees),
               S(T((2, 3, 4), low, high), T((4,), values=[0.0, 3.0, 9.0, 25.0]), name="broadcast"),
               S(T((5, 1), low, high), T((2, 1, 6), -2, 12, dtype="int64"), name="broadcast_left"),
               S(T((), low, high), degrees, name="zero_dim"),
               S(T((0, 4), low, high), T((4,), 0, 60, dtype="int64"), name="empty"),
               S(T((3, 4), -3, 3, dtype="int64"), degrees, name="integer_points"),
               S(T((3, 4), low, high), 7, name="scalar_degree"),
               S(0.5, degrees, name="scalar_point")]
    return OpInfo(name, sp(name), samples, ops=("special_" + name,), grad=False)


def _autograd(lib, fn, x, order=1):
    """``d^order fn(x) / dx^order`` by deepseek's autograd."""
    x = x.detach().requires_grad_()
    y = fn(x)
    for _ in range(order):
        (y,) = lib.autograd.grad(y.sum(), x, create_graph=True)
    return y.detach()


def derivative(name, identity, low, high, order=1):
    """deepseek's gradient of ``name`` against ``identity(torch, x)``, an expression of torch's
    polynomials equal to the derivative (PyTorch has no gradient to compare with)."""
    fn = (lambda lib, x: identity(lib, x) if lib.__name__ == "torch" else
          _autograd(lib, lambda t: getattr(lib.special, name)(t, 6), x, order))
    samples = [S(T((3, 4), low, high, grad=False)), S(T((2, 5), low, high, grad=False))]
    ops = ("special_" + name, "special_orthogonal_polynomial_derivative")
    return OpInfo(f"{name}_derivative_{order}", fn, samples, ops=ops, grad=False, atol=1e-4,
                  rtol=1e-4)


def _shifted(x):
    return 2 * x - 1


def _u_prime(lib, x, n):
    """``U_n' = ((n + 1) T_(n+1) - x U_n) / (x^2 - 1)`` (and ``V_n = U_n - U_(n-1)``,
    ``W_n = U_n + U_(n-1)``)."""
    sp = lib.special
    return ((n + 1) * sp.chebyshev_polynomial_t(x, n + 1) - x * sp.chebyshev_polynomial_u(x, n)) / (
        x * x - 1)


ROWS = [
    unary("entr", 0.1, 3.0, dtypes=ALL_FLOAT),
    unary("erfcx", -2.0, 6.0),
    unary("ndtr", -4.0, 4.0, dtypes=ALL_FLOAT),
    unary("log_ndtr", -8.0, 4.0),
    unary("ndtri", 0.02, 0.98),
    unary("i0", -4.0, 4.0, dtypes=ALL_FLOAT, ops=("i0",)),
    unary("i0e", -4.0, 4.0, dtypes=ALL_FLOAT), unary("i1", -4.0, 4.0, dtypes=ALL_FLOAT),
    unary("i1e", -4.0, 4.0, dtypes=ALL_FLOAT),
    unary("i0_method", -3.0, 3.0, fn=lambda lib, x: x.i0() + x.clone().i0_(), ops=("i0",)),
    binary("xlog1py", (-2.0, 2.0), (-0.5, 3.0), dtypes=ALL_FLOAT),
    unary("xlog1py_scalar_first", -0.5, 3.0, fn=lambda lib, y: lib.special.xlog1py(2.5, y),
          ops=("special_xlog1py",)),
    unary("xlog1py_scalar_other", -2.0, 2.0, fn=lambda lib, x: lib.special.xlog1py(x, 0.5),
          ops=("special_xlog1py",)),
    binary("nextafter", (-2.0, 2.0), (-2.0, 2.0), dtypes=ALL_FLOAT, ops=("nextafter",),
           fn=lambda lib, x, y: x.nextafter(y)),
    OpInfo("nextafter_", lambda lib, x, y: x.clone().nextafter_(y), [S(T((3, 4)), T((4,)))],
           ops=("nextafter",), dtypes=ALL_FLOAT),
    unary("frexp", -3.0, 3.0, dtypes=ALL_FLOAT, ops=("frexp",), fn=lambda lib, x: x.frexp()),
    binary("gammainc", (0.3, 4.0), (0.05, 6.0), dtypes=ALL_FLOAT, grad_x=False, ops=("igamma",)),
    binary("gammaincc", (0.3, 4.0), (0.05, 6.0), dtypes=ALL_FLOAT, grad_x=False,
           ops=("igammac",)),
    binary("igamma_methods", (0.3, 4.0), (0.05, 6.0), grad_x=False, ops=("igamma", "igammac"),
           fn=lambda lib, a, x: a.igamma(x) * 2 + a.igammac(x)),
    OpInfo("igamma_", lambda lib, a, x: a.clone().igamma_(x) + a.clone().igammac_(x) * 3,
           [S(T((3, 4), 0.5, 3.0, grad=False), T((4,), 0.1, 5.0))], ops=("igamma", "igammac")),
    binary("zeta", (1.5, 6.0), (0.3, 4.0), grad_x=False, ops=("special_zeta",)),
    unary("zeta_scalar_first", 0.3, 4.0, fn=lambda lib, q: lib.special.zeta(3.5, q),
          ops=("special_zeta",)),
    unary("zeta_scalar_other", 1.5, 6.0, fn=lambda lib, x: lib.special.zeta(x, 2.0),
          ops=("special_zeta",), grad=False),
    # torch's own J and Y lose up to 1e-6 between 3 and 25: the rows stay below
    unary("bessel_j0", -3.0, 3.0, grad=False), unary("bessel_j1", -3.0, 3.0, grad=False),
    unary("bessel_y0", 0.1, 3.0, grad=False), unary("bessel_y1", 0.1, 3.0, grad=False),
    unary("modified_bessel_i0", -4.0, 4.0, grad=False),
    unary("modified_bessel_i1", -4.0, 4.0, grad=False),
    unary("modified_bessel_k0", 0.1, 6.0, grad=False),
    unary("modified_bessel_k1", 0.1, 6.0, grad=False),
    unary("scaled_modified_bessel_k0", 0.1, 30.0, grad=False),
    unary("scaled_modified_bessel_k1", 0.1, 30.0, grad=False),
    unary("spherical_bessel_j0", -6.0, 6.0, grad=False),
    unary("multigammaln", 1.2, 4.0, fn=sp("multigammaln", 3), ops=("lgamma", "polygamma")),
    unary("mvlgamma_method", 0.6, 4.0, fn=lambda lib, x: x.mvlgamma(2) + x.clone().mvlgamma_(1),
          ops=("lgamma",)),
    # torch's Ai loses up to 3e-6 in (-6, -2.09) (see tests/test_special_polynomials.py)
    unary("airy_ai", -2.0, 6.0, grad=False), unary("airy_ai_far", -30.0, -6.0, fn=sp("airy_ai"),
                                                   ops=("special_airy_ai",), grad=False),
    unary("airy_ai_out", -2.0, 3.0, grad=False, ops=("special_airy_ai",),
          fn=lambda lib, x: lib.special.airy_ai(x, out=lib.empty(0, dtype=x.dtype)) * 1),
    # Ai'' = x Ai: deepseek's second derivative (through the Ai' primitive) against torch's Ai
    unary("airy_ai_second_derivative", -2.0, 4.0, grad=False,
          ops=("special_airy_ai", "special_airy_ai_prime"),
          fn=lambda lib, x: x * lib.special.airy_ai(x) if lib.__name__ == "torch" else
          _autograd(lib, lib.special.airy_ai, x, 2)),
    *[polynomial(name) for name in POLYNOMIALS],
    OpInfo("polynomial_out", lambda lib, x, n: lib.special.legendre_polynomial_p(
        x, n, out=lib.empty(0, dtype=x.dtype)) * 1, [S(T((3, 4)), T((4,), 0, 20, dtype="int64"))],
        ops=("special_legendre_polynomial_p",), grad=False),
    # the derivatives of degree 6 by the classical identities, e.g. T_n' = n U_(n-1)
    derivative("chebyshev_polynomial_t", lambda lib, x: 6 * lib.special.chebyshev_polynomial_u(
        x, 5), -1.2, 1.2),
    derivative("shifted_chebyshev_polynomial_t", lambda lib, x: 12 * (
        lib.special.chebyshev_polynomial_u(_shifted(x), 5)), -0.1, 1.1),
    derivative("chebyshev_polynomial_u", lambda lib, x: _u_prime(lib, x, 6), -0.95, 0.95),
    derivative("chebyshev_polynomial_v", lambda lib, x: _u_prime(lib, x, 6) - _u_prime(lib, x, 5),
               -0.95, 0.95),
    derivative("chebyshev_polynomial_w", lambda lib, x: _u_prime(lib, x, 6) + _u_prime(lib, x, 5),
               -0.95, 0.95),
    derivative("hermite_polynomial_h", lambda lib, x: 12 * lib.special.hermite_polynomial_h(
        x, 5), -2.5, 2.5),
    derivative("hermite_polynomial_h", lambda lib, x: 120 * lib.special.hermite_polynomial_h(
        x, 4), -2.5, 2.5, order=2),
    derivative("hermite_polynomial_he", lambda lib, x: 6 * lib.special.hermite_polynomial_he(
        x, 5), -2.5, 2.5),
    derivative("legendre_polynomial_p", lambda lib, x: 6 * (
        x * lib.special.legendre_polynomial_p(x, 6) - lib.special.legendre_polynomial_p(x, 5))
        / (x * x - 1), -0.95, 0.95),
    derivative("laguerre_polynomial_l", lambda lib, x: 6 * (
        lib.special.laguerre_polynomial_l(x, 6) - lib.special.laguerre_polynomial_l(x, 5)) / x,
        0.3, 8.0),
]
