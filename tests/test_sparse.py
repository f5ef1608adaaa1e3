"""Sparse COO tensors (``deepseek.sparse``) against PyTorch: construction, coalescing,
conversion, products and their gradients, sums, printing and refusals of dense ops."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

import deepseek as ds

pytestmark = pytest.mark.filterwarnings("ignore:Sparse invariant checks")

INDICES = [[0, 1, 1, 0, 2], [2, 0, 2, 2, 1]]  # unsorted, (0, 2) twice
VALUES = [3.0, 4.0, 5.0, 1.0, 2.0]


def both(indices=INDICES, values=VALUES, size=(3, 3), **kwargs):
    return (ds.sparse_coo_tensor(indices, values, size, **kwargs),
            torch.sparse_coo_tensor(indices, values, size, **kwargs))


def close(actual, expected, what, atol=1e-5, rtol=1.3e-5):
    """Shape, then dtype, then values; sparse operands compare their dense form."""
    if actual.is_sparse or expected.is_sparse:
        assert actual.is_sparse == expected.is_sparse, f"{what}: layouts differ"
        actual, expected = actual.to_dense(), expected.to_dense()
    assert tuple(actual.shape) == tuple(expected.shape), f"{what}: shapes differ"
    assert str(actual.dtype).split(".")[1] == str(expected.dtype).split(".")[1], \
        f"{what}: dtypes differ"
    np.testing.assert_allclose(actual.detach().numpy(), expected.detach().numpy(), atol=atol,
                               rtol=rtol, err_msg=f"{what} (atol {atol}, rtol {rtol})")


def random_sparse(rng, n, m, nnz, dtype=np.float32):
    indices = np.stack([rng.integers(0, n, nnz), rng.integers(0, m, nnz)])
    values = rng.standard_normal(nnz).astype(dtype)
    return indices, values


# ---------------------------------------------------------------- construction
def test_construction_metadata():
    s, t = both()
    assert s.layout is ds.sparse_coo and repr(s.layout) == "deepseek.sparse_coo"
    assert s.is_sparse and not ds.ones(1).is_sparse and ds.ones(1).layout is ds.strided
    assert tuple(s.shape) == tuple(t.shape) and s.size() == ds.Size([3, 3]) and s.size(1) == 3
    assert s.dtype is ds.float32 and s.device == ds.device("cpu")
    assert (s.sparse_dim(), s.dense_dim(), s._nnz()) == (t.sparse_dim(), t.dense_dim(), t._nnz())
    assert s.is_coalesced() == t.is_coalesced() is False
    assert s.ndim == s.dim() == 2 and s.numel() == 9 and s.is_floating_point()
    np.testing.assert_array_equal(s._indices().numpy(), t._indices().numpy())
    np.testing.assert_array_equal(s._values().numpy(), t._values().numpy())
    assert s._indices().dtype is ds.int64


def test_coalesce_sums_duplicates_and_sorts():
    s, t = both()
    sc, tc = s.coalesce(), t.coalesce()
    assert sc.is_coalesced() and sc._nnz() == tc._nnz() == 4
    np.testing.assert_array_equal(sc.indices().numpy(), tc.indices().numpy())
    np.testing.assert_array_equal(sc.values().numpy(), tc.values().numpy())
    assert sc.coalesce() is sc
    close(s.to_dense(), t.to_dense(), "to_dense of duplicates")


def test_size_inferred_dtype_and_hybrid():
    s = ds.sparse_coo_tensor(INDICES, VALUES)
    assert tuple(s.shape) == tuple(torch.sparse_coo_tensor(INDICES, VALUES).shape) == (3, 3)
    s64 = ds.sparse_coo_tensor(INDICES, VALUES, (3, 3), dtype=ds.float64)
    assert s64.dtype is ds.float64
    ints = ds.sparse_coo_tensor(ds.tensor(INDICES, dtype=ds.int32), [1, 2, 3, 4, 5], (3, 3))
    assert ints.dtype is ds.int64 and ints._indices().dtype is ds.int64
    values = np.arange(10.0, dtype=np.float32).reshape(5, 2)
    hybrid = ds.sparse_coo_tensor(INDICES, ds.tensor(values), (3, 3, 2))
    reference = torch.sparse_coo_tensor(INDICES, torch.tensor(values), (3, 3, 2))
    assert (hybrid.sparse_dim(), hybrid.dense_dim()) == (2, 1)
    close(hybrid, reference, "hybrid")
    close(hybrid.coalesce(), reference.coalesce(), "hybrid coalesce")


def test_empty():
    s = ds.sparse_coo_tensor(ds.zeros(2, 0, dtype=ds.int64), ds.zeros(0), (2, 3))
    t = torch.sparse_coo_tensor(torch.zeros(2, 0, dtype=torch.long), torch.zeros(0), (2, 3))
    assert repr(s) == repr(t).replace("torch.", "deepseek.")
    close(s.to_dense(), t.to_dense(), "empty to_dense")
    close(ds.sparse.mm(s, ds.ones(3, 2)), torch.sparse.mm(t, torch.ones(3, 2)), "empty mm")


@pytest.mark.parametrize("shape, sparse_dim", [((4, 5), None), ((3, 4, 2), None),
                                                ((3, 4, 2), 2), ((3, 4), 1)])
def test_to_sparse_round_trip(shape, sparse_dim):
    rng = np.random.default_rng(0)
    a = rng.standard_normal(shape).astype(np.float32) * (rng.random(shape) < 0.4)
    s = ds.tensor(a).to_sparse(sparse_dim) if sparse_dim else ds.tensor(a).to_sparse()
    t = torch.tensor(a).to_sparse(sparse_dim) if sparse_dim else torch.tensor(a).to_sparse()
    assert (s.sparse_dim(), s._nnz(), s.is_coalesced()) == (t.sparse_dim(), t._nnz(), True)
    np.testing.assert_array_equal(s.indices().numpy(), t.indices().numpy())
    np.testing.assert_array_equal(s.to_dense().numpy(), a)
    assert s.to_sparse() is s
    dense = ds.ones(2)
    assert dense.to_dense() is dense


def test_to_sparse_gradient():
    a = np.array([[0.0, 1.0], [2.0, 0.0]], np.float32)
    x, y = ds.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    w = np.arange(4.0, dtype=np.float32).reshape(2, 2)
    (x.to_sparse().to_dense() * ds.tensor(w)).sum().backward()
    (y.to_sparse().to_dense() * torch.tensor(w)).sum().backward()
    close(x.grad, y.grad, "to_sparse grad")


# ---------------------------------------------------------------- products
def product(lib, front, s, d):
    if front == "@":
        return s @ d
    return {"sparse.mm": lib.sparse.mm, "mm": lib.mm, "matmul": lib.matmul}[front](s, d)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("front", ["sparse.mm", "mm", "matmul", "@"])
def test_mm_forward_and_gradients(seed, front):
    rng = np.random.default_rng(seed)
    n, m, p = (int(v) for v in rng.integers(1, 9, 3))
    indices, values = random_sparse(rng, n, m, int(rng.integers(0, 2 * n * m)))
    dense = rng.standard_normal((m, p)).astype(np.float32)
    weight = rng.standard_normal((n, p)).astype(np.float32)
    results = []
    for lib in (ds, torch):
        s = lib.sparse_coo_tensor(lib.tensor(indices), lib.tensor(values), (n, m),
                                  requires_grad=True)
        d = lib.tensor(dense, requires_grad=True)
        out = product(lib, front, s, d)
        (out * lib.tensor(weight)).sum().backward()
        results.append((out, s.grad, d.grad))
    (out, s_grad, d_grad), (ref, ref_s_grad, ref_d_grad) = results
    close(out, ref, f"{front} forward")
    close(d_grad, ref_d_grad, f"{front} dense grad")
    close(s_grad, ref_s_grad, f"{front} sparse grad")
    if front == "sparse.mm":
        assert s_grad.is_sparse and s_grad._nnz() == ref_s_grad._nnz()
        np.testing.assert_array_equal(s_grad._indices().numpy(), ref_s_grad._indices().numpy())


def test_mm_gradient_reaches_values():
    rng = np.random.default_rng(5)
    indices, values = random_sparse(rng, 6, 4, 10)
    dense = rng.standard_normal((4, 3)).astype(np.float32)
    grads = []
    for lib in (ds, torch):
        v = lib.tensor(values, requires_grad=True)
        s = lib.sparse_coo_tensor(lib.tensor(indices), v, (6, 4))
        assert s.grad_fn is not None and s.requires_grad
        (lib.sparse.mm(s, lib.tensor(dense)) ** 2).sum().backward()
        grads.append(v.grad)
    close(grads[0], grads[1], "values grad through sparse.mm")


def test_mm_accumulates_sparse_gradients():
    s, t = both(requires_grad=True)
    d = np.random.default_rng(1).standard_normal((3, 2)).astype(np.float32)
    for _ in range(2):
        ds.sparse.mm(s, ds.tensor(d)).sum().backward()
        torch.sparse.mm(t, torch.tensor(d)).sum().backward()
    close(s.grad, t.grad, "accumulated sparse grad")


def test_matmul_vector_and_spmm():
    s, t = both()
    v = np.array([1.0, -2.0, 0.5], np.float32)
    close(ds.matmul(s, ds.tensor(v)), torch.matmul(t, torch.tensor(v)), "matmul vector")
    close(ds.spmm(s, ds.ones(3, 2)), torch.spmm(t, torch.ones(3, 2)), "spmm")


# ---------------------------------------------------------------- sums, arithmetic, softmax
@pytest.mark.parametrize("dim", [None, 0, 1, (0, 1), -1])
def test_sum_and_gradient(dim):
    w = np.arange(9.0, dtype=np.float32).reshape(3, 3)
    out = []
    for lib in (ds, torch):
        s = lib.sparse_coo_tensor(INDICES, VALUES, (3, 3), requires_grad=True)
        r = lib.sparse.sum(s) if dim is None else lib.sparse.sum(s, dim)
        dense = r.to_dense() if r.is_sparse else r
        (dense * lib.tensor(w[0, :dense.shape[0]] if dense.ndim else 2.0)).sum().backward()
        out.append((r, s.grad))
    close(out[0][0], out[1][0], f"sparse.sum dim={dim}")
    close(out[0][1], out[1][1], f"sparse.sum dim={dim} grad")
    assert ds.sparse_coo_tensor(INDICES, VALUES, (3, 3)).sum().item() == sum(VALUES)


def test_sum_hybrid_dense_dim():
    values = np.arange(10.0, dtype=np.float32).reshape(5, 2)
    s = ds.sparse_coo_tensor(INDICES, ds.tensor(values), (3, 3, 2))
    t = torch.sparse_coo_tensor(INDICES, torch.tensor(values), (3, 3, 2))
    for dim in [2, (0, 2), 0, (0, 1)]:
        close(ds.sparse.sum(s, dim), torch.sparse.sum(t, dim), f"hybrid sum dim={dim}")


def test_add_scale_neg_transpose():
    (s, t), (s2, t2) = both(), both([[2, 0], [2, 1]], [7.0, -1.0])
    close(s + s2, t + t2, "sparse + sparse")
    close(s - s2, t - t2, "sparse - sparse")
    close(s * 2, t * 2, "sparse * scalar")
    close(3 * s, 3 * t, "scalar * sparse")
    close(s / 4, t / 4, "sparse / scalar")
    close(-s, -t, "-sparse")
    close(s.t(), t.t(), "t()")
    close(ds.ones(3, 3) + s, torch.ones(3, 3) + t, "dense + sparse")
    sc = s.coalesce()
    assert (sc + sc).is_coalesced() and not (s + s2).is_coalesced()
    assert (s * 2).is_coalesced() == (t * 2).is_coalesced()


def test_arithmetic_gradients():
    w = np.arange(9.0, dtype=np.float32).reshape(3, 3)
    grads = []
    for lib in (ds, torch):
        a = lib.sparse_coo_tensor(INDICES, VALUES, (3, 3), requires_grad=True)
        b = lib.sparse_coo_tensor([[2, 0], [2, 1]], [7.0, -1.0], (3, 3), requires_grad=True)
        ((a * 2 + b).coalesce().to_dense() * lib.tensor(w)).sum().backward()
        grads.append((a.grad, b.grad))
    close(grads[0][0], grads[1][0], "grad of a in a * 2 + b")
    close(grads[0][1], grads[1][1], "grad of b in a * 2 + b")


@pytest.mark.parametrize("log", [False, True])
@pytest.mark.parametrize("dim", [0, 1])
def test_softmax(log, dim):
    w = np.arange(9.0, dtype=np.float32).reshape(3, 3)
    out = []
    for lib in (ds, torch):
        s = lib.sparse_coo_tensor(INDICES, VALUES, (3, 3), requires_grad=True)
        r = (lib.sparse.log_softmax if log else lib.sparse.softmax)(s, dim)
        (r.to_dense() * lib.tensor(w)).sum().backward()
        out.append((r, s.grad))
    close(out[0][0], out[1][0], f"softmax dim={dim} log={log}")
    close(out[0][1], out[1][1], f"softmax grad dim={dim} log={log}")


# ---------------------------------------------------------------- printing
@pytest.mark.parametrize("kwargs", [{}, {"dtype": "float64"}, {"requires_grad": True}])
def test_repr_matches_torch(kwargs):
    ds_kwargs = {k: getattr(ds, v) if k == "dtype" else v for k, v in kwargs.items()}
    torch_kwargs = {k: getattr(torch, v) if k == "dtype" else v for k, v in kwargs.items()}
    s = ds.sparse_coo_tensor(INDICES, VALUES, (3, 3), **ds_kwargs)
    t = torch.sparse_coo_tensor(INDICES, VALUES, (3, 3), **torch_kwargs)
    assert repr(s) == repr(t).replace("torch.", "deepseek.")
    assert repr(ds.eye(3).to_sparse()) == repr(torch.eye(3).to_sparse()).replace("torch.",
                                                                                 "deepseek.")
    hybrid = ds.tensor([[0.0, 1.0], [2.0, 0.0]]).to_sparse(1)
    expected = torch.tensor([[0.0, 1.0], [2.0, 0.0]]).to_sparse(1)
    assert repr(hybrid) == repr(expected).replace("torch.", "deepseek.")
    ints = ds.sparse_coo_tensor(INDICES, [1, 2, 3, 4, 5], (3, 3))
    assert repr(ints) == repr(torch.sparse_coo_tensor(INDICES, [1, 2, 3, 4, 5], (3, 3))).replace(
        "torch.", "deepseek.")


# ---------------------------------------------------------------- errors
@pytest.mark.parametrize("indices, values, size, message", [
    (INDICES, VALUES, (3, 2), "for dim 1, size is 2 but found index 2"),
    ([[0, -1], [0, 0]], [1.0, 2.0], (2, 2), "found negative index -1 for dim 0"),
    ([[0.0, 1.0], [0.0, 0.0]], [1.0, 2.0], (2, 2), "indices must be an integer tensor"),
    ([0, 1], [1.0, 2.0], (2, 2), "indices must be sparse_dim x nnz"),
    (INDICES, VALUES[:3], (3, 3), "indices and values must have same nnz"),
    (INDICES, VALUES, (3,), "len(size) == sparse_dim + dense_dim"),
])
def test_construction_errors(indices, values, size, message):
    with pytest.raises(RuntimeError, match=r"\[sparse_coo_tensor\].*" + re.escape(message)):
        ds.sparse_coo_tensor(indices, values, size)


@pytest.mark.parametrize("name, call", [
    ("exp", lambda s: s.exp()), ("exp", lambda s: ds.exp(s)), ("__getitem__", lambda s: s[0]),
    ("view", lambda s: s.view(9)), ("add", lambda s: s + ds.ones(3, 3)),
    ("mul", lambda s: ds.ones(3, 3) * s), ("cat", lambda s: ds.cat([s, s])),
    ("reshape", lambda s: s.reshape(9)), ("T", lambda s: s.T), ("mul", lambda s: s * s),
    ("relu", lambda s: ds.nn.functional.relu(s)), ("numpy", lambda s: s.numpy()),
    ("matmul", lambda s: ds.ones(3, 3) @ s), ("sparse.mm", lambda s: ds.sparse.mm(s, s)),
    ("values", lambda s: s.values()), ("indices", lambda s: s.indices()),
    ("tolist", lambda s: s.tolist()), ("item", lambda s: s.item()),
])
def test_unsupported_ops_raise(name, call):
    s = ds.sparse_coo_tensor(INDICES, VALUES, (3, 3))
    with pytest.raises((RuntimeError, TypeError)) as info:
        call(s)
    text = str(info.value)
    assert f"[{name}]" in text, text
    assert "to_dense" in text or "coalesce" in text, text


def test_product_errors():
    s = ds.sparse_coo_tensor(INDICES, VALUES, (3, 3))
    with pytest.raises(RuntimeError, match=r"\[sparse.mm\] mat1 and mat2 shapes cannot be"):
        ds.sparse.mm(s, ds.ones(4, 2))
    with pytest.raises(RuntimeError, match=r"\[mm\] expected mat1 and mat2 to have the same"):
        ds.mm(s, ds.ones(3, 2, dtype=ds.float64))
    with pytest.raises(RuntimeError, match=r"\[add\] expected sizes to match"):
        s + ds.sparse_coo_tensor([[0], [0]], [1.0], (2, 2))
