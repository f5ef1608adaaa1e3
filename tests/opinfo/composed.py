"""Rows for the torch.* functions composed of other ops (splits, rotations, scans, statistics,
quantiles, distances, bins) and the index primitives behind some of them."""

import math

from . import ALL_FLOAT, FLOAT, INT, OpInfo, S, T

_X = (3, 4, 5)
_WITH_TIES = T((3, 6), values=[[1.0, 3.0, 3.0, 0.0, 3.0, -1.0], [2.0, 2.0, 1.0, 1.0, 5.0, 0.0],
                               [0.5, 0.5, 0.5, 0.5, 0.5, 0.5]])
_WITH_NAN = T((2, 5), values=[[0.3, math.nan, -1.2, 2.0, 0.7], [1.0, -0.4, 0.9, 2.2, -3.0]])
_ALL_NAN = T((2, 3), values=[[math.nan, math.nan, math.nan], [1.0, math.nan, -2.0]])
_SORTED = T((2, 5), values=[[-1.5, -0.2, 0.4, 0.4, 2.0], [0.0, 1.0, 2.0, 3.0, 4.0]], grad=False)
_VALUES = T((2, 4), values=[[-2.0, 0.4, 0.1, 3.0], [2.0, 2.5, -1.0, 0.0]], grad=False)
_COUNTS = T((7,), values=[3, 0, 3, 5, 1, 0, 3], dtype="int64")


def _splits(lib, x):
    return (lib.tensor_split(x, 3, 1) + x.tensor_split([1, -1, 9], dim=-1)
            + lib.tensor_split(x, lib.tensor([2]), 0) + lib.hsplit(x, [1, 3]) + x.vsplit(3)
            + lib.dsplit(x, 5) + lib.hsplit(x[0, 0], 5) + (x.ravel(),))


def _rotations(lib, x):
    return tuple(lib.rot90(x, k, d) for k in (1, 2, 3, -1, 4) for d in ((0, 1), (2, 0))) + (
        lib.fliplr(x), x.flipud())


def _arrangements(lib, x, y):
    return (lib.block_diag(x[0], y, x[1, 0], lib.tensor(2.0, dtype=x.dtype)),
            lib.cartesian_prod(x[0, 0], y[:2, 0]), lib.cartesian_prod(y[0]),
            lib.combinations(x[0, 0]), lib.combinations(x[0, 0, :3], 3),
            lib.combinations(x[0, 0, :3], 2, with_replacement=True), lib.combinations(y[0], 1),
            lib.diagflat(y), lib.diagflat(x[0, 0], -2))


def _differences(lib, x):
    return (lib.diff(x), x.diff(2, 0), lib.diff(x, dim=1, prepend=x[:, :1] * 2,
                                                append=x[:, -2:]), lib.diff(x, n=9))


def _scatters(lib, x, y):
    return (lib.select_scatter(x, y[:3], 1, -1), x.select_scatter(y[:3, :4], 2, 0),
            lib.slice_scatter(x, x[:, :2] * 2, 1, 1, None, 2),
            lib.slice_scatter(x, y.expand(2, 4, 5) * 1, 0, -2),
            lib.take(x, lib.tensor([[0, -1], [7, 59]])), x.take(lib.tensor(5)))


def _running(lib, x):
    return tuple(lib.cummax(x, 1)) + tuple(x.cummin(-1)) + tuple(lib.cummax(x.reshape(-1)[0], 0))


def _statistics(lib, x, f, a):
    rows = x.reshape(4, 5)
    return (lib.cov(rows), rows.cov(correction=0), lib.cov(rows[0]),
            lib.cov(rows, fweights=f, aweights=a), lib.cov(rows, aweights=a, correction=2),
            lib.corrcoef(rows), x[0].corrcoef(), lib.trace(rows), rows[:3].trace())


def _renorms(lib, x):
    return (lib.renorm(x, 2, 1, 1.5), x.renorm(1, 0, 2.0), x.renorm(3.0, -1, 0.5),
            (x * 1).renorm_(2, 2, 1.0), x.renorm(2, 1, 100.0))


def _crosses(lib, a, b):
    return lib.cross(a, b, dim=0), a.cross(b[:1], 2), lib.cross(a[:, :1], b, -1)


def _in_place_products(lib, x, a, b):
    return ((x * 1).addmm_(a, b, beta=0.5, alpha=2), (x * 1).addr_(a[:, 0], b[0]),
            (x[:, 0] * 1).addmv_(a, b[:, 0]), (x.expand(2, 3, 4) * 1).baddbmm_(
                a.expand(2, 3, 2), b.expand(2, 2, 4)),
            (x * 1).addbmm_(a.expand(2, 3, 2), b.expand(2, 2, 4), alpha=-1),
            lib.rsub(x, a[:, :1], alpha=3), lib.rsub(x, 2.0), x.clip(-0.5, 0.5),
            (x * 1).clip_(max=0.1), (x * 1).fill_diagonal_(3.0), (x.mT * 1).fill_diagonal_(
                -1.0, wrap=True), (x * 1).xlogy_(a[:, :1].abs() + 0.1))


def _integrals(lib, y, x):
    return (lib.trapezoid(y), lib.trapezoid(y, x[0], dim=-1), lib.trapezoid(y, dx=0.5, dim=0),
            lib.trapz(y, x), lib.trapz(y, dx=0.3, dim=1), lib.cumulative_trapezoid(y, x),
            lib.cumulative_trapezoid(y, dx=2.0, dim=0))


def _quantiles(lib, x, how):
    q = lib.tensor([0.0, 0.25, 0.5, 0.9, 1.0], dtype=x.dtype)
    return (lib.quantile(x, 0.3, interpolation=how), x.quantile(q, 1, interpolation=how),
            lib.quantile(x, q, -1, True, interpolation=how),
            lib.quantile(x, 0.7, keepdim=True, interpolation=how),
            lib.nanquantile(x, q, 0, interpolation=how))


def _distances(lib, a, b):
    return (lib.cdist(a, b), lib.cdist(a, b, p=1.0), lib.cdist(a, b, 3.0),
            lib.cdist(a, b, float("inf")),
            lib.cdist(a, b, compute_mode="use_mm_for_euclid_dist"),
            lib.cdist(a.repeat(1, 9, 1), b), lib.dist(a, b[:, :1]), a.dist(b[:, :1], 1),
            lib.inner(a, b[0]), a[0, 0].inner(b[0, 0]), lib.inner(a, lib.tensor(2.0,
                                                                                 dtype=a.dtype)))


ROWS = [
    OpInfo("tensor_split", _splits, [S(T((3, 10, 5)))], dtypes=ALL_FLOAT + INT),
    OpInfo("rot90", _rotations, [S(T(_X))], ops=("flip",), dtypes=ALL_FLOAT + INT),
    OpInfo("arrangements", _arrangements, [S(T((2, 3, 4)), T((2, 3)))],
           dtypes=ALL_FLOAT + INT),
    OpInfo("diff", _differences, [S(T((4, 6)))], dtypes=ALL_FLOAT + INT),
    OpInfo("diff_bool", lambda lib, x: lib.diff(x > 0), [S(T((3, 5)))], grad=False),
    OpInfo("scatters_take", _scatters, [S(T(_X), T((4, 5)))], ops=("index_copy",),
           dtypes=ALL_FLOAT + INT),
    OpInfo("cummax_cummin", _running, [S(T(_X))], ops=("_running_extreme_index",),
           dtypes=FLOAT + ("int64", "float16")),
    OpInfo("cummax_cummin_ties", _running, [S(_WITH_TIES), S(_WITH_NAN, name="nan")],
           gradcheck=False),  # (not differentiable at ties; finite differences of NaN)
    OpInfo("cov_corrcoef_trace", _statistics,
           [S(T((2, 10)), T((5,), 1, 4, dtype="int64"), T((5,), 0.1, 2.0, grad=False))]),
    OpInfo("trapezoid", _integrals, [S(T((4, 6)), T((4, 6)))]),
    OpInfo("renorm", _renorms, [S(T((3, 4, 5)))]),
    OpInfo("cross_legacy", _crosses, [S(T((3, 4, 3)), T((3, 4, 3)))]),
    OpInfo("in_place_products_rsub_clip", _in_place_products,
           [S(T((3, 4)), T((3, 2)), T((2, 4)))]),
    *[OpInfo(f"quantile_{how}", lambda lib, x, _h=how: _quantiles(lib, x, _h),
             [S(T((4, 6)))], gradcheck=how != "nearest")
      for how in ("linear", "lower", "higher", "midpoint", "nearest")],
    # (finite differences of NaN outputs are NaN: analytic gradients against torch's only)
    OpInfo("quantile_nan", lambda lib, x: _quantiles(lib, x, "linear"),
           [S(_WITH_NAN, name="nan")], gradcheck=False),
    # (which of several NaNs torch's sort puts first, and so gets the gradient, is unspecified)
    OpInfo("quantile_all_nan", lambda lib, x: _quantiles(lib, x, "linear"),
           [S(_ALL_NAN, name="all_nan")], grad=False),
    OpInfo("mode", lambda lib, x: tuple(lib.mode(x)) + tuple(x.mode(0, True)) + (
        lib.msort(x),), [S(_WITH_TIES), S(T((2, 3), 0, 3, dtype="int64"), name="ints")],
           ops=("mode",), gradcheck=False),  # (ties: the mode jumps under a perturbation)
    OpInfo("cdist_dist_inner", _distances, [S(T((2, 3, 4)), T((2, 5, 4)))], ops=("einsum",)),
    OpInfo("cdist_p0", lambda lib, a, b: lib.cdist(a.round(), b.round(), 0.0),
           [S(T((2, 3, 4)), T((2, 5, 4)))], grad=False),
    OpInfo("searchsorted_bucketize",
           lambda lib, s, v: (lib.searchsorted(s, v), lib.searchsorted(s, v, right=True),
                              lib.searchsorted(s[1], v, side="right", out_int32=True),
                              lib.searchsorted(s[0], 0.4), lib.bucketize(v, s[0]),
                              lib.bucketize(v, s[1], right=True),
                              lib.searchsorted(s[0].flip(0), v, sorter=lib.tensor(
                                  [4, 3, 2, 1, 0]))),
           [S(_SORTED, _VALUES)], ops=("searchsorted",), grad=False),
    OpInfo("histc", lambda lib, x: (lib.histc(x, 7), x.histc(4, -1.0, 1.0),
                                    lib.histc(x * 0 + 2, 3)),
           [S(T((5, 6)))], ops=("histc",), grad=False),
    OpInfo("bincount", lambda lib, x, w: (lib.bincount(x), x.bincount(minlength=9),
                                          lib.bincount(x, w), lib.bincount(x[:0])),
           [S(_COUNTS, T((7,), grad=False))], ops=("bincount",), grad=False, noncontig=False),
    OpInfo("unravel_argwhere", lambda lib, x, i: lib.unravel_index(i, (3, 4)) + (
        lib.argwhere(x), x.argwhere()),
           [S(T((3, 4), -1, 2, dtype="int64", grad=False),
              T((5,), values=[0, 11, 7, -1, 15], dtype="int64"))], grad=False),
]
