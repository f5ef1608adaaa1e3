"""Rows for pooling, padding, interpolation and pixel shuffles."""

from . import ALL_FLOAT, FLOAT, OpInfo, S, T

_MAX = ("max_pool_with_indices", "gather")
_AVG = ("avg_pool", "avg_pool_backward")


def _f(name):
    return lambda lib, *args, **kw: getattr(lib.nn.functional, name)(*args, **kw)


def _interp(lib, x, **kw):
    return lib.nn.functional.interpolate(x, **kw)


ROWS = [
    OpInfo("max_pool1d", _f("max_pool1d"), [
        S(T((2, 3, 9)), 3, stride=2, padding=1),
        S(T((3, 8)), 2, dilation=2, ceil_mode=True, name="unbatched_ceil"),
        S(T((2, 2, 7)), 3, return_indices=True, name="indices"),
    ], ops=_MAX, dtypes=ALL_FLOAT),
    OpInfo("max_pool2d", _f("max_pool2d"), [
        S(T((2, 3, 6, 5)), 2),
        S(T((2, 2, 7, 6)), (3, 2), stride=(2, 1), padding=1, dilation=(1, 2), name="geometry"),
        S(T((1, 2, 7, 7)), 3, stride=2, ceil_mode=True, return_indices=True, name="ceil_indices"),
        S(T((2, 5, 5)), 2, stride=1, padding=1, return_indices=True, name="unbatched_indices"),
    ], ops=_MAX, dtypes=ALL_FLOAT),
    OpInfo("max_pool3d", _f("max_pool3d"), [
        S(T((1, 2, 4, 5, 4)), 2, stride=(1, 2, 1), padding=(1, 0, 1), return_indices=True),
    ], ops=_MAX),
    OpInfo("avg_pool1d", _f("avg_pool1d"), [
        S(T((2, 3, 9)), 3, stride=2, padding=1),
        S(T((3, 8)), 3, stride=2, padding=1, ceil_mode=True, count_include_pad=False,
          name="unbatched_ceil_exclude"),
    ], ops=_AVG, dtypes=ALL_FLOAT),
    OpInfo("avg_pool2d", _f("avg_pool2d"), [
        S(T((2, 3, 6, 5)), 2),
        S(T((2, 2, 7, 6)), (3, 2), stride=(2, 1), padding=1, count_include_pad=False,
          name="exclude_pad"),
        S(T((1, 2, 7, 7)), 3, stride=2, padding=1, ceil_mode=True, name="ceil"),
        S(T((1, 2, 6, 7)), 3, stride=2, ceil_mode=True, count_include_pad=False,
          name="ceil_exclude"),
        S(T((2, 5, 5)), 2, stride=1, divisor_override=3, name="divisor_override"),
    ], ops=_AVG, dtypes=ALL_FLOAT),
    OpInfo("avg_pool3d", _f("avg_pool3d"), [
        S(T((1, 2, 4, 5, 4)), 2, stride=(1, 2, 1), padding=(1, 0, 1), ceil_mode=True),
    ], ops=_AVG),
    OpInfo("lp_pool2d", _f("lp_pool2d"), [
        S(T((2, 2, 6, 5), 0.2, 2.0), 2, 2),
        S(T((1, 2, 7, 7), 0.2, 2.0), 3.0, (3, 2), stride=2, ceil_mode=True, name="p3_ceil"),
    ], ops=_AVG + ("pow",)),
    OpInfo("lp_pool1d", _f("lp_pool1d"), [S(T((2, 3, 7), 0.2, 2.0), 2, 3, stride=2)],
           ops=_AVG + ("pow",)),
    OpInfo("adaptive_avg_pool1d", _f("adaptive_avg_pool1d"), [
        S(T((2, 3, 10)), 4), S(T((3, 5)), 7, name="unbatched_up"),
    ], ops=("matmul",), dtypes=ALL_FLOAT),
    OpInfo("adaptive_avg_pool2d", _f("adaptive_avg_pool2d"), [
        S(T((2, 3, 7, 5)), (3, 2)), S(T((2, 4, 5)), (None, 3), name="none"),
        S(T((1, 2, 5, 6)), 1, name="global"),
    ], ops=("matmul",), dtypes=ALL_FLOAT),
    OpInfo("adaptive_avg_pool3d", _f("adaptive_avg_pool3d"), [S(T((1, 2, 4, 5, 3)), (2, 3, 2))],
           ops=("matmul",)),
    OpInfo("adaptive_max_pool1d", _f("adaptive_max_pool1d"), [
        S(T((2, 3, 10)), 4, return_indices=True), S(T((3, 5)), 3, name="unbatched"),
    ], ops=("adaptive_max_pool_with_indices", "gather"), dtypes=ALL_FLOAT),
    OpInfo("adaptive_max_pool2d", _f("adaptive_max_pool2d"), [
        S(T((2, 3, 7, 5)), (3, 2), return_indices=True),
        S(T((2, 4, 5)), (None, 3), name="none"),
    ], ops=("adaptive_max_pool_with_indices", "gather"), dtypes=ALL_FLOAT),
    OpInfo("adaptive_max_pool3d", _f("adaptive_max_pool3d"), [S(T((1, 2, 4, 5, 3)), (2, 3, 2))],
           ops=("adaptive_max_pool_with_indices",)),
    OpInfo("pad_constant", _f("pad"), [
        S(T((2, 3, 4)), (1, 2)),
        S(T((2, 3, 4, 5)), (1, 0, 2, 1, 0, 1), value=1.5, name="three_dims_value"),
        S(T((3, 6)), (-1, 2, 1, -2), name="negative"),
    ], ops=("constant_pad_nd",), dtypes=ALL_FLOAT),
    OpInfo("constant_pad_nd", lambda lib, x: lib.constant_pad_nd(x, (1, 1, 0, 2), 2),
           [S(T((2, 3, 4)))], ops=("constant_pad_nd",), dtypes=FLOAT + ("int64",)),
    OpInfo("pad_reflect", lambda lib, x, p: lib.nn.functional.pad(x, p, mode="reflect"), [
        S(T((2, 5)), (2, 3)), S(T((1, 2, 4, 5)), (1, 2, 3, 1), name="2d"),
        S(T((1, 2, 3, 4, 5)), (1, 2, 2, 0, 1, 1), name="3d"),
        S(T((2, 3, 6)), (-1, 2), name="negative"),
    ], ops=("cat", "flip")),
    OpInfo("pad_replicate", lambda lib, x, p: lib.nn.functional.pad(x, p, mode="replicate"), [
        S(T((2, 5)), (2, 3)), S(T((1, 2, 4, 5)), (1, 2, 3, 1), name="2d"),
        S(T((2, 3, 3, 4)), (1, 2, 2, 0, 1, 1), name="3d"),
    ], ops=("cat", "expand")),
    OpInfo("pad_circular", lambda lib, x, p: lib.nn.functional.pad(x, p, mode="circular"), [
        S(T((2, 5)), (2, 3)), S(T((1, 2, 4, 5)), (1, 2, 3, 1), name="2d"),
        S(T((2, 3, 3, 4)), (1, 2, 2, 0, 1, 1), name="3d"),
    ], ops=("cat",)),
    OpInfo("interpolate_nearest", _interp, [
        S(T((2, 3, 5)), size=8), S(T((1, 2, 3, 4)), scale_factor=2, name="integer_scale"),
        S(T((1, 2, 3, 4)), scale_factor=(1.7, 0.6), name="fractional"),
        S(T((1, 2, 3, 4, 2)), size=(4, 3, 5), name="3d"),
    ], ops=("index",), dtypes=ALL_FLOAT),
    OpInfo("interpolate_nearest_exact", _interp, [
        S(T((1, 2, 5, 4)), size=(3, 7), mode="nearest-exact"),
        S(T((1, 2, 3)), scale_factor=2.5, mode="nearest-exact", recompute_scale_factor=True,
          name="recompute"),
    ], ops=("index",)),
    OpInfo("interpolate_linear", _interp, [
        S(T((2, 3, 5)), size=8, mode="linear"),
        S(T((2, 3, 5)), size=8, mode="linear", align_corners=True, name="align"),
        S(T((2, 3, 6)), scale_factor=0.7, mode="linear", name="down_scale"),
    ], ops=("matmul",)),
    OpInfo("interpolate_bilinear", _interp, [
        S(T((1, 2, 3, 4)), scale_factor=2, mode="bilinear"),
        S(T((1, 2, 5, 4)), size=(3, 7), mode="bilinear", align_corners=True, name="align"),
        S(T((1, 2, 4, 4)), scale_factor=1.5, mode="bilinear", recompute_scale_factor=True,
          name="recompute"),
    ], ops=("matmul",), dtypes=ALL_FLOAT),
    OpInfo("interpolate_bicubic", _interp, [
        S(T((1, 2, 3, 4)), scale_factor=2, mode="bicubic"),
        S(T((1, 2, 5, 4)), size=(3, 7), mode="bicubic", align_corners=True, name="align"),
    ], ops=("matmul",)),
    OpInfo("interpolate_bilinear_antialias", _interp, [
        S(T((2, 3, 9, 7)), size=(4, 3), mode="bilinear", antialias=True),
        S(T((1, 2, 8, 9)), scale_factor=(0.45, 1.7), mode="bilinear", antialias=True,
          name="down_up"),
        S(T((1, 2, 11, 6)), size=(3, 4), mode="bilinear", align_corners=True, antialias=True,
          name="align"),
        S(T((1, 2, 10, 7)), scale_factor=0.35, mode="bilinear", antialias=True,
          recompute_scale_factor=True, name="recompute"),
        S(T((1, 1, 9, 6)), scale_factor=(0.4, 1.0), mode="bilinear", antialias=True,
          name="one_dim_kept"),
    ], ops=("matmul",)),
    OpInfo("interpolate_bicubic_antialias", _interp, [
        S(T((2, 3, 9, 7)), size=(4, 3), mode="bicubic", antialias=True),
        S(T((1, 2, 8, 9)), scale_factor=(0.45, 1.7), mode="bicubic", antialias=True,
          name="down_up"),
        S(T((1, 2, 11, 6)), size=(3, 4), mode="bicubic", align_corners=True, antialias=True,
          name="align"),
        S(T((1, 2, 13, 5)), scale_factor=(0.3, 0.7), mode="bicubic", antialias=True,
          recompute_scale_factor=True, name="recompute"),
        S(T((1, 2, 4, 5)), size=(7, 9), mode="bicubic", antialias=True, name="upsample"),
    ], ops=("matmul",)),
    OpInfo("interpolate_trilinear", _interp, [
        S(T((1, 2, 3, 2, 4)), size=(4, 3, 5), mode="trilinear"),
        S(T((1, 1, 2, 3, 2)), scale_factor=2, mode="trilinear", align_corners=True,
          name="align"),
    ], ops=("matmul",)),
    OpInfo("interpolate_area", _interp, [
        S(T((1, 2, 6, 5)), size=(3, 2), mode="area"),
    ], ops=("matmul",)),
    OpInfo("upsample_bilinear", _f("upsample_bilinear"), [S(T((1, 2, 3, 4)), scale_factor=2)],
           ops=("matmul",)),
    OpInfo("pixel_shuffle", _f("pixel_shuffle"), [
        S(T((2, 8, 2, 3)), 2), S(T((9, 2, 2)), 3, name="unbatched"),
    ], ops=("permute", "view"), dtypes=ALL_FLOAT),
    OpInfo("pixel_unshuffle", _f("pixel_unshuffle"), [
        S(T((2, 2, 4, 6)), 2), S(T((1, 6, 3)), 3, name="unbatched"),
    ], ops=("permute", "view")),
    OpInfo("channel_shuffle", lambda lib, x: lib.nn.functional.channel_shuffle(x, 3),
           [S(T((2, 6, 2, 3)))], ops=("permute", "view")),
]
