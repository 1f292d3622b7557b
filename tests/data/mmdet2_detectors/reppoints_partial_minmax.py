# reppoints.py with the partial-minmax transform and the points starting on a grid
# (center_init=False).
_base_ = './reppoints.py'
model = dict(bbox_head=dict(transform_method='partial_minmax', center_init=False))
