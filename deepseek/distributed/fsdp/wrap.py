"""Auto-wrap policies, as ``torch.distributed.fsdp.wrap``: which submodules become their
own (nested) FSDP units. A policy is called as ``policy(module=, recurse=, nonwrapped_numel=)``:
with ``recurse=True`` it says whether to look inside ``module``, otherwise whether to wrap it."""

from __future__ import annotations

from typing import Any, Callable, Iterable, Optional

__all__ = ["ModuleWrapPolicy", "always_wrap_policy", "size_based_auto_wrap_policy"]


class ModuleWrapPolicy:
    """Wrap every submodule that is an instance of one of ``module_classes``.

    Example::

        >>> FSDP(model, auto_wrap_policy=ModuleWrapPolicy({nn.Linear}))  # doctest: +SKIP
    """

    def __init__(self, module_classes: Iterable[type]) -> None:
        self._module_classes = tuple(dict.fromkeys(module_classes))
        for cls in self._module_classes:
            if not isinstance(cls, type):
                raise TypeError(f"[ModuleWrapPolicy] module_classes must be classes, got {cls!r}")

    def __call__(self, module: Any, recurse: bool, nonwrapped_numel: int) -> bool:
        return True if recurse else isinstance(module, self._module_classes)

    def __repr__(self) -> str:
        return f"ModuleWrapPolicy({[c.__name__ for c in self._module_classes]})"


def always_wrap_policy(module: Any, recurse: bool, nonwrapped_numel: int) -> bool:
    """Wrap every submodule."""
    return True


def size_based_auto_wrap_policy(module: Any, recurse: bool, nonwrapped_numel: int,
                                min_num_params: int = int(1e8),
                                force_leaf_modules: Optional[set] = None,
                                exclude_wrap_modules: Optional[set] = None) -> bool:
    """Wrap a submodule once at least ``min_num_params`` of its parameters are not yet in a
    nested unit; pass it as ``functools.partial(size_based_auto_wrap_policy,
    min_num_params=...)``. ``force_leaf_modules`` are not looked inside (default:
    ``nn.MultiheadAttention``), ``exclude_wrap_modules`` never wrapped (default:
    ``nn.ModuleList``, ``nn.ModuleDict``)."""
    from ...nn.modules.container import ModuleDict, ModuleList

    leaves = tuple(force_leaf_modules) if force_leaf_modules is not None else _attention()
    excluded = tuple(exclude_wrap_modules) if exclude_wrap_modules is not None else (
        ModuleList, ModuleDict)
    if recurse:
        return not isinstance(module, leaves)
    return nonwrapped_numel >= min_num_params and not isinstance(module, excluded)


def _attention() -> tuple:
    from ...nn import modules

    cls = getattr(modules, "MultiheadAttention", None)
    return (cls,) if cls is not None else ()


def _check_policy(policy: Any) -> Callable:
    if not callable(policy):
        raise TypeError("[FullyShardedDataParallel] auto_wrap_policy must be a ModuleWrapPolicy "
                        "or a callable policy(module, recurse, nonwrapped_numel) -> bool, got "
                        f"{type(policy).__name__}")
    return policy
