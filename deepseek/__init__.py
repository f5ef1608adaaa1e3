"""deepseek: a deep learning framework with a PyTorch-shaped API on NumPy (and CuPy).

This module only re-exports the public surface; everything is defined in submodules.
"""

import math as _math
import os as _os
import warnings as _warnings

# Numba's parallel kernels run on OpenMP threads that by default spin after each region,
# stealing the cores from the BLAS call that follows (and collapsing under any load):
# make them sleep instead, unless the user chose otherwise.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from . import dtypes as _dtypes  # noqa: E402
from .tensor import Size, Tensor
from ._storage import TypedStorage, UntypedStorage
from .backend import device
from .dtypes import (can_cast, get_default_dtype, promote_types, result_type,
                     set_default_dtype, dtype, finfo, iinfo)
from .backend.cpu import get_num_threads, set_num_threads
from ._settings import (are_deterministic_algorithms_enabled, get_default_device,  # switches
                        get_deterministic_debug_mode, get_float32_matmul_precision,
                        is_deterministic_algorithms_warn_only_enabled, set_default_device,
                        set_deterministic_debug_mode, set_float32_matmul_precision,
                        use_deterministic_algorithms)
from .autograd.grad_mode import (enable_grad, inference_mode, is_grad_enabled,
                                 is_inference_mode_enabled, no_grad, set_grad_enabled)
from ._creation import (arange, as_tensor, asarray, empty, empty_like, eye, from_dlpack,
                        from_numpy, full, full_like, linspace, logspace, ones, ones_like,
                        scalar_tensor, tensor, tril_indices, triu_indices, zeros, zeros_like)
from ._creation import empty_permuted, empty_strided, frombuffer, range  # noqa: A004
from ._creation import set_default_tensor_type
from ._memory_format import (channels_last, channels_last_3d, contiguous_format,  # layouts
                             layout, memory_format, preserve_format, sparse_coo, strided)
from ._functions import (bilinear, ctc_loss, fill, get_num_interop_threads,  # h13
                         is_distributed, is_inference, put, set_num_interop_threads)
from ._functions import (conv_tbc, eig, frobenius_norm, gru_cell, is_warn_always_enabled,  # h14
                         lstm_cell, lstsq, matrix_rank, native_batch_norm, native_dropout,
                         native_group_norm, native_layer_norm, nuclear_norm, pca_lowrank,
                         rnn_relu_cell, rnn_tanh_cell, set_flush_denormal, set_warn_always,
                         solve, svd_lowrank, symeig, typename,
                         alias_copy, as_strided_copy, detach_copy, diagonal_copy, expand_copy,
                         permute_copy, select_copy, slice_copy, split_copy,
                         split_with_sizes_copy, squeeze_copy, t_copy, transpose_copy,
                         unbind_copy, unfold_copy, unsqueeze_copy, view_as_complex_copy,
                         view_as_real_copy, view_copy)
from .random import (Generator, bernoulli, default_generator, get_rng_state, initial_seed,
                     manual_seed, multinomial, normal, poisson, rand, rand_like, randint,
                     binomial,
                     randint_like, randn, randn_like, randperm, seed, set_rng_state)
from .ops.elementwise import (
    abs, absolute, acos, add, addcdiv, addcmul, arccos, arcsin, arctan, arctan2, asin, atan,
    atan2, bitwise_and, bitwise_not, bitwise_or, bitwise_xor, ceil, clamp, clamp_max, clamp_min,
    clip, cos, cosh, div, divide, eq, erf, erfc, erfinv, exp, exp2, expm1, fix, floor,
    floor_divide, fmod, frac, ge, greater, greater_equal, gt, isfinite, isinf, isnan, le, lerp,
    less, less_equal, log, log1p, log2, log10, logical_and, logical_not, logical_or, logical_xor,
    logit, lt, maximum, minimum, mul, multiply, nan_to_num, ne, neg, negative, not_equal, pow,
    reciprocal, remainder, round, rsqrt, sigmoid, sign, sin, sinh, sqrt, square, sub, subtract,
    tan, tanh, true_divide, trunc, where)
from .ops.reduce import (all, amax, amin, any, argmax, argmin, count_nonzero, cumsum,
                         logsumexp, max, mean, min, prod, std, std_mean, sum, var, var_mean)
from .ops.movement import (as_strided, broadcast_shapes, broadcast_tensors, broadcast_to, cat,
                           chunk, clone, concat, concatenate, flatten, flip, hstack, movedim,
                           moveaxis, narrow, permute, reshape, split, squeeze, stack, swapaxes,
                           swapdims, t, transpose, unbind, unflatten, unsqueeze, vstack,
                           narrow_copy, split_with_sizes, unsafe_chunk, unsafe_split,
                           unsafe_split_with_sizes, as_strided_scatter)
from .ops.indexing import (gather, index_put, index_reduce, nonzero, nonzero_static,
                           scatter_add, take_along_dim)
from .ops.movement import (atleast_1d, atleast_2d, atleast_3d, column_stack, diag, diag_embed,  # h2
                           diagonal, diagonal_scatter, dstack, meshgrid, repeat_interleave, roll,
                           row_stack, select, tile, tril, triu)
from .ops.indexing import (index_add, index_copy, index_fill, index_select, masked_fill,
                           masked_scatter, masked_select, scatter, scatter_reduce)
from .ops.sorting import argsort, sort, topk, unique, unique_consecutive
from .ops.sorting import (bincount, bucketize, histc, mode, msort, nanquantile,  # order, bins
                          quantile, searchsorted)
from .ops.movement import (block_diag, cartesian_prod, combinations, diagflat, diff,  # arrange
                           dsplit, fliplr, flipud, hsplit, ravel, rot90, tensor_split, vsplit)
from .ops.indexing import argwhere, select_scatter, slice_scatter, take, unravel_index
from .ops.reduce import (corrcoef, cov, cummax, cummin, cumulative_trapezoid, trace,  # stats
                         trapezoid, trapz)
from .ops.linalg import inner, legacy_cross as cross, renorm
from .ops.elementwise import rsub
from .ops.linalg import (addmm, addmv, baddbmm, bmm, dot, ger, matmul, mm, mv, outer)
from .ops.reduce import (aminmax, cumprod, kthvalue, logcumsumexp, median, nanmean,  # reductions
                         nanmedian, nansum, norm)
from .ops.linalg import addbmm, addr, einsum, kron, tensordot, vdot  # linear algebra
from .ops.linalg import mm as spmm  # torch.spmm
from .ops.decompositions import (cholesky_inverse, cholesky_solve, geqrf, lu_unpack,  # factors
                                 orgqr)
from .ops.decompositions import (legacy_cholesky as cholesky, legacy_lu as lu,  # torch.* forms
                                 legacy_lu_solve as lu_solve, legacy_qr as qr, legacy_svd as svd)
from .ops.solvers import (chain_matmul, legacy_vander as vander, logdet, matrix_exp,  # solvers
                          matrix_power, pinverse, slogdet, triangular_solve)
from .ops.linalg import det, inv as inverse
from .ops.elementwise import (acosh, allclose, arccosh, arcsinh, arctanh, asinh, atanh,  # h12
                              bitwise_left_shift, bitwise_right_shift, copysign, deg2rad,
                              digamma, equal, float_power, fmax, fmin, gcd, heaviside, hypot,
                              is_nonzero, isclose, isin, isneginf, isposinf, isreal, lcm, ldexp,
                              lgamma, logaddexp, logaddexp2, polygamma, positive, rad2deg, sgn,
                              signbit, sinc, xlogy)
from .ops.complex import (angle, complex, conj, conj_physical, imag, is_conj, is_neg,  # complex
                          polar, real, resolve_conj, resolve_neg, view_as_complex, view_as_real,
                          conj_physical_)
from .ops.spectral import istft, stft
from .ops._opdef import REGISTRY as _REGISTRY
# ds-level names of the nn primitives (each module's __all__)
from .ops.activation import *  # noqa: F401,F403
from .ops.attention import *  # noqa: F401,F403
from .ops.conv import *  # noqa: F401,F403
from .ops.loss import *  # noqa: F401,F403
from .ops.normalization import *  # noqa: F401,F403
from .ops.pool import *  # noqa: F401,F403
from . import autograd, linalg, nn, optim, utils  # noqa: F401
from . import sparse  # noqa: F401  torch.sparse: sparse COO tensors
from .sparse import sparse_coo_tensor
from .autograd.anomaly_mode import (is_anomaly_check_nan_enabled, is_anomaly_enabled,
                                    set_detect_anomaly as set_anomaly_enabled)
from ._creation import LEGACY_TYPES as _LEGACY_TYPES

from . import backends, cuda, testing  # noqa: F401  torch's device queries and test helpers
from . import distributions, special  # noqa: F401  torch.distributions, torch.special
from . import func, signal  # noqa: F401  torch.func (composable transforms), torch.signal
from . import types  # noqa: F401  torch.types: the aliases annotations import
from . import library  # noqa: F401  torch.library: user-defined ops (custom_op, Library, opcheck)
from . import distributed, futures  # noqa: F401  torch.distributed (on MPI), torch.futures
from . import multiprocessing  # noqa: F401  torch.multiprocessing (spawn on MPI)
from . import onnx, profiler  # noqa: F401  export to ONNX (needs [onnx]), torch.profiler
from . import serving  # noqa: F401  serve a model over HTTP (standard library only)
from . import hub  # noqa: F401  torch.hub: pretrained weights
from . import graph  # noqa: F401  graph learning (PyG-shaped; partition needs [graph])
from . import quantization  # noqa: F401  torch.ao.quantization's eager-mode API
from ._modules import alias as _alias, namespace as _namespace
from .autograd import profiler as _autograd_profiler  # noqa: F401, E402  ds.autograd.profiler
from .func import vmap  # torch.vmap
from .signal.windows import (bartlett_window, blackman_window, hamming_window,  # windows
                             hann_window, kaiser_window)
from .ops.histogram import histogram, histogramdd
from .ops.numeric import gradient
from .ops.special import frexp, i0, igamma, igammac, mvlgamma, nextafter  # torch.* names
from .serialization import load, save  # noqa: F401
from ._format import get_printoptions, set_printoptions  # printing
from ._custom_op import CustomOperator, operator, register_operator  # custom primitives
from .amp import autocast, get_autocast_dtype, is_autocast_enabled  # mixed precision
from . import jit  # noqa: F401  the whole-step compiler (ds.jit is callable)
from . import compiler, cpu  # noqa: F401  torch.compiler's controls, torch.cpu
from .jit.compat import compile  # torch.compile's spelling of ds.jit
from . import fft  # noqa: F401  torch.fft
from . import memory  # noqa: F401  memory management
from .memory import (OutOfMemoryError, max_memory_allocated, max_memory_reserved,  # memory stats
                     memory_allocated, memory_reserved, memory_stats, memory_summary,
                     reset_peak_memory_stats)

ao = _namespace(f"{__name__}.ao", "torch.ao: deepseek.quantization and its modules.",
                quantization=quantization, nn=quantization.nn)
_alias(f"{__name__}.ao.quantization", quantization)
_alias(f"{__name__}.ao.nn", quantization.nn)

bool = _dtypes.bool_
uint8, int8, int16, int32, int64 = (_dtypes.uint8, _dtypes.int8, _dtypes.int16, _dtypes.int32,
                                    _dtypes.int64)
float16, bfloat16, float32, float64 = (_dtypes.float16, _dtypes.bfloat16, _dtypes.float32,
                                       _dtypes.float64)
complex64, complex128 = _dtypes.complex64, _dtypes.complex128
float8_e4m3fn, float8_e5m2, float8_e4m3fnuz, float8_e5m2fnuz = _dtypes.FLOAT8
half, float, double, cfloat, cdouble = float16, float32, float64, complex64, complex128
short, int, long = int16, int32, int64

globals().update(_LEGACY_TYPES)  # FloatTensor, LongTensor … (legacy constructors and types)
# torch.* spellings of Tensor methods: torch.exp_(x) is x.exp_()
for _name in ("abs_", "acos_", "acosh_", "addmv_", "adjoint", "arccos_", "arccosh_", "arcsin_",
              "arcsinh_", "arctanh_", "as_strided_", "resize_as_",
              "arctan_", "asin_", "asinh_", "atan_", "atanh_", "ceil_", "clamp_", "clamp_max_",
              "clamp_min_", "clip_", "cos_", "cosh_", "deg2rad_", "detach", "detach_", "erf_",
              "erfc_", "exp2_", "exp_", "expm1_", "fill_", "fix_", "floor_", "frac_", "gcd_",
              "get_device", "i0_", "index_put_", "is_same_size", "is_signed", "lcm_", "ldexp_",
              "log10_", "log1p_", "log2_", "log_", "logit_", "nan_to_num_", "neg_", "negative_",
              "rad2deg_", "reciprocal_", "round_", "rsqrt_", "sigmoid_", "sin_", "sinc_", "sinh_",
              "sqrt_", "square_", "tan_", "tanh_", "trunc_", "xlogy_", "zero_"):
    globals()[_name] = getattr(Tensor, _name)
del _name

pi, e, inf, nan = _math.pi, _math.e, _math.inf, _math.nan  # torch's constants
newaxis = None

__version__ = "0.1.0"


def is_tensor(obj) -> "bool":
    """Whether ``obj`` is a deepseek Tensor."""
    return isinstance(obj, Tensor)


def numel(input: Tensor) -> "int":
    return input.numel()


def is_floating_point(input: Tensor) -> "bool":
    return input.is_floating_point()


def is_complex(input: Tensor) -> "bool":
    return input.is_complex()


# As in torch, inf and nan are results, not warnings: NumPy's floating-point warnings are
# silenced where our code calls NumPy (the filter matches the calling module), not in the user's
# own NumPy code, and without the cost of an errstate around every op.
_warnings.filterwarnings("ignore", r"(divide by zero|invalid value|overflow|underflow) "
                         "encountered", RuntimeWarning, r"deepseek(\.|$)")

from ._options import accept_out as _accept_out  # noqa: E402

_accept_out(globals(), __name__)  # PyTorch's out= on the public names of the ops that take it
