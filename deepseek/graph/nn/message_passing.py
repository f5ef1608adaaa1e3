"""``MessagePassing``: the base of graph layers — gather per-edge inputs (``x_i``/``x_j``),
compute messages, aggregate them at the target nodes, update."""

from __future__ import annotations

import inspect
from typing import Any, Optional

from ..._errors import op_error
from ...nn.modules.module import Module
from ...tensor import Tensor
from .. import utils

__all__ = ["MessagePassing"]

AGGREGATIONS = ("add", "sum", "mean", "max", "min")
FLOWS = ("source_to_target", "target_to_source")
# names propagate fills in itself rather than from its keyword arguments
_SPECIAL = ("edge_index", "edge_index_i", "edge_index_j", "size", "size_i", "size_j", "index",
            "ptr", "dim_size")


def _params(func: Any, skip: int) -> tuple:
    names = []
    for p in list(inspect.signature(func).parameters.values())[skip:]:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        names.append((p.name, p.default))
    return tuple(names)


class MessagePassing(Module):
    """The base class of message passing layers, as ``torch_geometric.nn.MessagePassing``.

    ``propagate(edge_index, **kwargs)`` calls ``message``, ``aggregate`` and ``update``,
    filling their arguments by name: ``x_j`` is ``kwargs["x"]`` at the source node of each
    edge (``edge_index[0]``) and ``x_i`` at the target (``edge_index[1]``), along
    ``node_dim``; other names come from ``kwargs`` as they are, or are ``edge_index``,
    ``index`` (the target of each edge), ``size_i``/``size_j``/``dim_size`` (node counts).
    A pair ``(x_source, x_target)`` gives a bipartite graph.

    Args:
        aggr: ``"add"`` (``"sum"``), ``"mean"``, ``"max"`` or ``"min"``. Default: ``"add"``.
        flow: ``"source_to_target"`` or ``"target_to_source"`` (edges read reversed).
        node_dim: the node dimension of the inputs. Default: -2.

    Example::

        >>> class Sum(MessagePassing):
        ...     def forward(self, x, edge_index):
        ...         return self.propagate(edge_index, x=x)
        ...     def message(self, x_j):
        ...         return x_j
        >>> Sum()(ds.ones(3, 2), ds.tensor([[0, 1], [2, 2]]))[2]
        tensor([2., 2.])
    """

    def __init__(self, aggr: Optional[str] = "add", *, flow: str = "source_to_target",
                 node_dim: int = -2) -> None:
        super().__init__()
        name = type(self).__name__
        if aggr not in AGGREGATIONS:
            raise op_error(ValueError, name, f"aggr must be one of {AGGREGATIONS}, got {aggr!r}")
        if flow not in FLOWS:
            raise op_error(ValueError, name, f"flow must be one of {FLOWS}, got {flow!r}")
        self.aggr = aggr
        self.flow = flow
        self.node_dim = node_dim
        cls = type(self)
        self._message_params = _params(cls.message, 1)
        self._aggregate_params = _params(cls.aggregate, 2)
        self._update_params = _params(cls.update, 2)

    # ------------------------------------------------------------ the three steps
    def message(self, x_j: Tensor) -> Tensor:
        """The message along each edge; by default the source node's features."""
        return x_j

    def aggregate(self, inputs: Tensor, index: Tensor, ptr: Optional[Tensor] = None,
                  dim_size: Optional[int] = None) -> Tensor:
        """Reduce the messages at their target nodes with ``self.aggr``."""
        return utils.scatter(inputs, index, dim=self.node_dim, dim_size=dim_size,
                             reduce=self.aggr)

    def update(self, inputs: Tensor) -> Tensor:
        """The new node features from the aggregated messages; by default unchanged."""
        return inputs

    # ------------------------------------------------------------ propagate
    def propagate(self, edge_index: Tensor, size: Optional[tuple] = None,
                  **kwargs: Any) -> Tensor:
        """Run ``message``, ``aggregate`` and ``update`` over ``edge_index``.

        Args:
            edge_index: ``(2, num_edges)`` integer tensor of ``(source, target)`` pairs.
            size: ``(num_source_nodes, num_target_nodes)``; inferred from the inputs when
                None.
            **kwargs: the tensors and values ``message``/``aggregate``/``update`` ask for.
        """
        op = type(self).__name__
        utils.check_edge_index(op, edge_index)
        j, i = (0, 1) if self.flow == "source_to_target" else (1, 0)
        sizes = [None, None] if size is None else [size[0], size[1]]
        gathered = []
        for name, _ in self._message_params:
            if name in _SPECIAL or name in kwargs or name[-2:] not in ("_i", "_j"):
                continue
            base = name[:-2]
            if base not in kwargs:
                continue
            row = i if name.endswith("_i") else j
            value = kwargs[base]
            if isinstance(value, (tuple, list)):
                if len(value) != 2:
                    raise op_error(ValueError, op, f"{base} must be a tensor or a pair "
                                   f"(source, target), got {len(value)} items")
                if isinstance(value[1 - row], Tensor):  # the pair also sizes the other side
                    self._set_size(op, sizes, 1 - row, value[1 - row], base)
                value = value[row]
            if isinstance(value, Tensor):
                self._set_size(op, sizes, row, value, base)
            gathered.append((name, row, value))
        if sizes[i] is None:
            sizes[i] = sizes[j]
        if sizes[j] is None:
            sizes[j] = sizes[i]
        if sizes[0] is None:
            sizes[0] = sizes[1] = utils.maybe_num_nodes(edge_index)
        utils.check_edge_index(op, edge_index, (sizes[0], sizes[1]))
        rows = (edge_index[0], edge_index[1])
        special = {"edge_index": edge_index, "edge_index_i": rows[i], "edge_index_j": rows[j],
                   "size": (sizes[0], sizes[1]), "size_i": sizes[i], "size_j": sizes[j],
                   "index": rows[i], "ptr": None, "dim_size": sizes[i]}
        values = {name: (v.index_select(self.node_dim, rows[row]) if isinstance(v, Tensor) else v)
                  for name, row, v in gathered}
        out = self.message(**self._collect(op, "message", self._message_params, kwargs,
                                           special, values))
        out = self.aggregate(out, **self._collect(op, "aggregate", self._aggregate_params,
                                                  kwargs, special, {}))
        return self.update(out, **self._collect(op, "update", self._update_params, kwargs,
                                                special, {}))

    def _set_size(self, op: str, sizes: list, row: int, value: Tensor, name: str) -> None:
        if value.ndim == 0:
            raise op_error(ValueError, op, f"{name} must have a node dimension", value)
        n = int(value.shape[self.node_dim])
        if sizes[row] is None:
            sizes[row] = n
        elif sizes[row] != n:
            raise op_error(ValueError, op, f"{name} has {n} nodes along dim {self.node_dim}, "
                           f"but {sizes[row]} were expected", value)

    @staticmethod
    def _collect(op: str, step: str, params: tuple, kwargs: dict, special: dict,
                 values: dict) -> dict:
        out = {}
        for name, default in params:
            if name in values:
                out[name] = values[name]
            elif name in kwargs:
                out[name] = kwargs[name]
            elif name in special:
                out[name] = special[name]
            elif name[-2:] in ("_i", "_j") and name[:-2] in kwargs:
                out[name] = None  # a None input stays None on the edges
            elif default is inspect.Parameter.empty:
                raise op_error(TypeError, op, f"{step}() needs {name!r}, which was not passed "
                               f"to propagate()")
        return out

    def __repr__(self) -> str:
        # PyG's short form, ``GCNConv(16, 32)``, for layers with channel sizes
        if hasattr(self, "in_channels") and hasattr(self, "out_channels"):
            return f"{type(self).__name__}({self.extra_repr()})"
        return super().__repr__()
