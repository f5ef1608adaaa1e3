"""``Module``: the base of every layer — parameters, buffers, submodules, hooks, state_dict."""

from __future__ import annotations

import itertools
import warnings
from collections import OrderedDict, namedtuple
from typing import Any, Callable, Iterator, Optional

from ... import dtypes as _dt
from ...autograd.grad_mode import no_grad
from ...tensor import Tensor
from ..parameter import Buffer, Parameter, is_lazy

__all__ = ["register_module_forward_pre_hook", "register_module_forward_hook",
           "register_module_full_backward_pre_hook", "register_module_backward_hook",
           "register_module_full_backward_hook", "register_module_buffer_registration_hook",
           "register_module_module_registration_hook",
           "register_module_parameter_registration_hook", "Module"]


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


class RemovableHandle:
    """Returned by the ``register_*_hook`` methods; ``remove()`` unregisters the hook."""

    _next_id = itertools.count()

    def __init__(self, *hook_dicts: dict) -> None:
        self.hook_dicts = hook_dicts
        self.id = next(RemovableHandle._next_id)

    def remove(self) -> None:
        for d in self.hook_dicts:
            d.pop(self.id, None)

    def __enter__(self) -> "RemovableHandle":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.remove()


def _addindent(text: str, spaces: int) -> str:
    lines = text.split("\n")
    if len(lines) == 1:
        return text
    return lines[0] + "\n" + "\n".join(" " * spaces + line for line in lines[1:])


def _add_hook(hooks: dict, hook: Callable, prepend: bool, *extra: dict) -> RemovableHandle:
    handle = RemovableHandle(hooks, *extra)
    hooks[handle.id] = hook
    if prepend:
        hooks.move_to_end(handle.id, last=False)
    return handle


class _GlobalHooks:
    """The hooks every module runs (``register_module_*_hook``), kept under the attribute names
    a module keeps its own under, so one loop serves both. Global hooks run before a
    module's own."""

    def __init__(self) -> None:
        self._forward_pre_hooks: OrderedDict = OrderedDict()
        self._forward_pre_hooks_with_kwargs: dict = {}
        self._forward_hooks: OrderedDict = OrderedDict()
        self._forward_hooks_with_kwargs: dict = {}
        self._forward_hooks_always_called: dict = {}
        self._backward_hooks: OrderedDict = OrderedDict()
        self._backward_pre_hooks: OrderedDict = OrderedDict()
        self.buffer_registration: OrderedDict = OrderedDict()
        self.module_registration: OrderedDict = OrderedDict()
        self.parameter_registration: OrderedDict = OrderedDict()
        # the ids of every hook above that runs at calls: one check on the fast path
        self.call_hooks: dict = {}

    def add(self, hooks: dict, hook: Callable, *extra: dict) -> RemovableHandle:
        handle = _add_hook(hooks, hook, False, *extra, self.call_hooks)
        self.call_hooks[handle.id] = True
        return handle


_GLOBAL = _GlobalHooks()
_GLOBAL_CALL_HOOKS = _GLOBAL.call_hooks


def register_module_forward_pre_hook(hook: Callable) -> RemovableHandle:
    """Call ``hook(module, args)`` before every module's ``forward`` (before its own
    pre-hooks); a non-None return replaces the arguments."""
    return _GLOBAL.add(_GLOBAL._forward_pre_hooks, hook)


def register_module_forward_hook(hook: Callable, *, with_kwargs: bool = False,
                                 always_call: bool = False) -> RemovableHandle:
    """Call ``hook(module, args, output)`` (``hook(module, args, kwargs, output)`` with
    ``with_kwargs``) after every module's ``forward``, before its own forward hooks; a
    non-None return replaces the output. ``always_call``: also when forward raised."""
    handle = _GLOBAL.add(_GLOBAL._forward_hooks, hook, _GLOBAL._forward_hooks_with_kwargs,
                         _GLOBAL._forward_hooks_always_called)
    if with_kwargs:
        _GLOBAL._forward_hooks_with_kwargs[handle.id] = True
    if always_call:
        _GLOBAL._forward_hooks_always_called[handle.id] = True
    return handle


def register_module_full_backward_pre_hook(hook: Callable) -> RemovableHandle:
    """:meth:`Module.register_full_backward_pre_hook` for every module."""
    return _GLOBAL.add(_GLOBAL._backward_pre_hooks, hook)


def register_module_full_backward_hook(hook: Callable) -> RemovableHandle:
    """:meth:`Module.register_full_backward_hook` for every module."""
    return _GLOBAL.add(_GLOBAL._backward_hooks, hook)


def register_module_backward_hook(hook: Callable) -> RemovableHandle:
    """The deprecated global form of :meth:`Module.register_backward_hook`: as there, the hook
    gets the module's gradients (those of :func:`register_module_full_backward_hook`)."""
    return register_module_full_backward_hook(hook)


def register_module_buffer_registration_hook(hook: Callable) -> RemovableHandle:
    """Call ``hook(module, name, buffer)`` whenever a module registers a buffer; a non-None
    return is registered instead."""
    return _add_hook(_GLOBAL.buffer_registration, hook, False)


def register_module_module_registration_hook(hook: Callable) -> RemovableHandle:
    """Call ``hook(module, name, submodule)`` whenever a module registers a submodule; a
    non-None return is registered instead."""
    return _add_hook(_GLOBAL.module_registration, hook, False)


def register_module_parameter_registration_hook(hook: Callable) -> RemovableHandle:
    """Call ``hook(module, name, param)`` whenever a module registers a parameter; a non-None
    return is registered instead."""
    return _add_hook(_GLOBAL.parameter_registration, hook, False)


def _registered(hooks: dict, module: "Module", name: str, value: Any) -> Any:
    """``value`` after the global registration ``hooks`` have seen it."""
    for hook in list(hooks.values()):
        out = hook(module, name, value)
        if out is not None:
            value = out
    return value


class Module:
    """Base class for all neural network modules.

    Subclasses call ``super().__init__()`` first, then assign parameters, buffers and
    submodules as attributes, and define ``forward``.

    Example::

        >>> class Net(ds.nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.fc = ds.nn.Linear(4, 2)
        ...     def forward(self, x):
        ...         return self.fc(x).relu()
        >>> Net()(ds.randn(3, 4)).shape
        deepseek.Size([3, 2])
    """

    training: bool
    _version: int = 1
    call_super_init: bool = False
    _compiled_call_impl: Optional[Callable] = None  # set by compile()
    _is_full_backward_hook: Optional[bool] = None  # None: no backward hook registered yet

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if args or kwargs:
            raise TypeError(f"{type(self).__name__}.__init__() got unexpected arguments "
                            f"{args} {kwargs}")
        d = self.__dict__
        d["training"] = True
        d["_parameters"] = OrderedDict()
        d["_buffers"] = OrderedDict()
        d["_non_persistent_buffers_set"] = set()
        d["_modules"] = OrderedDict()
        d["_forward_pre_hooks"] = OrderedDict()
        d["_forward_pre_hooks_with_kwargs"] = {}
        d["_forward_hooks"] = OrderedDict()
        d["_forward_hooks_with_kwargs"] = {}
        d["_forward_hooks_always_called"] = {}
        d["_backward_hooks"] = OrderedDict()
        d["_backward_pre_hooks"] = OrderedDict()
        d["_state_dict_hooks"] = OrderedDict()
        d["_state_dict_pre_hooks"] = OrderedDict()
        d["_load_state_dict_pre_hooks"] = OrderedDict()
        d["_load_state_dict_post_hooks"] = OrderedDict()

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required '
                                  '"forward" function')

    # ---------------------------------------------------------------- calling
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._compiled_call_impl is not None:
            return self._compiled_call_impl(*args, **kwargs)
        return self._call_impl(*args, **kwargs)

    def _call_impl(self, *args: Any, **kwargs: Any) -> Any:
        """The call without the compiled path: what ``compile`` compiles."""
        if not (self._forward_pre_hooks or self._forward_hooks or self._backward_hooks
                or self._backward_pre_hooks or _GLOBAL_CALL_HOOKS):
            return self.forward(*args, **kwargs)
        return self._call_with_hooks(args, kwargs)

    def _call_with_hooks(self, args: tuple, kwargs: dict) -> Any:
        owners = (_GLOBAL, self)
        for owner in owners:
            for hid, hook in list(owner._forward_pre_hooks.items()):
                if hid in owner._forward_pre_hooks_with_kwargs:
                    res = hook(self, args, kwargs)
                    if res is not None:
                        if not (isinstance(res, tuple) and len(res) == 2):
                            raise RuntimeError("forward pre-hook must return None or a tuple "
                                               f"of (new_args, new_kwargs), but got {res}.")
                        args, kwargs = res
                else:
                    res = hook(self, args)
                    if res is not None:
                        args = res if isinstance(res, tuple) else (res,)
        hooks = [h for o in owners for h in o._backward_hooks.values()]
        backward = hooks or _GLOBAL._backward_pre_hooks or self._backward_pre_hooks
        if backward:
            from ._backward_hook import wrap_inputs

            pre = [h for o in owners for h in o._backward_pre_hooks.values()]
            args, state = wrap_inputs(self, args, hooks, pre)
        called = set()
        try:
            result = self.forward(*args, **kwargs)
            for owner in owners:
                for hid, hook in list(owner._forward_hooks.items()):
                    called.add(hid)
                    if hid in owner._forward_hooks_with_kwargs:
                        res = hook(self, args, kwargs, result)
                    else:
                        res = hook(self, args, result)
                    if res is not None:
                        result = res
        except Exception:
            for owner in owners:
                for hid, hook in list(owner._forward_hooks.items()):
                    if hid in owner._forward_hooks_always_called and hid not in called:
                        try:
                            if hid in owner._forward_hooks_with_kwargs:
                                hook(self, args, kwargs, None)
                            else:
                                hook(self, args, None)
                        except Exception as e:
                            warnings.warn(f"{'global ' if owner is _GLOBAL else ''}module "
                                          "forward hook with ``always_call=True`` raised an "
                                          "exception that was silenced as another error was "
                                          f"raised in forward: {e}", stacklevel=2)
            raise
        if backward:
            from ._backward_hook import warn_non_full, wrap_outputs

            if self._backward_hooks and self._is_full_backward_hook is False:
                warn_non_full(args, result)
            result = wrap_outputs(self, result, state)
        return result

    def register_forward_pre_hook(self, hook: Callable, *, prepend: bool = False,
                                  with_kwargs: bool = False) -> RemovableHandle:
        """Call ``hook(module, args)`` (or ``hook(module, args, kwargs)``) before ``forward``;
        a non-None return replaces the arguments."""
        handle = _add_hook(self._forward_pre_hooks, hook, prepend,
                           self._forward_pre_hooks_with_kwargs)
        if with_kwargs:
            self._forward_pre_hooks_with_kwargs[handle.id] = True
        return handle

    def register_forward_hook(self, hook: Callable, *, prepend: bool = False,
                              with_kwargs: bool = False,
                              always_call: bool = False) -> RemovableHandle:
        """Call ``hook(module, args, output)`` (or with kwargs) after ``forward``; a non-None
        return replaces the output."""
        handle = _add_hook(self._forward_hooks, hook, prepend, self._forward_hooks_with_kwargs,
                           self._forward_hooks_always_called)
        if with_kwargs:
            self._forward_hooks_with_kwargs[handle.id] = True
        if always_call:
            self._forward_hooks_always_called[handle.id] = True
        return handle

    def register_full_backward_hook(self, hook: Callable, prepend: bool = False
                                    ) -> RemovableHandle:
        """Call ``hook(module, grad_input, grad_output)`` when the gradients with respect to
        the module's tensor inputs have been computed; a non-None return replaces
        ``grad_input``."""
        self._set_backward_hook_kind(True)
        return _add_hook(self._backward_hooks, hook, prepend)

    def register_backward_hook(self, hook: Callable) -> RemovableHandle:
        """Deprecated form of :meth:`register_full_backward_hook`: call
        ``hook(module, grad_input, grad_output)`` in backward.

        torch passes the gradients of the inputs of the last op of ``forward``, which are the
        module's input gradients only when ``forward`` is that one op on its inputs; deepseek
        always passes the module's (the full hook's), and warns, as torch does, when
        ``forward`` is more than one op. A module takes hooks of one kind only.

        Example:
            >>> m = ds.nn.ReLU()
            >>> h = m.register_backward_hook(lambda mod, gi, go: print(len(gi)))
        """
        self._set_backward_hook_kind(False)
        return _add_hook(self._backward_hooks, hook, False)

    def _set_backward_hook_kind(self, full: bool) -> None:
        if self._is_full_backward_hook is (not full):
            raise RuntimeError("Cannot use both regular backward hooks and full backward hooks "
                               "on a single Module. Please use only one of them.")
        self._is_full_backward_hook = full

    def register_full_backward_pre_hook(self, hook: Callable, prepend: bool = False
                                        ) -> RemovableHandle:
        """Call ``hook(module, grad_output)`` when the gradients with respect to the module's
        outputs have been computed, before the input gradients are; a non-None return (one
        gradient per output) replaces ``grad_output``. With several differentiable outputs,
        only the replacement for the output whose gradient arrives last takes effect.

        Example:
            >>> m = ds.nn.Linear(3, 2)
            >>> h = m.register_full_backward_pre_hook(lambda mod, go: (go[0] * 0.5,))
        """
        return _add_hook(self._backward_pre_hooks, hook, prepend)

    # ---------------------------------------------------------------- registration
    def _check_name(self, kind: str, name: Any, store: dict) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign {kind} before Module.__init__() call")
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string. Got {type(name).__name__}")
        if "." in name:
            raise KeyError(f"{kind} name can't contain \".\", got {name!r}")
        if name == "":
            raise KeyError(f"{kind} name can't be empty string \"\"")
        if hasattr(self, name) and name not in store:
            raise KeyError(f"attribute '{name}' already exists")

    def register_buffer(self, name: str, tensor: Optional[Tensor],
                        persistent: bool = True) -> None:
        """Add a buffer (state that is not a parameter, e.g. BatchNorm's running mean).
        Non-persistent buffers are left out of ``state_dict``."""
        self._check_name("buffer", name, self._buffers)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{type(tensor).__name__}' object to buffer "
                            f"'{name}' (Tensor or None required)")
        self._buffers[name] = _registered(_GLOBAL.buffer_registration, self, name, tensor)
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def register_parameter(self, name: str, param: Optional[Parameter]) -> None:
        """Add a parameter (``None`` registers the name with no parameter)."""
        self._check_name("parameter", name, self._parameters)
        if param is None:
            self._parameters[name] = None
            return
        if not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{type(param).__name__}' object to parameter "
                            f"'{name}' (nn.Parameter or None required)")
        if param.grad_fn is not None:
            raise ValueError(f"Cannot assign non-leaf Tensor to parameter '{name}'. Model "
                             "parameters must be created explicitly. To express "
                             f"'{name}' as a function of another Tensor, compute the value "
                             "in the forward() method.")
        self._parameters[name] = _registered(_GLOBAL.parameter_registration, self, name, param)

    def add_module(self, name: str, module: Optional["Module"]) -> None:
        """Add a child module, reachable as the attribute ``name``."""
        if not isinstance(module, Module) and module is not None:
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        self._check_name("module", name, self._modules)
        self._modules[name] = _registered(_GLOBAL.module_registration, self, name, module)

    register_module = add_module

    # ---------------------------------------------------------------- attributes
    def __getattr__(self, name: str) -> Any:
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            if store in d and name in d[store]:
                return d[store][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __setattr__(self, name: str, value: Any) -> None:
        d = self.__dict__
        params = d.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            self._remove_from(name, d, self._buffers, self._modules)
            self._non_persistent_buffers_set.discard(name)
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as parameter '{name}' "
                                "(nn.Parameter or None expected)")
            params[name] = None
        elif isinstance(value, Module):
            if params is None:
                raise AttributeError("cannot assign module before Module.__init__() call")
            self._remove_from(name, d, params, self._buffers)
            self._non_persistent_buffers_set.discard(name)
            self._modules[name] = _registered(_GLOBAL.module_registration, self, name, value)
        elif params is not None and name in self._modules:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as child module "
                                f"'{name}' (nn.Module or None expected)")
            self._modules[name] = None
        elif isinstance(value, Buffer) or (params is not None and name in self._buffers):
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{type(value).__name__}' as buffer '{name}' "
                                "(Tensor or None expected)")
            if isinstance(value, Buffer):
                self._remove_from(name, d, params, self._modules)
                self.register_buffer(name, value, value.persistent)
            else:
                self._buffers[name] = _registered(_GLOBAL.buffer_registration, self, name, value)
        else:
            object.__setattr__(self, name, value)

    @staticmethod
    def _remove_from(name: str, *stores: dict) -> None:
        for s in stores:
            s.pop(name, None)

    def __delattr__(self, name: str) -> None:
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            if name in d.get(store, ()):
                del d[store][name]
                self._non_persistent_buffers_set.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self) -> list:
        keys = list(dir(type(self))) + list(self.__dict__) + list(self._parameters)
        keys += list(self._modules) + list(self._buffers)
        return sorted(k for k in set(keys) if not k[0].isdigit())

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)

    # ---------------------------------------------------------------- traversal
    def _named_members(self, get_members: Callable, prefix: str = "", recurse: bool = True,
                       remove_duplicate: bool = True) -> Iterator:
        memo = set()
        modules = (self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
                   if recurse else [(prefix, self)])
        for module_prefix, module in modules:
            for k, v in get_members(module):
                if v is None or (remove_duplicate and id(v) in memo):
                    continue
                if remove_duplicate:
                    memo.add(id(v))
                yield (module_prefix + ("." if module_prefix else "") + k, v)

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator:
        """Yield ``(name, parameter)``; a parameter shared between modules comes once."""
        return self._named_members(lambda m: m._parameters.items(), prefix, recurse,
                                   remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """Yield the module's parameters (recursively by default)."""
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator:
        """Yield ``(name, buffer)``."""
        return self._named_members(lambda m: m._buffers.items(), prefix, recurse,
                                   remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def named_children(self) -> Iterator:
        """Yield ``(name, module)`` for the immediate children."""
        memo = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in memo:
                memo.add(id(module))
                yield name, module

    def children(self) -> Iterator["Module"]:
        for _, m in self.named_children():
            yield m

    def named_modules(self, memo: Optional[set] = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator:
        """Yield ``(name, module)`` for this module and every descendant, depth first."""
        if memo is None:
            memo = set()
        if id(self) in memo and remove_duplicate:
            return
        if remove_duplicate:
            memo.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            if module is None:
                continue
            sub = prefix + ("." if prefix else "") + name
            yield from module.named_modules(memo, sub, remove_duplicate)

    def modules(self) -> Iterator["Module"]:
        for _, m in self.named_modules():
            yield m

    def set_submodule(self, target: str, module: "Module", strict: bool = False) -> None:
        """Put ``module`` at the dotted path ``target``, replacing the submodule there.

        Args:
            target: the path, e.g. ``"encoder.layers.0"``; its parent must exist.
            module: the module to place.
            strict: only replace an existing submodule, never add a new attribute.
                Default: False.

        Example:
            >>> net = ds.nn.Sequential(ds.nn.Linear(2, 2), ds.nn.ReLU())
            >>> net.set_submodule("1", ds.nn.Tanh())
        """
        if target == "":
            raise ValueError("Cannot set the submodule without a target name!")
        if not isinstance(module, Module):
            raise ValueError(f"`module` is not an nn.Module, found {type(module)}")
        parent_path, _, name = target.rpartition(".")
        parent = self.get_submodule(parent_path)
        if strict and not hasattr(parent, name):
            raise AttributeError(f"{parent._get_name()} has no attribute `{name}`")
        if hasattr(parent, name) and not isinstance(getattr(parent, name), Module):
            raise AttributeError(f"`{name}` is not an nn.Module")
        setattr(parent, name, module)

    def get_submodule(self, target: str) -> "Module":
        """The submodule at the dotted path ``target`` (``""`` is this module)."""
        if target == "":
            return self
        mod = self
        for item in target.split("."):
            if not hasattr(mod, item):
                raise AttributeError(f"{mod._get_name()} has no attribute `{item}`")
            mod = getattr(mod, item)
            if not isinstance(mod, Module):
                raise AttributeError(f"`{item}` is not an nn.Module")
        return mod

    def _get_leaf(self, target: str, kind: str, store: str) -> Any:
        module_path, _, name = target.rpartition(".")
        mod = self.get_submodule(module_path)
        if not hasattr(mod, name):
            raise AttributeError(f"{mod._get_name()} has no attribute `{name}`")
        if name not in getattr(mod, store):
            raise AttributeError(f"`{name}` is not {kind}")
        return getattr(mod, name)

    def get_parameter(self, target: str) -> Parameter:
        """The parameter at the dotted path ``target``."""
        return self._get_leaf(target, "an nn.Parameter", "_parameters")

    def get_buffer(self, target: str) -> Tensor:
        """The buffer at the dotted path ``target``."""
        return self._get_leaf(target, "a buffer", "_buffers")

    def apply(self, fn: Callable[["Module"], None]) -> "Module":
        """Call ``fn`` on every submodule (children first) and on this module."""
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    # ---------------------------------------------------------------- modes
    def train(self, mode: bool = True) -> "Module":
        """Set training mode (dropout active, batch statistics) on this module and below."""
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        self.training = mode
        for module in self.children():
            module.train(mode)
        return self

    def eval(self) -> "Module":
        """Set evaluation mode; the same as ``train(False)``."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> "Module":
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all parameters (to None by default, else to zero)."""
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                if p.grad.grad_fn is not None:
                    p.grad.detach_()
                else:
                    p.grad.requires_grad_(False)
                p.grad.zero_()

    # ---------------------------------------------------------------- conversion
    def _apply(self, fn: Callable[[Tensor], Tensor], recurse: bool = True) -> "Module":
        if recurse:
            for module in self.children():
                module._apply(fn)
        with no_grad():
            for p in self._parameters.values():
                if p is None:
                    continue
                p.data = fn(p)  # in place: the Parameter object (and optimizer refs) stay
                if p.grad is not None:
                    p.grad.data = fn(p.grad)
            for key, buf in self._buffers.items():
                if buf is not None:
                    self._buffers[key] = fn(buf)
        return self

    def to(self, *args: Any, **kwargs: Any) -> "Module":
        """Cast floating-point parameters and buffers to ``dtype`` and/or move everything to
        ``device`` (in place: parameters keep their identity).

        Accepts ``to(device)``, ``to(dtype)``, ``to(device, dtype)``, ``to(tensor)`` and the
        ``device=``/``dtype=``/``non_blocking=`` keywords.
        """
        device, dtype = kwargs.get("device"), kwargs.get("dtype")
        for a in args:
            if isinstance(a, Tensor):
                device, dtype = a.device, a.dtype
            elif isinstance(a, _dt.dtype) or (isinstance(a, str) and a in _dt.BY_NAME):
                dtype = a
            elif a is not None:
                device = a
        if dtype is not None:
            dtype = _dt.to_dtype(dtype)
            if not (dtype.is_floating_point or dtype.is_complex):
                raise TypeError("nn.Module.to only accepts floating point or complex dtypes, "
                                f"but got desired dtype={dtype}")
            if dtype.is_complex:
                warnings.warn("Complex modules are a new feature under active development whose "
                              "design may change, and some modules might not work as expected "
                              "when using complex tensors as parameters or buffers.",
                              UserWarning, stacklevel=2)

        def convert(t: Tensor) -> Tensor:
            return t.to(device, dtype if t.is_floating_point() or t.is_complex() else None)

        return self._apply(convert)

    def _cast_floats(self, dtype: _dt.dtype) -> "Module":
        return self._apply(lambda t: t.to(dtype) if t.is_floating_point() else t)

    def float(self) -> "Module":
        return self._cast_floats(_dt.float32)

    def double(self) -> "Module":
        return self._cast_floats(_dt.float64)

    def half(self) -> "Module":
        return self._cast_floats(_dt.float16)

    def bfloat16(self) -> "Module":
        return self._cast_floats(_dt.bfloat16)

    def type(self, dst_type: Any) -> "Module":
        return self._apply(lambda t: t.to(dst_type))

    def cpu(self) -> "Module":
        return self._apply(lambda t: t.cpu())

    def cuda(self, device: Any = None) -> "Module":
        return self._apply(lambda t: t.to("cuda" if device is None else device))

    def to_empty(self, *, device: Any, recurse: bool = True) -> "Module":
        """Give every parameter and buffer new, uninitialized storage of the same shape and
        dtype on ``device``, in place: parameters keep their identity. (torch uses it to
        materialize a module built on the ``meta`` device; deepseek's meta device holds no
        tensors yet.)

        Args:
            device: where the new storage lives (None: where each tensor is).
            recurse: include the submodules. Default: True.

        Example:
            >>> m = ds.nn.Linear(4, 2).to_empty(device="cpu")
            >>> m.weight.shape
            deepseek.Size([2, 4])
        """
        from ..._creation import empty_like

        return self._apply(lambda t: empty_like(t, device=device), recurse=recurse)

    def share_memory(self) -> "Module":
        """torch moves the storage of every parameter and buffer to shared memory here, for
        worker processes to update in place. deepseek's CPU tensors are NumPy arrays its
        processes do not share (and CUDA memory is shared already, as torch says for CUDA
        tensors), so this leaves the tensors as they are and returns the module.

        Example:
            >>> m = ds.nn.Linear(2, 2).share_memory()
        """
        return self

    def compile(self, *args: Any, **kwargs: Any) -> None:
        """Compile this module's calls in place with :func:`deepseek.compile` (``torch.compile``'s
        arguments): from now on ``module(...)`` runs the compiled version of the call, hooks
        included, while the module, its parameters and its state_dict keys stay as they are
        (unlike ``deepseek.compile(module)``, which wraps it).

        Example:
            >>> m = ds.nn.Linear(4, 2)
            >>> m.compile()
            >>> with ds.no_grad():
            ...     y = m(ds.randn(3, 4))
        """
        from ...jit.compat import compile as compile_fn

        self._compiled_call_impl = compile_fn(self._call_impl, *args, **kwargs)

    # ---------------------------------------------------------------- state dict
    def state_dict(self, *args: Any, destination: Optional[dict] = None, prefix: str = "",
                   keep_vars: bool = False) -> "OrderedDict":
        """Parameters and persistent buffers by dotted name (detached unless keep_vars)."""
        if args:  # PyTorch's deprecated positional form: (destination, prefix, keep_vars)
            destination, prefix, keep_vars = (list(args) + [destination, prefix, keep_vars]
                                              [len(args):])[:3]
        if destination is None:
            destination = OrderedDict()
        for hook in self._state_dict_pre_hooks.values():
            hook(self, prefix, keep_vars)
        self._save_to_state_dict(destination, prefix, keep_vars)
        for name, module in self._modules.items():
            if module is not None:
                module.state_dict(destination=destination, prefix=prefix + name + ".",
                                  keep_vars=keep_vars)
        for hook in self._state_dict_hooks.values():
            if hook(self, destination, prefix, {"version": self._version}) is not None:
                raise RuntimeError("state_dict post-hook must return None (it may change the "
                                   "state_dict it is given in place)")
        return destination

    def _save_to_state_dict(self, destination: dict, prefix: str, keep_vars: bool) -> None:
        """Put this module's own parameters, persistent buffers and extra state (not its
        children's) into ``destination``."""
        for name, p in self._parameters.items():
            if p is not None:
                destination[prefix + name] = p if keep_vars else p.detach()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = b if keep_vars else b.detach()
        if type(self).get_extra_state is not Module.get_extra_state:
            destination[prefix + "_extra_state"] = self.get_extra_state()

    def get_extra_state(self) -> Any:
        raise RuntimeError("Reached a code path in Module.get_extra_state() that should never "
                           "be called.")

    def set_extra_state(self, state: Any) -> None:
        raise RuntimeError("Reached a code path in Module.set_extra_state() that should never "
                           "be called.")

    def _load_from_state_dict(self, state_dict: dict, prefix: str, local_metadata: dict,
                              strict: bool, missing_keys: list, unexpected_keys: list,
                              error_msgs: list, assign: bool = False) -> None:
        for hook in self._load_state_dict_pre_hooks.values():
            hook(self, state_dict, prefix, local_metadata, strict, missing_keys,
                 unexpected_keys, error_msgs)
        persistent = {k: v for k, v in self._buffers.items()
                      if k not in self._non_persistent_buffers_set}
        local = {k: v for k, v in itertools.chain(self._parameters.items(), persistent.items())
                 if v is not None}
        for name, param in local.items():
            key = prefix + name
            if key not in state_dict:
                if strict:
                    missing_keys.append(key)
                continue
            value = state_dict[key]
            if not isinstance(value, Tensor):
                error_msgs.append(f'While copying the parameter named "{key}", expected '
                                  f"Tensor or Tensor-like object from checkpoint but received "
                                  f"{type(value)}")
                continue
            if is_lazy(param) and is_lazy(value):
                continue  # both uninitialized: nothing to copy yet
            if tuple(value.shape) != tuple(param.shape):
                error_msgs.append(f"size mismatch for {key}: copying a param with shape "
                                  f"{value.shape} from checkpoint, the shape in current model "
                                  f"is {param.shape}.")
                continue
            try:
                with no_grad():
                    if assign:
                        if isinstance(param, Parameter):
                            value = Parameter(value, requires_grad=param.requires_grad)
                        setattr(self, name, value)
                    else:
                        param.copy_(value)
            except Exception as e:
                error_msgs.append(f'While copying the parameter named "{key}", whose '
                                  f"dimensions in the model are {param.shape} and whose "
                                  f"dimensions in the checkpoint are {value.shape}, an "
                                  f"exception occurred : {e.args}.")
        extra_key = prefix + "_extra_state"
        if type(self).set_extra_state is not Module.set_extra_state:
            if extra_key in state_dict:
                self.set_extra_state(state_dict[extra_key])
            elif strict:
                missing_keys.append(extra_key)
        elif strict and extra_key in state_dict:
            unexpected_keys.append(extra_key)
        if strict:
            for key in state_dict:
                if key.startswith(prefix) and key != extra_key:
                    input_name = key[len(prefix):].split(".", 1)
                    if input_name[0] not in self._modules and input_name[0] not in local:
                        unexpected_keys.append(key)

    def load_state_dict(self, state_dict: dict, strict: bool = True,
                        assign: bool = False) -> _IncompatibleKeys:
        """Copy parameters and buffers from ``state_dict`` (by name).

        With ``strict``, missing or unexpected keys raise; the keys are returned either way as
        ``(missing_keys, unexpected_keys)``. With ``assign``, the module takes the checkpoint's
        tensors instead of copying into its own.
        """
        if not isinstance(state_dict, dict):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        state_dict = OrderedDict(state_dict)  # load_state_dict pre-hooks may change it
        missing, unexpected, errors = [], [], []
        result = _IncompatibleKeys(missing, unexpected)

        def load(module: Module, prefix: str = "") -> None:
            module._load_from_state_dict(state_dict, prefix, {"version": module._version},
                                         True, missing, unexpected, errors, assign)
            for name, child in module._modules.items():
                if child is not None:
                    load(child, prefix + name + ".")
            for hook in module._load_state_dict_post_hooks.values():
                if hook(module, result) is not None:
                    raise AssertionError("Hooks registered with "
                                         "``register_load_state_dict_post_hook`` are not "
                                         "expected to return new values; change "
                                         "incompatible_keys in place instead.")

        load(self)
        if strict:
            if unexpected:
                errors.insert(0, "Unexpected key(s) in state_dict: "
                              + ", ".join(f'"{k}"' for k in unexpected) + ". ")
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: "
                              + ", ".join(f'"{k}"' for k in missing) + ". ")
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {self._get_name()}:\n\t"
                               + "\n\t".join(errors))
        return result

    def register_state_dict_pre_hook(self, hook: Callable) -> RemovableHandle:
        """Call ``hook(module, prefix, keep_vars)`` before ``state_dict`` saves this module."""
        return _add_hook(self._state_dict_pre_hooks, hook, False)

    def register_state_dict_post_hook(self, hook: Callable) -> RemovableHandle:
        """Call ``hook(module, state_dict, prefix, local_metadata)`` once ``state_dict`` has
        saved this module and its children; the hook may change ``state_dict`` in place and
        must return None."""
        return _add_hook(self._state_dict_hooks, hook, False)

    def register_load_state_dict_pre_hook(self, hook: Callable) -> RemovableHandle:
        """Call ``hook(module, state_dict, prefix, local_metadata, strict, missing_keys,
        unexpected_keys, error_msgs)`` before ``load_state_dict`` loads this module; the hook
        may change ``state_dict`` (a copy of the one given) in place, e.g. to rename keys.

        Example:
            >>> def rename(module, state_dict, prefix, *args):
            ...     if prefix + "w" in state_dict:
            ...         state_dict[prefix + "weight"] = state_dict.pop(prefix + "w")
            >>> h = ds.nn.Linear(2, 2).register_load_state_dict_pre_hook(rename)
        """
        return _add_hook(self._load_state_dict_pre_hooks, hook, False)

    def register_load_state_dict_post_hook(self, hook: Callable) -> RemovableHandle:
        """Call ``hook(module, incompatible_keys)`` once ``load_state_dict`` has loaded this
        module and its children, before strict checking; the hook may change
        ``incompatible_keys.missing_keys``/``unexpected_keys`` in place and must return None."""
        return _add_hook(self._load_state_dict_post_hooks, hook, False)

    # ---------------------------------------------------------------- repr
    def _get_name(self) -> str:
        return type(self).__name__

    def extra_repr(self) -> str:
        """The module-specific part of ``repr`` (constructor arguments); override it."""
        return ""

    def __repr__(self) -> str:
        extra = self.extra_repr()
        lines = extra.split("\n") if extra else []
        for key, module in self._modules.items():
            lines.append("(" + key + "): " + _addindent(repr(module), 2))
        body = self._get_name() + "("
        if lines:
            if len(lines) == 1 and not self._modules:
                body += lines[0]
            else:
                body += "\n  " + "\n  ".join(lines) + "\n"
        return body + ")"
