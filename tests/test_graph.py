"""deepseek.graph against dense-adjacency references written in torch, on the same weights."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

import deepseek as ds
import deepseek.graph as G
from deepseek.graph import utils as gu

TOL = {"float64": (1e-10, 1e-8), "float32": (1e-5, 1.3e-5)}


# ---------------------------------------------------------------- helpers
def check(what: str, got: ds.Tensor, want: torch.Tensor, dtype: str = "float64") -> None:
    """Shape, then dtype, then values; a failure names the case and the tolerance."""
    atol, rtol = TOL[dtype]
    assert tuple(got.shape) == tuple(want.shape), f"{what}: shape {got.shape} vs {want.shape}"
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1], \
        f"{what}: dtype {got.dtype} vs {want.dtype}"
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), atol=atol, rtol=rtol,
                               err_msg=f"{what} (atol={atol}, rtol={rtol})")


def random_graph(seed: int, num_nodes: int = 9, num_edges: int = 24) -> np.ndarray:
    """Edges among the first ``num_nodes - 2`` nodes (the last two stay isolated), with
    repeated edges and a repeated self loop."""
    rng = np.random.default_rng(seed)
    edges = rng.integers(0, num_nodes - 2, size=(2, num_edges))
    repeats = edges[:, :4]
    loops = np.array([[1, 1, 3], [1, 1, 3]])
    return np.concatenate([edges, repeats, loops], axis=1).astype(np.int64)


def counts(edges: np.ndarray, n: int) -> torch.Tensor:
    """``A[target, source]`` = number of edges source → target."""
    a = torch.zeros(n, n, dtype=torch.float64)
    a.index_put_((torch.from_numpy(edges[1]), torch.from_numpy(edges[0])),
                 torch.ones(edges.shape[1], dtype=torch.float64), accumulate=True)
    return a


def with_one_loop(a: torch.Tensor) -> torch.Tensor:
    """PyG's add_remaining_self_loops on counts: every node gets exactly one loop."""
    a = a.clone()
    a.fill_diagonal_(1.0)
    return a


def leaves(seed: int, n: int, features: int) -> tuple:
    x = np.random.default_rng(seed).standard_normal((n, features))
    return ds.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)


def torch_param(p: ds.Tensor) -> torch.Tensor:
    return torch.tensor(p.detach().numpy(), requires_grad=True)


def backward_both(out: ds.Tensor, ref: torch.Tensor, seed: int) -> None:
    g = np.random.default_rng(seed).standard_normal(tuple(ref.shape))
    out.backward(ds.tensor(g, dtype=out.dtype))
    ref.backward(torch.tensor(g, dtype=ref.dtype))


# ---------------------------------------------------------------- scatter and softmax
@pytest.mark.parametrize("reduce", ["sum", "mean", "max", "min"])
@pytest.mark.parametrize("dim", [0, 1])
def test_scatter_matches_torch_scatter_reduce(reduce: str, dim: int) -> None:
    rng = np.random.default_rng(0)
    index = np.array([0, 2, 2, 5, 0, 2, 5, 5, 3])  # groups 1, 4 and 6 stay empty
    shape = (9, 3) if dim == 0 else (3, 9)
    x = rng.standard_normal(shape)
    src, ref = ds.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out = G.scatter(src, ds.tensor(index), dim=dim, dim_size=7, reduce=reduce)
    view = [1, 1]
    view[dim] = -1
    full = torch.from_numpy(index).view(view).expand(shape)
    out_shape = (7, 3) if dim == 0 else (3, 7)
    want = torch.zeros(out_shape, dtype=torch.float64).scatter_reduce(
        dim, full, ref, {"sum": "sum", "mean": "mean", "max": "amax", "min": "amin"}[reduce],
        include_self=False)
    check(f"scatter reduce={reduce} dim={dim}", out, want)
    backward_both(out, want, 1)
    check(f"scatter reduce={reduce} dim={dim} grad", src.grad, ref.grad)


def test_scatter_default_dim_size_and_add_alias() -> None:
    out = G.scatter(ds.tensor([1.0, 2.0, 4.0]), ds.tensor([0, 0, 2]), reduce="add")
    assert out.tolist() == [3.0, 0.0, 4.0]


def test_segment_softmax_matches_per_group_softmax() -> None:
    rng = np.random.default_rng(2)
    index = rng.integers(0, 5, size=30)
    index[:2] = [6, 6]  # group 5 stays empty
    x = rng.standard_normal((30, 2)) * 4
    src, ref = ds.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out = G.softmax(src, ds.tensor(index), num_nodes=7)
    want = torch.empty_like(ref)
    for group in range(7):
        rows = torch.from_numpy(np.flatnonzero(index == group))
        if rows.numel():
            want = want.index_put((rows,), torch.softmax(ref[rows], dim=0))
    check("segment softmax", out, want)
    backward_both(out, want, 3)
    check("segment softmax grad", src.grad, ref.grad)


def test_softmax_with_ptr_equals_index() -> None:
    x = ds.tensor([1.0, 2.0, 3.0, 0.5, -1.0])
    by_ptr = G.softmax(x, ptr=ds.tensor([0, 2, 5]))
    by_index = G.softmax(x, ds.tensor([0, 0, 1, 1, 1]))
    np.testing.assert_allclose(by_ptr.numpy(), by_index.numpy(), rtol=1e-6)


# ---------------------------------------------------------------- edge_index utilities
def test_self_loops_degree_and_undirected() -> None:
    edges = ds.tensor([[0, 1, 1, 2, 2], [1, 0, 2, 2, 0]])
    no_loops, _ = G.remove_self_loops(edges)
    assert no_loops.tolist() == [[0, 1, 1, 2], [1, 0, 2, 0]]
    looped, attr = G.add_self_loops(edges, ds.tensor([1.0, 2.0, 3.0, 4.0, 5.0]), fill_value=0.5,
                                    num_nodes=4)
    assert looped.tolist() == [[0, 1, 1, 2, 2, 0, 1, 2, 3], [1, 0, 2, 2, 0, 0, 1, 2, 3]]
    assert attr.tolist() == [1.0, 2.0, 3.0, 4.0, 5.0, 0.5, 0.5, 0.5, 0.5]
    _, mean_attr = G.add_self_loops(edges, ds.tensor([1.0, 2.0, 3.0, 4.0, 5.0]),
                                    fill_value="mean")
    assert mean_attr.tolist()[5:] == [3.5, 1.0, 3.5]
    remaining, kept = G.add_remaining_self_loops(edges, ds.tensor([1.0, 2.0, 3.0, 4.0, 5.0]))
    assert remaining.tolist() == [[0, 1, 1, 2, 0, 1, 2], [1, 0, 2, 0, 0, 1, 2]]
    assert kept.tolist() == [1.0, 2.0, 3.0, 5.0, 1.0, 1.0, 4.0]
    assert G.degree(edges[1], 4).tolist() == [2.0, 1.0, 2.0, 0.0]
    assert G.degree(edges[0], dtype=ds.int64).dtype == ds.int64
    und = G.to_undirected(ds.tensor([[0, 1, 0], [1, 2, 1]]))
    assert und.tolist() == [[0, 1, 1, 2], [1, 0, 2, 1]]
    und, weights = G.to_undirected(ds.tensor([[0, 1], [1, 0]]), ds.tensor([1.0, 2.0]))
    assert und.tolist() == [[0, 1], [1, 0]] and weights.tolist() == [3.0, 3.0]
    assert gu.is_undirected(und) and not gu.is_undirected(edges)


def test_to_dense_adj_batched_with_duplicates_and_attr_grad() -> None:
    edges = np.array([[0, 0, 1, 2, 3, 3], [1, 1, 0, 2, 4, 3]])
    batch = ds.tensor([0, 0, 0, 1, 1])
    adj = G.to_dense_adj(ds.tensor(edges), batch)
    want = torch.zeros(2, 3, 3, dtype=torch.float32)
    want[0, 0, 1], want[0, 1, 0], want[0, 2, 2], want[1, 0, 1], want[1, 0, 0] = 2, 1, 1, 1, 1
    check("to_dense_adj", adj, want, "float32")
    w = np.arange(1.0, 7.0)
    attr, ref = ds.tensor(w, requires_grad=True), torch.tensor(w, requires_grad=True)
    adj = G.to_dense_adj(ds.tensor(edges), batch, edge_attr=attr)
    local = torch.tensor([0, 1, 2, 0, 1])
    graph = torch.tensor([0, 0, 0, 1, 1])
    src, dst = torch.from_numpy(edges[0]), torch.from_numpy(edges[1])
    dense = torch.zeros(2, 3, 3, dtype=torch.float64).index_put(
        (graph[src], local[src], local[dst]), ref, accumulate=True)
    check("to_dense_adj edge_attr", adj, dense)
    backward_both(adj, dense, 4)
    check("to_dense_adj edge_attr grad", attr.grad, ref.grad)


# ---------------------------------------------------------------- layers
@pytest.mark.parametrize("seed", [0, 1])
def test_gcnconv_matches_dense_reference(seed: int) -> None:
    n, edges = 9, random_graph(seed)
    x, xt = leaves(seed, n, 5)
    conv = G.GCNConv(5, 4).double()
    ds.nn.init.normal_(conv.bias)
    w, b = torch_param(conv.lin.weight), torch_param(conv.bias)
    out = conv(x, ds.tensor(edges))
    a = with_one_loop(counts(edges, n))
    d = a.sum(1).pow(-0.5)
    want = (d[:, None] * a * d[None, :]) @ (xt @ w.T) + b
    check("GCNConv", out, want)
    backward_both(out, want, seed + 10)
    check("GCNConv grad x", x.grad, xt.grad)
    check("GCNConv grad weight", conv.lin.weight.grad, w.grad)
    check("GCNConv grad bias", conv.bias.grad, b.grad)


def test_gcnconv_without_normalization_and_edge_weight() -> None:
    n, edges = 9, random_graph(5)
    x, xt = leaves(5, n, 3)
    ew = np.random.default_rng(6).uniform(0.5, 2.0, edges.shape[1])
    conv = G.GCNConv(3, 2, normalize=False, bias=False).double()
    w = torch_param(conv.lin.weight)
    out = conv(x, ds.tensor(edges), ds.tensor(ew))
    a = torch.zeros(n, n, dtype=torch.float64).index_put(
        (torch.from_numpy(edges[1]), torch.from_numpy(edges[0])), torch.from_numpy(ew),
        accumulate=True)
    want = a @ (xt @ w.T)
    check("GCNConv normalize=False", out, want)


def test_sageconv_matches_dense_reference() -> None:
    n, edges = 9, random_graph(2)
    x, xt = leaves(2, n, 5)
    conv = G.SAGEConv(5, 3).double()
    wl, bl = torch_param(conv.lin_l.weight), torch_param(conv.lin_l.bias)
    wr = torch_param(conv.lin_r.weight)
    out = conv(x, ds.tensor(edges))
    a = counts(edges, n)
    mean = (a @ xt) / a.sum(1, keepdim=True).clamp(min=1)
    want = mean @ wl.T + bl + xt @ wr.T
    check("SAGEConv", out, want)
    backward_both(out, want, 12)
    check("SAGEConv grad x", x.grad, xt.grad)
    check("SAGEConv grad lin_l.weight", conv.lin_l.weight.grad, wl.grad)
    check("SAGEConv grad lin_l.bias", conv.lin_l.bias.grad, bl.grad)
    check("SAGEConv grad lin_r.weight", conv.lin_r.weight.grad, wr.grad)


def test_sageconv_bipartite_and_normalize() -> None:
    x_src, x_dst = ds.randn(6, 4), ds.randn(3, 4)
    edges = ds.tensor([[0, 1, 5, 4], [0, 0, 2, 1]])
    out = G.SAGEConv(4, 2, normalize=True)((x_src, x_dst), edges)
    assert out.shape == (3, 2)
    np.testing.assert_allclose((out * out).sum(-1).detach().numpy(), np.ones(3), rtol=1e-5)


@pytest.mark.parametrize("concat", [True, False])
def test_gatconv_matches_dense_reference(concat: bool) -> None:
    n, edges, heads, channels = 9, random_graph(3), 3, 2
    x, xt = leaves(3, n, 5)
    conv = G.GATConv(5, channels, heads=heads, concat=concat).double()
    ds.nn.init.normal_(conv.bias)
    w, b = torch_param(conv.lin.weight), torch_param(conv.bias)
    att_src, att_dst = torch_param(conv.att_src), torch_param(conv.att_dst)
    out = conv(x, ds.tensor(edges))
    h = (xt @ w.T).view(n, heads, channels)
    score_src = (h * att_src).sum(-1)
    score_dst = (h * att_dst).sum(-1)
    e = torch.nn.functional.leaky_relu(score_dst[:, None, :] + score_src[None, :, :], 0.2)
    m = with_one_loop(counts(edges, n))[:, :, None]  # repeated edges weigh in twice
    e = torch.where(m > 0, e, torch.tensor(-torch.inf, dtype=torch.float64))
    weights = m * torch.exp(e - e.amax(1, keepdim=True))
    alpha = weights / weights.sum(1, keepdim=True)
    agg = torch.einsum("ijh,jhc->ihc", alpha, h)
    want = (agg.reshape(n, heads * channels) if concat else agg.mean(1)) + b
    check(f"GATConv concat={concat}", out, want)
    backward_both(out, want, 13)
    check("GATConv grad x", x.grad, xt.grad)
    check("GATConv grad lin.weight", conv.lin.weight.grad, w.grad)
    check("GATConv grad att_src", conv.att_src.grad, att_src.grad)
    check("GATConv grad att_dst", conv.att_dst.grad, att_dst.grad)
    check("GATConv grad bias", conv.bias.grad, b.grad)


def test_gatconv_attention_weights_and_dropout() -> None:
    conv = G.GATConv(4, 2, heads=2, dropout=0.5)
    x, edges = ds.randn(5, 4), ds.tensor([[0, 1, 2, 3], [1, 2, 3, 4]])
    conv.eval()
    out, (ei, alpha) = conv(x, edges, return_attention_weights=True)
    assert ei.shape == (2, 9) and alpha.shape == (9, 2)
    np.testing.assert_allclose(G.scatter(alpha, ei[1], reduce="sum").detach().numpy(),
                               np.ones((5, 2)), rtol=1e-5)
    np.testing.assert_allclose(conv(x, edges).detach().numpy(), out.detach().numpy(), rtol=1e-6)
    conv.train()
    ds.manual_seed(0)
    assert not np.allclose(conv(x, edges).detach().numpy(), out.detach().numpy())


def test_ginconv_matches_dense_reference() -> None:
    n, edges = 9, random_graph(4)
    x, xt = leaves(4, n, 5)
    mlp = ds.nn.Linear(5, 3).double()
    conv = G.GINConv(mlp, eps=0.3, train_eps=True).double()
    w, b, eps = torch_param(mlp.weight), torch_param(mlp.bias), torch_param(conv.eps)
    out = conv(x, ds.tensor(edges))
    want = ((1 + eps) * xt + counts(edges, n) @ xt) @ w.T + b
    check("GINConv", out, want)
    backward_both(out, want, 14)
    check("GINConv grad x", x.grad, xt.grad)
    check("GINConv grad nn.weight", mlp.weight.grad, w.grad)
    check("GINConv grad eps", conv.eps.grad, eps.grad)


def test_message_passing_suffixes_aggr_and_flow() -> None:
    class Diff(G.MessagePassing):
        def forward(self, x, edge_index):
            return self.propagate(edge_index, x=x)

        def message(self, x_i, x_j, edge_index_j):
            return x_j - x_i

    x = ds.tensor([[0.0], [1.0], [5.0]])
    edges = ds.tensor([[0, 2, 1], [1, 1, 0]])
    assert Diff(aggr="max")(x, edges).tolist() == [[1.0], [4.0], [0.0]]
    assert Diff(aggr="mean")(x, edges).tolist() == [[1.0], [1.5], [0.0]]
    # reversed flow: each edge's first node collects from its second
    assert Diff(aggr="add", flow="target_to_source")(x, edges).tolist() == \
        [[1.0], [-1.0], [-4.0]]


# ---------------------------------------------------------------- data, batch, pooling
def test_data_attributes_repr_and_to() -> None:
    data = G.Data(x=ds.randn(4, 3), edge_index=ds.tensor([[0, 1, 2], [1, 2, 0]]),
                  y=ds.tensor(1), name="g")
    assert repr(data) == "Data(x=[4, 3], edge_index=[2, 3], y=1, name='g')"
    assert (data.num_nodes, data.num_edges, data.num_node_features) == (4, 3, 3)
    assert data.edge_attr is None and "edge_attr" not in data
    assert data.has_isolated_nodes() and not data.has_self_loops()
    with pytest.raises(AttributeError):
        _ = data.missing
    moved = data.to("cpu")
    assert moved is data and data.x.device.type == "cpu"
    assert G.Data(edge_index=ds.tensor([[0], [6]])).num_nodes == 7
    clone = data.clone()
    clone.x[0, 0] = 100.0
    assert data.x[0, 0].item() != 100.0


def three_graphs() -> list:
    rng = np.random.default_rng(7)
    out = []
    for n in (4, 6, 3):
        edges = rng.integers(0, n, size=(2, 2 * n))
        out.append(G.Data(x=ds.tensor(rng.standard_normal((n, 5))), edge_index=ds.tensor(edges),
                          y=ds.tensor(float(n))))
    return out


def test_batch_and_pooling_match_per_graph() -> None:
    graphs = three_graphs()
    batch = G.Batch.from_data_list(graphs)
    assert repr(batch) == "DataBatch(x=[13, 5], edge_index=[2, 26], y=[3], batch=[13], ptr=[4])"
    assert batch.num_graphs == 3 and batch.num_nodes == 13
    assert batch.ptr.tolist() == [0, 4, 10, 13]
    conv = G.GCNConv(5, 2).double()
    out = conv(batch.x, batch.edge_index)
    for g, data in enumerate(graphs):
        rows = slice(int(batch.ptr[g]), int(batch.ptr[g + 1]))
        np.testing.assert_allclose(out[rows].detach().numpy(),
                                   conv(data.x, data.edge_index).detach().numpy(), rtol=1e-10,
                                   err_msg=f"GCNConv on graph {g} of the batch")
    for pool, reduce in ((G.global_add_pool, "sum"), (G.global_mean_pool, "mean"),
                         (G.global_max_pool, "amax")):
        pooled = pool(batch.x, batch.batch)
        want = np.stack([getattr(d.x.numpy(), "max" if reduce == "amax" else reduce)(0)
                         for d in graphs])
        np.testing.assert_allclose(pooled.numpy(), want, rtol=1e-12, err_msg=pool.__name__)
    for data, back in zip(graphs, batch.to_data_list()):
        assert back.edge_index.tolist() == data.edge_index.tolist()
        assert back.x.tolist() == data.x.tolist() and back.y.item() == data.y.item()


def test_pool_gradient_and_no_batch() -> None:
    x, xt = leaves(8, 5, 2)
    batch = ds.tensor([0, 0, 1, 1, 1])
    out = G.global_max_pool(x, batch)
    want = torch.stack([xt[:2].amax(0), xt[2:].amax(0)])
    check("global_max_pool", out, want)
    backward_both(out, want, 9)
    check("global_max_pool grad", x.grad, xt.grad)
    assert G.global_mean_pool(ds.ones(3, 2)).tolist() == [[1.0, 1.0]]


def test_dataloader_batches_graphs() -> None:
    graphs = three_graphs() * 2
    loader = G.DataLoader(graphs, batch_size=4, follow_batch=["x"])
    batches = list(loader)
    assert [b.num_graphs for b in batches] == [4, 2]
    assert batches[0].x_batch.tolist() == batches[0].batch.tolist()
    assert batches[1].num_nodes == 9
    shuffled = G.DataLoader(graphs, batch_size=6, shuffle=True)
    assert next(iter(shuffled)).num_nodes == 26
    in_workers = list(G.DataLoader(graphs, batch_size=4, follow_batch=["x"], num_workers=2))
    for here, there in zip(batches, in_workers):
        assert repr(here) == repr(there)
        assert there.edge_index.tolist() == here.edge_index.tolist()


def test_gcn_training_loss_falls() -> None:
    ds.manual_seed(0)
    rng = np.random.default_rng(0)
    n = 40
    labels = np.repeat([0, 1], n // 2)
    same = labels[:, None] == labels[None, :]
    adj = rng.random((n, n)) < np.where(same, 0.3, 0.02)
    edges = G.to_undirected(ds.tensor(np.stack(np.nonzero(adj))))
    x = ds.tensor(rng.standard_normal((n, 8)) + labels[:, None] * 0.5, dtype=ds.float32)
    y = ds.tensor(labels)

    class Net(ds.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = G.GCNConv(8, 16)
            self.conv2 = G.GCNConv(16, 2)

        def forward(self, x, edge_index):
            return self.conv2(ds.relu(self.conv1(x, edge_index)), edge_index)

    model = Net()
    opt = ds.optim.Adam(model.parameters(), lr=0.02)
    losses = []
    for _ in range(40):
        opt.zero_grad()
        loss = ds.nn.functional.cross_entropy(model(x, edges), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], losses


# ---------------------------------------------------------------- partition
def test_partition_balanced_and_covering() -> None:
    pytest.importorskip("pymetis")
    rng = np.random.default_rng(11)
    n, parts = 64, 4
    edges = G.to_undirected(ds.tensor(rng.integers(0, n, size=(2, 200))))
    part = G.partition(edges, n, parts, seed=0)
    assert part.shape == (n,) and part.dtype == ds.int64
    sizes = np.bincount(part.numpy(), minlength=parts)
    assert sizes.size == parts and sizes.min() > 0, sizes
    assert sizes.max() <= int(np.ceil(1.1 * n / parts)), sizes
    assert G.partition(edges, n, 1).tolist() == [0] * n


def test_partition_without_pymetis_names_the_extra(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "pymetis", None)
    with pytest.raises(ImportError, match=r'pip install "deepseek-framework\[graph\]"'):
        G.partition(ds.tensor([[0], [1]]), 2, 2)


# ---------------------------------------------------------------- bad input
def test_bad_edge_index_and_arguments_raise_clear_errors() -> None:
    x = ds.randn(4, 3)
    conv = G.GCNConv(3, 2)
    with pytest.raises(TypeError, match=r"\[GCNConv\] edge_index must be an integer tensor.*"
                                        r"float32\[2, 2\]"):
        conv(x, ds.tensor([[0.0, 1.0], [1.0, 2.0]]))
    with pytest.raises(ValueError, match=r"\[GCNConv\] edge_index must have shape "
                                         r"\[2, num_edges\].*int64\[3, 2\]"):
        conv(x, ds.tensor([[0, 1], [1, 2], [2, 3]]))
    with pytest.raises(IndexError, match=r"\[GCNConv\] edge_index\[1\].*node 7.*num_nodes=4"):
        conv(x, ds.tensor([[0, 1], [1, 7]]))
    with pytest.raises(ValueError, match=r"\[GCNConv\] expected x of shape \[num_nodes, 3\]"):
        conv(ds.randn(4, 5), ds.tensor([[0], [1]]))
    with pytest.raises(IndexError, match=r"\[SAGEConv\] edge_index\[0\].*node 4"):
        G.SAGEConv(3, 2)(x, ds.tensor([[4], [0]]))
    with pytest.raises(ValueError, match=r"\[MessagePassing\] aggr must be one of.*'median'"):
        G.MessagePassing(aggr="median")
    with pytest.raises(ValueError, match=r"\[scatter\] reduce must be one of.*'prod'"):
        G.scatter(ds.ones(3), ds.tensor([0, 1, 1]), reduce="prod")
    with pytest.raises(IndexError, match=r"\[scatter\] index holds 5, out of range for size 3"):
        G.scatter(ds.ones(3), ds.tensor([0, 1, 5]), dim_size=3)
    with pytest.raises(ValueError, match=r"\[scatter\] index has 2 entries but src has 3"):
        G.scatter(ds.ones(3), ds.tensor([0, 1]))
    with pytest.raises(ValueError, match=r"\[global_mean_pool\] batch has 2 entries"):
        G.global_mean_pool(x, ds.tensor([0, 1]))
    with pytest.raises(ValueError, match=r"\[Batch.from_data_list\] data_list\[1\] has attr"):
        G.Batch.from_data_list([G.Data(x=x), G.Data(x=x, y=ds.tensor(1))])
    with pytest.raises(IndexError, match=r"\[Data.validate\]"):
        G.Data(x=x, edge_index=ds.tensor([[0], [9]])).validate()
    with pytest.raises(ValueError, match=r"\[partition\] num_parts"):
        G.partition(ds.tensor([[0], [1]]), 2, 3)
