"""Creation functions and random sampling against PyTorch: values, shapes, dtypes, seeding."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import deepseek as ds


def same(got, want, exact=True):
    """Shape, then dtype, then values of a deepseek tensor against a torch tensor."""
    assert tuple(got.shape) == tuple(want.shape), (got.shape, want.shape)
    assert got.dtype.name == str(want.dtype).replace("torch.", ""), (got.dtype, want.dtype)
    w = want.float().numpy() if want.dtype == torch.bfloat16 else want.numpy()
    if exact:
        np.testing.assert_array_equal(got.numpy().astype(w.dtype), w)
    else:
        np.testing.assert_allclose(got.numpy().astype(np.float64), w.astype(np.float64),
                                   rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("data", [1.5, 3, True, [1, 2], [1.0, 2], [[1, 2], [3, 4]], [True, False],
                                  [], [[1.5], [2.5]], np.float64(2.0), np.int32(3)])
def test_tensor_infers_dtype_like_torch(data):
    same(ds.tensor(data), torch.tensor(data))


@pytest.mark.parametrize("dtype", ["float64", "float16", "bfloat16"])
def test_python_floats_round_once_to_the_requested_dtype(dtype):
    data = [0.9, 1 / 3, 1e-8, 65519.0]
    same(ds.tensor(data, dtype=getattr(ds, dtype)), torch.tensor(data, dtype=getattr(torch, dtype)))


def test_tensor_dtype_device_requires_grad_and_copy():
    a = np.arange(4.0)
    t = ds.tensor(a, dtype=ds.float32, device="cpu", requires_grad=True)
    assert t.dtype == ds.float32 and t.device == ds.device("cpu") and t.requires_grad
    b = ds.tensor(a)
    a[0] = 10
    assert b[0].item() == 0.0  # a copy
    assert ds.tensor(ds.tensor([1, 2])).dtype == ds.int64
    assert ds.tensor([ds.tensor(1.0), ds.tensor(2.0)]).shape == (2,)


def test_from_numpy_shares_memory_and_keeps_dtype():
    for dt in (np.float64, np.float32, np.float16, np.int32, np.int16, np.int8, np.uint8,
               np.bool_, np.int64):
        a = np.zeros(3, dtype=dt)
        t = ds.from_numpy(a)
        assert t.dtype.name == str(torch.from_numpy(a).dtype).replace("torch.", "")
    a = np.zeros(3)
    t = ds.from_numpy(a)
    a[1] = 5
    assert t[1].item() == 5
    t.add_(1)
    assert a[0] == 1
    assert ds.from_numpy(np.zeros(2, dtype=np.complex64)).dtype == ds.complex64
    with pytest.raises(TypeError):
        ds.from_numpy(np.zeros(2, dtype="datetime64[s]"))
    with pytest.raises(TypeError):
        ds.from_numpy([1, 2])


def test_as_tensor_shares_when_possible():
    a = np.ones(3, dtype=np.float32)
    t = ds.as_tensor(a)
    a[0] = 7
    assert t[0].item() == 7
    assert ds.as_tensor(t) is t
    assert ds.as_tensor([1, 2]).dtype == ds.int64
    assert ds.asarray(a, dtype=ds.float64).dtype == ds.float64


@pytest.mark.parametrize("name", ["zeros", "ones", "empty"])
def test_filled_and_like(name):
    for size in [(2, 3), ((2, 3),), ([4],), ((),)]:
        got = getattr(ds, name)(*size)
        want = getattr(torch, name)(*size)
        assert tuple(got.shape) == tuple(want.shape) and got.dtype == ds.float32
        if name != "empty":
            same(got, want)
    got = getattr(ds, name)(2, dtype=ds.int32, requires_grad=False)
    assert got.dtype == ds.int32
    base = ds.ones(2, 2, dtype=ds.float64)
    like = getattr(ds, name + "_like")(base)
    assert like.shape == (2, 2) and like.dtype == ds.float64
    assert getattr(ds, name + "_like")(base, dtype=ds.int8).dtype == ds.int8
    with pytest.raises(RuntimeError, match="negative dimension"):
        getattr(ds, name)(2, -1)


@pytest.mark.parametrize("fill", [2.5, 3, True])
def test_full_infers_dtype(fill):
    same(ds.full((2, 3), fill), torch.full((2, 3), fill))
    same(ds.full_like(ds.zeros(2), fill), torch.full_like(torch.zeros(2), fill))
    same(ds.full((2,), fill, dtype=ds.float64), torch.full((2,), fill, dtype=torch.float64))


@pytest.mark.parametrize("args", [(5,), (1, 4), (0, 1, 0.25), (1.0, 4), (10, 0, -3),
                                  (2.5, -1.0, -0.5), (0, 10, 3), (-3, 3), (0, 0.3, 0.1)])
def test_arange(args):
    same(ds.arange(*args), torch.arange(*args), exact=False)


def test_arange_dtype_and_errors():
    same(ds.arange(5, dtype=ds.float64), torch.arange(5, dtype=torch.float64))
    same(ds.arange(0, 5, 2, dtype=ds.int32), torch.arange(0, 5, 2, dtype=torch.int32))
    with pytest.raises(RuntimeError):
        ds.arange(0, 5, 0)
    with pytest.raises(RuntimeError):
        ds.arange(0, 5, -1)


@pytest.mark.parametrize("args", [(0, 1, 5), (-2.0, 3.0, 7), (3, -3, 4), (0, 1, 1), (0, 1, 0),
                                  (0, 10, 11)])
def test_linspace_logspace(args):
    same(ds.linspace(*args), torch.linspace(*args), exact=False)
    same(ds.logspace(*args), torch.logspace(*args), exact=False)
    same(ds.logspace(*args, base=2.0), torch.logspace(*args, base=2.0), exact=False)
    same(ds.linspace(*args, dtype=ds.float64), torch.linspace(*args, dtype=torch.float64),
         exact=False)


def test_eye():
    for args in [(3,), (2, 4), (4, 2), (0,)]:
        same(ds.eye(*args), torch.eye(*args))
    same(ds.eye(3, dtype=ds.int64), torch.eye(3, dtype=torch.int64))


# ---------------------------------------------------------------- random
def test_rand_randn_shapes_dtypes_ranges():
    ds.manual_seed(0)
    r = ds.rand(2000)
    assert r.dtype == ds.float32 and 0 <= r.min().item() and r.max().item() < 1
    assert abs(r.mean().item() - 0.5) < 0.05
    n = ds.randn(4000, dtype=ds.float64)
    assert n.dtype == ds.float64 and abs(n.mean().item()) < 0.1 and abs(n.std().item() - 1) < 0.1
    assert ds.rand(2, 3).shape == (2, 3) and ds.randn((3, 1)).shape == (3, 1)
    assert ds.rand(3, dtype=ds.bfloat16).dtype == ds.bfloat16
    assert ds.rand_like(n).dtype == ds.float64 and ds.randn_like(r).shape == r.shape
    with pytest.raises(RuntimeError):
        ds.rand(2, dtype=ds.int64)


def test_randint_randperm():
    x = ds.randint(3, 7, (1000,))
    assert x.dtype == ds.int64 and x.min().item() == 3 and x.max().item() == 6
    assert ds.randint(5, (2, 2)).shape == (2, 2)
    assert ds.randint(0, 5, (3,), dtype=ds.int32).dtype == ds.int32
    p = ds.randperm(10)
    assert p.dtype == ds.int64 and sorted(p.tolist()) == list(range(10))
    with pytest.raises(RuntimeError):
        ds.randint(5, 5, (2,))


def test_normal_bernoulli_multinomial():
    x = ds.normal(2.0, 0.5, (4000,))
    assert x.dtype == ds.float32 and abs(x.mean().item() - 2) < 0.05
    m = ds.normal(ds.zeros(3, dtype=ds.float64), ds.ones(3, dtype=ds.float64))
    assert m.shape == (3,) and m.dtype == ds.float64
    b = ds.bernoulli(ds.full((2000,), 0.3))
    assert b.dtype == ds.float32 and set(b.tolist()) <= {0.0, 1.0}
    assert abs(b.mean().item() - 0.3) < 0.05
    w = ds.tensor([0.0, 1.0, 3.0])
    idx = ds.multinomial(w, 1000, replacement=True)
    assert idx.dtype == ds.int64 and idx.shape == (1000,) and 0 not in idx.tolist()
    assert abs((idx == 2).float().mean().item() - 0.75) < 0.06
    rows = ds.multinomial(ds.ones(4, 5), 5)
    assert rows.shape == (4, 5) and all(sorted(r) == list(range(5)) for r in rows.tolist())
    for lib in (ds, torch):  # zero-probability categories come last, not refused
        for _ in range(5):
            drawn = lib.multinomial(lib.tensor([0.0, 1.0, 3.0]), 3).tolist()
            assert sorted(drawn[:2]) == [1, 2] and drawn[2] == 0, lib
    with pytest.raises(RuntimeError, match="n_sample > prob_dist.size"):
        ds.multinomial(w, 4)


def test_manual_seed_and_generator_determinism():
    ds.manual_seed(123)
    a = (ds.rand(4), ds.randn(3), ds.randint(0, 100, (5,)), ds.randperm(6))
    ds.manual_seed(123)
    b = (ds.rand(4), ds.randn(3), ds.randint(0, 100, (5,)), ds.randperm(6))
    for x, y in zip(a, b):
        assert x.tolist() == y.tolist()
    g1, g2 = ds.Generator().manual_seed(7), ds.Generator().manual_seed(7)
    assert ds.rand(5, generator=g1).tolist() == ds.rand(5, generator=g2).tolist()
    assert ds.rand(5, generator=g1).tolist() != ds.rand(5).tolist()
    assert g1.initial_seed() == 7
    state = ds.get_rng_state()
    first = ds.randn(3).tolist()
    ds.set_rng_state(state)
    assert ds.randn(3).tolist() == first


def test_fork_rng_restores_the_stream_as_torch():
    for lib in (ds, torch):
        lib.manual_seed(5)
        lib.rand(2)
        with lib.random.fork_rng():
            inside = lib.rand(3).tolist()
        after = lib.rand(3).tolist()
        assert after == inside  # the block drew from a copy of the stream
        with lib.random.fork_rng(enabled=False):
            lib.rand(3)
        assert lib.rand(3).tolist() != after
        with pytest.raises(KeyError):  # restored on the way out of an error too
            with lib.random.fork_rng(devices=[]):
                lib.rand(4)
                raise KeyError
        assert lib.rand(1).tolist() != inside[:1]


@pytest.mark.filterwarnings("ignore:torch.set_default_tensor_type")
def test_set_default_tensor_type_as_torch():
    try:
        with pytest.warns(UserWarning, match="deprecated as of PyTorch 2.1"):
            ds.set_default_tensor_type(ds.DoubleTensor)
        assert ds.get_default_dtype() is ds.float64 and ds.zeros(1).dtype is ds.float64
        ds.set_default_tensor_type("torch.FloatTensor")
        assert ds.zeros(1).dtype is ds.float32
        for bad, message in [("torch.LongTensor", "only floating-point"),
                             (ds.float64, "invalid type object"), ("torch.Foo", "invalid type")]:
            with pytest.raises(TypeError, match=message):
                ds.set_default_tensor_type(bad)
    finally:
        ds.set_default_dtype(ds.float32)


def test_inplace_fills():
    t = ds.empty(1000)
    ds.manual_seed(1)
    assert t.uniform_(-2, 3) is t and t.min().item() >= -2 and t.max().item() < 3
    t.normal_(5.0, 0.1)
    assert abs(t.mean().item() - 5) < 0.05
    assert t.fill_(2.5).tolist() == [2.5] * 1000
    assert t.zero_().sum().item() == 0
    v = t._version
    t.fill_(1)
    assert t._version == v + 1
    leaf = ds.zeros(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        leaf.uniform_()


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
def test_linspace_is_bit_for_bit_torch(dtype):
    rng = np.random.default_rng(0)
    for _ in range(100):
        a, b = rng.uniform(-100, 100, 2)
        steps = int(rng.integers(1, 300))
        ours = ds.linspace(a, b, steps, dtype=getattr(ds, dtype))
        theirs = torch.linspace(a, b, steps, dtype=getattr(torch, dtype))
        assert ours.dtype.name == dtype
        assert np.array_equal(ours.float().numpy(), theirs.float().numpy()), (a, b, steps)


def test_legacy_tensor_types_and_torch_spellings_of_methods():
    for lib in (ds, torch):
        a, b = lib.FloatTensor(2, 3), lib.LongTensor([1, 2])
        assert tuple(a.shape) == (2, 3) and str(a.dtype).endswith("float32")
        assert b.tolist() == [1, 2] and str(b.dtype).endswith("int64")
        assert tuple(lib.DoubleTensor(lib.Size([4])).shape) == (4,)
        assert isinstance(b, lib.LongTensor) and not isinstance(b, lib.FloatTensor)
        assert lib.BoolTensor([True]).dtype == lib.bool and lib.FloatTensor().shape == (0,)
        x = lib.tensor([1.0, 4.0])
        assert lib.sqrt_(x) is x and x.tolist() == [1.0, 2.0]
        assert lib.zero_(x).tolist() == [0.0, 0.0] and lib.is_same_size(x, x)


def test_dlpack_capsules_share_memory_with_torch():
    from deepseek.utils.dlpack import from_dlpack, to_dlpack

    t = ds.arange(6.0).reshape(2, 3)
    theirs = torch.utils.dlpack.from_dlpack(to_dlpack(t))
    theirs[0, 0] = 9
    assert t[0, 0].item() == 9
    back = from_dlpack(to_dlpack(t))
    back[1, 1] = 7  # writable: a versioned capsule
    assert t[1, 1].item() == 7 and ds.from_dlpack(theirs).tolist() == t.tolist()
    legacy = from_dlpack(torch.utils.dlpack.to_dlpack(theirs))  # NumPy imports it read-only
    assert legacy.tolist() == t.tolist()
    with pytest.raises(RuntimeError, match=r"\[add_\] the tensor's memory is read-only"):
        legacy.add_(1)
    with pytest.raises(RuntimeError, match=r"\[index_put_\] the tensor's memory is read-only"):
        legacy[0] = 1
    assert legacy.clone().add_(1)[0, 0].item() == 10
