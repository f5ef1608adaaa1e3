"""SummaryWriter: what it writes, read back from the event files with tensorboardX's protos."""

import glob
import os
import struct
import sys

import numpy as np
import pytest

import deepseek as ds
from deepseek.utils.tensorboard import SummaryWriter

tensorboardX = pytest.importorskip("tensorboardX")  # the optional [tensorboard] extra
from tensorboardX.proto import event_pb2  # noqa: E402
from tensorboardX.proto.graph_pb2 import GraphDef  # noqa: E402
from tensorboardX.proto.plugin_hparams_pb2 import HParamsPluginData  # noqa: E402


def events(log_dir):
    """Every Event in the TFRecord event files of ``log_dir`` (length, crc, data, crc)."""
    out = []
    for path in sorted(glob.glob(os.path.join(log_dir, "events.out.tfevents.*"))):
        data, i = open(path, "rb").read(), 0
        while i < len(data):
            (n,) = struct.unpack("<Q", data[i:i + 8])
            out.append(event_pb2.Event.FromString(data[i + 12:i + 12 + n]))
            i += 12 + n + 4
    return out


def values(log_dir):
    """``(step, tag, Summary.Value)`` for every summary value written to ``log_dir``."""
    return [(e.step, v.tag, v) for e in events(log_dir) if e.HasField("summary")
            for v in e.summary.value]


def test_scalars(tmp_path):
    with SummaryWriter(str(tmp_path)) as w:
        assert w.get_logdir() == str(tmp_path)
        w.add_scalar("loss", ds.tensor(0.5), 1)
        w.add_scalar("loss", 0.25, 2)
        w.add_scalar("loss", ds.tensor([0.125], dtype=ds.float64), 3)
        w.add_scalars("run", {"a": ds.tensor(1.5), "b": 2.5}, 4)
        with pytest.raises(ValueError, match=r"\[add_scalar\] expected a scalar .* shape \[2\]"):
            w.add_scalar("bad", ds.ones(2))
    got = [(s, t, v.simple_value) for s, t, v in values(str(tmp_path))]
    assert got == [(1, "loss", 0.5), (2, "loss", 0.25), (3, "loss", 0.125)]
    for sub, expected in (("a", 1.5), ("b", 2.5)):  # tensorboardX's layout: main_tag/tag
        (step, tag, v), = values(str(tmp_path / "run" / sub))
        assert (step, tag, v.simple_value) == (4, "run", expected)


def test_histogram_text_and_close(tmp_path):
    x = ds.tensor(np.arange(10.0))
    w = SummaryWriter(str(tmp_path), flush_secs=1000)
    w.add_histogram("weights", x, 7)
    w.add_text("note", "hello **world**", 2)
    w.flush()
    w.close()  # tensorboardX's flush does not wait for its writer thread; close does
    w.close()  # a second close is harmless
    (step, tag, h), (step2, tag2, t) = values(str(tmp_path))
    assert (step, tag) == (7, "weights")
    assert (h.histo.num, h.histo.sum, h.histo.min, h.histo.max) == (10, 45.0, 0.0, 9.0)
    assert (step2, tag2, t.tensor.string_val[0]) == (2, "note/text_summary", b"hello **world**")


def test_images(tmp_path):
    pytest.importorskip("PIL")  # tensorboardX encodes images with Pillow
    img = ds.zeros(3, 4, 5)
    img[0] = 1.0
    with SummaryWriter(str(tmp_path)) as w:
        w.add_image("one", img, 0)
        w.add_image("hwc", ds.rand(4, 5, 3), 0, dataformats="HWC")
        w.add_images("batch", ds.rand(2, 3, 4, 5), 1)
    got = {tag: v.image for _, tag, v in values(str(tmp_path))}
    assert (got["one"].height, got["one"].width, got["one"].colorspace) == (4, 5, 3)
    assert (got["hwc"].height, got["hwc"].width) == (4, 5)
    assert got["batch"].height == 4 and got["batch"].width == 10  # a grid of 2 images
    from PIL import Image
    import io

    pixels = np.asarray(Image.open(io.BytesIO(got["one"].encoded_image_string)))
    assert pixels.shape == (4, 5, 3) and (pixels[..., 0] == 255).all() and not pixels[..., 1:].any()


def test_graph(tmp_path):
    model = ds.nn.Sequential(ds.nn.Linear(3, 4), ds.nn.ReLU(), ds.nn.Linear(4, 2))
    with SummaryWriter(str(tmp_path)) as w:
        w.add_graph(model, ds.randn(5, 3))
    graph, = [GraphDef.FromString(e.graph_def) for e in events(str(tmp_path)) if e.graph_def]
    nodes = {n.name: n for n in graph.node}
    for name in ("0.weight", "0.bias", "2.weight", "2.bias", "input/0", "output/0"):
        assert name in nodes, f"{name} missing from {sorted(nodes)}"
    assert nodes["0.weight"].op == "Parameter"
    shape = [d.size for d in nodes["output/0"].attr["_output_shapes"].list.shape[0].dim]
    assert shape == [5, 2]
    relu, = [n for n in graph.node if n.op == "relu"]
    assert [d.size for d in relu.attr["_output_shapes"].list.shape[0].dim] == [5, 4]
    # every input a node names is itself a node
    assert all(i in nodes for n in graph.node for i in n.input)
    with pytest.raises(ValueError, match=r"\[add_graph\] the model's outputs record no ops"):
        SummaryWriter(str(tmp_path / "none")).add_graph(lambda x: x * 2, ds.tensor([1, 2]))


def test_hparams(tmp_path):
    with SummaryWriter(str(tmp_path)) as w:
        w.add_hparams({"lr": 0.1, "optimizer": "sgd", "layers": ds.tensor(3)},
                      {"hparam/accuracy": ds.tensor(0.75)},
                      hparam_domain_discrete={"optimizer": ["sgd", "adam"]}, run_name="trial")
        with pytest.raises(TypeError, match="should be dictionary"):
            w.add_hparams([("lr", 0.1)], {})
        with pytest.raises(TypeError, match="list of same type"):
            w.add_hparams({"lr": 0.1}, {}, hparam_domain_discrete={"lr": ["a"]})
    got = {tag: v for _, tag, v in values(str(tmp_path / "trial"))}
    assert got["hparam/accuracy"].simple_value == 0.75
    data = HParamsPluginData.FromString(
        got["_hparams_/experiment"].metadata.plugin_data.content)
    infos = {i.name: i for i in data.experiment.hparam_infos}
    assert set(infos) == {"lr", "optimizer", "layers"}
    assert [v.string_value for v in infos["optimizer"].domain_discrete.values] == ["sgd", "adam"]
    start = HParamsPluginData.FromString(
        got["_hparams_/session_start_info"].metadata.plugin_data.content)
    assert start.session_start_info.hparams["layers"].number_value == 3
    assert start.session_start_info.hparams["optimizer"].string_value == "sgd"


def test_missing_tensorboardx_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)  # makes the import fail
    with pytest.raises(ImportError, match=r'pip install "deepseek-framework\[tensorboard\]"'):
        SummaryWriter()
