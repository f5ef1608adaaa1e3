"""ds.onnx.export: exported models pass the ONNX checker and, run by onnx's reference
evaluator, match deepseek's eager outputs and torch's on the same weights."""

import io

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx.reference import ReferenceEvaluator  # noqa: E402

import torch  # noqa: E402

import deepseek as ds  # noqa: E402
import deepseek.onnx  # noqa: E402, F401

TOL = 1e-5


def _export(model, args, **kwargs):
    buf = io.BytesIO()
    ds.onnx.export(model, args, buf, **kwargs)
    proto = onnx.load_from_string(buf.getvalue())
    onnx.checker.check_model(proto, full_check=True)
    return proto


def _run(proto, arrays):
    feeds = {i.name: a for i, a in zip(proto.graph.input, arrays)}
    return ReferenceEvaluator(proto).run(None, feeds)


def _as_list(out):
    return list(out) if isinstance(out, (list, tuple)) else [out]


def _compare(what, got, want):
    assert len(got) == len(want), f"{what}: {len(got)} outputs, expected {len(want)}"
    for i, (g, w) in enumerate(zip(got, want)):
        w = np.asarray(w)
        assert g.shape == w.shape, f"{what} output {i}: shape {g.shape}, expected {w.shape}"
        assert g.dtype == w.dtype, f"{what} output {i}: dtype {g.dtype}, expected {w.dtype}"
        np.testing.assert_allclose(g, w, rtol=TOL, atol=TOL,
                                   err_msg=f"{what} output {i} (tolerance {TOL})")


def _torch_copy(model, torch_model):
    state = {k: torch.from_numpy(np.array(v.numpy())) for k, v in model.state_dict().items()}
    torch_model.load_state_dict(state)
    return torch_model.eval()


def check(model, torch_model, args, **kwargs):
    """Export ``model``; the ONNX outputs equal deepseek's eager ones and torch's."""
    args = args if isinstance(args, tuple) else (args,)
    arrays = [a.numpy() for a in args]
    proto = _export(model, args, **kwargs)
    got = _run(proto, arrays)
    with ds.no_grad():
        eager = [t.numpy() for t in _as_list(model(*args))]
    _compare("deepseek", got, eager)
    if torch_model is not None:
        if isinstance(torch_model, torch.nn.Module):
            _torch_copy(model, torch_model)
        with torch.no_grad():
            ref = [t.numpy() for t in _as_list(torch_model(*map(torch.from_numpy, arrays)))]
        _compare("torch", got, ref)
    return proto


def _randn(*shape, seed=0):
    return ds.tensor(np.random.default_rng(seed).standard_normal(shape).astype(np.float32))


# ---------------------------------------------------------------- models in both frameworks
def mlp(nn):
    return nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 16), nn.GELU(),
                         nn.Dropout(0.3), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 8),
                         nn.Sigmoid(), nn.Linear(8, 4), nn.Softmax(dim=-1))


def cnn(nn):
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, stride=1, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
        nn.MaxPool2d(2), nn.Conv2d(8, 8, 3, stride=2, padding=1, groups=4),
        nn.BatchNorm2d(8), nn.ReLU(), nn.AvgPool2d(2), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(8, 5), nn.LogSoftmax(dim=1))


def block(lib):
    nn = lib.nn

    class Block(nn.Module):
        """A pre-norm transformer block, attention written with matmul and softmax."""

        def __init__(self, dim=8, heads=2):
            super().__init__()
            self.heads = heads
            self.ln1, self.ln2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
            self.qkv, self.proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
            self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

        def forward(self, x):
            b, t, c = x.shape
            q, k, v = self.qkv(self.ln1(x)).chunk(3, dim=-1)
            q = q.view(b, t, self.heads, c // self.heads).transpose(1, 2)
            k = k.view(b, t, self.heads, c // self.heads).transpose(1, 2)
            v = v.reshape(b, t, self.heads, c // self.heads).permute(0, 2, 1, 3)
            att = (q @ k.transpose(-2, -1)) * (1.0 / (c // self.heads) ** 0.5)
            y = att.softmax(dim=-1) @ v
            x = x + self.proj(y.transpose(1, 2).reshape(b, t, c))
            return x + self.mlp(self.ln2(x))

    return Block()


class Tokens:
    @staticmethod
    def make(nn):
        return nn.Sequential(nn.Embedding(11, 8), nn.LayerNorm(8), nn.Linear(8, 8))


def test_mlp():
    check(mlp(ds.nn).eval(), mlp(torch.nn), _randn(3, 6))


def test_cnn():
    model = cnn(ds.nn)
    with ds.no_grad():  # running statistics worth checking
        for m in model:
            if isinstance(m, ds.nn.BatchNorm2d):
                m.running_mean.copy_(_randn(8, seed=1) * 0.1)
                m.running_var.copy_(_randn(8, seed=2).abs() + 0.5)
    check(model.eval(), cnn(torch.nn), _randn(2, 3, 16, 16))


def test_embedding_layer_norm():
    ids = ds.tensor(np.array([[1, 4, 10], [0, 2, 2]], np.int64))
    check(Tokens.make(ds.nn).eval(), Tokens.make(torch.nn), ids)


def test_transformer_block():
    check(block(ds).eval(), block(torch), _randn(2, 5, 8))


def test_multihead_attention():
    mha = ds.nn.MultiheadAttention(8, 2, batch_first=True).eval()
    tmha = _torch_copy(mha, torch.nn.MultiheadAttention(8, 2, batch_first=True))
    x = _randn(2, 5, 8)
    check(lambda x: mha(x, x, x)[0], lambda x: tmha(x, x, x)[0], x)


def test_scaled_dot_product_attention_causal():
    def attention(lib):
        return lambda q, k: lib.nn.functional.scaled_dot_product_attention(q, k, k,
                                                                           is_causal=True)

    check(attention(ds), attention(torch), (_randn(2, 2, 4, 8), _randn(2, 2, 4, 8, seed=1)))


def tensor_ops(lib):
    def fn(x, y):
        z = x.reshape(2, 3, 4).permute(0, 2, 1)  # (2, 4, 3)
        w = lib.bmm(z, y)  # (2, 4, 5)
        cat = lib.cat([w[:, :1], w[:, 2:] * 2.0, w[..., -1:].mean(1, keepdim=True).expand(2, 1, 5)],
                      dim=1)
        flat = lib.flatten(cat, 1)
        s = (1.0 - flat) / 3 + flat ** 2 - flat.abs().sqrt()
        return (s.sum(dim=1), s.mean(-1, keepdim=True), s.max(dim=-1).values, s.max(),
                lib.matmul(x.view(6, 4), x.view(4, 6)), w.amin(dim=(0, 2)),
                lib.where(s > 0, s, s.exp()), x[1, None, 1:3].unsqueeze(-1).squeeze(0),
                lib.maximum(s, lib.zeros(1, 20)).clamp(max=1.5), s.argmax(dim=1))

    return fn


def test_tensor_ops():
    x, y = _randn(6, 4), _randn(2, 3, 5, seed=1)
    check(tensor_ops(ds), tensor_ops(torch), (x, y))


def test_input_and_output_names():
    proto = _export(mlp(ds.nn).eval(), _randn(2, 6), input_names=["features"],
                    output_names=["probs"])
    assert [i.name for i in proto.graph.input] == ["features"]
    assert [o.name for o in proto.graph.output] == ["probs"]


def _dim_params(value_info):
    return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]


@pytest.mark.parametrize("make, shape, axes, other", [
    (lambda: mlp(ds.nn), (3, 6), {0: "batch"}, (7, 6)),
    (lambda: cnn(ds.nn), (2, 3, 16, 16), {0: "batch"}, (3, 3, 16, 16)),
    (lambda: block(ds), (2, 5, 8), {0: "batch", 1: "seq"}, (3, 4, 8)),
])
def test_dynamic_axes(make, shape, axes, other):
    model = make().eval()
    proto = _export(model, (_randn(*shape),), input_names=["x"], output_names=["y"],
                    dynamic_axes={"x": axes, "y": {0: "batch"}})
    dims = _dim_params(proto.graph.input[0])
    assert [dims[a] for a in axes] == list(axes.values())
    assert _dim_params(proto.graph.output[0])[0] == "batch"
    x = _randn(*other, seed=3)
    (got,) = _run(proto, [x.numpy()])
    with ds.no_grad():
        _compare("deepseek at another size", [got], [model(x).numpy()])


def test_dynamic_axes_multihead_attention():
    mha = ds.nn.MultiheadAttention(8, 2, batch_first=True).eval()
    proto = _export(lambda x: mha(x, x, x)[0], (_randn(2, 5, 8),), input_names=["x"],
                    dynamic_axes={"x": {0: "batch", 1: "seq"}})
    x = _randn(3, 7, 8, seed=4)
    with ds.no_grad():
        _compare("deepseek at another size", _run(proto, [x.numpy()]), [mha(x, x, x)[0].numpy()])


def test_inplace_relu():
    model = ds.nn.Sequential(ds.nn.Linear(4, 4), ds.nn.ReLU(inplace=True), ds.nn.Linear(4, 2))
    check(model.eval(), torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.ReLU(inplace=True),
                                            torch.nn.Linear(4, 2)), _randn(3, 4))


def slicing(x):
    y = ds.cat([x[:, 1:], x[:, :1] * 2, x[:, -2:]], dim=1)
    w = x.flatten(0, 1).view(x.shape[0], -1, 2, 4).permute(0, 2, 1, 3)
    e = x[:, :, None, :].expand(x.shape[0], x.shape[1], 3, 8).mean(2)
    return (y, y.reshape(-1, 8).sum(0), w, e, x[:, -1:].squeeze(1), x[:, 0],
            ds.nn.functional.pad(x, (0, 0, 1, 1)))


def test_dynamic_axes_slicing_and_reshapes():
    proto = _export(slicing, (_randn(2, 5, 8),), input_names=["x"],
                    dynamic_axes={"x": {0: "b", 1: "t"}})
    assert _dim_params(proto.graph.output[2]) == ["b", 2, "t", 4]
    x = _randn(3, 7, 8, seed=5)
    with ds.no_grad():
        _compare("deepseek at another size", _run(proto, [x.numpy()]),
                 [t.numpy() for t in slicing(x)])


def test_dynamic_axes_refuses_an_integer_index_into_a_dynamic_dim():
    with pytest.raises(ds.onnx.UnsupportedOperatorError, match="x\\[:, -1:\\]"):
        _export(lambda x: x[:, -1], (_randn(2, 5),), input_names=["x"],
                dynamic_axes={"x": [1]})


def test_dynamic_axes_list_form_default_names():
    proto = _export(mlp(ds.nn).eval(), (_randn(2, 6),), input_names=["x"],
                    dynamic_axes={"x": [0]})
    assert _dim_params(proto.graph.input[0])[0] == "x_dynamic_axes_1"


def test_dynamic_axes_unknown_name():
    with pytest.raises(ValueError, match="dynamic_axes"):
        _export(mlp(ds.nn).eval(), (_randn(2, 6),), dynamic_axes={"nope": [0]})


def test_initializers_are_state_dict_entries():
    model = cnn(ds.nn).eval()
    proto = _export(model, (_randn(1, 3, 16, 16),), do_constant_folding=False)
    names = {i.name for i in proto.graph.initializer}
    state = dict(model.state_dict())
    used = {k for k in state if not k.endswith("num_batches_tracked")}
    assert used <= names
    for init in proto.graph.initializer:
        if init.name in state:
            np.testing.assert_array_equal(onnx.numpy_helper.to_array(init),
                                          state[init.name].numpy())


def test_export_params_false_makes_parameters_inputs():
    model = ds.nn.Linear(4, 3).eval()
    proto = _export(model, (_randn(2, 4),), input_names=["x"], export_params=False)
    assert [i.name for i in proto.graph.input] == ["x", "weight", "bias"]
    assert not {"weight", "bias"} & {i.name for i in proto.graph.initializer}
    x = _randn(2, 4)
    got = _run(proto, [x.numpy(), model.weight.detach().numpy(), model.bias.detach().numpy()])
    with ds.no_grad():
        _compare("deepseek", got, [model(x).numpy()])


def test_export_to_path(tmp_path):
    path = tmp_path / "mlp.onnx"
    model = mlp(ds.nn).eval()
    x = _randn(2, 6)
    ds.onnx.export(model, x, str(path))
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto)
    with ds.no_grad():
        _compare("deepseek", _run(proto, [x.numpy()]), [model(x).numpy()])


@pytest.mark.parametrize("opset", [13, 18])
def test_other_opsets(opset):
    proto = check(block(ds).eval(), None, _randn(2, 3, 8), opset_version=opset)
    assert proto.opset_import[0].version == opset


def test_unsupported_op_names_it():
    with pytest.raises(ds.onnx.UnsupportedOperatorError, match="'cumsum'.*not exportable"):
        _export(lambda x: ds.cumsum(x, dim=0), (_randn(3, 2),))


def test_training_dropout_suggests_eval():
    with pytest.raises(ds.onnx.UnsupportedOperatorError, match="model.eval"):
        _export(mlp(ds.nn).train(), (_randn(2, 6),))


def test_missing_onnx_names_the_extra(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match=r'pip install "deepseek-framework\[onnx\]"'):
        ds.onnx.export(mlp(ds.nn).eval(), _randn(2, 6), io.BytesIO())
