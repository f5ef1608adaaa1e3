"""``deepseek.autograd.profiler``: torch's legacy spelling of the profiler (``profile`` with
``enabled``/``use_cuda``, ``record_function``)."""

from ..profiler.profiler import LegacyProfile as profile, record_function  # noqa: F401

__all__ = ["profile", "record_function"]
