"""PowerSGD gradient compression (Vogels et al., 2019), as
``torch.distributed.algorithms.ddp_comm_hooks.powerSGD_hook``: each gradient matrix ``M``
(n × m) travels as two rank-r factors, ``P = M Q`` and ``Q = Mᵀ P``, (n + m)·r numbers
instead of n·m; what the approximation misses is fed back into the next step."""

from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np

from ....futures import Future
from ....tensor import Tensor
from ... import distributed_c10d as c10d
from .default_hooks import _allreduce

__all__ = ["PowerSGDState", "batched_powerSGD_hook", "powerSGD_hook"]


class PowerSGDState:
    """What PowerSGD keeps between steps: the error-feedback residuals and the warm-started
    ``Q`` factors of each bucket, and the step count.

    Args:
        process_group: the group to average over (None: the default group).
        matrix_approximation_rank: r, the rank of the approximation. Default: 1.
        start_powerSGD_iter: plain all-reduce for this many steps first. Default: 1000.
        min_compression_rate: compress a matrix only if it shrinks at least this much.
        use_error_feedback: add what the last approximation missed. Default: True.
        warm_start: start each step's power iteration from the last ``Q``. Default: True.
        orthogonalization_epsilon: added to column norms while orthogonalizing.
        random_seed: seeds the initial ``Q`` (the same on every process). Default: 0.
    """

    def __init__(self, process_group: Any, matrix_approximation_rank: int = 1,
                 start_powerSGD_iter: int = 1_000, min_compression_rate: float = 2,
                 use_error_feedback: bool = True, warm_start: bool = True,
                 orthogonalization_epsilon: float = 0, random_seed: int = 0,
                 compression_stats_logging_frequency: int = 10_000,
                 batch_tensors_with_same_shape: bool = False) -> None:
        if matrix_approximation_rank < 1:
            raise ValueError(f"[PowerSGDState] matrix_approximation_rank must be at least 1, "
                             f"got {matrix_approximation_rank}")
        self.process_group = process_group
        self.matrix_approximation_rank = matrix_approximation_rank
        self.start_powerSGD_iter = start_powerSGD_iter
        self.min_compression_rate = min_compression_rate
        self.use_error_feedback = use_error_feedback
        self.warm_start = warm_start
        self.orthogonalization_epsilon = orthogonalization_epsilon
        self.rng = np.random.default_rng(random_seed)
        self.error_dict: dict = {}
        self.p_memory_dict: dict = {}
        self.q_memory_dict: dict = {}
        self.iter = 0
        self.total_numel_before_compression = 0
        self.total_numel_after_compression = 0

    def maybe_increase_iter(self, bucket: Any) -> None:
        if bucket.is_last():
            self.iter += 1

    def compression_stats(self) -> tuple:
        """``(compress_rate, numel_before, numel_after)`` over every step so far."""
        after = self.total_numel_after_compression
        rate = self.total_numel_before_compression / after if after else 0
        return rate, self.total_numel_before_compression, after


def _orthogonalize(matrix: np.ndarray, epsilon: float) -> None:
    """Gram-Schmidt on the columns of ``matrix``, in place."""
    for i in range(matrix.shape[1]):
        column = matrix[:, i]
        norm = np.linalg.norm(column) + epsilon
        if norm > 0:
            column /= norm
        if i + 1 < matrix.shape[1]:
            rest = matrix[:, i + 1:]
            rest -= np.outer(column, column @ rest)


def _low_rank(state: PowerSGDState, key: Any, matrices: list, outputs: list) -> Future:
    """Average ``matrices`` over the group as ``P Qᵀ`` and write them into ``outputs``."""
    group = state.process_group
    count = c10d.get_world_size(group)
    ranks = [min(*m.shape, state.matrix_approximation_rank) for m in matrices]
    if key not in state.q_memory_dict or not state.warm_start:
        # the same seed everywhere, so every process starts from the same Q
        state.q_memory_dict[key] = [state.rng.standard_normal((m.shape[1], r)).astype(m.dtype)
                                    for m, r in zip(matrices, ranks)]
        for q in state.q_memory_dict[key]:
            _orthogonalize(q, state.orthogonalization_epsilon)
    qs = state.q_memory_dict[key]
    ps = Tensor._wrap(np.concatenate([(m @ q).reshape(-1) for m, q in zip(matrices, qs)]))
    p_work = c10d.all_reduce(ps, group=group, async_op=True)
    state.total_numel_after_compression += sum((m.shape[0] + m.shape[1]) * r
                                               for m, r in zip(matrices, ranks))

    def split(flat: np.ndarray, rows: list) -> list:
        bounds = np.cumsum([0] + [n * r for n, r in zip(rows, ranks)])
        return [flat[a:b].reshape(n, r) for a, b, n, r in zip(bounds, bounds[1:], rows, ranks)]

    def compute_q() -> None:
        p_work.wait()
        p_factors = split(ps._data, [m.shape[0] for m in matrices])
        for p in p_factors:
            _orthogonalize(p, state.orthogonalization_epsilon)
        q_flat = Tensor._wrap(np.concatenate([(m.T @ p).reshape(-1)
                                              for m, p in zip(matrices, p_factors)]))
        c10d.all_reduce(q_flat, group=group)
        q_factors = split(q_flat._data, [m.shape[1] for m in matrices])
        for p, q, out in zip(p_factors, q_factors, outputs):
            q /= count
            np.matmul(p, q.T, out=out)
        state.q_memory_dict[key] = [q.copy() for q in q_factors]

    return Future(_waiter=compute_q)


def _should_compress(rows: int, cols: int, rank: int, rate: float) -> bool:
    return rows * cols >= rate * (rows + cols) * min(rows, cols, rank)


def powerSGD_hook(state: PowerSGDState, bucket: Any) -> Future:
    """Average the bucket with each 2-D-or-more gradient compressed to rank-r factors (those
    that compress by at least ``min_compression_rate``); vectors and small matrices are
    all-reduced as they are. Plain all-reduce for the first ``start_powerSGD_iter`` steps."""
    state.maybe_increase_iter(bucket)
    buffer = bucket.buffer()
    if state.iter < state.start_powerSGD_iter:
        return _allreduce(state.process_group, buffer)
    data = buffer._data
    key = bucket.index()
    if state.use_error_feedback and key in state.error_dict:
        data += state.error_dict[key]
    before = data.copy() if state.use_error_feedback else None
    state.total_numel_before_compression += data.size
    matrices, outputs, plain = [], [], []
    for grad in bucket.gradients():
        g = grad._data
        rows = g.shape[0] if g.ndim else 1
        matrix = g.reshape(rows, -1)
        if g.ndim > 1 and _should_compress(*matrix.shape, state.matrix_approximation_rank,
                                           state.min_compression_rate):
            matrices.append(matrix.copy())
            outputs.append(matrix)
        else:
            plain.append(g)
    plain_flat = Tensor._wrap(np.concatenate([g.reshape(-1) for g in plain])) if plain else None
    plain_future = None if plain_flat is None else _allreduce(state.process_group, plain_flat)
    state.total_numel_after_compression += 0 if plain_flat is None else plain_flat._data.size
    low_rank = _low_rank(state, key, matrices, outputs) if matrices else None

    def decompress() -> Tensor:
        if plain_future is not None:
            flat = plain_future.wait()._data
            offset = 0
            for g in plain:
                g.reshape(-1)[...] = flat[offset:offset + g.size]
                offset += g.size
        if low_rank is not None:
            low_rank.wait()
        if before is not None:
            state.error_dict[key] = before - data
        return buffer

    return Future(_waiter=decompress)


def batched_powerSGD_hook(state: PowerSGDState, bucket: Any) -> Future:
    """Average the whole bucket as one square matrix (zero-padded) compressed to rank-r
    factors: fewer, larger messages than ``powerSGD_hook``."""
    state.maybe_increase_iter(bucket)
    buffer = bucket.buffer()
    if state.iter < state.start_powerSGD_iter:
        return _allreduce(state.process_group, buffer)
    data = buffer._data
    key = bucket.index()
    side = math.ceil(math.sqrt(data.size))
    square = np.zeros(side * side, data.dtype)
    square[:data.size] = data
    if state.use_error_feedback and key in state.error_dict:
        square += state.error_dict[key]
    before: Optional[np.ndarray] = square.copy() if state.use_error_feedback else None
    state.total_numel_before_compression += data.size
    matrix = square.reshape(side, side)
    low_rank = _low_rank(state, key, [matrix.copy()], [matrix])

    def decompress() -> Tensor:
        low_rank.wait()
        if before is not None:
            state.error_dict[key] = before - square
        data[...] = square[:data.size]
        return buffer

    return Future(_waiter=decompress)
