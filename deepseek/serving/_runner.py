"""Running the model on one stacked batch: padding to bucket sizes, ``ds.no_grad()``, ``ds.jit``
with a fall back to eager, and turning the outputs back into NumPy rows."""

from __future__ import annotations

import logging
from typing import Any, Callable, Optional

import numpy as np

from .._creation import from_numpy
from ..autograd.grad_mode import no_grad
from ..tensor import Tensor

logger = logging.getLogger("deepseek.serving")


class ModelOutputError(RuntimeError):
    """The model returned something that cannot be split back into one output per example."""


def bucket_sizes(max_batch_size: int) -> list:
    """Powers of two below ``max_batch_size``, then ``max_batch_size`` itself."""
    sizes, size = [], 1
    while size < max_batch_size:
        sizes.append(size)
        size *= 2
    return sizes + [max_batch_size]


class ModelRunner:
    """Calls ``fn`` on a batch of examples under ``ds.no_grad()``.

    With ``compile=True`` the function goes through ``ds.jit`` and every batch is padded (by
    repeating its first example) to the next bucket size, so at most
    ``log2(max_batch_size) + 1`` shapes are ever traced; the padding rows are sliced off the
    outputs. This assumes examples do not influence each other's outputs (true of a model in
    eval mode). If compiling fails where eager execution works, the runner logs why and
    serves eagerly from then on.
    """

    def __init__(self, fn: Callable, *, compile: bool, max_batch_size: int,
                 device: Any = None) -> None:
        self.fn = fn
        self.device = device
        self.compiled: Optional[Callable] = None
        self.buckets: Optional[list] = None
        self.eager_reason: Optional[str] = None
        if compile:
            from ..jit import jit

            self.compiled = jit(fn)
            self.buckets = bucket_sizes(max_batch_size)

    @property
    def traces(self) -> int:
        return getattr(self.compiled, "_traces", 0)

    def padded_size(self, n: int) -> int:
        if self.buckets is None:
            return n
        return next((size for size in self.buckets if size >= n), n)

    def __call__(self, batch: np.ndarray) -> Any:
        """The model's outputs for ``batch`` (its first dimension the examples): the same
        structure as the model returns, with NumPy arrays of ``len(batch)`` rows for tensors."""
        n = len(batch)
        size = self.padded_size(n)
        if size > n:
            batch = np.concatenate([batch, np.repeat(batch[:1], size - n, axis=0)])
        x = from_numpy(np.ascontiguousarray(batch))
        if self.device is not None and x.device.type != self.device.type:
            x = x.to(self.device)
        with no_grad():
            out = self._call(x)
        return _to_rows(out, n, size, "output")

    def _call(self, x: Tensor) -> Any:
        if self.compiled is None:
            return self.fn(x)
        try:
            return self.compiled(x)
        except Exception as compiled_error:
            out = self.fn(x)  # the model's own error, if it has one, is the one to report
            self.eager_reason = f"{type(compiled_error).__name__}: {compiled_error}"
            logger.warning("ds.jit could not compile the model (%s); serving it eagerly",
                           self.eager_reason)
            self.compiled = None
            self.buckets = None
            return out


def _to_rows(out: Any, n: int, size: int, where: str) -> Any:
    if isinstance(out, Tensor):
        array = out.detach().numpy()
        if array.ndim == 0 or array.shape[0] != size:
            raise ModelOutputError(f"the model's {where} has shape {list(array.shape)}; "
                                   f"expected the batch ({size}) as its first dimension")
        return array[:n]
    if isinstance(out, (tuple, list)):
        return [_to_rows(v, n, size, f"{where}[{i}]") for i, v in enumerate(out)]
    if isinstance(out, dict):
        return {str(k): _to_rows(v, n, size, f"{where}[{k!r}]") for k, v in out.items()}
    raise ModelOutputError(f"the model's {where} is a {type(out).__name__}; expected a tensor, "
                           "or a tuple, list or dict of tensors, with the batch as first dimension")


def rows(outputs: Any, start: int, stop: int) -> Any:
    """Rows ``start:stop`` of what :class:`ModelRunner` returned, copied."""
    if isinstance(outputs, np.ndarray):
        return outputs[start:stop].copy()
    if isinstance(outputs, list):
        return [rows(v, start, stop) for v in outputs]
    return {k: rows(v, start, stop) for k, v in outputs.items()}


def to_json(outputs: Any, count: int) -> list:
    """One JSON-ready value per example from rows of outputs."""
    if isinstance(outputs, np.ndarray):
        if outputs.dtype.kind == "c":  # JSON has no complex numbers: [real, imag] pairs
            outputs = np.stack([outputs.real, outputs.imag], axis=-1)
        elif outputs.dtype.kind not in "biuf":  # bfloat16, float8 (ml_dtypes)
            outputs = outputs.astype(np.float32)
        return outputs.tolist()
    if isinstance(outputs, list):
        parts = [to_json(v, count) for v in outputs]
        return [[part[i] for part in parts] for i in range(count)]
    parts = {k: to_json(v, count) for k, v in outputs.items()}
    return [{k: part[i] for k, part in parts.items()} for i in range(count)]
