"""``x[key]`` and ``x[key] = v`` against PyTorch over many keys, errors, and the semantics of
the indexing ops that OpInfo rows cannot express (in place, autograd through setitem)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import deepseek as ds

X = np.arange(120, dtype=np.float32).reshape(4, 5, 6)


def I(*v):
    return np.array(v, dtype=np.int64)


def B(*v):
    return np.array(v, dtype=bool)


KEYS = [
    1, -1, (1, 2), (-1, -2, -3), slice(None), slice(1, 3), slice(None, None, 2), slice(-3, None),
    slice(1, 100), slice(5, 1), (slice(None), slice(0, 5, 2)), None, (None, 1), (Ellipsis, 1),
    (1, Ellipsis, None), (Ellipsis,), (Ellipsis, None), (), I(0, 2, 3), I(-1, 0),
    np.array([[0, 1], [2, 3]]), X > 50, B(True, False, True, True), (X > 50)[:, :, 0],
    (slice(None), B(True, False, True, True, False)), [0, 2], [[0, 1], [1, 2]],
    [True, False, True, True], (I(0, 1), slice(None), I(2, 3)), (slice(None), I(0, 1), I(2, 3)),
    (1, slice(None), I(0, 1)), (I(0, 1), 1), (I(0, 1), slice(None), 1), np.array(1),
    (np.array(1), slice(None), I(0, 2)), (np.array(1), I(0, 2)), True, False,
    (None, I(0, 1), None), (Ellipsis, I(0, 1)), (I(0, 1), None, I(1, 2)),
    (slice(1, 3), None, I(1, 2)), (I(1), I(2), I(3)), (1, I(0, 1), slice(None)),
    (slice(None), 1, I(0, 1)), (I(0, 1), slice(None), np.array(2)),
    (I(0, 1), slice(1, 3), I(1, 2), ...), (..., None, I(0, 1), 2),
    (B(True, False, True, True), I(0, 1, 4)), (B(True, False, True, True), slice(None), I(0, 1, 5)),
    ((X > 50)[:, :, 0], I(1)), ([0, 1], [1, 2]), (0, [0, 1], [1, 2]), ([0, 1], 0, [1, 2]),
    (np.array([[0], [3]]), slice(None, None, 3), np.array([1, 5])), I(), (I(), slice(2)),
]


def _lib_key(k, lib):
    if isinstance(k, tuple):
        return tuple(_lib_key(i, lib) for i in k)
    if isinstance(k, np.ndarray):
        return torch.from_numpy(k) if lib is torch else ds.from_numpy(k)
    return k


class _quiet:
    def __enter__(self):
        import warnings

        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("ignore")

    def __exit__(self, *a):
        self._w.__exit__(*a)


@pytest.mark.parametrize("key", KEYS, ids=lambda k: repr(k)[:40])
def test_getitem_matches_torch(key):
    with _quiet():
        want = torch.from_numpy(X)[_lib_key(key, torch)]
    got = ds.from_numpy(X)[_lib_key(key, ds)]
    assert tuple(got.shape) == tuple(want.shape)
    np.testing.assert_array_equal(got.numpy(), want.numpy())


@pytest.mark.parametrize("key", KEYS, ids=lambda k: repr(k)[:40])
def test_setitem_matches_torch(key):
    t, d = torch.from_numpy(X.copy()), ds.from_numpy(X.copy())
    with _quiet():
        shape = t[_lib_key(key, torch)].shape
        value = np.random.default_rng(0).standard_normal(tuple(shape)).astype(np.float32)
        t[_lib_key(key, torch)] = torch.from_numpy(value)
    d[_lib_key(key, ds)] = ds.from_numpy(value)
    np.testing.assert_array_equal(d.numpy(), t.numpy())
    with _quiet():
        t[_lib_key(key, torch)] = -7
    d[_lib_key(key, ds)] = -7
    np.testing.assert_array_equal(d.numpy(), t.numpy())


@pytest.mark.parametrize("key", [k for k in KEYS if not isinstance(k, bool)][:40],
                         ids=lambda k: repr(k)[:40])
def test_getitem_gradient(key):
    g = np.random.default_rng(1).standard_normal
    xt = torch.from_numpy(X.copy()).requires_grad_()
    xd = ds.from_numpy(X.copy()).requires_grad_()
    with _quiet():
        yt = xt[_lib_key(key, torch)]
    up = g(tuple(yt.shape)).astype(np.float32)
    (yt * torch.from_numpy(up)).sum().backward()
    (xd[_lib_key(key, ds)] * ds.from_numpy(up)).sum().backward()
    np.testing.assert_allclose(xd.grad.numpy(), xt.grad.numpy())


@pytest.mark.parametrize("code, exc", [
    ("x[1.5]", IndexError), ("x[::-1]", ValueError), ("x[lib.tensor([0.5])]", IndexError),
    ("x[5]", IndexError), ("x[-5]", IndexError), ("x[:, lib.tensor([5])]", IndexError),
    ("x[:, [-6]]", IndexError), ("x[0, 0, 0, 0]", IndexError),
    ("x[lib.ones(3, dtype=lib.bool)]", IndexError), ("x[1:2.5]", TypeError),
    ("x[lib.tensor(1.0)]", IndexError), ("x[..., 0, 0, 0, 0]", IndexError),
])
def test_getitem_errors(code, exc):
    for lib in (torch, ds):
        x = lib.zeros(4, 5, 6)
        with pytest.raises(exc):
            eval(code, {"x": x, "lib": lib})


def test_setitem_errors():
    for lib in (torch, ds):
        x = lib.zeros(3, 4)
        with pytest.raises(RuntimeError):
            x[0] = lib.ones(3)
        with pytest.raises(RuntimeError):
            x[[0, 1]] = lib.ones(3, 4)
        with pytest.raises(RuntimeError):  # a leaf that requires grad
            lib.zeros(3, requires_grad=True)[0] = 1.0


def test_setitem_casts_and_leading_ones():
    x = ds.zeros(3, 4, dtype=ds.int64)
    x[0] = ds.tensor([1.7, 2.2, 3.9, -1.2])
    x[1] = ds.ones(1, 1, 4)
    assert x.dtype == ds.int64
    assert x.tolist() == [[1, 2, 3, -1], [1, 1, 1, 1], [0, 0, 0, 0]]


def test_setitem_autograd():
    for lib in (torch, ds):
        x = lib.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
        v = lib.tensor([10.0, 20.0], requires_grad=True)
        y = x * 2
        y[:, 1] = v * v  # value requires grad, target a non-leaf
        y[0, [0, 0]] = 7.0
        (y * lib.tensor([1.0, 2.0, 3.0])).sum().backward()
        if lib is torch:
            want = (x.grad.numpy().copy(), v.grad.numpy().copy())
    np.testing.assert_allclose(x.grad.numpy(), want[0])
    np.testing.assert_allclose(v.grad.numpy(), want[1])


def test_setitem_on_view_updates_base_and_grads():
    for lib in (torch, ds):
        x = lib.arange(12.0).reshape(3, 4).requires_grad_()
        y = x * 1
        row = y[1]
        row[1:3] = lib.tensor([-1.0, -2.0])
        assert y[1, 1].item() == -1.0  # the base sees a write through its view
        (y * y).sum().backward()
        if lib is torch:
            want = x.grad.numpy().copy()
    np.testing.assert_allclose(x.grad.numpy(), want)


def test_index_ops_inplace_and_errors():
    for lib in (torch, ds):
        x = lib.zeros(3, 4)
        x.index_add_(1, lib.tensor([0, 0, 3]), lib.ones(3, 3), alpha=2)
        x.index_fill_(0, lib.tensor([2]), 5.0)
        x.masked_fill_(x > 4, -1.0)
        if lib is torch:
            want = x.numpy().copy()
        with pytest.raises(IndexError):
            x.index_select(0, lib.tensor([[0]]))
        with pytest.raises(RuntimeError):
            x.masked_fill(lib.ones(3, 4), 1.0)  # not a bool mask
        with pytest.raises(RuntimeError):
            x.masked_fill(x > 0, lib.ones(2))  # value is not 0-d
        with pytest.raises(RuntimeError):
            x.topk(5)
    np.testing.assert_array_equal(x.numpy(), want)


def test_scatter_value_and_inplace():
    for lib in (torch, ds):
        x = lib.zeros(2, 4)
        idx = lib.tensor([[1, 3], [0, 2]])
        x.scatter_(1, idx, 2.5)
        x.scatter_(1, idx, lib.full((2, 2), 1.0), reduce="add")
        y = lib.scatter(x, 0, lib.tensor([[1, 0, 1, 0]]), lib.full((1, 4), -3.0))
        if lib is torch:
            want = (x.numpy().copy(), y.numpy().copy())
    np.testing.assert_array_equal(x.numpy(), want[0])
    np.testing.assert_array_equal(y.numpy(), want[1])


def test_sort_topk_return_types():
    x = ds.tensor([[3.0, 1.0, 2.0], [0.0, 5.0, 4.0]])
    s = ds.sort(x, descending=True)
    assert s.values.tolist() == [[3.0, 2.0, 1.0], [5.0, 4.0, 0.0]]
    assert s.indices.tolist() == [[0, 2, 1], [1, 2, 0]]
    values, indices = x.topk(1)
    assert values.tolist() == [[3.0], [5.0]] and indices.tolist() == [[0], [1]]
    assert not indices.requires_grad


def test_repeat_interleave_counts_and_unique_defaults():
    for lib in (torch, ds):
        r = lib.repeat_interleave(lib.tensor([2, 0, 3]))
        u = lib.unique(lib.tensor([3, 1, 3, 2]), return_inverse=True)
        if lib is torch:
            want = (r.tolist(), [t.tolist() for t in u])
    assert r.tolist() == want[0]
    assert [t.tolist() for t in u] == want[1]
