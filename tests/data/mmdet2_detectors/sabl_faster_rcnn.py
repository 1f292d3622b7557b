# A tiny SABL Faster R-CNN (ResNet-18 at 1/8 width, 16-channel FPN and heads) for the parity
# test with mmdetection 2.28 (generate_rcnn_variants.py); everything else is mmdet_lite's
# configs/sabl_faster_rcnn_r50_fpn_1x.py, itself 2.28's.
_base_ = '../../../configs/sabl_faster_rcnn_r50_fpn_1x.py'
model = dict(
    backbone=dict(depth=18, base_channels=8, init_cfg=None),
    neck=dict(in_channels=[8, 16, 32, 64], out_channels=16),
    rpn_head=dict(in_channels=16, feat_channels=16),
    roi_head=dict(bbox_roi_extractor=dict(out_channels=16),
                  bbox_head=dict(num_classes=5, cls_in_channels=16, reg_in_channels=16,
                                 cls_out_channels=32, reg_offset_out_channels=16,
                                 reg_cls_out_channels=16)),
    test_cfg=dict(rpn=dict(nms_pre=300, max_per_img=100), rcnn=dict(max_per_img=30)))
