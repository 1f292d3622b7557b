"""DDODHead: disentangled dense object detection (Chen et al., "Disentangle Your Dense Object
Detector", 2021): separate ATSS assigners for classification and regression (each mixing the
IoU with the prediction's quality, ``alpha``), deformable first convs, an IoU branch, and
levels reweighted by how many positives they have had.

Shape shorthand:
    N: images in the batch     L: FPN levels     A: anchors per location (1)     C: classes
    H_l, W_l: size of level l  P_l = H_l * W_l * A anchors of level l; P = sum_l P_l
"""
import copy
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.model import bias_init_with_prob, normal_init
from torch import Tensor, nn

from ...core import (bbox_overlaps, build_assigner, build_sampler, images_to_levels,
                     multi_apply, reduce_mean, unmap)
from ..builder import HEADS, build_loss
from ..layers.scale import Scale
from ..utils.conv_module import ConvModule
from ..utils.gt_check import check_gt_bboxes
from ..utils.results import ATSSTargets, ImageATSSTargets
from .anchor_head import AnchorHead
from .atss_targets import ATSSTargetsMixin


@HEADS.register_module()
class DDODHead(ATSSTargetsMixin, AnchorHead):
    """Towers ``cls_convs`` / ``reg_convs`` (the first conv of each a DCN with ``use_dcn``),
    predictors ``atss_cls`` (A * C), ``atss_reg`` (A * 4), ``atss_iou`` (A), a ``Scale`` per
    level.

    Args:
        stacked_convs / conv_cfg / norm_cfg: the towers (GN(32) by default).
        use_dcn: the towers start with a deformable conv.
        loss_iou: loss config of the IoU branch (BCE).
        Other arguments: :class:`AnchorHead`; ``train_cfg.assigner`` is the classification
        assigner and ``train_cfg.reg_assigner`` the regression one.
    """

    def __init__(self, num_classes: int, in_channels: int, stacked_convs: int = 4,
                 conv_cfg: Optional[dict] = None, use_dcn: bool = True,
                 norm_cfg: Optional[dict] = dict(type='GN', num_groups=32, requires_grad=True),
                 loss_iou: Optional[dict] = None, **kwargs):
        self.stacked_convs = stacked_convs
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.use_dcn = use_dcn
        if loss_iou is None:
            loss_iou = dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)
        super().__init__(num_classes, in_channels, **kwargs)
        self.sampling = False
        if self.train_cfg:
            self.cls_assigner = build_assigner(copy.deepcopy(self.train_cfg.assigner))
            self.reg_assigner = build_assigner(copy.deepcopy(self.train_cfg.reg_assigner))
            self.sampler = build_sampler(dict(type='PseudoSampler'), context=self)
        self.loss_iou = build_loss(copy.deepcopy(loss_iou))

    def _init_layers(self) -> None:
        self.relu = nn.ReLU(inplace=True)
        self.cls_convs = nn.ModuleList()
        self.reg_convs = nn.ModuleList()
        for i in range(self.stacked_convs):
            chn = self.in_channels if i == 0 else self.feat_channels
            conv_cfg = dict(type='DCN', deform_groups=1) if i == 0 and self.use_dcn \
                else self.conv_cfg
            for convs in (self.cls_convs, self.reg_convs):
                convs.append(ConvModule(chn, self.feat_channels, 3, stride=1, padding=1,
                                        conv_cfg=copy.deepcopy(conv_cfg),
                                        norm_cfg=self.norm_cfg))
        self.atss_cls = nn.Conv2d(self.feat_channels,
                                  self.num_base_priors * self.cls_out_channels, 3, padding=1)
        self.atss_reg = nn.Conv2d(self.feat_channels, self.num_base_priors * 4, 3, padding=1)
        self.atss_iou = nn.Conv2d(self.feat_channels, self.num_base_priors * 1, 3, padding=1)
        self.scales = nn.ModuleList([Scale(1.0) for _ in self.prior_generator.strides])
        # positives seen per level so far (training-run state, as 2.x)
        self.cls_num_pos_samples_per_level = [0. for _ in self.prior_generator.strides]
        self.reg_num_pos_samples_per_level = [0. for _ in self.prior_generator.strides]

    def init_weights(self) -> None:
        """2.x's explicit init: Normal(0.01) convs, class bias for p=0.01."""
        for m in self.cls_convs:
            normal_init(m.conv, std=0.01)
        for m in self.reg_convs:
            normal_init(m.conv, std=0.01)
        normal_init(self.atss_reg, std=0.01)
        normal_init(self.atss_iou, std=0.01)
        normal_init(self.atss_cls, std=0.01, bias=bias_init_with_prob(0.01))

    def forward(self, feats: Sequence[Tensor]) -> Tuple[List[Tensor], List[Tensor],
                                                        List[Tensor]]:
        """L feature maps → (cls_scores, bbox_preds, iou_preds), lists over levels."""
        return multi_apply(self.forward_single, feats, self.scales)

    def forward_single(self, x: Tensor, scale: Scale) -> Tuple[Tensor, Tensor, Tensor]:
        """Of one level: (N, C_in, H, W) → cls_score (N, A * C, H, W), bbox_pred
        (N, A * 4, H, W) deltas, iou_pred (N, A, H, W) logits."""
        cls_feat = x
        reg_feat = x
        for cls_conv in self.cls_convs:
            cls_feat = cls_conv(cls_feat)
        for reg_conv in self.reg_convs:
            reg_feat = reg_conv(reg_feat)
        return (self.atss_cls(cls_feat), scale(self.atss_reg(reg_feat)).float(),
                self.atss_iou(reg_feat))

    def loss_cls_single(self, cls_score: Tensor, labels: Tensor, label_weights: Tensor,
                        reweight_factor: float, num_total_samples: float) -> Tuple[Tensor]:
        """Of one level: the reweighted classification loss."""
        cls_score = cls_score.permute(0, 2, 3, 1).reshape(-1, self.cls_out_channels).contiguous()
        loss_cls = self.loss_cls(cls_score, labels.reshape(-1), label_weights.reshape(-1),
                                 avg_factor=num_total_samples)
        return reweight_factor * loss_cls,

    def loss_reg_single(self, anchors: Tensor, bbox_pred: Tensor, iou_pred: Tensor,
                        labels: Tensor, label_weights: Tensor, bbox_targets: Tensor,
                        bbox_weights: Tensor, reweight_factor: float,
                        num_total_samples: float) -> Tuple[Tensor, Tensor]:
        """Of one level: the reweighted box loss (decoded boxes) and IoU-branch loss."""
        anchors = anchors.reshape(-1, 4)
        bbox_pred = bbox_pred.permute(0, 2, 3, 1).reshape(-1, 4)
        iou_pred = iou_pred.permute(0, 2, 3, 1).reshape(-1, )
        bbox_targets = bbox_targets.reshape(-1, 4)
        bbox_weights = bbox_weights.reshape(-1, 4)
        labels = labels.reshape(-1)
        iou_targets = label_weights.new_zeros(labels.shape)
        iou_weights = label_weights.new_zeros(labels.shape)
        iou_weights[(bbox_weights.sum(axis=1) > 0).nonzero(as_tuple=False)] = 1.
        pos_inds = ((labels >= 0) & (labels < self.num_classes)).nonzero(
            as_tuple=False).squeeze(1)
        if len(pos_inds) > 0:
            pos_anchors = anchors[pos_inds]
            pos_decoded = self.bbox_coder.decode(pos_anchors, bbox_pred[pos_inds])
            pos_decoded_targets = self.bbox_coder.decode(pos_anchors, bbox_targets[pos_inds])
            loss_bbox = self.loss_bbox(pos_decoded, pos_decoded_targets,
                                       avg_factor=num_total_samples)
            iou_targets[pos_inds] = bbox_overlaps(pos_decoded.detach(), pos_decoded_targets,
                                                  is_aligned=True)
            loss_iou = self.loss_iou(iou_pred, iou_targets, iou_weights,
                                     avg_factor=num_total_samples)
        else:
            loss_bbox = bbox_pred.sum() * 0
            loss_iou = iou_pred.sum() * 0
        return reweight_factor * loss_bbox, reweight_factor * loss_iou

    def calc_reweight_factor(self, labels_list: List[Tensor]) -> List[float]:
        """Per level 2 - (its positives so far, min-max normalised over levels): levels that
        have had few positives weigh up to twice as much. (Both branches count into the
        classification tally, as in 2.x.)"""
        for level, labels in enumerate(labels_list):
            pos_inds = ((labels >= 0) & (labels < self.num_classes)).nonzero(
                as_tuple=False).squeeze(1)
            self.cls_num_pos_samples_per_level[level] += len(pos_inds)
        min_pos = min(self.cls_num_pos_samples_per_level)
        max_pos = max(self.cls_num_pos_samples_per_level)
        interval = 1. / (max_pos - min_pos + 1e-10)
        return [2. - (pos - min_pos) * interval for pos in self.cls_num_pos_samples_per_level]

    def loss(self, cls_scores: List[Tensor], bbox_preds: List[Tensor], iou_preds: List[Tensor],
             gt_bboxes: List[Tensor], gt_labels: List[Tensor], img_metas: List[dict],
             gt_bboxes_ignore: Optional[List[Tensor]] = None) -> Dict[str, List[Tensor]]:
        """Per-level ``loss_cls`` (classification assignment), ``loss_bbox`` and ``loss_iou``
        (regression assignment)."""
        featmap_sizes = [featmap.size()[-2:] for featmap in cls_scores]
        if len(featmap_sizes) != self.prior_generator.num_levels:
            raise ValueError(f'{len(featmap_sizes)} feature levels but the anchor generator has '
                             f'{self.prior_generator.num_levels} strides')
        device = cls_scores[0].device
        anchor_list, valid_flag_list = self.get_anchors(featmap_sizes, img_metas, device=device)
        num_imgs = len(img_metas)
        flat_cls = [torch.cat([s[i].permute(1, 2, 0).reshape(-1, self.num_base_priors
                                                              * self.cls_out_channels)
                               for s in cls_scores]) for i in range(num_imgs)]
        flat_bbox = [torch.cat([b[i].permute(1, 2, 0).reshape(-1, self.num_base_priors * 4)
                                for b in bbox_preds]) for i in range(num_imgs)]
        losses = {}
        for is_cls in (True, False):
            targets = self.get_targets(anchor_list, valid_flag_list, flat_cls, flat_bbox,
                                       gt_bboxes, img_metas,
                                       gt_bboxes_ignore_list=gt_bboxes_ignore,
                                       gt_labels_list=gt_labels, is_cls_assigner=is_cls)
            num_total_samples = max(reduce_mean(torch.tensor(
                targets.num_total_pos, dtype=torch.float, device=device)).item(), 1.0)
            reweight = self.calc_reweight_factor(targets.labels_list)
            if is_cls:
                losses['loss_cls'], = multi_apply(
                    self.loss_cls_single, cls_scores, targets.labels_list,
                    targets.label_weights_list, reweight, num_total_samples=num_total_samples)
            else:
                losses['loss_bbox'], losses['loss_iou'] = multi_apply(
                    self.loss_reg_single, targets.anchors_list, bbox_preds, iou_preds,
                    targets.labels_list, targets.label_weights_list, targets.bbox_targets_list,
                    targets.bbox_weights_list, reweight, num_total_samples=num_total_samples)
        return losses

    def get_targets(self, anchor_list: List[List[Tensor]], valid_flag_list: List[List[Tensor]],
                    cls_score_list: List[Tensor], bbox_pred_list: List[Tensor],
                    gt_bboxes_list: List[Tensor], img_metas: List[dict],
                    gt_bboxes_ignore_list: Optional[List[Tensor]] = None,
                    gt_labels_list: Optional[List[Tensor]] = None, label_channels: int = 1,
                    unmap_outputs: bool = True, is_cls_assigner: bool = True) -> ATSSTargets:
        """Targets of N images (anchors per image, per level; predictions per image (P, A * C)
        and (P, A * 4)) by the classification or the regression assigner, per level."""
        num_imgs = len(img_metas)
        if not len(anchor_list) == len(valid_flag_list) == len(gt_bboxes_list) == num_imgs:
            raise ValueError(f'{num_imgs} img_metas but {len(anchor_list)} anchor lists and '
                             f'{len(gt_bboxes_list)} gt_bboxes: give one of each per image')
        check_gt_bboxes(gt_bboxes_list, img_metas, gt_labels_list,
                        None if gt_labels_list is None else self.num_classes)
        num_level_anchors = [anchors.size(0) for anchors in anchor_list[0]]
        if gt_bboxes_ignore_list is None:
            gt_bboxes_ignore_list = [None] * num_imgs
        if gt_labels_list is None:
            gt_labels_list = [None] * num_imgs
        (all_anchors, all_labels, all_label_weights, all_bbox_targets, all_bbox_weights,
         pos_inds_list, neg_inds_list) = multi_apply(
             self._get_target_single, [torch.cat(a) for a in anchor_list],
             [torch.cat(f) for f in valid_flag_list], cls_score_list, bbox_pred_list,
             [num_level_anchors] * num_imgs, gt_bboxes_list, gt_bboxes_ignore_list,
             gt_labels_list, img_metas, label_channels=label_channels,
             unmap_outputs=unmap_outputs, is_cls_assigner=is_cls_assigner)
        return ATSSTargets(images_to_levels(all_anchors, num_level_anchors),
                           images_to_levels(all_labels, num_level_anchors),
                           images_to_levels(all_label_weights, num_level_anchors),
                           images_to_levels(all_bbox_targets, num_level_anchors),
                           images_to_levels(all_bbox_weights, num_level_anchors),
                           sum(max(inds.numel(), 1) for inds in pos_inds_list),
                           sum(max(inds.numel(), 1) for inds in neg_inds_list))

    def get_cls_targets(self, *args, **kwargs) -> ATSSTargets:
        """``get_targets`` with the classification assigner."""
        return self.get_targets(*args, is_cls_assigner=True, **kwargs)

    def get_reg_targets(self, *args, **kwargs) -> ATSSTargets:
        """``get_targets`` with the regression assigner."""
        return self.get_targets(*args, is_cls_assigner=False, **kwargs)

    def _pos_bbox_targets(self, sampling_result) -> Tensor:
        # DDOD always regresses the coder's deltas.
        return self.bbox_coder.encode(sampling_result.pos_bboxes, sampling_result.pos_gt_bboxes)

    def _get_target_single(self, flat_anchors: Tensor, valid_flags: Tensor, cls_scores: Tensor,
                           bbox_preds: Tensor, num_level_anchors: List[int], gt_bboxes: Tensor,
                           gt_bboxes_ignore: Optional[Tensor], gt_labels: Optional[Tensor],
                           img_meta: dict, label_channels: int = 1, unmap_outputs: bool = True,
                           is_cls_assigner: bool = True) -> ImageATSSTargets:
        """Of one image: the ATSS assignment of one branch, from the anchors (P, 4) and the
        predictions (P, A * C) / (P, A * 4)."""
        inside_flags = self._inside_anchors(flat_anchors, valid_flags, img_meta)
        anchors = flat_anchors[inside_flags, :]
        num_level_anchors_inside = self.get_num_level_anchors_inside(num_level_anchors,
                                                                     inside_flags)
        assigner = self.cls_assigner if is_cls_assigner else self.reg_assigner
        bbox_preds_valid = self.bbox_coder.decode(anchors, bbox_preds[inside_flags, :])
        assign_result = assigner.assign(anchors, num_level_anchors_inside, gt_bboxes,
                                        gt_bboxes_ignore, gt_labels,
                                        cls_scores[inside_flags, :], bbox_preds_valid)
        sampling_result = self.sampler.sample(assign_result, anchors, gt_bboxes)
        labels, label_weights, bbox_targets, bbox_weights = self._fill_targets(
            anchors, sampling_result, gt_labels)
        if unmap_outputs:
            num_total = flat_anchors.size(0)
            anchors = unmap(anchors, num_total, inside_flags)
            labels = unmap(labels, num_total, inside_flags, fill=self.num_classes)
            label_weights = unmap(label_weights, num_total, inside_flags)
            bbox_targets = unmap(bbox_targets, num_total, inside_flags)
            bbox_weights = unmap(bbox_weights, num_total, inside_flags)
        return ImageATSSTargets(anchors, labels, label_weights, bbox_targets, bbox_weights,
                                sampling_result.pos_inds, sampling_result.neg_inds)
