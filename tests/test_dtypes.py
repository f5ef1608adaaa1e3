"""dtypes: defaults, the promotion table and result_type against PyTorch."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

import deepseek as ds

NAMES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32",
         "float64"]


def ds_dtype(name):
    return getattr(ds, name)


def torch_dtype(name):
    return getattr(torch, name)


def test_defaults():
    assert ds.tensor(1.5).dtype == ds.float32
    assert ds.tensor(1).dtype == ds.int64
    assert ds.tensor(True).dtype == ds.bool
    assert ds.tensor([1, 2.0]).dtype == ds.float32
    assert ds.from_numpy(np.zeros(2, dtype=np.float64)).dtype == ds.float64
    assert ds.get_default_dtype() == ds.float32


def test_set_default_dtype():
    try:
        ds.set_default_dtype(ds.float64)
        assert ds.tensor(1.5).dtype == ds.float64 and ds.zeros(2).dtype == ds.float64
        assert ds.arange(0.0, 1.0, 0.5).dtype == ds.float64
        assert repr(ds.tensor([1.5])) == "tensor([1.5000])"
        want = "tensor([1.5000], dtype=deepseek.float32)"
        assert repr(ds.tensor([1.5], dtype=ds.float32)) == want
        with pytest.raises(TypeError):
            ds.set_default_dtype(ds.int64)
    finally:
        ds.set_default_dtype(ds.float32)


def test_dtype_objects():
    assert ds.float is ds.float32 and ds.double is ds.float64 and ds.half is ds.float16
    assert ds.long is ds.int64 and ds.int is ds.int32 and ds.short is ds.int16
    assert repr(ds.float32) == "deepseek.float32"
    for name in NAMES:
        d, t = ds_dtype(name), torch_dtype(name)
        assert d.is_floating_point == t.is_floating_point
        assert d.itemsize == t.itemsize
        assert d.is_signed == t.is_signed


@pytest.mark.parametrize("a,b", list(itertools.product(NAMES, NAMES)))
def test_promote_types_matches_torch(a, b):
    got = ds.promote_types(ds_dtype(a), ds_dtype(b))
    want = torch.promote_types(torch_dtype(a), torch_dtype(b))
    assert got.name == str(want).replace("torch.", "")


def _operand(lib, kind, name):
    if kind == "scalar":
        return {"bool": True, "int64": 2, "float32": 2.5}[name]
    shape = () if kind == "zero" else (2,)
    return lib.zeros(shape, dtype=getattr(lib, name))


KINDS = [("dim", n) for n in NAMES] + [("zero", n) for n in NAMES] + [
    ("scalar", "bool"), ("scalar", "int64"), ("scalar", "float32")]


@pytest.mark.parametrize("a", KINDS, ids=lambda k: f"{k[0]}-{k[1]}")
def test_result_type_matches_torch(a):
    for b in KINDS:
        if a[0] == "scalar" and b[0] == "scalar":
            continue
        got = ds.result_type(_operand(ds, *a), _operand(ds, *b))
        want = torch.result_type(_operand(torch, *a), _operand(torch, *b))
        assert got.name == str(want).replace("torch.", ""), (a, b)


@pytest.mark.parametrize("a,b", [("int32", 2.5), ("uint8", 3), ("float16", 2.5), ("bool", 3),
                                 ("int8", True), ("bfloat16", 2)])
def test_binary_op_result_dtype_with_scalars(a, b):
    got = (ds.ones(2, dtype=ds_dtype(a)) + b).dtype
    want = (torch.ones(2, dtype=torch_dtype(a)) + b).dtype
    assert got.name == str(want).replace("torch.", "")


def test_to_dtype_accepts_names_and_types():
    x = ds.ones(2)
    assert x.to("float64").dtype == ds.float64
    assert x.to(float).dtype == ds.float32 and x.to(int).dtype == ds.int64
    assert x.to(np.float16).dtype == ds.float16
    assert x.to(dtype="complex64").dtype == ds.complex64
    with pytest.raises(TypeError):
        x.to(dtype="complex32")  # ComplexHalf: NumPy has no such type



@pytest.mark.parametrize("layout", ["contiguous", "transposed", "strided"])
def test_bfloat16_casts_match_torch_bit_for_bit(layout):
    """float32 <-> bfloat16 (a kernel for big arrays): round to nearest even, ties, the edges of
    the range (to inf, subnormals, -0), NaN and inf, in every layout."""
    rng = np.random.default_rng(0)
    special = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan, 3.3895314e38, 3.4028235e38,
                        1e-40, -1e-45, 1.0 + 2**-8, 1.0 + 3 * 2**-8, 1.0 + 2**-8 + 2**-20],
                       np.float32)
    bits = rng.integers(0, 2**32, 64 * 128, dtype=np.uint64).astype(np.uint32).view(np.float32)
    x = np.concatenate([special, bits[special.size:]]).reshape(64, 128)
    x = {"contiguous": x, "transposed": x.T, "strided": x[:, ::2]}[layout]
    got = ds.from_numpy(x).to(ds.bfloat16)
    want = torch.from_numpy(np.ascontiguousarray(x)).to(torch.bfloat16)
    nan = np.isnan(x)
    np.testing.assert_array_equal(got.numpy().view(np.uint16)[~nan],
                                  want.view(torch.int16).numpy().view(np.uint16)[~nan])
    assert np.isnan(got.float().numpy()[nan]).all()
    back, want_back = got.float().numpy(), want.float().numpy()
    np.testing.assert_array_equal(back.view(np.uint32)[~nan], want_back.view(np.uint32)[~nan])
