# FCOS (anchor-free), ResNet-18 FPN, trained from random initialisation on the built-in shapes
# data (boxes only). `python tools/train.py configs/shapes/fcos_r18_fpn_shapes.py` generates
# data/shapes/, trains on the CPU and evaluates bbox mAP after each epoch.
_base_ = [
    '../_base_/models/fcos_r50_caffe_fpn_gn-head.py',
    '../_base_/datasets/shapes_instance.py',
    '../_base_/schedules/schedule_1x.py', '../_base_/default_runtime.py'
]
model = dict(
    backbone=dict(
        depth=18,
        frozen_stages=-1,
        # BN statistics must be learned: no pretrained weights
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        style='pytorch',
        init_cfg=None),
    neck=dict(in_channels=[64, 128, 256, 512], out_channels=64),
    # FCOS's improvements (2.x's fcos_center-normbbox-centeronreg-giou config); the shapes are
    # at most 64 px, so most land on the stride-8 level.
    bbox_head=dict(
        num_classes=4, in_channels=64, feat_channels=64, stacked_convs=2,
        norm_cfg=dict(type='GN', num_groups=16, requires_grad=True),
        norm_on_bbox=True, centerness_on_reg=True, center_sampling=True, conv_bias=True,
        loss_bbox=dict(type='GIoULoss', loss_weight=1.0)),
    test_cfg=dict(nms_pre=300, max_per_img=20))
img_norm_cfg = dict(
    mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', img_scale=(128, 128), keep_ratio=True),
    dict(type='RandomFlip', flip_ratio=0.5),
    dict(type='Normalize', **img_norm_cfg),
    dict(type='Pad', size_divisor=32),
    dict(type='DefaultFormatBundle'),
    dict(type='Collect', keys=['img', 'gt_bboxes', 'gt_labels']),
]
data = dict(train=dict(pipeline=train_pipeline))
optimizer = dict(
    type='SGD', lr=0.02, momentum=0.9, weight_decay=0.0001,
    paramwise_cfg=dict(bias_lr_mult=2., bias_decay_mult=0.))
optimizer_config = dict(_delete_=True, grad_clip=dict(max_norm=35, norm_type=2))
lr_config = dict(
    policy='step', warmup='linear', warmup_iters=100, warmup_ratio=0.001, step=[9, 11])
runner = dict(type='EpochBasedRunner', max_epochs=12)
evaluation = dict(interval=1, metric='bbox', save_best='auto')
checkpoint_config = dict(interval=1, max_keep_ckpts=2)
log_config = dict(interval=10, hooks=[dict(type='TextLoggerHook')])
work_dir = './work_dirs/fcos_r18_fpn_shapes'
seed = 0
