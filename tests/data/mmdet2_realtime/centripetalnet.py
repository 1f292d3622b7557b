# CentripetalNet of centripetalnet/centripetalnet_hourglass104_mstest_16x6_210e_coco.py at the
# small size of cornernet.py (1 class, 100 corners of each kind, plain NMS); its deformable convs
# need the oracle shim with DCN kernels (MMDET2_SHIM=/work/notes/oracle_shim_dcn); for the
# parity fixture centripetalnet.npz (mmdetection 2.x dialect).
model = dict(
    type='CornerNet',
    backbone=dict(type='HourglassNet', downsample_times=2, num_stacks=2,
                  stage_channels=[8, 8, 16], stage_blocks=[1, 1, 1], feat_channel=8,
                  norm_cfg=dict(type='BN', requires_grad=True)),
    neck=None,
    bbox_head=dict(
        type='CentripetalHead', num_classes=1, in_channels=8, num_feat_levels=2,
        corner_emb_channels=0,
        loss_heatmap=dict(type='GaussianFocalLoss', alpha=2.0, gamma=4.0, loss_weight=1),
        loss_offset=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1),
        loss_guiding_shift=dict(type='SmoothL1Loss', beta=1.0, loss_weight=0.05),
        loss_centripetal_shift=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1)),
    train_cfg=None,
    test_cfg=dict(corner_topk=100, local_maximum_kernel=3, distance_threshold=0.5,
                  score_thr=0.05, max_per_img=100, nms=dict(type='nms', iou_threshold=0.5)))
# multipliers of the seeded predictor weights
# (tests/test_models/test_detectors/_realtime_weights.py)
parity_gains = {'dcn_offset': 5, 'centripetal_shift.0.1.': 0.3, 'centripetal_shift.1.1.': 0.3}
# the img_meta 'border' (top, bottom, left, right) of a test-time RandomCenterCropPad
parity_border = [2., 94., 3., 125.]
