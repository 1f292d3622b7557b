"""Per-class NMS of the per-class scores of a detector."""
from typing import Dict, Optional, Tuple, Union

import torch
from torch import Tensor

from .nms import batched_nms


def multiclass_nms(multi_bboxes: Tensor, multi_scores: Tensor, score_thr: float, nms_cfg: Dict,
                   max_num: int = -1, score_factors: Optional[Tensor] = None,
                   return_inds: bool = False
                   ) -> Union[Tuple[Tensor, Tensor], Tuple[Tensor, Tensor, Tensor]]:
    """NMS for multi-class boxes.

    Args:
        multi_bboxes: (n, 4) boxes shared by all classes, or (n, 4 * C) class-specific boxes.
        multi_scores: (n, C + 1) scores; the last column is the background and is ignored.
        score_thr: (class, box) pairs scoring at or below this are dropped (before
            ``score_factors`` are applied).
        nms_cfg: NMS config, e.g. ``dict(type='nms', iou_threshold=0.5)``.
        max_num: keep at most this many detections (all if <= 0).
        score_factors: (n,) factors multiplied into the scores (e.g. centerness).
        return_inds: also return the indices of the kept pairs in the flattened (n * C) grid.

    Returns:
        dets (k, 5) ``[x1, y1, x2, y2, score]`` sorted by score, labels (k,) in [0, C), and,
        if ``return_inds``, inds (k,).
    """
    num_classes = multi_scores.size(1) - 1
    num_boxes = multi_scores.size(0)
    if multi_bboxes.shape[0] != num_boxes:
        raise ValueError(f'multiclass_nms: {multi_bboxes.shape[0]} boxes but {num_boxes} score '
                         'rows')
    if multi_bboxes.shape[1] > 4:
        if multi_bboxes.shape[1] != 4 * num_classes:
            raise ValueError(f'multiclass_nms: class-specific boxes {tuple(multi_bboxes.shape)} '
                             f'need 4 * {num_classes} columns for scores '
                             f'{tuple(multi_scores.shape)} (C + 1 with background last)')
        bboxes = multi_bboxes.view(num_boxes, -1, 4)
    else:
        bboxes = multi_bboxes[:, None].expand(num_boxes, num_classes, 4)

    scores = multi_scores[:, :-1]
    labels = torch.arange(num_classes, dtype=torch.long, device=scores.device)
    labels = labels.view(1, -1).expand_as(scores)

    bboxes = bboxes.reshape(-1, 4)
    scores = scores.reshape(-1)
    labels = labels.reshape(-1)

    valid_mask = scores > score_thr
    if score_factors is not None:
        score_factors = score_factors.view(-1, 1).expand(num_boxes, num_classes).reshape(-1)
        scores = scores * score_factors

    inds = valid_mask.nonzero(as_tuple=False).squeeze(1)
    bboxes, scores, labels = bboxes[inds], scores[inds], labels[inds]

    if bboxes.numel() == 0:
        dets = torch.cat([bboxes, scores[:, None]], -1)
        return (dets, labels, inds) if return_inds else (dets, labels)

    dets, keep = batched_nms(bboxes, scores, labels, nms_cfg)
    if max_num > 0:
        dets = dets[:max_num]
        keep = keep[:max_num]
    if return_inds:
        return dets, labels[keep], inds[keep]
    return dets, labels[keep]
