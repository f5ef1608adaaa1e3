"""Rows for the recurrent step primitives (``deepseek/ops/recurrent.py``). torch has no op of the
same signature, so its side composes the step from its elementwise ops and GEMMs."""

from . import OpInfo, S, T


def _is_torch(lib):
    return lib.__name__ == "torch"


def lstm_step(lib, gi, state, w_hh, b_hh=None, w_hr=None):
    if not _is_torch(lib):
        from deepseek.ops.recurrent import lstm_step as step

        return step(gi, state, w_hh, b_hh, w_hr)
    p = w_hh.shape[1]
    h, c = state[:, :p], state[:, p:]
    gates = gi + h @ w_hh.T + (0 if b_hh is None else b_hh)
    i, f, g, o = gates.chunk(4, -1)
    c = f.sigmoid() * c + i.sigmoid() * g.tanh()
    h = o.sigmoid() * c.tanh()
    return lib.cat([h if w_hr is None else h @ w_hr.T, c], -1)


def lstm_step_no_bias(lib, gi, state, w_hh, w_hr=None):
    return lstm_step(lib, gi, state, w_hh, None, w_hr)


def gru_step(lib, gi, h, w_hh, b_hh=None):
    if not _is_torch(lib):
        from deepseek.ops.recurrent import gru_step as step

        return step(gi, h, w_hh, b_hh)
    ir, iz, in_ = gi.chunk(3, -1)
    hr, hz, hn = (h @ w_hh.T + (0 if b_hh is None else b_hh)).chunk(3, -1)
    r, z = (ir + hr).sigmoid(), (iz + hz).sigmoid()
    n = (in_ + r * hn).tanh()
    return n + z * (h - n)


def rnn_step(lib, gi, h, w_hh, b_hh=None, nonlinearity="tanh"):
    if not _is_torch(lib):
        from deepseek.ops.recurrent import rnn_step as step

        return step(gi, h, w_hh, b_hh, nonlinearity)
    pre = gi + h @ w_hh.T + (0 if b_hh is None else b_hh)
    return pre.tanh() if nonlinearity == "tanh" else pre.relu()


_B, _H, _P = 3, 4, 2

ROWS = [
    OpInfo("_lstm_step", lstm_step, [
        S(T((_B, 4 * _H)), T((_B, 2 * _H)), T((4 * _H, _H)), T((4 * _H,))),
        S(T((_B, 4 * _H)), T((_B, _P + _H)), T((4 * _H, _P)), T((4 * _H,)), T((_P, _H)),
          name="proj"),
        S(T((1, 4 * _H)), T((1, 2 * _H)), T((4 * _H, _H)), T((4 * _H,), grad=False),
          name="batch1_const_bias"),
    ], ops=("_lstm_step",)),
    OpInfo("_lstm_step_no_bias", lstm_step_no_bias, [
        S(T((_B, 4 * _H)), T((_B, 2 * _H)), T((4 * _H, _H))),
        S(T((_B, 4 * _H)), T((_B, _P + _H)), T((4 * _H, _P)), T((_P, _H)), name="proj"),
    ], ops=("_lstm_step",)),
    OpInfo("_gru_step", gru_step, [
        S(T((_B, 3 * _H)), T((_B, _H)), T((3 * _H, _H)), T((3 * _H,))),
        S(T((_B, 3 * _H)), T((_B, _H)), T((3 * _H, _H)), name="no_bias"),
        S(T((_B, 3 * _H)), T((_B, _H), grad=False), T((3 * _H, _H)), T((3 * _H,)),
          name="const_state"),
    ], ops=("_gru_step",)),
    OpInfo("_rnn_step", rnn_step, [
        S(T((_B, _H)), T((_B, _H)), T((_H, _H)), T((_H,))),
        S(T((_B, _H)), T((_B, _H)), T((_H, _H)), name="no_bias"),
        S(T((_B, _H)), T((_B, _H)), T((_H, _H)), T((_H,)), nonlinearity="relu", name="relu"),
    ], ops=("_rnn_step",)),
]
