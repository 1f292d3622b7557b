"""FSAFHead: the anchor-free branch of FSAF (Zhu et al., "Feature Selective Anchor-Free Module
for Single-Shot Object Detection", 2019): every ground truth trains only the pyramid level where
its loss is lowest (online feature selection).

Shape shorthand:
    N: images in the batch     L: FPN levels     C: classes (sigmoid)
    H_l, W_l: size of level l  P_l = H_l * W_l priors (one square "anchor" per location)
    G: ground truths of the whole batch
"""
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
from torch import Tensor

from ...core import anchor_inside_flags, images_to_levels, multi_apply, unmap
from ..builder import HEADS
from ..losses.accuracy import accuracy
from ..losses.utils import weight_reduce_loss
from .retina_head import RetinaHead


@HEADS.register_module()
class FSAFHead(RetinaHead):
    """RetinaHead's layers with ReLU on the box output (TBLR distances are non-negative).

    Args:
        score_threshold: threshold of the logged ``pos_recall`` (``accuracy``'s ``thresh``).
        Other arguments: :class:`RetinaHead`; 2.x's configs use ``CenterRegionAssigner``,
        ``TBLRBBoxCoder``, and ``reduction='none'`` losses (the reduction happens after the
        level selection).
    """

    def __init__(self, *args, score_threshold: Optional[float] = None, init_cfg=None,
                 **kwargs):
        if init_cfg is None:
            init_cfg = dict(type='Normal', layer='Conv2d', std=0.01,
                            override=[dict(type='Normal', name='retina_cls', std=0.01,
                                           bias_prob=0.01),
                                      dict(type='Normal', name='retina_reg', std=0.01,
                                           bias=0.25)])
        super().__init__(*args, init_cfg=init_cfg, **kwargs)
        self.score_threshold = score_threshold

    def forward_single(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        """Of one level: (N, C_in, H, W) → cls_score (N, C, H, W), bbox_pred (N, 4, H, W) >= 0."""
        cls_score, bbox_pred = super().forward_single(x)
        return cls_score, self.relu(bbox_pred)

    def _get_targets_single(self, flat_anchors: Tensor, valid_flags: Tensor, gt_bboxes: Tensor,
                            gt_bboxes_ignore: Optional[Tensor], gt_labels: Optional[Tensor],
                            img_meta: dict, label_channels: int = 1,
                            unmap_outputs: bool = True) -> tuple:
        """Of one image: ``AnchorHead``'s seven targets, with label_weights (P, label_channels)
        zero for the (prior, class) pairs the assigner shadowed, plus each prior's ground-truth
        index (P,) (-1 for non-positives)."""
        allowed_border = self.train_cfg.get('allowed_border', -1)
        inside_flags = anchor_inside_flags(flat_anchors, valid_flags, img_meta['img_shape'][:2],
                                           allowed_border)
        if not inside_flags.any():
            raise ValueError(
                f"no prior lies inside image {img_meta.get('filename', '<no filename>')!r} "
                f"(img_shape={tuple(img_meta['img_shape'])}); set allowed_border=-1")
        anchors = flat_anchors[inside_flags.type(torch.bool), :]
        assign_result = self.assigner.assign(anchors, gt_bboxes, gt_bboxes_ignore,
                                             None if self.sampling else gt_labels)
        sampling_result = self.sampler.sample(assign_result, anchors, gt_bboxes)
        num_valid = anchors.shape[0]
        bbox_targets = torch.zeros_like(anchors)
        bbox_weights = torch.zeros_like(anchors)
        labels = anchors.new_full((num_valid,), self.num_classes, dtype=torch.long)
        label_weights = anchors.new_zeros((num_valid, label_channels), dtype=torch.float)
        pos_gt_inds = anchors.new_full((num_valid,), -1, dtype=torch.long)
        pos_inds = sampling_result.pos_inds
        neg_inds = sampling_result.neg_inds
        if len(pos_inds) > 0:
            if self.reg_decoded_bbox:
                pos_bbox_targets = sampling_result.pos_gt_bboxes
            else:
                pos_bbox_targets = self.bbox_coder.encode(sampling_result.pos_bboxes,
                                                          sampling_result.pos_gt_bboxes)
            bbox_targets[pos_inds, :] = pos_bbox_targets
            bbox_weights[pos_inds, :] = 1.0
            pos_gt_inds[pos_inds] = sampling_result.pos_assigned_gt_inds
            if gt_labels is None:
                labels[pos_inds] = 0
            else:
                labels[pos_inds] = gt_labels[sampling_result.pos_assigned_gt_inds]
            pos_weight = self.train_cfg.get('pos_weight', -1)
            label_weights[pos_inds] = 1.0 if pos_weight <= 0 else pos_weight
        if len(neg_inds) > 0:
            label_weights[neg_inds] = 1.0
        shadowed_labels = assign_result.get_extra_property('shadowed_labels') \
            if 'shadowed_labels' in assign_result.info else None
        if shadowed_labels is not None and shadowed_labels.numel():
            if len(shadowed_labels.shape) == 2:
                idx_, label_ = shadowed_labels[:, 0], shadowed_labels[:, 1]
                if (labels[idx_] == label_).any():
                    raise ValueError('FSAF: a prior is both positive for a class and shadowed '
                                     'for it; check the CenterRegionAssigner scales')
                label_weights[idx_, label_] = 0
            else:
                label_weights[shadowed_labels] = 0
        if unmap_outputs:
            num_total = flat_anchors.size(0)
            labels = unmap(labels, num_total, inside_flags)
            label_weights = unmap(label_weights, num_total, inside_flags)
            bbox_targets = unmap(bbox_targets, num_total, inside_flags)
            bbox_weights = unmap(bbox_weights, num_total, inside_flags)
            pos_gt_inds = unmap(pos_gt_inds, num_total, inside_flags, fill=-1)
        return (labels, label_weights, bbox_targets, bbox_weights, pos_inds, neg_inds,
                sampling_result, pos_gt_inds)

    def loss(self, cls_scores: List[Tensor], bbox_preds: List[Tensor], gt_bboxes: List[Tensor],
             gt_labels: List[Tensor], img_metas: List[dict],
             gt_bboxes_ignore: Optional[List[Tensor]] = None) -> Dict[str, object]:
        """Per-level ``loss_cls`` / ``loss_bbox`` where each ground truth counts only at its
        lowest-loss level; also logs ``num_pos`` (per image) and ``pos_recall``."""
        # The clamp keeps IoU losses finite for zero predicted distances.
        bbox_preds = [bbox_pred.clamp(min=1e-4) for bbox_pred in bbox_preds]
        featmap_sizes = [featmap.size()[-2:] for featmap in cls_scores]
        if len(featmap_sizes) != self.prior_generator.num_levels:
            raise ValueError(f'{len(featmap_sizes)} feature levels but the anchor generator has '
                             f'{self.prior_generator.num_levels} strides')
        batch_size = len(gt_bboxes)
        device = cls_scores[0].device
        anchor_list, valid_flag_list = self.get_anchors(featmap_sizes, img_metas, device=device)
        label_channels = self.cls_out_channels if self.use_sigmoid_cls else 1
        (labels_list, label_weights_list, bbox_targets_list, bbox_weights_list, num_total_pos,
         num_total_neg, pos_assigned_gt_inds_list) = self.get_targets(
             anchor_list, valid_flag_list, gt_bboxes, img_metas,
             gt_bboxes_ignore_list=gt_bboxes_ignore, gt_labels_list=gt_labels,
             label_channels=label_channels)
        num_gts = np.array(list(map(len, gt_labels)))
        num_total_samples = num_total_pos + num_total_neg if self.sampling else num_total_pos
        num_level_anchors = [anchors.size(0) for anchors in anchor_list[0]]
        all_anchor_list = images_to_levels([torch.cat(a) for a in anchor_list],
                                           num_level_anchors)
        losses_cls, losses_bbox = multi_apply(
            self.loss_single, cls_scores, bbox_preds, all_anchor_list, labels_list,
            label_weights_list, bbox_targets_list, bbox_weights_list,
            num_total_samples=num_total_samples)
        # Ground-truth indices across the batch: image j's are offset by the boxes before it.
        cum_num_gts = list(np.cumsum(num_gts))
        pos_assigned_gt_inds_list = list(pos_assigned_gt_inds_list)
        labels_list = list(labels_list)
        for i, assign in enumerate(pos_assigned_gt_inds_list):
            for j in range(1, batch_size):
                assign[j][assign[j] >= 0] += int(cum_num_gts[j - 1])
            pos_assigned_gt_inds_list[i] = assign.flatten()
            labels_list[i] = labels_list[i].flatten()
        num_gts = int(num_gts.sum())
        label_sequence = torch.arange(num_gts, device=device)
        with torch.no_grad():
            loss_levels, = multi_apply(self.collect_loss_level_single, losses_cls, losses_bbox,
                                       pos_assigned_gt_inds_list, labels_seq=label_sequence)
            loss_levels = torch.stack(loss_levels, dim=0)
            if loss_levels.numel() == 0:
                argmin = loss_levels.new_empty((num_gts,), dtype=torch.long)
            else:
                _, argmin = loss_levels.min(dim=0)
        losses_cls, losses_bbox, pos_inds = multi_apply(
            self.reweight_loss_single, losses_cls, losses_bbox, pos_assigned_gt_inds_list,
            labels_list, list(range(len(losses_cls))), min_levels=argmin)
        num_pos = torch.cat(pos_inds, 0).sum().float()
        pos_recall = self.calculate_pos_recall(cls_scores, labels_list, pos_inds)
        avg_factor = num_pos + float(num_total_neg) if num_pos == 0 else num_pos
        losses_cls = [loss / avg_factor for loss in losses_cls]
        losses_bbox = [loss / avg_factor for loss in losses_bbox]
        return dict(loss_cls=losses_cls, loss_bbox=losses_bbox, num_pos=num_pos / batch_size,
                    pos_recall=pos_recall)

    def calculate_pos_recall(self, cls_scores: List[Tensor], labels_list: List[Tensor],
                             pos_inds: List[Tensor]) -> Tensor:
        """Accuracy (percent) of the selected positives' classes."""
        with torch.no_grad():
            scores = torch.cat([cls.permute(0, 2, 3, 1).reshape(-1, self.num_classes)[pos]
                                for cls, pos in zip(cls_scores, pos_inds)], dim=0)
            labels = torch.cat([label.reshape(-1)[pos]
                                for label, pos in zip(labels_list, pos_inds)], dim=0)
            scores = scores.sigmoid() if self.use_sigmoid_cls else scores.softmax(dim=1)
            return accuracy(scores, labels, thresh=self.score_threshold)

    def collect_loss_level_single(self, cls_loss: Tensor, reg_loss: Tensor,
                                  assigned_gt_inds: Tensor, labels_seq: Tensor) -> Tuple[Tensor]:
        """Of one level: each of the G ground truths' mean loss over its priors (1e6 if it has
        none there)."""
        if len(reg_loss.shape) == 2:
            reg_loss = reg_loss.sum(dim=-1)
        if len(cls_loss.shape) == 2:
            cls_loss = cls_loss.sum(dim=-1)
        loss = cls_loss + reg_loss
        if loss.size(0) != assigned_gt_inds.size(0):
            raise ValueError('FSAF needs per-prior losses: set reduction=\'none\' in loss_cls '
                             'and loss_bbox')
        losses = loss.new_full(labels_seq.shape, 1e6)
        for i, gt in enumerate(labels_seq):
            match = assigned_gt_inds == gt
            if match.any():
                losses[i] = loss[match].mean()
        return losses,

    def reweight_loss_single(self, cls_loss: Tensor, reg_loss: Tensor,
                             assigned_gt_inds: Tensor, labels: Tensor, level: int,
                             min_levels: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """Of one level: the summed losses with the priors of ground truths selected at another
        level turned off (their class weight zeroed), and the flags of the kept positives."""
        loc_weight = torch.ones_like(reg_loss)
        cls_weight = torch.ones_like(cls_loss)
        pos_flags = assigned_gt_inds >= 0
        pos_indices = torch.nonzero(pos_flags, as_tuple=False).flatten()
        if pos_flags.any():
            zeroing = min_levels[assigned_gt_inds[pos_flags]] != level
            neg_indices = pos_indices[zeroing]
            if neg_indices.numel():
                pos_flags[neg_indices] = 0
                loc_weight[neg_indices] = 0
                cls_weight[neg_indices, labels[neg_indices]] = 0
        cls_loss = weight_reduce_loss(cls_loss, cls_weight, reduction='sum')
        reg_loss = weight_reduce_loss(reg_loss, loc_weight, reduction='sum')
        return cls_loss, reg_loss, pos_flags
