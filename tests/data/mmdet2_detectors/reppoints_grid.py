# reppoints.py as 2.28's bbox_r50_grid_fpn_gn-neck+head_1x_coco.py: grid points from a box
# (use_grid_points), minmax transform, GN(4) head.
_base_ = './reppoints.py'
model = dict(
    bbox_head=dict(transform_method='minmax', use_grid_points=True,
                   norm_cfg=dict(type='GN', num_groups=4, requires_grad=True)))
