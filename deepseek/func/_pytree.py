"""Pytrees for ``deepseek.func``: nested tuples, lists and dicts flattened to leaves and back,
and a prefix tree (``in_dims``, ``out_dims``) broadcast over a full one."""

from __future__ import annotations

from typing import Any, Callable, Optional

__all__ = ["TreeSpec", "tree_flatten", "tree_unflatten", "tree_map", "broadcast_prefix"]


def _children(node: Any) -> Optional[tuple]:
    """``(keys, children)`` of a container node, or None for a leaf."""
    if isinstance(node, dict):
        keys = list(node)
        return keys, [node[k] for k in keys]
    if isinstance(node, (tuple, list)):
        return None, list(node)
    return None


class TreeSpec:
    """The shape of a pytree without its leaves: a container type, its keys (dicts) and the
    specs of its children. ``TreeSpec.LEAF`` stands for one leaf."""

    __slots__ = ("type", "keys", "children", "num_leaves")

    def __init__(self, type_: Optional[type], keys: Optional[list], children: list) -> None:
        self.type = type_
        self.keys = keys
        self.children = children
        self.num_leaves = 1 if type_ is None else sum(c.num_leaves for c in children)

    def is_leaf(self) -> bool:
        return self.type is None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TreeSpec):
            return NotImplemented
        return (self.type is other.type and self.keys == other.keys
                and self.children == other.children)

    def __repr__(self) -> str:
        if self.is_leaf():
            return "*"
        inner = ", ".join(repr(c) for c in self.children)
        return f"TreeSpec({self.type.__name__}, {self.keys}, [{inner}])"


TreeSpec.LEAF = TreeSpec(None, None, [])


def tree_flatten(tree: Any) -> tuple:
    """``(leaves, spec)``: the leaves of ``tree`` depth first, and its structure."""
    leaves: list = []

    def walk(node: Any) -> TreeSpec:
        found = _children(node)
        if found is None:
            leaves.append(node)
            return TreeSpec.LEAF
        keys, kids = found
        return TreeSpec(type(node), keys, [walk(k) for k in kids])

    spec = walk(tree)
    return leaves, spec


def tree_unflatten(leaves: list, spec: TreeSpec) -> Any:
    """The pytree of structure ``spec`` holding ``leaves`` (as from :func:`tree_flatten`)."""
    if len(leaves) != spec.num_leaves:
        raise ValueError(f"tree_unflatten: got {len(leaves)} leaves for a spec with "
                         f"{spec.num_leaves}: {spec}")
    it = iter(leaves)

    def build(s: TreeSpec) -> Any:
        if s.is_leaf():
            return next(it)
        kids = [build(c) for c in s.children]
        if s.keys is not None:
            return s.type(zip(s.keys, kids))
        if _is_namedtuple_type(s.type):
            return s.type(*kids)
        return s.type(kids)

    return build(spec)


def _is_namedtuple_type(t: type) -> bool:
    return issubclass(t, tuple) and hasattr(t, "_fields")


def tree_map(fn: Callable[[Any], Any], tree: Any) -> Any:
    """``tree`` with ``fn`` applied to every leaf."""
    leaves, spec = tree_flatten(tree)
    return tree_unflatten([fn(x) for x in leaves], spec)


def broadcast_prefix(prefix: Any, tree: Any) -> Optional[list]:
    """One entry of ``prefix`` per leaf of ``tree``, where a leaf of ``prefix`` stands for the
    whole subtree at its place; None when ``prefix`` is not a prefix of ``tree``'s structure.
    Container types must agree exactly (a tuple does not match a list); dicts by key."""
    out: list = []

    def walk(p: Any, node: Any) -> bool:
        p_found = _children(p)
        if p_found is None:
            out.extend([p] * tree_flatten(node)[1].num_leaves)
            return True
        found = _children(node)
        if found is None or type(p) is not type(node):
            return False
        if isinstance(node, dict):
            if set(p) != set(node):
                return False
            return all(walk(p[k], node[k]) for k in node)
        if len(p) != len(node):
            return False
        return all(walk(a, b) for a, b in zip(p, node))

    return out if walk(prefix, tree) else None
