"""Base class of samplers: pick positives and negatives out of an assignment."""
from abc import ABCMeta, abstractmethod
from typing import Any, List, Optional

import torch
from torch import Tensor

from ..assigners.assign_result import AssignResult
from .sampling_result import SamplingResult


class BaseSampler(metaclass=ABCMeta):
    """Sample at most ``num`` boxes, ``pos_fraction`` of them positive.

    Args:
        num: number of boxes to sample.
        pos_fraction: fraction of positives among them.
        neg_pos_ub: upper bound of negatives per positive; negative means no bound.
        add_gt_as_proposals: add the GT boxes to the candidates (as positives).
    """

    def __init__(self, num: int, pos_fraction: float, neg_pos_ub: int = -1,
                 add_gt_as_proposals: bool = True) -> None:
        self.num = num
        self.pos_fraction = pos_fraction
        self.neg_pos_ub = neg_pos_ub
        self.add_gt_as_proposals = add_gt_as_proposals
        self.pos_sampler = self
        self.neg_sampler = self

    @abstractmethod
    def _sample_pos(self, assign_result: AssignResult, num_expected: int,
                    bboxes: Optional[Tensor] = None,
                    feats: Optional[List[Tensor]] = None) -> Tensor:
        """Indices of the sampled positives."""

    @abstractmethod
    def _sample_neg(self, assign_result: AssignResult, num_expected: int,
                    bboxes: Optional[Tensor] = None,
                    feats: Optional[List[Tensor]] = None) -> Tensor:
        """Indices of the sampled negatives."""

    def sample(self, assign_result: AssignResult, bboxes: Tensor, gt_bboxes: Tensor,
               gt_labels: Optional[Tensor] = None,
               feats: Optional[List[Tensor]] = None) -> SamplingResult:
        """Of one image: sample positives and negatives.

        Args:
            assign_result: assignment of ``bboxes`` (modified in place when GTs are added).
            bboxes: (n, 4) candidates (extra columns such as a score are dropped).
            gt_bboxes: (k, 4) ground truths.
            gt_labels: (k,) their labels; required when ``add_gt_as_proposals``.
            feats: per level the (1, C, H, W) features of the image (for samplers that use
                them, e.g. OHEM); unused here.

        Returns:
            SamplingResult.
        """
        if bboxes.dim() < 2:
            bboxes = bboxes[None, :]
        bboxes = bboxes[:, :4]

        gt_flags = bboxes.new_zeros((bboxes.shape[0], ), dtype=torch.uint8)
        if self.add_gt_as_proposals and len(gt_bboxes) > 0:
            if gt_labels is None:
                raise ValueError(f'{type(self).__name__}.sample: gt_labels must be given when '
                                 'add_gt_as_proposals=True')
            bboxes = torch.cat([gt_bboxes[:, :4].to(bboxes.dtype), bboxes], dim=0)
            assign_result.add_gt_(gt_labels)
            gt_ones = bboxes.new_ones(gt_bboxes.shape[0], dtype=torch.uint8)
            gt_flags = torch.cat([gt_ones, gt_flags])

        num_expected_pos = int(self.num * self.pos_fraction)
        pos_inds = self.pos_sampler._sample_pos(assign_result, num_expected_pos, bboxes=bboxes,
                                                feats=feats)
        # the sampler may return duplicates (e.g. instance-balanced sampling)
        pos_inds = pos_inds.unique()
        num_sampled_pos = pos_inds.numel()
        num_expected_neg = self.num - num_sampled_pos
        if self.neg_pos_ub >= 0:
            neg_upper_bound = int(self.neg_pos_ub * max(1, num_sampled_pos))
            num_expected_neg = min(num_expected_neg, neg_upper_bound)
        neg_inds = self.neg_sampler._sample_neg(assign_result, num_expected_neg, bboxes=bboxes,
                                                feats=feats)
        neg_inds = neg_inds.unique()
        return SamplingResult(pos_inds, neg_inds, bboxes, gt_bboxes, assign_result, gt_flags)
