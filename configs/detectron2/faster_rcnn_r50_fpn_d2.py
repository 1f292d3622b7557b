# Faster R-CNN R50-FPN with detectron2's inference choices (COCO-Detection/
# faster_rcnn_R_50_FPN_{1x,3x}.yaml), for weights converted by
# tools/model_converters/detectron2pytorch.py. Only the differences from mmdetection 2.x's
# configs/faster_rcnn_r50_fpn_1x.py are set here; the table says what each detectron2 choice
# becomes.
#
# detectron2                                           here
# MSRA ResNet: stride 2 in the 1x1 conv of a block     backbone style='caffe'
#   (RESNETS.STRIDE_IN_1X1=True)
# FrozenBatchNorm2d (eps 1e-5)                         BN, requires_grad=False, norm_eval=True
#   (same arithmetic at inference)
# INPUT.FORMAT BGR, PIXEL_MEAN [103.53, 116.28,        img_norm_cfg: the same mean, std 1,
#   123.675], PIXEL_STD [1, 1, 1]                      to_rgb=False (mmdetection's caffe style)
# ResizeShortestEdge 800, max 1333; pad to 32         Resize (1333, 800) keep_ratio; Pad 32
# FPN + LastLevelMaxPool (P6 = max_pool(P5, 1, 2))     FPN num_outs=5, add_extra_convs=False
# DefaultAnchorGenerator sizes 32..512, ratios         AnchorGenerator scales [8], strides 4..64,
#   (0.5, 1, 2) as h/w, offset 0                       ratios [0.5, 1, 2] (the same anchors, in
#                                                      the same order)
# RPN Box2BoxTransform weights (1, 1, 1, 1); top 1000  DeltaXYWHBBoxCoder stds (1, 1, 1, 1);
#   per level, NMS 0.7 per level, keep 1000, drop      test_cfg.rpn: nms_pre 1000, nms 0.7
#   empty boxes                                        (per level), max_per_img 1000,
#                                                      min_bbox_size 0
# ROIAlignV2: aligned=True, sampling_ratio 0, level    RoIAlign aligned=True (mmcv's default),
#   floor(4 + log2(sqrt(area) / 224)) clamped to 2..5  sampling_ratio 0; finest_scale 56 is the
#                                                      same level mapping
# box regression weights (10, 10, 5, 5): delta =       target_stds (0.1, 0.1, 0.2, 0.2): delta =
#   pred / weight                                      pred * std, the same number
# cls_score: C + 1 logits, background last, softmax    fc_cls: the same layout (no reordering)
# bbox_pred: 4 C, class-major                          fc_reg: the same layout
# test: score > 0.05, NMS 0.5 per class, top 100       test_cfg.rcnn: score_thr 0.05, nms 0.5,
#                                                      max_per_img 100
#
# Left different (below the evaluation's resolution): detectron2 resizes uint8 images with
# PIL's bilinear filter, mmcv with cv2's (pixel values differ slightly); the RoI level mapping
# adds float64's epsilon inside the log2 (2.x: 1e-6), which moves boxes only at exact level
# boundaries; detectron2 bounds dw/dh only from above (log(1000 / 16)), 2.x's coder from both
# sides (a box shrinking more than 62.5x in one step).
_base_ = '../faster_rcnn_r50_fpn_1x.py'

model = dict(
    backbone=dict(
        norm_cfg=dict(type='BN', requires_grad=False),
        norm_eval=True,
        style='caffe',
        # Weights come from the converted checkpoint.
        init_cfg=None),
    test_cfg=dict(
        rpn=dict(nms_pre=1000, max_per_img=1000, nms=dict(type='nms', iou_threshold=0.7),
                 min_bbox_size=0),
        rcnn=dict(score_thr=0.05, nms=dict(type='nms', iou_threshold=0.5), max_per_img=100)))

img_norm_cfg = dict(mean=[103.53, 116.28, 123.675], std=[1.0, 1.0, 1.0], to_rgb=False)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', img_scale=(1333, 800), keep_ratio=True),
    dict(type='RandomFlip', flip_ratio=0.5),
    dict(type='Normalize', **img_norm_cfg),
    dict(type='Pad', size_divisor=32),
    dict(type='DefaultFormatBundle'),
    dict(type='Collect', keys=['img', 'gt_bboxes', 'gt_labels']),
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
