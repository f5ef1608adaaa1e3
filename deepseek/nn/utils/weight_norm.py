"""Weight normalization by a forward pre-hook, as ``torch.nn.utils.weight_norm`` (the older
form of :func:`.parametrizations.weight_norm`)."""

from __future__ import annotations

from typing import Any, Optional

from ...autograd.grad_mode import no_grad
from ..modules.module import Module
from ..parameter import Parameter
from .parametrizations import norm_except_dim

__all__ = ["weight_norm", "remove_weight_norm"]


def find_hook(module: Module, kind: type, name: str) -> Optional[tuple]:
    """``(key, hook)`` of ``module``'s forward pre-hook of class ``kind`` on ``name``."""
    for key, hook in module._forward_pre_hooks.items():
        if isinstance(hook, kind) and hook.name == name:
            return key, hook
    return None


class _WeightNormHook:
    def __init__(self, name: str, dim: int) -> None:
        self.name, self.dim = name, dim

    def compute_weight(self, module: Module) -> Any:
        g, v = getattr(module, self.name + "_g"), getattr(module, self.name + "_v")
        return v * (g / norm_except_dim(v, self.dim))

    def __call__(self, module: Module, inputs: Any) -> None:
        setattr(module, self.name, self.compute_weight(module))


def weight_norm(module: Module, name: str = "weight", dim: Optional[int] = 0) -> Module:
    """Replace the parameter ``name`` by ``name_g`` (its norm over all dims but ``dim``; over
    all for ``dim=None``) and ``name_v`` (its direction), ``name`` recomputed from them before
    every forward. Returns ``module``."""
    if find_hook(module, _WeightNormHook, name):
        raise RuntimeError(f"Cannot register two weight_norm hooks on the same parameter {name}")
    hook = _WeightNormHook(name, -1 if dim is None else dim)
    weight = getattr(module, name)
    del module._parameters[name]
    module.register_parameter(name + "_g", Parameter(norm_except_dim(weight, hook.dim).detach()))
    module.register_parameter(name + "_v", Parameter(weight.detach()))
    setattr(module, name, hook.compute_weight(module))
    module.register_forward_pre_hook(hook)
    return module


def remove_weight_norm(module: Module, name: str = "weight") -> Module:
    """Undo :func:`weight_norm`: ``name`` becomes a plain parameter again, with the current
    normalized value. Returns ``module``."""
    found = find_hook(module, _WeightNormHook, name)
    if found is None:
        raise ValueError(f"weight_norm of '{name}' not found in {module}")
    key, hook = found
    with no_grad():
        weight = hook.compute_weight(module)
    delattr(module, name)
    del module._parameters[name + "_g"], module._parameters[name + "_v"]
    setattr(module, name, Parameter(weight.detach()))
    del module._forward_pre_hooks[key]
    return module
