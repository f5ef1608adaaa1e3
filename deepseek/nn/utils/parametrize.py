"""Parametrizations, as ``torch.nn.utils.parametrize``: a module's parameter or buffer replaced
by a function of an unconstrained original, recomputed at every access."""

from __future__ import annotations

import contextlib
from typing import Any, Iterator, Optional

from ...autograd.grad_mode import no_grad
from ...tensor import Tensor
from ..modules.container import ModuleDict, ModuleList
from ..modules.module import Module
from ..parameter import Parameter

__all__ = ["register_parametrization", "remove_parametrizations", "is_parametrized", "cached",
           "ParametrizationList", "type_before_parametrizations",
           "transfer_parametrizations_and_params"]

_CACHE: dict = {}
_CACHING = [0]  # depth of nested ``cached()`` contexts


@contextlib.contextmanager
def cached() -> Iterator[None]:
    """Within this context each parametrized tensor is computed once, at its first access, and
    reused (for a module used several times in one forward, or a recurrent loop)."""
    _CACHING[0] += 1
    try:
        yield
    finally:
        _CACHING[0] -= 1
        if not _CACHING[0]:
            _CACHE.clear()


def _keep(module: Module, name: str, value: Tensor, like: Tensor) -> None:
    """Register ``value`` on ``module`` the way ``like`` was: a parameter or a buffer."""
    if isinstance(like, Parameter):
        module.register_parameter(name, value if isinstance(value, Parameter)
                                  else Parameter(value, requires_grad=like.requires_grad))
    else:
        module.register_buffer(name, value)


def _assign(original: Tensor, value: Tensor) -> None:
    """Give ``original`` the values of ``value`` in place, keeping it the same object (an
    optimizer may hold it); its shape and dtype may change, as ``Tensor.set_`` allows."""
    with no_grad():
        if tuple(original.shape) == tuple(value.shape) and original.dtype == value.dtype:
            original.copy_(value)
        else:
            original._data = value.detach()._data.copy()
            original._version_box[0] += 1


class ParametrizationList(ModuleList):
    """The parametrizations of one tensor, applied in order, and its unconstrained original:
    ``original``, or ``original0``, ``original1`` ... when the first parametrization's
    ``right_inverse`` returns several tensors."""

    def __init__(self, modules: list, original: Tensor, unsafe: bool = False) -> None:
        super().__init__(modules)
        self.unsafe = unsafe
        first = modules[0]
        with no_grad():
            new = first.right_inverse(original) if hasattr(first, "right_inverse") else original
        self.is_tensor = isinstance(new, Tensor)
        if self.is_tensor:
            _assign(original, new)
            _keep(self, "original", original, original)
        else:
            self.ntensors = len(new)
            for i, t in enumerate(new):
                _keep(self, f"original{i}", t.detach(), original)

    def right_inverse(self, value: Tensor) -> None:
        """Set the original(s) so that the parametrized tensor becomes ``value``."""
        with no_grad():
            for m in reversed(list(self)):
                value = self._inverse(m, value)
            if self.is_tensor:
                _assign(self.original, value)
            else:
                for i, t in enumerate(value):
                    _assign(getattr(self, f"original{i}"), t)

    @staticmethod
    def _inverse(m: Module, value: Tensor) -> Any:
        if not hasattr(m, "right_inverse"):
            raise RuntimeError(f"parametrization {type(m).__name__} does not implement "
                               "right_inverse, so the tensor it parametrizes cannot be assigned")
        return m.right_inverse(value)

    def forward(self) -> Tensor:
        if self.is_tensor:
            x = self[0](self.original)
        else:
            x = self[0](*(getattr(self, f"original{i}") for i in range(self.ntensors)))
        for m in list(self)[1:]:
            x = m(x)
        return x


def _parametrized_property(name: str) -> property:
    def get(self: Module) -> Tensor:
        chain = self.parametrizations[name]
        if not _CACHING[0]:
            return chain()
        key = (id(self), name)
        if key not in _CACHE:
            _CACHE[key] = chain()
        return _CACHE[key]

    def set(self: Module, value: Tensor) -> None:
        self.parametrizations[name].right_inverse(value)

    return property(get, set)


def _check_output(module: Module, name: str, original: Tensor, chain: ParametrizationList
                  ) -> None:
    """Unless ``unsafe``: a parametrization keeps the tensor's shape and dtype."""
    with no_grad():
        out = chain()
    if not isinstance(out, Tensor):
        raise ValueError(f"A parametrization must return a tensor. Got {type(out).__name__}.")
    if chain.unsafe:
        return
    if out.dtype != original.dtype:
        raise ValueError("Registering a parametrization may not change the dtype of the tensor, "
                         f"unless `unsafe` flag is enabled.\nunparametrized dtype: "
                         f"{original.dtype}\nparametrized dtype: {out.dtype}")
    if tuple(out.shape) != tuple(original.shape):
        raise ValueError("Registering a parametrization may not change the shape of the tensor, "
                         f"unless `unsafe` flag is enabled.\nunparametrized shape: "
                         f"{tuple(original.shape)}\nparametrized shape: {tuple(out.shape)}")


def register_parametrization(module: Module, tensor_name: str, parametrization: Module, *,
                             unsafe: bool = False) -> Module:
    """Replace ``module.<tensor_name>`` (a parameter or buffer) by ``parametrization`` applied
    to an original kept at ``module.parametrizations.<tensor_name>.original``; a second call on
    the same name appends to the chain. ``parametrization`` may define ``right_inverse`` (used
    at registration, to pick the original, and on assignment to the tensor). Returns
    ``module``."""
    parametrization.train(module.training)
    if is_parametrized(module, tensor_name):
        chain = module.parametrizations[tensor_name]
        before = getattr(module, tensor_name)
        chain.append(parametrization)
        chain.unsafe |= unsafe
        _check_output(module, tensor_name, before, chain)
        return module
    if tensor_name not in module._parameters and tensor_name not in module._buffers:
        raise ValueError(f"Module '{module}' does not have a parameter, a buffer, or a "
                         f"parametrized element with name '{tensor_name}'")
    original = getattr(module, tensor_name)
    chain = ParametrizationList([parametrization], original, unsafe=unsafe)
    _check_output(module, tensor_name, original, chain)
    delattr(module, tensor_name)
    if not is_parametrized(module):
        cls = type(module)
        module.__class__ = type(f"Parametrized{cls.__name__}", (cls,), {})
        module.parametrizations = ModuleDict()
    setattr(type(module), tensor_name, _parametrized_property(tensor_name))
    module.parametrizations[tensor_name] = chain
    return module


def is_parametrized(module: Module, tensor_name: Optional[str] = None) -> bool:
    """Whether ``module`` has a parametrization (on ``tensor_name``, when given)."""
    chains = module.__dict__.get("_modules", {}).get("parametrizations")
    if not isinstance(chains, ModuleDict):
        return False
    return tensor_name is None or tensor_name in chains


def remove_parametrizations(module: Module, tensor_name: str,
                            leave_parametrized: bool = True) -> Module:
    """Undo :func:`register_parametrization` on ``tensor_name``: the tensor becomes a plain
    parameter (or buffer) again, holding its parametrized value (``leave_parametrized``) or
    its original. Returns ``module``."""
    if not is_parametrized(module, tensor_name):
        raise ValueError(f"Module {module} does not have a parametrization on {tensor_name}")
    chain = module.parametrizations[tensor_name]
    if chain.is_tensor:
        original = chain.original
        if leave_parametrized:
            with no_grad():
                _assign(original, getattr(module, tensor_name))
    else:
        if not leave_parametrized:
            raise ValueError("Cannot leave unparametrized (`leave_parametrized=False`) a tensor "
                             "that is parametrized in terms of a sequence of tensors.")
        with no_grad():
            value = getattr(module, tensor_name).detach()
        like = chain.original0
        original = Parameter(value, requires_grad=like.requires_grad) if isinstance(
            like, Parameter) else value
    delattr(type(module), tensor_name)
    del module.parametrizations[tensor_name]
    _keep(module, tensor_name, original, original if chain.is_tensor else chain.original0)
    if not module.parametrizations:
        delattr(module, "parametrizations")
        module.__class__ = type(module).__bases__[0]
    return module


def type_before_parametrizations(module: Module) -> type:
    """The class of ``module`` without the one :func:`register_parametrization` injects."""
    return type(module).__bases__[0] if is_parametrized(module) else type(module)


def transfer_parametrizations_and_params(from_module: Module, to_module: Module,
                                         tensor_name: Optional[str] = None) -> Module:
    """Give ``to_module`` the parametrizations of ``from_module`` (only ``tensor_name``'s when
    given) and the same original tensors (shared, not copied); a parametrized tensor that
    ``to_module`` lacks is first created there as a parameter holding its value. Does nothing
    when ``from_module`` is not parametrized. Returns ``to_module``.

    Example:
        >>> class Double(deepseek.nn.Module):
        ...     def forward(self, x):
        ...         return 2 * x
        >>> a, b = deepseek.nn.Linear(2, 2), deepseek.nn.Linear(2, 2)
        >>> _ = register_parametrization(a, "weight", Double())
        >>> _ = transfer_parametrizations_and_params(a, b)
        >>> bool((b.weight == a.weight).all())
        True
    """
    if not is_parametrized(from_module):
        return to_module
    chains = from_module.parametrizations
    for name in (list(chains) if tensor_name is None else [tensor_name]):
        if not hasattr(to_module, name):
            with no_grad():
                value = getattr(from_module, name).detach().clone()
            setattr(to_module, name, Parameter(value))
        for parametrization in chains[name]:
            register_parametrization(to_module, name, parametrization)
        source, target = chains[name], to_module.parametrizations[name]
        if hasattr(source, "original"):
            target.original = source.original
            continue
        i = 0
        while hasattr(source, f"original{i}"):
            setattr(target, f"original{i}", getattr(source, f"original{i}"))
            i += 1
    return to_module
