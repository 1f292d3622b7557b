# YOLOX of yolox/yolox_s_8x8_300e_coco.py at a fraction of its widths (widen_factor 0.125,
# 3 classes, input 96 x 128), for the parity fixture yolox.npz (mmdetection 2.x dialect).
model = dict(
    type='YOLOX',
    input_size=(96, 128),
    random_size_range=(2, 4),
    random_size_interval=10,
    backbone=dict(type='CSPDarknet', deepen_factor=0.33, widen_factor=0.125),
    neck=dict(type='YOLOXPAFPN', in_channels=[32, 64, 128], out_channels=16, num_csp_blocks=1),
    bbox_head=dict(type='YOLOXHead', num_classes=3, in_channels=16, feat_channels=16),
    train_cfg=dict(assigner=dict(type='SimOTAAssigner', center_radius=2.5)),
    test_cfg=dict(score_thr=0.01, nms=dict(type='nms', iou_threshold=0.65)))
# multipliers of the seeded predictor weights
# (tests/test_models/test_detectors/_realtime_weights.py)
parity_gains = {'multi_level_conv_cls': 40, 'multi_level_conv_obj': 200,
                'multi_level_conv_reg': 10}
