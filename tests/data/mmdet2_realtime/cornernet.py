# CornerNet of cornernet/cornernet_hourglass104_mstest_10x5_210e_coco.py at a small size (two
# 2-level hourglasses of 8-16 channels; 1 class, as random heat maps rank one class's corners
# first; 40 corners of each kind; plain NMS: the oracle has no soft-NMS kernel), for the parity
# fixture cornernet.npz (mmdetection 2.x dialect).
model = dict(
    type='CornerNet',
    backbone=dict(type='HourglassNet', downsample_times=2, num_stacks=2,
                  stage_channels=[8, 8, 16], stage_blocks=[1, 1, 1], feat_channel=8,
                  norm_cfg=dict(type='BN', requires_grad=True)),
    neck=None,
    bbox_head=dict(
        type='CornerHead', num_classes=1, in_channels=8, num_feat_levels=2,
        corner_emb_channels=1,
        loss_heatmap=dict(type='GaussianFocalLoss', alpha=2.0, gamma=4.0, loss_weight=1),
        loss_embedding=dict(type='AssociativeEmbeddingLoss', pull_weight=0.10,
                            push_weight=0.10),
        loss_offset=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1)),
    train_cfg=None,
    test_cfg=dict(corner_topk=40, local_maximum_kernel=3, distance_threshold=0.5,
                  score_thr=0.05, max_per_img=100, nms=dict(type='nms', iou_threshold=0.5)))
# multipliers of the seeded predictor weights
# (tests/test_models/test_detectors/_realtime_weights.py)
parity_gains = {'_emb.': 0.2}
# the img_meta 'border' (top, bottom, left, right) of a test-time RandomCenterCropPad
parity_border = [2., 94., 3., 125.]
