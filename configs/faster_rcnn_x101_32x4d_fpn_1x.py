# Faster R-CNN with a ResNeXt-101 32x4d backbone (mmdetection 2.x
# faster_rcnn/faster_rcnn_x101_32x4d_fpn_1x_coco.py): 2.x checkpoints of it load strictly.
_base_ = './faster_rcnn_r50_fpn_1x.py'
model = dict(
    backbone=dict(
        type='ResNeXt',
        depth=101,
        groups=32,
        base_width=4,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        frozen_stages=1,
        norm_cfg=dict(type='BN', requires_grad=True),
        style='pytorch',
        init_cfg=dict(
            type='Pretrained', checkpoint='open-mmlab://resnext101_32x4d')))
