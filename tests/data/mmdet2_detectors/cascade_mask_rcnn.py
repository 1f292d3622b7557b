# A tiny Cascade Mask R-CNN for the parity test with mmdetection 2.28 (generate.py): the
# cascade_rcnn.py of this folder plus 2.28's cascade mask branch (one FCNMaskHead per stage,
# here with 2 convs of 16 channels).
_base_ = './cascade_rcnn.py'
model = dict(
    roi_head=dict(
        mask_roi_extractor=dict(
            type='SingleRoIExtractor',
            roi_layer=dict(type='RoIAlign', output_size=14, sampling_ratio=0),
            out_channels=16,
            featmap_strides=[4, 8, 16, 32]),
        mask_head=dict(
            type='FCNMaskHead', num_convs=2, in_channels=16, conv_out_channels=16,
            num_classes=5,
            loss_mask=dict(type='CrossEntropyLoss', use_mask=True, loss_weight=1.0))),
    test_cfg=dict(rcnn=dict(mask_thr_binary=0.5)))
