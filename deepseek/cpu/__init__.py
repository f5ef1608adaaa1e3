"""``deepseek.cpu``: torch.cpu's device-agnostic queries for the CPU. The CPU runs every op in
order, so streams and events exist for code written against the CUDA spelling, and wait for
nothing."""

from __future__ import annotations

import contextlib
from typing import Any, Iterator, Optional

from ..backend import device as _device
from . import amp  # noqa: F401  torch.cpu.amp's deprecated spellings

__all__ = ["Event", "Stream", "StreamContext", "amp", "current_device", "current_stream",
           "device_count", "is_available", "is_initialized", "set_device", "stream",
           "synchronize"]


def is_available() -> bool:
    return True


def is_initialized() -> bool:
    return True


def device_count() -> int:
    return 1


def current_device() -> str:
    return "cpu"


def set_device(device: Any) -> None:
    """Accepts only the CPU (``"cpu"``, a cpu device or an index)."""
    if not isinstance(device, int) and _device(device).type != "cpu":
        raise ValueError(f"[cpu.set_device] expected a cpu device, got {device!r}")


def synchronize(device: Any = None) -> None:
    """Nothing to wait for: CPU ops have finished when they return."""


class Event:
    """An event on the CPU stream: always complete."""

    def record(self, stream: Optional["Stream"] = None) -> None:
        pass

    def wait(self, stream: Optional["Stream"] = None) -> None:
        pass

    def query(self) -> bool:
        return True

    def synchronize(self) -> None:
        pass


class Stream:
    """The CPU's one in-order stream, under torch's stream interface."""

    def __init__(self, priority: int = -1) -> None:
        self.priority = priority

    def wait_stream(self, stream: "Stream") -> None:
        pass

    def wait_event(self, event: Event) -> None:
        pass

    def record_event(self, event: Optional[Event] = None) -> Event:
        return event if event is not None else Event()


_CURRENT = [Stream()]


def current_stream(device: Any = None) -> Stream:
    return _CURRENT[0]


@contextlib.contextmanager
def StreamContext(stream: Optional[Stream]) -> Iterator[None]:
    """Make ``stream`` current inside the block (None: leave it as is)."""
    saved = _CURRENT[0]
    if stream is not None:
        _CURRENT[0] = stream
    try:
        yield
    finally:
        _CURRENT[0] = saved


stream = StreamContext
