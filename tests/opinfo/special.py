"""Rows for the special functions: ``torch.special`` and the torch.* names and Tensor methods
(``i0``, ``igamma``, ``mvlgamma``, ``nextafter``, ``frexp`` …) that share its primitives."""

import deepseek.special  # noqa: F401  (binds ds.special even before deepseek/__init__ does)

from . import ALL_FLOAT, FLOAT, OpInfo, S, T


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
]
