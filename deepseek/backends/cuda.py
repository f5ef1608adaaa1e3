"""``deepseek.backends.cuda``: CUDA matmul and attention switches (no CUDA backend in this build:
they are kept and change nothing)."""

from __future__ import annotations


class _MatmulFlags:
    """``backends.cuda.matmul``: whether float32 GEMMs may use TF32 or reduced-precision sums."""

    def __init__(self) -> None:
        self.allow_tf32 = False
        self.allow_fp16_reduced_precision_reduction = True
        self.allow_bf16_reduced_precision_reduction = True


matmul = _MatmulFlags()
_SDP = {"flash": True, "mem_efficient": True, "math": True, "cudnn": True}


def is_built() -> bool:
    return False


def enable_flash_sdp(enabled: bool) -> None:
    _SDP["flash"] = bool(enabled)


def flash_sdp_enabled() -> bool:
    return _SDP["flash"]


def enable_mem_efficient_sdp(enabled: bool) -> None:
    _SDP["mem_efficient"] = bool(enabled)


def mem_efficient_sdp_enabled() -> bool:
    return _SDP["mem_efficient"]


def enable_math_sdp(enabled: bool) -> None:
    _SDP["math"] = bool(enabled)


def math_sdp_enabled() -> bool:
    return _SDP["math"]


def enable_cudnn_sdp(enabled: bool) -> None:
    _SDP["cudnn"] = bool(enabled)


def cudnn_sdp_enabled() -> bool:
    return _SDP["cudnn"]
