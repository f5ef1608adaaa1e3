"""``deepseek.profiler``: the ``torch.profiler`` API (profile, record_function, schedule,
tensorboard_trace_handler) on deepseek's primitive ops."""

from ._events import EventList, FunctionEvent, FunctionEventAvg
from .profiler import (ProfilerAction, ProfilerActivity, profile, record_function, schedule,
                       supported_activities, tensorboard_trace_handler)

__all__ = ["profile", "record_function", "schedule", "tensorboard_trace_handler",
           "ProfilerAction", "ProfilerActivity", "supported_activities", "EventList",
           "FunctionEvent", "FunctionEventAvg"]
