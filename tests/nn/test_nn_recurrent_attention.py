"""RNN/LSTM/GRU, their cells, MultiheadAttention and the Transformer stacks against torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from nn_reference import compare_module

import deepseek as ds

R = np.random.default_rng(1)


def x(*shape):
    return R.uniform(-1, 1, shape)


RNN_CASES = [
    ("RNN", lambda nn: nn.RNN(3, 4), (x(5, 2, 3),)),
    ("RNN_relu_2layer_bi_h0", lambda nn: nn.RNN(3, 4, 2, nonlinearity="relu",
                                                bidirectional=True), (x(5, 2, 3), x(4, 2, 4))),
    ("RNN_unbatched", lambda nn: nn.RNN(3, 4, batch_first=True), (x(5, 3),)),
    ("LSTM", lambda nn: nn.LSTM(3, 4, 2, batch_first=True), (x(2, 5, 3),)),
    ("LSTM_bi_states", lambda nn: nn.LSTM(3, 4, bidirectional=True),
     (x(5, 2, 3), (x(2, 2, 4), x(2, 2, 4)))),
    ("LSTM_proj", lambda nn: nn.LSTM(3, 5, 2, proj_size=2), (x(4, 2, 3),)),
    ("GRU", lambda nn: nn.GRU(3, 4, 2, bidirectional=True, bias=False), (x(5, 2, 3),)),
    ("RNNCell", lambda nn: nn.RNNCell(3, 4), (x(2, 3), x(2, 4))),
    ("LSTMCell", lambda nn: nn.LSTMCell(3, 4), (x(2, 3), (x(2, 4), x(2, 4)))),
    ("GRUCell", lambda nn: nn.GRUCell(3, 4), (x(2, 3),)),
    ("GRUCell_unbatched", lambda nn: nn.GRUCell(3, 4), (x(3), x(4))),
]


def _tensors(lib, a):
    if isinstance(a, tuple):
        return tuple(_tensors(lib, b) for b in a)
    return a


@pytest.mark.parametrize("make,args", [c[1:] for c in RNN_CASES], ids=[c[0] for c in RNN_CASES])
def test_recurrent_matches_torch(make, args):
    flat = [a for a in args if not isinstance(a, tuple)]
    pairs = [a for a in args if isinstance(a, tuple)]
    if pairs:  # an (h0, c0) state: pass the two arrays flat and regroup them in the call
        compare_module(lambda lib: make(lib.nn), tuple(flat) + pairs[0],
                       call=lambda lib, m, inp, h, c: m(inp, (h, c)))
    else:
        compare_module(lambda lib: make(lib.nn), args)


@pytest.mark.parametrize("kwargs", [dict(num_layers=2, bidirectional=True, proj_size=2),
                                    dict(bias=False)])
def test_all_weights_and_flatten_parameters_match_torch(kwargs):
    ours, theirs = ds.nn.LSTM(3, 4, **kwargs), torch.nn.LSTM(3, 4, **kwargs)
    assert ours.flatten_parameters() is None and theirs.flatten_parameters() is None
    shapes = [[tuple(w.shape) for w in cell] for cell in ours.all_weights]
    assert shapes == [[tuple(w.shape) for w in cell] for cell in theirs.all_weights]
    assert all(isinstance(w, ds.nn.Parameter) for cell in ours.all_weights for w in cell)


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("mode", ["LSTM", "GRU"])
def test_packed_sequences_match_torch(mode, bidirectional):
    lengths = [2, 5, 3]  # unsorted: enforce_sorted=False keeps the permutation

    def call(lib, m, inp):
        rnn = lib.nn.utils.rnn
        packed = rnn.pack_padded_sequence(inp, lengths, batch_first=True, enforce_sorted=False)
        out, state = m(packed)
        padded, lens = rnn.pad_packed_sequence(out, batch_first=True, total_length=6)
        assert lens.tolist() == lengths
        return padded, state

    compare_module(lambda lib: getattr(lib.nn, mode)(3, 4, 2, batch_first=True,
                                                      bidirectional=bidirectional),
                   (x(3, 6, 3),), call=call)


MHA_CASES = [
    ("self", dict(embed_dim=8, num_heads=2), (x(5, 2, 8),) * 3, {}),
    ("batch_first_kv", dict(embed_dim=8, num_heads=4, batch_first=True, kdim=3, vdim=5),
     (x(2, 4, 8), x(2, 6, 3), x(2, 6, 5)), {"average_attn_weights": False}),
    ("bias_kv_zero_attn", dict(embed_dim=6, num_heads=3, add_bias_kv=True, add_zero_attn=True),
     (x(4, 2, 6), x(3, 2, 6), x(3, 2, 6)), {}),
    ("unbatched", dict(embed_dim=4, num_heads=2, bias=False), (x(3, 4), x(5, 4), x(5, 4)), {}),
]


@pytest.mark.parametrize("masks", ["none", "bool", "float"])
@pytest.mark.parametrize("kwargs,args,call_kwargs", [c[1:] for c in MHA_CASES],
                         ids=[c[0] for c in MHA_CASES])
def test_multihead_attention_matches_torch(kwargs, args, call_kwargs, masks):
    q, k = args[0], args[1]
    batched = q.ndim == 3
    first = kwargs.get("batch_first", False)
    L, S = (q.shape[1], k.shape[1]) if (batched and first) else (q.shape[0], k.shape[0])
    N = (q.shape[0] if first else q.shape[1]) if batched else None
    extra = {}
    if masks != "none":
        causal = np.triu(np.ones((L, S), bool), 1)
        pad = np.zeros((N, S) if batched else (S,), bool)
        pad[..., -1] = True
        if masks == "bool":
            extra = {"attn_mask": causal, "key_padding_mask": pad}
        else:
            extra = {"attn_mask": np.where(causal, -1e9, 0.0) + x(L, S) * 0.1}

    def call(lib, m, q, k, v):
        kw = {key: (lib.from_numpy(val.copy()) if lib is ds else torch.from_numpy(val.copy()))
              for key, val in extra.items()}
        return m(q, k, v, **kw, **call_kwargs)

    compare_module(lambda lib: lib.nn.MultiheadAttention(**kwargs), args, call=call)


@pytest.mark.parametrize("norm_first", [False, True])
def test_transformer_matches_torch(norm_first):
    def make(lib):
        return lib.nn.Transformer(8, 2, 2, 1, 16, dropout=0.0, batch_first=True,
                                  norm_first=norm_first, activation="gelu")

    def call(lib, m, src, tgt):
        mask = lib.nn.Transformer.generate_square_subsequent_mask(tgt.shape[1],
                                                                  dtype=tgt.dtype)
        pad = np.zeros((2, src.shape[1]), bool)
        pad[1, -2:] = True
        pad = lib.from_numpy(pad) if lib is ds else torch.from_numpy(pad)
        return m(src, tgt, tgt_mask=mask, src_key_padding_mask=pad,
                 memory_key_padding_mask=pad)

    compare_module(make, (x(2, 5, 8), x(2, 4, 8)), call=call)


def test_encoder_layer_callable_activation_unbatched():
    compare_module(lambda lib: lib.nn.TransformerEncoder(
        lib.nn.TransformerEncoderLayer(8, 2, 12, dropout=0.0, activation=lib.nn.functional.silu),
        2, norm=lib.nn.LayerNorm(8)), (x(5, 8),))


def test_square_subsequent_mask():
    m = ds.nn.Transformer.generate_square_subsequent_mask(4)
    want = torch.nn.Transformer.generate_square_subsequent_mask(4)
    np.testing.assert_array_equal(m.numpy(), want.numpy())
    assert m.dtype == ds.float32


@pytest.mark.parametrize("case", ["packed", "separate_static", "unbatched_eval_dropout"])
def test_functional_multi_head_attention_matches_torch(case):
    E, H, L, S, N = 6, 3, 4, 5, 2
    a = {"q": x(L, N, E), "k": x(S, N, E), "v": x(S, N, E), "w": x(3 * E, E), "b": x(3 * E),
         "ow": x(E, E), "ob": x(E), "wq": x(E, E), "wk": x(E, E), "wv": x(E, E),
         "sk": x(N * H, S + 1, E // H), "sv": x(N * H, S + 1, E // H)}
    if case == "unbatched_eval_dropout":
        a.update(q=x(L, E), k=x(S, E), v=x(S, E))

    def run(lib):
        t = {k: lib.tensor(v, dtype=lib.float64, requires_grad=True) for k, v in a.items()}
        kw = dict(need_weights=True, average_attn_weights=case != "packed")
        if case == "separate_static":
            kw.update(use_separate_proj_weight=True, q_proj_weight=t["wq"],
                      k_proj_weight=t["wk"], v_proj_weight=t["wv"], static_k=t["sk"],
                      static_v=t["sv"])
        out, weights = lib.nn.functional.multi_head_attention_forward(
            t["q"], t["k"], t["v"], E, H, t["w"], t["b"], None, None, False,
            0.5 if case == "unbatched_eval_dropout" else 0.0, t["ow"], t["ob"],
            training=case != "unbatched_eval_dropout", **kw)
        (out.sin().sum() + weights.square().sum()).backward()
        grads = {k: v.grad.numpy() if v.grad is not None else None for k, v in t.items()}
        return out.detach().numpy(), weights.detach().numpy(), grads

    ours, theirs = run(ds), run(torch)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-10, atol=1e-12)
    for k, g in theirs[2].items():
        assert (ours[2][k] is None) == (g is None), k
        if g is not None:
            np.testing.assert_allclose(ours[2][k], g, rtol=1e-9, atol=1e-12, err_msg=k)


def test_functional_multi_head_attention_errors_name_the_op():
    q = ds.zeros(4, 2, 6)
    f = ds.nn.functional.multi_head_attention_forward
    with pytest.raises(AssertionError, match="multi_head_attention_forward.*expecting static_k"):
        f(q, q, q, 6, 3, ds.zeros(18, 6), None, None, None, False, 0.0, ds.zeros(6, 6), None,
          static_k=ds.zeros(5, 4, 2))
    with pytest.raises(AssertionError, match="embedding dimension of 8, but got 6"):
        f(q, q, q, 8, 2, ds.zeros(18, 6), None, None, None, False, 0.0, ds.zeros(6, 6), None)


NESTED_CASES = {  # torch's encoder runs these calls on nested tensors or not
    "eligible": {}, "final_norm": {"norm": True}, "gelu_module": {"act": "GELU"},
    "sequence_first": {"layer": {"batch_first": False}}, "norm_first": {"layer": {
        "norm_first": True}}, "no_bias": {"layer": {"bias": False}}, "odd_heads": {"heads": 3},
    "lambda_act": {"act": "lambda"}, "training": {"train": True}, "grad": {"grad": True},
    "with_mask": {"mask": True}, "right_aligned": {"pad": [[True, False, False, False]]},
    "unchecked": {"pad": [[True, False, True, True]], "enc": {"mask_check": False}},
    "not_enabled": {"enc": {"enable_nested_tensor": False}}, "all_padded": {"pad": [[True] * 4]},
}


@pytest.mark.filterwarnings("ignore:enable_nested_tensor is True")
@pytest.mark.parametrize("case", NESTED_CASES)
def test_encoder_padded_outputs_match_torch_nested_path(case):
    c = NESTED_CASES[case]
    d = 6 * c.get("heads", 2)
    pad = np.array(c.get("pad", [[False, False, True, True]]) + [[False] * 4])
    x = x_ = R.standard_normal((2, 4, d)).astype(np.float32)
    first = c.get("layer", {}).get("batch_first", True)
    if not first:
        x_ = x.transpose(1, 0, 2).copy()

    def build(lib):
        act = {"GELU": lib.nn.GELU(), "lambda": lambda t: t.relu()}.get(c.get("act"), "relu")
        kw = {**dict(d_model=d, nhead=c.get("heads", 2), dim_feedforward=8, dropout=0.0,
                     batch_first=True, activation=act), **c.get("layer", {})}
        layer = lib.nn.TransformerEncoderLayer(**kw)
        return lib.nn.TransformerEncoder(layer, 2, norm=lib.nn.LayerNorm(d) if c.get("norm")
                                         else None, **c.get("enc", {}))

    torch.manual_seed(0)
    theirs, ours = build(torch), build(ds)
    ours.load_state_dict({k: ds.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    assert ours.use_nested_tensor == theirs.use_nested_tensor
    outs = []
    for lib, enc in ((ds, ours), (torch, theirs)):
        enc.train(c.get("train", False))
        mask = lib.zeros(4, 4) if c.get("mask") else None
        with lib.set_grad_enabled(c.get("grad", False)):
            out = enc(lib.tensor(x_), mask=mask, src_key_padding_mask=lib.tensor(pad))
        outs.append(out.detach().numpy())
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-4, atol=1e-5, equal_nan=True)
