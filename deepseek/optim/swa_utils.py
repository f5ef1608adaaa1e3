"""Weight averaging, as ``torch.optim.swa_utils``: ``AveragedModel`` (SWA or EMA of a model's
parameters), the ``SWALR`` schedule, ``update_bn`` and the averaging functions."""

from __future__ import annotations

import itertools
import math
from copy import deepcopy
from typing import Any, Callable, Iterable, Optional

from .. import dtypes as _dt
from .._creation import tensor
from ..autograd.grad_mode import no_grad
from ..nn.modules.batchnorm import _BatchNorm
from ..nn.modules.module import Module
from ..tensor import Tensor
from .lr_scheduler import LRScheduler, _per_group
from .optimizer import Optimizer

__all__ = ["AveragedModel", "update_bn", "SWALR", "get_ema_multi_avg_fn", "get_swa_multi_avg_fn",
           "get_ema_avg_fn", "get_swa_avg_fn"]


def _check_decay(owner: str, decay: float) -> None:
    if not 0.0 <= decay <= 1.0:
        raise ValueError(f"{owner}: Invalid decay value {decay} provided. Please provide a value "
                         "in [0,1] range.")


def get_ema_multi_avg_fn(decay: float = 0.999) -> Callable:
    """The in-place exponential moving average of lists of tensors, for ``AveragedModel``'s
    ``multi_avg_fn``: ``ema = decay * ema + (1 - decay) * current``.

    Args:
        decay: the decay rate, in [0, 1]. Default: 0.999.

    Example:
        >>> ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.99))
    """
    _check_decay("get_ema_multi_avg_fn", decay)

    def ema_update(ema_params: list, current_params: list, num_averaged: Any) -> None:
        with no_grad():
            for ema, current in zip(ema_params, current_params):
                if ema.is_floating_point() or ema.is_complex():
                    ema.lerp_(current, 1 - decay)
                else:
                    ema.copy_(ema * decay + current * (1 - decay))

    return ema_update


def get_swa_multi_avg_fn() -> Callable:
    """The in-place running mean of lists of tensors, for ``AveragedModel``'s
    ``multi_avg_fn``: ``avg += (current - avg) / (num_averaged + 1)``.

    Example:
        >>> swa = AveragedModel(model, multi_avg_fn=get_swa_multi_avg_fn())
    """

    def swa_update(averaged_params: list, current_params: list, num_averaged: Any) -> None:
        with no_grad():
            for averaged, current in zip(averaged_params, current_params):
                if averaged.is_floating_point() or averaged.is_complex():
                    averaged.lerp_(current, 1 / (num_averaged + 1))
                else:
                    averaged.add_((current - averaged) / (num_averaged + 1))

    return swa_update


def get_ema_avg_fn(decay: float = 0.999) -> Callable:
    """The exponential moving average of one tensor, for ``AveragedModel``'s ``avg_fn``:
    returns ``decay * ema + (1 - decay) * current``.

    Args:
        decay: the decay rate, in [0, 1]. Default: 0.999.

    Example:
        >>> ema = AveragedModel(model, avg_fn=get_ema_avg_fn(0.99))
    """
    _check_decay("get_ema_avg_fn", decay)

    def ema_update(ema_param: Tensor, current_param: Tensor, num_averaged: Any) -> Tensor:
        with no_grad():
            return decay * ema_param + (1 - decay) * current_param

    return ema_update


def get_swa_avg_fn() -> Callable:
    """The running mean of one tensor, for ``AveragedModel``'s ``avg_fn``: returns
    ``avg + (current - avg) / (num_averaged + 1)``.

    Example:
        >>> swa = AveragedModel(model, avg_fn=get_swa_avg_fn())
    """

    def swa_update(averaged_param: Tensor, current_param: Tensor, num_averaged: Any) -> Tensor:
        with no_grad():
            return averaged_param + (current_param - averaged_param) / (num_averaged + 1)

    return swa_update


class AveragedModel(Module):
    """A copy of ``model`` whose parameters are the running average (SWA by default, or EMA
    through ``avg_fn``/``multi_avg_fn``) of the ``model`` passed to each
    :meth:`update_parameters`. The copy is ``module``, so the state_dict keys are those of
    ``model`` prefixed ``module.``, plus the ``n_averaged`` count.

    Args:
        model: the model to average (deep-copied).
        device: move the copy there. Default: None (where ``model`` is).
        avg_fn: ``avg_fn(averaged, current, num_averaged) -> new averaged`` for one tensor.
        multi_avg_fn: ``multi_avg_fn(averaged_list, current_list, num_averaged)`` updating a
            list of tensors (of one device and dtype) in place.
        use_buffers: average the buffers too (instead of copying them from ``model``).
            Default: False.

    Example:
        >>> swa_model = ds.optim.swa_utils.AveragedModel(model)
        >>> for step in range(100):
        ...     train_step(model)
        ...     swa_model.update_parameters(model)
    """

    def __init__(self, model: Module, device: Any = None, avg_fn: Optional[Callable] = None,
                 multi_avg_fn: Optional[Callable] = None, use_buffers: bool = False) -> None:
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise AssertionError("AveragedModel: Only one of avg_fn and multi_avg_fn should be "
                                 "provided")
        self.module = deepcopy(model)
        if device is not None:
            self.module = self.module.to(device)
        self.register_buffer("n_averaged", tensor(0, dtype=_dt.int64, device=device))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = use_buffers

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """Run the averaged copy."""
        return self.module(*args, **kwargs)

    def _tensors(self, model: Module) -> Iterable[Tensor]:
        if self.use_buffers:
            return itertools.chain(model.parameters(), model.buffers())
        return model.parameters()

    def update_parameters(self, model: Module) -> None:
        """Fold the parameters (and, with ``use_buffers``, the buffers) of ``model`` into the
        average; the first call copies them. Without ``use_buffers`` the buffers are copied.

        Args:
            model: a model of the same structure as the averaged one.
        """
        with no_grad():
            pairs = [(a.detach(), m.detach().to(a.device))
                     for a, m in zip(self._tensors(self.module), self._tensors(model))]
            count = int(self.n_averaged.item())
            if count == 0:
                for averaged, current in pairs:
                    averaged.copy_(current)
            elif self.avg_fn is not None:
                for averaged, current in pairs:
                    averaged.copy_(self.avg_fn(averaged, current, self.n_averaged))
            elif self.multi_avg_fn is not None:
                groups: dict = {}
                for averaged, current in pairs:
                    key = (str(averaged.device), averaged.dtype)
                    groups.setdefault(key, ([], []))
                    groups[key][0].append(averaged)
                    groups[key][1].append(current)
                for (device, _), (averaged, current) in groups.items():
                    self.multi_avg_fn(averaged, current, self.n_averaged.to(device))
            else:
                average = get_swa_avg_fn()
                for averaged, current in pairs:
                    averaged.copy_(average(averaged, current, self.n_averaged))
            if not self.use_buffers:
                for mine, theirs in zip(self.module.buffers(), model.buffers()):
                    mine.copy_(theirs.detach().to(mine.device))
            self.n_averaged.add_(1)


def update_bn(loader: Iterable, model: Module, device: Any = None) -> None:
    """Recompute the running statistics of every batch-norm layer of ``model`` with one pass
    over ``loader`` (a cumulative average over its batches), e.g. after averaging weights.
    A batch that is a list or tuple contributes its first element. The model's training
    mode and the layers' momenta are restored.

    Args:
        loader: an iterable of input batches.
        model: the model whose batch-norm statistics are recomputed.
        device: move each batch there first. Default: None.

    Example:
        >>> ds.optim.swa_utils.update_bn(train_loader, swa_model)
    """
    momenta = {}
    for module in model.modules():
        if isinstance(module, _BatchNorm):
            module.reset_running_stats()
            momenta[module] = module.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for module in momenta:
        module.momentum = None
    with no_grad():
        for batch in loader:
            if isinstance(batch, (list, tuple)):
                batch = batch[0]
            if device is not None:
                batch = batch.to(device)
            model(batch)
    for module, momentum in momenta.items():
        module.momentum = momentum
    model.train(was_training)


class SWALR(LRScheduler):
    """Anneal each group's learning rate to ``swa_lr`` over ``anneal_epochs`` steps (cosine or
    linear), then hold it, as ``torch.optim.swa_utils.SWALR``.

    Args:
        optimizer: the optimizer whose learning rates are scheduled.
        swa_lr: the rate to anneal to, or one per parameter group.
        anneal_epochs: the number of annealing steps (``>= 0``). Default: 10.
        anneal_strategy: ``"cos"`` or ``"linear"``. Default: ``"cos"``.
        last_epoch: index of the last epoch, to resume a schedule. Default: -1.

    Example:
        >>> scheduler = SWALR(optimizer, swa_lr=0.05, anneal_epochs=5)
        >>> for epoch in range(10):
        ...     train(...); scheduler.step()
    """

    def __init__(self, optimizer: Optimizer, swa_lr: Any, anneal_epochs: int = 10,
                 anneal_strategy: str = "cos", last_epoch: int = -1) -> None:
        for rate, group in zip(_per_group("swa_lr", optimizer, swa_lr), optimizer.param_groups):
            group["swa_lr"] = rate
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError("SWALR: anneal_strategy must be one of 'cos' or 'linear', instead "
                             f"got {anneal_strategy}")
        self._anneal_strategy = anneal_strategy
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError("SWALR: anneal_epochs must be equal or greater than 0, got "
                             f"{anneal_epochs}")
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    def anneal_func(self, t: float) -> float:
        """The fraction of the way to ``swa_lr`` at fraction ``t`` of the annealing."""
        if self._anneal_strategy == "cos":
            return (1 - math.cos(math.pi * t)) / 2
        return t

    def _progress(self, step: int) -> float:
        return self.anneal_func(max(0, min(1, step / max(1, self.anneal_epochs))))

    def get_lr(self) -> list:
        """The rates of the current step. In the chainable form: the rate the previous step's
        mix ``alpha' * swa_lr + (1 - alpha') * lr0`` started from is recovered as ``lr0``,
        and mixed again with this step's ``alpha``."""
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        previous, alpha = self._progress(step - 1), self._progress(step)
        rates = []
        for group in self.optimizer.param_groups:
            lr, swa_lr = group["lr"], group["swa_lr"]
            start = swa_lr if previous == 1 else (lr - previous * swa_lr) / (1 - previous)
            rates.append(swa_lr * alpha + start * (1 - alpha))
        return rates
