"""Small pieces shared by the assigners: labels of the assigned GTs, the empty result."""
from typing import Optional

import torch
from torch import Tensor

from .assign_result import AssignResult


def labels_of_assigned(gt_inds: Tensor, gt_labels: Optional[Tensor]) -> Optional[Tensor]:
    """(n,) class of the GT each prior is assigned to (``gt_inds`` > 0, 1-based), -1 for the
    other priors; None when ``gt_labels`` is None."""
    if gt_labels is None:
        return None
    labels = gt_inds.new_full(gt_inds.shape, -1)
    pos = gt_inds > 0
    labels[pos] = gt_labels[gt_inds[pos] - 1].to(labels.dtype)
    return labels


def empty_assign_result(num_gts: int, num_preds: int, ref: Tensor,
                        gt_labels: Optional[Tensor], with_overlaps: bool = True) -> AssignResult:
    """The result when there is no GT or no prior: every prior negative (0), labels -1 (or
    None without ``gt_labels``), ``max_overlaps`` zeros (or None if not ``with_overlaps``)."""
    gt_inds = torch.zeros((num_preds, ), dtype=torch.long, device=ref.device)
    max_overlaps = ref.new_zeros((num_preds, )) if with_overlaps else None
    labels = None if gt_labels is None else torch.full((num_preds, ), -1, dtype=torch.long,
                                                       device=ref.device)
    return AssignResult(num_gts, gt_inds, max_overlaps, labels=labels)
