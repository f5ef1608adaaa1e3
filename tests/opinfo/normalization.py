"""Rows for normalization and the deterministic cases of dropout (``ops/normalization.py``)."""

from . import ALL_FLOAT, FLOAT, OpInfo, S, T
from .activation import first_grads


def _stats(c):
    """Running mean and (positive) running variance placeholders for ``c`` channels."""
    return T((c,), grad=False), T((c,), 0.5, 2.0, grad=False)


def _F(lib):
    return lib.nn.functional


def _batch_norm_train(lib, x, rm, rv, w, b):
    out = _F(lib).batch_norm(x, rm, rv, w, b, training=True, momentum=0.3)
    return out, rm, rv


def _instance_norm_train(lib, x, rm, rv):
    out = _F(lib).instance_norm(x, rm, rv, use_input_stats=True, momentum=0.2)
    return out, rm, rv


ROWS = [
    OpInfo("layer_norm", lambda lib, x, w, b: _F(lib).layer_norm(x, (4,), w, b),
           [S(T((3, 4)), T((4,)), T((4,))), S(T((2, 3, 4)), T((4,)), T((4,)), name="3d")],
           ops=("native_layer_norm", "native_layer_norm_backward"), dtypes=ALL_FLOAT, atol=1e-4,
           rtol=1e-4),
    OpInfo("layer_norm_first_grads",
           lambda lib, x, w, b, v: first_grads(
               lib, lambda *a: _F(lib).layer_norm(a[0], tuple(w.shape), *a[1:]), v, x, w, b),
           [S(T((3, 4)), T((4,)), T((4,)), T((3, 4))),
            S(T((2, 3, 4)), T((3, 4)), T((3, 4)), T((2, 3, 4)), name="2 dims")],
           ops=("native_layer_norm_backward",), dtypes=ALL_FLOAT, grad=False, atol=1e-4,
           rtol=1e-4),
    OpInfo("layer_norm_no_affine", lambda lib, x: _F(lib).layer_norm(x, [3, 4], eps=1e-3),
           [S(T((2, 3, 4))), S(T((3, 4)), name="2d")], ops=("native_layer_norm",),
           dtypes=ALL_FLOAT, atol=1e-4, rtol=1e-4),
    OpInfo("layer_norm_ds", lambda lib, x, w: lib.layer_norm(x, [3, 4], w),
           [S(T((2, 3, 4)), T((3, 4)))], ops=("native_layer_norm",), atol=1e-4, rtol=1e-4),
    OpInfo("rms_norm", lambda lib, x, w: _F(lib).rms_norm(x, [4], w),
           [S(T((3, 4)), T((4,))), S(T((2, 3, 4)), T((4,)), name="3d")],
           ops=("square", "mean", "rsqrt", "mul"), dtypes=ALL_FLOAT, atol=1e-4, rtol=1e-4),
    OpInfo("rms_norm_eps", lambda lib, x: lib.rms_norm(x, (3, 4), eps=1e-2),
           [S(T((2, 3, 4)))], ops=("square", "mean", "rsqrt"), atol=1e-4, rtol=1e-4),
    OpInfo("batch_norm_train", _batch_norm_train,
           [S(T((4, 3)), *_stats(3), T((3,)), T((3,))),
            S(T((2, 3, 4)), *_stats(3), T((3,)), T((3,)), name="3d"),
            S(T((2, 3, 2, 2)), *_stats(3), T((3,)), T((3,)), name="4d"),
            S(T((2, 2, 2, 1, 2)), *_stats(2), T((2,)), T((2,)), name="5d")],
           ops=("native_batch_norm", "batch_norm_stats", "mul", "add"), dtypes=FLOAT, atol=1e-4,
           rtol=1e-4),
    OpInfo("batch_norm_first_grads",
           lambda lib, x, w, b, v: first_grads(
               lib, lambda *a: _F(lib).batch_norm(a[0], None, None, *a[1:], training=True), v,
               x, w, b),
           [S(T((4, 3)), T((3,)), T((3,)), T((4, 3))),
            S(T((2, 3, 2, 2)), T((3,)), T((3,)), T((2, 3, 2, 2)), name="4d")],
           ops=("native_batch_norm_backward",), dtypes=FLOAT, grad=False, atol=1e-4, rtol=1e-4),
    OpInfo("batch_norm_no_stats", lambda lib, x: _F(lib).batch_norm(x, None, None,
                                                                    training=True),
           [S(T((3, 2, 4)))], ops=("native_batch_norm",), dtypes=ALL_FLOAT, atol=1e-4,
           rtol=1e-4),
    OpInfo("batch_norm_eval", lambda lib, x, rm, rv, w, b: _F(lib).batch_norm(x, rm, rv, w, b),
           [S(T((4, 3)), *_stats(3), T((3,)), T((3,))),
            S(T((2, 3, 2, 2)), *_stats(3), T((3,)), T((3,)), name="4d")],
           ops=("rsqrt", "mul", "sub", "add"), atol=1e-4, rtol=1e-4),
    OpInfo("batch_norm_ds", lambda lib, x, w, b, rm, rv: lib.batch_norm(x, w, b, rm, rv, False,
                                                                        0.1, 1e-3, False),
           [S(T((2, 3, 4)), T((3,)), T((3,)), *_stats(3))], ops=("rsqrt",), atol=1e-4,
           rtol=1e-4),
    OpInfo("group_norm", lambda lib, x, w, b: _F(lib).group_norm(x, 3, w, b),
           [S(T((2, 6, 4)), T((6,)), T((6,))), S(T((2, 3, 2, 2)), T((3,)), T((3,)), name="4d")],
           ops=("native_group_norm",), dtypes=ALL_FLOAT, atol=1e-4, rtol=1e-4),
    OpInfo("group_norm_no_affine", lambda lib, x: lib.group_norm(x, 2, eps=1e-3),
           [S(T((3, 4))), S(T((2, 4, 3, 2)), name="4d")], ops=("native_group_norm",),
           atol=1e-4, rtol=1e-4),
    OpInfo("instance_norm", lambda lib, x, w, b: _F(lib).instance_norm(x, weight=w, bias=b),
           [S(T((2, 3, 5)), T((3,)), T((3,))), S(T((2, 2, 3, 2)), T((2,)), T((2,)), name="4d")],
           ops=("native_batch_norm",), dtypes=FLOAT, atol=1e-4, rtol=1e-4),
    OpInfo("instance_norm_running", _instance_norm_train, [S(T((2, 3, 4)), *_stats(3))],
           ops=("native_batch_norm",), atol=1e-4, rtol=1e-4),
    OpInfo("instance_norm_eval", lambda lib, x, rm, rv: _F(lib).instance_norm(
        x, rm, rv, use_input_stats=False), [S(T((2, 3, 4)), *_stats(3))], ops=("rsqrt",),
           atol=1e-4, rtol=1e-4),
    OpInfo("local_response_norm", lambda lib, x: _F(lib).local_response_norm(x, 3),
           [S(T((2, 5, 3)))], ops=("cat", "mul", "pow", "div"), dtypes=ALL_FLOAT),
    OpInfo("local_response_norm_4d", lambda lib, x: _F(lib).local_response_norm(x, 3),
           [S(T((2, 4, 3, 2)))], ops=("cat", "pow")),
    OpInfo("local_response_norm_args", lambda lib, x: _F(lib).local_response_norm(
        x, 2, alpha=0.5, beta=0.5, k=2.0), [S(T((2, 3, 4)))], ops=("cat", "pow")),
    OpInfo("normalize", lambda lib, x: _F(lib).normalize(x),
           [S(T((3, 4))), S(T((2, 3, 4)), name="3d")], ops=("square", "sum", "pow", "div"),
           dtypes=ALL_FLOAT),
    OpInfo("normalize_p", lambda lib, x: _F(lib).normalize(x, p=1.0, dim=0)
           + _F(lib).normalize(x, p=3.0, dim=-1, eps=0.1), [S(T((3, 4)))], ops=("abs", "pow")),
    OpInfo("normalize_inf", lambda lib, x: _F(lib).normalize(x, p=float("inf"), dim=(0, 1)),
           [S(T((3, 4, 2)))], ops=("amax",)),
    # dropout is random: the rows check the deterministic cases (identity, p = 1)
    OpInfo("dropout_identity", lambda lib, x: _F(lib).dropout(x, 0.3, training=False)
           + _F(lib).dropout(x, 0.0) + _F(lib).alpha_dropout(x, 0.5)
           + _F(lib).feature_alpha_dropout(x, 0.2) + lib.dropout(x, 0.4, False)
           + _F(lib).dropout2d(x.unsqueeze(0), 0.0, inplace=True)[0],
           [S(T((2, 3, 4)))], ops=("add",), dtypes=ALL_FLOAT),
    OpInfo("dropout_p1", lambda lib, x: _F(lib).dropout(x, 1.0) + _F(lib).dropout1d(x, 1.0)
           + _F(lib).dropout3d(x.unsqueeze(-1), 1.0).squeeze(-1)
           + _F(lib).alpha_dropout(x, 1.0, training=True) + x,
           [S(T((2, 3, 4)))], ops=("mul", "add")),
]
