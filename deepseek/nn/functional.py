"""``deepseek.nn.functional``: the functional neural-network ops."""

from __future__ import annotations
