"""``deepseek.distributed.pipelining``: pipeline parallelism, as
``torch.distributed.pipelining``: a model split into stages, one per process, fed with
microbatches by a schedule (``ScheduleGPipe``, ``Schedule1F1B``)."""

from ._pipe import Pipe, SplitPoint, pipeline
from .schedules import PipelineScheduleSingle, Schedule1F1B, ScheduleGPipe
from .stage import PipelineStage

__all__ = ["Pipe", "PipelineScheduleSingle", "PipelineStage", "Schedule1F1B", "ScheduleGPipe",
           "SplitPoint", "pipeline"]
