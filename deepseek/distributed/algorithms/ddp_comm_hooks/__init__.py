"""DistributedDataParallel communication hooks: plain all-reduce, fp16/bf16 compression
(``default_hooks``) and PowerSGD low-rank compression (``powerSGD_hook``)."""

from . import default_hooks, powerSGD_hook  # noqa: F401
