"""``python -m deepseek.distributed.run``: start a training script in N processes on MPI, as
``torchrun``; with ``--max-restarts`` a failed job is started again (the script resumes from
its last complete checkpoint: ``ds.distributed.checkpoint.latest``).

Each process gets torchrun's environment (RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE,
MASTER_ADDR, MASTER_PORT, TORCHELASTIC_RESTART_COUNT), so scripts written for torchrun run
unchanged.

Example::

    python -m deepseek.distributed.run --nproc-per-node 2 --max-restarts 3 train.py --lr 0.1
"""

from __future__ import annotations

import argparse
import os
import runpy
import shutil
import subprocess
import sys
from typing import Optional, Sequence

_EXTRA = 'pip install "deepseek-framework[distributed]"'


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m deepseek.distributed.run",
                                description="Run a script in N MPI processes, as torchrun.")
    p.add_argument("--nproc-per-node", "--nproc_per_node", type=int, default=1,
                   help="processes to start (default 1)")
    p.add_argument("--nnodes", type=str, default="1", help="only 1 is supported")
    p.add_argument("--max-restarts", "--max_restarts", type=int, default=0,
                   help="start a failed job again this many times (default 0)")
    p.add_argument("--master-addr", "--master_addr", default="127.0.0.1")
    p.add_argument("--master-port", "--master_port", type=int, default=29500)
    p.add_argument("--standalone", action="store_true", help="accepted, as torchrun's")
    p.add_argument("-m", "--module", action="store_true",
                   help="the script is a module name, run as python -m")
    p.add_argument("script", help="the training script (or module with -m)")
    p.add_argument("script_args", nargs=argparse.REMAINDER)
    return p


def _mpiexec() -> str:
    here = os.path.dirname(sys.executable)
    found = shutil.which("mpiexec", path=here + os.pathsep + os.environ.get("PATH", ""))
    if found is None:
        raise SystemExit(f"[deepseek.distributed.run] mpiexec not found; {_EXTRA}")
    return found


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parser().parse_args(argv)
    if args.nnodes not in ("1", "1:1"):
        raise SystemExit(f"[deepseek.distributed.run] --nnodes {args.nnodes}: only one node is "
                         "supported; for several hosts start the processes with mpiexec "
                         "(its -hosts option) directly")
    if args.nproc_per_node < 1 or args.max_restarts < 0:
        raise SystemExit("[deepseek.distributed.run] --nproc-per-node must be >= 1 and "
                         "--max-restarts >= 0")
    target = ["-m", args.script] if args.module else [args.script]
    command = [_mpiexec(), "-n", str(args.nproc_per_node), sys.executable, "-m",
               "deepseek.distributed.run", "--worker", *target, *args.script_args]
    code = 0
    for attempt in range(args.max_restarts + 1):
        env = dict(os.environ, MASTER_ADDR=args.master_addr, MASTER_PORT=str(args.master_port),
                   WORLD_SIZE=str(args.nproc_per_node),
                   LOCAL_WORLD_SIZE=str(args.nproc_per_node),
                   TORCHELASTIC_RESTART_COUNT=str(attempt),
                   TORCHELASTIC_MAX_RESTARTS=str(args.max_restarts))
        code = subprocess.call(command, env=env)
        if code == 0:
            return 0
        if attempt < args.max_restarts:
            print(f"[deepseek.distributed.run] the job failed (exit code {code}); restarting "
                  f"({attempt + 1} of {args.max_restarts})", file=sys.stderr, flush=True)
    print(f"[deepseek.distributed.run] the job failed (exit code {code}) after "
          f"{args.max_restarts} restart(s)", file=sys.stderr, flush=True)
    return code


def _worker(argv: Sequence[str]) -> None:
    """In each MPI process: torchrun's environment from MPI's rank, then the script. A
    process that fails aborts the whole job, so the others never wait in a collective for it."""
    import traceback

    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    os.environ.update(RANK=str(comm.Get_rank()), LOCAL_RANK=str(comm.Get_rank()),
                      WORLD_SIZE=str(comm.Get_size()), GROUP_RANK="0")
    try:
        if argv[0] == "-m":
            sys.argv = [argv[1], *argv[2:]]
            runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
        else:
            sys.argv = list(argv)
            sys.path.insert(0, os.path.dirname(os.path.abspath(argv[0])))
            runpy.run_path(argv[0], run_name="__main__")
    except SystemExit as e:
        if e.code not in (0, None):
            comm.Abort(e.code if isinstance(e.code, int) else 1)
    except BaseException:
        traceback.print_exc()
        sys.stderr.flush()
        comm.Abort(1)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        _worker(sys.argv[2:])
    else:
        sys.exit(main())
