"""``Data`` (one graph: node features, ``edge_index``, any other attributes) and ``Batch``
(several graphs merged into one disconnected graph with a ``batch`` vector)."""

from __future__ import annotations

import copy
from typing import Any, Callable, Iterator, Optional, Sequence

import numpy as np

from .. import _creation
from .._errors import op_error
from ..ops.movement import cat
from ..tensor import Tensor, host_values
from . import utils

__all__ = ["Data", "Batch"]

# attributes that read as None when unset (any other missing name raises AttributeError)
_STANDARD = ("x", "edge_index", "edge_attr", "y", "pos", "batch", "ptr")


def _size_repr(value: Any) -> str:
    if isinstance(value, Tensor):
        return str(value.item()) if value.ndim == 0 else str(list(value.shape))
    if isinstance(value, np.ndarray):
        return str(list(value.shape))
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return str([len(value)])
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_size_repr(v)}" for k, v in value.items()) + "}"
    return str(value)


class Data:
    """One graph, as ``torch_geometric.data.Data``: named attributes, most of them tensors.

    Args:
        x: node features, ``(num_nodes, num_node_features)``.
        edge_index: the edges as ``(source, target)`` columns, ``(2, num_edges)`` int64.
        edge_attr: edge features, ``(num_edges, num_edge_features)``.
        y: targets (per node or per graph).
        pos: node positions, ``(num_nodes, num_dimensions)``.
        **kwargs: any other attributes (``num_nodes`` sets the node count explicitly).

    Example::

        >>> data = Data(x=ds.randn(3, 16), edge_index=ds.tensor([[0, 1, 1, 2], [1, 0, 2, 1]]))
        >>> data
        Data(x=[3, 16], edge_index=[2, 4])
        >>> data.num_nodes, data.num_edges
        (3, 4)
    """

    def __init__(self, x: Optional[Tensor] = None, edge_index: Optional[Tensor] = None,
                 edge_attr: Optional[Tensor] = None, y: Any = None, pos: Optional[Tensor] = None,
                 **kwargs: Any) -> None:
        object.__setattr__(self, "_store", {})
        for key, value in (("x", x), ("edge_index", edge_index), ("edge_attr", edge_attr),
                           ("y", y), ("pos", pos), *kwargs.items()):
            setattr(self, key, value)

    # ------------------------------------------------------------ attribute access
    def __getattr__(self, key: str) -> Any:
        store = self.__dict__.get("_store", {})
        if key in store:
            return store[key]
        if key in _STANDARD:
            return None
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{key}'")

    def __setattr__(self, key: str, value: Any) -> None:
        prop = getattr(type(self), key, None)
        if isinstance(prop, property):
            prop.__set__(self, value)
        elif key.startswith("_"):
            object.__setattr__(self, key, value)
        else:
            self[key] = value

    def __delattr__(self, key: str) -> None:
        self._store.pop(key, None)

    def __getitem__(self, key: str) -> Any:
        return self._store[key]

    def __setitem__(self, key: str, value: Any) -> None:
        if value is None:
            self._store.pop(key, None)
        else:
            self._store[key] = value

    def __delitem__(self, key: str) -> None:
        self._store.pop(key, None)

    def __contains__(self, key: str) -> bool:
        return key in self._store

    def __iter__(self) -> Iterator[tuple]:
        return iter(self._store.items())

    def __len__(self) -> int:
        return len(self._store)

    def keys(self) -> list:
        """The names of the attributes set."""
        return list(self._store)

    def items(self) -> list:
        return list(self._store.items())

    def to_dict(self) -> dict:
        return dict(self._store)

    def __copy__(self) -> "Data":
        out = type(self).__new__(type(self))
        for key, value in self.__dict__.items():
            object.__setattr__(out, key, copy.copy(value))
        return out

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={_size_repr(v)}" for k, v in self._store.items())
        return f"{type(self).__name__}({fields})"

    # tensors never pickle; a graph crosses to DataLoader workers with its tensors as host
    # arrays (they come back as CPU tensors, without grad)
    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_store"] = {k: _apply(v, lambda t: _HostArray(host_values(t.detach(), "pickle")))
                           for k, v in self._store.items()}
        return state

    def __setstate__(self, state: dict) -> None:
        for key, value in state.items():
            object.__setattr__(self, key, value)
        self._store = {k: _unhost(v) for k, v in self._store.items()}

    # ------------------------------------------------------------ sizes
    @property
    def num_nodes(self) -> Optional[int]:
        """The node count: set explicitly, else the rows of ``x`` or ``pos``, else one more
        than the largest id in ``edge_index``; None when nothing tells."""
        store = self._store
        if "num_nodes" in store:
            return int(store["num_nodes"])
        for key in ("x", "pos"):
            if isinstance(store.get(key), Tensor):
                return int(store[key].shape[0])
        if isinstance(store.get("edge_index"), Tensor) and store["edge_index"].numel():
            return utils.maybe_num_nodes(store["edge_index"])
        return None

    @num_nodes.setter
    def num_nodes(self, value: Optional[int]) -> None:
        self["num_nodes"] = value

    @property
    def num_edges(self) -> int:
        """The columns of ``edge_index`` (or rows of ``edge_attr``); 0 without either."""
        if isinstance(self.edge_index, Tensor):
            return int(self.edge_index.shape[1])
        if isinstance(self.edge_attr, Tensor):
            return int(self.edge_attr.shape[0])
        return 0

    @property
    def num_node_features(self) -> int:
        x = self.x
        return 0 if x is None else (1 if x.ndim == 1 else int(x.shape[-1]))

    @property
    def num_features(self) -> int:
        return self.num_node_features

    @property
    def num_edge_features(self) -> int:
        e = self.edge_attr
        return 0 if e is None else (1 if e.ndim == 1 else int(e.shape[-1]))

    def has_self_loops(self) -> bool:
        return self.edge_index is not None and utils.contains_self_loops(self.edge_index)

    def has_isolated_nodes(self) -> bool:
        if self.edge_index is None:
            return bool(self.num_nodes)
        return utils.contains_isolated_nodes(self.edge_index, self.num_nodes)

    def is_undirected(self) -> bool:
        return self.edge_index is None or utils.is_undirected(self.edge_index, self.num_nodes)

    def validate(self, raise_on_error: bool = True) -> bool:
        """Check ``edge_index`` (shape, dtype, ids below ``num_nodes``) and that per-node and
        per-edge attributes agree with the counts."""
        try:
            if self.edge_index is not None:
                utils.check_edge_index("Data.validate", self.edge_index, self.num_nodes)
            n = self.num_nodes
            if isinstance(self.x, Tensor) and n is not None and self.x.shape[0] != n:
                raise op_error(ValueError, "Data.validate", f"x has {self.x.shape[0]} rows but "
                               f"num_nodes is {n}", self.x)
            e = self.edge_attr
            if isinstance(e, Tensor) and self.edge_index is not None and \
                    e.shape[0] != self.num_edges:
                raise op_error(ValueError, "Data.validate", f"edge_attr has {e.shape[0]} rows "
                               f"but edge_index has {self.num_edges} edges", e, self.edge_index)
        except (TypeError, ValueError, IndexError):
            if raise_on_error:
                raise
            return False
        return True

    # ------------------------------------------------------------ batching rules
    def __cat_dim__(self, key: str, value: Any, *args: Any, **kwargs: Any) -> Optional[int]:
        """The dimension along which batching concatenates ``value`` (None: stack)."""
        if isinstance(value, Tensor) and value.ndim == 0:
            return None
        return -1 if "index" in key or key == "face" else 0

    def __inc__(self, key: str, value: Any, *args: Any, **kwargs: Any) -> int:
        """What batching adds to ``value`` per preceding graph: its node count for indices."""
        return int(self.num_nodes or 0) if "index" in key or key == "face" else 0

    # ------------------------------------------------------------ tensors
    def apply(self, func: Callable, *keys: str) -> "Data":
        """Replace each tensor attribute (or those in ``keys``) by ``func(tensor)``, in place."""
        for key, value in list(self._store.items()):
            if keys and key not in keys:
                continue
            self._store[key] = _apply(value, func)
        return self

    def to(self, device: Any, *args: Any, non_blocking: bool = False, **kwargs: Any) -> "Data":
        """Move every tensor attribute to ``device`` (in place; returns ``self``)."""
        return self.apply(lambda t: t.to(device, *args, **kwargs))

    def cpu(self) -> "Data":
        return self.apply(lambda t: t.cpu())

    def cuda(self, device: Any = None) -> "Data":
        return self.apply(lambda t: t.cuda(device))

    def clone(self) -> "Data":
        """A deep copy: tensors cloned, other values deep-copied."""
        out = copy.copy(self)
        out._store = {k: _apply(v, lambda t: t.clone()) if _has_tensor(v) else copy.deepcopy(v)
                      for k, v in self._store.items()}
        return out

    def contiguous(self) -> "Data":
        return self.apply(lambda t: t.contiguous())


def _apply(value: Any, func: Callable) -> Any:
    if isinstance(value, Tensor):
        return func(value)
    if isinstance(value, (list, tuple)):
        return type(value)(_apply(v, func) for v in value)
    if isinstance(value, dict):
        return {k: _apply(v, func) for k, v in value.items()}
    return value


class _HostArray:
    __slots__ = ("array",)

    def __init__(self, array: np.ndarray) -> None:
        self.array = array

    def __getstate__(self) -> np.ndarray:
        return self.array

    def __setstate__(self, array: np.ndarray) -> None:
        self.array = array


def _unhost(value: Any) -> Any:
    if isinstance(value, _HostArray):
        return Tensor._wrap(value.array)
    if isinstance(value, (list, tuple)):
        return type(value)(_unhost(v) for v in value)
    if isinstance(value, dict):
        return {k: _unhost(v) for k, v in value.items()}
    return value


def _has_tensor(value: Any) -> bool:
    if isinstance(value, Tensor):
        return True
    if isinstance(value, (list, tuple)):
        return any(_has_tensor(v) for v in value)
    if isinstance(value, dict):
        return any(_has_tensor(v) for v in value.values())
    return False


class Batch(Data):
    """Several graphs as one disconnected graph, as ``torch_geometric.data.Batch``.

    Node-level and edge-level tensors are concatenated; ``edge_index`` (any key holding
    ``"index"``) is offset by the node count of the graphs before it; ``batch[n]`` is the
    graph of node ``n`` and ``ptr`` the node offset of each graph. 0-d tensors and numbers
    are stacked, other values gathered into lists.

    Example::

        >>> g = Data(x=ds.randn(2, 4), edge_index=ds.tensor([[0], [1]]))
        >>> batch = Batch.from_data_list([g, g, g])
        >>> batch.batch
        tensor([0, 0, 1, 1, 2, 2])
        >>> batch.edge_index
        tensor([[0, 2, 4],
                [1, 3, 5]])
    """

    def __init__(self, batch: Optional[Tensor] = None, ptr: Optional[Tensor] = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.batch = batch
        self.ptr = ptr
        self._num_graphs: Optional[int] = None
        self._slice_dict: dict = {}
        self._inc_dict: dict = {}
        self._cat_dims: dict = {}
        self._data_class: type = Data

    @classmethod
    def from_data_list(cls, data_list: Sequence[Data], follow_batch: Optional[Sequence] = None,
                       exclude_keys: Optional[Sequence] = None) -> "Batch":
        """Merge ``data_list`` into one ``Batch``.

        Args:
            data_list: the graphs, all with the same attributes.
            follow_batch: keys that also get a ``{key}_batch`` vector (graph of each row).
            exclude_keys: keys left out.
        """
        data_list = list(data_list)
        if not data_list:
            raise op_error(ValueError, "Batch.from_data_list", "data_list is empty")
        for i, data in enumerate(data_list):
            if not isinstance(data, Data):
                raise op_error(TypeError, "Batch.from_data_list", f"data_list[{i}] is a "
                               f"{type(data).__name__}, expected Data")
        exclude = set(exclude_keys or ()) | {"batch", "ptr", "num_nodes"}
        keys = [k for k in data_list[0].keys() if k not in exclude]
        for i, data in enumerate(data_list[1:], 1):
            if set(k for k in data.keys() if k not in exclude) != set(keys):
                raise op_error(ValueError, "Batch.from_data_list", f"data_list[{i}] has "
                               f"attributes {sorted(data.keys())}, data_list[0] has "
                               f"{sorted(data_list[0].keys())}")
        counts = []
        for i, data in enumerate(data_list):
            n = data.num_nodes
            if n is None:
                raise op_error(ValueError, "Batch.from_data_list", f"data_list[{i}] has no "
                               "node count (no x, pos, edge_index or num_nodes)")
            counts.append(int(n))
        out = cls()
        out._data_class = type(data_list[0])
        out._num_graphs = len(data_list)
        device = _first_device(data_list)
        for key in keys:
            values = [data[key] for data in data_list]
            merged, slices, incs, dim = _collate_key(key, values, data_list)
            out._store[key] = merged
            out._slice_dict[key], out._inc_dict[key], out._cat_dims[key] = slices, incs, dim
        graph_ids = _creation.arange(len(data_list), device=device)
        sizes = _creation.tensor(counts, device=device)
        out._store["batch"] = graph_ids.repeat_interleave(sizes)
        out._store["ptr"] = _creation.tensor(np.concatenate([[0], np.cumsum(counts)]),
                                             device=device)
        for key in follow_batch or ():
            if key not in keys:
                raise op_error(KeyError, "Batch.from_data_list", f"follow_batch key {key!r} is "
                               f"not an attribute; attributes: {keys}")
            rows = np.diff(out._slice_dict[key])
            out._store[f"{key}_batch"] = graph_ids.repeat_interleave(
                _creation.tensor(rows, device=device))
        return out

    @property
    def num_graphs(self) -> int:
        if self._num_graphs is not None:
            return self._num_graphs
        return 0 if self.ptr is None else int(self.ptr.shape[0]) - 1

    @property
    def num_nodes(self) -> Optional[int]:
        if isinstance(self._store.get("batch"), Tensor):
            return int(self._store["batch"].shape[0])
        return Data.num_nodes.fget(self)

    @num_nodes.setter
    def num_nodes(self, value: Optional[int]) -> None:
        self["num_nodes"] = value

    def __len__(self) -> int:
        return self.num_graphs

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={_size_repr(v)}" for k, v in self._store.items())
        return f"{self._data_class.__name__}Batch({fields})"

    def get_example(self, idx: int) -> Data:
        """Graph ``idx`` as it was before batching."""
        if not self._slice_dict:
            raise op_error(RuntimeError, "Batch.get_example", "this Batch was not built by "
                           "Batch.from_data_list, so it cannot be split")
        if not -self.num_graphs <= idx < self.num_graphs:
            raise op_error(IndexError, "Batch.get_example", f"index {idx} is out of range for "
                           f"{self.num_graphs} graphs")
        idx %= self.num_graphs
        data = self._data_class()
        ptr = host_values(self.ptr, "Batch.get_example")
        for key, slices in self._slice_dict.items():
            value, dim, inc = self._store[key], self._cat_dims[key], self._inc_dict[key][idx]
            start, stop = int(slices[idx]), int(slices[idx + 1])
            if isinstance(value, Tensor) and dim is None:
                data[key] = value[idx]
            elif isinstance(value, Tensor):
                part = value.narrow(dim, start, stop - start)
                data[key] = part - inc if inc else part
            else:
                data[key] = value[idx]
        if data.num_nodes != int(ptr[idx + 1] - ptr[idx]):
            data.num_nodes = int(ptr[idx + 1] - ptr[idx])
        return data

    def to_data_list(self) -> list:
        """The graphs as they were before batching."""
        return [self.get_example(i) for i in range(self.num_graphs)]


def _first_device(data_list: Sequence[Data]) -> Any:
    for data in data_list:
        for _, value in data:
            if isinstance(value, Tensor):
                return value.device
    return None


def _collate_key(key: str, values: list, data_list: list) -> tuple:
    """``(merged, slices, incs, cat_dim)`` for one attribute over the graphs."""
    first = values[0]
    if isinstance(first, Tensor):
        dim = data_list[0].__cat_dim__(key, first)
        incs = [data.__inc__(key, v) for data, v in zip(data_list, values)]
        offsets = np.concatenate([[0], np.cumsum(incs)[:-1]]).astype(np.int64)
        parts = [v + int(o) if o else v for v, o in zip(values, offsets)]
        if dim is None:
            merged = cat([p.unsqueeze(0) for p in parts], dim=0)
            slices = np.arange(len(values) + 1)
        else:
            for i, v in enumerate(values):
                if v.ndim != first.ndim:
                    raise op_error(ValueError, "Batch.from_data_list", f"attribute {key!r} "
                                   f"has {v.ndim} dims in data_list[{i}] and {first.ndim} in "
                                   f"data_list[0]", first, v)
            merged = cat(parts, dim=dim)
            slices = np.concatenate([[0], np.cumsum([v.shape[dim] for v in values])])
        return merged, slices, offsets, dim
    if isinstance(first, (bool, int, float)):
        return (_creation.tensor(values), np.arange(len(values) + 1),
                np.zeros(len(values), np.int64), None)
    return list(values), np.arange(len(values) + 1), np.zeros(len(values), np.int64), None
