"""Small Mask R-CNN configs and synthetic images shared by the two-stage detector tests."""
import copy
from typing import List, Tuple

import numpy as np
import torch
from mmengine.config import Config

from mmdet_lite.core import BitmapMasks

MASK_RCNN_CFG = 'configs/_base_/models/mask_rcnn_r50_fpn.py'


def tiny_mask_rcnn_cfg(num_classes: int = 2, base_channels: int = 16, feat: int = 32,
                       with_mask: bool = True) -> dict:
    """Mask R-CNN R-18 FPN with narrow channels and small sampling numbers (fast on CPU)."""
    root = __file__.rsplit('/tests/', 1)[0]
    model = copy.deepcopy(Config.fromfile(f'{root}/{MASK_RCNN_CFG}').model.to_dict())
    model['backbone'] = dict(type='ResNet', depth=18, base_channels=base_channels, num_stages=4,
                             out_indices=(0, 1, 2, 3), frozen_stages=-1,
                             norm_cfg=dict(type='BN', requires_grad=True), norm_eval=False,
                             style='pytorch')
    widths = [base_channels * 2**i for i in range(4)]
    model['neck'].update(in_channels=widths, out_channels=feat)
    model['rpn_head'].update(in_channels=feat, feat_channels=feat)
    roi = model['roi_head']
    roi['bbox_roi_extractor']['out_channels'] = feat
    roi['bbox_head'].update(in_channels=feat, fc_out_channels=64, num_classes=num_classes)
    roi['mask_roi_extractor']['out_channels'] = feat
    roi['mask_head'].update(in_channels=feat, conv_out_channels=feat, num_classes=num_classes)
    if not with_mask:
        model['type'] = 'FasterRCNN'
        for key in ('mask_roi_extractor', 'mask_head'):
            roi.pop(key)
        model['train_cfg']['rcnn'].pop('mask_size')
        model['test_cfg']['rcnn'].pop('mask_thr_binary')
    model['train_cfg']['rpn_proposal'].update(nms_pre=500, max_per_img=100)
    model['train_cfg']['rcnn']['sampler'].update(num=64)
    model['test_cfg']['rpn'].update(nms_pre=300, max_per_img=100)
    return model


def img_meta(h: int, w: int, scale: float = 1.0, ori: Tuple[int, int] = None) -> dict:
    ori_h, ori_w = ori if ori is not None else (h, w)
    return dict(filename=f'synthetic_{h}x{w}.png', ori_filename=f'synthetic_{h}x{w}.png',
                ori_shape=(ori_h, ori_w, 3), img_shape=(h, w, 3), pad_shape=(h, w, 3),
                scale_factor=np.array([scale] * 4, dtype=np.float32), flip=False,
                flip_direction=None, img_norm_cfg=dict(mean=[0.] * 3, std=[1.] * 3,
                                                       to_rgb=False))


def synthetic_images(h: int = 96, w: int = 128):
    """Two images with rectangles (class 0) and ellipses (class 1) on a noisy background.

    Returns ``imgs`` (2, 3, h, w), ``gt_bboxes``, ``gt_labels``, ``gt_masks`` (BitmapMasks) and
    ``bitmaps`` (per image, ndarray (k, h, w) bool).
    """
    rng = np.random.RandomState(0)
    objects = [
        [('rect', 8, 10, 40, 38), ('ellipse', 60, 30, 110, 80)],
        [('ellipse', 12, 50, 56, 90), ('rect', 70, 8, 118, 44), ('rect', 80, 60, 104, 88)],
    ]
    colours = {'rect': np.array([1.0, -0.5, 0.2]), 'ellipse': np.array([-0.6, 0.9, -0.8])}
    yy, xx = np.mgrid[0:h, 0:w]
    imgs, gt_bboxes, gt_labels, gt_masks, bitmaps = [], [], [], [], []
    for objs in objects:
        img = rng.normal(0, 0.15, size=(h, w, 3))
        masks, boxes, labels = [], [], []
        for kind, x1, y1, x2, y2 in objs:
            if kind == 'rect':
                mask = (xx >= x1) & (xx < x2) & (yy >= y1) & (yy < y2)
            else:
                cx, cy, rx, ry = (x1 + x2) / 2, (y1 + y2) / 2, (x2 - x1) / 2, (y2 - y1) / 2
                mask = ((xx + 0.5 - cx) / rx)**2 + ((yy + 0.5 - cy) / ry)**2 <= 1
            img[mask] = colours[kind]
            ys, xs = np.nonzero(mask)
            boxes.append([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
            labels.append(0 if kind == 'rect' else 1)
            masks.append(mask)
        imgs.append(torch.from_numpy(img.transpose(2, 0, 1)).float())
        gt_bboxes.append(torch.tensor(boxes, dtype=torch.float32))
        gt_labels.append(torch.tensor(labels, dtype=torch.long))
        stacked = np.stack(masks)
        bitmaps.append(stacked)
        gt_masks.append(BitmapMasks(stacked.astype(np.uint8), h, w))
    return torch.stack(imgs), gt_bboxes, gt_labels, gt_masks, bitmaps


def box_iou(a: np.ndarray, b: np.ndarray) -> float:
    ix = max(0., min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0., min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    return np.logical_and(a, b).sum() / max(np.logical_or(a, b).sum(), 1)


def metas(n: int, h: int = 96, w: int = 128) -> List[dict]:
    return [img_meta(h, w) for _ in range(n)]
