# A tiny SABL Cascade R-CNN (ResNet-18 at 1/8 width, 16-channel FPN and heads) for the parity
# test with mmdetection 2.28 (generate_rcnn_variants.py); everything else is mmdet_lite's
# configs/sabl_cascade_rcnn_r50_fpn_1x.py, itself 2.28's (the stage list is repeated because
# config lists are replaced, not merged; the stages differ in the coder's scale_factor).
_base_ = '../../../configs/sabl_cascade_rcnn_r50_fpn_1x.py'
_stage = dict(
    type='SABLHead', num_classes=5, cls_in_channels=16, reg_in_channels=16, roi_feat_size=7,
    reg_feat_up_ratio=2, reg_pre_kernel=3, reg_post_kernel=3, reg_pre_num=2, reg_post_num=1,
    cls_out_channels=32, reg_offset_out_channels=16, reg_cls_out_channels=16, num_cls_fcs=1,
    num_reg_fcs=0, reg_class_agnostic=True, norm_cfg=None,
    loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
    loss_bbox_cls=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
    loss_bbox_reg=dict(type='SmoothL1Loss', beta=0.1, loss_weight=1.0))
model = dict(
    backbone=dict(depth=18, base_channels=8, init_cfg=None),
    neck=dict(in_channels=[8, 16, 32, 64], out_channels=16),
    rpn_head=dict(in_channels=16, feat_channels=16),
    roi_head=dict(bbox_roi_extractor=dict(out_channels=16), bbox_head=[
        dict(_stage, bbox_coder=dict(type='BucketingBBoxCoder', num_buckets=14,
                                     scale_factor=scale))
        for scale in (1.7, 1.5, 1.3)]),
    test_cfg=dict(rpn=dict(nms_pre=300, max_per_img=100), rcnn=dict(max_per_img=30)))
