"""``ds.onnx``: export models to ONNX, as ``torch.onnx.export`` does (needs the optional
``onnx`` package: ``pip install "deepseek-framework[onnx]"``).

``ds.onnx.export(model, args, f, ...)`` runs the model once under the jit's tracer
(``ds.no_grad()``, the model in its current mode) and translates each recorded primitive
through one table (``deepseek/onnx/_ops.py``). Parameters and buffers become initializers
named by their ``state_dict`` keys.

Covered: Linear, ReLU/GELU/Tanh/Sigmoid/SiLU/ELU/LeakyReLU/Softplus/Hard*, Softmax and
LogSoftmax, Dropout in eval; Conv1d/2d/3d (stride, padding, dilation, groups), BatchNorm in
eval, MaxPool (floor and ceil mode), AvgPool, AdaptiveAvgPool (any output size), Flatten;
LayerNorm, Embedding; reshape/view/flatten/permute/transpose/expand/cat/basic slicing and
indexing by one integer tensor, tril/triu, constant padding; matmul/bmm, elementwise arithmetic
with broadcasting and scalars, comparisons and ``where``; sum/mean/max/min/prod/var/logsumexp
and argmax/argmin; ``scaled_dot_product_attention`` and ``nn.MultiheadAttention`` (eval).

``dynamic_axes`` marks input and output dims symbolic; reshape targets that depend on them
are rebuilt from the inputs' runtime shapes. Not dynamic: tensors created inside ``forward``
with a size read from an input (``ds.zeros(x.shape[0])`` is baked in as a constant), the
variance over a dynamic axis, spatial dims through adaptive pooling (its averaging matrices
are baked for the traced size), integer indices into a dynamic dim (``x[:, -1]`` is traced as
``x[:, n - 1]``: use ``x[:, -1:]``), and any op whose output dims cannot be traced back to its
inputs' (the error says which). In-place ops are exported as their out-of-place forms, except
on tensors that have views. Anything else raises :class:`UnsupportedOperatorError` naming the
op.
"""

from ._export import UnsupportedOperatorError, export

__all__ = ["export", "UnsupportedOperatorError"]
