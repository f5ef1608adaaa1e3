"""deepseek.utils._pytree against torch.utils._pytree: the same leaves, structures, paths and
errors for builtin containers, namedtuples and registered types."""

from __future__ import annotations

import collections

import pytest
import torch.utils._pytree as theirs

import deepseek.utils._pytree as ours

Point = collections.namedtuple("Point", "x y")


class Pair:
    def __init__(self, a, b):
        self.a, self.b = a, b

    def __repr__(self):
        return f"Pair({self.a!r}, {self.b!r})"

    def __eq__(self, other):
        return type(other) is Pair and (self.a, self.b) == (other.a, other.b)


class Plain(dict):
    pass


for lib in (ours, theirs):
    lib.register_pytree_node(
        Pair, lambda p: ([p.a, p.b], "pair"), lambda kids, ctx: Pair(*kids),
        flatten_with_keys_fn=lambda p, lib=lib: ([(lib.GetAttrKey("a"), p.a),
                                                   (lib.GetAttrKey("b"), p.b)], "pair"))

TREES = [
    1, None, [], (), {}, (1, None, [2]), {"b": 1, "a": [2, (3,)]}, Point(1, [2, 3]),
    collections.OrderedDict(z=1, a=2), collections.defaultdict(list, k=[1, 2]),
    collections.deque([1, (2, 3)], maxlen=4), Pair(1, {"q": (2,)}), Plain(a=1),
    [Point(x={"a": 1}, y=()), Pair([1], None)],
]


def _shape(spec):
    """A spec as plain data, comparable across the two libraries."""
    if spec.is_leaf():
        return "*"
    kind = getattr(spec.type, "__name__", spec.type)
    return (kind, repr(spec.context), [_shape(c) for c in spec.children()])


@pytest.mark.parametrize("tree", TREES, ids=lambda t: type(t).__name__)
def test_flatten_like_torch(tree):
    (a, sa), (b, sb) = ours.tree_flatten(tree), theirs.tree_flatten(tree)
    assert a == b and _shape(sa) == _shape(sb)
    assert (sa.num_leaves, sa.num_nodes, sa.num_children) == (sb.num_leaves, sb.num_nodes,
                                                               sb.num_children)
    rebuilt = ours.tree_unflatten(a, sa)
    assert rebuilt == tree and type(rebuilt) is type(tree)
    assert ours.treespec_pprint(sa) == theirs.treespec_pprint(sb)
    pa, pb = ours.tree_flatten_with_path(tree)[0], theirs.tree_flatten_with_path(tree)[0]
    assert [(ours.keystr(p), v) for p, v in pa] == [(theirs.keystr(p), v) for p, v in pb]


def test_maps_like_torch():
    tree, other = {"a": [1, 2], "b": (3,)}, {"a": [10, 20], "b": (30,)}
    for lib in (ours, theirs):
        assert lib.tree_map(lambda x, y: x + y, tree, other) == {"a": [11, 22], "b": (33,)}
        assert lib.tree_map_only(int, str, [1, 2.0, (3,)]) == ["1", 2.0, ("3",)]
        assert lib.tree_map_only((float,), int, [1, 2.5]) == [1, 2]
        assert lib.tree_map_only(lambda x: x > 1, lambda x: -x, [1, 2]) == [1, -2]
        assert lib.tree_all(lambda x: x > 0, tree) and not lib.tree_any(lambda x: x > 5, tree)
        assert lib.tree_any_only(str, lambda s: s == "x", [1, "x"])
        assert lib.tree_all_only(int, lambda i: i > 0, [1, "x"])
        assert lib.tree_leaves([1, [2, 3]], is_leaf=lambda x: isinstance(x, list)
                               and len(x) == 2) == [[1, [2, 3]]]
        assert lib.tree_map_with_path(lambda p, x, lib=lib: lib.keystr(p), tree) == \
            {"a": ["['a'][0]", "['a'][1]"], "b": ("['b'][0]",)}
        seen = []
        assert lib.tree_map_(seen.append, (1, [2])) == (1, [2]) and seen == [1, 2]
        # a rest may hold subtrees where the first tree has leaves
        assert lib.tree_map(lambda x, y: (x, y), [1, 2], [[0], {"k": 1}]) == [(1, [0]),
                                                                           (2, {"k": 1})]
        # dicts match by key, whatever their order
        assert lib.tree_map(lambda x, y: y, {"a": 1, "b": 2}, {"b": 20, "a": 10}) == \
            {"a": 10, "b": 20}


@pytest.mark.parametrize("call", [
    lambda lib: lib.tree_map(lambda a, b: a, (1, [2]), (1, (2,))),
    lambda lib: lib.tree_map(lambda a, b: a, [1, 2], [1]),
    lambda lib: lib.tree_map(lambda a, b: a, {"a": 1}, {"b": 1}),
    lambda lib: lib.tree_unflatten([1], lib.tree_structure((1, [2, 3]))),
    lambda lib: lib.tree_unflatten([1], "not a spec"),
    lambda lib: lib.register_pytree_node(Pair, lambda p: ([], None), lambda k, c: Pair(0, 0)),
])
def test_errors_like_torch(call):
    with pytest.raises(Exception) as want:
        call(theirs)
    with pytest.raises(type(want.value)) as got:
        call(ours)
    first = str(want.value).split(";")[0].split(" (")[0].replace("PyTreeSpec", "TreeSpec")
    assert first in str(got.value), (str(got.value), str(want.value))


def test_spec_equality_and_leaf_spec():
    a = ours.tree_structure({"a": (1, 2)})
    assert a == ours.tree_structure({"a": (5, 6)}) != ours.tree_structure({"a": [5, 6]})
    assert ours.LeafSpec().is_leaf() and ours.LeafSpec().num_leaves == 1
    assert ours.tree_is_leaf(Plain()) and not ours.tree_is_leaf({})
