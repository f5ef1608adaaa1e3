"""The parallel styles, as ``torch.distributed.tensor.parallel.style``: how a module's
parameters are sharded over a 1-D mesh and how its input and output are laid out.

Without DTensor, a style keeps local shards: the module's parameters become this process's
shards (plain Parameters, so optimizers and ``state_dict`` see local shards), a forward
pre-hook brings the input into the layout the sharded compute needs, and a forward hook
brings the output into ``output_layouts`` as a plain tensor (``use_local_output=True``).
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ....nn.modules.linear import Linear
from ....nn.modules.sparse import Embedding
from ....nn.parameter import Parameter
from ....tensor import Tensor
from ... import distributed_c10d as c10d
from .. import _collectives as C
from ..placement_types import Partial, Placement, Replicate, Shard

__all__ = ["ColwiseParallel", "ParallelStyle", "RowwiseParallel", "SequenceParallel"]


class ParallelStyle:
    """The base class of the styles ``parallelize_module`` applies."""

    def _check(self, module: Any, mesh: Any, fqn: str) -> None:
        """Raise before anything changes if the style can't apply to ``module``."""
        raise NotImplementedError

    def _apply(self, module: Any, mesh: Any, fqn: str, src_data_rank: Optional[int]) -> Any:
        raise NotImplementedError


class _ShardingStyle(ParallelStyle):
    """What Colwise and Rowwise share: input/output layouts (defaults in ``_layouts``) and
    local outputs only."""

    _layouts: tuple = ()

    def __init__(self, *, input_layouts: Optional[Placement] = None,
                 output_layouts: Optional[Placement] = None,
                 use_local_output: bool = True) -> None:
        name = type(self).__name__
        self.input_layouts = _placement(input_layouts, self._layouts[0], name, "input_layouts")
        self.output_layouts = _placement(output_layouts, self._layouts[1], name,
                                         "output_layouts")
        if not use_local_output:
            raise NotImplementedError(f"[{name}] use_local_output=False returns a DTensor, "
                                      "which deepseek does not have; use use_local_output=True")
        self.use_local_output = True

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(input_layouts={self.input_layouts!r}, "
                f"output_layouts={self.output_layouts!r})")


def _placement(value: Any, default: Placement, style: str, what: str) -> Placement:
    if value is None:
        return default
    if isinstance(value, (tuple, list)) and len(value) == 1:
        value = value[0]
    if not isinstance(value, Placement):
        raise TypeError(f"[{style}] {what} must be a Placement (Shard(dim) or Replicate()), "
                        f"got {value!r}")
    return value


def _describe(module: Any, fqn: str) -> str:
    return f"{fqn!r} ({type(module).__name__})" if fqn else type(module).__name__


def _shard_dim(layout: Placement, ndim: int) -> Optional[int]:
    """The dimension a Shard layout splits, normalized for an ``ndim``-dim tensor."""
    return layout.dim % ndim if isinstance(layout, Shard) else None


def _unsupported(style: str, what: str, layout: Placement, module: Any) -> NotImplementedError:
    return NotImplementedError(f"[{style}] {what}={layout!r} is not supported for "
                               f"{type(module).__name__} without DTensor; see the style's "
                               "docstring for the layouts deepseek handles")


def _check_divisible(style: str, module: Any, fqn: str, mesh: Any, dim: int,
                     what: str) -> None:
    size = mesh.size()
    shape = tuple(module.weight.shape)
    if shape[dim] % size:
        raise ValueError(f"[{style}] can't shard {_describe(module, fqn)}: its weight of shape "
                         f"{shape} is split along dim {dim} ({what}={shape[dim]}), which a "
                         f"mesh of size {size} does not divide")


def _sync(p: Tensor, group: Any, src_data_rank: Optional[int]) -> np.ndarray:
    """The full value of ``p``, process ``src_data_rank``'s if given (as torch's
    ``distribute_tensor``), so every process shards the same tensor."""
    data = np.ascontiguousarray(p.detach()._data).copy()
    if src_data_rank is not None:
        c10d.broadcast(Tensor._wrap(data), group=group, group_src=src_data_rank)
    return data


def _shard_parameter(module: Any, name: str, dim: int, mesh: Any,
                     src_data_rank: Optional[int]) -> None:
    p = module._parameters.get(name)
    if p is None:
        return
    group = mesh.get_group()
    full = _sync(p, group, src_data_rank)
    local = np.split(full, mesh.size(), axis=dim)[c10d.get_rank(group)].copy()
    module.register_parameter(name, Parameter(Tensor._wrap(local), requires_grad=p.requires_grad))


def _replicate_parameter(module: Any, name: str, mesh: Any,
                         src_data_rank: Optional[int]) -> None:
    p = module._parameters.get(name)
    if p is None:
        return
    full = _sync(p, mesh.get_group(), src_data_rank)
    module.register_parameter(name, Parameter(Tensor._wrap(full), requires_grad=p.requires_grad))


def _gather_ids(ids: Any, layout: Placement, group: Any) -> Any:
    """Token ids in ``layout``, made whole (ids carry no gradient)."""
    if not isinstance(ids, Tensor) or isinstance(layout, Replicate):
        return ids
    return C.GatherFromParallel.apply(_shard_dim(layout, ids.ndim), False, group, ids)


def _replace_first(args: tuple, value: Any) -> tuple:
    return (value,) + tuple(args[1:])


class ColwiseParallel(_ShardingStyle):
    """Shard a module's output features: ``nn.Linear``'s weight rows and bias
    (``out_features``), ``nn.Embedding``'s embedding dimension.

    Args:
        input_layouts (Placement, optional): the input's layout: ``Replicate()`` (default)
            or ``Shard(dim)``, which is all-gathered along ``dim`` (sequence parallelism).
        output_layouts (Placement, optional): ``Shard(-1)`` (default: each process keeps its
            slice of the features) or ``Replicate()`` (all-gathered).
        use_local_output (bool): must be True: outputs are plain tensors, as deepseek has no
            DTensor.

    The backward all-reduces (or reduce-scatters) the input's gradient, a partial sum.

    Example::

        >>> parallelize_module(mlp, mesh, {"fc1": ColwiseParallel()})  # doctest: +SKIP
    """

    _layouts = (Replicate(), Shard(-1))  # the default input and output layouts

    def _check(self, module: Any, mesh: Any, fqn: str) -> None:
        name = type(self).__name__
        if isinstance(self.input_layouts, Partial):
            raise _unsupported(name, "input_layouts", self.input_layouts, module)
        if not (isinstance(self.output_layouts, Replicate)
                or self.output_layouts == Shard(-1)):
            raise _unsupported(name, "output_layouts", self.output_layouts, module)
        if isinstance(module, Linear):
            _check_divisible(name, module, fqn, mesh, 0, "out_features")
        elif isinstance(module, Embedding):
            if module.max_norm is not None:
                raise NotImplementedError(f"[{name}] {_describe(module, fqn)} has max_norm, "
                                          "whose row norms need the whole embedding dimension")
            _check_divisible(name, module, fqn, mesh, 1, "embedding_dim")
        else:
            raise NotImplementedError(f"[{name}] can't shard {_describe(module, fqn)}: "
                                      f"{name} supports nn.Linear and nn.Embedding")

    def _apply(self, module: Any, mesh: Any, fqn: str, src_data_rank: Optional[int]) -> Any:
        group = mesh.get_group()
        if isinstance(module, Linear):
            _shard_parameter(module, "weight", 0, mesh, src_data_rank)
            _shard_parameter(module, "bias", 0, mesh, src_data_rank)
            module.register_forward_pre_hook(self._linear_input(group))
        else:
            _shard_parameter(module, "weight", 1, mesh, src_data_rank)
            layout = self.input_layouts
            module.register_forward_pre_hook(
                lambda m, args: _replace_first(args, _gather_ids(args[0], layout, group)))
        module.register_forward_hook(self._output(group))
        return module

    def _linear_input(self, group: Any) -> Any:
        layout = self.input_layouts

        def hook(module: Any, args: tuple) -> tuple:
            x = args[0]
            if isinstance(layout, Replicate):
                x = C.CopyToParallel.apply(group, x)
            else:
                x = C.GatherFromParallel.apply(_shard_dim(layout, x.ndim), True, group, x)
            return _replace_first(args, x)

        return hook

    def _output(self, group: Any) -> Any:
        layout = self.output_layouts

        def hook(module: Any, args: tuple, out: Tensor) -> Tensor:
            if isinstance(layout, Replicate):
                return C.GatherFromParallel.apply(out.ndim - 1, False, group, out)
            return out

        return hook


class RowwiseParallel(_ShardingStyle):
    """Shard a module's input features: ``nn.Linear``'s weight columns (``in_features``; the
    bias stays whole and is added once, after the reduction), ``nn.Embedding``'s vocabulary
    (each process looks up the ids it holds, the others give zeros).

    Args:
        input_layouts (Placement, optional): the input's layout. For ``nn.Linear``,
            ``Shard(-1)`` (default: each process's slice of the features, as a
            ``ColwiseParallel`` layer outputs) or ``Replicate()`` (sliced here). For
            ``nn.Embedding``, ``Replicate()`` (pass it: torch's default ``Shard(-1)`` is
            taken as ids split along their last dimension, which are all-gathered).
        output_layouts (Placement, optional): ``Replicate()`` (default: all-reduced) or
            ``Shard(dim)`` (reduce-scattered along ``dim``: sequence parallelism).
        use_local_output (bool): must be True: outputs are plain tensors, as deepseek has no
            DTensor.

    The reduction's backward is the identity: the output's gradient is already whole on every
    process.

    Example::

        >>> parallelize_module(mlp, mesh, {"fc2": RowwiseParallel()})  # doctest: +SKIP
    """

    _layouts = (Shard(-1), Replicate())

    def _check(self, module: Any, mesh: Any, fqn: str) -> None:
        name = type(self).__name__
        if isinstance(self.output_layouts, Partial):
            raise _unsupported(name, "output_layouts", self.output_layouts, module)
        if isinstance(module, Linear):
            if not (isinstance(self.input_layouts, Replicate)
                    or self.input_layouts == Shard(-1)):
                raise _unsupported(name, "input_layouts", self.input_layouts, module)
            _check_divisible(name, module, fqn, mesh, 1, "in_features")
        elif isinstance(module, Embedding):
            if isinstance(self.input_layouts, Partial):
                raise _unsupported(name, "input_layouts", self.input_layouts, module)
            for option in ("max_norm", "scale_grad_by_freq", "sparse"):
                if getattr(module, option) not in (None, False):
                    raise NotImplementedError(
                        f"[{name}] {_describe(module, fqn)} has {option}, which a vocabulary "
                        "split over processes does not support; use ColwiseParallel")
            _check_divisible(name, module, fqn, mesh, 0, "num_embeddings")
        else:
            raise NotImplementedError(f"[{name}] can't shard {_describe(module, fqn)}: "
                                      f"{name} supports nn.Linear and nn.Embedding")

    def _apply(self, module: Any, mesh: Any, fqn: str, src_data_rank: Optional[int]) -> Any:
        group = mesh.get_group()
        if isinstance(module, Linear):
            _shard_parameter(module, "weight", 1, mesh, src_data_rank)
            _replicate_parameter(module, "bias", mesh, src_data_rank)
            module.register_forward_pre_hook(self._linear_input(group))
            module.register_forward_hook(self._linear_output(group))
        else:
            rows = module.weight.shape[0] // mesh.size()
            offset = rows * c10d.get_rank(group)
            if module.padding_idx is not None:
                local = module.padding_idx - offset
                module.padding_idx = local if 0 <= local < rows else None
            _shard_parameter(module, "weight", 0, mesh, src_data_rank)
            pending: dict = {}
            module.register_forward_pre_hook(self._embedding_input(group, offset, rows,
                                                                   pending))
            module.register_forward_hook(self._embedding_output(group, pending))
        return module

    def _linear_input(self, group: Any) -> Any:
        layout = self.input_layouts

        def hook(module: Any, args: tuple) -> tuple:
            if isinstance(layout, Replicate):
                return _replace_first(args, C.ScatterToParallel.apply(-1, group, args[0]))
            return args

        return hook

    def _reduce(self, out: Tensor, group: Any) -> Tensor:
        if isinstance(self.output_layouts, Replicate):
            return C.ReduceFromParallel.apply(group, out)
        dim = _shard_dim(self.output_layouts, out.ndim)
        return C.ReduceScatterFromParallel.apply(dim, group, out)

    def _linear_output(self, group: Any) -> Any:
        def hook(module: Any, args: tuple, out: Tensor) -> Tensor:
            bias = module.bias
            if bias is None:
                return self._reduce(out, group)
            # F.linear added the bias on every process; it belongs in the sum once
            out = self._reduce(out - bias, group)
            dim = _shard_dim(self.output_layouts, out.ndim)
            if dim == out.ndim - 1:  # each process adds its slice of the bias
                bias = C.ScatterToParallel.apply(0, group, bias)
            elif dim is not None:  # each adds it to its rows: the gradient is a partial sum
                bias = C.CopyToParallel.apply(group, bias)
            return out + bias

        return hook

    def _embedding_input(self, group: Any, offset: int, rows: int, pending: dict) -> Any:
        layout = self.input_layouts

        def hook(module: Any, args: tuple) -> tuple:
            ids = _gather_ids(args[0], layout, group)
            local = ids - offset
            outside = (local < 0) | (local >= rows)
            pending["outside"] = outside
            return _replace_first(args, local.masked_fill(outside, 0))

        return hook

    def _embedding_output(self, group: Any, pending: dict) -> Any:
        def hook(module: Any, args: tuple, out: Tensor) -> Tensor:
            outside = pending.pop("outside")
            return self._reduce(out.masked_fill(outside.unsqueeze(-1), 0.0), group)

        return hook


class SequenceParallel(ParallelStyle):
    """Not yet available in deepseek: it needs the gradients of replicated parameters
    (LayerNorm's) summed over the sequence shards."""

    def __init__(self, *, sequence_dim: int = 1, use_local_output: bool = False) -> None:
        raise NotImplementedError("[SequenceParallel] is not implemented in deepseek yet; "
                                  "ColwiseParallel(input_layouts=Shard(1)) and "
                                  "RowwiseParallel(output_layouts=Shard(1)) handle the "
                                  "layouts at the edges of tensor-parallel layers")
