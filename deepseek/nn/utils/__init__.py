"""``deepseek.nn.utils``: gradient clipping, parameter/vector conversion, packed sequences,
layer fusion, parametrizations, weight and spectral normalization, stateless
``functional_call``."""

from . import parametrizations, parametrize, rnn  # noqa: F401
from .clip_grad import clip_grad_norm, clip_grad_norm_, clip_grad_value_, get_total_norm  # noqa: F401
from .clip_grad import clip_grads_with_norm_  # noqa: F401
from .convert_parameters import parameters_to_vector, vector_to_parameters  # noqa: F401
from . import fusion  # noqa: F401
from .init import skip_init  # noqa: F401
from .fusion import (fuse_conv_bn_eval, fuse_conv_bn_weights, fuse_layers,  # noqa: F401
                     fuse_linear_bn_eval, fuse_linear_bn_weights)
from .spectral_norm import remove_spectral_norm, spectral_norm  # noqa: F401
from .weight_norm import remove_weight_norm, weight_norm  # noqa: F401
from . import stateless  # noqa: F401
