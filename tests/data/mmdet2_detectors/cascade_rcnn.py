# A tiny Cascade R-CNN (ResNet-18 at 1/8 width, 16-channel FPN and heads) for the parity test
# with mmdetection 2.28 (generate.py); everything else is mmdet_lite's
# configs/_base_/models/cascade_rcnn_r50_fpn.py, itself 2.28's.
_base_ = '../../../configs/_base_/models/cascade_rcnn_r50_fpn.py'
_stage = dict(type='Shared2FCBBoxHead', in_channels=16, fc_out_channels=32, roi_feat_size=7,
              num_classes=5, reg_class_agnostic=True,
              loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
              loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0))
model = dict(
    backbone=dict(depth=18, base_channels=8, init_cfg=None),
    neck=dict(in_channels=[8, 16, 32, 64], out_channels=16),
    rpn_head=dict(in_channels=16, feat_channels=16),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=16),
        bbox_head=[
            dict(_stage, bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.] * 4,
                                         target_stds=[0.1, 0.1, 0.2, 0.2])),
            dict(_stage, bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.] * 4,
                                         target_stds=[0.05, 0.05, 0.1, 0.1])),
            dict(_stage, bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.] * 4,
                                         target_stds=[0.033, 0.033, 0.067, 0.067])),
        ]),
    test_cfg=dict(rpn=dict(nms_pre=300, max_per_img=100), rcnn=dict(max_per_img=30)))
