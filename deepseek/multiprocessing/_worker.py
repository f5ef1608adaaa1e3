"""The process ``mpiexec`` starts for each rank of ``deepseek.multiprocessing.spawn``: it forks
the worker (the MPI rank that runs ``fn``) and stays behind as its supervisor, which forwards
signals to it and tells the parent its exact exit status.

Run by path (not ``-m deepseek...``) so that the supervisor imports the standard library only;
the worker imports what ``fn`` needs after the fork.
"""

from __future__ import annotations

import json
import os
import pickle
import signal
import socket
import sys
import threading
import traceback
from multiprocessing.connection import Connection
from typing import Any, Optional

# How the parent reaches us; read and removed from the environment before anything else.
ENV_ADDRESS = "DS_MP_ADDRESS"
ENV_TOKEN = "DS_MP_TOKEN"
ENV_NPROCS = "DS_MP_NPROCS"
# Where process managers put a rank before MPI_Init; only for naming a worker that died first.
_RANK_HINTS = ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "PMIX_RANK")
_FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_KILL_AFTER_S = 10.0  # a worker whose parent is gone gets SIGTERM, then SIGKILL this much later
_PR_SET_PDEATHSIG = 1


def _connect(address: str, token: str, **hello: Any) -> Connection:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(address)
    conn = Connection(sock.detach())
    _send(conn, token=token, **hello)
    return conn


def _send(conn: Connection, **message: Any) -> None:
    # Child-to-parent traffic is JSON: the parent never unpickles what a worker sends.
    conn.send_bytes(json.dumps(message).encode())


def _rank_hint(nprocs: int) -> Optional[int]:
    if nprocs == 1:
        return 0
    for name in _RANK_HINTS:
        if os.environ.get(name, "").isdigit():
            return int(os.environ[name])
    return None


def main() -> None:
    address = os.environ.pop(ENV_ADDRESS)
    token = os.environ.pop(ENV_TOKEN)
    nprocs = int(os.environ.pop(ENV_NPROCS))
    # Running by path put this package's folder first on sys.path; the worker's sys.path is
    # the parent's (multiprocessing's preparation data), so the folder is only in the way.
    if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
        del sys.path[0]
    supervisor = os.getpid()
    child = os.fork()
    if child == 0:
        sys.exit(_work(address, token, nprocs, supervisor))
    code = _supervise(address, token, nprocs, child)
    # At once: no interpreter shutdown (with default signal actions back) for a late signal
    # to turn into a death that mpiexec reports.
    os._exit(code)


# ---- the supervisor ----

def _supervise(address: str, token: str, nprocs: int, child: int) -> int:
    # Reentrant: a forwarded signal may arrive while the main thread holds it to reap.
    reaped = threading.RLock()
    done = [False]

    def signal_child(signum: int) -> None:
        with reaped:  # never signal a pid after it is reaped (and may be reused)
            if not done[0]:
                try:
                    os.kill(child, signum)
                except ProcessLookupError:
                    pass

    for signum in _FORWARDED:
        signal.signal(signum, lambda signum, frame: signal_child(signum))
    # Hydra without auto-cleanup tells the surviving ranks of a failure with SIGUSR1, whose
    # default action would kill us before we report; the parent stops the worker instead.
    signal.signal(signal.SIGUSR1, signal.SIG_IGN)
    try:
        conn: Optional[Connection] = _connect(address, token, role="supervisor", pid=child,
                                              supervisor=os.getpid(), rank=_rank_hint(nprocs))
    except OSError:
        conn = None
        signal_child(signal.SIGTERM)
    if conn is not None:
        threading.Thread(target=_watch_parent, args=(conn, signal_child), daemon=True).start()
    if hasattr(os, "waitid"):  # read the status, report it, and only then reap
        info = os.waitid(os.P_PID, child, os.WEXITED | os.WNOWAIT)
        status = info.si_status if info.si_code == os.CLD_EXITED else -info.si_status
    else:
        status = os.waitstatus_to_exitcode(os.waitpid(child, 0)[1])
        with reaped:
            done[0] = True
    reported = False
    if conn is not None:
        try:
            _send(conn, event="exited", status=status)
            reported = True
        except OSError:
            pass
    with reaped:
        if not done[0]:
            done[0] = True
            os.waitpid(child, 0)
    # Once the parent knows, the failure is the parent's to handle: a non-zero exit would only
    # have mpiexec print its banner (or, under auto-cleanup, kill the other ranks itself).
    if reported:
        return 0
    return status if status >= 0 else 128 - status


def _watch_parent(conn: Connection, signal_child: Any) -> None:
    """The parent sends nothing more: the connection closing means it is gone."""
    try:
        conn.recv_bytes()
    except (EOFError, OSError):
        pass
    signal_child(signal.SIGTERM)
    threading.Event().wait(_KILL_AFTER_S)
    signal_child(signal.SIGKILL)


# ---- the worker ----

def _work(address: str, token: str, nprocs: int, supervisor: int) -> int:
    _die_with(supervisor)
    conn = _connect(address, token, role="worker", pid=os.getpid())
    try:
        rank = _mpi_rank(nprocs)
        _send(conn, event="ready", rank=rank)
        fn, args = _receive(conn, rank)
    except Exception:
        _send(conn, event="raised", traceback=traceback.format_exc())
        return 1
    try:
        fn(rank, *args)
    except KeyboardInterrupt:
        pass  # SIGINT: the parent is stopping us, as torch's workers
    except Exception:
        _send(conn, event="raised", traceback=traceback.format_exc())
        return 1
    return 0


def _die_with(supervisor: int) -> None:
    """Let the kernel kill this worker if its supervisor dies (Linux); elsewhere the
    supervisor's signals and mpiexec's clean-up are all there is."""
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):
            pass
    if os.getppid() != supervisor:
        os._exit(1)


def _mpi_rank(nprocs: int) -> int:
    if nprocs == 1:
        return 0
    from mpi4py import MPI

    world = MPI.COMM_WORLD
    if world.Get_size() != nprocs:
        raise RuntimeError(f"[deepseek.multiprocessing.spawn] expected an MPI world of {nprocs} "
                           f"processes, but this worker's has {world.Get_size()}")
    return world.Get_rank()


def _receive(conn: Connection, rank: int) -> tuple:
    """Become the parent's interpreter (sys.path, cwd, __main__ re-run as __mp_main__) as
    multiprocessing's spawn does, then load ``fn`` and its arguments."""
    from multiprocessing import process, spawn

    me = process.current_process()
    # Parent-to-child pickles from our own parent (its token checked), as multiprocessing's.
    preparation = pickle.loads(conn.recv_bytes())
    preparation["name"] = f"SpawnProcess-{rank + 1}"
    me._inheriting = True  # makes an unguarded spawn in the re-run __main__ raise, not recurse
    try:
        spawn.prepare(preparation)
        fn, args, daemon = pickle.loads(conn.recv_bytes())
    finally:
        del me._inheriting
    me.daemon = daemon
    return fn, args


if __name__ == "__main__":
    main()
