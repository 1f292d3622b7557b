"""Shared fixtures.

``tiny_shapes_checkpoint``: a tiny Mask R-CNN (ResNet-18 at 1/8 width, 16-channel FPN)
trained for one short epoch on a handful of 64x64 synthetic "shapes" images, once per test
session. Any test may use it for end-to-end checks (inference, tools, demos) without paying
for its own training run.
"""
import contextlib
import glob
import os.path as osp
from typing import Tuple

import pytest

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))

TINY_SHAPES_NUM_TRAIN = 8
TINY_SHAPES_NUM_VAL = 4
TINY_SHAPES_IMG_SIZE = 64

_TINY_MASK_RCNN_CONFIG = '''
_base_ = [
    {repo!r} + '/configs/_base_/models/mask_rcnn_r50_fpn.py',
    {repo!r} + '/configs/_base_/default_runtime.py',
]
num_classes = 4
model = dict(
    backbone=dict(depth=18, base_channels=8, frozen_stages=-1, norm_eval=False,
                  init_cfg=None),
    neck=dict(in_channels=[8, 16, 32, 64], out_channels=16),
    rpn_head=dict(in_channels=16, feat_channels=16),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=16),
        bbox_head=dict(in_channels=16, fc_out_channels=32, num_classes=num_classes),
        mask_roi_extractor=dict(out_channels=16),
        mask_head=dict(num_convs=1, in_channels=16, conv_out_channels=16,
                       num_classes=num_classes)),
    train_cfg=dict(
        rpn=dict(sampler=dict(num=64)),
        rpn_proposal=dict(nms_pre=200, max_per_img=100),
        rcnn=dict(sampler=dict(num=32))),
    test_cfg=dict(
        rpn=dict(nms_pre=200, max_per_img=50),
        rcnn=dict(score_thr=0.0, max_per_img=20)))

dataset_type = 'ShapesDataset'
data_root = {data_root!r}
img_norm_cfg = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)
_shapes = dict(num_train={num_train}, num_val={num_val}, img_size={img_size}, seed=0)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', img_scale=({img_size}, {img_size}), keep_ratio=True),
    dict(type='RandomFlip', flip_ratio=0.5),
    dict(type='Normalize', **img_norm_cfg),
    dict(type='Pad', size_divisor=32),
    dict(type='DefaultFormatBundle'),
    dict(type='Collect', keys=['img', 'gt_bboxes', 'gt_labels', 'gt_masks']),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='MultiScaleFlipAug', img_scale=({img_size}, {img_size}), flip=False,
         transforms=[
             dict(type='Resize', keep_ratio=True),
             dict(type='RandomFlip'),
             dict(type='Normalize', **img_norm_cfg),
             dict(type='Pad', size_divisor=32),
             dict(type='ImageToTensor', keys=['img']),
             dict(type='Collect', keys=['img']),
         ]),
]
data = dict(
    samples_per_gpu=2,
    workers_per_gpu=0,
    train=dict(type=dataset_type, data_root=data_root,
               ann_file=data_root + 'annotations/instances_train.json',
               img_prefix=data_root, pipeline=train_pipeline, **_shapes),
    val=dict(type=dataset_type, data_root=data_root,
             ann_file=data_root + 'annotations/instances_val.json',
             img_prefix=data_root, pipeline=test_pipeline, **_shapes),
    test=dict(type=dataset_type, data_root=data_root,
              ann_file=data_root + 'annotations/instances_val.json',
              img_prefix=data_root, pipeline=test_pipeline, **_shapes))
evaluation = dict(interval=1, metric=['bbox'])
optimizer = dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0001)
optimizer_config = dict(grad_clip=dict(max_norm=10, norm_type=2))
lr_config = dict(policy='step', warmup=None, step=[10])
runner = dict(type='EpochBasedRunner', max_epochs=1)
checkpoint_config = dict(interval=1)
log_config = dict(interval=1, hooks=[dict(type='TextLoggerHook')])
custom_hooks = []
seed = 0
work_dir = {work_dir!r}
'''


@contextlib.contextmanager
def single_torch_thread():
    """Run torch on one CPU thread inside the block (restored after).

    Tiny models gain nothing from intra-op threads, and on a loaded machine (CI runners,
    several test processes) OpenMP threads waiting for each other make them many times slower.
    """
    import torch
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@pytest.fixture
def one_thread():
    """Function-scoped :func:`single_torch_thread` for tests that run the tiny model."""
    with single_torch_thread():
        yield


def write_tiny_shapes_config(path: str, data_root: str, work_dir: str) -> str:
    """Write the tiny Mask R-CNN / shapes config to ``path``; returns ``path``."""
    data_root = data_root.rstrip('/') + '/'
    with open(path, 'w') as f:
        f.write(_TINY_MASK_RCNN_CONFIG.format(
            repo=REPO_ROOT, data_root=data_root, work_dir=work_dir,
            num_train=TINY_SHAPES_NUM_TRAIN, num_val=TINY_SHAPES_NUM_VAL,
            img_size=TINY_SHAPES_IMG_SIZE))
    return path


@pytest.fixture(scope='session')
def tiny_shapes_checkpoint(tmp_path_factory) -> Tuple[str, str, str, str]:
    """``(config_path, checkpoint_path, work_dir, data_root)`` of a tiny Mask R-CNN trained
    for one epoch (4 iterations) on 8 shapes images (4 val images), validated with the bbox
    metric; logs every iteration. Built once per session; treat the files as read-only."""
    import torch
    from mmengine.config import Config

    from mmdet_lite.datasets.shapes import generate_shapes
    from mmdet_lite.engine import build_runner

    root = tmp_path_factory.mktemp('tiny_shapes')
    data_root = str(root / 'data') + '/'
    work_dir = str(root / 'work_dir')
    generate_shapes(data_root, num_train=TINY_SHAPES_NUM_TRAIN, num_val=TINY_SHAPES_NUM_VAL,
                    img_size=TINY_SHAPES_IMG_SIZE, seed=0)
    config_path = write_tiny_shapes_config(str(root / 'tiny_mask_rcnn_shapes.py'), data_root,
                                           work_dir)
    cfg = Config.fromfile(config_path)
    cfg.device = 'cpu'
    torch.manual_seed(0)
    with single_torch_thread():
        build_runner(cfg).train()
    checkpoint = osp.join(work_dir, 'epoch_1.pth')
    if not osp.isfile(checkpoint):
        found = glob.glob(osp.join(work_dir, '*.pth'))
        raise RuntimeError(f'training the tiny model wrote no epoch_1.pth in {work_dir} '
                           f'(found {found})')
    return config_path, checkpoint, work_dir, data_root


@pytest.fixture(scope='session')
def tiny_shapes_onnx(tiny_shapes_checkpoint, tmp_path_factory) -> Tuple[str, str, str]:
    """``(config_path, checkpoint_path, onnx_path)``: the ``tiny_shapes_checkpoint`` model
    exported once per session with ``--dynamic-export`` (any batch and image size), for the
    deployment tests (exporting costs tens of seconds: share it). Treat the file as read-only."""
    import torch

    from mmdet_lite.apis import init_detector
    from mmdet_lite.deployment.onnx_export import export_detector

    config_path, checkpoint, _, _ = tiny_shapes_checkpoint
    onnx_path = str(tmp_path_factory.mktemp('tiny_shapes_onnx') / 'tiny_mask_rcnn_dynamic.onnx')
    with single_torch_thread():
        model = init_detector(config_path, checkpoint, device='cpu')
        example = torch.zeros(1, 3, TINY_SHAPES_IMG_SIZE, TINY_SHAPES_IMG_SIZE)
        export_detector(model, example, onnx_path, dynamic=True)
    return config_path, checkpoint, onnx_path
