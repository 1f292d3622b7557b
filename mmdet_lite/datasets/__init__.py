from . import pipelines, samplers  # noqa: F401 (registers)
from .builder import DATASETS, PIPELINES, build_dataset
from .collate import mmdet_collate

__all__ = ['DATASETS', 'PIPELINES', 'build_dataset', 'mmdet_collate']
