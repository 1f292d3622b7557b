# YOLOv3 of yolo/yolov3_mobilenetv2_320_300e_coco.py at a fraction of its widths (MobileNetV2 x0.25,
# 3 classes), for the parity fixture yolov3.npz (mmdetection 2.x dialect).
model = dict(
    type='YOLOV3',
    backbone=dict(type='MobileNetV2', widen_factor=0.25, out_indices=(2, 4, 6),
                  act_cfg=dict(type='LeakyReLU', negative_slope=0.1)),
    neck=dict(type='YOLOV3Neck', num_scales=3, in_channels=[80, 24, 8], out_channels=[16, 8, 8]),
    bbox_head=dict(
        type='YOLOV3Head',
        num_classes=3,
        in_channels=[16, 8, 8],
        out_channels=[32, 16, 16],
        anchor_generator=dict(
            type='YOLOAnchorGenerator',
            base_sizes=[[(70, 40), (40, 70), (80, 80)],
                        [(20, 30), (36, 24), (30, 50)],
                        [(6, 8), (12, 18), (24, 14)]],
            strides=[32, 16, 8]),
        bbox_coder=dict(type='YOLOBBoxCoder'),
        featmap_strides=[32, 16, 8],
        loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0,
                      reduction='sum'),
        loss_conf=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0,
                       reduction='sum'),
        loss_xy=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=2.0,
                     reduction='sum'),
        loss_wh=dict(type='MSELoss', loss_weight=2.0, reduction='sum')),
    train_cfg=dict(assigner=dict(type='GridAssigner', pos_iou_thr=0.5, neg_iou_thr=0.5,
                                 min_pos_iou=0)),
    test_cfg=dict(nms_pre=1000, min_bbox_size=0, score_thr=0.05, conf_thr=0.005,
                  nms=dict(type='nms', iou_threshold=0.45), max_per_img=100))
# multipliers of the seeded predictor weights
# (tests/test_models/test_detectors/_realtime_weights.py)
parity_gains = {'convs_pred': 8}
