# The built-in synthetic "shapes" data (circles, triangles, squares, stars), generated into
# data/shapes/ on first use. Small 128x128 images: trains to a useful mAP on a CPU.
dataset_type = 'ShapesDataset'
data_root = 'data/shapes/'
classes = ('circle', 'triangle', 'square', 'star')
_shapes_generation = dict(num_train=300, num_val=50, img_size=128, seed=0)
img_norm_cfg = dict(
    mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', img_scale=(128, 128), keep_ratio=True),
    dict(type='RandomFlip', flip_ratio=0.5),
    dict(type='Normalize', **img_norm_cfg),
    dict(type='Pad', size_divisor=32),
    dict(type='DefaultFormatBundle'),
    dict(type='Collect', keys=['img', 'gt_bboxes', 'gt_labels', 'gt_masks']),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='MultiScaleFlipAug',
        img_scale=(128, 128),
        flip=False,
        transforms=[
            dict(type='Resize', keep_ratio=True),
            dict(type='RandomFlip'),
            dict(type='Normalize', **img_norm_cfg),
            dict(type='Pad', size_divisor=32),
            dict(type='ImageToTensor', keys=['img']),
            dict(type='Collect', keys=['img']),
        ])
]
data = dict(
    samples_per_gpu=4,
    workers_per_gpu=1,
    train=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/instances_train.json',
        img_prefix='',
        classes=classes,
        pipeline=train_pipeline,
        **_shapes_generation),
    val=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/instances_val.json',
        img_prefix='',
        classes=classes,
        pipeline=test_pipeline,
        **_shapes_generation),
    test=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/instances_val.json',
        img_prefix='',
        classes=classes,
        pipeline=test_pipeline,
        **_shapes_generation))
evaluation = dict(interval=1, metric=['bbox', 'segm'], save_best='auto')
