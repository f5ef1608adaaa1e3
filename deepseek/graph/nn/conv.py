"""Graph convolutions on ``MessagePassing``: ``GCNConv``, ``SAGEConv``, ``GATConv``,
``GINConv``, with PyTorch Geometric's arguments and defaults."""

from __future__ import annotations

import math
from typing import Any, Optional, Union

from ... import _creation
from ..._errors import op_error
from ...autograd.grad_mode import no_grad
from ...nn import functional as F
from ...nn import init
from ...nn.modules.linear import Linear
from ...nn.modules.module import Module
from ...nn.parameter import Parameter
from ...tensor import Tensor
from .. import utils
from .message_passing import MessagePassing

__all__ = ["gcn_norm", "GCNConv", "SAGEConv", "GATConv", "GINConv"]


def glorot_(t: Tensor) -> Tensor:
    """Uniform in ``±sqrt(6 / (fan_in + fan_out))`` over the last two dims (PyG's glorot)."""
    bound = math.sqrt(6.0 / (t.shape[-2] + t.shape[-1]))
    return init.uniform_(t, -bound, bound)


def _check_x(op: str, x: Any, channels: int, name: str = "x") -> None:
    if not isinstance(x, Tensor):
        raise op_error(TypeError, op, f"{name} must be a tensor, got {type(x).__name__}")
    if x.ndim != 2 or x.shape[1] != channels:
        raise op_error(ValueError, op, f"expected {name} of shape [num_nodes, {channels}]", x)


def _pair(op: str, x: Any, channels: int) -> tuple:
    """``(x_source, x_target)`` from a tensor or a bipartite pair."""
    pair = tuple(x) if isinstance(x, (tuple, list)) else (x, x)
    if len(pair) != 2:
        raise op_error(ValueError, op, f"x must be a tensor or a pair, got {len(pair)} items")
    _check_x(op, pair[0], channels, "x")
    if pair[1] is not None:
        _check_x(op, pair[1], channels, "x[1]")
    return pair


def gcn_norm(edge_index: Tensor, edge_weight: Optional[Tensor] = None,
             num_nodes: Optional[int] = None, improved: bool = False,
             add_self_loops: bool = True, flow: str = "source_to_target",
             dtype: Any = None) -> tuple:
    """The symmetric GCN edge weights ``d_i^-1/2 w_ij d_j^-1/2``, with each node given one
    self loop of weight 1 (2 when ``improved``) unless it has one already, and degrees summed
    at the target (``flow="source_to_target"``) nodes.

    Returns:
        ``(edge_index, edge_weight)`` with the loops appended.
    """
    utils.check_edge_index("gcn_norm", edge_index)
    n = utils.maybe_num_nodes(edge_index, num_nodes)
    if edge_weight is None:
        edge_weight = _creation.ones(edge_index.shape[1], dtype=dtype, device=edge_index.device)
    if add_self_loops:
        edge_index, edge_weight = utils.add_remaining_self_loops(
            edge_index, edge_weight, 2.0 if improved else 1.0, n)
    else:
        utils.check_edge_index("gcn_norm", edge_index, n)
    row, col = edge_index[0], edge_index[1]
    at = col if flow == "source_to_target" else row
    deg = utils.scatter(edge_weight, at, 0, n, reduce="sum")
    isolated = deg == 0
    # the masked fill keeps isolated nodes (degree 0) at 0, with no inf in the backward
    deg_inv_sqrt = deg.masked_fill(isolated, 1.0).pow(-0.5).masked_fill(isolated, 0.0)
    weight = deg_inv_sqrt.index_select(0, row) * edge_weight * deg_inv_sqrt.index_select(0, col)
    return edge_index, weight


class GCNConv(MessagePassing):
    """The graph convolution of Kipf and Welling: ``X' = D^-1/2 Â D^-1/2 X Θᵀ + b``, with
    ``Â`` the adjacency with self loops (one per node) and ``D`` its degrees.

    Args:
        in_channels: size of each input node feature.
        out_channels: size of each output node feature.
        improved: self loops of weight 2. Default: False.
        cached: compute the normalization once and reuse it (transductive use). Default: False.
        add_self_loops: add the self loops. Default: True.
        normalize: apply the symmetric normalization. Default: True.
        bias: learn an additive bias. Default: True.

    Shape:
        - x: ``(num_nodes, in_channels)``, edge_index: ``(2, num_edges)``, edge_weight:
          ``(num_edges,)`` (optional); Output: ``(num_nodes, out_channels)``.

    Example::

        >>> conv = GCNConv(16, 32)
        >>> conv(ds.randn(4, 16), ds.tensor([[0, 1, 2], [1, 2, 3]])).shape
        deepseek.Size([4, 32])
    """

    def __init__(self, in_channels: int, out_channels: int, improved: bool = False,
                 cached: bool = False, add_self_loops: bool = True, normalize: bool = True,
                 bias: bool = True, **kwargs: Any) -> None:
        kwargs.setdefault("aggr", "add")
        super().__init__(**kwargs)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.improved = improved
        self.cached = cached
        self.add_self_loops = add_self_loops
        self.normalize = normalize
        self._cached: Optional[tuple] = None
        self.lin = Linear(in_channels, out_channels, bias=False)
        if bias:
            self.bias = Parameter(_creation.empty(out_channels))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        glorot_(self.lin.weight)
        if self.bias is not None:
            init.zeros_(self.bias)
        self._cached = None

    def forward(self, x: Tensor, edge_index: Tensor,
                edge_weight: Optional[Tensor] = None) -> Tensor:
        _check_x("GCNConv", x, self.in_channels)
        utils.check_edge_index("GCNConv", edge_index, x.shape[0])
        if self.normalize:
            if self.cached and self._cached is not None:
                edge_index, edge_weight = self._cached
            else:
                edge_index, edge_weight = gcn_norm(edge_index, edge_weight, x.shape[0],
                                                   self.improved, self.add_self_loops,
                                                   self.flow, x.dtype)
                if self.cached:
                    self._cached = (edge_index, edge_weight)
        out = self.propagate(edge_index, x=self.lin(x), edge_weight=edge_weight)
        return out if self.bias is None else out + self.bias

    def message(self, x_j: Tensor, edge_weight: Optional[Tensor] = None) -> Tensor:
        return x_j if edge_weight is None else edge_weight.view(-1, 1) * x_j

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}"


class SAGEConv(MessagePassing):
    """GraphSAGE: ``x'_i = W_1 x_i + W_2 · aggr_{j→i} x_j`` (mean by default).

    Args:
        in_channels: size of each input node feature.
        out_channels: size of each output node feature.
        aggr: the neighbour aggregation. Default: ``"mean"``.
        normalize: L2-normalize the outputs. Default: False.
        root_weight: add the transformed root node features. Default: True.
        bias: learn an additive bias (in the neighbour transform). Default: True.

    Shape:
        - x: ``(num_nodes, in_channels)`` or a bipartite pair; Output:
          ``(num_target_nodes, out_channels)``.

    Example::

        >>> SAGEConv(8, 4)(ds.randn(3, 8), ds.tensor([[0, 1], [1, 2]])).shape
        deepseek.Size([3, 4])
    """

    def __init__(self, in_channels: int, out_channels: int, aggr: str = "mean",
                 normalize: bool = False, root_weight: bool = True, bias: bool = True,
                 **kwargs: Any) -> None:
        super().__init__(aggr, **kwargs)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.normalize = normalize
        self.root_weight = root_weight
        self.lin_l = Linear(in_channels, out_channels, bias=bias)
        if root_weight:
            self.lin_r = Linear(in_channels, out_channels, bias=False)
        else:
            self.register_module("lin_r", None)

    def reset_parameters(self) -> None:
        self.lin_l.reset_parameters()
        if self.lin_r is not None:
            self.lin_r.reset_parameters()

    def forward(self, x: Union[Tensor, tuple], edge_index: Tensor,
                size: Optional[tuple] = None) -> Tensor:
        x_src, x_dst = _pair("SAGEConv", x, self.in_channels)
        out = self.lin_l(self.propagate(edge_index, size=size, x=(x_src, x_dst)))
        if self.root_weight and x_dst is not None:
            out = out + self.lin_r(x_dst)
        if self.normalize:
            out = F.normalize(out, p=2.0, dim=-1)
        return out

    def message(self, x_j: Tensor) -> Tensor:
        return x_j

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, aggr={self.aggr!r}"


class GATConv(MessagePassing):
    """Graph attention (Veličković et al.): ``x'_i = Σ_j α_ij Θ x_j`` with
    ``α_ij = softmax_j(LeakyReLU(aᵀ_src Θ x_j + aᵀ_dst Θ x_i))`` over the edges into ``i``,
    per head.

    Args:
        in_channels: size of each input node feature.
        out_channels: size of each head's output feature.
        heads: number of attention heads. Default: 1.
        concat: concatenate the heads (else average them). Default: True.
        negative_slope: LeakyReLU slope. Default: 0.2.
        dropout: dropout probability of the attention coefficients (training only). Default: 0.
        add_self_loops: replace existing self loops by one per node. Default: True.
        bias: learn an additive bias. Default: True.

    Shape:
        - x: ``(num_nodes, in_channels)``; Output: ``(num_nodes, heads * out_channels)`` if
          ``concat`` else ``(num_nodes, out_channels)``.

    Example::

        >>> GATConv(8, 4, heads=2)(ds.randn(3, 8), ds.tensor([[0, 1], [1, 2]])).shape
        deepseek.Size([3, 8])
    """

    def __init__(self, in_channels: int, out_channels: int, heads: int = 1, concat: bool = True,
                 negative_slope: float = 0.2, dropout: float = 0.0, add_self_loops: bool = True,
                 bias: bool = True, **kwargs: Any) -> None:
        kwargs.setdefault("aggr", "add")
        super().__init__(node_dim=0, **kwargs)
        if heads < 1:
            raise op_error(ValueError, "GATConv", f"heads must be positive, got {heads}")
        if not 0.0 <= dropout <= 1.0:
            raise op_error(ValueError, "GATConv", f"dropout must be in [0, 1], got {dropout}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.heads = heads
        self.concat = concat
        self.negative_slope = negative_slope
        self.dropout = dropout
        self.add_self_loops = add_self_loops
        self.lin = Linear(in_channels, heads * out_channels, bias=False)
        self.att_src = Parameter(_creation.empty(1, heads, out_channels))
        self.att_dst = Parameter(_creation.empty(1, heads, out_channels))
        if bias:
            self.bias = Parameter(_creation.empty(heads * out_channels if concat
                                                  else out_channels))
        else:
            self.register_parameter("bias", None)
        self._alpha: Optional[Tensor] = None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        glorot_(self.lin.weight)
        glorot_(self.att_src)
        glorot_(self.att_dst)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, x: Tensor, edge_index: Tensor,
                return_attention_weights: Optional[bool] = None) -> Any:
        _check_x("GATConv", x, self.in_channels)
        n = x.shape[0]
        utils.check_edge_index("GATConv", edge_index, n)
        h = self.lin(x).view(-1, self.heads, self.out_channels)
        alpha_src = (h * self.att_src).sum(-1)
        alpha_dst = (h * self.att_dst).sum(-1)
        if self.add_self_loops:
            edge_index, _ = utils.remove_self_loops(edge_index)
            edge_index, _ = utils.add_self_loops(edge_index, num_nodes=n)
        out = self.propagate(edge_index, x=h, alpha=(alpha_src, alpha_dst), size=(n, n))
        alpha, self._alpha = self._alpha, None
        if self.concat:
            out = out.reshape(-1, self.heads * self.out_channels)
        else:
            out = out.mean(dim=1)
        if self.bias is not None:
            out = out + self.bias
        if return_attention_weights:
            return out, (edge_index, alpha)
        return out

    def message(self, x_j: Tensor, alpha_j: Tensor, alpha_i: Tensor, index: Tensor,
                size_i: int) -> Tensor:
        alpha = F.leaky_relu(alpha_j + alpha_i, self.negative_slope)
        alpha = utils.softmax(alpha, index, num_nodes=size_i)
        self._alpha = alpha
        alpha = F.dropout(alpha, p=self.dropout, training=self.training)
        return alpha.unsqueeze(-1) * x_j

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, heads={self.heads}"


class GINConv(MessagePassing):
    """The graph isomorphism operator: ``x'_i = h_Θ((1 + ε) x_i + Σ_{j→i} x_j)``.

    Args:
        nn: the module ``h_Θ`` (e.g. an MLP), mapping ``(N, in)`` to ``(N, out)``.
        eps: the initial ``ε``. Default: 0.
        train_eps: learn ``ε``. Default: False.

    Example::

        >>> mlp = ds.nn.Sequential(ds.nn.Linear(8, 16), ds.nn.ReLU(), ds.nn.Linear(16, 16))
        >>> GINConv(mlp)(ds.randn(3, 8), ds.tensor([[0, 1], [1, 2]])).shape
        deepseek.Size([3, 16])
    """

    def __init__(self, nn: Module, eps: float = 0.0, train_eps: bool = False,
                 **kwargs: Any) -> None:
        kwargs.setdefault("aggr", "add")
        super().__init__(**kwargs)
        if not isinstance(nn, Module):
            raise op_error(TypeError, "GINConv", f"nn must be a Module, got {type(nn).__name__}")
        self.nn = nn
        self.initial_eps = eps
        if train_eps:
            self.eps = Parameter(_creation.tensor([float(eps)]))
        else:
            self.register_buffer("eps", _creation.tensor([float(eps)]))

    def reset_parameters(self) -> None:
        if hasattr(self.nn, "reset_parameters"):
            self.nn.reset_parameters()
        with no_grad():
            self.eps.fill_(self.initial_eps)

    def forward(self, x: Union[Tensor, tuple], edge_index: Tensor,
                size: Optional[tuple] = None) -> Tensor:
        pair = tuple(x) if isinstance(x, (tuple, list)) else (x, x)
        for item in pair:
            if item is not None and (not isinstance(item, Tensor) or item.ndim < 1):
                raise op_error(TypeError, "GINConv", "x must be a tensor of shape "
                               "[num_nodes, channels] or a pair of them")
        out = self.propagate(edge_index, size=size, x=pair)
        if pair[1] is not None:
            out = out + (1 + self.eps) * pair[1]
        return self.nn(out)

    def message(self, x_j: Tensor) -> Tensor:
        return x_j
