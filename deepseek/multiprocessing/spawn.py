"""``spawn`` and ``start_processes``: run ``fn(i, *args)`` in ``nprocs`` processes that share
one MPI world (worker ``i`` is MPI rank ``i``), as ``torch.multiprocessing.spawn``.

The package docstring says how the workers are started and why.
"""

from __future__ import annotations

import atexit
import functools
import hmac
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from multiprocessing import context as _mp_context
from multiprocessing import spawn as _mp_spawn
from multiprocessing.connection import Connection, wait
from multiprocessing.reduction import ForkingPickler
from typing import Any, Callable, Optional

from .._extras import require
from . import _worker

__all__ = ["ProcessContext", "ProcessException", "ProcessExitedException",
           "ProcessRaisedException", "spawn", "SpawnContext", "start_processes"]

_START_TIMEOUT_S = 120.0  # mpiexec, the interpreters and MPI_Init; generous for a loaded host
_TERMINATE_WAIT_S = 30.0  # torch's wait between SIGTERM and SIGKILL when grace_period is None
_KILLED_WAIT_S = 10.0  # after SIGKILL, how long supervisors get to report
_LAUNCHER_WAIT_S = 10.0  # how long mpiexec gets to exit once every rank has
_LIVE: set = set()  # contexts not joined yet: finished at interpreter exit, as multiprocessing's


class ProcessException(Exception):
    __slots__ = ["error_index", "error_pid"]

    def __init__(self, msg: str, error_index: int, error_pid: int) -> None:
        super().__init__(msg)
        self.msg = msg
        self.error_index = error_index
        self.error_pid = error_pid

    def __reduce__(self) -> tuple:
        return type(self), (self.msg, self.error_index, self.error_pid)


class ProcessRaisedException(ProcessException):
    """Exception raised when a process failed due to an exception raised by the code."""


class ProcessExitedException(ProcessException):
    """Exception raised when a process failed due to signal or exited with a specific code."""

    __slots__ = ["exit_code"]

    def __init__(self, msg: str, error_index: int, error_pid: int, exit_code: int,
                 signal_name: Optional[str] = None) -> None:
        super().__init__(msg, error_index, error_pid)
        self.exit_code = exit_code
        self.signal_name = signal_name

    def __reduce__(self) -> tuple:
        return (type(self), (self.msg, self.error_index, self.error_pid, self.exit_code,
                             self.signal_name))


class SpawnedProcess:
    """One worker of a ``ProcessContext``, with the ``multiprocessing.Process`` attributes that
    make sense for a process the parent did not fork itself: ``pid``, ``exitcode``, ``name``,
    ``daemon``, ``is_alive()``, ``terminate()``, ``kill()``, ``join(timeout)``."""

    def __init__(self, context: "ProcessContext", pid: int) -> None:
        self._context = context
        self.pid = pid
        self.rank: Optional[int] = None
        self.exitcode: Optional[int] = None
        self.daemon = context._daemon
        self.traceback: Optional[str] = None
        self._supervisor: Optional[Connection] = None
        self._worker: Optional[Connection] = None
        self._hint: Optional[int] = None

    @property
    def name(self) -> str:
        return f"SpawnProcess-{self.index + 1}"

    @property
    def index(self) -> int:
        """The process index ``i`` that ``fn`` got (-1 for one that died before it knew)."""
        if self.rank is not None:
            return self.rank
        return -1 if self._hint is None else self._hint

    def is_alive(self) -> bool:
        self._context._pump(0)
        return self.exitcode is None

    def join(self, timeout: Optional[float] = None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.exitcode is None and self._supervisor is not None:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return
            self._context._pump(remaining)

    def terminate(self) -> None:
        self._signal(signal.SIGTERM)

    def kill(self) -> None:
        self._signal(signal.SIGKILL)

    def _signal(self, signum: int) -> None:
        # Until its supervisor reports the exit, the pid is held (unreaped) for this worker.
        if self.exitcode is None and self._supervisor is not None:
            try:
                os.kill(self.pid, signum)
            except ProcessLookupError:
                pass

    def __repr__(self) -> str:
        state = "started" if self.exitcode is None else f"stopped exitcode={self.exitcode}"
        return f"<SpawnedProcess name={self.name!r} pid={self.pid} {state}>"


class ProcessContext:
    """The workers of one ``start_processes(..., join=False)`` call.

    ``processes`` lists them by index, ``pids()`` their process ids, and ``join`` waits for
    them, stopping all of them and raising ``ProcessRaisedException`` or
    ``ProcessExitedException`` as soon as one fails.
    """

    def __init__(self, nprocs: int, daemon: bool) -> None:
        self.nprocs = nprocs
        self._daemon = daemon
        self.processes: list = [None] * nprocs
        self._by_pid: dict = {}
        self._connections: dict = {}  # open connection -> (SpawnedProcess, "worker"|"supervisor")
        self._pending: list = []  # accepted, not yet introduced
        self._payloads: list = []  # one pickled (fn, args) per worker, taken as each is ready
        self._preparation = b""
        self._token = ""
        self._server: Optional[socket.socket] = None
        self._server_dir: Optional[str] = None
        self._launcher: Optional[subprocess.Popen] = None
        self._failed: Optional[SpawnedProcess] = None
        self._failure_note = ""
        self._closed = False

    def pids(self) -> list:
        return [int(p.pid) for p in self.processes]

    def join(self, timeout: Optional[float] = None,
             grace_period: Optional[float] = None) -> bool:
        r"""Wait for the workers.

        Returns ``True`` once all of them have exited successfully, ``False`` if ``timeout``
        seconds passed first. When one fails, the others get ``grace_period`` seconds to exit
        on their own, then SIGTERM, then (after ``grace_period``, or 30 s) SIGKILL, and the
        failure is raised: ``ProcessRaisedException`` (with the worker's traceback) or
        ``ProcessExitedException`` (with its exit code or signal).
        """
        if self._closed:
            return True
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while self._failed is None:
                if all(p is not None and p.exitcode == 0 for p in self.processes):
                    self._close()
                    return True
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._pump(remaining)
        except BaseException:  # KeyboardInterrupt included: never leave workers behind
            self._stop(None)
            raise
        self._stop(grace_period)
        raise self._exception()

    # ---- events ----

    def _pump(self, timeout: Optional[float]) -> int:
        """Wait up to ``timeout`` for anything from the workers, handle all of it, and say
        how many things there were."""
        if self._closed:
            return 0
        waiting: list = list(self._connections) + self._pending
        if self._server is not None:
            waiting.append(self._server)
        if not waiting:
            return 0
        ready = wait(waiting, timeout)
        for source in ready:
            if source is self._server:
                self._accept()
            elif source in self._pending:
                self._introduce(source)
            else:
                self._read(source)
        return len(ready)

    def _supervised(self) -> int:
        return sum(p._supervisor is not None for p in self._by_pid.values())

    def _started(self) -> bool:
        return self._supervised() == self.nprocs and all(p is not None for p in self.processes)

    def _accept(self) -> None:
        try:
            sock, _ = self._server.accept()
        except (BlockingIOError, InterruptedError):
            return
        sock.setblocking(True)
        self._pending.append(Connection(sock.detach()))

    def _introduce(self, conn: Connection) -> None:
        """A new connection's first message: who it is, with the launch's token."""
        self._pending.remove(conn)
        try:
            hello = json.loads(conn.recv_bytes())
        except (EOFError, OSError, ValueError):
            conn.close()
            return
        if not hmac.compare_digest(str(hello.get("token", "")).encode(), self._token.encode()):
            conn.close()  # not one of ours
            return
        pid = int(hello["pid"])
        proc = self._by_pid.get(pid)
        if proc is None:
            proc = self._by_pid[pid] = SpawnedProcess(self, pid)
        if hello.get("role") == "supervisor":
            proc._supervisor = conn
            proc._hint = hello.get("rank")
        else:
            proc._worker = conn
        self._connections[conn] = (proc, hello.get("role"))

    def _read(self, conn: Connection) -> None:
        proc, role = self._connections[conn]
        try:
            message = json.loads(conn.recv_bytes())
        except (EOFError, OSError, ValueError):
            self._drop(conn)
            if role == "supervisor" and proc.exitcode is None:
                # Killed before it could report; on Linux the kernel then kills the worker.
                proc._supervisor = None
                self._fail(proc, "its supervisor, the process mpiexec started, died without "
                                 "reporting an exit status")
            return
        event = message.get("event")
        if event == "ready":
            self._ready(proc, int(message["rank"]))
        elif event == "raised":
            proc.traceback = str(message.get("traceback", ""))
            self._fail(proc)
        elif event == "exited":
            proc.exitcode = int(message["status"])
            self._drop(conn)
            if proc.exitcode != 0:
                self._fail(proc)

    def _ready(self, proc: SpawnedProcess, rank: int) -> None:
        if not 0 <= rank < self.nprocs or self.processes[rank] is not None:
            proc.traceback = (f"[deepseek.multiprocessing.spawn] a worker reported MPI rank "
                              f"{rank}, which is not a free rank of {self.nprocs}\n")
            self._fail(proc)
            return
        proc.rank = rank
        self.processes[rank] = proc
        try:
            proc._worker.send_bytes(self._preparation)
            proc._worker.send_bytes(self._payloads.pop())
        except OSError:
            pass  # it died meanwhile; its supervisor reports how

    def _drop(self, conn: Connection) -> None:
        self._connections.pop(conn, None)
        conn.close()

    def _fail(self, proc: SpawnedProcess, note: str = "") -> None:
        if self._failed is None:
            self._failed = proc
            self._failure_note = note

    # ---- stopping ----

    def _stop(self, grace_period: Optional[float]) -> None:
        """Stop every worker still running (as torch's join: grace, SIGTERM, SIGKILL)."""
        if self._closed:
            return
        if grace_period is not None:
            self._wait_all(grace_period)
        for p in self._by_pid.values():
            p.terminate()
        if self._launcher is not None and self._supervised() < self.nprocs:
            self._launcher.terminate()  # some never connected: only mpiexec can reach them
        self._wait_all(_TERMINATE_WAIT_S if grace_period is None else grace_period)
        for p in self._by_pid.values():
            p.kill()
        self._wait_all(_KILLED_WAIT_S)
        while self._pump(0):  # what is still unread (a traceback sent just before the exit)
            pass
        self._close()

    def _wait_all(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while any(p._supervisor is not None and p.exitcode is None
                  for p in self._by_pid.values()):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self._pump(remaining)

    def _close(self) -> None:
        if self._closed:
            return
        self._closed = True
        _LIVE.discard(self)
        self._close_server()
        for conn in list(self._connections) + self._pending:
            conn.close()
        self._connections.clear()
        self._pending.clear()
        launcher = self._launcher
        if launcher is not None:
            try:
                launcher.wait(_LAUNCHER_WAIT_S)
            except subprocess.TimeoutExpired:
                launcher.terminate()
                try:
                    launcher.wait(_LAUNCHER_WAIT_S)
                except subprocess.TimeoutExpired:
                    launcher.kill()
                    launcher.wait()

    def _close_server(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        if self._server_dir is not None:
            shutil.rmtree(self._server_dir, ignore_errors=True)
            self._server_dir = None

    def _exception(self) -> ProcessException:
        proc = self._failed
        index = proc.index
        if proc.traceback is not None:
            msg = f"\n\n-- Process {index:d} terminated with the following error:\n"
            return ProcessRaisedException(msg + proc.traceback, index, proc.pid)
        code = proc.exitcode
        if code is None:
            return ProcessExitedException(f"process {index:d} terminated with an unknown exit "
                                          f"status ({self._failure_note})", index, proc.pid, -1)
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"<Unknown signal {-code}>"
            return ProcessExitedException(f"process {index:d} terminated with signal {name}",
                                          index, proc.pid, code, name)
        return ProcessExitedException(f"process {index:d} terminated with exit code {code:d}",
                                      index, proc.pid, code)

    def _at_exit(self) -> None:
        if self._daemon:
            self._stop(None)
        else:
            self.join()


class SpawnContext(ProcessContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        warnings.warn("SpawnContext is renamed to ProcessContext since 1.4 release.",
                      stacklevel=2)
        super().__init__(*args, **kwargs)


class _ToAnyProcess:
    """Stands in for multiprocessing's spawning Popen while the payload is pickled, so that
    queues, pipes, locks and shared values in ``args`` pickle as they do for a spawned
    ``Process``. Our workers are not our children, so file descriptors travel through
    multiprocessing's resource sharer (a Unix socket) instead of being inherited."""

    @staticmethod
    def duplicate_for_child(fd: int) -> int:
        return fd

    @staticmethod
    def DupFd(fd: int) -> Any:  # noqa: N802  (multiprocessing's name)
        from multiprocessing import resource_sharer

        return resource_sharer.DupFd(fd)


def _pickle_for_child(obj: Any) -> bytes:
    """``obj`` pickled as multiprocessing pickles what a spawned Process receives."""
    _mp_context.set_spawning_popen(_ToAnyProcess())
    try:
        return bytes(ForkingPickler.dumps(obj))
    finally:
        _mp_context.set_spawning_popen(None)


def _mpiexec() -> list:
    """The launcher's command line up to the program."""
    here = os.path.dirname(sys.executable)
    found = shutil.which("mpiexec", path=here + os.pathsep + os.environ.get("PATH", ""))
    if found is None:
        raise RuntimeError('[deepseek.multiprocessing.spawn] mpiexec not found next to the '
                           'Python executable or on PATH; pip install '
                           '"deepseek-framework[distributed]"')
    # When a rank dies, Hydra (mpich's mpiexec) kills the others at once, supervisors
    # included, so their exit status never reaches us and which rank failed first is a race:
    # the parent does the clean-up instead, as torch's does.
    return [found, "-disable-auto-cleanup"] if _is_hydra(found) else [found]


@functools.lru_cache(maxsize=None)
def _is_hydra(mpiexec: str) -> bool:
    try:
        probe = subprocess.run([mpiexec, "--version"], capture_output=True, text=True,
                               timeout=30, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "HYDRA" in probe.stdout


def _launch(fn: Callable, args: tuple, nprocs: int, daemon: bool) -> ProcessContext:
    if not hasattr(os, "fork") or not hasattr(socket, "AF_UNIX"):
        raise RuntimeError("[deepseek.multiprocessing.spawn] needs a POSIX system (fork and "
                           "Unix sockets), as MPI does")
    if nprocs > 1:
        # The package only: importing mpi4py.MPI would make the parent an MPI process.
        require("mpi4py", "distributed", "deepseek.multiprocessing.spawn")
        command = _mpiexec() + ["-n", str(nprocs)]
    else:
        command = []  # one process is a world of one: no mpiexec needed
    context = ProcessContext(nprocs, daemon)
    # Raises (as multiprocessing does) when called from a worker re-running an unguarded main.
    preparation = _mp_spawn.get_preparation_data("SpawnProcess")
    context._preparation = _pickle_for_child(preparation)  # it holds the authkey
    # One pickle per worker: a descriptor passed through the resource sharer is fetched once.
    context._payloads = [_pickle_for_child((fn, args, daemon)) for _ in range(nprocs)]
    context._token = os.urandom(32).hex()
    context._server_dir = tempfile.mkdtemp(prefix="ds-mp-")  # 0700: only this user connects
    address = os.path.join(context._server_dir, "s")
    server = context._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        server.bind(address)
        server.listen(2 * nprocs)
        server.setblocking(False)
        env = dict(os.environ, **{_worker.ENV_ADDRESS: address, _worker.ENV_TOKEN: context._token,
                                  _worker.ENV_NPROCS: str(nprocs)})
        if sys.stdout is not None and sys.stdout.isatty():
            env.setdefault("PYTHONUNBUFFERED", "1")  # their stdout is mpiexec's pipe
        context._launcher = subprocess.Popen(command + [sys.executable, _worker.__file__],
                                             env=env, stdin=subprocess.DEVNULL)
        _LIVE.add(context)
        deadline = time.monotonic() + _START_TIMEOUT_S
        while context._failed is None and not context._started():
            if context._launcher.poll() is not None:
                while context._pump(0.05):  # what the workers said before they went
                    pass
                if context._failed is None and not context._started():
                    launcher = command[0] if command else "the worker"
                    raise RuntimeError(f"[deepseek.multiprocessing.spawn] {launcher} exited "
                                       f"with code {context._launcher.returncode} before all "
                                       f"{nprocs} processes started")
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RuntimeError(f"[deepseek.multiprocessing.spawn] {nprocs} processes did "
                                   f"not all start within {_START_TIMEOUT_S:.0f} s")
            context._pump(min(remaining, 0.5))
    except BaseException:
        context._stop(None)
        raise
    context._close_server()
    if context._failed is not None:
        context._stop(None)
        raise context._exception()
    return context


def start_processes(fn: Callable, args: tuple = (), nprocs: int = 1, join: bool = True,
                    daemon: bool = False, start_method: str = "spawn") -> Optional[ProcessContext]:
    """``spawn`` for any start method; deepseek's workers are always fresh interpreters under
    ``mpiexec``, so ``start_method`` must be ``"spawn"``."""
    if start_method != "spawn":
        raise ValueError(f"[deepseek.multiprocessing.start_processes] start_method="
                         f"{start_method!r} is not supported: the workers are started by "
                         "mpiexec as new interpreters (so that they share one MPI world), "
                         "which is start_method='spawn'")
    if isinstance(nprocs, bool) or not isinstance(nprocs, int) or nprocs < 1:
        raise ValueError(f"[deepseek.multiprocessing.spawn] nprocs must be a positive int, got "
                         f"{nprocs!r}")
    context = _launch(fn, tuple(args), nprocs, daemon)
    if not join:
        return context
    while not context.join():
        pass
    return None


def spawn(fn: Callable, args: tuple = (), nprocs: int = 1, join: bool = True,
          daemon: bool = False, start_method: str = "spawn") -> Optional[ProcessContext]:
    r"""Spawns ``nprocs`` processes that run ``fn`` with ``args``, in one MPI world.

    If one of the processes exits with a non-zero exit status, the remaining processes are
    killed and an exception is raised with the cause of termination. In the case an exception
    was caught in the child process, it is forwarded and its traceback is included in the
    exception raised in the parent process.

    Args:
        fn (function): called as the entrypoint of each process as ``fn(i, *args)``, where
            ``i`` is the process index, which is also its MPI rank (so
            ``dist.init_process_group(backend, rank=i, world_size=nprocs)`` joins the world).
            It must be defined at the top level of a module, or of the main script, so that
            it can be pickled by reference.
        args (tuple): Arguments passed to ``fn``.
        nprocs (int): Number of processes to spawn.
        join (bool): Perform a blocking join on all processes.
        daemon (bool): The spawned processes' daemon flag. If set to True, daemonic processes
            will be created (stopped, rather than waited for, when the parent exits).
        start_method (str): (deprecated) this method will always use ``spawn`` as the start
            method.

    Returns:
        None if ``join`` is ``True``, :class:`~ProcessContext` if ``join`` is ``False``

    Example::

        >>> def demo(rank, world_size):
        ...     dist.init_process_group("gloo", rank=rank, world_size=world_size)
        ...     ...
        >>> if __name__ == "__main__":
        ...     ds.multiprocessing.spawn(demo, args=(2,), nprocs=2, join=True)
    """
    if start_method != "spawn":
        warnings.warn(f"This method only supports start_method=spawn (got: {start_method}).\n"
                      "To use a different start_method use:\n\t\t "
                      "deepseek.multiprocessing.start_processes(...)", FutureWarning,
                      stacklevel=2)
    return start_processes(fn, args, nprocs, join, daemon, start_method="spawn")


@atexit.register
def _finish_at_exit() -> None:
    for context in list(_LIVE):
        context._at_exit()

