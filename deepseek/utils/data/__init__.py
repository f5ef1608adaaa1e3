"""``deepseek.utils.data``: datasets, samplers and the DataLoader."""

from .dataloader import DataLoader, default_collate  # noqa: F401
from .dataset import Dataset, TensorDataset  # noqa: F401
