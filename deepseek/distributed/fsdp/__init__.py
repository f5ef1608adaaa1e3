"""``deepseek.distributed.fsdp``: fully sharded data parallelism with
``torch.distributed.fsdp``'s FSDP1 API (``FullyShardedDataParallel``, its options, state
dicts); auto-wrap policies are in ``deepseek.distributed.fsdp.wrap``."""

from ._flat_param import FlatParameter
from .api import (BackwardPrefetch, CPUOffload, FullOptimStateDictConfig, FullStateDictConfig,
                  LocalStateDictConfig, MixedPrecision, ShardedStateDictConfig, ShardingStrategy,
                  StateDictConfig, StateDictSettings, StateDictType)
from .fully_sharded_data_parallel import FullyShardedDataParallel
from . import wrap

__all__ = ["BackwardPrefetch", "CPUOffload", "FlatParameter", "FullOptimStateDictConfig",
           "FullStateDictConfig", "FullyShardedDataParallel", "LocalStateDictConfig",
           "MixedPrecision", "ShardedStateDictConfig", "ShardingStrategy", "StateDictConfig",
           "StateDictSettings", "StateDictType", "wrap"]
