# A tiny DDOD (ResNet-18 at 1/8 width, 16-channel FPN and head, GN(4), DCN first convs) for the
# parity test with mmdetection 2.28 (generate_dense.py, with the DCN oracle shim); otherwise
# 2.28's ddod/ddod_r50_fpn_1x_coco.py model.
model = dict(
    type='DDOD',
    backbone=dict(type='ResNet', depth=18, base_channels=8, num_stages=4,
                  out_indices=(0, 1, 2, 3), frozen_stages=1,
                  norm_cfg=dict(type='BN', requires_grad=True), norm_eval=True, style='pytorch'),
    neck=dict(type='FPN', in_channels=[8, 16, 32, 64], out_channels=16, start_level=1,
              add_extra_convs='on_output', num_outs=5),
    bbox_head=dict(
        type='DDODHead', num_classes=3, in_channels=16, stacked_convs=2, feat_channels=16,
        norm_cfg=dict(type='GN', num_groups=4, requires_grad=True),
        anchor_generator=dict(type='AnchorGenerator', ratios=[1.0], octave_base_scale=8,
                              scales_per_octave=1, strides=[8, 16, 32, 64, 128]),
        bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[.0, .0, .0, .0],
                        target_stds=[0.1, 0.1, 0.2, 0.2]),
        loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25,
                      loss_weight=1.0),
        loss_bbox=dict(type='GIoULoss', loss_weight=2.0),
        loss_iou=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)),
    train_cfg=dict(assigner=dict(type='ATSSAssigner', topk=9, alpha=0.8),
                   reg_assigner=dict(type='ATSSAssigner', topk=9, alpha=0.5),
                   allowed_border=-1, pos_weight=-1, debug=False),
    test_cfg=dict(nms_pre=200, min_bbox_size=0, score_thr=0.05,
                  nms=dict(type='nms', iou_threshold=0.6), max_per_img=50))
