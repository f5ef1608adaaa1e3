"""``autocast`` regions: the per-device autocast state, and the policy that ``ops/_opdef.apply``
calls to cast a primitive's floating operands by the op's autocast category."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import dtypes as _dt
from ..autograd.grad_mode import STATE
from ..ops import _opdef
from ..ops.elementwise import to_dtype
from ..tensor import Tensor

__all__ = ["autocast", "custom_bwd", "custom_fwd", "get_autocast_dtype", "is_autocast_available",
           "is_autocast_cache_enabled", "is_autocast_enabled"]

_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)
_SUPPORTED = (_dt.bfloat16, _dt.float16)


class _DeviceState:
    __slots__ = ("dtype", "enabled")

    def __init__(self, dtype: _dt.dtype) -> None:
        self.enabled = False
        self.dtype = dtype


# 'cuda' is accepted (and disabled with a warning, as PyTorch does without a GPU) so that scripts
# written for GPUs run unchanged.
_STATE = {"cpu": _DeviceState(_dt.bfloat16), "cuda": _DeviceState(_dt.float16)}
_NESTING = [0]
_CACHE_ENABLED = [True]
# The weight cache: id(leaf) -> (leaf, its version, its low-precision cast). One cast of each
# parameter per region, shared by every use, so its gradient is accumulated once.
_CACHE: dict = {}

# Each OpDef's ``amp`` follows PyTorch's CUDA lists. PyTorch's CPU policy runs these ops in
# their input dtype instead (a bfloat16 softmax, sum or layer_norm stays bfloat16 on CPU).
CPU_OVERRIDES: dict = dict.fromkeys((
    "_log_softmax", "_softmax", "acos", "asin", "cosh", "cumprod", "cumsum", "erfinv", "exp",
    "exp2", "expm1", "linalg_vector_norm", "log", "log10", "log1p", "log2", "logcumsumexp",
    "logsumexp", "mean", "native_batch_norm", "native_group_norm", "native_layer_norm", "pow",
    "reciprocal", "rsqrt", "sinh", "sum", "tan", "var"))


def is_autocast_available(device_type: str) -> bool:
    """Whether ``autocast`` accepts ``device_type`` (``'cpu'``; ``'cuda'`` is accepted and
    disabled while no CUDA backend is available)."""
    return device_type in _STATE


def is_autocast_enabled(device_type: str = "cuda") -> bool:
    """Whether autocast is on for ``device_type`` (PyTorch's default argument is ``'cuda'``)."""
    return _state(device_type).enabled


def get_autocast_dtype(device_type: str) -> _dt.dtype:
    """The dtype autocast runs low-precision ops in for ``device_type`` (the innermost region's,
    else bfloat16 on CPU and float16 on CUDA)."""
    return _state(device_type).dtype


def is_autocast_cache_enabled() -> bool:
    """Whether autocast regions cache the low-precision casts of parameters."""
    return _CACHE_ENABLED[0]


def _state(device_type: str) -> _DeviceState:
    state = _STATE.get(device_type)
    if state is None:
        raise RuntimeError(f"User specified an unsupported autocast device_type '{device_type}'; "
                           f"supported: {', '.join(_STATE)}")
    return state


class autocast:
    """A region (context manager or decorator) in which ops run in mixed precision.

    Matmul-like ops (``matmul``, ``mm``, ``bmm``, ``linear``, convolutions, ``einsum``,
    ``scaled_dot_product_attention``) cast their floating inputs to ``dtype``; losses,
    ``prod`` and the matrix functions of ``ds.linalg`` cast low-precision inputs to float32;
    other ops run in their inputs' dtype. float64 inputs are never cast. The casts are
    differentiable, so gradients reach each parameter in its own dtype. Regions nest: an inner
    ``autocast(..., enabled=False)`` restores full precision until it exits.

    Args:
        device_type: ``'cpu'`` (``'cuda'`` is accepted and disabled with a warning while no CUDA
            backend is available).
        dtype: the low-precision dtype, ``ds.bfloat16`` or ``ds.float16``. Default: the
            enclosing region's, else bfloat16 on CPU.
        enabled: whether autocasting is on in the region. Default: True.
        cache_enabled: cache each parameter's cast for the region. Default: the enclosing
            setting (True).

    Example:
        >>> w = ds.randn(4, 4, requires_grad=True)
        >>> with ds.autocast("cpu"):
        ...     y = ds.randn(2, 4) @ w
        >>> y.dtype
        deepseek.bfloat16
    """

    def __init__(self, device_type: str, dtype: Any | None = None, enabled: bool = True,
                 cache_enabled: bool | None = None) -> None:
        if not isinstance(device_type, str):
            raise ValueError(  # noqa: TRY004 (PyTorch's type)
                f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
        state = _state(device_type)
        self.device = device_type
        self.fast_dtype = state.dtype if dtype is None else _dt.to_dtype(dtype)
        self._cache_enabled = _CACHE_ENABLED[0] if cache_enabled is None else bool(cache_enabled)
        if enabled and device_type == "cuda":
            warnings.warn("CUDA is not available (deepseek has no CUDA backend in this build). "
                          "Disabling autocast; use autocast('cpu') for CPU tensors.", stacklevel=2)
            enabled = False
        elif enabled and self.fast_dtype not in _SUPPORTED:
            warnings.warn(f"In {device_type.upper()} autocast, but the target dtype "
                          f"{self.fast_dtype} is not supported. Disabling autocast.\n"
                          f"{device_type.upper()} Autocast only supports dtypes of "
                          "deepseek.bfloat16, deepseek.float16 currently.", stacklevel=2)
            enabled = False
        self._enabled = bool(enabled)
        self._saved: list = []

    def __enter__(self) -> autocast:  # noqa: PYI034
        state = _STATE[self.device]
        self._saved.append((state.enabled, state.dtype, _CACHE_ENABLED[0]))
        state.enabled, state.dtype = self._enabled, self.fast_dtype
        _CACHE_ENABLED[0] = self._cache_enabled
        _NESTING[0] += 1
        _install()
        return self

    def __exit__(self, *exc: object) -> bool:
        state = _STATE[self.device]
        state.enabled, state.dtype, _CACHE_ENABLED[0] = self._saved.pop()
        _NESTING[0] -= 1
        if _NESTING[0] == 0:
            _CACHE.clear()
        _install()
        return False

    def __call__(self, func: Callable) -> Callable:
        if not callable(func):
            raise TypeError(f"autocast()(func) requires a callable, but got "
                            f"{type(func).__name__}. Did you mean to use autocast as a context "
                            "manager? For example:\n    with ds.autocast(device_type=...):\n"
                            "        output = model(input)")

        @functools.wraps(func)
        def decorated(*args: Any, **kwargs: Any) -> Any:
            with self:
                return func(*args, **kwargs)

        return decorated


def _install() -> None:
    """Point the dispatch hook at the CPU policy while CPU autocast is on (all tensors are on
    the CPU backend, so CPU autocast is the one that applies)."""
    _opdef.AUTOCAST[0] = _cpu_policy if _STATE["cpu"].enabled else None


def _eligible(a: Any) -> np.dtype | None:
    """The dtype of a floating, non-float64 operand (what autocast may cast), else None."""
    if isinstance(a, (Tensor, np.ndarray)):
        d = a._data.dtype if isinstance(a, Tensor) else a.dtype
        if d != _F64 and (d.kind == "f" or d == _dt.bfloat16.np):
            return d
    return None


def _cast(a: Any, dtype: np.dtype, cache: bool) -> Any:
    if isinstance(a, np.ndarray):
        return a.astype(dtype)
    # Only grad-recording casts of leaves are cached: a cast made under no_grad has no graph.
    if not (cache and a._requires_grad and a.grad_fn is None and a._base is None
            and STATE.enabled):
        return to_dtype(a, dtype)
    hit = _CACHE.get(id(a))
    version = a._version_box[0]
    if hit is not None and hit[1] is a._data and hit[2] == version and hit[3]._data.dtype == dtype:
        return hit[3]
    out = to_dtype(a, dtype)
    # holding ``a`` keeps its id from being reused; its array and version detect updates
    _CACHE[id(a)] = (a, a._data, version, out)
    return out


def _cpu_policy(op: Any, args: tuple) -> tuple:
    """Cast ``args`` of ``op`` by its CPU autocast category (``lower``, ``fp32``, ``promote``)."""
    category = CPU_OVERRIDES.get(op.name, op.amp)
    if category is None:
        return args
    dtypes = [_eligible(a) for a in args]
    if category == "lower":
        target = _STATE["cpu"].dtype.np
    elif category == "fp32" or _F32 in dtypes:
        target = _F32
    else:
        return args
    cache = category == "lower" and _CACHE_ENABLED[0]
    return tuple(a if d is None or d == target else _cast(a, target, cache and d == _F32)
                 for a, d in zip(args, dtypes))


def _cast_floating(value: Any, dtype: Any) -> Any:
    """``value`` with its floating, non-float64 tensors (through tuples, lists and dicts) cast
    to ``dtype``."""
    if isinstance(value, Tensor):
        return value.to(dtype) if _eligible(value) is not None else value
    if isinstance(value, (tuple, list)):
        return type(value)(_cast_floating(v, dtype) for v in value)
    if isinstance(value, dict):
        return {k: _cast_floating(v, dtype) for k, v in value.items()}
    return value


def custom_fwd(fwd: Callable | None = None, *, device_type: str, cast_inputs: Any = None) -> Any:
    """Decorate the ``forward(ctx, ...)`` of an ``autograd.Function`` for autocast: inside an
    autocast region, with ``cast_inputs`` set, the floating inputs are cast to it and forward
    runs with autocast off; without it, forward runs under the region's state, which
    :func:`custom_bwd` gives the backward too. Outside a region it changes nothing."""
    if fwd is None:
        return functools.partial(custom_fwd, device_type=device_type, cast_inputs=cast_inputs)
    _state(device_type)

    @functools.wraps(fwd)
    def forward(ctx: Any, *args: Any, **kwargs: Any) -> Any:
        ctx._dtype = get_autocast_dtype(device_type)
        enabled = is_autocast_enabled(device_type)
        ctx._fwd_used_autocast = enabled and cast_inputs is None
        if not enabled or cast_inputs is None:
            return fwd(ctx, *args, **kwargs)
        with autocast(device_type, enabled=False):
            return fwd(ctx, *_cast_floating(args, cast_inputs),
                       **_cast_floating(kwargs, cast_inputs))

    return forward


def custom_bwd(bwd: Callable | None = None, *, device_type: str) -> Any:
    """Decorate the ``backward(ctx, ...)`` of an ``autograd.Function`` whose forward has
    :func:`custom_fwd`: backward runs under the autocast state forward ran under."""
    if bwd is None:
        return functools.partial(custom_bwd, device_type=device_type)
    _state(device_type)

    @functools.wraps(bwd)
    def backward(ctx: Any, *args: Any, **kwargs: Any) -> Any:
        with autocast(device_type, enabled=ctx._fwd_used_autocast, dtype=ctx._dtype):
            return bwd(ctx, *args, **kwargs)

    return backward
