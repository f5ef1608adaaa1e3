"""Rows for indexing ops: ``x[key]``, ``x[key] = v``, gather/scatter, masks, sort, unique."""

from . import ALL_FLOAT, FLOAT, OpInfo, S, T

_ANY = ALL_FLOAT + ("int64", "int32", "uint8", "bool")
_X = T((3, 4))
_X3 = T((3, 4, 5))


def _idx(shape, high, low=0, values=None):
    return T(shape, low, high, dtype="int64", grad=False, values=values)


def _mask(shape):
    return T(shape, dtype="bool", grad=False)


def getitem(name, key, samples, dtypes=_ANY, ops=("index",)):
    """``x[key(lib, *index_args)]``."""
    return OpInfo(f"getitem_{name}", lambda lib, x, *a: x[key(lib, *a)], samples, ops=ops,
                  dtypes=dtypes)


def setitem(name, key, samples, dtypes=ALL_FLOAT + ("int64", "bool"), ops=("index_put",)):
    """``y = x * 1; y[key(lib, *index_args)] = v; y`` (v may need grad: gradients reach both)."""

    def fn(lib, x, v, *a):
        y = x * 1 if x.dtype != lib.bool else x.clone()
        y[key(lib, *a)] = v
        return y

    return OpInfo(f"setitem_{name}", fn, samples, ops=ops + ("mul", "clone"), dtypes=dtypes)


def _set_scalar(lib, x):
    y = x.clone()
    y[1, ::2] = 3
    y[..., -1] = -1.5 if y.is_floating_point() else 1
    return y


def _inplace_on_view(lib, x):
    y = x * 1
    y[0].mul_(2)
    y.select(1, 1).add_(y[1, 2])
    y.diagonal().zero_()
    return y


def _index_fill_tensor(lib, x, v):
    return x.index_fill(1, lib.tensor([0, 2]), v.sum())


ROWS = [
    getitem("int", lambda lib: (1, -1), [S(_X3)], ops=("select",)),
    getitem("slices", lambda lib: (slice(None, None, 2), slice(1, -1), slice(-3, None, 2)),
            [S(_X3)], ops=("select",)),
    getitem("slice_past_end", lambda lib: (slice(2, 9), slice(3, 1)), [S(_X3)], ops=("select",)),
    getitem("none_ellipsis", lambda lib: (None, Ellipsis, None, 2), [S(_X3)], ops=("select",)),
    getitem("0d", lambda lib: (), [S(T(()))], ops=("select",)),
    getitem("0d_none", lambda lib: (None, ..., None), [S(T(()))], ops=("select",)),
    getitem("tensor", lambda lib, i: i, [S(_X3, _idx((4,), 3, -3)), S(_X3, _idx((2, 3), 3))]),
    getitem("tensor_0d", lambda lib, i: (slice(None), i), [S(_X3, _idx((), 4))],
            ops=("select",)),
    getitem("list", lambda lib: ([0, 2, 2],), [S(_X3)]),
    getitem("list_tuple_rule", lambda lib: [[0, 1], [1, 3]], [S(_X3)]),
    getitem("mask_full", lambda lib, m: m, [S(_X3, _mask((3, 4, 5)))]),
    getitem("mask_partial", lambda lib, m: (m, slice(1, None)), [S(_X3, _mask((3, 4)))]),
    getitem("mask_middle", lambda lib, m: (slice(None), m), [S(_X3, _mask((4,)))]),
    getitem("bool_scalar", lambda lib: (None, True), [S(_X)]),
    getitem("adjacent", lambda lib, i, j: (slice(None), i, j),
            [S(_X3, _idx((2, 3), 4), _idx((3,), 5))]),
    getitem("separated", lambda lib, i, j: (i, slice(1, 3), j),
            [S(_X3, _idx((2,), 3), _idx((2,), 5))]),
    getitem("int_then_tensor", lambda lib, i: (1, slice(None), i), [S(_X3, _idx((3,), 5))],
            ops=("select", "index")),
    getitem("tensor_int_tensor", lambda lib, i, j: (i, 2, j), [S(_X3, _idx((2,), 3),
                                                                   _idx((2,), 5))],
            ops=("select", "index")),
    getitem("mixed_all", lambda lib, i: (None, i, Ellipsis, None, slice(None, None, 2)),
            [S(_X3, _idx((2, 2), 3))]),
    getitem("mask_and_tensor", lambda lib, m, i: (m, i), [S(_X3, T((3,), values=[True, False, True],
                                                                     dtype="bool", grad=False),
                                                              _idx((2,), 4))]),
    setitem("int", lambda lib: 1, [S(_X3, T((4, 5)))], ops=("index_put",)),
    setitem("slices_broadcast", lambda lib: (slice(None), slice(1, None, 2)),
            [S(_X3, T((5,))), S(_X3, T((1, 1, 2, 5)), name="leading_ones")]),
    setitem("tensor", lambda lib, i: (slice(None), i),
            [S(_X3, T((2, 5)), _idx((2,), 4, values=[3, 0]))]),
    setitem("mask", lambda lib, m: m, [S(_X3, T(()), _mask((3, 4)))]),
    setitem("separated", lambda lib, i, j: (i, slice(None), j),
            [S(_X3, T((2, 4)), _idx((2,), 3, values=[0, 2]), _idx((2,), 5, values=[1, 4]))]),
    setitem("int_then_tensor", lambda lib, i: (1, slice(None), i),
            [S(_X3, T((4, 2)), _idx((2,), 5, values=[4, 1]))], ops=("index_put", "select")),
    OpInfo("setitem_scalars", _set_scalar, [S(_X3)], ops=("index_put",),
           dtypes=ALL_FLOAT + ("int64",)),
    OpInfo("inplace_on_view", _inplace_on_view, [S(T((3, 3)))],
           ops=("mul", "add", "copy", "as_strided", "as_strided_scatter"), dtypes=FLOAT),
    OpInfo("index_put", lambda lib, x, v, i, j: (x.index_put((i, j), v),
                                                  x.index_put((i,), v[:1, None], accumulate=True)),
           [S(_X, T((2,)), _idx((2,), 3), _idx((2,), 4))], ops=("index_put",)),
    OpInfo("gather", lambda lib, x, i: (lib.gather(x, 1, i), x.gather(-3, i[:1] % 3)),
           [S(_X3, _idx((2, 3, 5), 4))], ops=("gather",), dtypes=_ANY),
    OpInfo("scatter_add", lambda lib, x, i, s: lib.scatter_add(x, 1, i, s),
           [S(_X3, _idx((3, 6, 2), 4), T((3, 6, 2)))], ops=("scatter_add",),
           dtypes=FLOAT + ("int64",)),
    OpInfo("take_along_dim", lambda lib, x, i: (lib.take_along_dim(x, i, 1),
                                                lib.take_along_dim(x, i[:1, :, :1]),
                                                x.take_along_dim(i[:, :1, :1], -1)),
           [S(_X3, _idx((3, 2, 5), 4))], ops=("gather",)),
    OpInfo("nonzero", lambda lib, x: (x.nonzero(), lib.nonzero(x, as_tuple=True)),
           [S(T((3, 4), -1, 2, dtype="int64", grad=False)), S(T((), 1, 2))],
           ops=("nonzero",), dtypes=("float32", "int64", "bool"), grad=False),
    OpInfo("index_select", lambda lib, x, i: (x.index_select(1, i), lib.index_select(x, -1, i)),
           [S(_X3, _idx((5,), 4)), S(_X3, _idx((), 4), name="0d_index")], ops=("index",),
           dtypes=_ANY),
    OpInfo("index_add", lambda lib, x, i, s: (x.index_add(1, i, s),
                                              lib.index_add(x, 1, i, s, alpha=-2)),
           [S(_X3, _idx((6,), 4), T((3, 6, 5)))], ops=("index_put",),
           dtypes=FLOAT + ("int64",)),
    OpInfo("index_add_inplace", lambda lib, x, i, s: (x * 1).index_add_(0, i, s, alpha=0.5),
           [S(_X, _idx((4,), 3), T((4, 4)))], ops=("index_put",)),
    OpInfo("index_copy", lambda lib, x, i, s: (x.index_copy(1, i, s), (x * 1).index_copy_(1, i, s)),
           [S(_X3, _idx((2,), 4, values=[3, 1]), T((3, 2, 5)))], ops=("index_put",),
           dtypes=ALL_FLOAT + ("int64",)),
    OpInfo("index_fill", lambda lib, x, i: (x.index_fill(1, i, 2),
                                            (x * 1).index_fill_(0, i[:1], -1)),
           [S(_X3, _idx((3,), 4))], ops=("index_put",), dtypes=ALL_FLOAT + ("int64",)),
    OpInfo("index_fill_tensor_value", _index_fill_tensor, [S(_X, T((2,)))], ops=("index_put",)),
    OpInfo("scatter", lambda lib, x, i, s: (lib.scatter(x, 1, i, s), x.scatter(0, i[:2] % 3, -2.0),
                                            (x * 1).scatter_(1, i, s)),
           [S(T((3, 4)), _idx((2, 3), 4, values=[[0, 2, 1], [3, 0, 2]]), T((2, 3)))],
           ops=("scatter",), dtypes=FLOAT),
    OpInfo("scatter_reduce_arg", lambda lib, x, i, s: (x.scatter(1, i, s, reduce="add"),
                                                       x.scatter(1, i, s, reduce="multiply"),
                                                       x.scatter(0, i, 1.5, reduce="add")),
           [S(_X, _idx((2, 4), 3), T((3, 5)))], ops=("scatter_reduce",), dtypes=FLOAT, grad=False),
]

for _reduce in ("sum", "prod", "mean", "amax", "amin"):
    for _self in (True, False):
        ROWS.append(OpInfo(
            f"scatter_reduce_{_reduce}_{'self' if _self else 'noself'}",
            lambda lib, x, i, s, _r=_reduce, _s=_self: lib.scatter_reduce(
                x, 1, i, s, _r, include_self=_s),
            [S(T((3, 4), 0.5, 2.0), _idx((3, 5), 4), T((3, 5), 0.5, 2.0))],
            ops=("scatter_reduce",), dtypes=FLOAT + ("int64",) if _reduce != "mean" else FLOAT))

for _reduce in ("prod", "mean", "amax", "amin"):
    for _self in (True, False):
        ROWS.append(OpInfo(
            f"index_reduce_{_reduce}_{'self' if _self else 'noself'}",
            lambda lib, x, s, _r=_reduce, _s=_self: (
                x.index_reduce(0, lib.tensor([0, 4, 2, 0]), s, _r, include_self=_s),
                lib.index_reduce(x.mT, 1, lib.tensor([1, 1, 0, 2]), s.mT, _r, include_self=_s),
                (x * 1).index_reduce_(0, lib.tensor([3, 1, 3, 3]), s, _r, include_self=_s)),
            [S(T((5, 3), 0.5, 2.0), T((4, 3), 0.5, 2.0))],
            ops=("scatter_reduce",), dtypes=FLOAT + ("int64",) if _reduce != "mean" else FLOAT))

ROWS += [
    OpInfo("scatter_reduce_inplace", lambda lib, x, i, s: (x * 1).scatter_reduce_(
        0, i, s, "amax", include_self=False), [S(_X, _idx((5, 4), 3), T((5, 4)))],
        ops=("scatter_reduce",)),
    OpInfo("masked_fill", lambda lib, x, m: (x.masked_fill(m, 0.5), lib.masked_fill(x, m[0], 2),
                                             (x * 1).masked_fill_(m[:, :1], -1)),
           [S(_X, _mask((3, 4)))], ops=("index_put",), dtypes=ALL_FLOAT + ("int64",)),
    OpInfo("masked_fill_tensor", lambda lib, x, m, v: x.masked_fill(m, v.sum()),
           [S(_X, _mask((2, 1, 4)), T((2,)))], ops=("index_put",)),
    OpInfo("masked_select", lambda lib, x, m: (x.masked_select(m), lib.masked_select(x, m[0])),
           [S(_X, _mask((3, 4))), S(T((4,)), _mask((3, 4)), name="broadcast_input")],
           ops=("index",), dtypes=_ANY),
    OpInfo("masked_scatter", lambda lib, x, m, s: (x.masked_scatter(m, s),
                                                   (x * 1).masked_scatter_(m[0], s)),
           [S(_X, _mask((3, 4)), T((3, 5)))], ops=("index_put", "select")),
    OpInfo("sort", lambda lib, x: (lib.sort(x, stable=True), x.sort(dim=0, descending=True,
                                                                     stable=True)),
           [S(_X3), S(T((0, 3)), name="empty")], ops=("argsort", "gather"), dtypes=_ANY),
    OpInfo("sort_0d", lambda lib, x: x.sort(), [S(T(()))], ops=("argsort",)),
    OpInfo("sort_attrs", lambda lib, x: (x.sort(1).values, x.sort(descending=True).indices),
           [S(_X)], ops=("argsort", "gather")),
    OpInfo("argsort", lambda lib, x: (x.argsort(stable=True),
                                      lib.argsort(x, dim=0, descending=True, stable=True)),
           [S(_X3)], ops=("argsort",), dtypes=_ANY, grad=False),
    OpInfo("topk", lambda lib, x: (x.topk(2), lib.topk(x, 3, 0, largest=False), x.topk(0, 1)),
           [S(_X3)], ops=("argsort", "gather"), dtypes=FLOAT),
    OpInfo("unique", lambda lib, x: (lib.unique(x), x.unique(return_inverse=True,
                                                             return_counts=True)),
           [S(T((4, 5), -3, 3)), S(T((0,)), name="empty")], ops=("_unique2",),
           dtypes=("int64", "float32", "bool", "uint8"), grad=False),
    OpInfo("unique_dim", lambda lib, x: (lib.unique(x, dim=1, return_inverse=True,
                                                    return_counts=True), x.unique(dim=0)),
           [S(T((3, 6), 0, 2, dtype="int64"))], ops=("_unique2",), dtypes=("int64",),
           grad=False),
    OpInfo("unique_consecutive", lambda lib, x: (
        lib.unique_consecutive(x, return_inverse=True, return_counts=True),
        x.unique_consecutive(dim=1), lib.unique_consecutive(x.sort(1).values, dim=0)),
        [S(T((3, 8), 0, 2))], ops=("_unique2",), dtypes=("int64", "float32"), grad=False),
]
