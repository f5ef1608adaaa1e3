"""``functional_call``: run a module with some of its parameters and buffers temporarily
replaced by given tensors, as ``torch.nn.utils.stateless``."""

from __future__ import annotations

import contextlib
from typing import Any, Iterator, Optional, Union

from ...tensor import Tensor
from ..modules.module import Module

__all__ = ["functional_call"]


def _merge_dicts(parameter_and_buffer_dicts: Any) -> dict:
    if isinstance(parameter_and_buffer_dicts, dict):
        return dict(parameter_and_buffer_dicts)
    if isinstance(parameter_and_buffer_dicts, (list, tuple)) and all(
            isinstance(d, dict) for d in parameter_and_buffer_dicts):
        merged: dict = {}
        for d in parameter_and_buffer_dicts:
            repeated = sorted(k for k in d if k in merged)
            if repeated:
                raise ValueError(f"{repeated} appeared in multiple dictionaries; behavior of "
                                 "functional call is ambiguous")
            merged.update(d)
        return merged
    raise ValueError("Expected parameter_and_buffer_dicts to be a dict, or a list/tuple of "
                     f"dicts, but got {type(parameter_and_buffer_dicts)}")


def _all_names(module: Module) -> list:
    """Every name a parameter or buffer is reachable by, tied ones included."""
    named = list(module.named_parameters(remove_duplicate=False))
    named += list(module.named_buffers(remove_duplicate=False))
    return named


def _tie(module: Module, mapping: dict) -> dict:
    """``mapping`` with the value given for one name of a tied tensor set for all its names."""
    groups: dict = {}
    for name, t in _all_names(module):
        groups.setdefault(id(t), []).append(name)
    out = dict(mapping)
    for names in groups.values():
        if len(names) < 2:
            continue
        given = [n for n in names if n in mapping]
        if not given:
            continue
        if len({id(mapping[n]) for n in given}) > 1:
            raise ValueError(f"functional_call got multiple values for keys {sorted(given)}, "
                             "which are tied. Consider using tie_weights=False")
        for n in names:
            out.setdefault(n, mapping[given[0]])
    return out


def _check_strict(module: Module, mapping: dict) -> None:
    expected = {name for name, _ in _all_names(module)}
    unexpected = sorted(set(mapping) - expected)
    missing = sorted(expected - set(mapping))
    msgs = []
    if unexpected:
        msgs.append("Unexpected key(s): {}.".format(", ".join(repr(k) for k in unexpected)))
    if missing:
        msgs.append("Missing key(s): {}.".format(", ".join(repr(k) for k in missing)))
    if msgs:
        raise RuntimeError("Error(s) in reparametrizing for {}:\n\t{}".format(
            module._get_name(), "\n\t".join(msgs)))


def _owner(module: Module, key: str) -> tuple:
    """``(submodule, attribute name)`` for the dotted ``key``."""
    *path, name = key.split(".")
    mod = module
    for i, part in enumerate(path):
        if not hasattr(mod, part):
            raise AttributeError(f"{mod._get_name()} has no attribute `{part}`")
        mod = getattr(mod, part)
        if not isinstance(mod, Module):
            raise TypeError(f"functional_call: submodule `{'.'.join(path[:i + 1])}` is a "
                            f"{type(mod).__name__}, not an instance of nn.Module")
    return mod, name


class _Slot:
    """Where one name lives on its module, so it can be read, replaced and put back."""

    __slots__ = ("module", "name", "kind", "original")

    def __init__(self, module: Module, name: str) -> None:
        from .parametrize import is_parametrized

        self.module, self.name = module, name
        d = module.__dict__
        if name in d["_parameters"]:
            self.kind = "_parameters"
        elif name in d["_buffers"]:
            self.kind = "_buffers"
        elif is_parametrized(module, name):
            # the parametrized value is a property of the module's own subclass: replacing
            # it there bypasses the parametrization, as in torch
            self.kind = "class"
        else:
            if hasattr(module, name):
                current = getattr(module, name)
                if current is not None and not isinstance(current, Tensor):
                    raise TypeError(f"functional_call: attribute `{name}` of "
                                    f"{module._get_name()} is a {type(current).__name__}, not "
                                    "a Tensor, so it cannot be replaced")
            self.kind = "attribute"
        self.original = self.get()

    def get(self) -> Any:
        d = self.module.__dict__
        if self.kind == "class":
            return type(self.module).__dict__[self.name]
        if self.kind == "attribute":
            return d.get(self.name, _ABSENT)
        return d[self.kind][self.name]

    def set(self, value: Any) -> None:
        d = self.module.__dict__
        if self.kind == "class":
            setattr(type(self.module), self.name, value)
        elif self.kind == "attribute":
            if value is _ABSENT:
                d.pop(self.name, None)
            else:
                d[self.name] = value
        else:
            d[self.kind][self.name] = value


_ABSENT = object()


@contextlib.contextmanager
def _reparametrize_module(module: Module, mapping: dict, write_back: Optional[dict] = None
                          ) -> Iterator[None]:
    slots = []
    try:
        for key, value in mapping.items():
            slot = _Slot(*_owner(module, key))
            slot.set(value)
            slots.append((key, slot))
        yield
    finally:
        finals = {key: slot.get() for key, slot in slots}
        for _, slot in reversed(slots):
            slot.set(slot.original)
        if write_back is not None:
            # a forward that reassigns a buffer (``self.b = self.b + 1``) leaves the new value
            # in the caller's dict, as torch does
            write_back.update({k: v for k, v in finals.items()
                               if k in write_back and v is not _ABSENT})


def functional_call(module: Module, parameter_and_buffer_dicts: Union[dict, tuple, list],
                    args: Any = None, kwargs: Optional[dict] = None, *, tie_weights: bool = True,
                    strict: bool = False) -> Any:
    """Call ``module`` with its parameters and buffers replaced by the given tensors.

    The replacements hold only for this call: the module's own tensors are put back
    afterwards, even when forward raises. In-place updates the forward makes (a BatchNorm's
    running statistics) land in the given tensors.

    Args:
        module (nn.Module): the module to call.
        parameter_and_buffer_dicts (dict or tuple of dicts): tensors by dotted name
            (``"layer.weight"``); several dicts must not share a key.
        args (Any or tuple): positional arguments; a non-tuple is the single argument.
        kwargs (dict, optional): keyword arguments.
        tie_weights (bool): a tensor the module reaches by several names (tied weights) is
            replaced under all of them when one is given. Default: True.
        strict (bool): every parameter and buffer must be given, and nothing else.
            Default: False.

    Example:
        >>> lin = ds.nn.Linear(3, 2)
        >>> w = ds.zeros(2, 3)
        >>> out = functional_call(lin, {"weight": w}, (ds.randn(4, 3),))
        >>> bool((out == lin.bias).all())
        True
    """
    single = isinstance(parameter_and_buffer_dicts, dict)
    mapping = _merge_dicts(parameter_and_buffer_dicts)
    for key, value in mapping.items():
        if not isinstance(value, Tensor):
            raise TypeError(f"functional_call: the value for '{key}' is a "
                            f"{type(value).__name__}, expected a Tensor")
    if tie_weights:
        mapping = _tie(module, mapping)
    if strict:
        _check_strict(module, mapping)
    if args is None:
        args = ()
    elif not isinstance(args, tuple):
        args = (args,)
    if kwargs is None:
        kwargs = {}
    with _reparametrize_module(module, mapping,
                               parameter_and_buffer_dicts if single else None):
        return module(*args, **kwargs)
