# tood.py with anchor_type='anchor_based' (boxes from the coder's deltas) and no DCN.
_base_ = './tood.py'
model = dict(bbox_head=dict(anchor_type='anchor_based', num_dcn=0))
