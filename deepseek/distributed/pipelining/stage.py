"""``PipelineStage``: one process's slice of a model, and the point-to-point traffic between
neighbouring stages (activations forward, their gradients backward) over ``isend``/``irecv``.
"""

from __future__ import annotations

import json
from typing import Any, Optional

import numpy as np

from ... import autograd, dtypes
from ...autograd.grad_mode import no_grad
from ...nn.modules.module import Module
from ...tensor import Tensor
from .. import distributed_c10d as c10d

__all__ = ["PipelineStage"]

# One tag per kind of message; MPI keeps messages of one tag from one sender in order, so
# microbatch i's activation is always the i-th one received.
_META_TAG, _ACTIVATION_TAG, _GRADIENT_TAG = 7101, 7102, 7103


def _as_tuple(value: Any, what: str) -> tuple:
    items = value if isinstance(value, (tuple, list)) else (value,)
    for item in items:
        if not isinstance(item, Tensor):
            raise TypeError(f"[PipelineStage] {what} must be a Tensor or a tuple of Tensors, "
                            f"got {type(item).__name__}")
    return tuple(items)


def _describe(tensors: tuple) -> list:
    return [[t.dtype.name, list(t.shape)] for t in tensors]


def _floating(dtype_name: str) -> bool:
    return _dtype(dtype_name).is_floating_point


def _dtype(name: str) -> Any:
    return dtypes.BY_NAME[name]


def _empty(dtype_name: str, shape: list) -> Tensor:
    return Tensor._wrap(np.empty(tuple(shape), dtype=_dtype(dtype_name).np))


def _contiguous(t: Tensor) -> Tensor:
    return t if t._data.flags.c_contiguous else Tensor._wrap(np.ascontiguousarray(t._data))


class PipelineStage:
    """One stage of a pipeline: ``submodule`` run by the process of group rank
    ``stage_index``, receiving its inputs from stage ``stage_index - 1`` and sending its
    outputs to stage ``stage_index + 1``. A schedule (``ScheduleGPipe``, ``Schedule1F1B``)
    drives it.

    Args:
        submodule (Module): the part of the model this stage runs. Its forward takes the
            previous stage's outputs (a Tensor, or a tuple of Tensors unpacked as arguments)
            and returns a Tensor or a tuple of Tensors.
        stage_index (int): this stage's place in the pipeline, in ``[0, num_stages)``; it
            must be this process's rank in ``group``.
        num_stages (int): how many stages the pipeline has; one per process of ``group``.
        device: accepted for compatibility (deepseek's stages run where their tensors are).
        input_args, output_args (Tensor or tuple, optional): example microbatch inputs and
            outputs. Shapes and dtypes travel in a small handshake message at the start of
            each step, so these are only checked against what arrives and what is sent.
        output_grads, input_grads: accepted for compatibility and unused.
        group (ProcessGroup, optional): the processes of the pipeline (default: all).

    Example::

        >>> stage = PipelineStage(model_part, rank, world_size)  # doctest: +SKIP
        >>> schedule = ScheduleGPipe(stage, n_microbatches=4, loss_fn=F.mse_loss)
    """

    def __init__(self, submodule: Module, stage_index: int, num_stages: int, device: Any = None,
                 input_args: Any = None, output_args: Any = None, output_grads: Any = None,
                 input_grads: Any = None, group: Optional[c10d.ProcessGroup] = None,
                 dw_builder: Any = None) -> None:
        if not isinstance(submodule, Module):
            raise TypeError(f"[PipelineStage] submodule must be a ds.nn.Module, got "
                            f"{type(submodule).__name__}")
        if not isinstance(num_stages, int) or num_stages < 1:
            raise ValueError(f"[PipelineStage] num_stages must be a positive int, got "
                             f"{num_stages!r}")
        if not isinstance(stage_index, int) or not 0 <= stage_index < num_stages:
            raise ValueError(f"[PipelineStage] Stage index {stage_index} is out of range of "
                             f"{num_stages}: stage_index must be in [0, {num_stages - 1}]")
        if dw_builder is not None:
            raise NotImplementedError("[PipelineStage] dw_builder (split weight/input "
                                      "backward, for zero-bubble schedules) is not supported")
        size, rank = c10d.get_world_size(group), c10d.get_rank(group)
        if size < 0:
            raise ValueError("[PipelineStage] this process is not a member of `group`")
        if num_stages != size:
            raise ValueError(f"[PipelineStage] num_stages={num_stages} but the process group "
                             f"has world size {size}; ScheduleGPipe and Schedule1F1B run one "
                             f"stage per process, so num_stages must equal the world size")
        if stage_index != rank:
            raise ValueError(f"[PipelineStage] stage_index={stage_index} on the process of "
                             f"group rank {rank}: stage i runs on the process of rank i")
        self.submod = submodule
        self.stage_index = stage_index
        self.num_stages = num_stages
        self.device = device
        self.group = group
        self.group_rank, self.group_size = rank, size
        self._input_spec = None if input_args is None else _describe(
            _as_tuple(input_args, "input_args"))
        self._output_spec = None if output_args is None else _describe(
            _as_tuple(output_args, "output_args"))
        self._begin_step()

    @property
    def is_first(self) -> bool:
        return self.stage_index == 0

    @property
    def is_last(self) -> bool:
        return self.stage_index == self.num_stages - 1

    def __repr__(self) -> str:
        return (f"PipelineStage(stage_index={self.stage_index}, num_stages={self.num_stages}, "
                f"submod={type(self.submod).__name__})")

    # ---- per step ----

    def _begin_step(self) -> None:
        self._saved: dict = {}  # microbatch -> (inputs, outputs) kept for its backward
        self._outputs: dict = {}  # last stage: microbatch -> output
        self._losses: dict = {}
        self._sends: list = []  # (Work, tensor): the tensor must live until the send is done
        self._incoming: Optional[list] = None  # [[dtype, shape], ...] of this step's inputs
        self._outgoing: Optional[list] = None

    def _end_step(self, grad_scale: Optional[int]) -> None:
        for work, _ in self._sends:
            work.wait()
        self._sends = []
        self._saved = {}
        if grad_scale is not None and grad_scale != 1:
            # torch divides the whole accumulated .grad (not only this step's part)
            with no_grad():
                for p in self.submod.parameters():
                    if p.grad is not None:
                        p.grad.div_(grad_scale)

    # ---- messages ----

    def _isend(self, t: Tensor, peer: int, tag: int) -> None:
        t = _contiguous(t)
        self._sends.append((c10d.isend(t, group=self.group, tag=tag, group_dst=peer), t))

    def _recv(self, t: Tensor, peer: int, tag: int) -> Tensor:
        c10d.irecv(t, group=self.group, tag=tag, group_src=peer).wait()
        return t

    def _send_meta(self, spec: list) -> None:
        payload = np.frombuffer(json.dumps(spec).encode(), np.uint8).copy()
        self._isend(Tensor._wrap(np.array([payload.size], np.int64)), self.stage_index + 1,
                    _META_TAG)
        self._isend(Tensor._wrap(payload), self.stage_index + 1, _META_TAG)

    def _recv_meta(self) -> list:
        peer = self.stage_index - 1
        length = self._recv(Tensor._wrap(np.zeros(1, np.int64)), peer, _META_TAG)
        payload = self._recv(Tensor._wrap(np.empty(int(length._data[0]), np.uint8)), peer,
                             _META_TAG)
        return json.loads(payload._data.tobytes().decode())

    # ---- forward and backward of one microbatch ----

    def _forward(self, chunk: int, args: tuple, kwargs: dict) -> Any:
        if self.is_first:
            inputs = tuple(args)
        else:
            if self._incoming is None:
                self._incoming = self._recv_meta()
                self._check_spec(self._input_spec, self._incoming, "input_args",
                                 f"stage {self.stage_index - 1} sends")
            inputs = tuple(self._recv(_empty(dtype, shape), self.stage_index - 1,
                                      _ACTIVATION_TAG) for dtype, shape in self._incoming)
            for t, (dtype, _) in zip(inputs, self._incoming):
                if _floating(dtype):
                    t.requires_grad_()
        output = self.submod(*inputs, **kwargs)
        outputs = _as_tuple(output, f"the output of stage {self.stage_index}")
        spec = _describe(outputs)
        if self._outgoing is None:
            self._check_spec(self._output_spec, spec, "output_args", "the submodule returns")
            self._outgoing = spec
            if not self.is_last:
                self._send_meta(spec)
        elif spec != self._outgoing:
            raise RuntimeError(f"[PipelineStage] stage {self.stage_index}'s output for "
                               f"microbatch {chunk} is {spec}, but microbatch 0's was "
                               f"{self._outgoing}; every microbatch of a step must have the "
                               "same shapes")
        if not self.is_last:
            for t in outputs:
                self._isend(t.detach(), self.stage_index + 1, _ACTIVATION_TAG)
        else:
            self._outputs[chunk] = output
        self._saved[chunk] = (inputs, outputs)
        return output

    def _compute_loss(self, chunk: int, loss_fn: Any, target: Any) -> Tensor:
        loss = loss_fn(self._outputs[chunk], target)
        self._losses[chunk] = loss
        return loss

    def _backward(self, chunk: int) -> None:
        inputs, outputs = self._saved.pop(chunk)
        if self.is_last:
            roots, grads = [self._losses[chunk]], None
        else:
            roots, grads = [], []
            for t in outputs:
                if not t.dtype.is_floating_point:
                    continue
                g = self._recv(_empty(t.dtype.name, list(t.shape)), self.stage_index + 1,
                               _GRADIENT_TAG)
                if t.requires_grad:
                    roots.append(t)
                    grads.append(g)
        if roots:
            autograd.backward(roots, grad_tensors=grads)
        if not self.is_first:
            for t in inputs:
                if t.dtype.is_floating_point:
                    g = t.grad if t.grad is not None else Tensor._wrap(np.zeros_like(t._data))
                    self._isend(g, self.stage_index - 1, _GRADIENT_TAG)

    def _check_spec(self, expected: Optional[list], actual: list, what: str,
                    source: str) -> None:
        if expected is not None and expected != actual:
            raise ValueError(f"[PipelineStage] stage {self.stage_index} was given {what} of "
                             f"(dtype, shape) {expected}, but {source} {actual}")
