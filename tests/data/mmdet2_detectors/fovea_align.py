# fovea.py as 2.28's fovea_align_r50_fpn_gn-head_4x4_2x_coco.py: features aligned to the box
# (with_deform, a deformable conv), GN(4) head.
_base_ = './fovea.py'
model = dict(
    bbox_head=dict(with_deform=True, norm_cfg=dict(type='GN', num_groups=4,
                                                   requires_grad=True)))
