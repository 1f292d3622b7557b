"""Adaptive training sample selection (ATSS): per GT an IoU threshold from its candidates."""
import warnings
from typing import List, Optional

import torch
from torch import Tensor

from mmdet_lite.registry import TASK_UTILS
from ..iou_calculators import build_iou_calculator
from .assign_result import AssignResult
from .assign_utils import empty_assign_result, labels_of_assigned
from .base_assigner import BaseAssigner

INF = 100000000


@TASK_UTILS.register_module()
class ATSSAssigner(BaseAssigner):
    """ATSS assignment (https://arxiv.org/abs/1912.02424).

    For each GT: on every level take the ``topk`` priors whose centres are closest to the GT
    centre (candidates); the threshold is mean + std (unbiased) of the candidates' IoUs; the
    candidates with IoU >= threshold whose centre lies inside the GT (by more than 0.01 px)
    are positive. A prior positive for several GTs takes the GT of highest IoU. Other priors
    are negative (0); priors covered by an ignore box beyond ``ignore_iof_thr`` are -1 unless
    they become positive.

    With ``alpha`` (DDOD's dynamic cost) the IoU is replaced by
    ``sigmoid(cls_score[gt_label]) ** (1 - alpha) * IoU(predicted box, GT) ** alpha``; the
    centre distances stay those of the priors.

    Args:
        topk: candidates per level and GT.
        alpha: exponent of the dynamic cost, None for plain ATSS.
        iou_calculator: config of the IoU calculator.
        ignore_iof_thr: IoF with an ignore box above which a prior is ignored; negative
            disables it.
    """

    def __init__(self, topk: int, alpha: Optional[float] = None,
                 iou_calculator: Optional[dict] = None, ignore_iof_thr: float = -1) -> None:
        self.topk = topk
        self.alpha = alpha
        self.iou_calculator = build_iou_calculator(
            dict(type='BboxOverlaps2D') if iou_calculator is None else iou_calculator)
        self.ignore_iof_thr = ignore_iof_thr

    def assign(self, bboxes: Tensor, num_level_bboxes: List[int], gt_bboxes: Tensor,
               gt_bboxes_ignore: Optional[Tensor] = None, gt_labels: Optional[Tensor] = None,
               cls_scores: Optional[Tensor] = None,
               bbox_preds: Optional[Tensor] = None) -> AssignResult:
        """Assign GTs to the priors of all levels.

        Args:
            bboxes: (n, 4) priors of all levels, level by level (a 5th column is dropped).
            num_level_bboxes: number of priors of each level (sums to n).
            gt_bboxes: (k, 4) ground truths.
            gt_bboxes_ignore: (m, 4) ignore boxes.
            gt_labels: (k,) labels (needed with ``alpha``).
            cls_scores: (n, num_classes) classification logits (only with ``alpha``).
            bbox_preds: (n, 4) decoded predicted boxes (only with ``alpha``).

        Returns:
            AssignResult over the n priors; ``max_overlaps`` holds the IoU (or cost) with the
            assigned GT and -INF for priors that are not positive.
        """
        bboxes = bboxes[:, :4]
        num_gt, num_bboxes = gt_bboxes.size(0), bboxes.size(0)
        if sum(num_level_bboxes) != num_bboxes:
            raise ValueError(f'ATSSAssigner: num_level_bboxes {list(num_level_bboxes)} sum to '
                             f'{sum(num_level_bboxes)}, but there are {num_bboxes} priors')
        if self.alpha is None:
            if cls_scores is not None or bbox_preds is not None:
                warnings.warn('ATSSAssigner: cls_scores and bbox_preds are only used with '
                              'alpha (the dynamic-cost ATSS of DDOD); they are ignored here')
            overlaps = self.iou_calculator(bboxes, gt_bboxes)
        else:
            if cls_scores is None or bbox_preds is None or gt_labels is None:
                raise ValueError('ATSSAssigner with alpha (dynamic cost) needs cls_scores, '
                                 'bbox_preds and gt_labels; pass them or set alpha=None')
            cls_cost = torch.sigmoid(cls_scores[:, gt_labels])
            overlaps = self.iou_calculator(bbox_preds, gt_bboxes)
            overlaps = cls_cost**(1 - self.alpha) * overlaps**self.alpha

        if num_gt == 0 or num_bboxes == 0:
            return empty_assign_result(num_gt, num_bboxes, overlaps, gt_labels)

        assigned_gt_inds = overlaps.new_zeros((num_bboxes, ), dtype=torch.long)
        gt_points = (gt_bboxes[:, :2] + gt_bboxes[:, 2:]) / 2.0
        bboxes_cx = (bboxes[:, 0] + bboxes[:, 2]) / 2.0
        bboxes_cy = (bboxes[:, 1] + bboxes[:, 3]) / 2.0
        bboxes_points = torch.stack((bboxes_cx, bboxes_cy), dim=1)
        distances = (bboxes_points[:, None, :] - gt_points[None, :, :]).pow(2).sum(-1).sqrt()

        if (self.ignore_iof_thr > 0 and gt_bboxes_ignore is not None
                and gt_bboxes_ignore.numel() > 0):
            ignore_max_overlaps = self.iou_calculator(bboxes, gt_bboxes_ignore,
                                                      mode='iof').max(dim=1).values
            ignored = ignore_max_overlaps > self.ignore_iof_thr
            distances[ignored, :] = INF
            assigned_gt_inds[ignored] = -1

        # candidates: on each level the topk priors closest to each GT centre, (C, k)
        candidate_idxs = []
        start = 0
        for num_level in num_level_bboxes:
            level_distances = distances[start:start + num_level]
            _, level_topk = level_distances.topk(min(self.topk, num_level), dim=0, largest=False)
            candidate_idxs.append(level_topk + start)
            start += num_level
        candidate_idxs = torch.cat(candidate_idxs, dim=0)
        gt_idxs = torch.arange(num_gt, device=bboxes.device).expand_as(candidate_idxs)

        candidate_overlaps = overlaps[candidate_idxs, gt_idxs]
        overlaps_thr_per_gt = candidate_overlaps.mean(0) + candidate_overlaps.std(0)
        is_pos = candidate_overlaps >= overlaps_thr_per_gt[None, :]

        # the candidate's centre must lie inside its GT
        cand_cx = bboxes_cx[candidate_idxs]
        cand_cy = bboxes_cy[candidate_idxs]
        side_dists = torch.stack([cand_cx - gt_bboxes[:, 0], cand_cy - gt_bboxes[:, 1],
                                  gt_bboxes[:, 2] - cand_cx, gt_bboxes[:, 3] - cand_cy], dim=1)
        is_pos = is_pos & (side_dists.min(dim=1).values > 0.01)

        # a prior positive for several GTs goes to the GT of highest overlap
        pos_mask = torch.zeros_like(overlaps, dtype=torch.bool)
        pos_mask[candidate_idxs[is_pos], gt_idxs[is_pos]] = True
        max_overlaps, argmax_overlaps = torch.where(pos_mask, overlaps,
                                                    overlaps.new_tensor(-INF)).max(dim=1)
        positive = pos_mask.any(dim=1)
        assigned_gt_inds[positive] = argmax_overlaps[positive] + 1
        return AssignResult(num_gt, assigned_gt_inds, max_overlaps,
                            labels=labels_of_assigned(assigned_gt_inds, gt_labels))
