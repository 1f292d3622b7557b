"""LDHead: GFL's head trained to also match a teacher's box-side distributions (Zheng et al.,
"Localization Distillation for Dense Object Detection", 2022), inside a
``KnowledgeDistillationSingleStageDetector``.

Shape shorthand:
    N: images in the batch     L: FPN levels     C: classes (sigmoid)
    R: ``reg_max`` (each side a distribution over R + 1 bins)
    H_l, W_l: size of level l  P_l = H_l * W_l anchors of level l
"""
import copy
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from torch import Tensor

from ...core import bbox_overlaps, multi_apply, reduce_mean
from ..builder import HEADS, build_loss
from .gfl_head import GFLHead


@HEADS.register_module()
class LDHead(GFLHead):
    """``GFLHead`` plus ``loss_ld`` between the student's and the teacher's side
    distributions at the positives.

    Args:
        loss_ld: the distillation loss (``KnowledgeDistillationKLDivLoss`` in 2.x's configs;
            2.x's default names ``'LocalizationDistillationLoss'``, which 2.x never registered,
            so the working loss is the default here).
        Other arguments: :class:`GFLHead`.
    """

    def __init__(self, num_classes: int, in_channels: int, loss_ld: Optional[dict] = None,
                 **kwargs):
        super().__init__(num_classes, in_channels, **kwargs)
        if loss_ld is None:
            loss_ld = dict(type='KnowledgeDistillationKLDivLoss', loss_weight=0.25, T=10)
        self.loss_ld = build_loss(copy.deepcopy(loss_ld))

    def loss_single(self, anchors: Tensor, cls_score: Tensor, bbox_pred: Tensor,
                    labels: Tensor, label_weights: Tensor, bbox_targets: Tensor,
                    stride: Tuple[int, int], soft_targets: Tensor,
                    num_total_samples: float):
        """Of one level: GFL's three losses, ``loss_ld`` against the teacher's distributions
        soft_targets (N, 4 * (R + 1), H, W), and the sum of the box weights."""
        if stride[0] != stride[1]:
            raise ValueError(f'{type(self).__name__} needs square strides, got {stride}')
        anchors = anchors.reshape(-1, 4)
        cls_score = cls_score.permute(0, 2, 3, 1).reshape(-1, self.cls_out_channels)
        bbox_pred = bbox_pred.permute(0, 2, 3, 1).reshape(-1, 4 * (self.reg_max + 1))
        soft_targets = soft_targets.permute(0, 2, 3, 1).reshape(-1, 4 * (self.reg_max + 1))
        bbox_targets = bbox_targets.reshape(-1, 4)
        labels = labels.reshape(-1)
        label_weights = label_weights.reshape(-1)
        pos_inds = ((labels >= 0) & (labels < self.num_classes)).nonzero().squeeze(1)
        score = label_weights.new_zeros(labels.shape)
        if len(pos_inds) > 0:
            pos_bbox_pred = bbox_pred[pos_inds]
            pos_centers = self.anchor_center(anchors[pos_inds]) / stride[0]
            weight_targets = cls_score.detach().sigmoid().max(dim=1)[0][pos_inds]
            pos_decoded = self.bbox_coder.decode(pos_centers, self.integral(pos_bbox_pred))
            pos_decoded_targets = bbox_targets[pos_inds] / stride[0]
            score[pos_inds] = bbox_overlaps(pos_decoded.detach(), pos_decoded_targets,
                                            is_aligned=True)
            pred_corners = pos_bbox_pred.reshape(-1, self.reg_max + 1)
            soft_corners = soft_targets[pos_inds].reshape(-1, self.reg_max + 1)
            target_corners = self.bbox_coder.encode(pos_centers, pos_decoded_targets,
                                                    self.reg_max).reshape(-1)
            corner_weights = weight_targets[:, None].expand(-1, 4).reshape(-1)
            loss_bbox = self.loss_bbox(pos_decoded, pos_decoded_targets, weight=weight_targets,
                                       avg_factor=1.0)
            loss_dfl = self.loss_dfl(pred_corners, target_corners, weight=corner_weights,
                                     avg_factor=4.0)
            loss_ld = self.loss_ld(pred_corners, soft_corners, weight=corner_weights,
                                   avg_factor=4.0)
        else:
            loss_ld = bbox_pred.sum() * 0
            loss_bbox = bbox_pred.sum() * 0
            loss_dfl = bbox_pred.sum() * 0
            weight_targets = bbox_pred.new_tensor(0)
        loss_cls = self.loss_cls(cls_score, (labels, score), weight=label_weights,
                                 avg_factor=num_total_samples)
        return loss_cls, loss_bbox, loss_dfl, loss_ld, weight_targets.sum()

    def forward_train(self, x: Sequence[Tensor], out_teacher: Tuple[List[Tensor], ...],
                      img_metas: List[dict], gt_bboxes: List[Tensor],
                      gt_labels: Optional[List[Tensor]] = None,
                      gt_bboxes_ignore: Optional[List[Tensor]] = None,
                      proposal_cfg: Optional[dict] = None, **kwargs):
        """Losses of the features ``x`` against the ground truth and the teacher's head
        outputs ``(cls_scores, bbox_preds)`` (its distributions are the soft targets)."""
        outs = self(x)
        soft_target = out_teacher[1]
        if gt_labels is None:
            loss_inputs = outs + (gt_bboxes, soft_target, img_metas)
        else:
            loss_inputs = outs + (gt_bboxes, gt_labels, soft_target, img_metas)
        losses = self.loss(*loss_inputs, gt_bboxes_ignore=gt_bboxes_ignore)
        if proposal_cfg is None:
            return losses
        return losses, self.get_bboxes(*outs, img_metas=img_metas, cfg=proposal_cfg)

    def loss(self, cls_scores: List[Tensor], bbox_preds: List[Tensor], gt_bboxes: List[Tensor],
             gt_labels: List[Tensor], soft_target: List[Tensor], img_metas: List[dict],
             gt_bboxes_ignore: Optional[List[Tensor]] = None) -> Dict[str, List[Tensor]]:
        """Per-level ``loss_cls``, ``loss_bbox``, ``loss_dfl`` and ``loss_ld``."""
        featmap_sizes = [featmap.size()[-2:] for featmap in cls_scores]
        if len(featmap_sizes) != self.prior_generator.num_levels:
            raise ValueError(f'{len(featmap_sizes)} feature levels but the anchor generator has '
                             f'{self.prior_generator.num_levels} strides')
        device = cls_scores[0].device
        anchor_list, valid_flag_list = self.get_anchors(featmap_sizes, img_metas, device=device)
        targets = self.get_targets(anchor_list, valid_flag_list, gt_bboxes, img_metas,
                                   gt_bboxes_ignore_list=gt_bboxes_ignore,
                                   gt_labels_list=gt_labels)
        num_total_samples = max(reduce_mean(torch.tensor(
            targets.num_total_pos, dtype=torch.float, device=device)).item(), 1.0)
        losses_cls, losses_bbox, losses_dfl, losses_ld, avg_factor = multi_apply(
            self.loss_single, targets.anchors_list, cls_scores, bbox_preds, targets.labels_list,
            targets.label_weights_list, targets.bbox_targets_list, self.prior_generator.strides,
            soft_target, num_total_samples=num_total_samples)
        avg_factor = reduce_mean(sum(avg_factor) + 1e-6).item()
        return dict(loss_cls=losses_cls, loss_bbox=[x / avg_factor for x in losses_bbox],
                    loss_dfl=[x / avg_factor for x in losses_dfl], loss_ld=losses_ld)
