"""``deepseek.special``: the ``torch.special`` namespace. It only re-exports: the functions are
defined with their primitives in ``deepseek/ops`` (``ops/special.py`` holds the ones NumPy
lacks)."""

from ._options import accept_out as _accept_out
from .ops.activation import log_softmax, softmax
from .ops.elementwise import digamma, erf, erfc, erfinv, exp2, expm1
from .ops.elementwise import lgamma as gammaln
from .ops.elementwise import log1p, logit, polygamma, round, sinc, xlogy
from .ops.elementwise import sigmoid as expit
from .ops.reduce import logsumexp
from .ops.special import (airy_ai, bessel_j0, bessel_j1, bessel_y0, bessel_y1,
                          chebyshev_polynomial_t, chebyshev_polynomial_u, chebyshev_polynomial_v,
                          chebyshev_polynomial_w, entr, erfcx, gammainc, gammaincc,
                          hermite_polynomial_h, hermite_polynomial_he, i0, i0e, i1, i1e,
                          laguerre_polynomial_l, legendre_polynomial_p, log_ndtr,
                          modified_bessel_i0, modified_bessel_i1, modified_bessel_k0,
                          modified_bessel_k1, multigammaln, ndtr, ndtri,
                          scaled_modified_bessel_k0, scaled_modified_bessel_k1,
                          shifted_chebyshev_polynomial_t, shifted_chebyshev_polynomial_u,
                          shifted_chebyshev_polynomial_v, shifted_chebyshev_polynomial_w,
                          spherical_bessel_j0, xlog1py, zeta)

psi = digamma

__all__ = ["airy_ai", "bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1",
           "chebyshev_polynomial_t", "chebyshev_polynomial_u", "chebyshev_polynomial_v",
           "chebyshev_polynomial_w", "digamma", "entr", "erf", "erfc", "erfcx", "erfinv", "exp2",
           "expit", "expm1", "gammainc", "gammaincc", "gammaln", "hermite_polynomial_h",
           "hermite_polynomial_he", "i0", "i0e", "i1", "i1e", "laguerre_polynomial_l",
           "legendre_polynomial_p", "log1p", "log_ndtr", "log_softmax", "logit", "logsumexp",
           "modified_bessel_i0", "modified_bessel_i1", "modified_bessel_k0",
           "modified_bessel_k1", "multigammaln", "ndtr", "ndtri", "polygamma", "psi", "round",
           "scaled_modified_bessel_k0", "scaled_modified_bessel_k1",
           "shifted_chebyshev_polynomial_t", "shifted_chebyshev_polynomial_u",
           "shifted_chebyshev_polynomial_v", "shifted_chebyshev_polynomial_w", "sinc", "softmax",
           "spherical_bessel_j0", "xlog1py", "xlogy", "zeta"]

_accept_out(globals(), __name__)  # out= on the public names (deepseek/_options.py)
