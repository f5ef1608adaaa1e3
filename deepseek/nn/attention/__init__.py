"""``deepseek.nn.attention``: choose the kernels of ``F.scaled_dot_product_attention``.

The CPU has one attention kernel (two GEMMs around a fused softmax); it serves torch's CPU
backends ``MATH`` and ``FLASH_ATTENTION``. As in torch on the CPU, a selection that allows
neither makes attention raise.
"""

from __future__ import annotations

import contextlib
import enum
from typing import Iterator, Sequence, Union

from ...backends import cuda as _cuda

__all__ = ["SDPBackend", "WARN_FOR_UNFUSED_KERNELS", "sdpa_kernel"]

WARN_FOR_UNFUSED_KERNELS = False


class SDPBackend(enum.IntEnum):
    """The attention backends ``sdpa_kernel`` selects among."""

    ERROR = -1
    MATH = 0
    FLASH_ATTENTION = 1
    EFFICIENT_ATTENTION = 2
    CUDNN_ATTENTION = 3
    OVERRIDEABLE = 4


_FLAGS = {SDPBackend.MATH: "math", SDPBackend.FLASH_ATTENTION: "flash",
          SDPBackend.EFFICIENT_ATTENTION: "mem_efficient", SDPBackend.CUDNN_ATTENTION: "cudnn"}


@contextlib.contextmanager
def sdpa_kernel(backends: Union[SDPBackend, Sequence[SDPBackend]],
                set_priority: bool = False) -> Iterator[None]:
    """Allow only ``backends`` for scaled dot-product attention inside the block (the
    ``torch.backends.cuda.enable_*_sdp`` switches), restoring the previous switches after.
    ``set_priority`` orders backends by preference; with one CPU kernel it changes nothing.

    Example:
        >>> with sdpa_kernel(SDPBackend.MATH):
        ...     out = F.scaled_dot_product_attention(q, k, v)
    """
    chosen = [backends] if isinstance(backends, SDPBackend) else list(backends) \
        if isinstance(backends, (list, tuple, set)) else None
    if chosen is None or not all(isinstance(b, SDPBackend) for b in chosen):
        raise TypeError("[sdpa_kernel] backends must be an SDPBackend or a list of SDPBackend, "
                        f"got {type(backends).__name__}")
    saved = dict(_cuda._SDP)
    _cuda._SDP.update({flag: backend in chosen for backend, flag in _FLAGS.items()})
    try:
        yield
    finally:
        _cuda._SDP.update(saved)
