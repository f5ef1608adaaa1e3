"""Reductions and linear algebra beyond the OpInfo rows: errors (class and message), result
dtypes, low-precision accumulation, named results, second derivatives."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import deepseek as ds

# name: (text the message must contain, fn(lib)); fn runs on deepseek and on torch
ERRORS = {
    "mean_int": ("could not infer output dtype", lambda lib: lib.arange(3).mean()),
    "var_int": ("std and var only support floating point", lambda lib: lib.arange(3).var()),
    "nanmean_int": ("expected input to have floating point", lambda lib: lib.arange(3).nanmean()),
    "amax_empty_dim": ("Expected reduction dim 0 to have non-zero size",
                       lambda lib: lib.ones(0, 3).amax(0)),
    "amax_empty_all": ("Expected reduction dim to be specified", lambda lib: lib.ones(0).amax()),
    "max_empty_all": ("Expected reduction dim to be specified", lambda lib: lib.ones(0, 2).max()),
    "max_empty_dim": ("Expected reduction dim 0 to have non-zero size",
                      lambda lib: lib.ones(0, 3).max(0)),
    "argmax_empty": ("Expected reduction dim to be specified", lambda lib: lib.ones(0).argmax()),
    "argmin_empty_dim": ("Expected reduction dim 0", lambda lib: lib.ones(0, 3).argmin(0)),
    "median_empty_dim": ("Expected reduction dim 0", lambda lib: lib.ones(0, 3).median(0)),
    "kthvalue_range": ("selected number k out of range", lambda lib: lib.ones(3).kthvalue(4)),
    "aminmax_empty": ("cannot compute aminmax", lambda lib: lib.aminmax(lib.ones(0, 3))),
    "sum_bad_dim": ("Dimension out of range", lambda lib: lib.ones(2, 3).sum((0, 2))),
    "prod_tuple_dim": ("", lambda lib: lib.ones(2, 3).prod((0, 1))),
    "var_both": ("", lambda lib: lib.ones(2, 3).var(1, True, correction=0)),
    "logcumsumexp_int": ("", lambda lib: lib.arange(3).logcumsumexp(0)),
    "vector_norm_int": ("Expected a floating point", lambda lib: lib.linalg.vector_norm(
        lib.arange(3))),
    "vector_norm_str": ("must be Number", lambda lib: lib.linalg.vector_norm(lib.ones(3), "fro")),
    "vector_norm_empty_inf": ("cannot compute the inf norm on an empty tensor",
                              lambda lib: lib.linalg.vector_norm(lib.ones(0), math.inf)),
    "vector_norm_empty_dim": ("cannot compute the -1 norm on the dimension 0",
                              lambda lib: lib.linalg.vector_norm(lib.ones(0, 2), -1, dim=0)),
    "vector_norm_narrowing": ("without narrowing", lambda lib: lib.linalg.vector_norm(
        lib.ones(3, dtype=lib.float64), dtype=lib.float32)),
    "matrix_norm_1d": ("must have at least 2 dimensions",
                       lambda lib: lib.linalg.matrix_norm(lib.ones(3))),
    "matrix_norm_ord": ("Order 3 not supported", lambda lib: lib.linalg.matrix_norm(
        lib.ones(3, 3), 3)),
    "matrix_norm_dims": ("dim must be a 2-tuple", lambda lib: lib.ones(2, 2, 2).norm(
        "fro", dim=(0, 1, 2))),
    "matrix_norm_same_dims": ("dims must be different", lambda lib: lib.linalg.matrix_norm(
        lib.ones(3, 3), dim=(0, 0))),
    "linalg_norm_3d": ("input must be 1D or 2D", lambda lib: lib.linalg.norm(lib.ones(2, 2, 2),
                                                                             2)),
    "mm_shapes": ("mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)",
                  lambda lib: lib.mm(lib.ones(2, 3), lib.ones(4, 5))),
    "matmul_shapes": ("mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)",
                      lambda lib: lib.ones(2, 3) @ lib.ones(4, 5)),
    "matmul_1d_2d": ("mat1 and mat2 shapes cannot be multiplied (1x3 and 4x5)",
                     lambda lib: lib.ones(3) @ lib.ones(4, 5)),
    "matmul_1d_1d": ("inconsistent tensor size, expected tensor [3] and src [4]",
                     lambda lib: lib.ones(3) @ lib.ones(4)),
    "matmul_0d": ("need to be at least 1D", lambda lib: lib.matmul(lib.ones(()), lib.ones(3))),
    "matmul_dtypes": ("same dtype", lambda lib: lib.ones(2, 3) @ lib.ones(3, 2,
                                                                          dtype=lib.float64)),
    "matmul_batch": ("", lambda lib: lib.ones(2, 2, 3) @ lib.ones(3, 3, 5)),
    "mm_3d": ("self must be a matrix", lambda lib: lib.mm(lib.ones(2, 2, 3), lib.ones(3, 3))),
    "bmm_2d": ("batch1 must be a 3D tensor", lambda lib: lib.bmm(lib.ones(2, 3), lib.ones(3, 3))),
    "bmm_batches": ("", lambda lib: lib.bmm(lib.ones(2, 2, 3), lib.ones(3, 3, 5))),
    "mv_2d": ("vector + matrix @ vector expected", lambda lib: lib.mv(lib.ones(2, 3),
                                                                      lib.ones(3, 1))),
    "dot_2d": ("1D tensors expected, but got 2D and 1D tensors",
               lambda lib: lib.dot(lib.ones(3, 1), lib.ones(3))),
    "outer_2d": ("Expected 1-D argument self", lambda lib: lib.outer(lib.ones(3, 1), lib.ones(3))),
    "addmm_input": ("", lambda lib: lib.addmm(lib.ones(3, 3), lib.ones(2, 3), lib.ones(3, 3))),
    "einsum_ndim": ("the number of subscripts in the equation (2) does not match",
                    lambda lib: lib.einsum("ij,jk", lib.ones(2, 3, 3), lib.ones(3, 4))),
    "einsum_more": ("more operands were provided",
                    lambda lib: lib.einsum("ij", lib.ones(2, 3), lib.ones(3, 4))),
    "einsum_fewer": ("fewer operands were provided",
                     lambda lib: lib.einsum("ij,jk,kl", lib.ones(2, 3), lib.ones(3, 4))),
    "einsum_char": ("invalid subscript given at index 1",
                    lambda lib: lib.einsum("i1,jk", lib.ones(2, 3), lib.ones(3, 4))),
    "einsum_arrow": ("invalid subscript given at index 2",
                     lambda lib: lib.einsum("ij-", lib.ones(2, 3))),
    "einsum_out_twice": ("output subscript i appears more than once",
                         lambda lib: lib.einsum("ij,jk->ii", lib.ones(2, 3), lib.ones(3, 4))),
    "einsum_out_missing": ("output subscript z does not appear",
                           lambda lib: lib.einsum("ij,jk->iz", lib.ones(2, 3), lib.ones(3, 4))),
    "einsum_sizes": ("subscript j has size 4 for operand 1 which does not broadcast",
                     lambda lib: lib.einsum("ij,jk", lib.ones(2, 3), lib.ones(4, 4))),
    "einsum_repeat_sizes": ("subscript i is repeated for operand 0 but the sizes don't match",
                            lambda lib: lib.einsum("ii->i", lib.ones(2, 3))),
    "einsum_dot": ("that is not part of any ellipsis", lambda lib: lib.einsum("i.j",
                                                                            lib.ones(2, 3))),
    "einsum_two_ellipses": ("for which an ellipsis was already found",
                            lambda lib: lib.einsum("...i...", lib.ones(2, 3))),
    "einsum_no_operands": ("must specify the equation string", lambda lib: lib.einsum("ij")),
    "einsum_not_tensor": ("expected Tensor as element 0", lambda lib: lib.einsum("ij", 3)),
    "einsum_dtypes": ("", lambda lib: lib.einsum("ij,jk", lib.ones(2, 3),
                                                 lib.ones(3, 4, dtype=lib.float64))),
    "tensordot_sizes": ("contracted dimensions need to match",
                        lambda lib: lib.tensordot(lib.ones(2, 3, 4), lib.ones(3, 5, 5))),
    "tensordot_negative": ("tensordot expects dims >= 0",
                           lambda lib: lib.tensordot(lib.ones(2, 3), lib.ones(3, 2), -1)),
    "tensordot_dtypes": ("both inputs should have same dtype",
                         lambda lib: lib.tensordot(lib.ones(2, 3), lib.ones(3, 2,
                                                                            dtype=lib.float64))),
    "cross_length": ("must have length 3", lambda lib: lib.linalg.cross(lib.ones(2), lib.ones(2))),
    "cross_ndim": ("same number of dimensions", lambda lib: lib.linalg.cross(lib.ones(3),
                                                                            lib.ones(4, 3))),
    "inv_square": ("A must be batches of square matrices", lambda lib: lib.linalg.inv(
        lib.ones(3, 2))),
    "det_int": ("Expected a floating point", lambda lib: lib.linalg.det(
        lib.ones(3, 3, dtype=lib.int64))),
    "inv_singular": ("", lambda lib: lib.linalg.inv(lib.ones(3, 3))),
}


@pytest.mark.parametrize("name", list(ERRORS))
def test_errors_match_torch(name):
    text, fn = ERRORS[name]
    with pytest.raises(Exception) as want:
        fn(torch)
    with pytest.raises(Exception) as got:
        fn(ds)
    # torch's _LinAlgError is a RuntimeError subclass of its own
    expected = RuntimeError if type(want.value).__name__ == "_LinAlgError" else type(want.value)
    assert isinstance(got.value, expected), (
        f"{name}: deepseek raised {type(got.value).__name__}: {got.value}; "
        f"torch {type(want.value).__name__}")
    assert text in str(got.value), f"{name}: {got.value!r} lacks {text!r}"
    assert str(got.value).startswith("["), f"{name}: the message does not name the op"


@pytest.mark.parametrize("fn, dtype", [
    (lambda x: x.sum(), "int64"), (lambda x: x.prod(), "int64"),
    (lambda x: x.cumsum(0), "int64"), (lambda x: x.cumprod(0), "int64"),
    (lambda x: x.nansum(), "int64"), (lambda x: x.sum(dtype=ds.int32), "int32"),
    (lambda x: x.logsumexp(0), "float32"), (lambda x: x.median(), "int32"),
    (lambda x: x.amax(), "int32"), (lambda x: x.count_nonzero(), "int64"),
    (lambda x: x.all(), "bool"), (lambda x: x.to(ds.uint8).any(0), "uint8"),
    (lambda x: x.to(ds.uint8).all(), "uint8"), (lambda x: (x > 0).sum(), "int64"),
    (lambda x: (x > 0).cumsum(0), "int64"), (lambda x: x.to(ds.float16).norm(), "float16"),
    (lambda x: x.mean(dtype=ds.float64), "float64"),
])
def test_result_dtypes(fn, dtype):
    x = ds.tensor([3, 1, 2], dtype=ds.int32)
    assert fn(x).dtype.name == dtype


def test_empty_dim_tuple():
    x = ds.ones(2, 3)
    assert x.sum(()).shape == () and x.mean([]).shape == () and x.amax(()).shape == ()
    assert x.any(()).shape == (2, 3) and x.all(()).shape == (2, 3)  # these reduce nothing


@pytest.mark.parametrize("fn", [lambda lib, x: x.sum(), lambda lib, x: x.mean(),
                                lambda lib, x: x.cumsum(0)[-1], lambda lib, x: x.var(),
                                lambda lib, x: lib.linalg.vector_norm(x),
                                lambda lib, x: x.logsumexp(0)])
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_low_precision_reductions_accumulate_in_float32(fn, dtype):
    values = np.full(4096, 0.1, dtype=np.float32)
    got = fn(ds, ds.tensor(values).to(getattr(ds, dtype))).float().item()
    want = fn(torch, torch.tensor(values).to(getattr(torch, dtype))).float().item()
    assert got == pytest.approx(want, rel=1e-2)
    assert got == pytest.approx(fn(torch, torch.tensor(values, dtype=torch.float64)).item(),
                                rel=1e-2)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_low_precision_matmul_accumulates_in_float32(dtype):
    rng = np.random.default_rng(0)
    a, b = rng.uniform(0, 1, (4, 2048)), rng.uniform(0, 1, (2048, 3))
    exact = a @ b
    for fn in (lambda lib, x, y: x @ y, lambda lib, x, y: lib.einsum("ij,jk", x, y)):
        got = fn(ds, ds.tensor(a).to(getattr(ds, dtype)), ds.tensor(b).to(getattr(ds, dtype)))
        np.testing.assert_allclose(got.float().numpy(), exact, rtol=2e-2)


def test_named_results():
    x = ds.tensor([[3.0, 1.0, 2.0], [0.5, 4.0, -1.0]])
    values, indices = x.max(1)
    assert x.max(dim=1).values.tolist() == values.tolist() == [3.0, 4.0]
    assert indices.tolist() == [0, 1] and x.min(1).indices.tolist() == [1, 2]
    assert x.median(1).indices.tolist() == [2, 0]
    assert x.kthvalue(3, 1).values.tolist() == [3.0, 4.0]
    mm = ds.aminmax(x, dim=0)
    assert mm.min.tolist() == [0.5, 1.0, -1.0] and mm.max.tolist() == [3.0, 4.0, 2.0]


def test_var_without_degrees_of_freedom_matches_torch():
    for lib in (ds, torch):
        one = lib.tensor([1.0]).var()
        two = lib.tensor([1.0, 2.0]).var(correction=2)
        assert math.isnan(float(one)) and math.isinf(float(two))


def test_addmm_beta_zero_ignores_nan():
    c = ds.full((2, 2), math.nan)
    out = ds.addmm(c, ds.ones(2, 3), ds.ones(3, 2), beta=0)
    assert out.tolist() == [[3.0, 3.0], [3.0, 3.0]]


# low-precision GEMMs with an added term: PyTorch sums the term in the float32 accumulator
# and rounds once (addr and addbmm round the product first, as deepseek does)
FUSED_SUMS = {
    "addmm": ((6, 5), (6, 7), (7, 5), lambda lib, c, a, b: lib.addmm(c, a, b, beta=3, alpha=2)),
    "addmv": ((6,), (6, 7), (7,), lambda lib, c, a, b: lib.addmv(c, a, b)),
    "baddbmm": ((3, 6, 5), (3, 6, 7), (3, 7, 5), lambda lib, c, a, b: lib.baddbmm(c, a, b)),
    "linear": ((5,), (4, 3, 7), (5, 7), lambda lib, c, a, b: lib.nn.functional.linear(a, b, c)),
}


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
@pytest.mark.parametrize("name", sorted(FUSED_SUMS))
def test_low_precision_gemm_sum_rounds_once(name, dtype):
    *shapes, fn = FUSED_SUMS[name]
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    outs = []
    for lib in (ds, torch):
        xs = [lib.tensor(a).to(getattr(lib, dtype)).requires_grad_() for a in arrays]
        out = fn(lib, *xs)
        out.backward(lib.ones_like(out))
        outs.append([t.detach().float().numpy() for t in [out] + [x.grad for x in xs]])
    for what, ours, theirs in zip(["out", "grad c", "grad a", "grad b"], *outs):
        assert ours.shape == theirs.shape, f"{name} {dtype} {what}: shape"
        np.testing.assert_array_equal(ours, theirs, err_msg=f"{name} {dtype} {what}: bit-exact")


def _second_derivative(lib, fn, arrays):
    xs = [lib.tensor(a, requires_grad=True) for a in arrays]
    out = fn(lib, *xs)
    g = lib.autograd.grad(out.sum() if out.ndim else out, xs, create_graph=True)
    total = sum((gi * gi).sum() for gi in g)
    return [h.detach().numpy() for h in lib.autograd.grad(total, xs)]


_ZEROS = np.array([[1.5, 0.0, -2.0, 0.5], [0.0, 1.2, 0.0, -0.7], [0.3, 0.6, 1.1, 0.9]])
_RNG = np.random.default_rng(1)


@pytest.mark.parametrize("name, fn, arrays", [
    ("cumprod", lambda lib, x: x.cumprod(1), [_RNG.uniform(0.5, 2, (3, 4))]),
    ("cumprod_zeros", lambda lib, x: x.cumprod(1), [_ZEROS]),
    ("prod_zeros", lambda lib, x: x.prod(1), [_ZEROS]),
    ("logcumsumexp", lambda lib, x: x.logcumsumexp(1), [_RNG.normal(size=(3, 4))]),
    ("var", lambda lib, x: x.var(0), [_RNG.normal(size=(3, 4))]),
    ("vector_norm_3", lambda lib, x: lib.linalg.vector_norm(x, 3, 1), [_RNG.normal(size=(3, 4))]),
    ("vector_norm_2", lambda lib, x: lib.linalg.vector_norm(x), [_RNG.normal(size=(3, 4))]),
    ("logsumexp", lambda lib, x: x.logsumexp(1), [_RNG.normal(size=(3, 4))]),
    ("matmul", lambda lib, x, y: (x @ y).sin(), [_RNG.normal(size=(3, 4)),
                                                 _RNG.normal(size=(4,))]),
    ("einsum", lambda lib, x, y: lib.einsum("iij,jk->k", x, y).exp(),
     [_RNG.normal(size=(3, 3, 2)), _RNG.normal(size=(2, 4))]),
    ("inv", lambda lib, a: lib.linalg.inv(a + 4 * lib.eye(3, dtype=a.dtype)),
     [_RNG.normal(size=(3, 3))]),
    ("det", lambda lib, a: lib.linalg.det(a + 4 * lib.eye(3, dtype=a.dtype)),
     [_RNG.normal(size=(3, 3))]),
    ("solve", lambda lib, a, b: lib.linalg.solve(a + 4 * lib.eye(3, dtype=a.dtype), b),
     [_RNG.normal(size=(3, 3)), _RNG.normal(size=(3, 2))]),
])
def test_second_derivatives_match_torch(name, fn, arrays):
    got = _second_derivative(ds, fn, arrays)
    want = _second_derivative(torch, fn, arrays)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-7, atol=1e-9, err_msg=name)


def test_einsum_gradient_is_einsum():
    x = ds.randn(3, 3, requires_grad=True)
    y = ds.einsum("ii->i", x)
    assert y.grad_fn.name() == "EinsumBackward0"
    (g,) = ds.autograd.grad(y.sum(), [x])
    np.testing.assert_array_equal(g.numpy(), np.eye(3, dtype=np.float32))


def test_matrix_norms_of_exact_matrix():
    a = ds.tensor([[1.0, -2.0], [3.0, 4.0]])
    assert ds.linalg.matrix_norm(a, 1).item() == 6.0
    assert ds.linalg.matrix_norm(a, math.inf).item() == 7.0
    assert ds.linalg.matrix_norm(a, -1).item() == 4.0
    assert ds.linalg.norm(a).item() == pytest.approx(math.sqrt(30))
