"""Pytrees (``torch.utils._pytree``, also importable as ``deepseek.utils._pytree``): nested
containers flattened to leaves and a :class:`TreeSpec`, and back.

Containers are found by exact type, as torch's: tuple, list, dict, namedtuples, OrderedDict,
defaultdict, deque, and whatever :func:`register_pytree_node` adds; anything else (a dict
subclass included) is a leaf. :func:`broadcast_prefix` serves ``deepseek.func``'s ``in_dims`` and
``out_dims``.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict, defaultdict, deque, namedtuple
from typing import Any, Callable, NamedTuple, Optional

__all__ = ["GetAttrKey", "LeafSpec", "MappingKey", "SequenceKey", "TreeSpec", "broadcast_prefix",
           "keystr", "register_pytree_node", "tree_all", "tree_all_only", "tree_any",
           "tree_any_only", "tree_flatten", "tree_flatten_with_path", "tree_is_leaf",
           "tree_iter", "tree_leaves", "tree_leaves_with_path", "tree_map", "tree_map_",
           "tree_map_only", "tree_map_only_", "tree_map_with_path", "tree_structure",
           "tree_unflatten", "treespec_pprint"]


# ---------------------------------------------------------------- keys (paths to leaves)
@dataclasses.dataclass(frozen=True)
class SequenceKey:
    idx: int

    def __str__(self) -> str:
        return f"[{self.idx!r}]"

    def get(self, sequence: Any) -> Any:
        return sequence[self.idx]


@dataclasses.dataclass(frozen=True)
class MappingKey:
    key: Any

    def __str__(self) -> str:
        return f"[{self.key!r}]"

    def get(self, mapping: Any) -> Any:
        return mapping[self.key]


@dataclasses.dataclass(frozen=True)
class GetAttrKey:
    name: str

    def __str__(self) -> str:
        return f".{self.name}"

    def get(self, obj: Any) -> Any:
        return getattr(obj, self.name)


def keystr(path: tuple) -> str:
    """A path from :func:`tree_flatten_with_path` as Python source: ``['a'][1].x``."""
    return "".join(str(k) for k in path)


# ---------------------------------------------------------------- container types
class _Node(NamedTuple):
    flatten: Callable[[Any], tuple]  # node -> (children, context)
    unflatten: Callable[[list, Any], Any]  # (children, context) -> node
    flatten_with_keys: Optional[Callable[[Any], tuple]]  # node -> ([(key, child)], context)


SUPPORTED_NODES: dict = {}


def register_pytree_node(cls: type, flatten_fn: Callable[[Any], tuple],
                         unflatten_fn: Callable[[Any, Any], Any], *,
                         serialized_type_name: Optional[str] = None,
                         to_dumpable_context: Optional[Callable] = None,
                         from_dumpable_context: Optional[Callable] = None,
                         flatten_with_keys_fn: Optional[Callable] = None) -> None:
    """Make ``cls`` a container: ``flatten_fn(node) -> (children, context)`` and
    ``unflatten_fn(children, context) -> node``; ``flatten_with_keys_fn(node) ->
    ([(key, child), ...], context)`` for paths. The serialization arguments are accepted for
    torch's signature (treespecs are not serialized here)."""
    if cls in SUPPORTED_NODES:
        raise ValueError(f"{cls} is already registered as pytree node.")
    SUPPORTED_NODES[cls] = _Node(flatten_fn, unflatten_fn, flatten_with_keys_fn)


def _sequence(make: Callable[[list, Any], Any], context: Callable[[Any], Any] = lambda n: None,
              key: Callable = lambda node, i: SequenceKey(i)) -> _Node:
    return _Node(lambda n: (list(n), context(n)), make,
                 lambda n: ([(key(n, i), v) for i, v in enumerate(n)], context(n)))


def _mapping(make: Callable[[list, Any], Any], context: Callable[[Any], Any] = list) -> _Node:
    return _Node(lambda n: (list(n.values()), context(n)), make,
                 lambda n: ([(MappingKey(k), v) for k, v in n.items()], context(n)))


SUPPORTED_NODES.update({
    tuple: _sequence(lambda kids, _: tuple(kids)),
    list: _sequence(lambda kids, _: list(kids)),
    namedtuple: _sequence(lambda kids, cls: cls(*kids), type,
                          lambda n, i: GetAttrKey(n._fields[i])),
    deque: _sequence(lambda kids, maxlen: deque(kids, maxlen=maxlen), lambda n: n.maxlen),
    dict: _mapping(lambda kids, keys: dict(zip(keys, kids))),
    OrderedDict: _mapping(lambda kids, keys: OrderedDict(zip(keys, kids))),
    defaultdict: _mapping(lambda kids, ctx: defaultdict(ctx[0], zip(ctx[1], kids)),
                          lambda n: [n.default_factory, list(n)]),
})


def _is_namedtuple_type(t: type) -> bool:
    return issubclass(t, tuple) and hasattr(t, "_fields")


def _node_type(tree: Any) -> Any:
    t = type(tree)
    return namedtuple if _is_namedtuple_type(t) else t


def tree_is_leaf(tree: Any, is_leaf: Optional[Callable[[Any], bool]] = None) -> bool:
    """Whether ``tree`` is a leaf: not a container type, or chosen by ``is_leaf``."""
    return (is_leaf is not None and is_leaf(tree)) or _node_type(tree) not in SUPPORTED_NODES


# ---------------------------------------------------------------- specs
class TreeSpec:
    """The shape of a pytree without its leaves: a container type, its ``context`` (a dict's
    keys, a namedtuple's class, a deque's maxlen …) and the specs of its children."""

    def __init__(self, type: Any, context: Any, children_specs: list) -> None:
        self.type = type
        self.context = context
        self.children_specs = children_specs
        self.num_nodes = 1 + sum(c.num_nodes for c in children_specs)
        self.num_leaves = sum(c.num_leaves for c in children_specs)
        self.num_children = len(children_specs)

    def is_leaf(self) -> bool:
        return False

    def children(self) -> list:
        return list(self.children_specs)

    def child(self, index: int) -> "TreeSpec":
        return self.children_specs[index]

    def unflatten(self, leaves: Any) -> Any:
        """The pytree of this structure holding ``leaves``."""
        leaves = list(leaves)
        if len(leaves) != self.num_leaves:
            raise ValueError(f"treespec.unflatten(leaves): `leaves` has length {len(leaves)} "
                             f"but the spec refers to a pytree that holds {self.num_leaves} "
                             f"items ({self}).")
        it = iter(leaves)

        def build(spec: TreeSpec) -> Any:
            if spec.is_leaf():
                return next(it)
            node = SUPPORTED_NODES[spec.type]
            return node.unflatten([build(c) for c in spec.children_specs], spec.context)

        return build(self)

    def flatten_up_to(self, tree: Any) -> list:
        """The subtrees of ``tree`` at this spec's leaves (``tree`` must have this structure
        down to them)."""
        out: list = []

        def walk(spec: TreeSpec, node: Any) -> None:
            if spec.is_leaf():
                out.append(node)
                return
            if _node_type(node) is not spec.type:
                raise ValueError(f"Node type mismatch; expected {spec.type}, but got "
                                 f"{type(node)}.")
            children, context = SUPPORTED_NODES[spec.type].flatten(node)
            if isinstance(node, dict):  # by key, in the spec's order
                keys = spec.context[1] if spec.type is defaultdict else spec.context
                if set(node) != set(keys):
                    raise ValueError(f"Node keys mismatch; missing key(s): "
                                     f"{set(keys) - set(node)}; extra key(s): "
                                     f"{set(node) - set(keys)}.")
                children, context = [node[k] for k in keys], spec.context
            if len(children) != spec.num_children:
                raise ValueError(f"Node arity mismatch; expected {spec.num_children}, but got "
                                 f"{len(children)}.")
            if context != spec.context:
                raise ValueError(f"Node context mismatch for node type {spec.type}; expected "
                                 f"{spec.context!r}, but got {context!r}.")
            for c, child in zip(spec.children_specs, children):
                walk(c, child)

        walk(self, tree)
        return out

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TreeSpec):
            return NotImplemented
        return (self.type is other.type and self.context == other.context
                and self.children_specs == other.children_specs)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        if self.is_leaf():
            return "*"
        name = getattr(self.type, "__name__", str(self.type))
        return f"TreeSpec({name}, {self.context!r}, [{', '.join(map(repr, self.children_specs))}])"


class LeafSpec(TreeSpec):
    """The spec of one leaf."""

    def __init__(self) -> None:
        super().__init__(None, None, [])
        self.num_nodes = self.num_leaves = 1

    def is_leaf(self) -> bool:
        return True


_LEAF = LeafSpec()


def treespec_pprint(treespec: TreeSpec) -> str:
    """The structure with ``*`` for leaves: ``(*, [*, *])``."""
    sample = treespec.unflatten([_Star()] * treespec.num_leaves)
    return repr(sample)


class _Star:
    def __repr__(self) -> str:
        return "*"


# ---------------------------------------------------------------- flatten and map
def tree_flatten(tree: Any, is_leaf: Optional[Callable[[Any], bool]] = None) -> tuple:
    """``(leaves, spec)``: the leaves of ``tree`` depth first, and its structure."""
    leaves: list = []

    def walk(node: Any) -> TreeSpec:
        if tree_is_leaf(node, is_leaf):
            leaves.append(node)
            return _LEAF
        kind = _node_type(node)
        children, context = SUPPORTED_NODES[kind].flatten(node)
        return TreeSpec(kind, context, [walk(c) for c in children])

    spec = walk(tree)
    return leaves, spec


def tree_unflatten(leaves: Any, treespec: TreeSpec) -> Any:
    """The pytree of structure ``treespec`` holding ``leaves`` (as from :func:`tree_flatten`)."""
    if not isinstance(treespec, TreeSpec):
        raise TypeError(f"[tree_unflatten] Expected `treespec` to be an instance of TreeSpec "
                        f"but got item of type {type(treespec)}.")
    return treespec.unflatten(leaves)


def tree_leaves(tree: Any, is_leaf: Optional[Callable[[Any], bool]] = None) -> list:
    return tree_flatten(tree, is_leaf)[0]


def tree_iter(tree: Any, is_leaf: Optional[Callable[[Any], bool]] = None) -> Any:
    return iter(tree_leaves(tree, is_leaf))


def tree_structure(tree: Any, is_leaf: Optional[Callable[[Any], bool]] = None) -> TreeSpec:
    return tree_flatten(tree, is_leaf)[1]


def tree_map(func: Callable[..., Any], tree: Any, *rests: Any,
             is_leaf: Optional[Callable[[Any], bool]] = None) -> Any:
    """``tree`` with each leaf ``x`` replaced by ``func(x, *the same place in rests)``; each of
    ``rests`` has ``tree``'s structure (at least down to its leaves)."""
    leaves, spec = tree_flatten(tree, is_leaf)
    others = [spec.flatten_up_to(r) for r in rests]
    return spec.unflatten(func(*xs) for xs in zip(leaves, *others))


def tree_map_(func: Callable[..., Any], tree: Any, *rests: Any,
              is_leaf: Optional[Callable[[Any], bool]] = None) -> Any:
    """Call ``func`` on the leaves as :func:`tree_map` does, for its effects; returns ``tree``."""
    leaves, spec = tree_flatten(tree, is_leaf)
    for xs in zip(leaves, *[spec.flatten_up_to(r) for r in rests]):
        func(*xs)
    return tree


def _matcher(type_or_types_or_pred: Any) -> Callable[[Any], bool]:
    if isinstance(type_or_types_or_pred, (type, tuple)) or hasattr(type_or_types_or_pred,
                                                                    "__args__"):
        return lambda x: isinstance(x, type_or_types_or_pred)
    if callable(type_or_types_or_pred):
        return type_or_types_or_pred
    raise TypeError(f"Argument must be a type, a tuple of types, or a callable, not "
                    f"{type(type_or_types_or_pred).__name__}")


def tree_map_only(type_or_types_or_pred: Any, /, func: Callable[[Any], Any], tree: Any,
                  is_leaf: Optional[Callable[[Any], bool]] = None) -> Any:
    """:func:`tree_map` over the leaves of the given type(s) (or passing the predicate); the
    other leaves stay as they are."""
    match = _matcher(type_or_types_or_pred)
    return tree_map(lambda x: func(x) if match(x) else x, tree, is_leaf=is_leaf)


def tree_map_only_(type_or_types_or_pred: Any, /, func: Callable[[Any], Any], tree: Any,
                   is_leaf: Optional[Callable[[Any], bool]] = None) -> Any:
    match = _matcher(type_or_types_or_pred)
    return tree_map_(lambda x: func(x) if match(x) else None, tree, is_leaf=is_leaf)


def tree_all(pred: Callable[[Any], bool], tree: Any,
             is_leaf: Optional[Callable[[Any], bool]] = None) -> bool:
    return all(map(pred, tree_leaves(tree, is_leaf)))


def tree_any(pred: Callable[[Any], bool], tree: Any,
             is_leaf: Optional[Callable[[Any], bool]] = None) -> bool:
    return any(map(pred, tree_leaves(tree, is_leaf)))


def tree_all_only(type_or_types: Any, /, pred: Callable[[Any], bool], tree: Any,
                  is_leaf: Optional[Callable[[Any], bool]] = None) -> bool:
    match = _matcher(type_or_types)
    return all(pred(x) for x in tree_leaves(tree, is_leaf) if match(x))


def tree_any_only(type_or_types: Any, /, pred: Callable[[Any], bool], tree: Any,
                  is_leaf: Optional[Callable[[Any], bool]] = None) -> bool:
    match = _matcher(type_or_types)
    return any(pred(x) for x in tree_leaves(tree, is_leaf) if match(x))


# ---------------------------------------------------------------- paths
def tree_flatten_with_path(tree: Any, is_leaf: Optional[Callable[[Any], bool]] = None) -> tuple:
    """``([(path, leaf), ...], spec)``, a path being the keys from the root to the leaf."""
    out: list = []

    def walk(node: Any, path: tuple) -> None:
        if tree_is_leaf(node, is_leaf):
            out.append((path, node))
            return
        kind = _node_type(node)
        with_keys = SUPPORTED_NODES[kind].flatten_with_keys
        if with_keys is None:
            raise ValueError(f"Did not find a flatten_with_keys_fn for type: {kind}. Please "
                             "pass a flatten_with_keys_fn argument to register_pytree_node.")
        for key, child in with_keys(node)[0]:
            walk(child, path + (key,))

    walk(tree, ())
    return out, tree_structure(tree, is_leaf)


def tree_leaves_with_path(tree: Any, is_leaf: Optional[Callable[[Any], bool]] = None) -> list:
    return tree_flatten_with_path(tree, is_leaf)[0]


def tree_map_with_path(func: Callable[..., Any], tree: Any, *rests: Any,
                       is_leaf: Optional[Callable[[Any], bool]] = None) -> Any:
    """:func:`tree_map` whose ``func`` also gets each leaf's path first."""
    pairs, spec = tree_flatten_with_path(tree, is_leaf)
    others = [spec.flatten_up_to(r) for r in rests]
    return spec.unflatten(func(path, x, *xs) for (path, x), *xs in zip(pairs, *others))


# ---------------------------------------------------------------- prefixes (deepseek.func)
def broadcast_prefix(prefix: Any, tree: Any) -> Optional[list]:
    """One entry of ``prefix`` per leaf of ``tree``, where a leaf of ``prefix`` stands for the
    whole subtree at its place; None when ``prefix`` is not a prefix of ``tree``'s structure.
    Container types must agree exactly (a tuple does not match a list); dicts by key."""
    out: list = []

    def walk(p: Any, node: Any) -> bool:
        if tree_is_leaf(p):
            out.extend([p] * tree_structure(node).num_leaves)
            return True
        if tree_is_leaf(node) or _node_type(p) is not _node_type(node):
            return False
        if isinstance(node, dict):
            return set(p) == set(node) and all(walk(p[k], node[k]) for k in node)
        return len(p) == len(node) and all(walk(a, b) for a, b in zip(p, node))

    return out if walk(prefix, tree) else None
