# A tiny YOLOF (ResNet-18 caffe at 1/8 width, C5 only; a 16-channel DilatedEncoder and head)
# for the parity test with mmdetection 2.28 (generate_dense.py); otherwise 2.28's
# yolof/yolof_r50_c5_8x8_1x_coco.py model (anchors of 5 scales at stride 32: a 3x4 map).
model = dict(
    type='YOLOF',
    backbone=dict(type='ResNet', depth=18, base_channels=8, num_stages=4, out_indices=(3, ),
                  frozen_stages=1, norm_cfg=dict(type='BN', requires_grad=False),
                  norm_eval=True, style='caffe'),
    neck=dict(type='DilatedEncoder', in_channels=64, out_channels=16, block_mid_channels=8,
              num_residual_blocks=4, block_dilations=[2, 4, 6, 8]),
    bbox_head=dict(
        type='YOLOFHead', num_classes=3, in_channels=16, reg_decoded_bbox=True,
        anchor_generator=dict(type='AnchorGenerator', ratios=[1.0], scales=[1, 2, 4, 8, 16],
                              strides=[32]),
        bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[.0, .0, .0, .0],
                        target_stds=[1., 1., 1., 1.], add_ctr_clamp=True, ctr_clamp=32),
        loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25,
                      loss_weight=1.0),
        loss_bbox=dict(type='GIoULoss', loss_weight=1.0)),
    train_cfg=dict(assigner=dict(type='UniformAssigner', pos_ignore_thr=0.15,
                                 neg_ignore_thr=0.7),
                   allowed_border=-1, pos_weight=-1, debug=False),
    test_cfg=dict(nms_pre=200, min_bbox_size=0, score_thr=0.05,
                  nms=dict(type='nms', iou_threshold=0.6), max_per_img=50))
