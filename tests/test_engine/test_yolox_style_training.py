"""A YOLOX-style 2.x config (Mosaic + RandomAffine + MixUp in a MultiImageMixDataset, the YOLOX
LR policy, EMA, mode switch, SyncNormHook, dynamic evaluation intervals) trains 2 epochs through
tools/train.py on generated shapes images.

The model is YOLOX-s at 1/8 width on 64 x 64 images; the data and runtime parts are
yolox_s_8x8_300e_coco.py's, shrunk to 4 generated images and 2 epochs of 2 iterations.
"""
import importlib.util
import json
import os.path as osp

import pytest
import torch

from mmdet_lite.checkpoint import load_checkpoint_safely

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

pytestmark = pytest.mark.usefixtures('one_thread')

CONFIG = '''
_base_ = [{repo!r} + '/configs/_base_/default_runtime.py']
custom_imports = dict(imports=['tests.test_engine.toy'], allow_failed_imports=False)
img_scale = (64, 64)
model = dict(  # yolox_s at widen_factor 0.125 (tests/data/mmdet2_realtime/yolox.py), 64 px
    type='YOLOX', input_size=img_scale, random_size_range=(2, 2), random_size_interval=10,
    backbone=dict(type='CSPDarknet', deepen_factor=0.33, widen_factor=0.125),
    neck=dict(type='YOLOXPAFPN', in_channels=[32, 64, 128], out_channels=16, num_csp_blocks=1),
    bbox_head=dict(type='YOLOXHead', num_classes=4, in_channels=16, feat_channels=16),
    train_cfg=dict(assigner=dict(type='SimOTAAssigner', center_radius=2.5)),
    test_cfg=dict(score_thr=0.01, nms=dict(type='nms', iou_threshold=0.65)))
data_root = {data_root!r}
_shapes = dict(type='ShapesDataset', data_root=data_root, num_train=4, num_val=2, img_size=64)
train_pipeline = [
    dict(type='Mosaic', img_scale=img_scale, pad_val=114.0),
    dict(type='RandomAffine', scaling_ratio_range=(0.5, 1.5),
         border=(-img_scale[0] // 2, -img_scale[1] // 2)),
    dict(type='MixUp', img_scale=img_scale, ratio_range=(0.8, 1.6), pad_val=114.0),
    dict(type='YOLOXHSVRandomAug'),
    dict(type='RandomFlip', flip_ratio=0.5),
    dict(type='Resize', img_scale=img_scale, keep_ratio=True),
    dict(type='Pad', pad_to_square=True, pad_val=dict(img=(114.0, 114.0, 114.0))),
    dict(type='FilterAnnotations', min_gt_bbox_wh=(1, 1), keep_empty=False),
    dict(type='DefaultFormatBundle'),
    dict(type='Collect', keys=['img', 'gt_bboxes', 'gt_labels'])]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='MultiScaleFlipAug', img_scale=img_scale, flip=False, transforms=[
        dict(type='Resize', keep_ratio=True),
        dict(type='RandomFlip'),
        dict(type='Pad', pad_to_square=True, pad_val=dict(img=(114.0, 114.0, 114.0))),
        dict(type='DefaultFormatBundle'),
        dict(type='Collect', keys=['img'])])]
data = dict(
    samples_per_gpu=2, workers_per_gpu=0, persistent_workers=False,
    train=dict(type='MultiImageMixDataset', pipeline=train_pipeline,
               dataset=dict(_shapes, ann_file='annotations/instances_train.json',
                            pipeline=[dict(type='LoadImageFromFile'),
                                      dict(type='LoadAnnotations', with_bbox=True)],
                            filter_empty_gt=False)),
    val=dict(_shapes, ann_file='annotations/instances_val.json', pipeline=test_pipeline),
    test=dict(_shapes, ann_file='annotations/instances_val.json', pipeline=test_pipeline))
optimizer = dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4, nesterov=True,
                 paramwise_cfg=dict(norm_decay_mult=0., bias_decay_mult=0.))
optimizer_config = dict(grad_clip=None)
max_epochs = 2
num_last_epochs = 0  # 2.x switches one epoch before the last num_last_epochs: epoch 2 here
runner = dict(type='EpochBasedRunner', max_epochs=max_epochs)
lr_config = dict(_delete_=True, policy='YOLOX', warmup='exp', by_epoch=False,
                 warmup_by_epoch=True, warmup_ratio=1, warmup_iters=1,
                 num_last_epochs=num_last_epochs, min_lr_ratio=0.05)
custom_hooks = [
    dict(type='YOLOXModeSwitchHook', num_last_epochs=num_last_epochs, priority=48),
    dict(type='SyncNormHook', num_last_epochs=num_last_epochs, interval=1, priority=48),
    dict(type='ExpMomentumEMAHook', resume_from=None, momentum=0.0001, priority=49),
    dict(type='CheckInvalidLossHook', interval=1),
    dict(type='TransformSpyHook', out_file={spy!r}),
]
# (one checkpoint, no save_best: each save formats the config text, seconds with yapf)
checkpoint_config = dict(interval=2)
evaluation = dict(interval=2, dynamic_intervals=[(1, 1)], metric='bbox')
log_config = dict(interval=1, hooks=[dict(type='TextLoggerHook')])
seed = 0
'''


def test_yolox_style_config_trains_two_epochs(tmp_path):
    spy = str(tmp_path / 'spy.json')
    config = tmp_path / 'yolox_style_shapes.py'
    config.write_text(CONFIG.format(repo=REPO, data_root=str(tmp_path / 'shapes') + '/',
                                    spy=spy))
    work_dir = str(tmp_path / 'wd')
    spec = importlib.util.spec_from_file_location('tool_train', osp.join(REPO, 'tools',
                                                                         'train.py'))
    train = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(train)
    train.main([str(config), '--work-dir', work_dir])

    # Mosaic, RandomAffine and MixUp ran for each of the 4 images in epoch 1, never in epoch 2;
    # the L1 switch is on from epoch 2 and the L1 loss is logged from then on
    epochs = json.load(open(spy))
    assert len(epochs) == 2
    first, second = epochs
    for name in ('Mosaic', 'RandomAffine', 'MixUp'):
        assert first['counts'][name] == 4 and name not in second['counts']
    assert first['counts']['Resize'] >= 4 and second['counts']['Resize'] >= 4
    assert first['skip_type_keys'] is None and first['use_l1'] is False
    assert second['skip_type_keys'] == ['Mosaic', 'RandomAffine', 'MixUp']
    assert second['use_l1'] is True

    # the YOLOX lr at each of the 4 iterations (2 per epoch), as logged: 2 warmup iterations
    # ((it + 1) / 2) ** 2, then cosine from 0.01 to 0.0005 over iterations 2..4 (progress + 1)
    stamp = [p for p in sorted(__import__('os').listdir(work_dir))
             if osp.isdir(osp.join(work_dir, p))][0]
    with open(osp.join(work_dir, stamp, 'vis_data', 'scalars.json')) as f:
        rows = [json.loads(line) for line in f]
    train_rows = [r for r in rows if 'lr' in r]
    assert ['loss_l1' in r for r in train_rows] == [False, False, True, True]
    lrs = [r['lr'] for r in train_rows]
    assert lrs == pytest.approx([0.01 * (1 / 2)**2, 0.01, 0.0005 + 0.0095 / 2, 0.0005])
    # dynamic_intervals=[(1, 1)] evaluates after epochs 1 and 2 although interval=2
    assert len([r for r in rows if 'coco/bbox_mAP' in r or 'bbox_mAP' in r]) == 2

    # checkpoints: EMA weights in state_dict, the raw weights and step count in ema_state_dict
    ckpt = load_checkpoint_safely(osp.join(work_dir, 'epoch_2.pth'))
    ema = ckpt['ema_state_dict']
    assert int(ema['steps']) == 4
    state = ckpt['state_dict']
    raw = {k[len('module.'):]: v for k, v in ema.items() if k.startswith('module.')}
    assert set(raw) == set(state)
    name = 'bbox_head.multi_level_conv_cls.0.weight'
    assert not torch.equal(raw[name], state[name])
