# Mask R-CNN, ResNet-18 FPN, trained from random initialisation on the built-in shapes data.
# `python tools/train.py configs/shapes/mask_rcnn_r18_fpn_shapes.py` generates data/shapes/,
# trains on the CPU, evaluates bbox and segm mAP after each epoch.
_base_ = [
    '../_base_/models/mask_rcnn_r50_fpn.py',
    '../_base_/datasets/shapes_instance.py',
    '../_base_/schedules/schedule_1x.py', '../_base_/default_runtime.py'
]
model = dict(
    backbone=dict(
        depth=18,
        frozen_stages=-1,
        norm_eval=False,  # BN statistics must be learned: no pretrained weights
        init_cfg=None),
    neck=dict(in_channels=[64, 128, 256, 512], out_channels=64),
    rpn_head=dict(in_channels=64, feat_channels=64),
    roi_head=dict(
        # a fixed 2x2 sampling grid (torchvision's choice) keeps RoIAlign's backward cheap
        bbox_roi_extractor=dict(out_channels=64, roi_layer=dict(sampling_ratio=2)),
        bbox_head=dict(in_channels=64, fc_out_channels=256, num_classes=4),
        mask_roi_extractor=dict(out_channels=64, roi_layer=dict(sampling_ratio=2)),
        mask_head=dict(in_channels=64, conv_out_channels=64, num_classes=4)),
    train_cfg=dict(
        rpn=dict(sampler=dict(num=128)),
        rpn_proposal=dict(nms_pre=500, max_per_img=200),
        rcnn=dict(sampler=dict(num=128))),
    test_cfg=dict(
        rpn=dict(nms_pre=300, max_per_img=100),
        rcnn=dict(max_per_img=20)))
optimizer = dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=0.0001)
optimizer_config = dict(_delete_=True, grad_clip=dict(max_norm=35, norm_type=2))
lr_config = dict(
    policy='step', warmup='linear', warmup_iters=100, warmup_ratio=0.001, step=[7, 9])
runner = dict(type='EpochBasedRunner', max_epochs=10)
checkpoint_config = dict(interval=1, max_keep_ckpts=2)
log_config = dict(interval=10, hooks=[dict(type='TextLoggerHook')])
work_dir = './work_dirs/mask_rcnn_r18_fpn_shapes'
seed = 0  # the README's figures are from this seed
