"""Linear algebra: matmul (batched, broadcast) and its front doors (mm, bmm, mv, dot, addmm …),
einsum and tensordot, kron, matrix norms and the matrix functions of ``deepseek.linalg``."""

from __future__ import annotations

import math
import string
import warnings
from collections import Counter
from typing import Any, Optional, Sequence

import numpy as np

from .. import dtypes as _dt
from .._errors import op_error
from ..backend import cpu
from ..tensor import Tensor
from ._common import LOWP, broadcast_shapes, in_float32, is_float, require_tensor, wrap_dim
from ._opdef import apply, autocast_args, autocast_exempt, defop, tensor_method
from .elementwise import _inplace_of

_F32 = np.dtype(np.float32)
# subscript letters in PyTorch's order (an implicit einsum output lists them sorted this way)
_LETTERS = string.ascii_uppercase + string.ascii_lowercase


class _Shape:
    """A shape-only operand for ``broadcast_shapes``."""

    __slots__ = ("dtype", "shape")

    def __init__(self, shape: tuple) -> None:
        self.shape, self.dtype = shape, None


def _same_dtype(name: str, arrays: Sequence[Any]) -> np.dtype:
    dt = arrays[0].dtype
    for a in arrays[1:]:
        if a.dtype != dt:
            raise op_error(RuntimeError, name, f"expected m1 and m2 to have the same dtype, but "
                           f"got: {_dt.from_numpy_dtype(dt).name} != "
                           f"{_dt.from_numpy_dtype(a.dtype).name}", *arrays)
    if dt == np.bool_:
        raise op_error(NotImplementedError, name, f"{name} is not implemented for bool", *arrays)
    return dt


# ---------------------------------------------------------------- matmul
def _matmul_meta(x: Any, y: Any) -> tuple:
    if x.ndim < 2 or y.ndim < 2:
        raise op_error(RuntimeError, "matmul", "the primitive takes operands of at least 2 dims",
                       x, y)
    dt = _same_dtype("matmul", (x, y))
    if x.shape[-1] != y.shape[-2]:
        raise op_error(RuntimeError, "matmul", f"mat1 and mat2 shapes cannot be multiplied "
                       f"({x.shape[-2]}x{x.shape[-1]} and {y.shape[-2]}x{y.shape[-1]})", x, y)
    batch = broadcast_shapes("matmul", _Shape(x.shape[:-2]), _Shape(y.shape[:-2]))
    return batch + (x.shape[-2], y.shape[-1]), dt


def _matmul_vjp(ctx: Any, g: Tensor) -> tuple:
    x, y = ctx.inputs
    need = ctx.needs_input_grad
    return (g @ y.mH if need[0] else None), (x.mH @ g if need[1] else None)


def matmul_arrays(xp: Any, x: Any, y: Any) -> Any:
    """The array product behind ``matmul`` (stacks of products split over the cores on the
    CPU, see :func:`deepseek.backend.cpu.matmul`)."""
    return cpu.matmul(x, y) if xp is np else xp.matmul(x, y)


MATMUL = defop("matmul", in_float32(matmul_arrays, "matmul"), _matmul_meta, _matmul_vjp,
               amp="lower", complex=True)


def _operands(name: str, a: Any, b: Any, other: str = "other") -> tuple:
    a, b = autocast_args(MATMUL, require_tensor(name, a), require_tensor(name, b, other))
    _same_dtype(name, (a._data, b._data))
    return a, b


@tensor_method
def matmul(input: Tensor, other: Tensor) -> Tensor:
    """Matrix product with PyTorch's rules: 1-d operands are vectors (a dim added, then removed)
    and batch dims broadcast."""
    if getattr(input, "is_sparse", False):  # a sparse COO left operand (deepseek.sparse)
        return input.matmul(other)
    a, b = _operands("matmul", input, other)
    if a.ndim == 0 or b.ndim == 0:
        raise op_error(RuntimeError, "matmul", "both arguments to matmul need to be at least 1D, "
                       f"but they are {a.ndim}D and {b.ndim}D", a._data, b._data)
    if a.ndim == 1 and b.ndim == 1:
        if a.shape[0] != b.shape[0]:
            raise op_error(RuntimeError, "dot", f"inconsistent tensor size, expected tensor "
                           f"[{a.shape[0]}] and src [{b.shape[0]}] to have the same number of "
                           f"elements, but got {a.shape[0]} and {b.shape[0]} elements "
                           "respectively", a._data, b._data)
        return apply(MATMUL, a.unsqueeze(0), b.unsqueeze(1)).reshape(())
    if a.ndim == 1:
        return apply(MATMUL, a.unsqueeze(0), b).squeeze(-2)
    if b.ndim == 1:
        return apply(MATMUL, a, b.unsqueeze(1)).squeeze(-1)
    return apply(MATMUL, a, b)


tensor_method(matmul, name="__matmul__")
tensor_method(lambda self, other: matmul(other, self), name="__rmatmul__")


def _check_dims(name: str, t: Tensor, n: int, message: str) -> None:
    if t.ndim != n:
        raise op_error(RuntimeError, name, message, t._data)


@tensor_method
def mm(input: Tensor, mat2: Tensor) -> Tensor:
    """Product of two matrices (``input`` may be sparse COO, see :mod:`deepseek.sparse`)."""
    if getattr(input, "is_sparse", False):
        return input.mm(mat2)
    a, b = _operands("mm", input, mat2, "mat2")
    _check_dims("mm", a, 2, "self must be a matrix")
    _check_dims("mm", b, 2, "mat2 must be a matrix")
    return apply(MATMUL, a, b)


@tensor_method
def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    """Batched product of ``(b, n, m)`` and ``(b, m, p)`` tensors."""
    a, b = _operands("bmm", input, mat2, "mat2")
    _check_dims("bmm", a, 3, "batch1 must be a 3D tensor")
    _check_dims("bmm", b, 3, "batch2 must be a 3D tensor")
    if a.shape[0] != b.shape[0]:
        raise op_error(RuntimeError, "bmm", "batch1 and batch2 must have same number of batches, "
                       f"got {a.shape[0]} and {b.shape[0]}", a._data, b._data)
    return apply(MATMUL, a, b)


@tensor_method
def mv(input: Tensor, vec: Tensor) -> Tensor:
    """Matrix-vector product."""
    with autocast_exempt():
        a, b = _operands("mv", input, vec, "vec")
        if a.ndim != 2 or b.ndim != 1:
            raise op_error(RuntimeError, "mv", f"vector + matrix @ vector expected, got 1, "
                           f"{a.ndim}, {b.ndim}", a._data, b._data)
        return matmul(a, b)


@tensor_method
def dot(input: Tensor, tensor: Tensor) -> Tensor:
    """Inner product of two 1-d tensors."""
    with autocast_exempt():
        a, b = _operands("dot", input, tensor, "tensor")
        if a.ndim != 1 or b.ndim != 1:
            raise op_error(RuntimeError, "dot", f"1D tensors expected, but got {a.ndim}D and "
                           f"{b.ndim}D tensors", a._data, b._data)
        return matmul(a, b)


@tensor_method
def vdot(input: Tensor, other: Tensor) -> Tensor:
    """``dot(input.conj(), other)``: the inner product of complex vectors (dot for real ones)."""
    return dot(require_tensor("vdot", input).conj(), other)


@tensor_method
def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """Outer product of two 1-d tensors (their dtypes promote)."""
    a, b = require_tensor("outer", input), require_tensor("outer", vec2, "vec2")
    for t, what in ((a, "self"), (b, "vec2")):
        _check_dims("outer", t, 1, f"outer: Expected 1-D argument {what}, but got {t.ndim}-D")
    return a.unsqueeze(1) * b


ger = tensor_method(outer, name="ger")


def _scaled_sum(name: str, input: Any, product: Tensor, beta: Any, alpha: Any) -> Tensor:
    """``beta * input + alpha * product`` with ``input`` broadcast to the product's shape.

    With ``beta == 0`` the input is ignored (its NaN and inf do not propagate), as in PyTorch.
    """
    (x,) = autocast_args(MATMUL, require_tensor(name, input))
    if broadcast_shapes(name, x._data, product._data) != product._data.shape:
        raise op_error(RuntimeError, name, f"input of shape {list(x.shape)} does not broadcast to "
                       f"the product's shape {list(product.shape)}", x._data, product._data)
    if alpha != 1:
        product = product * alpha
    if beta == 0:
        if not x.requires_grad:
            return product
        from .elementwise import where

        return product + where(x.new_zeros((), dtype=_dt.bool_), x, 0)  # a zero gradient
    return product + (x if beta == 1 else x * beta)


def _lowp_sum(name: str, product: Any, input: Any, operands: tuple, beta: Any,
              alpha: Any) -> Optional[Tensor]:
    """``beta * input + alpha * product(*operands)`` summed in float32 and rounded once, as
    PyTorch's CPU GEMM accumulates its ``beta * input`` term, when the operands (after
    autocast) are all one of float16/bfloat16; None otherwise."""
    args = autocast_args(MATMUL, input, *operands)
    if not all(isinstance(a, Tensor) and a._data.dtype in LOWP for a in args) or len(
            {a._data.dtype for a in args}) != 1:
        return None
    with autocast_exempt():
        wide = [a.float() for a in args]
        return _scaled_sum(name, wide[0], product(*wide[1:]), beta, alpha).to(args[0].dtype)


def _fused_sum(name: str, product: Any, input: Any, operands: tuple, beta: Any,
               alpha: Any) -> Tensor:
    """``beta * input + alpha * product(*operands)``, in float32 for low-precision operands."""
    out = _lowp_sum(name, product, input, operands, beta, alpha)
    return out if out is not None else _scaled_sum(name, input, product(*operands), beta, alpha)


@tensor_method
def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """``beta * input + alpha * (mat1 @ mat2)``."""
    return _fused_sum("addmm", mm, input, (mat1, mat2), beta, alpha)


@tensor_method
def addmv(input: Tensor, mat: Tensor, vec: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """``beta * input + alpha * (mat @ vec)``."""
    return _fused_sum("addmv", mv, input, (mat, vec), beta, alpha)


@tensor_method
def addr(input: Tensor, vec1: Tensor, vec2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """``beta * input + alpha * outer(vec1, vec2)``."""
    return _scaled_sum("addr", input, outer(vec1, vec2), beta, alpha)


@tensor_method
def baddbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta: Any = 1,
            alpha: Any = 1) -> Tensor:
    """``beta * input + alpha * (batch1 @ batch2)``, batch by batch."""
    return _fused_sum("baddbmm", bmm, input, (batch1, batch2), beta, alpha)


@tensor_method
def addbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta: Any = 1,
           alpha: Any = 1) -> Tensor:
    """``beta * input + alpha * sum_b(batch1[b] @ batch2[b])``."""
    return _scaled_sum("addbmm", input, bmm(batch1, batch2).sum(0), beta, alpha)


for _name in ("addmm", "addmv", "addr", "baddbmm", "addbmm"):
    globals()[_name + "_"] = _inplace_of(_name, globals()[_name])


# ---------------------------------------------------------------- einsum
def _einsum_error(message: str) -> RuntimeError:
    return op_error(RuntimeError, "einsum", f"einsum(): {message}")


def _check_term(term: str, i: Any) -> None:
    if term.count(".") != 3 * term.count("...") or term.count("...") > 1:
        where = f"for operand {i}" if isinstance(i, int) else "in the output"
        raise _einsum_error(f"found '.' {where} that is not part of any ellipsis"
                            if term.count("...") < 2 else
                            f"found '.' {where} for which an ellipsis was already found")


def _parse_einsum(equation: str, shapes: Sequence[tuple]) -> tuple:
    """The subscripts of each operand (ellipses spelled with unused letters) and the output."""
    for k, c in enumerate(equation):
        arrow = ((c == "-" and equation[k + 1:k + 2] == ">")
                 or (c == ">" and equation[k - 1:k] == "-"))
        if not (c in _LETTERS or c in " ,." or arrow):
            raise _einsum_error(f"invalid subscript given at index {k} in the equation string, "
                                "subscripts must be in [a-zA-Z]")
    lhs, arrow, rhs = equation.replace(" ", "").partition("->")
    terms = lhs.split(",")
    if len(terms) < len(shapes):
        raise _einsum_error("more operands were provided than specified in the equation")
    if len(terms) > len(shapes):
        raise _einsum_error("fewer operands were provided than specified in the equation")
    n_ellipsis = []
    for i, (term, shape) in enumerate(zip(terms, shapes)):
        _check_term(term, i)
        named = len(term) - 3 * term.count("...")
        if "..." not in term and named != len(shape):
            raise _einsum_error(f"the number of subscripts in the equation ({named}) does not "
                                f"match the number of dimensions ({len(shape)}) for operand {i} "
                                "and no ellipsis was given")
        if named > len(shape):
            raise _einsum_error(f"the number of subscripts in the equation ({named}) is more than "
                                f"the number of dimensions ({len(shape)}) for operand {i}")
        n_ellipsis.append(len(shape) - named)
    unused = [c for c in _LETTERS if c not in equation]
    width = max(n_ellipsis)
    if width > len(unused):
        raise _einsum_error("too many dimensions: not enough unused subscripts for the ellipsis")
    ellipsis = "".join(unused[:width])  # broadcast dims align on the right
    subs = [t.replace("...", ellipsis[width - n:]) for t, n in zip(terms, n_ellipsis)]
    if not arrow:
        counts = Counter(lhs.replace(".", "").replace(",", ""))
        once = sorted((c for c, n in counts.items() if n == 1), key=_LETTERS.index)
        return subs, ellipsis + "".join(once)
    _check_term(rhs, None)
    for c, n in Counter(rhs.replace(".", "")).items():
        if n > 1:
            raise _einsum_error(f"output subscript {c} appears more than once in the output")
        if c not in lhs:
            raise _einsum_error(f"output subscript {c} does not appear in the equation for any "
                                "input operand")
    return subs, rhs.replace("...", ellipsis)


def _einsum_sizes(subs: Sequence[str], shapes: Sequence[tuple]) -> dict:
    """Each subscript's size; equal sizes or ones (which broadcast), as in PyTorch."""
    sizes: dict = {}
    for i, (term, shape) in enumerate(zip(subs, shapes)):
        mine: dict = {}
        for c, n in zip(term, shape):
            if mine.setdefault(c, n) != n:
                raise _einsum_error(f"subscript {c} is repeated for operand {i} but the sizes "
                                    f"don't match, {n} != {mine[c]}")
            seen = sizes.get(c)
            if seen is None or seen == 1:
                sizes[c] = n
            elif n not in (1, seen):
                raise _einsum_error(f"subscript {c} has size {n} for operand {i} which does not "
                                    f"broadcast with previously seen size {seen}")
    return sizes


def _einsum_meta(*arrays: Any, equation: str) -> tuple:
    lhs, _, out = equation.partition("->")
    sizes = _einsum_sizes(lhs.split(","), [a.shape for a in arrays])
    dt = arrays[0].dtype
    for a in arrays[1:]:
        if a.dtype != dt:
            raise op_error(RuntimeError, "einsum", "expected all operands to have the same dtype",
                           *arrays)
    return tuple(sizes[c] for c in out), dt


def _einsum_forward(xp: Any, *arrays: Any, equation: str) -> Any:
    out = xp.einsum(equation, *arrays, optimize=len(arrays) > 1)
    # NumPy answers transposes and diagonals with views of an input: the result must own its data
    return out.copy() if any(xp.may_share_memory(out, a) for a in arrays) else out


def _einsum_input_grad(target: str, shape: tuple, out: str, g: Tensor, others: list,
                       sizes: dict, unused: list) -> Tensor:
    """The gradient for the operand with subscripts ``target``: itself an einsum of ``g`` and the
    other operands, plus constants for what that cannot say directly (repeated subscripts take
    an identity matrix per repeat; subscripts summed in this operand alone, a vector of ones).
    Dims that broadcast from size one elsewhere come back with size one: expanded here."""
    from .._creation import eye, ones

    available = set(out).union(*(s for s, _ in others))
    terms, operands = [out] + [s for s, _ in others], [g] + [t for _, t in others]
    result = []
    for c in target:
        if c in result:
            fresh = unused.pop()
            terms.append(c + fresh)
            operands.append(eye(sizes[c], dtype=g.dtype))
            result.append(fresh)
            continue
        if c not in available:
            terms.append(c)
            operands.append(ones(sizes[c], dtype=g.dtype))
        result.append(c)
    grad = einsum(",".join(terms) + "->" + "".join(result), *operands)
    full = tuple(n if m == 1 else m for m, n in zip(grad.shape, shape))
    return grad if full == grad.shape else grad.expand(full)


def _einsum_vjp(ctx: Any, g: Tensor) -> tuple:
    equation = ctx.attrs["equation"]
    lhs, _, out = equation.partition("->")
    subs = lhs.split(",")
    sizes = _einsum_sizes(subs, ctx.shapes)
    unused = [c for c in _LETTERS if c not in equation]
    operands = ctx.inputs
    grads = []
    for i, need in enumerate(ctx.needs_input_grad):
        # complex operands: the gradient takes the others' conjugates, as matmul's does
        others = [(s, t.conj()) for j, (s, t) in enumerate(zip(subs, operands)) if j != i]
        grads.append(_einsum_input_grad(subs[i], ctx.shapes[i], out, g, others, sizes,
                                        list(unused))
                     if need else None)
    return tuple(grads)


EINSUM = defop("einsum", in_float32(_einsum_forward), _einsum_meta, _einsum_vjp,
               amp="lower", complex=True)


def _sublist_equation(args: Sequence[Any]) -> tuple:
    """``einsum(op0, sub0, op1, sub1, …, [out])``: the equation and the operands."""
    def letters(sub: Sequence[Any]) -> str:
        return "".join("..." if s is Ellipsis else _LETTERS[s] for s in sub)

    operands, subs = args[0::2], args[1::2]
    equation = ",".join(letters(s) for s in subs[:len(operands)])
    if len(subs) < len(operands):  # the last item was the output sublist
        equation += "->" + letters(operands[-1])
        operands = operands[:-1]
    return equation, operands


def einsum(*args: Any) -> Tensor:
    """Sum of products over the subscripts of ``equation`` (PyTorch's ``einsum``).

    Args:
        equation: e.g. ``"bij,bjk->bik"``; ``...`` stands for broadcast dims; without ``->`` the
            output holds the subscripts seen once, sorted. Also accepted: the sublist form
            ``einsum(op0, [0, 1], op1, [1, 2], [0, 2])``.
        operands: the tensors, as separate arguments or one list.

    Example:
        >>> einsum("ii->i", deepseek.eye(2))
        tensor([1., 1.])
    """
    if not args or (isinstance(args[0], str) and len(args) == 1):
        raise op_error(ValueError, "einsum", "einsum(): must specify the equation string and at "
                       "least one operand, or at least one operand and its subscripts list")
    if isinstance(args[0], str):
        equation, operands = args[0], args[1:]
        if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
            operands = tuple(operands[0])
    else:
        equation, operands = _sublist_equation(args)
    for i, t in enumerate(operands):
        if not isinstance(t, Tensor):
            raise op_error(TypeError, "einsum", f"expected Tensor as element {i} in argument 1, "
                           f"but got {type(t).__name__}")
    subs, out = _parse_einsum(equation, [t.shape for t in operands])
    return apply(EINSUM, *operands, equation=",".join(subs) + "->" + out)


def tensordot(a: Tensor, b: Tensor, dims: Any = 2) -> Tensor:
    """Contract the last ``dims`` dims of ``a`` with the first of ``b``, or the dims listed in
    ``dims = (dims_a, dims_b)``."""
    a, b = require_tensor("tensordot", a, "a"), require_tensor("tensordot", b, "b")
    if isinstance(dims, Tensor):
        dims = dims.tolist()
    if isinstance(dims, (int, np.integer)):
        if dims < 0:
            raise op_error(RuntimeError, "tensordot", f"tensordot expects dims >= 0, but got "
                           f"dims={dims}")
        dims_a, dims_b = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    elif (isinstance(dims, (list, tuple)) and len(dims) == 2
          and all(isinstance(d, (list, tuple)) for d in dims)):
        dims_a, dims_b = dims
    else:
        raise op_error(TypeError, "tensordot", "dims must be an int or a pair of lists of dims, "
                       f"got {dims!r}")
    if len(dims_a) != len(dims_b):
        raise op_error(RuntimeError, "tensordot", "both dimension lists should have same length")
    if a._data.dtype != b._data.dtype:
        raise op_error(RuntimeError, "tensordot", "both inputs should have same dtype",
                       a._data, b._data)
    sub_a, sub_b = list(_LETTERS[:a.ndim]), list(_LETTERS[a.ndim:a.ndim + b.ndim])
    for da, db in zip(dims_a, dims_b):
        ia, ib = wrap_dim("tensordot", da, a.ndim), wrap_dim("tensordot", db, b.ndim)
        if a.shape[ia] != b.shape[ib]:
            raise op_error(RuntimeError, "tensordot", f"contracted dimensions need to match, but "
                           f"first has size {a.shape[ia]} in dim {da} and second has size "
                           f"{b.shape[ib]} in dim {db}", a._data, b._data)
        sub_b[ib] = sub_a[ia]
    kept = [c for c in sub_a + sub_b if (sub_a + sub_b).count(c) == 1]
    return einsum(f"{''.join(sub_a)},{''.join(sub_b)}->{''.join(kept)}", a, b)


@tensor_method
def inner(input: Tensor, other: Tensor) -> Tensor:
    """Sums of products over the last dims of both (a product when either is 0-d): shape
    ``input.shape[:-1] + other.shape[:-1]``."""
    a, b = require_tensor("inner", input), require_tensor("inner", other, "other")
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    if a.shape[-1] != b.shape[-1]:
        raise op_error(RuntimeError, "inner", "inner() the last dimension must match on both "
                       f"input tensors but got shapes {list(a.shape)} and {list(b.shape)}",
                       a._data, b._data)
    return tensordot(a, b, ([a.ndim - 1], [b.ndim - 1]))


@tensor_method
def kron(input: Tensor, other: Tensor) -> Tensor:
    """Kronecker product: blocks ``input[i] * other`` (the shorter shape gains leading ones)."""
    a, b = require_tensor("kron", input), require_tensor("kron", other, "other")
    n = max(a.ndim, b.ndim)
    sa = (1,) * (n - a.ndim) + tuple(a.shape)
    sb = (1,) * (n - b.ndim) + tuple(b.shape)
    pa = tuple(x for s in sa for x in (s, 1))  # a's dims interleaved with b's
    pb = tuple(x for s in sb for x in (1, s))
    return (a.reshape(pa) * b.reshape(pb)).reshape(tuple(i * j for i, j in zip(sa, sb)))


# ---------------------------------------------------------------- matrix functions
def _square_meta(name: str):
    def meta(a: Any) -> tuple:
        _check_matrices(name, a)
        return (a.shape[:-2] if name == "linalg.det" else a.shape), a.dtype

    return meta


def _check_matrices(name: str, a: Any, square: bool = True) -> None:
    if not is_float(a.dtype):
        raise op_error(RuntimeError, name, f"{name}: Expected a floating point or complex tensor "
                       f"as input. Got {_dt.from_numpy_dtype(a.dtype).name}", a)
    if a.ndim < 2:
        raise op_error(RuntimeError, name, f"{name}: The input tensor A must have at least 2 "
                       "dimensions.", a)
    if square and a.shape[-1] != a.shape[-2]:
        raise op_error(RuntimeError, name, f"{name}: A must be batches of square matrices, but "
                       f"they are {a.shape[-2]} by {a.shape[-1]} matrices", a)
    if square and a.dtype in LOWP:
        raise op_error(RuntimeError, name, f"{name}: Low precision dtypes not supported. Got "
                       f"{_dt.from_numpy_dtype(a.dtype).name}", a)


def _inv_vjp(ctx: Any, g: Tensor) -> tuple:
    inv_t = ctx.out.mT
    return (-(inv_t @ g @ inv_t),)


def _det_vjp(ctx: Any, g: Tensor) -> tuple:
    (a,) = ctx.inputs
    return (((g * ctx.out)[..., None, None]) * inv(a).mT,)


def _solve_meta(a: Any, b: Any) -> tuple:
    _check_matrices("linalg.solve", a)
    _same_dtype("linalg.solve", (a, b))
    if b.ndim < 2 or b.shape[-2] != a.shape[-1]:
        raise op_error(RuntimeError, "linalg.solve", "Incompatible shapes of A and B for the "
                       f"equation AX = B ({a.shape[-2]}x{a.shape[-1]} and "
                       f"{'x'.join(map(str, b.shape[-2:]))})", a, b)
    batch = broadcast_shapes("linalg.solve", _Shape(a.shape[:-2]), _Shape(b.shape[:-2]))
    return batch + b.shape[-2:], a.dtype


def _solve_forward(xp: Any, a: Any, b: Any) -> Any:
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    return xp.linalg.solve(xp.broadcast_to(a, batch + a.shape[-2:]),
                           xp.broadcast_to(b, batch + b.shape[-2:]))


def _solve_vjp(ctx: Any, g: Tensor) -> tuple:
    a, _ = ctx.inputs
    grad_b = apply(SOLVE, a.mT, g)
    return (-(grad_b @ ctx.out.mT) if ctx.needs_input_grad[0] else None), grad_b


def _svdvals_vjp(ctx: Any, g: Tensor) -> tuple:
    # First-order only: the singular vectors are constants here (no second derivative through
    # them). dS_i = u_i^T dA v_i, so dA = U diag(g) V^T.
    (a,) = ctx.inputs
    data = a.detach()._data
    u, _, vh = np.linalg.svd(data.astype(_F32) if data.dtype in LOWP else data, full_matrices=False)
    return ((Tensor._wrap(u) * g.unsqueeze(-2)) @ Tensor._wrap(vh),)


def _svdvals_meta(a: Any) -> tuple:
    _check_matrices("linalg.svdvals", a, square=False)
    return a.shape[:-2] + (min(a.shape[-2:]),), a.dtype


INV = defop("linalg_inv", lambda xp, a: xp.linalg.inv(a), _square_meta("linalg.inv"), _inv_vjp,
            amp="fp32", save_inputs=False, save_output=True)
DET = defop("linalg_det", lambda xp, a: xp.linalg.det(a), _square_meta("linalg.det"), _det_vjp,
            amp="fp32", save_output=True)
SOLVE = defop("linalg_solve", _solve_forward, _solve_meta, _solve_vjp, amp="fp32",
              save_output=True)
SVDVALS = defop("linalg_svdvals",
                in_float32(lambda xp, a: xp.linalg.svd(a, compute_uv=False)),
                _svdvals_meta, _svdvals_vjp, amp="fp32")


def inv(A: Tensor) -> Tensor:
    """The inverse of each square matrix in ``A`` (``(*, n, n)``)."""
    return apply(INV, require_tensor("linalg.inv", A, "A"))


def det(A: Tensor) -> Tensor:
    """The determinant of each square matrix in ``A`` (``(*, n, n)``)."""
    return apply(DET, require_tensor("linalg.det", A, "A"))


def solve(A: Tensor, B: Tensor, *, left: bool = True) -> Tensor:
    """``X`` with ``A @ X = B`` (``X @ A = B`` when ``left=False``); ``B`` may be a batch of
    vectors ``(*, n)`` when its shape is ``A``'s without the last dim."""
    A, B = require_tensor("linalg.solve", A, "A"), require_tensor("linalg.solve", B, "B")
    if not left:
        return solve(A.mT, B.mT).mT
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and B.shape == A.shape[:-1])
    if vector:
        return apply(SOLVE, A, B.unsqueeze(-1)).squeeze(-1)
    return apply(SOLVE, A, B)


def svdvals(A: Tensor) -> Tensor:
    """The singular values of each matrix in ``A``, in descending order."""
    return apply(SVDVALS, require_tensor("linalg.svdvals", A, "A"))


def cross(input: Tensor, other: Tensor, *, dim: int = -1) -> Tensor:
    """Cross product of 3-vectors along ``dim`` (the other dims broadcast)."""
    from .movement import cat, narrow

    a, b = require_tensor("linalg.cross", input), require_tensor("linalg.cross", other, "other")
    if a.ndim != b.ndim:
        raise op_error(RuntimeError, "linalg.cross", "linalg.cross: inputs must have the same "
                       "number of dimensions.", a._data, b._data)
    d = wrap_dim("linalg.cross", dim, a.ndim)
    if a.shape[d] != 3 or b.shape[d] != 3:
        raise op_error(RuntimeError, "linalg.cross", f"linalg.cross: inputs dimension {dim} must "
                       f"have length 3. Got {a.shape[d]} and {b.shape[d]}", a._data, b._data)
    _same_dtype("linalg.cross", (a._data, b._data))

    def rolled(t: Tensor, k: int) -> Tensor:  # components (k, k+1, k+2) mod 3
        return cat([narrow(t, d, k, 3 - k), narrow(t, d, 0, k)], d)

    return rolled(a, 1) * rolled(b, 2) - rolled(a, 2) * rolled(b, 1)


@tensor_method(name="cross")
def legacy_cross(input: Tensor, other: Tensor, dim: Any = None) -> Tensor:
    """``torch.cross``: :func:`linalg.cross`, except that without ``dim`` it takes the first dim
    of size 3 (deprecated, with torch's warning)."""
    if dim is None:
        a, b = require_tensor("cross", input), require_tensor("cross", other, "other")
        shape = broadcast_shapes("cross", a._data, b._data)
        if 3 not in shape:
            raise op_error(RuntimeError, "cross", "no dimension of size 3 in input", a._data,
                           b._data)
        warnings.warn("Using deepseek.cross without specifying the dim arg is deprecated. "
                      "Please either pass the dim explicitly or simply use "
                      "deepseek.linalg.cross.", UserWarning, stacklevel=2)
        dim = shape.index(3)
    return cross(input, other, dim=dim)


@tensor_method
def renorm(input: Tensor, p: float, dim: int, maxnorm: float) -> Tensor:
    """Each slice along ``dim`` whose ``p``-norm exceeds ``maxnorm`` scaled down to norm
    ``maxnorm`` (as torch: by ``maxnorm / (norm + 1e-7)``); the other slices unchanged."""
    from .elementwise import where
    from .reduce import vector_norm

    x = require_tensor("renorm", input)
    d = wrap_dim("renorm", dim, x.ndim)
    if not p > 0:
        raise op_error(RuntimeError, "renorm", f"renorm: non-positive-norm not supported, got "
                       f"p={p}", x._data)
    if maxnorm < 0:
        raise op_error(RuntimeError, "renorm", f"renorm: expected maxnorm to be >= 0 but got "
                       f"{maxnorm}", x._data)
    norms = vector_norm(x, p, dim=[i for i in range(x.ndim) if i != d], keepdim=True)
    return x * where(norms > maxnorm, maxnorm / (norms + 1e-7), 1.0)


renorm_ = _inplace_of("renorm", renorm)


# ---------------------------------------------------------------- matrix norms
def matrix_norm(A: Tensor, ord: Any = "fro", dim: Sequence[int] = (-2, -1), keepdim: bool = False,
                *, dtype: Any = None) -> Tensor:
    """A matrix norm over the two dims ``dim``.

    Args:
        A: a floating-point tensor of at least 2 dims.
        ord: ``'fro'``, ``'nuc'`` (sum of singular values), ``inf``/``-inf`` (max/min row sum of
            absolute values), ``1``/``-1`` (max/min column sum), ``2``/``-2`` (largest/smallest
            singular value).
        dim: the two dims holding the matrices.
        keepdim: keep the reduced dims with size one.
        dtype: compute and return in this (wider) dtype.
    """
    from .reduce import amax, amin, vector_norm

    name = "linalg.matrix_norm"
    A = require_tensor(name, A, "A")
    _check_matrices(name, A._data, square=False)
    dim = tuple(dim) if isinstance(dim, (list, tuple)) else (dim,)
    if len(dim) != 2:
        raise op_error(RuntimeError, name, f"{name}: dim must be a 2-tuple. Got "
                       f"{' '.join(map(str, dim))}")
    d0, d1 = (wrap_dim(name, d, A.ndim) for d in dim)
    if d0 == d1:
        raise op_error(RuntimeError, name, f"{name}: dims must be different. Got {dim}")
    if ord == "fro":
        return vector_norm(A, 2, (d0, d1), keepdim, dtype=dtype)
    if ord not in ("nuc", 1, -1, 2, -2, math.inf, -math.inf):
        raise op_error(RuntimeError, name, f"{name}: Order {ord} not supported.")
    from .reduce import _norm_dtype

    A = _norm_dtype(name, A, dtype)
    if ord in ("nuc", 2, -2):
        s = svdvals(A.movedim((d0, d1), (-2, -1)))
        out = s.sum(-1) if ord == "nuc" else (amax if ord == 2 else amin)(s, -1)
        if keepdim:
            for d in sorted((d0, d1)):
                out = out.unsqueeze(d)
        return out
    # inf: the largest row sum of |A| (sum over columns); 1: the largest column sum
    summed, other = (d1, d0) if abs(ord) == math.inf else (d0, d1)
    sums = A.abs().sum(summed, keepdim=True)
    out = (amax if ord > 0 else amin)(sums, other, keepdim=True)
    return out if keepdim else out.squeeze((d0, d1))


def norm(A: Tensor, ord: Any = None, dim: Any = None, keepdim: bool = False, *,
         dtype: Any = None) -> Tensor:
    """A vector norm (``dim`` an int, or ``A`` 1-d) or a matrix norm (``dim`` a 2-tuple, or ``A``
    2-d); with neither ``ord`` nor ``dim``, the 2-norm of all elements."""
    from .reduce import vector_norm

    name = "linalg.norm"
    A = require_tensor(name, A, "A")
    if dim is None and ord is not None:
        if A.ndim not in (1, 2):
            raise op_error(RuntimeError, name, f"{name}: If dim is not specified but ord is, the "
                           f"input must be 1D or 2D. Got {A.ndim}D.", A._data)
        dim = tuple(range(A.ndim))
    if dim is not None and not isinstance(dim, (int, np.integer)) and len(dim) == 2:
        return matrix_norm(A, "fro" if ord is None else ord, dim, keepdim, dtype=dtype)
    if isinstance(ord, str):
        return matrix_norm(A, ord, dim, keepdim, dtype=dtype)
    return vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype)
