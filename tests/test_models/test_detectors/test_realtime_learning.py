"""Learning tests of the real-time detectors: each overfits the two synthetic images of
test_retinanet_learning.py on CPU and then finds every object (IoU >= 0.7, score >= 0.3)."""
from typing import Callable, Optional

import numpy as np
import torch
from torchvision.ops import box_iou

from mmdet_lite.models import build_detector

from .test_retinanet_learning import BOXES, LABELS, _images, _metas

SIGMOID_CE = dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0, reduction='sum')


def _overfit(cfg: dict, iters: int, lr: float = 1e-3,
             before_iter: Optional[Callable[[torch.nn.Module, int], None]] = None) -> None:
    torch.manual_seed(0)
    model = build_detector(cfg)
    model.init_weights()
    model.train()
    imgs = _images()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history = []
    for it in range(iters):
        if before_iter is not None:
            before_iter(model, it)
        # the heads must not change the caller's boxes: pass the shared tensors
        losses = model.forward_train(imgs, _metas(), BOXES, LABELS)
        loss = sum(sum(v) if isinstance(v, list) else v
                   for k, v in losses.items() if 'loss' in k)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        history.append(loss.item())
    assert float(np.mean(history[-5:])) < 0.5 * history[0], (history[0], history[-5:])
    model.eval()
    with torch.no_grad():
        results = model.simple_test(imgs, _metas(), rescale=True)
    for i in range(2):
        for box, label in zip(BOXES[i], LABELS[i]):
            dets = torch.from_numpy(results[i][int(label)])
            dets = dets[dets[:, 4] >= 0.3]
            assert len(dets) > 0, f'image {i}: no class-{int(label)} detection scoring >= 0.3'
            assert box_iou(box[None], dets[:, :4]).max() >= 0.7, (i, box, dets)


def test_yolov3_overfits_two_synthetic_images(one_thread):
    # MobileNetV2 x0.5 (yolov3_mobilenetv2 configs) with anchors sized for the 48-70 px boxes.
    _overfit(dict(
        type='YOLOV3',
        backbone=dict(type='MobileNetV2', widen_factor=0.5, out_indices=(2, 4, 6),
                      act_cfg=dict(type='LeakyReLU', negative_slope=0.1)),
        neck=dict(type='YOLOV3Neck', num_scales=3, in_channels=[160, 48, 16],
                  out_channels=[32, 16, 16]),
        bbox_head=dict(
            type='YOLOV3Head', num_classes=2, in_channels=[32, 16, 16],
            out_channels=[64, 32, 32],
            anchor_generator=dict(type='YOLOAnchorGenerator',
                                  base_sizes=[[(80, 56), (56, 80), (96, 96)],
                                              [(48, 48), (64, 40), (40, 64)],
                                              [(16, 16), (24, 32), (32, 24)]],
                                  strides=[32, 16, 8]),
            loss_cls=SIGMOID_CE, loss_conf=SIGMOID_CE, loss_xy={**SIGMOID_CE, 'loss_weight': 2.0},
            loss_wh=dict(type='MSELoss', loss_weight=2.0, reduction='sum')),
        train_cfg=dict(assigner=dict(type='GridAssigner', pos_iou_thr=0.5, neg_iou_thr=0.5,
                                     min_pos_iou=0)),
        test_cfg=dict(score_thr=0.05, conf_thr=0.005, nms=dict(type='nms', iou_threshold=0.45),
                      max_per_img=100)), iters=100)


def test_yolox_overfits_two_synthetic_images(one_thread):
    # CSPDarknet x0.125. GroupNorm instead of YOLOX's BN: with a batch of the same two images,
    # BN's slow running statistics (momentum 0.03) lag the fast-changing weights, so eval-mode
    # predictions trail the trained ones. The L1 loss joins halfway, as YOLOXModeSwitchHook
    # switches it on for the last epochs.
    norm = dict(type='GN', num_groups=8)

    def switch_l1(model, it):
        model.bbox_head.use_l1 = it >= 50

    _overfit(dict(
        type='YOLOX', input_size=(96, 128), random_size_range=(3, 3), random_size_interval=10,
        backbone=dict(type='CSPDarknet', deepen_factor=0.33, widen_factor=0.125, norm_cfg=norm),
        neck=dict(type='YOLOXPAFPN', in_channels=[32, 64, 128], out_channels=32,
                  num_csp_blocks=1, norm_cfg=norm),
        bbox_head=dict(type='YOLOXHead', num_classes=2, in_channels=32, feat_channels=32,
                       norm_cfg=norm),
        train_cfg=dict(assigner=dict(type='SimOTAAssigner', center_radius=2.5)),
        test_cfg=dict(score_thr=0.01, nms=dict(type='nms', iou_threshold=0.65))),
        iters=100, lr=3e-3, before_iter=switch_l1)


def test_ssdlite_overfits_two_synthetic_images(one_thread):
    # SSDLite (MobileNetV2 x0.5, depth-wise neck and head) with anchors for the 48-70 px boxes.
    norm = dict(type='BN', eps=0.001, momentum=0.1)
    _overfit(dict(
        type='SingleStageDetector',
        backbone=dict(type='MobileNetV2', widen_factor=0.5, out_indices=(4, 6), norm_cfg=norm),
        neck=dict(type='SSDNeck', in_channels=(48, 160), out_channels=(48, 160, 128, 64),
                  level_strides=(2, 2), level_paddings=(1, 1), l2_norm_scale=None,
                  use_depthwise=True, norm_cfg=norm, act_cfg=dict(type='ReLU6')),
        bbox_head=dict(
            type='SSDHead', in_channels=(48, 160, 128, 64), num_classes=2, use_depthwise=True,
            norm_cfg=norm, act_cfg=dict(type='ReLU6'),
            anchor_generator=dict(type='SSDAnchorGenerator', scale_major=False,
                                  strides=[16, 32, 64, 128], ratios=[[2, 3]] * 4,
                                  min_sizes=[24, 48, 72, 96], max_sizes=[48, 72, 96, 128]),
            bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[.0, .0, .0, .0],
                            target_stds=[0.1, 0.1, 0.2, 0.2])),
        train_cfg=dict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.5,
                                     min_pos_iou=0., ignore_iof_thr=-1,
                                     gt_max_assign_all=False),
                       smoothl1_beta=1., allowed_border=-1, pos_weight=-1, neg_pos_ratio=3),
        test_cfg=dict(nms_pre=1000, nms=dict(type='nms', iou_threshold=0.45), min_bbox_size=0,
                      score_thr=0.02, max_per_img=200)), iters=100)


def test_centernet_overfits_two_synthetic_images(one_thread):
    # ResNet-18 at quarter width, narrow deconvolutions; no 'border' in the metas (no test-time
    # RandomCenterCropPad), so boxes are not shifted.
    _overfit(dict(
        type='CenterNet',
        backbone=dict(type='ResNet', depth=18, base_channels=16, norm_eval=False,
                      norm_cfg=dict(type='BN'), out_indices=(3, )),
        neck=dict(type='CTResNetNeck', in_channel=128, num_deconv_filters=(64, 32, 32),
                  num_deconv_kernels=(4, 4, 4), use_dcn=False),
        bbox_head=dict(type='CenterNetHead', num_classes=2, in_channel=32, feat_channel=32),
        test_cfg=dict(topk=100, local_maximum_kernel=3, max_per_img=100)),
        iters=100, lr=2e-3)


def test_cornernet_overfits_two_synthetic_images(one_thread):
    # one 2-level hourglass of 16-32 channels; 32 corners of each kind (32 x 32 >= the 1000
    # pairs decoding keeps); plain NMS.
    _overfit(dict(
        type='CornerNet',
        backbone=dict(type='HourglassNet', downsample_times=2, num_stacks=1,
                      stage_channels=[16, 16, 32], stage_blocks=[1, 1, 1], feat_channel=16),
        neck=None,
        bbox_head=dict(
            type='CornerHead', num_classes=2, in_channels=16, num_feat_levels=1,
            corner_emb_channels=1,
            loss_heatmap=dict(type='GaussianFocalLoss', alpha=2.0, gamma=4.0, loss_weight=1),
            loss_embedding=dict(type='AssociativeEmbeddingLoss', pull_weight=0.10,
                                push_weight=0.10),
            loss_offset=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1)),
        test_cfg=dict(corner_topk=32, local_maximum_kernel=3, distance_threshold=0.5,
                      score_thr=0.05, max_per_img=100, nms=dict(type='nms', iou_threshold=0.5))),
        iters=40, lr=2e-3)
