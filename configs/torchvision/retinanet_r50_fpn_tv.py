# RetinaNet R50-FPN with torchvision's inference choices (retinanet_resnet50_fpn), for weights
# converted by tools/model_converters/torchvision2mmdet.py. Only the differences from
# mmdetection 2.x's configs/retinanet_r50_fpn_1x.py are listed here.
#
# torchvision                                          here
# LastLevelP6P7(256, 256): P6 = conv(P5 output),       FPN add_extra_convs='on_output',
#   P7 = conv(relu(P6))                                relu_before_extra_convs=True
# anchor sizes int(x * 2 ** (i / 3)), x = 32..512:     anchor_generator.truncate_sizes=True
#   32, 40, 50 (2.x: 32, 40.3, 50.8); base anchors     round_base_anchors=True
#   rounded to integers
# anchor stride = input size // feature size          anchor_generator.strides_from_input=True
# per level: score > 0.05, top 1000; NMS 0.5 per       test_cfg: score_thr=0.05, nms_pre=1000,
#   class over all levels; keep 300                    nms 0.5, max_per_img=300
# sigmoid over 91 outputs (background + COCO ids)      80 classes (the converter drops the 11
#                                                      unused rows: exact for sigmoid scores)
# BoxCoder (1, 1, 1, 1), clip dw/dh at log(1000/16)    DeltaXYWHBBoxCoder stds (1, 1, 1, 1)
# FrozenBatchNorm2d (eps 0 in the COCO weights)        BN eps 1e-5, norm_eval=True
#
# Not expressible exactly: torchvision resizes images with torch's bilinear interpolate and
# mmcv with cv2; torchvision bounds dw/dh only from above.
_base_ = '../retinanet_r50_fpn_1x.py'

model = dict(
    # Weights come from the converted checkpoint, not from ImageNet.
    backbone=dict(init_cfg=None),
    neck=dict(add_extra_convs='on_output', relu_before_extra_convs=True),
    bbox_head=dict(
        anchor_generator=dict(round_base_anchors=True, strides_from_input=True,
                              truncate_sizes=True)),
    test_cfg=dict(nms_pre=1000, min_bbox_size=0, score_thr=0.05,
                  nms=dict(type='nms', iou_threshold=0.5), max_per_img=300))
