"""Small shared builders for the dense-head tests."""
import numpy as np
import torch


def make_metas(num_imgs=1, img_shape=(64, 96), pad_shape=None, scale_factor=1.0, flip=False,
               names=None):
    pad_shape = img_shape if pad_shape is None else pad_shape
    metas = []
    for i in range(num_imgs):
        metas.append(dict(
            filename=(names[i] if names else f'img_{i}.jpg'), ori_filename=f'img_{i}.jpg',
            ori_shape=(round(img_shape[0] / scale_factor), round(img_shape[1] / scale_factor), 3),
            img_shape=(*img_shape, 3), pad_shape=(*pad_shape, 3),
            scale_factor=np.array([scale_factor] * 4, dtype=np.float32), flip=flip,
            flip_direction='horizontal' if flip else None))
    return metas


def retina_cfg(num_classes=3, in_channels=8, feat_channels=8, stacked_convs=2):
    return dict(
        type='RetinaHead', num_classes=num_classes, in_channels=in_channels,
        stacked_convs=stacked_convs, feat_channels=feat_channels,
        anchor_generator=dict(type='AnchorGenerator', octave_base_scale=4, scales_per_octave=3,
                              ratios=[0.5, 1.0, 2.0], strides=[8, 16, 32, 64, 128]),
        bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[.0, .0, .0, .0],
                        target_stds=[1.0, 1.0, 1.0, 1.0]),
        loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25,
                      loss_weight=1.0),
        loss_bbox=dict(type='L1Loss', loss_weight=1.0),
        train_cfg=dict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.4,
                                     min_pos_iou=0, ignore_iof_thr=-1),
                       allowed_border=-1, pos_weight=-1, debug=False),
        test_cfg=dict(nms_pre=1000, min_bbox_size=0, score_thr=0.05,
                      nms=dict(type='nms', iou_threshold=0.5), max_per_img=100))


def rpn_cfg(in_channels=8, feat_channels=8, allowed_border=0):
    return dict(
        type='RPNHead', in_channels=in_channels, feat_channels=feat_channels,
        anchor_generator=dict(type='AnchorGenerator', scales=[8], ratios=[0.5, 1.0, 2.0],
                              strides=[4, 8, 16, 32, 64]),
        bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[.0, .0, .0, .0],
                        target_stds=[1.0, 1.0, 1.0, 1.0]),
        loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
        loss_bbox=dict(type='L1Loss', loss_weight=1.0),
        train_cfg=dict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.7, neg_iou_thr=0.3,
                                     min_pos_iou=0.3, ignore_iof_thr=-1),
                       sampler=dict(type='RandomSampler', num=256, pos_fraction=0.5,
                                    neg_pos_ub=-1, add_gt_as_proposals=False),
                       allowed_border=allowed_border, pos_weight=-1, debug=False),
        test_cfg=dict(nms_pre=1000, max_per_img=1000, nms=dict(type='nms', iou_threshold=0.7),
                      min_bbox_size=0))


def feats_for(img_shape, strides, channels=8, batch=1, seed=0):
    torch.manual_seed(seed)
    h, w = img_shape
    return [torch.randn(batch, channels, -(-h // s), -(-w // s)) for s in strides]
