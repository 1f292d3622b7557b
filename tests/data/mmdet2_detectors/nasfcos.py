# A tiny NAS-FCOS (ResNet-18 caffe at 1/8 width, 16-channel NASFCOS_FPN with DCNv2 and head,
# GN(4)) for the parity test with mmdetection 2.28 (generate_dense.py, with the DCN oracle
# shim); otherwise 2.28's nas_fcos/nas_fcos_nashead_r50_caffe_fpn_gn-head_4x4_1x_coco.py model.
model = dict(
    type='NASFCOS',
    backbone=dict(type='ResNet', depth=18, base_channels=8, num_stages=4,
                  out_indices=(0, 1, 2, 3), frozen_stages=1,
                  norm_cfg=dict(type='BN', requires_grad=False, eps=0), style='caffe'),
    neck=dict(type='NASFCOS_FPN', in_channels=[8, 16, 32, 64], out_channels=16, start_level=1,
              add_extra_convs=True, num_outs=5, norm_cfg=dict(type='BN'),
              conv_cfg=dict(type='DCNv2', deform_groups=2)),
    bbox_head=dict(
        type='NASFCOSHead', num_classes=3, in_channels=16, feat_channels=16,
        strides=[8, 16, 32, 64, 128], norm_cfg=dict(type='GN', num_groups=4),
        loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25,
                      loss_weight=1.0),
        loss_bbox=dict(type='IoULoss', loss_weight=1.0),
        loss_centerness=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)),
    train_cfg=dict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.4,
                                 min_pos_iou=0, ignore_iof_thr=-1),
                   allowed_border=-1, pos_weight=-1, debug=False),
    test_cfg=dict(nms_pre=200, min_bbox_size=0, score_thr=0.05,
                  nms=dict(type='nms', iou_threshold=0.6), max_per_img=50))
