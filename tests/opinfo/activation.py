"""Rows for activations and the softmax family (``ops/activation.py``, ``F`` activations)."""

from . import ALL_FLOAT, FLOAT, OpInfo, S, T

_SHAPES = ((3, 4), (2, 3, 5), (), (0, 3))


def act(name, fn, low=-3.0, high=3.0, ops=None, dtypes=ALL_FLOAT, shapes=_SHAPES, **kw):
    """A row over the usual unary shapes; ``fn(F, x)`` gets the library's functional module."""
    samples = [S(T(shape, low, high), name=str(shape)) for shape in shapes]
    return OpInfo(name, lambda lib, x: fn(lib.nn.functional, x), samples, ops=ops or (name,),
                  dtypes=dtypes, **kw)


_INT_TOO = ALL_FLOAT + ("int64",)
_NOT_0D = ((3, 4), (2, 3, 5), (0, 3))  # in place on a 0-d result hits a core bug (see report)


def _softmax_samples():
    return [S(T((3, 4)), 1), S(T((2, 3, 5)), 0, name="dim0"), S(T((2, 3, 5)), -1, name="last"),
            S(T(()), 0, name="scalar"), S(T((0, 3)), 1, name="empty"),
            S(T((3, 4), -100.0, 100.0), 1, name="large")]


def _input_grad(lib, fn, x, v, *args):
    """``fn``'s input gradient for upstream ``v``, itself differentiable (through a zero leaf, so
    ``x`` need not require grad): runs the op's backward primitive under ``create_graph``."""
    outer = lib.is_grad_enabled()
    z = lib.zeros(x.shape, dtype=x.dtype, requires_grad=True)
    with lib.enable_grad():
        g = lib.autograd.grad(fn(x + z, *args), z, v, create_graph=outer)[0]
    return g if outer else g.detach()


def first_grads(lib, fn, v, *xs):
    """The gradients of ``fn(*xs)`` for upstream ``v`` by a first-order backward (the fast
    backward primitives; ``create_graph`` would compose instead), not differentiable."""
    zs = [lib.zeros(x.shape, dtype=x.dtype, requires_grad=True) for x in xs]
    with lib.enable_grad():
        return lib.autograd.grad(fn(*(x + z for x, z in zip(xs, zs))), zs, v)


def _softmax_grad_samples():
    return [S(T((3, 4)), T((3, 4)), 1), S(T((2, 3, 5)), T((2, 3, 5)), 0, name="dim0"),
            S(T((2, 3, 5)), T((2, 3, 5)), -1, name="last"), S(T(()), T(()), 0, name="scalar")]


ROWS = [
    OpInfo("softmax_backward",
           lambda lib, x, v, d: _input_grad(lib, lib.softmax, x, v, d), _softmax_grad_samples(),
           ops=("_softmax_backward_data",), dtypes=ALL_FLOAT),
    OpInfo("log_softmax_backward",
           lambda lib, x, v, d: _input_grad(lib, lib.log_softmax, x, v, d),
           _softmax_grad_samples(), ops=("_log_softmax_backward_data",), dtypes=ALL_FLOAT),
    OpInfo("gelu_backward",
           lambda lib, x, v, a: _input_grad(
               lib, lambda y: lib.nn.functional.gelu(y, approximate=a), x, v),
           [S(T((3, 4), -4, 4), T((3, 4)), "none"), S(T((2, 3, 5), -4, 4), T((2, 3, 5)), "tanh"),
            S(T(()), T(()), "tanh", name="scalar")], ops=("gelu_backward",), dtypes=ALL_FLOAT),
    OpInfo("gelu_first_grads",
           lambda lib, x, v, a: first_grads(
               lib, lambda y: lib.nn.functional.gelu(y, approximate=a), v, x),
           [S(T((3, 4), -6, 6), T((3, 4)), "none"), S(T((2, 3, 5), -6, 6), T((2, 3, 5)), "tanh"),
            S(T((0, 3)), T((0, 3)), "tanh", name="empty")], ops=("gelu_backward",),
           dtypes=ALL_FLOAT, grad=False),
    act("relu", lambda F, x: F.relu(x), dtypes=_INT_TOO),
    act("relu6", lambda F, x: F.relu6(x * 4), ops=("hardtanh", "mul"), dtypes=_INT_TOO),
    act("hardtanh", lambda F, x: F.hardtanh(x, -0.5, 1.5), dtypes=_INT_TOO),
    act("leaky_relu", lambda F, x: F.leaky_relu(x, 0.2)),
    act("threshold", lambda F, x: F.threshold(x, 0.5, -1.0), dtypes=_INT_TOO),
    act("softshrink", lambda F, x: F.softshrink(x, 0.3)),
    act("hardshrink", lambda F, x: F.hardshrink(x, 0.7)),
    act("elu", lambda F, x: F.elu(x, alpha=0.7), ops=("elu",)),
    act("selu", lambda F, x: F.selu(x), ops=("elu",)),
    act("celu", lambda F, x: F.celu(x, alpha=0.5), ops=("elu",)),
    act("gelu", lambda F, x: F.gelu(x)),
    act("gelu_tanh", lambda F, x: F.gelu(x, approximate="tanh"), ops=("gelu",)),
    act("silu", lambda F, x: F.silu(x)),
    act("mish", lambda F, x: F.mish(x)),
    act("softplus", lambda F, x: F.softplus(x)),
    act("softplus_beta", lambda F, x: F.softplus(x, beta=2.0, threshold=1.0), ops=("softplus",)),
    act("softsign", lambda F, x: F.softsign(x), ops=("abs", "add", "div")),
    act("hardswish", lambda F, x: F.hardswish(x), low=-5.0, high=5.0),
    # torch scales hardsigmoid's float64 gradient by a float32 1/6: compare in the other dtypes
    # (test_activation_norm.py checks float64 by finite differences)
    act("hardsigmoid", lambda F, x: F.hardsigmoid(x), low=-5.0, high=5.0,
        dtypes=("float32", "float16", "bfloat16")),
    act("logsigmoid", lambda F, x: F.logsigmoid(x * 10), ops=("log_sigmoid",)),
    act("tanhshrink", lambda F, x: F.tanhshrink(x), ops=("tanh", "sub")),
    act("F_sigmoid_tanh", lambda F, x: F.sigmoid(x) + F.tanh(x), ops=("sigmoid", "tanh")),
    act("rrelu_eval", lambda F, x: F.rrelu(x, 0.1, 0.3), ops=("leaky_relu",)),
    # the ds-level names, Tensor methods and in-place forms (through autograd, on a clone)
    act("ds_level", lambda F, x: F.relu(x).hardshrink(0.2) + F.selu(x) + F.celu(x, 2.0)
        + F.threshold(x, 0.1, 2.0), ops=("relu", "hardshrink", "elu", "threshold")),
    act("inplace_relu_family", lambda F, x: F.relu(F.hardtanh_(F.leaky_relu_(x * 1, 0.1) * 1, -0.4,
                                                               2.0) - 0.5, inplace=True),
        shapes=_NOT_0D, ops=("relu", "hardtanh", "leaky_relu")),
    act("inplace_smooth", lambda F, x: F.mish(F.silu(F.elu_(F.celu(x * 1, inplace=True) * 1) * 1,
                                                     inplace=True) * 1, inplace=True),
        shapes=_NOT_0D, ops=("elu", "silu", "mish"), dtypes=FLOAT),
    act("inplace_hard",
        lambda F, x: F.hardswish(x * 2, inplace=True) + F.relu6(x * 3, inplace=True),
        shapes=_NOT_0D, ops=("hardswish", "hardtanh"), dtypes=FLOAT),
    act("inplace_hardsigmoid", lambda F, x: F.hardsigmoid(x * 2, inplace=True), shapes=_NOT_0D,
        ops=("hardsigmoid",), dtypes=("float32",)),
    act("inplace_threshold_selu", lambda F, x: F.selu_(F.threshold_(x * 1, 0.2, -0.5) * 1),
        shapes=_NOT_0D, ops=("threshold", "elu"), dtypes=FLOAT),
    OpInfo("prelu", lambda lib, x, w: lib.nn.functional.prelu(x, w),
           [S(T((2, 3, 4)), T((3,), 0.0, 0.5)), S(T((4, 3)), T((1,)), name="shared"),
            S(T((5,)), T((1,)), name="1d"), S(T((2, 3, 2, 2)), T((3,)), name="4d")],
           ops=("_prelu_kernel",), dtypes=ALL_FLOAT),
    OpInfo("prelu_method", lambda lib, x, w: x.prelu(w), [S(T((2, 3)), T((3,)))],
           ops=("_prelu_kernel",)),
    OpInfo("glu", lambda lib, x, d: lib.nn.functional.glu(x, d),
           [S(T((3, 4)), -1), S(T((4, 3, 2)), 0, name="dim0")], ops=("sigmoid", "mul"),
           dtypes=ALL_FLOAT),
    OpInfo("softmax", lambda lib, x, d: lib.softmax(x, d), _softmax_samples(), ops=("_softmax",),
           dtypes=ALL_FLOAT),
    OpInfo("log_softmax", lambda lib, x, d: lib.log_softmax(x, d), _softmax_samples(),
           ops=("_log_softmax",), dtypes=ALL_FLOAT),
    OpInfo("softmin", lambda lib, x, d: lib.nn.functional.softmin(x, d), _softmax_samples(),
           ops=("_softmax", "neg"), dtypes=ALL_FLOAT),
    OpInfo("softmax_dtype", lambda lib, x: lib.nn.functional.softmax(x, -1, dtype=lib.float64)
           + x.log_softmax(0, lib.float64), [S(T((3, 4)))], ops=("_softmax", "_log_softmax"),
           dtypes=("float32", "float16")),
    OpInfo("softmax_methods", lambda lib, x: x.softmax(-1) * x.log_softmax(dim=0),
           [S(T((3, 4))), S(T((2, 3, 4)), name="3d")], ops=("_softmax", "_log_softmax")),
    OpInfo("log_softmax_double_use", lambda lib, x: lib.nn.functional.log_softmax(x * 3, 1).exp()
           - lib.softmax(x * 3, 1), [S(T((4, 6)))], ops=("_softmax", "_log_softmax")),
]
