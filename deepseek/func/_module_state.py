"""``stack_module_state``: the parameters and buffers of several same-shaped modules stacked
along a new leading dimension, for ensembling with ``vmap`` and ``functional_call``."""

from __future__ import annotations

from typing import Sequence

from ..nn.modules.module import Module

__all__ = ["stack_module_state"]


def _stack(models: Sequence[Module], named: str, what: str) -> dict:
    from ..ops.movement import stack

    per_model = [dict(getattr(m, named)()) for m in models]
    for i, state in enumerate(per_model):
        extra = sorted(set(state) - set(per_model[0]))
        if extra:
            raise RuntimeError(f"stack_module_state: model {i} has the {what} '{extra[0]}' but "
                               f"model 0 does not; all models must have the same {what}s")
    out = {}
    for name, first in per_model[0].items():
        tensors = []
        for i, state in enumerate(per_model):
            t = state.get(name)
            if t is None:
                raise RuntimeError(f"stack_module_state: model 0 has the {what} '{name}' but "
                                   f"model {i} does not; all models must have the same {what}s")
            if t.shape != first.shape:
                raise RuntimeError(f"stack_module_state: the {what} '{name}' has shape "
                                   f"{list(first.shape)} in model 0 but {list(t.shape)} in "
                                   f"model {i}")
            if t.requires_grad != first.requires_grad:
                raise RuntimeError(f"stack_module_state: Expected {name} from each model to have "
                                   "the same .requires_grad")
            tensors.append(t.detach())
        stacked = stack(tensors)
        out[name] = stacked.requires_grad_(True) if first.requires_grad else stacked
    return out


def stack_module_state(models: Sequence[Module]) -> tuple:
    """``(params, buffers)``: dicts, by state-dict name, of each parameter and buffer of
    ``models`` stacked along a new dimension 0. The stacked parameters are new leaves (they
    require grad where the originals do), unrelated to the models' own.

    Args:
        models (sequence of nn.Module): modules of the same structure, all in training mode or
            all in eval mode.

    Example:
        >>> models = [ds.nn.Linear(3, 2) for _ in range(4)]
        >>> params, buffers = stack_module_state(models)
        >>> def call(p, b, x):
        ...     return ds.func.functional_call(models[0], (p, b), (x,))
        >>> ds.func.vmap(call, in_dims=(0, 0, None))(params, buffers, ds.randn(5, 3)).shape
        deepseek.Size([4, 5, 2])
    """
    models = list(models)
    if not models:
        raise RuntimeError("stack_module_state: Expected at least one model, got 0.")
    if len({m.training for m in models}) > 1:
        raise RuntimeError("stack_module_state: Expected all models to have the same "
                           "training/eval mode.")
    return (_stack(models, "named_parameters", "parameter"),
            _stack(models, "named_buffers", "buffer"))
