# SSDLite of ssd/ssdlite_mobilenetv2_scratch_600e_coco.py at a fraction of its widths
# (MobileNetV2 x0.25, narrower extra levels, 3 classes, anchors for a 96 x 128 input); for the
# parity fixture ssdlite.npz (mmdetection 2.x dialect).
model = dict(
    type='SingleStageDetector',
    backbone=dict(type='MobileNetV2', widen_factor=0.25, out_indices=(4, 7),
                  norm_cfg=dict(type='BN', eps=0.001, momentum=0.03)),
    neck=dict(type='SSDNeck', in_channels=(24, 1280), out_channels=(24, 1280, 64, 32, 32),
              level_strides=(2, 2, 2), level_paddings=(1, 1, 1), l2_norm_scale=None,
              use_depthwise=True, norm_cfg=dict(type='BN', eps=0.001, momentum=0.03),
              act_cfg=dict(type='ReLU6')),
    bbox_head=dict(
        type='SSDHead',
        in_channels=(24, 1280, 64, 32, 32),
        num_classes=3,
        use_depthwise=True,
        norm_cfg=dict(type='BN', eps=0.001, momentum=0.03),
        act_cfg=dict(type='ReLU6'),
        anchor_generator=dict(type='SSDAnchorGenerator', scale_major=False,
                              strides=[16, 32, 64, 107, 160],
                              ratios=[[2, 3], [2, 3], [2, 3], [2, 3], [2, 3]],
                              min_sizes=[16, 32, 48, 64, 90], max_sizes=[32, 48, 64, 90, 128]),
        bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[.0, .0, .0, .0],
                        target_stds=[0.1, 0.1, 0.2, 0.2])),
    train_cfg=dict(
        assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.5, min_pos_iou=0.,
                      ignore_iof_thr=-1, gt_max_assign_all=False),
        smoothl1_beta=1., allowed_border=-1, pos_weight=-1, neg_pos_ratio=3, debug=False),
    test_cfg=dict(nms_pre=1000, nms=dict(type='nms', iou_threshold=0.45), min_bbox_size=0,
                  score_thr=0.02, max_per_img=200))
# multipliers of the seeded predictor weights
# (tests/test_models/test_detectors/_realtime_weights.py)
parity_gains = {'cls_convs': 1.5}
