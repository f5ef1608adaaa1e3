"""Layer 2 primitives. Importing this package registers every op and its front doors."""

from . import (activation, attention, complex, conv, ctc, decompositions,  # noqa: F401
               eigen, elementwise, fft, fractional_pool, histogram, indexing, linalg, loss,
               movement, normalization, numeric, pool, recurrent, reduce, solvers, sorting,
               special, spectral)
from ._opdef import REGISTRY, OpDef, apply, defop, verify_registry  # noqa: F401
