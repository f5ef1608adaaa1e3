"""``ds.hub``: torch.hub's API for pretrained weights: the cache directory, downloads (atomic,
hash-checked) and ``load_state_dict_from_url``. Loading is data-only (``ds.load``), and the
hubconf.py entry points (``load``, ``list``, ``help``) refuse to run fetched code."""

from __future__ import annotations

import hashlib
import os
import re
import sys
import uuid
import warnings
import zipfile
from pathlib import Path
from typing import Any

__all__ = [
    "download_url_to_file",
    "get_dir",
    "help",
    "list",
    "load",
    "load_state_dict_from_url",
    "set_dir",
]

# matches bfd8deac from resnet18-bfd8deac.pth (torch.hub's convention)
HASH_REGEX = re.compile(r"-([a-f0-9]*)\.")
_PATH_SEP_PATTERN = re.compile(r"[/\\]")

ENV_DEEPSEEK_HOME = "DEEPSEEK_HOME"
ENV_XDG_CACHE_HOME = "XDG_CACHE_HOME"
DEFAULT_CACHE_DIR = "~/.cache"
READ_DATA_CHUNK = 128 * 1024
_hub_dir: str | None = None

_NO_HUBCONF = (
    "[hub.{name}] deepseek does not run hubconf.py: torch.hub.{name} imports and executes code "
    "from a GitHub repository (or a local directory), and deepseek never runs code fetched from "
    "elsewhere. Build the model with deepseek and load its weights with "
    "deepseek.hub.load_state_dict_from_url(url), e.g. "
    "model.load_state_dict(ds.hub.load_state_dict_from_url(url)); torch-hosted .pth files load "
    "as data, without unpickling"
)


def _getenv(name: str) -> str | None:
    # an empty variable counts as unset (the XDG rule), not as the current directory
    return os.environ.get(name) or None


def _get_deepseek_home() -> str:
    home = _getenv(ENV_DEEPSEEK_HOME)
    if home is None:
        home = os.path.join(_getenv(ENV_XDG_CACHE_HOME) or DEFAULT_CACHE_DIR, "deepseek")
    return os.path.expanduser(home)


def get_dir() -> str:
    r"""Get the hub cache directory used for storing downloaded weights.

    If :func:`set_dir` was not called, this is ``$DEEPSEEK_HOME/hub``, where
    ``$DEEPSEEK_HOME`` defaults to ``$XDG_CACHE_HOME/deepseek`` and ``$XDG_CACHE_HOME`` to
    ``~/.cache``: torch.hub's rule with ``DEEPSEEK_HOME`` in place of ``TORCH_HOME`` and
    ``deepseek`` in place of ``torch``. An empty variable counts as unset. ``TORCH_HOME`` is not
    read, so deepseek never writes into torch's cache; to reuse weights torch already downloaded,
    call ``ds.hub.set_dir(torch.hub.get_dir())`` (``ds.load`` reads torch checkpoints).

    Example:
        >>> ds.hub.get_dir()  # doctest: +SKIP
        '/home/me/.cache/deepseek/hub'
    """
    if _hub_dir is not None:
        return _hub_dir
    return os.path.join(_get_deepseek_home(), "hub")


def set_dir(d: str | os.PathLike) -> None:
    r"""Set the hub cache directory used for storing downloaded weights (over the environment).

    Args:
        d (str): path to a local folder to save downloaded weights in.
    """
    global _hub_dir
    _hub_dir = os.path.expanduser(os.fspath(d))


def _open_partial(dst: str, what: str) -> tuple[Any, str]:
    """A new file beside ``dst`` to write ``what`` into before renaming it to ``dst``, opened
    exclusively (so never a file someone else is writing)."""
    for _ in range(100):
        tmp_dst = f"{dst}.{uuid.uuid4().hex}.partial"
        try:
            return open(tmp_dst, "xb"), tmp_dst  # noqa: SIM115  (closed by the caller)
        except FileExistsError:
            continue
        except OSError as e:
            raise OSError(e.errno, f"[hub] cannot write {what} to {dst!r}: {e.strerror} "
                                   f"(temporary file {tmp_dst!r})") from e
    raise FileExistsError(f"[hub] no usable temporary file name beside {dst!r} for {what}")


def download_url_to_file(url: str, dst: str, hash_prefix: str | None = None,
                         progress: bool = True) -> None:
    r"""Download the object at the given URL to a local path.

    The bytes go to a temporary file in ``dst``'s directory, which is renamed over ``dst`` only
    once the download is complete (and its hash checked), so an interrupted or corrupt download
    never replaces a working file. Any URL ``urllib`` opens works (``https://``, ``file://``).

    Args:
        url (str): URL of the object to download.
        dst (str): full path where the object will be saved, e.g. ``/tmp/temporary_file``.
        hash_prefix (str, optional): if not None, the SHA256 of the downloaded file must start
            with ``hash_prefix``, else a RuntimeError is raised and nothing is saved.
            Default: None
        progress (bool, optional): whether to display a progress bar (tqdm) on stderr.
            Default: True

    Example:
        >>> ds.hub.download_url_to_file(  # doctest: +SKIP
        ...     "https://download.pytorch.org/models/resnet18-f37072fd.pth", "/tmp/resnet18.pth")
    """
    from urllib.error import HTTPError, URLError
    from urllib.request import Request, urlopen

    from tqdm import tqdm

    dst = os.path.expanduser(os.fspath(dst))
    f, tmp_dst = _open_partial(dst, f"the download of {url!r}")
    where = f"downloading {url!r} to {dst!r}"
    try:
        try:
            u = urlopen(Request(url, headers={"User-Agent": "deepseek.hub"}))
        except HTTPError as e:
            e.close()
            raise HTTPError(url, e.code, f"{e.reason} ({where})", e.headers, None) from e
        except URLError as e:
            raise URLError(f"{e.reason} ({where})") from e
        with u:
            length = u.info().get_all("Content-Length")
            file_size = int(length[0]) if length else None
            sha256 = hashlib.sha256() if hash_prefix is not None else None
            received = 0
            with tqdm(total=file_size, disable=not progress, unit="B", unit_scale=True,
                      unit_divisor=1024) as pbar:
                while True:
                    buffer = u.read(READ_DATA_CHUNK)
                    if len(buffer) == 0:
                        break
                    f.write(buffer)
                    received += len(buffer)
                    if sha256 is not None:
                        sha256.update(buffer)
                    pbar.update(len(buffer))
        f.close()
        if file_size is not None and received != file_size:
            raise RuntimeError(f"[download_url_to_file] incomplete download: got {received} of "
                               f"{file_size} bytes ({where})")
        if sha256 is not None and hash_prefix is not None:
            digest = sha256.hexdigest()
            if digest[: len(hash_prefix)] != hash_prefix:
                raise RuntimeError(f'invalid hash value (expected "{hash_prefix}", got '
                                   f'"{digest}") ({where}; the download was removed)')
        os.replace(tmp_dst, dst)  # same directory, so atomic
    finally:
        f.close()
        if os.path.exists(tmp_dst):
            os.remove(tmp_dst)


# torch.hub's legacy zip format: one file (a torch.save() < 1.6 checkpoint) zipped by hand; a
# torch.save() zip archive holds several entries, so it is never taken for one.
def _is_legacy_zip_format(filename: str) -> bool:
    if zipfile.is_zipfile(filename):
        with zipfile.ZipFile(filename) as zf:
            infolist = zf.infolist()
        return len(infolist) == 1 and not infolist[0].is_dir()
    return False


def _safe_member_path(name: str, model_dir: str) -> str:
    """Where the archive entry ``name`` goes inside ``model_dir``; a ValueError for an entry
    that would land outside it (absolute, drive-lettered, ``..``, or through a symlink)."""
    filename = os.path.normpath(name)
    if filename.startswith(("/", "\\")) or (
            len(filename) >= 2 and filename[1] == ":" and filename[0].isalpha()):
        raise ValueError(f"[load_state_dict_from_url] archive entry has an absolute path: {name!r}")
    if ".." in _PATH_SEP_PATTERN.split(filename) or filename in ("", "."):
        raise ValueError(f"[load_state_dict_from_url] archive entry contains directory traversal: "
                         f"{name!r}")
    root = Path(model_dir).resolve()
    out = (root / filename).resolve()
    if not out.is_relative_to(root) or out == root:
        raise ValueError(f"[load_state_dict_from_url] archive entry escapes {model_dir!r}: "
                         f"{name!r}")
    return str(out)


def _legacy_zip_load(filename: str, model_dir: str, map_location: Any, weights_only: bool) -> Any:
    from .serialization import load

    warnings.warn("Falling back to the old format < 1.6. This support will be deprecated in "
                  "favor of default zipfile format introduced in 1.6. Please redo torch.save() "
                  "to save it in the new zipfile format.", FutureWarning, stacklevel=3)
    with zipfile.ZipFile(filename) as zf:
        members = zf.infolist()
        if len(members) != 1:
            raise RuntimeError("Only one file(not dir) is allowed in the zipfile")
        extracted_file = _safe_member_path(members[0].filename, model_dir)
        os.makedirs(os.path.dirname(extracted_file), exist_ok=True)
        # extracted as a regular file via a temporary one, so an entry named like the archive
        # never truncates the archive while it is being read
        what = f"the entry {members[0].filename!r} of {filename!r}"
        out, tmp = _open_partial(extracted_file, what)
        try:
            with out, zf.open(members[0]) as src:
                while chunk := src.read(READ_DATA_CHUNK):
                    out.write(chunk)
            os.replace(tmp, extracted_file)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
    return load(extracted_file, map_location=map_location, weights_only=weights_only)


def load_state_dict_from_url(url: str, model_dir: str | None = None, map_location: Any = None,
                             progress: bool = True, check_hash: bool = False,
                             file_name: str | None = None, weights_only: bool = False) -> Any:
    r"""Load the serialized object (a ``ds.save`` file or a ``torch.save`` checkpoint) at the
    given URL, downloading it into the cache first unless it is already there.

    Loading is :func:`deepseek.load`: data only, never unpickling, so weights hosted for torch
    (``.pth`` files) load as deepseek tensors and a file cannot run code. A zip file holding a
    single file (torch's legacy format for checkpoints zipped by hand) is extracted into
    ``model_dir`` first, as torch.hub does; an entry that would land outside ``model_dir`` is
    refused with a ValueError.

    The default ``model_dir`` is ``<hub_dir>/checkpoints``, where ``hub_dir`` is
    :func:`get_dir`.

    Args:
        url (str): URL of the object to download.
        model_dir (str, optional): directory in which to save the object.
        map_location (optional): a device (or its name) to put the tensors on (see
            :func:`deepseek.load`).
        progress (bool, optional): whether to display a progress bar on stderr. Default: True
        check_hash (bool, optional): if True, the file name (from the URL, or ``file_name``)
            should follow the convention ``filename-<sha256>.ext``, where ``<sha256>`` is the
            first eight or more hex digits of the SHA256 of the file's contents; the download is
            checked against it. A name without a hash is not checked. Default: False
        file_name (str, optional): name for the downloaded file; the URL's file name if not set.
        weights_only (bool, optional): accepted for PyTorch compatibility; loading is always
            data-only. Default: False

    Example:
        >>> model = ds.nn.Linear(4, 2)
        >>> model.load_state_dict(ds.hub.load_state_dict_from_url(  # doctest: +SKIP
        ...     "https://example.com/weights/linear-3d1f2a9c.pth", check_hash=True))
    """
    from urllib.parse import urlparse

    from .serialization import load

    if model_dir is None:
        model_dir = os.path.join(get_dir(), "checkpoints")
    model_dir = os.path.expanduser(os.fspath(model_dir))
    try:
        os.makedirs(model_dir, exist_ok=True)
    except OSError as e:
        raise OSError(e.errno, f"[load_state_dict_from_url] cannot create the cache directory "
                               f"{model_dir!r} for {url!r}: {e.strerror}") from e

    filename = os.path.basename(urlparse(url).path) if file_name is None else file_name
    if filename in ("", ".", ".."):
        raise ValueError(f"[load_state_dict_from_url] no file name in {url!r}: pass file_name=")
    cached_file = os.path.join(model_dir, filename)
    if not os.path.exists(cached_file):
        sys.stdout.write(f'Downloading: "{url}" to {cached_file}\n')
        hash_prefix = None
        if check_hash:
            r = HASH_REGEX.search(filename)
            hash_prefix = r.group(1) if r else None
        download_url_to_file(url, cached_file, hash_prefix, progress=progress)

    if _is_legacy_zip_format(cached_file):
        return _legacy_zip_load(cached_file, model_dir, map_location, weights_only)
    return load(cached_file, map_location=map_location, weights_only=weights_only)


def load(repo_or_dir: str, model: str, *args: Any, **kwargs: Any) -> Any:
    r"""Refused: torch.hub.load imports a repository's ``hubconf.py`` and calls an entry point
    in it, and deepseek deliberately never runs code fetched from elsewhere (a policy, not a
    missing feature). Always raises RuntimeError.

    Build the model with deepseek and load its weights, as data, with
    :func:`load_state_dict_from_url`.
    """
    raise RuntimeError(_NO_HUBCONF.format(name="load") + f" (asked for {model!r} from "
                       f"{repo_or_dir!r})")


def list(github: str, *args: Any, **kwargs: Any) -> Any:  # noqa: A001  (torch.hub.list)
    r"""Refused: torch.hub.list runs a repository's ``hubconf.py`` to find its entry points, and
    deepseek deliberately never runs code fetched from elsewhere. Always raises RuntimeError;
    see :func:`load_state_dict_from_url`."""
    raise RuntimeError(_NO_HUBCONF.format(name="list") + f" (asked about {github!r})")


def help(github: str, model: str, *args: Any, **kwargs: Any) -> Any:  # noqa: A001
    r"""Refused: torch.hub.help runs a repository's ``hubconf.py`` to read an entry point's
    docstring, and deepseek deliberately never runs code fetched from elsewhere. Always raises
    RuntimeError; see :func:`load_state_dict_from_url`."""
    raise RuntimeError(_NO_HUBCONF.format(name="help") + f" (asked about {model!r} in "
                       f"{github!r})")
