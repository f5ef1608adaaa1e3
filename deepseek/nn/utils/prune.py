"""Pruning, as ``torch.nn.utils.prune``: a parameter ``name`` replaced by ``name_orig`` and a
``name_mask`` buffer, ``name`` recomputed as their product before every forward; methods that
compute masks, and a container that composes them when a tensor is pruned again."""

from __future__ import annotations

import numbers
from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import Any, Optional

from ..._creation import as_tensor, ones_like, zeros_like
from ...autograd.grad_mode import no_grad
from ...ops.reduce import norm as _norm
from ...ops.sorting import topk
from ...random import rand
from ...tensor import Tensor
from ..modules.module import Module
from ..parameter import Parameter
from .convert_parameters import parameters_to_vector

__all__ = ["BasePruningMethod", "PruningContainer", "Identity", "RandomUnstructured",
           "L1Unstructured", "RandomStructured", "LnStructured", "CustomFromMask", "identity",
           "random_unstructured", "l1_unstructured", "random_structured", "ln_structured",
           "global_unstructured", "custom_from_mask", "remove", "is_pruned"]


class BasePruningMethod(ABC):
    """The base of every pruning method. A subclass sets ``PRUNING_TYPE`` (``"unstructured"``,
    ``"structured"`` with a ``dim`` attribute, or ``"global"``), which tells
    :class:`PruningContainer` which part of an already pruned tensor the method may act on,
    and defines :meth:`compute_mask`.

    An applied method is the module's forward pre-hook that recomputes ``module.name`` as
    ``name_orig * name_mask``.
    """

    PRUNING_TYPE: str
    _tensor_name: Optional[str] = None  # set by apply()
    _function: Optional[str] = None  # the prune.* function that applies it, for errors

    @classmethod
    def _op(cls) -> str:
        return cls._function or cls.__name__

    def __call__(self, module: Module, inputs: Any) -> None:
        setattr(module, self._applied_name(module, "__call__"), self.apply_mask(module))

    @abstractmethod
    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        """The mask for ``t`` (the importance scores), given ``default_mask``, the mask from
        the pruning done so far (ones where nothing is pruned yet), whose zeros must stay."""

    def _applied_name(self, module: Module, method: str) -> str:
        if self._tensor_name is None:
            raise AttributeError(f"[{type(self).__name__}.{method}] this pruning method has not "
                                 f"been applied to {module._get_name()} yet; call "
                                 f"{type(self).__name__}.apply(module, name, ...) first")
        return self._tensor_name

    def apply_mask(self, module: Module) -> Tensor:
        """``module.name_orig`` times ``module.name_mask``: the pruned tensor."""
        name = self._applied_name(module, "apply_mask")
        orig = getattr(module, name + "_orig")
        return getattr(module, name + "_mask").to(dtype=orig.dtype) * orig

    @classmethod
    def apply(cls, module: Module, name: str, *args: Any,
              importance_scores: Optional[Tensor] = None, **kwargs: Any) -> "BasePruningMethod":
        """Prune the parameter ``name`` of ``module`` with ``cls(*args, **kwargs)``; a tensor
        pruned before keeps its zeros, the new method composed with the old in a
        :class:`PruningContainer`. Returns the method now hooked on ``module`` (that
        container, when there is one).

        Args:
            module: the module holding the tensor to prune.
            name: the parameter's name in ``module``.
            args, kwargs: the pruning method's arguments.
            importance_scores: the scores the mask is computed from, of the parameter's
                shape (default: the parameter itself).
        """
        op = cls._op()
        old_key, old_method = _find_pruning_hook(module, name, op)
        method = cls(*args, **kwargs)
        method._tensor_name = name
        orig = _lookup(module, name, op)
        if importance_scores is not None and importance_scores.shape != orig.shape:
            raise AssertionError(f"[{op}] importance_scores should have the same shape as "
                                 f"parameter {name} of {module._get_name()}, got "
                                 f"{tuple(importance_scores.shape)} vs {tuple(orig.shape)}")
        scores = orig if importance_scores is None else importance_scores

        container = None
        if old_method is None:
            if not isinstance(orig, Parameter):
                raise TypeError(f"[{op}] can only prune a parameter (nn.Parameter), but "
                                f"'{name}' of {module._get_name()} is a "
                                f"{type(orig).__name__}")
            default_mask = ones_like(orig)
        else:
            container = (old_method if isinstance(old_method, PruningContainer)
                         else PruningContainer(old_method))
            container.add_pruning_method(method)
            default_mask = getattr(module, name + "_mask").detach().clone()
        try:
            with no_grad():
                mask = (method if container is None else container).compute_mask(
                    scores, default_mask=default_mask)
        except Exception:
            if isinstance(old_method, PruningContainer):  # leave it as it was
                container._pruning_methods = container._pruning_methods[:-1]
            raise

        # The mask is known: only now change the module, so a failure above leaves it whole.
        if container is None:
            del module._parameters[name]
            module.register_parameter(name + "_orig", orig)
        else:
            del module._forward_pre_hooks[old_key]
            method = container
        module.register_buffer(name + "_mask", mask)
        setattr(module, name, method.apply_mask(module))
        module.register_forward_pre_hook(method)
        return method

    def prune(self, t: Tensor, default_mask: Optional[Tensor] = None,
              importance_scores: Optional[Tensor] = None) -> Tensor:
        """``t`` with this method's mask applied (computed from ``importance_scores``, default
        ``t``, on top of ``default_mask``, default all ones); the module is not involved."""
        if importance_scores is not None and importance_scores.shape != t.shape:
            raise AssertionError(f"[{type(self).__name__}.prune] importance_scores should have "
                                 f"the same shape as tensor t, got "
                                 f"{tuple(importance_scores.shape)} vs {tuple(t.shape)}")
        scores = t if importance_scores is None else importance_scores
        with no_grad():
            mask = self.compute_mask(scores, default_mask=ones_like(t) if default_mask is None
                                     else default_mask)
        return t * mask

    def remove(self, module: Module) -> None:
        """Make the pruning permanent: ``name`` becomes a parameter again (the ``name_orig``
        object, so optimizers holding it keep it) holding the pruned values, and
        ``name_orig``/``name_mask`` go. The hook itself is removed by :func:`remove`."""
        name = self._applied_name(module, "remove")
        with no_grad():
            weight = self.apply_mask(module)
        if hasattr(module, name):
            delattr(module, name)
        orig = module._parameters.pop(name + "_orig")
        orig.data = weight.detach()
        del module._buffers[name + "_mask"]
        setattr(module, name, orig)


class PruningContainer(BasePruningMethod):
    """The pruning methods applied, one after another, to one tensor. Its mask is the last
    method's, computed on the part the earlier ones left: the unpruned entries for an
    ``"unstructured"`` method, the unpruned channels along ``dim`` for a ``"structured"`` one,
    the whole tensor for a ``"global"`` one.

    Args:
        *methods: the pruning methods, in the order applied, all on the same tensor.
    """

    def __init__(self, *methods: BasePruningMethod) -> None:
        self._pruning_methods: tuple = ()
        for method in methods:
            self.add_pruning_method(method)

    def add_pruning_method(self, method: BasePruningMethod) -> None:
        """Append ``method``, which must act on the same tensor as the ones before it."""
        if not isinstance(method, BasePruningMethod):
            raise TypeError(f"[PruningContainer] {type(method)} is not a BasePruningMethod "
                            "subclass")
        if self._tensor_name is None:
            self._tensor_name = method._tensor_name
        elif method._tensor_name != self._tensor_name:
            raise ValueError("[PruningContainer] can only add pruning methods acting on the "
                             f"parameter named '{self._tensor_name}' to this container; found "
                             f"'{method._tensor_name}'")
        self._pruning_methods += (method,)

    def __len__(self) -> int:
        return len(self._pruning_methods)

    def __iter__(self) -> Any:
        return iter(self._pruning_methods)

    def __getitem__(self, idx: Any) -> Any:
        return self._pruning_methods[idx]

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        """``default_mask`` with the last method's mask written into the part of ``t`` it may
        still prune (see the class docstring)."""
        if not self._pruning_methods:
            raise ValueError("[PruningContainer] compute_mask() called on an empty container")
        method = self._pruning_methods[-1]
        kind = getattr(method, "PRUNING_TYPE", None)
        new_mask = default_mask.to(dtype=t.dtype).clone()
        if kind == "unstructured":
            part = default_mask == 1
        elif kind == "structured":
            if not hasattr(method, "dim"):
                raise AttributeError('[PruningContainer] pruning methods of PRUNING_TYPE '
                                     '"structured" need to have the attribute `dim` defined.')
            _validate_structured(t, method._op())
            ndim = t.dim()
            dim = _wrap_dim(method.dim, t, method._op())
            kept = default_mask.sum(dim=[d for d in range(ndim) if d != dim]) != 0
            part = tuple(kept if d == dim else slice(None) for d in range(ndim))
        elif kind == "global":
            part = tuple(slice(None) for _ in range(t.dim()))
        else:
            raise ValueError(f"[PruningContainer] unrecognized PRUNING_TYPE {kind!r} of "
                             f"{type(method).__name__}; expected 'unstructured', "
                             "'structured' or 'global'")
        partial = method.compute_mask(t[part], default_mask=default_mask[part])
        new_mask[part] = partial.to(dtype=new_mask.dtype)
        return new_mask


class Identity(BasePruningMethod):
    """Prune nothing: the mask is all ones (a tensor gets the pruning form without losing
    entries)."""

    PRUNING_TYPE = "unstructured"
    _function = "identity"

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        return default_mask

    @classmethod
    def apply(cls, module: Module, name: str) -> BasePruningMethod:  # type: ignore[override]
        """Apply :class:`Identity` to the parameter ``name`` of ``module``."""
        return super().apply(module, name)


class _Unstructured(BasePruningMethod):
    """Prune ``amount`` single entries: those of the lowest ``_scores`` (ties: the earliest in
    flattened order)."""

    PRUNING_TYPE = "unstructured"

    def __init__(self, amount: Any) -> None:
        _validate_amount_init(amount, self._op())
        self.amount = amount

    def _scores(self, t: Tensor) -> Tensor:
        raise NotImplementedError

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        count = _count_to_prune(self.amount, t.numel(), self._op())
        flat = default_mask.reshape(-1).clone()
        if count:
            flat[topk(self._scores(t).reshape(-1), count, largest=False).indices] = 0
        return flat.reshape(default_mask.shape)


class RandomUnstructured(_Unstructured):
    """Prune ``amount`` entries chosen at random (``deepseek.manual_seed`` seeds the choice).

    Args:
        amount: how many entries to prune: an int count, or a float fraction in [0, 1] of the
            entries not pruned yet (rounded to the nearest count).
    """

    _function = "random_unstructured"

    def _scores(self, t: Tensor) -> Tensor:
        return rand(t.numel(), device=t.device)

    @classmethod
    def apply(cls, module: Module, name: str, amount: Any  # type: ignore[override]
              ) -> BasePruningMethod:
        """Apply :class:`RandomUnstructured` to the parameter ``name`` of ``module``."""
        return super().apply(module, name, amount=amount)


class L1Unstructured(_Unstructured):
    """Prune the ``amount`` entries of smallest absolute value (of the importance scores).
    Among equal scores the earliest entries (in flattened order) go first.

    Args:
        amount: how many entries to prune: an int count, or a float fraction in [0, 1] of the
            entries not pruned yet (rounded to the nearest count).
    """

    _function = "l1_unstructured"

    def _scores(self, t: Tensor) -> Tensor:
        return t.abs()

    @classmethod
    def apply(cls, module: Module, name: str, amount: Any,  # type: ignore[override]
              importance_scores: Optional[Tensor] = None) -> BasePruningMethod:
        """Apply :class:`L1Unstructured` to the parameter ``name`` of ``module``."""
        return super().apply(module, name, amount=amount, importance_scores=importance_scores)


class _Structured(BasePruningMethod):
    """Prune ``amount`` whole channels along ``dim``: those of the lowest ``_channel_scores``
    (ties: the earliest channels are kept)."""

    PRUNING_TYPE = "structured"

    def _channel_scores(self, t: Tensor, dim: int) -> Tensor:
        raise NotImplementedError

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        op = self._op()
        _validate_structured(t, op)
        dim = _wrap_dim(self.dim, t, op)
        size = t.shape[dim]
        count = _count_to_prune(self.amount, size, op)
        if not count:
            return default_mask
        kept = topk(self._channel_scores(t, dim), size - count, largest=True).indices
        return _channel_mask(t, dim, kept, default_mask)


class RandomStructured(_Structured):
    """Prune ``amount`` channels along ``dim`` chosen at random (``deepseek.manual_seed`` seeds
    the choice).

    Args:
        amount: how many channels to prune: an int count, or a float fraction in [0, 1] of
            the channels not pruned yet (rounded to the nearest count).
        dim: the dimension indexing the channels. Default: -1.
    """

    _function = "random_structured"

    def __init__(self, amount: Any, dim: int = -1) -> None:
        _validate_amount_init(amount, self._op())
        self.amount = amount
        self.dim = dim

    def _channel_scores(self, t: Tensor, dim: int) -> Tensor:
        return rand(t.shape[dim], device=t.device)

    @classmethod
    def apply(cls, module: Module, name: str, amount: Any,  # type: ignore[override]
              dim: int = -1) -> BasePruningMethod:
        """Apply :class:`RandomStructured` to the parameter ``name`` of ``module``."""
        return super().apply(module, name, amount=amount, dim=dim)


class LnStructured(_Structured):
    """Prune the ``amount`` channels along ``dim`` of smallest ``n``-norm (of the importance
    scores). Among equal norms the earliest channels are kept.

    Args:
        amount: how many channels to prune: an int count, or a float fraction in [0, 1] of
            the channels not pruned yet (rounded to the nearest count).
        n: the norm's order, any ``p`` that ``deepseek.norm`` takes (``1``, ``2``,
            ``float("inf")``, ``"fro"`` ...).
        dim: the dimension indexing the channels. Default: -1.
    """

    _function = "ln_structured"

    def __init__(self, amount: Any, n: Any, dim: int = -1) -> None:
        _validate_amount_init(amount, self._op())
        self.amount = amount
        self.n = n
        self.dim = dim

    def _channel_scores(self, t: Tensor, dim: int) -> Tensor:
        return _norm(t, p=self.n, dim=[d for d in range(t.dim()) if d != dim])

    @classmethod
    def apply(cls, module: Module, name: str, amount: Any, n: Any,  # type: ignore[override]
              dim: int, importance_scores: Optional[Tensor] = None) -> BasePruningMethod:
        """Apply :class:`LnStructured` to the parameter ``name`` of ``module``."""
        return super().apply(module, name, amount=amount, n=n, dim=dim,
                             importance_scores=importance_scores)


class CustomFromMask(BasePruningMethod):
    """Prune where ``mask`` is zero.

    Args:
        mask: a tensor of the pruned tensor's shape; zeros mark the entries to prune.
    """

    PRUNING_TYPE = "global"
    _function = "custom_from_mask"

    def __init__(self, mask: Any) -> None:
        self.mask = mask if isinstance(mask, Tensor) else as_tensor(mask)

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        if default_mask.shape != self.mask.shape:
            raise AssertionError(f"[{self._op()}] mask of shape {tuple(self.mask.shape)} does not "
                                 f"match the tensor's shape {tuple(default_mask.shape)}")
        return default_mask * self.mask.to(dtype=default_mask.dtype)

    @classmethod
    def apply(cls, module: Module, name: str, mask: Any  # type: ignore[override]
              ) -> BasePruningMethod:
        """Apply :class:`CustomFromMask` to the parameter ``name`` of ``module``."""
        return super().apply(module, name, mask=mask)


# ---------------------------------------------------------------- functions
def identity(module: Module, name: str) -> Module:
    """Give the parameter ``name`` of ``module`` the pruning form (``name_orig``,
    ``name_mask`` and the hook) without pruning anything. Returns ``module``.

    Example:
        >>> import deepseek.nn.utils.prune as prune
        >>> m = prune.identity(ds.nn.Linear(2, 3), "bias")
        >>> m.bias_mask
        tensor([1., 1., 1.])
    """
    Identity.apply(module, name)
    return module


def random_unstructured(module: Module, name: str, amount: Any) -> Module:
    """Prune ``amount`` random entries of the parameter ``name`` of ``module`` (an int count
    or a float fraction of the unpruned entries). Returns ``module``.

    Example:
        >>> import deepseek.nn.utils.prune as prune
        >>> m = prune.random_unstructured(ds.nn.Linear(2, 3), "weight", amount=2)
        >>> int((m.weight_mask == 0).sum())
        2
    """
    RandomUnstructured.apply(module, name, amount)
    return module


def l1_unstructured(module: Module, name: str, amount: Any,
                    importance_scores: Optional[Tensor] = None) -> Module:
    """Prune the ``amount`` entries of the parameter ``name`` of ``module`` of smallest
    absolute value (of ``importance_scores`` when given). Returns ``module``.

    Args:
        module: the module holding the parameter.
        name: the parameter's name.
        amount: an int count, or a float fraction in [0, 1] of the unpruned entries.
        importance_scores: scores of the parameter's shape to rank by (default: the
            parameter).

    Example:
        >>> import deepseek.nn.utils.prune as prune
        >>> m = ds.nn.Linear(2, 2)
        >>> with ds.no_grad():
        ...     _ = m.weight.copy_(ds.tensor([[0.1, -2.0], [3.0, -0.2]]))
        >>> m = prune.l1_unstructured(m, "weight", amount=0.5)
        >>> m.weight_mask
        tensor([[0., 1.],
                [1., 0.]])
    """
    L1Unstructured.apply(module, name, amount=amount, importance_scores=importance_scores)
    return module


def random_structured(module: Module, name: str, amount: Any, dim: int) -> Module:
    """Prune ``amount`` random channels along ``dim`` of the parameter ``name`` of
    ``module``. Returns ``module``.

    Example:
        >>> import deepseek.nn.utils.prune as prune
        >>> m = prune.random_structured(ds.nn.Linear(4, 3), "weight", amount=1, dim=0)
        >>> int((m.weight_mask.sum(1) == 0).sum())
        1
    """
    RandomStructured.apply(module, name, amount, dim)
    return module


def ln_structured(module: Module, name: str, amount: Any, n: Any, dim: int,
                  importance_scores: Optional[Tensor] = None) -> Module:
    """Prune the ``amount`` channels along ``dim`` of the parameter ``name`` of ``module`` of
    smallest ``n``-norm (of ``importance_scores`` when given). Returns ``module``.

    Args:
        module: the module holding the parameter.
        name: the parameter's name.
        amount: an int count, or a float fraction in [0, 1] of the unpruned channels.
        n: the norm's order (``1``, ``2``, ``float("inf")``, ``"fro"`` ...).
        dim: the dimension indexing the channels.
        importance_scores: scores of the parameter's shape to rank by (default: the
            parameter).

    Example:
        >>> import deepseek.nn.utils.prune as prune
        >>> m = prune.ln_structured(ds.nn.Conv2d(3, 8, 3), "weight", amount=0.5, n=2, dim=0)
        >>> int((m.weight_mask.sum((1, 2, 3)) == 0).sum())
        4
    """
    LnStructured.apply(module, name, amount, n, dim, importance_scores=importance_scores)
    return module


def global_unstructured(parameters: Iterable, pruning_method: type,
                        importance_scores: Optional[dict] = None, **kwargs: Any) -> None:
    """Prune the tensors in ``parameters`` together: ``pruning_method(**kwargs)`` (an
    ``"unstructured"`` method) ranks all their unpruned entries at once, and each tensor gets
    its part of the mask through :func:`custom_from_mask`.

    Args:
        parameters: ``(module, name)`` pairs.
        pruning_method: an unstructured pruning method class, e.g. :class:`L1Unstructured`.
        importance_scores: ``{(module, name): scores}`` for the tensors to rank by something
            other than their values.
        kwargs: the pruning method's arguments (``amount=``).

    Example:
        >>> import deepseek.nn.utils.prune as prune
        >>> a, b = ds.nn.Linear(4, 4), ds.nn.Linear(4, 2)
        >>> prune.global_unstructured([(a, "weight"), (b, "weight")],
        ...                           pruning_method=prune.L1Unstructured, amount=6)
        >>> int((a.weight_mask == 0).sum() + (b.weight_mask == 0).sum())
        6
    """
    op = "global_unstructured"
    if not isinstance(parameters, Iterable):
        raise TypeError(f"[{op}] parameters is not an Iterable")
    parameters = list(parameters)
    importance_scores = {} if importance_scores is None else importance_scores
    if not isinstance(importance_scores, dict):
        raise TypeError(f"[{op}] importance_scores must be of type dict")
    scores, masks = [], []
    for module, name in parameters:
        tensor = _lookup(module, name, op)
        score = importance_scores.get((module, name), tensor)
        if score.shape != tensor.shape:
            raise AssertionError(f"[{op}] importance_scores for '{name}' of "
                                 f"{module._get_name()} should have its shape "
                                 f"{tuple(tensor.shape)}, got {tuple(score.shape)}")
        scores.append(score)
        mask = getattr(module, name + "_mask", None)
        masks.append(ones_like(tensor) if mask is None else mask)

    method = pruning_method(**kwargs)
    if method.PRUNING_TYPE != "unstructured":
        raise TypeError(f'[{op}] only "unstructured" PRUNING_TYPE supported for the '
                        f"`pruning_method`; found {pruning_method} of type "
                        f"{method.PRUNING_TYPE}")
    method._tensor_name = "temp"
    container = PruningContainer(method)
    with no_grad():
        final_mask = container.compute_mask(parameters_to_vector(scores),
                                            parameters_to_vector(masks))
    start = 0
    for (module, name), score in zip(parameters, scores):
        count = score.numel()
        custom_from_mask(module, name, mask=final_mask[start:start + count].reshape(score.shape))
        start += count


def custom_from_mask(module: Module, name: str, mask: Tensor) -> Module:
    """Prune the parameter ``name`` of ``module`` where ``mask`` is zero. Returns ``module``.

    Example:
        >>> import deepseek.nn.utils.prune as prune
        >>> m = prune.custom_from_mask(ds.nn.Linear(2, 3), "bias", ds.tensor([0, 1, 0]))
        >>> m.bias_mask
        tensor([0., 1., 0.])
    """
    CustomFromMask.apply(module, name, mask)
    return module


def remove(module: Module, name: str) -> Module:
    """Make the pruning of the parameter ``name`` of ``module`` permanent: ``name`` becomes a
    plain parameter holding the pruned values, ``name_orig``, ``name_mask`` and the hook go.
    Returns ``module``.

    Example:
        >>> import deepseek.nn.utils.prune as prune
        >>> m = prune.remove(prune.l1_unstructured(ds.nn.Linear(2, 3), "weight", 1), "weight")
        >>> sorted(m.state_dict())
        ['bias', 'weight']
    """
    for key, hook in module._forward_pre_hooks.items():
        if isinstance(hook, BasePruningMethod) and hook._tensor_name == name:
            hook.remove(module)
            del module._forward_pre_hooks[key]
            return module
    raise ValueError(f"[remove] parameter '{name}' of module {module._get_name()} has to be "
                     "pruned before pruning can be removed")


def is_pruned(module: Module) -> bool:
    """Whether ``module`` or any of its submodules has a pruning hook.

    Example:
        >>> import deepseek.nn.utils.prune as prune
        >>> net = ds.nn.Sequential(ds.nn.Linear(2, 2))
        >>> _ = prune.identity(net[0], "weight")
        >>> prune.is_pruned(net)
        True
    """
    return any(isinstance(hook, BasePruningMethod)
               for submodule in module.modules() for hook in submodule._forward_pre_hooks.values())


# ---------------------------------------------------------------- checks and helpers
def _find_pruning_hook(module: Module, name: str, op: str) -> tuple:
    """``(key, method)`` of the pruning hook on ``name`` of ``module``, ``(None, None)`` when
    there is none."""
    found = [(key, hook) for key, hook in module._forward_pre_hooks.items()
             if isinstance(hook, BasePruningMethod) and hook._tensor_name == name]
    if len(found) > 1:
        raise AssertionError(f"[{op}] {module._get_name()} has several pruning hooks on the same "
                             f"tensor '{name}'; compose them in one PruningContainer")
    return found[0] if found else (None, None)


def _lookup(module: Module, name: str, op: str) -> Any:
    if not isinstance(name, str):
        raise TypeError(f"[{op}] name should be a string, got {type(name).__name__}")
    try:
        return getattr(module, name)
    except AttributeError:
        names = [n for n, _ in module.named_parameters(recurse=False)]
        raise AttributeError(f"[{op}] '{module._get_name()}' object has no attribute '{name}'; "
                             f"its parameters are {names}") from None


def _validate_amount_init(amount: Any, op: str) -> None:
    """``amount`` is a non-negative int or a float in [0, 1] (bools are refused: ``True`` as a
    count is more likely a mistake than a count of one)."""
    if isinstance(amount, bool) or not isinstance(amount, numbers.Real):
        raise TypeError(f"[{op}] invalid type for amount: {amount!r}. Must be int or float.")
    if (amount < 0 if isinstance(amount, numbers.Integral)
            else not 0.0 <= float(amount) <= 1.0):
        raise ValueError(f"[{op}] amount={amount} should either be a float in the range [0, 1] "
                         "or a non-negative integer")


def _count_to_prune(amount: Any, size: int, op: str) -> int:
    """How many of ``size`` units ``amount`` prunes: a count as is, a fraction rounded (half to
    even, as Python's ``round``)."""
    if isinstance(amount, numbers.Integral):
        if amount > size:
            raise ValueError(f"[{op}] amount={amount} should be smaller than the number of "
                             f"parameters to prune={size}")
        return int(amount)
    return round(amount * size)


def _validate_structured(t: Tensor, op: str) -> None:
    if t.dim() <= 1:
        raise ValueError(f"[{op}] structured pruning can only be applied to multidimensional "
                         f"tensors; found tensor of shape {tuple(t.shape)} with {t.dim()} dims")


def _wrap_dim(dim: int, t: Tensor, op: str) -> int:
    if not -t.dim() <= dim < t.dim():
        raise IndexError(f"[{op}] invalid dim {dim} for tensor of shape {tuple(t.shape)}; "
                         f"expected a dim in [{-t.dim()}, {t.dim() - 1}]")
    return dim % t.dim()


def _channel_mask(t: Tensor, dim: int, channels: Tensor, default_mask: Tensor) -> Tensor:
    """A mask of ``t``'s shape and dtype, one on the ``channels`` (an index or bool tensor)
    along ``dim``, times ``default_mask``."""
    mask = zeros_like(t)
    mask[tuple(channels if d == dim else slice(None) for d in range(t.dim()))] = 1
    return mask * default_mask.to(dtype=mask.dtype)
