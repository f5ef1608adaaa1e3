"""The sparse COO operations, each an ``autograd.Function`` on NumPy arrays: construction,
conversion, coalescing, sparse-dense products, sums, sums of sparse tensors and scaling.

A sparse tensor's gradient is either dense or sparse (PyTorch gives both, depending on the
op); a sparse one stands for the dense gradient, so it is coalesced when an op makes it
(sums of gradients may hold duplicates, which add up). :func:`_values_grad` reads either kind
at a sparse tensor's stored indices.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from .. import dtypes as _dt
from .._errors import op_error
from ..autograd.function import Function
from ..tensor import Tensor
from ._coo import COOData, SparseTensor, linear_keys

_INDEX_KINDS = "iu"


# ---------------------------------------------------------------- construction
def _as_array(x: Any, name: str) -> np.ndarray:
    if isinstance(x, SparseTensor):
        raise op_error(TypeError, "sparse_coo_tensor", f"{name} must be a dense tensor")
    if isinstance(x, Tensor):
        return x._to_host()
    if isinstance(x, np.ndarray):
        return x
    from .._creation import tensor

    return tensor(x)._to_host()  # Python data: PyTorch's inferred dtype (floats: the default)


def check_indices(indices: np.ndarray, values: np.ndarray, size: Optional[Sequence]) -> tuple:
    """PyTorch's checks (with ``check_invariants=True``) of COO parts; the full shape."""
    name = "sparse_coo_tensor"
    if indices.dtype.kind not in _INDEX_KINDS:
        raise op_error(RuntimeError, name, f"indices must be an integer tensor (int64), got "
                       f"{indices.dtype}")
    if indices.ndim != 2:
        raise op_error(RuntimeError, name, "indices must be sparse_dim x nnz, but got: "
                       f"{list(indices.shape)}")
    if values.ndim == 0:
        raise op_error(RuntimeError, name, "values must have at least one dim (nnz), got a "
                       "0-d tensor")
    sparse_dim, nnz = indices.shape
    if values.shape[0] != nnz:
        raise op_error(RuntimeError, name, "indices and values must have same nnz, but got nnz "
                       f"from indices: {nnz}, nnz from values: {values.shape[0]}")
    if nnz and indices.min() < 0:
        low = indices.min(axis=1)
        d = int(np.flatnonzero(low < 0)[0])
        raise op_error(RuntimeError, name, f"found negative index {int(low[d])} for dim {d}")
    if size is None:
        high = indices.max(axis=1) + 1 if nnz else np.zeros(sparse_dim, np.int64)
        return tuple(int(h) for h in high) + tuple(values.shape[1:])
    shape = tuple(int(s) for s in size)
    dense_dim = values.ndim - 1
    if len(shape) != sparse_dim + dense_dim:
        raise op_error(RuntimeError, name, f"'len(size) == sparse_dim + dense_dim' is not "
                       f"satisfied: len(size) = {len(shape)}, sparse_dim = {sparse_dim}, "
                       f"dense_dim = {dense_dim}")
    if shape[sparse_dim:] != tuple(values.shape[1:]):
        raise op_error(RuntimeError, name, f"values has incorrect size, expected "
                       f"{[nnz, *shape[sparse_dim:]]}, got {list(values.shape)}")
    if nnz:
        high = indices.max(axis=1)
        for d in range(sparse_dim):
            if high[d] >= shape[d]:
                raise op_error(RuntimeError, name, f"size is inconsistent with indices: for dim "
                               f"{d}, size is {shape[d]} but found index {int(high[d])}")
    return shape


def sparse_coo_tensor(indices: Any, values: Any, size: Optional[Sequence] = None, *,
                      dtype: Any = None, device: Any = None, requires_grad: bool = False,
                      check_invariants: Optional[bool] = None,
                      is_coalesced: Optional[bool] = None) -> SparseTensor:
    """A sparse COO tensor with ``values`` at ``indices`` (``torch.sparse_coo_tensor``).

    Args:
        indices: integer tensor of shape ``(sparse_dim, nnz)``; duplicates are allowed (they
            are summed by :meth:`~SparseTensor.coalesce` and by every op).
        values: tensor of shape ``(nnz, *dense_shape)``; gradients flow back to it.
        size: the full shape; inferred from the largest indices when omitted.
        dtype: the values' dtype (default: that of ``values``).
        requires_grad: make the result a leaf that requires grad.
        is_coalesced: promise the indices are sorted and unique.

    Example:
        >>> s = deepseek.sparse_coo_tensor([[0, 1], [2, 0]], [3.0, 4.0], (2, 3))
        >>> s.to_dense()
        tensor([[0., 0., 3.],
                [4., 0., 0.]])
    """
    index_array = _as_array(indices, "indices")
    if index_array.size == 0 and index_array.dtype.kind == "f":
        index_array = index_array.astype(np.int64)  # [] or an empty float tensor
    values_tensor = values if isinstance(values, Tensor) else None
    value_array = _as_array(values, "values")
    if dtype is not None:
        value_array = value_array.astype(_dt.to_dtype(dtype).np, copy=False)
    shape = check_indices(index_array, value_array, size)
    index_array = index_array.astype(np.int64, copy=False)
    coalesced = bool(is_coalesced) if is_coalesced is not None else index_array.shape[1] <= 1
    if values_tensor is not None and values_tensor._requires_grad and not requires_grad:
        return Build.apply(values_tensor, index_array, value_array, shape, coalesced)
    out = SparseTensor._make(COOData(index_array, value_array, shape, coalesced))
    if requires_grad:
        out.requires_grad_()
    return out


def _make(indices: np.ndarray, values: np.ndarray, shape: tuple, coalesced: bool) -> SparseTensor:
    return SparseTensor._make(COOData(indices, values, shape, coalesced))


def _values_grad(g: Tensor, data: COOData) -> np.ndarray:
    """The gradient of ``data``'s stored values (one row per stored entry) given the gradient
    ``g`` of the whole tensor, dense or sparse."""
    if not g.is_sparse:
        return g._to_host()[tuple(data.indices)]
    gd = g._data
    sparse_shape = data.shape[:data.indices.shape[0]]
    g_indices, g_values, _ = gd.coalesced_parts()
    g_keys = linear_keys(g_indices, sparse_shape)
    keys = linear_keys(data.indices, sparse_shape)
    pos = np.searchsorted(g_keys, keys)
    found = pos < len(g_keys)
    found[found] = g_keys[pos[found]] == keys[found]
    out = np.zeros(data.values.shape, g_values.dtype)
    out[found] = g_values[pos[found]]
    return out


def _coalesced(data: COOData) -> COOData:
    if data.coalesced:
        return data
    indices, values, _ = data.coalesced_parts()
    return COOData(indices, values, data.shape, True)


def _sparse_grad(data: COOData, values: np.ndarray) -> SparseTensor:
    """A gradient with ``data``'s sparsity, which must be coalesced: a sparse gradient stands
    for the dense one, so it holds no duplicates."""
    return _make(data.indices, values.astype(data.dtype, copy=False), data.shape, True)


class Build(Function):
    """``sparse_coo_tensor`` from values that require grad: the gradient reaches the values."""

    @staticmethod
    def forward(ctx: Any, values: Tensor, indices: np.ndarray, value_array: np.ndarray,
                shape: tuple, coalesced: bool) -> SparseTensor:
        out = _make(indices, value_array, shape, coalesced)
        ctx.data = out._data
        ctx.dtype = values._data.dtype
        return out

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple:
        grad = _values_grad(g, ctx.data).astype(ctx.dtype, copy=False)
        return Tensor._wrap(grad), None, None, None, None


class Values(Function):
    @staticmethod
    def forward(ctx: Any, s: SparseTensor) -> Tensor:
        ctx.data = s._data
        return Tensor._wrap(s._data.values)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> SparseTensor:
        return _sparse_grad(ctx.data, g._to_host())  # values() needs a coalesced tensor


class Clone(Function):
    @staticmethod
    def forward(ctx: Any, s: SparseTensor) -> SparseTensor:
        d = s._data
        return _make(d.indices.copy(), d.values.copy(), d.shape, d.coalesced)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Tensor:
        return g


# ---------------------------------------------------------------- conversion
def _scatter_dense(data: COOData) -> np.ndarray:
    out = np.zeros(data.shape, data.dtype)
    if data.coalesced:
        out[tuple(data.indices)] = data.values
    else:
        np.add.at(out, tuple(data.indices), data.values)
    return out


class ToDense(Function):
    """``to_dense``: the gradient is sparse, on the coalesced sparsity (as PyTorch's)."""

    @staticmethod
    def forward(ctx: Any, s: SparseTensor) -> Tensor:
        ctx.data = s._data
        return Tensor._wrap(_scatter_dense(s._data))

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> SparseTensor:
        indices, _, _ = ctx.data.coalesced_parts()
        grad = g._to_host()[tuple(indices)].astype(ctx.data.dtype, copy=False)
        return _make(indices, grad, ctx.data.shape, True)


class ToSparse(Function):
    @staticmethod
    def forward(ctx: Any, x: Tensor, sparse_dim: int) -> SparseTensor:
        a = x._to_host()
        lead = a.reshape(a.shape[:sparse_dim] + (-1,)) if sparse_dim < a.ndim else a[..., None]
        mask = np.any(lead != 0, axis=-1)
        indices = np.stack(np.nonzero(mask)).astype(np.int64).reshape(sparse_dim, -1)
        return _make(indices, a[tuple(indices)], a.shape, True)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple:
        return (g.to_dense() if g.is_sparse else g), None


def to_sparse(input: Tensor, sparse_dim: Optional[int] = None) -> SparseTensor:
    """``Tensor.to_sparse``: a dense tensor as sparse COO (its nonzeros, coalesced)."""
    n = input.ndim if sparse_dim is None else int(sparse_dim)
    if not 0 < n <= input.ndim if input.ndim else n != 0:
        raise op_error(RuntimeError, "to_sparse", f"sparse_dim must be in [1, {input.ndim}] for "
                       f"a {input.ndim}-d tensor, got {n}")
    return ToSparse.apply(input, n)


class Coalesce(Function):
    @staticmethod
    def forward(ctx: Any, s: SparseTensor) -> SparseTensor:
        ctx.data = s._data
        indices, values, _ = s._data.coalesced_parts()
        return _make(indices, values, s._data.shape, True)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Tensor:
        return g  # the same tensor, so the same gradient (PyTorch passes it through)


class Transpose(Function):
    @staticmethod
    def forward(ctx: Any, s: SparseTensor) -> SparseTensor:
        d = s._data
        return _make(d.indices[::-1].copy(), d.values, d.shape[::-1], d.nnz <= 1)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Tensor:
        return g.t()


# ---------------------------------------------------------------- sparse @ dense
def _spmm_arrays(rows: np.ndarray, cols: np.ndarray, values: np.ndarray, dense: np.ndarray,
                 n_rows: int) -> np.ndarray:
    """``out[r] += v * dense[c]`` over the entries ``(r, c, v)``: rows sorted, then one
    segmented sum (no dense copy of the sparse operand)."""
    out = np.zeros((n_rows,) + dense.shape[1:], np.result_type(values, dense))
    if len(rows) == 0:
        return out
    order = np.argsort(rows, kind="stable")
    rows = rows[order]
    contrib = values[order].reshape((-1,) + (1,) * (dense.ndim - 1)) * dense[cols[order]]
    starts = np.flatnonzero(np.concatenate([[True], rows[1:] != rows[:-1]]))
    out[rows[starts]] = np.add.reduceat(contrib, starts, axis=0)
    return out


class SpMM(Function):
    """``sparse @ dense``; ``sparse_grad`` picks the sparse operand's gradient: sparse on its
    coalesced sparsity (``deepseek.sparse.mm``) or dense (``mm``, ``@``), as PyTorch."""

    @staticmethod
    def forward(ctx: Any, s: SparseTensor, d: Tensor, sparse_grad: bool) -> Tensor:
        data = s._data
        ctx.data, ctx.sparse_grad = data, sparse_grad
        dense = d._to_host()
        ctx.dense = dense
        rows, cols = data.indices
        return Tensor._wrap(_spmm_arrays(rows, cols, data.values, dense, data.shape[0]))

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple:
        data, dense = ctx.data, ctx.dense
        grad = g._to_host()
        grad_s = grad_d = None
        if ctx.needs_input_grad[0]:
            if ctx.sparse_grad:
                indices, _, _ = data.coalesced_parts()
                rows, cols = indices
                values = np.einsum("kp,kp->k", grad[rows], dense[cols]).astype(data.dtype)
                grad_s = _make(indices, values, data.shape, True)
            else:
                grad_s = Tensor._wrap(grad @ dense.T)
        if ctx.needs_input_grad[1]:
            rows, cols = data.indices
            grad_d = Tensor._wrap(_spmm_arrays(cols, rows, data.values, grad, data.shape[1]))
        return grad_s, grad_d, None


def spmm(name: str, s: Any, d: Any, *, sparse_grad: bool) -> Tensor:
    """The checks shared by ``deepseek.sparse.mm``, ``mm``, ``matmul`` and ``@``."""
    if not isinstance(s, SparseTensor):
        raise op_error(TypeError, name, f"expected a sparse COO first operand, got "
                       f"{type(s).__name__}")
    if not isinstance(d, Tensor) or d.is_sparse:
        raise op_error(RuntimeError, name, "sparse @ sparse is not supported; the second "
                       "operand must be a dense tensor (call .to_dense() on it)")
    if s.sparse_dim() != 2 or s.dense_dim() != 0:
        raise op_error(RuntimeError, name, f"the sparse operand must be a matrix (sparse_dim 2, "
                       f"dense_dim 0), got sparse_dim {s.sparse_dim()}, dense_dim "
                       f"{s.dense_dim()}")
    if d.ndim != 2:
        raise op_error(RuntimeError, name, "mat2 must be a matrix", d._data)
    if s.shape[1] != d.shape[0]:
        raise op_error(RuntimeError, name, f"mat1 and mat2 shapes cannot be multiplied "
                       f"({s.shape[0]}x{s.shape[1]} and {d.shape[0]}x{d.shape[1]})")
    if s._data.dtype != d._data.dtype:
        raise op_error(RuntimeError, name, f"expected mat1 and mat2 to have the same dtype, but "
                       f"got: {s.dtype.name} != {d.dtype.name}")
    return SpMM.apply(s, d, sparse_grad)


# ---------------------------------------------------------------- sums
class Sum(Function):
    """Sum over sparse dims ``sparse_dims`` and dense dims ``dense_dims`` (of the values)."""

    @staticmethod
    def forward(ctx: Any, s: SparseTensor, sparse_dims: tuple, dense_dims: tuple,
                dtype: Any) -> Tensor:
        data = s._data
        sparse_dim = data.indices.shape[0]
        values = data.values if dtype is None else data.values.astype(dtype)
        if dense_dims:
            values = values.sum(axis=tuple(1 + d for d in dense_dims))
        keep = [d for d in range(sparse_dim) if d not in sparse_dims]
        ctx.data, ctx.keep, ctx.dense_dims = data, keep, dense_dims
        ctx.shape = tuple(data.shape[d] for d in keep) + values.shape[1:]
        if not keep:
            return Tensor._wrap(np.asarray(values.sum(axis=0)))
        part = COOData(data.indices[keep], values, ctx.shape, False)
        indices, summed, _ = part.coalesced_parts()
        return _make(indices, summed, ctx.shape, True)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple:
        data = _coalesced(ctx.data)
        kept_dense = ctx.shape[len(ctx.keep):]
        if ctx.keep:
            # read g where each stored entry landed (a placeholder stands for the values)
            part = COOData(data.indices[ctx.keep], np.empty((data.nnz,) + kept_dense, np.int8),
                           ctx.shape, False)
            grad = _values_grad(g, part)
        else:
            grad = g._to_host()[None]
        for d in ctx.dense_dims:  # summed dense dims come back as size-1 axes, then broadcast
            grad = np.expand_dims(grad, 1 + d)
        grad = np.broadcast_to(grad, data.values.shape).astype(data.dtype)
        return _sparse_grad(data, grad), None, None, None


def sparse_sum(input: SparseTensor, dim: Any = None, dtype: Any = None) -> Tensor:
    """``torch.sparse.sum``: all elements (a dense scalar), or over ``dim`` (sparse while a
    sparse dim is left, else dense)."""
    if not isinstance(input, SparseTensor):
        raise op_error(TypeError, "sparse.sum", f"expected a sparse COO tensor, got "
                       f"{type(input).__name__}; use deepseek.sum for dense tensors")
    n = input.ndim
    dims = range(n) if dim is None else (dim if isinstance(dim, (tuple, list)) else (dim,))
    wrapped = []
    for d in dims:
        if not -n <= d < n:
            raise IndexError(f"[sparse.sum] Dimension out of range (expected to be in range of "
                             f"[{-n}, {n - 1}], but got {d})")
        if d % n in wrapped:
            raise RuntimeError(f"[sparse.sum] dim {d % n} appears multiple times in dims")
        wrapped.append(d % n)
    sparse_dim = input.sparse_dim()
    sparse_dims = tuple(sorted(d for d in wrapped if d < sparse_dim))
    dense_dims = tuple(sorted(d - sparse_dim for d in wrapped if d >= sparse_dim))
    np_dtype = None if dtype is None else _dt.to_dtype(dtype).np
    return Sum.apply(input, sparse_dims, dense_dims, np_dtype)


# ---------------------------------------------------------------- sums of sparse tensors
class Add(Function):
    @staticmethod
    def forward(ctx: Any, a: SparseTensor, b: SparseTensor, alpha: Any) -> SparseTensor:
        x, y = a._data, b._data
        ctx.a, ctx.b, ctx.alpha = x, y, alpha
        dtype = np.result_type(x.values, y.values)
        values = np.concatenate([x.values.astype(dtype), (y.values * alpha).astype(dtype)])
        out = COOData(np.concatenate([x.indices, y.indices], 1), values, x.shape, False)
        if x.coalesced and y.coalesced:  # PyTorch merges coalesced operands
            indices, values, _ = out.coalesced_parts()
            out = COOData(indices, values, x.shape, True)
        return SparseTensor._make(out)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple:
        # the gradient passes through unmasked (on the sum's sparsity), as PyTorch's
        return g, (g if ctx.alpha == 1 else g * ctx.alpha), None


def add(a: SparseTensor, b: Any, alpha: Any = 1) -> SparseTensor:
    if not isinstance(b, SparseTensor):
        raise op_error(RuntimeError, "add", "add(sparse, dense) is not supported: add two "
                       "sparse COO tensors, or call .to_dense() on the sparse one")
    if a.shape != b.shape:
        raise op_error(RuntimeError, "add", f"expected sizes to match, got {list(a.shape)} and "
                       f"{list(b.shape)}")
    if a.sparse_dim() != b.sparse_dim():
        raise op_error(RuntimeError, "add", f"expected the same sparse_dim, got "
                       f"{a.sparse_dim()} and {b.sparse_dim()}")
    return Add.apply(a, b, alpha)


class Scale(Function):
    @staticmethod
    def forward(ctx: Any, s: SparseTensor, factor: Any) -> SparseTensor:
        d = s._data
        ctx.data, ctx.factor = d, factor
        values = d.values * factor
        if values.dtype.kind == "f" and d.dtype.kind == "f":
            values = values.astype(d.dtype)
        return _make(d.indices, values, d.shape, d.coalesced)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple:
        return g * ctx.factor, None


def scale(s: SparseTensor, factor: Any, name: str) -> SparseTensor:
    if isinstance(factor, Tensor) and not factor.is_sparse and factor.ndim == 0:
        factor = factor.item()
    if not isinstance(factor, (int, float, bool)):
        raise op_error(RuntimeError, name, f"a sparse COO tensor can only be scaled by a "
                       f"number or a 0-d tensor, got {type(factor).__name__}; call .to_dense() "
                       "first")
    return Scale.apply(s, factor)
