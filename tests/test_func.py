"""deepseek.func against torch.func: grad, vjp, jvp, Jacobians, Hessians, vmap, functional_call
and model ensembling, on the same inputs, plus the transforms' error messages."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.func as tfunc

import deepseek as ds
import deepseek.func as dfunc
from deepseek.func._pytree import broadcast_prefix, tree_flatten, tree_unflatten

TOL = {"float64": (1e-10, 1e-7), "float32": (1e-5, 1.3e-5)}
RNG = np.random.default_rng(0)


def pair(*shape: int, dtype: str = "float64") -> tuple:
    a = RNG.standard_normal(shape).astype(dtype)
    return ds.tensor(a), torch.tensor(a)


def close(got, want, what: str = "") -> None:
    """Shape, then dtype, then values of two pytrees of tensors."""
    if isinstance(want, (tuple, list)):
        assert type(got) is type(want) and len(got) == len(want), (what, got, want)
        for i, (g, w) in enumerate(zip(got, want)):
            close(g, w, f"{what}[{i}]")
        return
    if isinstance(want, dict):
        assert isinstance(got, dict) and set(got) == set(want), (what, got, want)
        for k in want:
            close(got[k], want[k], f"{what}[{k!r}]")
        return
    assert isinstance(got, ds.Tensor), (what, type(got))
    assert tuple(got.shape) == tuple(want.shape), (what, got.shape, want.shape)
    name = str(want.dtype).replace("torch.", "")
    assert got.dtype.name == name, (what, got.dtype, want.dtype)
    rtol, atol = TOL.get(name, (0, 0))
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=rtol, atol=atol,
                               err_msg=f"{what} (rtol={rtol}, atol={atol})")


def f_scalar(x):
    return (x.sin() * x + x.exp() * 0.1).sum()


def f_two(x, w):
    return ((w @ x).tanh() * x.sum()).sum()


def f_vec(x, w):
    return (w @ x).tanh(), x * x


# ---------------------------------------------------------------- pytree helper
def test_pytree_roundtrip_and_prefix():
    tree = {"a": (1, [2, 3]), "b": None}
    leaves, spec = tree_flatten(tree)
    assert leaves == [1, 2, 3, None]
    assert tree_unflatten([4, 5, 6, 7], spec) == {"a": (4, [5, 6]), "b": 7}
    assert broadcast_prefix({"b": 1, "a": 0}, tree) == [0, 0, 0, 1]
    assert broadcast_prefix(({"a": 0},), ({"a": [1, 2]},)) == [0, 0]
    assert broadcast_prefix((0, 1), [1, 2]) is None  # a tuple is not a list
    assert broadcast_prefix({"a": 0}, tree) is None


# ---------------------------------------------------------------- grad
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_grad_matches_torch(dtype):
    (x, xt), (w, wt) = pair(3, dtype=dtype), pair(2, 3, dtype=dtype)
    close(dfunc.grad(f_scalar)(x), tfunc.grad(f_scalar)(xt), "grad")
    close(dfunc.grad(f_two, argnums=1)(x, w), tfunc.grad(f_two, argnums=1)(xt, wt), "argnums=1")
    close(dfunc.grad(f_two, argnums=-1)(x, w), tfunc.grad(f_two, argnums=-1)(xt, wt), "-1")
    close(dfunc.grad(f_two, argnums=(0, 1))(x, w), tfunc.grad(f_two, argnums=(0, 1))(xt, wt),
          "argnums=(0, 1)")


def test_grad_pytree_inputs_kwargs_and_aux():
    (x, xt), (w, wt) = pair(3), pair(2, 3)

    def f(params, scale=1.0, extra=()):
        out = (params["w"] @ params["xs"][0]).sin().sum() * scale + params["xs"][1].sum()
        return out, {"out": out, **dict(extra)}

    g, aux = dfunc.grad(f, has_aux=True)({"w": w, "xs": [x, x * 2]}, scale=2.0,
                                          extra={"n": 3})  # torch refuses non-tensor aux
    gt, auxt = tfunc.grad(f, has_aux=True)({"w": wt, "xs": [xt, xt * 2]}, scale=2.0)
    close(g, gt, "grad")
    close(aux["out"], auxt["out"], "aux")
    assert aux["n"] == 3 and not aux["out"].requires_grad
    (g, (v, a)) = dfunc.grad_and_value(f, has_aux=True)({"w": w, "xs": [x, x]})
    (gt, (vt, at)) = tfunc.grad_and_value(f, has_aux=True)({"w": wt, "xs": [xt, xt]})
    close(g, gt, "grad_and_value grad")
    close(v, vt, "grad_and_value value")
    close(a["out"], at["out"], "grad_and_value aux")


def test_grad_of_unused_input_is_zero_and_results_are_plain():
    x, xt = pair(3)
    g = dfunc.grad(lambda a, b: b.sum(), argnums=(0, 1))(x, x)
    close(g, tfunc.grad(lambda a, b: b.sum(), argnums=(0, 1))(xt, xt))
    assert not dfunc.grad(f_scalar)(x).requires_grad
    g, v = dfunc.grad_and_value(f_scalar)(x)
    assert not g.requires_grad and not v.requires_grad


def test_grad_stays_differentiable_for_outer_autograd():
    x, xt = pair(3)
    x.requires_grad_(True)
    xt.requires_grad_(True)
    w, wt = pair(3)
    g = dfunc.grad(lambda a: (a ** 3 * w).sum())(x)
    gt = tfunc.grad(lambda a: (a ** 3 * wt).sum())(xt)
    assert g.requires_grad
    (g * g).sum().backward()
    (gt * gt).sum().backward()
    close(x.grad, xt.grad, "outer backward through grad")
    with ds.no_grad():
        assert not dfunc.grad(lambda a: (a ** 3).sum())(x).requires_grad


def test_grad_closure_over_tensor_requiring_grad():
    (x, xt), (w, wt) = pair(3), pair(3)
    w.requires_grad_(True)
    wt.requires_grad_(True)
    dfunc.grad(lambda a: (a.sin() * w).sum())(x).pow(2).sum().backward()
    tfunc.grad(lambda a: (a.sin() * wt).sum())(xt).pow(2).sum().backward()
    close(w.grad, wt.grad, "grad of closed-over tensor")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_composition_matches_torch(dtype):
    (x, xt), (w, wt) = pair(3, dtype=dtype), pair(2, 3, dtype=dtype)
    s, st = ds.tensor(0.7, dtype=getattr(ds, dtype)), torch.tensor(0.7, dtype=getattr(torch, dtype))
    close(dfunc.grad(dfunc.grad(lambda a: a.sin() * a.exp()))(s),
          tfunc.grad(tfunc.grad(lambda a: a.sin() * a.exp()))(st), "grad(grad)")
    close(dfunc.grad(dfunc.grad(dfunc.grad(lambda a: a.sin() * a)))(s),
          tfunc.grad(tfunc.grad(tfunc.grad(lambda a: a.sin() * a)))(st), "grad(grad(grad))")
    close(dfunc.jacrev(dfunc.jacrev(f_scalar))(x), tfunc.jacrev(tfunc.jacrev(f_scalar))(xt),
          "jacrev(jacrev)")
    close(dfunc.jacfwd(dfunc.jacrev(f_scalar))(x), tfunc.jacfwd(tfunc.jacrev(f_scalar))(xt),
          "jacfwd(jacrev)")
    close(dfunc.hessian(f_two, argnums=(0, 1))(x, w), tfunc.hessian(f_two, argnums=(0, 1))(xt, wt),
          "hessian argnums=(0, 1)")
    close(dfunc.jacrev(dfunc.grad(f_two), argnums=1)(x, w),
          tfunc.jacrev(tfunc.grad(f_two), argnums=1)(xt, wt), "jacrev(grad) mixed")


def test_grad_nested_closure_no_perturbation_confusion():
    # d/dx [x * d/dy (x * y)] = d/dx x^2 = 2x
    x, xt = ds.tensor(1.5, dtype=ds.float64), torch.tensor(1.5, dtype=torch.float64)
    y, yt = ds.tensor(0.3, dtype=ds.float64), torch.tensor(0.3, dtype=torch.float64)
    got = dfunc.grad(lambda a: a * dfunc.grad(lambda b: a * b)(y))(x)
    want = tfunc.grad(lambda a: a * tfunc.grad(lambda b: a * b)(yt))(xt)
    close(got, want)


def test_vmap_grad_and_grad_vmap():
    (xs, xst), (w, wt) = pair(5, 3), pair(2, 3)
    close(dfunc.vmap(dfunc.grad(f_two), in_dims=(0, None))(xs, w),
          tfunc.vmap(tfunc.grad(f_two), in_dims=(0, None))(xst, wt), "vmap(grad) per-sample")
    close(dfunc.grad(lambda a: dfunc.vmap(f_scalar)(a).sum())(xs),
          tfunc.grad(lambda a: tfunc.vmap(f_scalar)(a).sum())(xst), "grad(vmap)")
    close(dfunc.vmap(dfunc.hessian(f_scalar))(xs), tfunc.vmap(tfunc.hessian(f_scalar))(xst),
          "vmap(hessian)")
    close(dfunc.vmap(dfunc.jacrev(f_vec), in_dims=(0, None))(xs, w),
          tfunc.vmap(tfunc.jacrev(f_vec), in_dims=(0, None))(xst, wt), "vmap(jacrev)")


# ---------------------------------------------------------------- vjp, jvp, linearize
def test_vjp_matches_torch():
    (x, xt), (w, wt) = pair(3), pair(2, 3)
    (u, ut), (v, vt) = pair(2), pair(3)
    out, fn = dfunc.vjp(f_vec, x, w)
    outt, fnt = tfunc.vjp(f_vec, xt, wt)
    close(out, outt, "vjp output")
    close(fn((u, v)), fnt((ut, vt)), "vjp_fn")
    close(fn((v[:2], u.sum() * v)), fnt((vt[:2], ut.sum() * vt)), "vjp_fn called twice")
    assert not out[0].requires_grad
    out, fn, aux = dfunc.vjp(lambda a: (a.exp(), a.sum()), x, has_aux=True)
    outt, fnt, auxt = tfunc.vjp(lambda a: (a.exp(), a.sum()), xt, has_aux=True)
    close(fn(v), fnt(vt), "vjp has_aux")
    close(aux, auxt, "vjp aux")


@pytest.mark.filterwarnings("ignore::UserWarning")  # torch.func.linearize's own fx warning
def test_jvp_and_linearize_match_torch():
    (x, xt), (w, wt) = pair(3), pair(2, 3)
    (tx, txt), (tw, twt) = pair(3), pair(2, 3)
    close(dfunc.jvp(f_vec, (x, w), (tx, tw)), tfunc.jvp(f_vec, (xt, wt), (txt, twt)), "jvp")
    got = dfunc.jvp(lambda d: d["a"].sin() * d["b"], ({"a": x, "b": x},), ({"a": tx, "b": x},))
    want = tfunc.jvp(lambda d: d["a"].sin() * d["b"], ({"a": xt, "b": xt},),
                     ({"a": txt, "b": xt},))
    close(got, want, "jvp pytree primals")
    out, jv, aux = dfunc.jvp(lambda a: (a.exp(), a * 2), (x,), (tx,), has_aux=True)
    outt, jvt, auxt = tfunc.jvp(lambda a: (a.exp(), a * 2), (xt,), (txt,), has_aux=True)
    close((out, jv, aux), (outt, jvt, auxt), "jvp has_aux")
    out, fn = dfunc.linearize(f_vec, x, w)
    outt, fnt = tfunc.linearize(f_vec, xt, wt)
    close(out, outt, "linearize output")
    close(fn(tx, tw), fnt(txt, twt), "linearize jvp_fn")
    close(fn(x, tw * 0), fnt(xt, twt * 0), "linearize jvp_fn again")


def test_jvp_inside_grad():
    # d/dx of a directional derivative: forward-over-reverse pieces composed by hand
    (x, xt), (t, tt) = pair(3), pair(3)
    got = dfunc.grad(lambda a: dfunc.jvp(f_scalar, (a,), (t,))[1])(x)
    want = tfunc.grad(lambda a: tfunc.jvp(f_scalar, (a,), (tt,))[1])(xt)
    close(got, want)


# ---------------------------------------------------------------- jacrev, jacfwd, hessian
@pytest.mark.parametrize("jac", ["jacrev", "jacfwd"])
def test_jacobians_match_torch(jac):
    mine, theirs = getattr(dfunc, jac), getattr(tfunc, jac)
    (x, xt), (w, wt) = pair(3), pair(2, 3)
    close(mine(f_vec)(x, w), theirs(f_vec)(xt, wt), "argnums=0")
    close(mine(f_vec, argnums=(0, 1))(x, w), theirs(f_vec, argnums=(0, 1))(xt, wt), "(0, 1)")

    def g(d):
        return {"y": d["a"] * d["b"].sum(), "z": d["a"].sum()}, d["a"] * 3

    j, aux = mine(g, has_aux=True)({"a": x, "b": w})
    jt, auxt = theirs(g, has_aux=True)({"a": xt, "b": wt})
    close(j, jt, "pytree in and out")
    close(aux, auxt, "aux")
    close(mine(lambda a: a.sum() * 0 + 1.0)(x), theirs(lambda a: a.sum() * 0 + 1.0)(xt), "const")
    close(mine(lambda a: w)(x), theirs(lambda a: wt)(xt), "independent output")


def test_hessian_matches_torch_and_jacrev_chunk_size():
    (x, xt), (w, wt) = pair(4), pair(2, 4)
    close(dfunc.hessian(f_scalar)(x), tfunc.hessian(f_scalar)(xt), "hessian")
    close(dfunc.hessian(f_two, argnums=1)(x, w), tfunc.hessian(f_two, argnums=1)(xt, wt), "w")
    close(dfunc.jacrev(f_vec, chunk_size=2)(x, w), tfunc.jacrev(f_vec, chunk_size=2)(xt, wt))


def test_jacfwd_randomness():
    x = ds.randn(3)
    with pytest.raises(RuntimeError, match="called random operation while in randomness error"):
        dfunc.jacfwd(lambda a: a + ds.rand(3))(x)
    close(dfunc.jacfwd(lambda a: a * ds.rand(()) * 0 + a, randomness="same")(x.double()),
          torch.eye(3, dtype=torch.float64))
    with pytest.raises(RuntimeError, match="Only allowed values for randomness"):
        dfunc.jacfwd(lambda a: a, randomness="bad")


# ---------------------------------------------------------------- vmap
def test_vmap_in_dims_out_dims_match_torch():
    (a, at), (b, bt), (c, ct) = pair(4, 3), pair(3, 4), pair(3)
    cases = [
        (lambda p, q: p * q, (0, None), 0, (a, c), (at, ct)),
        (lambda p, q: p * q, (0, 1), 0, (a, b), (at, bt)),
        (lambda p, q: p * q, (-2, -1), 1, (a, b), (at, bt)),
        (lambda p, q: p.sum() + q, (1, None), -1, (b, c), (bt, ct)),
        (lambda p: (p.exp(), p.sum()), 0, (1, 0), (a,), (at,)),
        (lambda p: {"e": p.exp(), "s": [p.sum()]}, 0, {"e": 1, "s": [0]}, (a,), (at,)),
        (lambda p: p, 1, (1,), (a,), (at,)),
        (lambda d, q: d["x"] @ d["y"] + q, ({"x": 0, "y": None}, None), 0,
         ({"x": a, "y": b}, c[:1]), ({"x": at, "y": bt}, ct[:1])),
        (lambda lst: lst[0] * lst[1], ([0, 1],), 0, ([a, b],), ([at, bt],)),
    ]
    for i, (f, in_dims, out_dims, args, targs) in enumerate(cases):
        close(dfunc.vmap(f, in_dims, out_dims)(*args), tfunc.vmap(f, in_dims, out_dims)(*targs),
              f"case {i}")


def test_vmap_nested_kwargs_none_out_and_chunks():
    (a, at), (w, wt) = pair(2, 5, 3), pair(3)
    close(dfunc.vmap(dfunc.vmap(lambda r, w: r @ w, in_dims=(0, None)), in_dims=(0, None))(a, w),
          tfunc.vmap(tfunc.vmap(lambda r, w: r @ w, in_dims=(0, None)), in_dims=(0, None))(at, wt),
          "vmap(vmap)")
    close(dfunc.vmap(lambda r, *, scale: r * scale)(a, scale=w),
          tfunc.vmap(lambda r, *, scale: r * scale)(at, scale=wt), "unmapped kwargs")
    out, const = dfunc.vmap(lambda r: (r.sum(), w), out_dims=(0, None))(a)
    outt, constt = tfunc.vmap(lambda r: (r.sum(), wt), out_dims=(0, None))(at)
    close((out, const), (outt, constt), "out_dims None")
    assert dfunc.vmap(lambda r: (r, 3), out_dims=(0, None))(a)[1] == 3
    for chunk in (1, 2, 5):
        close(dfunc.vmap(lambda r: r.sin(), chunk_size=chunk)(a),
              tfunc.vmap(lambda r: r.sin(), chunk_size=chunk)(at), f"chunk_size={chunk}")
    close(dfunc.vmap(lambda r: r.sum(0))(ds.zeros(0, 3)), torch.zeros(0))


def test_vmap_randomness_modes():
    x = ds.zeros(4, 3)
    with pytest.raises(RuntimeError, match="called random operation while in randomness error"):
        dfunc.vmap(lambda r: r + ds.rand(3))(x)
    ds.manual_seed(0)
    diff = dfunc.vmap(lambda r: r + ds.rand(3), randomness="different")(x)
    assert not np.allclose(diff[0].numpy(), diff[1].numpy())
    ds.manual_seed(0)
    same = dfunc.vmap(lambda r: r + ds.rand(3), randomness="same")(x)
    for row in same:
        np.testing.assert_array_equal(row.numpy(), same[0].numpy())
    after = ds.rand(3)
    ds.manual_seed(0)
    first = ds.rand(3)
    np.testing.assert_array_equal(same[0].numpy(), first.numpy())
    np.testing.assert_array_equal(after.numpy(), ds.rand(3).numpy())  # advanced once
    with pytest.raises(RuntimeError, match="Only allowed values for randomness are 'error', "
                                           "'different', or 'same'. Got x"):
        dfunc.vmap(lambda r: r, randomness="x")


def test_vmap_errors():
    x, y = ds.randn(2, 3), ds.randn(3, 3)

    def f(p, q):
        return p + q

    cases = [
        (lambda: dfunc.vmap(f)(x, y), ValueError,
         r"vmap: Expected all tensors to have the same size in the mapped dimension, got sizes "
         r"\[2, 3\]"),
        (lambda: dfunc.vmap(f, in_dims=[0, 0])(x, x), ValueError,
         r"vmap\(f, in_dims=\[0, 0\], \.\.\.\)\(<inputs>\): expected `in_dims` to be int or a "
         r"\(potentially nested\) tuple"),
        (lambda: dfunc.vmap(f, in_dims=(0,))(x, x), ValueError,
         "in_dims is not compatible with the structure of `inputs`"),
        (lambda: dfunc.vmap(f, in_dims=(0, 2))(x, x), ValueError,
         r"Got in_dim=2 for some input, but that input is a Tensor of dimensionality 2 so "
         r"expected in_dim to satisfy -2 <= in_dim < 2"),
        (lambda: dfunc.vmap(f, in_dims=(0, 1.0))(x, x), ValueError,
         "in_dim must be either an integer dimension or None"),
        (lambda: dfunc.vmap(f, in_dims=(0, 0))(x, 3.0), ValueError,
         "We cannot vmap over non-Tensor arguments, please use None"),
        (lambda: dfunc.vmap(f, in_dims=(None, None))(x, x), ValueError,
         "vmap: Expected at least one Tensor to vmap over"),
        (lambda: dfunc.vmap(f)(), ValueError, r"vmap\(f\)\(<inputs>\): got no inputs"),
        (lambda: dfunc.vmap(lambda p: 3)(x), ValueError,
         "`<lambda>` must only return Tensors, got type <class 'int'>. Did you mean to set "
         "out_dims= to None"),
        (lambda: dfunc.vmap(lambda p: p, out_dims=None)(x), ValueError,
         "can not return a BatchedTensor when out_dim is None"),
        (lambda: dfunc.vmap(lambda p: (p, p), out_dims=(0,))(x), ValueError,
         "out_dims is not compatible with the structure of `outputs`"),
        (lambda: dfunc.vmap(lambda p: p, out_dims=1.0)(x), ValueError,
         "`out_dims` must be an int, None or a python collection of ints"),
        (lambda: dfunc.vmap(lambda p: p, out_dims=2)(x), IndexError,
         r"Dimension out of range \(expected to be in range of \[-2, 1\], but got 2\)"),
        (lambda: dfunc.vmap(lambda p: p, chunk_size=0), ValueError,
         r"vmap: chunk_size should be None or greater than 0. \(got 0\)"),
    ]
    for call, exc, pattern in cases:
        with pytest.raises(exc, match=pattern):
            call()


# ---------------------------------------------------------------- transform errors
def test_grad_errors():
    x = ds.randn(3)
    cases = [
        (lambda: dfunc.grad(lambda a: a)(x),
         r"grad_and_value\(f\)\(\*args\): Expected f\(\*args\) to return a scalar Tensor, got "
         r"tensor with 1 dims"),
        (lambda: dfunc.grad(lambda a: 1.0)(x),
         "Expected f\\(\\*args\\) to return a Tensor, got <class 'float'>"),
        (lambda: dfunc.grad(lambda a: a.sum(), has_aux=True)(x),
         r"output of function f should be a tuple: \(output, aux\) if has_aux is True"),
        (lambda: dfunc.grad(lambda a: a.sum(), argnums=[0]),
         "argnums must be int or Tuple\\[int, ...\\], got: <class 'list'>"),
        (lambda: dfunc.grad(lambda a: a.sum(), argnums=2)(x),
         "Got argnum=2, but only 1 positional inputs"),
        (lambda: dfunc.grad(lambda a: a.sum(), argnums=()), "argnums must be non-empty"),
        (lambda: dfunc.grad(lambda a, b: a.sum(), argnums=(0, -2))(x, x),
         "argnums elements must be unique"),
        (lambda: dfunc.grad(lambda a: a.sum())(ds.arange(3)),
         "only Tensors of floating point dtype can require gradients"),
    ]
    for call, pattern in cases:
        with pytest.raises(RuntimeError, match=pattern):
            call()
    with pytest.raises(ValueError, match="Thing passed to transform API must be Tensor, got "
                                         "<class 'float'>"):
        dfunc.grad(lambda a: a.sum())([x, 3.0])


def test_vjp_jvp_jacrev_errors():
    x = ds.randn(3)
    _, fn = dfunc.vjp(lambda a: a * 2, x)
    with pytest.raises(RuntimeError, match=r"Mismatch in shape: grad_output\[0\] has a shape of "
                                           r"\[4\] and output\[0\] has a shape of \[3\]"):
        fn(ds.randn(4))
    with pytest.raises(RuntimeError, match="Expected pytree structure of cotangents to be the "
                                           "same as pytree structure of outputs"):
        fn((x,))
    with pytest.raises(RuntimeError, match=r"vjp\(f, \*primals\): expected f\(\*primals\) to "
                                           "return only tensors, got unsupported type"):
        dfunc.vjp(lambda a: 1, x)
    with pytest.raises(RuntimeError, match=r"jvp\(f, primals, tangents\): Expected primals to "
                                           "be a tuple"):
        dfunc.jvp(lambda a: a, x, x)
    with pytest.raises(RuntimeError, match="Expected primals and tangents to have the same "
                                           "python structure"):
        dfunc.jvp(lambda a: a, (x,), (x, x))
    with pytest.raises(RuntimeError, match="Trying to set a forward gradient that has a "
                                           "different size"):
        dfunc.jvp(lambda a: a, (x,), (ds.randn(4),))
    with pytest.raises(RuntimeError, match="has_aux is True"):
        dfunc.jvp(lambda a: a, (x,), (x,), has_aux=True)
    with pytest.raises(ValueError, match="jacrev: `chunk_size` should be greater than 0"):
        dfunc.jacrev(lambda a: a, chunk_size=0)
    with pytest.raises(RuntimeError, match="Got argnum=1, but only 1 positional inputs"):
        dfunc.jacfwd(lambda a: a, argnums=1)(x)
    _, fn = dfunc.linearize(lambda a: a * 2, x)
    with pytest.raises(RuntimeError, match="to have the same argspec as the primals"):
        fn(x, x)


# ---------------------------------------------------------------- functional_call
def _pair_mlp():
    """A torch MLP with a BatchNorm and its deepseek twin holding the same weights."""
    torch.manual_seed(0)
    tm = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.Tanh(),
                             torch.nn.Linear(4, 2)).double()
    dm = ds.nn.Sequential(ds.nn.Linear(3, 4), ds.nn.BatchNorm1d(4), ds.nn.Tanh(),
                          ds.nn.Linear(4, 2)).double()
    dm.load_state_dict({k: ds.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    return dm, tm


def test_functional_call_matches_torch_values_and_grads():
    dm, tm = _pair_mlp()
    (x, xt), (w, wt) = pair(5, 3), pair(4, 3)
    before = dm[0].weight
    close(dfunc.functional_call(dm, {"0.weight": w}, (x,)),
          tfunc.functional_call(tm, {"0.weight": wt}, (xt,)), "dotted name")
    assert dm[0].weight is before

    def loss(mod, params, inp):
        return lambda p: tfunc.functional_call(mod, p, inp).pow(2).sum() if mod is tm else \
            dfunc.functional_call(mod, p, inp).pow(2).sum()

    params = {k: v.detach() for k, v in dm.named_parameters()}
    tparams = {k: v.detach() for k, v in tm.named_parameters()}
    dm.eval(), tm.eval()  # torch.func refuses the in-place running-stat update under grad
    close(dfunc.grad(loss(dm, params, x))(params), tfunc.grad(loss(tm, tparams, xt))(tparams),
          "grad over functional_call")
    dm.train(), tm.train()
    buffers = {k: v.clone() for k, v in dm.named_buffers()}
    tbuffers = {k: v.clone() for k, v in tm.named_buffers()}
    close(dfunc.functional_call(dm, (params, buffers), x),
          tfunc.functional_call(tm, (tparams, tbuffers), xt), "tuple of dicts, bare arg")
    close(buffers, tbuffers, "running stats land in the given buffers")
    close(dict(dm.named_buffers()), dict(tm.named_buffers()), "module buffers untouched")
    close(dfunc.functional_call(dm, [{}], kwargs={"input": x}),
          tfunc.functional_call(tm, [{}], kwargs={"input": xt}), "kwargs")


class _Tied:
    @staticmethod
    def build(lib):
        class M(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.l = lib.nn.Linear(2, 2)
                self.tied = self.l
                self.register_buffer("b", lib.ones(2, dtype=lib.float64))

            def forward(self, x):
                return self.l(x) + self.tied(x) * 2 + self.b

        torch.manual_seed(0)
        return M().double()


def test_functional_call_tied_weights_strict_and_errors():
    tm, dm = _Tied.build(torch), _Tied.build(ds)
    dm.load_state_dict({k: ds.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    x, xt = pair(1, 2)
    z, zt = ds.zeros(2, 2, dtype=ds.float64), torch.zeros(2, 2, dtype=torch.float64)
    for tie in (True, False):
        close(dfunc.functional_call(dm, {"tied.weight": z}, x, tie_weights=tie),
              tfunc.functional_call(tm, {"tied.weight": zt}, xt, tie_weights=tie), f"tie={tie}")
    ones, onest = ds.ones(2, 2, dtype=ds.float64), torch.ones(2, 2, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"functional_call got multiple values for keys "
                                         r"\['l.weight', 'tied.weight'\], which are tied. "
                                         "Consider using tie_weights=False"):
        dfunc.functional_call(dm, {"l.weight": z, "tied.weight": ones}, x)
    with pytest.raises(ValueError, match=r"\['b'\] appeared in multiple dictionaries; behavior "
                                         "of functional call is ambiguous"):
        dfunc.functional_call(dm, ({"b": z[0]}, {"b": z[0]}), x)
    with pytest.raises(ValueError, match="Expected parameter_and_buffer_dicts to be a dict, or "
                                         "a list/tuple of dicts, but got <class 'int'>"):
        dfunc.functional_call(dm, 3, x)
    with pytest.raises(TypeError, match="functional_call: the value for 'b' is a int"):
        dfunc.functional_call(dm, {"b": 3}, x)
    with pytest.raises(AttributeError, match="M has no attribute `nope`"):
        dfunc.functional_call(dm, {"nope.weight": z}, x)
    msg = ("Error(s) in reparametrizing for M:\n\tUnexpected key(s): 'foo'.\n\tMissing key(s): "
           "'b', 'l.bias', 'tied.bias'.")
    with pytest.raises(RuntimeError) as got:
        dfunc.functional_call(dm, {"l.weight": z, "foo": ones}, x, strict=True)
    with pytest.raises(RuntimeError) as want:
        tfunc.functional_call(tm, {"l.weight": zt, "foo": onest}, xt, strict=True)
    assert str(got.value) == str(want.value) == msg
    with pytest.raises(RuntimeError, match="Missing key\\(s\\): 'tied.bias', 'tied.weight'"):
        dfunc.functional_call(dm, {"l.weight": z, "l.bias": z[0], "b": z[0]}, x, strict=True,
                              tie_weights=False)
    full = {"l.weight": z, "l.bias": z[0], "b": z[0]}
    close(dfunc.functional_call(dm, full, x, strict=True),
          tfunc.functional_call(tm, {k: torch.tensor(v.numpy()) for k, v in full.items()}, xt,
                                strict=True), "strict, all given")
    assert not hasattr(dm, "foo")


def test_functional_call_restores_on_exception_and_writes_back():
    class Boom(ds.nn.Module):
        def __init__(self):
            super().__init__()
            self.l = ds.nn.Linear(2, 2)
            self.register_buffer("count", ds.zeros(()))

        def forward(self, x):
            self.count = self.count + 1  # reassigns, as torch's docs' Foo does
            if x is None:
                raise KeyError("boom")
            return self.l(x) * self.count

    m = Boom()
    w, count = m.l.weight, m.count
    with pytest.raises(KeyError, match="boom"):
        dfunc.functional_call(m, {"l.weight": ds.zeros(2, 2), "count": ds.zeros(()),
                                  "extra": ds.ones(())}, (None,))
    assert m.l.weight is w and m.count is count and "extra" not in m.__dict__
    given = {"count": ds.zeros(())}
    dfunc.functional_call(m, given, ds.ones(1, 2))
    assert given["count"].item() == 1.0 and m.count.item() == 0.0
    as_tuple = ({"count": ds.zeros(())},)
    dfunc.functional_call(m, as_tuple, ds.ones(1, 2))
    assert as_tuple[0]["count"].item() == 0.0


def test_functional_call_parametrized_module():
    from deepseek.nn.utils import parametrize

    class Double(ds.nn.Module):
        def forward(self, w):
            return w * 2

    lin = ds.nn.Linear(2, 2)
    parametrize.register_parametrization(lin, "weight", Double())
    x, eye = ds.ones(1, 2), ds.eye(2)
    out = dfunc.functional_call(lin, {"parametrizations.weight.original": eye}, x)
    np.testing.assert_allclose(out.detach().numpy(), (x * 2 + lin.bias).detach().numpy())
    out = dfunc.functional_call(lin, {"weight": eye}, x)  # bypasses the parametrization
    np.testing.assert_allclose(out.detach().numpy(), (x + lin.bias).detach().numpy())
    close(lin.weight, torch.tensor((lin.parametrizations.weight.original * 2).detach().numpy()))


# ---------------------------------------------------------------- ensembling
def test_model_ensembling_matches_torch():
    torch.manual_seed(1)
    tmodels = [torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(),
                                   torch.nn.Linear(4, 2)).double() for _ in range(3)]
    dmodels = []
    for tm in tmodels:
        dm = ds.nn.Sequential(ds.nn.Linear(3, 4), ds.nn.Tanh(), ds.nn.Linear(4, 2)).double()
        dm.load_state_dict({k: ds.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
        dmodels.append(dm)
    params, buffers = dfunc.stack_module_state(dmodels)
    tparams, tbuffers = tfunc.stack_module_state(tmodels)
    close(params, {k: v.detach() for k, v in tparams.items()}, "stacked params")
    assert all(p.is_leaf and p.requires_grad for p in params.values()) and buffers == {}
    x, xt = pair(5, 3)

    def run(func, base):
        def call(p, b, inp):
            return func.functional_call(base, (p, b), (inp,))
        return call

    out = dfunc.vmap(run(dfunc, dmodels[0]), in_dims=(0, 0, None))(params, buffers, x)
    outt = tfunc.vmap(run(tfunc, tmodels[0]), in_dims=(0, 0, None))(tparams, tbuffers, xt)
    close(out, outt, "ensemble outputs")
    out.pow(2).sum().backward()
    outt.pow(2).sum().backward()
    close({k: v.grad for k, v in params.items()}, {k: v.grad for k, v in tparams.items()},
          "grads of stacked params")

    def per_model_loss(func, base):
        def loss(p, b, inp):
            return func.functional_call(base, (p, b), (inp,)).pow(2).mean()
        return loss

    p0 = {k: v.detach() for k, v in params.items()}
    t0 = {k: v.detach() for k, v in tparams.items()}
    close(dfunc.vmap(dfunc.grad(per_model_loss(dfunc, dmodels[0])), (0, 0, None))(p0, {}, x),
          tfunc.vmap(tfunc.grad(per_model_loss(tfunc, tmodels[0])), (0, 0, None))(t0, {}, xt),
          "vmap(grad(functional_call))")


def test_stack_module_state_buffers_and_errors():
    bns = [ds.nn.BatchNorm1d(2) for _ in range(2)]
    params, buffers = dfunc.stack_module_state(bns)
    assert tuple(buffers["running_mean"].shape) == (2, 2)
    assert not buffers["running_mean"].requires_grad and params["weight"].requires_grad
    with pytest.raises(RuntimeError, match="stack_module_state: Expected at least one model, "
                                           "got 0."):
        dfunc.stack_module_state([])
    with pytest.raises(RuntimeError, match="Expected all models to have the same training/eval"):
        dfunc.stack_module_state([ds.nn.Linear(2, 2), ds.nn.Linear(2, 2).eval()])
    with pytest.raises(RuntimeError, match=r"'weight' has shape \[2, 2\] in model 0 but \[2, 3\]"):
        dfunc.stack_module_state([ds.nn.Linear(2, 2), ds.nn.Linear(3, 2)])
    with pytest.raises(RuntimeError, match="model 0 has the parameter 'bias' but model 1 does"):
        dfunc.stack_module_state([ds.nn.Linear(2, 2), ds.nn.Linear(2, 2, bias=False)])
    frozen = ds.nn.Linear(2, 2)
    frozen.weight.requires_grad_(False)
    with pytest.raises(RuntimeError, match="Expected weight from each model to have the same "
                                           ".requires_grad"):
        dfunc.stack_module_state([ds.nn.Linear(2, 2), frozen])
