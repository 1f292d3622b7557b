"""Positive sampling balanced over ground-truth instances (Libra R-CNN)."""
from typing import List, Optional

import torch
from torch import Tensor

from mmdet_lite.registry import TASK_UTILS
from ..assigners.assign_result import AssignResult
from .random_sampler import RandomSampler


def _not_in(gallery: Tensor, chosen: Tensor) -> Tensor:
    """Elements of ``gallery`` that are not in ``chosen``."""
    return gallery[~torch.isin(gallery, chosen)]


@TASK_UTILS.register_module()
class InstanceBalancedPosSampler(RandomSampler):
    """Sample about the same number of positives from every ground truth.

    Each GT contributes at most ``round(num_expected / num_gts) + 1`` random positives; a
    shortfall is filled with random leftover positives, an excess trimmed at random.
    Negatives are sampled uniformly (:class:`RandomSampler`).

    Args: see :class:`RandomSampler`.
    """

    def _sample_pos(self, assign_result: AssignResult, num_expected: int,
                    bboxes: Optional[Tensor] = None,
                    feats: Optional[List[Tensor]] = None) -> Tensor:
        gt_inds = assign_result.gt_inds
        pos_inds = torch.nonzero(gt_inds > 0, as_tuple=False).view(-1)
        if pos_inds.numel() <= num_expected:
            return pos_inds
        unique_gt_inds = gt_inds[pos_inds].unique()
        # Python's round (half to even), as 2.x
        num_per_gt = int(round(num_expected / float(len(unique_gt_inds))) + 1)
        sampled = []
        for gt_ind in unique_gt_inds:
            inds = torch.nonzero(gt_inds == gt_ind, as_tuple=False).view(-1)
            if inds.numel() > num_per_gt:
                inds = self.random_choice(inds, num_per_gt)
            sampled.append(inds)
        sampled_inds = torch.cat(sampled)
        if len(sampled_inds) < num_expected:
            num_extra = num_expected - len(sampled_inds)
            extra_inds = _not_in(pos_inds, sampled_inds)
            if len(extra_inds) > num_extra:
                extra_inds = self.random_choice(extra_inds, num_extra)
            sampled_inds = torch.cat([sampled_inds, extra_inds])
        elif len(sampled_inds) > num_expected:
            sampled_inds = self.random_choice(sampled_inds, num_expected)
        return sampled_inds
