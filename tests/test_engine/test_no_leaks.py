"""Short runs guard against obvious leaks (issue 16, item 5): no tensor or Python object
outlives its iteration in the runner (log buffers, hooks, checkpoints, evaluation), and a
detector fed a new image shape every iteration keeps nothing per shape (anchors, grids).
The 2,000-iteration resident-memory figures are measured by
tools/analysis_tools/train_memory.py (docs/tutorials/when_things_go_wrong.md)."""
import gc

import torch
from mmengine.config import Config
from mmengine.hooks import Hook

from mmdet_lite.apis import load_config
from mmdet_lite.engine import build_runner
from mmdet_lite.models import build_detector
from mmdet_lite.registry import HOOKS
from tests.test_engine.toy import toy_cfg


def _live() -> tuple:
    """(live tensors, live Python objects tracked by the collector) after a collection."""
    gc.collect()
    objects = gc.get_objects()
    return sum(1 for o in objects if isinstance(o, torch.Tensor)), len(objects)


@HOOKS.register_module(force=True)
class LiveObjectsHook(Hook):
    """``(epoch, live tensors, live objects)`` at the end of the train epochs in ``epochs``."""

    priority = 'LOWEST'

    def __init__(self, epochs):
        self.epochs, self.records = set(epochs), []

    def after_train_epoch(self, runner):
        if runner.epoch + 1 in self.epochs:
            self.records.append((runner.epoch + 1, *_live()))


def test_runner_keeps_nothing_per_iteration(tmp_path):
    # 5 iterations an epoch, logging, evaluation, the val-loss pass and a checkpoint each epoch
    runner = build_runner(Config(toy_cfg(
        str(tmp_path), runner=dict(type='EpochBasedRunner', max_epochs=10),
        workflow=[('train', 1), ('val', 1)], evaluation=dict(interval=1, metric='bbox'),
        checkpoint_config=dict(interval=1, max_keep_ckpts=2),
        custom_hooks=[dict(type='LiveObjectsHook', epochs=[4, 10])])))
    runner.train()
    (_, tensors_4, objects_4), (_, tensors_10, objects_10) = [
        h for h in runner.hooks if isinstance(h, LiveObjectsHook)][0].records
    assert tensors_10 == tensors_4
    # 30 iterations later: a leak of one object an iteration would show; the runner's own
    # bookkeeping (message hub keys, logger records) settles after the first epochs
    assert objects_10 - objects_4 < 30, (objects_4, objects_10)


def test_detector_keeps_nothing_per_image_shape():
    cfg = load_config('configs/shapes/retinanet_r18_fpn_shapes.py').model
    cfg.backbone.update(base_channels=8)
    cfg.neck.update(in_channels=[8, 16, 32, 64], out_channels=16)
    cfg.bbox_head.update(in_channels=16, feat_channels=16)
    torch.manual_seed(0)
    model = build_detector(cfg)
    boxes, labels = [torch.tensor([[4., 4., 30., 40.]])], [torch.tensor([1])]

    def step(h: int, w: int) -> None:
        meta = dict(img_shape=(h, w, 3), pad_shape=(h, w, 3), ori_shape=(h, w, 3),
                    scale_factor=torch.ones(4).numpy(), flip=False)
        losses = model.forward_train(torch.rand(1, 3, h, w), [meta], boxes, labels)
        sum(v if isinstance(v, torch.Tensor) else sum(v) for v in losses.values()).backward()
        model.eval()
        with torch.no_grad():
            model.simple_test(torch.rand(1, 3, h, w), [meta], rescale=True)
        model.train()

    step(64, 64)
    before = _live()
    for h, w in ((96, 64), (64, 96), (96, 96)):  # a cache keyed by shape would grow 3 times
        step(h, w)
    after = _live()
    assert after[0] == before[0], (before, after)
