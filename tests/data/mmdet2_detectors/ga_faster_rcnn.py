# A tiny GA-Faster R-CNN (ResNet-18 at 1/8 width, 16-channel FPN and heads) for the parity test
# with mmdetection 2.28 (generate_rcnn_variants.py); loc_filter_thr 0.5 makes the location
# branch drop about half the locations (masked convs, filtered anchors). Everything else is
# mmdet_lite's configs/ga_faster_r50_fpn_1x.py, itself 2.28's.
_base_ = '../../../configs/ga_faster_r50_fpn_1x.py'
model = dict(
    backbone=dict(depth=18, base_channels=8, init_cfg=None),
    neck=dict(in_channels=[8, 16, 32, 64], out_channels=16),
    rpn_head=dict(in_channels=16, feat_channels=16, loc_filter_thr=0.5),
    roi_head=dict(bbox_roi_extractor=dict(out_channels=16),
                  bbox_head=dict(in_channels=16, fc_out_channels=32, num_classes=5)),
    test_cfg=dict(rpn=dict(nms_pre=300, nms_post=100, max_per_img=100),
                  rcnn=dict(score_thr=0.05, max_per_img=30)))
