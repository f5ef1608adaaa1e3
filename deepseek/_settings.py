"""Process-wide switches torch exposes at the top level: float32 matmul precision, deterministic
algorithms, the default device. The CPU backend is deterministic and computes float32 GEMMs
in full precision, so the first two are recorded and read back, and change no result."""

from __future__ import annotations

from typing import Any

from .backend import device

_PRECISIONS = ("highest", "high", "medium")
_STATE: dict = {"precision": "highest", "deterministic": False, "warn_only": False,
                "device": device("cpu")}


def set_float32_matmul_precision(precision: str) -> None:
    """``'highest'``, ``'high'`` or ``'medium'``: how far float32 GEMMs may trade precision for
    speed (TF32 or bfloat16 passes on GPUs; always full float32 here)."""
    if precision not in _PRECISIONS:
        raise RuntimeError(f"[set_float32_matmul_precision] expected one of {_PRECISIONS}, got "
                           f"{precision!r}")
    _STATE["precision"] = precision


def get_float32_matmul_precision() -> str:
    return _STATE["precision"]


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """Ask for deterministic algorithms only (every CPU op here already is)."""
    _STATE["deterministic"], _STATE["warn_only"] = bool(mode), bool(warn_only)


def are_deterministic_algorithms_enabled() -> bool:
    return _STATE["deterministic"]


def is_deterministic_algorithms_warn_only_enabled() -> bool:
    return _STATE["warn_only"]


_DEBUG_MODES = {"default": 0, "warn": 1, "error": 2}


def set_deterministic_debug_mode(debug_mode: Any) -> None:
    """Set the deterministic-algorithms switch by level: ``'default'``/0 (off), ``'warn'``/1
    (on, warn only), ``'error'``/2 (on)."""
    if isinstance(debug_mode, str):
        if debug_mode not in _DEBUG_MODES:
            raise RuntimeError(f"[set_deterministic_debug_mode] invalid value of debug_mode, "
                               f"expected one of `default`, `warn`, `error`, but got "
                               f"{debug_mode}")
        debug_mode = _DEBUG_MODES[debug_mode]
    elif isinstance(debug_mode, bool) or not isinstance(debug_mode, int):
        raise TypeError(f"[set_deterministic_debug_mode] debug_mode must be str or int, but got "
                        f"{type(debug_mode)}")
    elif debug_mode not in (0, 1, 2):
        raise RuntimeError(f"[set_deterministic_debug_mode] invalid value of debug_mode, "
                           f"expected 0, 1, or 2, but got {debug_mode}")
    use_deterministic_algorithms(debug_mode > 0, warn_only=debug_mode == 1)


def get_deterministic_debug_mode() -> int:
    """0, 1 or 2 as :func:`set_deterministic_debug_mode` takes them."""
    if not _STATE["deterministic"]:
        return 0
    return 1 if _STATE["warn_only"] else 2


def get_default_device() -> device:
    """The device factory functions use when none is given (always the CPU here)."""
    return _STATE["device"]


def set_default_device(dev: Any) -> None:
    """Only the CPU can hold tensors in this build: other devices are refused here rather than
    at the next ``deepseek.zeros``."""
    dev = device("cpu" if dev is None else dev)
    if dev.type != "cpu":
        raise RuntimeError(f"[set_default_device] tensors can only live on the CPU in this "
                           f"build (no {dev.type} backend); got {dev}")
    _STATE["device"] = dev
