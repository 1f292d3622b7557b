# Faster R-CNN with deformable 3x3 convs (DCN v1) in ResNet-50's stages 2-4 (mmdetection 2.x
# dcn/faster_rcnn_r50_fpn_dconv_c3-c5_1x_coco.py). Their offset convs (conv2.conv_offset) start
# at zero, so the ImageNet backbone starts as the plain ResNet.
_base_ = './faster_rcnn_r50_fpn_1x.py'
model = dict(
    backbone=dict(
        dcn=dict(type='DCN', deform_groups=1, fallback_on_stride=False),
        stage_with_dcn=(False, True, True, True)))
