"""``deepseek.utils.benchmark``: time Python statements and tabulate the results, as
``torch.utils.benchmark`` (``Timer``, ``Measurement``, ``Compare``). The fuzzers, Callgrind and
C++ timing are not implemented and say so when used."""

from .utils._unsupported import (CallgrindStats, CopyIfCallgrind, FunctionCount,  # noqa: F401
                                 FunctionCounts, FuzzedParameter, FuzzedSparseTensor,
                                 FuzzedTensor, Fuzzer, ParameterAlias)
from .utils.common import (Measurement, TaskSpec, ordered_unique, select_unit,  # noqa: F401
                           set_torch_threads, trim_sigfig, unit_to_english)
from .utils.compare import Colorize, Compare  # noqa: F401
from .utils.timer import Language, Timer, timer  # noqa: F401
