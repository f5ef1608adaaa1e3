"""Dynamic batching: requests wait in one queue; a single worker thread takes the oldest, adds
later ones of the same example shape up to ``max_batch_size`` examples or until the oldest has
waited ``max_latency`` seconds, runs the model once and hands each request its rows."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import Any, Callable, Optional

import numpy as np

from ._runner import rows

logger = logging.getLogger("deepseek.serving")


class Request:
    """One ``POST /predict`` waiting for its outputs."""

    __slots__ = ("examples", "arrival", "done", "outputs", "status", "error", "cancelled")

    def __init__(self, examples: np.ndarray) -> None:
        self.examples = examples
        self.arrival = time.monotonic()
        self.done = threading.Event()
        self.outputs: Any = None
        self.status = 200
        self.error = ""
        self.cancelled = False

    @property
    def shape(self) -> tuple:
        return self.examples.shape[1:]

    def finish(self, outputs: Any) -> None:
        self.outputs = outputs
        self.done.set()

    def fail(self, status: int, error: str) -> None:
        self.status, self.error = status, error
        self.done.set()


class ShuttingDown(RuntimeError):
    pass


class Batcher:
    """The queue and its worker thread.

    Args:
        run: called with a stacked batch ``(n, *shape)``; returns the model's outputs as
            :class:`~deepseek.serving._runner.ModelRunner` does.
        max_batch_size: most examples per model call.
        max_latency: seconds the oldest waiting request may wait for others to join it.
        on_batch: called with ``(examples, requests, seconds)`` after each successful batch.
        on_error: turns an exception from ``run`` into ``(status, message)`` for its requests.
    """

    def __init__(self, run: Callable[[np.ndarray], Any], max_batch_size: int,
                 max_latency: float, on_batch: Optional[Callable] = None,
                 on_error: Optional[Callable[[Exception], tuple]] = None) -> None:
        self.run = run
        self.max_batch_size = max_batch_size
        self.max_latency = max_latency
        self.on_batch = on_batch
        self.on_error = on_error
        self._pending: deque = deque()
        self._cond = threading.Condition()
        self._stopping = False
        self._thread: Optional[threading.Thread] = None

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def depth(self) -> int:
        with self._cond:
            return sum(len(r.examples) for r in self._pending)

    def start(self) -> None:
        self._stopping = False
        self._thread = threading.Thread(target=self._loop, name="deepseek-serving-batcher",
                                        daemon=True)
        self._thread.start()

    def submit(self, examples: np.ndarray) -> Request:
        request = Request(examples)
        with self._cond:
            if self._stopping or not self.alive:
                raise ShuttingDown("the server is shutting down")
            self._pending.append(request)
            self._cond.notify()
        return request

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the batch being run, fail the requests still queued (503), join."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
        with self._cond:
            left, self._pending = list(self._pending), deque()
        for request in left:
            request.fail(503, "the server is shutting down")

    # ---- the worker ----
    def _loop(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            try:
                self._run(batch)
            except BaseException as e:  # never leave a request waiting, never die
                logger.exception("serving: batch failed outside the model")
                for request in batch:
                    if not request.done.is_set():
                        request.fail(500, f"internal error: {type(e).__name__}: {e}")
                if not isinstance(e, Exception):
                    raise

    def _next_batch(self) -> Optional[list]:
        with self._cond:
            while True:
                while not self._pending and not self._stopping:
                    self._cond.wait()
                if self._stopping:
                    return None
                self._pending = deque(r for r in self._pending if not r.cancelled)
                if self._pending:
                    break
            first = self._pending[0]
            deadline = first.arrival + self.max_latency
            while True:
                batch, total = self._select(first.shape)
                remaining = deadline - time.monotonic()
                if total >= self.max_batch_size or remaining <= 0 or self._stopping:
                    break
                self._cond.wait(remaining)
            chosen = {id(r) for r in batch}
            self._pending = deque(r for r in self._pending if id(r) not in chosen)
            return batch

    def _select(self, shape: tuple) -> tuple:
        """The oldest request, and the later ones of its shape that still fit, in order."""
        batch, total = [], 0
        for request in self._pending:
            if request.cancelled or request.shape != shape:
                continue
            count = len(request.examples)
            if total + count <= self.max_batch_size:
                batch.append(request)
                total += count
                if total == self.max_batch_size:
                    break
        return batch, total

    def _run(self, batch: list) -> None:
        arrays = [r.examples for r in batch]
        stacked = arrays[0] if len(arrays) == 1 else np.concatenate(arrays)
        start = time.perf_counter()
        try:
            outputs = self.run(stacked)
        except Exception as e:
            status, message = self.on_error(e) if self.on_error else (500, str(e))
            for request in batch:
                request.fail(status, message)
            return
        seconds = time.perf_counter() - start
        if self.on_batch is not None:  # before anyone is answered, so /metrics agrees
            self.on_batch(len(stacked), batch, seconds)
        offset = 0
        for request in batch:
            count = len(request.examples)
            request.finish(rows(outputs, offset, offset + count))
            offset += count
