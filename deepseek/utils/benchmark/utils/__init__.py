"""The modules behind ``deepseek.utils.benchmark``, laid out as ``torch.utils.benchmark.utils``."""
