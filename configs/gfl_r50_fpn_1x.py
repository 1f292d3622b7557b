# GFL R-50 FPN, 1x schedule on COCO (mmdetection 2.28's gfl/gfl_r50_fpn_1x_coco.py)
_base_ = [
    './_base_/models/gfl_r50_fpn.py',
    './_base_/datasets/coco_detection.py',
    './_base_/schedules/schedule_1x.py', './_base_/default_runtime.py'
]
# optimizer
optimizer = dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0001)
