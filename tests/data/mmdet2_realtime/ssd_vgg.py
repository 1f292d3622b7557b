# SSD of ssd/ssd300_coco.py at a small size: VGG-11 (its conv4 and fc7 outputs, indices 14 and
# 24 of features), two extra levels, 3 classes, explicit anchor sizes for a 96 x 128 input; for
# the parity fixture ssd_vgg.npz (mmdetection 2.x dialect).
model = dict(
    type='SingleStageDetector',
    backbone=dict(type='SSDVGG', depth=11, with_last_pool=False, ceil_mode=True,
                  out_indices=(3, 4), out_feature_indices=(14, 24)),
    neck=dict(type='SSDNeck', in_channels=(512, 1024), out_channels=(512, 1024, 64, 32),
              level_strides=(2, 2), level_paddings=(1, 1), l2_norm_scale=20),
    bbox_head=dict(
        type='SSDHead',
        in_channels=(512, 1024, 64, 32),
        num_classes=3,
        anchor_generator=dict(type='SSDAnchorGenerator', scale_major=False,
                              strides=[8, 16, 32, 64], ratios=[[2], [2, 3], [2, 3], [2]],
                              min_sizes=[10, 25, 45, 70], max_sizes=[25, 45, 70, 100]),
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
parity_gains = {'cls_convs': 4, 'reg_convs': 2}
