"""The sparse COO tensor: ``SparseTensor`` (a Tensor subclass) and ``COOData``, the record it
holds in place of a dense array.

Why a subclass whose ``_data`` is not an array: the dense hot path (``apply``,
``Tensor._wrap``) must not pay for sparse support, so it contains no layout test at all.
Instead a sparse tensor refuses dense work by itself, at two levels:

- every Tensor method and property it does not implement (``exp``, ``__getitem__``,
  ``view`` …) is replaced on ``SparseTensor`` by one that raises
  ``[op] sparse COO tensors are not supported …; call .to_dense() first``;
- when a sparse tensor still reaches a primitive as an operand (``ds.exp(s)``, ``dense + s``),
  ``apply`` reads its ``COOData``: the shape and dtype rules see a true shape and dtype, and the
  forward's first touch of the data (``__array__``, any array method, arithmetic) raises a
  TypeError that ``apply``'s existing error path re-raises as ``[op] failed: sparse COO …``.

So nothing is ever computed on garbage, and the supported ops (``deepseek.sparse``, ``+``,
``*`` by a scalar, ``@``, ``to_dense`` …) are written here as ``autograd.Function``s.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from .. import dtypes as _dt
from .._format import _values, _with_suffixes
from .._memory_format import sparse_coo
from ..tensor import Tensor

__all__ = ["COOData", "SparseTensor"]

_REFUSED = ("sparse COO tensors are not supported by this operation; call .to_dense() first "
            "(or use a deepseek.sparse function)")


class COOData:
    """A sparse tensor's storage: ``indices`` (int64, ``(sparse_dim, nnz)``), ``values``
    (``(nnz, *dense_shape)``), the full ``shape``, and whether the indices are coalesced
    (sorted and unique).

    It answers ``shape``/``dtype``/``ndim``/``size`` (what shape rules and error messages read)
    and refuses everything an array would be used for.
    """

    __slots__ = ("indices", "values", "shape", "coalesced", "_coalesce_cache")
    base = None  # never a view (the autograd engine asks)

    def __init__(self, indices: np.ndarray, values: np.ndarray, shape: tuple,
                 coalesced: bool) -> None:
        self.indices = indices
        self.values = values
        self.shape = shape
        self.coalesced = coalesced
        self._coalesce_cache: Optional[tuple] = None

    @property
    def dtype(self) -> np.dtype:
        return self.values.dtype

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def nnz(self) -> int:
        return self.indices.shape[1]

    def __getattr__(self, name: str) -> Any:
        raise TypeError(_REFUSED)

    def __array__(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(_REFUSED)

    def _refuse(self, *args: Any) -> Any:
        raise TypeError(_REFUSED)

    __getitem__ = __setitem__ = __len__ = __iter__ = __bool__ = __float__ = __int__ = _refuse
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = _refuse
    __rtruediv__ = __matmul__ = __rmatmul__ = __pow__ = __rpow__ = __neg__ = __abs__ = _refuse
    __lt__ = __le__ = __gt__ = __ge__ = _refuse

    def __iadd__(self, other: Any) -> "COOData":
        """Accumulate another sparse gradient (the engine's ``grad._data += g._data``)."""
        if not isinstance(other, COOData) or other.shape != self.shape:
            raise RuntimeError("[backward] cannot accumulate a dense gradient into a sparse one "
                               "(a sparse tensor used by both deepseek.sparse.mm and a dense op); "
                               "call .to_dense() on one of them")
        return COOData(np.concatenate([self.indices, other.indices], 1),
                       np.concatenate([self.values, other.values.astype(self.dtype)]),
                       self.shape, False)

    def coalesced_parts(self) -> tuple:
        """``(indices, values, inverse)`` of the coalesced tensor; ``inverse`` maps each stored
        entry to its coalesced position. Cached: indices never change in place."""
        if self._coalesce_cache is None:
            self._coalesce_cache = _coalesce(self.indices, self.values, self.shape, self.coalesced)
        return self._coalesce_cache


def linear_keys(indices: np.ndarray, sparse_shape: tuple) -> np.ndarray:
    """One int64 key per column of ``indices`` (row-major position in ``sparse_shape``)."""
    if indices.shape[0] == 0:
        return np.zeros(indices.shape[1], np.int64)
    return np.ravel_multi_index(tuple(indices), sparse_shape)


def _coalesce(indices: np.ndarray, values: np.ndarray, shape: tuple, coalesced: bool) -> tuple:
    nnz = indices.shape[1]
    if coalesced or nnz == 0:
        return indices, values, np.arange(nnz)
    keys = linear_keys(indices, shape[:indices.shape[0]])
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    starts = np.flatnonzero(np.concatenate([[True], sorted_keys[1:] != sorted_keys[:-1]]))
    summed = np.add.reduceat(values[order], starts, axis=0).astype(values.dtype, copy=False)
    inverse = np.empty(nnz, np.int64)
    inverse[order] = np.cumsum(np.concatenate([[False], sorted_keys[1:] != sorted_keys[:-1]]))
    return indices[:, order[starts]], summed, inverse


def _refusing(name: str) -> Any:
    def refuse(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"[{name}] sparse COO tensors are not supported here; call "
                           ".to_dense() first (or use a deepseek.sparse function)")

    refuse.__name__ = name
    return refuse


class SparseTensor(Tensor):
    """A sparse tensor in COO layout (``torch.sparse_coo``): ``values`` at ``indices``, zero
    elsewhere. Made by :func:`deepseek.sparse_coo_tensor` or ``Tensor.to_sparse()``.

    Gradients flow to the values: a sparse leaf's ``.grad`` is sparse with its sparsity
    (from ``deepseek.sparse.mm``, ``to_dense`` …) or dense (from ``mm``/``@``), as PyTorch's.
    Backward through sparse ops is first order only.
    """

    is_sparse = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("make sparse tensors with deepseek.sparse_coo_tensor(indices, values, "
                        "size) or Tensor.to_sparse()")

    @classmethod
    def _make(cls, data: COOData) -> "SparseTensor":
        return cls._wrap(data)

    # ---- layout ----
    @property
    def layout(self) -> Any:
        return sparse_coo

    def sparse_dim(self) -> int:
        return self._data.indices.shape[0]

    def dense_dim(self) -> int:
        return self._data.values.ndim - 1

    def _nnz(self) -> int:
        return self._data.nnz

    def is_coalesced(self) -> bool:
        return self._data.coalesced

    def _indices(self) -> Tensor:
        """The stored indices (duplicates and order as given), outside autograd."""
        return Tensor._wrap(self._data.indices)

    def _values(self) -> Tensor:
        """The stored values, outside autograd."""
        return Tensor._wrap(self._data.values)

    def indices(self) -> Tensor:
        """The indices of a coalesced tensor (``(sparse_dim, nnz)`` int64)."""
        self._require_coalesced("indices")
        return Tensor._wrap(self._data.indices)

    def values(self) -> Tensor:
        """The values of a coalesced tensor (``(nnz, *dense_shape)``), differentiable."""
        self._require_coalesced("values")
        from ._functions import Values

        return Values.apply(self)

    def _require_coalesced(self, name: str) -> None:
        if not self._data.coalesced:
            raise RuntimeError(f"[{name}] Cannot get {name} on an uncoalesced tensor, please call "
                               ".coalesce() first")

    def coalesce(self) -> "SparseTensor":
        """This tensor with sorted, unique indices (duplicates summed); itself if already so."""
        if self._data.coalesced:
            return self
        from ._functions import Coalesce

        return Coalesce.apply(self)

    def to_dense(self, dtype: Any = None, *, masked_grad: Optional[bool] = None) -> Tensor:
        """The dense (strided) tensor this one stands for."""
        from ._functions import ToDense

        out = ToDense.apply(self)
        return out if dtype is None else out.to(dtype)

    def to_sparse(self, sparse_dim: Optional[int] = None) -> "SparseTensor":
        if sparse_dim is not None and sparse_dim != self.sparse_dim():
            raise RuntimeError(f"[to_sparse] conversion from sparse with sparse_dim "
                               f"{self.sparse_dim()} to sparse_dim {sparse_dim} is not supported")
        return self

    # ---- autograd plumbing the engine uses ----
    def detach(self) -> "SparseTensor":
        t = SparseTensor._make(self._data)
        t._version_box = self._version_box
        return t

    def clone(self, *, memory_format: Any = None) -> "SparseTensor":
        from ._functions import Clone

        return Clone.apply(self)

    @property
    def data(self) -> "SparseTensor":
        return self.detach()

    def numpy(self, *, force: bool = False) -> Any:
        raise TypeError("[numpy] can't convert Sparse layout tensor to numpy. Use "
                        "Tensor.to_dense() first.")

    # ---- arithmetic ----
    def __add__(self, other: Any) -> "SparseTensor":
        return self.add(other)

    def __radd__(self, other: Any) -> Tensor:
        if isinstance(other, Tensor) and not other.is_sparse:
            return other + self.to_dense()  # dense + sparse is dense, as in PyTorch
        return self.add(other)

    def add(self, other: Any, *, alpha: Any = 1) -> "SparseTensor":
        """``self + alpha * other`` for a sparse ``other`` of the same shape."""
        from ._functions import add

        return add(self, other, alpha)

    def __sub__(self, other: Any) -> "SparseTensor":
        return self.add(other, alpha=-1)

    def sub(self, other: Any, *, alpha: Any = 1) -> "SparseTensor":
        return self.add(other, alpha=-alpha)

    def __mul__(self, other: Any) -> "SparseTensor":
        from ._functions import scale

        return scale(self, other, "mul")

    __rmul__ = mul = __mul__

    def __truediv__(self, other: Any) -> "SparseTensor":
        from ._functions import scale

        if not isinstance(other, (int, float, bool)):
            return scale(self, other, "div")  # raises the scalar-only error
        return scale(self, 1.0 / other, "div")

    div = __truediv__

    def __neg__(self) -> "SparseTensor":
        from ._functions import scale

        return scale(self, -1, "neg")

    neg = __neg__

    def t(self) -> "SparseTensor":
        """The transpose of a 2-d sparse tensor (uncoalesced, as PyTorch's)."""
        from ._functions import Transpose

        if self.sparse_dim() != 2 or self.dense_dim() != 0:
            raise RuntimeError(f"[t] expects a 2-D sparse tensor with no dense dims, got "
                               f"sparse_dim {self.sparse_dim()}, dense_dim {self.dense_dim()}")
        return Transpose.apply(self)

    # ---- products and reductions ----
    def mm(self, mat2: Tensor) -> Tensor:
        """``self @ mat2`` for a dense matrix ``mat2``; ``self``'s gradient comes out dense,
        as from ``torch.mm`` (``deepseek.sparse.mm`` gives a sparse one)."""
        from ._functions import spmm

        return spmm("mm", self, mat2, sparse_grad=False)

    def matmul(self, other: Tensor) -> Tensor:
        from ._functions import spmm

        if isinstance(other, Tensor) and not other.is_sparse and other.ndim == 1:
            return spmm("matmul", self, other.unsqueeze(1), sparse_grad=False).squeeze(1)
        return spmm("matmul", self, other, sparse_grad=False)

    __matmul__ = matmul

    def sum(self, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
        """Sum of all elements (a dense scalar), or over ``dim`` as ``deepseek.sparse.sum``."""
        from ._functions import sparse_sum

        if keepdim:
            raise RuntimeError("[sum] keepdim is not supported for sparse COO tensors")
        return sparse_sum(self, dim, dtype)

    # ---- printing ----
    def __repr__(self) -> str:
        return _format_sparse(self)

    __str__ = __repr__


def _inner(a: np.ndarray, indent: int) -> str:
    """A component tensor as it prints inside a sparse tensor's repr (no dtype suffix)."""
    if a.size == 0:
        return f"tensor([], size={tuple(a.shape)})"
    return "tensor(" + _values(a, indent + len("tensor(")) + ")"


def _format_sparse(t: SparseTensor) -> str:
    indent = len("tensor(")
    data = t._data
    indices = _inner(data.indices, indent + len("indices="))
    values = _inner(data.values, indent + len("values="))
    suffixes = [f"size={tuple(data.shape)}", f"nnz={data.nnz}"]
    dtype = t.dtype
    if dtype not in (_dt.get_default_dtype(), _dt.int64, _dt.bool_):
        suffixes.append(f"dtype={dtype!r}")
    suffixes.append(f"layout={sparse_coo!r}")
    if t.grad_fn is not None:
        suffixes.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t._requires_grad:
        suffixes.append("requires_grad=True")
    # PyTorch starts a sparse tensor's suffixes on a new line, then wraps at the line width
    text = "tensor(indices=" + indices + ",\n" + " " * indent + "values=" + values
    return _with_suffixes(text + ",\n" + " " * indent + suffixes[0], suffixes[1:])


# Tensor members that stay valid on a sparse tensor (they read only shape, dtype, device or
# autograd state); every other method or property of Tensor is refused by name.
_KEPT = frozenset((
    "_wrap", "_wrap_dim", "shape", "size", "dtype", "device", "is_cuda", "is_cpu", "is_meta",
    "ndim", "dim", "ndimension", "numel", "nelement", "is_floating_point", "is_complex",
    "is_signed", "is_same_size", "get_device", "requires_grad", "requires_grad_", "is_leaf",
    "_version", "detach_", "retain_grad", "retains_grad", "register_hook",
    "register_post_accumulate_grad_hook", "backward", "__len__", "__hash__", "__format__",
    "__reduce_ex__", "__array_ufunc__", "__init_subclass__", "__subclasshook__", "__getattr__",
    "__new__", "__init__", "__repr__", "__str__", "__eq__", "__ne__",
))


def _refuse_dense_members() -> None:
    for name, member in list(vars(Tensor).items()):
        if name in _KEPT or name in vars(SparseTensor):
            continue
        if name.startswith("__") and name.endswith("__") and not callable(member):
            continue  # __slots__, __dict__, __doc__ …
        # a reflected operator (dense @ sparse reaches __rmatmul__ first) names the operator
        shown = name[3:-2] if name.startswith("__r") and f"__{name[3:]}" in vars(Tensor) else name
        if isinstance(member, property):
            setattr(SparseTensor, name, property(_refusing(shown)))
        elif callable(member):
            setattr(SparseTensor, name, _refusing(shown))


_refuse_dense_members()
