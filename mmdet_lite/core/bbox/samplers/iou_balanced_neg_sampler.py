"""Negative sampling balanced over IoU intervals (Libra R-CNN)."""
from typing import Any, List, Optional

import torch
from torch import Tensor

from mmdet_lite.registry import TASK_UTILS
from ..assigners.assign_result import AssignResult
from .instance_balanced_pos_sampler import _not_in
from .random_sampler import RandomSampler


@TASK_UTILS.register_module()
class IoUBalancedNegSampler(RandomSampler):
    """Sample negatives evenly from ``num_bins`` IoU intervals, so that hard negatives (high
    IoU with some GT) are not swamped by the many easy ones.

    Negatives with IoU below ``floor_thr`` form the "floor" set, sampled at random for
    ``floor_fraction`` of the quota; the others are spread over ``num_bins`` equal
    intervals of ``[floor_thr, max IoU)`` (max over all candidates), ``num_expected / num_bins``
    each at most. Every shortfall is filled at random from what is left. Positives are
    sampled uniformly (:class:`RandomSampler`).

    ``floor_thr=-1`` (the Libra R-CNN configs) behaves as ``floor_thr=0``: negatives with IoU
    exactly 0 are the floor set. (mmdetection 2.x switches to this on its first call; on that
    one call the zero-IoU negatives also take part in the interval sampling.)

    Args:
        num: number of boxes to sample.
        pos_fraction: fraction of positives among them.
        floor_thr: IoU below which negatives form the floor set (>= 0, or -1).
        floor_fraction: fraction of the negatives to take from the floor set, in [0, 1].
        num_bins: number of IoU intervals (>= 1; 1 means plain random sampling).
        neg_pos_ub: upper bound of negatives per positive; negative means no bound.
        add_gt_as_proposals: add the GT boxes to the candidates.
        context: the head that builds the sampler (unused).
    """

    def __init__(self, num: int, pos_fraction: float, floor_thr: float = -1,
                 floor_fraction: float = 0, num_bins: int = 3, neg_pos_ub: int = -1,
                 add_gt_as_proposals: bool = True, context: Optional[Any] = None) -> None:
        super().__init__(num, pos_fraction, neg_pos_ub, add_gt_as_proposals)
        if not (floor_thr >= 0 or floor_thr == -1):
            raise ValueError(f'IoUBalancedNegSampler: floor_thr must be >= 0 or -1, got '
                             f'{floor_thr}')
        if not 0 <= floor_fraction <= 1:
            raise ValueError(f'IoUBalancedNegSampler: floor_fraction must be in [0, 1], got '
                             f'{floor_fraction}')
        if num_bins < 1:
            raise ValueError(f'IoUBalancedNegSampler: num_bins must be >= 1, got {num_bins}')
        self.floor_thr = floor_thr
        self.floor_fraction = floor_fraction
        self.num_bins = num_bins

    def sample_via_interval(self, max_overlaps: Tensor, candidates: Tensor,
                            num_expected: int) -> Tensor:
        """``num_expected`` of ``candidates`` (indices into ``max_overlaps`` (n,)) spread over
        ``num_bins`` IoU intervals from the floor threshold to the largest IoU."""
        floor_thr = max(self.floor_thr, 0)
        max_iou = max_overlaps.max()
        iou_interval = (max_iou - floor_thr) / self.num_bins
        per_num_expected = int(num_expected / self.num_bins)
        cand_ious = max_overlaps[candidates]
        sampled = []
        for i in range(self.num_bins):
            start_iou = floor_thr + i * iou_interval
            end_iou = floor_thr + (i + 1) * iou_interval
            in_bin = candidates[(cand_ious >= start_iou) & (cand_ious < end_iou)]
            if len(in_bin) > per_num_expected:
                in_bin = self.random_choice(in_bin, per_num_expected)
            sampled.append(in_bin)
        sampled_inds = torch.cat(sampled)
        if len(sampled_inds) < num_expected:
            num_extra = num_expected - len(sampled_inds)
            extra_inds = _not_in(candidates, sampled_inds)
            if len(extra_inds) > num_extra:
                extra_inds = self.random_choice(extra_inds, num_extra)
            sampled_inds = torch.cat([sampled_inds, extra_inds])
        return sampled_inds

    def _sample_neg(self, assign_result: AssignResult, num_expected: int,
                    bboxes: Optional[Tensor] = None,
                    feats: Optional[List[Tensor]] = None) -> Tensor:
        is_neg = assign_result.gt_inds == 0
        neg_inds = torch.nonzero(is_neg, as_tuple=False).view(-1)
        if len(neg_inds) <= num_expected:
            return neg_inds
        max_overlaps = assign_result.max_overlaps
        if self.floor_thr > 0:
            is_floor = (max_overlaps >= 0) & (max_overlaps < self.floor_thr)
            is_iou_sampling = max_overlaps >= self.floor_thr
        else:
            is_floor = max_overlaps == 0
            is_iou_sampling = max_overlaps > 0
        floor_neg_inds = torch.nonzero(is_floor & is_neg, as_tuple=False).view(-1)
        iou_sampling_neg_inds = torch.nonzero(is_iou_sampling & is_neg, as_tuple=False).view(-1)

        num_expected_iou_sampling = int(num_expected * (1 - self.floor_fraction))
        if len(iou_sampling_neg_inds) > num_expected_iou_sampling:
            if self.num_bins >= 2:
                iou_sampled_inds = self.sample_via_interval(max_overlaps, iou_sampling_neg_inds,
                                                            num_expected_iou_sampling)
            else:
                iou_sampled_inds = self.random_choice(iou_sampling_neg_inds,
                                                      num_expected_iou_sampling)
        else:
            iou_sampled_inds = iou_sampling_neg_inds
        num_expected_floor = num_expected - len(iou_sampled_inds)
        if len(floor_neg_inds) > num_expected_floor:
            sampled_floor_inds = self.random_choice(floor_neg_inds, num_expected_floor)
        else:
            sampled_floor_inds = floor_neg_inds
        sampled_inds = torch.cat([sampled_floor_inds, iou_sampled_inds])
        if len(sampled_inds) < num_expected:
            num_extra = num_expected - len(sampled_inds)
            extra_inds = _not_in(neg_inds, sampled_inds)
            if len(extra_inds) > num_extra:
                extra_inds = self.random_choice(extra_inds, num_extra)
            sampled_inds = torch.cat([sampled_inds, extra_inds])
        return sampled_inds.long()
