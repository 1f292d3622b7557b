"""Varifocal loss of VarifocalNet (Zhang et al., CVPR 2021, arXiv:2008.13367)."""
from typing import Optional

import torch.nn.functional as F
from torch import Tensor, nn

from mmdet_lite.registry import MODELS
from .utils import resolve_reduction, weight_reduce_loss
from ...core.utils.errors import ConfigValueError


def varifocal_loss(pred: Tensor, target: Tensor, weight: Optional[Tensor] = None,
                   alpha: float = 0.75, gamma: float = 2.0, iou_weighted: bool = True,
                   reduction: str = 'mean', avg_factor: Optional[float] = None) -> Tensor:
    """Varifocal loss: BCE of logits ``pred`` against IoU-aware targets ``q``.

    Positives (``q > 0``) are weighted by ``q`` (or 1 without ``iou_weighted``); negatives are
    down-weighted focal-style by ``alpha * |sigmoid(pred) - q|^gamma``.

    Args:
        pred: (n, C) logits.
        target: (n, C) targets: the IoU with the GT in the GT's class, 0 elsewhere.
        weight: element-wise weights broadcastable to (n, C).
        alpha: weight of the negatives.
        gamma: focusing exponent of the negatives.
        iou_weighted: weight the positives by their target.
        reduction, avg_factor: see :func:`weight_reduce_loss`.
    """
    if pred.size() != target.size():
        raise ConfigValueError(f'varifocal_loss: pred {tuple(pred.shape)} and target '
                               f'{tuple(target.shape)} must have the same shape')
    prob = pred.sigmoid()
    target = target.type_as(pred)
    is_pos = (target > 0.0).float()
    pos_weight = target * is_pos if iou_weighted else is_pos
    focal_weight = pos_weight + alpha * (prob - target).abs().pow(gamma) * (1 - is_pos)
    loss = F.binary_cross_entropy_with_logits(pred, target, reduction='none') * focal_weight
    return weight_reduce_loss(loss, weight, reduction, avg_factor)


@MODELS.register_module()
class VarifocalLoss(nn.Module):
    """Varifocal loss.

    Args:
        use_sigmoid: must be True (only the sigmoid form exists).
        alpha: weight of the negatives (>= 0).
        gamma: focusing exponent of the negatives.
        iou_weighted: weight the positives by their IoU target.
        reduction: 'none', 'mean' or 'sum'.
        loss_weight: multiplier of the loss.
    """

    def __init__(self, use_sigmoid: bool = True, alpha: float = 0.75, gamma: float = 2.0,
                 iou_weighted: bool = True, reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if use_sigmoid is not True:
            raise ConfigValueError(
                'VarifocalLoss: only the sigmoid form exists; set use_sigmoid=True')
        if alpha < 0:
            raise ConfigValueError(f'VarifocalLoss: alpha must be >= 0, got {alpha}')
        self.use_sigmoid = use_sigmoid
        self.alpha = alpha
        self.gamma = gamma
        self.iou_weighted = iou_weighted
        self.reduction = reduction
        self.loss_weight = loss_weight

    def forward(self, pred: Tensor, target: Tensor, weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None) -> Tensor:
        """Loss of ``pred`` (n, C) logits against IoU-aware ``target`` (n, C)."""
        reduction = resolve_reduction(reduction_override, self.reduction)
        return self.loss_weight * varifocal_loss(
            pred, target, weight, alpha=self.alpha, gamma=self.gamma,
            iou_weighted=self.iou_weighted, reduction=reduction, avg_factor=avg_factor)
