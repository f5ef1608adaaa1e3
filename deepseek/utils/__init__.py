"""``deepseek.utils``: data loading and checkpointing."""

from . import data  # noqa: F401
