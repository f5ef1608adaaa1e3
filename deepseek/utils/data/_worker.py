"""DataLoader worker processes: each loads whole batches; the parent reorders them, re-raises a
worker's exception with its traceback, and reports a worker that dies instead of hanging."""

from __future__ import annotations

import multiprocessing as mp

import queue
import traceback
from dataclasses import dataclass
from typing import Any, Iterator, Optional

import numpy as np

from ...tensor import Tensor

_POLL_S = 0.5  # how often a waiting parent checks that its workers are alive


@dataclass(frozen=True)
class WorkerInfo:
    """What ``get_worker_info()`` returns inside a worker process."""

    id: int
    num_workers: int
    seed: int
    dataset: Any


_INFO: list = [None]


def get_worker_info() -> Optional[WorkerInfo]:
    """This worker's id, the number of workers, its seed and its dataset copy; None in the
    main process."""
    return _INFO[0]


def _to_wire(obj: Any) -> Any:
    """Tensors cross the process boundary as NumPy arrays (tensors themselves never pickle)."""
    if isinstance(obj, Tensor):
        return _WireTensor(obj.detach()._to_host())
    if isinstance(obj, (list, tuple)) and not hasattr(obj, "_fields"):
        return type(obj)(_to_wire(o) for o in obj)
    if isinstance(obj, tuple):
        return type(obj)(*(_to_wire(o) for o in obj))
    if isinstance(obj, dict):
        return {k: _to_wire(v) for k, v in obj.items()}
    return obj


def _from_wire(obj: Any) -> Any:
    if isinstance(obj, _WireTensor):
        return Tensor._wrap(obj.array)
    if isinstance(obj, (list, tuple)) and not hasattr(obj, "_fields"):
        return type(obj)(_from_wire(o) for o in obj)
    if isinstance(obj, tuple):
        return type(obj)(*(_from_wire(o) for o in obj))
    if isinstance(obj, dict):
        return {k: _from_wire(v) for k, v in obj.items()}
    return obj


@dataclass
class _WireTensor:
    array: np.ndarray


@dataclass
class _Failure:
    worker: int
    text: str


def _loop(loader: Any, worker: int, seed: int, tasks: Any, results: Any) -> None:
    from ... import random as _random

    _INFO[0] = WorkerInfo(worker, loader.num_workers, seed, loader.dataset)
    _random.manual_seed(seed)
    try:
        if loader.worker_init_fn is not None:
            loader.worker_init_fn(worker)
        if loader._is_stream():
            for i, batch in enumerate(loader._iter_stream()):
                results.put((worker, i, _to_wire(batch)))
            results.put((worker, None, None))
            return
        while True:
            task = tasks.get()
            if task is None:
                return
            index, indices = task
            results.put((worker, index, _to_wire(loader._fetch(indices))))
    except Exception:
        results.put((worker, -1, _Failure(worker, traceback.format_exc())))


class WorkerPool:
    """``loader.num_workers`` processes serving one DataLoader (kept across epochs when
    ``persistent_workers``)."""

    def __init__(self, loader: Any, base_seed: int) -> None:
        ctx = loader.multiprocessing_context
        ctx = mp.get_context(ctx) if isinstance(ctx, str) or ctx is None else ctx
        self.loader = loader
        self.results = ctx.Queue()
        self.tasks = [ctx.Queue() for _ in range(loader.num_workers)]
        self.procs = [ctx.Process(target=_loop, args=(loader, w, base_seed + w, self.tasks[w],
                                                      self.results), daemon=True)
                      for w in range(loader.num_workers)]
        for p in self.procs:
            p.start()

    def close(self) -> None:
        for q, p in zip(self.tasks, self.procs):
            if p.is_alive():
                q.put(None)
        for p in self.procs:
            p.join(timeout=5)
            if p.is_alive():
                p.terminate()

    def _get(self) -> tuple:
        timeout = self.loader.timeout
        waited = 0.0
        while True:
            try:
                return self.results.get(timeout=_POLL_S)
            except queue.Empty:
                waited += _POLL_S
                for p in self.procs:
                    if p.exitcode not in (None, 0):
                        raise RuntimeError(f"[DataLoader] worker (pid {p.pid}) exited "
                                           f"unexpectedly with exit code {p.exitcode}") from None
                if timeout and waited >= timeout:
                    raise RuntimeError(f"[DataLoader] timed out after {timeout} seconds waiting "
                                       "for a batch from its workers") from None

    def _check(self, item: Any) -> Any:
        if isinstance(item, _Failure):
            raise RuntimeError(f"[DataLoader] caught an exception in worker process "
                               f"{item.worker}. Original traceback:\n{item.text}")
        return _from_wire(item)

    def batches(self, index_batches: Iterator) -> Iterator:
        """Batches for ``index_batches`` in order, ``prefetch_factor`` tasks per worker ahead."""
        ahead = (self.loader.prefetch_factor or 2) * len(self.procs)
        pending: dict = {}
        sent = received = 0
        source = iter(index_batches)
        done = False
        while True:
            while not done and sent - received < ahead:
                indices = next(source, None)
                if indices is None:
                    done = True
                    break
                self.tasks[sent % len(self.procs)].put((sent, list(indices)))
                sent += 1
            if received == sent and done:
                return
            while received not in pending:
                _, index, item = self._get()
                pending[index] = self._check(item)
            yield pending.pop(received)
            received += 1

    def streams(self) -> Iterator:
        """Every worker's batches of an iterable dataset, round-robin (as PyTorch interleaves)."""
        n = len(self.procs)
        ready: list = [{} for _ in range(n)]
        finished: set = set()
        nexts = [0] * n
        worker = 0
        while len(finished) < n or any(ready):
            while nexts[worker] not in ready[worker] and worker not in finished:
                w, index, item = self._get()
                if index is None:
                    finished.add(w)
                else:
                    ready[w][index] = self._check(item)
            if nexts[worker] in ready[worker]:
                yield ready[worker].pop(nexts[worker])
                nexts[worker] += 1
            worker = (worker + 1) % n
