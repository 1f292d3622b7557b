# A tiny FSAF (ResNet-18 at 1/8 width, 16-channel FPN and head, GN(4) so that the seeded
# scores do not saturate) for the parity test with
# mmdetection 2.28 (generate_dense.py); otherwise 2.28's fsaf/fsaf_r50_fpn_1x_coco.py model on
# mmdet_lite's configs/_base_/models/retinanet_r50_fpn.py (2.28's).
_base_ = '../../../configs/_base_/models/retinanet_r50_fpn.py'
model = dict(
    type='FSAF',
    backbone=dict(depth=18, base_channels=8, init_cfg=None),
    neck=dict(in_channels=[8, 16, 32, 64], out_channels=16),
    bbox_head=dict(
        type='FSAFHead', num_classes=3, in_channels=16, stacked_convs=2, feat_channels=16,
        reg_decoded_bbox=True, norm_cfg=dict(type='GN', num_groups=4, requires_grad=True),
        anchor_generator=dict(type='AnchorGenerator', octave_base_scale=1,
                              scales_per_octave=1, ratios=[1.0],
                              strides=[8, 16, 32, 64, 128]),
        bbox_coder=dict(_delete_=True, type='TBLRBBoxCoder', normalizer=4.0),
        loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25,
                      loss_weight=1.0, reduction='none'),
        loss_bbox=dict(_delete_=True, type='IoULoss', eps=1e-6, loss_weight=1.0,
                       reduction='none')),
    train_cfg=dict(
        assigner=dict(_delete_=True, type='CenterRegionAssigner', pos_scale=0.2,
                      neg_scale=0.2, min_pos_iof=0.01),
        allowed_border=-1, pos_weight=-1, debug=False),
    test_cfg=dict(nms_pre=200, max_per_img=50))
