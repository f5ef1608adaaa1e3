"""Anomaly detection (``torch.autograd.detect_anomaly``): nodes remember the forward stack that
made them, and backward names the node whose vjp failed or returned NaN, with that stack."""

from __future__ import annotations

import functools
import warnings
from typing import Any, Callable

__all__ = ["detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled",
           "is_anomaly_check_nan_enabled"]


class _Anomaly:
    __slots__ = ("enabled", "check_nan")

    def __init__(self) -> None:
        self.enabled = False
        self.check_nan = True


ANOMALY = _Anomaly()


def is_anomaly_enabled() -> bool:
    """Whether anomaly detection is on."""
    return ANOMALY.enabled


def is_anomaly_check_nan_enabled() -> bool:
    """Whether anomaly detection also checks every gradient for NaN."""
    return ANOMALY.check_nan


class set_detect_anomaly:
    """Turn anomaly detection on or off now; as a context manager, restore it on exit.

    Args:
        mode: on or off.
        check_nan: also raise when a vjp returns NaN. Default: True.
    """

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        self.prev = (ANOMALY.enabled, ANOMALY.check_nan)
        ANOMALY.enabled, ANOMALY.check_nan = bool(mode), bool(check_nan)

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: Any) -> None:
        ANOMALY.enabled, ANOMALY.check_nan = self.prev


class detect_anomaly:
    """Context manager (and decorator) that turns anomaly detection on, for debugging.

    Inside it, a failing vjp is reported with the forward stack of the op it belongs to, and
    a vjp that returns NaN raises ``RuntimeError`` naming the node and output.

    Example:
        >>> with deepseek.autograd.detect_anomaly():
        ...     loss = model(x).sum()
        ...     loss.backward()
    """

    def __init__(self, check_nan: bool = True) -> None:
        self.check_nan = check_nan
        self._prev: list = []
        warnings.warn("Anomaly Detection has been enabled. This mode will increase the runtime "
                      "and should only be enabled for debugging.", UserWarning, stacklevel=2)

    def __enter__(self) -> None:
        self._prev.append((ANOMALY.enabled, ANOMALY.check_nan))
        ANOMALY.enabled, ANOMALY.check_nan = True, self.check_nan

    def __exit__(self, *exc: Any) -> None:
        ANOMALY.enabled, ANOMALY.check_nan = self._prev.pop()

    def __call__(self, fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self:
                return fn(*args, **kwargs)

        return wrapper


def forward_stack_warning(node: Any) -> None:
    """Warn with the forward stack of ``node`` (recorded while anomaly detection was on)."""
    stack = getattr(node, "trace", None)
    where = "".join(stack) if stack else ("no forward stack: the graph was recorded with "
                                          "anomaly detection off\n")
    warnings.warn(f"Error detected in {node.name()}. Traceback of forward call that caused the "
                  f"error:\n{where}", UserWarning, stacklevel=4)
