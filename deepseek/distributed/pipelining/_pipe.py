"""``pipeline``: split a model into stages. A simple front end: deepseek splits an
``nn.Sequential`` between its children, at the names ``split_spec`` gives (torch traces any
module into a graph; that is not here)."""

from __future__ import annotations

from collections import OrderedDict
from enum import Enum
from typing import Any, Optional

from ...nn.modules.container import Sequential
from ...nn.modules.module import Module
from .stage import PipelineStage

__all__ = ["Pipe", "SplitPoint", "pipeline"]


class SplitPoint(Enum):
    """Where a stage boundary falls relative to the named child: just before it
    (``BEGINNING``) or just after it (``END``)."""

    BEGINNING = 1
    END = 2


class Pipe(Module):
    """A model split into stages: ``split_gm.submod_pp_<i>`` is stage i's module (a
    ``Sequential`` of the original children, under their original names, sharing their
    parameters). Calling it runs the stages in order, as the unsplit model.

    Example::

        >>> model = ds.nn.Sequential(ds.nn.Linear(4, 8), ds.nn.Tanh(), ds.nn.Linear(8, 2))
        >>> pipe = pipeline(model, (ds.randn(2, 4),), split_spec={"2": SplitPoint.BEGINNING})
        >>> pipe.num_stages
        2
        >>> list(pipe.get_stage_module(1).state_dict())
        ['2.weight', '2.bias']
    """

    def __init__(self, stages: list) -> None:
        super().__init__()
        self.split_gm = Sequential(OrderedDict(
            (f"submod_pp_{i}", stage) for i, stage in enumerate(stages)))
        self.num_stages = len(stages)

    def forward(self, *args: Any) -> Any:
        return self.split_gm(*args)

    def get_stage_module(self, stage_idx: int) -> Module:
        if not 0 <= stage_idx < self.num_stages:
            raise ValueError(f"[Pipe.get_stage_module] stage_idx {stage_idx} is out of range "
                             f"of {self.num_stages} stages")
        return getattr(self.split_gm, f"submod_pp_{stage_idx}")

    def build_stage(self, stage_index: int, device: Any = None,
                    group: Optional[Any] = None) -> PipelineStage:
        """The ``PipelineStage`` of stage ``stage_index``, for this process."""
        return PipelineStage(self.get_stage_module(stage_index), stage_index, self.num_stages,
                             device, group=group)


def pipeline(module: Module, mb_args: tuple, mb_kwargs: Optional[dict] = None,
             split_spec: Optional[dict] = None, split_policy: Any = None) -> Pipe:
    """Split ``module`` (an ``nn.Sequential``) into pipeline stages.

    Args:
        module (Sequential): the model; its children run one after another.
        mb_args (tuple): a microbatch's inputs (accepted as torch takes them; deepseek needs
            no tracing).
        mb_kwargs (dict, optional): likewise.
        split_spec (dict): child name -> ``SplitPoint``; a stage boundary falls just before
            (``BEGINNING``) or just after (``END``) that child. Without it, one stage.
        split_policy: not supported.

    Returns:
        Pipe: ``pipe.build_stage(rank, device)`` makes this process's stage.
    """
    if split_policy is not None:
        raise NotImplementedError("[pipeline] split_policy is not supported; give the stage "
                                  "boundaries as split_spec")
    if not isinstance(module, Sequential):
        raise TypeError(f"[pipeline] deepseek splits an nn.Sequential between its children, "
                        f"got {type(module).__name__}; build a PipelineStage from each part "
                        "yourself for other modules")
    children = list(module.named_children())
    names = [name for name, _ in children]
    cuts = set()
    for name, point in (split_spec or {}).items():
        if name not in names:
            raise ValueError(f"[pipeline] split_spec names {name!r}, which is not a child of "
                             f"the Sequential; its children are {names}")
        if not isinstance(point, SplitPoint):
            raise TypeError(f"[pipeline] split_spec[{name!r}] must be a SplitPoint, got "
                            f"{point!r}")
        cuts.add(names.index(name) + (point is SplitPoint.END))
    cuts.discard(0)
    cuts.discard(len(children))
    bounds = [0, *sorted(cuts), len(children)]
    stages = [Sequential(OrderedDict(children[a:b])) for a, b in zip(bounds, bounds[1:])]
    return Pipe(stages)
