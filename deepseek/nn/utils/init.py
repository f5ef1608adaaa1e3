"""``skip_init``: build a module with its parameters and buffers left uninitialized."""

from __future__ import annotations

import inspect
from typing import Any

from ... import random as _random
from ..modules.module import Module

__all__ = ["skip_init"]


def skip_init(module_cls: type, *args: Any, **kwargs: Any) -> Module:
    """Instantiate ``module_cls(*args, **kwargs)`` with uninitialized parameters and buffers,
    as if made by ``deepseek.empty``, for a caller that initializes them itself.

    torch builds the module on the ``meta`` device and gives it storage afterwards; deepseek's
    meta device holds no tensors yet, so the module is built where ``device`` says (CPU by
    default) and then given fresh storage by ``to_empty``, and the global random state is put
    back, so that the call draws nothing from it, as in torch. The class must take a
    ``device`` argument.

    Args:
        module_cls: a subclass of ``nn.Module``.
        args, kwargs: the constructor's arguments.

    Example:
        >>> m = ds.nn.utils.skip_init(ds.nn.Linear, 5, 1)
        >>> m.weight.shape
        deepseek.Size([1, 5])
    """
    if not (isinstance(module_cls, type) and issubclass(module_cls, Module)):
        raise RuntimeError(f"Expected a Module; got {module_cls}")
    if "device" not in inspect.signature(module_cls).parameters:
        raise RuntimeError("Module must support a 'device' arg to skip initialization")
    device = kwargs.pop("device", "cpu")
    state = _random.get_rng_state()
    try:
        module = module_cls(*args, device=device, **kwargs)
    finally:
        _random.set_rng_state(state)
    return module.to_empty(device=device)
