# A tiny TridentNet Faster R-CNN for the parity test with mmdetection 2.28
# (generate_resnet_family.py): TridentResNet-50 at 1/8 width (3 stages, the last one trident,
# all three branches run at test time and are merged), an RPN and a 2-fc box head on its stride-16
# output; 2.28's tridentnet/ settings otherwise (caffe style, frozen BN).
norm_cfg = dict(type='BN', requires_grad=False)
model = dict(
    type='TridentFasterRCNN',
    backbone=dict(
        type='TridentResNet', depth=50, base_channels=8, num_stages=3, strides=(1, 2, 2),
        dilations=(1, 1, 1), out_indices=(2, ), frozen_stages=1, norm_cfg=norm_cfg,
        norm_eval=True, style='caffe', trident_dilations=(1, 2, 3), num_branch=3,
        test_branch_idx=-1, init_cfg=None),
    rpn_head=dict(
        type='RPNHead', in_channels=128, feat_channels=16,
        anchor_generator=dict(type='AnchorGenerator', scales=[2, 4, 8, 16, 32],
                              ratios=[0.5, 1.0, 2.0], strides=[16]),
        bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[.0, .0, .0, .0],
                        target_stds=[1.0, 1.0, 1.0, 1.0]),
        loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
        loss_bbox=dict(type='L1Loss', loss_weight=1.0)),
    roi_head=dict(
        type='TridentRoIHead', num_branch=3, test_branch_idx=-1,
        bbox_roi_extractor=dict(
            type='SingleRoIExtractor',
            roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=0),
            out_channels=128, featmap_strides=[16]),
        bbox_head=dict(
            type='Shared2FCBBoxHead', in_channels=128, fc_out_channels=32, roi_feat_size=7,
            num_classes=5,
            bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0., 0., 0., 0.],
                            target_stds=[0.1, 0.1, 0.2, 0.2]),
            reg_class_agnostic=False,
            loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
            loss_bbox=dict(type='L1Loss', loss_weight=1.0))),
    train_cfg=dict(
        rpn=dict(
            assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.7, neg_iou_thr=0.3,
                          min_pos_iou=0.3, match_low_quality=True, ignore_iof_thr=-1),
            sampler=dict(type='RandomSampler', num=64, pos_fraction=0.5, neg_pos_ub=-1,
                         add_gt_as_proposals=False),
            allowed_border=-1, pos_weight=-1, debug=False),
        rpn_proposal=dict(nms_pre=300, max_per_img=50, nms=dict(type='nms', iou_threshold=0.7),
                          min_bbox_size=0),
        rcnn=dict(
            assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.5,
                          min_pos_iou=0.5, match_low_quality=False, ignore_iof_thr=-1),
            sampler=dict(type='RandomSampler', num=32, pos_fraction=0.5, neg_pos_ub=-1,
                         add_gt_as_proposals=False),
            pos_weight=-1, debug=False)),
    test_cfg=dict(
        rpn=dict(nms_pre=300, max_per_img=50, nms=dict(type='nms', iou_threshold=0.7),
                 min_bbox_size=0),
        rcnn=dict(score_thr=0.05, nms=dict(type='nms', iou_threshold=0.5), max_per_img=30)))
