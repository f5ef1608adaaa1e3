"""``deepseek.utils``: data loading and activation checkpointing."""

from . import checkpoint, data  # noqa: F401
