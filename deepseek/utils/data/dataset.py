"""Datasets: the map-style base and TensorDataset."""

from __future__ import annotations

from typing import Any

from ...tensor import Tensor

__all__ = ["Dataset", "TensorDataset"]


class Dataset:
    """A map-style dataset: ``__getitem__`` and ``__len__``."""

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError

    def __add__(self, other: "Dataset") -> "Dataset":
        raise NotImplementedError


class TensorDataset(Dataset):
    """Samples are the ``index``-th rows of each tensor (all share their first dim)."""

    def __init__(self, *tensors: Tensor) -> None:
        if any(t.shape[0] != tensors[0].shape[0] for t in tensors):
            raise ValueError("Size mismatch between tensors")
        self.tensors = tensors

    def __getitem__(self, index: Any) -> tuple:
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]
