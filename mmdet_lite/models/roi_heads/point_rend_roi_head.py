"""PointRendRoIHead: Mask R-CNN's box branch with PointRend's mask branch (Kirillov et al.,
"PointRend: Image Segmentation as Rendering", CVPR 2020; mmdetection 2.x).

The mask head predicts a coarse (7x7) mask; the point head classifies chosen points from
fine-grained FPN features plus the coarse logits. Training: uncertain points with randomness.
Test: the coarse mask is upsampled ``subdivision_steps`` times by ``scale_factor``, and at each
step the ``subdivision_num_points`` most uncertain cells are re-predicted by the point head.

Shapes: ``N`` images, ``K`` RoIs, ``C`` classes, ``P`` points, ``F`` FPN channels.
"""
from typing import Dict, List, Optional

import numpy as np
import torch
import torch.nn.functional as F

from ...core import bbox2roi, bbox_mapping, merge_aug_masks
from ..builder import HEADS, build_head
from ..layers.point_sample import point_sample, rel_roi_point_to_rel_img_point
from .standard_roi_head import StandardRoIHead

Tensor = torch.Tensor


@HEADS.register_module()
class PointRendRoIHead(StandardRoIHead):
    """:class:`StandardRoIHead` with a ``point_head`` (``MaskPointHead``) refining the masks.

    Args:
        point_head: the point head config.
        Others: as :class:`StandardRoIHead` (a box and a mask branch are required).

    Train config (``rcnn``): ``num_points``, ``oversample_ratio``, ``importance_sample_ratio``.
    Test config (``rcnn``): ``subdivision_steps``, ``subdivision_num_points``, ``scale_factor``.
    """

    def __init__(self, point_head: dict, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not (self.with_bbox and self.with_mask):
            raise ValueError('PointRendRoIHead needs a bbox_head and a mask_head')
        self.init_point_head(point_head)

    def init_point_head(self, point_head: dict) -> None:
        self.point_head = build_head(dict(point_head))

    # ------------------------------------------------------------------ training
    def _mask_forward_train(self, x: List[Tensor], sampling_results: list,
                            bbox_feats: Optional[Tensor], gt_masks: list,
                            img_metas: Optional[List[dict]] = None) -> dict:
        """The coarse mask loss (``loss_mask``) plus the point head's ``loss_point``."""
        mask_results = super()._mask_forward_train(x, sampling_results, bbox_feats, gt_masks)
        if mask_results['loss_mask'] is not None:
            mask_results['loss_mask'].update(self._mask_point_forward_train(
                x, sampling_results, mask_results['mask_pred'], gt_masks, img_metas))
        return mask_results

    def _mask_point_forward_train(self, x: List[Tensor], sampling_results: list,
                                  mask_pred: Tensor, gt_masks: list,
                                  img_metas: Optional[List[dict]] = None) -> Dict[str, Tensor]:
        """``loss_point`` on the training points of the positive RoIs' coarse masks
        ``mask_pred`` (K, C, h, w)."""
        pos_labels = torch.cat([res.pos_gt_labels for res in sampling_results])
        rois = bbox2roi([res.pos_bboxes for res in sampling_results])
        if rois.size(0) == 0:
            # no positive RoI in the batch (images without objects): a zero that keeps the graph
            return dict(loss_point=mask_pred.sum() * 0.)
        rel_roi_points = self.point_head.get_roi_rel_points_train(mask_pred, pos_labels,
                                                                  cfg=self.train_cfg)
        fine_grained_point_feats = self._get_fine_grained_point_feats(x, rois, rel_roi_points,
                                                                      img_metas)
        coarse_point_feats = point_sample(mask_pred, rel_roi_points)
        mask_point_pred = self.point_head(fine_grained_point_feats, coarse_point_feats)
        mask_point_target = self.point_head.get_targets(rois, rel_roi_points, sampling_results,
                                                        gt_masks, self.train_cfg)
        return self.point_head.loss(mask_point_pred, mask_point_target, pos_labels)

    def _get_fine_grained_point_feats(self, x: List[Tensor], rois: Tensor,
                                      rel_roi_points: Tensor,
                                      img_metas: Optional[List[dict]] = None) -> Tensor:
        """Features (K, F * levels, P) of the mask extractor's levels at the RoI-relative points
        ``rel_roi_points`` (K, P, 2) of ``rois`` (K, 5), RoIs grouped by image as in ``rois``.
        (``img_metas`` is 2.x's argument; the images are those of the features ``x``.)"""
        fine_grained_feats = []
        for idx in range(self.mask_roi_extractor.num_inputs):
            feats = x[idx]
            spatial_scale = 1. / float(self.mask_roi_extractor.featmap_strides[idx])
            point_feats = []
            for batch_ind in range(feats.size(0)):
                feat = feats[batch_ind].unsqueeze(0)
                inds = rois[:, 0].long() == batch_ind
                if inds.any():
                    rel_img_points = rel_roi_point_to_rel_img_point(
                        rois[inds], rel_roi_points[inds], feat.shape[2:],
                        spatial_scale).unsqueeze(0)
                    point_feat = point_sample(feat, rel_img_points)
                    point_feats.append(point_feat.squeeze(0).transpose(0, 1))
            fine_grained_feats.append(torch.cat(point_feats, dim=0))
        return torch.cat(fine_grained_feats, dim=1)

    # ------------------------------------------------------------------ testing
    def _mask_point_forward_test(self, x: List[Tensor], rois: Tensor, label_pred: Tensor,
                                 mask_pred: Tensor,
                                 img_metas: Optional[List[dict]] = None) -> Tensor:
        """Coarse logits (K, C, h, w) -> refined logits (K, C, h * s^n, w * s^n) by ``n`` =
        ``subdivision_steps`` upsamplings by ``s`` = ``scale_factor``, each followed by the
        point head on the most uncertain cells (skipped while it would cover every cell)."""
        cfg = self.test_cfg
        refined_mask_pred = mask_pred.clone()
        for subdivision_step in range(cfg.subdivision_steps):
            refined_mask_pred = F.interpolate(refined_mask_pred, scale_factor=cfg.scale_factor,
                                              mode='bilinear', align_corners=False)
            num_rois, channels, mask_height, mask_width = refined_mask_pred.shape
            if (cfg.subdivision_num_points >= cfg.scale_factor**2 * mask_height * mask_width
                    and subdivision_step < cfg.subdivision_steps - 1):
                continue
            point_indices, rel_roi_points = self.point_head.get_roi_rel_points_test(
                refined_mask_pred, label_pred, cfg=cfg)
            fine_grained_point_feats = self._get_fine_grained_point_feats(
                x, rois, rel_roi_points, img_metas)
            coarse_point_feats = point_sample(mask_pred, rel_roi_points)
            mask_point_pred = self.point_head(fine_grained_point_feats, coarse_point_feats)
            point_indices = point_indices.unsqueeze(1).expand(-1, channels, -1)
            refined_mask_pred = refined_mask_pred.reshape(num_rois, channels,
                                                          mask_height * mask_width)
            refined_mask_pred = refined_mask_pred.scatter_(2, point_indices, mask_point_pred)
            refined_mask_pred = refined_mask_pred.view(num_rois, channels, mask_height,
                                                       mask_width)
        return refined_mask_pred

    def simple_test_mask(self, x: List[Tensor], img_metas: List[dict],
                         det_bboxes: List[Tensor], det_labels: List[Tensor],
                         rescale: bool = False) -> List[List[List[np.ndarray]]]:
        """Per image ``segm_results[c]`` of the refined masks of its detections."""
        num_classes = self.mask_head.num_classes
        if all(det_bbox.shape[0] == 0 for det_bbox in det_bboxes):
            return [[[] for _ in range(num_classes)] for _ in det_bboxes]
        bboxes, scales = self._mask_test_boxes(img_metas, det_bboxes, rescale)
        mask_rois = bbox2roi(bboxes)
        mask_pred = self._mask_forward(x, mask_rois)['mask_pred']
        num_per_img = [len(b) for b in bboxes]
        mask_preds = list(mask_pred.split(num_per_img, 0))
        for i, rois_i in enumerate(mask_rois.split(num_per_img, 0)):
            if rois_i.shape[0] == 0:
                continue
            rois_i = rois_i.clone()
            rois_i[:, 0] = 0   # the image's own features are passed alone
            mask_preds[i] = self._mask_point_forward_test(
                [feat[[i]] for feat in x], rois_i, det_labels[i], mask_preds[i], [img_metas[i]])
        return self._paste_masks(self.mask_head, mask_preds, bboxes, det_labels, img_metas,
                                 scales, rescale)

    def aug_test_mask(self, feats: List[List[Tensor]], img_metas: List[List[dict]],
                      det_bboxes: Tensor, det_labels: Tensor) -> List[List[np.ndarray]]:
        """Of one image: refined masks of ``det_bboxes`` (n, 5) averaged over augmentations."""
        num_classes = self.mask_head.num_classes
        if det_bboxes.shape[0] == 0:
            return [[] for _ in range(num_classes)]
        aug_masks = []
        for x, img_meta in zip(feats, img_metas):
            meta = img_meta[0]
            bboxes = bbox_mapping(det_bboxes[:, :4], meta['img_shape'], meta['scale_factor'],
                                  meta['flip'], meta.get('flip_direction', 'horizontal'))
            mask_rois = bbox2roi([bboxes])
            mask_pred = self._mask_forward(x, mask_rois)['mask_pred']
            mask_pred = self._mask_point_forward_test(x, mask_rois, det_labels, mask_pred,
                                                      img_meta)
            aug_masks.append(mask_pred.sigmoid().cpu().numpy())
        merged_masks = merge_aug_masks(aug_masks, img_metas, self.test_cfg)
        return self.mask_head.get_seg_masks(merged_masks, det_bboxes, det_labels, self.test_cfg,
                                            img_metas[0][0]['ori_shape'],
                                            scale_factor=np.ones(4, np.float32), rescale=False)
