"""AutoAssignHead: differentiable label assignment (Zhu et al., "AutoAssign: Differentiable
Label Assignment for Dense Object Detection", 2020): every location inside a box is weighted
as positive and negative at once, by a learned per-class Gaussian centre prior and the
prediction's own confidence.

Shape shorthand:
    N: images in the batch     L: FPN levels     C: classes (sigmoid)
    P: locations of one image (all levels)       k: boxes of one image
"""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.model import bias_init_with_prob, normal_init
from torch import Tensor, nn

from ...core import MlvlPointGenerator, bbox_overlaps, multi_apply, reduce_mean
from ..builder import HEADS
from ..layers.scale import Scale
from .anchor_free_head import AnchorFreeHead
from .fcos_head import FCOSHead
from .paa_head import levels_to_images

EPS = 1e-12


class CenterPrior(nn.Module):
    """Per class a learned 2-D Gaussian (``mean``, ``sigma`` (C, 2), in strides) of where, around
    a box's centre, its positives lie.

    Args:
        force_topk: a box with no location inside gets its ``topk`` best-prior locations.
        topk: see ``force_topk``.
        num_classes: C.
        strides: the levels' strides.
    """

    def __init__(self, force_topk: bool = False, topk: int = 9, num_classes: int = 80,
                 strides: Sequence[int] = (8, 16, 32, 64, 128)):
        super().__init__()
        self.mean = nn.Parameter(torch.zeros(num_classes, 2))
        self.sigma = nn.Parameter(torch.ones(num_classes, 2))
        self.strides = strides
        self.force_topk = force_topk
        self.topk = topk

    def forward(self, anchor_points_list: List[Tensor], gt_bboxes: Tensor, labels: Tensor,
                inside_gt_bbox_mask: Tensor) -> Tuple[Tensor, Tensor]:
        """Of one image: the prior (P, k) of each location for each box (zero outside the box)
        and the inside mask (P, k) (widened by ``force_topk``); ``anchor_points_list`` holds the
        L levels' points (P_l, 2)."""
        inside_gt_bbox_mask = inside_gt_bbox_mask.clone()
        num_gts = len(labels)
        num_points = sum(len(item) for item in anchor_points_list)
        if num_gts == 0:
            return gt_bboxes.new_zeros(num_points, num_gts), inside_gt_bbox_mask
        gt_center = torch.stack(((gt_bboxes[:, 0] + gt_bboxes[:, 2]) / 2,
                                 (gt_bboxes[:, 1] + gt_bboxes[:, 3]) / 2), dim=1)[None]
        instance_center = self.mean[labels][None]
        instance_sigma = self.sigma[labels][None]
        center_prior_list = []
        for points, stride in zip(anchor_points_list, self.strides):
            points = points[:, None, :].expand((points.size(0), len(gt_bboxes), 2))
            distance = ((points - gt_center) / float(stride) - instance_center) ** 2
            center_prior_list.append(
                torch.exp(-distance / (2 * instance_sigma ** 2)).prod(dim=-1))
        center_prior_weights = torch.cat(center_prior_list, dim=0)
        if self.force_topk:
            empty_gts = torch.nonzero(inside_gt_bbox_mask.sum(0) == 0).reshape(-1)
            if empty_gts.numel():
                topk_center_index = center_prior_weights[:, empty_gts].topk(self.topk, dim=0)[1]
                inside_gt_bbox_mask[:, empty_gts] = torch.scatter(
                    inside_gt_bbox_mask[:, empty_gts], dim=0, index=topk_center_index,
                    src=torch.ones_like(topk_center_index, dtype=torch.bool))
        center_prior_weights[~inside_gt_bbox_mask] = 0
        return center_prior_weights, inside_gt_bbox_mask


@HEADS.register_module()
class AutoAssignHead(FCOSHead):
    """FCOSHead's layers (``conv_centerness`` predicts the objectness, on the regression tower;
    tower convs with bias) and ``center_prior``.

    Args:
        force_topk / topk: see :class:`CenterPrior`.
        pos_loss_weight / neg_loss_weight / center_loss_weight: weights of the three losses.
        Other arguments: :class:`FCOSHead`.

    Outputs per level: cls_score (N, C, H, W), bbox_pred (N, 4, H, W) distances in pixels
    (ReLU times the stride), objectness (N, 1, H, W) logits.
    """

    def __init__(self, *args, force_topk: bool = False, topk: int = 9,
                 pos_loss_weight: float = 0.25, neg_loss_weight: float = 0.75,
                 center_loss_weight: float = 0.75, **kwargs):
        super().__init__(*args, conv_bias=True, **kwargs)
        self.center_prior = CenterPrior(force_topk=force_topk, topk=topk,
                                        num_classes=self.num_classes, strides=self.strides)
        self.pos_loss_weight = pos_loss_weight
        self.neg_loss_weight = neg_loss_weight
        self.center_loss_weight = center_loss_weight
        self.prior_generator = MlvlPointGenerator(self.strides, offset=0)

    def init_weights(self) -> None:
        """``init_cfg``, then the class bias for p=0.02 and the box bias 4 (2.x)."""
        super().init_weights()
        normal_init(self.conv_cls, std=0.01, bias=bias_init_with_prob(0.02))
        normal_init(self.conv_reg, std=0.01, bias=4.0)

    def forward_single(self, x: Tensor, scale: Scale, stride: int) -> Tuple[Tensor, Tensor,
                                                                          Tensor]:
        """Of one level: (N, C_in, H, W) → cls_score, bbox_pred, objectness (class docstring)."""
        cls_score, bbox_pred, cls_feat, reg_feat = AnchorFreeHead.forward_single(self, x)
        objectness = self.conv_centerness(reg_feat)
        bbox_pred = scale(bbox_pred).float().clamp(min=0) * stride
        return cls_score, bbox_pred, objectness

    def get_pos_loss_single(self, cls_score: Tensor, objectness: Tensor, reg_loss: Tensor,
                            gt_labels: Tensor, center_prior_weights: Tensor) -> Tuple[Tensor]:
        """Of one image: each box's positive likelihood, a confidence- and prior-weighted mean
        over its locations of class x objectness x exp(-box loss), against 1."""
        p_loc = torch.exp(-reg_loss)
        p_cls = (cls_score * objectness)[:, gt_labels]
        p_pos = p_cls * p_loc
        confidence_weight = torch.exp(p_pos * 3)
        p_pos_weight = (confidence_weight * center_prior_weights) / (
            (confidence_weight * center_prior_weights).sum(0, keepdim=True)).clamp(min=EPS)
        reweighted_p_pos = (p_pos * p_pos_weight).sum(0)
        pos_loss = F.binary_cross_entropy(reweighted_p_pos, torch.ones_like(reweighted_p_pos),
                                          reduction='none')
        return pos_loss.sum() * self.pos_loss_weight,

    def get_neg_loss_single(self, cls_score: Tensor, objectness: Tensor, gt_labels: Tensor,
                            ious: Tensor, inside_gt_bbox_mask: Tensor) -> Tuple[Tensor]:
        """Of one image: focal-style background loss of every (location, class), relieved
        inside boxes of that class by the predicted box's IoU (normalised per box)."""
        num_gts = len(gt_labels)
        joint_conf = cls_score * objectness
        p_neg_weight = torch.ones_like(joint_conf)
        if num_gts > 0:
            inside_gt_bbox_mask = inside_gt_bbox_mask.permute(1, 0)
            ious = ious.permute(1, 0)
            foreground_idxs = torch.nonzero(inside_gt_bbox_mask, as_tuple=True)
            temp_weight = 1 / (1 - ious[foreground_idxs]).clamp_(EPS)
            for instance_idx in range(num_gts):
                idxs = foreground_idxs[0] == instance_idx
                if idxs.any():
                    w = temp_weight[idxs]
                    temp_weight[idxs] = (w - w.min() + EPS) / (w.max() - w.min() + EPS)
            p_neg_weight[foreground_idxs[1], gt_labels[foreground_idxs[0]]] = 1 - temp_weight
        logits = joint_conf * p_neg_weight
        neg_loss = logits ** 2 * F.binary_cross_entropy(logits, torch.zeros_like(logits),
                                                        reduction='none')
        return neg_loss.sum() * self.neg_loss_weight,

    def loss(self, cls_scores: List[Tensor], bbox_preds: List[Tensor],
             objectnesses: List[Tensor], gt_bboxes: List[Tensor], gt_labels: List[Tensor],
             img_metas: List[dict],
             gt_bboxes_ignore: Optional[List[Tensor]] = None) -> Dict[str, Tensor]:
        """``loss_pos`` (per box), ``loss_neg`` (per summed prior) and ``loss_center``."""
        if not len(cls_scores) == len(bbox_preds) == len(objectnesses):
            raise ValueError('cls_scores, bbox_preds and objectnesses need the same levels')
        all_num_gt = sum(len(item) for item in gt_bboxes)
        featmap_sizes = [featmap.size()[-2:] for featmap in cls_scores]
        all_level_points = self.prior_generator.grid_priors(
            featmap_sizes, dtype=bbox_preds[0].dtype, device=bbox_preds[0].device)
        inside_gt_bbox_mask_list, bbox_targets_list = self.get_targets(all_level_points,
                                                                       gt_bboxes)
        center_prior_weight_list, masks = [], []
        for gt_bbox, gt_label, inside_mask in zip(gt_bboxes, gt_labels,
                                                  inside_gt_bbox_mask_list):
            weight, inside_mask = self.center_prior(all_level_points, gt_bbox, gt_label,
                                                    inside_mask)
            center_prior_weight_list.append(weight)
            masks.append(inside_mask)
        inside_gt_bbox_mask_list = masks
        mlvl_points = torch.cat(all_level_points, dim=0)
        bbox_preds = levels_to_images(bbox_preds)
        cls_scores = levels_to_images(cls_scores)
        objectnesses = levels_to_images(objectnesses)
        reg_loss_list, ious_list = [], []
        num_points = len(mlvl_points)
        for bbox_pred, encoded_targets, inside_mask in zip(bbox_preds, bbox_targets_list,
                                                           inside_gt_bbox_mask_list):
            num_gt = encoded_targets.size(1)
            points = mlvl_points[:, None, :].expand(num_points, num_gt, 2).reshape(-1, 2)
            decoded_bbox_preds = self.bbox_coder.decode(
                points, bbox_pred[:, None, :].expand(num_points, num_gt, 4).reshape(-1, 4))
            decoded_targets = self.bbox_coder.decode(points, encoded_targets.reshape(-1, 4))
            with torch.no_grad():
                ious = bbox_overlaps(decoded_bbox_preds, decoded_targets, is_aligned=True)
                ious = ious.reshape(num_points, num_gt)
                if num_gt:
                    ious = ious.max(dim=-1, keepdim=True).values.repeat(1, num_gt)
                else:
                    ious = ious.new_zeros(num_points, num_gt)
                ious[~inside_mask] = 0
                ious_list.append(ious)
            if num_gt == 0:
                # (mmdet_lite's IoU losses give a scalar zero for empty input, not (0,))
                reg_loss_list.append(decoded_bbox_preds.new_zeros(num_points, 0))
                continue
            loss_bbox = self.loss_bbox(decoded_bbox_preds, decoded_targets, weight=None,
                                       reduction_override='none')
            reg_loss_list.append(loss_bbox.reshape(num_points, num_gt))
        cls_scores = [item.sigmoid() for item in cls_scores]
        objectnesses = [item.sigmoid() for item in objectnesses]
        pos_loss_list, = multi_apply(self.get_pos_loss_single, cls_scores, objectnesses,
                                     reg_loss_list, gt_labels, center_prior_weight_list)
        pos_avg_factor = reduce_mean(bbox_preds[0].new_tensor(all_num_gt)).clamp_(min=1)
        pos_loss = sum(pos_loss_list) / pos_avg_factor
        neg_loss_list, = multi_apply(self.get_neg_loss_single, cls_scores, objectnesses,
                                     gt_labels, ious_list, inside_gt_bbox_mask_list)
        neg_avg_factor = sum(item.data.sum() for item in center_prior_weight_list)
        neg_avg_factor = reduce_mean(neg_avg_factor).clamp_(min=1)
        neg_loss = sum(neg_loss_list) / neg_avg_factor
        center_loss = []
        for i in range(len(img_metas)):
            if inside_gt_bbox_mask_list[i].any():
                center_loss.append(len(gt_bboxes[i])
                                   / center_prior_weight_list[i].sum().clamp_(min=EPS))
            else:
                center_loss.append(center_prior_weight_list[i].sum() * 0)
        center_loss = torch.stack(center_loss).mean() * self.center_loss_weight
        if all_num_gt == 0:
            # zero, with every parameter in the graph (DDP)
            pos_loss = bbox_preds[0].sum() * 0
            center_loss = (objectnesses[0].sum() * 0 + self.center_prior.mean.sum() * 0
                           + self.center_prior.sigma.sum() * 0)
        return dict(loss_pos=pos_loss, loss_neg=neg_loss, loss_center=center_loss)

    def get_targets(self, points: List[Tensor],
                    gt_bboxes_list: List[Tensor]) -> Tuple[List[Tensor], List[Tensor]]:
        """Per image: whether each location is inside each box (P, k) and its distances to
        the box sides (P, k, 4)."""
        return multi_apply(self._get_target_single, gt_bboxes_list,
                           points=torch.cat(points, dim=0))

    def _get_target_single(self, gt_bboxes: Tensor, points: Tensor) -> Tuple[Tensor, Tensor]:
        """Of one image: inside mask (P, k) and side distances (P, k, 4) of P points (P, 2)."""
        num_points = points.size(0)
        num_gts = gt_bboxes.size(0)
        gt_bboxes = gt_bboxes[None].expand(num_points, num_gts, 4)
        xs = points[:, 0, None]
        ys = points[:, 1, None]
        bbox_targets = torch.stack((xs - gt_bboxes[..., 0], ys - gt_bboxes[..., 1],
                                    gt_bboxes[..., 2] - xs, gt_bboxes[..., 3] - ys), -1)
        if num_gts:
            inside_gt_bbox_mask = bbox_targets.min(-1)[0] > 0
        else:
            inside_gt_bbox_mask = bbox_targets.new_zeros((num_points, num_gts), dtype=torch.bool)
        return inside_gt_bbox_mask, bbox_targets
