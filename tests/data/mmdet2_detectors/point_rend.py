# A tiny PointRend (ResNet-18 at 1/8 width, 16-channel FPN and heads) for the parity test with
# mmdetection 2.28 (generate_rcnn_variants.py); everything else, the five test-time subdivision
# steps included, is mmdet_lite's configs/point_rend_r50_fpn_1x.py (2.28's with a
# pytorch-style backbone).
_base_ = '../../../configs/point_rend_r50_fpn_1x.py'
model = dict(
    backbone=dict(depth=18, base_channels=8, init_cfg=None),
    neck=dict(in_channels=[8, 16, 32, 64], out_channels=16),
    rpn_head=dict(in_channels=16, feat_channels=16),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=16),
        bbox_head=dict(in_channels=16, fc_out_channels=32, num_classes=5),
        mask_roi_extractor=dict(out_channels=16),
        mask_head=dict(in_channels=16, conv_out_channels=16, fc_out_channels=32,
                       num_classes=5),
        point_head=dict(in_channels=16, fc_channels=16, num_classes=5)),
    test_cfg=dict(rpn=dict(nms_pre=300, max_per_img=100), rcnn=dict(max_per_img=20)))
