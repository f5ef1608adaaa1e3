"""``ds.*`` front doors composed from existing ops and settings (no primitives of their own):
``fill``, ``put``, ``is_inference``, ``ctc_loss``, the ``*_copy`` views … as
``torch.*`` spells them."""

from __future__ import annotations

from typing import Any, Callable, Optional

from . import dtypes as _dt
from ._errors import op_error
from .ops import complex as _complex, movement as _movement
from .ops._opdef import tensor_method
from .ops.elementwise import _inplace_of
from .tensor import Tensor

__all__ = ["is_inference", "fill", "put", "is_distributed", "bilinear", "ctc_loss",
           "get_num_interop_threads", "set_num_interop_threads", "alias_copy", "as_strided_copy",
           "detach_copy", "diagonal_copy", "expand_copy", "permute_copy", "select_copy",
           "slice_copy", "split_copy", "split_with_sizes_copy", "squeeze_copy", "t_copy",
           "transpose_copy", "unbind_copy", "unfold_copy", "unsqueeze_copy", "view_copy",
           "view_as_real_copy", "view_as_complex_copy"]


@tensor_method
def is_inference(input: Tensor) -> bool:
    """Whether ``input`` is an inference tensor. deepseek's ``inference_mode`` only switches
    recording off and makes ordinary tensors, so this is always False."""
    return False


def fill(input: Tensor, value: Any) -> Tensor:
    """A tensor shaped and typed as ``input`` holding ``value`` everywhere (out-of-place
    :meth:`Tensor.fill_`; the gradient to ``input`` is zero).

    Example:
        >>> deepseek.fill(deepseek.zeros(2), 3)
        tensor([3., 3.])
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"[fill] expected a Tensor input, got {type(input).__name__}")
    return input.clone().fill_(value)


@tensor_method
def put(input: Tensor, index: Tensor, source: Tensor, accumulate: bool = False) -> Tensor:
    """``input`` with the elements at flat positions ``index`` (row-major, negative from the
    end) replaced by, or with ``accumulate`` increased by, ``source``'s elements in order.

    Example:
        >>> deepseek.put(deepseek.zeros(2, 2), deepseek.tensor([0, 3]), deepseek.tensor([1., 2.]))
        tensor([[1., 0.],
                [0., 2.]])
    """
    from .ops.indexing import index_put

    if not isinstance(index, Tensor) or index.dtype is not _dt.int64:
        raise op_error(RuntimeError, "put", "put_(): Expected a long tensor for index, but got "
                       f"{getattr(index, 'dtype', type(index).__name__)}")
    if not isinstance(source, Tensor) or source.dtype is not input.dtype:
        raise op_error(RuntimeError, "put", "put_(): self and source expected to have the same "
                       f"dtype, but got self.dtype = {input.dtype} and source.dtype = "
                       f"{getattr(source, 'dtype', type(source).__name__)}")
    if index.numel() != source.numel():
        raise op_error(RuntimeError, "put", f"put_(): Expected source and index to have the "
                       f"same number of elements, but got source.numel() = {source.numel()}, "
                       f"index.numel() = {index.numel()}")
    n = input.numel()
    flat = index.reshape(-1)
    if flat.numel() and (int(flat.max()) >= n or int(flat.min()) < -n):
        bad = int(flat.max()) if int(flat.max()) >= n else int(flat.min())
        raise op_error(IndexError, "put", f"out of range: tried to access index {bad} on a "
                       f"tensor of {n} elements.")
    out = index_put(input.reshape(-1), (flat,), source.reshape(-1), accumulate)
    return out.reshape(input.shape)


put_ = _inplace_of("put", put)


@tensor_method
def is_distributed(input: Tensor) -> bool:
    """Whether ``input`` is split across processes; deepseek tensors never are."""
    return False


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor,
             bias: Optional[Tensor] = None) -> Tensor:
    """``torch.bilinear``: :func:`deepseek.nn.functional.bilinear`."""
    from .nn.functional import bilinear as _bilinear

    return _bilinear(input1, input2, weight, bias)


_REDUCTIONS = {0: "none", 1: "mean", 2: "sum"}


def ctc_loss(log_probs: Tensor, targets: Tensor, input_lengths: Any, target_lengths: Any,
             blank: int = 0, reduction: Any = 1, zero_infinity: bool = False) -> Tensor:
    """``torch.ctc_loss``: :func:`deepseek.nn.functional.ctc_loss` with ``reduction`` also
    given as aten's integer (0 ``'none'``, 1 ``'mean'``, 2 ``'sum'``; default mean)."""
    from .ops.ctc import ctc_loss as _ctc_loss

    if isinstance(reduction, int) and not isinstance(reduction, bool):
        if reduction not in _REDUCTIONS:
            raise ValueError(f"[ctc_loss] reduction must be 0 (none), 1 (mean) or 2 (sum), got "
                             f"{reduction}")
        reduction = _REDUCTIONS[reduction]
    return _ctc_loss(log_probs, targets, input_lengths, target_lengths, blank, reduction,
                     zero_infinity)


_INTEROP_THREADS: list = [None]


def get_num_interop_threads() -> int:
    """The threads for running independent ops side by side (``torch.get_num_interop_threads``).
    deepseek runs ops one after another, so the number is only recorded."""
    from .backend.cpu import cores

    return _INTEROP_THREADS[0] or cores()


def set_num_interop_threads(num: int) -> None:
    """Record ``num`` inter-op threads; as in PyTorch, only once (see
    :func:`get_num_interop_threads`)."""
    if isinstance(num, bool) or not isinstance(num, int) or num < 1:
        raise RuntimeError(f"[set_num_interop_threads] Expected positive number of threads, got "
                           f"{num!r}")
    if _INTEROP_THREADS[0] is not None:
        raise RuntimeError("[set_num_interop_threads] Error: cannot set number of interop "
                           "threads after parallel work has started or set_num_interop_threads "
                           "called")
    _INTEROP_THREADS[0] = num


# ---------------------------------------------------------------- legacy constructor, callables
@tensor_method
def new(self: Tensor, *args: Any, device: Any = None) -> Tensor:
    """PyTorch's legacy ``Tensor.new``: a tensor of ``self``'s dtype (and device) made from
    sizes (``x.new(2, 3)`` or a ``Size``, uninitialized), data (``x.new([1, 2])``), or a tensor
    of the same dtype (returned as an alias); ``x.new()`` is empty.

    Example:
        >>> deepseek.zeros(1, dtype=deepseek.int32).new([1, 2])
        tensor([1, 2], dtype=deepseek.int32)
    """
    import numpy as np

    from ._creation import empty, tensor
    from .tensor import Size

    device = device if device is not None else self.device
    if not args:
        return empty(0, dtype=self.dtype, device=device)
    if len(args) == 1 and isinstance(args[0], Tensor):
        other = args[0]
        if other.dtype is not self.dtype:
            raise TypeError(f"[new] expected a tensor of dtype {self.dtype.name}, got "
                            f"{other.dtype.name}")
        return other.detach()
    if all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in args) or (
            len(args) == 1 and isinstance(args[0], Size)):
        return empty(*args, dtype=self.dtype, device=device)
    if len(args) == 1 and isinstance(args[0], (list, tuple, np.ndarray)):
        return tensor(args[0], dtype=self.dtype, device=device)
    raise TypeError(f"[new] new(): data must be a sequence (got {type(args[0]).__name__})")


def _python_values(op: str, self: Tensor, others: tuple, fn: Any) -> Tensor:
    """``self`` with each element replaced by ``fn(element, *other elements)`` (Python
    scalars), in place; the others broadcast to ``self``'s shape."""
    import numpy as np

    from .autograd.grad_mode import is_grad_enabled

    if any(t.requires_grad for t in (self, *others)) and is_grad_enabled():
        raise RuntimeError(f"[{op}] Can't call {op}() on Variable that requires grad. Use "
                           f"var.detach().{op}() instead.")
    if not self.is_cpu:
        raise TypeError(f"[{op}] {op} is only implemented on CPU tensors")
    arrays = [self._data]
    for t in others:
        if not isinstance(t, Tensor):
            raise TypeError(f"[{op}] expected Tensor arguments, got {type(t).__name__}")
        if t.dtype is not self.dtype:
            raise TypeError(f"[{op}] expected a {self.dtype.name} tensor for 'other' (got "
                            f"{t.dtype.name})")
        try:
            arrays.append(np.broadcast_to(t._data, self._data.shape))
        except ValueError:
            raise op_error(RuntimeError, op, f"the tensor of shape {list(t.shape)} can't be "
                           f"expanded to self's shape {list(self.shape)}", self._data,
                           t._data) from None
    values = np.frompyfunc(fn, len(arrays), 1)(*arrays)
    values = np.asarray(values, dtype=object).astype(self._data.dtype)
    return self.copy_(Tensor._wrap(values, self.device))


@tensor_method
def apply_(self: Tensor, callable: Any) -> Tensor:
    """Replace each element ``v`` by ``callable(v)`` in place (CPU tensors, not requiring
    grad; slow: one Python call per element)."""
    return _python_values("apply_", self, (), callable)


@tensor_method
def map_(self: Tensor, tensor: Tensor, callable: Any) -> Tensor:
    """``self[i] = callable(self[i], tensor[i])`` in place, ``tensor`` broadcast to ``self``."""
    return _python_values("map_", self, (tensor,), callable)


@tensor_method
def map2_(self: Tensor, x: Tensor, y: Tensor, callable: Any) -> Tensor:
    """``self[i] = callable(self[i], x[i], y[i])`` in place, ``x``/``y`` broadcast."""
    return _python_values("map2_", self, (x, y), callable)


def typename(obj: Any) -> str:
    """A tensor's legacy type name (``'torch.FloatTensor'``), else the object's qualified
    class name, as ``torch.typename``."""
    if isinstance(obj, Tensor):
        return obj.type()
    module = getattr(obj, "__module__", "") or ""
    cls = getattr(obj, "__qualname__", None) or type(obj).__qualname__
    if not isinstance(obj, type):
        module = type(obj).__module__
        cls = type(obj).__qualname__
    return cls if module in ("", "builtins") else f"{module}.{cls}"


# ---------------------------------------------------------------- process switches
_WARN_ALWAYS: list = [False]


def set_warn_always(b: bool) -> None:
    """Record whether warnings PyTorch raises once per process should repeat each time
    (deepseek's own warnings follow Python's ``warnings`` filters either way)."""
    _WARN_ALWAYS[0] = bool(b)


def is_warn_always_enabled() -> bool:
    return _WARN_ALWAYS[0]


def set_flush_denormal(mode: bool) -> bool:
    """Whether denormal floats could be flushed to zero: False, since NumPy offers no switch
    for it (PyTorch also returns False where the CPU does not support it)."""
    return False


# ---------------------------------------------------------------- legacy linear algebra names
def _removed(name: str, advice: str) -> Any:
    def removed(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"[{name}] This function was deprecated since version 1.9 and is now "
                           f"removed. {advice}")

    removed.__name__ = removed.__qualname__ = name
    removed.__doc__ = f"Removed from PyTorch (raises RuntimeError, as PyTorch does): {advice}"
    return removed


matrix_rank = _removed("matrix_rank", "Please use the `deepseek.linalg.matrix_rank` function "
                       "instead. The parameter 'symmetric' was renamed in "
                       "`deepseek.linalg.matrix_rank()` to 'hermitian'.")
lstsq = tensor_method(_removed("lstsq", "`deepseek.lstsq` is deprecated in favor of "
                               "`deepseek.linalg.lstsq`, which has reversed arguments."),
                      name="lstsq")
solve = tensor_method(_removed("solve", "`deepseek.solve` is deprecated in favor of "
                               "`deepseek.linalg.solve`, which has its arguments reversed."),
                      name="solve")
eig = tensor_method(_removed("eig", "Use `deepseek.linalg.eig` (complex eigenvalues and "
                             "eigenvectors) or `deepseek.linalg.eigvals`."), name="eig")
symeig = tensor_method(_removed("symeig", "Use `deepseek.linalg.eigh` (which reads the lower "
                                "triangle by default) or `deepseek.linalg.eigvalsh`."),
                       name="symeig")


def frobenius_norm(input: Tensor, dim: Any, keepdim: bool = False) -> Tensor:
    """``torch.frobenius_norm`` (kept by PyTorch for old scripts): the 2-norm over one or two
    ``dim``; :func:`deepseek.linalg.vector_norm` is the current spelling."""
    from .ops.reduce import vector_norm

    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    if len(dims) > 2:
        raise op_error(RuntimeError, "frobenius_norm", f"Expected at most 2 dimensions, but got "
                       f"{len(dims)} dimensions instead.", input._data)
    return vector_norm(input, 2, dims, keepdim)


def nuclear_norm(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """``torch.nuclear_norm``: the sum of singular values of the matrices over ``dim`` (the
    two dims of a 2-d input by default); :func:`deepseek.linalg.matrix_norm` with ``'nuc'`` is
    the current spelling."""
    from .ops.linalg import matrix_norm

    if dim is None:
        if input.ndim != 2:
            raise op_error(RuntimeError, "nuclear_norm", f"Expected a tensor with 2 dimensions, "
                           f"but got a tensor with {input.ndim} dimensions instead.",
                           input._data)
        dim = (0, 1)
    return matrix_norm(input, "nuc", tuple(dim), keepdim)


# ---------------------------------------------------------------- low-rank approximations
def _approximate_basis(A: Tensor, q: int, niter: int, M: Optional[Tensor]) -> Tensor:
    """An orthonormal ``(m, q)`` basis for the range of ``A - M`` by randomized subspace
    iteration (Halko, Martinsson and Tropp 2011, algorithm 4.4)."""
    from .linalg import qr
    from .random import randn

    def product(X: Tensor, adjoint: bool) -> Tensor:
        if adjoint:
            out = A.mH @ X
            return out if M is None else out - M.mH @ X
        out = A @ X
        return out if M is None else out - M @ X

    R = randn(*A.shape[:-2], A.shape[-1], q, dtype=A.dtype)
    Q = qr(product(R, False)).Q
    for _ in range(niter):
        Q = qr(product(Q, True)).Q
        Q = qr(product(Q, False)).Q
    return Q


def svd_lowrank(A: Tensor, q: Optional[int] = 6, niter: int = 2,
                M: Optional[Tensor] = None) -> tuple:
    """A rank-``q`` approximate SVD ``(U, S, V)`` of ``A - M`` (``A ≈ U diag(S) V^H``) from a
    random projection refined by ``niter`` subspace iterations; differentiable.

    Example:
        >>> A = deepseek.randn(20, 4) @ deepseek.randn(4, 10)
        >>> U, S, V = deepseek.svd_lowrank(A, q=4)
        >>> bool(deepseek.allclose(U @ deepseek.diag(S) @ V.mT, A, atol=1e-4))
        True
    """
    from .linalg import svd

    q = 6 if q is None else int(q)
    m, n = A.shape[-2:]
    if M is not None:
        M = M.broadcast_to(A.shape)
    if m < n:  # work on the tall adjoint, whose range is the smaller space
        V, S, U = svd_lowrank(A.mH, q, niter, None if M is None else M.mH)
        return U, S, V
    Q = _approximate_basis(A, q, niter, M)
    B = Q.mH @ A if M is None else Q.mH @ A - Q.mH @ M
    U, S, Vh = svd(B, full_matrices=False)
    return Q @ U, S, Vh.mH


def pca_lowrank(A: Tensor, q: Optional[int] = None, center: bool = True,
                niter: int = 2) -> tuple:
    """Principal components of the rows of ``A``: :func:`svd_lowrank` of ``A`` less its column
    means (when ``center``), with ``q`` defaulting to ``min(6, m, n)``."""
    m, n = A.shape[-2:]
    if q is None:
        q = min(6, m, n)
    elif not 0 <= q <= min(m, n):
        raise ValueError(f"[pca_lowrank] q(={q}) must be non-negative integer and not greater "
                         f"than min(m, n)={min(m, n)}")
    if niter < 0:
        raise ValueError(f"[pca_lowrank] niter(={niter}) must be non-negative integer")
    if not center:
        return svd_lowrank(A, q, niter)
    return svd_lowrank(A, q, niter, A.mean(-2, keepdim=True))


# ---------------------------------------------------------------- torch.* recurrent cells
def _cell(mode: str, input: Tensor, hx: Any, w_ih: Tensor, w_hh: Tensor,
          b_ih: Optional[Tensor], b_hh: Optional[Tensor]) -> Any:
    """One step of the ``nn`` recurrent layers' math (``nn.modules.rnn._step``)."""
    from .nn.functional import linear
    from .nn.modules.rnn import _step

    return _step(mode, linear(input, w_ih, b_ih), hx, w_hh, b_hh)


def rnn_tanh_cell(input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor,
                  b_ih: Optional[Tensor] = None, b_hh: Optional[Tensor] = None) -> Tensor:
    """One step of :class:`deepseek.nn.RNNCell` (tanh): ``tanh(x W_ih^T + b_ih + h W_hh^T +
    b_hh)``."""
    return _cell("RNN_TANH", input, hx, w_ih, w_hh, b_ih, b_hh)


def rnn_relu_cell(input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor,
                  b_ih: Optional[Tensor] = None, b_hh: Optional[Tensor] = None) -> Tensor:
    """One step of :class:`deepseek.nn.RNNCell` with ``nonlinearity='relu'``."""
    return _cell("RNN_RELU", input, hx, w_ih, w_hh, b_ih, b_hh)


def lstm_cell(input: Tensor, hx: Any, w_ih: Tensor, w_hh: Tensor,
              b_ih: Optional[Tensor] = None, b_hh: Optional[Tensor] = None) -> tuple:
    """One step of :class:`deepseek.nn.LSTMCell`: ``hx`` is ``(h, c)``; returns ``(h', c')``
    with the gates in PyTorch's order (input, forget, cell, output)."""
    if not isinstance(hx, (tuple, list)) or len(hx) != 2:
        raise op_error(RuntimeError, "lstm_cell", "lstm_cell expects two hidden states "
                       "(h, c)")
    return _cell("LSTM", input, tuple(hx), w_ih, w_hh, b_ih, b_hh)


def gru_cell(input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor,
             b_ih: Optional[Tensor] = None, b_hh: Optional[Tensor] = None) -> Tensor:
    """One step of :class:`deepseek.nn.GRUCell`, gates in PyTorch's order (reset, update,
    new); the reset gate scales ``h W_hn^T + b_hn``."""
    return _cell("GRU", input, hx, w_ih, w_hh, b_ih, b_hh)


def conv_tbc(input: Tensor, weight: Tensor, bias: Tensor, pad: int = 0) -> Tensor:
    """1-d convolution of a ``(time, batch, in_channels)`` input with a ``(kernel_width,
    in_channels, out_channels)`` weight, ``pad`` steps of zeros at both ends of time; the
    output is ``(time', batch, out_channels)``."""
    from .ops.conv import conv1d

    if input.ndim != 3 or weight.ndim != 3 or bias.ndim != 1:
        raise op_error(RuntimeError, "conv_tbc", "expected a 3-d input, a 3-d weight and a 1-d "
                       "bias", input._data, weight._data, bias._data)
    if input.shape[2] != weight.shape[1] or bias.shape[0] != weight.shape[2]:
        raise op_error(RuntimeError, "conv_tbc", f"input channels {input.shape[2]} must equal "
                       f"weight.shape[1] and bias length {bias.shape[0]} weight.shape[2]",
                       input._data, weight._data, bias._data)
    out = conv1d(input.permute(1, 2, 0), weight.permute(2, 1, 0), bias, padding=pad)
    return out.permute(2, 0, 1)


# ---------------------------------------------------------------- torch.native_* tuples
def _stats(x: Tensor, dims: tuple, eps: float) -> tuple:
    """The saved mean and ``1/sqrt(var + eps)``, outside the graph: PyTorch's backward of these
    ops sends no gradient through them."""
    x = x.detach()
    mean = x.mean(dims, keepdim=True)
    rstd = (x.var(dims, unbiased=False, keepdim=True) + eps).rsqrt()
    return mean, rstd


def native_layer_norm(input: Tensor, normalized_shape: Any, weight: Optional[Tensor],
                      bias: Optional[Tensor], eps: float) -> tuple:
    """:func:`deepseek.nn.functional.layer_norm` with its statistics: ``(output, mean,
    rstd)``, the last two shaped as the input with the normalized dims kept as size 1."""
    from .ops.normalization import layer_norm

    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    out = layer_norm(input, shape, weight, bias, eps)
    mean, rstd = _stats(input, tuple(range(input.ndim - len(shape), input.ndim)), eps)
    return out, mean, rstd


def native_batch_norm(input: Tensor, weight: Optional[Tensor], bias: Optional[Tensor],
                      running_mean: Optional[Tensor], running_var: Optional[Tensor],
                      training: bool, momentum: float, eps: float) -> tuple:
    """:func:`deepseek.nn.functional.batch_norm` (updating the running statistics when
    ``training``) with ``(output, save_mean, save_invstd)``: the batch's per-channel mean and
    ``1/sqrt(var + eps)`` when ``training``, else empty tensors."""
    from .nn.functional import batch_norm

    out = batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)
    if not training:
        empty = input.new_zeros(0)
        return out, empty, empty.clone()
    dims = (0,) + tuple(range(2, input.ndim))
    mean, rstd = _stats(input, dims, eps)
    return out, mean.reshape(-1), rstd.reshape(-1)


def native_group_norm(input: Tensor, weight: Optional[Tensor], bias: Optional[Tensor], N: int,
                      C: int, HxW: int, group: int, eps: float) -> tuple:
    """:func:`deepseek.nn.functional.group_norm` of an ``(N, C, *)`` input (``HxW`` elements
    per channel) with ``(output, mean, rstd)``, the last two of shape ``(N, group)``."""
    from .nn.functional import group_norm

    if input.shape[0] != N or input.shape[1] != C or input.numel() != N * C * HxW:
        raise op_error(RuntimeError, "native_group_norm", f"Expected the input of shape (N={N}, "
                       f"C={C}, *) with {HxW} elements per channel", input._data)
    out = group_norm(input, group, weight, bias, eps)
    mean, rstd = _stats(input.reshape(N, group, -1), (2,), eps)
    return out, mean.reshape(N, group), rstd.reshape(N, group)


def native_dropout(input: Tensor, p: float, train: Optional[bool]) -> tuple:
    """Dropout with its mask: ``(output, mask)``, the bool mask True where ``input`` was kept
    (and scaled by ``1 / (1 - p)``); when ``train`` is False, a copy of ``input`` and an
    all-True mask."""
    from ._creation import full_like, ones_like
    from .random import bernoulli

    if not 0 <= p <= 1:
        raise op_error(RuntimeError, "native_dropout", f"dropout probability has to be between "
                       f"0 and 1, but got {p}", input._data)
    if train is False:
        return input.clone(), ones_like(input, dtype=_dt.bool_)
    keep = bernoulli(full_like(input.detach(), 1 - p)).to(_dt.bool_)
    scale = 0.0 if p == 1 else 1 / (1 - p)
    return input * keep * scale, keep


# ---------------------------------------------------------------- torch.*_copy: views, copied
_VIEW_ERRORS = (RuntimeError, IndexError, TypeError, ValueError)


def _renamed(error: Exception, op: str) -> Exception:
    """``error`` raised by the view inside ``op``, its message naming ``op`` instead."""
    text = str(error)
    if text.startswith("[") and "]" in text:
        text = text[text.index("]") + 1:].lstrip()
    return type(error)(f"[{op}] {text}")


def _copy_of(view: Callable, name: Optional[str] = None) -> Callable:
    """``torch.<view>_copy``: ``view``'s result as freshly allocated contiguous tensors (a tuple
    of them when ``view`` returns several), differentiable as ``view`` is."""
    op = name or f"{view.__name__}_copy"

    def view_copy(input: Tensor, *args: Any, **kwargs: Any) -> Any:
        if not isinstance(input, Tensor):
            raise TypeError(f"[{op}] argument 'input' must be Tensor, not "
                            f"{type(input).__name__}")
        try:
            result = view(input, *args, **kwargs)
        except _VIEW_ERRORS as error:
            raise _renamed(error, op) from None
        if isinstance(result, Tensor):
            return _movement.clone(result)
        return tuple(_movement.clone(r) for r in result)

    view_copy.__name__ = view_copy.__qualname__ = op
    view_copy.__doc__ = (f"Performs the same operation as :func:`deepseek.{view.__name__}`, but "
                         f"all output tensors are freshly created instead of aliasing the input.")
    view_copy.__wrapped__ = view  # inspect.signature shows the view's arguments
    return view_copy


def _alias(input: Tensor) -> Tensor:
    return _movement._alias(input)


_alias.__name__ = "alias"


def _slice(input: Tensor, dim: int = 0, start: Optional[int] = None, end: Optional[int] = None,
           step: int = 1) -> Tensor:
    """``input[..., start:end:step, ...]`` on ``dim`` (aten's ``slice``; ends are clamped)."""
    from .ops._common import wrap_dim

    if step <= 0:
        raise op_error(RuntimeError, "slice", "slice step must be positive", input._data)
    d = wrap_dim("slice", dim, input.ndim)
    return input[(slice(None),) * d + (slice(start, end, step),)]


_slice.__name__ = "slice"


def _as_strided(input: Tensor, size: Any, stride: Any, storage_offset: Optional[int] = None
                ) -> Tensor:
    return _movement.as_strided(input, size, stride, storage_offset or 0)


_as_strided.__name__ = "as_strided"


def _expand(input: Tensor, size: Any, *, implicit: bool = False) -> Tensor:
    return _movement.expand(input, size)


_expand.__name__ = "expand"


def _view(input: Tensor, size: Any) -> Tensor:
    """:func:`view`'s result, which a copy can give for any layout (PyTorch's ``view_copy``
    reshapes a non-contiguous input too)."""
    if isinstance(size, (tuple, list, int)):
        return _movement.reshape(input, size)
    return _movement.view(_movement.contiguous(input), size)


_view.__name__ = "view"


def _detach(input: Tensor) -> Tensor:
    return input.detach()


_detach.__name__ = "detach"

alias_copy = _copy_of(_alias)
as_strided_copy = _copy_of(_as_strided)
detach_copy = _copy_of(_detach)
diagonal_copy = _copy_of(_movement.diagonal)
expand_copy = _copy_of(_expand)
permute_copy = _copy_of(_movement.permute)
select_copy = _copy_of(_movement.select)
slice_copy = _copy_of(_slice)
split_copy = _copy_of(_movement.split)
split_with_sizes_copy = _copy_of(_movement.split_with_sizes)
squeeze_copy = _copy_of(_movement.squeeze)
t_copy = _copy_of(_movement.t)
transpose_copy = _copy_of(_movement.transpose)
unbind_copy = _copy_of(_movement.unbind)
unfold_copy = _copy_of(_movement.unfold)
unsqueeze_copy = _copy_of(_movement.unsqueeze)
view_copy = _copy_of(_view)
view_as_real_copy = _copy_of(_complex.view_as_real)
view_as_complex_copy = _copy_of(_complex.view_as_complex)
