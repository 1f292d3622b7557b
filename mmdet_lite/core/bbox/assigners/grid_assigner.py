"""YOLOv3's assignment: max-IoU, with positives restricted to the cells holding a GT centre."""
from typing import Optional, Tuple, Union

import torch
from torch import Tensor

from mmdet_lite.registry import TASK_UTILS
from ..iou_calculators import build_iou_calculator
from .assign_result import AssignResult
from .assign_utils import labels_of_assigned
from .base_assigner import BaseAssigner


@TASK_UTILS.register_module()
class GridAssigner(BaseAssigner):
    """Grid assignment (YOLOv3).

    1. every prior starts ignored (-1);
    2. priors whose max IoU over all GTs is in [0, neg_iou_thr] (or in (low, high] for a
       range) -> 0;
    3. among the *responsible* priors only (those of a cell holding a GT centre, see
       ``YOLOAnchorGenerator.responsible_flags``): a prior whose max IoU > pos_iou_thr -> that
       GT;
    4. each GT whose best responsible IoU > min_pos_iou takes its best responsible prior (all
       tied ones when ``gt_max_assign_all``); later GTs win.

    Note the strict inequalities (> pos_iou_thr, <= neg_iou_thr, > min_pos_iou), unlike
    :class:`MaxIoUAssigner`.

    Args:
        pos_iou_thr: IoU threshold of positives.
        neg_iou_thr: IoU threshold of negatives, or a (low, high) range.
        min_pos_iou: IoU a GT's best prior must exceed in step 4.
        gt_max_assign_all: assign all priors tied at a GT's best IoU in step 4.
        iou_calculator: config of the IoU calculator.
    """

    def __init__(self, pos_iou_thr: float, neg_iou_thr: Union[float, Tuple[float, float]],
                 min_pos_iou: float = .0, gt_max_assign_all: bool = True,
                 iou_calculator: Optional[dict] = None) -> None:
        if isinstance(neg_iou_thr, (tuple, list)):
            if len(neg_iou_thr) != 2:
                raise ValueError('GridAssigner: neg_iou_thr must be a number or a (low, high) '
                                 f'pair, got {neg_iou_thr}')
            neg_iou_thr = tuple(neg_iou_thr)
        elif not isinstance(neg_iou_thr, (int, float)):
            raise TypeError('GridAssigner: neg_iou_thr must be a number or a (low, high) pair, '
                            f'got {neg_iou_thr!r}')
        self.pos_iou_thr = pos_iou_thr
        self.neg_iou_thr = neg_iou_thr
        self.min_pos_iou = min_pos_iou
        self.gt_max_assign_all = gt_max_assign_all
        self.iou_calculator = build_iou_calculator(
            dict(type='BboxOverlaps2D') if iou_calculator is None else iou_calculator)

    def assign(self, bboxes: Tensor, box_responsible_flags: Tensor, gt_bboxes: Tensor,
               gt_labels: Optional[Tensor] = None) -> AssignResult:
        """Assign GTs to ``bboxes``.

        Args:
            bboxes: (n, 4) priors.
            box_responsible_flags: (n,) flags (bool or 0/1) of the responsible priors.
            gt_bboxes: (k, 4) ground truths.
            gt_labels: (k,) labels.

        Returns:
            AssignResult over the n priors; ``max_overlaps`` is the best IoU over the GTs among
            responsible priors and -1 for the others.
        """
        num_gts, num_bboxes = gt_bboxes.size(0), bboxes.size(0)
        overlaps = self.iou_calculator(gt_bboxes, bboxes)
        assigned_gt_inds = overlaps.new_full((num_bboxes, ), -1, dtype=torch.long)
        if num_gts == 0 or num_bboxes == 0:
            if num_gts == 0:
                assigned_gt_inds[:] = 0
            labels = None if gt_labels is None else assigned_gt_inds.new_full((num_bboxes, ), -1)
            return AssignResult(num_gts, assigned_gt_inds, overlaps.new_zeros((num_bboxes, )),
                                labels=labels)

        max_overlaps, _ = overlaps.max(dim=0)
        if isinstance(self.neg_iou_thr, tuple):
            low, high = self.neg_iou_thr
            assigned_gt_inds[(max_overlaps > low) & (max_overlaps <= high)] = 0
        else:
            assigned_gt_inds[(max_overlaps >= 0) & (max_overlaps <= self.neg_iou_thr)] = 0

        responsible = box_responsible_flags.bool()
        overlaps[:, ~responsible] = -1.
        max_overlaps, argmax_overlaps = overlaps.max(dim=0)
        gt_max_overlaps, gt_argmax_overlaps = overlaps.max(dim=1)
        pos = (max_overlaps > self.pos_iou_thr) & responsible
        assigned_gt_inds[pos] = argmax_overlaps[pos] + 1

        for i in range(num_gts):
            if gt_max_overlaps[i] > self.min_pos_iou:
                if self.gt_max_assign_all:
                    assigned_gt_inds[(overlaps[i, :] == gt_max_overlaps[i]) & responsible] = i + 1
                elif responsible[gt_argmax_overlaps[i]]:
                    assigned_gt_inds[gt_argmax_overlaps[i]] = i + 1

        return AssignResult(num_gts, assigned_gt_inds, max_overlaps,
                            labels=labels_of_assigned(assigned_gt_inds, gt_labels))
