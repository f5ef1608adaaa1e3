"""How deepseek tensors cross process boundaries: reducers registered with multiprocessing's
``ForkingPickler``, as torch's, so that queues, pipes, pools and process arguments carry them
while ``pickle.dumps`` and files still refuse them. The data is copied (torch shares memory)."""

from __future__ import annotations

from multiprocessing.reduction import ForkingPickler

import numpy as np

from ..nn.parameter import Buffer, Parameter
from ..tensor import Tensor

__all__ = ["init_reductions", "rebuild_buffer", "rebuild_parameter", "rebuild_tensor",
           "reduce_tensor"]


def _host(t: Tensor) -> np.ndarray:
    if t.requires_grad and not t.is_leaf:
        raise RuntimeError(
            "Cowardly refusing to serialize non-leaf tensor which requires_grad, since autograd "
            "does not support crossing process boundaries.  If you just want to transfer the "
            "data, call detach() on the tensor before serializing (e.g., putting it on the "
            "queue).")
    return t._data if t._device.type == "cpu" else t._to_host()


def rebuild_tensor(array: np.ndarray, device: str, requires_grad: bool) -> Tensor:
    t = Tensor._wrap(array)
    if device != "cpu":
        t = t.to(device)
    t.requires_grad = requires_grad
    return t


def rebuild_parameter(array: np.ndarray, device: str, requires_grad: bool) -> Parameter:
    return Parameter(rebuild_tensor(array, device, False), requires_grad)


def rebuild_buffer(array: np.ndarray, device: str, persistent: bool) -> Buffer:
    return Buffer(rebuild_tensor(array, device, False), persistent=persistent)


def reduce_tensor(t: Tensor) -> tuple:
    """``(rebuild, args)`` for a Tensor, Parameter or Buffer: its data (a copy on the other
    side), device and ``requires_grad`` (a Buffer's ``persistent``); never its ``grad`` or
    graph, as torch's."""
    if isinstance(t, Parameter):
        return rebuild_parameter, (_host(t), str(t.device), t.requires_grad)
    if isinstance(t, Buffer):
        return rebuild_buffer, (_host(t), str(t.device), getattr(t, "persistent", True))
    return rebuild_tensor, (_host(t), str(t.device), t.requires_grad)


def init_reductions() -> None:
    """Register the reducers (pickle's table is by exact type, hence one line per class)."""
    for cls in (Tensor, Parameter, Buffer):
        ForkingPickler.register(cls, reduce_tensor)
