"""``deepseek.nn``: modules, parameters, functional ops, initialization."""

from . import functional, init, utils  # noqa: F401
from .modules import *  # noqa: F401,F403
from .modules import parallel  # noqa: F401  torch.nn.parallel
from .parameter import Buffer, Parameter, UninitializedBuffer, UninitializedParameter  # noqa: F401
from .utils import fuse_layers  # noqa: F401
