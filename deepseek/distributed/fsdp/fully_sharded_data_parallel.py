"""``FullyShardedDataParallel``: data parallelism whose parameters, gradients and optimizer
state are sharded over the processes, as ``torch.distributed.fsdp.FullyShardedDataParallel``
(the FSDP1 API with ``use_orig_params=False``)."""

from __future__ import annotations

import contextlib
import math
from collections import OrderedDict
from typing import Any, Callable, Iterator, Optional

import numpy as np

from ...autograd.grad_mode import is_grad_enabled, no_grad
from ...nn.modules.module import Module, _IncompatibleKeys
from ...nn.parameter import Parameter
from ...tensor import Tensor
from .. import distributed_c10d as c10d
from ._flat_param import FlatParameter, _FlatParamHandle, _Info, saved_views
from .api import (BackwardPrefetch, CPUOffload, FullStateDictConfig, LocalStateDictConfig,
                  ShardedStateDictConfig, ShardingStrategy, StateDictSettings, StateDictType)
from .wrap import _check_policy

__all__ = ["FullyShardedDataParallel"]

_WRAPPED = "_fsdp_wrapped_module"
_PREFIX = _WRAPPED + "."
_FLAT = "_flat_param"
_NAME = "FullyShardedDataParallel"
_CONFIGS = {StateDictType.FULL_STATE_DICT: FullStateDictConfig,
            StateDictType.LOCAL_STATE_DICT: LocalStateDictConfig,
            StateDictType.SHARDED_STATE_DICT: ShardedStateDictConfig}


def _clean(name: str) -> str:
    return name.replace(_PREFIX, "")


def _unsupported(what: str, instead: str) -> NotImplementedError:
    return NotImplementedError(f"[{_NAME}] {what} is not supported by deepseek's FSDP; {instead}")


class FullyShardedDataParallel(Module):
    """Shard ``module``'s parameters over ``process_group`` and train it data-parallel, as
    ``torch.distributed.fsdp.FullyShardedDataParallel``.

    Each FSDP unit (this one and those ``auto_wrap_policy`` nests inside) flattens its
    parameters into one buffer padded to a multiple of the world size; each process keeps
    its equal part as a ``FlatParameter``, which is what ``parameters()`` yields and the
    optimizer updates. Before the unit's forward the full buffer is all-gathered and the
    module's parameters become views of it (plain tensors, so autograd records through
    them); after it the buffer is freed (``FULL_SHARD``: tensors saved for backward are kept
    as positions in the buffer, which backward gathers again when it first needs them) or
    kept until backward (``SHARD_GRAD_OP``). Once backward has accumulated the unit's flat
    gradient it is reduce-scattered, averaged over the group, into the shard's ``.grad``.

    Communication is synchronous (no prefetching or overlap); every process must run the
    same units in the same order, and each unit that took part in forward must get a
    gradient in backward (as in torch, unused units hang the group).

    Args:
        module (nn.Module): the module to shard; the returned FSDP wraps it as
            ``_fsdp_wrapped_module``.
        process_group (ProcessGroup, optional): the group to shard over (default: world).
        sharding_strategy (ShardingStrategy, optional): ``FULL_SHARD`` (default),
            ``SHARD_GRAD_OP`` or ``NO_SHARD``.
        cpu_offload (CPUOffload, optional): accepted; deepseek's CPU parameters already live
            in host memory.
        auto_wrap_policy (callable, optional): ``ModuleWrapPolicy({nn.Linear, ...})`` or a
            ``policy(module, recurse, nonwrapped_numel)`` such as a partial of
            ``size_based_auto_wrap_policy``: which submodules become nested FSDP units.
        backward_prefetch, forward_prefetch, limit_all_gathers: accepted for compatibility.
        device_id: None or a CPU device (deepseek's FSDP shards host memory over MPI).
        sync_module_states (bool): broadcast rank 0's parameters and buffers first.
        use_orig_params (bool): must be False (not implemented).

    Example::

        >>> model = FSDP(mlp, auto_wrap_policy=ModuleWrapPolicy({nn.Linear}))  # doctest: +SKIP
        >>> opt = ds.optim.AdamW(model.parameters(), lr=1e-3)  # doctest: +SKIP
    """

    def __init__(self, module: Module, process_group: Any = None,
                 sharding_strategy: Optional[ShardingStrategy] = None,
                 cpu_offload: Optional[CPUOffload] = None,
                 auto_wrap_policy: Optional[Callable] = None,
                 backward_prefetch: Optional[BackwardPrefetch] = BackwardPrefetch.BACKWARD_PRE,
                 mixed_precision: Any = None, ignored_modules: Any = None,
                 param_init_fn: Optional[Callable] = None, device_id: Any = None,
                 sync_module_states: bool = False, forward_prefetch: bool = False,
                 limit_all_gathers: bool = True, use_orig_params: bool = False,
                 ignored_states: Any = None, device_mesh: Any = None) -> None:
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"[{_NAME}] module must be an nn.Module, got "
                            f"{type(module).__name__}")
        strategy = ShardingStrategy.FULL_SHARD if sharding_strategy is None else sharding_strategy
        _check_options(strategy, cpu_offload, mixed_precision, ignored_modules, param_init_fn,
                       device_id, use_orig_params, ignored_states, module)
        if device_mesh is not None:
            if process_group is not None:
                raise ValueError(f"[{_NAME}] pass process_group or device_mesh, not both")
            if device_mesh.ndim != 1:
                raise _unsupported("a device_mesh of more than one dimension (HYBRID_SHARD)",
                                   "pass a 1-D mesh or a process_group")
            process_group = device_mesh.get_group()
        group = c10d._group(process_group, _NAME)
        self.process_group = group
        self.sharding_strategy = strategy
        self.cpu_offload = cpu_offload or CPUOffload()
        self.backward_prefetch = backward_prefetch
        self.forward_prefetch = forward_prefetch
        self.limit_all_gathers = limit_all_gathers
        self.use_orig_params = False
        self._is_root = True
        self._summoned = False
        self._state_dict_type = StateDictType.FULL_STATE_DICT
        self._state_dict_config: Any = FullStateDictConfig()
        self._optim_state_dict_config: Any = None
        if auto_wrap_policy is not None:
            kwargs = dict(process_group=group, sharding_strategy=strategy,
                          cpu_offload=cpu_offload, backward_prefetch=backward_prefetch,
                          device_id=device_id, sync_module_states=sync_module_states,
                          forward_prefetch=forward_prefetch, limit_all_gathers=limit_all_gathers)
            _auto_wrap(module, _check_policy(auto_wrap_policy), kwargs, is_root=True)
        self._fsdp_wrapped_module = module
        for m in module.modules():
            if isinstance(m, FullyShardedDataParallel):
                m._is_root = False
        if sync_module_states:
            _broadcast_own(module, group)
        self._handle = self._flatten(module, group, strategy)

    # ---- construction ----

    @staticmethod
    def _flatten(module: Module, group: Any, strategy: ShardingStrategy
                 ) -> Optional[_FlatParamHandle]:
        """Move the parameters this unit owns (not those of nested units) into a handle."""
        infos, params, seen, offset = [], [], set(), 0
        for prefix, m in _own_modules(module):
            for name, p in list(m._parameters.items()):
                if p is None:
                    continue
                if isinstance(p, FlatParameter):
                    raise ValueError(f"[{_NAME}] {prefix or type(m).__name__} is already "
                                     "managed by FSDP")
                if id(p) in seen:
                    raise _unsupported(f"the shared parameter {prefix + name!r}",
                                       "untie it or keep its users in one unit")
                seen.add(id(p))
                infos.append(_Info(m, name, prefix + name, p, offset))
                params.append(p)
                offset += int(p._data.size)
        if not params:
            return None
        dtypes = {p._data.dtype for p in params}
        if len(dtypes) > 1:
            raise ValueError(f"[{_NAME}] a unit's parameters must share one dtype to be "
                             f"flattened, got {sorted(str(d) for d in dtypes)} in "
                             f"{[i.fqn for i in infos]}; wrap the differing modules in their "
                             "own units")
        grads = {p.requires_grad for p in params}
        if len(grads) > 1:
            frozen = [i.fqn for i in infos if not i.requires_grad]
            raise ValueError(f"[{_NAME}] FSDP does not support mixing requires_grad=True and "
                             f"False parameters in one unit (frozen: {frozen}); wrap the frozen "
                             "ones in their own unit")
        for info in infos:
            del info.module._parameters[info.name]
        handle = _FlatParamHandle(infos, params, group, strategy, module)
        module.register_parameter(_FLAT, handle.flat_param)
        return handle

    # ---- attribute access falls through to the wrapped module ----

    @property
    def module(self) -> Module:
        """The wrapped module."""
        return self._modules[_WRAPPED]

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)
        except AttributeError:
            modules = self.__dict__.get("_modules", {})
            if _WRAPPED not in modules:
                raise
            return getattr(modules[_WRAPPED], name)

    def __getitem__(self, key: Any) -> Any:
        return self._modules[_WRAPPED].__getitem__(key)

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator:
        """As Module's; inside ``summon_full_params`` the original parameters, without the
        ``_fsdp_wrapped_module.`` parts of their names (as torch)."""
        for name, p in super().named_parameters(prefix, recurse, remove_duplicate):
            yield (_clean(name) if self._summoned else name), p

    # ---- forward ----

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        handle = self._handle
        if handle is None:
            with saved_views():
                return self.module(*args, **kwargs)
        if self._summoned:
            raise RuntimeError(f"[{_NAME}] forward inside summon_full_params is not supported; "
                               "leave the context first")
        leaves = handle.use_full_params(is_grad_enabled())
        try:
            with saved_views():
                return self.module(*args, **kwargs)
        finally:
            handle.drop_views(leaves)

    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Inside, backward keeps each unit's full local gradient instead of reduce-scattering
        it; the first backward after it reduces what was accumulated (more memory: a full
        gradient per unit)."""
        handles = [m._handle for m in self.modules()
                   if isinstance(m, FullyShardedDataParallel) and m._handle is not None]
        before = [h.sync_grads for h in handles]
        for h in handles:
            h.sync_grads = False
        try:
            yield
        finally:
            for h, b in zip(handles, before):
                h.sync_grads = b

    # ---- gradients ----

    @no_grad()
    def clip_grad_norm_(self, max_norm: float, norm_type: float = 2.0) -> Tensor:
        """Scale the gradients of every unit so that their norm over the whole model (all
        shards of all processes) is at most ``max_norm``; returns that total norm. Call it
        on the root, on every process."""
        if not self._is_root:
            raise RuntimeError(f"[{_NAME}] clip_grad_norm_ should only be called on the root "
                               "FSDP instance")
        p_norm = float(norm_type)
        sharded, replicated = [], []
        for m in self.modules():
            if isinstance(m, FullyShardedDataParallel) and m._handle is not None:
                g = m._handle.flat_param.grad
                if g is not None:
                    (replicated if m._handle.strategy is ShardingStrategy.NO_SHARD
                     else sharded).append(g)
        dtype = sharded[0]._data.dtype if sharded else replicated[0]._data.dtype if \
            replicated else np.dtype(np.float32)

        def local(grads: list) -> float:
            if not grads:
                return 0.0
            values = [np.abs(g._data.astype(np.float64)) for g in grads]
            if math.isinf(p_norm):
                return max(float(v.max(initial=0.0)) for v in values)
            return sum(float((v ** p_norm).sum()) for v in values)

        total = Tensor._wrap(np.array([local(sharded)], np.float64))
        op = c10d.ReduceOp.MAX if math.isinf(p_norm) else c10d.ReduceOp.SUM
        c10d.all_reduce(total, op, group=self.process_group)
        rest = local(replicated)
        value = float(total._data[0])
        norm = max(value, rest) if math.isinf(p_norm) else (value + rest) ** (1.0 / p_norm)
        coef = float(max_norm) / (norm + 1e-6)
        if coef < 1.0:
            for g in sharded + replicated:
                np.multiply(g._data, coef, out=g._data, casting="unsafe")
                g._version_box[0] += 1
        return Tensor._wrap(np.array(norm, dtype))

    # ---- full parameters ----

    def _expose(self) -> None:
        """Gather this unit and register the original parameters (views of the full buffer)
        in place of the flat one."""
        handle = self._handle
        self._summoned = True
        if handle is None:
            return
        full = handle.unshard()
        del handle.attach_to._parameters[_FLAT]
        for info, view in zip(handle.infos, handle.views(full)):
            info.module._parameters[info.name] = Parameter(Tensor._wrap(view),
                                                           requires_grad=info.requires_grad)

    def _unexpose(self, writeback: bool) -> None:
        handle = self._handle
        self._summoned = False
        if handle is None:
            return
        if writeback:
            handle.writeback(handle.unshard())
        for info in handle.infos:
            info.module._parameters.pop(info.name, None)
        handle.attach_to._parameters[_FLAT] = handle.flat_param
        handle.reshard()

    @staticmethod
    @contextlib.contextmanager
    def summon_full_params(module: Module, recurse: bool = True, writeback: bool = True,
                           rank0_only: bool = False, offload_to_cpu: bool = False,
                           with_grads: bool = False) -> Iterator[None]:
        """Inside, every FSDP unit of ``module`` holds its full, unflattened parameters
        under their original names; with ``writeback`` changes made to them are copied back
        into the shards on exit. Call it on every process, outside forward and backward."""
        if with_grads:
            raise _unsupported("summon_full_params(with_grads=True)",
                               "read the sharded gradients from the FlatParameters")
        if rank0_only and writeback:
            raise ValueError(f"[{_NAME}] writeback=True and rank0_only=True is not supported, "
                             "as model parameter shapes will be different across ranks, and "
                             "writing to them can lead to inconsistencies across ranks when "
                             "the context is exited.")
        units = _units(module, recurse)
        done = []
        try:
            for unit in units:
                unit._expose()
                done.append(unit)
            yield
        finally:
            for unit in reversed(done):
                unit._unexpose(writeback)

    # ---- state dicts ----

    @staticmethod
    def set_state_dict_type(module: Module, state_dict_type: StateDictType,
                            state_dict_config: Any = None,
                            optim_state_dict_config: Any = None) -> StateDictSettings:
        """Make ``state_dict``/``load_state_dict`` of every FSDP unit of ``module`` use
        ``state_dict_type``; returns the previous settings."""
        if not isinstance(state_dict_type, StateDictType):
            raise TypeError(f"[{_NAME}] state_dict_type must be a StateDictType, got "
                            f"{state_dict_type!r}")
        if state_dict_type is StateDictType.SHARDED_STATE_DICT:
            raise _unsupported("StateDictType.SHARDED_STATE_DICT (it holds DTensors)",
                               "use FULL_STATE_DICT or LOCAL_STATE_DICT")
        config_type = _CONFIGS[state_dict_type]
        config = config_type() if state_dict_config is None else state_dict_config
        if not isinstance(config, config_type):
            raise ValueError(f"[{_NAME}] expected state_dict_config of type "
                             f"{config_type.__name__} for {state_dict_type}, got "
                             f"{type(config).__name__}")
        units = _units(module, True)
        if not units:
            raise ValueError(f"[{_NAME}] {type(module).__name__} holds no FSDP unit")
        previous = StateDictSettings(units[0]._state_dict_type, units[0]._state_dict_config,
                                     units[0]._optim_state_dict_config)
        for unit in units:
            unit._state_dict_type = state_dict_type
            unit._state_dict_config = config
            unit._optim_state_dict_config = optim_state_dict_config
        return previous

    @staticmethod
    def get_state_dict_type(module: Module) -> StateDictSettings:
        units = _units(module, True)
        if not units:
            raise ValueError(f"[{_NAME}] {type(module).__name__} holds no FSDP unit")
        u = units[0]
        return StateDictSettings(u._state_dict_type, u._state_dict_config,
                                 u._optim_state_dict_config)

    @staticmethod
    @contextlib.contextmanager
    def state_dict_type(module: Module, state_dict_type: StateDictType,
                        state_dict_config: Any = None,
                        optim_state_dict_config: Any = None) -> Iterator[None]:
        """Within, ``state_dict``/``load_state_dict`` of ``module``'s FSDP units use
        ``state_dict_type``: ``FULL_STATE_DICT`` (gathered tensors under the original names;
        ``FullStateDictConfig(rank0_only=True)`` leaves them on rank 0 only) or
        ``LOCAL_STATE_DICT`` (this process's flat shards).

        Example::

            >>> with FSDP.state_dict_type(model, StateDictType.FULL_STATE_DICT):  # doctest: +SKIP
            ...     state = model.state_dict()
        """
        previous = FullyShardedDataParallel.set_state_dict_type(
            module, state_dict_type, state_dict_config, optim_state_dict_config)
        try:
            yield
        finally:
            FullyShardedDataParallel.set_state_dict_type(module, *previous)

    def state_dict(self, *args: Any, destination: Optional[dict] = None, prefix: str = "",
                   keep_vars: bool = False) -> "OrderedDict":
        """The state dict of the kind ``state_dict_type`` selected (default: full)."""
        if args:
            destination, prefix, keep_vars = (list(args) + [destination, prefix, keep_vars]
                                              [len(args):])[:3]
        if self._state_dict_type is StateDictType.LOCAL_STATE_DICT:
            return super().state_dict(destination=destination, prefix=prefix,
                                      keep_vars=keep_vars)
        outermost = destination is None
        if outermost:
            destination = OrderedDict()
        self._expose()
        try:
            start = len(destination)
            self.module.state_dict(destination=destination, prefix=prefix, keep_vars=keep_vars)
            for key in list(destination)[start:]:
                value = destination[key]
                if isinstance(value, Tensor):
                    destination[key] = value.detach().clone()
        finally:
            self._unexpose(writeback=False)
        config = self._state_dict_config
        if outermost and getattr(config, "rank0_only", False) and self.process_group.rank():
            return OrderedDict()
        return destination

    def load_state_dict(self, state_dict: dict, strict: bool = True,
                        assign: bool = False) -> _IncompatibleKeys:
        """Load a state dict of the kind ``state_dict_type`` selected (default: full, the
        original names; every process passes the whole dict)."""
        if self._state_dict_type is StateDictType.LOCAL_STATE_DICT:
            return super().load_state_dict(state_dict, strict, assign)
        if assign:
            raise _unsupported("load_state_dict(assign=True)", "load by copying (assign=False)")
        if not isinstance(state_dict, dict):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        with FullyShardedDataParallel.summon_full_params(self, writeback=True):
            internal = {}
            for prefix, m in Module.named_modules(self):
                dot = prefix + "." if prefix else ""
                for name, p in m._parameters.items():
                    if p is not None:
                        internal[_clean(dot + name)] = dot + name
                for name, b in m._buffers.items():
                    if b is not None and name not in m._non_persistent_buffers_set:
                        internal[_clean(dot + name)] = dot + name
            missing = [k for k in internal if k not in state_dict]
            unexpected = [k for k in state_dict if k not in internal]
            if strict and (missing or unexpected):
                errors = []
                if missing:
                    errors.append("Missing key(s) in state_dict: "
                                  + ", ".join(f'"{k}"' for k in missing) + ". ")
                if unexpected:
                    errors.append("Unexpected key(s) in state_dict: "
                                  + ", ".join(f'"{k}"' for k in unexpected) + ". ")
                raise RuntimeError(f"Error(s) in loading state_dict for {_NAME}:\n\t"
                                   + "\n\t".join(errors))
            Module.load_state_dict(self, {internal[k]: v for k, v in state_dict.items()
                                          if k in internal}, strict=False)
        return _IncompatibleKeys(missing, unexpected)


def _units(module: Module, recurse: bool) -> list:
    if not recurse:
        return [module] if isinstance(module, FullyShardedDataParallel) else []
    return [m for m in module.modules() if isinstance(m, FullyShardedDataParallel)]


def _own_modules(module: Module, prefix: str = "") -> Iterator:
    """``(prefix, submodule)`` of ``module`` and its descendants outside nested FSDP units
    (each module once)."""
    seen: set = set()
    stack = [(prefix, module)]
    while stack:
        name, m = stack.pop(0)
        if id(m) in seen:
            continue
        seen.add(id(m))
        yield name, m
        children = [(name + child_name + ".", child) for child_name, child in
                    m._modules.items() if child is not None
                    and not isinstance(child, FullyShardedDataParallel)]
        stack[0:0] = children


def _numel_outside_units(module: Module) -> int:
    return sum(int(p._data.size) for _, m in _own_modules(module)
               for p in m._parameters.values() if p is not None)


def _auto_wrap(module: Module, policy: Callable, kwargs: dict, is_root: bool) -> Module:
    """Wrap ``module``'s descendants (bottom-up) where ``policy`` says so; the root itself
    is left for the caller."""
    if not policy(module=module, recurse=True, nonwrapped_numel=_numel_outside_units(module)):
        return module
    for name, child in list(module._modules.items()):
        if child is None or isinstance(child, FullyShardedDataParallel):
            continue
        wrapped = _auto_wrap(child, policy, kwargs, is_root=False)
        if wrapped is not child:
            module._modules[name] = wrapped
    if not is_root and policy(module=module, recurse=False,
                              nonwrapped_numel=_numel_outside_units(module)):
        return FullyShardedDataParallel(module, **kwargs)
    return module


def _broadcast_own(module: Module, group: Any) -> None:
    """Rank 0's values of the parameters and buffers this unit is about to own."""
    root = c10d.get_global_rank(group, 0) if group is not c10d.GroupMember.WORLD else 0
    for _, m in _own_modules(module):
        for t in list(m._parameters.values()) + list(m._buffers.values()):
            if t is None:
                continue
            data = np.ascontiguousarray(t._data)
            c10d.broadcast(Tensor._wrap(data), root, group=group)
            if data is not t._data:
                t._data[...] = data


def _check_options(strategy: Any, cpu_offload: Any, mixed_precision: Any, ignored_modules: Any,
                   param_init_fn: Any, device_id: Any, use_orig_params: bool,
                   ignored_states: Any, module: Module) -> None:
    if not isinstance(strategy, ShardingStrategy):
        raise TypeError(f"[{_NAME}] sharding_strategy must be a ShardingStrategy, got "
                        f"{strategy!r}")
    if strategy in (ShardingStrategy.HYBRID_SHARD, ShardingStrategy._HYBRID_SHARD_ZERO2):
        raise _unsupported(f"sharding_strategy={strategy}", "use FULL_SHARD, SHARD_GRAD_OP or "
                           "NO_SHARD")
    if use_orig_params:
        raise _unsupported("use_orig_params=True", "use use_orig_params=False: parameters() "
                           "are the flat shards (FlatParameter), one per unit")
    if mixed_precision is not None:
        raise _unsupported("mixed_precision", "run the forward under ds.autocast instead")
    if ignored_modules is not None or ignored_states is not None:
        raise _unsupported("ignored_modules/ignored_states", "keep those modules outside the "
                           "FSDP-wrapped module")
    if param_init_fn is not None:
        raise _unsupported("param_init_fn (meta-device initialization)",
                           "build the module with real parameters before wrapping")
    if cpu_offload is not None and not isinstance(cpu_offload, CPUOffload):
        raise TypeError(f"[{_NAME}] cpu_offload must be a CPUOffload, got "
                        f"{type(cpu_offload).__name__}")
    if cpu_offload is not None and cpu_offload.offload_params:
        devices = {p.device.type for p in module.parameters()}
        if devices - {"cpu"}:
            raise _unsupported("CPUOffload(offload_params=True) for parameters on "
                               f"{sorted(devices - {'cpu'})}", "keep parameters on the CPU")
    if device_id is not None:
        kind = getattr(device_id, "type", device_id)
        if kind != "cpu":
            raise ValueError(f"[{_NAME}] device_id={device_id!r}: deepseek's FSDP shards "
                             "host memory over MPI; pass device_id=None or 'cpu'")
