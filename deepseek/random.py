"""Random numbers: ``Generator``, ``manual_seed`` and the sampling functions."""

from __future__ import annotations

import contextlib
import json
import math
from typing import Any, Iterator, Optional, Sequence

import numpy as np

from . import dtypes as _dt
from ._errors import op_error
from ._options import factory
from .autograd.grad_mode import no_grad
from .ops import _opdef
from .ops._opdef import apply, defop, tensor_method
from .tensor import Tensor

__all__ = ["Generator", "fork_rng", "manual_seed", "seed", "initial_seed", "get_rng_state",
           "set_rng_state", "default_generator", "rand", "randn", "randint", "randperm", "normal",
           "bernoulli", "multinomial", "rand_like", "randn_like", "randint_like", "poisson",
           "binomial"]

_DEFAULT_SEED = 67280421310721  # PyTorch's initial seed


class Generator:
    """A pseudo-random number generator (PCG64) with PyTorch's seeding interface."""

    def __init__(self, device: Any = "cpu") -> None:
        self.device = device
        self.manual_seed(_DEFAULT_SEED)

    def manual_seed(self, seed: int) -> "Generator":
        seed = int(seed)
        self._seed = seed
        self.np = np.random.Generator(np.random.PCG64(seed & ((1 << 64) - 1)))
        return self

    def seed(self) -> int:
        s = int(np.random.SeedSequence().entropy) & ((1 << 63) - 1)
        self.manual_seed(s)
        return s

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> Tensor:
        """The state as a uint8 tensor (JSON of the bit generator's state; never pickled)."""
        state = {"seed": self._seed, "bit_generator": self.np.bit_generator.state}
        raw = json.dumps(state).encode()
        return Tensor._wrap(np.frombuffer(raw, dtype=np.uint8).copy())

    def set_state(self, new_state: Tensor) -> "Generator":
        state = json.loads(bytes(np.asarray(new_state._data, dtype=np.uint8)).decode())
        self._seed = state["seed"]
        self.np.bit_generator.state = state["bit_generator"]
        return self


default_generator = Generator()


def manual_seed(seed: int) -> Generator:
    """Seed the default generator."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state() -> Tensor:
    return default_generator.get_state()


def set_rng_state(new_state: Tensor) -> None:
    default_generator.set_state(new_state)


@contextlib.contextmanager
def fork_rng(devices: Any = None, enabled: bool = True, _caller: str = "fork_rng",
             _devices_kw: str = "devices", device_type: str = "cuda") -> Iterator[None]:
    """Run the block on a fork of the random state: the default generator's state is put back
    on exit (``torch.random.fork_rng``). ``devices`` name accelerator generators to fork as
    well; deepseek draws accelerator random numbers from the default generator, so forking it
    covers them."""
    if not enabled:
        yield
        return
    state = get_rng_state()
    try:
        yield
    finally:
        set_rng_state(state)


def _gen(generator: Optional[Generator]) -> np.random.Generator:
    return (generator or default_generator).np


def _size(size: tuple, keyword: Any = None) -> tuple:
    from ._creation import _size as s

    return s(size, keyword)


def _float_dtype(dtype: Any, complex_ok: bool = False) -> np.dtype:
    d = _dt.to_dtype(dtype) if dtype is not None else _dt.get_default_dtype()
    if not (d.is_floating_point or complex_ok and d.is_complex):
        raise op_error(RuntimeError, "rand", f"expected a floating-point dtype, got {d.name}")
    return d.np


def _sample(fill: Any, dtype: np.dtype) -> np.ndarray:
    """Draw float32/float64 samples directly; narrower floats are rounded from float32."""
    if dtype in (np.float32, np.float64):
        return fill(dtype)
    return fill(np.float32).astype(dtype)


def _draw(draw: Any, size: tuple, dtype: np.dtype, part_scale: float = 1.0) -> np.ndarray:
    """``draw(size, dtype)`` samples; a complex dtype draws both parts, each times
    ``part_scale`` (``sqrt(1/2)`` for randn: unit variance in all, as PyTorch)."""
    if dtype.kind != "c":
        return _sample(lambda t: draw(size, t), dtype)
    part = np.dtype(np.float32 if dtype == np.complex64 else np.float64)
    parts = draw(tuple(size) + (2,), part)
    if part_scale != 1.0:
        parts *= part.type(part_scale)
    return parts.view(dtype)[..., 0]


def _finish(data: np.ndarray, device: Any, requires_grad: bool) -> Tensor:
    from ._creation import _finish as f

    return f(data, device, requires_grad)


# Every draw is an op, with the generator as an attribute, so that ds.jit records it and a
# compiled run draws fresh numbers from the same stream (a drawn array would be baked in).
RAND = defop("rand", lambda xp, *, size, dtype, generator: _draw(
    lambda s, t: _gen(generator).random(s, dtype=t), size, dtype),
    lambda *, size, dtype, generator: (size, dtype), doc="Uniform samples on [0, 1).",
    complex=True)
RANDN = defop("randn", lambda xp, *, size, dtype, generator: _draw(
    lambda s, t: _gen(generator).standard_normal(s, dtype=t), size, dtype, math.sqrt(0.5)),
    lambda *, size, dtype, generator: (size, dtype), doc="Standard normal samples.",
    complex=True)
RANDINT = defop("randint", lambda xp, *, low, high, size, dtype, generator: _gen(
    generator).integers(low, high, size=size, dtype=np.int64).astype(dtype),
    lambda *, low, high, size, dtype, generator: (size, dtype),
    doc="Integers uniform on [low, high).")
RANDPERM = defop("randperm", lambda xp, *, n, dtype, generator: _gen(
    generator).permutation(n).astype(dtype), lambda *, n, dtype, generator: ((n,), dtype),
    doc="A random permutation of 0..n-1.")


@factory
def rand(*shape: Any, size: Any = None, generator: Optional[Generator] = None, dtype: Any = None,
         device: Any = None, requires_grad: bool = False) -> Tensor:
    """Uniform samples on ``[0, 1)``."""
    drawn = apply(RAND, size=_size(shape, size), dtype=_float_dtype(dtype, True),
                  generator=generator)
    return _finish(drawn._data, device, requires_grad)


@factory
def randn(*shape: Any, size: Any = None, generator: Optional[Generator] = None, dtype: Any = None,
          device: Any = None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples."""
    drawn = apply(RANDN, size=_size(shape, size), dtype=_float_dtype(dtype, True),
                  generator=generator)
    return _finish(drawn._data, device, requires_grad)


@factory
def randint(low: int = 0, high: Optional[int] = None, size: Sequence[int] = None, *,
            generator: Optional[Generator] = None, dtype: Any = None, device: Any = None,
            requires_grad: bool = False) -> Tensor:
    """Integers uniform on ``[low, high)``; ``randint(high, size)`` also works."""
    if size is None:
        low, high, size = 0, low, high
    if isinstance(high, (tuple, list)):
        low, high, size = 0, low, high
    if high <= low:
        raise op_error(RuntimeError, "randint", f"random_ expects 'from' to be less than 'to', but "
                       f"got from={low} >= to={high}")
    d = _dt.to_dtype(dtype).np if dtype is not None else np.dtype(np.int64)
    drawn = apply(RANDINT, low=int(low), high=int(high), size=_size((tuple(size),)), dtype=d,
                  generator=generator)
    return _finish(drawn._data, device, requires_grad)


@factory
def randperm(n: int, *, generator: Optional[Generator] = None, dtype: Any = None,
             device: Any = None, requires_grad: bool = False) -> Tensor:
    """A random permutation of ``0..n-1``."""
    d = _dt.to_dtype(dtype).np if dtype is not None else np.dtype(np.int64)
    drawn = apply(RANDPERM, n=int(n), dtype=d, generator=generator)
    return _finish(drawn._data, device, requires_grad)


@factory
def normal(mean: Any = 0.0, std: Any = 1.0, size: Optional[Sequence[int]] = None, *,
           generator: Optional[Generator] = None, dtype: Any = None, device: Any = None,
           requires_grad: bool = False) -> Tensor:
    """Normal samples with ``mean`` and ``std`` (numbers or tensors, broadcast)."""
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        m = mean._data if isinstance(mean, Tensor) else mean
        sd = std._data if isinstance(std, Tensor) else std
        if np.any(np.asarray(sd) < 0):
            raise op_error(RuntimeError, "normal", "normal expects all elements of std >= 0.0")
        ref = mean if isinstance(mean, Tensor) else std
        shape = np.broadcast_shapes(np.shape(m), np.shape(sd))
        z = apply(RANDN, size=tuple(shape), generator=generator, dtype=np.dtype(
            np.float32 if ref._data.dtype != np.float64 else np.float64))
        with no_grad():
            return (z * std + mean).to(ref.dtype)
    if std < 0:
        raise op_error(RuntimeError, "normal", f"normal expects std >= 0.0, but found std {std}")
    s, d = _size((tuple(size),)) if size is not None else (), _float_dtype(dtype)
    z = apply(RANDN, size=s, dtype=d, generator=generator)
    with no_grad():
        return _finish((z * std + mean).to(_dt.from_numpy_dtype(d))._data, device,
                       requires_grad)


# Samplers that read a tensor are ops of their own, with the generator as an attribute, so that a
# traced program replays them with fresh numbers from the same stream.
def _bernoulli_forward(xp: Any, x: Any, *, p: Optional[float], generator: Any) -> Any:
    u = _gen(generator).random(x.shape, dtype=np.float64)
    return (u < (x if p is None else p)).astype(x.dtype)


def _multinomial_forward(xp: Any, w: Any, *, num_samples: int, replacement: bool,
                         generator: Any) -> Any:
    g = _gen(generator)
    rows = w.astype(np.float64).reshape(-1, w.shape[-1])
    out = np.empty((rows.shape[0], num_samples), dtype=np.int64)
    for i, row in enumerate(rows):  # one vectorized draw per row
        p = row / row.sum()
        if replacement:
            out[i] = np.minimum(np.searchsorted(np.cumsum(p), g.random(num_samples), "right"),
                                len(p) - 1)
        else:  # Gumbel top-k: sampling without replacement; as torch, zero-probability
            # categories come last (after every other) rather than refused
            with np.errstate(divide="ignore"):
                keys = np.where(p > 0, np.log(p) - np.log(-np.log(g.random(len(p)))), -np.inf)
            out[i] = np.argsort(-keys, kind="stable")[:num_samples]
    return out.reshape(w.shape[:-1] + (num_samples,))


BERNOULLI = defop("bernoulli", _bernoulli_forward,
                  lambda x, *, p, generator: (x.shape, x.dtype),
                  doc="1 with probability ``x`` (or ``p``), else 0, in ``x``'s dtype.")
POISSON = defop("poisson", lambda xp, x, *, generator: _gen(generator).poisson(x),
                lambda x, *, generator: (x.shape, x.dtype),
                doc="Poisson samples with rates ``x``.")
BINOMIAL = defop("binomial", lambda xp, count, prob, *, generator: _gen(generator).binomial(
    count.astype(np.int64), prob).astype(count.dtype),
    lambda count, prob, *, generator: (count.shape, count.dtype),
    doc="Binomial samples: successes in ``count`` trials of probability ``prob``.")
MULTINOMIAL = defop("multinomial", _multinomial_forward,
                    lambda w, *, num_samples, replacement, generator:
                    (w.shape[:-1] + (num_samples,), np.dtype(np.int64)),
                    doc="Indices drawn from the rows of the weights ``w``.")


def bernoulli(input: Tensor, p: Optional[float] = None, *,
              generator: Optional[Generator] = None) -> Tensor:
    """0/1 samples with probability ``input`` (or ``p``), in ``input``'s dtype."""
    probs = input._data if p is None else np.asarray(p)
    if np.any((probs < 0) | (probs > 1)):
        raise op_error(RuntimeError, "bernoulli", "Expected p_in >= 0 && p_in <= 1 to be true")
    return apply(BERNOULLI, input.detach(), p=p, generator=generator)


tensor_method(bernoulli)


def poisson(input: Tensor, generator: Optional[Generator] = None) -> Tensor:
    """Poisson samples with rates ``input``."""
    return apply(POISSON, input.detach(), generator=generator)


def binomial(count: Tensor, prob: Tensor, generator: Optional[Generator] = None) -> Tensor:
    """Samples of the number of successes in ``count`` trials each succeeding with ``prob``
    (floating tensors of one dtype, broadcast together), in that dtype.

    Example:
        >>> deepseek.binomial(deepseek.tensor([10., 5.]), deepseek.tensor([1., 0.]))
        tensor([10.,  0.])
    """
    if not isinstance(count, Tensor) or not isinstance(prob, Tensor):
        raise TypeError("[binomial] expected Tensor count and prob")
    if not count.is_floating_point():
        raise op_error(ValueError, "binomial", f"binomial only supports floating-point dtypes for "
                       f"count, got: {count.dtype.name}", count._data)
    if prob.dtype is not count.dtype:
        raise op_error(RuntimeError, "binomial", f"Found dtype {prob.dtype.name} but expected "
                       f"{count.dtype.name}", count._data, prob._data)
    p = prob._data
    if np.any((p < 0) | (p > 1)) or np.any(count._data < 0):
        raise op_error(RuntimeError, "binomial", "expected 0 <= prob <= 1 and count >= 0",
                       count._data, prob._data)
    from .ops.movement import broadcast_tensors

    count, prob = broadcast_tensors(count.detach(), prob.detach())
    return apply(BINOMIAL, count, prob, generator=generator)


def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *,
                generator: Optional[Generator] = None) -> Tensor:
    """Indices sampled from the rows of ``input`` (unnormalized, non-negative weights)."""
    w = input._data.astype(np.float64)
    if w.ndim not in (1, 2):
        raise op_error(RuntimeError, "multinomial", "prob_dist must be 1 or 2 dim", input._data)
    if np.any(w < 0) or not np.all(np.isfinite(w)):
        raise op_error(RuntimeError, "multinomial", "probability tensor contains either `inf`, "
                       "`nan` or element < 0", input._data)
    rows = w.reshape(-1, w.shape[-1])
    if np.any(rows.sum(-1) <= 0):
        raise op_error(RuntimeError, "multinomial", "invalid multinomial distribution (sum of "
                       "probabilities <= 0)", input._data)
    if not replacement and num_samples > w.shape[-1]:
        raise op_error(RuntimeError, "multinomial", "cannot sample n_sample > prob_dist.size(-1) "
                       "samples without replacement", input._data)
    return apply(MULTINOMIAL, input.detach(), num_samples=int(num_samples),
                 replacement=bool(replacement), generator=generator)


tensor_method(multinomial)


@factory(out=False)
def rand_like(input: Tensor, *, dtype: Any = None, generator: Optional[Generator] = None,
              device: Any = None, requires_grad: bool = False) -> Tensor:
    return rand(input.shape, generator=generator, dtype=dtype or input.dtype,
                device=device or input._device, requires_grad=requires_grad)


@factory(out=False)
def randn_like(input: Tensor, *, dtype: Any = None, generator: Optional[Generator] = None,
               device: Any = None, requires_grad: bool = False) -> Tensor:
    return randn(input.shape, generator=generator, dtype=dtype or input.dtype,
                 device=device or input._device, requires_grad=requires_grad)


@factory(out=False)
def randint_like(input: Tensor, low: int = 0, high: Optional[int] = None, *, dtype: Any = None,
                 generator: Optional[Generator] = None, device: Any = None,
                 requires_grad: bool = False) -> Tensor:
    if high is None:  # randint_like(input, high)
        low, high = 0, low
    return randint(low, high, input.shape, generator=generator, dtype=dtype or input.dtype,
                   device=device or input._device, requires_grad=requires_grad)


# ---------------------------------------------------------------- in-place samplers
def _fill(self: Tensor, values: np.ndarray) -> Tensor:
    from .autograd.grad_mode import STATE

    if self._requires_grad and self.grad_fn is None and STATE.enabled:
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place "
                           "operation.")
    if _opdef.TRACER[0] is not None:
        _opdef.TRACER[0].unsupported("an in-place random fill (normal_, uniform_ ...): compiled "
                                     "runs would not draw again. Draw with ds.randn_like / "
                                     "ds.rand_like instead")
    np.copyto(self._data, values, casting="unsafe")
    self._version_box[0] += 1
    return self


@tensor_method
def uniform_(self: Tensor, a: float = 0.0, b: float = 1.0, *,
             generator: Optional[Generator] = None) -> Tensor:
    """Fill with samples uniform on ``[a, b)``."""
    g = _gen(generator)
    return _fill(self, a + (b - a) * _sample(lambda t: g.random(self.shape, dtype=t),
                                             np.dtype(np.float64) if self._data.dtype ==
                                             np.float64 else np.dtype(np.float32)))


@tensor_method
def normal_(self: Tensor, mean: float = 0.0, std: float = 1.0, *,
            generator: Optional[Generator] = None) -> Tensor:
    """Fill with normal samples."""
    g = _gen(generator)
    t = np.float64 if self._data.dtype == np.float64 else np.float32
    return _fill(self, mean + std * g.standard_normal(self.shape, dtype=t))


@tensor_method
def random_(self: Tensor, from_: int = 0, to: Optional[int] = None, *,
            generator: Optional[Generator] = None) -> Tensor:
    if to is None:
        from_, to = 0, (from_ if from_ else 2 ** 24 if self.is_floating_point() else 2 ** 63 - 1)
    return _fill(self, _gen(generator).integers(from_, to, self.shape))


@tensor_method
def exponential_(self: Tensor, lambd: float = 1.0, *,
                 generator: Optional[Generator] = None) -> Tensor:
    return _fill(self, _gen(generator).exponential(1.0 / lambd, self.shape))


@tensor_method
def geometric_(self: Tensor, p: float, *, generator: Optional[Generator] = None) -> Tensor:
    """Fill with trial counts to the first success, each trial succeeding with ``p``."""
    return _fill(self, _gen(generator).geometric(p, self.shape))


@tensor_method
def cauchy_(self: Tensor, median: float = 0.0, sigma: float = 1.0, *,
            generator: Optional[Generator] = None) -> Tensor:
    return _fill(self, median + sigma * _gen(generator).standard_cauchy(self.shape))


@tensor_method
def log_normal_(self: Tensor, mean: float = 1.0, std: float = 2.0, *,
                generator: Optional[Generator] = None) -> Tensor:
    """Fill with ``exp`` of normal samples of ``mean`` and ``std``."""
    return _fill(self, _gen(generator).lognormal(mean, std, self.shape))


@tensor_method
def bernoulli_(self: Tensor, p: Any = 0.5, *, generator: Optional[Generator] = None) -> Tensor:
    probs = p._data if isinstance(p, Tensor) else p
    return _fill(self, _gen(generator).random(self.shape) < probs)
