"""Prime-sample attention (PISA, Cao et al., CVPR 2020, arXiv:1904.04821): importance-based
sample re-weighting of positives (ISR-P) and the classification-aware regression loss (CARL).

Both are functions that a PISA RoI / dense head calls on its targets; neither is a
registered loss type.
"""
from typing import Any, Dict, Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

from mmdet_lite.core.bbox.iou_calculators import bbox_overlaps

BBoxTargets = Tuple[Tensor, Tensor, Tensor, Tensor]


def _rank_descending(values: Tensor) -> Tensor:
    """(n,) rank of each value in decreasing order (0 = largest)."""
    order = values.sort(descending=True)[1]
    return order.sort()[1]


def isr_p(cls_score: Tensor, bbox_pred: Tensor, bbox_targets: BBoxTargets, rois: Tensor,
          sampling_results: Sequence[Any], loss_cls: nn.Module, bbox_coder: Any, k: float = 2,
          bias: float = 0, num_class: int = 80) -> BBoxTargets:
    """Importance-based sample re-weighting of the positives (ISR-P).

    Positives are ranked by the IoU of their regressed box (first within the positives of
    the same GT, then within the class: hierarchical local rank); their classification weight
    becomes ``(bias + (1 - bias) * (max_count - rank) / max_count)^k``, rescaled so that the
    summed positive classification loss is unchanged.

    Args:
        cls_score: (K, C + 1) logits of the sampled RoIs.
        bbox_pred: (K, 4) or (K, 4 * C) deltas.
        bbox_targets: ``(labels (K,), label_weights (K,), bbox_targets (K, 4),
            bbox_weights (K, 4))`` of the sampled RoIs.
        rois: (K, 5) RoIs (image index first) or (K, 4) boxes.
        sampling_results: per image, with ``pos_assigned_gt_inds``.
        loss_cls: the classification loss (called with ``reduction_override='none'``).
        bbox_coder: decodes the deltas against the RoIs.
        k: exponent of the weights.
        bias: lower bound of the weights before the exponent.
        num_class: C.

    Returns:
        The targets with the positives' label weights replaced (a new ``label_weights``
        tensor; the given one is not modified).
    """
    labels, label_weights, box_targets, bbox_weights = bbox_targets
    label_weights = label_weights.clone()
    pos_label_inds = ((labels >= 0) & (labels < num_class)).nonzero().reshape(-1)
    pos_labels = labels[pos_label_inds]
    num_pos = pos_label_inds.numel()
    if num_pos == 0:
        return labels, label_weights, box_targets, bbox_weights

    # GT index of each positive, unique over the batch
    gts = []
    offset = 0
    for res in sampling_results:
        gt_i = res.pos_assigned_gt_inds
        gts.append(gt_i + offset)
        if len(gt_i) != 0:
            offset = gt_i.max() + 1
    gts = torch.cat(gts)
    if len(gts) != num_pos:
        raise ValueError(f'isr_p: {num_pos} positive labels but the sampling results hold '
                         f'{len(gts)} positives; pass the targets of these sampling results')

    cls_score = cls_score.detach()
    bbox_pred = bbox_pred.detach()
    pos_rois = rois[pos_label_inds][:, 1:] if rois.size(-1) == 5 else rois[pos_label_inds]
    if bbox_pred.size(-1) > 4:
        bbox_pred = bbox_pred.view(bbox_pred.size(0), -1, 4)
        pos_delta_pred = bbox_pred[pos_label_inds, pos_labels].view(-1, 4)
    else:
        pos_delta_pred = bbox_pred[pos_label_inds].view(-1, 4)
    pos_delta_target = box_targets[pos_label_inds].view(-1, 4)
    pos_bbox_pred = bbox_coder.decode(pos_rois, pos_delta_pred)
    target_bbox_pred = bbox_coder.decode(pos_rois, pos_delta_target)
    ious = bbox_overlaps(pos_bbox_pred, target_bbox_pred, is_aligned=True)

    pos_imp_weights = label_weights[pos_label_inds]
    max_l_num = pos_labels.bincount().max()
    for label in pos_labels.unique():
        l_inds = (pos_labels == label).nonzero().view(-1)
        l_gts = gts[l_inds]
        # rank within each GT first: the best box of every GT outranks any second-best one
        for t in l_gts.unique():
            t_inds = l_inds[l_gts == t]
            ious[t_inds] += max_l_num - _rank_descending(ious[t_inds]).float()
        l_rank = _rank_descending(ious[l_inds])
        pos_imp_weights[l_inds] *= (max_l_num - l_rank.float()) / max_l_num
    pos_imp_weights = (bias + pos_imp_weights * (1 - bias)).pow(k)

    # keep the summed classification loss of the positives unchanged
    pos_loss_cls = loss_cls(cls_score[pos_label_inds], pos_labels, reduction_override='none')
    if pos_loss_cls.dim() > 1:
        ori_pos_loss_cls = pos_loss_cls * label_weights[pos_label_inds][:, None]
        new_pos_loss_cls = pos_loss_cls * pos_imp_weights[:, None]
    else:
        ori_pos_loss_cls = pos_loss_cls * label_weights[pos_label_inds]
        new_pos_loss_cls = pos_loss_cls * pos_imp_weights
    pos_imp_weights = pos_imp_weights * (ori_pos_loss_cls.sum() / new_pos_loss_cls.sum())
    label_weights[pos_label_inds] = pos_imp_weights
    return labels, label_weights, box_targets, bbox_weights


def carl_loss(cls_score: Tensor, labels: Tensor, bbox_pred: Tensor, bbox_targets: Tensor,
              loss_bbox: nn.Module, k: float = 1, bias: float = 0.2,
              avg_factor: Optional[float] = None,
              sigmoid: bool = False, num_class: int = 80) -> Dict[str, Tensor]:
    """Classification-aware regression loss (CARL).

    Each positive's regression loss is weighted by ``(bias + (1 - bias) * s)^k`` with ``s``
    its score of its class (weights normalised to mean 1); the gradient flows into the
    classifier through ``s``.

    Args:
        cls_score: (K, C + 1) logits (or (K, C) with ``sigmoid``).
        labels: (K,) labels in [0, C].
        bbox_pred: (K, 4) or (K, 4 * C) deltas.
        bbox_targets: (K, 4) targets.
        loss_bbox: the regression loss (called with ``reduction_override='none'``).
        k: exponent of the weights.
        bias: lower bound of the weights before the exponent.
        avg_factor: divisor of the summed loss (default: K).
        sigmoid: scores by sigmoid instead of softmax.
        num_class: C.

    Returns:
        ``{'loss_carl': (1,) loss}``.
    """
    pos_label_inds = ((labels >= 0) & (labels < num_class)).nonzero().reshape(-1)
    if pos_label_inds.numel() == 0:
        return dict(loss_carl=cls_score.sum()[None] * 0.)
    pos_labels = labels[pos_label_inds]
    probs = cls_score.sigmoid() if sigmoid else cls_score.softmax(-1)
    pos_cls_score = probs[pos_label_inds, pos_labels]
    carl_loss_weights = (bias + (1 - bias) * pos_cls_score).pow(k)
    carl_loss_weights = carl_loss_weights * (pos_cls_score.size(0) / carl_loss_weights.sum())
    if avg_factor is None:
        avg_factor = bbox_targets.size(0)
    if bbox_pred.size(-1) > 4:
        bbox_pred = bbox_pred.view(bbox_pred.size(0), -1, 4)
        pos_bbox_preds = bbox_pred[pos_label_inds, pos_labels]
    else:
        pos_bbox_preds = bbox_pred[pos_label_inds]
    ori_loss_reg = loss_bbox(pos_bbox_preds, bbox_targets[pos_label_inds],
                             reduction_override='none') / avg_factor
    loss_carl = (ori_loss_reg * carl_loss_weights[:, None]).sum()
    return dict(loss_carl=loss_carl[None])
