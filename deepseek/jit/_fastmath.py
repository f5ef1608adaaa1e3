"""Scalar functions for float32 kernels that LLVM can vectorize (libm's are scalar calls).

Each is checked against the traced result before a kernel is used (codegen._check_kernel).
"""

import numba


@numba.njit(inline="always", cache=True)
def tanh(x):  # pragma: no cover  (compiled)
    """tanh to about 2 float32 ulps: a [13/6] rational approximation on [-7.9, 7.9], where
    float32 tanh saturates to +-1."""
    x = min(max(x, -7.90531110763549805), 7.90531110763549805)
    x2 = x * x
    p = x2 * -2.76076847742355e-16 + 2.00018790482477e-13
    p = p * x2 - 8.60467152213735e-11
    p = p * x2 + 5.12229709037114e-08
    p = p * x2 + 1.48572235717979e-05
    p = p * x2 + 6.37261928875436e-04
    p = p * x2 + 4.89352455891786e-03
    q = x2 * 1.19825839466702e-06 + 1.18534705686654e-04
    q = q * x2 + 2.26843463243900e-03
    q = q * x2 + 4.89352518554385e-03
    return x * p / q
