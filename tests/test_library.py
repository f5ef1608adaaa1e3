"""``ds.library``: custom_op, register_*, Library, infer_schema and opcheck, against
torch.library on the same functions."""

from __future__ import annotations

import re
from typing import Optional, Sequence

import numpy as np
import pytest
import torch

import deepseek as ds
from deepseek import library
from deepseek.ops._opdef import REGISTRY


@pytest.fixture
def names():
    """Qualified names a test defines, removed afterwards so the registry stays built-in."""
    defined: list = []
    yield defined
    for name in defined:
        library._remove(name)


def _scale_add(x, y, alpha):
    return x * alpha + y.sin()


def _setup_scale_add(ctx, inputs, output):
    x, y, alpha = inputs
    ctx.save_for_backward(y)
    ctx.alpha = alpha


def _backward_scale_add(ctx, grad):
    (y,) = ctx.saved_tensors
    return grad * ctx.alpha, grad * y.cos(), None


def _ds_scale_add(name: str) -> library.CustomOpDef:
    @ds.library.custom_op(name, mutates_args=())
    def scale_add(x: ds.Tensor, y: ds.Tensor, alpha: float = 1.0) -> ds.Tensor:
        return _scale_add(x, y, alpha)

    return scale_add


def _torch_scale_add(name: str):
    @torch.library.custom_op(name, mutates_args=())
    def scale_add(x: torch.Tensor, y: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
        return _scale_add(x, y, alpha)

    return scale_add


def _close(ours, theirs, what, rtol=1e-6, atol=1e-6):
    theirs = theirs.detach().numpy()
    ours = ours.detach().numpy()
    assert ours.shape == theirs.shape, f"{what}: shape {ours.shape} vs torch {theirs.shape}"
    assert ours.dtype == theirs.dtype, f"{what}: dtype {ours.dtype} vs torch {theirs.dtype}"
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol,
                               err_msg=f"{what} (rtol={rtol}, atol={atol})")


def test_custom_op_outputs_and_grads_match_torch(names):
    names.append("dstest::scale_add")
    ours = _ds_scale_add("dstest::scale_add")
    theirs = _torch_scale_add("dstest::scale_add")
    for op in (ours, theirs):
        op.register_autograd(_backward_scale_add, setup_context=_setup_scale_add)
    assert repr(ours) == "<CustomOpDef(dstest::scale_add)>"
    assert REGISTRY["dstest::scale_add"] is ours._opdef
    rng = np.random.default_rng(0)
    xv, yv = rng.standard_normal((2, 3, 4)).astype(np.float32)
    x, y = ds.tensor(xv, requires_grad=True), ds.tensor(yv, requires_grad=True)
    tx, ty = torch.tensor(xv, requires_grad=True), torch.tensor(yv, requires_grad=True)
    out, tout = ours(x, y, alpha=2.5), theirs(tx, ty, alpha=2.5)
    _close(out, tout, "dstest::scale_add forward")
    assert out.grad_fn.name() == type(tout.grad_fn).__name__
    (out * out).sum().backward()
    (tout * tout).sum().backward()
    _close(x.grad, tx.grad, "dstest::scale_add grad x", rtol=1e-5)
    _close(y.grad, ty.grad, "dstest::scale_add grad y", rtol=1e-5)
    _close(ours(x, y), theirs(tx, ty), "dstest::scale_add default alpha")


def test_backward_without_register_autograd_raises_naming_it(names):
    names.append("dstest::noautograd")
    op = _ds_scale_add("dstest::noautograd")
    x = ds.ones(3, requires_grad=True)
    out = op(x, ds.ones(3))
    assert out.requires_grad  # as torch: the error comes with backward
    with pytest.raises(RuntimeError, match=r"\[dstest::noautograd\].*register_autograd"):
        out.sum().backward()
    with ds.no_grad():
        assert not op(x, ds.ones(3)).requires_grad


def test_list_inputs_ctx_and_needs_input_grad_match_torch(names):
    names.append("dstest::weighted_sum")
    seen = []

    def setup(ctx, inputs, output):
        tensors, weights = inputs
        ctx.weights = weights

    def backward(ctx, grad):
        seen.append(ctx.needs_input_grad)
        return [grad * w for w in ctx.weights], None

    @ds.library.custom_op("dstest::weighted_sum", mutates_args=())
    def weighted_sum(tensors: list[ds.Tensor], weights: list[float]) -> ds.Tensor:
        return sum(t * w for t, w in zip(tensors, weights))

    @torch.library.custom_op("dstest::weighted_sum", mutates_args=())
    def torch_weighted_sum(tensors: list[torch.Tensor], weights: list[float]) -> torch.Tensor:
        return sum(t * w for t, w in zip(tensors, weights))

    for op in (weighted_sum, torch_weighted_sum):
        op.register_autograd(backward, setup_context=setup)
    a, b = ds.tensor([1.0, 2.0], requires_grad=True), ds.tensor([3.0, -1.0])
    ta, tb = torch.tensor([1.0, 2.0], requires_grad=True), torch.tensor([3.0, -1.0])
    out, tout = weighted_sum([a, b], [0.3, 0.7]), torch_weighted_sum([ta, tb], [0.3, 0.7])
    _close(out, tout, "dstest::weighted_sum forward")
    out.sum().backward()
    tout.sum().backward()
    _close(a.grad, ta.grad, "dstest::weighted_sum grad")
    assert b.grad is None
    assert seen[0] == seen[1] == ([True, False], False)
    weighted_sum.register_fake(lambda tensors, weights: ds.empty_like(tensors[0]))
    assert set(ds.library.opcheck(weighted_sum, ([a, b], [0.3, 0.7])).values()) == {"SUCCESS"}


def test_optional_tensor_and_keyword_only_inputs_match_torch(names):
    names.append("dstest::affine")

    def setup(ctx, inputs, keyword_only_inputs, output):
        x, weight, bias = inputs
        ctx.save_for_backward(x, weight)
        ctx.has_bias, ctx.scale = bias is not None, keyword_only_inputs["scale"]

    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        grad = grad * ctx.scale
        return grad @ weight, grad.t() @ x, grad.sum(0) if ctx.has_bias else None

    @ds.library.custom_op("dstest::affine", mutates_args=())
    def affine(x: ds.Tensor, weight: ds.Tensor, bias: Optional[ds.Tensor], *,
               scale: float = 1.0) -> ds.Tensor:
        out = x @ weight.t()
        return (out if bias is None else out + bias) * scale

    @torch.library.custom_op("dstest::affine", mutates_args=())
    def torch_affine(x: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor], *,
                     scale: float = 1.0) -> torch.Tensor:
        out = x @ weight.t()
        return (out if bias is None else out + bias) * scale

    for op in (affine, torch_affine):
        op.register_autograd(backward, setup_context=setup)
    affine.register_fake(lambda x, weight, bias, *, scale=1.0: x.new_empty((x.shape[0],
                                                                             weight.shape[0])))
    rng = np.random.default_rng(1)
    values = [rng.standard_normal(s) for s in ((5, 3), (4, 3), (4,))]
    for with_bias in (False, True):
        ours = [ds.tensor(v, requires_grad=True) for v in values]
        theirs = [torch.tensor(v, requires_grad=True) for v in values]
        if not with_bias:
            ours[2] = theirs[2] = None
        out, tout = affine(*ours, scale=0.5), torch_affine(*theirs, scale=0.5)
        _close(out, tout, f"dstest::affine forward (bias={with_bias})")
        out.sum().backward()
        tout.sum().backward()
        for t, tt in zip(ours, theirs):
            if t is not None:
                _close(t.grad, tt.grad, f"dstest::affine grad (bias={with_bias})")
        results = ds.library.opcheck(affine, tuple(ours), {"scale": 0.5})
        assert set(results.values()) == {"SUCCESS"}


def test_autocast_reaches_inside_the_kernel_as_in_torch(names):
    names.append("dstest::mm")

    @ds.library.custom_op("dstest::mm", mutates_args=())
    def mm(x: ds.Tensor, y: ds.Tensor) -> ds.Tensor:
        return x @ y

    @torch.library.custom_op("dstest::mm", mutates_args=())
    def torch_mm(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return x @ y

    with ds.autocast("cpu", dtype=ds.bfloat16):
        got = mm(ds.ones(2, 2), ds.ones(2, 2)).dtype
    with torch.autocast("cpu", dtype=torch.bfloat16):
        want = torch_mm(torch.ones(2, 2), torch.ones(2, 2)).dtype
    assert (got, want) == (ds.bfloat16, torch.bfloat16)


def test_mutates_args_writes_in_place_and_bumps_versions(names):
    names += ["dstest::sin_", "dstest::sin_out"]

    @ds.library.custom_op("dstest::sin_", mutates_args={"x"})
    def sin_(x: ds.Tensor) -> None:
        x.copy_(x.sin())

    @ds.library.custom_op("dstest::sin_out", mutates_args=("out", "count"))
    def sin_out(x: ds.Tensor, out: ds.Tensor, count: ds.Tensor) -> None:
        out.copy_(x.sin())
        count.add_(1)

    assert sin_._schema.text == "(Tensor(a0!) x) -> ()"
    x = ds.tensor([0.5, 1.0, 2.0])
    version = x._version
    assert sin_(x) is None
    np.testing.assert_allclose(x.numpy(), np.sin([0.5, 1.0, 2.0]), rtol=1e-6)
    assert x._version == version + 1
    out, count = ds.zeros(3), ds.zeros(())
    sin_out(x, out, count)
    np.testing.assert_allclose(out.numpy(), np.sin(x.numpy()), rtol=1e-6)
    assert (out._version, count._version, count.item()) == (1, 1, 1.0)
    with pytest.raises(RuntimeError, match=r"\[dstest::sin_\] mutates its inputs"):
        sin_(ds.ones(3, requires_grad=True) * 2)
    with pytest.raises(RuntimeError, match="non-functional operator"):
        sin_.register_autograd(lambda ctx, g: g)
    assert library.opcheck(sin_, (ds.randn(4),))["test_aot_dispatch_dynamic"] == "SUCCESS"


def test_infer_schema_matches_torch():
    def ours(a: list[ds.Tensor], b: Optional[ds.Tensor], c: int, d: Sequence[int],
             e: bool = True, *, s: str = "x", f: Optional[float] = None) -> ds.Tensor: ...

    def theirs(a: list[torch.Tensor], b: Optional[torch.Tensor], c: int, d: Sequence[int],
               e: bool = True, *, s: str = "x", f: Optional[float] = None) -> torch.Tensor: ...

    def ours_mut(x: ds.Tensor, out: ds.Tensor, n: float = 1.0) -> None: ...

    def theirs_mut(x: torch.Tensor, out: torch.Tensor, n: float = 1.0) -> None: ...

    for mutates in ((), "unknown"):
        assert (ds.library.infer_schema(ours, mutates_args=mutates, op_name="f")
                == torch.library.infer_schema(theirs, mutates_args=mutates, op_name="f"))
    assert (ds.library.infer_schema(ours_mut, mutates_args={"out"})
            == torch.library.infer_schema(theirs_mut, mutates_args={"out"})
            == "(Tensor x, Tensor(a1!) out, float n=1.0) -> ()")

    def not_annotated(x): ...

    def tuple_arg(x: tuple[int, int]) -> ds.Tensor: ...

    with pytest.raises(ValueError, match="Parameter x must have a type annotation"):
        ds.library.infer_schema(not_annotated, mutates_args=())
    with pytest.raises(ValueError, match="Tuple inputs"):
        ds.library.infer_schema(tuple_arg, mutates_args=())
    with pytest.raises(ValueError, match="only Tensors"):
        ds.library.infer_schema(ours_mut, mutates_args={"n"})


def test_free_functions_take_the_name(names):
    names.append("dstest::cube")

    @ds.library.custom_op("dstest::cube", mutates_args=(), device_types="cpu")
    def cube(x: ds.Tensor) -> ds.Tensor:
        return x * x * x

    ds.library.register_autograd("dstest::cube",
                                 lambda ctx, g: 3 * ctx.saved_tensors[0] ** 2 * g,
                                 setup_context=lambda ctx, inputs, output:
                                 ctx.save_for_backward(inputs[0]))
    ds.library.register_fake("dstest::cube")(lambda x: ds.empty_like(x))

    @ds.library.register_kernel("dstest::cube", "cpu")
    def _(x):  # the newer kernel wins; reading the data is fine, also under ds.jit
        return ds.from_numpy(x.numpy() ** 3)

    x = ds.tensor([1.0, -2.0], dtype=ds.float64, requires_grad=True)
    assert ds.library.opcheck("dstest::cube", (x,)) == dict.fromkeys(
        library.DEFAULT_TEST_UTILS, "SUCCESS")
    with pytest.raises(RuntimeError, match="operator dstest::nosuch does not exist"):
        ds.library.register_fake("dstest::nosuch", lambda x: x)
    with pytest.raises(ValueError, match="unknown device type"):
        cube.register_kernel("tpu", lambda x: x)
    names.append("dstest::gpu_only")
    gpu_only = ds.library.custom_op("dstest::gpu_only", mutates_args=(), device_types="cuda",
                                    schema="(Tensor x) -> Tensor")(lambda x: x.clone())
    with pytest.raises(NotImplementedError, match=r"\[dstest::gpu_only\].*'cpu' backend"):
        gpu_only(ds.ones(2))


def test_opcheck_catches_wrong_registrations(names):
    names += ["dstest::checked", "dstest::sneaky"]
    op = _ds_scale_add("dstest::checked")
    x = ds.randn(3, dtype=ds.float64, requires_grad=True)
    y = ds.randn(3, dtype=ds.float64)
    results = ds.library.opcheck(op, (x, y, 2.0), raise_exception=False)
    assert results["test_schema"] == "SUCCESS"
    assert "no autograd formula" in str(results["test_autograd_registration"])
    assert "register_fake" in str(results["test_faketensor"])
    op.register_autograd(lambda ctx, g: (g * 3, None, None))  # should be g * alpha = g * 2
    op.register_fake(lambda x, y, alpha=1.0: x.new_empty((4,)))
    with pytest.raises(ds.library.OpCheckError, match="test_autograd_registration.*finite"):
        ds.library.opcheck(op, (x, y, 2.0))
    assert "float64[4]" in str(ds.library.opcheck(op, (x, y, 2.0), raise_exception=False)
                               ["test_faketensor"])
    op.register_autograd(_backward_scale_add, setup_context=_setup_scale_add)
    op.register_fake(lambda x, y, alpha=1.0: ds.empty_like(x))
    assert set(ds.library.opcheck(op, (x, y, 2.0)).values()) == {"SUCCESS"}
    assert x.grad is None  # opcheck works on copies

    @ds.library.custom_op("dstest::sneaky", mutates_args=())
    def sneaky(x: ds.Tensor) -> ds.Tensor:
        x.mul_(2)  # undeclared mutation
        return x.clone()

    with pytest.raises(ds.library.OpCheckError, match="'x' was mutated in place"):
        ds.library.opcheck(sneaky, (ds.ones(2),), test_utils="test_schema")


def test_jit_records_one_node_with_eager_loss_and_grads(names):
    names.append("dstest::jit_scale_add")
    op = _ds_scale_add("dstest::jit_scale_add")
    op.register_autograd(_backward_scale_add, setup_context=_setup_scale_add)

    def make():
        ds.manual_seed(0)
        return ds.randn(4, requires_grad=True), ds.randn(4, requires_grad=True)

    def loss_of(w, v, x):
        return (op(w * x, v, 1.5) ** 2).mean()

    w, v = make()
    eager = []
    for x in (ds.tensor([1.0, 2.0, 3.0, 4.0]), ds.tensor([0.5, -1.0, 2.0, 0.0])):
        loss = loss_of(w, v, x)
        loss.backward()
        eager.append((loss.item(), w.grad.numpy().copy(), v.grad.numpy().copy()))
        w.grad = v.grad = None
    w, v = make()

    @ds.jit
    def step(x):
        loss = loss_of(w, v, x)
        loss.backward()
        return loss

    for _ in range(2):  # the tracing run, then the compiled code
        for x, (want, gw, gv) in zip((ds.tensor([1.0, 2.0, 3.0, 4.0]),
                                      ds.tensor([0.5, -1.0, 2.0, 0.0])), eager):
            np.testing.assert_allclose(step(x).item(), want, rtol=1e-6)
            np.testing.assert_allclose(w.grad.numpy(), gw, rtol=1e-6, atol=1e-7)
            np.testing.assert_allclose(v.grad.numpy(), gv, rtol=1e-6, atol=1e-7)
            w.grad = v.grad = None
    assert step.graph.count("dstest::jit_scale_add(") == 1
    assert "sin(" not in step.graph.split("dstest::jit_scale_add(")[0]  # never looked inside


def test_library_define_and_impl_match_torch():
    lib = ds.library.Library("dstest_lib", "DEF")
    tlib = torch.library.Library("dstest_lib", "DEF")
    try:
        schema = "axpy(Tensor x, Tensor y, float alpha=1.0, *, bool negate=False) -> Tensor"
        assert lib.define(schema) == tlib.define(schema) == "axpy"

        def axpy(x, y, alpha=1.0, *, negate=False):
            out = x * alpha + y
            return -out if negate else out

        lib.impl("axpy", axpy, "CPU")
        tlib.impl("axpy", axpy, "CPU")
        op = library._lookup_op("dstest_lib::axpy")
        x, y = ds.tensor([1.0, 2.0]), ds.tensor([0.5, 0.5])
        for kwargs in ({}, {"alpha": 3}, {"alpha": 2.0, "negate": True}):
            _close(op(x, y, **kwargs), torch.ops.dstest_lib.axpy(
                torch.tensor([1.0, 2.0]), torch.tensor([0.5, 0.5]), **kwargs),
                f"dstest_lib::axpy {kwargs}")
        with pytest.raises(RuntimeError, match="register_autograd"):
            op(x.requires_grad_(), y).sum().backward()

        # a composition of differentiable ops needs no formula; "" means that key
        lib.define("softsign(Tensor x) -> Tensor")
        lib.impl("softsign", lambda x: x / (1 + x.abs()))
        soft = library._lookup_op("dstest_lib::softsign")
        z = ds.tensor([-2.0, 0.5], requires_grad=True)
        soft(z).sum().backward()
        np.testing.assert_allclose(z.grad.numpy(), 1 / (1 + np.abs([-2.0, 0.5])) ** 2)

        # an "Autograd" kernel handles autograd itself, calling the op below autograd
        class Twice(ds.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return twice(x)

            @staticmethod
            def backward(ctx, g):
                return 2 * g

        lib.define("twice(Tensor x) -> Tensor")
        lib.impl("twice", lambda x: x * 2, "CPU")
        lib.impl("twice", Twice.apply, "Autograd")
        twice = library._lookup_op("dstest_lib::twice")
        z = ds.tensor([1.0, 3.0], requires_grad=True)
        twice(z).sum().backward()
        np.testing.assert_array_equal(z.grad.numpy(), [2.0, 2.0])

        frag = ds.library.Library("dstest_lib", "FRAGMENT")
        frag.define("fill_(Tensor(a!) x, Scalar value) -> ()")

        def fill_(x, value):
            x.fill_(value)

        frag.impl("fill_", fill_, "CPU")
        t = ds.zeros(3)
        library._lookup_op("dstest_lib::fill_")(t, 7)
        assert t.tolist() == [7.0, 7.0, 7.0] and t._version == 1
        frag._destroy()
        assert "dstest_lib::fill_" not in REGISTRY
        with pytest.raises(RuntimeError, match="only a single DEF library"):
            ds.library.Library("dstest_lib", "DEF")
        with pytest.raises(RuntimeError, match="IMPL library"):
            ds.library.Library("dstest_lib", "IMPL").define("g(Tensor x) -> Tensor")
        with pytest.raises(ValueError, match="Unsupported kind"):
            ds.library.Library("dstest_lib", "BAD")
    finally:
        lib._destroy()
        del tlib
    assert "dstest_lib::axpy" not in REGISTRY
    ds.library.Library("dstest_lib", "DEF")._destroy()  # the namespace is free again


def test_schema_types_and_defaults():
    lib = ds.library.Library("dstest_schema", "DEF")
    try:
        lib.define('f(Tensor x, Tensor? bias, Tensor[] extra, SymInt n, int[2] stride=1, '
                   'float[] scales=[0.5, 2.0], str mode="sum", bool flag=False, '
                   'int? limit=None, ScalarType? dtype=None) -> Tensor')
        seen = {}

        def kernel(x, bias, extra, n, stride=(9, 9), scales=(), mode="", flag=True,
                   limit=0, dtype=0):
            seen.update(bias=bias, extra=len(extra), n=n, stride=stride, scales=scales,
                        mode=mode, flag=flag, limit=limit, dtype=dtype)
            out = x * n + sum(extra, ds.zeros_like(x))
            return out if bias is None else out + bias

        lib.impl("f", kernel, "CPU")
        f = library._lookup_op("dstest_schema::f")
        x = ds.ones(2)
        out = f(x, None, [x, x], True)  # a bool is an int, as torch takes it
        assert out.tolist() == [3.0, 3.0]
        assert seen == dict(bias=None, extra=2, n=1, stride=[1, 1], scales=[0.5, 2.0],
                            mode="sum", flag=False, limit=None, dtype=None)
        assert f(x, x, [], 2, stride=3).tolist() == [3.0, 3.0] and seen["stride"] == [3, 3]
        with pytest.raises(RuntimeError, match=r"\[dstest_schema::f\] expected a value of "
                                               r"type 'SymInt' for argument 'n'"):
            f(x, None, [], 2.5)
        with pytest.raises(RuntimeError, match="type 'Tensor\\[\\]' for argument 'extra'"):
            f(x, None, x, 2)
        for bad, why in [("g(Tensor x, tuple y) -> Tensor", "unknown type 'tuple'"),
                         ("g(Tensor(a) x) -> Tensor(a)", "views"),
                         ("g(Tensor x) -> (Tensor, Tensor)", "return one Tensor"),
                         ("g(Tensor?[] xs) -> Tensor", "lists of type"),
                         ("g.out(Tensor x) -> Tensor", "overload names"),
                         ("g(Tensor x, int n=1.5) -> Tensor", "does not fit its type 'int'"),
                         ("g(Tensor x) -> ()", "mutates nothing"),
                         ("g Tensor x", "expected 'name(arguments) -> returns'")]:
            with pytest.raises(RuntimeError, match=re.escape(why)) as info:
                lib.define(bad)
            assert repr(bad) in str(info.value) or bad in str(info.value)
    finally:
        lib._destroy()


def test_bad_definitions_and_kernels_name_the_op(names):
    names += ["dstest::dup", "dstest::alias", "dstest::numpy_out"]

    def ident(x: ds.Tensor) -> ds.Tensor:
        return x.clone()

    for bad in ("noNamespace", "a::b::c", "dstest::", "dstest::x.y"):
        with pytest.raises(ValueError, match="namespace::name"):
            ds.library.custom_op(bad, mutates_args=())(ident)
    ds.library.custom_op("dstest::dup", mutates_args=())(ident)
    with pytest.raises(RuntimeError, match=r"\[dstest::dup\].*same name"):
        ds.library.custom_op("dstest::dup", mutates_args=())(ident)
    with pytest.raises(ValueError, match=r"\[dstest::noann\].*type annotation"):
        ds.library.custom_op("dstest::noann", mutates_args=())(lambda x: x)
    with pytest.raises(ValueError, match="mutates_args"):
        ds.library.custom_op("dstest::mismatch", mutates_args=(),
                             schema="(Tensor(a!) x) -> ()")(ident)

    @ds.library.custom_op("dstest::alias", mutates_args=())
    def alias(x: ds.Tensor) -> ds.Tensor:
        return x[1:]

    @ds.library.custom_op("dstest::numpy_out", mutates_args=())
    def numpy_out(x: ds.Tensor) -> ds.Tensor:
        return x.numpy() * 2

    with pytest.raises(RuntimeError, match=r"\[dstest::alias\].*aliases an input"):
        alias(ds.ones(3))
    with pytest.raises(RuntimeError, match=r"\[dstest::numpy_out\].*returned ndarray"):
        numpy_out(ds.ones(3))
    assert "dstest::noann" not in REGISTRY and "dstest::mismatch" not in REGISTRY
