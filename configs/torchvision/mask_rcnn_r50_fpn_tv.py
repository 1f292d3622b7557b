# Mask R-CNN R50-FPN with torchvision's inference choices (maskrcnn_resnet50_fpn), for
# weights converted by tools/model_converters/torchvision2mmdet.py. Only the differences from
# mmdetection 2.x's configs/mask_rcnn_r50_fpn_1x.py are listed; see faster_rcnn_r50_fpn_tv.py
# for the box part. The mask part:
#
# torchvision                                          here
# MultiScaleRoIAlign(14, sampling_ratio=2), aligned    mask roi_layer sampling_ratio=2,
#   False                                              aligned=False
# MaskRCNNHeads (4 convs, dilation 1) +                FCNMaskHead (4 convs, deconv, 80 logits)
#   MaskRCNNPredictor (conv5_mask, mask_fcn_logits)
# paste_masks_in_image: pad the 28x28 mask by 1 px,    mask_head.mask_paste='torchvision'
#   enlarge the box by 30/28, round to integers,
#   resize with F.interpolate and copy in
# masks are probabilities, binarised as masks > 0.5   mask_thr_binary = the float32 just above
#   (torchvision's references/detection/coco_eval)    0.5: mmdet's `>= thr` is then `> 0.5`
#   (pixels at exactly 0.5 are common: a saturated     (2.x's 0.5 would keep them)
#   probability 1.0 interpolated halfway to the
#   zero padding)
_base_ = '../mask_rcnn_r50_fpn_1x.py'

model = dict(
    # Weights come from the converted checkpoint, not from ImageNet.
    backbone=dict(init_cfg=None),
    rpn_head=dict(
        anchor_generator=dict(round_base_anchors=True, strides_from_input=True)),
    roi_head=dict(
        bbox_roi_extractor=dict(
            roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=2, aligned=False)),
        mask_roi_extractor=dict(
            roi_layer=dict(type='RoIAlign', output_size=14, sampling_ratio=2, aligned=False)),
        mask_head=dict(mask_paste='torchvision')),
    test_cfg=dict(
        rpn=dict(nms_pre=1000, max_per_img=1000, nms=dict(type='nms', iou_threshold=0.7),
                 min_bbox_size=1e-3),
        rcnn=dict(score_thr=0.05, nms=dict(type='nms', iou_threshold=0.5), max_per_img=100,
                  mask_thr_binary=0.5000000596046448)))
