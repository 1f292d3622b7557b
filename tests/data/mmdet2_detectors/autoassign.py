# A tiny AutoAssign (ResNet-18 caffe at 1/8 width, 16-channel FPN and head, GN(4)) for the
# parity test with mmdetection 2.28 (generate_dense.py); otherwise 2.28's
# autoassign/autoassign_r50_fpn_8x2_1x_coco.py model.
model = dict(
    type='AutoAssign',
    backbone=dict(type='ResNet', depth=18, base_channels=8, num_stages=4,
                  out_indices=(0, 1, 2, 3), frozen_stages=1,
                  norm_cfg=dict(type='BN', requires_grad=False), norm_eval=True, style='caffe'),
    neck=dict(type='FPN', in_channels=[8, 16, 32, 64], out_channels=16, start_level=1,
              add_extra_convs=True, num_outs=5, relu_before_extra_convs=True),
    bbox_head=dict(type='AutoAssignHead', num_classes=3, in_channels=16, stacked_convs=2,
                   feat_channels=16, strides=[8, 16, 32, 64, 128],
                   norm_cfg=dict(type='GN', num_groups=4, requires_grad=True),
                   loss_bbox=dict(type='GIoULoss', loss_weight=5.0)),
    train_cfg=None,
    test_cfg=dict(nms_pre=200, min_bbox_size=0, score_thr=0.05,
                  nms=dict(type='nms', iou_threshold=0.6), max_per_img=50))
