"""Rows for elementwise ops."""

from . import ALL_FLOAT, FLOAT, INT, OpInfo, S, T

_ALL = ALL_FLOAT + INT
_S3 = (3, 4)


def unary(name, fn=None, low=-2.0, high=2.0, dtypes=ALL_FLOAT, grad=True, ops=None, **kw):
    fn = fn or (lambda lib, x, _n=name: getattr(lib, _n)(x))
    samples = [S(T((3, 4), low, high)), S(T((2, 3, 5), low, high)), S(T((), low, high)),
               S(T((0, 3), low, high))]
    return OpInfo(name, fn, samples, ops=ops or (name,), dtypes=dtypes, grad=grad, **kw)


def binary(name, fn=None, low=-2.0, high=2.0, dtypes=ALL_FLOAT, grad=True, ops=None, **kw):
    fn = fn or (lambda lib, x, y, _n=name: getattr(lib, _n)(x, y))
    samples = [S(T((3, 4), low, high), T((3, 4), low, high)),
               S(T((2, 3, 4), low, high), T((3, 1), low, high), name="broadcast"),
               S(T((4,), low, high), T((2, 1, 4), low, high), name="broadcast_left"),
               S(T((), low, high), T((3,), low, high), name="zero_dim")]
    return OpInfo(name, fn, samples, ops=ops or (name,), dtypes=dtypes, grad=grad, **kw)


ROWS = [
    unary("abs", dtypes=_ALL),
    unary("neg", dtypes=ALL_FLOAT + ("int64", "int32")),
    unary("exp"), unary("exp2"), unary("expm1"),
    unary("log", low=0.1, high=4.0), unary("log1p", low=-0.5, high=3.0),
    unary("log2", low=0.1, high=4.0), unary("log10", low=0.1, high=4.0),
    unary("sqrt", low=0.1, high=4.0), unary("rsqrt", low=0.2, high=4.0),
    unary("square", dtypes=ALL_FLOAT + ("int64",)),
    unary("sin"), unary("cos"), unary("tan", low=-1.2, high=1.2),
    unary("asin", low=-0.9, high=0.9), unary("acos", low=-0.9, high=0.9), unary("atan"),
    unary("sinh"), unary("cosh"), unary("tanh"), unary("sigmoid", low=-8, high=8),
    unary("erf"), unary("erfc"), unary("erfinv", low=-0.9, high=0.9),
    unary("logit", low=0.05, high=0.95),
    unary("logit_eps", lambda lib, x: lib.logit(x, eps=0.2), low=0.05, high=0.95, ops=("logit",)),
    unary("floor", dtypes=ALL_FLOAT + ("int64",)), unary("ceil", dtypes=ALL_FLOAT + ("int64",)),
    unary("trunc", dtypes=ALL_FLOAT + ("int64",)), unary("frac"),
    unary("round", low=-5, high=5, dtypes=FLOAT),
    unary("round_decimals", lambda lib, x: lib.round(x, decimals=2), dtypes=FLOAT, ops=("round",),
          gradcheck=False),
    unary("sign", dtypes=ALL_FLOAT + ("int64",)), unary("reciprocal", low=0.2, high=3.0),
    unary("isnan", dtypes=_ALL, grad=False), unary("isinf", dtypes=_ALL, grad=False),
    unary("isfinite", dtypes=_ALL, grad=False),
    unary("nan_to_num", lambda lib, x: lib.nan_to_num(
        lib.where(x > 1, float("inf"), lib.where(x < -1, float("nan"), x)), nan=0.5, posinf=9.0),
          dtypes=FLOAT, gradcheck=False),
    unary("logical_not", dtypes=_ALL + ("bool",), grad=False),
    unary("bitwise_not", dtypes=INT + ("bool",), grad=False),
    unary("int_to_float_exp", lambda lib, x: lib.exp(x), dtypes=("int64", "bool"), grad=False,
          ops=("exp", "_to_copy")),
    unary("clone", lambda lib, x: x.clone(), dtypes=_ALL),
    unary("to_float64", lambda lib, x: x.to(lib.float64), dtypes=("float32", "float16"),
          ops=("_to_copy",)),
    binary("add", dtypes=_ALL), binary("sub", dtypes=ALL_FLOAT + ("int64", "int32")),
    binary("add_alpha", lambda lib, x, y: lib.add(x, y, alpha=2), dtypes=FLOAT, ops=("add",)),
    binary("mul", dtypes=_ALL), binary("div", low=0.5, high=3.0),
    binary("div_int", lambda lib, x, y: lib.div(x, y), low=1, high=5, dtypes=("int64",),
           grad=False, ops=("div",)),
    binary("div_floor", lambda lib, x, y: lib.div(x, y, rounding_mode="floor"), low=1, high=9,
           dtypes=FLOAT + ("int64",), gradcheck=False, ops=("div", "floor", "floor_divide")),
    binary("div_trunc", lambda lib, x, y: lib.div(x, y, rounding_mode="trunc"), low=1, high=9,
           dtypes=FLOAT + ("int64",), gradcheck=False, ops=("div", "trunc")),
    binary("pow", low=0.5, high=2.0), binary("atan2"),
    binary("pow_scalar", lambda lib, x, y: x ** 3 + y ** 0.5, low=0.5, high=2.0, ops=("pow",)),
    binary("rpow", lambda lib, x, y: 2.0 ** x + y, ops=("pow",)),
    binary("maximum", dtypes=ALL_FLOAT + ("int64",)), binary("minimum", dtypes=ALL_FLOAT + ("int64",)),
    binary("fmod", low=0.5, high=3.0, dtypes=FLOAT), binary("remainder", low=0.5, high=3.0, dtypes=FLOAT),
    binary("remainder_neg", lambda lib, x, y: lib.remainder(x, -y), low=1, high=3.0,
           dtypes=FLOAT + ("int64",), ops=("remainder",), gradcheck=False),
    binary("eq", lambda lib, x, y: lib.eq(x.round(), y.round()), grad=False, dtypes=FLOAT,
           ops=("eq", "round")),
    binary("ne", lambda lib, x, y: lib.ne(x.round(), y.round()), grad=False, dtypes=FLOAT),
    binary("lt", grad=False, dtypes=_ALL), binary("le", grad=False, dtypes=_ALL),
    binary("gt", grad=False, dtypes=_ALL), binary("ge", grad=False, dtypes=_ALL),
    binary("logical_and", grad=False, dtypes=("bool", "float32", "int64")),
    binary("logical_or", grad=False, dtypes=("bool", "float32", "int64")),
    binary("logical_xor", grad=False, dtypes=("bool", "float32", "int64")),
    binary("bitwise_and", grad=False, dtypes=INT + ("bool",)),
    binary("bitwise_or", grad=False, dtypes=INT + ("bool",)),
    binary("bitwise_xor", grad=False, dtypes=INT + ("bool",)),
    binary("scalar_ops", lambda lib, x, y: (2 - x) * 3 / (y + 5) + 1.5 - (x > 0).float(),
           ops=("add", "sub", "mul", "div", "gt")),
    binary("int_scalar_promotion", lambda lib, x, y: x * 2.5 + y, dtypes=("int64", "int32"),
           grad=False, ops=("mul", "add")),
    binary("lerp", lambda lib, x, y: lib.lerp(x, y, 0.3)),
    binary("lerp_tensor", lambda lib, x, y: lib.lerp(x, y, y.sigmoid())),
    OpInfo("where", lambda lib, c, x, y: lib.where(c > 0, x, y),
           [S(T((3, 4), grad=False), T((3, 4)), T((3, 4))),
            S(T((3, 1), grad=False), T((2, 3, 4)), T((4,)), name="broadcast")],
           ops=("where", "gt"), dtypes=ALL_FLOAT),
    OpInfo("where_scalar", lambda lib, c, x: lib.where(c > 0, x, 0.0),
           [S(T((3, 4), grad=False), T((3, 4)))], ops=("where",)),
    OpInfo("clamp", lambda lib, x: lib.clamp(x, -0.5, 0.7), [S(T((3, 4))), S(T((2, 3, 5)))],
           ops=("clamp",), dtypes=ALL_FLOAT),
    OpInfo("clamp_min_only", lambda lib, x: x.clamp(min=0.1), [S(T((3, 4)))], ops=("clamp",)),
    OpInfo("clamp_tensor", lambda lib, x, lo, hi: lib.clamp(x, lo, hi),
           [S(T((3, 4)), T((3, 4), -2, -0.2), T((4,), 0.2, 2.0))], ops=("clamp",)),
    OpInfo("clamp_int", lambda lib, x: x.clamp(-1, 1), [S(T((3, 4), -5, 5))], ops=("clamp",),
           dtypes=("int64",), grad=False),
    OpInfo("addcmul", lambda lib, a, b, c: lib.addcmul(a, b, c, value=0.5),
           [S(T((3, 4)), T((3, 4)), T((4,)))], ops=("mul", "add")),
    OpInfo("addcdiv", lambda lib, a, b, c: lib.addcdiv(a, b, c, value=0.5),
           [S(T((3, 4)), T((3, 4)), T((4,), 0.5, 2.0))], ops=("div", "add")),
    OpInfo("inplace_chain", lambda lib, x, y: x.clone().mul_(y).add_(1).div_(2).clamp_(-1, 1),
           [S(T((3, 4)), T((3, 4)))], ops=("mul", "add", "div", "clamp", "clone")),
    OpInfo("copy_", lambda lib, x, y: x.clone().copy_(y) * 2, [S(T((3, 4)), T((4,)))],
           ops=("copy",)),
    OpInfo("fill_", lambda lib, x: x.clone().fill_(2.0) + x, [S(T((3, 4)))], ops=("copy",)),
]
