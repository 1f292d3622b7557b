"""Bounded IoU loss (Tychsen-Smith & Petersson, CVPR 2018, arXiv:1711.00164)."""
from typing import Optional

import torch
from torch import Tensor, nn

from mmdet_lite.registry import MODELS
from .utils import _zero_loss, resolve_reduction, weighted_loss


@weighted_loss
def bounded_iou_loss(pred: Tensor, target: Tensor, beta: float = 0.2,
                     eps: float = 1e-3) -> Tensor:
    """(n, 4) smooth-L1 of the four bounded-IoU terms (dx, dy, dw, dh) of aligned xyxy boxes.

    Each term is an upper bound of ``1 - IoU`` when only that coordinate differs; the
    target's geometry is a constant (no gradient flows into ``target``).
    """
    if pred.numel() == 0:
        return pred.sum() * 0
    pred_cx = (pred[:, 0] + pred[:, 2]) * 0.5
    pred_cy = (pred[:, 1] + pred[:, 3]) * 0.5
    pred_w = pred[:, 2] - pred[:, 0]
    pred_h = pred[:, 3] - pred[:, 1]
    with torch.no_grad():
        target_cx = (target[:, 0] + target[:, 2]) * 0.5
        target_cy = (target[:, 1] + target[:, 3]) * 0.5
        target_w = target[:, 2] - target[:, 0]
        target_h = target[:, 3] - target[:, 1]
    dx = (target_cx - pred_cx).abs()
    dy = (target_cy - pred_cy).abs()
    zero = torch.zeros_like(dx)
    loss_dx = 1 - torch.max((target_w - 2 * dx) / (target_w + 2 * dx + eps), zero)
    loss_dy = 1 - torch.max((target_h - 2 * dy) / (target_h + 2 * dy + eps), zero)
    loss_dw = 1 - torch.min(target_w / (pred_w + eps), pred_w / (target_w + eps))
    loss_dh = 1 - torch.min(target_h / (pred_h + eps), pred_h / (target_h + eps))
    terms = torch.stack([loss_dx, loss_dy, loss_dw, loss_dh], dim=-1)
    return torch.where(terms < beta, 0.5 * terms * terms / beta, terms - 0.5 * beta)


@MODELS.register_module()
class BoundedIoULoss(nn.Module):
    """Bounded IoU loss.

    Args:
        beta: smooth-L1 transition point of each term.
        eps: keeps the ratios finite for zero-size boxes.
        reduction: 'none', 'mean' or 'sum'.
        loss_weight: multiplier of the loss.
    """

    def __init__(self, beta: float = 0.2, eps: float = 1e-3, reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        self.beta = beta
        self.eps = eps
        self.reduction = reduction
        self.loss_weight = loss_weight

    def forward(self, pred: Tensor, target: Tensor, weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None) -> Tensor:
        """Loss of (n, 4) ``pred`` boxes against ``target`` boxes; ``weight`` (n, 4) or (n,).

        All-zero weights give an exact zero that keeps ``pred`` in the graph.
        """
        if weight is not None and not torch.any(weight > 0):
            return _zero_loss(pred, weight)
        reduction = resolve_reduction(reduction_override, self.reduction)
        if weight is not None and weight.dim() == 1:
            weight = weight[:, None]
        return self.loss_weight * bounded_iou_loss(pred, target, weight, beta=self.beta,
                                                   eps=self.eps, reduction=reduction,
                                                   avg_factor=avg_factor)
