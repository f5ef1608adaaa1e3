"""``F.conv*``, ``F.conv_transpose*``, ``F.unfold`` and ``F.fold`` (defined in ``ops/conv.py``)."""

from ...ops.conv import (
                         conv1d,
                         conv2d,
                         conv3d,
                         conv_transpose1d,
                         conv_transpose2d,
                         conv_transpose3d,
                         fold,
                         unfold,
)

__all__ = [
                         "conv1d",
                         "conv2d",
                         "conv3d",
                         "conv_transpose1d",
                         "conv_transpose2d",
                         "conv_transpose3d",
                         "fold",
                         "unfold",
]
