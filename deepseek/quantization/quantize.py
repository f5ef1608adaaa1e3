"""The eager-mode flow: ``prepare`` (attach observers), ``prepare_qat``, ``convert`` (swap in
quantized modules), ``quantize``, ``quantize_dynamic``; and the module mappings they use."""

from __future__ import annotations

import copy
import warnings
from typing import Any, Callable, Optional

from ..nn.modules.activation import ReLU
from ..nn.modules.container import Sequential
from ..nn.modules.conv import Conv2d
from ..nn.modules.linear import Linear
from ..nn.modules.module import Module
from ._qtypes import as_qdtype, qint8
from .nn import intrinsic as nni
from .nn import qat as nnqat
from .nn import quantized as nnq
from .nn.quantized import dynamic as nnqd
from .qconfig import default_dynamic_qconfig
from .stubs import DeQuantStub, QuantStub

__all__ = ["prepare", "prepare_qat", "convert", "quantize", "quantize_dynamic",
           "propagate_qconfig_", "get_default_static_quant_module_mappings",
           "get_default_qat_module_mappings", "get_default_dynamic_quant_module_mappings"]

_STATIC = {
    QuantStub: nnq.Quantize, DeQuantStub: nnq.DeQuantize, Linear: nnq.Linear,
    Conv2d: nnq.Conv2d, ReLU: nnq.ReLU, nni.LinearReLU: nnq.LinearReLU,
    nni.ConvReLU2d: nnq.ConvReLU2d, nnqat.Linear: nnq.Linear, nnqat.Conv2d: nnq.Conv2d,
    nnqat.LinearReLU: nnq.LinearReLU, nnqat.ConvReLU2d: nnq.ConvReLU2d,
    nnqat.ConvBn2d: nnq.Conv2d, nnqat.ConvBnReLU2d: nnq.ConvReLU2d,
}
_QAT = {
    Linear: nnqat.Linear, Conv2d: nnqat.Conv2d, nni.LinearReLU: nnqat.LinearReLU,
    nni.ConvReLU2d: nnqat.ConvReLU2d, nni.ConvBn2d: nnqat.ConvBn2d,
    nni.ConvBnReLU2d: nnqat.ConvBnReLU2d,
}
_DYNAMIC = {Linear: nnqd.Linear}
# swapped by convert but, as in PyTorch, not observed: their output keeps the input's qparams
_UNOBSERVED = (ReLU, DeQuantStub)


def get_default_static_quant_module_mappings() -> dict:
    """Float (or QAT) module type → quantized module type, for ``convert``."""
    return dict(_STATIC)


def get_default_qat_module_mappings() -> dict:
    """Float module type → QAT module type, for ``prepare_qat``."""
    return dict(_QAT)


def get_default_dynamic_quant_module_mappings() -> dict:
    """Float module type → dynamically quantized module type, for ``quantize_dynamic``."""
    return dict(_DYNAMIC)


def _observed_types() -> set:
    types = set(_STATIC) | set(_QAT) | set(_DYNAMIC)
    return {t for t in types if not issubclass(t, _UNOBSERVED)}


def propagate_qconfig_(module: Module, qconfig_dict: Optional[dict] = None,
                       prepare_custom_config_dict: Optional[dict] = None) -> None:
    """Give every submodule a ``qconfig``: its own, else the entry for its name or type in
    ``qconfig_dict``, else its parent's."""
    qconfig_dict = qconfig_dict or {}

    def visit(mod: Module, parent: Any, prefix: str) -> None:
        qconfig = qconfig_dict.get(type(mod), parent)
        qconfig = qconfig_dict.get(prefix, qconfig)
        qconfig = getattr(mod, "qconfig", qconfig)
        mod.qconfig = qconfig
        for name, child in mod.named_children():
            visit(child, qconfig, f"{prefix}.{name}" if prefix else name)

    visit(module, qconfig_dict.get("", None), "")


def _observer_forward_hook(module: Module, input: Any, output: Any) -> Any:
    return module.activation_post_process(output)


def _insert_observer(mod: Module) -> None:
    if getattr(mod, "qconfig", None) is None or isinstance(mod, DeQuantStub):
        return
    mod.activation_post_process = mod.qconfig.activation()
    mod.register_forward_hook(_observer_forward_hook, prepend=True)


def _add_observers(module: Module, observed: set, non_leaf: set) -> None:
    for child in module.children():
        kind = type(child)
        if isinstance(child, nni._FusedModule) or kind in non_leaf:
            _insert_observer(child)
        else:
            _add_observers(child, observed, non_leaf)
    if not list(module.children()) and not isinstance(module, Sequential) and (
            type(module) in observed):
        _insert_observer(module)


def prepare(model: Module, inplace: bool = False, allow_list: Optional[set] = None,
            observer_non_leaf_module_list: Optional[set] = None,
            prepare_custom_config_dict: Optional[dict] = None) -> Module:
    """Attach observers for post-training static quantization.

    Propagates ``model.qconfig`` to its submodules and attaches ``qconfig.activation()`` as
    ``activation_post_process`` to each quantizable layer (and ``QuantStub``), run on the
    layer's output. Run calibration batches through the result, then call :func:`convert`.

    Args:
        model: a float model with ``qconfig`` set on it or on submodules.
        inplace: modify ``model`` instead of a deep copy.

    Example::

        >>> model.qconfig = get_default_qconfig("x86")
        >>> prepared = prepare(model.eval())
    """
    if not isinstance(model, Module):
        raise TypeError(f"prepare: expected a Module, got {type(model).__name__}")
    if not inplace:
        model = copy.deepcopy(model)
    propagate_qconfig_(model)
    if not any(getattr(m, "qconfig", None) for m in model.modules()):
        warnings.warn("None of the submodule got qconfig applied. Make sure you passed correct "
                      "configuration through `qconfig_dict` or by assigning the `.qconfig` "
                      "attribute directly on submodules", stacklevel=2)
    observed = set(allow_list) if allow_list is not None else _observed_types()
    _add_observers(model, observed, set(observer_non_leaf_module_list or ()))
    return model


def prepare_qat(model: Module, mapping: Optional[dict] = None, inplace: bool = False) -> Module:
    """Swap layers for their QAT versions (fake-quantized weights) and attach fake-quantize
    observers to activations; train, then :func:`convert` (after ``model.eval()``).

    Example::

        >>> model.qconfig = get_default_qat_qconfig("x86")
        >>> qat_model = prepare_qat(model.train())
    """
    if not model.training:
        raise AssertionError("prepare_qat only works on models in training mode; call "
                             "model.train() first")
    mapping = _QAT if mapping is None else mapping
    if not inplace:
        model = copy.deepcopy(model)
    propagate_qconfig_(model)
    _convert(model, mapping, remove_qconfig=False, strict=False)
    prepare(model, inplace=True, observer_non_leaf_module_list=set(mapping.values()))
    return model


def _swap(mod: Module, mapping: dict, strict: bool) -> Module:
    if getattr(mod, "qconfig", None) is None:
        return mod
    target = mapping.get(type(mod))
    if target is None:
        if strict and hasattr(mod, "activation_post_process"):
            known = sorted(t.__name__ for t in mapping)
            raise NotImplementedError(f"convert: don't know how to quantize "
                                      f"{type(mod).__name__} (it was observed); supported "
                                      f"module types are {known}, or pass mapping= with a "
                                      f"class defining from_float")
        return mod
    if not callable(getattr(target, "from_float", None)):
        raise TypeError(f"convert: mapping target {target.__name__} for {type(mod).__name__} "
                        "has no from_float classmethod")
    new = target.from_float(mod)
    for hook in mod._forward_pre_hooks.values():
        new.register_forward_pre_hook(hook)
    for hook in mod._forward_hooks.values():
        if hook is not _observer_forward_hook:
            new.register_forward_hook(hook)
    return new


def _convert(module: Module, mapping: dict, remove_qconfig: bool, strict: bool) -> None:
    _swap_children(module, mapping, strict)
    if remove_qconfig:
        for mod in module.modules():
            for attr in ("qconfig", "activation_post_process"):
                if attr in mod.__dict__ or attr in mod._modules:
                    delattr(mod, attr)


def _swap_children(module: Module, mapping: dict, strict: bool) -> None:
    for name, child in list(module.named_children()):
        if not (isinstance(child, nni._FusedModule) or type(child) in mapping
                and list(child.children())):
            _swap_children(child, mapping, strict)
        setattr(module, name, _swap(child, mapping, strict))


def convert(module: Module, mapping: Optional[dict] = None, inplace: bool = False,
            remove_qconfig: bool = True, is_reference: bool = False,
            convert_custom_config_dict: Optional[dict] = None) -> Module:
    """Swap each observed (or QAT) layer for its quantized version, using the observers'
    qparams; the result computes with int8 weights and integer arithmetic.

    Args:
        module: a model returned by :func:`prepare` (and calibrated) or :func:`prepare_qat`.
        mapping: float type → quantized type (default: the static mappings).
        inplace: modify ``module`` instead of a deep copy.

    Raises:
        RuntimeError: when ``module`` was not prepared.
        NotImplementedError: when an observed module has no quantized counterpart.
    """
    if is_reference:
        raise NotImplementedError("convert: reference quantized models (is_reference=True) "
                                  "are not supported")
    if not any(hasattr(m, "activation_post_process") or hasattr(m, "weight_fake_quant")
               for m in module.modules()):
        raise RuntimeError("convert: the model has no observers; set model.qconfig, call "
                           "prepare(model) (or prepare_qat) and run calibration data through "
                           "it before convert(model)")
    if not inplace:
        module = copy.deepcopy(module)
    _convert(module, _STATIC if mapping is None else mapping, remove_qconfig, strict=True)
    return module


def quantize(model: Module, run_fn: Callable, run_args: Any, mapping: Optional[dict] = None,
             inplace: bool = False) -> Module:
    """``prepare``, ``run_fn(model, run_args)`` to calibrate, then ``convert``."""
    if not inplace:
        model = copy.deepcopy(model)
    model.eval()
    prepare(model, inplace=True)
    run_fn(model, run_args)
    convert(model, mapping, inplace=True)
    return model


def quantize_dynamic(model: Module, qconfig_spec: Any = None, dtype: Any = qint8,
                     mapping: Optional[dict] = None, inplace: bool = False) -> Module:
    """Swap ``Linear`` layers for dynamically quantized ones: int8 weights now, activations
    quantized per call from their observed range.

    Args:
        model: a float model.
        qconfig_spec: a set of module types (e.g. ``{nn.Linear}``), or a dict from types or
            submodule names to qconfigs; default: every ``Linear``.
        dtype: ``qint8`` (the only dtype supported).
        mapping: float type → dynamic type (default: ``Linear`` → ``dynamic.Linear``).

    Example::

        >>> qmodel = quantize_dynamic(model, {ds.nn.Linear}, dtype=qint8)
    """
    if as_qdtype(dtype, "quantize_dynamic") is not qint8:
        raise NotImplementedError(f"quantize_dynamic: only dtype=qint8 is supported, got "
                                  f"{dtype!r}")
    mapping = _DYNAMIC if mapping is None else mapping
    if qconfig_spec is None:
        qconfig_spec = {Linear: default_dynamic_qconfig}
    elif isinstance(qconfig_spec, (set, list, tuple)):
        qconfig_spec = {t: default_dynamic_qconfig for t in qconfig_spec}
    for key in qconfig_spec:
        if isinstance(key, type) and key not in mapping:
            raise NotImplementedError(f"quantize_dynamic: no dynamically quantized version of "
                                      f"{key.__name__}; supported types are "
                                      f"{sorted(t.__name__ for t in mapping)}")
    if not inplace:
        model = copy.deepcopy(model)
    model.eval()
    propagate_qconfig_(model, qconfig_spec)
    _convert(model, mapping, remove_qconfig=True, strict=False)
    return model
