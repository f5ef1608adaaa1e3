"""Complex dtypes against PyTorch: promotion, creation, printing, the parts as views, the
gradient convention, and clear refusals where an op does not take complex tensors.
(Values and gradients of the complex ops themselves are OpInfo rows: tests/opinfo/complex.py.)"""

import os

import numpy as np
import pytest
import torch

import deepseek as ds
from deepseek import dtypes as D

NAMES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32",
         "float64", "complex64", "complex128"]


@pytest.mark.parametrize("a", NAMES)
def test_promote_types_matches_torch(a):
    for b in NAMES:
        ours = D.promote_types(D.BY_NAME[a], D.BY_NAME[b]).name
        assert ours == str(torch.promote_types(getattr(torch, a), getattr(torch, b)))[6:], (a, b)


@pytest.mark.parametrize("dtype", ["int32", "float32", "float64", "complex64", "complex128"])
def test_result_type_with_complex_scalars_and_zero_dim_tensors(dtype):
    for other in (1j, 2.0, 3, torch.tensor(1j), torch.tensor(1j, dtype=torch.complex128),
                  torch.tensor(2.0, dtype=torch.float64)):
        t = torch.ones(2, dtype=getattr(torch, dtype))
        d = ds.ones(2, dtype=getattr(ds, dtype))
        o = ds.tensor(other.numpy()) if isinstance(other, torch.Tensor) else other
        assert str(ds.result_type(d, o))[9:] == str(torch.result_type(t, other))[6:], other
        assert str((d * o).dtype)[9:] == str((t * other).dtype)[6:], other


def test_default_complex_follows_the_default_dtype():
    assert ds.tensor([1, 2j]).dtype == ds.complex64 and ds.tensor(1j).item() == 1j
    assert ds.full((2,), 1 + 2j).dtype == ds.complex64
    ds.set_default_dtype(ds.float64)
    try:
        assert ds.tensor([1j]).dtype == ds.complex128
        assert (ds.ones(2, dtype=ds.int32) * 1j).dtype == ds.complex128
    finally:
        ds.set_default_dtype(ds.float32)
    assert ds.cfloat is ds.complex64 and ds.cdouble is ds.complex128
    assert ds.ones(2).cdouble().dtype == ds.complex128
    assert ds.finfo(ds.complex64).eps == torch.finfo(torch.complex64).eps
    with pytest.raises(TypeError):
        ds.iinfo(ds.complex64)


def test_repr_matches_torch():
    values = [[1 + 2j, 3.5 - 1j], [-0.25j, 1e-5 + 3j]]
    for dtype in ("complex64", "complex128"):
        t = torch.tensor(values, dtype=getattr(torch, dtype))
        d = ds.tensor(values, dtype=getattr(ds, dtype))
        assert repr(d) == repr(t).replace("torch.", "deepseek.")
    assert repr(ds.tensor(1 + 2j)) == repr(torch.tensor(1 + 2j))
    assert repr(ds.zeros(0, dtype=ds.complex64)) == repr(torch.zeros(0, dtype=torch.complex64)
                                                         ).replace("torch.", "deepseek.")


def test_random_complex_draws_have_unit_variance():
    ds.manual_seed(0)
    z = ds.randn(40000, dtype=ds.complex64)
    assert z.dtype == ds.complex64
    assert abs(z.real.var().item() - 0.5) < 0.02 and abs(z.imag.var().item() - 0.5) < 0.02
    u = ds.rand(40000, dtype=ds.complex128)
    assert 0 <= u.real.min().item() and u.imag.max().item() < 1
    assert abs(u.imag.mean().item() - 0.5) < 0.01


def test_parts_are_views_sharing_storage():
    z = ds.tensor([1 + 2j, 3 - 4j])
    z.real.mul_(10)
    z.imag = ds.tensor([7.0, 8.0])
    assert z.tolist() == [10 + 7j, 30 + 8j]
    r = ds.view_as_real(z)
    r[0, 1] = -1.0
    assert z[0].item() == 10 - 1j and r.shape == (2, 2) and r.dtype == ds.float32
    back = ds.view_as_complex(r)
    back[1] = 5j
    assert z[1].item() == 5j
    strided = ds.view_as_real(ds.complex(ds.randn(3, 4), ds.randn(3, 4)).mT)
    assert strided.stride() == torch.view_as_real(torch.randn(3, 4, dtype=torch.cfloat).mT
                                                  ).stride()
    x = ds.ones(3)
    assert x.real is x and ds.conj(x) is x and not x.is_conj()


@pytest.mark.parametrize("make, message", [
    (lambda: ds.view_as_complex(ds.ones(3, 3)), "last dimension of size 2"),
    (lambda: ds.view_as_complex(ds.ones(2, 4)[:, ::2]), "last dimension with stride 1"),
    (lambda: ds.view_as_complex(ds.ones(2, 2, dtype=ds.float16)), "scalar type: Half"),
    (lambda: ds.view_as_real(ds.ones(2)), "expected a complex tensor"),
    (lambda: ds.ones(2).imag, "non-complex dtypes"),
    (lambda: ds.complex(ds.ones(2), ds.ones(2, dtype=ds.float64)), "Float or Double"),
])
def test_part_errors(make, message):
    with pytest.raises(RuntimeError, match=message):
        make()


@pytest.mark.parametrize("call", [
    lambda z: ds.relu(z), lambda z: z < z, lambda z: z.sort(), lambda z: z.max(),
    lambda z: z.var(), lambda z: z.prod(), lambda z: z.sigmoid(), lambda z: z.exp2(),
    lambda z: z.clamp(0, 1), lambda z: ds.nn.functional.layer_norm(z, (3,)),
    lambda z: z.cumsum(0), lambda z: z.argmax(),
], ids=["relu", "lt", "sort", "max", "var", "prod", "sigmoid", "exp2", "clamp", "layer_norm",
        "cumsum", "argmax"])
def test_ops_without_complex_support_refuse_clearly(call):
    z = ds.complex(ds.randn(2, 3), ds.randn(2, 3))
    with pytest.raises((RuntimeError, NotImplementedError), match=r"^\[.*(complex|Complex)"):
        call(z)


def test_to_real_dtype_discards_the_imaginary_part_with_a_warning():
    z = ds.tensor([1 + 2j])
    with pytest.warns(UserWarning, match="discards the imaginary part"):
        assert z.float().tolist() == [1.0]
    with pytest.warns(UserWarning):
        assert z.to(ds.int64).tolist() == [1]


def test_copy_into_complex_and_complex_modules_match_torch():
    z = ds.zeros(2, dtype=ds.complex64)
    assert z.copy_(ds.tensor([1 + 2j, 3j])).tolist() == [1 + 2j, 3j]
    with pytest.warns(UserWarning, match="discards the imaginary part"):
        assert ds.zeros(2).copy_(ds.tensor([1 + 2j, 3j])).tolist() == [1.0, 0.0]
    with pytest.warns(UserWarning, match="Complex modules"):
        ours = ds.nn.Linear(2, 3).to(ds.cfloat)
    with pytest.warns(UserWarning, match="Complex modules"):
        theirs = torch.nn.Linear(2, 3).to(torch.cfloat)
    assert ours.weight.dtype == ds.complex64 and isinstance(ours.weight, ds.nn.Parameter)
    ours.load_state_dict({k: ds.tensor(v.detach().numpy()) for k, v in
                          theirs.state_dict().items()})
    x = np.array([[1 + 1j, 2 - 0.5j]], np.complex64)
    a, b = ours(ds.tensor(x)), theirs(torch.tensor(x))
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-6, atol=1e-6)
    a.abs().sum().backward()
    b.abs().sum().backward()
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-5,
                               atol=1e-6, err_msg="complex Linear weight gradient")


@pytest.mark.parametrize("equation,shapes", [("bix,iox->box", [(2, 3, 4), (3, 5, 4)]),
                                             ("ij,jk->ik", [(2, 3), (3, 4)]), ("ii->i", [(3, 3)])])
def test_complex_einsum_and_gradients_match_torch(equation, shapes):
    rng = np.random.default_rng(0)
    arrays = [(rng.standard_normal(s) + 1j * rng.standard_normal(s)).astype(np.complex64)
              for s in shapes]
    results = []
    for lib in (ds, torch):
        xs = [lib.tensor(a, requires_grad=True) for a in arrays]
        out = lib.einsum(equation, *xs)
        (out.abs() ** 2).sum().backward()
        results.append([out] + [x.grad for x in xs])
    for what, ours, theirs in zip(["out"] + [f"grad {i}" for i in range(len(shapes))], *results):
        assert tuple(ours.shape) == tuple(theirs.shape), f"einsum {equation} {what}: shape"
        np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-5,
                                   atol=1e-5, err_msg=f"einsum {equation} {what}")


def test_gradients_follow_torch_conventions_through_real_and_complex_leaves():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 3, 4))
    w = rng.standard_normal((4, 3)) + 1j * rng.standard_normal((4, 3))
    grads = []
    for lib in (ds, torch):
        x = lib.tensor(a, requires_grad=True)  # a real leaf into complex ops
        z = lib.tensor(a + 1j * b, requires_grad=True)  # a complex leaf
        loss = ((x * 1j + z) @ lib.tensor(w)).abs().sum() + (z.conj() * z).real.sum()
        loss.backward()
        grads.append((x.grad.numpy(), z.grad.resolve_conj().numpy() if lib is torch
                      else z.grad.numpy()))
        assert x.grad.dtype == x.dtype and z.grad.dtype == z.dtype
    for ours, theirs in zip(*grads):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)


def test_grad_of_a_complex_output_needs_an_explicit_gradient():
    z = ds.tensor([1 + 1j], requires_grad=True)
    with pytest.raises(RuntimeError, match="real scalar outputs"):
        (z * 2).sum().backward()


def test_jit_refuses_complex_tensors_clearly():
    @ds.jit
    def step(x):
        return ds.fft.rfft(x).abs().sum()

    with pytest.raises(ds.jit.TraceError, match="complex tensors are not compiled"):
        step(ds.randn(8))


def test_safetensors_round_trip(tmp_path):
    z = ds.randn(3, 2, dtype=ds.complex64)
    path = os.path.join(tmp_path, "z.safetensors")
    ds.save({"z": z}, path)
    back = ds.load(path)["z"]
    assert back.dtype == ds.complex64 and back.tolist() == z.tolist()


def test_assert_close_on_complex_matches_torch_message():
    a, b = [1 + 1j, 2 - 1j, 3], [1 + 1j, 2 - 1.1j, 3]
    messages = []
    for lib in (ds, torch):
        with pytest.raises(AssertionError) as info:
            lib.testing.assert_close(lib.tensor(a), lib.tensor(b))
        messages.append(str(info.value))
    assert messages[0] == messages[1]
    ds.testing.assert_close(ds.tensor(a), ds.tensor(a))
