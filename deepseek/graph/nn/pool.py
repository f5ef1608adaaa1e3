"""Global pooling: one vector per graph of a batch, from the node features and ``batch``."""

from __future__ import annotations

from typing import Optional

from ..._errors import op_error
from ...tensor import Tensor
from .. import utils

__all__ = ["global_add_pool", "global_mean_pool", "global_max_pool"]


def _pool(op: str, x: Tensor, batch: Optional[Tensor], size: Optional[int],
          reduce: str) -> Tensor:
    if not isinstance(x, Tensor) or x.ndim < 1:
        raise op_error(TypeError, op, "x must be a tensor of shape [num_nodes, *]")
    dim = -1 if x.ndim == 1 else -2
    if batch is None:
        if reduce == "max":
            return x.amax(dim=dim, keepdim=True)
        return x.sum(dim=dim, keepdim=True) if reduce == "sum" else x.mean(dim=dim, keepdim=True)
    utils.check_index(op, batch, "batch")
    if batch.shape[0] != x.shape[dim]:
        raise op_error(ValueError, op, f"batch has {batch.shape[0]} entries but x has "
                       f"{x.shape[dim]} nodes", x, batch)
    return utils.scatter(x, batch, dim=dim, dim_size=size, reduce=reduce)


def global_add_pool(x: Tensor, batch: Optional[Tensor] = None,
                    size: Optional[int] = None) -> Tensor:
    """The sum of each graph's node features: ``out[b] = Σ_{n: batch[n] = b} x[n]``.

    Args:
        x: node features, ``(num_nodes, F)``.
        batch: the graph of each node; None treats all nodes as one graph.
        size: the number of graphs. Default: ``batch.max() + 1``.

    Shape:
        - Output: ``(num_graphs, F)``.

    Example::

        >>> global_add_pool(ds.ones(3, 2), ds.tensor([0, 0, 1]))
        tensor([[2., 2.],
                [1., 1.]])
    """
    return _pool("global_add_pool", x, batch, size, "sum")


def global_mean_pool(x: Tensor, batch: Optional[Tensor] = None,
                     size: Optional[int] = None) -> Tensor:
    """The mean of each graph's node features (see :func:`global_add_pool`)."""
    return _pool("global_mean_pool", x, batch, size, "mean")


def global_max_pool(x: Tensor, batch: Optional[Tensor] = None,
                    size: Optional[int] = None) -> Tensor:
    """The feature-wise maximum over each graph's nodes (see :func:`global_add_pool`)."""
    return _pool("global_max_pool", x, batch, size, "max")
