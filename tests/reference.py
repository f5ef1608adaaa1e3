"""Running one OpInfo sample on deepseek and on torch, and comparing what comes out."""

from __future__ import annotations

import zlib
from typing import Any

import ml_dtypes
import numpy as np
import torch

import deepseek as ds
from opinfo import ALL_FLOAT, T, make_array

_NP = {"float32": np.float32, "float64": np.float64, "float16": np.float16,
       "bfloat16": ml_dtypes.bfloat16, "int64": np.int64, "int32": np.int32, "int16": np.int16,
       "int8": np.int8, "uint8": np.uint8, "bool": np.bool_}

TOL = {"float64": (1e-10, 1e-7), "float32": (1e-5, 1.3e-5), "float16": (1e-3, 1e-3),
       "bfloat16": (1e-2, 1.6e-2)}


def rng_for(*key: Any) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


def make_inputs(sample, dtype: str, rng: np.random.Generator) -> list:
    """NumPy arrays (already in their final dtype) for the sample's T placeholders."""
    out = []
    for a in sample.args:
        if isinstance(a, T):
            dt = a.dtype or dtype
            out.append(make_array(a, dtype, rng).astype(_NP[dt]))
        else:
            out.append(a)
    return out


def to_lib(lib: Any, arr: Any, spec: Any, requires_grad: bool, layout: str = "contiguous") -> Any:
    """A leaf tensor of ``lib`` with the values of ``arr`` in the given memory layout."""
    if not isinstance(spec, T):
        return arr
    if lib is torch:
        if arr.dtype == ml_dtypes.bfloat16:
            t = torch.from_numpy(arr.astype(np.float32)).to(torch.bfloat16)
        else:
            t = torch.from_numpy(np.array(arr))
        if layout != "contiguous" and t.ndim:
            big = torch.stack([t, torch.zeros_like(t)], -1)
            t = big[..., 0]
    else:
        a = np.array(arr)
        if layout == "noncontiguous" and a.ndim:
            a = np.stack([a, np.zeros_like(a)], -1)[..., 0]
        elif layout == "negative_stride" and a.ndim:
            a = np.flip(np.flip(a).copy())
        t = ds.from_numpy(a)
    if requires_grad:
        t.requires_grad_(True)
    return t


def grad_wanted(spec: Any, dtype: str) -> bool:
    return isinstance(spec, T) and spec.grad and (spec.dtype or dtype) in ALL_FLOAT


def flat_outputs(out: Any) -> list:
    if isinstance(out, (tuple, list)):
        res = []
        for o in out:
            res.extend(flat_outputs(o))
        return res
    return [out]


def to_numpy(t: Any) -> np.ndarray:
    if isinstance(t, torch.Tensor):
        t = t.detach()
        if t.dtype == torch.bfloat16:
            t = t.float()
        return t.numpy()
    if isinstance(t, ds.Tensor):
        a = t.detach().numpy()
        return a.astype(np.float32) if a.dtype == ml_dtypes.bfloat16 else a
    return np.asarray(t)


def dtype_name(t: Any) -> str:
    if isinstance(t, torch.Tensor):
        return str(t.dtype).replace("torch.", "")
    if isinstance(t, ds.Tensor):
        return t.dtype.name
    return type(t).__name__


def assert_close(what: str, got: Any, want: Any, atol: float, rtol: float,
                 sort: bool = False) -> None:
    if isinstance(want, torch.Tensor) or isinstance(got, ds.Tensor):
        assert isinstance(got, ds.Tensor), f"{what}: expected a Tensor, got {type(got)}"
        assert tuple(got.shape) == tuple(want.shape), (
            f"{what}: shape {tuple(got.shape)} != torch's {tuple(want.shape)}")
        assert dtype_name(got) == dtype_name(want), (
            f"{what}: dtype {dtype_name(got)} != torch's {dtype_name(want)}")
    g, w = to_numpy(got), to_numpy(want)
    if sort:
        g, w = np.sort(g, axis=None), np.sort(w, axis=None)
    if g.dtype == np.bool_ or g.dtype.kind in "iu":
        np.testing.assert_array_equal(g, w, err_msg=what)
    else:
        np.testing.assert_allclose(g.astype(np.float64), w.astype(np.float64), atol=atol, rtol=rtol,
                                   equal_nan=True, err_msg=f"{what} (atol={atol}, rtol={rtol})")


def scale_tol(row: Any, dtype: str) -> tuple:
    atol, rtol = TOL.get(dtype, (0, 0))
    if dtype == "float32":
        atol, rtol = row.atol, row.rtol
    elif dtype == "float64":
        atol, rtol = row.atol * 1e-5, row.rtol * 1e-5
    return atol, rtol
