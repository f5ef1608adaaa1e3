"""``GradScaler``: dynamic loss scaling, with PyTorch's per-optimizer state machine
(ready -> unscaled -> stepped, reset by ``update``), plus a floor on the scale that names the
parameter whose gradient keeps overflowing."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ..ops._opdef import TRACER
from ..tensor import Tensor
from .master import move_grads_to_masters

__all__ = ["GradScaler"]

_F16 = np.dtype(np.float16)
_F32 = np.dtype(np.float32)
_READY, _UNSCALED, _STEPPED = "ready", "unscaled", "stepped"
_NO_SCALE = ("Attempted {} but the scale is not initialized. This may indicate your script did "
             "not use scaler.scale(loss or outputs) earlier in the iteration: call "
             "scaler.scale(loss).backward() before scaler.unscale_/step/update.")


def _not_traced(why: str) -> None:
    """Under ds.jit's tracing: a clear error, not a graph that silently leaves this out."""
    if TRACER[0] is not None:
        TRACER[0].unsupported(f"GradScaler.{why}. Compile the forward and backward (with "
                              "scaler.scale(loss).backward() inside) and call "
                              "scaler.step(optimizer) and scaler.update() after the compiled "
                              "function returns")


def _new_state() -> dict:
    return {"stage": _READY, "found_inf": False, "first_nonfinite": None}


class GradScaler:
    """Scales the loss so low-precision gradients do not underflow, unscales the gradients before
    the optimizer step, skips steps whose gradients hold inf/NaN and adapts the scale.

    Each iteration: ``scaler.scale(loss).backward()``, optionally ``scaler.unscale_(opt)`` (to
    clip gradients), ``scaler.step(opt)``, ``scaler.update()``. The scale is multiplied by
    ``backoff_factor`` after a step with non-finite gradients, and by ``growth_factor`` after
    ``growth_interval`` steps in a row without.

    Args:
        device: ``'cpu'`` (``'cuda'`` disables the scaler with a warning while no CUDA backend is
            available). Default: ``'cpu'``.
        init_scale: the initial scale. Default: ``2.0**16``.
        growth_factor: multiplies the scale after ``growth_interval`` clean steps. Default: 2.0.
        backoff_factor: multiplies the scale after a step with inf/NaN gradients. Default: 0.5.
        growth_interval: clean steps between growths. Default: 2000.
        enabled: when False every method is a no-op (``step`` just calls ``optimizer.step``).
            Default: True.
        min_scale: (deepseek only) ``update`` raises once the scale falls below it, naming the
            first parameter whose gradient was non-finite: gradients that overflow at every
            scale come from a bug, not from precision. ``0`` disables the check.
            Default: ``2.0**-24``.

    Example:
        >>> model = ds.nn.Linear(4, 1)
        >>> opt = ds.optim.SGD(model.parameters(), lr=0.1)
        >>> scaler = ds.amp.GradScaler()
        >>> with ds.autocast("cpu"):
        ...     loss = model(ds.randn(8, 4)).float().square().mean()
        >>> scaler.scale(loss).backward()
        >>> scaler.step(opt)
        >>> scaler.update()
    """

    def __init__(self, device: str = "cpu", init_scale: float = 2.0**16,
                 growth_factor: float = 2.0, backoff_factor: float = 0.5,
                 growth_interval: int = 2000, enabled: bool = True,
                 min_scale: float = 2.0**-24) -> None:
        self._device = device
        if enabled and device == "cuda":
            warnings.warn("GradScaler is enabled, but CUDA is not available (deepseek has no CUDA "
                          "backend in this build). Disabling; use GradScaler('cpu').",
                          stacklevel=2)
            enabled = False
        self._enabled = bool(enabled)
        if self._enabled:
            if growth_factor <= 1.0:
                raise AssertionError("The growth factor must be > 1.0.")
            if backoff_factor >= 1.0:
                raise AssertionError("The backoff factor must be < 1.0.")
        self._init_scale = float(init_scale)
        self._growth_factor = float(growth_factor)
        self._backoff_factor = float(backoff_factor)
        self._growth_interval = int(growth_interval)
        self._init_growth_tracker = 0
        self._min_scale = float(min_scale)
        # the scale as a tensor too, written in place: ds.jit reads it at every run of a
        # compiled function that scales a loss, instead of baking in the scale it traced with
        self._factor = Tensor._wrap(np.ones((), _F32))
        self._scale: np.float32 | None = None  # float32, as PyTorch's scale tensor
        self._growth_tracker: int | None = None
        self._skipped_in_a_row = 0
        self._per_optimizer_states: dict = {}

    def _optimizer_state(self, optimizer: Any) -> dict:
        key = id(optimizer)
        state = self._per_optimizer_states.get(key)
        if state is None:
            state = self._per_optimizer_states[key] = _new_state()
            state["optimizer"] = optimizer
        return state

    @property
    def _scale(self) -> np.float32 | None:
        return self._scale_value

    @_scale.setter
    def _scale(self, value: np.float32 | None) -> None:
        self._scale_value = value
        if value is not None:
            self._factor._data[()] = value

    def _check_initialized(self, funcname: str) -> None:
        if self._scale is None:
            raise RuntimeError(_NO_SCALE.format(funcname))

    # ---- scaling ----
    def scale(self, outputs: Any) -> Any:
        """Multiply ``outputs`` (a tensor, or a list/tuple of them, nested) by the scale."""
        if not self._enabled:
            return outputs
        if self._scale is None:
            self._scale = np.float32(self._init_scale)
            self._growth_tracker = self._init_growth_tracker
        return self._scale_all(outputs, self._factor)

    def _scale_all(self, outputs: Any, factor: Tensor) -> Any:
        if isinstance(outputs, Tensor):
            return outputs * factor
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self._scale_all(o, factor) for o in outputs)
        raise ValueError("outputs must be a Tensor or an iterable of Tensors")

    def unscale_(self, optimizer: Any) -> None:
        """Divide ``optimizer``'s gradients by the scale in place (once per iteration, before
        ``step``), recording whether any is inf/NaN. Call it to clip or inspect gradients."""
        if not self._enabled:
            return
        _not_traced("unscale_ (which step calls) reads the gradients for inf/NaN, and whether "
                    "the optimizer steps depends on that")
        self._check_initialized("unscale_")
        state = self._optimizer_state(optimizer)
        if state["stage"] == _UNSCALED:
            raise RuntimeError("unscale_() has already been called on this optimizer since the "
                               "last update().")
        if state["stage"] == _STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        move_grads_to_masters(optimizer)
        inv_scale = np.float32(1.0 / float(self._scale))  # the reciprocal in float64
        for gi, group in enumerate(optimizer.param_groups):
            names = group.get("param_names")
            for pi, p in enumerate(group["params"]):
                if p.grad is None:
                    continue
                g = p.grad._data
                if g.dtype == _F16:
                    raise ValueError("Attempting to unscale FP16 gradients. Keep float32 "
                                     "parameters (with ds.autocast), or float32 master copies "
                                     "of a float16 model: ds.amp.master_weights(model, "
                                     "optimizer).")
                if not state["found_inf"] and not np.isfinite(g).all():
                    state["found_inf"] = True
                    state["first_nonfinite"] = (gi, pi, None if names is None else names[pi])
                np.multiply(g, inv_scale, out=g, casting="unsafe")
                p.grad._version_box[0] += 1
        state["stage"] = _UNSCALED

    def step(self, optimizer: Any, *args: Any, **kwargs: Any) -> Any:
        """Unscale ``optimizer``'s gradients (unless ``unscale_`` was called) and run
        ``optimizer.step(*args, **kwargs)`` if they are all finite; returns its result, or None
        when the step is skipped."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is enabled.")
        self._check_initialized("step")
        state = self._optimizer_state(optimizer)
        if state["stage"] == _STEPPED:
            raise RuntimeError("step() has already been called since the last update(). Call "
                               "scaler.update() once per iteration, after the step.")
        if state["stage"] == _READY:
            self.unscale_(optimizer)
        result = None if state["found_inf"] else optimizer.step(*args, **kwargs)
        state["stage"] = _STEPPED
        return result

    def update(self, new_scale: Any = None) -> None:
        """Adapt the scale from this iteration's steps (or set it to ``new_scale``, a float or
        a one-element tensor), and start a new iteration."""
        if not self._enabled:
            return
        _not_traced("update changes the scale in Python, which compiled runs would skip")
        self._check_initialized("update")
        states = list(self._per_optimizer_states.values())
        self._per_optimizer_states = {}
        if new_scale is not None:
            self._scale = np.float32(self._new_scale_value(new_scale))
            return
        if not states:
            raise AssertionError("No inf checks were recorded prior to update(): call "
                                 "scaler.step(optimizer) (or scaler.unscale_(optimizer)) first.")
        bad = [s for s in states if s["found_inf"]]
        if not bad:
            self._skipped_in_a_row = 0
            self._growth_tracker += 1
            if self._growth_tracker == self._growth_interval:
                grown = np.float32(float(self._scale) * self._growth_factor)
                if np.isfinite(grown):
                    self._scale = grown
                self._growth_tracker = 0
            return
        self._skipped_in_a_row += 1
        self._scale = np.float32(float(self._scale) * self._backoff_factor)
        self._growth_tracker = 0
        if self._scale < self._min_scale:
            raise RuntimeError(self._collapse_message(bad[0]))

    def _new_scale_value(self, new_scale: Any) -> float:
        if isinstance(new_scale, float):
            return new_scale
        if (not isinstance(new_scale, Tensor) or new_scale.numel() != 1
                or new_scale.requires_grad):
            raise AssertionError("new_scale should be a float or a 1-element float32 Tensor "
                                 "with requires_grad=False.")
        return float(new_scale._data.reshape(()))

    def _collapse_message(self, state: dict) -> str:
        gi, pi, name = state["first_nonfinite"]
        where = f"param_groups[{gi}]['params'][{pi}]" + (f" ({name!r})" if name else "")
        return (f"[GradScaler] the loss scale fell to {float(self._scale)}, below min_scale="
                f"{self._min_scale}, after {self._skipped_in_a_row} steps in a row with inf/NaN "
                f"gradients; in the last one the first non-finite gradient was {where} of "
                f"{type(state['optimizer']).__name__}. Gradients that overflow at every scale "
                "come from the model or the loss (a NaN/inf input, log(0), a division by zero, "
                "a learning rate that is too high), not from precision: fix the cause, or pass "
                "a lower min_scale to GradScaler.")

    # ---- accessors ----
    def get_scale(self) -> float:
        """The current scale (1.0 when disabled)."""
        if not self._enabled:
            return 1.0
        return self._init_scale if self._scale is None else float(self._scale)

    def get_growth_factor(self) -> float:
        return self._growth_factor

    def set_growth_factor(self, new_factor: float) -> None:
        self._growth_factor = float(new_factor)

    def get_backoff_factor(self) -> float:
        return self._backoff_factor

    def set_backoff_factor(self, new_factor: float) -> None:
        self._backoff_factor = float(new_factor)

    def get_growth_interval(self) -> int:
        return self._growth_interval

    def set_growth_interval(self, new_interval: int) -> None:
        self._growth_interval = int(new_interval)

    def _get_growth_tracker(self) -> int:
        return self._init_growth_tracker if self._growth_tracker is None else self._growth_tracker

    def is_enabled(self) -> bool:
        return self._enabled

    def state_dict(self) -> dict:
        """The scale, the factors, the interval and the growth tracker (empty when disabled)."""
        if not self._enabled:
            return {}
        return {"scale": self.get_scale(), "growth_factor": self._growth_factor,
                "backoff_factor": self._backoff_factor, "growth_interval": self._growth_interval,
                "_growth_tracker": self._get_growth_tracker()}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore what :meth:`state_dict` returned."""
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError("The source state dict is empty, possibly because it was saved "
                               "from a disabled instance of GradScaler.")
        self._init_scale = float(state_dict["scale"])
        if self._scale is not None:
            self._scale = np.float32(self._init_scale)
        self._growth_factor = float(state_dict["growth_factor"])
        self._backoff_factor = float(state_dict["backoff_factor"])
        self._growth_interval = int(state_dict["growth_interval"])
        self._init_growth_tracker = int(state_dict["_growth_tracker"])
        if self._growth_tracker is not None:
            self._growth_tracker = self._init_growth_tracker
