"""``functionalize`` and ``replace_all_batch_norm_modules_``, as in ``torch.func``."""

from __future__ import annotations

import functools
from typing import Any, Callable

__all__ = ["functionalize", "replace_all_batch_norm_modules_"]

_REMOVE_HELP = (
    "     remove='mutations': all inplace and out= operators will be removed from the program, "
    "and replaced with their out-of-place equivalents.\n"
    "     remove='mutations_and_views': In addition to the above, all aliasing operators {view} "
    "will be replaced with their non-aliasing counterparts, {view}_copy.\n")


def functionalize(func: Callable, *, remove: str = "mutations") -> Callable:
    """``func`` with the observable behaviour torch's functionalization keeps: the same outputs,
    and every in-place change ``func`` makes to its inputs applied to them.

    torch rewrites the traced program without mutations for its compilers; our eager engine
    runs ``func`` as written, which gives exactly those results (``ds.jit`` handles in-place
    effects itself), so the wrapper validates ``remove`` and calls ``func``.

    Args:
        func (Callable): the function.
        remove (str): ``'mutations'`` or ``'mutations_and_views'``.

    Example:
        >>> def f(x):
        ...     x.add_(1)
        ...     return x * 2
        >>> x = ds.zeros(2)
        >>> functionalize(f)(x).tolist(), x.tolist()
        ([2.0, 2.0], [1.0, 1.0])
    """
    if remove not in ("mutations", "mutations_and_views"):
        raise RuntimeError(f"functionalize(f, remove='mutations'): received invalid argument for "
                           f"remove={remove}. Valid options are:\n{_REMOVE_HELP}")

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    return wrapper


def replace_all_batch_norm_modules_(root: Any) -> Any:
    """Turn off running statistics in every batch-norm module of ``root`` in place (their
    ``running_mean``, ``running_var`` and ``num_batches_tracked`` become None and
    ``track_running_stats`` False), so they normalize by batch statistics under ``vmap``.

    Returns ``root``.

    Example:
        >>> net = ds.nn.Sequential(ds.nn.Linear(2, 3), ds.nn.BatchNorm1d(3))
        >>> replace_all_batch_norm_modules_(net)[1].running_mean is None
        True
    """
    from ..nn.modules.batchnorm import _BatchNorm

    for module in root.modules():
        if isinstance(module, _BatchNorm) and module.track_running_stats:
            module.running_mean = None
            module.running_var = None
            module.num_batches_tracked = None
            module.track_running_stats = False
    return root
