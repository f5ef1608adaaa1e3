"""Grad mode: ``no_grad``, ``enable_grad``, ``set_grad_enabled``, ``inference_mode``."""

from __future__ import annotations

import functools
import threading
from typing import Any, Callable

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "inference_mode", "is_grad_enabled",
           "is_inference_mode_enabled"]


class _State(threading.local):
    """Per thread, as torch's: a server's ``no_grad`` worker leaves training elsewhere alone."""

    def __init__(self) -> None:
        self.enabled = True
        self.inference = False


STATE = _State()


def is_grad_enabled() -> bool:
    """Whether operations on tensors that require grad are being recorded."""
    return STATE.enabled


def is_inference_mode_enabled() -> bool:
    return STATE.inference


class _GradModeContext:
    """Base of the grad-mode context managers; each is also a decorator."""

    def __init__(self) -> None:
        self._prev: list = []

    def _target(self) -> bool:
        raise NotImplementedError

    def __enter__(self) -> None:
        self._prev.append(STATE.enabled)
        STATE.enabled = self._target()

    def __exit__(self, *exc: Any) -> None:
        STATE.enabled = self._prev.pop()

    def __call__(self, fn: Callable) -> Callable:
        target = self._target

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            prev = STATE.enabled
            STATE.enabled = target()
            try:
                return fn(*args, **kwargs)
            finally:
                STATE.enabled = prev

        return wrapper


class no_grad(_GradModeContext):
    """Disable gradient recording (context manager or decorator)."""

    def _target(self) -> bool:
        return False


class enable_grad(_GradModeContext):
    """Enable gradient recording inside a ``no_grad`` region."""

    def _target(self) -> bool:
        return True


class set_grad_enabled(_GradModeContext):
    """Set grad mode on or off; takes effect at once, and as a context manager restores it."""

    def __init__(self, mode: bool) -> None:
        super().__init__()
        self.mode = bool(mode)
        self._entered_prev = STATE.enabled
        STATE.enabled = self.mode

    def _target(self) -> bool:
        return self.mode

    def __call__(self, fn: Callable) -> Callable:
        STATE.enabled = self._entered_prev  # used as a decorator: only the call changes mode
        return super().__call__(fn)

    def __enter__(self) -> None:
        self._prev.append(self._entered_prev)

    def __exit__(self, *exc: Any) -> None:
        STATE.enabled = self._prev.pop()


class inference_mode(_GradModeContext):
    """Like ``no_grad``; tensors made inside are not meant to be used in autograd later."""

    def __init__(self, mode: bool = True) -> None:
        super().__init__()
        self.mode = bool(mode)

    def _target(self) -> bool:
        return not self.mode and STATE.enabled

    def __enter__(self) -> None:
        self._prev.append((STATE.enabled, STATE.inference))
        STATE.enabled, STATE.inference = self._target(), self.mode

    def __exit__(self, *exc: Any) -> None:
        STATE.enabled, STATE.inference = self._prev.pop()
