# A tiny Grid R-CNN for the parity test with mmdetection 2.28 (generate.py): ResNet-18 at 1/8
# width, 16-channel FPN and heads, a 3x3 grid head of 2 convs; the rest is mmdet_lite's
# configs/_base_/models/faster_rcnn_r50_fpn.py (2.28's) with 2.28's grid_rcnn RoI head.
_base_ = '../../../configs/_base_/models/faster_rcnn_r50_fpn.py'
model = dict(
    type='GridRCNN',
    backbone=dict(depth=18, base_channels=8, init_cfg=None),
    neck=dict(in_channels=[8, 16, 32, 64], out_channels=16),
    rpn_head=dict(in_channels=16, feat_channels=16),
    roi_head=dict(
        _delete_=True,
        type='GridRoIHead',
        bbox_roi_extractor=dict(
            type='SingleRoIExtractor',
            roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=0),
            out_channels=16,
            featmap_strides=[4, 8, 16, 32]),
        bbox_head=dict(
            type='Shared2FCBBoxHead', with_reg=False, in_channels=16, fc_out_channels=32,
            roi_feat_size=7, num_classes=5,
            bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0., 0., 0., 0.],
                            target_stds=[0.1, 0.1, 0.2, 0.2]),
            reg_class_agnostic=False),
        grid_roi_extractor=dict(
            type='SingleRoIExtractor',
            roi_layer=dict(type='RoIAlign', output_size=14, sampling_ratio=0),
            out_channels=16,
            featmap_strides=[4, 8, 16, 32]),
        grid_head=dict(
            type='GridHead', grid_points=9, num_convs=2, in_channels=16, point_feat_channels=4,
            norm_cfg=dict(type='GN', num_groups=36),
            loss_grid=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=15))),
    train_cfg=dict(rcnn=dict(pos_radius=1, max_num_grid=192)),
    test_cfg=dict(rpn=dict(nms_pre=300, max_per_img=100),
                  rcnn=dict(score_thr=0.03, nms=dict(type='nms', iou_threshold=0.3),
                            max_per_img=30)))
