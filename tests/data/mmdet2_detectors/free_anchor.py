# A tiny FreeAnchor RetinaNet (ResNet-18 at 1/8 width, 16-channel FPN and head, GN(4) so that
# the seeded scores do not saturate) for the parity test with mmdetection 2.28
# (generate_dense.py); otherwise 2.28's free_anchor/retinanet_free_anchor_r50_fpn_1x_coco.py
# model on mmdet_lite's configs/_base_/models/retinanet_r50_fpn.py (2.28's).
_base_ = '../../../configs/_base_/models/retinanet_r50_fpn.py'
model = dict(
    backbone=dict(depth=18, base_channels=8, init_cfg=None),
    neck=dict(in_channels=[8, 16, 32, 64], out_channels=16),
    bbox_head=dict(
        _delete_=True, type='FreeAnchorRetinaHead', num_classes=3, in_channels=16,
        stacked_convs=2, feat_channels=16,
        norm_cfg=dict(type='GN', num_groups=4, requires_grad=True),
        anchor_generator=dict(type='AnchorGenerator', octave_base_scale=4,
                              scales_per_octave=3, ratios=[0.5, 1.0, 2.0],
                              strides=[8, 16, 32, 64, 128]),
        bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[.0, .0, .0, .0],
                        target_stds=[0.1, 0.1, 0.2, 0.2]),
        loss_bbox=dict(type='SmoothL1Loss', beta=0.11, loss_weight=0.75)),
    test_cfg=dict(nms_pre=200, max_per_img=50))
