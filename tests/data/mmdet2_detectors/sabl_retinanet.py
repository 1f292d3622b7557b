# A tiny SABL RetinaNet (ResNet-18 at 1/8 width, 16-channel FPN and head) for the parity test
# with mmdetection 2.28 (generate_rcnn_variants.py); everything else is mmdet_lite's
# configs/sabl_retinanet_r50_fpn_1x.py, itself 2.28's.
_base_ = '../../../configs/sabl_retinanet_r50_fpn_1x.py'
model = dict(
    backbone=dict(depth=18, base_channels=8, init_cfg=None),
    neck=dict(in_channels=[8, 16, 32, 64], out_channels=16),
    bbox_head=dict(num_classes=3, in_channels=16, feat_channels=16, stacked_convs=2),
    test_cfg=dict(nms_pre=200, max_per_img=50))
