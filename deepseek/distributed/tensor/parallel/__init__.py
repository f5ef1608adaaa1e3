"""``deepseek.distributed.tensor.parallel``: Megatron-style tensor parallelism with
``torch.distributed.tensor.parallel``'s API, on local shards (no DTensor)."""

from .api import parallelize_module
from .style import ColwiseParallel, ParallelStyle, RowwiseParallel, SequenceParallel

__all__ = ["ColwiseParallel", "ParallelStyle", "RowwiseParallel", "SequenceParallel",
           "parallelize_module"]
