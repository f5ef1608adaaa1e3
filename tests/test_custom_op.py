"""Custom primitives: ``@ds.operator``, ``CustomOperator`` and ``register_operator``."""

from __future__ import annotations

import numpy as np
import pytest

import deepseek as ds
from deepseek.ops._opdef import REGISTRY


@pytest.fixture
def registered():
    """Names registered by a test, removed afterwards so the registry stays the built-in one."""
    names = []
    yield names
    for name in names:
        REGISTRY.pop(name, None)


def test_operator_decorator_registers_forward_and_backward(registered):
    registered.append("test::scaled_tanh")

    def backward(ctx, g):
        (x,) = ctx.inputs
        return g * ctx.attrs["scale"] * (1 - x.tanh() ** 2)

    @ds.operator("test::scaled_tanh", backward=backward, amp="fp32")
    def scaled_tanh(xp, x, *, scale=1.0):
        return xp.tanh(x) * scale

    op = REGISTRY["test::scaled_tanh"]
    assert scaled_tanh.op is op and op.amp == "fp32" and op.vjp is backward
    x = ds.tensor([0.5, -1.0, 2.0], dtype=ds.float64, requires_grad=True)
    y = scaled_tanh(x, scale=2.0)
    np.testing.assert_allclose(y.detach().numpy(), 2 * np.tanh(x.detach().numpy()))
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 / np.cosh(x.detach().numpy()) ** 2)
    assert ds.autograd.gradcheck(lambda t: scaled_tanh(t, scale=3.0), (x,))
    assert ds.autograd.gradgradcheck(lambda t: scaled_tanh(t, scale=3.0), (x,))


def test_operator_with_meta_and_two_inputs(registered):
    registered.append("test::rowdot")

    def meta(a, b):
        return a.shape[:-1], a.dtype

    def backward(ctx, g):
        a, b = ctx.inputs
        return g.unsqueeze(-1) * b, g.unsqueeze(-1) * a

    @ds.operator("test::rowdot", backward=backward, meta=meta)
    def rowdot(xp, a, b):
        return (a * b).sum(-1)

    a = ds.randn(3, 4, dtype=ds.float64, requires_grad=True)
    b = ds.randn(3, 4, dtype=ds.float64, requires_grad=True)
    assert rowdot(a, b).shape == (3,)
    assert ds.autograd.gradcheck(rowdot, (a, b))


def test_operator_without_backward_is_not_differentiable(registered):
    registered.append("test::floor2")

    @ds.operator("test::floor2")
    def floor2(xp, x):
        return xp.floor(x / 2)

    x = ds.tensor([3.0, 5.0], requires_grad=True)
    assert not floor2(x).requires_grad
    np.testing.assert_array_equal(floor2(x).numpy(), [1.0, 2.0])


def test_default_shape_rule_checks_the_forward(registered):
    registered.append("test::bad_shape")

    @ds.operator("test::bad_shape")
    def bad(xp, x):
        return x.sum()

    with pytest.raises(RuntimeError, match=r"\[test::bad_shape\].*meta="):
        bad(ds.ones(3))


def test_duplicate_name_and_bad_arguments(registered):
    registered.append("test::ident")

    @ds.operator("test::ident", backward=lambda ctx, g: g, save_inputs=False)
    def ident(xp, x):
        return x.copy()

    with pytest.raises(ValueError, match="already registered"):
        ds.operator("test::ident")(lambda xp, x: x)
    with pytest.raises(TypeError, match=r"\[test::ident\]"):
        ident("not a tensor")


def test_custom_operator_class(registered):
    registered.append("test::softplus")

    class Softplus(ds.CustomOperator):
        """log(1 + exp(x)) with a hand-written backward."""

        save_output = True
        save_inputs = False

        def forward(self, xp, x):
            return xp.logaddexp(0, x)

        def backward(self, ctx, g):
            return g * (1 - (-ctx.out).exp())

    softplus = ds.register_operator("test::softplus", Softplus)
    assert REGISTRY["test::softplus"].save_output
    x = ds.tensor([-2.0, 0.0, 3.0], dtype=ds.float64, requires_grad=True)
    y = softplus(x)
    np.testing.assert_allclose(y.detach().numpy(), np.log1p(np.exp(x.detach().numpy())))
    assert y.grad_fn is not None
    assert ds.autograd.gradcheck(softplus, (x,))
    with pytest.raises(TypeError, match="CustomOperator subclass"):
        ds.register_operator("test::nope", object)
