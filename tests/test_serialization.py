"""ds.save / ds.load: structure and tensors round-trip, files that are not ours are refused."""

from __future__ import annotations

import base64
import io
import json
import math
import os

import ml_dtypes
import numpy as np
import pytest
import torch

import deepseek as ds


def _round_trip(obj):
    buffer = io.BytesIO()
    ds.save(obj, buffer)
    buffer.seek(0)
    return ds.load(buffer)


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16", "int64",
                                   "int32", "int16", "int8", "uint8", "bool"])
def test_tensor_dtypes(dtype: str) -> None:
    values = np.arange(-3, 9).reshape(3, 4) % 5
    t = ds.tensor(values.astype(ml_dtypes.bfloat16 if dtype == "bfloat16" else dtype))
    back = _round_trip(t)
    assert back.dtype == t.dtype and back.shape == t.shape
    np.testing.assert_array_equal(back.numpy(), t.numpy())


def test_layouts_and_shapes() -> None:
    base = ds.arange(24.0).reshape(4, 6)
    cases = {"transposed": base.t(), "flipped": base.flip(0), "sliced": base[:, ::2],
             "scalar": ds.tensor(2.5), "empty": ds.zeros(0, 3)}
    back = _round_trip(cases)
    for name, t in cases.items():
        assert back[name].shape == t.shape, name
        np.testing.assert_array_equal(back[name].numpy(), t.numpy(), err_msg=name)


def test_structure() -> None:
    obj = {"int keys": {0: "a", 1: None}, "tuple": (1, 2.5, (True, "x")), "list": [1, [2, 3]],
           "inf": math.inf, "dtype": ds.bfloat16, 7: "int key", (1, 2): "tuple key",
           "numpy": np.arange(3), "np scalar": np.float32(1.5), "nested": [{"t": ds.ones(2)}]}
    back = _round_trip(obj)
    assert back["int keys"] == {0: "a", 1: None}
    assert back["tuple"] == (1, 2.5, (True, "x"))
    assert back["list"] == [1, [2, 3]]
    assert back["inf"] == math.inf
    assert back["dtype"] is ds.bfloat16
    assert back[7] == "int key" and back[(1, 2)] == "tuple key"
    np.testing.assert_array_equal(back["numpy"], np.arange(3))
    assert back["np scalar"] == 1.5
    assert back["nested"][0]["t"].tolist() == [1.0, 1.0]
    assert list(back) == list(obj)


def test_grad_flags_parameters_and_sharing() -> None:
    w = ds.nn.Parameter(ds.ones(2))
    x = ds.zeros(3, requires_grad=True)
    back = _round_trip({"w": w, "x": x, "again": x, "plain": ds.ones(1)})
    assert isinstance(back["w"], ds.nn.Parameter) and back["w"].requires_grad
    assert back["x"].requires_grad and not back["plain"].requires_grad
    assert back["again"] is back["x"]


def test_paths_bytes_and_map_location(tmp_path) -> None:
    path = tmp_path / "state.safetensors"
    ds.save({"a": ds.arange(3)}, path)
    assert ds.load(path)["a"].tolist() == [0, 1, 2]
    assert ds.load(str(path), map_location="cpu", weights_only=True)["a"].tolist() == [0, 1, 2]
    with open(path, "rb") as f:
        assert ds.load(f.read())["a"].tolist() == [0, 1, 2]


def test_module_state_dict() -> None:
    model = ds.nn.Sequential(ds.nn.Linear(3, 4), ds.nn.BatchNorm1d(4), ds.nn.Linear(4, 2))
    clone = ds.nn.Sequential(ds.nn.Linear(3, 4), ds.nn.BatchNorm1d(4), ds.nn.Linear(4, 2))
    clone.load_state_dict(_round_trip(model.state_dict()))
    x = ds.randn(5, 3)
    model.eval()
    clone.eval()
    np.testing.assert_array_equal(model(x).detach().numpy(), clone(x).detach().numpy())


def test_refuses_foreign_files(tmp_path) -> None:
    checkpoint = tmp_path / "torch.pt"  # torch's own format is read (tests/test_torch_checkpoints)
    torch.save({"a": torch.ones(2)}, checkpoint)
    assert ds.load(checkpoint)["a"].tolist() == [1.0, 1.0]
    pickled = tmp_path / "plain.pkl"  # a bare pickle is neither ours nor torch's
    pickled.write_bytes(b"\x80\x02}q\x00.")
    from safetensors.numpy import save_file

    plain = tmp_path / "plain.safetensors"
    save_file({"a": np.ones(2, np.float32)}, str(plain))
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(os.urandom(64))
    empty = tmp_path / "empty.bin"
    empty.write_bytes(b"")
    for path in (pickled, plain, garbage, empty):
        with pytest.raises(RuntimeError, match="is not a deepseek file"):
            ds.load(path)


def test_unsupported_objects() -> None:
    with pytest.raises(TypeError, match=r"\[save\] cannot store an object of type object"):
        ds.save({"x": object()}, io.BytesIO())
    with pytest.raises(TypeError, match="cannot store an object of type set"):
        ds.save({1, 2}, io.BytesIO())


def _torch_like(make):
    """``make(lib)`` builds tensors with ``lib`` (deepseek or torch); both save and load them."""
    ours = _round_trip(make(ds))
    buffer = io.BytesIO()
    torch.save(make(torch), buffer)
    buffer.seek(0)
    return ours, torch.load(buffer)


def _views(lib):
    base = lib.arange(24.0).reshape(4, 6)
    return [base, base[1:3], base.t(), base[:, ::2], base[2], base[None].expand(2, 4, 6), base]


def test_shared_storage_kept_as_torch() -> None:
    ours, theirs = _torch_like(_views)
    assert ours[6] is ours[0] and theirs[6] is theirs[0]
    ours[1][0, 1] = 100.0  # writes through the slice show in every view, in both
    theirs[1][0, 1] = 100.0
    ours[2][5, 3] = -7.0
    theirs[2][5, 3] = -7.0
    for i, (a, b) in enumerate(zip(ours, theirs)):
        assert tuple(a.shape) == tuple(b.shape), f"view {i}"
        assert a.dtype.name == str(b.dtype).split(".")[1], f"view {i}"
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=f"view {i}")
        assert a.stride() == b.stride(), f"view {i}"
        assert a.storage_offset() == b.storage_offset(), f"view {i}"
    pointers = {a.untyped_storage().data_ptr() for a in ours}
    assert len(pointers) == 1


def test_overlap_flags_and_parameters() -> None:
    base = ds.arange(8.0)
    weight = ds.nn.Parameter(base)
    frozen = ds.nn.Parameter(base[2:6], requires_grad=False)
    back = _round_trip({"w": weight, "f": frozen, "a": base[0:5], "b": base[3:8],
                        "n": base.numpy()[1:4], "bits": base.view(ds.int32),
                        "g": ds.zeros(2, requires_grad=True)})
    assert isinstance(back["w"], ds.nn.Parameter) and back["w"].requires_grad
    assert isinstance(back["f"], ds.nn.Parameter) and not back["f"].requires_grad
    assert back["g"].requires_grad and not back["a"].requires_grad
    back["a"][4] = -1.0  # element 4 lies in both overlapping slices
    assert back["b"][1].item() == -1.0 and back["w"][4].item() == -1.0
    assert back["f"][2].item() == -1.0 and isinstance(back["n"], np.ndarray)
    back["n"][0] = 50.0
    assert back["w"][1].item() == 50.0
    assert back["bits"].dtype == ds.int32  # the same bytes read as another dtype
    assert back["bits"][1].item() == np.float32(50.0).view(np.int32)


@pytest.mark.parametrize("dtype", ["bfloat16", "float8_e4m3fn", "float8_e5m2"])
def test_shared_low_precision(dtype: str) -> None:
    base = ds.arange(8.0).to(getattr(ds, dtype))
    whole, part, alone = _round_trip([base, base[1:3], ds.ones(2).to(getattr(ds, dtype))])
    assert whole.dtype == part.dtype == alone.dtype == getattr(ds, dtype)
    whole[1] = 4.0
    assert part.to(ds.float32).tolist() == [4.0, 2.0]
    assert alone.to(ds.float32).tolist() == [1.0, 1.0]


def test_negative_strides_shared() -> None:
    values = np.arange(10.0)
    flipped = ds.from_numpy(values[::-1])
    every_other = values[8::-2]
    back = _round_trip([ds.from_numpy(values), flipped, every_other])
    assert back[1].tolist() == values[::-1].tolist()
    np.testing.assert_array_equal(back[2], values[8::-2])
    back[0][8] = -3.0
    assert back[1][1].item() == -3.0 and back[2][0] == -3.0


def test_slice_alone_is_compact() -> None:
    big = ds.arange(100_000.0)
    alone = io.BytesIO()
    ds.save(big[10:12], alone)
    assert len(alone.getvalue()) < 1_000  # torch.save would write the 400 kB storage
    assert _round_trip(big[10:12]).tolist() == [10.0, 11.0]
    pair = io.BytesIO()
    ds.save([big[10:12], big[20:22]], pair)  # shared: only the bytes between them are kept
    assert len(pair.getvalue()) < 1_500
    a, b = _round_trip([big[10:12], big[20:22]])
    assert a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr()
    assert b.tolist() == [20.0, 21.0] and b.storage_offset() == 10


# Written by ds.save in format deepseek/1, before views existed: {"w": Parameter(ones(2)),
# "b": bfloat16 [1.5, -2], "pair": (arange(4.), its [2:4]), "n": NumPy int16 arange(3)}
_FORMAT_1 = base64.b64decode(
    "AAMAAAAAAAB7Il9fbWV0YWRhdGFfXyI6eyJmb3JtYXQiOiJkZWVwc2Vlay8xIiwiZHR5cGVzIjoie1widDFcIjogXC"
    "JiZmxvYXQxNlwifSIsInN0cnVjdHVyZSI6IntcIl9fZGljdF9fXCI6IFtbXCJ3XCIsIHtcIl9fdGVuc29yX19cIjog"
    "XCJ0MFwiLCBcInJlcXVpcmVzX2dyYWRcIjogdHJ1ZSwgXCJwYXJhbWV0ZXJcIjogdHJ1ZX1dLCBbXCJiXCIsIHtcIl"
    "9fdGVuc29yX19cIjogXCJ0MVwiLCBcInJlcXVpcmVzX2dyYWRcIjogZmFsc2UsIFwicGFyYW1ldGVyXCI6IGZhbHNl"
    "fV0sIFtcInBhaXJcIiwge1wiX190dXBsZV9fXCI6IFt7XCJfX3RlbnNvcl9fXCI6IFwidDJcIiwgXCJyZXF1aXJlc1"
    "9ncmFkXCI6IGZhbHNlLCBcInBhcmFtZXRlclwiOiBmYWxzZX0sIHtcIl9fdGVuc29yX19cIjogXCJ0M1wiLCBcInJl"
    "cXVpcmVzX2dyYWRcIjogZmFsc2UsIFwicGFyYW1ldGVyXCI6IGZhbHNlfV19XSwgW1wiblwiLCB7XCJfX25kYXJyYX"
    "lfX1wiOiBcInQ0XCJ9XV19In0sInQwIjp7ImR0eXBlIjoiRjMyIiwic2hhcGUiOlsyXSwiZGF0YV9vZmZzZXRzIjpb"
    "MCw4XX0sInQyIjp7ImR0eXBlIjoiRjMyIiwic2hhcGUiOls0XSwiZGF0YV9vZmZzZXRzIjpbOCwyNF19LCJ0MyI6ey"
    "JkdHlwZSI6IkYzMiIsInNoYXBlIjpbMl0sImRhdGFfb2Zmc2V0cyI6WzI0LDMyXX0sInQxIjp7ImR0eXBlIjoiVTE2"
    "Iiwic2hhcGUiOlsyXSwiZGF0YV9vZmZzZXRzIjpbMzIsMzZdfSwidDQiOnsiZHR5cGUiOiJJMTYiLCJzaGFwZSI6Wz"
    "NdLCJkYXRhX29mZnNldHMiOlszNiw0Ml19fSAgICAgICAAAIA/AACAPwAAAAAAAIA/AAAAQAAAQEAAAABAAABAQMA/"
    "AMAAAAEAAgA="
)


def test_format_1_still_loads() -> None:
    back = ds.load(_FORMAT_1)
    assert isinstance(back["w"], ds.nn.Parameter) and back["w"].tolist() == [1.0, 1.0]
    assert back["b"].dtype == ds.bfloat16 and back["b"].tolist() == [1.5, -2.0]
    base, part = back["pair"]
    assert base.tolist() == [0.0, 1.0, 2.0, 3.0] and part.tolist() == [2.0, 3.0]
    assert back["n"].dtype == np.int16 and back["n"].tolist() == [0, 1, 2]


def _tampered(**changes):
    """A saved pair of shared views with view ``t1``'s metadata changed."""
    from safetensors.numpy import load as st_load, save as st_save

    buffer = io.BytesIO()
    base = ds.arange(6.0)
    ds.save([base, base[2:4]], buffer)
    data = buffer.getvalue()
    meta = json.loads(data[8:8 + int.from_bytes(data[:8], "little")])["__metadata__"]
    views = json.loads(meta["views"])
    views["t1"].update(changes)
    meta["views"] = json.dumps(views)
    return st_save(st_load(data), metadata=meta)


@pytest.mark.parametrize("changes, message", [
    ({"offset": 10_000}, "reaches bytes"),
    ({"offset": -8}, "non-negative"),
    ({"offset": 2}, "not a multiple"),
    ({"offset": True}, "non-negative"),
    ({"strides": [10**15]}, "reaches bytes"),
    ({"strides": [2**70]}, "strides"),
    ({"shape": [1], "strides": [2**61]}, "too large"),
    ({"strides": [-1], "offset": 0}, "reaches bytes"),
    ({"shape": [2, 3]}, "strides"),
    ({"shape": [-2]}, "shape"),
    ({"shape": [0, 2**62]}, "shape"),
    ({"dtype": "object"}, "unknown dtype"),
    ({"dtype": "float128"}, "unknown dtype"),
    ({"dtype": "complex128", "offset": 16, "shape": [1]}, "reaches bytes"),
    ({"buffer": "t9"}, "names buffer"),
    ({"buffer": "t0"}, "is also a tensor entry"),
    ({"extra": 1}, "must be an object"),
])
def test_hostile_views_raise(changes, message) -> None:
    key = "t0" if changes.get("buffer") == "t0" else "t1"
    data = _tampered(**changes)
    if key == "t0":  # a view named like a stored entry, and a buffer that is one
        from safetensors.numpy import load as st_load, save as st_save

        meta = json.loads(data[8:8 + int.from_bytes(data[:8], "little")])["__metadata__"]
        views = json.loads(meta["views"])
        views["b0"] = views.pop("t1")
        meta["views"] = json.dumps(views)
        data = st_save(st_load(data), metadata=meta)
        key = "b0"
    with pytest.raises(RuntimeError, match=rf"\[load\] damaged file: view '{key}' .*{message}"):
        ds.load(data)


def test_hostile_metadata_raise() -> None:
    from safetensors.numpy import save as st_save

    structure = json.dumps({"__tensor__": "t0", "requires_grad": False, "parameter": False})
    cases = [({"structure": json.dumps({"__tensor__": "t5"})}, "names tensor 't5'"),
             ({"dtypes": json.dumps({"t0": "object"})}, "entry 't0' is marked 'object'"),
             ({"dtypes": json.dumps({"t0": "bfloat16"})}, "entry 't0' is marked 'bfloat16'"),
             ({"views": "[1, 2"}, "not valid JSON"),
             ({"views": "[1, 2]"}, "must be JSON objects")]
    for changes, message in cases:
        meta = {"format": "deepseek/2", "structure": structure, "dtypes": "{}", **changes}
        data = st_save({"t0": np.ones(2, np.float32)}, metadata=meta)
        with pytest.raises(RuntimeError, match=rf"\[load\] .*{message}"):
            ds.load(data)
