"""SimOTA (YOLOX): cost-based dynamic-k matching of predictions to GTs."""
import warnings
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from mmdet_lite.registry import TASK_UTILS
from ..iou_calculators import bbox_overlaps
from .assign_result import AssignResult
from .base_assigner import BaseAssigner

INF = 100000.0


@TASK_UTILS.register_module()
class SimOTAAssigner(BaseAssigner):
    """SimOTA assignment (https://arxiv.org/abs/2107.08430).

    Only priors whose point lies inside some GT or inside some GT's centre box (half-size
    ``center_radius * stride``) are candidates (*valid*). Cost of (prior, GT):
    ``cls_weight * BCE(sqrt(score), one-hot label) + iou_weight * -log(IoU + eps)`` plus INF
    unless the point is inside both that GT and its centre box. Each GT takes its
    ``k = max(1, int(sum of its top-candidate_topk IoUs))`` cheapest priors; a prior taken by
    several GTs keeps the cheapest one.

    Args:
        center_radius: half-size of a GT's centre box, in strides.
        candidate_topk: number of top IoUs summed for a GT's dynamic k.
        iou_weight: weight of the IoU cost.
        cls_weight: weight of the classification cost.
    """

    def __init__(self, center_radius: float = 2.5, candidate_topk: int = 10,
                 iou_weight: float = 3.0, cls_weight: float = 1.0) -> None:
        self.center_radius = center_radius
        self.candidate_topk = candidate_topk
        self.iou_weight = iou_weight
        self.cls_weight = cls_weight

    def assign(self, pred_scores: Tensor, priors: Tensor, decoded_bboxes: Tensor,
               gt_bboxes: Tensor, gt_labels: Tensor, gt_bboxes_ignore: Optional[Tensor] = None,
               eps: float = 1e-7) -> AssignResult:
        """Assign GTs to the priors of one image (on the CPU if the GPU runs out of memory).

        Args:
            pred_scores: (n, num_classes) predicted probabilities (after sigmoid).
            priors: (n, 4) priors (x, y, stride_w, stride_h).
            decoded_bboxes: (n, 4) predicted xyxy boxes.
            gt_bboxes: (k, 4) ground truths.
            gt_labels: (k,) labels.
            gt_bboxes_ignore: not used (accepted for the common assigner signature).
            eps: added to the IoU inside the log.

        Returns:
            AssignResult over the n priors; ``max_overlaps`` holds the IoU of each positive
            prediction with its GT and -INF elsewhere.
        """
        try:
            return self._assign(pred_scores, priors, decoded_bboxes, gt_bboxes, gt_labels, eps)
        except torch.cuda.OutOfMemoryError:
            device = pred_scores.device
            warnings.warn('SimOTAAssigner: out of GPU memory while assigning; this batch is '
                          'assigned on the CPU. Reduce the batch or image size to avoid it.')
            torch.cuda.empty_cache()
            result = self._assign(pred_scores.cpu(), priors.cpu(), decoded_bboxes.cpu(),
                                  gt_bboxes.cpu().float(), gt_labels.cpu(), eps)
            result.gt_inds = result.gt_inds.to(device)
            result.max_overlaps = result.max_overlaps.to(device)
            result.labels = result.labels.to(device)
            return result

    def _assign(self, pred_scores: Tensor, priors: Tensor, decoded_bboxes: Tensor,
                gt_bboxes: Tensor, gt_labels: Tensor, eps: float) -> AssignResult:
        num_gt = gt_bboxes.size(0)
        num_bboxes = decoded_bboxes.size(0)
        assigned_gt_inds = decoded_bboxes.new_zeros((num_bboxes, ), dtype=torch.long)
        valid_mask, is_in_boxes_and_center = self.get_in_gt_and_in_center_info(priors, gt_bboxes)
        valid_decoded_bbox = decoded_bboxes[valid_mask]
        valid_pred_scores = pred_scores[valid_mask]
        num_valid = valid_decoded_bbox.size(0)
        if num_gt == 0 or num_bboxes == 0 or num_valid == 0:
            labels = None if gt_labels is None else assigned_gt_inds.new_full((num_bboxes, ), -1)
            return AssignResult(num_gt, assigned_gt_inds, decoded_bboxes.new_zeros((num_bboxes, )),
                                labels=labels)

        pairwise_ious = bbox_overlaps(valid_decoded_bbox, gt_bboxes)
        iou_cost = -torch.log(pairwise_ious + eps)
        gt_onehot_label = F.one_hot(gt_labels.to(torch.int64),
                                    pred_scores.shape[-1]).float()[None].repeat(num_valid, 1, 1)
        scores = valid_pred_scores[:, None, :].repeat(1, num_gt, 1)
        cls_cost = F.binary_cross_entropy(scores.to(dtype=torch.float32).sqrt(),
                                          gt_onehot_label,
                                          reduction='none').sum(-1).to(dtype=scores.dtype)
        cost_matrix = (cls_cost * self.cls_weight + iou_cost * self.iou_weight +
                       (~is_in_boxes_and_center) * INF)

        matched_pred_ious, matched_gt_inds, fg_mask = self.dynamic_k_matching(
            cost_matrix, pairwise_ious, num_gt)
        pos_mask = valid_mask.clone()
        pos_mask[valid_mask] = fg_mask
        assigned_gt_inds[pos_mask] = matched_gt_inds + 1
        assigned_labels = assigned_gt_inds.new_full((num_bboxes, ), -1)
        assigned_labels[pos_mask] = gt_labels[matched_gt_inds].long()
        max_overlaps = torch.full((num_bboxes, ), -INF, dtype=torch.float32,
                                  device=decoded_bboxes.device)
        max_overlaps[pos_mask] = matched_pred_ious
        return AssignResult(num_gt, assigned_gt_inds, max_overlaps, labels=assigned_labels)

    def get_in_gt_and_in_center_info(self, priors: Tensor,
                                     gt_bboxes: Tensor) -> Tuple[Tensor, Tensor]:
        """(n,) flags of the priors inside any GT or any GT's centre box, and for those the
        (n_valid, k) flags of being inside both the GT and its centre box."""
        x = priors[:, 0:1]
        y = priors[:, 1:2]
        stride_x = priors[:, 2:3]
        stride_y = priors[:, 3:4]
        in_gts = torch.stack([x - gt_bboxes[:, 0], y - gt_bboxes[:, 1], gt_bboxes[:, 2] - x,
                              gt_bboxes[:, 3] - y], dim=1).min(dim=1).values > 0
        gt_cxs = (gt_bboxes[:, 0] + gt_bboxes[:, 2]) / 2.0
        gt_cys = (gt_bboxes[:, 1] + gt_bboxes[:, 3]) / 2.0
        ct_l = gt_cxs - self.center_radius * stride_x
        ct_t = gt_cys - self.center_radius * stride_y
        ct_r = gt_cxs + self.center_radius * stride_x
        ct_b = gt_cys + self.center_radius * stride_y
        in_cts = torch.stack([x - ct_l, y - ct_t, ct_r - x, ct_b - y],
                             dim=1).min(dim=1).values > 0
        valid = in_gts.any(dim=1) | in_cts.any(dim=1)
        return valid, in_gts[valid, :] & in_cts[valid, :]

    def dynamic_k_matching(self, cost: Tensor, pairwise_ious: Tensor,
                           num_gt: int) -> Tuple[Tensor, Tensor, Tensor]:
        """Dynamic-k matching on the (n_valid, k) cost and IoU matrices.

        Returns:
            (p,) IoU of each matched prediction with its GT, (p,) 0-based GT index of each, and
            the (n_valid,) flags of the matched predictions.
        """
        matching_matrix = torch.zeros_like(cost, dtype=torch.uint8)
        candidate_topk = min(self.candidate_topk, pairwise_ious.size(0))
        topk_ious, _ = torch.topk(pairwise_ious, candidate_topk, dim=0)
        dynamic_ks = torch.clamp(topk_ious.sum(0).int(), min=1).tolist()
        for gt_idx in range(num_gt):
            _, pos_idx = torch.topk(cost[:, gt_idx], k=dynamic_ks[gt_idx], largest=False)
            matching_matrix[pos_idx, gt_idx] = 1

        multiple = matching_matrix.sum(1) > 1
        if multiple.any():
            _, cost_argmin = torch.min(cost[multiple, :], dim=1)
            matching_matrix[multiple, :] = 0
            matching_matrix[multiple, cost_argmin] = 1
        fg_mask = matching_matrix.sum(1) > 0
        matched_gt_inds = matching_matrix[fg_mask, :].argmax(1)
        matched_pred_ious = (matching_matrix * pairwise_ious).sum(1)[fg_mask]
        return matched_pred_ious, matched_gt_inds, fg_mask
