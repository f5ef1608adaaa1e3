"""torch.utils.benchmark's fuzzers and Callgrind results, which deepseek does not implement:
each refuses to be built, saying what is missing, rather than pretending to work."""

from __future__ import annotations

from typing import Any

__all__ = ["Fuzzer", "FuzzedParameter", "ParameterAlias", "FuzzedTensor", "FuzzedSparseTensor",
           "CallgrindStats", "FunctionCount", "FunctionCounts", "CopyIfCallgrind"]

_FUZZER = ("deepseek has no benchmark fuzzer (torch's draws random shapes, strides and "
           "parameters for op benchmarks); build the inputs yourself and time them with Timer")
_CALLGRIND = ("instruction counting needs Valgrind's callgrind and torch's C++ bindings, which "
              "deepseek does not have; use Timer.blocked_autorange() for wall times")


class _Unsupported:
    _missing = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError(f"[benchmark.{type(self).__name__}] is not implemented: "
                                  f"{self._missing}")


class Fuzzer(_Unsupported):
    _missing = _FUZZER


class FuzzedParameter(_Unsupported):
    _missing = _FUZZER


class ParameterAlias(_Unsupported):
    _missing = _FUZZER


class FuzzedTensor(_Unsupported):
    _missing = _FUZZER


class FuzzedSparseTensor(_Unsupported):
    _missing = _FUZZER


class CallgrindStats(_Unsupported):
    _missing = _CALLGRIND


class FunctionCount(_Unsupported):
    _missing = _CALLGRIND


class FunctionCounts(_Unsupported):
    _missing = _CALLGRIND


class CopyIfCallgrind(_Unsupported):
    _missing = _CALLGRIND
