"""``deepseek.utils.tensorboard``: PyTorch's ``SummaryWriter`` on the optional tensorboardX
package (``pip install "deepseek-framework[tensorboard]"``); tensors go over as NumPy arrays."""

from __future__ import annotations

import os
import time
from typing import Any, Optional

import numpy as np

from .._extras import require
from ..tensor import Tensor

__all__ = ["SummaryWriter"]


def _tensorboardx() -> Any:
    return require("tensorboardX", "tensorboard", "SummaryWriter")


def _host(x: Any) -> Any:
    """Tensors (also inside lists, tuples and dicts) as NumPy arrays; anything else as is."""
    if isinstance(x, Tensor):
        return x.detach().cpu().numpy()
    if isinstance(x, dict):
        return {k: _host(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(_host(v) for v in x)
    return x


def _scalar(name: str, x: Any) -> Any:
    """A one-element tensor or array as a Python number (a 0-d array would be kept as one)."""
    if isinstance(x, Tensor):
        if x.numel() != 1:
            raise ValueError(f"[{name}] expected a scalar (one-element) tensor, got shape "
                             f"{list(x.shape)}")
        return x.item()
    if isinstance(x, np.ndarray) and x.size == 1:
        return x.item()
    return x


class SummaryWriter:
    """Write TensorBoard event files: scalars, histograms, images, text, graphs, hparams.

    The same interface as ``torch.utils.tensorboard.SummaryWriter``; deepseek tensors are
    accepted wherever PyTorch takes tensors.

    Args:
        log_dir: where event files go (default ``runs/<time>_<host><comment>``).
        comment: a suffix of the default ``log_dir``.
        purge_step: events at or after this step from an earlier, crashed run are hidden.
        max_queue: events kept in memory before a write.
        flush_secs: how often pending events are written, in seconds.
        filename_suffix: a suffix of the event file's name.

    Example:
        >>> from deepseek.utils.tensorboard import SummaryWriter
        >>> with SummaryWriter("runs/demo") as writer:
        ...     for step in range(3):
        ...         writer.add_scalar("loss", ds.tensor(1.0 / (step + 1)), step)
    """

    def __init__(self, log_dir: Optional[str] = None, comment: str = "",
                 purge_step: Optional[int] = None, max_queue: int = 10, flush_secs: int = 120,
                 filename_suffix: str = "") -> None:
        tbx = _tensorboardx()
        self._writer = tbx.SummaryWriter(logdir=log_dir, comment=comment,
                                         purge_step=purge_step, max_queue=max_queue,
                                         flush_secs=flush_secs, filename_suffix=filename_suffix)
        self.log_dir = self._writer.logdir

    def get_logdir(self) -> str:
        """The directory event files are written to."""
        return self.log_dir

    def add_scalar(self, tag: str, scalar_value: Any, global_step: Optional[int] = None,
                   walltime: Optional[float] = None, new_style: bool = False,
                   double_precision: bool = False) -> None:
        """Record one number (a Python number or a one-element tensor) under ``tag``.

        ``new_style`` and ``double_precision`` are accepted for PyTorch's signature; the value
        is always stored as a simple value, which TensorBoard reads the same way.
        """
        self._writer.add_scalar(tag, _scalar("add_scalar", scalar_value), global_step,
                                walltime)

    def add_scalars(self, main_tag: str, tag_scalar_dict: dict,
                    global_step: Optional[int] = None, walltime: Optional[float] = None) -> None:
        """Record several numbers in one chart, each in its own ``main_tag_tag`` run folder."""
        values = {k: _scalar("add_scalars", v) for k, v in tag_scalar_dict.items()}
        self._writer.add_scalars(main_tag, values, global_step, walltime)

    def add_histogram(self, tag: str, values: Any, global_step: Optional[int] = None,
                      bins: Any = "tensorflow", walltime: Optional[float] = None,
                      max_bins: Optional[int] = None) -> None:
        """Record a histogram of ``values`` (``bins`` as in ``numpy.histogram`` or
        ``"tensorflow"``)."""
        self._writer.add_histogram(tag, _host(values), global_step, _host(bins), walltime,
                                   max_bins)

    def add_image(self, tag: str, img_tensor: Any, global_step: Optional[int] = None,
                  walltime: Optional[float] = None, dataformats: str = "CHW") -> None:
        """Record one image: floats in [0, 1] or uint8, laid out as ``dataformats``."""
        self._writer.add_image(tag, _host(img_tensor), global_step, walltime, dataformats)

    def add_images(self, tag: str, img_tensor: Any, global_step: Optional[int] = None,
                   walltime: Optional[float] = None, dataformats: str = "NCHW") -> None:
        """Record a batch of images as one grid image."""
        self._writer.add_images(tag, _host(img_tensor), global_step, walltime, dataformats)

    def add_figure(self, tag: str, figure: Any, global_step: Optional[int] = None,
                   close: bool = True, walltime: Optional[float] = None) -> None:
        """Record a matplotlib figure (or a list of them) as an image."""
        self._writer.add_figure(tag, figure, global_step, close, walltime)

    def add_video(self, tag: str, vid_tensor: Any, global_step: Optional[int] = None,
                  fps: float = 4, walltime: Optional[float] = None) -> None:
        """Record a video from an ``(N, T, C, H, W)`` tensor (needs moviepy)."""
        self._writer.add_video(tag, _host(vid_tensor), global_step, fps, walltime)

    def add_audio(self, tag: str, snd_tensor: Any, global_step: Optional[int] = None,
                  sample_rate: int = 44100, walltime: Optional[float] = None) -> None:
        """Record a clip from a ``(1, L)`` tensor of samples in [-1, 1]."""
        self._writer.add_audio(tag, _host(snd_tensor), global_step, sample_rate, walltime)

    def add_text(self, tag: str, text_string: str, global_step: Optional[int] = None,
                 walltime: Optional[float] = None) -> None:
        """Record a string (rendered as markdown)."""
        self._writer.add_text(tag, text_string, global_step, walltime)

    def add_pr_curve(self, tag: str, labels: Any, predictions: Any,
                     global_step: Optional[int] = None, num_thresholds: int = 127,
                     weights: Any = None, walltime: Optional[float] = None) -> None:
        """Record a precision-recall curve of ``predictions`` in [0, 1] against 0/1
        ``labels``."""
        self._writer.add_pr_curve(tag, _host(labels), _host(predictions), global_step,
                                  num_thresholds, _host(weights), walltime)

    def add_embedding(self, mat: Any, metadata: Any = None, label_img: Any = None,
                      global_step: Optional[int] = None, tag: str = "default",
                      metadata_header: Any = None) -> None:
        """Record ``(N, D)`` embeddings for the projector, with optional labels and images."""
        self._writer.add_embedding(_host(mat), _host(metadata), _host(label_img), global_step,
                                   tag, metadata_header)

    def add_mesh(self, tag: str, vertices: Any, colors: Any = None, faces: Any = None,
                 config_dict: Any = None, global_step: Optional[int] = None,
                 walltime: Optional[float] = None) -> None:
        """Record a 3-d point cloud or mesh (``(B, N, 3)`` vertices)."""
        self._writer.add_mesh(tag, _host(vertices), _host(colors), _host(faces), config_dict,
                              global_step, walltime)

    def add_custom_scalars(self, layout: dict) -> None:
        """Lay out custom scalar charts: ``{category: {chart: ["Multiline", [tags]]}}``."""
        self._writer.add_custom_scalars(layout)

    def add_hparams(self, hparam_dict: dict, metric_dict: dict,
                    hparam_domain_discrete: Optional[dict] = None,
                    run_name: Optional[str] = None, global_step: Optional[int] = None) -> None:
        """Record one run's hyperparameters and final metrics for the HPARAMS tab.

        They go to the subfolder ``run_name`` (default: the current time) of ``log_dir``.

        Args:
            hparam_dict: name -> bool, str, number or one-element tensor.
            metric_dict: name -> number or one-element tensor (also written as scalars).
            hparam_domain_discrete: name -> the list of values that hyperparameter can take.
            run_name: the subfolder's name.
            global_step: the step of the metric scalars.
        """
        if not isinstance(hparam_dict, dict) or not isinstance(metric_dict, dict):
            raise TypeError("[add_hparams] hparam_dict and metric_dict should be dictionary.")
        tbx = _tensorboardx()
        from tensorboardX.summary import hparams

        hparam_dict = {k: _scalar("add_hparams", v) for k, v in hparam_dict.items()}
        metric_dict = {k: _scalar("add_hparams", v) for k, v in metric_dict.items()}
        experiment, start, end = hparams(hparam_dict, metric_dict)
        if hparam_domain_discrete:
            _set_domains(experiment, hparam_dict, hparam_domain_discrete)
        name = run_name or str(time.time())
        with tbx.SummaryWriter(logdir=os.path.join(self.log_dir, name)) as run:
            for summary in (experiment, start, end):
                run.file_writer.add_summary(summary)
            for k, v in metric_dict.items():
                run.add_scalar(k, v, global_step)

    def add_graph(self, model: Any, input_to_model: Any = None, verbose: bool = False,
                  use_strict_trace: bool = True) -> None:
        """Record the graph of ops ``model(*input_to_model)`` runs, for the GRAPHS tab.

        The model runs once with gradients on; the ops autograd records between the floating
        inputs and parameters and the outputs make the graph (ops that no gradient flows
        through, such as integer indexing, are left out).

        Args:
            model: a Module (or any callable of tensors).
            input_to_model: a tensor or a tuple of tensors to call it with.
            verbose: print the graph's nodes.
            use_strict_trace: accepted for PyTorch's signature.
        """
        graph = _graph_def(model, input_to_model)
        if verbose:
            print(graph)
        # tensorboardX writes a bare GraphDef event through its ONNX entry point
        self._writer._get_file_writer().add_onnx_graph(graph)

    def flush(self) -> None:
        """Write pending events to disk."""
        self._writer.flush()

    def close(self) -> None:
        """Flush and close the event files."""
        self._writer.close()

    def __enter__(self) -> "SummaryWriter":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _set_domains(experiment: Any, hparam_dict: dict, domains: dict) -> None:
    """Add each listed hyperparameter's possible values to the experiment summary."""
    from tensorboardX.proto.plugin_hparams_pb2 import HParamsPluginData

    if not isinstance(domains, dict):
        raise TypeError("[add_hparams] parameter: hparam_domain_discrete should be a "
                        "dictionary.")
    for k, values in domains.items():
        if k not in hparam_dict:
            raise ValueError(f"[add_hparams] hparam_domain_discrete names {k!r}, which is not "
                             "in hparam_dict")
        if not isinstance(values, list) or not all(
                isinstance(v, type(hparam_dict[k])) for v in values):
            raise TypeError(f"[add_hparams] parameter: hparam_domain_discrete[{k}] should be a "
                            f"list of same type as hparam_dict[{k}].")
    value = experiment.value[0]
    data = HParamsPluginData.FromString(value.metadata.plugin_data.content)
    for info in data.experiment.hparam_infos:
        if info.name in domains:
            info.domain_discrete.extend(domains[info.name])
    value.metadata.plugin_data.content = data.SerializeToString()


def _graph_def(model: Any, inputs: Any) -> Any:
    """A GraphDef of the autograd graph one call of ``model`` records."""
    from tensorboardX.proto.attr_value_pb2 import AttrValue
    from tensorboardX.proto.graph_pb2 import GraphDef
    from tensorboardX.proto.node_def_pb2 import NodeDef
    from tensorboardX.proto.tensor_shape_pb2 import TensorShapeProto
    from tensorboardX.proto.versions_pb2 import VersionDef

    from ..autograd.graph import Node
    from ..autograd.grad_mode import enable_grad

    inputs = () if inputs is None else (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    args = []
    for x in inputs:
        if isinstance(x, Tensor) and x.is_floating_point():
            x = x.detach()
            x.requires_grad = True
        args.append(x)
    names = {id(x): f"input/{i}" for i, x in enumerate(args) if isinstance(x, Tensor)}
    named = getattr(model, "named_parameters", None)
    if named is not None:
        names.update((id(p), name) for name, p in named())
    with enable_grad():
        out = model(*args)
    outputs = [out] if isinstance(out, Tensor) else _flat(out)
    roots = [o for o in outputs if isinstance(o, Tensor) and o.grad_fn is not None]
    if not roots:
        raise ValueError("[add_graph] the model's outputs record no ops: give floating inputs "
                         "or a model with parameters, so autograd sees the computation")

    def attrs(shape: tuple, dtype: Any) -> dict:
        dims = [TensorShapeProto.Dim(size=int(n)) for n in shape]
        shapes = AttrValue.ListValue(shape=[TensorShapeProto(dim=dims)])
        return {"_output_shapes": AttrValue(list=shapes), "dtype": AttrValue(s=str(dtype).encode())}

    # a node's output shape is what its consumers saw as their input's
    shapes = {id(o.grad_fn): (tuple(o.shape), o.dtype) for o in roots}
    seen, todo = set(), [o.grad_fn for o in roots]
    while todo:
        node = todo.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        for i, e in enumerate(node.next):
            if isinstance(e, Node):
                shapes.setdefault(id(e), (node.shapes[i], node.dtypes[i]))
                todo.append(e)
    graph, done = [], {}
    # post-order walk, so every node's inputs are named before it
    stack = [(n, False) for n in reversed([o.grad_fn for o in roots])]
    while stack:
        node, ready = stack.pop()
        if id(node) in done:
            continue
        parents = [e for e in node.next if isinstance(e, Node)]
        if not ready:
            stack.append((node, True))
            stack.extend((p, False) for p in parents if id(p) not in done)
            continue
        inputs_of = []
        for e in node.next:
            if isinstance(e, Node):
                inputs_of.append(done[id(e)])
            elif isinstance(e, Tensor):
                if id(e) not in done:
                    name = names.get(id(e), f"tensor/{len(done)}")
                    kind = "IO Node" if name.startswith("input/") else "Parameter"
                    graph.append(NodeDef(name=name, op=kind, attr=attrs(tuple(e.shape), e.dtype)))
                    done[id(e)] = name
                inputs_of.append(done[id(e)])
        name = f"{node.op.name}_{len(done)}"
        shape, dtype = shapes[id(node)]
        graph.append(NodeDef(name=name, op=node.op.name, input=inputs_of,
                             attr=attrs(shape, dtype)))
        done[id(node)] = name
    for i, o in enumerate(roots):
        graph.append(NodeDef(name=f"output/{i}", op="IO Node", input=[done[id(o.grad_fn)]],
                             attr=attrs(tuple(o.shape), o.dtype)))
    return GraphDef(node=graph, versions=VersionDef(producer=22))


def _flat(x: Any) -> list:
    if isinstance(x, (list, tuple)):
        return [t for v in x for t in _flat(v)]
    if isinstance(x, dict):
        return [t for v in x.values() for t in _flat(v)]
    return [x]
