"""What a benchmark measured and how it is summarized: ``TaskSpec``, ``Measurement`` and the
unit and significant-figure helpers, as ``torch.utils.benchmark.utils.common``."""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import math
import textwrap
from typing import Any, Iterable, Iterator, Optional

import numpy as np

from .... import get_num_threads, set_num_threads

__all__ = ["TaskSpec", "Measurement", "select_unit", "unit_to_english", "trim_sigfig",
           "ordered_unique", "set_torch_threads"]

_MAX_SIGNIFICANT_FIGURES = 4
_MIN_CONFIDENCE_INTERVAL = 25e-9  # below what any timer can resolve

# A measurement warns when its interquartile range is this large a share of its median.
_IQR_WARN_THRESHOLD = 0.1
_IQR_GROSS_WARN_THRESHOLD = 0.25


def _float32(x: float) -> float:
    return float(np.float32(x))


def _log10_float32(x: float) -> float:
    """log10 rounded as torch rounds it: torch computes the unit, digit and significant-figure
    choices on float32 tensors, and doing the same keeps every boundary (1000 ns -> 1 us,
    a rounding at .5) where torch puts it, so the printed tables agree character for
    character."""
    x = _float32(x)
    if x > 0:
        return _float32(math.log10(x))
    return -math.inf if x == 0 else math.nan


@dataclasses.dataclass(frozen=True, repr=False)
class TaskSpec:
    """What a :class:`Timer` measures (everything but its globals); Measurements with equal
    TaskSpecs are replicates of one another."""

    stmt: str
    setup: str
    global_setup: str = ""
    label: Optional[str] = None
    sub_label: Optional[str] = None
    description: Optional[str] = None
    env: Optional[str] = None
    num_threads: int = 1

    @property
    def title(self) -> str:
        """The label (or the statement) and the sub_label, as one heading."""
        sub_label = f": {self.sub_label}" if self.sub_label else ""
        if self.label is not None:
            return self.label + sub_label
        if "\n" not in self.stmt:
            return self.stmt + sub_label
        sub_label = f" ({self.sub_label})" if self.sub_label else ""
        return f"stmt:{sub_label}\n{textwrap.indent(self.stmt, '  ')}"

    def setup_str(self) -> str:
        if not self.setup or self.setup == "pass":
            return ""
        if "\n" in self.setup:
            return f"setup:\n{textwrap.indent(self.setup, '  ')}"
        return f"setup: {self.setup}"

    def summarize(self) -> str:
        """The heading lines of a Measurement's repr: title, description, setup."""
        sections = [self.title, self.description or "", self.setup_str()]
        # A multi-line section is followed by a blank line to set it apart.
        return "\n".join(f"{s}\n" if "\n" in s else s for s in sections if s)


_TASK_SPEC_FIELDS = frozenset(field.name for field in dataclasses.fields(TaskSpec))


@dataclasses.dataclass(repr=False)
class Measurement:
    """The times one or more runs of a statement took.

    ``raw_times[i]`` is the time of one run of ``number_per_run`` executions; the statistics
    (``times``, ``median``, ``mean``, ``iqr``) are per execution. The TaskSpec's fields
    (``stmt``, ``label``, ``num_threads``, ...) read through as attributes.

    Args:
        number_per_run: executions of the statement in each timed run.
        raw_times: seconds each run took.
        task_spec: the :class:`TaskSpec` that was measured.
        metadata: free for the caller; :meth:`merge` drops it.

    Example::

        >>> from deepseek.utils.benchmark import Measurement, TaskSpec
        >>> m = Measurement(10, [1e-5, 1.1e-5, 1.2e-5, 1e-5], TaskSpec("x + 1", "pass"))
        >>> print(f"{m.median * 1e6:.2f} us")
        1.05 us
    """

    number_per_run: int
    raw_times: list
    task_spec: TaskSpec
    metadata: Optional[dict] = None

    def __post_init__(self) -> None:
        self._sorted_times: tuple = ()
        self._warnings: tuple = ()
        self._median = self._mean = self._p25 = self._p75 = math.nan

    def __getattr__(self, name: str) -> Any:
        # Only reached when normal lookup fails: forward the TaskSpec's fields.
        if name in _TASK_SPEC_FIELDS:
            return getattr(self.task_spec, name)
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    @property
    def times(self) -> list:
        """Seconds per execution of the statement, one per run."""
        return [t / self.number_per_run for t in self.raw_times]

    @property
    def median(self) -> float:
        self._summarize()
        return self._median

    @property
    def mean(self) -> float:
        self._summarize()
        return self._mean

    @property
    def iqr(self) -> float:
        """The interquartile range (75th minus 25th percentile) of :attr:`times`."""
        self._summarize()
        return self._p75 - self._p25

    @property
    def significant_figures(self) -> int:
        """How many figures of the median the spread supports, from 1 to 4.

        A rough 90% confidence interval of the median from the interquartile points only
        (so the tails do not dominate), with z = 1.645 standing in for t. :class:`Compare`
        uses it to trim printed numbers; the repr prints raw values.
        """
        self._summarize()
        count = len(self._sorted_times)
        middle = self._sorted_times[count // 4:math.ceil(3 * count / 4)]
        std = _float32(np.asarray(middle, dtype=np.float32).astype(np.float64).std())
        interval = max(1.645 * std / _float32(math.sqrt(len(middle))), _MIN_CONFIDENCE_INTERVAL)
        figures = math.floor(_log10_float32(self._median / interval))
        return min(max(figures, 1), _MAX_SIGNIFICANT_FIGURES)

    @property
    def has_warnings(self) -> bool:
        self._summarize()
        return bool(self._warnings)

    def meets_confidence(self, threshold: float = _IQR_WARN_THRESHOLD) -> bool:
        """Whether the interquartile range is under ``threshold`` times the median."""
        return self.iqr / self.median < threshold

    @property
    def title(self) -> str:
        return self.task_spec.title

    @property
    def env(self) -> str:
        return "Unspecified env" if self.task_spec.env is None else self.task_spec.env

    @property
    def as_row_name(self) -> str:
        return self.sub_label or self.stmt or "[Unknown]"

    def _summarize(self) -> None:
        if self._sorted_times:
            return
        if not self.raw_times:
            raise ValueError("[Measurement] has no raw_times to summarize: it needs at least "
                             "one timed run")
        self._sorted_times = tuple(sorted(self.times))
        times = np.asarray(self._sorted_times, dtype=np.float64)
        self._p25, self._median, self._p75 = (float(q) for q in np.quantile(times, [.25, .5, .75]))
        self._mean = float(times.mean())
        if not self.meets_confidence(_IQR_GROSS_WARN_THRESHOLD):
            self._warnings = (self._iqr_warning("This suggests significant environmental "
                                                "influence."),)
        elif not self.meets_confidence(_IQR_WARN_THRESHOLD):
            self._warnings = (self._iqr_warning("This could indicate system fluctuation."),)

    def _iqr_warning(self, explanation: str) -> str:
        share = self.iqr / self.median * 100
        return (f"  WARNING: Interquartile range is {share:.1f}% of the median measurement.\n"
                f"           {explanation}")

    def __repr__(self) -> str:
        """The heading, the median with its unit, the IQR (from four runs up), the counts, and
        any warning::

            <deepseek.utils.benchmark.utils.common.Measurement object at 0x7f2a...>
            x + 1
              Median: 1.05 us
              IQR:    0.12 us (1.00 to 1.12)
              4 measurements, 10 runs per measurement, 1 thread
        """
        self._summarize()
        count = len(self._sorted_times)
        unit, scale = select_unit(self._median)
        lines = [object.__repr__(self), self.task_spec.summarize()]
        lines.append(f"  {'Median: ' if count > 1 else ''}{self._median / scale:.2f} {unit}")
        if count >= 4:
            lines.append(f"  IQR:    {self.iqr / scale:.2f} {unit} "
                         f"({self._p25 / scale:.2f} to {self._p75 / scale:.2f})")
        runs = "runs per measurement," if count > 1 else "runs ,"
        threads = "threads" if self.num_threads > 1 else "thread"
        lines.append(f"  {count} measurement{'s' if count > 1 else ''}, "
                     f"{self.number_per_run} {runs} {self.num_threads} {threads}")
        lines.extend(self._warnings)
        return "\n".join(lines)

    @staticmethod
    def merge(measurements: Iterable[Measurement]) -> list[Measurement]:
        """Pool replicates: one Measurement per distinct TaskSpec, in first-seen order, with
        every run's per-execution time (``number_per_run=1``) and no metadata."""
        groups: dict = collections.defaultdict(list)
        for m in measurements:
            groups[m.task_spec].extend(m.times)
        return [Measurement(number_per_run=1, raw_times=times, task_spec=task_spec)
                for task_spec, times in groups.items()]


def select_unit(t: float) -> tuple[str, float]:
    """The unit (``"ns"``, ``"us"``, ``"ms"`` or ``"s"``) and its size in seconds that give
    ``t`` seconds one to three leading digits."""
    unit = {-3: "ns", -2: "us", -1: "ms"}.get(int(_log10_float32(t) // 3), "s")
    return unit, {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1}[unit]


def unit_to_english(u: str) -> str:
    return {"ns": "nanosecond", "us": "microsecond", "ms": "millisecond", "s": "second"}[u]


def trim_sigfig(x: float, n: int) -> float:
    """Round ``x`` to ``n`` significant figures (3.14159, 2 -> 3.1), in float32 as torch."""
    if n != int(n):
        raise AssertionError("Number of significant figures must be an integer")
    magnitude = math.ceil(_log10_float32(abs(x)))
    scale = 10 ** (magnitude - n)
    return float(np.round(np.float32(x / scale)) * np.float32(scale))


def ordered_unique(elements: Iterable[Any]) -> list:
    """The distinct elements in first-seen order."""
    return list(dict.fromkeys(elements))


@contextlib.contextmanager
def set_torch_threads(n: int) -> Iterator[None]:
    """Run the block with deepseek's CPU thread pool at ``n`` threads, then restore it."""
    prior = get_num_threads()
    try:
        set_num_threads(n)
        yield
    finally:
        set_num_threads(prior)
