# Mask R-CNN R50-FPN with detectron2's inference choices (COCO-InstanceSegmentation/
# mask_rcnn_R_50_FPN_{1x,3x}.yaml), for weights converted by
# tools/model_converters/detectron2pytorch.py. The backbone, RPN and box head choices are those
# of faster_rcnn_r50_fpn_d2.py (see its table); the mask part:
#
# detectron2                                           here
# MaskRCNNConvUpsampleHead: 4 x (conv 3x3 256 + ReLU), FCNMaskHead num_convs 4, deconv
#   ConvTranspose 2x2/2 + ReLU, 1x1 predictor (C)      upsample, conv_logits (C)
# ROIAlignV2 14x14, aligned=True, sampling_ratio 0     mask RoIAlign: the same
# paste_masks_in_image: grid_sample of the 28x28       mask paste with grid_sample (the same
#   sigmoid into the box, threshold >= 0.5             formula), mask_thr_binary 0.5 (>=)
_base_ = '../mask_rcnn_r50_fpn_1x.py'

model = dict(
    backbone=dict(
        norm_cfg=dict(type='BN', requires_grad=False),
        norm_eval=True,
        style='caffe',
        init_cfg=None),
    test_cfg=dict(
        rpn=dict(nms_pre=1000, max_per_img=1000, nms=dict(type='nms', iou_threshold=0.7),
                 min_bbox_size=0),
        rcnn=dict(score_thr=0.05, nms=dict(type='nms', iou_threshold=0.5), max_per_img=100,
                  mask_thr_binary=0.5)))

img_norm_cfg = dict(mean=[103.53, 116.28, 123.675], std=[1.0, 1.0, 1.0], to_rgb=False)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', img_scale=(1333, 800), keep_ratio=True),
    dict(type='RandomFlip', flip_ratio=0.5),
    dict(type='Normalize', **img_norm_cfg),
    dict(type='Pad', size_divisor=32),
    dict(type='DefaultFormatBundle'),
    dict(type='Collect', keys=['img', 'gt_bboxes', 'gt_labels', 'gt_masks']),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='MultiScaleFlipAug',
        img_scale=(1333, 800),
        flip=False,
        transforms=[
            dict(type='Resize', keep_ratio=True),
            dict(type='RandomFlip'),
            dict(type='Normalize', **img_norm_cfg),
            dict(type='Pad', size_divisor=32),
            dict(type='ImageToTensor', keys=['img']),
            dict(type='Collect', keys=['img']),
        ])
]
data = dict(
    train=dict(pipeline=train_pipeline),
    val=dict(pipeline=test_pipeline),
    test=dict(pipeline=test_pipeline))
