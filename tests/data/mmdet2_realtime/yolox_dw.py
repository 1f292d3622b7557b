# yolox.py with the depth-wise convs of yolox/yolox_nano_8x8_300e_coco.py (mmdetection 2.x dialect).
_base_ = './yolox.py'
model = dict(
    backbone=dict(use_depthwise=True),
    neck=dict(use_depthwise=True),
    bbox_head=dict(use_depthwise=True),
    test_cfg=dict(nms=dict(iou_threshold=0.3)))
# multipliers of the seeded predictor weights (smaller than yolox.py's: no saturated ties)
parity_gains = {'multi_level_conv_cls': 10, 'multi_level_conv_obj': 60, 'multi_level_conv_reg': 10}
