"""The option types of ``FullyShardedDataParallel``, as ``torch.distributed.fsdp.api``:
sharding strategies, state-dict kinds and their configs, CPU offload."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, NamedTuple, Optional

__all__ = ["BackwardPrefetch", "CPUOffload", "FullOptimStateDictConfig", "FullStateDictConfig",
           "LocalStateDictConfig", "MixedPrecision", "ShardedStateDictConfig", "ShardingStrategy",
           "StateDictConfig", "StateDictSettings", "StateDictType"]


class ShardingStrategy(enum.Enum):
    """What each process keeps of a unit's parameters, gradients and optimizer state.

    ``FULL_SHARD``: a shard of all three; full parameters exist only around the unit's
    forward and backward. ``SHARD_GRAD_OP``: full parameters are kept from forward through
    backward. ``NO_SHARD``: everything replicated, gradients all-reduced (as DDP). The hybrid
    strategies are not implemented.
    """

    FULL_SHARD = enum.auto()
    SHARD_GRAD_OP = enum.auto()
    NO_SHARD = enum.auto()
    HYBRID_SHARD = enum.auto()
    _HYBRID_SHARD_ZERO2 = enum.auto()


class BackwardPrefetch(enum.Enum):
    """Accepted for compatibility: deepseek gathers a unit's parameters when backward first
    needs them, without prefetching."""

    BACKWARD_PRE = enum.auto()
    BACKWARD_POST = enum.auto()


class StateDictType(enum.Enum):
    """What ``state_dict`` returns inside ``FSDP.state_dict_type``: ``FULL_STATE_DICT``
    (gathered tensors under the original names, the default) or ``LOCAL_STATE_DICT`` (this
    process's flat shards). ``SHARDED_STATE_DICT`` needs DTensor and is not implemented."""

    FULL_STATE_DICT = enum.auto()
    LOCAL_STATE_DICT = enum.auto()
    SHARDED_STATE_DICT = enum.auto()


@dataclass
class CPUOffload:
    """``offload_params=True`` keeps parameters and gradients in host memory. deepseek's
    CPU tensors always live there, so it changes nothing for them."""

    offload_params: bool = False


@dataclass
class MixedPrecision:
    """Accepted as a type; passing one to ``FullyShardedDataParallel`` raises (not
    implemented: use ``ds.autocast`` around the forward instead)."""

    param_dtype: Any = None
    reduce_dtype: Any = None
    buffer_dtype: Any = None
    keep_low_precision_grads: bool = False
    cast_forward_inputs: bool = False
    cast_root_forward_inputs: bool = True


@dataclass
class StateDictConfig:
    offload_to_cpu: bool = False


@dataclass
class FullStateDictConfig(StateDictConfig):
    """``rank0_only=True``: only rank 0 receives the full state dict (others get ``{}``)."""

    rank0_only: bool = False


@dataclass
class LocalStateDictConfig(StateDictConfig):
    pass


@dataclass
class ShardedStateDictConfig(StateDictConfig):
    _use_dtensor: bool = False


@dataclass
class FullOptimStateDictConfig:
    offload_to_cpu: bool = False
    rank0_only: bool = False


class StateDictSettings(NamedTuple):
    state_dict_type: StateDictType
    state_dict_config: StateDictConfig
    optim_state_dict_config: Optional[Any]
