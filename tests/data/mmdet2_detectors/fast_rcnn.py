# A tiny Fast R-CNN for the parity test with mmdetection 2.28 (generate.py), run on 200 seeded
# proposals: ResNet-18 at 1/8 width, 16-channel FPN and box head; everything else is
# mmdet_lite's configs/_base_/models/fast_rcnn_r50_fpn.py, itself 2.28's.
_base_ = '../../../configs/_base_/models/fast_rcnn_r50_fpn.py'
model = dict(
    backbone=dict(depth=18, base_channels=8, init_cfg=None),
    neck=dict(in_channels=[8, 16, 32, 64], out_channels=16),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=16),
        bbox_head=dict(in_channels=16, fc_out_channels=32, num_classes=5)),
    test_cfg=dict(rcnn=dict(max_per_img=30)))
