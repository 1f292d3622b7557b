"""The ``data`` key of a 2.x config → datasets and mmengine dataloader configs.

``data.samples_per_gpu`` / ``workers_per_gpu`` / ``data.<split>_dataloader`` → batch size,
workers and sampler of each split; ``data.train`` / ``data.val`` → the datasets the runner
needs; the ('val', N) workflow's dataset is ``data.val`` through the train pipeline, as 2.x.
"""
import warnings
from typing import Any, Dict, Optional

from mmengine.config import Config
from mmengine.registry import DefaultScope
from torch.utils.data import DataLoader

from ..datasets import build_dataset
from ..registry import DATA_SAMPLERS
from .runner import LiteRunner
from .runtime_keys import plain_copy, reject_extra_keys

DATALOADER_KEYS = ('samples_per_gpu', 'workers_per_gpu', 'persistent_workers', 'shuffle',
                   'pin_memory', 'seed', 'dist', 'num_gpus', 'runner_type',
                   'class_aware_sampler')


def _dataset_pipeline_owner(dataset_cfg: dict) -> dict:
    """The dict holding ``pipeline`` (wrappers such as RepeatDataset nest it in ``dataset``)."""
    while 'pipeline' not in dataset_cfg and isinstance(dataset_cfg.get('dataset'), dict):
        dataset_cfg = dataset_cfg['dataset']
    return dataset_cfg


def dataloader(cfg: Config, split: str, dataset: Any = None, *, shuffle: bool = False,
               defaults: Optional[dict] = None) -> dict:
    """An mmengine dataloader config for ``data.<split>`` with 2.x batch/worker settings.

    ``samples_per_gpu``/``workers_per_gpu``: training uses ``data.*``; val/test default to
    1 sample (as 2.x) and ``data.workers_per_gpu``; ``data.<split>_dataloader`` overrides both.
    """
    data = plain_copy(cfg.data)
    if split == 'train':
        args = {k: v for k, v in data.items() if k in DATALOADER_KEYS}
    else:
        args = dict(samples_per_gpu=1, workers_per_gpu=data.get('workers_per_gpu', 2))
    args.update(defaults or {})
    override = data.get(f'{split}_dataloader') or {}
    reject_extra_keys(f'data.{split}_dataloader', override, DATALOADER_KEYS)
    args.update(override)
    if dataset is None:
        dataset = data[split]
    num_workers = args.get('workers_per_gpu', 2)
    loader = dict(batch_size=args.get('samples_per_gpu', 2), num_workers=num_workers,
                  persistent_workers=bool(args.get('persistent_workers', False)) and num_workers > 0,
                  pin_memory=bool(args.get('pin_memory', False)),
                  collate_fn=dict(type='mmdet_lite.mmdet_collate'), dataset=dataset)
    shuffle = args.get('shuffle', shuffle)
    class_aware = args.get('class_aware_sampler')
    if class_aware is not None:
        # 2.x: sample classes uniformly, then images of each class (OpenImages configs)
        if DATA_SAMPLERS.get('ClassAwareSampler') is None:
            raise KeyError(f'data.{split}_dataloader.class_aware_sampler={class_aware} needs '
                           'a ClassAwareSampler, which mmdet_lite does not have yet; remove '
                           'the key to sample images uniformly')
        loader['sampler'] = dict(type='ClassAwareSampler',
                                 num_sample_class=class_aware.get('num_sample_class', 1))
    elif (split == 'train' and shuffle and getattr(dataset, 'flag', None) is not None):
        if DATA_SAMPLERS.get('GroupSampler') is not None:
            loader['sampler'] = dict(type='GroupSampler', samples_per_gpu=loader['batch_size'])
        else:
            warnings.warn('the train dataset has aspect-ratio groups (flag) but no GroupSampler '
                          'is registered: batches are sampled without grouping')
            loader['sampler'] = dict(type='DefaultSampler', shuffle=True)
    else:
        loader['sampler'] = dict(type='DefaultSampler', shuffle=bool(shuffle))
    return loader


def build_test_dataloader(cfg: Config, dataset: Any, seed: Optional[int] = None) -> DataLoader:
    """A built DataLoader over ``dataset`` with ``data.test_dataloader`` settings, in order
    (``DefaultSampler(shuffle=False)``: in distributed runs each rank takes its share)."""
    with DefaultScope.overwrite_default_scope('mmdet_lite'):
        return LiteRunner.build_dataloader(dataloader(cfg, 'test', dataset, shuffle=False),
                                           seed=seed)


def build_datasets(cfg: Config, validate: bool, train_dataset: Any = None) -> Dict[str, Any]:
    """``dict(train=...)`` and, when validating with an ``evaluation`` key, ``val`` (test mode)."""
    if train_dataset is None:
        train_dataset = build_dataset(plain_copy(cfg.data.train))
    built = dict(train=train_dataset)
    if validate and cfg.get('evaluation') is not None:
        val_cfg = plain_copy(cfg.data.val)
        if isinstance(val_cfg, dict):
            val_cfg['test_mode'] = True
        built['val'] = build_dataset(val_cfg)
    return built


def val_loss_dataset_cfg(cfg: Config) -> dict:
    """``data.val`` with the TRAIN pipeline, as mmdetection 2.x built the ('val', N) phase."""
    val_cfg = plain_copy(cfg.data.val)
    train_owner = _dataset_pipeline_owner(plain_copy(cfg.data.train))
    if 'pipeline' not in train_owner:
        raise KeyError("workflow ('val', N) needs data.train.pipeline (the val losses are "
                       'computed on data.val through the train pipeline)')
    _dataset_pipeline_owner(val_cfg)['pipeline'] = train_owner['pipeline']
    return val_cfg
