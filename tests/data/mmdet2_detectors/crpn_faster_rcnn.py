# A tiny Cascade RPN + Faster R-CNN (ResNet-18 at 1/8 width, 16-channel FPN and heads) for the
# parity test with mmdetection 2.28 (generate_rcnn_variants.py); everything else is
# mmdet_lite's configs/crpn_faster_rcnn_r50_fpn_1x.py (2.28's with a pytorch-style backbone;
# the stage list is repeated because config lists are replaced, not merged).
_base_ = '../../../configs/crpn_faster_rcnn_r50_fpn_1x.py'
model = dict(
    backbone=dict(depth=18, base_channels=8, init_cfg=None),
    neck=dict(in_channels=[8, 16, 32, 64], out_channels=16),
    rpn_head=dict(stages=[
        dict(type='StageCascadeRPNHead', in_channels=16, feat_channels=16,
             anchor_generator=dict(type='AnchorGenerator', scales=[8], ratios=[1.0],
                                   strides=[4, 8, 16, 32, 64]),
             adapt_cfg=dict(type='dilation', dilation=3), bridged_feature=True, sampling=False,
             with_cls=False, reg_decoded_bbox=True,
             bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=(.0, .0, .0, .0),
                             target_stds=(0.1, 0.1, 0.5, 0.5)),
             loss_bbox=dict(type='IoULoss', linear=True, loss_weight=7.0)),
        dict(type='StageCascadeRPNHead', in_channels=16, feat_channels=16,
             adapt_cfg=dict(type='offset'), bridged_feature=False, sampling=True,
             with_cls=True, reg_decoded_bbox=True,
             bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=(.0, .0, .0, .0),
                             target_stds=(0.05, 0.05, 0.1, 0.1)),
             loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=0.7),
             loss_bbox=dict(type='IoULoss', linear=True, loss_weight=7.0))]),
    roi_head=dict(bbox_roi_extractor=dict(out_channels=16),
                  bbox_head=dict(in_channels=16, fc_out_channels=32, num_classes=5)),
    test_cfg=dict(rpn=dict(nms_pre=300, max_per_img=100),
                  rcnn=dict(score_thr=0.05, max_per_img=30)))
