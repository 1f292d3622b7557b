# A tiny LAD (student and teacher: paa.py's PAA head on ResNet-18 at 1/8 width; the teacher is
# not part of the state dict) for the parity test with mmdetection 2.28 (generate_dense.py);
# otherwise 2.28's lad/lad_r50_paa_r101_fpn_coco_1x.py model.
_base_ = './paa.py'
_head = dict(
    type='LADHead', reg_decoded_bbox=True, score_voting=True, topk=9, num_classes=3,
    in_channels=16, stacked_convs=2, feat_channels=16,
    norm_cfg=dict(type='GN', num_groups=4, requires_grad=True),
    anchor_generator=dict(type='AnchorGenerator', ratios=[1.0], octave_base_scale=8,
                          scales_per_octave=1, strides=[8, 16, 32, 64, 128]),
    bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[.0, .0, .0, .0],
                    target_stds=[0.1, 0.1, 0.2, 0.2]),
    loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0),
    loss_bbox=dict(type='GIoULoss', loss_weight=1.3),
    loss_centerness=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=0.5))
model = dict(
    type='LAD',
    bbox_head=dict(type='LADHead'),
    teacher_ckpt=None,
    teacher_backbone=dict(type='ResNet', depth=18, base_channels=8, num_stages=4,
                          out_indices=(0, 1, 2, 3), frozen_stages=1,
                          norm_cfg=dict(type='BN', requires_grad=False), norm_eval=True,
                          style='pytorch'),
    teacher_neck=dict(type='FPN', in_channels=[8, 16, 32, 64], out_channels=16, start_level=1,
                      add_extra_convs='on_output', num_outs=5),
    teacher_bbox_head=_head)
