"""Automatic recomputation: every child block of ``Sequential`` and ``ModuleList`` containers
runs under activation checkpointing, without changes to the model's code."""

from __future__ import annotations

import os
from typing import Any

__all__ = ["auto_checkpoint", "checkpoint_from_env"]

ENV = "DS_GRADIENT_CHECKPOINTING"


def _run_checkpointed(forward: Any) -> Any:
    from ..utils.checkpoint import checkpoint

    def run(*args: Any, **kwargs: Any) -> Any:
        return checkpoint(forward, *args, **kwargs)

    run.__wrapped__ = forward  # undone by auto_checkpoint(model, enabled=False)
    return run


def auto_checkpoint(model: Any, enabled: bool = True) -> Any:
    """Checkpoint every child of each ``Sequential`` and ``ModuleList`` inside ``model``.

    Each block's intermediate tensors are dropped after its forward and recomputed in
    backward (with the same random numbers, so dropout masks match); gradients equal the plain
    model's. The containers themselves, parameter names and ``state_dict`` do not change: the
    blocks' ``forward`` is wrapped on the instance. Calling it again is harmless.

    Args:
        model: the root module.
        enabled: False removes the wrapping.

    Returns:
        ``model``.

    Example:
        >>> model = ds.memory.auto_checkpoint(ds.nn.Sequential(ds.nn.Linear(4, 4), ds.nn.Tanh()))
    """
    from ..nn import ModuleList, Sequential

    for container in model.modules():
        if not isinstance(container, (Sequential, ModuleList)):
            continue
        for block in container.children():
            wrapped = "forward" in block.__dict__
            if enabled and not wrapped:
                object.__setattr__(block, "forward", _run_checkpointed(block.forward))
            elif not enabled and wrapped:
                object.__delattr__(block, "forward")
    return model


def install_from_env() -> None:
    """With ``DS_GRADIENT_CHECKPOINTING=1`` when deepseek is imported, the first call of each
    model in training mode applies :func:`auto_checkpoint` to it (model code unchanged).
    Nothing is installed otherwise, so module calls cost the same."""
    if os.environ.get(ENV, "0") in ("", "0"):
        return
    from ..nn.modules.module import Module

    plain = Module.__call__

    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        if self.training and "_ds_auto_checkpointed" not in self.__dict__:
            for m in self.modules():  # the root's first call marks its whole tree
                m.__dict__["_ds_auto_checkpointed"] = True
            auto_checkpoint(self)
        return plain(self, *args, **kwargs)

    Module.__call__ = call


def checkpoint_from_env(model: Any) -> Any:
    """:func:`auto_checkpoint` when ``DS_GRADIENT_CHECKPOINTING=1`` (read at each call)."""
    if os.environ.get(ENV, "0") not in ("", "0"):
        auto_checkpoint(model)
    return model
