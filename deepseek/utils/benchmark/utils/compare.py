"""``Compare``: lay many Measurements out as tables, one per label, with rows by sub_label (or
stmt), columns by description and a section per thread count, as torch's ``Compare``."""

from __future__ import annotations

import collections
import enum
import math
from typing import Iterable, Optional

from .common import Measurement, _log10_float32, ordered_unique, select_unit, trim_sigfig
from .common import unit_to_english

__all__ = ["Colorize", "Compare"]

BEST = "\033[92m"
GOOD = "\033[34m"
BAD = "\033[2m\033[91m"
VERY_BAD = "\033[31m"
BOLD = "\033[1m"
TERMINATE = "\033[0m"


class Colorize(enum.Enum):
    NONE = "none"
    COLUMNWISE = "columnwise"
    ROWWISE = "rowwise"


class Compare:
    """Print Measurements side by side.

    Replicates (equal TaskSpecs) are merged first. Each label gets a table whose rows are the
    sub_labels (or statements), grouped into sections by ``num_threads`` and tagged with
    ``env`` when envs differ, and whose columns are the descriptions; every number in a table
    is in the one unit that suits its fastest entry.

    Args:
        results: the :class:`Measurement` objects to show.

    Example::

        >>> from deepseek.utils.benchmark import Compare, Measurement, TaskSpec
        >>> runs = [Measurement(1, [t * 1e-6], TaskSpec("f(x)", "pass", label="f",
        ...                                              description=f"n={n}"))
        ...         for n, t in ((1, 2.0), (8, 9.5))]
        >>> print(Compare(runs))
        [---------- f -----------]
                    |  n=1  |  n=8
        1 threads: ---------------
              f(x)  |  2.0  |  9.5
        <BLANKLINE>
        Times are in microseconds (us).
        <BLANKLINE>
    """

    def __init__(self, results: Iterable[Measurement]) -> None:
        self._results: list = []
        self.extend_results(results)
        self._trim_significant_figures = False
        self._colorize = Colorize.NONE
        self._highlight_warnings = False

    def __str__(self) -> str:
        return "\n".join(self._render())

    def extend_results(self, results: Iterable[Measurement]) -> None:
        """Add more Measurements to the ones shown."""
        results = list(results)
        for r in results:
            if not isinstance(r, Measurement):
                raise ValueError(f"Expected an instance of `Measurement`, got {type(r)} instead.")
        self._results.extend(results)

    def trim_significant_figures(self) -> None:
        """Print each number only to the figures its spread supports."""
        self._trim_significant_figures = True

    def colorize(self, rowwise: bool = False) -> None:
        """Color each entry by how it compares to the fastest in its column (in its thread
        section), or in its row when ``rowwise``."""
        self._colorize = Colorize.ROWWISE if rowwise else Colorize.COLUMNWISE

    def highlight_warnings(self) -> None:
        """Mark noisy entries with their IQR as a share of the median: ``(! XX%)``."""
        self._highlight_warnings = True

    def print(self) -> None:
        print(str(self))

    def _render(self) -> list:
        by_label: dict = collections.defaultdict(list)
        for m in Measurement.merge(self._results):
            by_label[m.label].append(m)
        return [_Table(group, self._colorize, self._trim_significant_figures,
                       self._highlight_warnings).render() for group in by_label.values()]


class _ColumnFormat:
    """How one column prints its numbers: a width and decimals shared by every entry, enough
    for the largest, and (when trimming) no more decimals than its least precise entry has."""

    def __init__(self, results: list, time_scale: float, trim: bool, highlight: bool) -> None:
        present = [m for m in results if m is not None]
        self.trim = trim
        self.highlight = highlight and any(m.has_warnings for m in present)
        digits = [math.ceil(_log10_float32(m.median / time_scale)) for m in present]
        decimals = (min(max(m.significant_figures - d, 0) for m, d in zip(present, digits))
                    if trim else 1)
        width = max(digits) + decimals + (1 if decimals else 0)
        self.template = f"{{:>{width}.{decimals}f}}{{:>{7 if self.highlight else 0}}}"

    def format(self, value: float, significant_figures: int, spread: Optional[float]) -> str:
        if self.trim:
            value = trim_sigfig(value, significant_figures)
        note = f" (! {spread * 100:.0f}%)" if self.highlight and spread is not None else ""
        return self.template.format(value, note)

    def blank(self) -> str:
        return " " * len(self.format(1, 1, None))


def _color(text: str, value: float, best: float) -> str:
    if value <= best * 1.01 or value <= best + 100e-9:
        return BEST + BOLD + text + TERMINATE * 2
    if value <= best * 1.1:
        return GOOD + BOLD + text + TERMINATE * 2
    if value >= best * 5:
        return VERY_BAD + BOLD + text + TERMINATE * 2
    if value >= best * 2:
        return BAD + text + TERMINATE * 2
    return text


class _Table:
    """One label's table: a grid of merged Measurements (None where a row has no entry for a
    column), rows sorted by thread count and env but otherwise in first-seen order."""

    def __init__(self, results: list, colorize: Colorize, trim: bool, highlight: bool) -> None:
        self.results = results
        self.label = results[0].label
        self.colorize = colorize
        self.highlight = highlight
        self.time_unit, self.time_scale = select_unit(min(m.median for m in results))
        self.row_keys = ordered_unique(self._row_key(m) for m in results)
        self.row_keys.sort(key=lambda key: key[:2])  # stable: keeps stmt order
        self.column_keys = ordered_unique(m.description for m in results)
        rows = {key: i for i, key in enumerate(self.row_keys)}
        columns = {key: j for j, key in enumerate(self.column_keys)}
        self.grid: list = [[None] * len(self.column_keys) for _ in self.row_keys]
        for m in results:
            self.grid[rows[self._row_key(m)]][columns[m.description]] = m
        # Columnwise colors compare within one thread section (rows index where each starts).
        self.sections = [i for i, key in enumerate(self.row_keys)
                         if i == 0 or key[0] != self.row_keys[i - 1][0]]
        self.formats = [_ColumnFormat([row[j] for row in self.grid], self.time_scale, trim,
                                      highlight) for j in range(len(self.column_keys))]

    @staticmethod
    def _row_key(m: Measurement) -> tuple:
        return m.num_threads, m.env, m.as_row_name

    def _row_names(self) -> list:
        envs = {m.env for m in self.results}
        show_env = len(envs) > 1
        env_width = max(len(env) for env in envs) + 4 if show_env else 4
        names = []
        prior_env = None
        for i, (_, env, name) in enumerate(self.row_keys):
            if i in self.sections:
                prior_env = None
            tag = f"({env})" if show_env and env != prior_env else ""
            names.append("  " + tag.ljust(env_width) + name)
            prior_env = env
        return names

    def _best(self, i: int, j: int) -> Optional[float]:
        if self.colorize == Colorize.ROWWISE:
            return min(m.median for m in self.grid[i] if m is not None)
        start = max(s for s in self.sections if s <= i)
        stop = min([s for s in self.sections if s > i] + [len(self.row_keys)])
        medians = [row[j].median for row in self.grid[start:stop] if row[j] is not None]
        return min(medians) if medians else None

    def render(self) -> str:
        header = [""] + ["" if key is None else str(key) for key in self.column_keys]
        body = []
        for name, row in zip(self._row_names(), self.grid):
            cells = [name]
            for m, column in zip(row, self.formats):
                if m is None:
                    cells.append(column.blank())
                else:
                    spread = m.iqr / m.median if m.has_warnings else None
                    cells.append(column.format(m.median / self.time_scale,
                                               m.significant_figures, spread))
            body.append(cells)
        widths = [max(len(cell) for cell in column) for column in zip(header, *body)]
        lines = ["  |  ".join(cell.center(w) for cell, w in zip(header, widths))]
        overall_width = len(lines[0])
        for i, cells in enumerate(body):
            if i in self.sections:
                lines.append(f"{self.row_keys[i][0]} threads: ".ljust(overall_width, "-"))
            row = [cells[0].ljust(widths[0])]
            for j, (cell, width) in enumerate(zip(cells[1:], widths[1:])):
                cell = cell.center(width)
                m = self.grid[i][j]
                if self.colorize != Colorize.NONE and m is not None:
                    best = self._best(i, j)
                    if best is not None:
                        cell = _color(cell, m.median, best)
                row.append(cell)
            lines.append("  |  ".join(row))
        title = f" {self.label or ''} ".center(overall_width - 2, "-")
        warned = self.highlight and any(m.has_warnings for m in self.results)
        note = ("(! XX%) Measurement has high variance, where XX is the IQR / median * 100.\n"
                if warned else "")
        unit = self.time_unit
        return (f"[{title}]\n" + "\n".join(lines) +
                f"\n\nTimes are in {unit_to_english(unit)}s ({unit}).\n{note}")
