"""``deepseek.graph``: graph learning in the shape of PyTorch Geometric — ``Data``/``Batch``,
a graph ``DataLoader``, ``edge_index`` utilities, message passing layers, pooling and METIS
partitioning (the ``[graph]`` extra)."""

from . import nn, utils
from .data import Batch, Data
from .loader import DataLoader
from .nn import (GATConv, GCNConv, GINConv, MessagePassing, SAGEConv, gcn_norm, global_add_pool,
                 global_max_pool, global_mean_pool)
from .partition import partition
from .utils import (add_remaining_self_loops, add_self_loops, coalesce, degree, remove_self_loops,
                    scatter, softmax, to_dense_adj, to_undirected)

__all__ = ["Data", "Batch", "DataLoader", "MessagePassing", "GCNConv", "SAGEConv", "GATConv",
           "GINConv", "gcn_norm", "global_add_pool", "global_mean_pool", "global_max_pool",
           "partition", "scatter", "softmax", "degree", "add_self_loops",
           "add_remaining_self_loops", "remove_self_loops", "to_undirected", "coalesce",
           "to_dense_adj", "nn", "utils"]
