"""Tensor methods and torch.* functions that fill the surface gaps (in-place views, aliases,
storage-level methods, legacy names, native_* tuples, functional cells), checked against torch."""

import warnings

import numpy as np
import pytest
import torch

import deepseek as ds

RNG = np.random.default_rng(0)


def both(*shape, low=-2.0, high=2.0, dtype=np.float64, grad=False):
    a = RNG.uniform(low, high, shape).astype(dtype)
    return (ds.tensor(a, requires_grad=grad), torch.tensor(a, requires_grad=grad))


def check(what, got, want, atol=1e-6):
    got_np = got.detach().numpy() if isinstance(got, ds.Tensor) else np.asarray(got)
    want_np = want.detach().numpy() if isinstance(want, torch.Tensor) else np.asarray(want)
    assert got_np.shape == want_np.shape, f"{what}: shape {got_np.shape} != {want_np.shape}"
    assert str(got_np.dtype) == str(want_np.dtype), f"{what}: dtype {got_np.dtype} != " \
                                                    f"{want_np.dtype}"
    np.testing.assert_allclose(got_np, want_np, atol=atol, rtol=1e-6, err_msg=what)


# ---------------------------------------------------------------- in-place view ops
@pytest.mark.parametrize("name,args", [
    ("squeeze_", ()), ("squeeze_", (1,)), ("unsqueeze_", (0,)), ("unsqueeze_", (-1,)),
    ("transpose_", (0, 2)), ("swapdims_", (1, 2)), ("swapaxes_", (0, -1)),
])
def test_inplace_views(name, args):
    d, t = both(2, 1, 3, grad=True)
    d2, t2 = d * 1, t * 1
    assert getattr(d2, name)(*args) is d2
    getattr(t2, name)(*args)
    check(name, d2, t2)
    assert d2.stride() == t2.stride() and d2._version == t2._version
    weight = RNG.standard_normal(tuple(t2.shape))
    (d2 * ds.tensor(weight)).sum().backward()
    (t2 * torch.tensor(weight)).sum().backward()
    check(name + " grad", d.grad, t.grad)


def test_t_and_as_strided_inplace():
    d, t = ds.arange(12.).reshape(3, 4), torch.arange(12.).reshape(3, 4)
    d.t_(), t.t_()
    check("t_", d, t)
    assert d.stride() == t.stride()
    with pytest.raises(RuntimeError, match="t_"):
        ds.zeros(2, 2, 2).t_()
    d, t = ds.arange(12.), torch.arange(12.)
    d.as_strided_((3, 2), (1, 3), 1), t.as_strided_((3, 2), (1, 3), 1)
    check("as_strided_", d, t)
    a = ds.arange(6., requires_grad=True)
    b = a * 2
    b.as_strided_((2, 2), (1, 2))
    b.sum().backward()
    check("as_strided_ grad", a.grad, torch.tensor([2., 2., 2., 2., 0., 0.]))


def test_inplace_view_leaf_refused_and_no_grad():
    a = ds.zeros(2, 1, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        a.squeeze_()
    with ds.no_grad():
        a.squeeze_().t_()
    assert a.shape == (2,) and a.requires_grad and a.is_leaf


def test_inplace_view_keeps_sharing():
    base = ds.zeros(2, 1, 3)
    view = base[0]
    view.squeeze_()
    view.fill_(5)
    assert view.shape == (3,) and float(base.sum()) == 15.0


# ---------------------------------------------------------------- in-place aliases
@pytest.mark.parametrize("name,other", [
    ("greater_", 0.5), ("greater_equal_", 0.5), ("less_", 0.5), ("less_equal_", 0.5),
    ("not_equal_", 0.5), ("true_divide_", 3.0), ("arccosh_", None), ("arctanh_", None),
])
def test_inplace_aliases(name, other):
    low, high = (1.1, 3.0) if name == "arccosh_" else (-0.9, 0.9)
    d, t = both(3, 4, low=low, high=high)
    args = () if other is None else (other,)
    assert getattr(d, name)(*args) is d
    getattr(t, name)(*args)
    check(name, d, t)
    if name in ("arccosh_", "arctanh_"):
        getattr(ds, name)(d), getattr(torch, name)(t)
        check("ds." + name, d, t)


def test_inplace_aliases_gradients():
    d, t = both(3, 4, low=-0.9, high=0.9, grad=True)
    d2, t2 = d * 1, t * 1
    d2.arctanh_().true_divide_(ds.tensor([1., 2., 3., 4.], dtype=ds.float64))
    t2 = t2.atanh().true_divide_(torch.tensor([1., 2., 3., 4.], dtype=torch.float64))
    d2.sum().backward(), t2.sum().backward()
    check("arctanh_/true_divide_ grad", d.grad, t.grad)


def test_bitwise_not_and_true_divide_errors():
    d, t = ds.tensor([5, -2, 0]), torch.tensor([5, -2, 0])
    d.bitwise_not_(), t.bitwise_not_()
    check("bitwise_not_", d, t)
    b = ds.tensor([True, False])
    b.bitwise_not_()
    assert b.tolist() == [False, True]
    with pytest.raises(RuntimeError, match="bitwise_not"):
        ds.ones(2).bitwise_not_()
    with pytest.raises(RuntimeError, match="can't be cast"):
        ds.tensor([1, 2]).true_divide_(2)


@pytest.mark.parametrize("name", ["cumsum_", "cumprod_"])
def test_cumulative_inplace(name):
    d, t = both(3, 4, low=0.5, high=1.5, grad=True)
    d2, t2 = d * 1, t * 1
    getattr(d2, name)(1), getattr(t2, name)(1)
    check(name, d2, t2)
    d2.sum().backward(), t2.sum().backward()
    check(name + " grad", d.grad, t.grad)
    di, ti = ds.tensor([[1, 2, 3]], dtype=ds.int32), torch.tensor([[1, 2, 3]], dtype=torch.int32)
    getattr(di, name)(-1), getattr(ti, name)(-1)
    check(name + " int32", di, ti)
    with pytest.raises(RuntimeError, match="should match"):
        getattr(ds.ones(2), name)(0, dtype=ds.float64)


# ---------------------------------------------------------------- splits, narrow_copy, sum_to
def test_sum_to_size():
    d, t = both(2, 3, 4, grad=True)
    for size in ((1, 3, 1), (4,), (2, 1, 4), ((3, 1),)):
        check(f"sum_to_size{size}", d.sum_to_size(*size), t.sum_to_size(*size))
    d.sum_to_size(3, 1).pow(2).sum().backward()
    t.sum_to_size(3, 1).pow(2).sum().backward()
    check("sum_to_size grad", d.grad, t.grad)
    for bad in ((5,), (2, 3, 4, 1), (2, 3, 2)):
        with pytest.raises(RuntimeError, match="not expandable"):
            d.sum_to_size(*bad)


def test_splits():
    d, t = both(4, 6, grad=True)
    cases = [
        (lambda m, x: m.split_with_sizes(x, [1, 2, 3], 1), None),
        (lambda m, x: x.split_with_sizes((3, 1)), None),
        (lambda m, x: m.unsafe_split(x, 4, 1), None),
        (lambda m, x: x.unsafe_split(3), None),
        (lambda m, x: m.unsafe_split_with_sizes(x, [2, 4], 1), None),
        (lambda m, x: x.unsafe_chunk(4, 1), None),
        (lambda m, x: m.unsafe_chunk(x.t(), 3), None),
    ]
    for i, (fn, _) in enumerate(cases):
        got, want = fn(ds, d), fn(torch, t)
        assert isinstance(got, tuple) and len(got) == len(want)
        for g, w in zip(got, want):
            check(f"split case {i}", g, w)
    pieces_d = d.split_with_sizes([1, 5], 1)
    pieces_t = t.split_with_sizes([1, 5], 1)
    (pieces_d[0] * 3 + pieces_d[1].sum(1, keepdim=True)).sum().backward()
    (pieces_t[0] * 3 + pieces_t[1].sum(1, keepdim=True)).sum().backward()
    check("split_with_sizes grad", d.grad, t.grad)
    with pytest.raises(RuntimeError, match="sum exactly"):
        d.split_with_sizes([1, 1])
    with pytest.raises(TypeError, match="tuple of ints"):
        d.split_with_sizes(2)
    with pytest.raises(TypeError, match="must be int"):
        d.unsafe_split([1, 3])


def test_narrow_copy():
    d, t = both(4, 5, grad=True)
    for fn in (lambda m, x: x.narrow_copy(1, 1, 3), lambda m, x: m.narrow_copy(x.t(), 0, 2, 2)):
        got, want = fn(ds, d), fn(torch, t)
        check("narrow_copy", got, want)
        assert got.is_contiguous()
        got.sum().backward(), want.sum().backward()
    check("narrow_copy grad", d.grad, t.grad)
    copy = d.detach().narrow_copy(0, 0, 1)
    copy.fill_(7.0)
    assert float(d[0, 0]) != 7.0


# ---------------------------------------------------------------- index_reduce
def test_index_reduce_errors():
    x, src = ds.ones(5, 3), ds.ones(4, 3)
    idx = ds.tensor([0, 4, 2, 0])
    with pytest.raises(RuntimeError, match="prod, mean, amax or amin"):
        x.index_reduce(0, idx, src, "sum")
    with pytest.raises(RuntimeError, match="int32/int64"):
        x.index_reduce(0, idx.float(), src, "prod")
    with pytest.raises(RuntimeError, match="same scalar type"):
        x.index_reduce(0, idx, src.double(), "prod")
    with pytest.raises(IndexError, match="out of range"):
        x.index_reduce(0, ds.tensor([0, 5, 1, 1]), src, "prod")
    with pytest.raises(RuntimeError, match="Number of indices"):
        x.index_reduce(0, idx[:3], src, "prod")
    with pytest.raises(RuntimeError, match="source tensor shape"):
        x.index_reduce(0, idx, src[:, :2], "prod")


def test_index_reduce_ties_and_scalars():
    # amax with ties: the gradient is shared among the tied entries, as torch does (without
    # self, torch still counts a tied old value in the share it never pays out: not followed)
    values = np.array([[1., 3.], [3., 2.], [3., 3.]])
    for include_self in (True,):
        xd = ds.tensor([[3., 0.], [1., 1.]], dtype=ds.float64, requires_grad=True)
        xt = torch.tensor([[3., 0.], [1., 1.]], dtype=torch.float64, requires_grad=True)
        sd, st = ds.tensor(values, requires_grad=True), torch.tensor(values, requires_grad=True)
        od = xd.index_reduce(0, ds.tensor([0, 0, 1]), sd, "amax", include_self=include_self)
        ot = xt.index_reduce(0, torch.tensor([0, 0, 1]), st, "amax", include_self=include_self)
        check("index_reduce amax ties", od, ot)
        od.sum().backward(), ot.sum().backward()
        check("index_reduce amax ties grad self", xd.grad, xt.grad)
        check("index_reduce amax ties grad source", sd.grad, st.grad)
    got = ds.tensor(3.).index_reduce(0, ds.tensor([0]), ds.tensor(2.), "prod")
    check("index_reduce 0-d", got, torch.tensor(6.))
    x = ds.ones(3)
    assert x.index_reduce_(0, ds.tensor([1]), ds.tensor([5.]), "mean") is x
    check("index_reduce_ mean", x, torch.tensor([1., 3., 1.]))


# ---------------------------------------------------------------- Python callables
def test_apply_map_map2():
    d, t = ds.tensor([[1., 2.], [3., 4.]]).t(), torch.tensor([[1., 2.], [3., 4.]]).t()
    assert d.apply_(lambda v: v * 2 + 1) is d
    t.apply_(lambda v: v * 2 + 1)
    check("apply_", d, t)
    di, ti = ds.tensor([1, 2]), torch.tensor([1, 2])
    di.apply_(lambda v: v * 1.7), ti.apply_(lambda v: v * 1.7)
    check("apply_ int", di, ti)
    a, b = ds.tensor([1., 2., 3.]), torch.tensor([1., 2., 3.])
    a.map_(ds.tensor([10.]), lambda u, v: u + v), b.map_(torch.tensor([10.]), lambda u, v: u + v)
    check("map_", a, b)
    a.map2_(ds.tensor([1., 0., 1.]), ds.tensor([2.]), lambda u, v, w: u * v * w)
    b.map2_(torch.tensor([1., 0., 1.]), torch.tensor([2.]), lambda u, v, w: u * v * w)
    check("map2_", a, b)
    with pytest.raises(RuntimeError, match="requires grad"):
        ds.ones(2, requires_grad=True).apply_(lambda v: v)
    with pytest.raises(RuntimeError, match="requires grad"):
        ds.ones(2).map_(ds.ones(2, requires_grad=True), lambda u, v: u)
    with pytest.raises(RuntimeError, match="expanded"):
        ds.ones(1).map_(ds.ones(2), lambda u, v: u)
    with pytest.raises(TypeError, match="float32"):
        ds.ones(2).map_(ds.ones(2, dtype=ds.int64), lambda u, v: u)


# ---------------------------------------------------------------- storage-level methods
def test_resize():
    d, t = ds.arange(6.), torch.arange(6.)
    d.resize_(2, 2), t.resize_(2, 2)
    check("resize_ shrink", d, t)
    d.resize_((2, 3)), t.resize_((2, 3))
    check("resize_ back within the storage", d, t)
    d, t = ds.arange(6.)[1:3], torch.arange(6.)[1:3]
    d.resize_(4), t.resize_(4)
    check("resize_ from an offset", d, t)
    grown = ds.arange(3.).resize_(2, 3)
    assert grown.shape == (2, 3) and grown[0].tolist() == [0., 1., 2.]
    d = ds.ones(2, 3)
    assert d.resize_as_(ds.ones(3)) is d and d.shape == (3,)
    same = ds.arange(6.).reshape(2, 3).t()
    assert same.resize_(3, 2).stride() == (1, 3)
    with pytest.raises(RuntimeError, match="require grad"):
        ds.ones(2, requires_grad=True).resize_(4)
    with pytest.raises(RuntimeError, match="negative"):
        ds.ones(2).resize_(-1)
    with pytest.warns(UserWarning, match="deprecated"):
        check("resize", ds.arange(4.).resize(2, 2), torch.arange(4.).reshape(2, 2))


def test_set_and_is_set_to():
    x = ds.arange(6.).reshape(2, 3)
    y = ds.empty(0)
    assert not y.is_set_to(x)
    assert y.set_(x) is y
    assert y.is_set_to(x) and x.is_set_to(y) and not x[1:].is_set_to(x)
    y.fill_(1.0)
    assert float(x.sum()) == 6.0
    w = ds.empty(0).set_(ds.arange(6.), 1, (2, 2), (1, 2))
    check("set_ strided", w, torch.empty(0).set_(torch.arange(6.).untyped_storage(), 1, (2, 2),
                                                 (1, 2)))
    assert ds.empty(3).set_().shape == (0,)
    with pytest.raises(RuntimeError, match="Could not set"):
        ds.empty(0, dtype=ds.int64).set_(x)
    with pytest.raises(RuntimeError, match="out of bounds"):
        ds.empty(0).set_(x, 4, (3,), (1,))


def test_set_strided_matches_torch_storage_offsets():
    # torch counts the offset in the storage, ours in the source's contiguous data; for a
    # source that is its own storage the two agree
    got = ds.empty(0).set_(ds.arange(6.), 2, (2,), (2,))
    want = torch.empty(0).set_(torch.arange(6.).untyped_storage(), 2, (2,), (2,))
    check("set_ offset", got, want)


def test_share_memory_and_layout_queries():
    x, tx = ds.zeros(2, 3), torch.zeros(2, 3)
    assert x.is_shared() == tx.is_shared() is False
    assert x.share_memory_() is x
    tx.share_memory_()
    assert x.is_shared() == tx.is_shared() is True
    assert x[0].is_shared()
    assert x.const_data_ptr() == x.data_ptr()
    assert x.output_nr == (x * 2).output_nr == 0
    for shape, perm in (((2, 3, 5, 7), None), ((2, 3, 5, 7), (0, 2, 1, 3)),
                        ((1, 2, 3, 4), None), ((2, 1, 3), (2, 0, 1)), ((3, 3), (1, 0))):
        d, t = ds.empty(*shape), torch.empty(shape)
        if perm:
            d, t = d.permute(perm), t.permute(perm)
        assert d.dim_order() == t.dim_order(), (shape, perm)
    d = ds.empty(2, 3, 4, 5).contiguous(memory_format=ds.channels_last)
    assert d.dim_order() == (0, 2, 3, 1)
    with pytest.raises(RuntimeError, match="unique dim order"):
        ds.empty(1, 2, 3, 4).dim_order(ambiguity_check=True)
    assert ds.empty(1, 2, 3, 4).dim_order(
        ambiguity_check=[ds.contiguous_format, ds.channels_last]) == (0, 1, 2, 3)
    with pytest.raises(TypeError, match="ambiguity_check"):
        ds.empty(2).dim_order(ambiguity_check="x")


def test_new_legacy_constructor():
    d, t = ds.zeros(2, dtype=ds.int32), torch.zeros(2, dtype=torch.int32)
    check("new()", d.new(), t.new())
    check("new([1, 2])", d.new([1, 2]), t.new([1, 2]))
    check("new((1, 2))", d.new((1, 2)), t.new((1, 2)))
    assert d.new(2, 3).shape == (2, 3) and d.new(2, 3).dtype is ds.int32
    assert d.new(ds.Size([2, 2])).shape == (2, 2)
    other = ds.tensor([1, 2], dtype=ds.int32)
    assert d.new(other).data_ptr() == other.data_ptr()
    with pytest.raises(TypeError, match="dtype"):
        d.new(ds.tensor([1., 2.]))
    with pytest.raises(TypeError, match="sequence"):
        d.new(2.5)


def test_nonzero_static():
    cases = [([0, 1, 0, 2], 3, -1), ([[0, 1], [1, 1]], 2, -5), ([1, 1, 1], 5, 7), (3, 2, -1),
             ([0, 0], 0, -1)]
    for values, size, fill in cases:
        got = ds.nonzero_static(ds.tensor(values), size=size, fill_value=fill)
        want = torch.nonzero_static(torch.tensor(values), size=size, fill_value=fill)
        check(f"nonzero_static {values}", got, want)
    check("method", ds.tensor([0., 2.]).nonzero_static(size=1),
          torch.tensor([0., 2.]).nonzero_static(size=1))
    with pytest.raises(RuntimeError, match="non-negative"):
        ds.nonzero_static(ds.tensor([1]), size=-1)


# ---------------------------------------------------------------- torch.* functions
def test_legacy_linalg_names_raise_as_torch():
    A = ds.eye(3)
    for name in ("matrix_rank", "lstsq", "solve", "eig", "symeig"):
        fn = getattr(ds, name)
        with pytest.raises(RuntimeError, match="deprecated since version 1.9 and is now removed"):
            fn(A) if name in ("matrix_rank", "eig", "symeig") else fn(A, A)
        with pytest.raises(RuntimeError):
            getattr(torch, name)(torch.eye(3)) if name in ("matrix_rank", "eig", "symeig") \
                else getattr(torch, name)(torch.eye(3), torch.eye(3))
    for name in ("lstsq", "solve", "eig", "symeig"):
        with pytest.raises(RuntimeError, match="removed"):
            getattr(A, name)(A) if name in ("lstsq", "solve") else getattr(A, name)()


def test_frobenius_and_nuclear_norm():
    d, t = both(2, 3, 4, grad=True)
    warnings.simplefilter("ignore")
    for dim, keep in (((1, 2), False), ((0, 2), True), ((1,), False), (2, False)):
        check(f"frobenius_norm {dim}", ds.frobenius_norm(d, dim, keep),
              torch.frobenius_norm(t, dim, keep))
    for dim, keep in (((1, 2), False), ((2, 0), True)):
        check(f"nuclear_norm {dim}", ds.nuclear_norm(d, dim, keep),
              torch.nuclear_norm(t, dim, keep), atol=1e-5)
    m_d, m_t = d[0], t[0]
    check("nuclear_norm 2-d", ds.nuclear_norm(m_d), torch.nuclear_norm(m_t), atol=1e-5)
    ds.nuclear_norm(m_d, keepdim=True).sum().backward()
    torch.nuclear_norm(m_t, keepdim=True).sum().backward()
    check("nuclear_norm grad", d.grad, t.grad, atol=1e-5)
    with pytest.raises(RuntimeError, match="at most 2"):
        ds.frobenius_norm(d, (0, 1, 2))
    with pytest.raises(RuntimeError, match="2 dimensions"):
        ds.nuclear_norm(d)


def test_binomial():
    count, prob = ds.tensor([10., 5., 0.]), ds.tensor([1., 0., 0.5])
    check("binomial certain", ds.binomial(count, prob),
          torch.binomial(torch.tensor([10., 5., 0.]), torch.tensor([1., 0., 0.5])))
    ds.manual_seed(0)
    draws = ds.binomial(ds.full((4000,), 20.), ds.full((4000,), 0.25))
    assert draws.dtype is ds.float32 and abs(float(draws.mean()) - 5.0) < 0.15
    assert float(draws.min()) >= 0 and float(draws.max()) <= 20
    check("binomial broadcast", ds.binomial(ds.tensor([10., 5.]), ds.tensor(1.)),
          torch.tensor([10., 5.]))
    with pytest.raises(ValueError, match="floating-point"):
        ds.binomial(ds.tensor([1, 2]), prob[:2])
    with pytest.raises(RuntimeError, match="expected"):
        ds.binomial(count, prob.double())


def test_empty_permuted():
    d = ds.empty_permuted((2, 3, 5, 7), (0, 2, 3, 1))
    t = torch.empty_permuted((2, 3, 5, 7), (0, 2, 3, 1))
    assert d.shape == t.shape and d.stride() == t.stride() and d.dtype is ds.float32
    assert ds.empty_permuted((2, 3), (1, 0), dtype=ds.int64).stride() == (1, 2)
    with pytest.raises(RuntimeError, match="Duplicate dim"):
        ds.empty_permuted((2, 3), (0, 0))
    with pytest.raises(RuntimeError, match="does not match"):
        ds.empty_permuted((2, 3), (0,))


def test_switches():
    assert ds.set_flush_denormal(True) is False and ds.set_flush_denormal(False) is False
    assert ds.is_warn_always_enabled() is torch.is_warn_always_enabled() is False
    ds.set_warn_always(True)
    assert ds.is_warn_always_enabled()
    ds.set_warn_always(False)
    try:
        for mode in ("warn", 2, "default", 1, 0):
            ds.set_deterministic_debug_mode(mode)
            torch.set_deterministic_debug_mode(mode)
            assert ds.get_deterministic_debug_mode() == torch.get_deterministic_debug_mode()
            assert ds.are_deterministic_algorithms_enabled() == \
                torch.are_deterministic_algorithms_enabled()
        ds.use_deterministic_algorithms(True, warn_only=True)
        assert ds.get_deterministic_debug_mode() == 1
    finally:
        ds.use_deterministic_algorithms(False)
        torch.use_deterministic_algorithms(False)
    with pytest.raises(RuntimeError, match="expected one of"):
        ds.set_deterministic_debug_mode("x")
    with pytest.raises(RuntimeError, match="0, 1, or 2"):
        ds.set_deterministic_debug_mode(3)
    with pytest.raises(TypeError, match="str or int"):
        ds.set_deterministic_debug_mode(1.0)


def test_typename():
    assert ds.typename(ds.zeros(1)) == torch.typename(torch.zeros(1))
    assert ds.typename(ds.zeros(1, dtype=ds.int64)) == "torch.LongTensor"
    assert ds.typename(1) == torch.typename(1) == "int"
    assert ds.typename(ds.nn.Linear(1, 1)) == "deepseek.nn.modules.linear.Linear"


def test_lowrank():
    ds.manual_seed(0)
    A = ds.randn(30, 4, dtype=ds.float64) @ ds.randn(4, 12, dtype=ds.float64)
    want = torch.linalg.svdvals(torch.tensor(A.numpy()))[:4]
    for a in (A, A.mT):
        U, S, V = ds.svd_lowrank(a, q=5, niter=2)
        check("svd_lowrank singular values", S[:4], want, atol=1e-8)
        np.testing.assert_allclose((U @ ds.diag(S) @ V.mT).numpy(), a.numpy(), atol=1e-8)
    M = ds.ones(30, 12, dtype=ds.float64)
    U, S, V = ds.svd_lowrank(A + M, q=5, M=M)
    np.testing.assert_allclose((U @ ds.diag(S) @ V.mT).numpy(), A.numpy(), atol=1e-8)
    X = ds.randn(40, 6, dtype=ds.float64)
    U, S, V = ds.pca_lowrank(X, q=6)
    centered = torch.tensor(X.numpy()) - torch.tensor(X.numpy()).mean(0)
    check("pca_lowrank", S, torch.linalg.svdvals(centered), atol=1e-8)
    assert ds.pca_lowrank(X, center=False)[1].shape == (6,)
    with pytest.raises(ValueError, match="q"):
        ds.pca_lowrank(X, q=7)
    Ag = A.detach().requires_grad_()
    ds.svd_lowrank(Ag, q=4)[1].sum().backward()
    assert Ag.grad.shape == A.shape and bool(ds.isfinite(Ag.grad).all())


# ---------------------------------------------------------------- functional cells, native_*
def _cell_weights(gates, n_in, n_hidden):
    return [both(gates * n_hidden, n_in, grad=True), both(gates * n_hidden, n_hidden, grad=True),
            both(gates * n_hidden, grad=True), both(gates * n_hidden, grad=True)]


@pytest.mark.parametrize("name,gates", [("rnn_tanh_cell", 1), ("rnn_relu_cell", 1),
                                        ("gru_cell", 3), ("lstm_cell", 4)])
def test_cells(name, gates):
    x, h, c = both(5, 3, grad=True), both(5, 4, grad=True), both(5, 4, grad=True)
    weights = _cell_weights(gates, 3, 4)
    for with_bias in (True, False):
        ws = weights if with_bias else weights[:2]
        hx_d = (h[0], c[0]) if name == "lstm_cell" else h[0]
        hx_t = (h[1], c[1]) if name == "lstm_cell" else h[1]
        got = getattr(ds, name)(x[0], hx_d, *[w[0] for w in ws])
        want = getattr(torch, name)(x[1], hx_t, *[w[1] for w in ws])
        got = got if isinstance(got, tuple) else (got,)
        want = want if isinstance(want, tuple) else (want,)
        for g, w in zip(got, want):
            check(name, g, w)
        sum(g.sum() for g in got).backward()
        sum(w.sum() for w in want).backward()
    for d, t in [x, h, c] + weights:
        if t.grad is not None:
            check(name + " grad", d.grad, t.grad)


def test_cells_match_modules():
    cell = ds.nn.GRUCell(3, 4)
    x, h = ds.randn(2, 3), ds.randn(2, 4)
    check("gru_cell vs GRUCell", ds.gru_cell(x, h, cell.weight_ih, cell.weight_hh, cell.bias_ih,
                                             cell.bias_hh), cell(x, h).detach().numpy())


def test_conv_tbc():
    x, w, b = both(7, 2, 3, grad=True), both(3, 3, 4, grad=True), both(4, grad=True)
    for pad in (0, 1, 2):
        got, want = ds.conv_tbc(x[0], w[0], b[0], pad), torch.conv_tbc(x[1], w[1], b[1], pad)
        check(f"conv_tbc pad={pad}", got, want)
        got.pow(2).sum().backward(), want.pow(2).sum().backward()
    for d, t in (x, w, b):
        check("conv_tbc grad", d.grad, t.grad, atol=1e-5)
    with pytest.raises(RuntimeError, match="conv_tbc"):
        ds.conv_tbc(x[0], w[0][:, :2], b[0])


def test_native_layer_norm():
    x, w, b = both(2, 3, 4, grad=True), both(3, 4, grad=True), both(3, 4, grad=True)
    for shape, args in (([4], (None, None)), ([3, 4], None)):
        wb_d = args if args else (w[0], b[0])
        wb_t = args if args else (w[1], b[1])
        got = ds.native_layer_norm(x[0], shape, *wb_d, 1e-5)
        want = torch.native_layer_norm(x[1], shape, *wb_t, 1e-5)
        for i, (g, t) in enumerate(zip(got, want)):
            check(f"native_layer_norm {shape} output {i}", g, t)
        assert [g.requires_grad for g in got] == [t.requires_grad for t in want]
        got[0].pow(2).sum().backward(), want[0].pow(2).sum().backward()
    for d, t in (x, w, b):
        check("native_layer_norm grad", d.grad, t.grad, atol=1e-5)


def test_native_batch_and_group_norm():
    x = both(4, 3, 5, grad=True)
    stats_d = (ds.zeros(3, dtype=ds.float64), ds.ones(3, dtype=ds.float64))
    stats_t = (torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64))
    for training in (True, False):
        got = ds.native_batch_norm(x[0], None, None, *stats_d, training, 0.1, 1e-5)
        want = torch.native_batch_norm(x[1], None, None, *stats_t, training, 0.1, 1e-5)
        for i, (g, t) in enumerate(zip(got, want)):
            check(f"native_batch_norm training={training} output {i}", g, t)
        for g, t in zip(stats_d, stats_t):
            check("running statistics", g, t)
    got = ds.native_batch_norm(x[0], None, None, None, None, True, 0.1, 1e-5)
    want = torch.native_batch_norm(x[1], None, None, None, None, True, 0.1, 1e-5)
    for g, t in zip(got, want):
        check("native_batch_norm without running statistics", g, t)
    y, w, b = both(2, 6, 5, grad=True), both(6, grad=True), both(6, grad=True)
    got = ds.native_group_norm(y[0], w[0], b[0], 2, 6, 5, 3, 1e-5)
    want = torch.native_group_norm(y[1], w[1], b[1], 2, 6, 5, 3, 1e-5)
    for i, (g, t) in enumerate(zip(got, want)):
        check(f"native_group_norm output {i}", g, t)
    got[0].pow(2).sum().backward(), want[0].pow(2).sum().backward()
    for d, t in (y, w, b):
        check("native_group_norm grad", d.grad, t.grad, atol=1e-5)
    with pytest.raises(RuntimeError, match="native_group_norm"):
        ds.native_group_norm(y[0], None, None, 2, 5, 6, 1, 1e-5)


def test_native_dropout():
    x = ds.randn(50, 40)
    out, mask = ds.native_dropout(x, 0.3, True)
    assert mask.dtype is ds.bool and mask.shape == x.shape
    np.testing.assert_allclose(out.numpy(), np.where(mask.numpy(), x.numpy() / 0.7, 0),
                               rtol=1e-6)
    assert 0.6 < float(mask.float().mean()) < 0.8
    out, mask = ds.native_dropout(x, 0.3, False)
    assert bool(mask.all()) and out.data_ptr() != x.data_ptr() and bool(ds.equal(out, x))
    assert not bool(ds.native_dropout(x, 0.5, None)[1].all())
    assert float(ds.native_dropout(x, 1.0, True)[0].abs().sum()) == 0.0
    xg = ds.ones(3, requires_grad=True)
    out, mask = ds.native_dropout(xg, 0.5, True)
    out.sum().backward()
    np.testing.assert_allclose(xg.grad.numpy(), mask.numpy() * 2.0)
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        ds.native_dropout(x, 1.5, True)


@pytest.mark.parametrize("call", [
    "torch.flip(x, dims=[1])", "x.flip(dims=(1,))", "x.permute(dims=(1, 0))",
    "torch.permute(x, dims=(1, 0))", "x.view(size=(3, 2))", "x.reshape(shape=(3, 2))",
    "torch.reshape(x, shape=(3, 2))", "x.expand(size=(2, 2, 3))", "x.repeat(repeats=(2, 1))",
    "torch.zeros(size=(2,))", "torch.ones(size=[2, 1])", "torch.empty(size=(2,)).shape",
    "torch.rand(size=(2,)).shape", "torch.randn(size=(2,)).shape", "x.new_zeros(size=(2,))",
    "x.new_ones(size=(1, 2))", "x.split(split_size=2, dim=1)"])
def test_sizes_and_dims_by_keyword_as_torch(call):
    def run(torch):
        x = torch.arange(6.0).view(2, 3)
        out = eval(call)
        if isinstance(out, tuple):  # chunks, or a shape
            return [t.tolist() if hasattr(t, "tolist") else t for t in out]
        return out.tolist()

    assert run(ds) == run(torch)
    with pytest.raises(TypeError, match="positionally and by keyword"):
        ds.zeros(2, size=(2,))


def test_asarray_and_swapaxes_take_torch_keywords():
    for lib in (ds, torch):
        a = lib.ones(2)
        assert lib.asarray(a).data_ptr() == a.data_ptr()
        assert lib.asarray(a, copy=True).data_ptr() != a.data_ptr()
        n = np.ones(2)
        lib.asarray(n)[0] = 5  # shares the array's memory
        assert n[0] == 5
        assert lib.asarray(obj=[1.0, 2.0], requires_grad=True).requires_grad
        with pytest.raises((ValueError, RuntimeError), match="alias"):
            lib.asarray(a, dtype=lib.float64, copy=False)
        x = lib.ones(2, 3)
        assert tuple(lib.swapaxes(x, axis0=0, axis1=1).shape) == (3, 2)
        assert tuple(x.swapaxes(axis0=1, axis1=0).shape) == (3, 2)
