"""NMS with mmcv's call signature, computed by ``torchvision.ops``."""
import copy
from typing import Dict, Tuple

import torch
from torch import Tensor
from torchvision.ops import batched_nms as tv_batched_nms
from torchvision.ops import nms as tv_nms

from .soft_nms import batched_soft_nms


def nms(boxes: Tensor, scores: Tensor, iou_threshold: float, offset: int = 0,
        score_threshold: float = 0., max_num: int = -1) -> Tuple[Tensor, Tensor]:
    """Non-maximum suppression (mmcv's ``nms`` signature).

    Args:
        boxes: (n, 4) xyxy boxes.
        scores: (n,) scores.
        iou_threshold: boxes overlapping a kept box by more than this are dropped.
        offset: 0, or 1 for the legacy ``+1`` box-size convention.
        score_threshold: boxes scoring at or below this are dropped first.
        max_num: keep at most this many (all if <= 0).

    Returns:
        dets (k, 5) ``[x1, y1, x2, y2, score]`` sorted by score, and keep (k,) the indices.
    """
    if offset not in (0, 1):
        raise ValueError(f'nms: offset must be 0 or 1, got {offset}')
    if boxes.shape[0] != scores.shape[0]:
        raise ValueError(f'nms: {boxes.shape[0]} boxes but {scores.shape[0]} scores')
    inds = torch.arange(boxes.size(0), device=boxes.device)
    if score_threshold > 0:
        valid = scores > score_threshold
        boxes, scores, inds = boxes[valid], scores[valid], inds[valid]
    keep = _nms_kernel(boxes, scores, iou_threshold, offset)
    if max_num > 0:
        keep = keep[:max_num]
    dets = torch.cat([boxes[keep], scores[keep][:, None]], dim=-1)
    return dets, inds[keep]


def _nms_kernel(boxes: Tensor, scores: Tensor, iou_threshold: float, offset: int = 0) -> Tensor:
    boxes = boxes.float()
    if offset == 1:
        # the "+1" convention: w = x2 - x1 + 1, which equals plain IoU on boxes grown by 1
        boxes = torch.cat([boxes[:, :2], boxes[:, 2:] + 1], dim=-1)
    return tv_nms(boxes, scores.float(), float(iou_threshold))


def batched_nms(boxes: Tensor, scores: Tensor, idxs: Tensor, nms_cfg: Dict,
                class_agnostic: bool = False) -> Tuple[Tensor, Tensor]:
    """NMS within each category (``idxs``), mmcv's ``batched_nms`` semantics.

    Args:
        boxes: (n, 4) xyxy boxes.
        scores: (n,) scores.
        idxs: (n,) category (or image / level) of each box; boxes of different categories never
            suppress each other.
        nms_cfg: ``dict(type='nms', iou_threshold=..., [max_num], [split_thr], [offset],
            [class_agnostic])``, or ``type='soft_nms'`` (see :func:`batched_soft_nms`, whose
            scores are the decayed ones); not modified. With more than ``split_thr`` (default
            10000) boxes NMS runs category by category to bound memory.
        class_agnostic: ignore ``idxs`` (overridden by ``nms_cfg['class_agnostic']``).

    Returns:
        dets (k, 5) ``[x1, y1, x2, y2, score]`` sorted by decreasing score and keep (k,).
    """
    nms_cfg_ = copy.deepcopy(dict(nms_cfg))
    class_agnostic = nms_cfg_.pop('class_agnostic', class_agnostic)
    nms_type = nms_cfg_.pop('type', 'nms')
    if nms_type == 'soft_nms':
        return batched_soft_nms(boxes, scores, idxs, nms_cfg_, class_agnostic)
    if nms_type != 'nms':
        raise ValueError(f"batched_nms: nms type '{nms_type}' is not available; use "
                         "nms_cfg=dict(type='nms', iou_threshold=...) or type='soft_nms'")
    if 'iou_thr' in nms_cfg_:
        nms_cfg_['iou_threshold'] = nms_cfg_.pop('iou_thr')
    if 'iou_threshold' not in nms_cfg_:
        raise KeyError(f'batched_nms: nms_cfg {nms_cfg} has no iou_threshold; write e.g. '
                       "nms=dict(type='nms', iou_threshold=0.5)")
    iou_threshold = float(nms_cfg_.pop('iou_threshold'))
    split_thr = nms_cfg_.pop('split_thr', 10000)
    max_num = nms_cfg_.pop('max_num', -1)
    offset = nms_cfg_.pop('offset', 0)
    score_threshold = nms_cfg_.pop('score_threshold', 0.)
    if nms_cfg_:
        raise KeyError(f'batched_nms: unknown nms_cfg keys {sorted(nms_cfg_)}; known are '
                       "type, iou_threshold, max_num, split_thr, offset, score_threshold, "
                       'class_agnostic')

    if score_threshold > 0:
        valid = torch.nonzero(scores > score_threshold).view(-1)
    else:
        valid = torch.arange(scores.numel(), device=scores.device)
    boxes_v, scores_v, idxs_v = boxes[valid].float(), scores[valid].float(), idxs[valid]
    if offset == 1:
        boxes_v = torch.cat([boxes_v[:, :2], boxes_v[:, 2:] + 1], dim=-1)

    if class_agnostic:
        keep = tv_nms(boxes_v, scores_v, iou_threshold)
    elif boxes_v.shape[0] < split_thr:
        keep = tv_batched_nms(boxes_v, scores_v, idxs_v, iou_threshold)
    else:
        total_mask = torch.zeros_like(scores_v, dtype=torch.bool)
        for cat_id in torch.unique(idxs_v):
            mask = torch.nonzero(idxs_v == cat_id).view(-1)
            total_mask[mask[tv_nms(boxes_v[mask], scores_v[mask], iou_threshold)]] = True
        keep = torch.nonzero(total_mask).view(-1)
        keep = keep[scores_v[keep].argsort(descending=True)]
    if max_num > 0:
        keep = keep[:max_num]
    keep = valid[keep]
    dets = torch.cat([boxes[keep], scores[keep][:, None].to(boxes.dtype)], dim=-1)
    return dets, keep
