"""Attention in ``deepseek.nn.functional`` (the primitive lives in ``ops/attention.py``)."""

from ...ops.attention import scaled_dot_product_attention

__all__ = ["scaled_dot_product_attention"]
