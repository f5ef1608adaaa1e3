"""Run a PyTorch program on deepseek: ``import torch`` (and ``torch.nn`` …) resolve to
``deepseek`` (and ``deepseek.nn`` …).

    python tests/ports/torch_as_deepseek.py program.py [args...]
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import runpy
import sys


class _TorchAlias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path=None, target=None):
        if fullname == "torch" or fullname.startswith("torch."):
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        return importlib.import_module("deepseek" + spec.name[len("torch"):])

    def exec_module(self, module):
        pass


def install() -> None:
    sys.meta_path.insert(0, _TorchAlias())


if __name__ == "__main__":
    install()
    script = sys.argv[1]
    sys.argv = sys.argv[1:]
    runpy.run_path(script, run_name="__main__")
