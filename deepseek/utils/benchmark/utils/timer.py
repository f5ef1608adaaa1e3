"""``Timer``: time a Python statement with warmup, block sizing and a fixed thread count, as
``torch.utils.benchmark.Timer`` (built on the standard library's ``timeit.Timer``)."""

from __future__ import annotations

import enum
import textwrap
import timeit as _timeit
from typing import Any, Callable, Optional, Union

import deepseek

from .... import cuda as _cuda
from . import common

__all__ = ["Timer", "timer", "Language"]

# Python's int loop would take any count; torch stops at the C int limit, and so do we so that
# a statement the clock cannot resolve gets the same (finite) block size.
_MAX_BLOCK_SIZE = 2147483647


def timer() -> float:
    """``timeit.default_timer``, after waiting for queued device work when a CUDA backend is
    available (so a measurement covers the kernels it launched)."""
    if _cuda.is_available():
        _cuda.synchronize()
    return _timeit.default_timer()


_synchronizing_timer = timer


class Language(enum.Enum):
    PYTHON = 0
    CPP = 1


def _tidy(code: str) -> str:
    """Dedent, and drop the first newline and trailing whitespace of a block string."""
    code = textwrap.dedent(code)
    return (code[1:] if code.startswith("\n") else code).rstrip()


class Timer:
    """Measure how long a Python statement takes.

    Like ``timeit.Timer`` (which runs the loop), plus: a warmup before timing, the CPU thread
    pool fixed at ``num_threads`` while measuring (restored after), replicated runs with
    block sizes chosen so the clock's own cost is negligible, and labels that
    :class:`Compare` uses to lay out tables. ``setup`` runs again before every timed block.

    Args:
        stmt: the code to time, as a string (a callable is refused, as in torch).
        setup: code run before each timed block, defining what ``stmt`` uses.
        global_setup: C++ only; must be empty for Python.
        timer: the clock, a callable returning seconds. Default: :func:`timer`.
        globals: names ``stmt`` and ``setup`` see (copied). ``ds`` and ``deepseek`` are
            added when absent.
        label: a short name for ``stmt``, heading its table in :class:`Compare`.
        sub_label: tells apart rows under one label (for instance a dtype).
        description: tells apart columns (for instance an input size).
        env: tags runs made in different environments, so they are never merged.
        num_threads: CPU threads (``deepseek.set_num_threads``) while measuring. Default: 1.
        language: ``Language.PYTHON`` (or ``"py"``, ``"python"``). C++ is not implemented.

    Example::

        >>> import deepseek as ds
        >>> from deepseek.utils.benchmark import Timer
        >>> t = Timer("x + y", setup="x = ds.ones(8); y = ds.ones(8)", label="add")
        >>> m = t.timeit(100)
        >>> m.number_per_run, len(m.times)
        (100, 1)
    """

    def __init__(
        self,
        stmt: str = "pass",
        setup: str = "pass",
        global_setup: str = "",
        timer: Callable[[], float] = timer,
        globals: Optional[dict] = None,
        label: Optional[str] = None,
        sub_label: Optional[str] = None,
        description: Optional[str] = None,
        env: Optional[str] = None,
        num_threads: int = 1,
        language: Union[Language, str] = Language.PYTHON,
    ) -> None:
        if not isinstance(stmt, str):
            raise ValueError("Currently only a `str` stmt is supported.")
        if not isinstance(setup, str):
            raise TypeError(f"[Timer] setup must be a str of code, got {type(setup).__name__}; "
                            "put what stmt needs in setup's code or in globals")
        if isinstance(num_threads, bool) or not isinstance(num_threads, int) or num_threads < 1:
            raise RuntimeError(f"[Timer] num_threads must be a positive integer, got "
                               f"{num_threads!r}")
        if language in (Language.CPP, "cpp", "c++"):
            raise NotImplementedError(
                "[Timer] language=Language.CPP is not implemented: deepseek has no C++ API and "
                "no toolchain to compile a C++ timing loop; time Python statements instead")
        if language not in (Language.PYTHON, "py", "python"):
            raise ValueError(f"Invalid language `{language}`.")
        if global_setup:
            raise ValueError(f"global_setup is C++ only, got `{global_setup}`. Most likely this "
                             "code can simply be moved to `setup`.")

        # A copy, so what exec adds (``__builtins__``) and what stmt assigns stay here.
        self._globals = dict(globals or {})
        self._globals.setdefault("ds", deepseek)
        self._globals.setdefault("deepseek", deepseek)
        self._language = Language.PYTHON
        stmt, setup = _tidy(stmt), _tidy(setup)
        if timer is _synchronizing_timer and not _cuda.is_available():
            # Nothing to wait for: the bare clock is cheaper to read (300 ns less here), which
            # lets the block size, set by the clock's overhead, stay small.
            timer = _timeit.default_timer
        self._timer = _timeit.Timer(stmt=stmt, setup=setup, timer=timer, globals=self._globals)
        self._task_spec = common.TaskSpec(
            stmt=stmt, setup=setup, global_setup=global_setup, label=label, sub_label=sub_label,
            description=description, env=env, num_threads=num_threads)

    def _timeit(self, number: int) -> float:
        # Floor at 1 ns: no real statement is faster, and later ratios never divide by zero.
        return max(self._timer.timeit(number), 1e-9)

    def _measurement(self, number: int, raw_times: list) -> common.Measurement:
        return common.Measurement(number_per_run=number, raw_times=raw_times,
                                  task_spec=self._task_spec)

    def timeit(self, number: int = 1000000) -> common.Measurement:
        """Run ``stmt`` ``number`` times as one measurement, after a warmup of
        ``max(number // 100, 2)`` executions (``timeit.Timer.timeit``'s semantics)."""
        with common.set_torch_threads(self._task_spec.num_threads):
            self._timeit(max(number // 100, 2))
            return self._measurement(number, [self._timeit(number)])

    def repeat(self, repeat: int = -1, number: int = -1) -> None:
        raise NotImplementedError("See `Timer.blocked_autorange.`")

    def autorange(self, callback: Optional[Callable[[int, float], Any]] = None) -> None:
        raise NotImplementedError("See `Timer.blocked_autorange.`")

    def _block_size(self, min_run_time: float) -> int:
        """The fewest executions per block (a power of ten) for which the clock's overhead is
        at most 0.01% of a block and a block takes 0.1% of ``min_run_time``; stops early once
        a block alone exceeds ``min_run_time``. Doubles as the warmup."""
        with common.set_torch_threads(self._task_spec.num_threads):
            overheads = sorted(self._timeit(0) for _ in range(5))
            overhead = overheads[2]
            number = 1
            while True:
                taken = self._timeit(number)
                if overhead / taken <= 1e-4 and taken >= min_run_time / 1000:
                    break
                if taken > min_run_time or number * 10 > _MAX_BLOCK_SIZE:
                    break
                number *= 10
        return number

    def _measure_blocks(
        self,
        number: int,
        can_stop: Callable[[list], bool],
        min_run_time: float,
        max_run_time: Optional[float],
        callback: Optional[Callable[[int, float], Any]],
    ) -> list:
        """Time blocks of ``number`` until they total ``min_run_time`` and ``can_stop`` agrees,
        or (checked first) they exceed ``max_run_time``."""
        total = 0.0
        stop = False
        times: list = []
        with common.set_torch_threads(self._task_spec.num_threads):
            while total < min_run_time or not stop:
                taken = self._timeit(number)
                times.append(taken)
                total += taken
                if callback:
                    callback(number, taken)
                stop = can_stop(times)
                if max_run_time and total > max_run_time:
                    break
        return times

    def blocked_autorange(
        self,
        callback: Optional[Callable[[int, float], Any]] = None,
        min_run_time: float = 0.2,
    ) -> common.Measurement:
        """Time blocks of ``stmt`` until they total at least ``min_run_time`` seconds.

        The block size is the smallest power of ten for which the clock's own cost is under
        0.01% of a block, so many replicates are kept (good statistics) while each stays
        unbiased by the timer.

        Args:
            callback: called as ``callback(number, seconds)`` after each block.
            min_run_time: seconds of measurement to collect in total.

        Returns:
            A :class:`Measurement` of every block.
        """
        number = self._block_size(min_run_time)
        times = self._measure_blocks(number, lambda times: True, min_run_time, None, callback)
        return self._measurement(number, times)

    def adaptive_autorange(
        self,
        threshold: float = 0.1,
        *,
        min_run_time: float = 0.01,
        max_run_time: float = 10.0,
        callback: Optional[Callable[[int, float], Any]] = None,
    ) -> common.Measurement:
        """Like :meth:`blocked_autorange`, but keep timing blocks until they are steady.

        Stops once there are more than three blocks, they total at least ``min_run_time``
        and their IQR is under ``threshold`` times their median; or once they total more than
        ``max_run_time``, steady or not. The block size is chosen as for
        ``blocked_autorange(min_run_time=0.05)``.

        Args:
            threshold: the IQR / median below which the blocks count as steady.
            min_run_time: seconds to collect before steadiness is accepted.
            max_run_time: seconds after which timing stops regardless.
            callback: called as ``callback(number, seconds)`` after each block.

        Returns:
            A :class:`Measurement` of every block.
        """
        number = self._block_size(min_run_time=0.05)

        def steady(times: list) -> bool:
            return len(times) > 3 and self._measurement(number, times).meets_confidence(threshold)

        times = self._measure_blocks(number, steady, min_run_time, max_run_time, callback)
        return self._measurement(number, times)

    def collect_callgrind(self, number: int = 100, *, repeats: Optional[int] = None,
                          collect_baseline: bool = True, retain_out_file: bool = False) -> Any:
        raise NotImplementedError(
            "[Timer.collect_callgrind] is not implemented: instruction counting needs Valgrind's "
            "callgrind and torch's C++ bindings, which deepseek does not have; use "
            "blocked_autorange() or adaptive_autorange() for wall times")
