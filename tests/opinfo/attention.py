"""Rows for scaled dot-product attention."""

from . import ALL_FLOAT, OpInfo, S, T


def sdpa(lib, q, k, v, *args, **kwargs):
    return lib.nn.functional.scaled_dot_product_attention(q, k, v, *args, **kwargs)


def sdpa_bool_mask(lib, q, k, v, mask, **kwargs):
    return lib.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask > 0, **kwargs)


_QKV = (T((2, 3, 4, 8)), T((2, 3, 6, 8)), T((2, 3, 6, 5)))

ROWS = [
    OpInfo("scaled_dot_product_attention", sdpa, [
        S(*_QKV), S(*_QKV, is_causal=True, name="causal_L_ne_S"),
        S(T((4, 8)), T((4, 8)), T((4, 8)), is_causal=True, name="2d_causal"),
        S(T((2, 1, 3, 4)), T((1, 2, 5, 4)), T((1, 2, 5, 3)), scale=0.3, name="broadcast_scale"),
        S(T((2, 2, 3, 4, 4)), T((2, 2, 3, 4, 4)), T((2, 2, 3, 4, 4)), name="5d"),
        S(*_QKV, T((4, 6)), name="float_mask"),
        S(*_QKV, T((3, 1, 6), grad=False), name="float_mask_broadcast"),
        S(T((1, 6, 3, 4)), T((1, 2, 5, 4)), T((1, 2, 5, 4)), enable_gqa=True, name="gqa"),
    ], ops=("scaled_dot_product_attention", "_sdpa_softmax")),
    OpInfo("scaled_dot_product_attention_bool_mask", sdpa_bool_mask, [
        S(*_QKV, T((4, 6), grad=False)),
        S(*_QKV, T((4, 6), values=[[1] * 6, [-1] * 6, [1, -1] * 3, [-1] * 5 + [1]], grad=False),
          name="fully_masked_row")], ops=("scaled_dot_product_attention", "_sdpa_softmax")),
    OpInfo("scaled_dot_product_attention_lowp", sdpa, [S(*_QKV)],
           ops=("scaled_dot_product_attention", "_sdpa_softmax"), dtypes=ALL_FLOAT, grad=False),
]
