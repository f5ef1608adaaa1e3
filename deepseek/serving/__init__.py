"""``ds.serving``: serve a model for inference over HTTP with dynamic batching (standard library
only). ``python -m deepseek.serving --model module:callable --weights file`` runs one."""

from typing import Any

__all__ = ["Server"]


def __getattr__(name: str) -> Any:
    # the HTTP machinery loads on first use, not with ``import deepseek``
    if name == "Server":
        from .server import Server

        return Server
    raise AttributeError(f"module 'deepseek.serving' has no attribute {name!r}")
