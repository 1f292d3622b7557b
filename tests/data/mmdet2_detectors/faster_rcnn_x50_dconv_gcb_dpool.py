# A tiny Faster R-CNN for the parity test with mmdetection 2.28 (generate_resnet_family.py): a
# ResNeXt-50 at 1/8 width with 2.28's dcn/ DCN (grouped) in stages 2-4 and gcnet/ ContextBlocks,
# and dcn/faster_rcnn_r50_fpn_dpool's deformable RoI pooling; 16-channel FPN and heads;
# everything else is mmdet_lite's configs/_base_/models/faster_rcnn_r50_fpn.py (2.28's).
_base_ = '../../../configs/_base_/models/faster_rcnn_r50_fpn.py'
model = dict(
    backbone=dict(
        type='ResNeXt', depth=50, groups=2, base_width=4, base_channels=8, init_cfg=None,
        dcn=dict(type='DCN', deform_groups=1, fallback_on_stride=False),
        stage_with_dcn=(False, True, True, True),
        plugins=[dict(cfg=dict(type='ContextBlock', ratio=1. / 4),
                      stages=(False, True, True, True), position='after_conv3')]),
    neck=dict(in_channels=[32, 64, 128, 256], out_channels=16),
    rpn_head=dict(in_channels=16, feat_channels=16),
    roi_head=dict(
        bbox_roi_extractor=dict(
            type='SingleRoIExtractor',
            roi_layer=dict(_delete_=True, type='DeformRoIPoolPack', output_size=7,
                           output_channels=16, deform_fc_channels=32),
            out_channels=16,
            featmap_strides=[4, 8, 16, 32]),
        bbox_head=dict(in_channels=16, fc_out_channels=32, num_classes=5)),
    test_cfg=dict(rpn=dict(nms_pre=300, max_per_img=50), rcnn=dict(max_per_img=30)))
