"""Pipeline schedules: the order in which a stage runs its microbatches' forwards and
backwards. ``ScheduleGPipe`` runs every forward, then every backward; ``Schedule1F1B``
alternates them once the pipeline is full, so fewer activations are alive at once.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from ...ops.movement import cat
from ...tensor import Tensor
from .stage import PipelineStage

__all__ = ["PipelineScheduleSingle", "Schedule1F1B", "ScheduleGPipe"]


def _split(value: Any, n: int, op: str, what: str) -> list:
    """``n`` equal pieces of a Tensor along dim 0; anything else is given to every
    microbatch unchanged."""
    if not isinstance(value, Tensor):
        return [value] * n
    if value.dim() == 0:
        raise ValueError(f"[{op}] {what} is a 0-d tensor, which can't be split into "
                         f"microbatches along dim 0")
    size = value.shape[0]
    if size % n:
        raise ValueError(f"[{op}] {what} has batch size {size} along dim 0, which is not "
                         f"divisible by n_microbatches={n}; pass a batch whose dim 0 is a "
                         f"multiple of {n}")
    return list(value.chunk(n, 0))


def _merge(outputs: list) -> Any:
    """The microbatches' outputs concatenated along dim 0, detached (as torch returns them)."""
    first = outputs[0]
    if isinstance(first, (tuple, list)):
        return type(first)(_merge([o[i] for o in outputs]) for i in range(len(first)))
    if first.dim() == 0:
        return cat([o.detach().reshape(1) for o in outputs], 0)
    return cat([o.detach() for o in outputs], 0)


class PipelineScheduleSingle:
    """A schedule of one stage per process. ``step`` splits the batch into
    ``n_microbatches`` along dim 0, runs them through the pipeline and, when the schedule has
    a ``loss_fn``, back: each stage's parameters then hold the gradients of the mean of the
    microbatch losses (with ``scale_grads=True``, every ``.grad`` is divided by
    ``n_microbatches`` at the end of the step, as torch does: zero the gradients between
    steps), ready for ``optimizer.step()``.

    Args:
        stage (PipelineStage): this process's stage.
        n_microbatches (int): how many pieces each batch is split into.
        loss_fn (callable, optional): ``loss_fn(output, target)`` on the last stage; without
            it the schedule runs forward only.
        args_chunk_spec, kwargs_chunk_spec, output_merge_spec: only the default (split and
            merge along dim 0) is supported.
        scale_grads (bool): divide the gradients by ``n_microbatches`` after the backward.
    """

    def __init__(self, stage: PipelineStage, n_microbatches: int,
                 loss_fn: Optional[Callable] = None, args_chunk_spec: Any = None,
                 kwargs_chunk_spec: Any = None, output_merge_spec: Any = None,
                 scale_grads: bool = True) -> None:
        name = type(self).__name__
        if not isinstance(stage, PipelineStage):
            raise TypeError(f"[{name}] stage must be a PipelineStage, got "
                            f"{type(stage).__name__}")
        if not isinstance(n_microbatches, int) or n_microbatches < 1:
            raise ValueError(f"[{name}] n_microbatches must be a positive int, got "
                             f"{n_microbatches!r}")
        for what, spec in (("args_chunk_spec", args_chunk_spec),
                           ("kwargs_chunk_spec", kwargs_chunk_spec),
                           ("output_merge_spec", output_merge_spec)):
            if spec is not None:
                raise NotImplementedError(f"[{name}] {what} is not supported: deepseek splits "
                                          "inputs and merges outputs along dim 0")
        self._stage = stage
        self._n_microbatches = n_microbatches
        self._loss_fn = loss_fn
        self._has_backward = loss_fn is not None
        self.scale_grads = scale_grads

    def step(self, *args: Any, target: Any = None, losses: Optional[list] = None,
             return_outputs: bool = True, loss_kwargs: Optional[dict] = None,
             **kwargs: Any) -> Any:
        """Run one batch through the pipeline.

        Args:
            *args, **kwargs: the whole batch's inputs, on the first stage (other stages
                receive theirs from the previous one; tensors are split along dim 0, other
                values given to every microbatch).
            target (Tensor, optional): the batch's target, on the last stage.
            losses (list, optional): on the last stage, filled with the microbatches'
                losses (unscaled, in microbatch order).
            return_outputs (bool): on the last stage, return the batch's output.
            loss_kwargs: not supported.

        Returns:
            On the last stage, the microbatches' outputs concatenated along dim 0 (detached);
            None elsewhere.
        """
        name, stage, n = type(self).__name__, self._stage, self._n_microbatches
        if loss_kwargs is not None:
            raise NotImplementedError(f"[{name}] loss_kwargs is not supported; close over "
                                      "them in loss_fn")
        arg_chunks = [_split(a, n, name, f"positional input {i}") for i, a in enumerate(args)]
        kwarg_chunks = {k: _split(v, n, name, f"keyword input {k!r}") for k, v in kwargs.items()}
        microbatches = [(tuple(c[i] for c in arg_chunks), {k: c[i] for k, c in
                                                          kwarg_chunks.items()})
                        for i in range(n)]
        targets = [None] * n
        if stage.is_last and self._has_backward:
            if target is None:
                raise ValueError(f"[{name}] the last stage needs target= to compute "
                                 "loss_fn(output, target)")
            targets = _split(target, n, name, "target")
        if stage.is_last and losses is not None and not self._has_backward:
            raise RuntimeError(f"[{name}] losses= was given, but the schedule has no loss_fn "
                               "to compute them; pass loss_fn= when building the schedule")
        if stage.is_first and not args and not kwargs:
            raise ValueError(f"[{name}] the first stage needs the batch's inputs: "
                             "schedule.step(x)")

        stage._begin_step()
        self._run(microbatches, targets)
        stage._end_step(n if self._has_backward and self.scale_grads else None)
        if not stage.is_last:
            return None
        if losses is not None:
            losses[:] = [stage._losses[i] for i in range(n)]
        output = _merge([stage._outputs[i] for i in range(n)]) if return_outputs else None
        stage._outputs, stage._losses = {}, {}
        return output

    def _run(self, microbatches: list, targets: list) -> None:
        raise NotImplementedError

    def _forward(self, chunk: int, microbatches: list, targets: list) -> None:
        args, kwargs = microbatches[chunk]
        self._stage._forward(chunk, args, kwargs)
        if self._stage.is_last and self._has_backward:
            self._stage._compute_loss(chunk, self._loss_fn, targets[chunk])


class ScheduleGPipe(PipelineScheduleSingle):
    """GPipe: every microbatch's forward, then every microbatch's backward.

    Example::

        >>> stage = PipelineStage(part, rank, world_size)  # doctest: +SKIP
        >>> schedule = ScheduleGPipe(stage, 4, loss_fn=ds.nn.functional.mse_loss)
        >>> if rank == 0:
        ...     schedule.step(x)
        ... else:
        ...     losses = []
        ...     output = schedule.step(target=y, losses=losses)
        >>> optimizer.step()
    """

    def _run(self, microbatches: list, targets: list) -> None:
        n = self._n_microbatches
        for chunk in range(n):
            self._forward(chunk, microbatches, targets)
        if self._has_backward:
            for chunk in range(n):
                self._stage._backward(chunk)


class Schedule1F1B(PipelineScheduleSingle):
    """One forward, one backward: stage i runs ``num_stages - 1 - i`` forwards to fill the
    pipeline, then alternates a forward with the backward of its oldest microbatch, then
    drains the remaining backwards. Needs ``n_microbatches >= num_stages``."""

    def __init__(self, stage: PipelineStage, n_microbatches: int,
                 loss_fn: Optional[Callable] = None, args_chunk_spec: Any = None,
                 kwargs_chunk_spec: Any = None, output_merge_spec: Any = None,
                 scale_grads: bool = True) -> None:
        super().__init__(stage, n_microbatches, loss_fn, args_chunk_spec, kwargs_chunk_spec,
                         output_merge_spec, scale_grads)
        if n_microbatches < stage.num_stages:
            raise ValueError(f"[Schedule1F1B] Number of microbatches ({n_microbatches}) must "
                             f"be greater than or equal to the number of stages "
                             f"({stage.num_stages}).")

    def _run(self, microbatches: list, targets: list) -> None:
        n, stage = self._n_microbatches, self._stage
        if not self._has_backward:
            for chunk in range(n):
                self._forward(chunk, microbatches, targets)
            return
        warmup = min(n, stage.num_stages - 1 - stage.stage_index)
        forwards = backwards = 0
        for _ in range(warmup):
            self._forward(forwards, microbatches, targets)
            forwards += 1
        while forwards < n:
            self._forward(forwards, microbatches, targets)
            forwards += 1
            stage._backward(backwards)
            backwards += 1
        while backwards < n:
            stage._backward(backwards)
            backwards += 1
