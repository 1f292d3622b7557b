"""TOODHead: task-aligned one-stage detection (Feng et al., "TOOD: Task-aligned One-stage Object
Detection", 2021): a shared tower, task decomposition by layer attention, a class-probability map
that sharpens the scores, box sides resampled by learned offsets, and task-aligned assignment
after ``initial_epoch`` warm-up epochs of ATSS.

Shape shorthand:
    N: images in the batch     L: FPN levels     C: classes (sigmoid)     F: ``feat_channels``
    S: ``stacked_convs``       H_l, W_l: size of level l  P_l = H_l * W_l anchors (one per point)
"""
import copy
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.model import bias_init_with_prob, normal_init
from torch import Tensor, nn

from ...core import (build_assigner, distance2bbox, filter_scores_and_topk, images_to_levels,
                     multi_apply, reduce_mean, unmap)
from ..builder import HEADS, build_loss
from ..layers.deform_conv import deform_conv2d
from ..layers.scale import Scale
from ..utils.conv_module import ConvModule
from ..utils.gt_check import check_gt_bboxes
from ..utils.sigmoid_geometric_mean import sigmoid_geometric_mean
from .atss_head import ATSSHead


class TaskDecomposition(nn.Module):
    """One task's features from the S stacked tower outputs: a per-image layer attention
    (``layer_attention``) scales the S blocks of a 1x1 reduction conv (``reduction_conv``).

    (N, S * F, H, W) features (and their (N, S * F, 1, 1) average) → (N, F, H, W).
    """

    def __init__(self, feat_channels: int, stacked_convs: int, la_down_rate: int = 8,
                 conv_cfg: Optional[dict] = None, norm_cfg: Optional[dict] = None):
        super().__init__()
        self.feat_channels = feat_channels
        self.stacked_convs = stacked_convs
        self.in_channels = self.feat_channels * self.stacked_convs
        self.norm_cfg = norm_cfg
        self.layer_attention = nn.Sequential(
            nn.Conv2d(self.in_channels, self.in_channels // la_down_rate, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(self.in_channels // la_down_rate, self.stacked_convs, 1, padding=0),
            nn.Sigmoid())
        self.reduction_conv = ConvModule(self.in_channels, self.feat_channels, 1, stride=1,
                                         padding=0, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                                         bias=norm_cfg is None)

    def init_weights(self) -> None:
        for m in self.layer_attention.modules():
            if isinstance(m, nn.Conv2d):
                normal_init(m, std=0.001)
        normal_init(self.reduction_conv.conv, std=0.01)

    def forward(self, feat: Tensor, avg_feat: Optional[Tensor] = None) -> Tensor:
        b, _, h, w = feat.shape
        if avg_feat is None:
            avg_feat = F.adaptive_avg_pool2d(feat, (1, 1))
        weight = self.layer_attention(avg_feat)
        # The attention weighs the reduction conv's input blocks (one per stacked conv), i.e.
        # a per-image 1x1 conv; applied as a batched matrix product.
        conv_weight = weight.reshape(b, 1, self.stacked_convs, 1) * \
            self.reduction_conv.conv.weight.reshape(1, self.feat_channels, self.stacked_convs,
                                                    self.feat_channels)
        conv_weight = conv_weight.reshape(b, self.feat_channels, self.in_channels)
        feat = torch.bmm(conv_weight, feat.reshape(b, self.in_channels, h * w))
        feat = feat.reshape(b, self.feat_channels, h, w)
        if self.norm_cfg is not None:
            feat = self.reduction_conv.norm(feat)
        return self.reduction_conv.activate(feat)


@HEADS.register_module()
class TOODHead(ATSSHead):
    """``inter_convs`` (S ConvModules, the first ``num_dcn`` modulated deformable), task
    decompositions ``cls_decomp`` / ``reg_decomp``, predictors ``tood_cls`` (C) and ``tood_reg``
    (4), ``cls_prob_module`` (class-probability map), ``reg_offset_module`` (offsets of the four
    sides), one ``Scale`` per level.

    Args:
        num_dcn: how many of the first inter convs are DCNv2 (4 deformable groups).
        anchor_type: ``'anchor_free'`` (distances from the anchor centre, exp) or
            ``'anchor_based'`` (the coder's deltas).
        initial_loss_cls: classification loss of the warm-up epochs (focal on probabilities).
        Other arguments: :class:`ATSSHead`; ``train_cfg`` holds ``initial_epoch``,
        ``initial_assigner`` (ATSS), ``assigner`` (TaskAligned), ``alpha``, ``beta``.

    Outputs per level: cls_score (N, C, H, W) probabilities (already sigmoid-ed),
    bbox_pred (N, 4, H, W) xyxy boxes in units of the level's stride. ``epoch`` (set by the
    detector's ``set_epoch``, from 2.x's ``SetEpochInfoHook``) switches the assignment.
    """

    def __init__(self, num_classes: int, in_channels: int, num_dcn: int = 0,
                 anchor_type: str = 'anchor_free', initial_loss_cls: Optional[dict] = None,
                 **kwargs):
        if anchor_type not in ('anchor_free', 'anchor_based'):
            raise ValueError(f"anchor_type must be 'anchor_free' or 'anchor_based', got "
                             f'{anchor_type!r}')
        if initial_loss_cls is None:
            initial_loss_cls = dict(type='FocalLoss', use_sigmoid=True, activated=True,
                                    gamma=2.0, alpha=0.25, loss_weight=1.0)
        self.num_dcn = num_dcn
        self.anchor_type = anchor_type
        self.epoch = 0
        super().__init__(num_classes, in_channels, **kwargs)
        if self.train_cfg:
            self.initial_epoch = self.train_cfg.initial_epoch
            self.initial_assigner = build_assigner(
                copy.deepcopy(self.train_cfg.initial_assigner))
            self.initial_loss_cls = build_loss(copy.deepcopy(initial_loss_cls))
            self.assigner = self.initial_assigner
            self.alignment_assigner = build_assigner(copy.deepcopy(self.train_cfg.assigner))
            self.alpha = self.train_cfg.alpha
            self.beta = self.train_cfg.beta

    def _init_layers(self) -> None:
        self.relu = nn.ReLU(inplace=True)
        self.inter_convs = nn.ModuleList()
        for i in range(self.stacked_convs):
            conv_cfg = dict(type='DCNv2', deform_groups=4) if i < self.num_dcn else self.conv_cfg
            chn = self.in_channels if i == 0 else self.feat_channels
            self.inter_convs.append(ConvModule(chn, self.feat_channels, 3, stride=1, padding=1,
                                               conv_cfg=conv_cfg, norm_cfg=self.norm_cfg))
        self.cls_decomp = TaskDecomposition(self.feat_channels, self.stacked_convs,
                                            self.stacked_convs * 8, self.conv_cfg, self.norm_cfg)
        self.reg_decomp = TaskDecomposition(self.feat_channels, self.stacked_convs,
                                            self.stacked_convs * 8, self.conv_cfg, self.norm_cfg)
        self.tood_cls = nn.Conv2d(self.feat_channels,
                                  self.num_base_priors * self.cls_out_channels, 3, padding=1)
        self.tood_reg = nn.Conv2d(self.feat_channels, self.num_base_priors * 4, 3, padding=1)
        self.cls_prob_module = nn.Sequential(
            nn.Conv2d(self.feat_channels * self.stacked_convs, self.feat_channels // 4, 1),
            nn.ReLU(inplace=True), nn.Conv2d(self.feat_channels // 4, 1, 3, padding=1))
        self.reg_offset_module = nn.Sequential(
            nn.Conv2d(self.feat_channels * self.stacked_convs, self.feat_channels // 4, 1),
            nn.ReLU(inplace=True), nn.Conv2d(self.feat_channels // 4, 4 * 2, 3, padding=1))
        self.scales = nn.ModuleList([Scale(1.0) for _ in self.prior_generator.strides])

    def init_weights(self) -> None:
        """2.x's explicit init (the head ignores ``init_cfg``): Normal(0.01) convs, offsets
        Normal(0.001), class and probability biases for p=0.01."""
        bias_cls = bias_init_with_prob(0.01)
        for m in self.inter_convs:
            normal_init(m.conv, std=0.01)
        for m in self.cls_prob_module:
            if isinstance(m, nn.Conv2d):
                normal_init(m, std=0.01)
        for m in self.reg_offset_module:
            if isinstance(m, nn.Conv2d):
                normal_init(m, std=0.001)
        normal_init(self.cls_prob_module[-1], std=0.01, bias=bias_cls)
        self.cls_decomp.init_weights()
        self.reg_decomp.init_weights()
        normal_init(self.tood_cls, std=0.01, bias=bias_cls)
        normal_init(self.tood_reg, std=0.01)

    def forward(self, feats: Sequence[Tensor]) -> Tuple[Tuple[Tensor, ...], Tuple[Tensor, ...]]:
        """L feature maps → (cls_scores, bbox_preds), tuples over levels (see the class)."""
        cls_scores, bbox_preds = [], []
        for idx, (x, scale, stride) in enumerate(zip(feats, self.scales,
                                                     self.prior_generator.strides)):
            b, _, h, w = x.shape
            anchor = self.prior_generator.single_level_grid_priors((h, w), idx, device=x.device)
            anchor = torch.cat([anchor for _ in range(b)])
            inter_feats = []
            for inter_conv in self.inter_convs:
                x = inter_conv(x)
                inter_feats.append(x)
            feat = torch.cat(inter_feats, 1)
            avg_feat = F.adaptive_avg_pool2d(feat, (1, 1))
            cls_feat = self.cls_decomp(feat, avg_feat)
            reg_feat = self.reg_decomp(feat, avg_feat)
            cls_score = sigmoid_geometric_mean(self.tood_cls(cls_feat),
                                               self.cls_prob_module(feat))
            if self.anchor_type == 'anchor_free':
                reg_dist = scale(self.tood_reg(reg_feat).exp()).float()
                reg_dist = reg_dist.permute(0, 2, 3, 1).reshape(-1, 4)
                reg_bbox = distance2bbox(self.anchor_center(anchor) / stride[0], reg_dist)
            else:
                reg_dist = scale(self.tood_reg(reg_feat)).float()
                reg_dist = reg_dist.permute(0, 2, 3, 1).reshape(-1, 4)
                reg_bbox = self.bbox_coder.decode(anchor, reg_dist) / stride[0]
            reg_bbox = reg_bbox.reshape(b, h, w, 4).permute(0, 3, 1, 2)
            bbox_pred = self.deform_sampling(reg_bbox.contiguous(),
                                             self.reg_offset_module(feat).contiguous())
            # A resampled box whose sides cross falls back to the unsampled one.
            invalid = ((bbox_pred[:, [0]] > bbox_pred[:, [2]])
                       | (bbox_pred[:, [1]] > bbox_pred[:, [3]])).expand_as(bbox_pred)
            bbox_pred = torch.where(invalid, reg_bbox, bbox_pred)
            cls_scores.append(cls_score)
            bbox_preds.append(bbox_pred)
        return tuple(cls_scores), tuple(bbox_preds)

    def deform_sampling(self, feat: Tensor, offset: Tensor) -> Tensor:
        """Each channel of ``feat`` (N, c, H, W) sampled bilinearly at its own offset
        (N, 2 * c, H, W): a depth-wise 1x1 deformable conv with unit weights."""
        c = feat.size(1)
        weight = feat.new_ones(c, 1, 1, 1)
        return deform_conv2d(feat, offset, weight, 1, 0, 1, c, c)

    def anchor_center(self, anchors: Tensor) -> Tensor:
        """Centres (n, 2) of anchors (n, 4)."""
        return torch.stack([(anchors[:, 2] + anchors[:, 0]) / 2,
                            (anchors[:, 3] + anchors[:, 1]) / 2], dim=-1)

    def loss_single(self, anchors: Tensor, cls_score: Tensor, bbox_pred: Tensor,
                    labels: Tensor, label_weights: Tensor, bbox_targets: Tensor,
                    alignment_metrics: Tensor, stride: Tuple[int, int]):
        """Of one level: anchors (N, P_l, 4), outputs (N, ., H, W), targets (N, P_l[, 4]).

        Returns ``loss_cls``, ``loss_bbox`` (both not yet averaged) and their average factors:
        the sum of the alignment metrics and of the box weights."""
        if stride[0] != stride[1]:
            raise ValueError(f'{type(self).__name__} needs square strides, got {stride}')
        anchors = anchors.reshape(-1, 4)
        cls_score = cls_score.permute(0, 2, 3, 1).reshape(-1, self.cls_out_channels).contiguous()
        bbox_pred = bbox_pred.permute(0, 2, 3, 1).reshape(-1, 4)
        bbox_targets = bbox_targets.reshape(-1, 4)
        labels = labels.reshape(-1)
        alignment_metrics = alignment_metrics.reshape(-1)
        label_weights = label_weights.reshape(-1)
        warm_up = self.epoch < self.initial_epoch
        targets = labels if warm_up else (labels, alignment_metrics)
        cls_loss_func = self.initial_loss_cls if warm_up else self.loss_cls
        loss_cls = cls_loss_func(cls_score, targets, label_weights, avg_factor=1.0)
        pos_inds = ((labels >= 0) & (labels < self.num_classes)).nonzero().squeeze(1)
        if len(pos_inds) > 0:
            pos_bbox_targets = bbox_targets[pos_inds]
            pos_bbox_weight = (self.centerness_target(anchors[pos_inds], pos_bbox_targets)
                               if warm_up else alignment_metrics[pos_inds])
            loss_bbox = self.loss_bbox(bbox_pred[pos_inds], pos_bbox_targets / stride[0],
                                       weight=pos_bbox_weight, avg_factor=1.0)
        else:
            loss_bbox = bbox_pred.sum() * 0
            pos_bbox_weight = bbox_targets.new_tensor(0.)
        return loss_cls, loss_bbox, alignment_metrics.sum(), pos_bbox_weight.sum()

    def loss(self, cls_scores: List[Tensor], bbox_preds: List[Tensor], gt_bboxes: List[Tensor],
             gt_labels: List[Tensor], img_metas: List[dict],
             gt_bboxes_ignore: Optional[List[Tensor]] = None) -> Dict[str, List[Tensor]]:
        """Per-level ``loss_cls`` and ``loss_bbox``, averaged over the summed alignment metrics
        and box weights."""
        num_imgs = len(img_metas)
        featmap_sizes = [featmap.size()[-2:] for featmap in cls_scores]
        self._check_levels(featmap_sizes)
        device = cls_scores[0].device
        anchor_list, valid_flag_list = self.get_anchors(featmap_sizes, img_metas, device=device)
        flat_cls_scores = torch.cat([
            s.permute(0, 2, 3, 1).reshape(num_imgs, -1, self.cls_out_channels)
            for s in cls_scores], 1)
        flat_bbox_preds = torch.cat([
            b.permute(0, 2, 3, 1).reshape(num_imgs, -1, 4) * stride[0]
            for b, stride in zip(bbox_preds, self.prior_generator.strides)], 1)
        (anchor_list, labels_list, label_weights_list, bbox_targets_list,
         alignment_metrics_list) = self.get_targets(
             flat_cls_scores, flat_bbox_preds, anchor_list, valid_flag_list, gt_bboxes,
             img_metas, gt_bboxes_ignore_list=gt_bboxes_ignore, gt_labels_list=gt_labels)
        losses_cls, losses_bbox, cls_avg_factors, bbox_avg_factors = multi_apply(
            self.loss_single, anchor_list, cls_scores, bbox_preds, labels_list,
            label_weights_list, bbox_targets_list, alignment_metrics_list,
            self.prior_generator.strides)
        cls_avg_factor = reduce_mean(sum(cls_avg_factors)).clamp_(min=1).item()
        bbox_avg_factor = reduce_mean(sum(bbox_avg_factors)).clamp_(min=1).item()
        return dict(loss_cls=[x / cls_avg_factor for x in losses_cls],
                    loss_bbox=[x / bbox_avg_factor for x in losses_bbox])

    def _get_bboxes_single(self, cls_score_list: List[Tensor], bbox_pred_list: List[Tensor],
                           score_factor_list: List[Optional[Tensor]], mlvl_priors: List[Tensor],
                           img_meta: dict, cfg: Optional[dict], rescale: bool = False,
                           with_nms: bool = True, **kwargs):
        """Of one image: the scores are already probabilities and the boxes already decoded
        (times the stride); per level top ``nms_pre`` above ``score_thr``."""
        cfg = self.resolve_test_cfg(cfg)
        nms_pre = cfg.get('nms_pre', -1)
        mlvl_bboxes, mlvl_scores, mlvl_labels = [], [], []
        for cls_score, bbox_pred, priors, stride in zip(
                cls_score_list, bbox_pred_list, mlvl_priors, self.prior_generator.strides):
            bbox_pred = bbox_pred.permute(1, 2, 0).reshape(-1, 4) * stride[0]
            scores = cls_score.permute(1, 2, 0).reshape(-1, self.cls_out_channels)
            scores, labels, _, filtered = filter_scores_and_topk(
                scores, cfg.score_thr, nms_pre if nms_pre > 0 else scores.numel(),
                dict(bbox_pred=bbox_pred, priors=priors))
            mlvl_bboxes.append(filtered['bbox_pred'])
            mlvl_scores.append(scores)
            mlvl_labels.append(labels)
        return self._bbox_post_process(mlvl_scores, mlvl_labels, mlvl_bboxes,
                                       img_meta['scale_factor'], cfg, rescale, with_nms, None,
                                       **kwargs)

    def get_targets(self, cls_scores: Tensor, bbox_preds: Tensor,
                    anchor_list: List[List[Tensor]], valid_flag_list: List[List[Tensor]],
                    gt_bboxes_list: List[Tensor], img_metas: List[dict],
                    gt_bboxes_ignore_list: Optional[List[Tensor]] = None,
                    gt_labels_list: Optional[List[Tensor]] = None, label_channels: int = 1,
                    unmap_outputs: bool = True) -> tuple:
        """Targets of N images from their predictions cls_scores (N, P, C) and bbox_preds
        (N, P, 4) (pixels): ATSS during the warm-up epochs, task-aligned after.

        Returns:
            ``(anchors_list, labels_list, label_weights_list, bbox_targets_list,
            alignment_metrics_list)``, each L tensors (N, P_l[, 4]); the metrics are normalised
            per ground truth (the warm-up's box weights instead).
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
        if self.epoch < self.initial_epoch:
            (all_anchors, all_labels, all_label_weights, all_bbox_targets, all_bbox_weights,
             _, _) = multi_apply(
                 super()._get_target_single, concat_anchors, concat_flags,
                 [num_level_anchors] * num_imgs, gt_bboxes_list, gt_bboxes_ignore_list,
                 gt_labels_list, img_metas, label_channels=label_channels,
                 unmap_outputs=unmap_outputs)
            all_metrics = [weight[..., 0] for weight in all_bbox_weights]
        else:
            (all_anchors, all_labels, all_label_weights, all_bbox_targets,
             all_metrics) = multi_apply(
                 self._get_target_single, cls_scores, bbox_preds, concat_anchors, concat_flags,
                 gt_bboxes_list, gt_bboxes_ignore_list, gt_labels_list, img_metas,
                 label_channels=label_channels, unmap_outputs=unmap_outputs)
        return (images_to_levels(all_anchors, num_level_anchors),
                images_to_levels(all_labels, num_level_anchors),
                images_to_levels(all_label_weights, num_level_anchors),
                images_to_levels(all_bbox_targets, num_level_anchors),
                images_to_levels(all_metrics, num_level_anchors))

    def _get_target_single(self, cls_scores: Tensor, bbox_preds: Tensor, flat_anchors: Tensor,
                           valid_flags: Tensor, gt_bboxes: Tensor,
                           gt_bboxes_ignore: Optional[Tensor], gt_labels: Optional[Tensor],
                           img_meta: dict, label_channels: int = 1, unmap_outputs: bool = True):
        """Of one image: task-aligned assignment of its P anchors from the predictions
        (P, C) / (P, 4); the positives' metrics are rescaled so that each ground truth's best
        equals its best IoU."""
        inside_flags = self._inside_anchors(flat_anchors, valid_flags, img_meta)
        anchors = flat_anchors[inside_flags]
        assign_result = self.alignment_assigner.assign(
            cls_scores[inside_flags, :], bbox_preds[inside_flags, :], anchors, gt_bboxes,
            gt_bboxes_ignore, gt_labels, self.alpha, self.beta)
        assign_ious = assign_result.max_overlaps
        assign_metrics = assign_result.assign_metrics
        sampling_result = self.sampler.sample(assign_result, anchors, gt_bboxes)
        labels, label_weights, bbox_targets, _ = self._fill_targets(anchors, sampling_result,
                                                                    gt_labels)
        norm_metrics = anchors.new_zeros(anchors.shape[0], dtype=torch.float)
        pos_inds = sampling_result.pos_inds
        for gt_ind in torch.unique(sampling_result.pos_assigned_gt_inds):
            inds = pos_inds[sampling_result.pos_assigned_gt_inds == gt_ind]
            metrics = assign_metrics[inds]
            norm_metrics[inds] = metrics / (metrics.max() + 10e-8) * assign_ious[inds].max()
        if unmap_outputs:
            num_total = flat_anchors.size(0)
            anchors = unmap(anchors, num_total, inside_flags)
            labels = unmap(labels, num_total, inside_flags, fill=self.num_classes)
            label_weights = unmap(label_weights, num_total, inside_flags)
            bbox_targets = unmap(bbox_targets, num_total, inside_flags)
            norm_metrics = unmap(norm_metrics, num_total, inside_flags)
        return anchors, labels, label_weights, bbox_targets, norm_metrics

    def _pos_bbox_targets(self, sampling_result) -> Tensor:
        # TOOD regresses decoded boxes in both phases.
        return sampling_result.pos_gt_bboxes

