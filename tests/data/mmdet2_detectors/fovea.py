# A tiny FoveaBox (ResNet-18 at 1/8 width, 16-channel FPN and head) for the parity test with
# mmdetection 2.28 (generate_dense.py); otherwise 2.28's foveabox/fovea_r50_fpn_4x4_1x_coco.py
# model.
model = dict(
    type='FOVEA',
    backbone=dict(type='ResNet', depth=18, base_channels=8, num_stages=4,
                  out_indices=(0, 1, 2, 3), frozen_stages=1,
                  norm_cfg=dict(type='BN', requires_grad=True), norm_eval=True, style='pytorch'),
    neck=dict(type='FPN', in_channels=[8, 16, 32, 64], out_channels=16, start_level=1,
              num_outs=5, add_extra_convs='on_input'),
    bbox_head=dict(
        type='FoveaHead', num_classes=3, in_channels=16, stacked_convs=2, feat_channels=16,
        strides=[8, 16, 32, 64, 128], base_edge_list=[16, 32, 64, 128, 256],
        scale_ranges=((1, 64), (32, 128), (64, 256), (128, 512), (256, 2048)), sigma=0.4,
        with_deform=False,
        loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=1.50, alpha=0.4,
                      loss_weight=1.0),
        loss_bbox=dict(type='SmoothL1Loss', beta=0.11, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(nms_pre=200, score_thr=0.05, nms=dict(type='nms', iou_threshold=0.5),
                  max_per_img=50))
