"""PointRend's point selection (mmdetection 2.x's ``models/utils/point_sample.py``): the most
uncertain points of a mask prediction, i.e. those whose logit is closest to 0.

Shapes: ``K`` RoIs, ``C`` classes (or 1), ``h x w`` the mask size, ``P`` points.

(Only the point head uses these; they live here because 2.x code imports them from
``mmdet.models.utils``.)
"""
from typing import Sequence, Union

import torch
from torch import Tensor

from ..layers.point_sample import point_sample


def get_uncertainty(mask_pred: Tensor, labels: Union[Tensor, Sequence[int]]) -> Tensor:
    """-|logit| of each RoI's own class: (K, C, ...) logits and (K,) labels -> (K, 1, ...);
    class-agnostic (K, 1, ...) logits are used as they are."""
    if mask_pred.shape[1] == 1:
        gt_class_logits = mask_pred.clone()
    else:
        inds = torch.arange(mask_pred.shape[0], device=mask_pred.device)
        gt_class_logits = mask_pred[inds, labels].unsqueeze(1)
    return -torch.abs(gt_class_logits)


def get_uncertain_point_coords_with_randomness(mask_pred: Tensor,
                                               labels: Union[Tensor, Sequence[int]],
                                               num_points: int, oversample_ratio: float,
                                               importance_sample_ratio: float) -> Tensor:
    """Training points (K, P, 2) in [0, 1] x [0, 1]: of ``num_points * oversample_ratio``
    uniform random points, the ``importance_sample_ratio * num_points`` most uncertain under
    ``mask_pred`` (K, C, h, w), then uniform random points for the rest."""
    if oversample_ratio < 1:
        raise ValueError(f'oversample_ratio must be >= 1, got {oversample_ratio}')
    if not 0 <= importance_sample_ratio <= 1:
        raise ValueError(f'importance_sample_ratio must be in [0, 1], got '
                         f'{importance_sample_ratio}')
    batch_size = mask_pred.shape[0]
    num_sampled = int(num_points * oversample_ratio)
    point_coords = torch.rand(batch_size, num_sampled, 2, device=mask_pred.device)
    point_uncertainties = get_uncertainty(point_sample(mask_pred, point_coords), labels)
    num_uncertain_points = int(importance_sample_ratio * num_points)
    num_random_points = num_points - num_uncertain_points
    idx = torch.topk(point_uncertainties[:, 0, :], k=num_uncertain_points, dim=1)[1]
    point_coords = torch.gather(point_coords, 1, idx[..., None].expand(-1, -1, 2))
    if num_random_points > 0:
        rand_roi_coords = torch.rand(batch_size, num_random_points, 2, device=mask_pred.device)
        point_coords = torch.cat((point_coords, rand_roi_coords), dim=1)
    return point_coords
