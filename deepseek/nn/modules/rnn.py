"""Recurrent layers: ``RNN``, ``LSTM``, ``GRU`` (multi-layer, bidirectional, packed input) and
their single-step cells. The input projections of a whole sequence are one GEMM per layer and
direction; each time step is one primitive (``deepseek/ops/recurrent.py``), or under autocast the
composed ``_step``, whose ops round to the low dtype one by one as PyTorch's do.
"""

from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np

from ..._creation import empty, zeros
from ..._errors import op_error
from ...ops.linalg import MATMUL
from ...ops._opdef import AUTOCAST, autocast_args, autocast_exempt
from ...ops.movement import cat, stack
from ...ops.recurrent import gru_step, lstm_step, rnn_step
from ...tensor import Tensor
from .. import functional as F
from .. import init
from ..parameter import Parameter
from ..utils.rnn import PackedSequence
from .module import Module
from .utils import _check_sizes

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}
# what torch's CPU autocast leaves in float32: the layers and cells that run as native kernels
# outside its op lists (the others run their products, and so all their steps, in its dtype)
_CPU_FLOAT32_LAYERS, _CPU_FLOAT32_CELLS = {"GRU"}, {"GRU", "LSTM"}
_FUSED_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _outside_cpu_autocast(mode: str, float32_modes: set, run: Any) -> Any:
    from ...amp import is_autocast_enabled

    if mode in float32_modes and is_autocast_enabled("cpu"):
        with autocast_exempt():
            return run()
    return run()


def _step(mode: str, gi: Tensor, state: Any, w_hh: Tensor, b_hh: Optional[Tensor],
          w_hr: Optional[Tensor] = None) -> Any:
    """One time step from the input projection ``gi = x W_ihᵀ + b_ih`` and the previous state
    (``h``, or ``(h, c)`` for LSTM); returns the new state."""
    h = state[0] if mode == "LSTM" else state
    gh = F.linear(h, w_hh, b_hh)
    if mode == "RNN_TANH":
        return (gi + gh).tanh()
    if mode == "RNN_RELU":
        return F.relu(gi + gh)
    if mode == "GRU":
        ir, iz, in_ = gi.chunk(3, -1)
        hr, hz, hn = gh.chunk(3, -1)
        r, z = (ir + hr).sigmoid(), (iz + hz).sigmoid()
        n = (in_ + r * hn).tanh()
        return n + z * (h - n)
    i, f, g, o = (gi + gh).chunk(4, -1)
    c = f.sigmoid() * state[1] + i.sigmoid() * g.tanh()
    h = o.sigmoid() * c.tanh()
    if w_hr is not None:
        h = F.linear(h, w_hr)
    return h, c


def _map_state(fn: Any, state: Any, mode: str) -> Any:
    return tuple(fn(s) for s in state) if mode == "LSTM" else fn(state)


def _fusable(*tensors: Tensor) -> bool:
    """Whether the one-primitive steps compute what the composed ``_step`` does: on float32 or
    float64 operands of one dtype outside autocast (under it the composition rounds each op to
    the low dtype, and a backward run inside the region lowers the GEMMs of its vjps, even for
    a layer whose forward is exempt)."""
    from ...amp import is_autocast_enabled

    dtype = tensors[0]._data.dtype
    return (AUTOCAST[0] is None and dtype in _FUSED_DTYPES and not is_autocast_enabled("cpu")
            and all(t._data.dtype == dtype for t in tensors))


def _stepper(mode: str, w_hh: Tensor, b_hh: Optional[Tensor], w_hr: Optional[Tensor],
             fused: bool) -> Any:
    """``step(gi, state) -> state`` over one tensor of state (LSTM: ``h`` and ``c`` side by
    side), so the loop slices and joins one tensor per step."""
    if mode == "LSTM":
        if fused:
            return lambda gi, hc: lstm_step(gi, hc, w_hh, b_hh, w_hr)
        p = w_hh.shape[1]
        return lambda gi, hc: cat(list(_step(mode, gi, (hc[:, :p], hc[:, p:]), w_hh, b_hh,
                                             w_hr)), -1)
    if fused:
        if mode == "GRU":
            return lambda gi, h: gru_step(gi, h, w_hh, b_hh)
        nonlinearity = "tanh" if mode == "RNN_TANH" else "relu"
        return lambda gi, h: rnn_step(gi, h, w_hh, b_hh, nonlinearity)
    return lambda gi, h: _step(mode, gi, h, w_hh, b_hh)


def _run_direction(step: Any, gi: Tensor, sizes: list, initial: Tensor, reverse: bool) -> tuple:
    """Run one layer in one direction over a packed sequence.

    ``gi``: ``(sum(sizes), G * H)`` input projections in packed order; ``sizes``: the batch
    size at each step (non-increasing); ``initial``: the initial state of the full batch.
    Returns the states after each step in packed order and the final state of every sequence.
    """
    offsets = [0]
    for n in sizes:
        offsets.append(offsets[-1] + n)
    outputs = [None] * len(sizes)
    # Forward, sequences drop out as they end and keep their last state; backward, they join
    # (with their initial state) at their last step.
    state = initial[:0] if reverse else initial
    for t in (reversed(range(len(sizes))) if reverse else range(len(sizes))):
        bs, have = sizes[t], state.shape[0]
        if bs > have:
            state, have = cat([state, initial[have:bs]]), bs
        new = step(gi[offsets[t]:offsets[t + 1]], state if bs == have else state[:bs])
        outputs[t] = new
        state = cat([new, state[bs:have]]) if bs < have else new
    return (cat(outputs) if outputs else gi[:0]), state


class RNNBase(Module):
    """The shared body of ``RNN``, ``LSTM`` and ``GRU``: parameters ``weight_ih_l{k}``,
    ``weight_hh_l{k}``, ``bias_ih_l{k}``, ``bias_hh_l{k}`` (``_reverse`` for the backward
    direction, ``weight_hr_l{k}`` for LSTM projections), initialized U(-1/sqrt(H), 1/sqrt(H))."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        name = type(self).__name__
        if not isinstance(dropout, (int, float)) or isinstance(dropout, bool) or not (
                0 <= dropout <= 1):
            raise op_error(ValueError, name, "dropout should be a number in range [0, 1] "
                           f"representing the probability of an element being zeroed, got "
                           f"{dropout!r}")
        for key, n in (("input_size", input_size), ("hidden_size", hidden_size),
                       ("num_layers", num_layers)):
            if not isinstance(n, int) or isinstance(n, bool):
                raise op_error(TypeError, name, f"{key} should be of type int, got: "
                               f"{type(n).__name__}")
            if n <= 0:
                raise op_error(ValueError, name, f"{key} must be greater than zero, got {n}")
        if proj_size < 0:
            raise op_error(ValueError, name, "proj_size should be a positive integer or zero to "
                           "disable projections")
        if proj_size >= hidden_size:
            raise op_error(ValueError, name, f"proj_size ({proj_size}) has to be smaller than "
                           f"hidden_size ({hidden_size})")
        if proj_size and mode != "LSTM":
            raise op_error(ValueError, name, "proj_size argument is only supported for LSTM, not "
                           "RNN or GRU")
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        kw = {"device": device, "dtype": dtype}
        gate = _GATES[mode] * hidden_size
        out = proj_size if proj_size > 0 else hidden_size
        self._flat_weights_names = []
        for layer in range(num_layers):
            for direction in range(2 if bidirectional else 1):
                layer_in = input_size if layer == 0 else out * (2 if bidirectional else 1)
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                shapes = [("weight_ih", (gate, layer_in)), ("weight_hh", (gate, out))]
                if bias:
                    shapes += [("bias_ih", (gate,)), ("bias_hh", (gate,))]
                if proj_size:
                    shapes.append(("weight_hr", (proj_size, hidden_size)))
                for name, shape in shapes:
                    setattr(self, name + suffix, Parameter(empty(shape, **kw)))
                    self._flat_weights_names.append(name + suffix)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    @property
    def _flat_weights(self) -> list:
        return [getattr(self, n) for n in self._flat_weights_names]

    @property
    def all_weights(self) -> list:
        """The parameters as one list per layer and direction, in PyTorch's order."""
        per_cell = len(self._flat_weights_names) // (self.num_layers * (2 if self.bidirectional
                                                                        else 1))
        weights = self._flat_weights
        return [weights[i:i + per_cell] for i in range(0, len(weights), per_cell)]

    def flatten_parameters(self) -> None:
        """Does nothing: the weights need no packing into one cuDNN buffer here (PyTorch does
        the same off CUDA), so code that calls it before ``forward`` runs unchanged."""

    def _layer_weights(self, layer: int, direction: int) -> tuple:
        suffix = f"_l{layer}" + ("_reverse" if direction else "")
        get = self._parameters.get
        return (get("weight_ih" + suffix), get("bias_ih" + suffix), get("weight_hh" + suffix),
                get("bias_hh" + suffix), get("weight_hr" + suffix))

    def _initial_state(self, hx: Any, batch: int, like: Tensor, unbatched: bool) -> Any:
        dirs = 2 if self.bidirectional else 1
        out = self.proj_size if self.proj_size > 0 else self.hidden_size
        shapes = [(self.num_layers * dirs, batch, out)]
        if self.mode == "LSTM":
            shapes.append((self.num_layers * dirs, batch, self.hidden_size))
        if hx is None:
            states = [zeros(s, dtype=like.dtype) for s in shapes]
        else:
            name = type(self).__name__
            lstm = self.mode == "LSTM"
            if isinstance(hx, (tuple, list)) != lstm or (lstm and len(hx) != 2):
                what = "a tuple (h_0, c_0)" if lstm else "one tensor h_0"
                raise op_error(RuntimeError, name, f"{name} expects its initial state as {what}, "
                               f"got {type(hx).__name__}")
            states = list(hx) if lstm else [hx]
            if unbatched:
                states = [s.unsqueeze(1) for s in states]
            for i, (s, want) in enumerate(zip(states, shapes)):
                if tuple(s.shape) != want:
                    label = f"hidden[{i}]" if lstm else "hidden"
                    raise op_error(RuntimeError, name, f"Expected {label} size {want}, got "
                                   f"{list(s.shape)}", s)
        return states

    def forward(self, input: Any, hx: Any = None) -> tuple:
        return _outside_cpu_autocast(self.mode, _CPU_FLOAT32_LAYERS,
                                     lambda: self._forward(input, hx))

    def _forward(self, input: Any, hx: Any) -> tuple:
        packed = isinstance(input, PackedSequence)
        unbatched = False
        if packed:
            data, sizes_t, sorted_indices, unsorted_indices = input
            sizes = [int(s) for s in sizes_t.tolist()]
            batch = sizes[0]
            if hx is not None and sorted_indices is not None:
                index = sorted_indices
                hx = (tuple(h[:, index] for h in hx) if self.mode == "LSTM"
                      else hx[:, index])
        else:
            if input.dim() not in (2, 3):
                raise op_error(ValueError, type(self).__name__, "Expected input to be 2D or 3D, "
                               f"got {input.dim()}D tensor instead", input)
            unbatched = input.dim() == 2
            x = input.unsqueeze(1) if unbatched else (
                input.transpose(0, 1) if self.batch_first else input)
            steps, batch = x.shape[0], x.shape[1]
            sizes = [batch] * steps
            data = x.reshape(steps * batch, x.shape[2])
            sorted_indices = unsorted_indices = None
        if data.shape[-1] != self.input_size:
            raise op_error(RuntimeError, type(self).__name__, "input.size(-1) must be equal to "
                           f"input_size. Expected {self.input_size}, got {data.shape[-1]}", data)
        weight = self._flat_weights[0]
        if data.dtype != weight.dtype:
            raise op_error(ValueError, type(self).__name__, f"input dtype ({data.dtype.name}) "
                           f"does not match weight dtype ({weight.dtype.name}). Convert the "
                           f"input: input.to({weight.dtype}), or the model: "
                           f"model.to({data.dtype})", data)
        # autocast runs the whole recurrence in its dtype, as torch's lstm/gru/rnn ops: the
        # states too (a float32 cell state would promote every step back to float32)
        states = autocast_args(MATMUL, *self._initial_state(hx, batch, data, unbatched))
        dirs = 2 if self.bidirectional else 1
        fused = _fusable(data, *states)
        width = self.proj_size if self.proj_size > 0 else self.hidden_size
        finals: list = [[] for _ in states]
        layer_input = data
        for layer in range(self.num_layers):
            outs = []
            for direction in range(dirs):
                w_ih, b_ih, w_hh, b_hh, w_hr = self._layer_weights(layer, direction)
                k = layer * dirs + direction
                gi = F.linear(layer_input, w_ih, b_ih)
                step = _stepper(self.mode, w_hh, b_hh, w_hr, fused)
                if self.mode == "LSTM":
                    out, last = _run_direction(step, gi, sizes, cat([states[0][k], states[1][k]],
                                                                    -1), bool(direction))
                    out, last = out[:, :width], (last[:, :width], last[:, width:])
                else:
                    out, last = _run_direction(step, gi, sizes, states[0][k], bool(direction))
                    last = (last,)
                outs.append(out)
                for acc, s in zip(finals, last, strict=True):
                    acc.append(s)
            layer_input = outs[0] if dirs == 1 else cat(outs, -1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, True)
        final = tuple(stack(acc) for acc in finals)
        if packed:
            if unsorted_indices is not None:
                final = tuple(f[:, unsorted_indices] for f in final)
            output = PackedSequence(layer_input, sizes_t, sorted_indices, unsorted_indices)
        else:
            output = layer_input.reshape(len(sizes), batch, layer_input.shape[-1])
            if unbatched:
                output = output.squeeze(1)
                final = tuple(f.squeeze(1) for f in final)
            elif self.batch_first:
                output = output.transpose(0, 1)
        return output, (final if self.mode == "LSTM" else final[0])

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s


class RNN(RNNBase):
    """Elman RNN: ``h_t = tanh(x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh)`` (or ReLU).

    Args:
        input_size, hidden_size. num_layers: default 1. nonlinearity: ``'tanh'`` or
        ``'relu'``. bias: default True. batch_first: ``(N, L, H_in)`` inputs. dropout: between
        layers, in training. bidirectional: default False.

    Shape:
        - input ``(L, N, H_in)`` (or batch first, unbatched ``(L, H_in)``, or a
          ``PackedSequence``), h_0 ``(D * num_layers, N, H_out)``.
        - output ``(L, N, D * H_out)``, h_n ``(D * num_layers, N, H_out)``.

    Example::

        >>> rnn = ds.nn.RNN(10, 20, 2)
        >>> out, h = rnn(ds.randn(5, 3, 10))
        >>> out.shape, h.shape
        (deepseek.Size([5, 3, 20]), deepseek.Size([2, 3, 20]))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, device: Any = None,
                 dtype: Any = None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise op_error(ValueError, "RNN", f"Unknown nonlinearity '{nonlinearity}'. Select "
                           "from 'tanh' or 'relu'.")
        self.nonlinearity = nonlinearity
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size,
                         hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype)
        self.nonlinearity = nonlinearity

    def extra_repr(self) -> str:
        s = super().extra_repr()
        return s + (", nonlinearity='relu'" if self.nonlinearity != "tanh" else "")


class LSTM(RNNBase):
    """Long short-term memory (gates ``i, f, g, o`` in that order in the weights).

    Args: as ``RNN`` (no nonlinearity), plus proj_size: project ``h`` to this size (0: off).

    Shape:
        - input as ``RNN``; ``(h_0, c_0)`` optional.
        - output, ``(h_n, c_n)``.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, proj_size, device, dtype)


class GRU(RNNBase):
    """Gated recurrent unit (gates ``r, z, n`` in that order in the weights).

    Args: as ``RNN`` (no nonlinearity).
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, device: Any = None, dtype: Any = None) -> None:
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, device=device, dtype=dtype)


class RNNCellBase(Module):
    """One step of a recurrent layer: parameters ``weight_ih``, ``weight_hh``, ``bias_ih``,
    ``bias_hh``."""

    _mode = ""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        _check_sizes(type(self).__name__, input_size=input_size, hidden_size=hidden_size)
        kw = {"device": device, "dtype": dtype}
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        gate = _GATES[self._mode] * hidden_size
        self.weight_ih = Parameter(empty((gate, input_size), **kw))
        self.weight_hh = Parameter(empty((gate, hidden_size), **kw))
        if bias:
            self.bias_ih = Parameter(empty(gate, **kw))
            self.bias_hh = Parameter(empty(gate, **kw))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    reset_parameters = RNNBase.reset_parameters

    def forward(self, input: Tensor, hx: Any = None) -> Any:
        return _outside_cpu_autocast(self._mode, _CPU_FLOAT32_CELLS,
                                     lambda: self._forward(input, hx))

    def _forward(self, input: Tensor, hx: Any) -> Any:
        name = type(self).__name__
        if input.dim() not in (1, 2):
            raise op_error(ValueError, name, f"Expected input to be 1D or 2D, got {input.dim()}D "
                           "instead", input)
        if input.shape[-1] != self.input_size:
            raise op_error(RuntimeError, name, f"input has inconsistent input_size: got "
                           f"{input.shape[-1]} expected {self.input_size}", input)
        unbatched = input.dim() == 1
        x = input.unsqueeze(0) if unbatched else input
        if hx is None:
            h0 = zeros((x.shape[0], self.hidden_size), dtype=x.dtype)
            hx = (h0, h0) if self._mode == "LSTM" else h0
        elif unbatched:
            hx = _map_state(lambda s: s.unsqueeze(0), hx, self._mode)
        self._check_state(x, hx)
        gi = F.linear(x, self.weight_ih, self.bias_ih)
        if _fusable(gi, *(hx if self._mode == "LSTM" else (hx,))):
            state = cat(list(hx), -1) if self._mode == "LSTM" else hx
            out = _stepper(self._mode, self.weight_hh, self.bias_hh, None, True)(gi, state)
            if self._mode == "LSTM":
                n = self.hidden_size
                out = (out[:, :n], out[:, n:])
        else:
            out = _step(self._mode, gi, hx, self.weight_hh, self.bias_hh)
        return _map_state(lambda s: s.squeeze(0), out, self._mode) if unbatched else out

    def _check_state(self, x: Tensor, hx: Any) -> None:
        name = type(self).__name__
        states = hx if self._mode == "LSTM" else (hx,)
        for i, s in enumerate(states):
            if s.ndim != 2 or s.shape[1] != self.hidden_size:
                raise op_error(RuntimeError, name, f"hidden{i} has inconsistent hidden_size: got "
                               f"{s.shape[-1]}, expected {self.hidden_size}", s)
            if s.shape[0] != x.shape[0]:
                raise op_error(RuntimeError, name, f"Input batch size {x.shape[0]} doesn't match "
                               f"hidden{i} batch size {s.shape[0]}", x, s)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s


class RNNCell(RNNCellBase):
    """One Elman RNN step. Args: input_size, hidden_size, bias (True), nonlinearity
    (``'tanh'`` or ``'relu'``)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device: Any = None, dtype: Any = None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise op_error(RuntimeError, "RNNCell", f"Unknown nonlinearity: {nonlinearity}")
        self._mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        super().__init__(input_size, hidden_size, bias, device, dtype)
        self.nonlinearity = nonlinearity


class LSTMCell(RNNCellBase):
    """One LSTM step: ``(h', c') = cell(input, (h, c))``."""

    _mode = "LSTM"


class GRUCell(RNNCellBase):
    """One GRU step: ``h' = cell(input, h)``."""

    _mode = "GRU"


