"""Profiler results: one FunctionEvent per recorded range, their averages by key, the summary
table and the Chrome trace, laid out as ``torch.autograd.profiler_util`` lays them out."""

from __future__ import annotations

import gzip
import json
import math
import os
from typing import Any, Optional

__all__ = ["Interval", "FunctionEvent", "FunctionEventAvg", "EventList"]

# what ``table(sort_by=...)`` accepts: cuda/xpu spellings read the (always zero) device figures
_SORT_KEYS = ("cpu_time", "cpu_time_total", "self_cpu_time_total", "cpu_memory_usage",
              "self_cpu_memory_usage", "count", "flops", "device_time", "device_time_total",
              "self_device_time_total", "device_memory_usage", "self_device_memory_usage")


class Interval:
    """A time range in microseconds from the start of the trace."""

    __slots__ = ("start", "end")

    def __init__(self, start: float, end: float) -> None:
        self.start, self.end = start, end

    def elapsed_us(self) -> float:
        return self.end - self.start


class _Figures:
    """What events and averages share: the derived figures the table prints."""

    cpu_time_total: float
    count: int
    device_time_total = 0.0
    self_device_time_total = 0.0
    device_memory_usage = 0
    self_device_memory_usage = 0
    device_time = 0.0
    is_async = False
    is_legacy = False
    node_id = -1
    overload_name = ""

    @property
    def cpu_time(self) -> float:
        return self.cpu_time_total / max(self.count, 1)

    cuda_time = property(lambda self: 0.0)
    cuda_time_total = property(lambda self: 0.0)
    self_cuda_time_total = property(lambda self: 0.0)
    cpu_time_str = property(lambda self: _format_time(self.cpu_time))
    cpu_time_total_str = property(lambda self: _format_time(self.cpu_time_total))
    self_cpu_time_total_str = property(lambda self: _format_time(self.self_cpu_time_total))


class FunctionEvent(_Figures):
    """One op, backward node or ``record_function`` range as the profiler saw it.

    ``self_*`` figures exclude the children (the ops run inside this range); memory is the
    bytes of the arrays the op returned. Steps are named ``ProfilerStep*``, as torch names them
    so that they average together; the trace keeps ``ProfilerStep#N``.
    """

    count = 1

    def __init__(self, id: int, name: str, thread: int, start_us: float, end_us: float,
                 input_shapes: list, stack: list, memory: int, flops: int,
                 is_user_annotation: bool) -> None:
        self.id = id
        self.trace_name = name
        self.name = "ProfilerStep*" if name.startswith("ProfilerStep#") else name
        self.thread = thread
        self.time_range = Interval(start_us, end_us)
        self.input_shapes = input_shapes
        self.stack = stack
        self.self_cpu_memory_usage = memory
        self.flops = flops
        self.is_user_annotation = is_user_annotation
        self.cpu_parent: Optional[FunctionEvent] = None
        self.cpu_children: list[FunctionEvent] = []

    @property
    def key(self) -> str:
        return self.name

    @property
    def cpu_time_total(self) -> float:
        return self.time_range.elapsed_us()

    @property
    def self_cpu_time_total(self) -> float:
        return self.cpu_time_total - sum(c.cpu_time_total for c in self.cpu_children)

    @property
    def cpu_memory_usage(self) -> int:
        return self.self_cpu_memory_usage + sum(c.cpu_memory_usage for c in self.cpu_children)

    def __repr__(self) -> str:
        return (f"<FunctionEvent id={self.id} name={self.name} cpu_time={self.cpu_time_total_str}"
                f" input_shapes={self.input_shapes} cpu_memory_usage={self.cpu_memory_usage}>")


class FunctionEventAvg(_Figures):
    """The sum over the events that share a key (name, and shapes or stack when grouped)."""

    def __init__(self) -> None:
        self.key: Optional[str] = None
        self.count = 0
        self.cpu_time_total = 0.0
        self.self_cpu_time_total = 0.0
        self.cpu_memory_usage = 0
        self.self_cpu_memory_usage = 0
        self.flops = 0
        self.input_shapes: Optional[list] = None
        self.stack: Optional[list] = None
        self.cpu_parent: Optional[FunctionEvent] = None
        self.is_user_annotation = False

    def add(self, other: Any) -> "FunctionEventAvg":
        if self.key is None:
            self.key = other.key
            self.cpu_parent = getattr(other, "cpu_parent", None)
            self.is_user_annotation = other.is_user_annotation
        self.count += other.count
        self.cpu_time_total += other.cpu_time_total
        self.self_cpu_time_total += other.self_cpu_time_total
        self.cpu_memory_usage += other.cpu_memory_usage
        self.self_cpu_memory_usage += other.self_cpu_memory_usage
        self.flops += other.flops
        return self

    __iadd__ = add

    def __repr__(self) -> str:
        return (f"<FunctionEventAvg key={self.key} self_cpu_time={self.self_cpu_time_total_str} "
                f"cpu_time={self.cpu_time_str} input_shapes={self.input_shapes} "
                f"cpu_memory_usage={self.cpu_memory_usage}>")


class EventList(list):
    """A list of events (or of their averages) that prints as torch's profiler table."""

    def __init__(self, events: Any = (), *, profile_memory: bool = False,
                 with_flops: bool = False, base_time_ns: int = 0) -> None:
        super().__init__(events)
        self.profile_memory = profile_memory
        self.with_flops = with_flops
        self.base_time_ns = base_time_ns

    def _like(self, events: Any) -> "EventList":
        return EventList(events, profile_memory=self.profile_memory, with_flops=self.with_flops,
                         base_time_ns=self.base_time_ns)

    @property
    def self_cpu_time_total(self) -> float:
        return sum(e.self_cpu_time_total for e in self)

    def key_averages(self, group_by_input_shape: bool = False, group_by_stack_n: int = 0,
                     group_by_overload_name: bool = False) -> "EventList":
        """Average the events by name, and by input shapes or the top ``group_by_stack_n``
        Python frames when asked."""
        if not isinstance(group_by_stack_n, int) or group_by_stack_n < 0:
            raise ValueError(f"key_averages: group_by_stack_n must be an int >= 0, got "
                             f"{group_by_stack_n!r}")
        stats: dict = {}
        for e in self:
            key = (e.key, str(e.input_shapes) if group_by_input_shape else None,
                   tuple(e.stack[:group_by_stack_n]) if group_by_stack_n else None)
            if key not in stats:
                avg = stats[key] = FunctionEventAvg()
                avg.input_shapes = e.input_shapes if group_by_input_shape else None
                avg.stack = e.stack[:group_by_stack_n] if group_by_stack_n else None
            stats[key].add(e)
        return self._like(stats.values())

    def total_average(self) -> FunctionEventAvg:
        """One average over every event, keyed ``"Total"``."""
        total = FunctionEventAvg()
        for e in self:
            total.add(e)
        total.key = "Total"
        return total

    def table(self, sort_by: Optional[str] = None, row_limit: int = 100,
              max_src_column_width: int = 75, max_name_column_width: int = 55,
              max_shapes_column_width: int = 80, header: Optional[str] = None,
              top_level_events_only: bool = False, time_unit: Optional[str] = None) -> str:
        """The summary table, sorted by ``sort_by`` (descending), at most ``row_limit`` rows.

        Example:
            >>> print(prof.key_averages().table(sort_by="cpu_time_total", row_limit=10))
        """
        return _build_table(self, sort_by, row_limit, max_src_column_width,
                            max_name_column_width, max_shapes_column_width, header,
                            top_level_events_only, time_unit)

    def __str__(self) -> str:
        return self.table()

    def export_chrome_trace(self, path: str) -> None:
        """Write the events as Chrome trace-event JSON (gzipped when ``path`` ends in .gz),
        for chrome://tracing, Perfetto or TensorBoard."""
        pid = os.getpid()
        trace = [{"ph": "M", "name": "process_name", "pid": pid, "tid": 0,
                  "args": {"name": "python"}}]
        for e in self:
            args: dict = {"External id": e.id}
            if e.input_shapes:
                args["Input Dims"] = e.input_shapes
            if e.stack:
                args["Call stack"] = ";".join(e.stack)
            if e.flops:
                args["flops"] = e.flops
            trace.append({"ph": "X", "cat": "user_annotation" if e.is_user_annotation
                          else "cpu_op", "name": e.trace_name, "pid": pid, "tid": e.thread,
                          "ts": e.time_range.start, "dur": e.cpu_time_total, "args": args})
            if e.self_cpu_memory_usage:
                trace.append({"ph": "i", "s": "t", "cat": "cpu_instant_event",
                              "name": "[memory]", "pid": pid, "tid": e.thread,
                              "ts": e.time_range.end, "args": {"Bytes": e.self_cpu_memory_usage,
                                                               "Device Type": 0}})
        doc = {"schemaVersion": 1, "deviceProperties": [], "displayTimeUnit": "ms",
               "baseTimeNanoseconds": self.base_time_ns, "traceEvents": trace,
               "traceName": str(path)}
        opener = gzip.open if str(path).endswith(".gz") else open
        with opener(path, "wt") as f:
            json.dump(doc, f)


def _format_time(time_us: float) -> str:
    if time_us >= 1e6:
        return f"{time_us / 1e6:.3f}s"
    if time_us >= 1e3:
        return f"{time_us / 1e3:.3f}ms"
    return f"{time_us:.3f}us"


def _format_time_as(time_us: float, unit: Optional[str]) -> str:
    scale = {"s": 1e6, "ms": 1e3, "us": 1.0}.get(unit)
    return _format_time(time_us) if scale is None else f"{time_us / scale:.3f}{unit}"


def _format_share(time_us: float, total_us: float) -> str:
    return "NaN" if total_us == 0 else f"{time_us * 100.0 / total_us:.2f}%"


def _format_memory(nbytes: int) -> str:
    for unit, size in (("GB", 1024 ** 3), ("MB", 1024 ** 2), ("KB", 1024)):
        if abs(nbytes) >= size:
            return f"{nbytes / size:.2f} {unit}"
    return f"{nbytes} B"


def _sort_attribute(sort_by: str) -> str:
    attr = sort_by.replace("cuda", "device").replace("xpu", "device")
    if attr not in _SORT_KEYS:
        raise ValueError(f"table: unknown sort_by {sort_by!r}; expected one of "
                         f"{', '.join(_SORT_KEYS)} (or their cuda_/xpu_ spellings)")
    return attr


def _build_table(events: EventList, sort_by: Optional[str], row_limit: int,
                 max_src_width: int, max_name_width: int, max_shapes_width: int,
                 header: Optional[str], top_level_only: bool, time_unit: Optional[str]) -> str:
    if sort_by is not None:
        attr = _sort_attribute(sort_by)
        events = events._like(sorted(events, key=lambda e: getattr(e, attr), reverse=True))
    if not events:
        return ""
    name_width = min(max(len(e.key) for e in events) + 4, max_name_width)
    has_shapes = any(e.input_shapes for e in events)
    has_stack = any(e.stack for e in events)
    headers = ["Name", "Self CPU %", "Self CPU", "CPU total %", "CPU total", "CPU time avg"]
    if events.profile_memory:
        headers += ["CPU Mem", "Self CPU Mem"]
    headers.append("# of Calls")
    widths = [name_width] + [12] * (len(headers) - 1)
    aligns = [">"] * len(headers)
    if has_shapes:
        headers.append("Input Shapes")
        widths.append(min(max(len(str(e.input_shapes)) for e in events) + 4, max_shapes_width))
        aligns.append(">")
    if has_stack:
        headers.append("Source Location")
        widths.append(min(max(len(s) for e in events for s in e.stack or ()) + 4, max_src_width))
        aligns.append("<")
    source = len(headers) - 1
    flops = [e.flops for e in events if e.flops > 0] if events.with_flops else []
    if flops:
        power = int(max(0, min(math.log10(min(flops)) / 3, 5)))
        headers.append(f"Total {('', 'K', 'M', 'G', 'T', 'P')[power]}FLOPs")
        widths.append(12)
        aligns.append(">")
    row_format = "".join(f"{{: {a}{w}}}  " for a, w in zip(aligns, widths))
    separator = "".join("-" * w + "  " for w in widths)
    total = sum(e.self_cpu_time_total for e in events)

    lines = []
    if header is not None:
        lines += ["=" * (len(separator) - 2), header]
    if top_level_only:
        lines += ["=" * (len(separator) - 2), "This report only display top-level ops statistics"]
    lines += [separator, row_format.format(*headers), separator]
    rows = 0
    for e in events:
        if rows == row_limit:
            break
        if top_level_only and e.cpu_parent is not None:
            continue
        rows += 1
        name = e.key if len(e.key) < max_name_width - 3 else e.key[:max_name_width - 3] + "..."
        row = [name, _format_share(e.self_cpu_time_total, total),
               _format_time_as(e.self_cpu_time_total, time_unit),
               _format_share(e.cpu_time_total, total),
               _format_time_as(e.cpu_time_total, time_unit),
               _format_time_as(e.cpu_time, time_unit)]
        if events.profile_memory:
            row += [_format_memory(e.cpu_memory_usage), _format_memory(e.self_cpu_memory_usage)]
        row.append(e.count)
        if has_shapes:
            row.append(str(e.input_shapes)[:widths[len(row)]])
        stack = list(e.stack or ()) if has_stack else []
        if has_stack:
            row.append(_trim_path(stack[0], widths[len(row)]) if stack else "")
        if flops:
            row.append(f"{e.flops * 10.0 ** (-3 * power):8.3f}" if e.flops > 0 else "--")
        lines.append(row_format.format(*row))
        for frame in stack[1:5]:  # the next frames of the stack, one line each, as torch
            blank = [""] * len(headers)
            blank[source] = _trim_path(frame, widths[source])
            lines.append(row_format.format(*blank))
    lines += [separator, f"Self CPU time total: {_format_time_as(total, time_unit)}"]
    return "\n".join(lines) + "\n"


def _trim_path(path: str, width: int) -> str:
    if len(path) > width:
        path = "..." + path[len(path) - width + 3:]
    return path
