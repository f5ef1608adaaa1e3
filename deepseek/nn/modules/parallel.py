"""``torch.nn.parallel``: ``DataParallel`` (a module run on the batch from one process;
without a CUDA device it runs the module as it is) and ``DistributedDataParallel``."""

from __future__ import annotations

from typing import Any, Optional, Sequence

from ...backend import device as _device
from ...tensor import Tensor
from .distributed import DistributedDataParallel
from .module import Module

__all__ = ["DataParallel", "DistributedDataParallel"]


def _device_index(d: Any) -> int:
    if isinstance(d, int):
        return d
    index = _device(d).index
    return 0 if index is None else index


def _to(value: Any, device: Any) -> Any:
    """``value`` with every tensor in it (through tuples, lists and dicts) moved to
    ``device``."""
    if isinstance(value, Tensor):
        return value.to(device)
    if isinstance(value, (tuple, list)):
        return type(value)(_to(v, device) for v in value)
    if isinstance(value, dict):
        return {k: _to(v, device) for k, v in value.items()}
    return value


class DataParallel(Module):
    """Run ``module`` on the batch, as ``torch.nn.DataParallel``; the wrapped module is
    ``module``, so state_dict keys carry the prefix ``module.``.

    Without a CUDA device (the CPU build) ``forward`` calls ``module`` unchanged and
    ``device_ids`` is empty, as in torch. With one CUDA device the module is moved there and
    the inputs follow it. Splitting a batch across several GPUs is not supported yet: pass one
    device id.

    Args:
        module: the module to run.
        device_ids: the CUDA devices to use (default: all).
        output_device: where the output goes (default: ``device_ids[0]``).
        dim: the batch dimension the inputs would be split along. Default: 0.

    Example:
        >>> net = ds.nn.DataParallel(ds.nn.Linear(4, 2))
        >>> net(ds.randn(8, 4)).shape
        deepseek.Size([8, 2])
        >>> list(net.state_dict())
        ['module.weight', 'module.bias']
    """

    def __init__(self, module: Module, device_ids: Optional[Sequence[Any]] = None,
                 output_device: Any = None, dim: int = 0) -> None:
        super().__init__()
        from ... import cuda

        if not isinstance(module, Module):
            raise TypeError(f"[DataParallel] module must be an nn.Module, got "
                            f"{type(module).__name__}")
        self.module = module
        self.dim = dim
        self.device_ids: list = []
        self.output_device = None
        if not cuda.is_available():
            return
        if device_ids is None:
            device_ids = range(cuda.device_count())
        self.device_ids = [_device_index(d) for d in device_ids]
        if not self.device_ids:
            raise RuntimeError("[DataParallel] no available devices were found")
        if len(self.device_ids) > 1:
            raise NotImplementedError(f"[DataParallel] splitting the batch across "
                                      f"{len(self.device_ids)} devices {self.device_ids} is not "
                                      "supported yet; pass device_ids=[one index]")
        self.output_device = _device_index(self.device_ids[0] if output_device is None
                                           else output_device)
        self.src_device_obj = _device("cuda", self.device_ids[0])
        self.module.to(self.src_device_obj)

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        if not self.device_ids:
            return self.module(*inputs, **kwargs)
        for t in list(self.module.parameters()) + list(self.module.buffers()):
            if t.device != self.src_device_obj:
                raise RuntimeError(f"[DataParallel] module must have its parameters and "
                                   f"buffers on device {self.src_device_obj} (device_ids[0]) "
                                   f"but found one of them on device: {t.device}")
        out = self.module(*_to(inputs, self.src_device_obj), **_to(kwargs, self.src_device_obj))
        return _to(out, _device("cuda", self.output_device))
