"""``deepseek.profiler``: profile, record_function, schedule and the trace handlers of
``torch.profiler``, timing every primitive op (and backward node) while a profile records."""

from __future__ import annotations

import enum
import functools
import os
import socket
import sys
import threading
import time
import warnings
from typing import Any, Callable, Iterable, Optional

from ..autograd.function import _FunctionOp
from ..ops._opdef import REGISTRY, OpDef
from ._events import EventList, FunctionEvent

__all__ = ["ProfilerActivity", "ProfilerAction", "schedule", "profile", "record_function",
           "tensorboard_trace_handler", "supported_activities"]


class ProfilerActivity(enum.Enum):
    """What to profile. deepseek times host (CPU) work; device activities are accepted."""

    CPU = 0
    XPU = 1
    MTIA = 2
    CUDA = 3
    HPU = 4
    PrivateUse1 = 5


class ProfilerAction(enum.Enum):
    """What a schedule asks of the profiler at a step."""

    NONE = 0
    WARMUP = 1
    RECORD = 2
    RECORD_AND_SAVE = 3


def supported_activities() -> set:
    """The activities deepseek's profiler records."""
    return {ProfilerActivity.CPU}


def schedule(*, wait: int, warmup: int, active: int, repeat: int = 0, skip_first: int = 0,
             skip_first_wait: int = 0) -> Callable[[int], ProfilerAction]:
    """A step -> ProfilerAction function for ``profile(schedule=...)``, as torch's.

    After ``skip_first`` steps, cycles of ``wait`` idle steps, ``warmup`` steps and ``active``
    recorded steps (the last one RECORD_AND_SAVE, which hands the trace to ``on_trace_ready``)
    repeat ``repeat`` times (0: forever). ``skip_first_wait=1`` skips the first cycle's wait.

    Example:
        >>> fn = schedule(wait=1, warmup=1, active=2)
        >>> [fn(i).name for i in range(4)]
        ['NONE', 'WARMUP', 'RECORD', 'RECORD_AND_SAVE']
    """
    args = {"wait": wait, "warmup": warmup, "active": active, "repeat": repeat,
            "skip_first": skip_first, "skip_first_wait": skip_first_wait}
    for name, value in args.items():
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"schedule: {name} must be an int, got {value!r}")
    bad = [f"{k}={v}" for k, v in args.items() if v < 0 or (k == "active" and v < 1)]
    if bad:
        raise ValueError(f"schedule: active must be >= 1 and the other arguments >= 0; got "
                         f"{', '.join(bad)}")
    cycle = wait + warmup + active

    def schedule_fn(step: int) -> ProfilerAction:
        if step < 0:
            raise ValueError(f"schedule: step must be >= 0, got {step}")
        if step < skip_first:
            return ProfilerAction.NONE
        step -= skip_first
        if skip_first_wait:
            step += wait
        if repeat > 0 and step >= repeat * cycle:
            return ProfilerAction.NONE
        phase = step % cycle
        if phase < wait:
            return ProfilerAction.NONE
        if phase < wait + warmup:
            return ProfilerAction.WARMUP
        return ProfilerAction.RECORD if phase < cycle - 1 else ProfilerAction.RECORD_AND_SAVE

    return schedule_fn


def _always_record(step: int) -> ProfilerAction:
    return ProfilerAction.RECORD


class _Range:
    """One timed range while recording; becomes a FunctionEvent when its profile stops."""

    __slots__ = ("name", "thread", "parent", "start", "end", "shapes", "stack", "memory",
                 "flops", "annotation")

    def __init__(self, name: str, parent: Optional["_Range"], annotation: bool) -> None:
        self.name, self.parent, self.annotation = name, parent, annotation
        self.thread = threading.get_ident()
        self.end = None
        self.shapes = self.stack = None
        self.memory = self.flops = 0


class _Recorder:
    """The one recording every active profile shares.

    While a profile records, each registered OpDef's ``forward`` and ``vjp`` (and the ``vjp``
    of autograd.Function nodes) are swapped for timing wrappers; the last profile to stop puts
    the originals back. Nothing on the eager
    path checks for a profiler, so with none recording it costs nothing.
    """

    def __init__(self) -> None:
        self.users: list = []  # the recording profiles: the refcount of the patching
        self.ranges: list[_Range] = []  # in start order
        self.originals: dict[OpDef, tuple] = {}
        self.local = threading.local()  # each thread's stack of open ranges
        self.record_shapes = self.profile_memory = self.with_stack = self.with_flops = False

    def acquire(self, prof: "profile") -> int:
        if not self.users:
            for op in list(REGISTRY.values()):
                self.originals[op] = (op.forward, op.vjp)
                op.forward = _timed_forward(self, op, op.forward)
                if op.vjp is not None:
                    op.vjp = _timed_vjp(self, op.vjp)
            _FunctionOp.vjp = _timed_vjp(self, _FunctionOp.vjp)  # autograd.Function nodes
        self.users.append(prof)
        self._options()
        return len(self.ranges)

    def release(self, prof: "profile") -> None:
        self.users.remove(prof)
        self._options()
        if not self.users:
            for op, (forward, vjp) in self.originals.items():
                op.forward, op.vjp = forward, vjp
            self.originals.clear()
            _FunctionOp.vjp = _FunctionOp.vjp.__wrapped__
            self.ranges = []

    def _options(self) -> None:
        for flag in ("record_shapes", "profile_memory", "with_stack", "with_flops"):
            setattr(self, flag, any(getattr(p, flag) for p in self.users))

    def open(self, name: str, arrays: Optional[tuple] = None,
             annotation: bool = False) -> _Range:
        stack = getattr(self.local, "stack", None)
        if stack is None:
            stack = self.local.stack = []
        r = _Range(name, stack[-1] if stack else None, annotation)
        if arrays is not None and self.record_shapes:
            r.shapes = [list(getattr(a, "shape", ())) for a in arrays]
        if self.with_stack:
            r.stack = _python_stack()
        self.ranges.append(r)
        stack.append(r)
        r.start = time.perf_counter_ns()
        return r

    def close(self, r: _Range) -> None:
        r.end = time.perf_counter_ns()
        stack = getattr(self.local, "stack", ())  # () when closed on another thread
        if stack and stack[-1] is r:
            stack.pop()
        elif r in stack:  # ranges closed out of order (a record_function left early)
            stack.remove(r)


_RECORDER = _Recorder()


def _event_name(op: OpDef) -> str:
    return op.name if "::" in op.name else "aten::" + op.name


def _timed_forward(rec: _Recorder, op: OpDef, forward: Callable) -> Callable:
    name = _event_name(op)
    count_flops = _FLOPS.get(op.name)

    def timed(xp: Any, *arrays: Any, **attrs: Any) -> Any:
        if not rec.users:  # a compiled function kept this wrapper past its profile
            return forward(xp, *arrays, **attrs)
        r = rec.open(name, arrays)
        try:
            out = forward(xp, *arrays, **attrs)
        finally:
            rec.close(r)
        if rec.profile_memory and not op.is_view:
            r.memory = _nbytes(out)
        if rec.with_flops and count_flops is not None:
            r.flops = count_flops(arrays, out)
        return out

    timed.__wrapped__ = forward
    return timed


def _timed_vjp(rec: _Recorder, vjp: Callable) -> Callable:
    def timed(*args: Any) -> Any:  # (node, g) for an OpDef's vjp; (op, node, g) for a Function's
        if not rec.users:
            return vjp(*args)
        name = args[-2].name()
        outer = rec.open("autograd::engine::evaluate_function: " + name)
        inner = rec.open(name)
        try:
            return vjp(*args)
        finally:
            rec.close(inner)
            rec.close(outer)

    timed.__wrapped__ = vjp
    return timed


def _nbytes(out: Any) -> int:
    if isinstance(out, (tuple, list)):
        return sum(_nbytes(o) for o in out)
    return int(getattr(out, "nbytes", 0))


def _matmul_flops(arrays: tuple, out: Any) -> int:
    return 2 * int(out.size) * int(arrays[0].shape[-1])


def _convolution_flops(arrays: tuple, out: Any) -> int:
    weight = arrays[1]
    return 2 * int(out.size) * int(weight.size // weight.shape[0])


_FLOPS = {"matmul": _matmul_flops, "convolution": _convolution_flops}

_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_MODULES = os.path.join(_PACKAGE, "nn", "modules") + os.sep


def _python_stack() -> list:
    """The Python frames of the call, innermost first, without deepseek's own (but with its
    nn modules', as torch shows ``linear.py(…): forward``)."""
    frames = []
    f = sys._getframe(2)
    while f is not None:
        file = f.f_code.co_filename
        if not file.startswith(_PACKAGE) or file.startswith(_MODULES):
            frames.append(f"{file}({f.f_lineno}): {f.f_code.co_name}")
        f = f.f_back
    return frames


class record_function:
    """Label a range of code in the profile; a context manager and a decorator.

    Costs one check when no profile records.

    Example:
        >>> with profile() as prof:
        ...     with record_function("model_inference"):
        ...         y = model(x)
    """

    def __init__(self, name: str, args: Optional[str] = None) -> None:
        if not isinstance(name, str):
            raise TypeError(f"record_function: name must be a str, got {type(name).__name__}")
        self.name, self.args = name, args
        self._range: Optional[_Range] = None

    def __enter__(self) -> "record_function":
        if _RECORDER.users:
            self._range = _RECORDER.open(self.name, annotation=True)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._range is not None:
            _RECORDER.close(self._range)
            self._range = None

    def __call__(self, fn: Callable) -> Callable:
        @functools.wraps(fn)
        def labelled(*args: Any, **kwargs: Any) -> Any:
            with record_function(self.name, self.args):
                return fn(*args, **kwargs)

        return labelled


class profile:
    """Time every primitive op, backward node and ``record_function`` range, as
    ``torch.profiler.profile``.

    Args:
        activities: ``ProfilerActivity`` values (default CPU); device time is not measured.
        schedule: ``step -> ProfilerAction`` (see ``schedule``); default: record throughout.
        on_trace_ready: called with the profiler when a recorded cycle ends.
        record_shapes: keep the input shapes of each op.
        profile_memory: keep the bytes of each op's outputs (``Self CPU Mem``).
        with_stack: keep the Python stack of each op.
        with_flops: count the FLOPs of matmuls and convolutions.
        with_modules: accepted for compatibility.
        acc_events: keep the events of every recorded cycle, not only the last.

    Example:
        >>> with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        ...     model(x)
        >>> print(prof.key_averages().table(sort_by="cpu_time_total", row_limit=10))
    """

    def __init__(self, *, activities: Optional[Iterable[ProfilerActivity]] = None,
                 schedule: Optional[Callable[[int], ProfilerAction]] = None,
                 on_trace_ready: Optional[Callable[["profile"], Any]] = None,
                 record_shapes: bool = False, profile_memory: bool = False,
                 with_stack: bool = False, with_flops: bool = False, with_modules: bool = False,
                 experimental_config: Any = None, execution_trace_observer: Any = None,
                 acc_events: bool = False, use_cuda: Optional[bool] = None,
                 custom_trace_id_callback: Optional[Callable[[], str]] = None,
                 post_processing_timeout_s: Optional[float] = None) -> None:
        activities = set(supported_activities() if activities is None else activities)
        for a in activities:
            if not isinstance(a, ProfilerActivity):
                raise TypeError(f"profile: activities must be ProfilerActivity values, got {a!r}")
        if use_cuda:
            activities.add(ProfilerActivity.CUDA)
        if activities - supported_activities():
            warnings.warn("deepseek.profiler records host (CPU) time only; device activities "
                          f"{sorted(a.name for a in activities - supported_activities())} "
                          "add no device events", stacklevel=2)
        if schedule is not None and not callable(schedule):
            raise TypeError(f"profile: schedule must be callable (see profiler.schedule), got "
                            f"{schedule!r}")
        self.activities = activities
        self.schedule = schedule or _always_record
        self.record_steps = schedule is not None
        self.on_trace_ready = on_trace_ready
        self.record_shapes = record_shapes
        self.profile_memory = profile_memory
        self.with_stack = with_stack
        self.with_flops = with_flops
        self.with_modules = with_modules
        self.acc_events = acc_events
        self.step_num = 0
        self.current_action: Optional[ProfilerAction] = None
        self._first = -1  # where this profile's ranges begin in the recorder; -1: not recording
        self._base_ns = 0
        self._step_range: Optional[_Range] = None
        self._events: Optional[EventList] = None

    def __enter__(self) -> "profile":
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def start(self) -> None:
        self.step_num = 0
        self.current_action = self.schedule(0)
        self._transit(ProfilerAction.NONE, self.current_action)
        self._open_step()

    def stop(self) -> None:
        self._close_step()
        if self.current_action is not None:
            action, self.current_action = self.current_action, None
            self._transit(action, None)

    def step(self) -> None:
        """Mark the end of a training step: the schedule decides what the next one records."""
        if self.current_action is None:
            raise RuntimeError("profile.step() called outside the profile; call start() or "
                               "enter the `with profile(...)` block first")
        self._close_step()
        previous = self.current_action
        self.step_num += 1
        self.current_action = self.schedule(self.step_num)
        self._transit(previous, self.current_action)
        self._open_step()

    def _transit(self, previous: ProfilerAction, action: Optional[ProfilerAction]) -> None:
        recording = (ProfilerAction.RECORD, ProfilerAction.RECORD_AND_SAVE)
        was, now = previous in recording, action in recording
        saved = previous is ProfilerAction.RECORD_AND_SAVE
        if was and (saved or not now):
            self._stop_trace()
            if self.on_trace_ready is not None:
                self.on_trace_ready(self)
        if now and (saved or not was):
            self._start_trace()

    def _start_trace(self) -> None:
        self._base_ns = time.perf_counter_ns()
        self._wall_ns = time.time_ns()
        self._first = _RECORDER.acquire(self)

    def _stop_trace(self) -> None:
        try:
            ranges = _RECORDER.ranges[self._first:]
        finally:
            _RECORDER.release(self)
            self._first = -1
        events = self._build(ranges)
        if self.acc_events and self._events is not None:
            events = self._events._like(list(self._events) + list(events))
        self._events = events

    def _open_step(self) -> None:
        if self.record_steps and self._first >= 0:
            self._step_range = _RECORDER.open(f"ProfilerStep#{self.step_num}", annotation=True)

    def _close_step(self) -> None:
        if self._step_range is not None:
            _RECORDER.close(self._step_range)
            self._step_range = None

    def _build(self, ranges: list) -> EventList:
        """FunctionEvents of the ranges that closed, linked to their closest recorded parent."""
        events: dict[int, FunctionEvent] = {}
        for r in ranges:
            if r.end is None:  # still open when the profile stopped
                continue
            e = FunctionEvent(len(events) + 1, r.name, r.thread, (r.start - self._base_ns) / 1e3,
                              (r.end - self._base_ns) / 1e3,
                              (r.shapes or []) if self.record_shapes else [],
                              (r.stack or []) if self.with_stack else [],
                              r.memory if self.profile_memory else 0,
                              r.flops if self.with_flops else 0, r.annotation)
            parent = r.parent
            while parent is not None and id(parent) not in events:
                parent = parent.parent
            if parent is not None:
                e.cpu_parent = events[id(parent)]
                e.cpu_parent.cpu_children.append(e)
            events[id(r)] = e
        return EventList(events.values(), profile_memory=self.profile_memory,
                         with_flops=self.with_flops, base_time_ns=self._wall_ns)

    def events(self) -> EventList:
        """The events of the last recorded cycle (of all cycles with ``acc_events``)."""
        if self._events is None:
            raise RuntimeError("profile.events(): nothing recorded yet; the trace is ready when "
                               "the `with profile(...)` block exits or a scheduled cycle ends")
        return self._events

    def key_averages(self, group_by_input_shape: bool = False, group_by_stack_n: int = 0,
                     group_by_overload_name: bool = False) -> EventList:
        """The events averaged by name (and input shapes / top stack frames when asked)."""
        return self.events().key_averages(group_by_input_shape, group_by_stack_n)

    def export_chrome_trace(self, path: str) -> None:
        """Write the events as Chrome trace-event JSON (gzipped when ``path`` ends in .gz)."""
        self.events().export_chrome_trace(path)

    def export_stacks(self, path: str, metric: str = "self_cpu_time_total") -> None:
        """Write ``frame;frame;…;op microseconds`` lines (outermost frame first) for flame
        graph tools; needs ``with_stack=True``."""
        if metric not in ("self_cpu_time_total", "self_cuda_time_total"):
            raise ValueError(f"export_stacks: metric must be 'self_cpu_time_total' or "
                             f"'self_cuda_time_total', got {metric!r}")
        if not self.with_stack:
            raise RuntimeError("export_stacks needs profile(with_stack=True)")
        with open(path, "w") as f:
            for e in self.events():
                if e.stack:
                    f.write(f"{';'.join(reversed(e.stack))};{e.name} {int(getattr(e, metric))}\n")


class LegacyProfile(profile):
    """``torch.autograd.profiler.profile``: the same recording, with the legacy signature and
    the results read off the object (``prof.table()``, ``prof.function_events``).

    Example:
        >>> with LegacyProfile(record_shapes=True) as prof:
        ...     model(x)
        >>> print(prof.table(sort_by="self_cpu_time_total"))
    """

    def __init__(self, enabled: bool = True, *, use_cuda: bool = False,
                 use_device: Optional[str] = None, record_shapes: bool = False,
                 with_flops: bool = False, profile_memory: bool = False, with_stack: bool = False,
                 with_modules: bool = False, use_kineto: bool = False, use_cpu: bool = True,
                 experimental_config: Any = None, acc_events: bool = False,
                 custom_trace_id_callback: Optional[Callable[[], str]] = None,
                 post_processing_timeout_s: Optional[float] = None,
                 activity_filters: Any = None) -> None:
        device = use_cuda or (use_device is not None and use_device != "cpu")
        super().__init__(activities=[ProfilerActivity.CPU] + [ProfilerActivity.CUDA] * device,
                         record_shapes=record_shapes, profile_memory=profile_memory,
                         with_stack=with_stack, with_flops=with_flops, with_modules=with_modules,
                         acc_events=acc_events)
        self.enabled = enabled

    def start(self) -> None:
        if self.enabled:
            super().start()

    @property
    def function_events(self) -> EventList:
        return self.events()

    @property
    def self_cpu_time_total(self) -> float:
        return self.events().self_cpu_time_total

    def table(self, sort_by: Optional[str] = None, row_limit: int = 100, **kwargs: Any) -> str:
        """The table of every event, unaveraged (as torch's legacy profiler prints it)."""
        return self.events().table(sort_by=sort_by, row_limit=row_limit, **kwargs)

    def total_average(self) -> Any:
        return self.events().total_average()


def tensorboard_trace_handler(dir_name: str, worker_name: Optional[str] = None,
                              use_gzip: bool = False) -> Callable[[profile], None]:
    """An ``on_trace_ready`` that writes each trace to ``dir_name`` as
    ``{worker_name}.{time in ms}.pt.trace.json`` for TensorBoard's profiler plugin."""
    name = worker_name or f"{socket.gethostname()}_{os.getpid()}"

    def handler(prof: profile) -> None:
        os.makedirs(dir_name, exist_ok=True)
        stamp = time.time_ns() // 1_000_000
        suffix = ".pt.trace.json.gz" if use_gzip else ".pt.trace.json"
        while os.path.exists(os.path.join(dir_name, f"{name}.{stamp}{suffix}")):
            stamp += 1  # two traces in one millisecond
        prof.export_chrome_trace(os.path.join(dir_name, f"{name}.{stamp}{suffix}"))

    return handler
