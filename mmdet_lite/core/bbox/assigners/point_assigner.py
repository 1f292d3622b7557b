"""RepPoints' initial-stage assignment: the points nearest to a GT centre on its level."""
from typing import Optional

import torch
from torch import Tensor

from mmdet_lite.registry import TASK_UTILS
from .assign_result import AssignResult
from .assign_utils import empty_assign_result, labels_of_assigned
from .base_assigner import BaseAssigner


@TASK_UTILS.register_module()
class PointAssigner(BaseAssigner):
    """Point assignment (RepPoints).

    A GT of size (w, h) belongs to level ``int((log2(w / scale) + log2(h / scale)) / 2)``
    (clamped to the levels present, where a point of stride s is on level log2(s)). On that
    level it takes the ``pos_num`` points nearest to its centre (distance normalised by its
    w, h); a point claimed by several GTs keeps the nearest one (the earlier GT on ties).
    All other points are negative (0); there is no ignore.

    Args:
        scale: anchor scale of the level rule above.
        pos_num: points taken per GT.
    """

    def __init__(self, scale: int = 4, pos_num: int = 3) -> None:
        self.scale = scale
        self.pos_num = pos_num

    def assign(self, points: Tensor, gt_bboxes: Tensor, gt_bboxes_ignore: Optional[Tensor] = None,
               gt_labels: Optional[Tensor] = None) -> AssignResult:
        """Assign GTs to points.

        Args:
            points: (n, 3) points (x, y, stride).
            gt_bboxes: (k, 4) ground truths.
            gt_bboxes_ignore: not used.
            gt_labels: (k,) labels.

        Returns:
            AssignResult over the n points, ``max_overlaps`` None.
        """
        num_points = points.shape[0]
        num_gts = gt_bboxes.shape[0]
        if num_gts == 0 or num_points == 0:
            return empty_assign_result(num_gts, num_points, points, gt_labels,
                                       with_overlaps=False)

        points_xy = points[:, :2]
        points_lvl = torch.log2(points[:, 2]).int()
        lvl_min, lvl_max = points_lvl.min(), points_lvl.max()
        gt_bboxes_xy = (gt_bboxes[:, :2] + gt_bboxes[:, 2:]) / 2
        gt_bboxes_wh = (gt_bboxes[:, 2:] - gt_bboxes[:, :2]).clamp(min=1e-6)
        gt_bboxes_lvl = ((torch.log2(gt_bboxes_wh[:, 0] / self.scale) +
                          torch.log2(gt_bboxes_wh[:, 1] / self.scale)) / 2).int()
        gt_bboxes_lvl = torch.clamp(gt_bboxes_lvl, min=lvl_min, max=lvl_max)

        assigned_gt_inds = points.new_zeros((num_points, ), dtype=torch.long)
        assigned_gt_dist = points.new_full((num_points, ), float('inf'))
        points_range = torch.arange(num_points, device=points.device)
        for idx in range(num_gts):
            on_level = points_lvl == gt_bboxes_lvl[idx]
            level_index = points_range[on_level]
            dists = ((points_xy[on_level] - gt_bboxes_xy[idx:idx + 1]) /
                     gt_bboxes_wh[idx:idx + 1]).norm(dim=1)
            min_dist, min_dist_index = torch.topk(dists, min(self.pos_num, dists.numel()),
                                                  largest=False)
            nearest = level_index[min_dist_index]
            closer = min_dist < assigned_gt_dist[nearest]
            assigned_gt_inds[nearest[closer]] = idx + 1
            assigned_gt_dist[nearest[closer]] = min_dist[closer]

        return AssignResult(num_gts, assigned_gt_inds, None,
                            labels=labels_of_assigned(assigned_gt_inds, gt_labels))
