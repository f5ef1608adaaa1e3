"""``deepseek.nn.utils``: gradient clipping, parameter/vector conversion, packed sequences,
layer fusion."""

from . import rnn  # noqa: F401
from .clip_grad import clip_grad_norm, clip_grad_norm_, clip_grad_value_, get_total_norm  # noqa: F401
from .convert_parameters import parameters_to_vector, vector_to_parameters  # noqa: F401
from . import fusion  # noqa: F401
from .fusion import (fuse_conv_bn_eval, fuse_conv_bn_weights, fuse_layers,  # noqa: F401
                     fuse_linear_bn_eval, fuse_linear_bn_weights)
