"""Uniformly random sampling of positives and negatives."""
from typing import Any, List, Optional, Union

import numpy as np
import torch
from torch import Tensor

from mmdet_lite.registry import TASK_UTILS
from ..assigners.assign_result import AssignResult
from .base_sampler import BaseSampler


@TASK_UTILS.register_module()
class RandomSampler(BaseSampler):
    """Sample positives and negatives uniformly at random (torch's global RNG).

    Args:
        num: number of boxes to sample.
        pos_fraction: fraction of positives among them.
        neg_pos_ub: upper bound of negatives per positive; negative means no bound.
        add_gt_as_proposals: add the GT boxes to the candidates.
        context: the head that builds the sampler (2.x passes it; unused here).
    """

    def __init__(self, num: int, pos_fraction: float, neg_pos_ub: int = -1,
                 add_gt_as_proposals: bool = True, context: Optional[Any] = None) -> None:
        super().__init__(num, pos_fraction, neg_pos_ub, add_gt_as_proposals)

    def random_choice(self, gallery: Union[Tensor, np.ndarray, list],
                      num: int) -> Union[Tensor, np.ndarray]:
        """``num`` distinct elements of ``gallery`` chosen at random (same type as given)."""
        if len(gallery) < num:
            raise ValueError(f'RandomSampler.random_choice: cannot pick {num} of '
                             f'{len(gallery)} elements')
        is_tensor = isinstance(gallery, torch.Tensor)
        if not is_tensor:
            gallery = torch.tensor(np.asarray(gallery), dtype=torch.long)
        perm = torch.randperm(gallery.numel())[:num].to(device=gallery.device)
        rand_inds = gallery[perm]
        if not is_tensor:
            rand_inds = rand_inds.cpu().numpy()
        return rand_inds

    def _sample_pos(self, assign_result: AssignResult, num_expected: int,
                    bboxes: Optional[Tensor] = None,
                    feats: Optional[List[Tensor]] = None) -> Tensor:
        pos_inds = torch.nonzero(assign_result.gt_inds > 0, as_tuple=False).view(-1)
        if pos_inds.numel() <= num_expected:
            return pos_inds
        return self.random_choice(pos_inds, num_expected)

    def _sample_neg(self, assign_result: AssignResult, num_expected: int,
                    bboxes: Optional[Tensor] = None,
                    feats: Optional[List[Tensor]] = None) -> Tensor:
        neg_inds = torch.nonzero(assign_result.gt_inds == 0, as_tuple=False).view(-1)
        if neg_inds.numel() <= num_expected:
            return neg_inds
        return self.random_choice(neg_inds, num_expected)
