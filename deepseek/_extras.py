"""Optional dependencies, imported when first used, with an error naming the extra that
brings them."""

from __future__ import annotations

import importlib
from typing import Any


def require(module: str, extra: str, who: str) -> Any:
    """``module`` imported, or an ImportError saying that ``who`` needs it and which
    ``pip install "deepseek-framework[extra]"`` brings it."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        package = module.split(".")[0]
        raise ImportError(f'[{who}] needs the {package} package, which is not installed: '
                          f'pip install "deepseek-framework[{extra}]"') from e
