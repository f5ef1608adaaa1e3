"""Convolutions on one N-d core: conv1d/2d/3d, their transposes, unfold/fold (im2col/col2im),
and the sliding-window helpers the pooling ops share.

A convolution is one im2col copy through a strided view of the padded input and one GEMM. Its
three bilinear primitives (``convolution``, ``conv_transpose``, ``convolution_backward_weight``)
are each other's vjps, so gradients of any order stay GEMMs.
"""

from __future__ import annotations

import itertools
import math
from typing import Any, Optional, Sequence

import numpy as np

from .._errors import op_error
from ..tensor import Tensor
from ..backend import cpu
from . import _conv_kernels as _kernels
from . import _winograd
from ._common import LOWP, require_tensor
from ._opdef import apply, autocast_args, defop

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d"]

_F32 = np.dtype(np.float32)


# ---------------------------------------------------------------- window helpers
def ntuple(op: str, value: Any, n: int, name: str) -> tuple:
    """An int, or a sequence of 1 or ``n`` ints, as a tuple of ``n`` ints."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return (int(value),) * n
    if isinstance(value, (tuple, list)) and all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value):
        if len(value) == n:
            return tuple(int(v) for v in value)
        if len(value) == 1:
            return (int(value[0]),) * n
        raise op_error(RuntimeError, op, f"expected {name} to be a single integer value or a list "
                       f"of {n} values to match the convolution dimensions, but got "
                       f"{name}={list(value)}")
    raise op_error(TypeError, op, f"argument '{name}' must be an int or a tuple of ints, not "
                   f"{type(value).__name__}")


def crop(x: Any, pads: Sequence[tuple]) -> Any:
    """A view of ``x`` without ``pads`` (non-negative ``(lo, hi)`` pairs) on its last dims."""
    d = len(pads)
    key = tuple(slice(lo, n - hi) for n, (lo, hi) in zip(x.shape[x.ndim - d:], pads))
    return x[(Ellipsis,) + key]


def pad_spatial(xp: Any, x: Any, pads: Sequence[tuple], value: Any = 0) -> Any:
    """``x`` with its last ``len(pads)`` dims padded by ``(lo, hi)`` pairs (negative ones crop)."""
    if all(lo == 0 and hi == 0 for lo, hi in pads):
        return x
    d = len(pads)
    sizes = x.shape[x.ndim - d:]
    if all(lo <= 0 and hi <= 0 for lo, hi in pads):
        return crop(x, [(-lo, -hi) for lo, hi in pads])
    shape = x.shape[:x.ndim - d] + tuple(n + lo + hi for n, (lo, hi) in zip(sizes, pads))
    out = xp.zeros(shape, x.dtype) if value == 0 else xp.full(shape, value, x.dtype)
    src = crop(x, [(max(-lo, 0), max(-hi, 0)) for lo, hi in pads])
    dst = tuple(slice(max(lo, 0), max(lo, 0) + m) for (lo, _), m in zip(pads, src.shape[-d:]))
    out[(Ellipsis,) + dst] = src
    return out


def window_view(xp: Any, x: Any, kernel: tuple, out: tuple, stride: tuple,
                dilation: tuple) -> Any:
    """A strided view of shape ``x.shape[:-d] + kernel + out`` (no copy) whose element
    ``[..., k, o]`` is ``x[..., o * stride + k * dilation]``. For one kernel offset the windows
    never overlap, so writing through ``view[..., k, :]`` is safe (col2im does)."""
    d = len(kernel)
    lead = x.ndim - d
    st = x.strides[lead:]
    strides = (x.strides[:lead] + tuple(s * dl for s, dl in zip(st, dilation))
               + tuple(s * t for s, t in zip(st, stride)))
    return xp.lib.stride_tricks.as_strided(x, x.shape[:lead] + tuple(kernel) + tuple(out), strides)


def kernel_offsets(kernel: tuple) -> Any:
    """Every kernel offset (a tuple of ints), in row-major order."""
    return itertools.product(*(range(k) for k in kernel))


def col2im(xp: Any, cols: Any, size: tuple, kernel: tuple, stride: tuple, pads: Sequence[tuple],
           dilation: tuple) -> Any:
    """Sum windows ``cols`` (``lead + kernel + out``) back into an array ``lead + size``: the
    transpose of :func:`window_view` on the padded input. Loops over kernel offsets only (a
    Numba kernel does it in one pass when it applies)."""
    d = len(kernel)
    if d <= 2 and _kernels.usable(xp, cols):
        lift = (1,) * (2 - d)  # 1-d runs as 2-d of height 1
        lead = cols.shape[:cols.ndim - 2 * d]
        blocks = cols.reshape(lead + lift + kernel + lift + cols.shape[cols.ndim - d:])
        x = _kernels.col2im(blocks, lift + tuple(size), lift + stride,
                            (0,) * (2 - d) + tuple(lo for lo, _ in pads), lift + dilation)
        return x.reshape(lead + tuple(size))
    out = cols.shape[cols.ndim - d:]
    lead = cols.shape[:cols.ndim - 2 * d]
    acc = xp.zeros(lead + tuple(n + lo + hi for n, (lo, hi) in zip(size, pads)), cols.dtype)
    win = window_view(xp, acc, kernel, out, stride, dilation)
    tail = (slice(None),) * d
    for k in kernel_offsets(kernel):
        win[(Ellipsis,) + k + tail] += cols[(Ellipsis,) + k + tail]
    return crop(acc, pads)


def conv_out_size(op: str, size: tuple, kernel: tuple, stride: tuple, pads: Sequence[tuple],
                  dilation: tuple) -> tuple:
    """Output spatial size of a convolution, or PyTorch's error when the kernel does not fit."""
    padded = tuple(n + lo + hi for n, (lo, hi) in zip(size, pads))
    eff = tuple(dl * (k - 1) + 1 for k, dl in zip(kernel, dilation))
    if any(p < e for p, e in zip(padded, eff)):
        raise op_error(RuntimeError, op, f"Calculated padded input size per channel: "
                       f"({' x '.join(map(str, padded))}). Kernel size: "
                       f"({' x '.join(map(str, eff))}). Kernel size can't be greater than actual "
                       "input size")
    return tuple((p - e) // s + 1 for p, e, s in zip(padded, eff, stride))


# ---------------------------------------------------------------- the GEMM core
def _compute(x: Any) -> Any:
    """float16/bfloat16 run in float32 (BLAS), rounded once by the dispatcher."""
    return x.astype(_F32) if x.dtype in LOWP else x


def _im2col(xp: Any, x: Any, kernel: tuple, out: tuple, stride: tuple, pads: Sequence[tuple],
            dilation: tuple, groups: int) -> Any:
    """The patch matrices ``(N, groups, C/groups * prod(kernel), prod(out))`` of ``x`` (N, C, *S).

    Batch-first, so each sample's windows are read in order and the GEMMs against them write
    (N, O, *out) with no transpose afterwards; a 1x1 kernel at stride 1 is ``x`` itself."""
    n, c = x.shape[:2]
    shape = (n, groups, c // groups * math.prod(kernel), math.prod(out))
    x = xp.ascontiguousarray(x)
    if out == x.shape[2:] and all(k == 1 and s == 1 and lo == 0
                                  for k, s, (lo, _) in zip(kernel, stride, pads)):
        return x.reshape(shape)
    win = window_view(xp, pad_spatial(xp, x, pads), kernel, out, stride, dilation)
    return xp.ascontiguousarray(win).reshape(shape)  # the one copy


_CHUNK_BYTES = 1 << 21  # patches made this many bytes at a time are still in cache for the GEMM


def _over_samples(xp: Any, n: int, sample_bytes: int, body: Any) -> None:
    """Run ``body(lo, hi)`` over the batch. On the CPU in chunks of about ``_CHUNK_BYTES`` of
    patch matrices, the chunks split over the cores: a convolution's GEMMs are thin (few
    channels, many positions) and bound by memory traffic, which cached patches save and
    which one BLAS call's threads do not share out on two cores (measured: twice as fast as
    one batched matmul on the whole batch)."""
    if xp is not np:
        body(0, n)
        return
    step = max(1, _CHUNK_BYTES // max(sample_bytes, 1))

    def part(lo: int, hi: int) -> None:
        for s in range(lo, hi, step):
            body(s, min(s + step, hi))

    cpu.parallel_parts(part, n)


def _grouped(x: Any, groups: int) -> Any:
    """(N, C, *S) as (N, groups, C/groups, prod(S)), a view of a contiguous ``x``."""
    return x.reshape(x.shape[0], groups, x.shape[1] // groups, math.prod(x.shape[2:]))


def _add_bias(y: Any, bias: tuple, activation: Optional[str] = None) -> Any:
    """``y`` (N, C, *S) plus the channel bias, then ``activation`` (None or ``"relu"``, an
    epilogue ds.jit asks for), in place."""
    if bias:
        y += bias[0].reshape((-1,) + (1,) * (y.ndim - 2)).astype(y.dtype, copy=False)
    if activation == "relu":
        np.maximum(y, 0, out=y)  # (CuPy arrays take NumPy's ufuncs too)
    return y


def _winograd_forward(x: Any, w: Any, pads: Sequence[tuple], out: tuple,
                      finish: Any) -> Any:
    """A 3x3 stride-1 convolution by :mod:`._winograd`, over the batch in chunks of tiles,
    ``finish`` applied to each chunk's outputs while they are in cache."""
    x = np.ascontiguousarray(x)
    u = _winograd.filter_transform(w)
    y = np.empty((x.shape[0], w.shape[0]) + out, x.dtype)

    def body(lo: int, hi: int) -> None:
        _winograd.forward(x[lo:hi], u, y[lo:hi], pads[0][0], pads[1][0])
        finish(y[lo:hi])

    tiles = math.prod(_winograd.tile_counts(out))
    _over_samples(np, x.shape[0], 16 * x.shape[1] * tiles * x.itemsize, body)
    return y


def _winograd_weight(x: Any, g: Any, pads: Sequence[tuple]) -> Any:
    """The weight gradient of a 3x3 stride-1 convolution by :mod:`._winograd`, chunk sums
    added in batch order."""
    x, g = np.ascontiguousarray(x), np.ascontiguousarray(g)
    partial: dict = {}

    def body(lo: int, hi: int) -> None:
        partial[lo] = _winograd.weight_gradient(x[lo:hi], g[lo:hi], pads[0][0], pads[1][0])

    tiles = math.prod(_winograd.tile_counts(g.shape[2:]))
    _over_samples(np, x.shape[0], 16 * (x.shape[1] + g.shape[1]) * tiles * x.itemsize, body)
    du = np.zeros((16, g.shape[1], x.shape[1]), x.dtype)
    for lo in sorted(partial):
        du += partial[lo]
    return _winograd.filter_gradient(du)


def _conv_forward(xp: Any, x: Any, w: Any, *bias: Any, stride: tuple, padding: tuple,
                  dilation: tuple, groups: int, activation: Optional[str] = None) -> Any:
    x, w = _compute(x), _compute(w)
    kernel = w.shape[2:]
    out = conv_out_size("convolution", x.shape[2:], kernel, stride, padding, dilation)
    finish = (lambda y: _add_bias(y, bias, activation))  # on each chunk, while in cache
    if _winograd.usable(x, w, w.shape, stride, dilation, groups):
        return _winograd_forward(x, w, padding, out, finish)
    n = x.shape[0]
    w = w.reshape(groups, w.shape[0] // groups, -1)
    y = xp.empty((n, groups, w.shape[1], math.prod(out)), x.dtype)  # (N, G, O/G, P)

    def body(lo: int, hi: int) -> None:
        cols = _im2col(xp, x[lo:hi], kernel, out, stride, padding, dilation, groups)
        xp.matmul(w, cols, out=y[lo:hi])
        finish(y[lo:hi].reshape((hi - lo, -1) + out))

    _over_samples(xp, n, groups * w.shape[2] * y.shape[3] * y.itemsize, body)
    return y.reshape((n, groups * w.shape[1]) + out)


def _conv_transpose_forward(xp: Any, y: Any, w: Any, *bias: Any, stride: tuple, padding: tuple,
                            dilation: tuple, groups: int, size: tuple) -> Any:
    y, w = _compute(y), _compute(w)
    kernel = w.shape[2:]
    o, cg = w.shape[:2]
    d = len(kernel)
    if all(s == 1 for s in stride):
        # stride 1: the forward convolution of y with the kernel flipped and in/out swapped
        wf = w.reshape((groups, o // groups, cg) + kernel).swapaxes(1, 2)
        wf = xp.flip(wf.reshape((groups * cg, o // groups) + kernel), tuple(range(2, 2 + d)))
        pads = tuple((dl * (k - 1) - lo, n - m + lo) for k, dl, (lo, _), n, m in
                     zip(kernel, dilation, padding, size, y.shape[2:]))
        return _conv_forward(xp, y, wf, *bias, stride=stride, padding=pads, dilation=dilation,
                             groups=groups)
    wt = w.reshape(groups, o // groups, -1).swapaxes(1, 2)  # (G, C/G * K, O/G)
    yg = _grouped(xp.ascontiguousarray(y), groups)  # (N, G, O/G, P)
    n, out = y.shape[0], y.shape[2:]
    x = xp.empty((n, groups * cg) + tuple(size), y.dtype)

    def body(lo: int, hi: int) -> None:
        cols = xp.matmul(wt, yg[lo:hi])  # (n, G, C/G * K, P)
        cols = cols.reshape((hi - lo, groups * cg) + kernel + out)
        x[lo:hi] = col2im(xp, cols, size, kernel, stride, padding, dilation)

    _over_samples(xp, n, wt.shape[0] * wt.shape[1] * yg.shape[3] * y.itemsize, body)
    return _add_bias(x, bias)


def _conv_weight_forward(xp: Any, x: Any, g: Any, *, stride: tuple, padding: tuple,
                         dilation: tuple, groups: int, kernel: tuple) -> Any:
    x, g = _compute(x), _compute(g)
    out = g.shape[2:]
    shape = (g.shape[1], x.shape[1] // groups) + tuple(kernel)
    if _winograd.usable(x, g, shape, stride, dilation, groups):
        return _winograd_weight(x, g, padding)
    g = _grouped(xp.ascontiguousarray(g), groups)  # (N, G, O/G, P)
    n, _, o, p = g.shape
    if o > p:  # few positions, many channels: one GEMM over (N * P), on transposed copies
        cols = _im2col(xp, x, kernel, out, stride, padding, dilation, groups)
        gw = xp.matmul(g.transpose(1, 2, 0, 3).reshape(groups, o, n * p),
                       cols.transpose(1, 0, 3, 2).reshape(groups, n * p, -1))
        return gw.reshape(shape)
    # per-sample GEMMs, summed per chunk, then over the chunks in batch order (the same sum
    # whichever thread ran which chunk)
    partial: dict = {}

    def body(lo: int, hi: int) -> None:
        cols = _im2col(xp, x[lo:hi], kernel, out, stride, padding, dilation, groups)
        partial[lo] = xp.matmul(g[lo:hi], cols.swapaxes(2, 3)).sum(axis=0)

    _over_samples(xp, n, x.shape[1] * math.prod(kernel) * p * g.itemsize, body)
    gw = xp.zeros((groups, o, math.prod(shape[1:])), g.dtype)
    for lo in sorted(partial):
        gw += partial[lo]
    return gw.reshape(shape)


def _conv_meta(x: Any, w: Any, *bias: Any, stride: tuple, padding: tuple, dilation: tuple,
               groups: int, activation: Optional[str] = None) -> tuple:
    out = conv_out_size("convolution", x.shape[2:], w.shape[2:], stride, padding, dilation)
    return (x.shape[0], w.shape[0]) + out, x.dtype


def _conv_transpose_meta(y: Any, w: Any, *bias: Any, stride: tuple, padding: tuple,
                         dilation: tuple, groups: int, size: tuple) -> tuple:
    return (y.shape[0], w.shape[1] * groups) + tuple(size), y.dtype


def _conv_weight_meta(x: Any, g: Any, *, stride: tuple, padding: tuple, dilation: tuple,
                      groups: int, kernel: tuple) -> tuple:
    return (g.shape[1], x.shape[1] // groups) + tuple(kernel), x.dtype


def _geometry(attrs: dict) -> dict:
    return {k: attrs[k] for k in ("stride", "padding", "dilation", "groups")}


def _fit(t: Tensor, spatial: tuple) -> Tensor:
    """``t`` narrowed to ``spatial`` (a transposed convolution's ``output_padding`` leaves rows
    that the forward convolution of its gradient would count)."""
    if t.shape[2:] == tuple(spatial):
        return t
    return t[(slice(None), slice(None)) + tuple(slice(0, n) for n in spatial)]


def _bias_grad(g: Tensor) -> Tensor:
    return g.sum(dim=(0,) + tuple(range(2, g.ndim)))


def _conv_vjp(ctx: Any, g: Tensor) -> tuple:
    x, w = ctx.inputs[:2]
    geo, need = _geometry(ctx.attrs), ctx.needs_input_grad
    gx = apply(CONV_TRANSPOSE, g, w, size=x.shape[2:], **geo) if need[0] else None
    gw = apply(CONV_WEIGHT, x, g, kernel=w.shape[2:], **geo) if need[1] else None
    return gx, gw, (_bias_grad(g) if len(need) > 2 and need[2] else None)


def _conv_transpose_vjp(ctx: Any, g: Tensor) -> tuple:
    y, w = ctx.inputs[:2]
    geo, need = _geometry(ctx.attrs), ctx.needs_input_grad
    gy = _fit(apply(CONV, g, w, **geo), y.shape[2:]) if need[0] else None
    gw = apply(CONV_WEIGHT, g, y, kernel=w.shape[2:], **geo) if need[1] else None
    return gy, gw, (_bias_grad(g) if len(need) > 2 and need[2] else None)


def _conv_weight_vjp(ctx: Any, h: Tensor) -> tuple:
    x, g = ctx.inputs
    geo, need = _geometry(ctx.attrs), ctx.needs_input_grad
    gx = apply(CONV_TRANSPOSE, g, h, size=x.shape[2:], **geo) if need[0] else None
    gg = _fit(apply(CONV, x, h, **geo), g.shape[2:]) if need[1] else None
    return gx, gg


CONV = defop("convolution", _conv_forward, _conv_meta, _conv_vjp, amp="lower", save_inputs=(0, 1),
             doc="N-d convolution (cross-correlation) of (N, C, *S) by (O, C/groups, *K).")
CONV_TRANSPOSE = defop("conv_transpose", _conv_transpose_forward, _conv_transpose_meta,
                       _conv_transpose_vjp, amp="lower", save_inputs=(0, 1),
                       doc="Transposed convolution: the input-gradient of `convolution`.")
CONV_WEIGHT = defop("convolution_backward_weight", _conv_weight_forward, _conv_weight_meta,
                    _conv_weight_vjp, amp="lower",
                    doc="The weight-gradient of `convolution`: patches of x against g.")


# ---------------------------------------------------------------- front doors
def _check_operands(name: str, d: int, input: Any, weight: Any, bias: Any, groups: int) -> tuple:
    x = require_tensor(name, input)
    w = require_tensor(name, weight, "weight")
    if bias is not None:
        x, w, bias = autocast_args(CONV, x, w, require_tensor(name, bias, "bias"))
    else:
        x, w = autocast_args(CONV, x, w)
    if x.ndim not in (d + 1, d + 2):
        raise op_error(RuntimeError, name, f"Expected {d + 1}D (unbatched) or {d + 2}D (batched) "
                       f"input to {name}, but got input of size: {list(x.shape)}", x._data)
    if w.ndim != d + 2:
        raise op_error(RuntimeError, name, f"weight should have {d + 2} dimensions, but got weight "
                       f"of size {list(w.shape)}", w._data)
    if 0 in w.shape[2:]:
        raise op_error(RuntimeError, name, "kernel size should be greater than zero, but got "
                       f"kernel size {list(w.shape[2:])}", w._data)
    if not isinstance(groups, (int, np.integer)) or groups <= 0:
        raise op_error(RuntimeError, name, "non-positive groups is not supported")
    if x._data.dtype != w._data.dtype:
        raise op_error(RuntimeError, name, f"Input type ({x.dtype.name}) and weight type "
                       f"({w.dtype.name}) should be the same", x._data, w._data)
    if bias is not None:
        bias = require_tensor(name, bias, "bias")
        if bias._data.dtype != x._data.dtype:
            raise op_error(RuntimeError, name, f"Input type ({x.dtype.name}) and bias type "
                           f"({bias.dtype.name}) should be the same", x._data, bias._data)
    return x, w, bias


def _check_geometry(name: str, stride: tuple, padding: tuple, dilation: tuple) -> None:
    if any(s <= 0 for s in stride):
        raise op_error(RuntimeError, name, "non-positive stride is not supported")
    if any(p < 0 for p in padding):
        raise op_error(RuntimeError, name, "negative padding is not supported")
    if any(dl <= 0 for dl in dilation):
        raise op_error(RuntimeError, name, "non-positive dilation is not supported")


def _check_bias(name: str, bias: Optional[Tensor], w: Tensor, channels: int) -> None:
    if bias is not None and tuple(bias.shape) != (channels,):
        raise op_error(RuntimeError, name, f"Given weight of size {list(w.shape)}, expected bias "
                       f"to be 1-dimensional with {channels} elements, but got bias of size "
                       f"{list(bias.shape)} instead", w._data, bias._data)


def _batched(x: Tensor, d: int) -> Tensor:
    return x if x.ndim == d + 2 else x.unsqueeze(0)


def _convnd(name: str, d: int, input: Tensor, weight: Tensor, bias: Optional[Tensor],
            stride: Any, padding: Any, dilation: Any, groups: int) -> Tensor:
    x, w, bias = _check_operands(name, d, input, weight, bias, groups)
    stride = ntuple(name, stride, d, "stride")
    dilation = ntuple(name, dilation, d, "dilation")
    kernel = w.shape[2:]
    if isinstance(padding, str):
        if padding == "valid":
            pads = ((0, 0),) * d
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise op_error(RuntimeError, name, "padding='same' is not supported for strided "
                               "convolutions")
            # an odd total pads one more on the right, as PyTorch does
            total = [dl * (k - 1) for k, dl in zip(kernel, dilation)]
            pads = tuple((t // 2, t - t // 2) for t in total)
        else:
            raise op_error(RuntimeError, name, f"Invalid padding string: {padding!r}")
        _check_geometry(name, stride, (0,), dilation)
    else:
        padding = ntuple(name, padding, d, "padding")
        _check_geometry(name, stride, padding, dilation)
        pads = tuple((p, p) for p in padding)
    xb = _batched(x, d)
    if xb.shape[1] != w.shape[1] * groups:
        raise op_error(RuntimeError, name, f"Given groups={groups}, weight of size "
                       f"{list(w.shape)}, expected input{list(xb.shape)} to have "
                       f"{w.shape[1] * groups} channels, but got {xb.shape[1]} channels instead",
                       x._data, w._data)
    if w.shape[0] % groups:
        raise op_error(RuntimeError, name, f"Given groups={groups}, expected weight to be "
                       f"divisible by {groups} at dimension 0, but got weight of size "
                       f"{list(w.shape)} instead", w._data)
    _check_bias(name, bias, w, w.shape[0])
    conv_out_size(name, xb.shape[2:], kernel, stride, pads, dilation)
    args = (xb, w) if bias is None else (xb, w, bias)
    out = apply(CONV, *args, stride=stride, padding=pads, dilation=dilation, groups=int(groups))
    return out if x.ndim == d + 2 else out.squeeze(0)


def _conv_transposend(name: str, d: int, input: Tensor, weight: Tensor, bias: Optional[Tensor],
                      stride: Any, padding: Any, output_padding: Any, groups: int,
                      dilation: Any) -> Tensor:
    x, w, bias = _check_operands(name, d, input, weight, bias, groups)
    if isinstance(padding, str):
        raise op_error(TypeError, name, "argument 'padding' must be tuple of ints, not str")
    stride = ntuple(name, stride, d, "stride")
    padding = ntuple(name, padding, d, "padding")
    dilation = ntuple(name, dilation, d, "dilation")
    out_pad = ntuple(name, output_padding, d, "output_padding")
    _check_geometry(name, stride, padding, dilation)
    if any(op >= s and op >= dl for op, s, dl in zip(out_pad, stride, dilation)) or any(
            op < 0 for op in out_pad):
        raise op_error(RuntimeError, name, f"output padding must be smaller than either stride or "
                       f"dilation, but got output_padding={list(out_pad)}, stride={list(stride)}, "
                       f"dilation={list(dilation)}")
    xb = _batched(x, d)
    if xb.shape[1] != w.shape[0]:
        raise op_error(RuntimeError, name, f"Given transposed=1, weight of size {list(w.shape)}, "
                       f"expected input{list(xb.shape)} to have {w.shape[0]} channels, but got "
                       f"{xb.shape[1]} channels instead", x._data, w._data)
    if w.shape[0] % groups:
        raise op_error(RuntimeError, name, f"Given groups={groups}, expected weight to be "
                       f"divisible by {groups} at dimension 0, but got weight of size "
                       f"{list(w.shape)} instead", w._data)
    _check_bias(name, bias, w, w.shape[1] * groups)
    size = tuple((n - 1) * s - 2 * p + dl * (k - 1) + op + 1 for n, s, p, dl, k, op in
                 zip(xb.shape[2:], stride, padding, dilation, w.shape[2:], out_pad))
    if any(n <= 0 for n in size):
        raise op_error(RuntimeError, name, f"Given input size per channel: {list(xb.shape[2:])}. "
                       f"Calculated output size per channel: {list(size)}. Output size is too "
                       "small", x._data, w._data)
    args = (xb, w) if bias is None else (xb, w, bias)
    out = apply(CONV_TRANSPOSE, *args, stride=stride, padding=tuple((p, p) for p in padding),
                dilation=dilation, groups=int(groups), size=size)
    return out if x.ndim == d + 2 else out.squeeze(0)


def conv1d(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None, stride: Any = 1,
           padding: Any = 0, dilation: Any = 1, groups: int = 1) -> Tensor:
    """1-d convolution (cross-correlation) over an input of shape (N, C_in, L) or (C_in, L).

    Args:
        input: (N, C_in, L) or unbatched (C_in, L).
        weight: (C_out, C_in / groups, kW).
        bias: optional (C_out,).
        stride, dilation: int or 1-tuple.
        padding: int, 1-tuple, ``'valid'`` or ``'same'`` (stride 1 only).
        groups: split input and output channels into this many groups.

    Example:
        >>> conv1d(ds.randn(2, 4, 9), ds.randn(8, 4, 3), padding=1).shape
        deepseek.Size([2, 8, 9])
    """
    return _convnd("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None, stride: Any = 1,
           padding: Any = 0, dilation: Any = 1, groups: int = 1) -> Tensor:
    """2-d convolution over (N, C_in, H, W) or (C_in, H, W) by weight (C_out, C_in / groups,
    kH, kW); arguments as in :func:`conv1d`, with ints or 2-tuples.

    Example:
        >>> conv2d(ds.randn(2, 3, 8, 8), ds.randn(4, 3, 3, 3), stride=2).shape
        deepseek.Size([2, 4, 3, 3])
    """
    return _convnd("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def conv3d(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None, stride: Any = 1,
           padding: Any = 0, dilation: Any = 1, groups: int = 1) -> Tensor:
    """3-d convolution over (N, C_in, D, H, W) or (C_in, D, H, W) by weight
    (C_out, C_in / groups, kD, kH, kW); arguments as in :func:`conv1d`, with ints or 3-tuples."""
    return _convnd("conv3d", 3, input, weight, bias, stride, padding, dilation, groups)


def conv_transpose1d(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None,
                     stride: Any = 1, padding: Any = 0, output_padding: Any = 0, groups: int = 1,
                     dilation: Any = 1) -> Tensor:
    """1-d transposed convolution ("deconvolution"), the gradient of :func:`conv1d`.

    Args:
        input: (N, C_in, L) or unbatched (C_in, L).
        weight: (C_in, C_out / groups, kW).
        bias: optional (C_out,).
        stride, padding, dilation: as for the convolution this one transposes.
        output_padding: extra size added to one side of the output (< stride or dilation).
        groups: channel groups.

    Shape: L_out = (L - 1) * stride - 2 * padding + dilation * (kW - 1) + output_padding + 1.
    """
    return _conv_transposend("conv_transpose1d", 1, input, weight, bias, stride, padding,
                             output_padding, groups, dilation)


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None,
                     stride: Any = 1, padding: Any = 0, output_padding: Any = 0, groups: int = 1,
                     dilation: Any = 1) -> Tensor:
    """2-d transposed convolution; arguments as in :func:`conv_transpose1d`, ints or 2-tuples.

    Example:
        >>> conv_transpose2d(ds.randn(1, 4, 5, 5), ds.randn(4, 2, 3, 3), stride=2).shape
        deepseek.Size([1, 2, 11, 11])
    """
    return _conv_transposend("conv_transpose2d", 2, input, weight, bias, stride, padding,
                             output_padding, groups, dilation)


def conv_transpose3d(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None,
                     stride: Any = 1, padding: Any = 0, output_padding: Any = 0, groups: int = 1,
                     dilation: Any = 1) -> Tensor:
    """3-d transposed convolution; arguments as in :func:`conv_transpose1d`, ints or 3-tuples."""
    return _conv_transposend("conv_transpose3d", 3, input, weight, bias, stride, padding,
                             output_padding, groups, dilation)


# ---------------------------------------------------------------- unfold / fold
def _unfold_forward(xp: Any, x: Any, kernel: tuple, stride: tuple, padding: tuple,
                    dilation: tuple) -> Any:
    out = conv_out_size("im2col", x.shape[2:], kernel, stride, padding, dilation)
    win = window_view(xp, pad_spatial(xp, x, padding), kernel, out, stride, dilation)
    cols = win.reshape(x.shape[0], x.shape[1] * math.prod(kernel), math.prod(out))
    return cols.copy() if xp.may_share_memory(cols, x) else cols  # a 1x1 kernel is a view


def _unfold_meta(x: Any, kernel: tuple, stride: tuple, padding: tuple, dilation: tuple) -> tuple:
    out = conv_out_size("im2col", x.shape[2:], kernel, stride, padding, dilation)
    return (x.shape[0], x.shape[1] * math.prod(kernel), math.prod(out)), x.dtype


def _fold_forward(xp: Any, cols: Any, size: tuple, kernel: tuple, stride: tuple, padding: tuple,
                  dilation: tuple) -> Any:
    out = conv_out_size("col2im", size, kernel, stride, padding, dilation)
    n = cols.shape[0]
    blocks = cols.reshape((n, cols.shape[1] // math.prod(kernel)) + tuple(kernel) + out)
    return xp.ascontiguousarray(col2im(xp, blocks, size, kernel, stride, padding, dilation))


def _fold_meta(cols: Any, size: tuple, kernel: tuple, stride: tuple, padding: tuple,
               dilation: tuple) -> tuple:
    return (cols.shape[0], cols.shape[1] // math.prod(kernel)) + tuple(size), cols.dtype


def _unfold_vjp(ctx: Any, g: Tensor) -> tuple:
    return (apply(FOLD, g, size=ctx.shapes[0][2:], **ctx.attrs),)


def _fold_vjp(ctx: Any, g: Tensor) -> tuple:
    a = ctx.attrs
    return (apply(UNFOLD, g, kernel=a["kernel"], stride=a["stride"], padding=a["padding"],
                  dilation=a["dilation"]),)


UNFOLD = defop("im2col", _unfold_forward, _unfold_meta, _unfold_vjp, save_inputs=False,
               doc="Sliding local blocks of (N, C, *S) as columns (N, C * prod(K), L).")
FOLD = defop("col2im", _fold_forward, _fold_meta, _fold_vjp, save_inputs=False,
             doc="Sum of columns (N, C * prod(K), L) back into (N, C, *S): unfold's transpose.")


def _block_geometry(name: str, kernel_size: Any, dilation: Any, padding: Any,
                    stride: Any) -> dict:
    kernel = ntuple(name, kernel_size, 2, "kernel_size")
    geo = {"kernel": kernel, "stride": ntuple(name, stride, 2, "stride"),
               "dilation": ntuple(name, dilation, 2, "dilation")}
    padding = ntuple(name, padding, 2, "padding")
    _check_geometry(name, geo["stride"], padding, geo["dilation"])
    if any(k <= 0 for k in kernel):
        raise op_error(RuntimeError, name, f"kernel size should be greater than zero, but got "
                       f"kernel_size={list(kernel)}")
    geo["padding"] = tuple((p, p) for p in padding)
    return geo


def unfold(input: Tensor, kernel_size: Any, dilation: Any = 1, padding: Any = 0,
           stride: Any = 1) -> Tensor:
    """Extract sliding local blocks (im2col) of a (N, C, H, W) or (C, H, W) input.

    Returns (N, C * prod(kernel_size), L), L being the number of blocks.

    Example:
        >>> unfold(ds.randn(1, 2, 4, 4), 2).shape
        deepseek.Size([1, 8, 9])
    """
    x = require_tensor("unfold", input)
    if x.ndim not in (3, 4):
        raise op_error(RuntimeError, "unfold", "Expected 3D or 4D (batch mode) tensor with "
                       f"possibly 0 batch size and other non-zero dimensions for input, but got: "
                       f"{list(x.shape)}", x._data)
    geo = _block_geometry("unfold", kernel_size, dilation, padding, stride)
    out = apply(UNFOLD, _batched(x, 2), **geo)
    return out if x.ndim == 4 else out.squeeze(0)


def fold(input: Tensor, output_size: Any, kernel_size: Any, dilation: Any = 1, padding: Any = 0,
         stride: Any = 1) -> Tensor:
    """Sum sliding local blocks (N, C * prod(kernel_size), L) into (N, C, *output_size): col2im,
    the transpose of :func:`unfold` (overlapping blocks add up).

    Example:
        >>> fold(ds.ones(1, 4, 4), (3, 3), 2).shape
        deepseek.Size([1, 1, 3, 3])
    """
    cols = require_tensor("fold", input)
    if cols.ndim not in (2, 3):
        raise op_error(RuntimeError, "fold", "Expected 2D or 3D (batch mode) input tensor with "
                       f"possibly 0 batch size and non-zero dimensions for input, but got: "
                       f"{list(cols.shape)}", cols._data)
    geo = _block_geometry("fold", kernel_size, dilation, padding, stride)
    size = ntuple("fold", output_size, 2, "output_size")
    cb = cols if cols.ndim == 3 else cols.unsqueeze(0)
    kp = math.prod(geo["kernel"])
    blocks = conv_out_size("fold", size, geo["kernel"], geo["stride"], geo["padding"],
                           geo["dilation"])
    if cb.shape[1] % kp or cb.shape[2] != math.prod(blocks):
        raise op_error(RuntimeError, "fold", f"Given output_size={size}, kernel_size="
                       f"{geo['kernel']}, dilation={geo['dilation']}, stride={geo['stride']}, "
                       f"expected an input of shape (N, C * {kp}, {math.prod(blocks)}), but got "
                       f"{list(cols.shape)}", cols._data)
    out = apply(FOLD, cb, size=size, **geo)
    return out if cols.ndim == 3 else out.squeeze(0)
