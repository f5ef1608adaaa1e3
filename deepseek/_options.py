"""The keywords PyTorch's functions share, handled in one place: ``out=``, which writes a
function's result into tensors the caller gives, and the factories' ``layout=`` and
``pin_memory=``.

Ops get ``out=`` on their public names only (:func:`accept_out`, called by each namespace module
on the names of :data:`OUT_NAMES`), so the library's own calls go straight to the op; factories
are decorated where they are defined (:func:`factory`), since with ``out=`` they make the out
tensor's dtype.
"""

from __future__ import annotations

import functools
import inspect
import warnings
from typing import Any, Callable, Optional

from . import dtypes as _dt
from ._errors import op_error
from ._memory_format import strided
from .autograd.grad_mode import no_grad
from .tensor import Tensor

__all__ = ["OUT_NAMES", "accept_out", "factory", "write_out"]

# The functions of each namespace that take ``out=`` in PyTorch (the factories aside), as its
# Python bindings report them (tests/test_out.py checks this table against torch's).
OUT_NAMES = {
    "deepseek": """
abs absolute acos acosh add addbmm addcdiv addcmul addmm addmv addr alias_copy all amax amin
aminmax angle any arccos arccosh arcsin arcsinh arctan arctan2 arctanh argmax argmin argsort
as_strided_copy asin asinh atan atan2 atanh baddbmm bernoulli bitwise_and bitwise_left_shift
bitwise_not bitwise_or bitwise_right_shift bitwise_xor bmm bucketize cat ceil chain_matmul
cholesky cholesky_inverse cholesky_solve clamp clamp_max clamp_min clip column_stack complex
concat concatenate conj_physical copysign cos cosh cross cummax cummin cumprod cumsum
deg2rad detach_copy diag diagonal_copy diff digamma div divide dot dstack eq erf erfc erfinv
exp exp2 expand_copy expm1 fix float_power floor floor_divide fmax fmin fmod frac frexp
frobenius_norm gather gcd ge geqrf ger greater greater_equal gt hardshrink heaviside histc
histogram hstack hypot i0 igamma igammac index_add index_copy index_reduce index_select
inner inverse isin isneginf isposinf kron kthvalue lcm ldexp le lerp less less_equal lgamma
log log10 log1p log2 log_softmax logaddexp logaddexp2 logcumsumexp logical_and logical_not
logical_or logical_xor logit logsumexp lstsq lt lu_solve lu_unpack masked_select matmul
matrix_power matrix_rank max maximum mean median min minimum mm mode msort mul multinomial
multiply mv mvlgamma nan_to_num nanmean nanmedian nanquantile nansum narrow_copy ne neg
negative nextafter nonzero nonzero_static norm not_equal nuclear_norm orgqr outer
permute_copy polar polygamma pow prod qr quantile rad2deg reciprocal remainder renorm round
row_stack rsqrt scatter scatter_add scatter_reduce searchsorted select_copy sgn sigmoid sign
signbit sin sinc sinh slice_copy slice_scatter slogdet softmax solve sort split_copy
split_with_sizes_copy spmm sqrt square squeeze_copy stack std sub subtract sum svd symeig
t_copy take take_along_dim tan tanh tensordot threshold topk transpose_copy triangular_solve
tril triu true_divide trunc unbind_copy unfold_copy unsqueeze_copy var vdot
view_as_complex_copy view_as_real_copy view_copy vstack where xlogy""",
    "deepseek.linalg": """
cholesky cholesky_ex cond cross det eig eigh eigvals eigvalsh householder_product inv inv_ex
ldl_factor ldl_factor_ex ldl_solve lstsq lu lu_factor lu_factor_ex lu_solve matmul
matrix_norm matrix_power matrix_rank multi_dot norm pinv qr slogdet solve solve_ex
solve_triangular svd svdvals tensorinv tensorsolve vecdot vector_norm""",
    "deepseek.special": """
airy_ai bessel_j0 bessel_j1 bessel_y0 bessel_y1 chebyshev_polynomial_t
chebyshev_polynomial_u chebyshev_polynomial_v chebyshev_polynomial_w digamma entr erf erfc
erfcx erfinv exp2 expit expm1 gammainc gammaincc gammaln hermite_polynomial_h
hermite_polynomial_he i0 i0e i1 i1e laguerre_polynomial_l legendre_polynomial_p log1p
log_ndtr logit logsumexp modified_bessel_i0 modified_bessel_i1 modified_bessel_k0
modified_bessel_k1 multigammaln ndtr ndtri polygamma psi round scaled_modified_bessel_k0
scaled_modified_bessel_k1 shifted_chebyshev_polynomial_t shifted_chebyshev_polynomial_u
shifted_chebyshev_polynomial_v shifted_chebyshev_polynomial_w sinc spherical_bessel_j0
xlog1py xlogy zeta""",
    "deepseek.fft": """
fft fft2 fftn hfft hfft2 hfftn ifft ifft2 ifftn ihfft ihfft2 ihfftn irfft irfft2 irfftn rfft
rfft2 rfftn""",
}


def _write_one(op: str, result: Tensor, out: Any, stacklevel: int = 4) -> Tensor:
    if not isinstance(out, Tensor):
        raise TypeError(f"[{op}] argument 'out' must be Tensor, not {type(out).__name__}")
    if not _dt.can_cast(result.dtype, out.dtype):
        raise op_error(RuntimeError, op, f"result type {_dt.torch_name(result.dtype)} can't be "
                       f"cast to the desired output type {_dt.torch_name(out.dtype)}")
    if out.shape != result.shape:
        if out.numel():
            warnings.warn(f"[{op}] An output with one or more elements was resized since it had "
                          f"shape {list(out.shape)}, which does not match the required output "
                          f"shape {list(result.shape)}. Resize it to zero elements first with "
                          f"t.resize_(0) to reuse it without this warning.", UserWarning,
                          stacklevel=stacklevel)
        out.resize_(result.shape)
    with no_grad():
        out.copy_(result)
    return out


def write_out(op: str, result: Any, out: Any) -> Any:
    """``result`` (a tensor, or a tuple of them) written into ``out`` (a tensor, or a tuple or
    list of as many), as PyTorch writes an ``out=`` argument: cast to its dtype where PyTorch's
    casting allows (:func:`deepseek.can_cast`; some of PyTorch's kernels want the result's
    dtype exactly, every op here casts), resized (with PyTorch's warning when it held elements)
    where its shape differs. Returns ``out``, as a tuple of ``result``'s type."""
    if isinstance(result, Tensor):
        return _write_one(op, result, out)
    if not isinstance(out, (tuple, list)) or len(out) != len(result):
        raise op_error(TypeError, op, f"expected out to be a tuple of {len(result)} Tensors, "
                       f"got {type(out).__name__}")
    written = [_write_one(op, r, o) for r, o in zip(result, out)]
    return type(result)(*written) if hasattr(result, "_fields") else tuple(written)


def _signature(fn: Callable, extra: dict) -> inspect.Signature:
    """``fn``'s signature with the keyword-only ``extra`` (name: default) it lacks."""
    sig = inspect.signature(fn)
    params = list(sig.parameters.values())
    at = next((i for i, p in enumerate(params) if p.kind is p.VAR_KEYWORD), len(params))
    added = [inspect.Parameter(k, inspect.Parameter.KEYWORD_ONLY, default=v)
             for k, v in extra.items() if k not in sig.parameters]
    return sig.replace(parameters=params[:at] + added + params[at:])


def _with_out(fn: Callable, op: str) -> Callable:
    @functools.wraps(fn)
    def public(*args: Any, out: Any = None, **kwargs: Any) -> Any:
        if out is None:
            return fn(*args, **kwargs)
        result = fn(*args, **kwargs)
        if any(r.requires_grad for r in ((result,) if isinstance(result, Tensor) else result)):
            raise op_error(RuntimeError, op, "functions with out=... arguments don't support "
                           "automatic differentiation, but one of the arguments requires grad")
        return write_out(op, result, out)

    public.__signature__ = _signature(fn, {"out": None})
    return public


def accept_out(namespace: dict, module: str) -> None:
    """Give the functions of ``OUT_NAMES[module]`` in ``namespace`` (a module's globals)
    PyTorch's ``out=`` keyword: with a tensor (a tuple, for several results) the result is
    written into it and returned, and an ``out=`` call that would record history raises."""
    for name in OUT_NAMES[module].split():
        namespace[name] = _with_out(namespace[name], name)


def factory(fn: Optional[Callable] = None, *, out: bool = True) -> Callable:
    """Decorate a tensor factory with PyTorch's shared keywords: ``layout`` (``strided``: a
    sparse tensor comes from :func:`deepseek.sparse_coo_tensor`), ``pin_memory`` (raises when
    True: there is no accelerator to pin memory for) and, unless ``out=False``, ``out=``, whose
    dtype is the result's unless ``dtype`` names the same one."""
    if fn is None:
        return functools.partial(factory, out=out)
    op, takes_out = fn.__name__, out

    @functools.wraps(fn)
    def public(*args: Any, layout: Any = None, pin_memory: bool = False, **kwargs: Any) -> Any:
        if layout is not None and layout is not strided:
            raise op_error(RuntimeError, op, f"layout={layout} is not supported: factories make "
                           f"strided tensors (a sparse one comes from sparse_coo_tensor)")
        if pin_memory:
            raise op_error(RuntimeError, op, "pin_memory=True requires a CUDA backend; no "
                           "pinned memory allocator is available on this system")
        out = kwargs.pop("out", None) if takes_out else None
        if out is None:
            return fn(*args, **kwargs)
        if not isinstance(out, Tensor):
            raise TypeError(f"[{op}] argument 'out' must be Tensor, not {type(out).__name__}")
        dtype = kwargs.get("dtype")
        if dtype is None:
            kwargs["dtype"] = out.dtype
        elif _dt.to_dtype(dtype) is not out.dtype:
            raise op_error(RuntimeError, op, f"dtype {_dt.torch_name(_dt.to_dtype(dtype))} does "
                           f"not match dtype of out parameter ({_dt.torch_name(out.dtype)})")
        result = fn(*args, **kwargs)
        written = _write_one(op, result.detach(), out, stacklevel=3)
        return written.requires_grad_() if result.requires_grad else written

    extra = {"layout": None, "pin_memory": False, **({"out": None} if takes_out else {})}
    public.__signature__ = _signature(fn, extra)
    return public
