# A tiny VFNet (ResNet-18 at 1/8 width, 16-channel FPN and head, GN(4)) for the parity test with
# mmdetection 2.28 (generate_dense.py, with the DCN oracle shim); everything else is
# mmdet_lite's configs/_base_/models/vfnet_r50_fpn.py, itself 2.28's.
_base_ = '../../../configs/_base_/models/vfnet_r50_fpn.py'
model = dict(
    backbone=dict(depth=18, base_channels=8, init_cfg=None),
    neck=dict(in_channels=[8, 16, 32, 64], out_channels=16),
    bbox_head=dict(num_classes=3, in_channels=16, feat_channels=16, stacked_convs=2,
                   norm_cfg=dict(type='GN', num_groups=4, requires_grad=True)),
    test_cfg=dict(nms_pre=200, max_per_img=50))
