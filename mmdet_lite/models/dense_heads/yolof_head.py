"""YOLOFHead: the single-level head of YOLOF (Chen et al., "You Only Look One-level Feature",
2021): class scores normalised by an implicit objectness, boxes from anchors of five scales on
one stride-32 map, uniform matching of k anchors and k predictions per object.

Shape shorthand:
    N: images in the batch     A: anchors per location (5)     C: classes (sigmoid)
    H, W: size of the one level                               P = H * W * A anchors
"""
from typing import Dict, List, Optional, Tuple

import torch
from mmengine.model import bias_init_with_prob, constant_init, normal_init
from mmengine.utils.dl_utils import is_norm
from torch import Tensor, nn

from ...core import anchor_inside_flags, multi_apply, reduce_mean, unmap
from ..builder import HEADS
from ..utils.conv_module import ConvModule
from ..utils.gt_check import check_gt_bboxes
from .anchor_head import AnchorHead
from .paa_head import levels_to_images

INF = 1e8


@HEADS.register_module()
class YOLOFHead(AnchorHead):
    """``cls_subnet`` (``num_cls_convs`` ConvModules) → ``cls_score`` (A * C);
    ``bbox_subnet`` (``num_reg_convs``) → ``bbox_pred`` (A * 4) and ``object_pred`` (A), all at
    ``in_channels`` width.

    Args:
        num_cls_convs / num_reg_convs: depth of the two subnets.
        norm_cfg: their norm (BN).
        Other arguments: :class:`AnchorHead` (``train_cfg.assigner`` is ``UniformAssigner``).

    Outputs: cls_score (N, A * C, H, W) = log(sigmoid-normalised class x objectness) logits,
    bbox_pred (N, A * 4, H, W) deltas; one level only.
    """

    def __init__(self, num_classes: int, in_channels: int, num_cls_convs: int = 2,
                 num_reg_convs: int = 4,
                 norm_cfg: Optional[dict] = dict(type='BN', requires_grad=True), **kwargs):
        self.num_cls_convs = num_cls_convs
        self.num_reg_convs = num_reg_convs
        self.norm_cfg = norm_cfg
        super().__init__(num_classes, in_channels, **kwargs)

    def _init_layers(self) -> None:
        self.cls_subnet = nn.Sequential(*[
            ConvModule(self.in_channels, self.in_channels, kernel_size=3, padding=1,
                       norm_cfg=self.norm_cfg) for _ in range(self.num_cls_convs)])
        self.bbox_subnet = nn.Sequential(*[
            ConvModule(self.in_channels, self.in_channels, kernel_size=3, padding=1,
                       norm_cfg=self.norm_cfg) for _ in range(self.num_reg_convs)])
        self.cls_score = nn.Conv2d(self.in_channels, self.num_base_priors * self.num_classes,
                                   kernel_size=3, stride=1, padding=1)
        self.bbox_pred = nn.Conv2d(self.in_channels, self.num_base_priors * 4, kernel_size=3,
                                   stride=1, padding=1)
        self.object_pred = nn.Conv2d(self.in_channels, self.num_base_priors, kernel_size=3,
                                     stride=1, padding=1)

    def init_weights(self) -> None:
        """2.x's explicit init: Normal(0.01) convs, unit norms, class bias for p=0.01."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                normal_init(m, mean=0, std=0.01)
            if is_norm(m):
                constant_init(m, 1)
        torch.nn.init.constant_(self.cls_score.bias, bias_init_with_prob(0.01))

    def forward_single(self, feature: Tensor) -> Tuple[Tensor, Tensor]:
        """(N, C_in, H, W) → cls_score (N, A * C, H, W), bbox_pred (N, A * 4, H, W)."""
        cls_score = self.cls_score(self.cls_subnet(feature))
        n, _, h, w = cls_score.shape
        cls_score = cls_score.view(n, -1, self.num_classes, h, w)
        reg_feat = self.bbox_subnet(feature)
        bbox_reg = self.bbox_pred(reg_feat)
        objectness = self.object_pred(reg_feat).view(n, -1, 1, h, w)
        # log(sigmoid(c) * sigmoid(o)) rewritten as a logit, with the exps clamped
        normalized_cls_score = cls_score + objectness - torch.log(
            1. + torch.clamp(cls_score.exp(), max=INF) + torch.clamp(objectness.exp(), max=INF))
        return normalized_cls_score.view(n, -1, h, w), bbox_reg

    def loss(self, cls_scores: List[Tensor], bbox_preds: List[Tensor], gt_bboxes: List[Tensor],
             gt_labels: List[Tensor], img_metas: List[dict],
             gt_bboxes_ignore: Optional[List[Tensor]] = None) -> Dict[str, Tensor]:
        """``loss_cls`` (focal) and ``loss_bbox`` (GIoU of the matched predictions)."""
        if len(cls_scores) != 1 or self.prior_generator.num_levels != 1:
            raise ValueError(f'YOLOFHead works on one level; got {len(cls_scores)} feature maps '
                             f'and {self.prior_generator.num_levels} anchor strides')
        device = cls_scores[0].device
        featmap_sizes = [featmap.size()[-2:] for featmap in cls_scores]
        anchor_list, valid_flag_list = self.get_anchors(featmap_sizes, img_metas, device=device)
        anchor_list = [anchors[0] for anchors in anchor_list]
        valid_flag_list = [valid_flags[0] for valid_flags in valid_flag_list]
        cls_scores_list = levels_to_images(cls_scores)
        bbox_preds_list = levels_to_images(bbox_preds)
        label_channels = self.cls_out_channels if self.use_sigmoid_cls else 1
        (batch_labels, batch_label_weights, num_total_pos, num_total_neg, batch_bbox_weights,
         batch_pos_predicted_boxes, batch_target_boxes) = self.get_targets(
             cls_scores_list, bbox_preds_list, anchor_list, valid_flag_list, gt_bboxes,
             img_metas, gt_bboxes_ignore_list=gt_bboxes_ignore, gt_labels_list=gt_labels,
             label_channels=label_channels)
        cls_score = cls_scores[0].permute(0, 2, 3, 1).reshape(-1, self.cls_out_channels)
        num_total_samples = num_total_pos + num_total_neg if self.sampling else num_total_pos
        num_total_samples = reduce_mean(cls_score.new_tensor(num_total_samples)).clamp_(
            1.0).item()
        loss_cls = self.loss_cls(cls_score, batch_labels.reshape(-1),
                                 batch_label_weights.reshape(-1), avg_factor=num_total_samples)
        if batch_pos_predicted_boxes.shape[0] == 0:
            # zero, in the graph through the predictions
            loss_bbox = bbox_preds[0].sum() * 0
        else:
            loss_bbox = self.loss_bbox(batch_pos_predicted_boxes, batch_target_boxes,
                                       batch_bbox_weights.float(), avg_factor=num_total_samples)
        return dict(loss_cls=loss_cls, loss_bbox=loss_bbox)

    def get_targets(self, cls_scores_list: List[Tensor], bbox_preds_list: List[Tensor],
                    anchor_list: List[Tensor], valid_flag_list: List[Tensor],
                    gt_bboxes_list: List[Tensor], img_metas: List[dict],
                    gt_bboxes_ignore_list: Optional[List[Tensor]] = None,
                    gt_labels_list: Optional[List[Tensor]] = None, label_channels: int = 1,
                    unmap_outputs: bool = True) -> tuple:
        """Targets of N images from their anchors (P, 4) and predictions (P, 4).

        Returns:
            ``(batch_labels (N, P), batch_label_weights (N, P), num_total_pos,
            num_total_neg, pos_bbox_weights (n,), pos_predicted_boxes (n, 4),
            target_boxes (n, 4))``, the last three over the matched pairs of all images.
        """
        num_imgs = len(img_metas)
        if not len(anchor_list) == len(valid_flag_list) == len(gt_bboxes_list) == num_imgs:
            raise ValueError(f'{num_imgs} img_metas but {len(anchor_list)} anchor lists and '
                             f'{len(gt_bboxes_list)} gt_bboxes: give one of each per image')
        check_gt_bboxes(gt_bboxes_list, img_metas, gt_labels_list,
                        None if gt_labels_list is None else self.num_classes)
        if gt_bboxes_ignore_list is None:
            gt_bboxes_ignore_list = [None] * num_imgs
        if gt_labels_list is None:
            gt_labels_list = [None] * num_imgs
        results = multi_apply(self._get_targets_single, bbox_preds_list, anchor_list,
                              valid_flag_list, gt_bboxes_list, gt_bboxes_ignore_list,
                              gt_labels_list, img_metas, label_channels=label_channels,
                              unmap_outputs=unmap_outputs)
        all_labels, all_label_weights, pos_inds_list, neg_inds_list, _ = results[:5]
        num_total_pos = sum(max(inds.numel(), 1) for inds in pos_inds_list)
        num_total_neg = sum(max(inds.numel(), 1) for inds in neg_inds_list)
        return (torch.stack(all_labels, 0), torch.stack(all_label_weights, 0), num_total_pos,
                num_total_neg) + tuple(torch.cat(rest, 0) for rest in results[5:])

    def _get_targets_single(self, bbox_preds: Tensor, flat_anchors: Tensor,
                            valid_flags: Tensor, gt_bboxes: Tensor,
                            gt_bboxes_ignore: Optional[Tensor], gt_labels: Optional[Tensor],
                            img_meta: dict, label_channels: int = 1,
                            unmap_outputs: bool = True) -> tuple:
        """Of one image: uniform matching of the decoded predictions and the anchors; labels
        (P,), label_weights (P,), pos/neg indices, the sampling result, and the matched pairs'
        weights (n,) (False where the prediction overlaps its object too little), predicted
        boxes (n, 4) and target boxes (n, 4)."""
        allowed_border = self.train_cfg.get('allowed_border', -1)
        inside_flags = anchor_inside_flags(flat_anchors, valid_flags, img_meta['img_shape'][:2],
                                           allowed_border)
        if not inside_flags.any():
            raise ValueError(
                f"no anchor lies inside image {img_meta.get('filename', '<no filename>')!r} "
                f"(img_shape={tuple(img_meta['img_shape'])}); set allowed_border=-1")
        anchors = flat_anchors[inside_flags, :]
        bbox_preds = bbox_preds.reshape(-1, 4)[inside_flags, :]
        decoded_bbox_preds = self.bbox_coder.decode(anchors, bbox_preds)
        assign_result = self.assigner.assign(decoded_bbox_preds, anchors, gt_bboxes,
                                             gt_bboxes_ignore,
                                             None if self.sampling else gt_labels)
        pos_bbox_weights = assign_result.get_extra_property('pos_idx')
        pos_predicted_boxes = assign_result.get_extra_property('pos_predicted_boxes')
        pos_target_boxes = assign_result.get_extra_property('target_boxes')
        sampling_result = self.sampler.sample(assign_result, anchors, gt_bboxes)
        num_valid = anchors.shape[0]
        labels = anchors.new_full((num_valid,), self.num_classes, dtype=torch.long)
        label_weights = anchors.new_zeros(num_valid, dtype=torch.float)
        pos_inds = sampling_result.pos_inds
        neg_inds = sampling_result.neg_inds
        if len(pos_inds) > 0:
            if gt_labels is None:
                labels[pos_inds] = 0
            else:
                labels[pos_inds] = gt_labels[sampling_result.pos_assigned_gt_inds]
            pos_weight = self.train_cfg.get('pos_weight', -1)
            label_weights[pos_inds] = 1.0 if pos_weight <= 0 else pos_weight
        if len(neg_inds) > 0:
            label_weights[neg_inds] = 1.0
        if unmap_outputs:
            num_total = flat_anchors.size(0)
            labels = unmap(labels, num_total, inside_flags, fill=self.num_classes)
            label_weights = unmap(label_weights, num_total, inside_flags)
        return (labels, label_weights, pos_inds, neg_inds, sampling_result, pos_bbox_weights,
                pos_predicted_boxes, pos_target_boxes)
