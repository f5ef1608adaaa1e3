"""``deepseek.nn``: modules, parameters, functional ops, initialization."""

from . import functional  # noqa: F401
