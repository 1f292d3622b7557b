"""A sampler that keeps every positive and every negative (for heads that weigh all priors)."""
from typing import Any, List, Optional

import torch
from torch import Tensor

from mmdet_lite.registry import TASK_UTILS
from ..assigners.assign_result import AssignResult
from .base_sampler import BaseSampler
from .sampling_result import SamplingResult


@TASK_UTILS.register_module()
class PseudoSampler(BaseSampler):
    """Return all assigned positives and negatives (ignored priors are left out).

    Args:
        context: the head that builds the sampler (2.x passes it; unused here).
    """

    def __init__(self, context: Optional[Any] = None) -> None:
        super().__init__(num=-1, pos_fraction=1.0, neg_pos_ub=-1, add_gt_as_proposals=False)

    def _sample_pos(self, assign_result: AssignResult, num_expected: int,
                    bboxes: Optional[Tensor] = None,
                    feats: Optional[List[Tensor]] = None) -> Tensor:
        return torch.nonzero(assign_result.gt_inds > 0, as_tuple=False).view(-1)

    def _sample_neg(self, assign_result: AssignResult, num_expected: int,
                    bboxes: Optional[Tensor] = None,
                    feats: Optional[List[Tensor]] = None) -> Tensor:
        return torch.nonzero(assign_result.gt_inds == 0, as_tuple=False).view(-1)

    def sample(self, assign_result: AssignResult, bboxes: Tensor, gt_bboxes: Tensor,
               gt_labels: Optional[Tensor] = None,
               feats: Optional[List[Tensor]] = None) -> SamplingResult:
        """Of one image: every positive and negative of ``assign_result``.

        Args:
            assign_result: the assignment of ``bboxes``.
            bboxes: (n, 4) priors / proposals.
            gt_bboxes: (k, 4) ground truths.
            gt_labels: unused (kept for the common sampler signature).
            feats: unused.

        Returns:
            SamplingResult.
        """
        pos_inds = self._sample_pos(assign_result, -1).unique()
        neg_inds = self._sample_neg(assign_result, -1).unique()
        gt_flags = bboxes.new_zeros(bboxes.shape[0], dtype=torch.uint8)
        return SamplingResult(pos_inds, neg_inds, bboxes, gt_bboxes, assign_result, gt_flags)
