"""deepseek.nn.attention.flex_attention against torch's: outputs (torch's public function),
gradients of q, k, v and captured tensors (torch's flex_attention operator and its backward,
since torch's public function refuses backward on the CPU), BlockMask metadata, errors."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.attention.flex_attention as tfa
from torch._higher_order_ops.flex_attention import flex_attention as torch_flex_op

import deepseek as ds
import deepseek.nn.attention.flex_attention as dfa

TOL = {"float64": (1e-9, 1e-11), "float32": (2e-5, 2e-5)}
LIBS = {"torch": (torch, tfa), "ds": (ds, dfa)}


@pytest.fixture(autouse=True)
def _eager_torch(monkeypatch):
    """torch's flex_attention wraps its eager math in a torch.compile call per mod; the debug
    switch runs the same math without it (much faster)."""
    monkeypatch.setattr(tfa, "_FLEX_ATTENTION_DISABLE_COMPILE_DEBUG", True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        yield


# ---------------------------------------------------------------- the mods, for either library
def causal(b, h, q, kv):
    return q >= kv


def sliding(b, h, q, kv):
    return (q - kv <= 3) & (kv - q <= 3)


def prefix(b, h, q, kv):
    return kv < 5


def alibi(s, b, h, q, kv, slopes):
    return s + slopes[h] * (kv - q)


def relative(s, b, h, q, kv, table):
    return s + table[q - kv + 19]


def softcap(s, b, h, q, kv):
    return (s / 2.0).tanh() * 2.0


def document(lib, ids_q, ids_kv):
    ids_q, ids_kv = lib.tensor(ids_q), lib.tensor(ids_kv)
    return lambda b, h, q, kv: (ids_q[q] == ids_kv[kv]) & (q >= kv)


def row_three_masked(b, h, q, kv):
    return (q >= kv) & (q != 3)


def row_two_neg_inf(s, b, h, q, kv):
    return s.masked_fill(q == 2, -math.inf)


def head_bias(s, b, h, q, kv):
    return s + (h + 1) * 0.25 - b * 0.5


def combine(name, lib, fa):
    """The mask_mod of a case, built with ``lib``'s tensors and ``fa``'s combinators."""
    if name == "causal":
        return causal
    if name == "sliding":
        return fa.and_masks(causal, sliding)
    if name == "prefix_lm":
        return fa.or_masks(causal, prefix)
    if name == "document":
        return document(lib, [0] * 6 + [1] * 7 + [2] * 3, [0] * 7 + [1] * 6 + [2] * 3)
    if name == "row_masked":
        return row_three_masked
    return None


# name: (B, Hq, Hkv, L, S, E, Ev), mask, score_mod, captured shapes, extra flex kwargs
CASES = {
    "no_mods": ((2, 2, 2, 16, 16, 8, 8), None, None, (), {}),
    "causal": ((2, 2, 2, 16, 16, 8, 6), "causal", None, (), {}),
    "sliding_window": ((1, 2, 2, 16, 16, 8, 8), "sliding", None, (), {}),
    "prefix_lm": ((1, 2, 2, 16, 16, 8, 8), "prefix_lm", None, (), {}),
    "document": ((2, 1, 1, 16, 16, 8, 8), "document", head_bias, (), {}),
    "alibi": ((2, 3, 3, 12, 12, 8, 8), "causal", alibi, ((3,),), {}),
    "relative_bias": ((1, 2, 2, 16, 20, 8, 8), None, relative, ((40,),), {"scale": 0.5}),
    "softcap": ((2, 2, 2, 12, 12, 8, 8), None, softcap, (), {}),
    "gqa": ((2, 4, 2, 16, 16, 8, 8), "causal", head_bias, (), {"enable_gqa": True}),
    "lse": ((1, 2, 2, 16, 16, 8, 8), "causal", alibi, ((2,),), {"return_lse": True}),
    "masked_row": ((1, 2, 2, 16, 16, 8, 8), "row_masked", row_two_neg_inf, (),
                   {"return_lse": True}),
    "non_square": ((2, 2, 2, 12, 20, 8, 5), "causal", softcap, (), {}),
}


def make_inputs(shape, captured, dtype, seed):
    B, hq, hkv, L, S, E, ev = shape
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s).astype(dtype)
              for s in ((B, hq, L, E), (B, hkv, S, E), (B, hkv, S, ev))]
    return arrays + [rng.standard_normal(s).astype(dtype) for s in captured]


def run(lib_name, arrays, n_captured, mask_name, score_mod, kwargs, *, grads):
    """Output (and lse) and, with ``grads``, the gradients of all inputs, from one library."""
    lib, fa = LIBS[lib_name]
    tensors = [lib.tensor(a, requires_grad=grads) for a in arrays]
    q, k, v, *captured = tensors
    mask_mod = combine(mask_name, lib, fa)
    block_mask = None if mask_mod is None else fa.create_block_mask(
        mask_mod, q.shape[0], None, q.shape[2], k.shape[2], device="cpu", BLOCK_SIZE=8)
    mod = None if score_mod is None else (
        lambda s, b, h, qi, kv: score_mod(s, b, h, qi, kv, *captured))
    if lib_name == "ds" or not grads:
        result = fa.flex_attention(q, k, v, mod, block_mask, **kwargs)
    else:  # torch's operator under autograd; captured tensors are passed as its buffers
        block_mask = block_mask or tfa._create_empty_block_mask(q, k)
        scale = kwargs.get("scale", 1.0 / math.sqrt(q.shape[-1]))
        options = tfa._apply_kernel_options(q, k, v, True, None)
        out, lse, _ = torch_flex_op(q, k, v, score_mod or tfa._identity, block_mask.as_tuple(),
                                    scale, options, tuple(captured), ())
        result = (out, lse * math.log(2)) if kwargs.get("return_lse") else out
    outs = list(result) if isinstance(result, tuple) else [result]
    if not grads:
        return [o.detach().numpy() for o in outs], []
    loss = (outs[0] * outs[0]).sum()
    if len(outs) > 1:
        finite = lib.where(outs[1].isinf(), lib.zeros_like(outs[1]), outs[1])
        loss = loss + (finite * finite).sum()
    loss.backward()
    return [o.detach().numpy() for o in outs], [t.grad.numpy() for t in tensors]


def assert_close(got, want, what, dtype):
    rtol, atol = TOL[dtype]
    assert got.shape == want.shape, f"{what}: shape {got.shape} != torch's {want.shape}"
    assert got.dtype == want.dtype, f"{what}: dtype {got.dtype} != torch's {want.dtype}"
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol,
                               err_msg=f"{what} (rtol={rtol}, atol={atol})")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", list(CASES))
def test_flex_attention_like_torch(case, dtype):
    shape, mask_name, score_mod, captured, kwargs = CASES[case]
    arrays = make_inputs(shape, captured, dtype, seed=len(case))
    spec = (len(captured), mask_name, score_mod, kwargs)
    want, _ = run("torch", arrays, *spec, grads=False)
    got, got_grads = run("ds", arrays, *spec, grads=True)
    for i, (g, w) in enumerate(zip(got, want)):
        assert_close(g, w, f"flex_attention[{case}] output {i}", dtype)
    _, want_grads = run("torch", arrays, *spec, grads=True)
    names = ["query", "key", "value"] + [f"captured{i}" for i in range(len(captured))]
    for name, g, w in zip(names, got_grads, want_grads):
        assert_close(g, w, f"flex_attention[{case}] grad of {name}", dtype)


@pytest.mark.parametrize("dtype,tol", [("float16", 1e-3), ("bfloat16", 1.6e-2)])
@pytest.mark.parametrize("score_mod", [None, softcap])
def test_low_precision_like_torch(dtype, tol, score_mod):
    """Scores and softmax in float32, the weights rounded to the dtype before ``@ v``."""
    arrays = make_inputs((1, 2, 2, 16, 16, 8, 8), (), "float32", seed=6)
    results = []
    for lib, fa in LIBS.values():
        q, k, v = (lib.tensor(a).to(getattr(lib, dtype)) for a in arrays)
        bm = fa.create_block_mask(causal, None, None, 16, 16, device="cpu", BLOCK_SIZE=8)
        out, lse = fa.flex_attention(q, k, v, score_mod, bm, return_lse=True)
        assert str(out.dtype).endswith(dtype) and str(lse.dtype).endswith("float32")
        results.append([out.float().numpy(), lse.numpy()])
    for got, want in zip(results[1], results[0]):
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol, err_msg=dtype)


def test_fully_masked_rows_give_zero_and_neg_inf_lse():
    q, k, v = make_inputs((1, 2, 2, 16, 16, 8, 8), (), "float32", seed=0)[:3]
    bm = dfa.create_block_mask(row_three_masked, None, None, 16, 16, device="cpu",
                               BLOCK_SIZE=8)
    out, aux = dfa.flex_attention(*map(ds.tensor, (q, k, v)), row_two_neg_inf, bm,
                                  return_aux=dfa.AuxRequest(lse=True, max_scores=True))
    assert (out[:, :, 2:4].numpy() == 0).all()
    assert np.isneginf(aux.lse[:, :, 2:4].numpy()).all()
    assert np.isfinite(aux.lse[:, :, 4:].numpy()).all()
    assert np.isneginf(aux.max_scores[:, :, 2:4].numpy()).all()


def test_return_aux_matches_return_lse():
    q, k, v = map(ds.tensor, make_inputs((1, 2, 2, 8, 8, 4, 4), (), "float64", seed=1)[:3])
    out, lse = dfa.flex_attention(q, k, v, softcap, return_lse=True)
    out2, aux = dfa.flex_attention(q, k, v, softcap, return_aux=dfa.AuxRequest(lse=True))
    np.testing.assert_array_equal(out.numpy(), out2.numpy())
    np.testing.assert_array_equal(lse.numpy(), aux.lse.numpy())
    assert aux.max_scores is None
    assert isinstance(dfa.flex_attention(q, k, v, return_aux=dfa.AuxRequest())[1], dfa.AuxOutput)


def test_batch_broadcast_key_value_with_block_mask():
    arrays = make_inputs((2, 2, 2, 16, 16, 8, 8), (), "float64", seed=2)
    arrays[1], arrays[2] = arrays[1][:1], arrays[2][:1]
    outs = []
    for lib, fa in LIBS.values():
        bm = fa.create_block_mask(causal, 2, None, 16, 16, device="cpu", BLOCK_SIZE=8)
        outs.append(fa.flex_attention(*map(lib.tensor, arrays), head_bias, bm).numpy())
    assert_close(outs[1], outs[0], "flex_attention[batch broadcast]", "float64")


def test_unbroadcastable_mods_fall_back_to_vmap():
    def ds_mod(s, b, h, q, kv):  # Python control flow on the indices
        return s * 2 if q > kv else s

    def ds_mask(b, h, q, kv):
        return bool(q >= kv) or bool(kv == 4)

    arrays = make_inputs((1, 2, 2, 4, 5, 4, 4), (), "float64", seed=3)
    got = dfa.flex_attention(*map(ds.tensor, arrays), ds_mod,
                             dfa.create_block_mask(lambda b, h, q, kv: ds.tensor(
                                 ds_mask(b, h, q, kv)), None, None, 4, 5, device="cpu",
                                 BLOCK_SIZE=2))
    want = tfa.flex_attention(*map(torch.tensor, arrays),
                              lambda s, b, h, q, kv: torch.where(q > kv, s * 2, s),
                              tfa.create_block_mask(lambda b, h, q, kv: (q >= kv) | (kv == 4),
                                                    None, None, 4, 5, device="cpu",
                                                    BLOCK_SIZE=2))
    assert_close(got.numpy(), want.numpy(), "flex_attention[vmapped mods]", "float64")


def test_gradcheck_float64():
    rng = np.random.default_rng(4)
    q, k, v = (ds.tensor(rng.standard_normal((1, 2, 6, 3)), requires_grad=True)
               for _ in range(3))
    table = ds.tensor(rng.standard_normal(40), requires_grad=True)
    bm = dfa.create_block_mask(dfa.or_masks(causal, prefix), None, None, 6, 6, device="cpu",
                               BLOCK_SIZE=4)

    def fn(q, k, v, table):
        out, lse = dfa.flex_attention(q, k, v, lambda s, b, h, qi, kv: relative(
            s, b, h, qi, kv, table).tanh(), bm, return_lse=True)
        return out, lse

    assert ds.autograd.gradcheck(fn, (q, k, v, table))


# ---------------------------------------------------------------- BlockMask
def _assert_block_mask_like_torch(ours, theirs, what):
    assert ours.shape == theirs.shape, what
    assert ours.BLOCK_SIZE == tuple(theirs.BLOCK_SIZE), what
    assert tuple(ours.seq_lengths) == tuple(theirs.seq_lengths), what
    for name in tfa.BlockMask._TENSOR_ATTRS:
        a, b = getattr(ours, name), getattr(theirs, name)
        assert (a is None) == (b is None), f"{what}: {name}"
        if b is not None:
            assert a.dtype == ds.int32, f"{what}: {name} dtype {a.dtype}"
            np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=f"{what}: {name}")
    np.testing.assert_array_equal(ours.to_dense().numpy(), theirs.to_dense().numpy())
    assert ours.to_dense().dtype == ds.int32
    assert ours.sparsity() == theirs.sparsity(), what
    assert ours.numel() == theirs.numel(), what
    assert str(ours) == str(theirs), what
    assert len(ours.as_tuple()) == len(theirs.as_tuple())
    assert len(ours.as_tuple(flatten=False)) == len(theirs.as_tuple(flatten=False))


@pytest.mark.parametrize("block", [16, 128, (16, 32)])
@pytest.mark.parametrize("separate", [True, False])
def test_block_mask_like_torch(block, separate):
    args = (2, None, 200, 300)
    ours = dfa.create_block_mask(causal, *args, device="cpu", BLOCK_SIZE=block,
                                 separate_full_blocks=separate)
    theirs = tfa.create_block_mask(causal, *args, device="cpu", BLOCK_SIZE=block,
                                   separate_full_blocks=separate)
    _assert_block_mask_like_torch(ours, theirs, f"create_block_mask(BLOCK_SIZE={block})")
    assert ours.mask_mod is causal
    _assert_block_mask_like_torch(ours[1], theirs[1], "BlockMask[1]")
    rows = (slice(None), slice(None), ds.tensor([1, 0], dtype=ds.int32))
    _assert_block_mask_like_torch(ours[rows], theirs[(slice(None), slice(None),
                                                      torch.tensor([1, 0], dtype=torch.int32))],
                                  "BlockMask[:, :, rows]")
    _assert_block_mask_like_torch(ours._adjust(100, 150), theirs._adjust(100, 150), "_adjust")
    with pytest.raises(RuntimeError, match="sliced BlockMask"):
        ours[0].mask_mod(*[ds.tensor(0)] * 4)


def test_block_mask_dq_write_order_like_torch():
    for order in (True, False):
        args = (document(ds, [0] * 40 + [1] * 24, [0] * 40 + [1] * 24), 2, 2, 64, 64)
        theirs_args = (document(torch, [0] * 40 + [1] * 24, [0] * 40 + [1] * 24),) + args[1:]
        ours = dfa.create_block_mask(*args, device="cpu", BLOCK_SIZE=16,
                                     compute_dq_write_order=True, dq_kv_order=order)
        theirs = tfa.create_block_mask(*theirs_args, device="cpu", BLOCK_SIZE=16,
                                       compute_dq_write_order=True, dq_kv_order=order)
        _assert_block_mask_like_torch(ours, theirs, f"dq_kv_order={order}")
        assert ours.dq_kv_order_spt is theirs.dq_kv_order_spt
        _assert_block_mask_like_torch(ours[0, 1], theirs[0, 1], "sliced with write order")


def test_block_mask_from_kv_blocks_and_block_sparsity():
    num = np.array([[[1, 2]]], np.int32)
    idx = np.array([[[[1, 0], [0, 1]]]], np.int32)
    ours = dfa.BlockMask.from_kv_blocks(ds.tensor(num), ds.tensor(idx), BLOCK_SIZE=4)
    theirs = tfa.BlockMask.from_kv_blocks(torch.tensor(num), torch.tensor(idx), BLOCK_SIZE=4)
    _assert_block_mask_like_torch(ours, theirs, "from_kv_blocks")
    # Unlisted blocks are not attended (the block-sparse kernels' rule): query block 0 sees
    # only key block 1.
    q, k, v = map(ds.tensor, make_inputs((1, 1, 1, 8, 8, 4, 4), (), "float64", seed=5)[:3])
    got = dfa.flex_attention(q, k, v, block_mask=ours)
    allowed = np.zeros((8, 8), bool)
    allowed[:4, 4:] = True
    allowed[4:] = True
    want = ds.nn.functional.scaled_dot_product_attention(q, k, v, ds.tensor(allowed))
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("mod", [causal, softcap, row_two_neg_inf])
def test_create_mask_like_torch(mod):
    ours = dfa.create_mask(mod, 2, 3, 5, 7, device="cpu")
    theirs = tfa.create_mask(mod, 2, 3, 5, 7, device="cpu")
    assert ours.shape == theirs.shape and ours.dtype == ds.bool
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_noop_and_combinators():
    idx = [ds.tensor(i) for i in (0, 1, 2, 3)]
    assert dfa.noop_mask(*idx).item() is True
    assert dfa.and_masks()(*idx).item() is True and dfa.or_masks()(*idx).item() is False
    for combinator in (dfa.and_masks, dfa.or_masks):
        with pytest.raises(RuntimeError, match="All inputs should be callable mask_mods"):
            combinator(causal, 3)
    assert dfa.__all__ == tfa.__all__


# ---------------------------------------------------------------- errors
def _qkv(*shapes, dtype=np.float32):
    return [ds.tensor(np.zeros(s, dtype)) for s in shapes]


BAD = {
    "three_dims": (lambda: _qkv((2, 4, 8), (2, 4, 8), (2, 4, 8)), {}, NotImplementedError,
                   r"4D tensors.*float32\[2, 4, 8\]"),
    "embedding": (lambda: _qkv((1, 2, 4, 8), (1, 2, 4, 6), (1, 2, 4, 8)), {}, ValueError,
                  r"E=8 and E=6.*float32\[1, 2, 4, 6\]"),
    "heads": (lambda: _qkv((1, 4, 4, 8), (1, 2, 4, 8), (1, 2, 4, 8)), {}, ValueError,
              "Hq=4 and Hkv=2. Try setting enable_gqa=True"),
    "gqa_ratio": (lambda: _qkv((1, 3, 4, 8), (1, 2, 4, 8), (1, 2, 4, 8)),
                  {"enable_gqa": True}, ValueError, "multiple of kv heads.*Hq=3 and Hkv=2"),
    "batch": (lambda: _qkv((2, 2, 4, 8), (1, 2, 4, 8), (1, 2, 4, 8)), {}, ValueError,
              "block_mask=None, Bq=2, and Bkv=1"),
    "value_length": (lambda: _qkv((1, 2, 4, 8), (1, 2, 4, 8), (1, 2, 5, 8)), {}, ValueError,
                     r"key and value.*float32\[1, 2, 5, 8\]"),
    "integer": (lambda: _qkv((1, 2, 4, 8), (1, 2, 4, 8), (1, 2, 4, 8), dtype=np.int64), {},
                RuntimeError, r"floating-point.*int64\[1, 2, 4, 8\]"),
    "block_mask_type": (lambda: _qkv((1, 2, 4, 8), (1, 2, 4, 8), (1, 2, 4, 8)),
                        {"block_mask": "causal"}, TypeError, "must be a BlockMask"),
    "block_mask_longer": (lambda: _qkv((1, 2, 4, 8), (1, 2, 4, 8), (1, 2, 4, 8)),
                          {"block_mask": dfa.create_block_mask(causal, 1, 1, 8, 4, "cpu")},
                          ValueError, r"block_mask.shape=\(1, 1, 8, 4\).*_adjust"),
    "block_mask_shorter": (lambda: _qkv((1, 2, 8, 8), (1, 2, 4, 8), (1, 2, 4, 8)),
                           {"block_mask": dfa.create_block_mask(causal, 1, 1, 4, 4, "cpu")},
                           ValueError, "smaller length"),
    "sliced": (lambda: _qkv((1, 2, 4, 8), (1, 2, 4, 8), (1, 2, 4, 8)),
               {"block_mask": dfa.create_block_mask(causal, 2, 1, 4, 4, "cpu")[0]},
               RuntimeError, "sliced BlockMask"),
    "lse_and_aux": (lambda: _qkv((1, 2, 4, 8), (1, 2, 4, 8), (1, 2, 4, 8)),
                    {"return_lse": True, "return_aux": dfa.AuxRequest(lse=True)}, ValueError,
                    "both return_lse and return_aux"),
    "backend": (lambda: _qkv((1, 2, 4, 8), (1, 2, 4, 8), (1, 2, 4, 8)),
                {"kernel_options": {"BACKEND": "CUDNN"}}, ValueError, "Invalid BACKEND"),
    "non_bool_mask": (lambda: _qkv((1, 2, 4, 8), (1, 2, 4, 8), (1, 2, 4, 8)),
                      {"block_mask": dfa.BlockMask.from_kv_blocks(
                          ds.ones(1, 1, 1, dtype=ds.int32), ds.zeros(1, 1, 1, 1, dtype=ds.int32),
                          BLOCK_SIZE=4, mask_mod=lambda b, h, q, kv: q - kv)},
                      RuntimeError, "mask_mod must return a bool tensor"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_errors(case):
    make, kwargs, exc, message = BAD[case]
    with pytest.raises(exc, match=message) as info:
        dfa.flex_attention(*make(), **kwargs)
    assert str(info.value).startswith("[flex_attention]"), str(info.value)


def test_mod_arity_errors():
    with pytest.raises(AssertionError, match="Expected 4 or 5 positional args, got 3"):
        dfa.create_mask(lambda b, h, q: q, 1, 1, 2, 2, device="cpu")
    with pytest.raises(AssertionError, match="requires a mask_mod"):
        dfa.create_block_mask(softcap, 1, 1, 2, 2, device="cpu")
