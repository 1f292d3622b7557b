"""A toy detector, dataset, metric and hook for the engine tests (importable by custom_imports)."""
import json
import os
import os.path as osp
from typing import List, Optional

import numpy as np
import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from torch import nn

from mmdet_lite.models.detectors.base import BaseDetector
from mmdet_lite.registry import DATASETS, HOOKS, MODELS


@MODELS.register_module(force=True)
class ToyDetector(BaseDetector):
    """Regresses the number of boxes of an image from its mean colour: loss_toy = MSE."""

    def __init__(self, num_classes: int = 2, train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None, init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.num_classes = num_classes
        self.fc = nn.Linear(3, 1)

    def extract_feat(self, img):
        return img.mean(dim=(2, 3))

    def forward_train(self, img, img_metas, gt_bboxes, gt_labels, gt_bboxes_ignore=None,
                      **kwargs):
        super().forward_train(img, img_metas)
        pred = self.fc(self.extract_feat(img)).squeeze(1)
        target = torch.tensor([float(len(b)) for b in gt_bboxes], device=pred.device)
        return dict(loss_toy=((pred - target)**2).mean())

    def simple_test(self, img, img_metas, rescale=False, **kwargs):
        # one box per image whose x1 is the sample index: the metric can see every sample
        return [[np.array([[m['idx'], 0, 1, 1, 1.0]], dtype=np.float32)]
                + [np.zeros((0, 5), np.float32) for _ in range(self.num_classes - 1)]
                for m in img_metas]

    def aug_test(self, imgs, img_metas, rescale=False, **kwargs):
        return self.simple_test(imgs[0], img_metas[0])


def toy_sample(idx: int, scale: float = 1.0) -> dict:
    """Of one image: a deterministic 3x8x8 image and ``idx % 3 + 1`` boxes."""
    g = torch.Generator().manual_seed(idx)
    img = torch.rand(3, 8, 8, generator=g) * scale
    k = idx % 3 + 1
    boxes = torch.tensor([[0., 0., 4., 4.]]).repeat(k, 1)
    meta = dict(idx=idx, filename=f'{idx}.jpg', ori_shape=(8, 8, 3), img_shape=(8, 8, 3),
                pad_shape=(8, 8, 3), scale_factor=np.ones(4, np.float32), flip=False)
    return dict(img=img, img_metas=meta, gt_bboxes=boxes,
                gt_labels=torch.zeros(k, dtype=torch.long))


@DATASETS.register_module(force=True)
class ToyDetDataset(torch.utils.data.Dataset):
    """``num`` samples starting at ``start``; ``pipeline=[dict(type='ToyScale', scale=s)]``
    multiplies the images by ``s`` (so a test can tell which pipeline was used)."""

    CLASSES = ('cat', 'dog')

    def __init__(self, num: int = 10, start: int = 0, pipeline: Optional[List[dict]] = None,
                 test_mode: bool = False):
        self.num, self.start, self.test_mode = num, start, test_mode
        self.scale = 1.0
        for t in pipeline or []:
            if t['type'] == 'ToyScale':
                self.scale = t['scale']

    @property
    def metainfo(self):
        return dict(classes=self.CLASSES)

    def __len__(self):
        return self.num

    def __getitem__(self, i):
        return toy_sample(self.start + i, self.scale)

    def evaluate(self, results, metric='bbox', logger=None, **kwargs):
        """``num`` results, ``unique`` sample indices, their ``id_sum``, ``in_order`` (0/1)."""
        ids = [int(r[0][0, 0]) for r in results]
        return dict(num=len(ids), unique=len(set(ids)), id_sum=sum(ids),
                    in_order=float(ids == list(range(self.start, self.start + self.num))),
                    bbox_mAP_copypaste='not a number')

    def format_results(self, results, jsonfile_prefix=None, **kwargs):
        """Writes the sample indices to ``<jsonfile_prefix>.ids.json``."""
        with open(f'{jsonfile_prefix}.ids.json', 'w') as f:
            json.dump([int(r[0][0, 0]) for r in results], f)


@HOOKS.register_module(force=True)
class RankRecorderHook(Hook):
    """Every rank writes how many iterations it ran and its final weights to ``out_dir``."""

    def __init__(self, out_dir: str):
        self.out_dir = out_dir
        self.iters = 0

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.iters += 1

    def after_train(self, runner):
        os.makedirs(self.out_dir, exist_ok=True)
        model = runner.model.module if hasattr(runner.model, 'module') else runner.model
        weights = [float(v) for v in torch.cat([p.detach().flatten()
                                                for p in model.parameters()])]
        with open(osp.join(self.out_dir, f'rank{get_rank()}.json'), 'w') as f:
            json.dump(dict(iters=self.iters, weights=weights,
                           world_size=runner.world_size), f)


@HOOKS.register_module(force=True)
class FailingRankHook(Hook):
    """Rank ``rank`` raises before train iteration ``at`` (1-based), as a rank that hits a bad
    sample or runs out of memory does."""

    def __init__(self, rank: int, at: int):
        self.rank, self.at = rank, at

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if get_rank() == self.rank and runner.iter + 1 == self.at:
            raise RuntimeError(f'rank {self.rank} fails on purpose before iteration {self.at}')


@HOOKS.register_module(force=True)
class LrRecorderHook(Hook):
    """Records the lr and momentum of the first param group at every iteration (after the
    lr/momentum hooks)."""

    priority = 'LOWEST'

    def __init__(self):
        self.lrs: List[float] = []
        self.momenta: List[float] = []
        self.logged: List[float] = []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        group = runner.optim_wrapper.optimizer.param_groups[0]
        self.lrs.append(group['lr'])
        self.momenta.append(group.get('momentum'))

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.logged.append(runner.message_hub.get_scalar('train/lr').current())


def toy_cfg(work_dir: str, **overrides) -> dict:
    """A complete mmdetection 2.x config for the toy detector (plain dict)."""
    cfg = dict(
        model=dict(type='ToyDetector'),
        data=dict(samples_per_gpu=2, workers_per_gpu=0,
                  train=dict(type='ToyDetDataset', num=10,
                             pipeline=[dict(type='ToyScale', scale=1.0)]),
                  val=dict(type='ToyDetDataset', num=5, start=100,
                           pipeline=[dict(type='ToyScale', scale=100.0)]),
                  test=dict(type='ToyDetDataset', num=5, start=100,
                            pipeline=[dict(type='ToyScale', scale=100.0)])),
        optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4),
        optimizer_config=dict(grad_clip=None),
        lr_config=dict(policy='step', step=[1]),
        runner=dict(type='EpochBasedRunner', max_epochs=2),
        checkpoint_config=dict(interval=1),
        log_config=dict(interval=1, hooks=[dict(type='TextLoggerHook')]),
        custom_hooks=[dict(type='NumClassCheckHook')],
        workflow=[('train', 1)],
        dist_params=dict(backend='nccl'), log_level='WARNING',
        load_from=None, resume_from=None, work_dir=work_dir, seed=0)
    cfg.update(overrides)
    return cfg


class _CountedTransform:
    """Forwards to ``transform`` and counts its calls in ``counts[name]``."""

    def __init__(self, transform, name: str, counts: dict):
        self._transform, self._name, self._counts = transform, name, counts

    def __getattr__(self, attr):
        return getattr(self._transform, attr)

    def __call__(self, results):
        self._counts[self._name] = self._counts.get(self._name, 0) + 1
        return self._transform(results)


@HOOKS.register_module(force=True)
class TransformSpyHook(Hook):
    """Per train epoch: how often each transform of a ``MultiImageMixDataset`` pipeline ran,
    its ``skip_type_keys`` and ``bbox_head.use_l1``; written to ``out_file`` (JSON) at the end.
    Needs ``workers_per_gpu=0`` (the counts live in this process)."""

    priority = 'LOWEST'

    def __init__(self, out_file: str):
        self.out_file = out_file
        self.counts: dict = {}
        self.epochs: list = []

    def before_train(self, runner):
        dataset = runner.train_dataloader.dataset
        dataset.pipeline = [_CountedTransform(t, name, self.counts)
                            for t, name in zip(dataset.pipeline, dataset.pipeline_types)]

    def after_train_epoch(self, runner):
        model = runner.model.module if hasattr(runner.model, 'module') else runner.model
        skip = runner.train_dataloader.dataset._skip_type_keys
        self.epochs.append(dict(counts=dict(self.counts), skip_type_keys=skip and list(skip),
                                use_l1=getattr(model.bbox_head, 'use_l1', None)))
        self.counts.clear()

    def after_train(self, runner):
        with open(self.out_file, 'w') as f:
            json.dump(self.epochs, f)


@HOOKS.register_module(force=True)
class WeightRecorderHook(Hook):
    """The model's flattened parameters at the start of training, after every train iteration
    and at the start of every validation epoch (after the other hooks: an EMA hook has swapped
    its weights in by then)."""

    priority = 'LOWEST'

    def __init__(self):
        self.start: Optional[torch.Tensor] = None
        self.iters: List[torch.Tensor] = []
        self.val: List[torch.Tensor] = []

    @staticmethod
    def _flat(runner) -> torch.Tensor:
        model = runner.model.module if hasattr(runner.model, 'module') else runner.model
        return torch.cat([p.detach().flatten() for p in model.parameters()]).clone()

    def before_train(self, runner):
        self.start = self._flat(runner)

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.iters.append(self._flat(runner))

    def before_val_epoch(self, runner):
        self.val.append(self._flat(runner))
