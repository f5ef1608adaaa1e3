"""ds.save / ds.load: structure and tensors round-trip, files that are not ours are refused."""

from __future__ import annotations

import io
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
