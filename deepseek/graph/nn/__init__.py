"""``deepseek.graph.nn``: message passing layers and pooling (``torch_geometric.nn``)."""

from .conv import GATConv, GCNConv, GINConv, SAGEConv, gcn_norm
from .message_passing import MessagePassing
from .pool import global_add_pool, global_max_pool, global_mean_pool

__all__ = ["MessagePassing", "GCNConv", "SAGEConv", "GATConv", "GINConv", "gcn_norm",
           "global_add_pool", "global_mean_pool", "global_max_pool"]
