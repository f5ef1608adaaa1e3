"""``partition``: split a graph's nodes into balanced parts with few cut edges, by METIS
(the ``[graph]`` extra, ``pymetis``)."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from .. import _creation
from .._errors import op_error
from .._extras import require
from ..tensor import Tensor, host_values
from . import utils

__all__ = ["partition"]


def _pymetis() -> Any:
    return require("pymetis", "graph", "partition")


def partition(edge_index: Tensor, num_nodes: int, num_parts: int, recursive: bool = False,
              seed: Optional[int] = None) -> Tensor:
    """The part (``0 … num_parts - 1``) of every node, by METIS: parts of near-equal size with
    few edges between them. Edges are read as undirected; self loops and duplicates are
    ignored.

    There is no fallback: without pymetis this raises ``ImportError`` naming the extra.

    Args:
        edge_index: ``(2, num_edges)`` integer tensor.
        num_nodes: the number of nodes (isolated nodes are partitioned too).
        num_parts: the number of parts.
        recursive: recursive bisection instead of METIS's k-way scheme. Default: False.
        seed: METIS's random seed, for a reproducible result.

    Shape:
        - Output: ``(num_nodes,)`` int64.

    Example::

        >>> part = partition(edge_index, num_nodes=100, num_parts=4)  # doctest: +SKIP
    """
    pymetis = _pymetis()
    if not isinstance(num_nodes, (int, np.integer)) or num_nodes < 1:
        raise op_error(ValueError, "partition", f"num_nodes must be a positive int, got "
                       f"{num_nodes!r}")
    if not isinstance(num_parts, (int, np.integer)) or not 1 <= num_parts <= num_nodes:
        raise op_error(ValueError, "partition", f"num_parts must be an int in [1, num_nodes="
                       f"{num_nodes}], got {num_parts!r}")
    utils.check_edge_index("partition", edge_index, int(num_nodes))
    if num_parts == 1:
        return _creation.zeros(int(num_nodes), dtype=edge_index.dtype, device=edge_index.device)
    values = host_values(edge_index, "partition").astype(np.int64)
    row, col = values[0], values[1]
    keep = row != col
    row, col = np.concatenate([row[keep], col[keep]]), np.concatenate([col[keep], row[keep]])
    keys = np.unique(row * num_nodes + col)  # METIS needs each neighbour once, both ways
    row, col = keys // num_nodes, keys % num_nodes
    starts = np.concatenate([[0], np.cumsum(np.bincount(row, minlength=num_nodes))])
    options = pymetis.Options(seed=seed) if seed is not None else None
    if hasattr(pymetis, "CSRAdjacency"):
        result = pymetis.part_graph(int(num_parts), pymetis.CSRAdjacency(starts, col),
                                    recursive=recursive, options=options)
    else:
        result = pymetis.part_graph(int(num_parts), xadj=starts, adjncy=col,
                                    recursive=recursive, options=options)
    parts = np.asarray(result[1], dtype=np.int64)
    return _creation.tensor(parts, device=edge_index.device)
