"""Rows for reductions, scans, order statistics and vector norms."""

import math

from . import ALL_FLOAT, FLOAT, INT, OpInfo, S, T

_NUM = ALL_FLOAT + INT
_X = (3, 4, 5)


def dim_samples(shape=_X, empty=True, zero_dim=True, tuples=True):
    """The usual dim arguments: every dim, one dim, a negative dim with keepdim, a tuple, plus 0-d
    and empty inputs."""
    samples = [S(T(shape), name="all"), S(T(shape), dim=1, name="dim"),
               S(T(shape), dim=-1, keepdim=True, name="neg_keepdim")]
    if tuples:
        samples += [S(T(shape), dim=(0, -1), name="tuple"),
                    S(T(shape), dim=(), keepdim=True, name="empty_tuple")]
    if zero_dim:
        samples += [S(T(()), name="zero_dim"), S(T(()), dim=0, keepdim=True, name="zero_dim_dim")]
    if empty:
        samples += [S(T((0, 3)), dim=1, name="empty_other_dim")]
    return samples


def reduction(name, fn=None, samples=None, dtypes=ALL_FLOAT, ops=None, **kw):
    fn = fn or (lambda lib, x, *a, _n=name, **k: getattr(lib, _n)(x, *a, **k))
    return OpInfo(name, fn, samples or dim_samples(), ops=ops or (name,), dtypes=dtypes, **kw)


def scan(name, samples=None, **kw):
    samples = samples or [S(T((3, 4)), 1), S(T((2, 3, 4)), -3), S(T(()), 0), S(T((0, 3)), 0)]
    return OpInfo(name, lambda lib, x, d, _n=name: getattr(lib, _n)(x, d), samples, ops=(name,),
                  **kw)


def with_nans(lib, x):
    """``x`` with a NaN wherever it is above 1 (constant there, so gradients stay finite)."""
    return lib.where(x > 1, lib.full_like(x, math.nan), x)


# rows of exact values: a single zero, two zeros, a zero at the start
_ZEROS = T((3, 4), values=[[1.5, 0.0, -2.0, 0.5], [0.0, 1.2, 0.0, -0.7], [0.0, 0.6, 1.1, 0.9]])
_TIES = T((2, 4), values=[[1.0, 3.0, 3.0, 2.0], [-1.0, -1.0, 0.5, 0.5]])
_ORDS = (2, 1, math.inf, -math.inf, 0, 3, 0.5, -1.5)
_NORM_SAMPLES = [S(T((3, 4)), name="all"), S(T((3, 4, 2)), dim=1, name="dim"),
                 S(T((3, 4, 2)), dim=(0, 2), keepdim=True, name="tuple_keepdim"),
                 S(T(()), name="zero_dim")]

ROWS = [
    reduction("sum", dtypes=_NUM + ("bool",)),
    reduction("sum_dtype", lambda lib, x: lib.sum(x, 1, dtype=lib.float64),
              [S(T((3, 4)))], dtypes=("float32", "int32", "float16"), ops=("sum", "_to_copy")),
    reduction("nansum", lambda lib, x, **a: lib.nansum(with_nans(lib, x), **a),
              dtypes=FLOAT, ops=("sum", "where", "isnan")),
    reduction("nansum_int", lambda lib, x: lib.nansum(x, 0), [S(T((3, 4)))],
              dtypes=("int32",), ops=("sum",)),
    reduction("mean"),
    reduction("mean_dtype", lambda lib, x: lib.mean(x, (0, 1), dtype=lib.float64),
              [S(T((3, 4)))], dtypes=("float32", "int64"), ops=("mean", "_to_copy")),
    reduction("nanmean", lambda lib, x, **a: lib.nanmean(with_nans(lib, x), **a),
              dim_samples(zero_dim=False, empty=False), ops=("sum", "where", "isnan", "div")),
    reduction("prod", samples=[S(T((3, 4))), S(T((3, 4)), 1), S(T((3, 4)), -2, keepdim=True),
                               S(T(()), 0), S(T(())), S(T((0, 3)), 1), S(_ZEROS, 1, name="zeros"),
                               S(_ZEROS, 0, name="zeros_dim0"), S(_ZEROS, name="zeros_all")],
              dtypes=_NUM + ("bool",), ops=("prod", "cumprod")),
    # (PyTorch's var gradient with dim=() is wrong: it reduces all dims forward, none backward)
    reduction("var", samples=dim_samples(empty=False, zero_dim=False)[:-1]),
    reduction("var_correction", lambda lib, x: lib.var(x, 1, correction=0, keepdim=True),
              [S(T((3, 4)))], ops=("var",)),
    reduction("var_unbiased", lambda lib, x: (x.var(0, False), x.var(False), x.var(1, True)),
              [S(T((3, 4)))], ops=("var",)),
    reduction("std", samples=dim_samples(empty=False, zero_dim=False)[:-1], ops=("var", "sqrt")),
    reduction("std_correction", lambda lib, x: lib.std(x, (0, 1), correction=2),
              [S(T((3, 4)))], ops=("var", "sqrt")),
    reduction("var_mean", lambda lib, x: lib.var_mean(x, 1, keepdim=True),
              [S(T((3, 4)))], ops=("var", "mean")),
    reduction("std_mean", lambda lib, x: lib.std_mean(x, (0, 1), correction=0),
              [S(T((3, 4)))], ops=("var", "mean")),
    reduction("amax", dtypes=ALL_FLOAT + ("int64", "bool"),
              samples=dim_samples()[:-1] + [S(T((0, 3)), dim=1, name="empty_other_dim")]),
    reduction("amin", dtypes=ALL_FLOAT + ("int64", "int8")),
    reduction("amax_ties", lambda lib, x: (x.amax(1), x.amin(), x.max()), [S(_TIES)],
              ops=("amax", "amin")),
    reduction("max", lambda lib, x: lib.max(x), [S(T((3, 4))), S(T(()))],
              dtypes=_NUM, ops=("amax",)),
    reduction("min", lambda lib, x: lib.min(x), [S(T((3, 4))), S(T(()))],
              dtypes=_NUM, ops=("amin",)),
    reduction("max_dim", lambda lib, x, *a, **k: tuple(lib.max(x, *a, **k)),
              [S(T(_X), 1), S(T(_X), -1, keepdim=True), S(T(()), 0), S(T((0, 3)), 1)],
              dtypes=FLOAT + ("float16", "int64"), ops=("argmax", "gather")),
    reduction("min_dim", lambda lib, x, *a, **k: tuple(x.min(*a, **k)),
              [S(T(_X), 0), S(T(_X), -2, keepdim=True)], dtypes=FLOAT + ("int32",),
              ops=("argmin", "gather")),
    OpInfo("max_other", lambda lib, x, y: (lib.max(x, y), x.min(y), lib.max(x, other=y)),
           [S(T((3, 4)), T((4,)))], ops=("maximum", "minimum")),
    reduction("argmax", samples=[S(T(_X)), S(T(_X), 1), S(T(_X), -1, keepdim=True),
                                 S(T(_X), keepdim=True), S(T(())), S(T(()), 0),
                                 S(T((0, 3)), 1)],
              dtypes=ALL_FLOAT + ("int64",), grad=False),
    reduction("argmin", samples=[S(T(_X)), S(T(_X), 0), S(T(_X), -2, keepdim=True)],
              dtypes=ALL_FLOAT + ("int32",), grad=False),
    reduction("aminmax", lambda lib, x, **a: tuple(lib.aminmax(x, **a)),
              [S(T(_X)), S(T(_X), dim=1), S(T(_X), dim=-1, keepdim=True), S(T(())),
               S(T(()), dim=0)], dtypes=ALL_FLOAT + ("int64",), ops=("amin", "amax")),
    reduction("median", lambda lib, x: lib.median(x), [S(T((3, 5))), S(T((4,))), S(T(())),
                                                       S(T((0, 2)))],
              ops=("median", "gather", "where")),
    reduction("median_int", lambda lib, x: lib.median(x), [S(T((3, 5))), S(T((4,)))],
              dtypes=INT, ops=("median", "gather")),
    reduction("median_ties", lambda lib, x: lib.median(x), [S(_TIES)], ops=("median",)),
    reduction("median_dim", lambda lib, x, *a, **k: tuple(lib.median(x, *a, **k)),
              [S(T((3, 5)), 1), S(T((3, 4)), 1, name="even"), S(T((2, 3, 4)), -3, keepdim=True),
               S(T(()), 0), S(T((0, 3)), 1)],
              dtypes=ALL_FLOAT, ops=("median", "gather")),
    reduction("median_nan", lambda lib, x: tuple(lib.median(with_nans(lib, x), 1)),
              [S(T((4, 5)))], ops=("median", "gather"), gradcheck=False),
    reduction("nanmedian", lambda lib, x: lib.nanmedian(with_nans(lib, x)), [S(T((4, 5)))],
              ops=("nanmedian", "gather")),
    reduction("nanmedian_dim", lambda lib, x: tuple(with_nans(lib, x).nanmedian(1)),
              [S(T((4, 5))), S(T((4, 3), values=[[math.nan, math.nan, 1.0], [math.nan] * 3,
                                                 [2.0, 0.5, 1.0], [0.1, 0.2, math.nan]]))],
              ops=("nanmedian", "gather"), gradcheck=False),
    reduction("kthvalue", lambda lib, x, *a, **k: tuple(lib.kthvalue(x, *a, **k)),
              [S(T((3, 5)), 2), S(T((3, 5)), 1, 0, keepdim=True), S(T(()), 1)],
              dtypes=FLOAT + ("float16",), ops=("kthvalue", "gather")),
    reduction("logsumexp", samples=dim_samples(empty=False)[1:4] + [S(T(_X), (0, 1, 2))]),
    reduction("logsumexp_int", lambda lib, x: lib.logsumexp(x, 1), [S(T((3, 4)))],
              dtypes=("int64",), ops=("logsumexp", "_to_copy")),
    reduction("logsumexp_inf", lambda lib, x: lib.logsumexp(x.log(), 1),
              [S(T((2, 3), values=[[0.0, 0.0, 0.0], [1.0, 0.0, 2.0]]))], grad=False,
              ops=("logsumexp", "log")),
    scan("cumsum", dtypes=_NUM),
    scan("cumprod", dtypes=_NUM, samples=[S(T((3, 4)), 1), S(T((2, 3, 4)), -3), S(T(()), 0),
                                          S(T((0, 3)), 0), S(_ZEROS, 1, name="zeros"),
                                          S(_ZEROS, 0, name="zeros_dim0")]),
    scan("logcumsumexp", dtypes=ALL_FLOAT,
         samples=[S(T((3, 4)), 1), S(T((2, 3, 4)), -3), S(T(()), 0), S(T((0, 3)), 0),
                  S(T((2, 3), values=[[-50.0, 1.0, 60.0], [30.0, -30.0, 0.0]]), 1, name="wide")]),
    reduction("cumsum_dtype", lambda lib, x: (x.cumsum(0, dtype=lib.float64),
                                              x.cumprod(1, dtype=lib.float32)),
              [S(T((3, 4)))], dtypes=("int32", "float16"), ops=("cumsum", "cumprod")),
    reduction("all", dtypes=("bool", "uint8", "float32", "int64"), grad=False,
              samples=dim_samples(tuples=False) + [S(T((3, 4), low=0, high=2))]),
    reduction("any", dtypes=("bool", "uint8", "float32", "int64"), grad=False),
    reduction("count_nonzero", lambda lib, x, *a: lib.count_nonzero(x.round(), *a),
              [S(T(_X)), S(T(_X), 1), S(T(_X), (0, 2))], dtypes=FLOAT + ("int64",), grad=False,
              ops=("sum", "ne", "round")),
] + [
    OpInfo(f"vector_norm_{o}", lambda lib, x, _o=o, **a: lib.linalg.vector_norm(x, _o, **a),
           _NORM_SAMPLES + [S(T((0, 3)), dim=1, name="empty")], ops=("linalg_vector_norm",),
           dtypes=ALL_FLOAT)
    for o in _ORDS
] + [
    OpInfo("vector_norm_dtype", lambda lib, x: lib.linalg.vector_norm(x, 3, dtype=lib.float64),
           [S(T((3, 4)))], ops=("linalg_vector_norm", "_to_copy"), dtypes=("float32", "float16")),
    OpInfo("vector_norm_zeros", lambda lib, x: [lib.linalg.vector_norm(x, o, 1) for o in _ORDS],
           [S(_ZEROS)], ops=("linalg_vector_norm",), gradcheck=False),
    OpInfo("vector_norm_all_zero", lambda lib, x: [lib.linalg.vector_norm(x * 0, o) for o in _ORDS],
           [S(T((2, 3)))], ops=("linalg_vector_norm",), gradcheck=False),
    OpInfo("norm_method", lambda lib, x: (x.norm(), x.norm(1), x.norm(p="fro", dim=(0, 1)),
                                          x.norm(3, dim=1, keepdim=True), lib.norm(x, math.inf),
                                          lib.norm(x, p=0.5, dim=-1), x.norm(dim=0)),
           [S(T((3, 4)))], ops=("linalg_vector_norm",), dtypes=ALL_FLOAT),
    OpInfo("norm_nuc", lambda lib, x: (x[0].norm("nuc"), lib.norm(x, "nuc", dim=(0, 2))),
           [S(T((3, 4, 2)))], ops=("linalg_svdvals", "sum")),
]
