"""Reference models used by the demo, the examples and the benchmarks."""

from .digits import DigitsCNN, DigitsMLP  # noqa: F401
