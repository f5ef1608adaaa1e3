"""``deepseek.nn``: modules, parameters, functional ops, initialization."""

from . import attention, functional, init, utils  # noqa: F401
from .modules import *  # noqa: F401,F403
from .modules import distributed as _distributed, parallel
from .._modules import alias as _alias
from .parameter import Buffer, Parameter, UninitializedBuffer, UninitializedParameter  # noqa: F401
from .utils import fuse_layers  # noqa: F401

_alias(f"{__name__}.parallel", parallel)  # torch.nn.parallel, and its .distributed
_alias(f"{__name__}.parallel.distributed", _distributed)
