"""ds.hub: the cache directory rules, downloads from a local HTTP server and file:// URLs,
hash checks, the legacy zip format, loading torch- and deepseek-saved weights into a deepseek
model (against torch's values), and the refusal of hubconf.py entry points. No network."""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import os
import re
import threading
import urllib.error
import zipfile

import numpy as np
import pytest
import torch

import deepseek as ds
from deepseek import hub


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002  (the base class's name)
        pass


@pytest.fixture
def server(tmp_path_factory):
    """A file server on 127.0.0.1 over ``root``; ``requests`` lists the paths asked for."""
    root = tmp_path_factory.mktemp("served")
    requests: list[str] = []

    class Counting(_Handler):
        def do_GET(self):
            requests.append(self.path)
            super().do_GET()

    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Counting, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01},
                              daemon=True)
    thread.start()
    httpd.root, httpd.requests = root, requests
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture
def hub_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(hub, "_hub_dir", None)
    cache = tmp_path / "cache"
    hub.set_dir(cache)
    return cache


def _torch_model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))


def _ds_model() -> ds.nn.Module:
    return ds.nn.Sequential(ds.nn.Linear(4, 3), ds.nn.ReLU(), ds.nn.Linear(3, 2))


def _torch_bytes(obj, **kwargs) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf, **kwargs)
    return buf.getvalue()


def _check_matches_torch(state: dict, reference: torch.nn.Module, what: str) -> None:
    """``state`` loaded into a deepseek model gives torch's weights and torch's outputs."""
    model = _ds_model()
    model.load_state_dict(state)
    for name, want in reference.state_dict().items():
        got = model.state_dict()[name]
        assert tuple(got.shape) == tuple(want.shape), f"{what}: {name} shape"
        assert got.dtype.name == str(want.dtype).split(".")[1], f"{what}: {name} dtype"
        np.testing.assert_array_equal(got.numpy(), want.numpy(), err_msg=f"{what}: {name}")
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    with torch.no_grad():
        want = reference(torch.from_numpy(x)).numpy()
    got = model(ds.tensor(x)).detach().numpy()
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6,
                               err_msg=f"{what}: forward (rtol=atol=1e-6)")


def _leftovers(folder) -> list[str]:
    return sorted(name for name in os.listdir(folder) if name.endswith(".partial"))


# ---------------------------------------------------------------- the cache directory
def test_get_dir_environment(tmp_path, monkeypatch):
    monkeypatch.setattr(hub, "_hub_dir", None)
    for name in ("DEEPSEEK_HOME", "XDG_CACHE_HOME", "TORCH_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert hub.get_dir() == str(tmp_path / "home" / ".cache" / "deepseek" / "hub")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # torch's, not read
    assert hub.get_dir() == str(tmp_path / "home" / ".cache" / "deepseek" / "hub")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert hub.get_dir() == str(tmp_path / "xdg" / "deepseek" / "hub")
    monkeypatch.setenv("DEEPSEEK_HOME", "~/ds")
    assert hub.get_dir() == str(tmp_path / "home" / "ds" / "hub")
    monkeypatch.setenv("DEEPSEEK_HOME", "")  # empty counts as unset
    assert hub.get_dir() == str(tmp_path / "xdg" / "deepseek" / "hub")


def test_set_dir_overrides_environment(tmp_path, monkeypatch):
    monkeypatch.setattr(hub, "_hub_dir", None)
    monkeypatch.setenv("DEEPSEEK_HOME", str(tmp_path / "env"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    hub.set_dir("~/mine")
    assert hub.get_dir() == str(tmp_path / "home" / "mine")
    hub.set_dir(tmp_path / "path")
    assert hub.get_dir() == str(tmp_path / "path")


def test_default_model_dir_is_checkpoints(server, hub_dir):
    (server.root / "w.pt").write_bytes(_torch_bytes({"a": torch.arange(3)}))
    state = hub.load_state_dict_from_url(f"{server.url}/w.pt", progress=False)
    assert state["a"].tolist() == [0, 1, 2]
    assert (hub_dir / "checkpoints" / "w.pt").is_file()


# ---------------------------------------------------------------- loading weights
@pytest.mark.parametrize("saver", ["torch", "deepseek"])
def test_load_state_dict_from_url_into_model(server, tmp_path, saver):
    reference = _torch_model()
    if saver == "torch":
        (server.root / "mlp.pth").write_bytes(_torch_bytes(reference.state_dict()))
    else:
        state = {k: ds.tensor(v.numpy()) for k, v in reference.state_dict().items()}
        ds.save(state, server.root / "mlp.pth")
    model_dir = tmp_path / "models"
    state = hub.load_state_dict_from_url(f"{server.url}/mlp.pth", model_dir=str(model_dir),
                                         progress=False)
    _check_matches_torch(state, reference, f"{saver}.save over http")
    assert (model_dir / "mlp.pth").read_bytes() == (server.root / "mlp.pth").read_bytes()
    assert _leftovers(model_dir) == []


def test_file_url(tmp_path):
    reference = _torch_model()
    source = tmp_path / "mlp.pth"
    source.write_bytes(_torch_bytes(reference.state_dict()))
    state = hub.load_state_dict_from_url(source.as_uri(), model_dir=tmp_path / "models",
                                         progress=False)
    _check_matches_torch(state, reference, "file:// URL")


def test_cache_hit_does_not_download(server, tmp_path, capsys):
    (server.root / "w.pt").write_bytes(_torch_bytes({"a": torch.ones(2)}))
    url = f"{server.url}/w.pt"
    hub.load_state_dict_from_url(url, model_dir=tmp_path, progress=False)
    assert server.requests == ["/w.pt"]
    assert f'Downloading: "{url}" to {tmp_path / "w.pt"}' in capsys.readouterr().out
    state = hub.load_state_dict_from_url(url, model_dir=tmp_path, progress=False)
    assert server.requests == ["/w.pt"], "the second call downloaded again"
    assert "Downloading" not in capsys.readouterr().out
    assert state["a"].tolist() == [1.0, 1.0]


def test_map_location(server, tmp_path):
    (server.root / "w.pt").write_bytes(_torch_bytes({"a": torch.ones(2)}))
    state = hub.load_state_dict_from_url(f"{server.url}/w.pt", model_dir=tmp_path,
                                         map_location="cpu", progress=False)
    assert state["a"].device.type == "cpu"


def test_file_name_override(server, tmp_path):
    (server.root / "w.pt").write_bytes(_torch_bytes({"a": torch.zeros(1)}))
    hub.load_state_dict_from_url(f"{server.url}/w.pt?x=1", model_dir=tmp_path,
                                 file_name="renamed.pt", progress=False)
    assert sorted(os.listdir(tmp_path)) == ["renamed.pt"]
    hub.load_state_dict_from_url(f"{server.url}/w.pt", model_dir=tmp_path,
                                 file_name="renamed.pt", progress=False)
    assert len(server.requests) == 1, "file_name's cached copy was not used"


def test_url_without_file_name(server, tmp_path):
    with pytest.raises(ValueError, match="file_name="):
        hub.load_state_dict_from_url(f"{server.url}/", model_dir=tmp_path)


# ---------------------------------------------------------------- hashes
def test_check_hash_success(server, tmp_path):
    data = _torch_bytes({"a": torch.arange(4)})
    name = f"w-{hashlib.sha256(data).hexdigest()[:10]}.pt"
    (server.root / name).write_bytes(data)
    state = hub.load_state_dict_from_url(f"{server.url}/{name}", model_dir=tmp_path,
                                         check_hash=True, progress=False)
    assert state["a"].tolist() == [0, 1, 2, 3]


def test_check_hash_failure_removes_download(server, tmp_path):
    data = _torch_bytes({"a": torch.arange(4)})
    digest = hashlib.sha256(data).hexdigest()
    (server.root / "w-deadbeef.pt").write_bytes(data)
    url = f"{server.url}/w-deadbeef.pt"
    want = f'invalid hash value (expected "deadbeef", got "{digest}")'
    with pytest.raises(RuntimeError, match=re.escape(want)) as info:
        hub.load_state_dict_from_url(url, model_dir=tmp_path, check_hash=True, progress=False)
    assert url in str(info.value) and str(tmp_path / "w-deadbeef.pt") in str(info.value)
    assert os.listdir(tmp_path) == [], "the bad download was kept"
    # unchecked, the same file is accepted
    hub.load_state_dict_from_url(url, model_dir=tmp_path, progress=False)


def test_check_hash_uses_file_name(server, tmp_path):
    data = _torch_bytes({"a": torch.arange(2)})
    (server.root / "w.pt").write_bytes(data)
    with pytest.raises(RuntimeError, match="invalid hash value"):
        hub.load_state_dict_from_url(f"{server.url}/w.pt", model_dir=tmp_path,
                                     check_hash=True, file_name="w-0000.pt", progress=False)
    good = f"w-{hashlib.sha256(data).hexdigest()[:8]}.pt"
    hub.load_state_dict_from_url(f"{server.url}/w.pt", model_dir=tmp_path, check_hash=True,
                                 file_name=good, progress=False)
    assert os.listdir(tmp_path) == [good]


def test_hash_regex_is_torchs():
    assert hub.HASH_REGEX.pattern == torch.hub.HASH_REGEX.pattern
    assert hub.HASH_REGEX.search("resnet18-5c106cde.pth").group(1) == "5c106cde"


# ---------------------------------------------------------------- download_url_to_file
def test_download_url_to_file(server, tmp_path, capsys):
    data = os.urandom(300_000)  # a few read chunks
    (server.root / "blob.bin").write_bytes(data)
    dst = tmp_path / "blob.bin"
    hub.download_url_to_file(f"{server.url}/blob.bin", str(dst), progress=False)
    assert dst.read_bytes() == data
    assert capsys.readouterr().err == "", "progress=False drew a progress bar"
    hub.download_url_to_file(f"{server.url}/blob.bin", str(dst),
                             hash_prefix=hashlib.sha256(data).hexdigest()[:12], progress=True)
    assert dst.read_bytes() == data
    assert _leftovers(tmp_path) == []


def test_progress_bar_on_stderr(server, tmp_path, capsys):
    (server.root / "blob.bin").write_bytes(b"x" * 5000)
    hub.download_url_to_file(f"{server.url}/blob.bin", str(tmp_path / "blob.bin"))
    err = capsys.readouterr().err
    assert "100%" in err, f"no progress bar on stderr: {err!r}"


def test_failed_download_keeps_existing_file(server, tmp_path):
    dst = tmp_path / "w.pt"
    dst.write_bytes(b"working copy")
    (server.root / "w.pt").write_bytes(b"new bytes")
    with pytest.raises(RuntimeError, match="invalid hash value"):
        hub.download_url_to_file(f"{server.url}/w.pt", str(dst), hash_prefix="ffff",
                                 progress=False)
    assert dst.read_bytes() == b"working copy"
    assert _leftovers(tmp_path) == []


# ---------------------------------------------------------------- errors
def test_http_404(server, tmp_path):
    url = f"{server.url}/missing.pt"
    with pytest.raises(urllib.error.HTTPError) as info:
        hub.load_state_dict_from_url(url, model_dir=tmp_path, progress=False)
    assert info.value.code == 404
    assert url in str(info.value) and str(tmp_path / "missing.pt") in str(info.value)
    assert os.listdir(tmp_path) == []


def test_file_url_missing(tmp_path):
    url = (tmp_path / "nothing.pt").as_uri()
    with pytest.raises(urllib.error.URLError, match="nothing.pt"):
        hub.download_url_to_file(url, str(tmp_path / "out.pt"), progress=False)
    assert os.listdir(tmp_path) == []


def test_unwritable_directory(server, tmp_path):
    (server.root / "w.pt").write_bytes(b"data")
    blocker = tmp_path / "a_file"
    blocker.write_bytes(b"")
    url = f"{server.url}/w.pt"
    with pytest.raises(OSError, match="cache directory") as info:
        hub.load_state_dict_from_url(url, model_dir=str(blocker / "sub"), progress=False)
    assert url in str(info.value) and str(blocker / "sub") in str(info.value)
    dst = tmp_path / "no_such_dir" / "w.pt"
    with pytest.raises(OSError, match="cannot write") as info:
        hub.download_url_to_file(url, str(dst), progress=False)
    assert url in str(info.value) and str(dst) in str(info.value)
    assert server.requests == [], "downloaded although the file could not be written"


# ---------------------------------------------------------------- legacy zip files
def _zip_with(path, name: str, data: bytes) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(name, data)


def test_legacy_zip_is_extracted(server, tmp_path):
    reference = _torch_model()
    legacy = _torch_bytes(reference.state_dict(), _use_new_zipfile_serialization=False)
    _zip_with(server.root / "mlp.zip", "mlp.pth", legacy)
    assert torch.hub._is_legacy_zip_format(str(server.root / "mlp.zip"))
    with pytest.warns(FutureWarning, match="old format"):
        state = hub.load_state_dict_from_url(f"{server.url}/mlp.zip", model_dir=tmp_path,
                                             progress=False)
    _check_matches_torch(state, reference, "legacy zip")
    assert sorted(os.listdir(tmp_path)) == ["mlp.pth", "mlp.zip"]


def test_torch_zip_is_not_legacy(tmp_path):
    path = tmp_path / "w.pt"
    path.write_bytes(_torch_bytes({"a": torch.ones(1)}))
    assert not hub._is_legacy_zip_format(str(path))
    assert not torch.hub._is_legacy_zip_format(str(path))


def test_legacy_zip_entry_named_like_archive(server, tmp_path):
    legacy = _torch_bytes({"a": torch.arange(3)}, _use_new_zipfile_serialization=False)
    _zip_with(server.root / "w.pth", "w.pth", legacy)
    with pytest.warns(FutureWarning):
        state = hub.load_state_dict_from_url(f"{server.url}/w.pth", model_dir=tmp_path,
                                             progress=False)
    assert state["a"].tolist() == [0, 1, 2]


@pytest.mark.parametrize("entry", ["../evil.pth", "/tmp/evil.pth", "a/../../evil.pth",
                                   "C:/evil.pth"])
def test_legacy_zip_never_extracts_outside(server, tmp_path, entry):
    _zip_with(server.root / "evil.zip", entry, b"payload")
    model_dir = tmp_path / "models"
    with pytest.warns(FutureWarning), pytest.raises(ValueError, match="archive entry"):
        hub.load_state_dict_from_url(f"{server.url}/evil.zip", model_dir=model_dir,
                                     progress=False)
    assert sorted(os.listdir(tmp_path)) == ["models"]
    assert sorted(os.listdir(model_dir)) == ["evil.zip"]


def test_legacy_zip_never_extracts_through_symlink(server, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    model_dir = tmp_path / "models"
    model_dir.mkdir()
    (model_dir / "link").symlink_to(outside)
    _zip_with(server.root / "evil.zip", "link/evil.pth", b"payload")
    with pytest.warns(FutureWarning), pytest.raises(ValueError, match="escapes"):
        hub.load_state_dict_from_url(f"{server.url}/evil.zip", model_dir=model_dir,
                                     progress=False)
    assert os.listdir(outside) == []


# ---------------------------------------------------------------- hubconf.py is refused
@pytest.mark.parametrize("call", [
    lambda: hub.load("pytorch/vision", "resnet18", weights="DEFAULT"),
    lambda: hub.load("/some/dir", "model", source="local"),
    lambda: hub.list("pytorch/vision"),
    lambda: hub.help("pytorch/vision", "resnet18"),
])
def test_hubconf_entry_points_refused(server, call):
    with pytest.raises(RuntimeError, match="does not run hubconf.py") as info:
        call()
    assert "load_state_dict_from_url" in str(info.value)
    assert server.requests == []


def test_surface_matches_torch():
    assert sorted(hub.__all__) == sorted(torch.hub.__all__)
    assert ds.hub is hub
