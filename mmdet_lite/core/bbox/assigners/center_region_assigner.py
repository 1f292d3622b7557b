"""Centre-region assignment of FSAF: priors in a GT's core are positive, in its shadow ignored."""
from typing import Optional, Tuple

import torch
from torch import Tensor

from mmdet_lite.registry import TASK_UTILS
from ..iou_calculators import build_iou_calculator
from .assign_result import AssignResult
from .assign_utils import labels_of_assigned
from .base_assigner import BaseAssigner


def scale_boxes(bboxes: Tensor, scale: float) -> Tensor:
    """(m, 4) boxes scaled about their centres by ``scale``."""
    half_wh = (bboxes[:, 2:] - bboxes[:, :2]) * .5 * scale
    centers = (bboxes[:, 2:] + bboxes[:, :2]) * .5
    return torch.cat([centers - half_wh, centers + half_wh], dim=1)


def is_located_in(points: Tensor, bboxes: Tensor) -> Tensor:
    """(m, n) flags of the (m, 2) points lying strictly inside the (n, 4) boxes."""
    x = points[:, 0:1]
    y = points[:, 1:2]
    return (x > bboxes[:, 0]) & (x < bboxes[:, 2]) & (y > bboxes[:, 1]) & (y < bboxes[:, 3])


def bboxes_area(bboxes: Tensor) -> Tensor:
    """(m,) areas of (m, 4) boxes."""
    return (bboxes[:, 2] - bboxes[:, 0]) * (bboxes[:, 3] - bboxes[:, 1])


@TASK_UTILS.register_module()
class CenterRegionAssigner(BaseAssigner):
    """FSAF's assignment by centre regions.

    A prior is in a GT's *core* when its centre lies inside the GT and its IoF with the GT
    scaled by ``pos_scale`` exceeds ``min_pos_iof``; in its *shadow* when its IoF with the GT
    scaled by ``neg_scale`` exceeds ``min_pos_iof`` but it is not in the core. A prior in
    several cores goes to the smallest GT; it is in the shadow of the other GTs whose core or
    shadow holds it. Priors whose centre lies in an ignore box (scaled by ``ignore_gt_scale``)
    get -1.

    Returns an AssignResult whose ``gt_inds`` are 1-based (0 background, -1 ignored), whose
    ``max_overlaps`` is None, and whose extra property ``shadowed_labels`` is a (s, 2) long
    tensor of (prior index, class) of the shadowed (prior, GT) pairs (None without
    ``gt_labels``). A prior that is positive for a class and in the shadow of another GT of the
    same class becomes background (``foreground_dominate=False``) or stays positive and the
    pair is dropped from ``shadowed_labels`` (``foreground_dominate=True``).

    Args:
        pos_scale: scale of the core region.
        neg_scale: scale of the shadow region.
        min_pos_iof: IoF above which a prior is in a region.
        ignore_gt_scale: scale of the ignore boxes.
        foreground_dominate: see above.
        iou_calculator: config of the IoU calculator.
    """

    def __init__(self, pos_scale: float, neg_scale: float, min_pos_iof: float = 1e-2,
                 ignore_gt_scale: float = 0.5, foreground_dominate: bool = False,
                 iou_calculator: Optional[dict] = None) -> None:
        self.pos_scale = pos_scale
        self.neg_scale = neg_scale
        self.min_pos_iof = min_pos_iof
        self.ignore_gt_scale = ignore_gt_scale
        self.foreground_dominate = foreground_dominate
        self.iou_calculator = build_iou_calculator(
            dict(type='BboxOverlaps2D') if iou_calculator is None else iou_calculator)

    def get_gt_priorities(self, gt_bboxes: Tensor) -> Tensor:
        """(k,) priority of each GT: its rank by decreasing area (the smallest GT has the
        highest priority)."""
        _, sort_idx = bboxes_area(gt_bboxes).sort(descending=True)
        return sort_idx.argsort()

    def assign(self, bboxes: Tensor, gt_bboxes: Tensor, gt_bboxes_ignore: Optional[Tensor] = None,
               gt_labels: Optional[Tensor] = None) -> AssignResult:
        """Assign GTs to ``bboxes``.

        Args:
            bboxes: (n, 4) priors.
            gt_bboxes: (k, 4) ground truths.
            gt_bboxes_ignore: (m, 4) ignore boxes.
            gt_labels: (k,) labels.

        Returns:
            AssignResult over the n priors with the extra property ``shadowed_labels``.
        """
        if bboxes.size(-1) != 4:
            raise ValueError(f'CenterRegionAssigner: bboxes must be (n, 4), got '
                             f'{tuple(bboxes.shape)}')
        gt_core = scale_boxes(gt_bboxes, self.pos_scale)
        gt_shadow = scale_boxes(gt_bboxes, self.neg_scale)
        bbox_centers = (bboxes[:, 2:4] + bboxes[:, 0:2]) / 2
        # IoF w.r.t. the prior lets a small prior match a large GT
        is_bbox_in_gt_core = is_located_in(bbox_centers, gt_bboxes) & (
            self.iou_calculator(bboxes, gt_core, mode='iof') > self.min_pos_iof)
        is_bbox_in_gt_shadow = (self.iou_calculator(bboxes, gt_shadow, mode='iof') >
                                self.min_pos_iof) & ~is_bbox_in_gt_core

        num_gts, num_bboxes = gt_bboxes.size(0), bboxes.size(0)
        if num_gts == 0 or num_bboxes == 0:
            assigned_gt_ids = torch.zeros((num_bboxes, ), dtype=torch.long,
                                          device=bboxes.device)
            pixels_in_gt_shadow = assigned_gt_ids.new_empty((0, 2))
        else:
            assigned_gt_ids, pixels_in_gt_shadow = self.assign_one_hot_gt_indices(
                is_bbox_in_gt_core, is_bbox_in_gt_shadow,
                gt_priority=self.get_gt_priorities(gt_bboxes))

        if gt_bboxes_ignore is not None and gt_bboxes_ignore.numel() > 0:
            ignore_regions = scale_boxes(gt_bboxes_ignore, self.ignore_gt_scale)
            assigned_gt_ids[is_located_in(bbox_centers, ignore_regions).any(dim=1)] = -1

        assigned_labels = labels_of_assigned(assigned_gt_ids, gt_labels)
        shadowed_labels = None
        if gt_labels is not None:
            shadowed_labels = pixels_in_gt_shadow.clone()
            if pixels_in_gt_shadow.numel() > 0:
                pixel_idx, gt_idx = pixels_in_gt_shadow[:, 0], pixels_in_gt_shadow[:, 1]
                if (assigned_gt_ids[pixel_idx] == gt_idx).any():
                    raise RuntimeError('CenterRegionAssigner: a prior is both assigned to and '
                                       'shadowed by the same GT')
                shadowed_labels[:, 1] = gt_labels[gt_idx - 1]
                same_class = assigned_labels[pixel_idx] == shadowed_labels[:, 1]
                if self.foreground_dominate:
                    shadowed_labels = shadowed_labels[~same_class]
                else:
                    assigned_labels[pixel_idx[same_class]] = -1
                    assigned_gt_ids[pixel_idx[same_class]] = 0

        assign_result = AssignResult(num_gts, assigned_gt_ids, None, labels=assigned_labels)
        assign_result.set_extra_property('shadowed_labels', shadowed_labels)
        return assign_result

    def assign_one_hot_gt_indices(self, is_bbox_in_gt_core: Tensor, is_bbox_in_gt_shadow: Tensor,
                                  gt_priority: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
        """One GT per prior from the (n, k) core and shadow flags.

        Args:
            is_bbox_in_gt_core: (n, k) prior centre in the GT's core.
            is_bbox_in_gt_shadow: (n, k) prior in the GT's shadow (and not its core).
            gt_priority: (k,) the GT of highest priority wins a prior in several cores;
                defaults to the GT index.

        Returns:
            (n,) 1-based assigned GT (0 for none) and the (s, 2) (prior index, 1-based GT)
            pairs in which the prior is shadowed: the shadow pairs, then the core pairs that
            lost to a GT of higher priority.
        """
        num_bboxes, num_gts = is_bbox_in_gt_core.shape
        if gt_priority is None:
            gt_priority = torch.arange(num_gts, device=is_bbox_in_gt_core.device)
        if gt_priority.size(0) != num_gts:
            raise ValueError(f'CenterRegionAssigner: {gt_priority.size(0)} priorities for '
                             f'{num_gts} GTs')
        assigned_gt_inds = torch.zeros((num_bboxes, ), dtype=torch.long,
                                       device=is_bbox_in_gt_core.device)
        shadowed_gt_inds = torch.nonzero(is_bbox_in_gt_shadow, as_tuple=False)
        if not is_bbox_in_gt_core.any():
            shadowed_gt_inds[:, 1] += 1
            return assigned_gt_inds, shadowed_gt_inds

        pair_priority = torch.where(is_bbox_in_gt_core, gt_priority[None, :].long(),
                                    torch.full_like(assigned_gt_inds[:, None], -1))
        matched = is_bbox_in_gt_core.any(dim=1)
        _, argmax_priority = pair_priority[matched].max(dim=1)
        assigned_gt_inds[matched] = argmax_priority + 1
        lost_core = is_bbox_in_gt_core.clone()
        lost_core[matched, argmax_priority] = False
        shadowed_gt_inds = torch.cat(
            (shadowed_gt_inds, torch.nonzero(lost_core, as_tuple=False)), dim=0)
        shadowed_gt_inds[:, 1] += 1
        return assigned_gt_inds, shadowed_gt_inds
