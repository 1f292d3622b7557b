"""mmdetection 2.x registry names and builder functions for datasets."""
import copy
from typing import Optional

from ..registry import DATASETS, TRANSFORMS

PIPELINES = TRANSFORMS


def _concat_dataset(cfg: dict, default_args: Optional[dict] = None):
    """2.x: a list ``ann_file`` (with matching prefix lists) means one dataset per file."""
    ann_files = cfg['ann_file']
    parts = []
    for i, ann_file in enumerate(ann_files):
        part = copy.deepcopy(cfg)
        part.pop('separate_eval', None)
        part['ann_file'] = ann_file
        for key in ('img_prefix', 'seg_prefix', 'proposal_file'):
            value = cfg.get(key)
            if isinstance(value, (list, tuple)):
                if len(value) != len(ann_files):
                    raise ValueError(f'{key} has {len(value)} entries for {len(ann_files)} '
                                     f'ann_file entries')
                part[key] = value[i]
        parts.append(build_dataset(part, default_args))
    from .dataset_wrappers import ConcatDataset
    return ConcatDataset(parts, separate_eval=cfg.get('separate_eval', True))


def build_dataset(cfg: dict, default_args: Optional[dict] = None):
    """Build a dataset from its config (``type`` looked up in ``DATASETS``).

    A list of configs gives a ``ConcatDataset``; a list ``ann_file`` too (2.x).
    """
    if isinstance(cfg, (list, tuple)):
        from .dataset_wrappers import ConcatDataset
        return ConcatDataset([build_dataset(c, default_args) for c in cfg])
    if isinstance(cfg.get('ann_file'), (list, tuple)):
        return _concat_dataset(cfg, default_args)
    return DATASETS.build(cfg, default_args=default_args)
