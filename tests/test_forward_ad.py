"""deepseek.autograd.forward_ad against torch.autograd.forward_ad, and the small autograd,
autograd.graph and func names beside it."""

import numpy as np
import pytest
import torch
import torch.autograd.forward_ad as tfw

import deepseek as ds
import deepseek.autograd.forward_ad as fw

RNG = np.random.default_rng(0)
A, TA = RNG.standard_normal((3, 4)), RNG.standard_normal((3, 4))
B, TB = RNG.standard_normal((4, 2)), RNG.standard_normal((4, 2))
V, TV = RNG.standard_normal(4), RNG.standard_normal(4)


def _np(t):
    return np.asarray(t.tolist())


def _compare(name, ours, theirs, tol=1e-10):
    assert len(ours) == len(theirs), name
    for k, (p, q) in enumerate(zip(ours, theirs)):
        assert (p is None) == (q is None), f"{name}[{k}]: tangent None mismatch"
        if p is None:
            continue
        assert tuple(p.shape) == tuple(q.shape), f"{name}[{k}]: shape {p.shape} vs {q.shape}"
        np.testing.assert_allclose(_np(p), _np(q), rtol=tol, atol=tol,
                                   err_msg=f"{name}[{k}], tol {tol}")


CASES = {
    "elementwise": lambda m, x, y: [x.sin() * x.exp() + x / (x * x + 1), (x ** 3).tanh(),
                                    m.relu(x), x.clamp(-0.5, 0.5), m.where(x > 0, x, x * x)],
    "matmul": lambda m, x, y: [x @ y, m.matmul(x, y).sigmoid()],
    "reductions": lambda m, x, y: [x.sum(), x.mean(1), x.max(dim=1).values, x.norm(),
                                   m.softmax(x, 1), m.logsumexp(x, 1), x.cumsum(0)],
    "broadcasting": lambda m, x, y: [x + y[:, 0].reshape(1, 4) * 2, x * y.sum(1)],
    "views": lambda m, x, y: [x.t()[1:], x.reshape(12)[::2], x[1], x.unsqueeze(0).expand(2, 3, 4),
                              x.transpose(0, 1).contiguous(), m.cat([x, 2 * x]), m.stack([x, x])],
    "non-dual": lambda m, x, y: [m.ones(2) * 2, (x > 0).float()],
}


def _run(m, fwm, fn):
    with fwm.dual_level():
        x = fwm.make_dual(m.tensor(A), m.tensor(TA))
        y = fwm.make_dual(m.tensor(B), m.tensor(TB))
        return [fwm.unpack_dual(o).tangent for o in fn(m, x, y)]


@pytest.mark.parametrize("name", list(CASES))
def test_ops_propagate_tangents_like_torch(name):
    _compare(name, _run(ds, fw, CASES[name]), _run(torch, tfw, CASES[name]))


def _inplace(m, fwm):
    out = []
    with fwm.dual_level():
        t = m.tensor(TV.copy())
        d = fwm.make_dual(m.tensor(V.copy()), t)
        d.mul_(2)
        out += [fwm.unpack_dual(d).tangent.clone(), t.clone()]  # the tangent is updated in place
        v = d[1:]
        v.mul_(fwm.make_dual(m.tensor(V[1:] * 2), m.tensor(TV[:3]))).add_(2)
        out += [fwm.unpack_dual(d).tangent.clone(), fwm.unpack_dual(v).tangent.clone()]
        z = m.zeros(5)
        z[1:].add_(d)  # a plain tensor's view receives a tangent: its base gets one
        out.append(fwm.unpack_dual(z).tangent.clone())
        w = m.zeros(4)
        w.copy_(d.sin())
        e = d.exp()
        e.add_(1)
        e.sqrt_()
        c = d.clone()
        c[0] = 5.0
        with m.no_grad():  # forward AD ignores grad mode
            q = d * 3
        out += [fwm.unpack_dual(r).tangent.clone() for r in (w, e, c, q)]
    return out


def test_inplace_views_and_no_grad_like_torch():
    _compare("inplace", _inplace(ds, fw), _inplace(torch, tfw))


def _mlp(m, fwm, x, v, seed=1):
    rng = np.random.default_rng(seed)
    w1, b1 = rng.standard_normal((5, 4)), rng.standard_normal(5)
    w2, b2 = rng.standard_normal((3, 5)), rng.standard_normal(3)

    def f(inp):
        h = m.tanh(inp @ m.tensor(w1).T + m.tensor(b1))
        return m.nn.functional.softplus(h @ m.tensor(w2).T + m.tensor(b2)).sum(1)

    if fwm is None:
        return f
    with fwm.dual_level():
        return fwm.unpack_dual(f(fwm.make_dual(m.tensor(x), m.tensor(v)))).tangent


def test_mlp_directional_derivative_matches_torch_and_finite_difference():
    x, v = RNG.standard_normal((2, 4)), RNG.standard_normal((2, 4))
    ours = _mlp(ds, fw, x, v)
    _compare("mlp", [ours], [_mlp(torch, tfw, x, v)], tol=1e-10)
    f, eps = _mlp(ds, None, x, v), 1e-6
    fd = (_np(f(ds.tensor(x + eps * v))) - _np(f(ds.tensor(x - eps * v)))) / (2 * eps)
    np.testing.assert_allclose(_np(ours), fd, rtol=1e-6, atol=1e-8)


def test_nn_linear_and_reverse_over_forward():
    lin_t = torch.nn.Linear(4, 3).double()
    lin = ds.nn.Linear(4, 3, dtype=ds.float64)
    lin.load_state_dict({k: ds.tensor(p.detach().numpy()) for k, p in lin_t.state_dict().items()})
    results = []
    for m, fwm, net in ((ds, fw, lin), (torch, tfw, lin_t)):
        x = m.tensor(A, requires_grad=True)
        with fwm.dual_level():
            jv = fwm.unpack_dual(net(fwm.make_dual(x, m.tensor(TA))).sin()).tangent
            jv.sum().backward()
        results.append([jv, x.grad, net.weight.grad])
    _compare("linear", *results)


def test_levels_and_errors_like_torch():
    x, t = ds.tensor(V), ds.tensor(TV)
    assert fw.unpack_dual(x) == (x, None)
    with pytest.raises(RuntimeError, match="no level exists, make sure to enter_dual_level"):
        fw.make_dual(x, t)
    with fw.dual_level() as level:
        assert level == 0
        with pytest.raises(RuntimeError, match="Nested forward mode AD is not supported"):
            fw.enter_dual_level()
        with pytest.raises(RuntimeError, match="Tensor is of size \\[4\\] while the given "
                           "forward gradient is of size \\[3\\]"):
            fw.make_dual(x, ds.ones(3))
        with pytest.raises(ValueError, match="Expected tangent to be floating point or complex, "
                           "but got: deepseek.int64"):
            fw.make_dual(x, ds.ones(4, dtype=ds.int64))
        with pytest.raises(ValueError, match="Expected primal to be floating point"):
            fw.make_dual(ds.arange(4), t)
        d = fw.make_dual(x, t)
        with pytest.raises(RuntimeError, match="already has a forward gradient at the same level"):
            fw.make_dual(d, t)
        with pytest.raises(RuntimeError, match="Invalid level given to _make_dual"):
            fw.make_dual(x, t, level=5)
        primal, tangent = fw.unpack_dual(d)
        assert tangent is t and fw.unpack_dual(primal).tangent is None
        assert primal._base is x and not d.requires_grad
        assert fw.unpack_dual(x).tangent is None
    assert fw.unpack_dual(d).tangent is None  # the level's tangents went with it
    assert fw.enter_dual_level() == 0  # levels are reused in sequence, as torch's
    with pytest.raises(RuntimeError, match="not the last one that was created"):
        fw.exit_dual_level(level=3)
    fw.exit_dual_level()
    with pytest.raises(RuntimeError, match="Dual level must be a positive number"):
        fw.exit_dual_level()
    assert fw.UnpackedDualTensor._fields == ("primal", "tangent")

    @fw.dual_level()
    def tangent_of_double(a, b):
        return fw.unpack_dual(2 * fw.make_dual(a, b)).tangent

    assert tangent_of_double(x, t).tolist() == (2 * t).tolist()


def test_variable():
    from deepseek.autograd import Variable

    x = ds.ones(2)
    v = Variable(x)
    assert v is not x and not v.requires_grad and v.grad_fn is None
    assert isinstance(x, Variable) and not isinstance(3, Variable)
    r = Variable(x * 1, requires_grad=True)
    assert r.requires_grad and r.grad_fn is None and not x.requires_grad
    with pytest.raises(TypeError, match="Variable data has to be a tensor, but got int"):
        Variable(3)


def test_multithreading_switch():
    assert ds.autograd.is_multithreading_enabled()
    with ds.autograd.set_multithreading_enabled(False):
        assert not ds.autograd.is_multithreading_enabled()
    assert ds.autograd.is_multithreading_enabled()


def test_graph_additions():
    graph = ds.autograd.graph
    a, b = ds.ones(2, requires_grad=True), ds.ones(2, requires_grad=True)
    got, first = [], []
    h = graph.register_multi_grad_hook(
        (a, b), lambda grads: got.append([None if g is None else g.tolist() for g in grads]))
    h2 = graph.register_multi_grad_hook((a, b), first.append, mode="any")
    (a * 2).sum().backward()
    (a * b).sum().backward()
    assert got == [[[2.0, 2.0], None], [[1.0, 1.0], [1.0, 1.0]]]
    assert len(first) == 2
    h.remove()
    h2.remove()
    (a * b).sum().backward()
    assert len(got) == 2
    with pytest.raises(ValueError, match="Expects mode to be one of"):
        graph.register_multi_grad_hook((a,), print, mode="some")

    y = (a * 3).exp()
    node = y.grad_fn
    node.metadata["tag"] = 1
    assert node.metadata == {"tag": 1} and node.name() == "ExpBackward0"
    a.grad = None
    handle = node.register_prehook(lambda grad_outputs: (grad_outputs[0] * 0,))
    y.sum().backward(retain_graph=True)
    assert a.grad.tolist() == [0.0, 0.0]
    handle.remove()
    y.sum().backward()
    assert a.grad.tolist() != [0.0, 0.0]

    x = ds.ones(2, requires_grad=True)
    z = x.clone().exp()
    graph.increment_version(z)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()
    with graph.disable_saved_tensors_hooks("no hooks here"):
        with pytest.raises(RuntimeError, match="no hooks here"):
            with graph.saved_tensors_hooks(lambda t: t, lambda t: t):
                pass


def test_functionalize_and_replace_all_batch_norm_modules():
    def f(x):
        x.add_(1)
        return x * 2

    x = ds.zeros(2)
    assert ds.func.functionalize(f)(x).tolist() == [2.0, 2.0] and x.tolist() == [1.0, 1.0]
    with pytest.raises(RuntimeError, match="received invalid argument for remove=x"):
        ds.func.functionalize(f, remove="x")

    for m in (ds, torch):
        net = m.nn.Sequential(m.nn.Linear(2, 3), m.nn.BatchNorm1d(3), m.nn.BatchNorm1d(3,
                              track_running_stats=False))
        assert m.func.replace_all_batch_norm_modules_(net) is net
        for bn in (net[1], net[2]):
            assert not bn.track_running_stats and bn.running_mean is None
            assert bn.running_var is None and bn.num_batches_tracked is None
        assert not dict(net.named_buffers())
