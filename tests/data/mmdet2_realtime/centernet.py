# CenterNet of centernet/centernet_resnet18_140e_coco.py at a fraction of its widths (ResNet-18
# with base_channels 8, narrow deconvolutions, 3 classes), for the parity fixture centernet.npz
# (mmdetection 2.x dialect).
model = dict(
    type='CenterNet',
    backbone=dict(type='ResNet', depth=18, base_channels=8, norm_eval=False,
                  norm_cfg=dict(type='BN'),
                  out_indices=(3, )),
    neck=dict(type='CTResNetNeck', in_channel=64, num_deconv_filters=(16, 8, 8),
              num_deconv_kernels=(4, 4, 4), use_dcn=False),
    bbox_head=dict(type='CenterNetHead', num_classes=3, in_channel=8, feat_channel=8,
                   loss_center_heatmap=dict(type='GaussianFocalLoss', loss_weight=1.0),
                   loss_wh=dict(type='L1Loss', loss_weight=0.1),
                   loss_offset=dict(type='L1Loss', loss_weight=1.0)),
    train_cfg=None,
    test_cfg=dict(topk=100, local_maximum_kernel=3, max_per_img=100))
# multipliers of the seeded predictor weights
# (tests/test_models/test_detectors/_realtime_weights.py)
parity_gains = {'heatmap_head.2': 4, 'wh_head.2': 20, 'offset_head.2': 2}
# the img_meta 'border' (top, bottom, left, right) of a test-time RandomCenterCropPad
parity_border = [2., 94., 3., 125.]
