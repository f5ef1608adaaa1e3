"""``deepseek.backends``: torch.backends' switches, so scripts that set them run unchanged.
The CPU backend has no cuDNN, TF32 or MPS: the flags are kept and read back, and change no
result (NumPy's float32 GEMMs are always full precision)."""

from . import cpu, cuda, cudnn, mkldnn, mps, openmp  # noqa: F401

__all__ = ["cpu", "cuda", "cudnn", "mkldnn", "mps", "openmp"]
