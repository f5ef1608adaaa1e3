"""Autograd against PyTorch: backward/grad arguments, higher-order gradients, hooks, grad
modes, graph inspection, version counters, autograd.Function, gradcheck and functional."""

from __future__ import annotations

import weakref

import numpy as np
import pytest
import torch

import deepseek as ds

RNG = np.random.default_rng(0)


def pair(*shape, dtype=np.float64, requires_grad=True):
    """The same random values as a deepseek and a torch leaf."""
    a = RNG.standard_normal(shape).astype(dtype)
    return (ds.tensor(a, requires_grad=requires_grad),
            torch.tensor(a, requires_grad=requires_grad))


def close(got, want, atol=1e-10, rtol=1e-7):
    assert got is not None and want is not None, (got, want)
    assert tuple(got.shape) == tuple(want.shape)
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), atol=atol, rtol=rtol)


# ---------------------------------------------------------------- backward
def test_backward_gradient_argument():
    x, xt = pair(2, 3)
    v = RNG.standard_normal((2, 3))
    (x * x).backward(gradient=ds.tensor(v))
    (xt * xt).backward(gradient=torch.tensor(v))
    close(x.grad, xt.grad)


def test_backward_accumulates_and_retain_graph():
    x, xt = pair(3)
    y, yt = (x.exp() * x).sum(), (xt.exp() * xt).sum()
    y.backward(retain_graph=True)
    y.backward()
    yt.backward(retain_graph=True)
    yt.backward()
    close(x.grad, xt.grad)


def test_backward_twice_without_retain_graph_raises():
    x, _ = pair(3)
    y = (x.exp() * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()


def test_backward_inputs_only_accumulates_those():
    (x, xt), (w, wt) = pair(3), pair(3)
    (x * w).sum().backward(inputs=[w])
    (xt * wt).sum().backward(inputs=[wt])
    assert x.grad is None and xt.grad is None
    close(w.grad, wt.grad)


@pytest.mark.filterwarnings("ignore:Using backward.. with create_graph")
def test_backward_create_graph_gives_differentiable_grad():
    x, xt = pair(3)
    (x ** 3).sum().backward(create_graph=True)
    (xt ** 3).sum().backward(create_graph=True)
    assert x.grad.requires_grad and xt.grad.requires_grad
    g, gt = x.grad, xt.grad
    x.grad, xt.grad = None, None
    g.sum().backward()
    gt.sum().backward()
    close(x.grad, xt.grad)


def test_nonscalar_backward_without_gradient_raises():
    x, _ = pair(2, 2)
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar"):
        (x * 2).backward()


def test_backward_of_tensor_without_grad_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        ds.ones(2).sum().backward()


# ---------------------------------------------------------------- autograd.grad
def test_grad_basic_and_no_accumulation():
    (x, xt), (w, wt) = pair(2, 3), pair(3, 4)
    (gx, gw) = ds.autograd.grad((x @ w).tanh().sum(), (x, w))
    (gxt, gwt) = torch.autograd.grad((xt @ wt).tanh().sum(), (xt, wt))
    close(gx, gxt)
    close(gw, gwt)
    assert x.grad is None and w.grad is None


def test_grad_outputs():
    x, xt = pair(4)
    v = RNG.standard_normal(4)
    (g,) = ds.autograd.grad(x.sin(), x, grad_outputs=ds.tensor(v))
    (gt,) = torch.autograd.grad(xt.sin(), xt, grad_outputs=torch.tensor(v))
    close(g, gt)


def test_grad_allow_unused_and_materialize():
    (x, _), (z, _) = pair(3), pair(3)
    y = (x * 2).sum()
    with pytest.raises(RuntimeError, match="allow_unused=True"):
        ds.autograd.grad(y, (x, z), retain_graph=True)
    gx, gz = ds.autograd.grad(y, (x, z), retain_graph=True, allow_unused=True)
    assert gz is None
    np.testing.assert_allclose(gx.numpy(), 2.0)
    _, gz = ds.autograd.grad(y, (x, z), materialize_grads=True)
    np.testing.assert_array_equal(gz.numpy(), np.zeros(3))


def test_grad_wrt_non_leaf():
    x, xt = pair(3)
    h, ht = x.exp(), xt.exp()
    (g,) = ds.autograd.grad((h * h).sum(), h)
    (gt,) = torch.autograd.grad((ht * ht).sum(), ht)
    close(g, gt)


@pytest.mark.parametrize("name", ["tanh", "exp", "pow", "matmul"])
def test_higher_order_derivatives(name):
    fns = {
        "tanh": lambda lib, x: lib.tanh(x),
        "exp": lambda lib, x: lib.exp(x * 0.5),
        "pow": lambda lib, x: x ** 3,
        "matmul": lambda lib, x: (x @ x) @ x,
    }
    shape = (3, 3) if name == "matmul" else (4,)
    x, xt = pair(*shape)
    y, yt = fns[name](ds, x).sum(), fns[name](torch, xt).sum()
    for _ in range(3):  # 1st, 2nd, 3rd derivatives (summed over outputs)
        (y,) = ds.autograd.grad(y, x, create_graph=True)
        (yt,) = torch.autograd.grad(yt, xt, create_graph=True)
        close(y, yt, atol=1e-9)
        y, yt = y.sum(), yt.sum()


# ---------------------------------------------------------------- leaf state
def test_requires_grad_and_leaves():
    x = ds.ones(2)
    assert not x.requires_grad and x.is_leaf
    assert x.requires_grad_() is x and x.requires_grad
    y = x * 2
    assert not y.is_leaf and y.requires_grad
    with pytest.raises(RuntimeError, match="only change requires_grad flags of leaf"):
        y.requires_grad = False
    with pytest.raises(RuntimeError, match="floating point"):
        ds.ones(2, dtype=ds.int64).requires_grad_()


def test_integer_results_are_not_differentiable():
    for lib in (ds, torch):
        x = lib.tensor([1.7, -2.2], requires_grad=True)
        casts = [x.int(), x.long(), x.bool(), x.to(lib.uint8), x.type(lib.int16)]
        assert [c.requires_grad for c in casts] == [False] * 5, lib.__name__
        assert all(c.grad_fn is None for c in casts), lib.__name__
        w = lib.tensor([3.0, 4.0], requires_grad=True)
        (w * x.int() + x).sum().backward()  # no gradient through the integer multiplier
        assert x.grad.tolist() == [1.0, 1.0] and w.grad.tolist() == [1.0, -2.0], lib.__name__


def test_detach_and_detach_():
    x, _ = pair(3)
    y = x * 2
    d = y.detach()
    assert d.is_leaf and not d.requires_grad
    d.zero_()  # shares storage with y
    np.testing.assert_array_equal(y.detach().numpy(), np.zeros(3))
    z = x * 3
    assert z.detach_() is z and z.grad_fn is None and not z.requires_grad


def test_retain_grad():
    x, xt = pair(3)
    h, ht = x * x, xt * xt
    h.retain_grad()
    ht.retain_grad()
    assert h.retains_grad
    (h.sin().sum()).backward()
    (ht.sin().sum()).backward()
    close(h.grad, ht.grad)


def test_hooks_leaf_and_non_leaf_modify_and_remove():
    x, xt = pair(3)
    seen = []
    handle = x.register_hook(lambda g: seen.append(g.numpy().copy()))
    x.register_hook(lambda g: g * 2)
    xt.register_hook(lambda g: g * 2)
    h, ht = x * 3, xt * 3
    h.register_hook(lambda g: g + 1)
    ht.register_hook(lambda g: g + 1)
    h.sum().backward()
    ht.sum().backward()
    close(x.grad, xt.grad)
    np.testing.assert_allclose(seen[0], np.full(3, 6.0))
    handle.remove()
    x.grad = None
    (x * 3).sum().backward()
    assert len(seen) == 1
    np.testing.assert_allclose(x.grad.numpy(), np.full(3, 6.0))


def test_hook_on_tensor_without_grad_raises():
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        ds.ones(2).register_hook(lambda g: g)


def test_grad_fn_names_and_next_functions():
    (x, xt), (w, wt) = pair(2, 2), pair(2, 2)
    y, yt = (x * w).sum(), (xt * wt).sum()
    assert y.grad_fn.name() == yt.grad_fn.name() == "SumBackward0"
    mm, mmt = y.grad_fn.next_functions[0][0], yt.grad_fn.next_functions[0][0]
    assert mm.name() == mmt.name()
    leaves = [f.name() for f, _ in mm.next_functions]
    assert leaves == ["AccumulateGrad"] * 2
    assert all(f.name().endswith("AccumulateGrad") for f, _ in mmt.next_functions)
    assert mm.next_functions[0][0].variable is x
    assert (x * ds.ones(2, 2)).grad_fn.next_functions[1][0] is None


# ---------------------------------------------------------------- grad modes
@pytest.mark.parametrize("mode", ["no_grad", "inference_mode", "set_grad_enabled"])
def test_grad_modes_as_context_and_decorator(mode):
    x, _ = pair(2)
    make = {"no_grad": ds.no_grad, "inference_mode": ds.inference_mode,
            "set_grad_enabled": lambda: ds.set_grad_enabled(False)}[mode]
    with make():
        assert not ds.is_grad_enabled()
        assert not (x * 2).requires_grad
        with ds.enable_grad():
            assert ds.is_grad_enabled() and (x * 2).requires_grad
    assert ds.is_grad_enabled()

    @make()
    def f(t):
        return t * 2, ds.is_grad_enabled()

    y, enabled = f(x)
    assert not enabled and not y.requires_grad and ds.is_grad_enabled()


def test_enable_grad_decorator_and_set_grad_enabled_call():
    @ds.enable_grad()
    def f(t):
        return t * 2

    x, _ = pair(2)
    with ds.no_grad():
        assert f(x).requires_grad
    ds.set_grad_enabled(False)
    assert not ds.is_grad_enabled()
    ds.set_grad_enabled(True)
    assert ds.is_grad_enabled()
    assert ds.is_inference_mode_enabled() is False
    with ds.inference_mode():
        assert ds.is_inference_mode_enabled()


# ---------------------------------------------------------------- version counters
def test_modified_saved_tensor_error_names_the_op():
    x, _ = pair(3)
    h = x * 1
    y = h.exp()  # saves its output
    z = (h * h).sum()  # saves h
    h.add_(1)
    with pytest.raises(RuntimeError, match=r"modified by an inplace operation.*MulBackward0"):
        z.backward()
    y.add_(1)  # exp saved its output, now modified
    with pytest.raises(RuntimeError, match="ExpBackward0"):
        y.sum().backward()


def test_leaf_inplace_error():
    x, _ = pair(3)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x.add_(1)
    with ds.no_grad():
        x.add_(1)  # allowed without grad recording


def test_inplace_on_non_leaf_matches_torch():
    x, xt = pair(3)
    h, ht = x * 2, xt * 2
    h.mul_(3).exp_()
    ht.mul_(3).exp_()
    h.sum().backward()
    ht.sum().backward()
    close(x.grad, xt.grad)
    assert h._version == ht._version


# ---------------------------------------------------------------- autograd.Function
class Cube(ds.autograd.Function):
    @staticmethod
    def forward(ctx, x, scale):
        ctx.save_for_backward(x)
        ctx.scale = scale
        return x ** 3 * scale

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 3 * x ** 2 * ctx.scale * g, None


def test_function_forward_backward_and_graph():
    x, xt = pair(3)
    y = Cube.apply(x, 2.0)
    assert y.grad_fn.name() == "CubeBackward"
    assert y.grad_fn.next_functions[0][0].variable is x
    y.sum().backward()
    (xt ** 3 * 2.0).sum().backward()
    close(x.grad, xt.grad)


def test_engine_lets_go_of_a_finished_nodes_gradients():
    """A gradient the engine copied into ``.grad`` (a transposed view is copied) is not kept
    alive by the engine while later nodes' vjps run: they may be a recomputed block's."""
    made: list = []
    alive: list = []

    class Late(ds.autograd.Function):  # runs first in backward
        @staticmethod
        def forward(ctx, x, w):
            return x @ w

        @staticmethod
        def backward(ctx, g):
            gw = ds.ones(3, 2)
            made.append(weakref.ref(gw._data))
            return g @ ds.ones(3, 2), gw.t()

    class Early(ds.autograd.Function):  # runs after Late's gradients were delivered
        @staticmethod
        def forward(ctx, x):
            return x * 1.0

        @staticmethod
        def backward(ctx, g):
            alive.append(made[0]() is not None)
            return g

    x = ds.ones(2, 2, requires_grad=True)
    w = ds.ones(2, 3, requires_grad=True)
    Late.apply(Early.apply(x), w).sum().backward()
    assert alive == [False]
    np.testing.assert_array_equal(w.grad.numpy(), np.ones((2, 3)))


def test_function_double_backward_and_gradcheck():
    x, xt = pair(3)
    (g,) = ds.autograd.grad(Cube.apply(x, 1.5).sum(), x, create_graph=True)
    (gg,) = ds.autograd.grad(g.sum(), x)
    close(gg, 6 * 1.5 * xt)
    assert ds.autograd.gradcheck(lambda t: Cube.apply(t, 1.5), (x,))
    assert ds.autograd.gradgradcheck(lambda t: Cube.apply(t, 1.5), (x,))


def test_function_needs_input_grad_and_no_record():
    seen = {}

    class Mul(ds.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            seen["needs"] = ctx.needs_input_grad
            seen["grad_mode"] = ds.is_grad_enabled()
            ctx.save_for_backward(a, b)
            return a * b

        @staticmethod
        def backward(ctx, g):
            a, b = ctx.saved_tensors
            return (g * b if ctx.needs_input_grad[0] else None,
                    g * a if ctx.needs_input_grad[1] else None)

    (a, _), (b, _) = pair(2), pair(2, requires_grad=False)
    out = Mul.apply(a, b)
    assert seen == {"needs": (True, False), "grad_mode": False}
    out.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), b.numpy())
    c = Mul.apply(b, b)
    assert c.grad_fn is None and not c.requires_grad and seen["needs"] == (False, False)


def test_function_multiple_outputs_and_materialize_grads():
    calls = []

    class SinCos(ds.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x.sin(), x.cos()

        @staticmethod
        def backward(ctx, gs, gc):
            calls.append((gs, gc))
            (x,) = ctx.saved_tensors
            return gs * x.cos() - gc * x.sin()

    x, xt = pair(3)
    s, c = SinCos.apply(x)
    (s * 2 + c * 3).sum().backward()
    (xt.sin() * 2 + xt.cos() * 3).sum().backward()
    close(x.grad, xt.grad)
    x.grad = None
    s, _ = SinCos.apply(x)
    s.sum().backward()  # the unused output's gradient is materialized as zeros
    np.testing.assert_array_equal(calls[-1][1].numpy(), np.zeros(3))
    close(x.grad, xt.cos())


def test_function_set_materialize_grads_false():
    class Two(ds.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(False)
            return x * 1, x * 2

        @staticmethod
        def backward(ctx, g1, g2):
            assert g2 is None
            return g1

    x, _ = pair(2)
    a, _ = Two.apply(x)
    a.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 1.0)


def test_function_mark_non_differentiable_and_dirty():
    class SortLike(ds.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            idx = ds.argsort(x) if hasattr(ds, "argsort") else ds.argmax(x).reshape(1)
            y = x * 1
            ctx.mark_non_differentiable(idx)
            return y, idx

        @staticmethod
        def backward(ctx, g, gi):
            return g

    x, _ = pair(3)
    y, idx = SortLike.apply(x)
    assert y.requires_grad and not idx.requires_grad

    class AddOne(ds.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            x.add_(1)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, g):
            return g

    h = x * 1
    out = AddOne.apply(h)
    assert out is h and h.grad_fn.name() == "AddOneBackward"
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 1.0)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        AddOne.apply(x)


def test_function_saved_tensor_version_check_and_freed():
    x, _ = pair(3)
    h = x * 1
    y = Cube.apply(h, 1.0)
    h.add_(1)
    with pytest.raises(RuntimeError, match="CubeBackward"):
        y.sum().backward()
    z = Cube.apply(x, 1.0)
    z.sum().backward()
    with pytest.raises(RuntimeError, match="second time"):
        _ = z.grad_fn.attrs["ctx"].saved_tensors


def test_function_wrong_gradient_count_and_shape():
    class Bad(ds.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            return x + y

        @staticmethod
        def backward(ctx, g):
            return g

    class BadShape(ds.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1

        @staticmethod
        def backward(ctx, g):
            return ds.ones(5, dtype=ds.float64)

    x, _ = pair(3)
    with pytest.raises(RuntimeError, match="incorrect number of gradients"):
        Bad.apply(x, x).sum().backward()
    with pytest.raises(RuntimeError, match="invalid gradient at index 0"):
        BadShape.apply(x).sum().backward()


def test_function_setup_context_style():
    class Square(ds.autograd.Function):
        @staticmethod
        def forward(x):
            return x * x

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(inputs[0])

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g

    x, xt = pair(3)
    Square.apply(x).sum().backward()
    close(x.grad, 2 * xt)


def test_once_differentiable():
    class Twice(ds.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        @ds.autograd.once_differentiable
        def backward(ctx, g):
            assert not ds.is_grad_enabled()
            return g * 2

    x, _ = pair(2)
    Twice.apply(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2.0)
    (g,) = ds.autograd.grad((Twice.apply(x) ** 2).sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match="once_differentiable"):
        g.sum().backward()


# ---------------------------------------------------------------- gradcheck and functional
def test_gradcheck_detects_wrong_gradient():
    class Wrong(ds.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * x

        @staticmethod
        def backward(ctx, g):
            return g  # should be 2 x g

    x, _ = pair(3)
    assert ds.autograd.gradcheck(lambda a, b: (a @ b).tanh(), (pair(2, 3)[0], pair(3, 2)[0]))
    assert not ds.autograd.gradcheck(Wrong.apply, (x,), raise_exception=False)
    with pytest.raises(ds.autograd.GradcheckError, match="Jacobian mismatch"):
        ds.autograd.gradcheck(Wrong.apply, (x,), eps=1e-6, atol=1e-5, rtol=1e-3)
    assert ds.autograd.gradgradcheck(lambda a: (a * a.sin()).sum(), (x,))


def test_functional_jacobian_hessian_vjp_jvp():
    from deepseek.autograd import functional as F

    (x, xt), (w, wt) = pair(3), pair(2, 3)

    def f(lib):
        return lambda a, b: lib.tanh(b @ a)

    jac = F.jacobian(f(ds), (x, w))
    jact = torch.autograd.functional.jacobian(f(torch), (xt, wt))
    for a, b in zip(jac, jact):
        close(a, b)
    close(F.hessian(lambda a: (a.exp() * a).sum(), x),
          torch.autograd.functional.hessian(lambda a: (a.exp() * a).sum(), xt))
    v = RNG.standard_normal(2)
    out, g = F.vjp(lambda a: f(ds)(a, w), x, ds.tensor(v))
    outt, gt = torch.autograd.functional.vjp(lambda a: f(torch)(a, wt), xt, torch.tensor(v))
    close(out, outt)
    close(g, gt)
    u = RNG.standard_normal(3)
    _, jv = F.jvp(lambda a: f(ds)(a, w), x, ds.tensor(u))
    _, jvt = torch.autograd.functional.jvp(lambda a: f(torch)(a, wt), xt, torch.tensor(u))
    close(jv, jvt)


@pytest.mark.parametrize("name", ["hvp", "vhp"])
def test_functional_hvp_vhp_match_torch(name):
    a, b, u, w = (RNG.standard_normal(3) for _ in range(4))

    def run(lib, create_graph):
        fn = getattr(lib.autograd.functional, name)
        x, y = (lib.tensor(t, requires_grad=True) for t in (a, b))
        f = (lambda p, q: (p.sin() * q * q).sum() + (p * q).exp().sum())  # non-trivial cross terms
        out, (hx, hy) = fn(f, (x, y), (lib.tensor(u), lib.tensor(w)), create_graph=create_graph)
        single = fn(lambda p: (p ** 3).prod(), x, lib.tensor(u))[1]
        graded = hx.sum() + hy.sum()
        extra = lib.autograd.grad(graded, x)[0].numpy() if create_graph else None
        return out.detach().numpy(), hx.detach().numpy(), hy.detach().numpy(), single.numpy(), \
            extra, out.requires_grad

    for create_graph in (False, True):
        ours, theirs = run(ds, create_graph), run(torch, create_graph)
        for o, t in zip(ours[:5], theirs[:5]):
            if t is not None:
                np.testing.assert_allclose(o, t, rtol=1e-10, atol=1e-12)
        assert ours[5] == theirs[5]
    fn = getattr(ds.autograd.functional, name)
    x = ds.randn(3, dtype=ds.float64)
    for bad, v, match, kw in [(lambda p: p ** 2, ds.ones(3), "should contain a single", {}),
                              (lambda p: p.sum(), None, "can only be None", {}),
                              (lambda p: p.sum(), ds.ones(2), "invalid size", {}),
                              (lambda p: ds.tensor(1.0), ds.ones(3), "strict mode",
                               {"strict": True})]:
        with pytest.raises(RuntimeError, match=match):
            fn(bad, x, v, **kw)
    assert fn(lambda p: p.sum() * 0 + 1.0, x, ds.ones(3))[1].tolist() == [0.0, 0.0, 0.0]


def test_grad_runs_only_the_part_of_the_graph_that_leads_to_inputs():
    """autograd.grad and backward(inputs=) run the vjps (and fire the hooks) of the nodes with
    a path to an input, as torch does; the rest of the graph is left alone."""
    for lib in (ds, torch):
        fired = []
        w = lib.ones(2, requires_grad=True)
        v = lib.ones(2, requires_grad=True)
        w.register_hook(lambda g, f=fired: f.append("w"))
        v.register_hook(lambda g, f=fired: f.append("v"))
        h = w * 2
        h.register_hook(lambda g, f=fired: f.append("h"))
        u = (w * 3).exp()
        u.register_hook(lambda g, f=fired: f.append("u"))
        out = (h * v).sum() + u.sum()
        (gh,) = lib.autograd.grad(out, h, retain_graph=True)
        assert fired == ["h"] and gh.tolist() == [1.0, 1.0], lib
        fired.clear()
        gw, gv = lib.autograd.grad(out, (w, v), retain_graph=True)
        assert sorted(fired) == ["h", "u", "v", "w"], (lib, fired)
        fired.clear()
        out.backward(inputs=[v])
        assert fired == ["v"] and w.grad is None and v.grad.tolist() == [2.0, 2.0], lib


def test_leaf_hook_sees_the_summed_gradient_once():
    """A leaf used twice gets its hook called once, on the sum (a nonlinear hook shows it)."""
    grads = []
    for lib in (ds, torch):
        calls = []
        w = lib.tensor([0.5, -2.0], requires_grad=True)
        w.register_hook(lambda g, c=calls: c.append(1) or g.clamp(-1, 1))
        (w * 3 + w * w).sum().backward()
        assert len(calls) == 1, lib
        grads.append(w.grad.tolist())
    assert grads[0] == grads[1]


def test_detect_anomaly_names_the_node_that_returned_nan_and_its_forward_stack():
    messages = []
    for lib in (ds, torch):
        x = lib.tensor([0.0, 1.0], requires_grad=True)
        with pytest.warns(UserWarning, match="Anomaly Detection has been enabled"):
            mode = lib.autograd.detect_anomaly()
        with mode:
            assert lib.is_anomaly_enabled()
            loss = (x.sqrt() * lib.tensor([float("nan"), 1.0])).sum()  # the line to report
            with pytest.warns(UserWarning, match="Error detected in MulBackward0") as seen:
                with pytest.raises(RuntimeError) as error:
                    loss.backward()
            messages.append(str(error.value))
            if lib is ds:
                assert any("the line to report" in str(w.message) for w in seen)
        assert not lib.is_anomaly_enabled()
    assert messages[0] == messages[1]
    assert messages[0] == "Function 'MulBackward0' returned nan values in its 0th output."
    x = ds.tensor([0.0], requires_grad=True)
    with ds.autograd.set_detect_anomaly(True, check_nan=False):
        assert ds.is_anomaly_enabled() and not ds.is_anomaly_check_nan_enabled()
        (x.sqrt() * float("nan")).sum().backward()  # NaN allowed without check_nan
    assert not ds.is_anomaly_enabled() and ds.is_anomaly_check_nan_enabled()


def test_grad_mode_is_per_thread_like_torch():
    import threading

    import torch

    for lib in (ds, torch):
        seen = []
        with lib.no_grad():
            worker = threading.Thread(target=lambda lib=lib, seen=seen: seen.append(
                lib.is_grad_enabled()))
            worker.start()
            worker.join()
            seen.append(lib.is_grad_enabled())
        assert seen == [True, False], lib.__name__


def test_function_backward_gets_one_gradient_per_output_as_torch():
    def run(lib, materialize):
        seen = []

        class Sort(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.set_materialize_grads(materialize)
                v, i = lib.sort(x)
                ctx.mark_non_differentiable(i)
                ctx.save_for_backward(i)
                return v, i, 3, x * 2

            @staticmethod
            def backward(ctx, gv, gi, g3, gx2):
                seen.extend(None if g is None else (g.tolist(), str(g.dtype).split(".")[-1])
                            for g in (gv, gi, g3, gx2))
                (i,) = ctx.saved_tensors
                return lib.zeros_like(gv).scatter_(-1, i, gv) + (0 if gx2 is None else 2 * gx2)

        x = lib.tensor([3.0, 1.0, 2.0], requires_grad=True)
        v, i, k, _ = Sort.apply(x)
        assert not i.requires_grad and k == 3
        (v * lib.tensor([1.0, 2.0, 3.0])).sum().backward()
        return seen, x.grad.tolist()

    for materialize in (True, False):
        assert run(ds, materialize) == run(torch, materialize)
