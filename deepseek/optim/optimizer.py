"""The Optimizer base: parameter groups, state, state_dict, zero_grad, hyperparameter checks,
and the few array helpers every update rule shares."""

from __future__ import annotations

import numbers
import warnings
from collections import OrderedDict, defaultdict
from typing import Any, Callable, Iterable, Iterator, Optional

import numpy as np

from ..autograd.grad_mode import enable_grad, no_grad
from ..tensor import Tensor, _RemovableHandle

__all__ = ["Optimizer", "required"]


class _Required:
    def __repr__(self) -> str:
        return "<required parameter>"


required = _Required()


class Optimizer:
    """Base class of all optimizers, as ``torch.optim.Optimizer``.

    A subclass passes its hyperparameters as ``defaults`` and implements
    ``_update_group(group)``, which updates the parameters' arrays in place (under no_grad);
    the group it gets is read through :func:`read_group` (a Tensor ``lr`` as a float).

    Args:
        params: an iterable of tensors, or of dicts defining parameter groups.
        defaults: default hyperparameters for groups that do not set them.
    """

    def __init__(self, params: Iterable, defaults: dict) -> None:
        self.defaults = defaults
        self.state: dict = defaultdict(dict)
        self.param_groups: list = []
        self._step_pre_hooks: list = []
        self._step_post_hooks: list = []
        self._opt_called = False  # read by the LR schedulers' call-order warning
        self._flat: dict = {}  # group index -> its FlatBuffers (see flatten)
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            f"Tensors or dicts, but got {type(params).__name__}")
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(k for k in group if k != "params"):
                lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)

    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters with its own hyperparameters (the defaults fill the rest).

        Args:
            param_group: a dict with ``"params"`` and optional hyperparameters.
        """
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets will change between runs. "
                            "Please use a list instead.")
        params = [params] if isinstance(params, Tensor) else list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is "
                                f"{type(p).__name__}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        if len({id(p) for p in params}) != len(params):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; in "
                          "future, this will cause an error", stacklevel=3)
        group = dict(param_group, params=params)
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError("parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            group.setdefault(name, default)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def flatten(self) -> list:
        """Place each group's parameters of a dtype, their gradients and this optimizer's state
        in single contiguous buffers (the tensors become views), so that ``zero_grad`` and
        ``step`` are whole-buffer operations. On a flattened optimizer ``zero_grad`` always
        zeroes the gradient buffers and keeps the views, whatever ``set_to_none`` says.
        Works for the element-wise update rules (SGD, Adam, AdamW, RMSprop, Adagrad …).

        Returns:
            the ``ds.memory.FlatBuffer`` list.
        """
        from ..memory.flat import group_buffers

        if self.state and not self._flat:
            raise RuntimeError("flatten() must be called before the first step (the optimizer "
                               "already has state)")
        for i, group in enumerate(self.param_groups):
            if i not in self._flat:
                self._flat[i] = group_buffers(group["params"])
        return [b for bufs in self._flat.values() for b in bufs]

    def _step_group(self, i: int, group: dict) -> None:
        group = read_group(group)
        flat = self._flat.get(i)
        if flat is None:
            self._update_group(group)
            return
        for buf in flat:
            buf.sync_grads()
        self._update_group(dict(group, params=[buf.data for buf in flat]))
        for buf in flat:
            for p in buf.params:
                p._version_box[0] += 1

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all parameters.

        Args:
            set_to_none: set ``.grad`` to None instead of filling it with zeros (a flattened
                optimizer zeroes its gradient buffers either way). Default: True.
        """
        for bufs in self._flat.values():
            for buf in bufs:
                buf.zero_grad()
        for i, group in enumerate(self.param_groups):
            if i in self._flat:
                continue
            for p in group["params"]:
                grad = p.grad
                if grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                    continue
                grad.grad_fn, grad._requires_grad = None, False
                if grad.is_sparse:  # zeroed in place as PyTorch's sparse zero_(): no entries
                    data = grad._data
                    grad._data = type(data)(data.indices[:, :0], data.values[:0], data.shape,
                                            True)
                else:
                    grad._data[...] = 0
                grad._version_box[0] += 1

    def step(self, closure: Optional[Callable] = None) -> Any:
        """Update the parameters once from their ``.grad``.

        Args:
            closure: re-evaluates the model and returns the loss (run with grad enabled).
        """
        for hook in self._step_pre_hooks:
            hook(self, (), {})
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for i, group in enumerate(self.param_groups):
                self._step_group(i, group)
        self._opt_called = True
        for hook in self._step_post_hooks:
            hook(self, (), {})
        return loss

    def _update_group(self, group: dict) -> None:
        raise NotImplementedError

    def register_step_pre_hook(self, hook: Callable) -> _RemovableHandle:
        """Call ``hook(optimizer, args, kwargs)`` before every ``step``."""
        self._step_pre_hooks.append(hook)
        return _RemovableHandle(self._step_pre_hooks, hook)

    def register_step_post_hook(self, hook: Callable) -> _RemovableHandle:
        """Call ``hook(optimizer, args, kwargs)`` after every ``step``."""
        self._step_post_hooks.append(hook)
        return _RemovableHandle(self._step_post_hooks, hook)

    # ---- the update loop's shared pieces ----
    def _init_state(self, p: Tensor, state: dict, group: dict) -> None:
        """Fill the empty ``state`` of ``p`` before its first update (subclasses)."""

    def _grads(self, group: dict, stateful: bool = True) -> Iterator[tuple]:
        """Yield ``(param, its array, grad array, state)`` for each parameter with a gradient; the
        gradient is negated under ``maximize``; a sparse one is ``COOData`` (see
        :meth:`_sparse_grad`). The caller updates the array in place; its
        version counter is bumped when control comes back here."""
        maximize = group.get("maximize", False)
        for p in group["params"]:
            grad = p.grad
            if grad is None:
                continue
            if grad.is_sparse:
                g = self._sparse_grad(grad, maximize)
            else:
                g = -grad._data if maximize else grad._data
            state = None
            if stateful:
                state = self.state[p]
                if not state:
                    self._init_state(p, state, group)
            yield p, p._data, g, state
            p._version_box[0] += 1

    # PyTorch's RuntimeError when a sparse gradient reaches an optimizer that has no sparse
    # update; None in those that have one (SGD, Adagrad), whose loop then gets COO data
    _sparse_refusal: Optional[str] = "{} does not support sparse gradients"

    def _sparse_grad(self, grad: Tensor, maximize: bool) -> Any:
        """A sparse gradient's ``COOData`` (values negated under ``maximize``), or PyTorch's
        refusal."""
        if self._sparse_refusal is not None:
            raise RuntimeError(self._sparse_refusal.format(type(self).__name__))
        data = grad._data
        if not maximize:
            return data
        return type(data)(data.indices, -data.values, data.shape, data.coalesced)

    # ---- state_dict ----
    def state_dict(self) -> dict:
        """The state and the groups, parameters replaced by their index (PyTorch's format):
        ``{"state": {index: {...}}, "param_groups": [{..., "params": [indices]}]}``."""
        index: dict = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                packed["params"].append(index[id(p)])
            groups.append(packed)
        state = {index[id(p)]: s for p, s in self._param_states() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore what :meth:`state_dict` returned. Tensors are copied; floating-point state
        (except ``step``) is cast to its parameter's dtype.

        Args:
            state_dict: an optimizer state, e.g. from :meth:`state_dict` or ``ds.load``.
        """
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(a["params"]) != len(b["params"]) for a, b in zip(self.param_groups, groups)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match "
                             "the size of optimizer's group")
        by_index = {i: p for mine, theirs in zip(self.param_groups, groups)
                    for i, p in zip(theirs["params"], mine["params"])}
        self.state = defaultdict(dict)
        for key, s in state_dict["state"].items():
            p = by_index.get(int(key))
            if p is None:
                continue
            self.state[p] = {k: _copy_state(v, p, k) for k, v in s.items()}
        for mine, theirs in zip(self.param_groups, groups):
            mine.update({k: v for k, v in theirs.items() if k != "params"})
        for buf in (b for bufs in self._flat.values() for b in bufs):
            per_param = [self.state.pop(p, {}) for p in buf.params]
            if per_param[0]:
                self.state[buf.data] = {
                    k: v if k == "step" or not isinstance(v, Tensor) else Tensor._wrap(
                        np.concatenate([s[k]._data.reshape(-1) for s in per_param]), v._device)
                    for k, v in per_param[0].items()}

    def _param_states(self) -> Iterator[tuple]:
        """(parameter, state) pairs; a flat buffer's state is shown as per-parameter views."""
        flat = {id(b.data): b for bufs in self._flat.values() for b in bufs}
        for p, s in self.state.items():
            buf = flat.get(id(p))
            if buf is None:
                yield p, s
                continue
            for q, lo, hi in zip(buf.params, buf.offsets, buf.offsets[1:]):
                yield q, {k: v if k == "step" or not isinstance(v, Tensor) or v.ndim != 1
                          else Tensor._wrap(v._data[lo:hi].reshape(q._data.shape), v._device)
                          for k, v in s.items()}


def _copy_state(value: Any, p: Tensor, key: str) -> Any:
    """A deep copy of one state entry, floating tensors cast to ``p``'s dtype (not ``step``)."""
    if isinstance(value, Tensor):
        data = value._data
        if key != "step" and value.is_floating_point() and data.dtype != p._data.dtype:
            return Tensor._wrap(data.astype(p._data.dtype), p._device)
        return Tensor._wrap(data.copy(), p._device)
    if isinstance(value, (dict, OrderedDict)):
        return {k: _copy_state(v, p, k) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_copy_state(v, p, key) for v in value)
    return value


def check_real(optimizer: Optimizer, name: str, value: Any) -> Any:
    """The number check every hyperparameter goes through: ``value`` must be a real Python or
    NumPy scalar (bool counts, as in PyTorch), or for ``lr`` a 1-element Tensor, as PyTorch
    allows. Returns the number, ready to compare with floats (a Tensor or NumPy value
    as its Python number)."""
    owner = type(optimizer).__name__
    if isinstance(value, Tensor) and name == "lr":
        if value.numel() != 1:
            raise ValueError(f"{owner}: Tensor lr must be 1-element, got shape "
                             f"{tuple(value.shape)}")
        number = value._data.reshape(())
    else:
        number = value
    if isinstance(number, (np.ndarray, np.generic)):
        if number.ndim == 0 and number.dtype.kind in "biuf":
            return number.item()
    elif isinstance(number, numbers.Real):
        return number
    expected = "a real number or a 1-element Tensor" if name == "lr" else "a real number"
    raise TypeError(f"{owner}: {name} must be {expected}, got {type(value).__name__} {value!r}")


def read_group(group: dict) -> dict:
    """``group`` as an update reads it: a Tensor ``lr`` becomes its current Python float (the
    update math and the fused kernels take numbers), read at every step so that a scheduler's
    ``fill_`` or the user's in-place change takes effect at the next one, as in PyTorch. Other
    groups come back as they are."""
    lr = group["lr"]
    if not isinstance(lr, Tensor):
        return group
    # the array, not .item(): a traced step (ds.jit) refuses .item() on tensors it did not make
    return dict(group, lr=float(lr._to_host().reshape(())))


def check(optimizer: Optimizer, name: str, value: Any, message: str, *,
          at_most: Optional[float] = None, below: Optional[float] = None) -> None:
    """Check that the hyperparameter ``name`` is a real number (see :func:`check_real`) in
    ``[0, at_most]`` or ``[0, below)`` (no upper bound by default); out of range raises
    PyTorch's ValueError, ``f"{message}: {value}"``, after the optimizer's name."""
    number = check_real(optimizer, name, value)
    if not (0.0 <= number and (at_most is None or number <= at_most)
            and (below is None or number < below)):
        raise ValueError(f"{type(optimizer).__name__}: {message}: {value}")


def check_betas(optimizer: Optimizer, lr: Any, eps: Any, betas: Any, weight_decay: Any) -> None:
    """The checks every Adam-family optimizer makes, in PyTorch's order."""
    check(optimizer, "lr", lr, "Invalid learning rate")
    check(optimizer, "eps", eps, "Invalid epsilon value")
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise TypeError(f"{type(optimizer).__name__}: betas must be a pair of real numbers, got "
                        f"{type(betas).__name__} {betas!r}")
    for i, beta in enumerate(betas):
        check(optimizer, f"betas[{i}]", beta, f"Invalid beta parameter at index {i}", below=1.0)
    check(optimizer, "weight_decay", weight_decay, "Invalid weight_decay value")


# ---- array helpers: PyTorch's in-place tensor idioms, in its rounding order ----
def zeros_state(p: Tensor, fill: float = 0.0) -> Tensor:
    """A state tensor shaped and typed like ``p``."""
    return Tensor._wrap(np.full_like(p._data, fill), p._device)


def step_state() -> Tensor:
    """The float32 scalar step counter PyTorch keeps in each parameter's state."""
    return Tensor._wrap(np.zeros((), dtype=np.float32))


def advance(state: dict) -> float:
    """Increment ``state["step"]`` in place and return it as a Python float."""
    step = state["step"]._data
    step += 1
    return float(step)


def apply_weight_decay(x: np.ndarray, g: np.ndarray, decay: float, lr: float,
                 decoupled: bool = False) -> np.ndarray:
    """L2 decay folded into the gradient, or (``decoupled``) applied to ``x`` in place."""
    if not decay:
        return g
    if decoupled:
        x *= 1 - lr * decay
        return g
    return g + decay * x


def lerp_(avg: np.ndarray, g: np.ndarray, weight: float, tmp: np.ndarray) -> None:
    """``avg.lerp_(g, weight)`` (``weight < 0.5``): ``avg += weight * (g - avg)``."""
    np.subtract(g, avg, out=tmp)
    tmp *= weight
    avg += tmp


def ema_square_(avg: np.ndarray, g: np.ndarray, decay: float, tmp: np.ndarray) -> None:
    """``avg.mul_(decay).addcmul_(g, g, value=1 - decay)``."""
    avg *= decay
    np.multiply(g, 1 - decay, out=tmp)
    tmp *= g
    avg += tmp


def add_ratio_(x: np.ndarray, num: np.ndarray, den: np.ndarray, value: float,
               tmp: np.ndarray) -> None:
    """``x.addcdiv_(num, den, value=value)``; ``tmp`` may alias ``den``."""
    np.divide(num, den, out=tmp)
    tmp *= value
    x += tmp
