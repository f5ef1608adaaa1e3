"""``fuse_modules``: replace named layer sequences by one fused module (BatchNorm folded in
eval mode, kept apart for QAT), the others by ``Identity``."""

from __future__ import annotations

import copy
from typing import Callable, Optional, Sequence

from ..nn.modules.activation import ReLU
from ..nn.modules.batchnorm import BatchNorm1d, BatchNorm2d
from ..nn.modules.conv import Conv2d
from ..nn.modules.linear import Identity, Linear
from ..nn.modules.module import Module
from ..nn.utils.fusion import fuse_conv_bn_eval, fuse_linear_bn_eval
from .nn import intrinsic as nni

__all__ = ["fuse_modules", "fuse_modules_qat", "fuse_known_modules", "get_fuser_method"]


def _conv_bn(is_qat: bool, conv: Module, bn: Module) -> Module:
    if is_qat:
        if not (conv.training and bn.training):
            raise AssertionError("fuse_modules_qat: conv and bn must both be in training mode")
        return nni.ConvBn2d(conv, bn)
    return fuse_conv_bn_eval(conv, bn)


def _conv_bn_relu(is_qat: bool, conv: Module, bn: Module, relu: Module) -> Module:
    if is_qat:
        if not (conv.training and bn.training):
            raise AssertionError("fuse_modules_qat: conv and bn must both be in training mode")
        return nni.ConvBnReLU2d(conv, bn, relu)
    return nni.ConvReLU2d(fuse_conv_bn_eval(conv, bn), relu)


def _linear_bn(is_qat: bool, linear: Module, bn: Module) -> Module:
    if is_qat:
        raise NotImplementedError("fuse_modules_qat: Linear + BatchNorm1d fusion for QAT is "
                                  "not supported; fuse it in eval mode with fuse_modules")
    return fuse_linear_bn_eval(linear, bn)


_FUSERS: dict = {
    (Conv2d, BatchNorm2d): _conv_bn,
    (Conv2d, BatchNorm2d, ReLU): _conv_bn_relu,
    (Conv2d, ReLU): lambda is_qat, conv, relu: nni.ConvReLU2d(conv, relu),
    (Linear, ReLU): lambda is_qat, linear, relu: nni.LinearReLU(linear, relu),
    (Linear, BatchNorm1d): _linear_bn,
}


def get_fuser_method(op_list: tuple, additional_fuser_method_mapping: Optional[dict] = None
                     ) -> Optional[Callable]:
    """The function fusing modules of the types ``op_list``, or None."""
    mapping = dict(_FUSERS)
    mapping.update(additional_fuser_method_mapping or {})
    return mapping.get(tuple(op_list))


def fuse_known_modules(mod_list: list, is_qat: bool = False,
                       additional_fuser_method_mapping: Optional[dict] = None) -> list:
    """The fused module followed by ``Identity`` for each other position of ``mod_list``."""
    types = tuple(type(m) for m in mod_list)
    fuser = get_fuser_method(types, additional_fuser_method_mapping)
    if fuser is None:
        known = [[t.__name__ for t in k] for k in _FUSERS]
        raise NotImplementedError(f"fuse_modules: cannot fuse {[t.__name__ for t in types]}; "
                                  f"the supported sequences are {known}")
    return [fuser(is_qat, *mod_list)] + [Identity() for _ in mod_list[1:]]


def _fuse(model: Module, modules_to_fuse: Sequence, is_qat: bool, inplace: bool,
          fuser_func: Callable, fuse_custom_config_dict: Optional[dict]) -> Module:
    if not inplace:
        model = copy.deepcopy(model)
    groups = modules_to_fuse
    if groups and all(isinstance(name, str) for name in groups):
        groups = [groups]
    extra = (fuse_custom_config_dict or {}).get("additional_fuser_method_mapping")
    for group in groups:
        try:
            mods = [model.get_submodule(name) for name in group]
        except AttributeError as e:
            raise AttributeError(f"fuse_modules: {e}") from None
        fused = fuser_func(mods, is_qat, extra) if fuser_func is fuse_known_modules else (
            fuser_func(mods, is_qat))
        for name, new in zip(group, fused):
            parent, _, leaf = name.rpartition(".")
            setattr(model.get_submodule(parent) if parent else model, leaf, new)
    return model


def fuse_modules(model: Module, modules_to_fuse: Sequence, inplace: bool = False,
                 fuser_func: Callable = fuse_known_modules,
                 fuse_custom_config_dict: Optional[dict] = None) -> Module:
    """Fuse each named group of layers (eval mode: BatchNorm is folded in).

    Supported groups: Conv2d-BatchNorm2d, Conv2d-BatchNorm2d-ReLU, Conv2d-ReLU, Linear-ReLU,
    Linear-BatchNorm1d. The first name gets the fused module, the others ``Identity``.

    Args:
        model: the model (a copy is fused unless ``inplace``).
        modules_to_fuse: a list of names, or a list of such lists (``"features.0"`` style).

    Example::

        >>> m = ds.nn.Sequential(ds.nn.Conv2d(3, 4, 3), ds.nn.BatchNorm2d(4), ds.nn.ReLU())
        >>> fuse_modules(m.eval(), [["0", "1", "2"]])[0].__class__.__name__
        'ConvReLU2d'
    """
    return _fuse(model, modules_to_fuse, False, inplace, fuser_func, fuse_custom_config_dict)


def fuse_modules_qat(model: Module, modules_to_fuse: Sequence, inplace: bool = False,
                     fuser_func: Callable = fuse_known_modules,
                     fuse_custom_config_dict: Optional[dict] = None) -> Module:
    """As :func:`fuse_modules` for a training-mode model: Conv-BN(-ReLU) become
    ``ConvBn2d``/``ConvBnReLU2d``, which ``prepare_qat`` turns into their QAT versions."""
    return _fuse(model, modules_to_fuse, True, inplace, fuser_func, fuse_custom_config_dict)


