"""MaskScoringRoIHead: Mask Scoring R-CNN's second stage (Huang et al., arXiv:1903.00241): a
:class:`StandardRoIHead` with a :class:`MaskIoUHead` that learns the IoU of each predicted mask
and scores the masks with it at test time.

Shapes: ``N`` images, ``P`` positive RoIs, ``n_i`` detections of image i, ``C`` classes.
"""
from typing import List, Optional, Tuple

import numpy as np
import torch

from ...core import bbox2roi
from ..builder import HEADS, build_head
from .standard_roi_head import StandardRoIHead

Tensor = torch.Tensor


@HEADS.register_module()
class MaskScoringRoIHead(StandardRoIHead):
    """StandardRoIHead plus ``mask_iou_head``.

    Training adds ``loss_mask_iou``; ``simple_test`` gives, per image,
    ``(bbox_results, (segm_results, mask_scores))`` with ``mask_scores[c]`` (n_c,) the box score
    times the predicted mask IoU (2.x's format, read by the COCO result conversion).

    Args:
        mask_iou_head: the ``MaskIoUHead`` config.
        **kwargs: :class:`StandardRoIHead`'s arguments (a mask head is needed);
            ``train_cfg`` needs ``mask_thr_binary``.
    """

    def __init__(self, mask_iou_head: dict, **kwargs):
        if mask_iou_head is None:
            raise ValueError('MaskScoringRoIHead needs mask_iou_head=dict(type=\'MaskIoUHead\', '
                             '...)')
        super().__init__(**kwargs)
        if not self.with_mask:
            raise ValueError('MaskScoringRoIHead needs mask_head (and mask_roi_extractor)')
        self.mask_iou_head = build_head(mask_iou_head)

    def _mask_forward_train(self, x: List[Tensor], sampling_results: list,
                            bbox_feats: Optional[Tensor], gt_masks: list) -> dict:
        """:meth:`StandardRoIHead._mask_forward_train` plus ``loss_mask_iou`` in
        ``loss_mask``: the IoU head on each positive RoI's mask of its GT class."""
        mask_results = super()._mask_forward_train(x, sampling_results, bbox_feats, gt_masks)
        if 'mask_thr_binary' not in self.train_cfg:
            raise KeyError('train_cfg.rcnn of MaskScoringRoIHead has no mask_thr_binary; add '
                           'train_cfg=dict(rcnn=dict(mask_thr_binary=0.5))')
        pos_labels = torch.cat([res.pos_gt_labels for res in sampling_results])
        rows = torch.arange(pos_labels.size(0), device=pos_labels.device)
        pos_mask_pred = mask_results['mask_pred'][rows, pos_labels]
        mask_iou_pred = self.mask_iou_head(mask_results['mask_feats'], pos_mask_pred)
        mask_iou_targets = self.mask_iou_head.get_targets(
            sampling_results, gt_masks, pos_mask_pred, mask_results['mask_targets'],
            self.train_cfg)
        mask_results['loss_mask'].update(
            self.mask_iou_head.loss(mask_iou_pred[rows, pos_labels], mask_iou_targets))
        return mask_results

    def simple_test_mask(self, x: List[Tensor], img_metas: List[dict],
                         det_bboxes: List[Tensor], det_labels: List[Tensor],
                         rescale: bool = False
                         ) -> List[Tuple[List[List[np.ndarray]], List[np.ndarray]]]:
        """Per image ``(segm_results, mask_scores)``: the masks as
        :meth:`MaskTestMixin.simple_test_mask` and, per class, their scores (n_c,)."""
        num_classes = self.mask_head.num_classes
        if all(det_bbox.shape[0] == 0 for det_bbox in det_bboxes):
            return [([[] for _ in range(num_classes)], [[] for _ in range(num_classes)])
                    for _ in det_bboxes]
        bboxes, scales = self._mask_test_boxes(img_metas, det_bboxes, rescale)
        mask_results = self._mask_forward(x, bbox2roi(bboxes))
        mask_pred = mask_results['mask_pred']
        labels = torch.cat(det_labels)
        rows = torch.arange(labels.size(0), device=labels.device)
        mask_iou_pred = self.mask_iou_head(mask_results['mask_feats'], mask_pred[rows, labels])
        num_per_img = [len(b) for b in bboxes]
        segm_results = self._paste_masks(self.mask_head, mask_pred.split(num_per_img, 0),
                                         bboxes, det_labels, img_metas, scales, rescale)
        mask_iou_preds = mask_iou_pred.split(num_per_img, 0)
        mask_scores = [
            self.mask_iou_head.get_mask_scores(mask_iou_preds[i], det_bboxes[i], det_labels[i])
            if num_per_img[i] else [[] for _ in range(num_classes)]
            for i in range(len(det_bboxes))]
        return list(zip(segm_results, mask_scores))
