"""Containers: ``Sequential``, ``ModuleList``, ``ModuleDict``, ``ParameterList``,
``ParameterDict``."""

from __future__ import annotations

import operator
from collections import OrderedDict
from itertools import islice
from typing import Any, Iterable, Iterator, Optional

from ...tensor import Tensor
from ..parameter import Parameter
from .module import Module, _addindent

__all__ = ["Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict"]


def _index(op: str, idx: int, n: int) -> int:
    idx = operator.index(idx)
    if not -n <= idx < n:
        raise IndexError(f"index {idx} is out of range")
    return idx % n


class _ListMixin:
    """Integer-keyed storage shared by ``Sequential``/``ModuleList``: keys are ``"0"``, ``"1"``…
    kept dense on deletion and insertion."""

    def _store(self) -> "OrderedDict":
        return self._modules

    def __len__(self) -> int:
        return len(self._store())

    def __iter__(self) -> Iterator:
        return iter(self._store().values())

    def _renumber(self, items: list) -> None:
        store = self._store()
        store.clear()
        for i, item in enumerate(items):
            store[str(i)] = item

    def __delitem__(self, idx: Any) -> None:
        items = list(self._store().values())
        if isinstance(idx, slice):
            del items[idx]
        else:
            del items[_index(type(self).__name__, idx, len(items))]
        self._renumber(items)

    def __dir__(self) -> list:
        return [k for k in super().__dir__() if not k.isdigit()]


class Sequential(_ListMixin, Module):
    """Modules called in order, each on the previous one's output.

    Args:
        *args: modules, or one ``OrderedDict`` of named modules.

    Example::

        >>> net = ds.nn.Sequential(ds.nn.Linear(4, 8), ds.nn.ReLU(), ds.nn.Linear(8, 2))
        >>> net(ds.randn(3, 4)).shape
        deepseek.Size([3, 2])
    """

    def __init__(self, *args: Any) -> None:
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for key, module in args[0].items():
                self.add_module(key, module)
        else:
            for idx, module in enumerate(args):
                self.add_module(str(idx), module)

    def __getitem__(self, idx: Any) -> Any:
        if isinstance(idx, slice):
            return type(self)(OrderedDict(list(self._modules.items())[idx]))
        return next(islice(self._modules.values(), _index("Sequential", idx, len(self)), None))

    def __setitem__(self, idx: int, module: Module) -> None:
        key = list(self._modules)[_index("Sequential", idx, len(self))]
        setattr(self, key, module)

    def __add__(self, other: "Sequential") -> "Sequential":
        if not isinstance(other, Sequential):
            raise ValueError("add operator supports only objects of Sequential class, but "
                             f"{type(other)} is given.")
        return Sequential(*self, *other)

    def append(self, module: Module) -> "Sequential":
        self.add_module(str(len(self)), module)
        return self

    def insert(self, index: int, module: Module) -> "Sequential":
        if not isinstance(module, Module):
            raise AssertionError(f"module should be of type: {Module}")
        n = len(self)
        if not -n <= index <= n:
            raise IndexError(f"Index out of range: {index}")
        items = list(self._modules.values())
        items.insert(index + n if index < 0 else index, module)
        self._renumber(items)
        return self

    def extend(self, sequential: Iterable[Module]) -> "Sequential":
        for layer in sequential:
            self.append(layer)
        return self

    def pop(self, key: int) -> Module:
        v = self[key]
        del self[key]
        return v

    def forward(self, input: Any) -> Any:
        for module in self._modules.values():
            input = module(input)
        return input


class ModuleList(_ListMixin, Module):
    """Holds submodules in a list; they are registered, unlike in a plain Python list.

    Args:
        modules: an iterable of modules to add.
    """

    def __init__(self, modules: Optional[Iterable[Module]] = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __getitem__(self, idx: Any) -> Any:
        if isinstance(idx, slice):
            return type(self)(list(self._modules.values())[idx])
        return self._modules[str(_index("ModuleList", idx, len(self)))]

    def __setitem__(self, idx: int, module: Module) -> None:
        setattr(self, str(_index("ModuleList", idx, len(self))), module)

    def __iadd__(self, modules: Iterable[Module]) -> "ModuleList":
        return self.extend(modules)

    def __add__(self, other: Iterable[Module]) -> "ModuleList":
        return ModuleList(list(self) + list(other))

    def append(self, module: Module) -> "ModuleList":
        self.add_module(str(len(self)), module)
        return self

    def insert(self, index: int, module: Module) -> None:
        items = list(self._modules.values())
        items.insert(index, module)
        self._renumber(items)

    def extend(self, modules: Iterable[Module]) -> "ModuleList":
        if not isinstance(modules, Iterable):
            raise TypeError("ModuleList.extend should be called with an iterable, but got "
                            + type(modules).__name__)
        for m in modules:
            self.append(m)
        return self

    def pop(self, key: int) -> Module:
        v = self[key]
        del self[key]
        return v

    def __repr__(self) -> str:
        """Like Module's, but runs of identical children print once: ``(0-3): 4 x Block(…)``."""
        reprs = [repr(m) for m in self]
        if not reprs:
            return self._get_name() + "()"
        runs = [[0, 0, reprs[0]]]
        for i, r in enumerate(reprs[1:], 1):
            if r == runs[-1][2]:
                runs[-1][1] = i
            else:
                runs.append([i, i, r])
        lines = [_addindent(f"({a}): {r}" if a == b else f"({a}-{b}): {b - a + 1} x {r}", 2)
                 for a, b, r in runs]
        return self._get_name() + "(\n  " + "\n  ".join(lines) + "\n)"


class _DictMixin:
    """The mapping protocol over a store of named entries (``ModuleDict``/``ParameterDict``)."""

    def _store(self) -> "OrderedDict":
        raise NotImplementedError

    def __getitem__(self, key: str) -> Any:
        return self._store()[key]

    def __setitem__(self, key: str, value: Any) -> None:
        setattr(self, key, value)

    def __delitem__(self, key: str) -> None:
        delattr(self, key)

    def __len__(self) -> int:
        return len(self._store())

    def __iter__(self) -> Iterator[str]:
        return iter(self._store())

    def __contains__(self, key: str) -> bool:
        return key in self._store()

    def keys(self) -> Iterable[str]:
        return self._store().keys()

    def items(self) -> Iterable:
        return self._store().items()

    def values(self) -> Iterable:
        return self._store().values()

    def clear(self) -> None:
        for k in list(self._store()):
            del self[k]

    def pop(self, key: str) -> Any:
        v = self[key]
        del self[key]
        return v

    def get(self, key: str, default: Any = None) -> Any:
        return self._store().get(key, default)

    def update(self, entries: Any) -> None:
        if hasattr(entries, "keys"):
            for k in entries.keys():
                self[k] = entries[k]
            return
        for j, pair in enumerate(entries):
            if len(pair) != 2:
                raise ValueError(f"{type(self).__name__} update sequence element #{j} has length "
                                 f"{len(pair)}; 2 is required")
            self[pair[0]] = pair[1]


class ModuleDict(_DictMixin, Module):
    """Holds submodules in a dict (insertion ordered), registered under their keys."""

    def __init__(self, modules: Any = None) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def _store(self) -> "OrderedDict":
        return self._modules

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, module)


class ParameterList(_ListMixin, Module):
    """Holds parameters in a list; tensors added to it become Parameters."""

    def __init__(self, values: Optional[Iterable[Any]] = None) -> None:
        super().__init__()
        if values is not None:
            self.extend(values)

    def _store(self) -> "OrderedDict":
        return self._parameters

    def __getitem__(self, idx: Any) -> Any:
        if isinstance(idx, slice):
            return ParameterList(list(self._parameters.values())[idx])
        return self._parameters[str(_index("ParameterList", idx, len(self)))]

    def __setitem__(self, idx: int, param: Any) -> None:
        key = str(_index("ParameterList", idx, len(self)))
        if isinstance(param, Tensor) and not isinstance(param, Parameter):
            param = Parameter(param)
        self.register_parameter(key, param)

    def append(self, value: Any) -> "ParameterList":
        n = len(self)
        self._parameters[str(n)] = None
        self[n] = value
        return self

    def extend(self, values: Iterable[Any]) -> "ParameterList":
        for v in values:
            self.append(v)
        return self

    def __iadd__(self, values: Iterable[Any]) -> "ParameterList":
        return self.extend(values)

    def extra_repr(self) -> str:
        return "\n".join(f"  ({k}): {_param_summary(p, str(p.dtype))}"
                         for k, p in self._parameters.items())


class ParameterDict(_DictMixin, Module):
    """Holds parameters in a dict; tensors added to it become Parameters."""

    def __init__(self, parameters: Any = None) -> None:
        super().__init__()
        if parameters is not None:
            self.update(parameters)

    def _store(self) -> "OrderedDict":
        return self._parameters

    def __setitem__(self, key: str, value: Any) -> None:
        if isinstance(value, Tensor) and not isinstance(value, Parameter):
            value = Parameter(value)
        self.register_parameter(key, value)

    def extra_repr(self) -> str:
        return "\n".join(f"  ({k}): {_param_summary(p, p.type())}"
                         for k, p in self._parameters.items())


def _param_summary(p: Tensor, type_name: str) -> str:
    """PyTorch's one-line summary of a parameter in ParameterList/ParameterDict reprs."""
    kind = "Parameter" if isinstance(p, Parameter) else "Tensor"
    size = "x".join(str(s) for s in p.shape)
    return f"{kind} containing: [{type_name} of size {size}]"
