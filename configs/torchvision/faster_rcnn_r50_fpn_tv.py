# Faster R-CNN R50-FPN with torchvision's inference choices (fasterrcnn_resnet50_fpn), for
# weights converted by tools/model_converters/torchvision2mmdet.py. Only the differences from
# mmdetection 2.x's configs/faster_rcnn_r50_fpn_1x.py are listed here.
#
# torchvision                                          here
# AnchorGenerator: base anchors rounded to integers    anchor_generator.round_base_anchors=True
# anchor stride = input size // feature size (P6 of    anchor_generator.strides_from_input=True
#   an 800-pixel side: 61, not 64)                     (inputs padded to 32 by the pipeline)
# RPN: top 1000 per level, clip, drop < 1e-3 px,       test_cfg.rpn: nms_pre=1000, min_bbox_size
#   NMS 0.7 per level, keep 1000 (test mode)           =1e-3, nms 0.7, max_per_img=1000
# BoxCoder (1, 1, 1, 1) / (10, 10, 5, 5), clip dw/dh   DeltaXYWHBBoxCoder stds (1, 1, 1, 1) /
#   at log(1000 / 16)                                   (0.1, 0.1, 0.2, 0.2) (wh_ratio_clip 16/1000)
# MultiScaleRoIAlign(7, sampling_ratio=2), aligned     roi_layer sampling_ratio=2, aligned=False;
#   False, levels k = floor(4 + log2(sqrt(area)/224))  finest_scale=56 is the same level mapping
# TwoMLPHead + FastRCNNPredictor (91 = bg + COCO ids)  Shared2FCBBoxHead, 80 classes + bg last
#   softmax, clip, score > 0.05, NMS 0.5 per class,    test_cfg.rcnn: score_thr=0.05, nms 0.5,
#   top 100                                            max_per_img=100
# FrozenBatchNorm2d                                    BN with norm_eval=True (the 2.x default)
# LastLevelMaxPool FPN                                 FPN num_outs=5, add_extra_convs=False
# GeneralizedRCNNTransform: ImageNet mean/std on RGB,  the 2.x COCO pipeline: Resize (1333, 800)
#   resize min 800 / max 1333, pad to 32               keep_ratio, same Normalize, Pad 32
#
# Not expressible exactly (differences far below the evaluation's resolution): torchvision
# resizes images with torch's bilinear interpolate and mmcv with cv2 (pixel values and, by
# rounding, sizes may differ by one); torchvision bounds dw/dh only from above; its box head
# drops boxes under 0.01 px after clipping; its softmax spans the 10 unused COCO ids, which
# the converter drops.
_base_ = '../faster_rcnn_r50_fpn_1x.py'

model = dict(
    # Weights come from the converted checkpoint, not from ImageNet.
    backbone=dict(init_cfg=None),
    rpn_head=dict(
        anchor_generator=dict(round_base_anchors=True, strides_from_input=True)),
    roi_head=dict(
        bbox_roi_extractor=dict(
            roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=2, aligned=False))),
    test_cfg=dict(
        rpn=dict(nms_pre=1000, max_per_img=1000, nms=dict(type='nms', iou_threshold=0.7),
                 min_bbox_size=1e-3),
        rcnn=dict(score_thr=0.05, nms=dict(type='nms', iou_threshold=0.5), max_per_img=100)))
