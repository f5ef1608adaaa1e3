"""``deepseek.nn.functional``: the functional neural-network ops (front doors onto ``ops/``).

Split by concept; this module only re-exports.
"""

from ._activation import *  # noqa: F401,F403
from ._attention import *  # noqa: F401,F403
from ._conv import *  # noqa: F401,F403
from ._linear_cross_entropy import *  # noqa: F401,F403
from ._loss import *  # noqa: F401,F403
from ._misc import *  # noqa: F401,F403
from ._norm import *  # noqa: F401,F403
from ._pool import *  # noqa: F401,F403
