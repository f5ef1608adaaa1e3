"""torch's import paths for modules that deepseek lays out differently.

``from torch.nn.parallel import DistributedDataParallel`` or ``import
torch.distributions.normal`` must work with ``deepseek`` in torch's place, but our files are not
one per torch module. These helpers enter existing modules (or small namespaces of existing
objects) into ``sys.modules`` under torch's dotted names, so the import system finds them.
"""

from __future__ import annotations

import sys
import types
from typing import Any


def _attach(name: str, module: types.ModuleType) -> None:
    sys.modules[name] = module
    parent, _, child = name.rpartition(".")
    setattr(sys.modules[parent], child, module)


def alias(name: str, module: types.ModuleType) -> types.ModuleType:
    """Make ``module`` importable as ``name`` too, with its already-imported submodules under
    the same suffixes (``deepseek.ao.quantization.observer`` is
    ``deepseek.quantization.observer``)."""
    prefix = module.__name__ + "."
    for sub in [m for m in sys.modules if m.startswith(prefix)]:
        sys.modules[name + sub[len(module.__name__):]] = sys.modules[sub]
    _attach(name, module)
    return module


def namespace(name: str, doc: str = "", **objects: Any) -> types.ModuleType:
    """A module ``name`` holding ``objects``: torch's path to things defined elsewhere here."""
    module = types.ModuleType(name, doc or f"torch's ``{name.replace('deepseek', 'torch', 1)}``.")
    module.__dict__.update(objects)
    module.__all__ = sorted(objects)
    _attach(name, module)
    return module
