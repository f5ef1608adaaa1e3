"""``deepseek.futures``: ``Future``, a value that may not be ready yet (the result of an
asynchronous collective or a communication hook), as ``torch.futures.Future``."""

from __future__ import annotations

from typing import Any, Callable, Generic, Optional, TypeVar

__all__ = ["Future", "collect_all", "wait_all"]

T = TypeVar("T")
S = TypeVar("S")


class Future(Generic[T]):
    """A value that becomes ready later.

    A future is either completed by ``set_result``/``set_exception`` or, when made by
    deepseek around pending work (an MPI request), completes itself on ``wait()``: MPI
    progresses messages inside its calls, so waiting is what drives them. ``then``
    chains a callback that runs on the completed future and whose return value completes
    the new one.

    Example:
        >>> fut = ds.futures.Future()
        >>> doubled = fut.then(lambda f: f.value() * 2)
        >>> fut.set_result(21)
        >>> doubled.wait()
        42
    """

    def __init__(self, *, devices: Any = None, _waiter: Optional[Callable[[], T]] = None) -> None:
        self._waiter = _waiter
        self._done = False
        self._value: Any = None
        self._error: Optional[BaseException] = None
        self._callbacks: list = []

    def done(self) -> bool:
        """Whether the value (or an exception) is set."""
        return self._done

    def wait(self) -> T:
        """Block until the value is ready and return it (raising the stored exception)."""
        if not self._done:
            if self._waiter is None:
                raise RuntimeError("[Future.wait] this future has no pending work and no result "
                                   "yet: nothing would ever complete it; call set_result first")
            waiter, self._waiter = self._waiter, None
            try:
                self._finish(waiter(), None)
            except BaseException as e:
                self._finish(None, e)
        return self.value()

    def value(self) -> T:
        """The value of a completed future (raising its exception, if it holds one)."""
        if not self._done:
            raise RuntimeError("[Future.value] the future is not completed yet; call wait()")
        if self._error is not None:
            raise self._error
        return self._value

    def set_result(self, result: T) -> None:
        """Complete the future with ``result``."""
        if self._done:
            raise RuntimeError("[Future.set_result] the future is already completed")
        self._finish(result, None)

    def set_exception(self, result: BaseException) -> None:
        """Complete the future with an exception, raised by ``wait``/``value``."""
        if not isinstance(result, BaseException):
            raise TypeError(f"[Future.set_exception] expected an exception, got "
                            f"{type(result).__name__}")
        if self._done:
            raise RuntimeError("[Future.set_exception] the future is already completed")
        self._finish(None, result)

    def then(self, callback: Callable[["Future[T]"], S]) -> "Future[S]":
        """A new future completed by ``callback(self)`` once this one is complete."""
        def run() -> S:
            self.wait()
            return callback(self)

        if self._done:
            out: Future = Future()
            try:
                out.set_result(callback(self))
            except BaseException as e:
                out.set_exception(e)
            return out
        return Future(_waiter=run)

    def add_done_callback(self, callback: Callable[["Future[T]"], None]) -> None:
        """Call ``callback(self)`` when the future completes (now, if it already has)."""
        if self._done:
            callback(self)
        else:
            self._callbacks.append(callback)

    def _finish(self, value: Any, error: Optional[BaseException]) -> None:
        self._value, self._error, self._done = value, error, True
        callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback(self)

    def __repr__(self) -> str:
        state = "done" if self._done else "pending"
        return f"Future({state})"


def collect_all(futures: list) -> Future:
    """A future of the list of ``futures``, complete when all of them are."""
    def run() -> list:
        for f in futures:
            f.wait()
        return list(futures)

    return Future(_waiter=run)


def wait_all(futures: list) -> list:
    """Wait for every future and return their values."""
    return [f.wait() for f in futures]
