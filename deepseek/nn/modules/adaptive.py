"""``AdaptiveLogSoftmaxWithLoss``: the adaptive softmax of Grave et al. (2016), a head over the
frequent classes plus one cluster token per tail, each tail a low-rank projection."""

from __future__ import annotations

from collections import namedtuple
from typing import Any, Sequence

import numpy as np

from ..._errors import op_error
from ...autograd.grad_mode import no_grad
from ...ops.movement import cat
from ...tensor import Tensor
from .. import functional as F
from .container import ModuleList, Sequential
from .linear import Linear
from .module import Module

__all__ = ["AdaptiveLogSoftmaxWithLoss"]

_ASMoutput = namedtuple("_ASMoutput", ["output", "loss"])


class AdaptiveLogSoftmaxWithLoss(Module):
    """An efficient softmax approximation for many classes sorted by decreasing frequency.

    Classes below ``cutoffs[0]`` (the shortlist) are scored by the head directly; those of
    each following interval ``[cutoffs[i], cutoffs[i + 1])`` by the head's cluster token
    ``i`` times a softmax over the cluster, computed by a projection to
    ``in_features // div_value ** (i + 1)`` features.

    Args:
        in_features: size of each input sample.
        n_classes: number of classes.
        cutoffs: increasing cluster boundaries, each in ``[1, n_classes - 1]``.
        div_value: the base of the tails' shrinking hidden sizes. Default: 4.0.
        head_bias: whether the head has a bias. Default: False.

    Shape:
        - input: ``(N, in_features)`` or ``(in_features,)``; target: ``(N,)`` or ``()``.
        - output (the target log-probabilities): ``(N,)`` or ``()``; loss: a scalar (their
          negated mean).

    Example::

        >>> asm = ds.nn.AdaptiveLogSoftmaxWithLoss(8, 20, cutoffs=[4, 10])
        >>> out, loss = asm(ds.randn(5, 8), ds.tensor([0, 3, 7, 12, 19]))
        >>> out.shape, asm.log_prob(ds.randn(5, 8)).shape, asm.predict(ds.randn(5, 8)).shape
        (deepseek.Size([5]), deepseek.Size([5, 20]), deepseek.Size([5]))
    """

    def __init__(self, in_features: int, n_classes: int, cutoffs: Sequence[int],
                 div_value: float = 4.0, head_bias: bool = False, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        cutoffs = list(cutoffs)
        if (len(cutoffs) == 0 or cutoffs != sorted(cutoffs) or min(cutoffs) <= 0
                or max(cutoffs) > n_classes - 1 or len(set(cutoffs)) != len(cutoffs)
                or any(int(c) != c for c in cutoffs)):
            raise op_error(ValueError, "AdaptiveLogSoftmaxWithLoss", "cutoffs should be a "
                           "sequence of unique, positive integers sorted in an increasing order, "
                           "where each value is between 1 and n_classes-1")
        kw = {"device": device, "dtype": dtype}
        self.in_features = in_features
        self.n_classes = n_classes
        self.cutoffs = [int(c) for c in cutoffs] + [n_classes]
        self.div_value = div_value
        self.head_bias = head_bias
        self.shortlist_size = self.cutoffs[0]
        self.n_clusters = len(self.cutoffs) - 1
        self.head_size = self.shortlist_size + self.n_clusters
        self.head = Linear(in_features, self.head_size, bias=head_bias, **kw)
        self.tail = ModuleList()
        for i in range(self.n_clusters):
            hidden = int(in_features // (div_value ** (i + 1)))
            size = self.cutoffs[i + 1] - self.cutoffs[i]
            self.tail.append(Sequential(Linear(in_features, hidden, bias=False, **kw),
                                        Linear(hidden, size, bias=False, **kw)))

    def reset_parameters(self) -> None:
        self.head.reset_parameters()
        for projection in self.tail:
            for linear in projection:
                linear.reset_parameters()

    def forward(self, input: Tensor, target: Tensor) -> _ASMoutput:
        name = type(self).__name__
        if target.dim() == 1:
            if input.dim() != 2:
                raise op_error(RuntimeError, name, "1D target tensor expects 2D input tensors, "
                               f"but found inputs with size {list(input.shape)}")
            if input.size(0) != target.size(0):
                raise op_error(RuntimeError, name, "Input and target should have the same size "
                               f"in the batch dimension (got {input.size(0)} and "
                               f"{target.size(0)}).")
        elif target.dim() == 0:
            if input.dim() != 1:
                raise op_error(RuntimeError, name, "0D target tensor expects 1D input tensors, "
                               f"but found inputs with size {list(input.shape)}")
        else:
            raise op_error(RuntimeError, name, "0D or 1D target tensor expected, multi-target "
                           "not supported")
        batched = target.dim() == 1
        x = input if batched else input.unsqueeze(0)
        labels = target.detach().numpy().reshape(-1).astype(np.int64)
        if labels.size and (labels.min() < 0 or labels.max() >= self.n_classes):
            raise op_error(RuntimeError, name, f"Target values should be in [0, "
                           f"{self.n_classes - 1}], but values in range [{labels.min()}, "
                           f"{labels.max()}] were found.")
        # each row's head entry: its class in the shortlist, else its cluster's token
        cluster = np.searchsorted(self.cutoffs, labels, side="right")  # 0: the shortlist
        head_index = np.where(cluster == 0, labels, self.shortlist_size + cluster - 1)
        head_logprob = F.log_softmax(self.head(x), dim=1)
        output = head_logprob.gather(1, self._index(head_index[:, None], x))[:, 0]
        for i in range(1, len(self.cutoffs)):
            rows = np.flatnonzero(cluster == i)
            if rows.size == 0:
                continue
            rows_t = self._index(rows, x)
            local = F.log_softmax(self.tail[i - 1](x.index_select(0, rows_t)), dim=1)
            relative = self._index((labels[rows] - self.cutoffs[i - 1])[:, None], x)
            output = output.index_add(0, rows_t, local.gather(1, relative)[:, 0])
        loss = (-output).mean()
        return _ASMoutput(output if batched else output.squeeze(0), loss)

    @staticmethod
    def _index(array: np.ndarray, like: Tensor) -> Tensor:
        return Tensor._wrap(np.ascontiguousarray(array, dtype=np.int64), like._device)

    def _full_log_prob(self, x: Tensor, head_output: Tensor) -> Tensor:
        head_logprob = F.log_softmax(head_output, dim=1)
        parts = [head_logprob[:, :self.shortlist_size]]
        for i, projection in enumerate(self.tail):
            cluster_logprob = F.log_softmax(projection(x), dim=1)
            parts.append(cluster_logprob + head_logprob[:, self.shortlist_size + i:
                                                        self.shortlist_size + i + 1])
        return cat(parts, 1)

    def _check_input(self, op: str, input: Tensor) -> None:
        if input.dim() not in (1, 2) or input.size(-1) != self.in_features:
            raise op_error(RuntimeError, f"{type(self).__name__}.{op}", "expected an input of "
                           f"shape (N, {self.in_features}) or ({self.in_features},), got "
                           f"{list(input.shape)}")

    def log_prob(self, input: Tensor) -> Tensor:
        """The log-probabilities of every class: ``(N, n_classes)`` (``(n_classes,)`` for an
        unbatched input)."""
        self._check_input("log_prob", input)
        x = input if input.dim() == 2 else input.unsqueeze(0)
        out = self._full_log_prob(x, self.head(x))
        return out if input.dim() == 2 else out.squeeze(0)

    def predict(self, input: Tensor) -> Tensor:
        """The most likely class of each sample, ``(N,)`` int64 (``()`` unbatched): the head's
        argmax, unless it is a cluster token, then the argmax of the full distribution."""
        self._check_input("predict", input)
        x = input if input.dim() == 2 else input.unsqueeze(0)
        with no_grad():
            head_output = self.head(x)
            best = head_output.argmax(1).numpy().copy()
            outside = np.flatnonzero(best >= self.shortlist_size)
            if outside.size:
                rows = self._index(outside, x)
                full = self._full_log_prob(x.index_select(0, rows),
                                           head_output.index_select(0, rows))
                best[outside] = full.argmax(1).numpy()
        out = Tensor._wrap(best.astype(np.int64), x._device)
        return out if input.dim() == 2 else out.reshape(())
