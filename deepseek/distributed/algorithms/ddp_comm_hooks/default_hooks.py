"""The all-reduce communication hook and its compressed variants, as
``torch.distributed.algorithms.ddp_comm_hooks.default_hooks``. A hook's future holds the
bucket's flat gradient averaged over the group."""

from __future__ import annotations

from typing import Any

import ml_dtypes
import numpy as np

from ....futures import Future
from ....tensor import Tensor
from ... import distributed_c10d as c10d

__all__ = ["allreduce_hook", "bf16_compress_hook", "fp16_compress_hook"]


def _allreduce(process_group: Any, tensor: Tensor) -> Future:
    """Average ``tensor`` over the group in place: divided first, then summed."""
    count = c10d.get_world_size(process_group)
    np.divide(tensor._data, count, out=tensor._data, casting="unsafe")
    return c10d.all_reduce(tensor, group=process_group, async_op=True).get_future().then(
        lambda fut: fut.value()[0])


def allreduce_hook(process_group: Any, bucket: Any) -> Future:
    """Average the bucket over ``process_group`` (what DDP does without a hook)."""
    return _allreduce(process_group, bucket.buffer())


def _compressed(process_group: Any, bucket: Any, dtype: Any) -> Future:
    buffer = bucket.buffer()
    compressed = Tensor._wrap(buffer._data.astype(dtype))

    def decompress(fut: Future) -> Tensor:
        np.copyto(buffer._data, fut.value()._data, casting="unsafe")
        return buffer

    return _allreduce(process_group, compressed).then(decompress)


def fp16_compress_hook(process_group: Any, bucket: Any) -> Future:
    """Sum the bucket in float16 (half the bytes on the wire), then cast back to the
    gradients' dtype."""
    return _compressed(process_group, bucket, np.float16)


def bf16_compress_hook(process_group: Any, bucket: Any) -> Future:
    """Sum the bucket in bfloat16, then cast back to the gradients' dtype."""
    return _compressed(process_group, bucket, ml_dtypes.bfloat16)
