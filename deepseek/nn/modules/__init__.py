"""``deepseek.nn.modules``: the layers, one file per ``torch.nn.modules`` file."""

from . import (activation, adaptive, batchnorm, channelshuffle, container, conv, distance, dropout,
               flatten, fold, instancenorm, lazy, linear, loss, module, normalization, padding,
               pixelshuffle, pooling, rnn, sparse, transformer, upsampling)
from . import linear_cross_entropy, parallel  # noqa: F401
from .activation import *  # noqa: F401,F403
from .adaptive import *  # noqa: F401,F403
from .batchnorm import *  # noqa: F401,F403
from .channelshuffle import *  # noqa: F401,F403
from .container import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .distance import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .flatten import *  # noqa: F401,F403
from .fold import *  # noqa: F401,F403
from .instancenorm import *  # noqa: F401,F403
from .lazy import *  # noqa: F401,F403
from .linear import *  # noqa: F401,F403
from .linear_cross_entropy import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .module import Module  # the global hook functions stay in .module, as in torch's
from .normalization import *  # noqa: F401,F403
from .padding import *  # noqa: F401,F403
from .parallel import *  # noqa: F401,F403
from .pixelshuffle import *  # noqa: F401,F403
from .pooling import *  # noqa: F401,F403
from .rnn import *  # noqa: F401,F403
from .sparse import *  # noqa: F401,F403
from .transformer import *  # noqa: F401,F403
from .upsampling import *  # noqa: F401,F403

__all__ = ["Module"] + [name for m in (container, linear, activation, loss, conv, pooling,
                                        batchnorm, instancenorm, normalization, dropout, sparse,
                                        rnn, transformer, padding, pixelshuffle, upsampling,
                                        distance, flatten, fold, channelshuffle, lazy, adaptive)
                        for name in m.__all__] + linear_cross_entropy.__all__ + parallel.__all__
