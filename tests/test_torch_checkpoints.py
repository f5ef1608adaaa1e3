"""ds.load on torch.save checkpoints: values bit for bit, layouts, sharing, modules and optimizers
loaded into deepseek, and hostile or broken files refused without running anything."""

from __future__ import annotations

import io
import math
import pickle
import pickletools
import struct
import tarfile
import zipfile
from collections import OrderedDict

import numpy as np
import pytest
import torch

import deepseek as ds


def _saved(obj, tmp_path, name="checkpoint.pt", **kwargs):
    path = tmp_path / name
    torch.save(obj, path, **kwargs)  # the zip's folder is named after the file: checkpoint/
    return path


def _bits(array: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(array).reshape(-1).view(np.uint8)


def _torch_bits(t: torch.Tensor) -> np.ndarray:
    t = t.detach().resolve_conj().resolve_neg().contiguous().reshape(-1)
    return t.view(torch.uint8).numpy()


def _check_tensor(got, expected: torch.Tensor, where: str) -> None:
    assert isinstance(got, ds.Tensor), f"{where}: {type(got).__name__}, expected a Tensor"
    assert tuple(got.shape) == tuple(expected.shape), f"{where}: shape {got.shape}"
    assert got.dtype.name == str(expected.dtype).split(".")[1], f"{where}: dtype {got.dtype}"
    np.testing.assert_array_equal(_bits(got.detach().numpy()), _torch_bits(expected),
                                  err_msg=f"{where}: bits differ")
    assert got.requires_grad == expected.requires_grad, f"{where}: requires_grad"
    assert isinstance(got, ds.nn.Parameter) == isinstance(expected, torch.nn.Parameter), where


def _check(got, expected, where: str = "obj") -> None:
    """``got`` (from ds.load) mirrors ``expected`` (what torch saved): same containers, keys in
    the same order, tensors bit for bit."""
    if isinstance(expected, torch.Tensor):
        _check_tensor(got, expected, where)
    elif isinstance(expected, dict):
        assert isinstance(got, dict) and list(got) == list(expected), f"{where}: keys {list(got)}"
        assert isinstance(got, OrderedDict) == isinstance(expected, OrderedDict), where
        for key in expected:
            _check(got[key], expected[key], f"{where}[{key!r}]")
    elif isinstance(expected, (list, tuple)):
        assert type(got) is type(expected) and len(got) == len(expected), f"{where}: {got!r}"
        for i, (a, b) in enumerate(zip(got, expected)):
            _check(a, b, f"{where}[{i}]")
    else:
        assert type(got) is type(expected) and got == expected, f"{where}: {got!r} != {expected!r}"


def _bn_trained(model: torch.nn.Module, x: torch.Tensor) -> torch.nn.Module:
    model.train()
    model(x)  # running statistics and num_batches_tracked move off their defaults
    return model


_MODELS = {
    "linear": (lambda m: m.Linear(5, 3), lambda: torch.randn(4, 5)),
    "conv2d": (lambda m: m.Conv2d(3, 4, 3, stride=2, padding=1), lambda: torch.randn(2, 3, 7, 7)),
    "batchnorm2d": (lambda m: m.BatchNorm2d(3), lambda: torch.randn(4, 3, 5, 5)),
    "lstm": (lambda m: m.LSTM(3, 4, num_layers=2), lambda: torch.randn(5, 2, 3)),
    "embedding": (lambda m: m.Embedding(10, 4), lambda: torch.tensor([[1, 2, 9], [0, 5, 5]])),
}


def _outputs(out):
    if isinstance(out, tuple):
        return [o for part in out for o in _outputs(part)]
    return [out.detach().numpy()]


@pytest.mark.parametrize("name", list(_MODELS))
def test_module_state_dict_loads_into_deepseek(name, tmp_path) -> None:
    build, sample = _MODELS[name]
    torch.manual_seed(0)
    x = sample()
    reference = build(torch.nn)
    if name == "batchnorm2d":
        _bn_trained(reference, x)
    state = reference.state_dict()
    loaded = ds.load(_saved(state, tmp_path))
    _check(loaded, state, name)
    assert loaded._metadata == state._metadata  # the per-module versions torch keeps
    model = build(ds.nn)
    model.load_state_dict(loaded)
    reference.eval()
    model.eval()
    with torch.no_grad():
        expected = _outputs(reference(x))
    got = _outputs(model(ds.tensor(x.numpy())))
    assert len(got) == len(expected), name
    for i, (a, b) in enumerate(zip(got, expected)):
        assert a.shape == b.shape and a.dtype == b.dtype, f"{name} output {i}"
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, err_msg=f"{name} output {i}")


@pytest.mark.parametrize("kind", ["adam", "sgd_momentum"])
def test_optimizer_state_dict(kind, tmp_path) -> None:
    torch.manual_seed(0)
    reference = torch.nn.Linear(3, 2)
    make = {"adam": lambda m, params: m.Adam(params, lr=0.1, betas=(0.8, 0.99)),
            "sgd_momentum": lambda m, params: m.SGD(params, lr=0.1, momentum=0.9)}[kind]
    optimizer = make(torch.optim, reference.parameters())
    x = torch.randn(4, 3)
    for _ in range(2):
        optimizer.zero_grad()
        reference(x).square().sum().backward()
        optimizer.step()
    path = _saved({"model": reference.state_dict(), "optim": optimizer.state_dict()}, tmp_path)
    loaded = ds.load(path)
    _check(loaded["optim"], optimizer.state_dict(), kind)
    assert list(loaded["optim"]["state"]) == [0, 1]

    model = ds.nn.Linear(3, 2)
    model.load_state_dict(loaded["model"])
    ours = make(ds.optim, model.parameters())
    ours.load_state_dict(loaded["optim"])
    optimizer.zero_grad()
    reference(x).square().sum().backward()
    optimizer.step()
    ours.zero_grad()
    model(ds.tensor(x.numpy())).square().sum().backward()
    ours.step()
    for name, p in reference.named_parameters():
        np.testing.assert_allclose(getattr(model, name).detach().numpy(), p.detach().numpy(),
                                   rtol=1e-6, atol=1e-7, err_msg=f"{kind} step after loading")


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_plain_structure(protocol, tmp_path) -> None:
    obj = {"int": 7, "negative": -5, "wide": 2**40, "huge": -(2**70), "float": 0.1,
           "inf": math.inf, "text": "naïve ☃", "none": None, "flags": [True, False],
           "tuple": (1, (2.5, "x"), ()), "nested": [[], {}, [{"deep": [None]}]],
           "int keys": {0: "a", -1: "b", 300: "c", 70000: "d"}, "tuple key": {(1, 2): 3},
           "bytes": b"\x00\xff", "bytearray": bytearray(b"ab"), "set": {1, 2},
           "frozenset": frozenset({"a"}), "complex": 1 - 2j, "slice": slice(1, None, 2),
           "ordered": OrderedDict(b=1, a=2), "long text": "y" * 300}
    loaded = ds.load(_saved(obj, tmp_path, pickle_protocol=protocol))
    _check(loaded, obj)
    assert math.isnan(ds.load(_saved(math.nan, tmp_path, pickle_protocol=protocol)))


def test_torch_objects_become_deepseek_ones(tmp_path) -> None:
    loaded = ds.load(_saved({"dtype": torch.bfloat16, "float": torch.float32,
                             "device": torch.device("cpu"), "cuda": torch.device("cuda", 1),
                             "size": torch.Size([2, 3])}, tmp_path))
    assert loaded["dtype"] is ds.bfloat16 and loaded["float"] is ds.float32
    assert loaded["device"] == ds.device("cpu") and str(loaded["cuda"]) == "cuda:1"
    assert isinstance(loaded["size"], ds.Size) and loaded["size"] == (2, 3)


_DTYPES = ["float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8",
           "uint8", "bool", "complex64", "complex128", "float8_e4m3fn", "float8_e5m2"]


def _sample(dtype: torch.dtype, shape=(3, 4)) -> torch.Tensor:
    g = torch.Generator().manual_seed(1)
    if dtype == torch.bool:
        return torch.rand(shape, generator=g) > 0.5
    if dtype.is_floating_point or dtype.is_complex:
        t = (torch.randn(shape, generator=g, dtype=torch.float64) * 100).to(dtype)
        if t.numel() >= 3 and not str(dtype).startswith("torch.float8"):
            t.view(-1)[:3] = torch.tensor([math.inf, -0.0, math.nan]).to(dtype)
        return t
    info = torch.iinfo(dtype)
    return torch.randint(info.min, info.max, shape, generator=g, dtype=torch.int64).to(dtype)


@pytest.mark.parametrize("dtype", _DTYPES)
def test_dtypes_bit_for_bit(dtype, tmp_path) -> None:
    d = getattr(torch, dtype)
    obj = {"matrix": _sample(d), "scalar": _sample(d, ()), "empty": _sample(d, (0, 3)),
           "transposed": _sample(d).t()}
    _check(ds.load(_saved(obj, tmp_path)), obj, dtype)


def test_shared_storage_and_strides(tmp_path) -> None:
    base = torch.arange(24.0).reshape(4, 6)
    obj = {"base": base, "rows": base[1:3], "strided": base[:, 1::2], "transposed": base.t(),
           "expanded": base[0, :1].expand(3, 5), "again": base,
           "alone": torch.arange(10.0)[3:7]}
    loaded = ds.load(_saved(obj, tmp_path))
    _check(loaded, obj)
    for name, t in obj.items():
        assert loaded[name].stride() == t.stride(), f"{name}: stride {loaded[name].stride()}"
        assert loaded[name].storage_offset() == t.storage_offset(), f"{name}: storage offset"
        assert loaded[name].is_contiguous() == t.is_contiguous(), name
    assert loaded["again"] is loaded["base"]
    assert loaded["base"]._base is None  # it spans its storage: the others view it
    for name in ("rows", "strided", "transposed", "expanded"):
        assert loaded[name]._base is loaded["base"], name
    loaded["base"].add_(100.0)  # one storage, as in torch
    assert loaded["rows"][0, 0].item() == 106.0 and loaded["transposed"][1, 0].item() == 101.0
    assert loaded["alone"].tolist() == [3.0, 4.0, 5.0, 6.0] and loaded["alone"]._base is not None


def test_parameters_and_grad_flags(tmp_path) -> None:
    frozen = torch.nn.Parameter(torch.ones(2), requires_grad=False)
    tagged = torch.nn.Parameter(torch.zeros(3))
    tagged.note = "kept"
    attributed = torch.ones(2)
    attributed.unit = "m"
    obj = {"param": torch.nn.Parameter(torch.randn(2, 2)), "frozen": frozen,
           "leaf": torch.ones(3, requires_grad=True), "tagged": tagged, "attributed": attributed,
           "half param": torch.nn.Parameter(torch.ones(2, dtype=torch.float16))}
    loaded = ds.load(_saved(obj, tmp_path))
    _check(loaded, obj)
    for name in ("param", "leaf", "tagged"):
        assert loaded[name].is_leaf and loaded[name].grad_fn is None, name
    assert loaded["tagged"].note == "kept" and loaded["attributed"].unit == "m"


def test_conjugate_and_negative_views(tmp_path) -> None:
    z = torch.tensor([1 + 2j, -3 - 4j], dtype=torch.complex64)
    obj = {"conj": z.conj(), "neg": torch.tensor([1.0, -2.0])._neg_view()}
    _check(ds.load(_saved(obj, tmp_path)), obj)


def test_legacy_format(tmp_path) -> None:
    base = torch.arange(6, dtype=torch.float64).reshape(2, 3)
    obj = {"base": base, "view": base[:, 1:], "bits": torch.tensor([True, False]),
           "conj": torch.tensor([1j]).conj(), "param": torch.nn.Parameter(torch.ones(2)),
           "half": torch.ones(3, dtype=torch.float16), "plain": [1, "two", None]}
    loaded = ds.load(_saved(obj, tmp_path, _use_new_zipfile_serialization=False))
    _check(loaded, obj)
    assert loaded["view"]._base is loaded["base"]


def _rewrite(path, change) -> bytes:
    """The zip at ``path`` with each entry passed through ``change(name, data)``, which returns
    new data or None to drop the entry."""
    out = io.BytesIO()
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w") as dst:
        for name in src.namelist():
            data = change(name, src.read(name))
            if data is not None:
                dst.writestr(name, data)
    return out.getvalue()


def test_big_endian_checkpoint(tmp_path) -> None:
    obj = {"f": torch.randn(3), "c": torch.randn(2, dtype=torch.complex128),
           "bf": torch.randn(2).bfloat16(), "i": torch.arange(3, dtype=torch.int16),
           "b": torch.tensor([1, 2], dtype=torch.uint8)}
    path = _saved(obj, tmp_path)
    keys = {f"checkpoint/data/{i}": t for i, t in enumerate(obj.values())}  # torch's numbering

    def swap(name, data):
        if name == "checkpoint/byteorder":
            return b"big"
        if name in keys:
            t = keys[name]
            parts = t.view(torch.float64) if t.is_complex() else t
            width = parts.element_size()
            return np.frombuffer(data, f"u{width}" if width > 1 else "u1").byteswap().tobytes()
        return data

    swapped = _rewrite(path, swap)
    with zipfile.ZipFile(io.BytesIO(swapped)) as z:
        assert z.read("checkpoint/byteorder") == b"big"
        assert z.read("checkpoint/data/0") != obj["f"].numpy().tobytes()
    _check(ds.load(swapped), obj)


def test_inputs_map_location_and_weights_only(tmp_path) -> None:
    obj = {"w": torch.arange(3.0)}
    path = _saved(obj, tmp_path)
    for source in (lambda: path, lambda: str(path), path.read_bytes,
                   lambda: io.BytesIO(path.read_bytes())):
        for weights_only in (True, False):
            for location in (None, "cpu", ds.device("cpu")):
                loaded = ds.load(source(), map_location=location, weights_only=weights_only)
                _check(loaded, obj)


def test_never_unpickles(tmp_path, monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("ds.load unpickled")

    path = _saved({"w": torch.ones(2), "m": torch.nn.Linear(2, 2).state_dict()}, tmp_path)
    legacy = _saved({"w": torch.ones(2)}, tmp_path, "legacy.pt",
                    _use_new_zipfile_serialization=False)
    for name in ("load", "loads", "Unpickler", "_Unpickler"):
        monkeypatch.setattr(pickle, name, refuse)
    assert ds.load(path)["w"].tolist() == [1.0, 1.0]
    assert ds.load(legacy)["w"].tolist() == [1.0, 1.0]


# ---- hostile and broken files ------------------------------------------------------------


def _binunicode(text: str) -> bytes:
    raw = text.encode()
    return b"X" + struct.pack("<I", len(raw)) + raw


def _zip_checkpoint(tmp_path, pickled: bytes, extra: dict = None, name="evil.pt"):
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", pickled)
        z.writestr("archive/byteorder", "little")
        for entry, data in (extra or {}).items():
            z.writestr(entry, data)
    return path


def _refused(path, *patterns: str) -> str:
    with pytest.raises(RuntimeError) as info:
        ds.load(path)
    message = str(info.value)
    assert message.startswith("[load]"), message
    for pattern in patterns:
        assert pattern in message, f"{pattern!r} not in {message!r}"
    return message


def test_refuses_os_system_without_running_it(tmp_path) -> None:
    marker = tmp_path / "pwned"
    command = _binunicode(f"touch {marker}")
    call_system = b"cos\nsystem\n" + command + b"\x85R"  # os.system(("touch marker",))
    payload = b"\x80\x02" + call_system + b"."
    ops = [(op.name, arg) for op, arg, _ in pickletools.genops(payload)]  # a live payload
    assert ops == [("PROTO", 2), ("GLOBAL", "os system"), ("BINUNICODE", f"touch {marker}"),
                   ("TUPLE1", None), ("REDUCE", None), ("STOP", None)]
    zipped = _zip_checkpoint(tmp_path, payload)
    _refused(zipped, "global os.system is not allowed", "GLOBAL at byte 2 of archive/data.pkl",
             str(zipped))
    posix = _zip_checkpoint(tmp_path, b"\x80\x02cposix\nsystem\n" + command + b"\x85R.", None,
                            "posix.pt")
    _refused(posix, "global posix.system")
    # a legacy stream whose headers are right and whose object calls os.system
    headers = b"".join(pickle.dumps(v, protocol=2) for v in (
        0x1950A86A20F9469CFC6C, 1001, {"little_endian": True, "type_sizes": {}}))
    legacy = tmp_path / "legacy-evil.pt"
    legacy.write_bytes(headers + b"\x80\x02" + call_system + b".")
    _refused(legacy, "global os.system", "legacy checkpoint")
    # a bare pickle is neither ours nor torch's
    bare = tmp_path / "bare.pkl"
    bare.write_bytes(b"\x80\x02" + call_system + b".")
    _refused(bare, "is not a deepseek file")
    assert not marker.exists()


def test_refuses_eval_and_disguised_calls(tmp_path) -> None:
    code = _binunicode("__import__('os').getcwd()")
    cases = {
        "eval.pt": (b"\x80\x02c__builtin__\neval\n" + code + b"\x85R.", "global builtins.eval"),
        "eval4.pt": (b"\x80\x04\x95\x00\x00\x00\x00\x00\x00\x00\x00\x8c\x08builtins\x8c\x04eval"
                     b"\x93" + code + b"\x85R.", "STACK_GLOBAL at byte 27"),
        "storage_call.pt": (b"\x80\x02ctorch\nFloatStorage\n)R.", "REDUCE of torch.FloatStorage"),
        "dict_call.pt": (b"\x80\x02})R.", "REDUCE of {}"),
        "getattr.pt": (b"\x80\x02cbuiltins\ngetattr\n.", "global builtins.getattr"),
        "build.pt": (b"\x80\x02]}b.", "BUILD of a list"),
        "module.pt": (b"\x80\x02ctorch.nn.modules.linear\nLinear\n.", "model.state_dict()"),
    }
    for name, (pickled, pattern) in cases.items():
        _refused(_zip_checkpoint(tmp_path, pickled, None, name), pattern)


def test_refuses_a_whole_module_and_torchscript(tmp_path) -> None:
    _refused(_saved(torch.nn.Linear(2, 2), tmp_path), "torch.nn.modules.linear.Linear",
             "state_dict()")
    scripted = tmp_path / "scripted.pt"
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), scripted)
    _refused(scripted, "is a TorchScript archive")


@pytest.mark.parametrize("pickled, pattern", [
    (b"\x80\x02\xff.", "byte 0xff at byte 2 of archive/data.pkl: not a pickle opcode"),
    (b"\x80\x02(i__main__\nX\n.", "INST at byte 3 of archive/data.pkl: opcode INST (0x69)"),
    (b"\x80\x02h\x05.", "memo index 5 is out of range"),
    (b"\x80\x02K\x01q\x00j\x09\x00\x00\x00.", "memo index 9"),
    (b"\x80\x02X\xff\x00\x00\x00ab", "truncated: needs 255 bytes, 2 left"),
    (b"\x80\x02K\x01", "the stream ends without STOP"),
    (b"\x80\x02a.", "the stack is empty"),
    (b"\x80\x02}K\x01s.", "the stack is empty"),
    (b"\x80\x02u.", "no MARK"),
    (b"\x80\x02}(]K\x01u.", "unhashable"),
    (b"\x80\x02K\x01Q.", "not a storage reference"),
])
def test_refuses_invalid_streams(pickled, pattern, tmp_path) -> None:
    _refused(_zip_checkpoint(tmp_path, pickled), pattern, "archive/data.pkl")


def test_refuses_broken_checkpoints(tmp_path) -> None:
    path = _saved({"w": torch.arange(4.0), "b": torch.ones(2)}, tmp_path)
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(_rewrite(path, lambda n, d: d[:len(d) // 2] if n.endswith(".pkl")
                                   else d))
    _refused(truncated, "truncated", "checkpoint/data.pkl")

    no_entry = tmp_path / "no_entry.pt"
    no_entry.write_bytes(_rewrite(path, lambda n, d: None if n == "checkpoint/data/0" else d))
    _refused(no_entry, "zip entry checkpoint/data/0 is missing")

    short = tmp_path / "short.pt"
    short.write_bytes(_rewrite(path, lambda n, d: d[:4] if n == "checkpoint/data/0" else d))
    _refused(short, "checkpoint/data/0 holds 4 bytes", "4 elements of torch.FloatStorage")

    no_pickle = tmp_path / "no_pickle.pt"
    no_pickle.write_bytes(_rewrite(path, lambda n, d: None if n.endswith(".pkl") else d))
    _refused(no_pickle, "zip archive without data.pkl")

    corrupt = bytearray(path.read_bytes())  # one flipped byte in a stored tensor: a bad CRC
    start = corrupt.find(np.arange(4, dtype=np.float32).tobytes())
    corrupt[start + 5] ^= 0xFF
    damaged = tmp_path / "damaged.pt"
    damaged.write_bytes(bytes(corrupt))
    _refused(damaged, "cannot read zip entry checkpoint/data/0", "CRC")

    legacy = _saved({"w": torch.arange(4.0)}, tmp_path, "legacy.pt",
                    _use_new_zipfile_serialization=False)
    cut = tmp_path / "legacy_cut.pt"
    cut.write_bytes(legacy.read_bytes()[:-3])
    _refused(cut, "truncated", "storage")

    tar = tmp_path / "ancient.tar"
    with tarfile.open(tar, "w") as archive:
        archive.add(path, "pickle")
    _refused(tar, "tar archive: a torch<0.4 checkpoint", "torch>=1.6")
    assert ds.load(path)["w"].tolist() == [0.0, 1.0, 2.0, 3.0]


class _Storage:
    """Pickles as the persistent id of a FloatStorage of ``numel`` elements."""

    def __init__(self, numel: int, location: str = "cpu") -> None:
        self.numel, self.location = numel, location


class _Strided:
    """Pickles as torch._utils._rebuild_tensor_v2 over a FloatStorage, with any layout."""

    def __init__(self, storage, offset, size, stride) -> None:
        self.args = (storage, offset, size, stride, False, OrderedDict())

    def __reduce__(self):
        return torch._utils._rebuild_tensor_v2, self.args


class _Writer(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, _Storage):
            return ("storage", torch.FloatStorage, "0", obj.location, obj.numel)
        return None


@pytest.mark.parametrize("offset, size, stride, pattern", [
    (0, (5,), (1,), "reach element 4 of a storage of 4 elements"),
    (1, (2, 2), (1, 1), None),
    (1, (2, 2), (2, 1), "reach element 4"),
    (0, (2,), (-1,), "stride must be a non-negative integer"),
    (9, (0, 3), (3, 1), None),
    (0, (2, 2), (1,), "different lengths"),
])
def test_tensor_layout_must_fit_its_storage(offset, size, stride, pattern, tmp_path) -> None:
    storage = _Storage(4)
    buffer = io.BytesIO()
    _Writer(buffer, protocol=2).dump({"t": _Strided(storage, offset, size, stride)})
    path = _zip_checkpoint(tmp_path, buffer.getvalue(),
                           {"archive/data/0": np.arange(4, dtype=np.float32).tobytes()})
    if pattern is None:
        t = ds.load(path)["t"]
        expected = torch.arange(4.0).as_strided(size, stride, offset)
        assert t.tolist() == expected.tolist() and t.stride() == stride
    else:
        _refused(path, "REDUCE", "torch._utils._rebuild_tensor_v2", pattern)


def test_gpu_checkpoint_loads_on_the_cpu(tmp_path) -> None:
    buffer = io.BytesIO()
    _Writer(buffer, protocol=2).dump({"t": _Strided(_Storage(4, "cuda:0"), 0, (2, 2), (2, 1))})
    path = _zip_checkpoint(tmp_path, buffer.getvalue(),
                           {"archive/data/0": np.arange(4, dtype=np.float32).tobytes()})
    for location in (None, "cpu"):
        t = ds.load(path, map_location=location)["t"]
        assert t.device.type == "cpu" and t.tolist() == [[0.0, 1.0], [2.0, 3.0]]


@pytest.mark.parametrize("layout", ["zip", "legacy"])
def test_damaged_files_load_or_raise_a_load_error(layout, tmp_path) -> None:
    base = torch.arange(6.0).reshape(2, 3)
    obj = {"w": base, "v": base[:, 1:], "p": torch.nn.Parameter(torch.ones(2)),
           "x": [1, 2.5, "s", None, (True, b"q")], "m": torch.nn.Linear(2, 2).state_dict()}
    data = _saved(obj, tmp_path, _use_new_zipfile_serialization=layout == "zip").read_bytes()
    rng = np.random.default_rng(0)
    for trial in range(150):
        damaged = bytearray(data)
        for i in rng.integers(4, len(data), size=int(rng.integers(1, 4))):
            damaged[i] = int(rng.integers(256))
        if trial % 5 == 0:
            damaged = damaged[:int(rng.integers(4, len(data)))]
        try:
            ds.load(bytes(damaged))
        except RuntimeError as e:
            assert str(e).startswith("[load]"), f"trial {trial}: {e}"
