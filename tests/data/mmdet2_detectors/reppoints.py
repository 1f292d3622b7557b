# A tiny RepPoints (moment transform; ResNet-18 at 1/8 width, 16-channel FPN and head) for the
# parity test with mmdetection 2.28 (generate_dense.py, with the DCN oracle shim); otherwise
# 2.28's reppoints/reppoints_moment_r50_fpn_1x_coco.py model.
model = dict(
    type='RepPointsDetector',
    backbone=dict(type='ResNet', depth=18, base_channels=8, num_stages=4,
                  out_indices=(0, 1, 2, 3), frozen_stages=1,
                  norm_cfg=dict(type='BN', requires_grad=True), norm_eval=True, style='pytorch'),
    neck=dict(type='FPN', in_channels=[8, 16, 32, 64], out_channels=16, start_level=1,
              add_extra_convs='on_input', num_outs=5),
    bbox_head=dict(
        type='RepPointsHead', num_classes=3, in_channels=16, feat_channels=16,
        point_feat_channels=16, stacked_convs=2, num_points=9, gradient_mul=0.1,
        point_strides=[8, 16, 32, 64, 128], point_base_scale=4,
        loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25,
                      loss_weight=1.0),
        loss_bbox_init=dict(type='SmoothL1Loss', beta=0.11, loss_weight=0.5),
        loss_bbox_refine=dict(type='SmoothL1Loss', beta=0.11, loss_weight=1.0),
        transform_method='moment'),
    train_cfg=dict(
        init=dict(assigner=dict(type='PointAssigner', scale=4, pos_num=1), allowed_border=-1,
                  pos_weight=-1, debug=False),
        refine=dict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.4,
                                  min_pos_iou=0, ignore_iof_thr=-1),
                    allowed_border=-1, pos_weight=-1, debug=False)),
    test_cfg=dict(nms_pre=200, min_bbox_size=0, score_thr=0.05,
                  nms=dict(type='nms', iou_threshold=0.5), max_per_img=50))
