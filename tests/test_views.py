"""Views share memory like PyTorch's: writes through a view reach its base and back, layout
metadata matches, and autograd handles in-place ops on views."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import deepseek as ds

VIEWS = {
    "view": lambda x: x.view(4, 6),
    "reshape": lambda x: x.reshape(2, 12),
    "flatten_inner": lambda x: x.flatten(1),
    "unflatten": lambda x: x.unflatten(2, (2, 2)),
    "squeeze_unsqueeze": lambda x: x.unsqueeze(1).squeeze(1),
    "permute": lambda x: x.permute(2, 0, 1),
    "transpose": lambda x: x.transpose(0, 2),
    "mT": lambda x: x.mT,
    "movedim": lambda x: x.movedim(0, -1),
    "expand": lambda x: x[:, :1].expand(2, 5, 4),
    "as_strided": lambda x: x.as_strided((3, 2), (4, 1), 2),
    "narrow": lambda x: x.narrow(1, 1, 2),
    "select": lambda x: x.select(2, 1),
    "slice_step": lambda x: x[:, ::2, 1:],
    "none_ellipsis": lambda x: x[None, ..., 1],
    "split": lambda x: x.split(2, 1)[1],
    "chunk": lambda x: x.chunk(2, 2)[1],
    "unbind": lambda x: x.unbind(1)[2],
    "diagonal": lambda x: x.diagonal(1, 1, 2),
    "unfold": lambda x: x.unfold(2, 2, 2),
    "T": lambda x: x[0].T,
    "atleast_3d": lambda x: ds.atleast_3d(x[0]) if isinstance(x, ds.Tensor)
    else torch.atleast_3d(x[0]),
    "meshgrid": lambda x: (ds if isinstance(x, ds.Tensor) else torch).meshgrid(
        x[0, 0], x[1, 1], indexing="ij")[1],
}


@pytest.mark.parametrize("name", list(VIEWS))
def test_view_metadata_and_sharing(name):
    fn = VIEWS[name]
    xt = torch.arange(24.0).reshape(2, 3, 4)
    xd = ds.arange(24.0).reshape(2, 3, 4)
    vt, vd = fn(xt), fn(xd)
    assert tuple(vd.shape) == tuple(vt.shape)
    assert vd.stride() == vt.stride()
    assert vd.storage_offset() == vt.storage_offset()
    assert vd.is_contiguous() == vt.is_contiguous()
    np.testing.assert_array_equal(vd.numpy(), vt.numpy())
    xd.add_(1)  # base -> view
    xt.add_(1)
    np.testing.assert_array_equal(vd.numpy(), vt.numpy())
    if name not in ("expand", "meshgrid"):  # overlapping views may not be written in place
        vd.mul_(-1)  # view -> base
        vt.mul_(-1)
        np.testing.assert_array_equal(xd.numpy(), xt.numpy())


def test_view_vs_reshape():
    x = ds.arange(12.0).reshape(3, 4)
    t = x.t()
    with pytest.raises(RuntimeError, match="view"):
        t.view(12)
    r = t.reshape(12)  # a copy: writes do not reach x
    r[0] = 100
    assert x[0, 0].item() == 0
    v = x.reshape(2, 6)  # contiguous: a view
    v[0, 0] = 100
    assert x[0, 0].item() == 100
    assert x.view(ds.int32).shape == (3, 4)


def test_version_counter_is_shared():
    x = ds.zeros(3, 4)
    v = x[1]
    before = x._version
    v.add_(1)
    assert x._version == before + 1 and v._version == x._version


def test_inplace_on_view_of_nonleaf_gradients():
    for lib in (torch, ds):
        a = lib.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
        c = lib.tensor([0.5, -1.0, 2.0], requires_grad=True)
        b = a * 2
        b[0].mul_(c)  # a view of a non-leaf, the other operand requires grad too
        b.diagonal().add_(1.0)
        b.t()[2].exp_()
        (b * lib.tensor([[1.0, -1.0, 2.0], [0.5, 3.0, -2.0]])).sum().backward()
        if lib is torch:
            want = (a.grad.numpy().copy(), c.grad.numpy().copy())
    np.testing.assert_allclose(a.grad.numpy(), want[0], rtol=1e-6)
    np.testing.assert_allclose(c.grad.numpy(), want[1], rtol=1e-6)


def test_inplace_on_view_of_leaf_raises():
    for lib in (torch, ds):
        a = lib.ones(3, 4, requires_grad=True)
        with pytest.raises(RuntimeError, match="leaf"):
            a[0].add_(1)
        with pytest.raises(RuntimeError, match="leaf"):
            a.diagonal().zero_()
        with lib.no_grad():
            a[0].add_(1)  # allowed outside autograd
        assert a[0, 0].item() == 2


def test_saved_tensor_modified_through_view():
    x = ds.ones(3, requires_grad=True)
    y = x * 1
    z = y.exp()
    y[0].mul_(2)  # exp saved its output, not y: fine
    w = y * y
    y[1].add_(1)  # mul saved y: backward must refuse
    z.sum().backward()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        w.sum().backward()
