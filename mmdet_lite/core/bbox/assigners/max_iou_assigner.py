"""Assign each prior to the ground truth it overlaps most (the R-CNN / RetinaNet rule)."""
from typing import Optional, Tuple, Union

import torch
from torch import Tensor

from mmdet_lite.registry import TASK_UTILS
from ..iou_calculators import build_iou_calculator
from .assign_result import AssignResult
from .base_assigner import BaseAssigner


@TASK_UTILS.register_module()
class MaxIoUAssigner(BaseAssigner):
    """Max-IoU assignment.

    Each prior gets -1 (ignore), 0 (negative) or the 1-based index of a ground truth:

    1. every prior starts ignored (-1);
    2. priors whose max IoU over GTs lies in [0, neg_iou_thr) (or in the given range) -> 0;
    3. priors whose max IoU >= pos_iou_thr -> the GT of that max IoU;
    4. if ``match_low_quality``: each GT takes the prior(s) it overlaps most, provided that IoU
       >= min_pos_iou (all ties when ``gt_max_assign_all``), overriding steps 2-3; later GTs win.

    Args:
        pos_iou_thr: IoU threshold of positives.
        neg_iou_thr: IoU threshold of negatives, or a (low, high) range.
        min_pos_iou: lowest IoU at which a GT may take its best prior in step 4.
        gt_max_assign_all: in step 4 assign all priors tied at the GT's best IoU.
        ignore_iof_thr: priors covered by an ignore region more than this (IoF) are ignored;
            negative disables it.
        ignore_wrt_candidates: IoF relative to the prior (True) or to the ignore region.
        match_low_quality: enable step 4 (on for RPN / RetinaNet, off for the R-CNN stage).
        gpu_assign_thr: with more GTs than this, assign on the CPU to save GPU memory
            (results are moved back); negative disables it.
        iou_calculator: config of the IoU calculator.
    """

    def __init__(self, pos_iou_thr: float, neg_iou_thr: Union[float, Tuple[float, float]],
                 min_pos_iou: float = .0, gt_max_assign_all: bool = True,
                 ignore_iof_thr: float = -1, ignore_wrt_candidates: bool = True,
                 match_low_quality: bool = True, gpu_assign_thr: int = -1,
                 iou_calculator: Optional[dict] = None) -> None:
        if isinstance(neg_iou_thr, (tuple, list)):
            if len(neg_iou_thr) != 2:
                raise ValueError('MaxIoUAssigner: neg_iou_thr must be a number or a (low, high) '
                                 f'pair, got {neg_iou_thr}')
            neg_iou_thr = tuple(neg_iou_thr)
        elif not isinstance(neg_iou_thr, (int, float)):
            raise TypeError('MaxIoUAssigner: neg_iou_thr must be a number or a (low, high) pair, '
                            f'got {neg_iou_thr!r}')
        self.pos_iou_thr = pos_iou_thr
        self.neg_iou_thr = neg_iou_thr
        self.min_pos_iou = min_pos_iou
        self.gt_max_assign_all = gt_max_assign_all
        self.ignore_iof_thr = ignore_iof_thr
        self.ignore_wrt_candidates = ignore_wrt_candidates
        self.gpu_assign_thr = gpu_assign_thr
        self.match_low_quality = match_low_quality
        self.iou_calculator = build_iou_calculator(
            dict(type='BboxOverlaps2D') if iou_calculator is None else iou_calculator)

    def assign(self, bboxes: Tensor, gt_bboxes: Tensor, gt_bboxes_ignore: Optional[Tensor] = None,
               gt_labels: Optional[Tensor] = None) -> AssignResult:
        """Assign GTs to ``bboxes``.

        Args:
            bboxes: (n, 4) priors / proposals (a 5th score column is dropped).
            gt_bboxes: (k, 4) ground truths.
            gt_bboxes_ignore: (m, 4) regions whose covered priors are ignored.
            gt_labels: (k,) labels of the ground truths.

        Returns:
            AssignResult over the n priors.
        """
        assign_on_cpu = self.gpu_assign_thr > 0 and gt_bboxes.shape[0] > self.gpu_assign_thr
        device = bboxes.device
        if assign_on_cpu:
            bboxes = bboxes.cpu()
            gt_bboxes = gt_bboxes.cpu()
            if gt_bboxes_ignore is not None:
                gt_bboxes_ignore = gt_bboxes_ignore.cpu()
            if gt_labels is not None:
                gt_labels = gt_labels.cpu()

        overlaps = self.iou_calculator(gt_bboxes, bboxes)

        if (self.ignore_iof_thr > 0 and gt_bboxes_ignore is not None
                and gt_bboxes_ignore.numel() > 0 and bboxes.numel() > 0):
            if self.ignore_wrt_candidates:
                ignore_overlaps = self.iou_calculator(bboxes, gt_bboxes_ignore, mode='iof')
                ignore_max_overlaps, _ = ignore_overlaps.max(dim=1)
            else:
                ignore_overlaps = self.iou_calculator(gt_bboxes_ignore, bboxes, mode='iof')
                ignore_max_overlaps, _ = ignore_overlaps.max(dim=0)
            overlaps[:, ignore_max_overlaps > self.ignore_iof_thr] = -1

        assign_result = self.assign_wrt_overlaps(overlaps, gt_labels)
        if assign_on_cpu:
            assign_result.gt_inds = assign_result.gt_inds.to(device)
            assign_result.max_overlaps = assign_result.max_overlaps.to(device)
            if assign_result.labels is not None:
                assign_result.labels = assign_result.labels.to(device)
        return assign_result

    def assign_wrt_overlaps(self, overlaps: Tensor,
                            gt_labels: Optional[Tensor] = None) -> AssignResult:
        """Assign from a (k, n) GT x prior overlap matrix (ignored priors hold -1)."""
        num_gts, num_bboxes = overlaps.size(0), overlaps.size(1)
        assigned_gt_inds = overlaps.new_full((num_bboxes, ), -1, dtype=torch.long)

        if num_gts == 0 or num_bboxes == 0:
            max_overlaps = overlaps.new_zeros((num_bboxes, ))
            if num_gts == 0:
                assigned_gt_inds[:] = 0
            assigned_labels = None if gt_labels is None else overlaps.new_full(
                (num_bboxes, ), -1, dtype=torch.long)
            return AssignResult(num_gts, assigned_gt_inds, max_overlaps, labels=assigned_labels)

        max_overlaps, argmax_overlaps = overlaps.max(dim=0)
        gt_max_overlaps, gt_argmax_overlaps = overlaps.max(dim=1)

        if isinstance(self.neg_iou_thr, tuple):
            low, high = self.neg_iou_thr
            assigned_gt_inds[(max_overlaps >= low) & (max_overlaps < high)] = 0
        else:
            assigned_gt_inds[(max_overlaps >= 0) & (max_overlaps < self.neg_iou_thr)] = 0

        pos_inds = max_overlaps >= self.pos_iou_thr
        assigned_gt_inds[pos_inds] = argmax_overlaps[pos_inds] + 1

        if self.match_low_quality:
            # A GT whose best IoU is below pos_iou_thr would otherwise get no prior at all.
            eligible = gt_max_overlaps >= self.min_pos_iou
            if self.gt_max_assign_all:
                is_max = (overlaps == gt_max_overlaps[:, None]) & eligible[:, None]
                gt_ids = torch.arange(1, num_gts + 1, device=overlaps.device)[:, None]
                # the last GT (highest index) wins a prior claimed by several GTs
                winner = (is_max.long() * gt_ids).max(dim=0).values
                claimed = winner > 0
                assigned_gt_inds[claimed] = winner[claimed]
            else:
                for i in range(num_gts):
                    if eligible[i]:
                        assigned_gt_inds[gt_argmax_overlaps[i]] = i + 1

        if gt_labels is not None:
            assigned_labels = assigned_gt_inds.new_full((num_bboxes, ), -1)
            pos = assigned_gt_inds > 0
            assigned_labels[pos] = gt_labels[assigned_gt_inds[pos] - 1]
        else:
            assigned_labels = None
        return AssignResult(num_gts, assigned_gt_inds, max_overlaps, labels=assigned_labels)
