"""``vmap``: a function of one example mapped over a batch dimension of its inputs.

The function runs once per batch element on that element's slices and the outputs are
stacked, so every op works under vmap and composes with the differentiating transforms in
either order; what torch batches into one kernel runs here as a loop.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Optional

from ..tensor import Tensor
from ._pytree import broadcast_prefix, tree_flatten, tree_unflatten
from ._randomness import RandomnessScope, check_randomness_arg

__all__ = ["vmap"]


def _name(func: Callable) -> str:
    return getattr(func, "__name__", repr(func))


def vmap(func: Callable, in_dims: Any = 0, out_dims: Any = 0, randomness: str = "error", *,
         chunk_size: Optional[int] = None) -> Callable:
    """``func`` mapped over a dimension of its inputs: ``func`` sees one example at a time
    (the mapped dimension removed) and the results are stacked along ``out_dims``.

    Args:
        func (Callable): takes tensors (or pytrees of them) and returns a pytree of tensors.
        in_dims (int, None or tuple): the dimension to map over in each positional argument;
            None leaves an argument unmapped. A tuple matches the arguments and may nest
            tuples, lists and dicts matching their structure. Keyword arguments are never
            mapped. Default: 0.
        out_dims (int, None or pytree): where the mapped dimension goes in each output; None
            returns an output that is the same for every example as it is. Default: 0.
        randomness (str): ``'error'`` refuses random draws in ``func``; ``'different'`` lets
            each example draw its own; ``'same'`` gives every example the same draws.
        chunk_size (int, optional): accepted as torch's; since the examples run one at a
            time anyway, it changes nothing but must be positive.

    Example:
        >>> x, w = ds.randn(5, 3), ds.randn(3)
        >>> vmap(lambda row, w: row @ w, in_dims=(0, None))(x, w).shape
        deepseek.Size([5])
    """
    check_randomness_arg(randomness)
    if chunk_size is not None and not (isinstance(chunk_size, int) and chunk_size > 0):
        raise ValueError(f"vmap: chunk_size should be None or greater than 0. (got {chunk_size})")

    @functools.wraps(func)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        name = _name(func)
        leaves, spec, dims, size = _map_inputs(name, in_dims, args)
        scope = RandomnessScope(randomness)
        if size == 0:
            return _empty_outputs(name, func, leaves, spec, dims, kwargs, out_dims)
        results = []
        for i in range(size):
            example = [x if d is None else x.select(d, i) for x, d in zip(leaves, dims)]
            results.append(scope.call(func, *tree_unflatten(example, spec), **kwargs))
        return _stack_outputs(name, results, out_dims)

    return wrapped


def _map_inputs(name: str, in_dims: Any, args: tuple) -> tuple:
    """The flat arguments, their structure, one normalized dim (or None) each, and the batch
    size; every check of ``in_dims`` against the arguments."""
    where = f"vmap({name}, in_dims={in_dims}, ...)(<inputs>)"
    if not args:
        raise ValueError(f"vmap({name})(<inputs>): got no inputs. Maybe you forgot to add "
                         "inputs, or you are trying to vmap over a function with no inputs. "
                         "The latter is unsupported.")
    if not (in_dims is None or isinstance(in_dims, (int, tuple))):
        raise ValueError(f"{where}: expected `in_dims` to be int or a (potentially nested) tuple "
                         f"matching the structure of inputs, got: {type(in_dims)}.")
    leaves, spec = tree_flatten(args)
    dims = broadcast_prefix(in_dims, args)
    if dims is None:
        raise ValueError(f"{where}: in_dims is not compatible with the structure of `inputs`. "
                         f"in_dims has structure {tree_flatten(in_dims)[1]} but inputs has "
                         f"structure {spec}.")
    normalized, sizes = [], []
    for x, d in zip(leaves, dims):
        if d is None:
            normalized.append(None)
            continue
        if not isinstance(d, int) or isinstance(d, bool):
            raise ValueError(f"{where}: Got in_dim={d} for an input but in_dim must be either an "
                             "integer dimension or None.")
        if not isinstance(x, Tensor):
            raise ValueError(f"{where}: Got in_dim={d} for an input but the input is of type "
                             f"{type(x)}. We cannot vmap over non-Tensor arguments, please use "
                             "None as the respective in_dim")
        n = x.dim()
        if not -n <= d < n:
            raise ValueError(f"{where}: Got in_dim={d} for some input, but that input is a Tensor "
                             f"of dimensionality {n} so expected in_dim to satisfy "
                             f"-{n} <= in_dim < {n}.")
        normalized.append(d % n)
        sizes.append(x.shape[d])
    if not sizes:
        raise ValueError("vmap: Expected at least one Tensor to vmap over")
    if len(set(sizes)) > 1:
        raise ValueError("vmap: Expected all tensors to have the same size in the mapped "
                         f"dimension, got sizes {sizes} for the mapped dimension")
    return leaves, spec, normalized, sizes[0]


def _out_dims_per_leaf(name: str, out_dims: Any, first: Any) -> list:
    for d in tree_flatten(out_dims)[0]:
        if d is not None and (not isinstance(d, int) or isinstance(d, bool)):
            raise ValueError(f"vmap({name}, ..., out_dims={out_dims}): `out_dims` must be an int, "
                             "None or a python collection of ints representing where in the "
                             "outputs the vmapped dimension should appear.")
    prefix = out_dims
    if isinstance(out_dims, tuple) and len(out_dims) == 1 and not isinstance(first, tuple):
        prefix = out_dims[0]  # out_dims=(0,) for a function returning one tensor
    dims = broadcast_prefix(prefix, first)
    if dims is None:
        raise ValueError(f"vmap({name}, ..., out_dims={out_dims})(<inputs>): out_dims is not "
                         "compatible with the structure of `outputs`. out_dims has structure "
                         f"{tree_flatten(out_dims)[1]} but outputs has structure "
                         f"{tree_flatten(first)[1]}.")
    return dims


def _same_value(a: Any, b: Any) -> bool:
    from ..ops.elementwise import equal

    if a is b:
        return True
    if not (isinstance(a, Tensor) and isinstance(b, Tensor)):
        return a == b
    return a.shape == b.shape and a.dtype == b.dtype and equal(a.detach(), b.detach())


def _stack_outputs(name: str, results: list, out_dims: Any) -> Any:
    from ..ops.movement import stack

    flats = [tree_flatten(r) for r in results]
    spec = flats[0][1]
    for _, other in flats[1:]:
        if other != spec:
            raise ValueError(f"vmap({name}, ...): `{name}` returned outputs of different "
                             f"structures for different batch elements: {spec} and {other}")
    dims = _out_dims_per_leaf(name, out_dims, results[0])
    out = []
    for j, d in enumerate(dims):
        column = [leaves[j] for leaves, _ in flats]
        first = column[0]
        if d is None:
            # the examples' outputs agree exactly where torch would see an unbatched tensor
            if not all(_same_value(first, c) for c in column[1:]):
                raise ValueError(f"vmap({name}, ...): `{name}` can not return a BatchedTensor "
                                 "when out_dim is None")
            out.append(first)
            continue
        for c in column:
            if not isinstance(c, Tensor):
                raise ValueError(f"vmap({name}, ...): `{name}` must only return Tensors, got "
                                 f"type {type(c)}. Did you mean to set out_dims= to None for "
                                 "output?")
            if c.shape != first.shape:
                raise ValueError(f"vmap({name}, ...): `{name}` returned tensors of shapes "
                                 f"{list(first.shape)} and {list(c.shape)} for different batch "
                                 "elements; every example's output must have the same shape")
        n = first.dim() + 1
        if not -n <= d < n:
            raise IndexError(f"vmap({name}, ..., out_dims={out_dims}): Dimension out of range "
                             f"(expected to be in range of [{-n}, {n - 1}], but got {d})")
        out.append(stack(column, dim=d))
    return tree_unflatten(out, spec)


def _empty_outputs(name: str, func: Callable, leaves: list, spec: Any, dims: list, kwargs: dict,
                   out_dims: Any) -> Any:
    """A batch of zero examples: ``func`` runs once on zeros to learn the output shapes, and
    each output comes back empty along its mapped dimension."""
    from .._creation import zeros
    from ..autograd.grad_mode import no_grad

    example = []
    for x, d in zip(leaves, dims):
        if d is None:
            example.append(x)
        else:
            shape = tuple(x.shape[:d]) + tuple(x.shape[d + 1:])
            example.append(zeros(shape, dtype=x.dtype))
    with no_grad():
        sample = func(*tree_unflatten(example, spec), **kwargs)
    flat, out_spec = tree_flatten(sample)
    out = []
    for o, d in zip(flat, _out_dims_per_leaf(name, out_dims, sample)):
        if d is None or not isinstance(o, Tensor):
            out.append(o)
            continue
        shape = list(o.shape)
        shape.insert(d % (o.dim() + 1), 0)
        out.append(zeros(tuple(shape), dtype=o.dtype))
    return tree_unflatten(out, out_spec)
