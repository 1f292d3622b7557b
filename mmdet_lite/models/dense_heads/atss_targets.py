"""Anchor targets with per-level anchor counts for level-aware assigners (ATSS-style heads).

ATSS, GFL, VFNet (ATSS mode), TOOD (its warm-up epochs) and DDOD assign anchors with
``ATSSAssigner``, which picks candidates per level and so needs how many anchors of each level lie
inside the image. mmdetection 2.x repeated these methods in each head; here they live once, in
:class:`ATSSTargetsMixin`.

Shape shorthand: ``N`` images, ``L`` levels, ``P_l`` anchors of level l, ``P`` of one image.
"""
from typing import List, Optional

import torch
from torch import Tensor

from ...core import anchor_inside_flags, images_to_levels, multi_apply, unmap
from ..utils.gt_check import check_gt_bboxes
from ..utils.results import ATSSTargets, ImageATSSTargets


class ATSSTargetsMixin:
    """``get_targets`` / ``_get_target_single`` of an ``AnchorHead`` whose assigner takes the
    per-level anchor counts (``assign(anchors, num_level_anchors, gt_bboxes, gt_bboxes_ignore,
    gt_labels)``); a PseudoSampler, as every such head uses."""

    def get_num_level_anchors_inside(self, num_level_anchors: List[int],
                                     inside_flags: Tensor) -> List[int]:
        """Per level, how many of its anchors are inside the image."""
        return [int(flags.sum()) for flags in torch.split(inside_flags, num_level_anchors)]

    def _pos_bbox_targets(self, sampling_result) -> Tensor:
        """Regression targets (n_pos, 4) of the positives: the boxes themselves with
        ``reg_decoded_bbox``, else the coder's deltas."""
        if self.reg_decoded_bbox:
            return sampling_result.pos_gt_bboxes
        return self.bbox_coder.encode(sampling_result.pos_bboxes, sampling_result.pos_gt_bboxes)

    def get_targets(self, anchor_list: List[List[Tensor]], valid_flag_list: List[List[Tensor]],
                    gt_bboxes_list: List[Tensor], img_metas: List[dict],
                    gt_bboxes_ignore_list: Optional[List[Tensor]] = None,
                    gt_labels_list: Optional[List[Tensor]] = None, label_channels: int = 1,
                    unmap_outputs: bool = True) -> ATSSTargets:
        """Targets of N images' anchors (per image, per level (P_l, 4)), regrouped per level.

        Returns:
            ``ATSSTargets``: anchors_list (L x (N, P_l, 4)), labels_list / label_weights_list
            (L x (N, P_l)), bbox_targets_list / bbox_weights_list (L x (N, P_l, 4)),
            num_total_pos, num_total_neg (at least 1 per image).
        """
        num_imgs = len(img_metas)
        if not len(anchor_list) == len(valid_flag_list) == len(gt_bboxes_list) == num_imgs:
            raise ValueError(f'{num_imgs} img_metas but {len(anchor_list)} anchor lists and '
                             f'{len(gt_bboxes_list)} gt_bboxes: give one of each per image')
        check_gt_bboxes(gt_bboxes_list, img_metas, gt_labels_list,
                        None if gt_labels_list is None else self.num_classes)
        num_level_anchors = [anchors.size(0) for anchors in anchor_list[0]]
        concat_anchors = [torch.cat(anchors) for anchors in anchor_list]
        concat_flags = [torch.cat(flags) for flags in valid_flag_list]
        if gt_bboxes_ignore_list is None:
            gt_bboxes_ignore_list = [None] * num_imgs
        if gt_labels_list is None:
            gt_labels_list = [None] * num_imgs
        (all_anchors, all_labels, all_label_weights, all_bbox_targets, all_bbox_weights,
         pos_inds_list, neg_inds_list) = multi_apply(
             self._get_target_single, concat_anchors, concat_flags,
             [num_level_anchors] * num_imgs, gt_bboxes_list, gt_bboxes_ignore_list,
             gt_labels_list, img_metas, label_channels=label_channels,
             unmap_outputs=unmap_outputs)
        num_total_pos = sum(max(inds.numel(), 1) for inds in pos_inds_list)
        num_total_neg = sum(max(inds.numel(), 1) for inds in neg_inds_list)
        return ATSSTargets(images_to_levels(all_anchors, num_level_anchors),
                           images_to_levels(all_labels, num_level_anchors),
                           images_to_levels(all_label_weights, num_level_anchors),
                           images_to_levels(all_bbox_targets, num_level_anchors),
                           images_to_levels(all_bbox_weights, num_level_anchors),
                           num_total_pos, num_total_neg)

    def _inside_anchors(self, flat_anchors: Tensor, valid_flags: Tensor, img_meta: dict) -> Tensor:
        """Flags (P,) of the anchors inside the image (``train_cfg.allowed_border``); an error
        naming the image when there is none."""
        allowed_border = self.train_cfg.get('allowed_border', -1)
        inside_flags = anchor_inside_flags(flat_anchors, valid_flags, img_meta['img_shape'][:2],
                                           allowed_border)
        if not inside_flags.any():
            raise ValueError(
                f"no anchor lies inside image {img_meta.get('filename', '<no filename>')!r} "
                f"(img_shape={tuple(img_meta['img_shape'])}, train_cfg.allowed_border="
                f'{allowed_border}); set allowed_border=-1 or use larger input images')
        return inside_flags

    def _get_target_single(self, flat_anchors: Tensor, valid_flags: Tensor,
                           num_level_anchors: List[int], gt_bboxes: Tensor,
                           gt_bboxes_ignore: Optional[Tensor], gt_labels: Optional[Tensor],
                           img_meta: dict, label_channels: int = 1,
                           unmap_outputs: bool = True) -> ImageATSSTargets:
        """Of one image: assign its P anchors (P, 4) level-aware, then build the targets."""
        inside_flags = self._inside_anchors(flat_anchors, valid_flags, img_meta)
        anchors = flat_anchors[inside_flags]
        num_level_anchors_inside = self.get_num_level_anchors_inside(num_level_anchors,
                                                                     inside_flags)
        assign_result = self.assigner.assign(anchors, num_level_anchors_inside, gt_bboxes,
                                             gt_bboxes_ignore, gt_labels)
        sampling_result = self.sampler.sample(assign_result, anchors, gt_bboxes)
        labels, label_weights, bbox_targets, bbox_weights = self._fill_targets(
            anchors, sampling_result, gt_labels)
        pos_inds, neg_inds = sampling_result.pos_inds, sampling_result.neg_inds
        if unmap_outputs:
            num_total = flat_anchors.size(0)
            anchors = unmap(anchors, num_total, inside_flags)
            labels = unmap(labels, num_total, inside_flags, fill=self.num_classes)
            label_weights = unmap(label_weights, num_total, inside_flags)
            bbox_targets = unmap(bbox_targets, num_total, inside_flags)
            bbox_weights = unmap(bbox_weights, num_total, inside_flags)
        return ImageATSSTargets(anchors, labels, label_weights, bbox_targets, bbox_weights,
                                pos_inds, neg_inds)

    def _fill_targets(self, anchors: Tensor, sampling_result, gt_labels: Optional[Tensor]):
        """labels (P,) (``num_classes`` = background), label_weights (P,), bbox_targets and
        bbox_weights (P, 4) of the P anchors inside the image from the sampling result."""
        num_valid = anchors.shape[0]
        bbox_targets = torch.zeros_like(anchors)
        bbox_weights = torch.zeros_like(anchors)
        labels = anchors.new_full((num_valid,), self.num_classes, dtype=torch.long)
        label_weights = anchors.new_zeros(num_valid, dtype=torch.float)
        pos_inds, neg_inds = sampling_result.pos_inds, sampling_result.neg_inds
        if len(pos_inds) > 0:
            bbox_targets[pos_inds, :] = self._pos_bbox_targets(sampling_result).to(
                bbox_targets.dtype)
            bbox_weights[pos_inds, :] = 1.0
            if gt_labels is None:
                labels[pos_inds] = 0
            else:
                labels[pos_inds] = gt_labels[sampling_result.pos_assigned_gt_inds]
            pos_weight = self.train_cfg.get('pos_weight', -1)
            label_weights[pos_inds] = 1.0 if pos_weight <= 0 else pos_weight
        if len(neg_inds) > 0:
            label_weights[neg_inds] = 1.0
        return labels, label_weights, bbox_targets, bbox_weights
