"""Layer 2 primitives. Importing this package registers every op and its front doors."""

from . import elementwise, indexing, linalg, movement, reduce  # noqa: F401
from ._opdef import REGISTRY, OpDef, apply, defop, verify_registry  # noqa: F401
