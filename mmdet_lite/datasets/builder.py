"""mmdetection 2.x registry names and builder functions for datasets."""
from typing import Optional

from ..registry import DATASETS, TRANSFORMS

PIPELINES = TRANSFORMS


def build_dataset(cfg: dict, default_args: Optional[dict] = None):
    """Build a dataset from its config (``type`` looked up in ``DATASETS``)."""
    return DATASETS.build(cfg, default_args=default_args)
