"""Task-aligned assignment (TOOD): top-k priors by score ** alpha * IoU ** beta."""
from typing import Optional

import torch
from torch import Tensor

from mmdet_lite.registry import TASK_UTILS
from ..iou_calculators import build_iou_calculator
from .assign_result import AssignResult
from .assign_utils import labels_of_assigned
from .base_assigner import BaseAssigner
from ....core.utils.errors import ConfigValueError

INF = 100000000


@TASK_UTILS.register_module()
class TaskAlignedAssigner(BaseAssigner):
    """TOOD's assignment (https://arxiv.org/abs/2108.07755).

    Alignment metric of (prior, GT): ``score[gt_label] ** alpha * IoU(pred box, GT) ** beta``.
    Each GT takes its ``topk`` priors of highest metric, keeping those with a positive metric
    whose anchor centre lies inside the GT (by more than 0.01 px); a prior taken by several GTs
    keeps the GT of highest IoU.

    The result carries ``assign_metrics``: (n,) the metric of each positive prior with its GT
    (0 elsewhere), read by ``TOODHead``.

    Args:
        topk: number of priors each GT takes at most.
        iou_calculator: config of the IoU calculator.
    """

    def __init__(self, topk: int, iou_calculator: Optional[dict] = None) -> None:
        if topk < 1:
            raise ConfigValueError(f'TaskAlignedAssigner: topk must be >= 1, got {topk}')
        self.topk = topk
        self.iou_calculator = build_iou_calculator(
            dict(type='BboxOverlaps2D') if iou_calculator is None else iou_calculator)

    def assign(self, pred_scores: Tensor, decode_bboxes: Tensor, anchors: Tensor,
               gt_bboxes: Tensor, gt_bboxes_ignore: Optional[Tensor] = None,
               gt_labels: Optional[Tensor] = None, alpha: float = 1,
               beta: float = 6) -> AssignResult:
        """Assign GTs to the priors of one image.

        Args:
            pred_scores: (n, num_classes) predicted probabilities.
            decode_bboxes: (n, 4) predicted xyxy boxes.
            anchors: (n, 4) anchors (a 5th column is dropped).
            gt_bboxes: (k, 4) ground truths.
            gt_bboxes_ignore: not used (accepted for the common assigner signature).
            gt_labels: (k,) labels.
            alpha: exponent of the score.
            beta: exponent of the IoU.

        Returns:
            AssignResult over the n priors with ``max_overlaps`` the IoU with the assigned GT
            (-INF for priors that are not positive) and the attribute ``assign_metrics``.
        """
        anchors = anchors[:, :4]
        num_gt, num_bboxes = gt_bboxes.size(0), anchors.size(0)
        if gt_labels is None and num_gt > 0:
            raise ValueError('TaskAlignedAssigner needs gt_labels to pick the predicted score '
                             'of each GT class')
        overlaps = self.iou_calculator(decode_bboxes, gt_bboxes).detach()
        assigned_gt_inds = anchors.new_zeros((num_bboxes, ), dtype=torch.long)
        assign_metrics = anchors.new_zeros((num_bboxes, ))

        if num_gt == 0 or num_bboxes == 0:
            labels = None if gt_labels is None else assigned_gt_inds.new_full((num_bboxes, ), -1)
            result = AssignResult(num_gt, assigned_gt_inds, anchors.new_zeros((num_bboxes, )),
                                  labels=labels)
            result.assign_metrics = assign_metrics
            return result

        bbox_scores = pred_scores[:, gt_labels].detach()
        alignment_metrics = bbox_scores**alpha * overlaps**beta
        topk = min(self.topk, num_bboxes)
        _, candidate_idxs = alignment_metrics.topk(topk, dim=0, largest=True)
        gt_idxs = torch.arange(num_gt, device=anchors.device).expand_as(candidate_idxs)
        is_pos = alignment_metrics[candidate_idxs, gt_idxs] > 0

        # the anchor centre must lie inside its GT
        anchors_cx = (anchors[:, 0] + anchors[:, 2]) / 2.0
        anchors_cy = (anchors[:, 1] + anchors[:, 3]) / 2.0
        cand_cx = anchors_cx[candidate_idxs]
        cand_cy = anchors_cy[candidate_idxs]
        side_dists = torch.stack([cand_cx - gt_bboxes[:, 0], cand_cy - gt_bboxes[:, 1],
                                  gt_bboxes[:, 2] - cand_cx, gt_bboxes[:, 3] - cand_cy], dim=1)
        is_pos = is_pos & (side_dists.min(dim=1).values > 0.01)

        # a prior positive for several GTs goes to the GT of highest IoU
        pos_mask = torch.zeros_like(overlaps, dtype=torch.bool)
        pos_mask[candidate_idxs[is_pos], gt_idxs[is_pos]] = True
        max_overlaps, argmax_overlaps = torch.where(pos_mask, overlaps,
                                                    overlaps.new_tensor(-INF)).max(dim=1)
        positive = pos_mask.any(dim=1)
        assigned_gt_inds[positive] = argmax_overlaps[positive] + 1
        assign_metrics[positive] = alignment_metrics[positive, argmax_overlaps[positive]]

        result = AssignResult(num_gt, assigned_gt_inds, max_overlaps,
                              labels=labels_of_assigned(assigned_gt_inds, gt_labels))
        result.assign_metrics = assign_metrics
        return result
