# A tiny Faster R-CNN (ResNet-18 at 1/8 width, 16-channel FPN and heads) whose RoI head runs
# soft-NMS as 2.28's faster_rcnn/faster_rcnn_r50_fpn_soft_nms_1x_coco.py does, for the
# detector-level soft-NMS parity test (generate.py); the rest is mmdet_lite's
# configs/_base_/models/faster_rcnn_r50_fpn.py, itself 2.28's.
_base_ = '../../../configs/_base_/models/faster_rcnn_r50_fpn.py'
model = dict(
    backbone=dict(depth=18, base_channels=8, init_cfg=None),
    neck=dict(in_channels=[8, 16, 32, 64], out_channels=16),
    rpn_head=dict(in_channels=16, feat_channels=16),
    roi_head=dict(bbox_roi_extractor=dict(out_channels=16),
                  bbox_head=dict(in_channels=16, fc_out_channels=32, num_classes=5)),
    test_cfg=dict(rpn=dict(nms_pre=300, max_per_img=100),
                  rcnn=dict(score_thr=0.05, nms=dict(type='soft_nms', iou_threshold=0.5),
                            max_per_img=60)))
