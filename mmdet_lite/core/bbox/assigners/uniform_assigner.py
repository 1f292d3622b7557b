"""Uniform matching of YOLOF: each GT takes its k nearest anchors and k nearest predictions."""
from typing import Optional

import torch
from torch import Tensor

from mmdet_lite.registry import TASK_UTILS
from ..iou_calculators import build_iou_calculator
from ..transforms import bbox_xyxy_to_cxcywh
from .assign_result import AssignResult
from .assign_utils import labels_of_assigned
from .base_assigner import BaseAssigner


@TASK_UTILS.register_module()
class UniformAssigner(BaseAssigner):
    """YOLOF's uniform matching (https://arxiv.org/abs/2103.09460).

    1. predictions whose best IoU with any GT exceeds ``neg_ignore_thr`` are ignored (-1),
       the others negative (0);
    2. each GT takes the ``match_times`` predictions and the ``match_times`` anchors nearest to
       it by L1 distance in (cx, cy, w, h); such a pick whose *anchor* IoU with the GT is below
       ``pos_ignore_thr`` is ignored (-1) instead of positive. When picks of different GTs
       coincide, the later pick in the order (rank, source, GT) wins: rank-major, the
       prediction picks before the anchor picks of that rank, then GT by index.

    The result carries the extra properties ``pos_idx`` ((2 * match_times * k,) bool, the picks
    kept positive), ``pos_predicted_boxes`` and ``target_boxes`` (the picked predictions and
    their GTs, (2 * match_times * k, 4)), read by ``YOLOFHead``. As in mmdetection 2.x its
    ``max_overlaps`` is the (k,) best anchor IoU of each GT (not per prior).

    Args:
        pos_ignore_thr: anchor IoU below which a pick is ignored.
        neg_ignore_thr: prediction IoU above which a non-picked prediction is ignored.
        match_times: picks per GT from each source.
        iou_calculator: config of the IoU calculator.
    """

    def __init__(self, pos_ignore_thr: float, neg_ignore_thr: float, match_times: int = 4,
                 iou_calculator: Optional[dict] = None) -> None:
        self.match_times = match_times
        self.pos_ignore_thr = pos_ignore_thr
        self.neg_ignore_thr = neg_ignore_thr
        self.iou_calculator = build_iou_calculator(
            dict(type='BboxOverlaps2D') if iou_calculator is None else iou_calculator)

    def assign(self, bbox_pred: Tensor, anchor: Tensor, gt_bboxes: Tensor,
               gt_bboxes_ignore: Optional[Tensor] = None,
               gt_labels: Optional[Tensor] = None) -> AssignResult:
        """Assign GTs to the predictions of one image.

        Args:
            bbox_pred: (n, 4) decoded predicted boxes.
            anchor: (n, 4) anchors.
            gt_bboxes: (k, 4) ground truths.
            gt_bboxes_ignore: not used.
            gt_labels: (k,) labels.

        Returns:
            AssignResult over the n predictions with the extra properties above.
        """
        num_gts, num_bboxes = gt_bboxes.size(0), bbox_pred.size(0)
        assigned_gt_inds = bbox_pred.new_zeros((num_bboxes, ), dtype=torch.long)
        if num_gts == 0 or num_bboxes == 0:
            result = AssignResult(num_gts, assigned_gt_inds, None,
                                  labels=assigned_gt_inds.new_full((num_bboxes, ), -1))
            result.set_extra_property('pos_idx', bbox_pred.new_empty(0, dtype=torch.bool))
            result.set_extra_property('pos_predicted_boxes', bbox_pred.new_empty((0, 4)))
            result.set_extra_property('target_boxes', bbox_pred.new_empty((0, 4)))
            return result
        if num_bboxes < self.match_times:
            raise ValueError(f'UniformAssigner: match_times={self.match_times} picks per GT but '
                             f'only {num_bboxes} predictions')

        gt_cxcywh = bbox_xyxy_to_cxcywh(gt_bboxes)
        cost_pred = torch.cdist(bbox_xyxy_to_cxcywh(bbox_pred), gt_cxcywh, p=1)
        cost_anchor = torch.cdist(bbox_xyxy_to_cxcywh(anchor), gt_cxcywh, p=1)
        # top-k on the CPU: CUDA's topk orders ties differently, and the picks must not depend
        # on the device
        pred_picks = torch.topk(cost_pred.cpu(), k=self.match_times, dim=0, largest=False)[1]
        anchor_picks = torch.topk(cost_anchor.cpu(), k=self.match_times, dim=0, largest=False)[1]
        # (match_times, 2 * k) -> rank-major flat list of picks
        indexes = torch.cat((pred_picks, anchor_picks), dim=1).reshape(-1).to(bbox_pred.device)

        pred_overlaps = self.iou_calculator(bbox_pred, gt_bboxes)
        anchor_overlaps = self.iou_calculator(anchor, gt_bboxes)
        assigned_gt_inds[pred_overlaps.max(dim=1).values > self.neg_ignore_thr] = -1

        pos_gt_index = torch.arange(num_gts, device=bbox_pred.device).repeat(self.match_times * 2)
        pos_ignore_idx = anchor_overlaps[indexes, pos_gt_index] < self.pos_ignore_thr
        pick_gt_inds = pos_gt_index + 1
        pick_gt_inds[pos_ignore_idx] = -1
        # a prediction picked several times takes its last pick (explicitly: index_put with
        # repeated indices leaves the winner undefined)
        order = torch.arange(indexes.numel(), device=indexes.device)
        last_pick = torch.full((num_bboxes, ), -1, dtype=torch.long,
                               device=indexes.device).scatter_reduce(0, indexes, order, 'amax')
        last_pick = last_pick[last_pick >= 0]
        assigned_gt_inds[indexes[last_pick]] = pick_gt_inds[last_pick]

        result = AssignResult(num_gts, assigned_gt_inds, anchor_overlaps.max(dim=0).values,
                              labels=labels_of_assigned(assigned_gt_inds, gt_labels))
        result.set_extra_property('pos_idx', ~pos_ignore_idx)
        result.set_extra_property('pos_predicted_boxes', bbox_pred[indexes])
        result.set_extra_property('target_boxes', gt_bboxes[pos_gt_index])
        return result
