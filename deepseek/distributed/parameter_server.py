"""A parameter server on MPI: one process holds the model's parameters and its optimizer;
workers push gradients and get the updated parameters back.

Asynchronous (the default): each push is applied as it arrives, so a worker's gradient may
have been computed on parameters a few updates old (bounded by the number of workers).
Synchronous: the server waits for a push from every worker still running, averages them and
steps once, which is data-parallel SGD with the optimizer in one place.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..nn.modules.module import Module
from . import distributed_c10d as c10d

__all__ = ["ParameterServer"]

_PUSH, _PULL, _STOP, _PARAMS = 201, 202, 203, 204


class ParameterServer:
    """Train ``module`` with its parameters and ``optimizer`` on process ``server_rank``.

    Every process of ``group`` constructs it at the same point (the server's parameters are
    copied to the workers then). The server calls ``run()``, which returns when every worker
    has called ``stop()`` (or left the ``with`` block); a worker computes gradients as usual
    and calls ``push()`` instead of ``optimizer.step()``.

    Args:
        module: the model (the same architecture in every process).
        optimizer: the server's optimizer over ``module.parameters()`` (None on workers).
        server_rank: the server's rank in ``group``. Default: 0.
        group: the process group (default: the default group).
        synchronous: average one push from every running worker per step. Default: False.

    Example::

        ps = ds.distributed.ParameterServer(model, opt if rank == 0 else None)
        if ps.is_server:
            ps.run()
        else:
            with ps:
                for x, y in loader:
                    model.zero_grad()
                    F.cross_entropy(model(x), y).backward()
                    ps.push()
    """

    def __init__(self, module: Module, optimizer: Any = None, *, server_rank: int = 0,
                 group: Any = None, synchronous: bool = False) -> None:
        g = c10d._group(group, "ParameterServer")
        if g is None:
            raise ValueError("[ParameterServer] this process is not in the group")
        if not 0 <= server_rank < g.size():
            raise ValueError(f"[ParameterServer] server_rank {server_rank} is not in a group of "
                             f"size {g.size()}")
        self.params = [p for p in module.parameters() if p.requires_grad]
        dtypes = {p._data.dtype for p in self.params}
        if len(dtypes) != 1:
            raise TypeError(f"[ParameterServer] the parameters must share one dtype, got "
                            f"{sorted(map(str, dtypes))}")
        self.is_server = g.rank() == server_rank
        if self.is_server and optimizer is None:
            raise ValueError("[ParameterServer] the server process needs the optimizer")
        self.comm = g.comm.Dup()  # its own channel: the user's sends never meet ours
        self.server_rank = server_rank
        self.synchronous = synchronous
        self.optimizer = optimizer
        sizes = [p._data.size for p in self.params]
        self._offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
        self._flat = np.empty(int(self._offsets[-1]), dtypes.pop())
        self._stopped = False
        self._gather_params()
        self.comm.Bcast(self._flat, server_rank)
        self._scatter_params()
        self.updates = 0  # optimizer steps the server has taken

    def _gather_params(self) -> None:
        for p, a, b in zip(self.params, self._offsets, self._offsets[1:]):
            self._flat[a:b] = p._data.reshape(-1)

    def _scatter_params(self) -> None:
        for p, a, b in zip(self.params, self._offsets, self._offsets[1:]):
            p._data[...] = self._flat[a:b].reshape(p._data.shape)
            p._version_box[0] += 1

    def _worker(self, op: str) -> None:
        if self.is_server:
            raise RuntimeError(f"[ParameterServer.{op}] called on the server process; the server "
                               "calls run()")
        if self._stopped:
            raise RuntimeError(f"[ParameterServer.{op}] this worker has already stopped")

    # ---- workers ----
    def push(self) -> None:
        """Send this worker's gradients (missing ones as zeros) and take the server's updated
        parameters."""
        self._worker("push")
        grads = np.zeros_like(self._flat)
        for p, a, b in zip(self.params, self._offsets, self._offsets[1:]):
            if p.grad is not None:
                grads[a:b] = p.grad._data.reshape(-1)
        self.comm.Send(grads, self.server_rank, _PUSH)
        self.comm.Recv(self._flat, self.server_rank, _PARAMS)
        self._scatter_params()

    def pull(self) -> None:
        """Copy the server's current parameters into the module."""
        self._worker("pull")
        self.comm.Send(np.empty(0, np.uint8), self.server_rank, _PULL)
        self.comm.Recv(self._flat, self.server_rank, _PARAMS)
        self._scatter_params()

    def stop(self) -> None:
        """Tell the server this worker is done."""
        self._worker("stop")
        self.comm.Send(np.empty(0, np.uint8), self.server_rank, _STOP)
        self._stopped = True

    def __enter__(self) -> "ParameterServer":
        return self

    def __exit__(self, *exc: Any) -> None:
        if not self.is_server and not self._stopped:
            self.stop()

    # ---- the server ----
    def run(self) -> None:
        """Serve pushes and pulls until every worker has stopped."""
        if not self.is_server:
            raise RuntimeError("[ParameterServer.run] called on a worker; workers push()")
        from mpi4py import MPI

        running = set(range(self.comm.Get_size())) - {self.server_rank}
        grads = np.empty_like(self._flat)
        waiting: dict = {}  # synchronous: worker -> its pushed gradient
        status = MPI.Status()
        while running:
            self.comm.Probe(MPI.ANY_SOURCE, MPI.ANY_TAG, status)
            source, tag = status.Get_source(), status.Get_tag()
            if tag == _PUSH:
                self.comm.Recv(grads, source, _PUSH)
                if not self.synchronous:
                    self._step(grads)
                    self.comm.Send(self._flat, source, _PARAMS)
                    continue
                waiting[source] = grads.copy()
            else:
                self.comm.Recv(np.empty(0, np.uint8), source, tag)
                if tag == _PULL:
                    self.comm.Send(self._flat, source, _PARAMS)
                    continue
                running.discard(source)
            if self.synchronous and waiting and set(waiting) >= running:
                self._step(np.mean(list(waiting.values()), axis=0, dtype=self._flat.dtype))
                for worker in waiting:
                    self.comm.Send(self._flat, worker, _PARAMS)
                waiting.clear()

    def _step(self, grads: np.ndarray) -> None:
        from ..tensor import Tensor

        for p, a, b in zip(self.params, self._offsets, self._offsets[1:]):
            p.grad = Tensor._wrap(grads[a:b].reshape(p._data.shape).copy())
        self.optimizer.step()
        self.optimizer.zero_grad()
        self.updates += 1
        self._gather_params()
