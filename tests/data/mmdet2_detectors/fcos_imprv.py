# fcos.py with FCOS's improvements (2.28's fcos_center-normbbox-centeronreg-giou_r50_caffe_fpn_
# gn-head_1x_coco.py): distances in strides through ReLU, centerness on the regression tower,
# centre sampling, GIoU; the predictors' biases are learned (conv_bias=True).
_base_ = './fcos.py'
model = dict(
    bbox_head=dict(norm_on_bbox=True, centerness_on_reg=True, dcn_on_last_conv=False,
                   center_sampling=True, conv_bias=True,
                   loss_bbox=dict(type='GIoULoss', loss_weight=1.0)),
    test_cfg=dict(nms=dict(type='nms', iou_threshold=0.6)))
