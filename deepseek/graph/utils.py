"""Graph utilities on ``edge_index`` tensors: input checks, segment reductions (``scatter``,
``softmax``), self loops, degrees, coalescing and dense adjacency."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from .. import _creation
from ..dtypes import get_default_dtype
from ..ops.movement import cat, stack
from .._errors import op_error
from ..tensor import Tensor, host_values

__all__ = ["scatter", "softmax", "degree", "add_self_loops", "add_remaining_self_loops",
           "remove_self_loops", "contains_self_loops", "contains_isolated_nodes", "coalesce",
           "to_undirected", "is_undirected", "to_dense_adj", "check_edge_index"]

REDUCTIONS = ("sum", "add", "mean", "max", "min")


class _Missing:
    """The default of ``edge_attr`` where PyG returns ``edge_index`` alone unless one is passed."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


# ---------------------------------------------------------------- checks
def _is_int(t: Tensor) -> bool:
    return t._data.dtype.kind in "iu"


def check_index(op: str, index: Any, name: str = "index", size: Optional[int] = None) -> Tensor:
    """``index`` as a checked 1-d integer tensor whose values lie in ``[0, size)``."""
    if not isinstance(index, Tensor):
        raise op_error(TypeError, op, f"{name} must be a 1-d integer tensor, got "
                       f"{type(index).__name__}")
    if index.ndim != 1 or not _is_int(index):
        raise op_error(ValueError if _is_int(index) else TypeError, op,
                       f"{name} must be a 1-d integer tensor", index)
    if size is not None and index.numel():
        values = host_values(index, f"{op} {name} range check")
        low, high = int(values.min()), int(values.max())
        if low < 0 or high >= size:
            raise op_error(IndexError, op, f"{name} holds {high if high >= size else low}, out "
                           f"of range for size {size} (valid values 0..{size - 1})", index)
    return index


def check_edge_index(op: str, edge_index: Any, num_nodes: Any = None) -> Tensor:
    """``edge_index`` as a checked ``[2, num_edges]`` integer tensor.

    ``num_nodes`` is an int (both rows index the same nodes) or a pair ``(num_src, num_dst)``
    for the two rows; ids outside them raise ``IndexError``.
    """
    if not isinstance(edge_index, Tensor):
        raise op_error(TypeError, op, "edge_index must be an integer tensor of shape "
                       f"[2, num_edges], got {type(edge_index).__name__}")
    if not _is_int(edge_index):
        raise op_error(TypeError, op, "edge_index must be an integer tensor of shape "
                       "[2, num_edges]", edge_index)
    if edge_index.ndim != 2 or edge_index.shape[0] != 2:
        raise op_error(ValueError, op, "edge_index must have shape [2, num_edges]", edge_index)
    if num_nodes is None or not edge_index.shape[1]:
        return edge_index
    sizes = (num_nodes, num_nodes) if isinstance(num_nodes, int) else tuple(num_nodes)
    values = host_values(edge_index, f"{op} edge_index range check")
    for row, (name, size) in enumerate(zip(("source", "target"), sizes)):
        if size is None:
            continue
        low, high = int(values[row].min()), int(values[row].max())
        if low < 0 or high >= size:
            bad = high if high >= size else low
            raise op_error(IndexError, op, f"edge_index[{row}] ({name} nodes) holds node {bad}, "
                           f"out of range for num_nodes={size} (valid ids 0..{size - 1})",
                           edge_index)
    return edge_index


def maybe_num_nodes(edge_index: Tensor, num_nodes: Optional[int] = None) -> int:
    """``num_nodes`` if given, else one more than the largest node id (0 without edges)."""
    if num_nodes is not None:
        return int(num_nodes)
    if not edge_index.numel():
        return 0
    return int(host_values(edge_index, "maybe_num_nodes").max()) + 1


def _index_like(values: np.ndarray, like: Tensor) -> Tensor:
    return _creation.tensor(np.ascontiguousarray(values, dtype=np.int64), device=like.device)


def _wrap_dim(op: str, dim: int, ndim: int) -> int:
    if not -ndim <= dim < ndim:
        raise op_error(IndexError, op, f"dim {dim} is out of range for a tensor of "
                       f"{ndim} dimension(s)")
    return dim % ndim


# ---------------------------------------------------------------- segment reductions
def scatter(src: Tensor, index: Tensor, dim: int = 0, dim_size: Optional[int] = None,
            reduce: str = "sum") -> Tensor:
    """Reduce the slices of ``src`` along ``dim`` into ``dim_size`` groups named by ``index``.

    ``out[..., index[e], ...] (reduce)= src[..., e, ...]``; groups that receive nothing are 0.
    Differentiable in ``src`` (``max``/``min`` share the gradient evenly among ties, as
    ``torch.scatter_reduce`` does).

    Args:
        src: the values.
        index: 1-d integer tensor, one group id per slice of ``src`` along ``dim``.
        dim: the dimension reduced. Default: 0.
        dim_size: the number of groups. Default: ``index.max() + 1``.
        reduce: ``"sum"`` (or ``"add"``), ``"mean"``, ``"max"`` or ``"min"``.

    Shape:
        - src: ``(*, E, *)``, index: ``(E,)``; Output: ``(*, dim_size, *)``.

    Example::

        >>> scatter(ds.tensor([1.0, 2.0, 4.0]), ds.tensor([0, 0, 2]), reduce="sum")
        tensor([3., 0., 4.])
    """
    if not isinstance(src, Tensor):
        raise op_error(TypeError, "scatter", f"src must be a tensor, got {type(src).__name__}")
    if reduce not in REDUCTIONS:
        raise op_error(ValueError, "scatter", f"reduce must be one of {REDUCTIONS}, got "
                       f"{reduce!r}")
    if src.ndim == 0:
        raise op_error(ValueError, "scatter", "src must have at least one dimension", src)
    dim = _wrap_dim("scatter", dim, src.ndim)
    check_index("scatter", index)
    if index.shape[0] != src.shape[dim]:
        raise op_error(ValueError, "scatter", f"index has {index.shape[0]} entries but src has "
                       f"{src.shape[dim]} slices along dim {dim}", src, index)
    if dim_size is None:
        dim_size = maybe_num_nodes(index.view(1, -1))
    check_index("scatter", index, size=int(dim_size))
    shape = list(src.shape)
    shape[dim] = int(dim_size)
    out = src.new_zeros(tuple(shape))
    if reduce in ("sum", "add", "mean"):
        out = out.index_add(dim, index, src)
        if reduce == "mean":
            count = src.new_zeros(int(dim_size)).index_add(0, index, src.new_ones(index.shape[0]))
            view = [1] * src.ndim
            view[dim] = -1
            out = out / count.clamp(min=1).view(view)
        return out
    view = [1] * src.ndim
    view[dim] = -1
    full_index = index.view(view).expand(src.shape).contiguous()
    return out.scatter_reduce(dim, full_index, src, "amax" if reduce == "max" else "amin",
                              include_self=False)


def softmax(src: Tensor, index: Optional[Tensor] = None, ptr: Optional[Tensor] = None,
            num_nodes: Optional[int] = None, dim: int = 0) -> Tensor:
    """Softmax of ``src`` within each group of ``index`` along ``dim`` (a segment softmax).

    Args:
        src: the scores, e.g. one per edge.
        index: 1-d group id per slice of ``src`` along ``dim`` (e.g. the target node).
        ptr: instead of ``index``, the offsets of sorted, contiguous groups.
        num_nodes: the number of groups. Default: ``index.max() + 1``.
        dim: the dimension normalized. Default: 0.

    Example::

        >>> softmax(ds.tensor([1.0, 1.0, 3.0]), ds.tensor([0, 0, 1]))
        tensor([0.5000, 0.5000, 1.0000])
    """
    if not isinstance(src, Tensor):
        raise op_error(TypeError, "softmax", f"src must be a tensor, got {type(src).__name__}")
    if src.ndim == 0:
        raise op_error(ValueError, "softmax", "src must have at least one dimension", src)
    if index is None:
        if ptr is None:
            raise op_error(ValueError, "softmax", "expected index or ptr")
        ptr = check_index("softmax", ptr, "ptr")
        counts = ptr[1:] - ptr[:-1]
        index = _creation.arange(counts.shape[0], device=src.device).repeat_interleave(counts)
        num_nodes = counts.shape[0] if num_nodes is None else num_nodes
    dim = _wrap_dim("softmax", dim, src.ndim)
    # the shift leaves the result unchanged, so it needs no gradient
    src_max = scatter(src.detach(), index, dim, num_nodes, reduce="max")
    out = (src - src_max.index_select(dim, index)).exp()
    out_sum = scatter(out, index, dim, num_nodes, reduce="sum") + 1e-16
    return out / out_sum.index_select(dim, index)


def degree(index: Tensor, num_nodes: Optional[int] = None, dtype: Any = None) -> Tensor:
    """How many times each node id occurs in the 1-d ``index`` (e.g. ``edge_index[1]`` for
    in-degrees), as a ``dtype`` tensor (default: the default float dtype)."""
    check_index("degree", index)
    n = maybe_num_nodes(index.view(1, -1), num_nodes)
    check_index("degree", index, size=n)
    dtype = get_default_dtype() if dtype is None else dtype
    ones = _creation.ones(index.shape[0], dtype=dtype, device=index.device)
    return _creation.zeros(n, dtype=dtype, device=index.device).index_add(0, index, ones)


# ---------------------------------------------------------------- self loops
def _loop_attr(op: str, edge_attr: Tensor, col: Tensor, fill_value: Any, n: int) -> Tensor:
    shape = (n,) + tuple(edge_attr.shape[1:])
    if fill_value is None:
        return edge_attr.new_ones(shape)
    if isinstance(fill_value, str):
        if fill_value not in REDUCTIONS:
            raise op_error(ValueError, op, f"fill_value must be a number, a tensor or one of "
                           f"{REDUCTIONS}, got {fill_value!r}")
        return scatter(edge_attr, col, 0, n, reduce=fill_value)
    if isinstance(fill_value, Tensor):
        return fill_value.to(edge_attr.dtype).expand(shape)
    return edge_attr.new_full(shape, fill_value)


def add_self_loops(edge_index: Tensor, edge_attr: Optional[Tensor] = None, fill_value: Any = None,
                   num_nodes: Optional[int] = None) -> tuple:
    """Append one self loop ``(i, i)`` per node to ``edge_index`` (existing loops stay).

    The loops' ``edge_attr`` is ``fill_value``: None (ones), a number, a tensor, or a
    reduction (``"sum"``, ``"mean"``, ``"max"``, ``"min"``) of each node's incoming attributes.

    Returns:
        ``(edge_index, edge_attr)``; ``edge_attr`` stays None when None is given.
    """
    check_edge_index("add_self_loops", edge_index)
    n = maybe_num_nodes(edge_index, num_nodes)
    check_edge_index("add_self_loops", edge_index, n)
    loops = _creation.arange(n, device=edge_index.device).to(edge_index.dtype)
    out_index = cat([edge_index, stack([loops, loops])], dim=1)
    if edge_attr is None:
        return out_index, None
    loop_attr = _loop_attr("add_self_loops", edge_attr, edge_index[1], fill_value, n)
    return out_index, cat([edge_attr, loop_attr], dim=0)


def add_remaining_self_loops(edge_index: Tensor, edge_attr: Optional[Tensor] = None,
                             fill_value: Any = None, num_nodes: Optional[int] = None) -> tuple:
    """Give every node exactly one self loop: existing loops are dropped from their place and
    re-added at the end keeping their ``edge_attr`` (the last one, for repeated loops); the
    other nodes' loops get ``fill_value`` (see :func:`add_self_loops`)."""
    check_edge_index("add_remaining_self_loops", edge_index)
    n = maybe_num_nodes(edge_index, num_nodes)
    check_edge_index("add_remaining_self_loops", edge_index, n)
    values = host_values(edge_index, "add_remaining_self_loops")
    keep = np.flatnonzero(values[0] != values[1])
    loops = np.flatnonzero(values[0] == values[1])
    arange = np.arange(n)
    out_index = cat([edge_index[:, _index_like(keep, edge_index)],
                               _index_like(np.stack([arange, arange]), edge_index)], dim=1)
    if edge_attr is None:
        return out_index, None
    loop_attr = _loop_attr("add_remaining_self_loops", edge_attr, edge_index[1], fill_value, n)
    if loops.size:
        loop_ids = _index_like(values[0][loops], edge_index)
        loop_attr = loop_attr.index_copy(0, loop_ids, edge_attr[_index_like(loops, edge_index)])
    return out_index, cat([edge_attr[_index_like(keep, edge_index)], loop_attr], dim=0)


def remove_self_loops(edge_index: Tensor, edge_attr: Optional[Tensor] = None) -> tuple:
    """Drop the edges ``(i, i)``; returns ``(edge_index, edge_attr)``."""
    check_edge_index("remove_self_loops", edge_index)
    values = host_values(edge_index, "remove_self_loops")
    keep = _index_like(np.flatnonzero(values[0] != values[1]), edge_index)
    return edge_index[:, keep], None if edge_attr is None else edge_attr[keep]


def contains_self_loops(edge_index: Tensor) -> bool:
    """Whether any edge is ``(i, i)``."""
    check_edge_index("contains_self_loops", edge_index)
    values = host_values(edge_index, "contains_self_loops")
    return bool((values[0] == values[1]).any())


def contains_isolated_nodes(edge_index: Tensor, num_nodes: Optional[int] = None) -> bool:
    """Whether some node has no edge other than self loops."""
    check_edge_index("contains_isolated_nodes", edge_index)
    n = maybe_num_nodes(edge_index, num_nodes)
    values = host_values(edge_index, "contains_isolated_nodes")
    values = values[:, values[0] != values[1]]
    return np.unique(values).size < n


# ---------------------------------------------------------------- coalescing
def coalesce(edge_index: Tensor, edge_attr: Any = MISSING, num_nodes: Optional[int] = None,
             reduce: str = "sum") -> Any:
    """Sort the edges by ``(row, col)`` and merge duplicates, reducing their ``edge_attr`` with
    ``reduce``. Returns ``edge_index`` alone unless ``edge_attr`` is passed (as PyG does)."""
    check_edge_index("coalesce", edge_index)
    n = maybe_num_nodes(edge_index, num_nodes)
    check_edge_index("coalesce", edge_index, n)
    values = host_values(edge_index, "coalesce")
    keys, inverse = np.unique(values[0] * max(n, 1) + values[1], return_inverse=True)
    out_index = _index_like(np.stack([keys // max(n, 1), keys % max(n, 1)]), edge_index)
    if edge_attr is MISSING:
        return out_index
    if edge_attr is None:
        return out_index, None
    merged = scatter(edge_attr, _index_like(inverse.reshape(-1), edge_index), 0, keys.size,
                     reduce=reduce)
    return out_index, merged


def to_undirected(edge_index: Tensor, edge_attr: Any = MISSING, num_nodes: Optional[int] = None,
                  reduce: str = "sum") -> Any:
    """Add the reverse of every edge and coalesce (duplicates merged with ``reduce``).

    Returns ``edge_index`` alone unless ``edge_attr`` is passed, then ``(edge_index,
    edge_attr)``.

    Example::

        >>> to_undirected(ds.tensor([[0, 1], [1, 2]]))
        tensor([[0, 1, 1, 2],
                [1, 0, 2, 1]])
    """
    check_edge_index("to_undirected", edge_index)
    both = cat([edge_index, edge_index.flip(0)], dim=1)
    if isinstance(edge_attr, Tensor):
        edge_attr = cat([edge_attr, edge_attr], dim=0)
    return coalesce(both, edge_attr, num_nodes, reduce)


def is_undirected(edge_index: Tensor, num_nodes: Optional[int] = None) -> bool:
    """Whether every edge ``(i, j)`` has its reverse ``(j, i)``."""
    forward = host_values(coalesce(edge_index, num_nodes=num_nodes), "is_undirected")
    backward = host_values(coalesce(edge_index.flip(0), num_nodes=num_nodes), "is_undirected")
    return forward.shape == backward.shape and bool((forward == backward).all())


# ---------------------------------------------------------------- dense adjacency
def to_dense_adj(edge_index: Tensor, batch: Optional[Tensor] = None,
                 edge_attr: Optional[Tensor] = None, max_num_nodes: Optional[int] = None,
                 batch_size: Optional[int] = None) -> Tensor:
    """The batched dense adjacency ``adj[b, row, col]``: duplicate edges are summed, and
    ``edge_attr`` (one value or feature vector per edge) replaces the ones.

    Shape:
        - Output: ``(batch_size, max_num_nodes, max_num_nodes, *edge_attr.shape[1:])``.

    Example::

        >>> to_dense_adj(ds.tensor([[0, 1], [1, 1]]))
        tensor([[[0., 1.],
                 [0., 1.]]])
    """
    check_edge_index("to_dense_adj", edge_index)
    values = host_values(edge_index, "to_dense_adj")
    if batch is None:
        n = maybe_num_nodes(edge_index)
        if max_num_nodes is not None:
            n = max(n, int(max_num_nodes))
        graph_of = np.zeros(n, dtype=np.int64)
    else:
        check_index("to_dense_adj", batch, "batch")
        graph_of = host_values(batch, "to_dense_adj").astype(np.int64)
    n_total = graph_of.size
    check_edge_index("to_dense_adj", edge_index, n_total)
    graphs = int(graph_of.max()) + 1 if n_total else 0
    if batch_size is not None:
        graphs = max(graphs, int(batch_size))
    counts = np.bincount(graph_of, minlength=graphs)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    size = int(counts.max()) if counts.size else 0
    if max_num_nodes is not None:
        if batch is not None and size > max_num_nodes:
            raise op_error(ValueError, "to_dense_adj", f"a graph has {size} nodes, more than "
                           f"max_num_nodes={max_num_nodes}")
        size = int(max_num_nodes)
    local = np.arange(n_total) - starts[graph_of]
    row, col = values[0], values[1]
    if (graph_of[row] != graph_of[col]).any():
        raise op_error(ValueError, "to_dense_adj", "an edge joins nodes of different graphs in "
                       "batch", edge_index)
    flat = (graph_of[row] * size + local[row]) * size + local[col]
    flat = _index_like(flat, edge_index)
    if edge_attr is None:
        edge_attr = _creation.ones(edge_index.shape[1], device=edge_index.device)
    elif edge_attr.shape[0] != edge_index.shape[1]:
        raise op_error(ValueError, "to_dense_adj", "edge_attr must have one row per edge",
                       edge_index, edge_attr)
    trailing = tuple(edge_attr.shape[1:])
    adj = edge_attr.new_zeros((graphs * size * size,) + trailing).index_add(0, flat, edge_attr)
    return adj.view((graphs, size, size) + trailing)
