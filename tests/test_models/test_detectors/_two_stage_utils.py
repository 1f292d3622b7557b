"""Small Mask R-CNN configs and synthetic images shared by the two-stage detector tests."""
import copy
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
from mmengine.config import Config

from mmdet_lite.core import BitmapMasks

MASK_RCNN_CFG = 'configs/_base_/models/mask_rcnn_r50_fpn.py'


def _each(cfg):
    """The head configs of ``cfg``: itself, or each of a cascade's per-stage list."""
    return cfg if isinstance(cfg, list) else [cfg]


def tiny_two_stage_cfg(config: str, num_classes: int = 2, base_channels: int = 16,
                       feat: int = 32, fc_out_channels: int = 64) -> dict:
    """The model of ``config`` (a path under the repository root) with a trainable R-18 FPN
    backbone and narrow channels: the RPN and every RoI head (per-stage lists included)."""
    root = __file__.rsplit('/tests/', 1)[0]
    model = copy.deepcopy(Config.fromfile(f'{root}/{config}').model.to_dict())
    model['backbone'] = dict(type='ResNet', depth=18, base_channels=base_channels, num_stages=4,
                             out_indices=(0, 1, 2, 3), frozen_stages=-1,
                             norm_cfg=dict(type='BN', requires_grad=True), norm_eval=False,
                             style='pytorch')
    widths = [base_channels * 2**i for i in range(4)]
    model['neck'].update(in_channels=widths, out_channels=feat)
    if 'rpn_head' in model:
        model['rpn_head'].update(in_channels=feat, feat_channels=feat)
    roi = model['roi_head']
    for key in ('bbox_roi_extractor', 'mask_roi_extractor'):
        for extractor in _each(roi.get(key) or []):
            extractor['out_channels'] = feat
    for head in _each(roi['bbox_head']):
        head.update(in_channels=feat, fc_out_channels=fc_out_channels, num_classes=num_classes)
    for head in _each(roi.get('mask_head') or []):
        head.update(in_channels=feat, conv_out_channels=feat, num_classes=num_classes)
    return model


def tiny_mask_rcnn_cfg(num_classes: int = 2, base_channels: int = 16, feat: int = 32,
                       with_mask: bool = True) -> dict:
    """Mask R-CNN R-18 FPN with narrow channels and small sampling numbers (fast on CPU)."""
    model = tiny_two_stage_cfg(MASK_RCNN_CFG, num_classes, base_channels, feat)
    roi = model['roi_head']
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


def jittered_proposals(gt_bboxes: torch.Tensor) -> torch.Tensor:
    """Of one image: 4 shifted/scaled copies of every GT box (IoU > 0.5) and 2 background boxes."""
    out = []
    for x1, y1, x2, y2 in gt_bboxes.tolist():
        w, h = x2 - x1, y2 - y1
        for dx, dy, s in ((0.06, 0.04, 1.0), (-0.05, 0.05, 1.05), (0.04, -0.06, 0.95),
                          (-0.03, -0.03, 1.08)):
            cx, cy = (x1 + x2) / 2 + dx * w, (y1 + y2) / 2 + dy * h
            out.append([cx - s * w / 2, cy - s * h / 2, cx + s * w / 2, cy + s * h / 2])
    out += [[0., 0., 8., 8.], [100., 80., 127., 95.]]
    return torch.tensor(out)


def semantic_maps(bitmaps: List[np.ndarray], gt_labels: List[torch.Tensor], h: int, w: int,
                  stride: int = 8) -> torch.Tensor:
    """``gt_semantic_seg`` (N, 1, h / stride, w / stride): 0 background, 1 + label on objects
    (what SegRescale(scale_factor=1 / stride) makes of a full-size map, nearest neighbour)."""
    maps = []
    for masks, labels in zip(bitmaps, gt_labels):
        full = np.zeros((h, w), np.int64)
        for mask, label in zip(masks, labels.tolist()):
            full[mask] = label + 1
        maps.append(full[stride // 2::stride, stride // 2::stride])
    return torch.from_numpy(np.stack(maps))[:, None]


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


def overfit(model, imgs: torch.Tensor, iters: int, lr: float = 3e-3,
            **gt) -> List[Dict[str, float]]:
    """Train ``model`` on the batch ``imgs`` with ``gt`` (``gt_bboxes``, ``gt_labels``, ...) for
    ``iters`` Adam steps whose rate is annealed to zero (box regression has a noise floor
    proportional to the step size); returns the log values of every iteration."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, iters)
    history = []
    model.train()
    for _ in range(iters):
        losses = model(imgs, metas(len(imgs), *imgs.shape[-2:]), mode='loss', **gt)
        total, log_vars = model.parse_losses(losses)
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
        scheduler.step()
        history.append({k: v.item() for k, v in log_vars.items()})
    return history


def loss_fall(history: List[Dict[str, float]], key: str) -> float:
    """1 - (mean of the last 10 iterations) / (mean of the first 5) of log value ``key``."""
    start = np.mean([h[key] for h in history[:5]])
    end = np.mean([h[key] for h in history[-10:]])
    return 1 - end / start


def assert_finds_every_object(results: list, gt_bboxes: List[torch.Tensor],
                              gt_labels: List[torch.Tensor], bitmaps: Optional[list] = None,
                              min_iou: float = 0.7, min_score: float = 0.5) -> None:
    """Every GT object of every image has a detection of its class with box IoU >= ``min_iou``
    and score >= ``min_score``, and (with ``bitmaps``) that detection's mask IoU >= ``min_iou``."""
    assert len(results) == len(gt_bboxes)
    for i, result in enumerate(results):
        bbox_results, segm_results = result if bitmaps is not None else (result, None)
        for j, (box, label) in enumerate(zip(gt_bboxes[i].numpy(), gt_labels[i].tolist())):
            dets = bbox_results[label]
            assert len(dets) > 0, f'image {i}: no detection of class {label}'
            ious = [box_iou(det, box) for det in dets]
            best = int(np.argmax(ious))
            assert ious[best] >= min_iou and dets[best, 4] >= min_score, (i, box, dets)
            if bitmaps is not None:
                mask = segm_results[label][best]
                assert mask.shape == bitmaps[i][j].shape and mask.dtype == bool
                assert mask_iou(mask, bitmaps[i][j]) >= min_iou, (i, box)
