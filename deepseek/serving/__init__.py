"""``ds.serving``: serve a model for inference over HTTP with dynamic batching (standard library
only). ``python -m deepseek.serving --model module:callable --weights file`` runs one."""

from .server import Server

__all__ = ["Server"]
