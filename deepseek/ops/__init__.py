"""Layer 2 primitives. Importing this package registers every op and its front doors."""

from . import (activation, attention, conv, elementwise, indexing, linalg, loss,  # noqa: F401
               movement, normalization, pool, reduce, sorting)
from ._opdef import REGISTRY, OpDef, apply, defop, verify_registry  # noqa: F401
