"""Internals of the DataLoader: collation."""

from .collate import default_collate, default_convert  # noqa: F401
