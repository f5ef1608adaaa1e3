"""Graph passes: simplification, constant folding, CSE, gradient-of-split rewriting, dead code
elimination, convolution epilogues, fusion and rematerialization.

Values whose storage is written during the run (in-place targets, parameters an optimizer
updates, and every view of them) are never merged, folded or moved: only pure reads of
immutable storage are.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from ..ops.movement import CAT, VIEW
from .ir import Graph, Node, Slot, Value
from .kernels import PARALLEL_MIN

__all__ = ["optimize", "storage_root", "FUSABLE_DTYPES"]

FUSABLE_DTYPES = frozenset(np.dtype(d) for d in (np.float32, np.float64, np.int64, np.int32,
                                                  np.int16, np.int8, np.uint8, np.bool_))


def storage_root(v: Value) -> int:
    """A token shared by every value whose array views the same memory."""
    return v.root


def _mutable(graph: Graph, mutated: set) -> set:
    roots = {storage_root(v) for v in graph.values if v.id in mutated}
    return {v.id for v in graph.values if storage_root(v) in roots}


def _pure(n: Node) -> bool:
    """An op that always gives the same result for the same inputs and nothing else: no
    draw from a generator (the default one included), no communication with other
    processes (a collective's ``group``)."""
    return n.kind == "op" and "generator" not in n.attrs and "group" not in n.attrs


def _replace(graph: Graph, old: Value, new: Value) -> None:
    for n in graph.nodes:
        n.inputs = [new if v is old else v for v in n.inputs]
    graph.outputs = [new if v is old else v for v in graph.outputs]


def simplify(graph: Graph, mutable: set) -> None:
    """Algebraic identities: ``x*1``, ``x+0``, ``x-0``, ``x/1``, casts to the same dtype,
    a permute undone by the next one, and chains of reshapes."""
    keep = []
    for n in graph.nodes:
        if n.kind == "op":
            same = _identity(n) if n.out.id not in mutable else None
            if same is not None and same.shape == n.out.shape and same.dtype == n.out.dtype:
                _replace(graph, n.out, same)
                continue
            first = n.inputs[0].node if n.inputs else None
            # views of views stay views of the same storage, so mutation does not matter here
            if (n.op.name in ("view", "permute") and first is not None and first.kind == "op"
                    and first.op.name == n.op.name):
                if n.op.name == "view":  # reshape(reshape(x)) -> reshape(x)
                    n.inputs = [first.inputs[0]]
                elif tuple(first.attrs["dims"][d] for d in n.attrs["dims"]) == tuple(
                        range(len(n.out.shape))):  # permute undone
                    _replace(graph, n.out, first.inputs[0])
                    continue
        keep.append(n)
    graph.nodes = keep


def _users(graph: Graph) -> dict:
    users: dict = {}
    for n in graph.nodes:
        for v in n.inputs:
            users.setdefault(v.id, []).append(n)
    return users


def _op(v: Value, name: str) -> Any:
    n = v.node
    return n if n is not None and n.kind == "op" and n.op.name == name else None


def transposed_gemms(graph: Graph, mutable: set) -> None:
    """``clone(permute(A @ B))`` of matrices (how a weight's gradient arrives) becomes
    ``B.T @ A.T``: the same numbers, written contiguous by the GEMM, without the copy."""
    users = _users(graph)
    out_ids = {v.id for v in graph.outputs}
    nodes = []
    for n in graph.nodes:
        p = _op(n.inputs[0], "permute") if n.kind == "op" and n.op.name == "clone" else None
        m = _op(p.inputs[0], "matmul") if p is not None and p.attrs["dims"] == (1, 0) else None
        if (m is None or len(m.out.shape) != 2 or m.cast or len(users[m.out.id]) != 1
                or len(users[p.out.id]) != 1 or {m.out.id, p.out.id} & (out_ids | mutable)):
            nodes.append(n)
            continue
        ts = []
        for v in m.inputs[::-1]:
            t = Node("op", p.op, [v], {"dims": (1, 0)})
            _new_value(graph, t, v, v.shape[::-1], owns=False, root=v.root)
            ts.append(t)
            nodes.append(t)
        n.op, n.inputs, n.attrs = m.op, [t.out for t in ts], {}
        nodes.append(n)
    graph.nodes = nodes


def _slice_of(n: Node) -> Any:
    """``(dim, start, stop)`` when ``n`` writes its values into a zero constant at one
    contiguous slice of one dim (how a slice's gradient arrives), else None."""
    if (n is None or n.kind != "op" or n.op.name != "index_put" or n.attrs["accumulate"]
            or len(n.inputs) != 2):
        return None
    zeros, values = n.inputs
    key = n.attrs["key"]
    if (zeros.kind != "const" or values.dtype != n.out.dtype or not isinstance(key, tuple)
            or not all(isinstance(k, slice) for k in key) or np.any(zeros.array)):
        return None
    cut = [(d, k.indices(n.out.shape[d])) for d, k in enumerate(key) if k != slice(None)]
    if len(cut) != 1 or cut[0][1][2] != 1:
        return None
    d, (start, stop, _) = cut[0]
    expect = n.out.shape[:d] + (stop - start,) + n.out.shape[d + 1:]
    return (d, start, stop) if values.shape == expect else None


def slice_grads_to_cat(graph: Graph, mutable: set) -> None:
    """A sum of zero tensors each written at one slice, the slices tiling one dim (the
    gradient of ``split``/``chunk``), becomes one ``cat`` of the pieces: no zero fills, no
    adds."""
    users = _users(graph)
    out_ids = {v.id for v in graph.outputs}

    def inner(v: Value) -> bool:
        a = _op(v, "add")
        return (a is not None and "alpha" not in a.attrs and len(users.get(v.id, ())) == 1
                and v.id not in out_ids | mutable)

    def leaves(v: Value) -> list:
        return leaves(v.node.inputs[0]) + leaves(v.node.inputs[1]) if inner(v) else [v]

    for n in graph.nodes:
        if (n.kind != "op" or n.op.name != "add" or "alpha" in n.attrs or n.out.id in mutable
                or any(inner(u.out) for u in users.get(n.out.id, ()) if u.kind == "op")):
            continue
        parts = leaves(n.inputs[0]) + leaves(n.inputs[1])
        cuts = [_slice_of(v.node) for v in parts]
        if None in cuts or len({c[0] for c in cuts}) != 1:
            continue
        order = sorted(range(len(parts)), key=lambda i: cuts[i][1])
        bounds = [cuts[i][1:] for i in order]
        d = cuts[0][0]
        if (bounds[0][0] != 0 or bounds[-1][1] != n.out.shape[d]
                or any(a[1] != b[0] for a, b in zip(bounds, bounds[1:]))):
            continue
        n.op, n.attrs = CAT, {"dim": d}
        n.inputs = [parts[i].node.inputs[1] for i in order]


def _new_value(graph: Graph, node: Node, like: Value, shape: tuple, owns: bool,
               root: Any = None, contiguous: Any = None) -> Value:
    """The output of a node a pass made, of ``like``'s dtype: no traced array, ``root`` the
    storage token it shares (None: storage of its own), contiguous when it ``owns`` its
    storage unless told."""
    v = graph.value("node", np.broadcast_to(np.empty((), like.dtype), shape), node=node,
                    root=root)
    v.array, v.owns = None, owns
    v.contiguous = owns if contiguous is None else contiguous
    node.out = v
    return v


def cat_of_copies(graph: Graph, mutable: set) -> None:
    """``cat`` along the last dim of views each merging the dims of a ``y_i`` from the cat dim
    on (attention's q, k, v gradients, transposed back to the layout of the projection that
    split them, most of them copied to allow the view) becomes ``view(cat(y_i[..., None,
    ...]))``: one copy reading the strided ``y_i`` instead of a copy per piece and a second
    one to join them."""
    users = _users(graph)
    out_ids = {v.id for v in graph.outputs}

    def single(v: Value) -> bool:
        return len(users.get(v.id, ())) == 1 and v.id not in out_ids | mutable

    def piece(v: Value, d: int) -> Any:
        view = _op(v, "view")
        if view is None or not single(v):
            return None
        y = view.inputs[0]
        copy = _op(y, "clone")
        if copy is not None and single(y):
            y = copy.inputs[0]
        ok = (y.id not in mutable and y.shape[:d] == v.shape[:d]
              and math.prod(y.shape[d:]) == v.shape[d] and y.dtype == v.dtype)
        return y if ok else None

    nodes = []
    for n in graph.nodes:
        last = len(n.out.shape) - 1 if n.kind == "op" else None
        if last is None or n.op.name != "cat" or n.attrs["dim"] % (last + 1) != last:
            nodes.append(n)
            continue
        ys = [piece(v, last) for v in n.inputs]
        if None in ys or len({y.shape for y in ys}) != 1 or n.out.id in mutable:
            nodes.append(n)
            continue
        lifted = ys[0].shape[:last] + (1,) + ys[0].shape[last:]
        for i, y in enumerate(ys):
            e = Node("op", VIEW, [y], {"shape": lifted})
            ys[i] = _new_value(graph, e, y, lifted, owns=False, root=y.root)
            nodes.append(e)
        joined = Node("op", CAT, ys, {"dim": last})
        _new_value(graph, joined, n.out, lifted[:last] + (len(ys),) + lifted[last + 1:],
                   owns=True, root=n.out.root)
        nodes.append(joined)
        n.op, n.inputs, n.attrs = VIEW, [joined.out], {"shape": n.out.shape}
        n.out.owns = n.out.contiguous = False
        nodes.append(n)
    graph.nodes = nodes


def conv_epilogues(graph: Graph, mutable: set) -> None:
    """``relu(convolution(x, w, b))``, the convolution's output read by nothing else, becomes
    one convolution that adds the bias and applies the ReLU to each chunk of samples right
    after its GEMM, while the chunk is in cache: one pass over the output instead of two (the
    folded Conv-BatchNorm-ReLU of ``ds.nn.fuse_layers``). ReLU's backward reads its output,
    which the convolution now writes, so training graphs take this too."""
    users = _users(graph)
    out_ids = {v.id for v in graph.outputs}
    nodes = []
    for n in graph.nodes:
        conv = _op(n.inputs[0], "convolution") if n.kind == "op" and n.op.name == "relu" else None
        v = n.inputs[0] if conv is not None else None
        if (conv is None or conv.cast or n.cast or "activation" in conv.attrs
                or len(users[v.id]) != 1 or v.id in out_ids | mutable or n.out.id in mutable
                or v.dtype != n.out.dtype or v.dtype.kind != "f"):
            nodes.append(n)
            continue
        conv.attrs = dict(conv.attrs, activation="relu")
        conv.out, n.out.node = n.out, conv
    graph.nodes = nodes


def _is(v: Value, x: float) -> bool:
    return v.kind == "const" and v.array.size <= 1 and bool(np.all(v.array == x))


def _identity(n: Node) -> Any:
    name, ins = n.op.name, n.inputs
    if name == "_to_copy" and ins[0].dtype == n.out.dtype:
        return ins[0]
    if name in ("mul", "div") and _is(ins[1], 1) or name in ("add", "sub") and _is(ins[1], 0):
        return ins[0] if "alpha" not in n.attrs or name == "mul" else None
    if name in ("mul",) and _is(ins[0], 1) or name == "add" and _is(ins[0], 0):
        return ins[1]
    return None


def fold_constants(graph: Graph, mutable: set) -> None:
    """An op on constants only becomes a constant: its value from the traced run."""
    keep = []
    for n in graph.nodes:
        if (_pure(n) and n.inputs and all(v.kind == "const" for v in n.inputs)
                and n.out.id not in mutable and n.out.array is not None):
            n.out.kind, n.out.ref, n.out.node = "const", n.out.array, None
            continue
        keep.append(n)
    graph.nodes = keep


def _key(a: Any) -> Any:
    if isinstance(a, np.ndarray):
        return (a.dtype.str, a.shape, a.tobytes()) if a.size <= 64 else id(a)
    if isinstance(a, (list, tuple)):
        return tuple(_key(x) for x in a)
    if isinstance(a, Slot):
        return ("slot", a.index)
    return a if isinstance(a, (int, float, str, bool, type(None), np.dtype)) else id(a)


def cse(graph: Graph, mutable: set) -> None:
    """One node per distinct pure computation (and one constant per distinct small value)."""
    consts: dict = {}
    for v in graph.values:
        if v.kind == "const" and v.array.size <= 64:
            consts.setdefault(_key(v.array), v)
    seen: dict = {}
    keep = []
    for n, segment in zip(graph.nodes, _segments(graph)):
        n.inputs = [consts.get(_key(v.array), v) if v.kind == "const" and v.array.size <= 64
                    else v for v in n.inputs]
        if _pure(n) and (n.op.is_view or n.out.id not in mutable):
            key = (n.op.name, tuple(v.id for v in n.inputs),
                   tuple(sorted((k, _key(a)) for k, a in n.attrs.items())),
                   segment if not n.op.is_view and any(v.id in mutable for v in n.inputs)
                   else None)
            first = seen.get(key)
            if first is not None:
                _replace(graph, n.out, first)
                continue
            seen[key] = n.out
        keep.append(n)
    graph.nodes = keep


def dce(graph: Graph) -> None:
    """Drop nodes whose results nothing uses (effects always stay)."""
    live = {v.id for v in graph.outputs}
    keep = []
    for n in reversed(graph.nodes):
        if n.effect or any(v.id in live for v in n.produced()):
            live.update(v.id for v in n.inputs)
            keep.append(n)
    graph.nodes = keep[::-1]


def _segments(graph: Graph) -> list:
    """For each node, how many writes to existing storage came before it: reads of mutable
    storage may move or merge only within one segment."""
    seg, count = [], 0
    for n in graph.nodes:
        seg.append(count)
        count += n.effect and n.kind != "set_grad"
    return seg


def _fusable(n: Node, mutable: set) -> bool:
    return (n.kind == "op" and n.op.kind == "elementwise" and _pure(n)
            and n.out.dtype in FUSABLE_DTYPES and n.out.id not in mutable
            and all(v.dtype in FUSABLE_DTYPES for v in n.inputs)
            and "_scalar.nan_to_num" not in n.op.expr and "_scalar.clamp" not in n.op.expr
            and not any(isinstance(a, np.dtype) and k != "dtype" for k, a in n.attrs.items()))


def _worth_alone(n: Node) -> bool:
    """One elementwise op as a kernel of its own pays when NumPy would evaluate it in several
    passes (gelu, sigmoid …), or when it is big enough for the kernel's threads (NumPy's
    ufuncs run on one core)."""
    return (len(re.findall(r"math\.|[-+*/]| if ", n.op.expr)) >= 3
            or math.prod(n.out.shape) >= PARALLEL_MIN)


def fuse(graph: Graph, mutable: set) -> None:
    """Group chains of elementwise ops of one output shape into ``fused`` nodes.

    A producer joins its consumer's group when both have the same shape and no outside use of
    the group's results comes before the consumer (the group runs where its last member was).
    """
    pos = {id(n): i for i, n in enumerate(graph.nodes)}
    seg = _segments(graph)
    users: dict = {}
    for i, n in enumerate(graph.nodes):
        for v in n.inputs:
            users.setdefault(v.id, []).append(i)
    out_ids = {v.id for v in graph.outputs}
    group: dict = {}  # id(node) -> list of member nodes (shared list per group)
    for i, n in enumerate(graph.nodes):
        if not _fusable(n, mutable):
            continue
        members = [n]
        for v in n.inputs:
            p = v.node
            if (p is None or id(p) not in group or v.shape != n.out.shape
                    or seg[pos[id(group[id(p)][0])]] != seg[i]):
                continue
            candidate = group[id(p)]
            if candidate is members or any(m in members for m in candidate):
                continue
            inside = {id(m) for m in candidate + members}
            escapes = any(j < i and id(graph.nodes[j]) not in inside
                          for m in candidate for j in users.get(m.out.id, ()))
            if not escapes:
                members = sorted(candidate + members, key=lambda m: pos[id(m)])
        for m in members:
            group[id(m)] = members
    done: set = set()
    nodes = []
    for n in graph.nodes:
        members = group.get(id(n))
        if members is None or len(members) == 1 and not _worth_alone(n):
            nodes.append(n)
            continue
        if n is not members[-1]:
            continue
        if id(members[0]) in done:
            continue
        done.add(id(members[0]))
        inside = {id(m) for m in members}
        produced = {m.out.id for m in members}
        f = Node("fused")
        f.members = members
        for m in members:
            for v in m.inputs:
                if v.id not in produced and v not in f.inputs:
                    f.inputs.append(v)
        f.outs = [m.out for m in members
                  if m.out.id in out_ids or any(id(graph.nodes[j]) not in inside
                                                for j in users.get(m.out.id, ()))]
        nodes.append(f)
    graph.nodes = nodes


_REMAT_GAP = 16  # nodes between a value's last early read and its first late one
_REMAT_MEMBERS = 4  # the most elementwise ops computed again for one value


def rematerialize(graph: Graph, mutable: set) -> None:
    """A fused kernel's output read again only much later (GELU's output, by the weight
    gradient of the next linear layer) is computed again just before those late reads, from
    values alive then anyway (the pre-activation GELU's backward keeps), instead of staying
    alive in between: one elementwise pass for the memory of an activation (W3: 8 MiB a
    layer). Values of the run's outputs or mutable storage stay as they are."""
    while True:
        found = _late_read(graph, mutable)
        if found is None:
            return
        _recompute(graph, *found)


def _late_read(graph: Graph, mutable: set) -> Any:
    """The first fused output worth computing again, as ``(the output, the members of its
    kernel computing it, the node of its first late read)``, or None."""
    seg = _segments(graph)
    reads: dict = {}  # storage root -> positions of the nodes reading it
    for i, n in enumerate(graph.nodes):
        for v in n.inputs:
            reads.setdefault(v.root, set()).add(i)
    last = {r: max(p) for r, p in reads.items()}
    keep = {v.root for v in graph.outputs} | {graph.values[m].root for m in mutable}
    for i, f in enumerate(graph.nodes):
        for o in f.outs if f.kind == "fused" else ():
            at = sorted(reads.get(o.root, ()))
            gaps = [(b - a, b) for a, b in zip(at, at[1:])]
            if o.root in keep or not gaps or max(gaps)[0] < _REMAT_GAP:
                continue
            late = max(gaps)[1]
            if not all(_views(v, o) for n in graph.nodes[late:] for v in n.inputs
                       if v.root == o.root):
                continue
            chain = _recompute_chain(f, o, late, last, seg, i, mutable)
            if chain is not None:
                return o, chain, late
    return None


def _views(v: Value, o: Value) -> bool:
    """Whether ``v`` is ``o`` or made from it by view ops only."""
    while v is not o:
        n = v.node
        if n is None or n.kind != "op" or not n.op.is_view:
            return False
        v = n.inputs[0]
    return True


def _recompute_chain(f: Node, o: Value, late: int, last: dict, seg: list, at: int,
                     mutable: set) -> Any:
    """The members of ``f`` that compute ``o`` again at node ``late`` from values alive there
    anyway (and unchanged since node ``at``), in order; None if there are none or too many."""
    producer = {m.out.id: m for m in f.members}
    outs = {v.id for v in f.outs}
    chain, todo = [], [producer[o.id]]
    while todo:
        m = todo.pop()
        if m in chain:
            continue
        chain.append(m)
        for v in m.inputs:
            alive = v.kind in ("const", "input", "state") or last.get(v.root, -1) >= late
            if v.id in producer and not (v.id in outs and alive):
                todo.append(producer[v.id])
            elif (v.id not in producer and not alive) or (v.id in mutable
                                                          and seg[at] != seg[late]):
                return None
    if len(chain) > _REMAT_MEMBERS:
        return None
    return sorted(chain, key=f.members.index)


def _recompute(graph: Graph, o: Value, chain: list, late: int) -> None:
    """Insert a fused node computing ``o`` again by ``chain`` before node ``late``; the reads
    of ``o`` from there on (and of early views of it, made again) take the new value."""
    new: dict = {}  # old value id -> its recomputed value
    g = Node("fused")
    for m in chain:
        copy = Node("op", m.op, [new.get(v.id, v) for v in m.inputs], dict(m.attrs))
        g.inputs += [v for v in copy.inputs if v.node not in g.members and v not in g.inputs]
        new[m.out.id] = _new_value(graph, copy, m.out, m.out.shape, owns=True)
        g.members.append(copy)
    g.outs = [new[o.id]]
    inserted = [g]

    def again(v: Value) -> Value:  # ``v`` (``o`` or a view of it) on the recomputed value
        if v.id not in new:
            view = v.node
            copy = Node("op", view.op, [again(view.inputs[0])] + view.inputs[1:],
                        dict(view.attrs))
            new[v.id] = _new_value(graph, copy, v, v.shape, owns=False,
                                   root=g.outs[0].root, contiguous=v.contiguous)
            inserted.append(copy)
        return new[v.id]

    for n in graph.nodes[late:]:
        was, n.inputs = n.inputs, [again(v) if v.root == o.root else v for v in n.inputs]
        swap = {a.id: b for a, b in zip(was, n.inputs) if a is not b}
        for m in n.members:  # a fused kernel's members read its inputs too
            m.inputs = [swap.get(v.id, v) for v in m.inputs]
        if n.kind == "op" and n.out.root == o.root:  # a late view: now of the new value
            n.out.root = g.outs[0].root
            new[n.out.id] = n.out
    graph.nodes[late:late] = inserted


def optimize(graph: Graph, mutated: set, fusion: bool = True) -> set:
    """Run the passes in order; returns the ids of mutable values (for the memory plan)."""
    mutable = _mutable(graph, mutated)
    transposed_gemms(graph, mutable)
    simplify(graph, mutable)
    fold_constants(graph, mutable)
    cse(graph, mutable)
    slice_grads_to_cat(graph, mutable)
    dce(graph)  # the pieces' old users go, so that cat_of_copies sees single uses
    cat_of_copies(graph, mutable)
    dce(graph)
    conv_epilogues(graph, mutable)
    if fusion:
        fuse(graph, mutable)
        rematerialize(graph, mutable)
    return mutable
