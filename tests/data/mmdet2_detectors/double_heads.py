# A tiny Double-Head R-CNN for the parity test with mmdetection 2.28 (generate.py): ResNet-18
# at 1/8 width, 16-channel FPN and heads; the rest is mmdet_lite's
# configs/_base_/models/faster_rcnn_r50_fpn.py (2.28's) with 2.28's dh_faster_rcnn RoI head.
_base_ = '../../../configs/_base_/models/faster_rcnn_r50_fpn.py'
model = dict(
    backbone=dict(depth=18, base_channels=8, init_cfg=None),
    neck=dict(in_channels=[8, 16, 32, 64], out_channels=16),
    rpn_head=dict(in_channels=16, feat_channels=16),
    roi_head=dict(
        type='DoubleHeadRoIHead',
        reg_roi_scale_factor=1.3,
        bbox_roi_extractor=dict(out_channels=16),
        bbox_head=dict(
            _delete_=True,
            type='DoubleConvFCBBoxHead',
            num_convs=1,
            num_fcs=1,
            in_channels=16,
            conv_out_channels=16,
            fc_out_channels=32,
            roi_feat_size=7,
            num_classes=5,
            bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0., 0., 0., 0.],
                            target_stds=[0.1, 0.1, 0.2, 0.2]),
            reg_class_agnostic=False,
            loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=2.0),
            loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=2.0))),
    test_cfg=dict(rpn=dict(nms_pre=300, max_per_img=100), rcnn=dict(max_per_img=30)))
