"""Region assignment of Cascade RPN's first stage: anchors in a GT's centre region."""
from typing import List, Optional, Sequence, Tuple

import torch
from torch import Tensor

from mmdet_lite.registry import TASK_UTILS
from ...anchor.utils import anchor_inside_flags
from .assign_result import AssignResult
from .assign_utils import labels_of_assigned
from .base_assigner import BaseAssigner


def calc_region_on_level(bbox: Tensor, ratio: float, stride: int,
                         featmap_size: Optional[Tuple[int, int]] = None) -> Tuple[Tensor, ...]:
    """(x1, y1, x2, y2) in feature-map cells of the part of a (4,) box that remains after
    cutting ``ratio`` of its size from each side, rounded, clamped to ``featmap_size`` (h, w)."""
    f_bbox = bbox / stride
    x1 = torch.round((1 - ratio) * f_bbox[0] + ratio * f_bbox[2])
    y1 = torch.round((1 - ratio) * f_bbox[1] + ratio * f_bbox[3])
    x2 = torch.round(ratio * f_bbox[0] + (1 - ratio) * f_bbox[2])
    y2 = torch.round(ratio * f_bbox[1] + (1 - ratio) * f_bbox[3])
    if featmap_size is not None:
        x1 = x1.clamp(min=0, max=featmap_size[1])
        y1 = y1.clamp(min=0, max=featmap_size[0])
        x2 = x2.clamp(min=0, max=featmap_size[1])
        y2 = y2.clamp(min=0, max=featmap_size[0])
    return (x1, y1, x2, y2)


def anchor_ctr_inside_region_flags(anchors: Tensor, stride: int,
                                   region: Sequence[Tensor]) -> Tensor:
    """(n,) flags of the (n, 4) anchors whose centre, in cells, lies in ``region``
    (x1, y1, x2, y2), borders included."""
    x1, y1, x2, y2 = region
    f_anchors = anchors / stride
    x = (f_anchors[:, 0] + f_anchors[:, 2]) * 0.5
    y = (f_anchors[:, 1] + f_anchors[:, 3]) * 0.5
    return (x >= x1) & (x <= x2) & (y >= y1) & (y <= y2)


@TASK_UTILS.register_module()
class RegionAssigner(BaseAssigner):
    """Cascade RPN's region assignment (https://arxiv.org/abs/1909.06720).

    A GT of size s = sqrt(w * h) belongs to level ``floor(log2(s / (anchor_scale *
    anchor_strides[0])) + 0.5)`` (clamped). On that level, anchors whose centre lies in the
    GT's ignore region (``ignore_ratio``) get -1, those in its centre region
    (``center_ratio``) the GT (later GTs win); all others are negative (0). Anchors outside the
    image (see ``anchor_inside_flags``) get -1.

    Compatibility note: mmdetection 2.x (and the Cascade RPN release) also computes ignore
    regions on the two adjacent levels, but applies them through a 0/1 *integer* tensor used
    as an index, so that on every level only the anchors at flat index 0 (always) and 1 (when
    some adjacent-level ignore region is non-empty there) end up ignored. The published Cascade
    RPN models were trained that way; this class reproduces it, so that training targets equal
    2.x's.

    Args:
        center_ratio: the centre region keeps this fraction of the GT's size.
        ignore_ratio: the ignore region keeps this fraction of the GT's size.
    """

    def __init__(self, center_ratio: float = 0.2, ignore_ratio: float = 0.5) -> None:
        self.center_ratio = center_ratio
        self.ignore_ratio = ignore_ratio

    def assign(self, mlvl_anchors: List[Tensor], mlvl_valid_flags: List[Tensor],
               gt_bboxes: Tensor, img_meta: dict, featmap_sizes: List[Tuple[int, int]],
               anchor_scale: int, anchor_strides: List[int],
               gt_bboxes_ignore: Optional[Tensor] = None, gt_labels: Optional[Tensor] = None,
               allowed_border: int = 0) -> AssignResult:
        """Assign GTs to the anchors of all levels of one image.

        Args:
            mlvl_anchors: per level the (h * w, 4) anchors (one anchor per location).
            mlvl_valid_flags: per level the (h * w,) valid flags.
            gt_bboxes: (k, 4) ground truths.
            img_meta: the image's meta; its ``img_shape`` bounds the anchors.
            featmap_sizes: per level the (h, w) of the feature map.
            anchor_scale: anchor scale (in strides) of the level rule.
            anchor_strides: per level the stride.
            gt_bboxes_ignore: not supported; must be None.
            gt_labels: (k,) labels.
            allowed_border: anchors may stick out of the image by this much (negative: any).

        Returns:
            AssignResult over all anchors, ``max_overlaps`` None.
        """
        if gt_bboxes_ignore is not None:
            raise NotImplementedError('RegionAssigner does not support gt_bboxes_ignore; drop '
                                      'the ignore boxes from the pipeline of Cascade RPN')
        num_gts = gt_bboxes.shape[0]
        num_bboxes = sum(x.shape[0] for x in mlvl_anchors)
        if num_gts == 0 or num_bboxes == 0:
            labels = None if gt_labels is None else torch.full(
                (num_bboxes, ), -1, dtype=torch.long, device=gt_bboxes.device)
            return AssignResult(num_gts, gt_bboxes.new_zeros((num_bboxes, ), dtype=torch.long),
                                gt_bboxes.new_zeros((num_bboxes, )), labels=labels)

        num_lvls = len(mlvl_anchors)
        r1 = (1 - self.center_ratio) / 2
        r2 = (1 - self.ignore_ratio) / 2
        scale = torch.sqrt((gt_bboxes[:, 2] - gt_bboxes[:, 0]) *
                           (gt_bboxes[:, 3] - gt_bboxes[:, 1]))
        min_anchor_size = scale.new_full((1, ), float(anchor_scale * anchor_strides[0]))
        target_lvls = torch.floor(torch.log2(scale) - torch.log2(min_anchor_size) + 0.5)
        target_lvls = target_lvls.clamp(min=0, max=num_lvls - 1).long()

        mlvl_assigned_gt_inds = []
        mlvl_ignore_flags = []
        for lvl in range(num_lvls):
            h, w = featmap_sizes[lvl]
            if h * w != mlvl_anchors[lvl].shape[0]:
                raise ValueError(f'RegionAssigner: level {lvl} has {mlvl_anchors[lvl].shape[0]} '
                                 f'anchors for a {h} x {w} feature map; it needs one anchor per '
                                 'location')
            mlvl_assigned_gt_inds.append(gt_bboxes.new_zeros((h * w, ), dtype=torch.long))
            mlvl_ignore_flags.append(gt_bboxes.new_zeros((h * w, ), dtype=torch.long))

        for gt_id in range(num_gts):
            lvl = target_lvls[gt_id].item()
            featmap_size = featmap_sizes[lvl]
            stride = anchor_strides[lvl]
            anchors = mlvl_anchors[lvl]
            gt_bbox = gt_bboxes[gt_id, :4]
            ignore_region = calc_region_on_level(gt_bbox, r2, stride, featmap_size)
            ctr_region = calc_region_on_level(gt_bbox, r1, stride, featmap_size)
            mlvl_assigned_gt_inds[lvl][anchor_ctr_inside_region_flags(
                anchors, stride, ignore_region)] = -1
            mlvl_assigned_gt_inds[lvl][anchor_ctr_inside_region_flags(
                anchors, stride, ctr_region)] = gt_id + 1
            for adj_lvl in (lvl - 1, lvl + 1):
                if 0 <= adj_lvl < num_lvls:
                    adj_region = calc_region_on_level(gt_bbox, r2, anchor_strides[adj_lvl],
                                                      featmap_sizes[adj_lvl])
                    mlvl_ignore_flags[adj_lvl][anchor_ctr_inside_region_flags(
                        mlvl_anchors[adj_lvl], anchor_strides[adj_lvl], adj_region)] = 1

        for lvl in range(num_lvls):
            # 2.x's integer-index application of the adjacent-level flags (see the class note)
            mlvl_assigned_gt_inds[lvl][mlvl_ignore_flags[lvl]] = -1

        flat_assigned_gt_inds = torch.cat(mlvl_assigned_gt_inds)
        flat_anchors = torch.cat(mlvl_anchors)
        flat_valid_flags = torch.cat(mlvl_valid_flags)
        if not flat_assigned_gt_inds.shape[0] == flat_anchors.shape[0] == flat_valid_flags.shape[0]:
            raise ValueError(f'RegionAssigner: {flat_anchors.shape[0]} anchors but '
                             f'{flat_valid_flags.shape[0]} valid flags')
        inside_flags = anchor_inside_flags(flat_anchors, flat_valid_flags, img_meta['img_shape'],
                                           allowed_border)
        flat_assigned_gt_inds[~inside_flags] = -1
        return AssignResult(num_gts, flat_assigned_gt_inds, None,
                            labels=labels_of_assigned(flat_assigned_gt_inds, gt_labels))
