"""Test-time code of the box and mask branches (simple and augmented), as 2.x's mixins.

Shapes: ``N`` images, ``K_i`` proposals of image i, ``n_i`` detections of image i,
``C`` foreground classes.
"""
from typing import List, Sequence, Tuple, Union

import numpy as np
import torch

from ...core import bbox2roi, bbox_mapping, merge_aug_bboxes, merge_aug_masks, multiclass_nms
from ...core.bbox.scale_factor import scale_factor_tensor
from ..utils.results import Detections, RoICandidates

Tensor = torch.Tensor


class BBoxTestMixin:
    """Box-branch inference of :class:`StandardRoIHead`."""

    def simple_test_bboxes(self, x: List[Tensor], img_metas: List[dict],
                           proposals: List[Tensor], rcnn_test_cfg,
                           rescale: bool = False) -> Union[Detections, RoICandidates]:
        """Detections of every image: ``Detections(det_bboxes [(n_i, 5)], det_labels [(n_i,)])``.

        ``proposals`` holds per image (K_i, 4 or 5) boxes; images with none get no detection.
        With ``rcnn_test_cfg=None`` (2.x's switch) the candidates before NMS come back instead:
        ``RoICandidates(bboxes [(K_i, 4 or 4C)], scores [(K_i, C + 1)])``.
        """
        rois = bbox2roi(proposals)
        num_imgs = len(proposals)
        if rois.shape[0] == 0:
            return self._empty_bbox_results(rois, num_imgs, rcnn_test_cfg)
        bbox_results = self._bbox_forward(x, rois)
        num_per_img = tuple(len(p) for p in proposals)
        rois_per_img = rois.split(num_per_img, 0)
        cls_scores = bbox_results['cls_score'].split(num_per_img, 0)
        bbox_pred = bbox_results['bbox_pred']
        if bbox_pred is None:
            bbox_preds = (None, ) * num_imgs
        elif isinstance(bbox_pred, Tensor):
            bbox_preds = bbox_pred.split(num_per_img, 0)
        else:
            # a head's own kind of prediction (SABL's (bucket cls, offset) pair)
            bbox_preds = self.bbox_head.bbox_pred_split(bbox_pred, num_per_img)
        det_bboxes, det_labels = [], []
        for i in range(num_imgs):
            if rois_per_img[i].shape[0] == 0:
                empty_bboxes, empty_labels = self._empty_bbox_results(rois, 1, rcnn_test_cfg)
                det_bboxes.append(empty_bboxes[0])
                det_labels.append(empty_labels[0])
                continue
            det_bbox, det_label = self.bbox_head.get_bboxes(
                rois_per_img[i], cls_scores[i], bbox_preds[i], img_metas[i]['img_shape'],
                img_metas[i]['scale_factor'], rescale=rescale, cfg=rcnn_test_cfg)
            det_bboxes.append(det_bbox)
            det_labels.append(det_label)
        if rcnn_test_cfg is None:
            return RoICandidates(det_bboxes, det_labels)
        return Detections(det_bboxes, det_labels)

    def _empty_bbox_results(self, rois: Tensor, num_imgs: int,
                            rcnn_test_cfg) -> Union[Detections, RoICandidates]:
        """``num_imgs`` empty results of the kind ``rcnn_test_cfg`` asks for."""
        if rcnn_test_cfg is None:
            bboxes = rois.new_zeros(0, 4)
            scores = rois.new_zeros((0, self.bbox_head.num_classes + 1))
            return RoICandidates([bboxes] * num_imgs, [scores] * num_imgs)
        det_bbox = rois.new_zeros(0, 5)
        det_label = rois.new_zeros((0, ), dtype=torch.long)
        return Detections([det_bbox] * num_imgs, [det_label] * num_imgs)

    def aug_test_bboxes(self, feats: List[List[Tensor]], img_metas: List[List[dict]],
                        proposal_list: List[Tensor], rcnn_test_cfg) -> Detections:
        """Of one image seen under several augmentations: merged ``Detections`` (n, 5), (n,).

        ``proposal_list[0]`` holds the proposals (K, 4 or 5) in the original image frame.
        Each augmentation's candidates come from :meth:`simple_test_bboxes` (``cfg=None``), so
        a head that overrides it (a cascade's stages) is merged the same way.
        """
        aug_bboxes, aug_scores = [], []
        for x, img_meta in zip(feats, img_metas):
            meta = img_meta[0]
            proposals = bbox_mapping(proposal_list[0][:, :4], meta['img_shape'],
                                     meta['scale_factor'], meta['flip'],
                                     meta.get('flip_direction', 'horizontal'))
            (bboxes, ), (scores, ) = self.simple_test_bboxes(x, [meta], [proposals], None)
            aug_bboxes.append(bboxes)
            aug_scores.append(scores)
        merged_bboxes, merged_scores = merge_aug_bboxes(aug_bboxes, aug_scores, img_metas,
                                                        rcnn_test_cfg)
        if merged_bboxes.shape[0] == 0:
            return Detections(merged_bboxes.new_zeros(0, 5),
                              merged_bboxes.new_zeros((0, ), dtype=torch.long))
        return Detections(*multiclass_nms(merged_bboxes, merged_scores, rcnn_test_cfg.score_thr,
                                          rcnn_test_cfg.nms, rcnn_test_cfg.max_per_img))


class MaskTestMixin:
    """Mask-branch inference of :class:`StandardRoIHead`."""

    def simple_test_mask(self, x: List[Tensor], img_metas: List[dict],
                         det_bboxes: List[Tensor], det_labels: List[Tensor],
                         rescale: bool = False) -> List[List[List[np.ndarray]]]:
        """Per image, ``segm_results[c]``: binary masks of the class-c detections.

        ``det_bboxes`` are in the original frame when ``rescale`` (as the box branch returns
        them), else in the resized frame; masks are pasted at the original image size when
        ``rescale``, else at the resized size.
        """
        num_classes = self.mask_head.num_classes
        if all(det_bbox.shape[0] == 0 for det_bbox in det_bboxes):
            return [[[] for _ in range(num_classes)] for _ in det_bboxes]
        bboxes, scales = self._mask_test_boxes(img_metas, det_bboxes, rescale)
        mask_pred = self._mask_forward(x, bbox2roi(bboxes))['mask_pred']
        return self._paste_masks(self.mask_head, mask_pred.split([len(b) for b in bboxes], 0),
                                 bboxes, det_labels, img_metas, scales, rescale)

    @staticmethod
    def _mask_test_boxes(img_metas: List[dict], det_bboxes: List[Tensor],
                         rescale: bool) -> Tuple[List[Tensor], List[Tensor]]:
        """Per image, the detections' boxes (n_i, 4) in the resized-image frame that the mask
        branch pools from (``det_bboxes`` are in the original frame when ``rescale``), and the
        image's ``scale_factor`` as a (4,) tensor."""
        scales = [scale_factor_tensor(meta['scale_factor'], det_bbox)
                  for meta, det_bbox in zip(img_metas, det_bboxes)]
        bboxes = [det_bbox[:, :4] * scale if rescale else det_bbox[:, :4]
                  for det_bbox, scale in zip(det_bboxes, scales)]
        return bboxes, scales

    def _paste_masks(self, mask_head, mask_preds: Sequence[Union[Tensor, np.ndarray]],
                     bboxes: List[Tensor], det_labels: List[Tensor], img_metas: List[dict],
                     scales: List[Tensor], rescale: bool) -> List[List[List[np.ndarray]]]:
        """Per image, ``mask_head.get_seg_masks`` of its mask logits (n_i, C, h, w) (or
        probabilities as an ndarray) on its boxes from :meth:`_mask_test_boxes`."""
        segm_results = []
        for i, meta in enumerate(img_metas):
            if bboxes[i].shape[0] == 0:
                segm_results.append([[] for _ in range(mask_head.num_classes)])
                continue
            segm_results.append(mask_head.get_seg_masks(
                mask_preds[i], bboxes[i], det_labels[i], self.test_cfg, meta['ori_shape'],
                scales[i], rescale))
        return segm_results

    def aug_test_mask(self, feats: List[List[Tensor]], img_metas: List[List[dict]],
                      det_bboxes: Tensor, det_labels: Tensor) -> List[List[np.ndarray]]:
        """Of one image: masks of ``det_bboxes`` (n, 5) (original frame) averaged over augs."""
        num_classes = self.mask_head.num_classes
        if det_bboxes.shape[0] == 0:
            return [[] for _ in range(num_classes)]
        aug_masks = []
        for x, img_meta in zip(feats, img_metas):
            meta = img_meta[0]
            _bboxes = bbox_mapping(det_bboxes[:, :4], meta['img_shape'], meta['scale_factor'],
                                   meta['flip'], meta.get('flip_direction', 'horizontal'))
            mask_rois = bbox2roi([_bboxes])
            mask_pred = self._mask_forward(x, mask_rois)['mask_pred']
            aug_masks.append(mask_pred.sigmoid().cpu().numpy())
        merged_masks = merge_aug_masks(aug_masks, img_metas, self.test_cfg)
        ori_shape = img_metas[0][0]['ori_shape']
        return self.mask_head.get_seg_masks(merged_masks, det_bboxes, det_labels, self.test_cfg,
                                            ori_shape, scale_factor=np.ones(4, np.float32),
                                            rescale=False)
