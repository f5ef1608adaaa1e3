"""``deepseek.utils``: data loading and activation checkpointing."""

from . import checkpoint, data  # noqa: F401
from .._modules import namespace as _namespace
from ..nn.modules.module import RemovableHandle as _RemovableHandle

_namespace(f"{__name__}.hooks", RemovableHandle=_RemovableHandle)  # torch.utils.hooks
