"""Datasets shipped inside the package (no downloads)."""

from __future__ import annotations

import os

import numpy as np

from .tensor import Tensor

__all__ = ["load_digits"]

_DIR = os.path.join(os.path.dirname(__file__), "data")


def load_digits(train: bool = True, test_fraction: float = 0.2, seed: int = 0) -> tuple:
    """The 8x8 handwritten digits (1,797 images, 10 classes; UCI optdigits test set).

    Returns ``(images, labels)``: float32 images of shape ``(N, 1, 8, 8)`` scaled to ``[0, 1]``
    and int64 labels. The split is a fixed stratified-by-shuffle partition chosen by ``seed``.
    """
    with np.load(os.path.join(_DIR, "digits.npz")) as f:
        images, labels = f["images"], f["labels"]
    order = np.random.default_rng(seed).permutation(len(labels))
    n_test = int(round(len(labels) * test_fraction))
    idx = order[n_test:] if train else order[:n_test]
    x = (images[idx].astype(np.float32) / 16.0)[:, None]
    return Tensor._wrap(np.ascontiguousarray(x)), Tensor._wrap(labels[idx].astype(np.int64))
