"""Layer 2 primitives. Importing this package registers every op and its front doors."""

from . import (activation, attention, conv, decompositions, elementwise, indexing,  # noqa: F401
               ctc, fractional_pool, linalg, loss, movement, normalization, pool, reduce,
               solvers, sorting, special)
from ._opdef import REGISTRY, OpDef, apply, defop, verify_registry  # noqa: F401
