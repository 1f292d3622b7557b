# A tiny SCNet for the parity test with mmdetection 2.28 (generate.py): the htc.py of this
# folder (as 2.28's scnet configs build on htc_r50_fpn_1x) with 2.28's SCNet RoI head at 16
# channels: residual mask/semantic/global-context heads, feature relay.
_base_ = './htc.py'
_stage = dict(type='SCNetBBoxHead', num_shared_fcs=2, in_channels=16, fc_out_channels=32,
              roi_feat_size=7, num_classes=5, reg_class_agnostic=True,
              loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
              loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0))
model = dict(
    type='SCNet',
    roi_head=dict(
        _delete_=True,
        type='SCNetRoIHead',
        num_stages=3,
        stage_loss_weights=[1, 0.5, 0.25],
        bbox_roi_extractor=dict(
            type='SingleRoIExtractor',
            roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=0),
            out_channels=16,
            featmap_strides=[4, 8, 16, 32]),
        bbox_head=[
            dict(_stage, bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.] * 4,
                                         target_stds=[0.1, 0.1, 0.2, 0.2])),
            dict(_stage, bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.] * 4,
                                         target_stds=[0.05, 0.05, 0.1, 0.1])),
            dict(_stage, bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.] * 4,
                                         target_stds=[0.033, 0.033, 0.067, 0.067])),
        ],
        mask_roi_extractor=dict(
            type='SingleRoIExtractor',
            roi_layer=dict(type='RoIAlign', output_size=14, sampling_ratio=0),
            out_channels=16,
            featmap_strides=[4, 8, 16, 32]),
        mask_head=dict(
            type='SCNetMaskHead', num_convs=4, in_channels=16, conv_out_channels=16,
            num_classes=5, conv_to_res=True,
            loss_mask=dict(type='CrossEntropyLoss', use_mask=True, loss_weight=1.0)),
        semantic_roi_extractor=dict(
            type='SingleRoIExtractor',
            roi_layer=dict(type='RoIAlign', output_size=14, sampling_ratio=0),
            out_channels=16,
            featmap_strides=[8]),
        semantic_head=dict(
            type='SCNetSemanticHead', num_ins=5, fusion_level=1, num_convs=4, in_channels=16,
            conv_out_channels=16, num_classes=10,
            loss_seg=dict(type='CrossEntropyLoss', ignore_index=255, loss_weight=0.2),
            conv_to_res=True),
        glbctx_head=dict(
            type='GlobalContextHead', num_convs=4, in_channels=16, conv_out_channels=16,
            num_classes=5, loss_weight=3.0, conv_to_res=True),
        feat_relay_head=dict(
            type='FeatureRelayHead', in_channels=32, out_conv_channels=16, roi_feat_size=7,
            scale_factor=2)))
