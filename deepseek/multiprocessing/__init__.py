"""``deepseek.multiprocessing``: the standard library's ``multiprocessing`` with deepseek
tensors picklable through its queues and pipes, plus ``spawn``, as ``torch.multiprocessing``.

``spawn(fn, args, nprocs)`` runs ``fn(i, *args)`` in ``nprocs`` processes that share one MPI
world, worker ``i`` being MPI rank ``i``, so PyTorch's DDP tutorial runs unchanged but for the
import (``dist.init_process_group("gloo", rank=rank, world_size=world_size)`` finds the world).

How the workers start, and why:

* Processes that ``multiprocessing`` starts are MPI singletons (each world has size 1), so the
  workers are started by ``mpiexec -n N`` (found next to ``sys.executable`` or on PATH). Each
  connects back to the parent over a Unix socket in a private directory, shows a random
  token, and receives multiprocessing's preparation data (sys.path, cwd, the main script,
  re-run as ``__mp_main__`` so that functions defined in it are found) and the pickled
  ``(fn, args)``. ``fn`` travels by reference (module and name), as with multiprocessing's
  spawn; queues, pipes, locks and shared values in ``args`` work as they do for a spawned
  ``Process`` (so they come from ``get_context("spawn")``, as with torch). spawn's own
  traffic pickles parent to child only; everything a worker sends back is JSON. Being new
  interpreters, the workers are ``start_method="spawn"``; ``start_processes`` takes no other.
* Each process ``mpiexec`` starts forks the real worker and stays behind as its supervisor: it
  reports the worker's exact exit code or signal (``mpiexec`` has one exit code for the whole
  job), forwards signals, and stops the worker if the parent dies. When a worker raises or
  exits non-zero, the parent stops the others (SIGTERM, then SIGKILL) and raises
  ``ProcessRaisedException`` (with the worker's traceback) or ``ProcessExitedException``
  (with the exit code or signal), as torch, instead of leaving ranks hung in a collective.
  Hydra (mpich's ``mpiexec``) runs with ``-disable-auto-cleanup``: its own clean-up killed
  the other supervisors before they could report, so which rank failed first was a race.
* MPI dynamic processes (``MPI.COMM_SELF.Spawn``) were tried and rejected: with mpich, one
  spawned child exiting with code 3 got the parent itself killed by the process manager
  (a test runner or notebook would die with it), and the parent would have to initialize MPI.

With ``nprocs=1`` the one worker starts without ``mpiexec`` (a world of one), so it needs
neither mpi4py nor mpich; ``nprocs > 1`` needs the ``[distributed]`` extra.

Tensors sent through queues, pipes or ``args`` are copied: there is no shared memory, so the
sharing strategies (``file_descriptor``, ``file_system``) are accepted as names only.
"""

import multiprocessing
import sys

from multiprocessing import *  # noqa: F403

from .reductions import init_reductions
from .spawn import (ProcessContext, ProcessException, ProcessExitedException,
                    ProcessRaisedException, SpawnContext, spawn, start_processes)

__all__ = ["set_sharing_strategy", "get_sharing_strategy", "get_all_sharing_strategies"]
__all__ += multiprocessing.__all__

if sys.platform in ("darwin", "win32"):
    _sharing_strategy = "file_system"
    _all_sharing_strategies = {"file_system"}
else:
    _sharing_strategy = "file_descriptor"
    _all_sharing_strategies = {"file_descriptor", "file_system"}


def set_sharing_strategy(new_strategy: str) -> None:
    """Set the strategy for sharing CPU tensors (a name only: deepseek copies them).

    Args:
        new_strategy (str): one of :func:`get_all_sharing_strategies()`.
    """
    global _sharing_strategy
    if new_strategy not in _all_sharing_strategies:
        raise AssertionError(f"invalid sharing strategy {new_strategy!r}, expected one of "
                             f"{_all_sharing_strategies}")
    _sharing_strategy = new_strategy


def get_sharing_strategy() -> str:
    """Return the current strategy for sharing CPU tensors."""
    return _sharing_strategy


def get_all_sharing_strategies() -> set:
    """Return a set of sharing strategies supported on a current system."""
    return set(_all_sharing_strategies)


# Registering pickle reducers, as torch.multiprocessing does on import: only multiprocessing's
# own pickler (queues, pipes, process arguments) uses them.
init_reductions()
