# A small Mask R-CNN C4 (the first three stages of a ResNet-18 backbone, its stage 4 as the
# RoI shared head, 3 classes, 30 proposals) for the parity test with mmdetection 2.28
# (generate_rcnn_variants.py); everything else is mmdet_lite's
# configs/_base_/models/mask_rcnn_r50_caffe_c4.py, itself 2.28's. (The shared head has no
# width argument: stage 4 of a ResNet-18 takes 256 channels.)
_base_ = '../../../configs/_base_/models/mask_rcnn_r50_caffe_c4.py'
model = dict(
    backbone=dict(depth=18, init_cfg=None),
    rpn_head=dict(in_channels=256, feat_channels=32),
    roi_head=dict(
        shared_head=dict(depth=18),
        bbox_roi_extractor=dict(out_channels=256),
        bbox_head=dict(in_channels=512, num_classes=3),
        mask_head=dict(in_channels=512, conv_out_channels=16, num_classes=3)),
    test_cfg=dict(rpn=dict(nms_pre=300, max_per_img=30), rcnn=dict(max_per_img=20)))
