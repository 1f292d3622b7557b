"""mmdetection 2.x registry names and the dataset builder.

``build_dataset`` builds the inner datasets of a wrapper config first and hands them to the
wrapper built, as 2.x did: a config with a ``dataset`` dict (``RepeatDataset``, ...) or a
``datasets`` list (``ConcatDataset``) is a wrapper, whatever its type, so a new wrapper class
needs no change here. Wrappers themselves never build (``dataset_wrappers.py``).
"""
import copy
from typing import Optional

from ..registry import DATASETS, TRANSFORMS
from .dataset_wrappers import ConcatDataset

PIPELINES = TRANSFORMS


def _concat_dataset(cfg: dict, default_args: Optional[dict] = None) -> ConcatDataset:
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
    return ConcatDataset(parts, separate_eval=cfg.get('separate_eval', True))


def _build_wrapper(cfg: dict, default_args: Optional[dict] = None):
    """A wrapper config: its ``dataset`` / ``datasets`` configs are built (with
    ``default_args``, as 2.x), then the wrapper gets them."""
    cfg = dict(cfg)
    if isinstance(cfg.get('dataset'), dict):
        cfg['dataset'] = build_dataset(cfg['dataset'], default_args)
    if isinstance(cfg.get('datasets'), (list, tuple)):
        cfg['datasets'] = [build_dataset(c, default_args) if isinstance(c, dict) else c
                           for c in cfg['datasets']]
    return DATASETS.build(cfg)


def build_dataset(cfg: dict, default_args: Optional[dict] = None):
    """Build a dataset from its config (``type`` looked up in ``DATASETS``).

    A list of configs gives a ``ConcatDataset``; a list ``ann_file`` too (2.x). The inner
    datasets of a wrapper config are built first (see the module docstring).
    """
    if isinstance(cfg, (list, tuple)):
        return ConcatDataset([build_dataset(c, default_args) for c in cfg])
    if 'dataset' in cfg or 'datasets' in cfg:
        return _build_wrapper(cfg, default_args)
    if isinstance(cfg.get('ann_file'), (list, tuple)):
        return _concat_dataset(cfg, default_args)
    return DATASETS.build(cfg, default_args=default_args)
