"""Fractional max pooling against torch on the same ``_random_samples`` (values, indices, input
gradients, errors), and the ``*_with_indices`` max-pool aliases."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from nn_reference import close, compare_module

import deepseek as ds
import deepseek.nn.functional as F

R = np.random.default_rng(0)


def x(*shape):
    return R.standard_normal(shape)


def u(*shape):
    return R.random(shape)


# (id, function name, input, samples, kwargs)
CASES = [
    ("2d", "fractional_max_pool2d", x(2, 3, 11, 9), u(2, 3, 2), {"kernel_size": 3,
                                                                  "output_size": (6, 4)}),
    ("2d_ratio", "fractional_max_pool2d", x(2, 2, 10, 12), u(2, 2, 2),
     {"kernel_size": (2, 3), "output_ratio": (0.5, 0.75)}),
    ("2d_unbatched", "fractional_max_pool2d", x(3, 8, 8), u(1, 3, 2), {"kernel_size": 2,
                                                                       "output_size": 5}),
    ("2d_more_samples", "fractional_max_pool2d", x(1, 2, 7, 7), u(4, 2, 2),
     {"kernel_size": 2, "output_size": 6}),
    ("2d_output_1", "fractional_max_pool2d", x(2, 2, 6, 5), u(2, 2, 2), {"kernel_size": 3,
                                                                         "output_size": 1}),
    ("3d", "fractional_max_pool3d", x(2, 2, 7, 6, 8), u(2, 2, 3), {"kernel_size": 2,
                                                                   "output_size": (3, 4, 5)}),
    ("3d_ratio_unbatched", "fractional_max_pool3d", x(2, 6, 8, 7), u(1, 2, 3),
     {"kernel_size": (2, 3, 2), "output_ratio": (0.5, 0.5, 0.7)}),
]
IDS = [c[0] for c in CASES]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name,fn,array,samples,kw", CASES, ids=IDS)
def test_functional_matches_torch(name, fn, array, samples, kw, dtype):
    results = []
    for lib, module in ((torch, TF), (ds, F)):
        make = torch.from_numpy if lib is torch else ds.from_numpy
        inp = make(array.astype(dtype)).requires_grad_(True)
        out, index = getattr(module, fn)(inp, return_indices=True,
                                         _random_samples=make(samples.astype(dtype)), **kw)
        out.backward(make(np.linspace(-1, 1, out.numel()).reshape(tuple(out.shape))
                          .astype(dtype)))
        results.append((out, index, inp.grad))
    (t_out, t_index, t_grad), (d_out, d_index, d_grad) = results
    close(f"{fn} {name} output", d_out, t_out, dtype)
    assert d_index.dtype == ds.int64 and tuple(d_index.shape) == tuple(t_index.shape)
    np.testing.assert_array_equal(d_index.numpy(), t_index.numpy(),
                                  err_msg=f"{fn} {name} indices ({dtype})")
    close(f"{fn} {name} grad of input", d_grad, t_grad, dtype)


@pytest.mark.parametrize("name,fn,array,samples,kw", CASES[:1] + CASES[5:6], ids=["2d", "3d"])
def test_with_indices_variant_matches_torch(name, fn, array, samples, kw):
    outs = [getattr(m, fn + "_with_indices")(make(array.copy()), _random_samples=make(
        samples.copy()), **kw) for m, make in ((TF, torch.from_numpy), (F, ds.from_numpy))]
    (t_out, t_index), (d_out, d_index) = outs
    close(f"{fn}_with_indices", d_out, t_out, "float64")
    np.testing.assert_array_equal(d_index.numpy(), t_index.numpy())


@pytest.mark.parametrize("make,array,samples", [
    (lambda nn: nn.FractionalMaxPool2d(3, output_size=(5, 4)), x(2, 3, 9, 8), u(2, 3, 2)),
    (lambda nn: nn.FractionalMaxPool2d(2, output_ratio=0.5, return_indices=True),
     x(2, 3, 8, 10), u(2, 3, 2)),
    (lambda nn: nn.FractionalMaxPool3d((2, 2, 3), output_size=3), x(1, 2, 5, 6, 7),
     u(1, 2, 3)),
], ids=["2d", "2d_ratio_indices", "3d"])
def test_modules_match_torch(make, array, samples):
    def build(lib):
        return make(lib.nn)

    compare_module(lambda lib: _with_samples(build(lib), lib, samples), (array,))
    compare_module(lambda lib: _with_samples(build(lib), lib, samples), (array,),
                   dtype="float32")
    assert repr(build(ds)) == repr(build(torch))


def _with_samples(module, lib, samples):
    module._random_samples = (torch.from_numpy if lib is torch else ds.from_numpy)(samples.copy())
    return module


def test_drawn_samples_give_window_maxima_and_follow_the_seed():
    inp = ds.from_numpy(x(2, 3, 12, 10))
    ds.manual_seed(3)
    out, index = F.fractional_max_pool2d(inp, 3, output_ratio=0.5, return_indices=True)
    assert tuple(out.shape) == (2, 3, 6, 5)
    flat = inp.numpy().reshape(2, 3, -1)
    np.testing.assert_array_equal(
        out.numpy(), np.take_along_axis(flat, index.numpy().reshape(2, 3, -1), 2).reshape(
            out.shape))
    ds.manual_seed(3)
    again = F.fractional_max_pool2d(inp, 3, output_ratio=0.5)
    np.testing.assert_array_equal(again.numpy(), out.numpy())


_X = x(2, 3, 9, 8)
_S = u(2, 3, 2)


@pytest.mark.parametrize("call,exc", [
    (lambda m, t: m.fractional_max_pool2d(t(_X), 2), ValueError),
    (lambda m, t: m.fractional_max_pool2d(t(_X), 3, output_size=8, _random_samples=t(_S)),
     RuntimeError),
    (lambda m, t: m.fractional_max_pool2d(t(_X), 3, output_size=4,
                                          _random_samples=t(u(2, 3, 3))), RuntimeError),
    (lambda m, t: m.fractional_max_pool2d(t(_X), 3, output_size=4,
                                          _random_samples=t(u(1, 3, 2))), RuntimeError),
    (lambda m, t: m.fractional_max_pool2d(t(_X), 3, output_size=4,
                                          _random_samples=t(u(2, 2, 2))), RuntimeError),
    (lambda m, t: m.fractional_max_pool2d(t(_X), 3, output_size=4,
                                          _random_samples=t(_S.astype(np.float32))),
     RuntimeError),
    (lambda m, t: m.fractional_max_pool2d(t(_X[0, 0]), 3, output_size=4), IndexError),
    (lambda m, t: m.fractional_max_pool2d(t(_X[None]), 3, output_size=4), RuntimeError),
    (lambda m, t: m.fractional_max_pool3d(t(x(2, 3, 7, 8, 9)), 2, output_size=(7, 4, 5),
                                          _random_samples=t(u(2, 3, 3))), RuntimeError),
], ids=["no_size", "too_large", "samples_dims", "samples_batch", "samples_channels",
        "samples_dtype", "2d_input", "5d_input", "3d_too_large"])
def test_functional_errors_like_torch(call, exc):
    with pytest.raises(exc):
        call(TF, torch.from_numpy)
    with pytest.raises(exc, match=r"^\[fractional_max_pool[23]d\]"):
        call(F, ds.from_numpy)


@pytest.mark.parametrize("kw", [{}, {"output_size": 3, "output_ratio": 0.5},
                                {"output_ratio": 1.5}], ids=["none", "both", "ratio"])
def test_module_errors_like_torch(kw):
    for nn in (torch.nn, ds.nn):
        with pytest.raises(ValueError):
            nn.FractionalMaxPool2d(2, **kw)


@pytest.mark.parametrize("name,array,args", [
    ("max_pool1d_with_indices", x(2, 3, 9), (3, 2, 1)),
    ("max_pool2d_with_indices", x(2, 3, 7, 6), (3, 2, 1)),
    ("max_pool3d_with_indices", x(1, 2, 5, 4, 6), (2,)),
    ("adaptive_max_pool1d_with_indices", x(2, 3, 9), (4,)),
    ("adaptive_max_pool2d_with_indices", x(2, 7, 5), ((3, 2),)),
    ("adaptive_max_pool3d_with_indices", x(1, 2, 5, 4, 6), (2,)),
])
def test_max_pool_with_indices_aliases_match_torch(name, array, args):
    t_out, t_index = getattr(TF, name)(torch.from_numpy(array.copy()), *args)
    d_out, d_index = getattr(F, name)(ds.from_numpy(array.copy()), *args)
    close(name, d_out, t_out, "float64")
    np.testing.assert_array_equal(d_index.numpy(), t_index.numpy(), err_msg=name)



def test_modules_are_exported():
    for name in ("CTCLoss", "FractionalMaxPool2d", "FractionalMaxPool3d"):
        assert name in ds.nn.modules.__all__ and hasattr(ds.nn, name)
