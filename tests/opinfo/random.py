"""Rows for the sampling primitives (``random.py``, the dropout and rrelu draws): the cases whose
result does not depend on the draw, so both libraries must agree exactly."""

from . import FLOAT, OpInfo, S, T


def _F(lib):
    return lib.nn.functional


def _dropped_to_zero(lib, x):
    """Every dropout flavour, times 0, plus ``x``: runs each draw, value and gradient fixed."""
    F = _F(lib)
    q = x.reshape(1, 1, *x.shape[-2:])
    drawn = (F.dropout(x, 0.4) + F.alpha_dropout(x, 0.3) + F.dropout2d(x.unsqueeze(0), 0.5)[0]
             + F.scaled_dot_product_attention(q, q, q, dropout_p=0.5).reshape(x.shape))
    return drawn * 0 + x


ROWS = [
    OpInfo("dropout_draws", _dropped_to_zero, [S(T((3, 4)))], ops=("_dropout_mask",),
           dtypes=FLOAT, gradcheck=False),
    # positive inputs keep slope 1 whatever the drawn negative slopes are
    OpInfo("rrelu_training", lambda lib, x: _F(lib).rrelu(x, training=True),
           [S(T((3, 4), 0.1, 2.0))], ops=("_rrelu_noise",), dtypes=FLOAT + ("bfloat16",)),
    OpInfo("bernoulli_certain", lambda lib, x: lib.bernoulli((x > 0).to(x.dtype))
           + (x * 0).bernoulli(p=1.0), [S(T((3, 4)))], ops=("bernoulli",), grad=False),
    OpInfo("poisson_zero_rate", lambda lib, x: lib.poisson(x * 0), [S(T((3, 4)))],
           ops=("poisson",), grad=False),
    # draws times 0 (or from a range of one value): shapes and dtypes must agree
    OpInfo("creation_draws", lambda lib, x: x + 0 * (lib.rand(x.shape, dtype=x.dtype)
                                                   + lib.randn(*x.shape, dtype=x.dtype)
                                                   + lib.randn_like(x) + lib.rand_like(x))
           + lib.randint(3, 4, x.shape, dtype=x.dtype) + lib.randperm(1, dtype=x.dtype)
           + 0 * lib.normal(x, 2.0) + 0 * lib.normal(1.0, 2.0, x.shape, dtype=x.dtype),
           [S(T((3, 4)))], ops=("rand", "randn", "randint", "randperm"), dtypes=FLOAT,
           grad=False),
    # probabilities of 0 and 1: every count succeeds or none does
    OpInfo("binomial_certain", lambda lib, x: lib.binomial(x.abs().round(), (x > 0).to(x.dtype)),
           [S(T((3, 4), 0.0, 9.0)), S(T((3, 4), -3.0, 3.0))], ops=("binomial",), dtypes=FLOAT,
           grad=False),
    OpInfo("multinomial_one_hot", lambda lib, x: lib.multinomial(
        lib.nn.functional.one_hot(x.argmax(-1), 5).to(x.dtype), 1), [S(T((3, 5)))],
        ops=("multinomial",), grad=False),
]
