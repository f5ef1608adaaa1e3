"""Rows for convolutions, their transposes, and unfold/fold."""

from . import ALL_FLOAT, FLOAT, OpInfo, S, T

_CONV_OPS = ("convolution", "conv_transpose", "convolution_backward_weight")
_T_OPS = ("conv_transpose", "convolution", "convolution_backward_weight")


def _f(name):
    return lambda lib, *args, **kw: getattr(lib.nn.functional, name)(*args, **kw)


ROWS = [
    OpInfo("conv1d", _f("conv1d"), [
        S(T((2, 3, 7)), T((4, 3, 3)), T((4,)), stride=2, padding=1),
        S(T((3, 8)), T((4, 3, 2)), name="unbatched"),
        S(T((2, 4, 9)), T((6, 2, 3)), T((6,)), groups=2, dilation=2, padding="same",
          name="groups_same"),
    ], ops=_CONV_OPS),
    OpInfo("conv2d", _f("conv2d"), [
        S(T((2, 3, 6, 5)), T((4, 3, 3, 3)), T((4,)), padding=1),
        S(T((2, 3, 7, 6)), T((4, 3, 3, 2)), None, stride=(2, 1), padding=(1, 2),
          dilation=(1, 2), name="geometry"),
        S(T((2, 4, 5, 5)), T((6, 2, 3, 3)), T((6,)), stride=2, groups=2, name="groups"),
        S(T((1, 4, 5, 4)), T((4, 1, 2, 3)), groups=4, padding="same", name="depthwise_same"),
        S(T((1, 2, 5, 4)), T((3, 2, 2, 2)), padding="valid", name="valid"),
        S(T((3, 5, 5)), T((2, 3, 1, 1)), T((2,)), name="unbatched_1x1"),
        S(T((2, 4, 5, 5)), T((6, 4, 1, 1)), name="1x1_no_copy"),
        S(T((2, 4, 5, 6)), T((6, 4, 1, 1)), T((6,)), stride=2, name="1x1_stride2"),
        S(T((2, 3, 4, 4)), T((15, 1, 3, 3)), stride=2, padding=1, groups=3,
          name="more_channels_than_positions"),
    ], ops=_CONV_OPS, dtypes=ALL_FLOAT, atol=1e-4, rtol=1e-4),
    OpInfo("conv3d", _f("conv3d"), [
        S(T((1, 2, 4, 5, 4)), T((3, 2, 2, 3, 2)), T((3,)), stride=(1, 2, 1), padding=1),
    ], ops=_CONV_OPS, atol=1e-4, rtol=1e-4),
    OpInfo("conv_transpose1d", _f("conv_transpose1d"), [
        S(T((2, 4, 5)), T((4, 3, 3)), T((3,)), stride=3, padding=2, output_padding=1),
        S(T((4, 5)), T((4, 2, 2)), name="unbatched"),
    ], ops=_T_OPS),
    OpInfo("conv_transpose2d", _f("conv_transpose2d"), [
        S(T((2, 4, 4, 3)), T((4, 3, 3, 2)), T((3,)), stride=2, padding=1, output_padding=1),
        S(T((2, 4, 3, 4)), T((4, 2, 3, 3)), T((4,)), stride=(2, 3), groups=2, dilation=2,
          name="groups_dilation"),
        S(T((1, 4, 3, 6)), T((4, 3, 3, 3)), None, padding=(1, 3), dilation=(2, 1),
          name="stride1_crop"),
        S(T((1, 2, 3, 3)), T((2, 2, 3, 3)), None, output_padding=1, dilation=2,
          name="output_padding_dilation"),
    ], ops=_T_OPS, dtypes=FLOAT + ("bfloat16",), atol=1e-4, rtol=1e-4),
    OpInfo("conv_transpose3d", _f("conv_transpose3d"), [
        S(T((1, 2, 2, 3, 2)), T((2, 2, 2, 2, 2)), T((2,)), stride=2, padding=1,
          output_padding=1),
    ], ops=_T_OPS, atol=1e-4, rtol=1e-4),
    OpInfo("unfold", _f("unfold"), [
        S(T((2, 3, 5, 4)), kernel_size=(2, 3), stride=(2, 1), padding=1, dilation=(1, 2)),
        S(T((2, 4, 4)), kernel_size=2, name="unbatched"),
    ], ops=("im2col", "col2im"), dtypes=ALL_FLOAT),
    OpInfo("fold", _f("fold"), [
        S(T((2, 12, 21)), output_size=(5, 6), kernel_size=2, stride=(2, 1), padding=1),
        S(T((8, 4)), output_size=4, kernel_size=2, dilation=2, name="unbatched_dilated"),
    ], ops=("col2im", "im2col"), dtypes=ALL_FLOAT),
]
