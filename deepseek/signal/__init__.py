"""``deepseek.signal``: the ``torch.signal`` namespace (window functions in :mod:`.windows`)."""

from . import windows

__all__ = ["windows"]
