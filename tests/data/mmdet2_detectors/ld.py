# A tiny LD student (GFL head, ResNet-18 at 1/8 width, 16-channel FPN and head) with gfl.py as
# its teacher (not part of the state dict) for the parity test with mmdetection 2.28
# (generate_dense.py); otherwise 2.28's ld/ld_r18_gflv1_r101_fpn_coco_1x.py model.
_base_ = './gfl.py'
model = dict(
    type='KnowledgeDistillationSingleStageDetector',
    teacher_config=dict(model=dict(
        type='GFL',
        backbone=dict(type='ResNet', depth=18, base_channels=8, out_indices=(0, 1, 2, 3),
                      norm_eval=True, style='pytorch'),
        neck=dict(type='FPN', in_channels=[8, 16, 32, 64], out_channels=16, start_level=1,
                  add_extra_convs='on_output', num_outs=5),
        bbox_head=dict(type='GFLHead', num_classes=3, in_channels=16, stacked_convs=2,
                       feat_channels=16, reg_max=8,
                       norm_cfg=dict(type='GN', num_groups=4, requires_grad=True),
                       anchor_generator=dict(type='AnchorGenerator', ratios=[1.0],
                                             octave_base_scale=8, scales_per_octave=1,
                                             strides=[8, 16, 32, 64, 128]),
                       loss_cls=dict(type='QualityFocalLoss', use_sigmoid=True, beta=2.0,
                                     loss_weight=1.0),
                       loss_dfl=dict(type='DistributionFocalLoss', loss_weight=0.25),
                       loss_bbox=dict(type='GIoULoss', loss_weight=2.0)))),
    teacher_ckpt=None,
    bbox_head=dict(type='LDHead',
                   loss_ld=dict(type='KnowledgeDistillationKLDivLoss', loss_weight=0.25, T=10)))
