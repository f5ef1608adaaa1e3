"""``deepseek.utils``: data loading and activation checkpointing."""

from . import checkpoint, data, dlpack  # noqa: F401
from .._modules import alias as _alias, namespace as _namespace
from ..func import _pytree
from ..nn.modules.module import RemovableHandle as _RemovableHandle

_namespace(f"{__name__}.hooks", RemovableHandle=_RemovableHandle)  # torch.utils.hooks
_alias(f"{__name__}._pytree", _pytree)  # torch.utils._pytree
