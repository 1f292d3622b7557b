# A tiny Mask Scoring R-CNN for the parity test with mmdetection 2.28 (generate.py): ResNet-18
# at 1/8 width, 16-channel FPN and heads; everything else is mmdet_lite's
# configs/_base_/models/mask_rcnn_r50_fpn.py (2.28's) with 2.28's ms_rcnn_r50_fpn_1x changes.
_base_ = '../../../configs/_base_/models/mask_rcnn_r50_fpn.py'
model = dict(
    type='MaskScoringRCNN',
    backbone=dict(depth=18, base_channels=8, init_cfg=None),
    neck=dict(in_channels=[8, 16, 32, 64], out_channels=16),
    rpn_head=dict(in_channels=16, feat_channels=16),
    roi_head=dict(
        type='MaskScoringRoIHead',
        bbox_roi_extractor=dict(out_channels=16),
        bbox_head=dict(in_channels=16, fc_out_channels=32, num_classes=5),
        mask_roi_extractor=dict(out_channels=16),
        mask_head=dict(num_convs=2, in_channels=16, conv_out_channels=16, num_classes=5),
        mask_iou_head=dict(
            type='MaskIoUHead', num_convs=2, num_fcs=2, roi_feat_size=14, in_channels=16,
            conv_out_channels=16, fc_out_channels=32, num_classes=5)),
    train_cfg=dict(rcnn=dict(mask_thr_binary=0.5)),
    test_cfg=dict(rpn=dict(nms_pre=300, max_per_img=100), rcnn=dict(max_per_img=30)))
