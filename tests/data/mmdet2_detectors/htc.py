# A tiny HTC with its semantic branch for the parity test with mmdetection 2.28 (generate.py):
# ResNet-18 at 1/8 width, 16-channel FPN and heads; everything else is mmdet_lite's
# configs/_base_/models/htc_without_semantic_r50_fpn.py (2.28's) and 2.28's htc_r50_fpn_1x
# semantic head.
_base_ = '../../../configs/_base_/models/htc_without_semantic_r50_fpn.py'
_stage = dict(type='Shared2FCBBoxHead', in_channels=16, fc_out_channels=32, roi_feat_size=7,
              num_classes=5, reg_class_agnostic=True,
              loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
              loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0))
_mask = dict(type='HTCMaskHead', num_convs=2, in_channels=16, conv_out_channels=16,
             num_classes=5,
             loss_mask=dict(type='CrossEntropyLoss', use_mask=True, loss_weight=1.0))
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
        ],
        mask_roi_extractor=dict(out_channels=16),
        mask_head=[dict(_mask, with_conv_res=False), _mask, _mask],
        semantic_roi_extractor=dict(
            type='SingleRoIExtractor',
            roi_layer=dict(type='RoIAlign', output_size=14, sampling_ratio=0),
            out_channels=16,
            featmap_strides=[8]),
        semantic_head=dict(
            type='FusedSemanticHead', num_ins=5, fusion_level=1, num_convs=2, in_channels=16,
            conv_out_channels=16, num_classes=10,
            loss_seg=dict(type='CrossEntropyLoss', ignore_index=255, loss_weight=0.2))),
    test_cfg=dict(rpn=dict(nms_pre=300, max_per_img=100),
                  rcnn=dict(score_thr=0.05, max_per_img=30)))
