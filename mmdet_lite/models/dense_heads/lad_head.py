"""LADHead: PAA's head trained on a teacher's label assignment (Nguyen et al., "Improving Object
Detection by Label Assignment Distillation", 2022), inside a ``LAD`` detector.

Shape shorthand:
    N: images in the batch     L: FPN levels     C: classes (sigmoid)
    P: anchors of one image (all levels)
"""
from typing import Dict, List, Optional, Sequence

import torch
from torch import Tensor

from ...core import bbox_overlaps, multi_apply
from ..builder import HEADS
from .paa_head import PAAHead, levels_to_images


@HEADS.register_module()
class LADHead(PAAHead):
    """``PAAHead`` whose losses take the label assignment from ``get_label_assignment`` (run
    on the teacher's head) instead of assigning by themselves. Arguments: :class:`PAAHead`.
    """

    def get_label_assignment(self, cls_scores: List[Tensor], bbox_preds: List[Tensor],
                             iou_preds: List[Tensor], gt_bboxes: List[Tensor],
                             gt_labels: List[Tensor], img_metas: List[dict],
                             gt_bboxes_ignore: Optional[List[Tensor]] = None) -> tuple:
        """PAA's assignment from these (the teacher's) outputs.

        Returns:
            ``(labels (N * P,), labels_weight (N * P,), bboxes_target (N * P, 4),
            bboxes_weight (per image), pos_inds_flatten (n,), pos_anchors (n, 4) or None,
            num_pos)``.
        """
        featmap_sizes = [featmap.size()[-2:] for featmap in cls_scores]
        self._check_levels(featmap_sizes)
        device = cls_scores[0].device
        anchor_list, valid_flag_list = self.get_anchors(featmap_sizes, img_metas, device=device)
        (labels, labels_weight, bboxes_target, bboxes_weight, pos_inds,
         pos_gt_index) = self.get_targets(anchor_list, valid_flag_list, gt_bboxes, img_metas,
                                          gt_bboxes_ignore_list=gt_bboxes_ignore,
                                          gt_labels_list=gt_labels)
        cls_scores = [s.reshape(-1, self.cls_out_channels) for s in levels_to_images(cls_scores)]
        bbox_preds = [b.reshape(-1, 4) for b in levels_to_images(bbox_preds)]
        pos_losses_list, = multi_apply(self.get_pos_loss, anchor_list, cls_scores, bbox_preds,
                                       labels, labels_weight, bboxes_target, bboxes_weight,
                                       pos_inds)
        with torch.no_grad():
            reassign_labels, reassign_label_weight, _, num_pos = multi_apply(
                self.paa_reassign, pos_losses_list, labels, labels_weight, bboxes_weight,
                pos_inds, pos_gt_index, anchor_list)
            num_pos = sum(num_pos)
        labels = torch.cat(reassign_labels, 0).view(-1)
        flat_anchors = torch.cat([torch.cat(item, 0) for item in anchor_list])
        labels_weight = torch.cat(reassign_label_weight, 0).view(-1)
        bboxes_target = torch.cat(bboxes_target, 0).view(-1, 4)
        pos_inds_flatten = ((labels >= 0) & (labels < self.num_classes)).nonzero().reshape(-1)
        pos_anchors = flat_anchors[pos_inds_flatten] if num_pos else None
        return (labels, labels_weight, bboxes_target, bboxes_weight, pos_inds_flatten,
                pos_anchors, num_pos)

    def forward_train(self, x: Sequence[Tensor], label_assignment_results: tuple,
                      img_metas: List[dict], gt_bboxes: List[Tensor],
                      gt_labels: Optional[List[Tensor]] = None,
                      gt_bboxes_ignore: Optional[List[Tensor]] = None,
                      **kwargs) -> Dict[str, Tensor]:
        """Losses of the features ``x`` under the teacher's ``label_assignment_results``."""
        outs = self(x)
        if gt_labels is None:
            loss_inputs = outs + (gt_bboxes, img_metas)
        else:
            loss_inputs = outs + (gt_bboxes, gt_labels, img_metas)
        return self.loss(*loss_inputs, gt_bboxes_ignore=gt_bboxes_ignore,
                         label_assignment_results=label_assignment_results)

    def loss(self, cls_scores: List[Tensor], bbox_preds: List[Tensor], iou_preds: List[Tensor],
             gt_bboxes: List[Tensor], gt_labels: List[Tensor], img_metas: List[dict],
             gt_bboxes_ignore: Optional[List[Tensor]] = None,
             label_assignment_results: Optional[tuple] = None) -> Dict[str, Tensor]:
        """``loss_cls``, ``loss_bbox`` and ``loss_iou`` under the given assignment."""
        if label_assignment_results is None:
            raise ValueError('LADHead.loss needs label_assignment_results (from the teacher '
                             "head's get_label_assignment); train it inside a LAD detector")
        (labels, labels_weight, bboxes_target, _, pos_inds_flatten, pos_anchors,
         num_pos) = label_assignment_results
        cls_scores = torch.cat([s.reshape(-1, self.cls_out_channels)
                                for s in levels_to_images(cls_scores)], 0)
        bbox_preds = torch.cat([b.reshape(-1, 4) for b in levels_to_images(bbox_preds)], 0)
        iou_preds = torch.cat([p.reshape(-1, 1) for p in levels_to_images(iou_preds)], 0)
        losses_cls = self.loss_cls(cls_scores, labels, labels_weight,
                                   avg_factor=max(num_pos, len(img_metas)))
        if num_pos:
            pos_bbox_pred = self.bbox_coder.decode(pos_anchors, bbox_preds[pos_inds_flatten])
            pos_bbox_target = bboxes_target[pos_inds_flatten]
            iou_target = bbox_overlaps(pos_bbox_pred.detach(), pos_bbox_target,
                                       is_aligned=True)
            losses_iou = self.loss_centerness(iou_preds[pos_inds_flatten],
                                              iou_target.unsqueeze(-1), avg_factor=num_pos)
            losses_bbox = self.loss_bbox(pos_bbox_pred, pos_bbox_target, avg_factor=num_pos)
        else:
            losses_iou = iou_preds.sum() * 0
            losses_bbox = bbox_preds.sum() * 0
        return dict(loss_cls=losses_cls, loss_bbox=losses_bbox, loss_iou=losses_iou)
