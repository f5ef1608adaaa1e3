"""One time step of the recurrent layers as a primitive each: ``_lstm_step``, ``_gru_step`` and
``_rnn_step`` take the step's input projection ``gi = x W_ihᵀ + b_ih`` (one GEMM per sequence,
made by the caller), the previous state and the recurrent weights, and return the new state.

Each math body is written once over a small namespace (:class:`_Arrays` on NumPy arrays,
:class:`_Tensors` on Tensors). The forward runs it on arrays. The vjp recomputes the gates from
the saved inputs and runs on arrays when nothing watches (plain backward); under
``create_graph``, forward-mode AD or ``ds.jit`` capture it runs on Tensors, so it is itself
differentiable and every op it makes is recorded.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from .._errors import op_error
from ..autograd.grad_mode import STATE
from ..tensor import Tensor
from ._opdef import TRACER, apply, defop
from .elementwise import _sigmoid_np, where
from .movement import cat

__all__ = ["lstm_step", "gru_step", "rnn_step"]


class _Arrays:
    """The math bodies' operations on NumPy arrays."""

    sigmoid = staticmethod(_sigmoid_np)
    tanh = staticmethod(np.tanh)

    @staticmethod
    def relu(x: np.ndarray) -> np.ndarray:
        return np.maximum(x, 0)

    @staticmethod
    def relu_grad(g: np.ndarray, out: np.ndarray) -> np.ndarray:
        return np.where(out > 0, g, 0).astype(g.dtype, copy=False)

    @staticmethod
    def cat(parts: list) -> np.ndarray:
        return np.concatenate(parts, axis=-1)

    @staticmethod
    def t(x: np.ndarray) -> np.ndarray:
        return x.T


class _Tensors:
    """The same operations on Tensors (recorded, differentiable)."""

    @staticmethod
    def sigmoid(x: Tensor) -> Tensor:
        return x.sigmoid()

    @staticmethod
    def tanh(x: Tensor) -> Tensor:
        return x.tanh()

    @staticmethod
    def relu(x: Tensor) -> Tensor:
        return x.relu()

    @staticmethod
    def relu_grad(g: Tensor, out: Tensor) -> Tensor:
        return where(out > 0, g, 0.0)

    @staticmethod
    def cat(parts: list) -> Tensor:
        return cat(parts, -1)

    @staticmethod
    def t(x: Tensor) -> Tensor:
        return x.mT


def _backward_namespace(g: Tensor) -> Any:
    """Arrays when no one records the vjp's ops; Tensors when it must be differentiable."""
    if STATE.enabled or TRACER[0] is not None or type(g._data) is not np.ndarray:
        return _Tensors
    return _Arrays


def _unwrap(k: Any, tensors: Any) -> list:
    if k is _Tensors:
        return list(tensors)
    return [None if t is None else t._data for t in tensors]


def _wrap(k: Any, grads: tuple) -> tuple:
    if k is _Tensors:
        return grads
    return tuple(None if g is None else Tensor._wrap(g) for g in grads)


def _optional(rest: Any, bias: bool, proj: bool = False) -> tuple:
    rest = list(rest)
    b = rest.pop(0) if bias else None
    w_hr = rest.pop(0) if proj else None
    return b, w_hr


def _recurrent_gemm(k: Any, h: Any, w_hh: Any, b_hh: Any) -> Any:
    gh = h @ k.t(w_hh)
    return gh if b_hh is None else gh + b_hh


def _check(name: str, gi: Any, state: Any, w_hh: Any, gates: int, packed: bool, b_hh: Any,
           w_hr: Any = None) -> tuple:
    """The shape rule shared by the steps: gi ``(B, gates * H)``, weight_hh ``(gates * H, P)``
    (``P`` is ``H`` but for a projecting LSTM), a state of ``P`` (or ``P + H`` packed) columns;
    the new state is shaped as the old one, and one dtype runs throughout."""
    arrays = [a for a in (gi, state, w_hh, b_hh, w_hr) if a is not None]
    ok = gi.ndim == 2 and state.ndim == 2 and w_hh.ndim == 2 and w_hh.shape[0] % gates == 0
    if ok:
        batch, out, hidden = state.shape[0], w_hh.shape[1], w_hh.shape[0] // gates
        ok = (gi.shape == (batch, gates * hidden)
              and state.shape[1] == (out + hidden if packed else out)
              and (b_hh is None or b_hh.shape == (gates * hidden,))
              and (out == hidden if w_hr is None else w_hr.shape == (out, hidden)))
    if not ok:
        state_cols = "P + H" if packed else "H"
        raise op_error(RuntimeError, name, f"expected gi (B, {gates}*H), state (B, {state_cols}), "
                       f"weight_hh ({gates}*H, P), bias_hh ({gates}*H), weight_hr (P, H)",
                       *arrays)
    if len({a.dtype for a in arrays}) != 1:
        raise op_error(RuntimeError, name, "expected all operands in one dtype", *arrays)
    return state.shape, state.dtype


# ---------------------------------------------------------------- LSTM
def _lstm_math(k: Any, gi: Any, h: Any, c: Any, w_hh: Any, b_hh: Any, w_hr: Any) -> tuple:
    """Gates in PyTorch's order ``i, f, g, o``; returns them, the new cell state, its tanh,
    the unprojected and the (projected) new hidden state."""
    gates = gi + _recurrent_gemm(k, h, w_hh, b_hh)
    n = c.shape[-1]
    i, f = k.sigmoid(gates[:, :n]), k.sigmoid(gates[:, n:2 * n])
    g, o = k.tanh(gates[:, 2 * n:3 * n]), k.sigmoid(gates[:, 3 * n:])
    c_new = f * c + i * g
    tanh_c = k.tanh(c_new)
    h_full = o * tanh_c
    return i, f, g, o, c_new, tanh_c, h_full, (h_full if w_hr is None else h_full @ k.t(w_hr))


def _lstm_forward(xp: Any, gi: Any, state: Any, w_hh: Any, *rest: Any, bias: bool,
                  proj: bool) -> Any:
    b_hh, w_hr = _optional(rest, bias, proj)
    p = w_hh.shape[1]
    *_, c_new, _, _, h_new = _lstm_math(_Arrays, gi, state[:, :p], state[:, p:], w_hh, b_hh,
                                        w_hr)
    return xp.concatenate([h_new, c_new], axis=-1)


def _lstm_meta(gi: Any, state: Any, w_hh: Any, *rest: Any, bias: bool, proj: bool) -> tuple:
    b_hh, w_hr = _optional(rest, bias, proj)
    return _check("_lstm_step", gi, state, w_hh, 4, True, b_hh, w_hr)


def _lstm_vjp(ctx: Any, g: Tensor) -> tuple:
    k = _backward_namespace(g)
    gi, state, w_hh, *rest = _unwrap(k, ctx.inputs)
    b_hh, w_hr = _optional(rest, ctx.attrs["bias"], ctx.attrs["proj"])
    (g,) = _unwrap(k, (g,))
    p = w_hh.shape[1]
    h, c = state[:, :p], state[:, p:]
    i, f, gg, o, _, tanh_c, h_full, _ = _lstm_math(k, gi, h, c, w_hh, b_hh, w_hr)
    g_h, g_c = g[:, :p], g[:, p:]
    g_w_hr = None
    if w_hr is not None:
        g_w_hr = k.t(g_h) @ h_full
        g_h = g_h @ w_hr
    g_c = g_c + g_h * o * (1 - tanh_c * tanh_c)
    d = k.cat([g_c * gg * i * (1 - i), g_c * c * f * (1 - f), g_c * i * (1 - gg * gg),
               g_h * tanh_c * o * (1 - o)])
    needs = ctx.needs_input_grad
    grads = (d, k.cat([d @ w_hh, g_c * f]), k.t(d) @ h if needs[2] else None)
    if b_hh is not None:
        grads += (d.sum(0) if needs[3] else None,)
    if w_hr is not None:
        grads += (g_w_hr,)
    return _wrap(k, grads)


LSTM_STEP = defop("_lstm_step", _lstm_forward, _lstm_meta, _lstm_vjp,
                  doc="One LSTM step on the packed state ``[h, c]``: returns the new ``[h, c]``.")


def lstm_step(gi: Tensor, state: Tensor, weight_hh: Tensor, bias_hh: Optional[Tensor] = None,
              weight_hr: Optional[Tensor] = None) -> Tensor:
    """One LSTM step: ``gi`` ``(B, 4H)`` the input projection, ``state`` ``(B, P + H)`` the
    previous ``h`` and ``c`` side by side (``P`` is ``H``, or the projection size); returns the
    new state packed the same way."""
    extra = [w for w in (bias_hh, weight_hr) if w is not None]
    return apply(LSTM_STEP, gi, state, weight_hh, *extra, bias=bias_hh is not None,
                 proj=weight_hr is not None)


# ---------------------------------------------------------------- GRU
def _gru_math(k: Any, gi: Any, h: Any, w_hh: Any, b_hh: Any) -> tuple:
    """Gates in PyTorch's order ``r, z, n``; returns ``r, z, n``, the recurrent part of ``n``'s
    pre-activation and the new state."""
    gh = _recurrent_gemm(k, h, w_hh, b_hh)
    n = h.shape[-1]
    r = k.sigmoid(gi[:, :n] + gh[:, :n])
    z = k.sigmoid(gi[:, n:2 * n] + gh[:, n:2 * n])
    hn = gh[:, 2 * n:]
    new = k.tanh(gi[:, 2 * n:] + r * hn)
    return r, z, new, hn, new + z * (h - new)


def _gru_forward(xp: Any, gi: Any, h: Any, w_hh: Any, *rest: Any, bias: bool) -> Any:
    b_hh, _ = _optional(rest, bias)
    return _gru_math(_Arrays, gi, h, w_hh, b_hh)[-1]


def _gru_meta(gi: Any, h: Any, w_hh: Any, *rest: Any, bias: bool) -> tuple:
    b_hh, _ = _optional(rest, bias)
    return _check("_gru_step", gi, h, w_hh, 3, False, b_hh)


def _gru_vjp(ctx: Any, g: Tensor) -> tuple:
    k = _backward_namespace(g)
    gi, h, w_hh, *rest = _unwrap(k, ctx.inputs)
    b_hh, _ = _optional(rest, ctx.attrs["bias"])
    (g,) = _unwrap(k, (g,))
    r, z, n, hn, _ = _gru_math(k, gi, h, w_hh, b_hh)
    d_n = g * (1 - z) * (1 - n * n)
    d_r = d_n * hn * r * (1 - r)
    d_z = g * (h - n) * z * (1 - z)
    d_gh = k.cat([d_r, d_z, d_n * r])
    needs = ctx.needs_input_grad
    grads = (k.cat([d_r, d_z, d_n]), g * z + d_gh @ w_hh, k.t(d_gh) @ h if needs[2] else None)
    if b_hh is not None:
        grads += (d_gh.sum(0) if needs[3] else None,)
    return _wrap(k, grads)


GRU_STEP = defop("_gru_step", _gru_forward, _gru_meta, _gru_vjp,
                 doc="One GRU step: the new hidden state.")


def gru_step(gi: Tensor, hx: Tensor, weight_hh: Tensor,
             bias_hh: Optional[Tensor] = None) -> Tensor:
    """One GRU step: ``gi`` ``(B, 3H)`` the input projection, ``hx`` ``(B, H)``; returns the
    new ``h``."""
    extra = [] if bias_hh is None else [bias_hh]
    return apply(GRU_STEP, gi, hx, weight_hh, *extra, bias=bias_hh is not None)


# ---------------------------------------------------------------- Elman RNN
def _rnn_forward(xp: Any, gi: Any, h: Any, w_hh: Any, *rest: Any, bias: bool,
                 nonlinearity: str) -> Any:
    b_hh, _ = _optional(rest, bias)
    pre = gi + _recurrent_gemm(_Arrays, h, w_hh, b_hh)
    return _Arrays.tanh(pre) if nonlinearity == "tanh" else _Arrays.relu(pre)


def _rnn_meta(gi: Any, h: Any, w_hh: Any, *rest: Any, bias: bool, nonlinearity: str) -> tuple:
    if nonlinearity not in ("tanh", "relu"):
        raise op_error(ValueError, "_rnn_step", f"nonlinearity must be 'tanh' or 'relu', got "
                       f"{nonlinearity!r}")
    b_hh, _ = _optional(rest, bias)
    return _check("_rnn_step", gi, h, w_hh, 1, False, b_hh)


def _rnn_vjp(ctx: Any, g: Tensor) -> tuple:
    k = _backward_namespace(g)
    _, h, w_hh, *_ = _unwrap(k, ctx.inputs)
    (g, out) = _unwrap(k, (g, ctx.out))
    if ctx.attrs["nonlinearity"] == "tanh":
        d = g * (1 - out * out)
    else:
        d = k.relu_grad(g, out)
    needs = ctx.needs_input_grad
    grads = (d, d @ w_hh, k.t(d) @ h if needs[2] else None)
    if ctx.attrs["bias"]:
        grads += (d.sum(0) if needs[3] else None,)
    return _wrap(k, grads)


RNN_STEP = defop("_rnn_step", _rnn_forward, _rnn_meta, _rnn_vjp, save_output=True,
                 doc="One Elman RNN step (tanh or relu): the new hidden state.")


def rnn_step(gi: Tensor, hx: Tensor, weight_hh: Tensor, bias_hh: Optional[Tensor] = None,
             nonlinearity: str = "tanh") -> Tensor:
    """One Elman RNN step: ``gi`` ``(B, H)`` the input projection, ``hx`` ``(B, H)``; returns
    ``nonlinearity(gi + hx W_hhᵀ + b_hh)``."""
    extra = [] if bias_hh is None else [bias_hh]
    return apply(RNN_STEP, gi, hx, weight_hh, *extra, bias=bias_hh is not None,
                 nonlinearity=nonlinearity)
