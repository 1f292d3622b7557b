# A tiny Mask R-CNN for the parity test with mmdetection 2.28 (generate_resnet_family.py): a
# RegNetX (dict arch) with regnet/'s modulated deformable convs in stages 3-4, and gn/'s
# GroupNorm everywhere (backbone, FPN, a 4-conv + 1-fc box head, mask head); 16-channel FPN
# and heads; everything else is mmdet_lite's configs/_base_/models/mask_rcnn_r50_fpn.py.
_base_ = '../../../configs/_base_/models/mask_rcnn_r50_fpn.py'
norm_cfg = dict(type='GN', num_groups=4, requires_grad=True)
model = dict(
    backbone=dict(
        _delete_=True, type='RegNet',
        arch=dict(w0=16, wa=16.0, wm=2.0, group_w=8, depth=6, bot_mul=1.0), stem_channels=16,
        out_indices=(0, 1, 2, 3), norm_cfg=norm_cfg, init_cfg=None,
        dcn=dict(type='DCNv2', deform_groups=1, fallback_on_stride=False),
        stage_with_dcn=(False, False, True, True)),
    neck=dict(in_channels=[16, 32, 64, 128], out_channels=16, norm_cfg=norm_cfg),
    rpn_head=dict(in_channels=16, feat_channels=16),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=16),
        bbox_head=dict(type='Shared4Conv1FCBBoxHead', in_channels=16, conv_out_channels=16,
                       fc_out_channels=32, num_classes=5, norm_cfg=norm_cfg),
        mask_roi_extractor=dict(out_channels=16),
        mask_head=dict(num_convs=2, in_channels=16, conv_out_channels=16, num_classes=5,
                       norm_cfg=norm_cfg)),
    test_cfg=dict(rpn=dict(nms_pre=300, max_per_img=50), rcnn=dict(max_per_img=30)))
