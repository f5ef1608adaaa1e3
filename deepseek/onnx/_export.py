"""``ds.onnx.export``: trace a model with the jit's tracer, translate its graph node by node
(``_ops.TRANSLATIONS``), and write the ONNX model."""

from __future__ import annotations

import itertools
import os
from typing import Any, Optional, Sequence

import numpy as np

from .._extras import require
from ..jit.ir import Graph, Node, Value, slots
from ..jit.capture import Tracer, flatten
from ..tensor import Tensor
from ._symbolic import Dim, Sym, broadcast_dims, product

__all__ = ["export", "UnsupportedOperatorError"]

_RANDOM = frozenset(("rand", "randn", "randint", "randperm", "bernoulli", "multinomial",
                     "poisson", "_dropout_mask", "_rrelu_noise"))


class UnsupportedOperatorError(RuntimeError):
    """The traced model uses an op that has no ONNX translation yet."""


def _require_onnx() -> Any:
    return require("onnx", "onnx", "ds.onnx.export")


def export(model: Any, args: Any, f: Any, input_names: Optional[Sequence[str]] = None,
           output_names: Optional[Sequence[str]] = None, dynamic_axes: Optional[dict] = None,
           opset_version: int = 17, do_constant_folding: bool = True,
           export_params: bool = True) -> None:
    """Export ``model`` (a Module or function) as an ONNX model, as ``torch.onnx.export`` does.

    The model runs once on ``args`` under ``ds.no_grad()`` in its current mode (call
    ``model.eval()`` first for inference); every primitive op it runs is recorded and
    translated. Parameters and buffers become initializers named by their ``state_dict``
    keys.

    Args:
        model: the module or function to export.
        args: a tensor or a tuple of arguments (a trailing dict gives keyword arguments).
            Tensors among them become graph inputs; other values are baked in.
        f: a path, or a binary file object, to write the model to.
        input_names: names for the graph inputs, in the order of the tensors in ``args``.
        output_names: names for the graph outputs, in the order of the tensors returned.
        dynamic_axes: ``{name: [axis, ...]}`` or ``{name: {axis: dim_name}}`` marking input and
            output dims symbolic. Reshape targets that depend on them are rebuilt from the
            inputs' runtime shapes. Use example sizes other than 1 for dynamic dims.
        opset_version: the ONNX opset to target (13 or later).
        do_constant_folding: evaluate ops whose inputs are all literal constants at export
            time (parameters are never folded, so they keep their names).
        export_params: store parameters and buffers as initializers; when False they become
            graph inputs.

    Example:
        >>> model = ds.nn.Linear(4, 2).eval()
        >>> ds.onnx.export(model, ds.randn(1, 4), "linear.onnx", input_names=["x"],
        ...                dynamic_axes={"x": {0: "batch"}})
    """
    onnx = _require_onnx()
    from onnx import defs

    if not 13 <= opset_version <= defs.onnx_opset_version():
        raise ValueError(f"[ds.onnx.export] opset_version must be between 13 and "
                         f"{defs.onnx_opset_version()}, got {opset_version}")
    if isinstance(args, Tensor):
        args = (args,)
    elif not isinstance(args, tuple):
        args = (args,) if not isinstance(args, list) else tuple(args)
    kwargs: dict = {}
    if args and isinstance(args[-1], dict):
        args, kwargs = args[:-1], args[-1]
    graph, inputs = _capture(model, args, kwargs)
    ctx = Context(onnx, opset_version, do_constant_folding, export_params)
    ctx.training = bool(getattr(model, "training", False))
    proto = ctx.build(graph, inputs, _state_names(model), list(input_names or []),
                      list(output_names or []), dynamic_axes or {})
    data = proto.SerializeToString()
    if isinstance(f, (str, os.PathLike)):
        with open(f, "wb") as fh:
            fh.write(data)
    else:
        f.write(data)


def _capture(model: Any, args: tuple, kwargs: dict) -> tuple:
    """Run ``model`` once under the tracer: the graph and the input tensors."""
    from ..autograd.grad_mode import no_grad

    inputs: list = []
    flatten((args, kwargs), inputs)
    with no_grad(), Tracer(inputs, (), exporting=True) as tracer:
        result = model(*args, **kwargs)
    if tracer.eager_reason:
        raise RuntimeError(f"[ds.onnx.export] cannot export the model: {tracer.eager_reason}")
    outs: list = []
    flatten(result, outs)
    if not outs:
        raise ValueError("[ds.onnx.export] the model returned no tensors")
    graph = tracer.graph
    graph.outputs = [tracer.value_of(t._data, t) for t in outs]
    return graph, inputs


def _state_names(model: Any) -> dict:
    """``id`` of each parameter and buffer (and of its array) -> its state_dict key."""
    names: dict = {}
    if hasattr(model, "named_parameters"):
        for key, t in list(model.named_parameters()) + list(model.named_buffers()):
            names.setdefault(id(t), key)
            names.setdefault(id(t._data), key)
    return names


def _ir_version(onnx: Any, opset: int) -> int:
    try:
        return onnx.helper.find_min_ir_version_for([onnx.helper.make_opsetid("", opset)])
    except Exception:  # older onnx without the helper: the library's default
        return onnx.IR_VERSION


class Context:
    """The ONNX graph being built; translations (``_ops``) call its helpers."""

    def __init__(self, onnx: Any, opset: int, fold: bool, export_params: bool) -> None:
        self.onnx, self.helper, self.opset = onnx, onnx.helper, opset
        self.fold, self.export_params = fold, export_params
        self.nodes: list = []
        self.initializers: dict = {}  # name -> numpy array
        self.param_inputs: list = []  # names of parameters that are graph inputs
        self.names: dict = {}  # value id -> onnx name
        self.folded: dict = {}  # value id -> array computed at export time
        self.dims: dict = {}  # value id -> tuple of Dim
        self.symbols: dict = {}  # symbol -> (onnx name, axis) it is read from
        self.values: dict = {}  # symbol -> traced size
        self.producers: dict = {}  # value id -> the IR node computing it
        self.notes: dict = {}  # translations' private facts about values (max-pool values)
        self._counter = itertools.count()
        self._const_cache: dict = {}
        self._shape_cache: dict = {}
        self.training = False  # the model was in training mode (for error hints)

    # ---- names ----
    def fresh(self, hint: str) -> str:
        return f"/{hint}_{next(self._counter)}"

    def name(self, v: Value) -> str:
        """The ONNX name holding ``v`` (constants become initializers when first used)."""
        n = self.names.get(v.id)
        if n is not None:
            return n
        if v.id in self.folded:
            n = self.const(self.folded[v.id])
        elif v.kind == "const":
            n = self.const(np.asarray(v.ref))
        elif v.kind == "state":
            n = self._state(v)
        else:
            raise RuntimeError(f"[ds.onnx.export] value {v.name} ({v.kind}) has no ONNX "
                               "counterpart")
        self.names[v.id] = n
        return n

    def _state(self, v: Value) -> str:
        key = self.state_names.get(id(v.ref)) or self.state_names.get(id(v.ref._data))
        array = np.ascontiguousarray(v.ref._data)
        if key is None:
            return self.const(array, cache=False)
        if self.export_params:
            self.initializers[key] = array
        else:
            self.param_inputs.append((key, array))
        return key

    def const(self, array: Any, dtype: Any = None, cache: bool = True) -> str:
        """An initializer holding ``array`` (small ones shared)."""
        a = np.asarray(array, dtype=dtype)
        key = (a.dtype.str, a.shape, a.tobytes()) if cache and a.size <= 16 else None
        if key is not None and key in self._const_cache:
            return self._const_cache[key]
        n = f"const_{next(self._counter)}"
        self.initializers[n] = np.ascontiguousarray(a)
        if key is not None:
            self._const_cache[key] = n
        return n

    def ints(self, values: Sequence[int]) -> str:
        return self.const(np.asarray(list(values), np.int64))

    def scalar(self, value: float, dtype: Any) -> str:
        return self.const(np.asarray(value, dtype))

    # ---- nodes ----
    def emit(self, op_type: str, inputs: Sequence[str], outputs: int = 1, **attrs: Any) -> Any:
        """Append an ONNX node; its output name (or names, when ``outputs > 1``)."""
        outs = [self.fresh(op_type) for _ in range(outputs)]
        attrs = {k: v for k, v in attrs.items() if v is not None}
        self.nodes.append(self.helper.make_node(op_type, list(inputs), outs,
                                                name=outs[0][1:], **attrs))
        return outs[0] if outputs == 1 else outs

    def input(self, v: Value, dtype: Any = None) -> str:
        """``v``'s name, cast to ``dtype`` when it differs (constants are converted)."""
        dtype = v.dtype if dtype is None else np.dtype(dtype)
        if v.dtype == dtype:
            return self.name(v)
        if v.id not in self.names and (v.kind == "const" or v.id in self.folded):
            array = self.folded[v.id] if v.id in self.folded else v.ref
            return self.const(np.asarray(array).astype(dtype))
        return self.cast(self.name(v), dtype)

    def cast(self, name: str, dtype: Any) -> str:
        to = self.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
        return self.emit("Cast", [name], to=to)

    def reduce(self, op_type: str, x: str, axes: Sequence[int], keepdims: bool) -> str:
        """A Reduce* node (axes moved from an attribute to an input in opset 13/18)."""
        axes = [int(a) for a in axes]
        if op_type == "ReduceSum" or self.opset >= 18:
            return self.emit(op_type, [x, self.ints(axes)], keepdims=int(keepdims))
        return self.emit(op_type, [x], axes=axes, keepdims=int(keepdims))

    def unsqueeze(self, x: str, axes: Sequence[int]) -> str:
        return self.emit("Unsqueeze", [x, self.ints(axes)])

    def squeeze(self, x: str, axes: Sequence[int]) -> str:
        return self.emit("Squeeze", [x, self.ints(axes)])

    # ---- symbolic dims ----
    def dims_of(self, v: Value) -> tuple:
        return self.dims.get(v.id, tuple(v.shape))

    def set_dims(self, v: Value, dims: Sequence[Dim]) -> None:
        self.dims[v.id] = tuple(dims)

    def dynamic(self, v: Value) -> bool:
        return any(isinstance(d, Sym) for d in self.dims_of(v))

    def fresh_dims(self, name: str, v: Value, positions: Sequence[int]) -> tuple:
        """``v``'s dims with those at ``positions`` new symbols read back from ``name``."""
        dims = list(self.dims_of(v))
        for p in positions:
            sym = f"{name.strip('/')}_dim{p}"
            self.symbols[sym] = (name, p)
            self.values[sym] = v.shape[p]
            dims[p] = Sym(1, (sym,), v.shape[p])
        return tuple(dims)

    def dim_tensor(self, d: Dim) -> str:
        """A 1-D int64 tensor of one element holding the dim ``d`` at run time."""
        if not isinstance(d, Sym):
            return self.ints([d])
        out = None
        for f in d.factors:
            piece = self._shape_cache.get(f)
            if piece is None:
                src, axis = self.symbols[f]
                shape = self._shape_cache.get(src)
                if shape is None:
                    shape = self._shape_cache[src] = self.emit("Shape", [src])
                piece = self._shape_cache[f] = self.emit("Gather", [shape, self.ints([axis])],
                                                         axis=0)
            out = piece if out is None else self.emit("Mul", [out, piece])
        if d.coef != 1:
            out = self.emit("Mul", [out, self.ints([d.coef])])
        return out

    def shape_input(self, dims: Sequence[Dim]) -> str:
        """An int64 shape tensor for Reshape: constant unless two or more dims are symbolic
        (one symbolic dim is left to Reshape as -1)."""
        syms = [i for i, d in enumerate(dims) if isinstance(d, Sym)]
        if not syms:
            return self.ints(dims)
        last = syms[-1]
        if len(syms) == 1:
            return self.ints([-1 if i == last else d for i, d in enumerate(dims)])
        pieces, run = [], []
        for i, d in enumerate(dims):
            if isinstance(d, Sym) and i != last:
                if run:
                    pieces.append(self.ints(run))
                    run = []
                pieces.append(self.dim_tensor(d))
            else:
                run.append(-1 if i == last else d)
        if run:
            pieces.append(self.ints(run))
        return self.emit("Concat", pieces, axis=0)

    # ---- the whole graph ----
    def build(self, graph: Graph, inputs: list, state_names: dict, input_names: list,
              output_names: list, dynamic_axes: dict) -> Any:
        from ._ops import TRANSLATIONS

        helper = self.helper
        self.state_names = state_names
        graph_inputs = [v for v in graph.values if v.kind == "input"]
        if len(input_names) > len(graph_inputs):
            raise ValueError(f"[ds.onnx.export] {len(input_names)} input_names given for "
                             f"{len(graph_inputs)} tensor inputs")
        names = input_names + [f"input_{i}" for i in range(len(input_names), len(graph_inputs))]
        in_names = {}
        for v in graph_inputs:
            n = names[v.ref]
            in_names[v.ref] = n
            self.names[v.id] = n
            dims = list(v.shape)
            for axis, sym in _axes(dynamic_axes.get(n), n, len(dims)).items():
                self.symbols.setdefault(sym, (n, axis))
                self.values.setdefault(sym, v.shape[axis])
                dims[axis] = Sym(1, (sym,), v.shape[axis])
            self.dims[v.id] = tuple(dims)
        self.graph_inputs = [(in_names[v.ref], v) for v in graph_inputs]
        known = set(in_names.values()) | set(output_names)
        unknown = [k for k in dynamic_axes if k not in known]
        if unknown:
            raise ValueError(f"[ds.onnx.export] dynamic_axes names {unknown} are neither "
                             f"input_names {list(in_names.values())} nor output_names "
                             f"{output_names}")

        for node in graph.nodes:
            self._translate(node, TRANSLATIONS, self.training)

        outputs, seen = [], set()
        if len(output_names) > len(graph.outputs):
            raise ValueError(f"[ds.onnx.export] {len(output_names)} output_names given for "
                             f"{len(graph.outputs)} tensor outputs")
        out_names = output_names + [f"output_{i}"
                                    for i in range(len(output_names), len(graph.outputs))]
        for v, want in zip(graph.outputs, out_names):
            n = self.name(v)
            produced = any(n in nd.output for nd in self.nodes)
            if n in seen or not produced or n in in_names.values():
                self.nodes.append(helper.make_node("Identity", [n], [want], name=want))
            else:
                self._rename(n, want)
            seen.add(want)
            outputs.append(self._info(want, v, self.dims_of(v), dynamic_axes.get(want)))
        self._prune([o.name for o in outputs])
        onnx_inputs = [self._info(n, v, self.dims_of(v)) for n, v in self.graph_inputs]
        for key, array in self.param_inputs:
            if key not in [i.name for i in onnx_inputs]:
                onnx_inputs.append(helper.make_tensor_value_info(
                    key, helper.np_dtype_to_tensor_dtype(array.dtype), list(array.shape)))
        inits = [self.onnx.numpy_helper.from_array(a, k) for k, a in self.initializers.items()]
        g = helper.make_graph(self.nodes, "deepseek", onnx_inputs, outputs, inits)
        from .. import __version__

        model = helper.make_model(g, opset_imports=[helper.make_opsetid("", self.opset)],
                                  producer_name="deepseek", producer_version=__version__)
        model.ir_version = _ir_version(self.onnx, self.opset)
        return model

    def _translate(self, node: Node, table: dict, training: bool) -> None:
        if node.kind not in ("op", "inplace"):
            raise UnsupportedOperatorError(
                f"[ds.onnx.export] the model runs {node!r}, which is not part of an "
                "inference graph; export the model's forward only, under eval()")
        name = node.op.name
        if node.kind == "op":
            self.producers[node.out.id] = node
            if self.fold and name not in _RANDOM and self._foldable(node):
                self.folded[node.out.id] = self._evaluate(node)
                return
        fn = table.get(name)
        if fn is None:
            hint = (" The model is in training mode: call model.eval() before exporting."
                    if training and name in _RANDOM else "")
            shapes = ", ".join(f"{v.dtype}{list(v.shape)}" for v in node.inputs)
            raise UnsupportedOperatorError(
                f"[ds.onnx.export] op '{name}' (on {shapes}) is not exportable to ONNX yet: "
                f"deepseek.onnx has no translation for it.{hint}")
        if node.kind == "inplace":
            self._inplace(node, fn)
            return
        out = fn(self, node)
        self.names[node.out.id] = out
        if node.out.id not in self.dims:
            self.dims[node.out.id] = self._default_dims(node)

    def _inplace(self, node: Node, fn: Any) -> None:
        """An in-place update, exported as the op's result taking the target's place."""
        target = node.inputs[0]
        earlier = [n.out for n in self.producers.values()]  # views made before the write
        if target.root != target.id or any(v.root == target.root and v.id != target.id
                                           for v in earlier):
            raise UnsupportedOperatorError(
                f"[ds.onnx.export] {node.op.name}_: an in-place write to a tensor that has "
                "views is not exportable; use the out-of-place op")
        view = Node("op", node.op, node.inputs, node.attrs)
        view.out = target
        out = fn(self, view)
        self.names[target.id] = out

    def _foldable(self, node: Node) -> bool:
        if slots(node.attrs):
            return False
        return all(v.kind == "const" or v.id in self.folded for v in node.inputs)

    def _evaluate(self, node: Node) -> np.ndarray:
        arrays = [self.folded[v.id] if v.id in self.folded else np.asarray(v.ref)
                  for v in node.inputs]
        out = np.asarray(node.op.forward(np, *arrays, **node.attrs))
        return np.ascontiguousarray(out.astype(node.out.dtype, copy=False))

    def _default_dims(self, node: Node) -> tuple:
        """Dims of an op whose translation set none: broadcast of its operands'."""
        operands = [self.dims_of(v) for v in node.inputs]
        if not any(isinstance(d, Sym) for dims in operands for d in dims):
            return tuple(node.out.shape)
        if node.op.kind == "elementwise" or (node.inputs and
                                             node.out.shape == node.inputs[0].shape):
            return broadcast_dims(node.out.shape, operands)
        raise UnsupportedOperatorError(
            f"[ds.onnx.export] dynamic_axes: op '{node.op.name}' changes the shape "
            f"{list(node.inputs[0].shape)} -> {list(node.out.shape)} and deepseek.onnx cannot "
            "tell which of its output dims are dynamic; export without dynamic_axes")

    def _rename(self, old: str, new: str) -> None:
        for nd in self.nodes:
            for seq in (nd.input, nd.output):
                for i, n in enumerate(seq):
                    if n == old:
                        seq[i] = new
        for key, n in list(self.names.items()):
            if n == old:
                self.names[key] = new
        for sym, (src, axis) in list(self.symbols.items()):
            if src == old:
                self.symbols[sym] = (new, axis)

    def _prune(self, outputs: list) -> None:
        """Drop nodes and initializers nothing reaching the outputs uses."""
        needed = set(outputs)
        kept = []
        for nd in reversed(self.nodes):
            if any(o in needed for o in nd.output):
                kept.append(nd)
                needed.update(nd.input)
        self.nodes = kept[::-1]
        self.initializers = {k: a for k, a in self.initializers.items() if k in needed}
        self.param_inputs = [(k, a) for k, a in self.param_inputs if k in needed]

    def _info(self, name: str, v: Value, dims: Sequence[Dim], axes: Any = None) -> Any:
        shape: list = [str(d) if isinstance(d, Sym) else int(d) for d in dims]
        for axis, sym in _axes(axes, name, len(shape)).items():
            shape[axis] = sym
        return self.helper.make_tensor_value_info(
            name, self.helper.np_dtype_to_tensor_dtype(v.dtype), shape)


def _axes(spec: Any, name: str, ndim: int) -> dict:
    """``dynamic_axes[name]`` as ``{axis: dim_name}`` (a list gets torch's default names)."""
    if spec is None:
        return {}
    if isinstance(spec, dict):
        items = dict(spec)
    else:
        items = {a: f"{name}_dynamic_axes_{i + 1}" for i, a in enumerate(spec)}
    out = {}
    for axis, sym in items.items():
        if not -ndim <= axis < ndim:
            raise ValueError(f"[ds.onnx.export] dynamic_axes[{name!r}]: axis {axis} is out of "
                             f"range for a tensor of {ndim} dims")
        out[axis % ndim] = str(sym)
    return out


def plane(ctx: Context, dims: Sequence[Dim]) -> Any:
    """The product of ``dims``: an int, or a 1-D int64 tensor name when symbolic."""
    p = product(dims)
    return ctx.dim_tensor(p) if isinstance(p, Sym) else p
