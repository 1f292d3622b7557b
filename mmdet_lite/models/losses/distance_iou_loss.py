"""Distance-IoU and Complete-IoU box losses (Zheng et al., AAAI 2020, arXiv:1911.08287;
arXiv:2005.03572) on aligned xyxy boxes."""
import math
from typing import Callable, Optional, Tuple

import torch
from torch import Tensor, nn

from mmdet_lite.registry import MODELS
from .utils import _prepare_weight, _zero_loss, resolve_reduction, weighted_loss


def _iou_and_center_penalty(pred: Tensor, target: Tensor, eps: float) -> Tuple[Tensor, Tensor]:
    """(n,) IoU and (n,) ``rho^2 / c^2``: squared centre distance over the squared diagonal
    of the smallest enclosing box; ``eps`` is added to the union and to ``c^2``."""
    inter_wh = (torch.min(pred[:, 2:], target[:, 2:]) -
                torch.max(pred[:, :2], target[:, :2])).clamp(min=0)
    overlap = inter_wh[:, 0] * inter_wh[:, 1]
    area_pred = (pred[:, 2] - pred[:, 0]) * (pred[:, 3] - pred[:, 1])
    area_target = (target[:, 2] - target[:, 0]) * (target[:, 3] - target[:, 1])
    ious = overlap / (area_pred + area_target - overlap + eps)

    enclose_wh = (torch.max(pred[:, 2:], target[:, 2:]) -
                  torch.min(pred[:, :2], target[:, :2])).clamp(min=0)
    diag2 = enclose_wh[:, 0]**2 + enclose_wh[:, 1]**2 + eps
    # centre offsets times 2: (x1 + x2) of the target minus that of the prediction
    dx2 = (target[:, 0] + target[:, 2]) - (pred[:, 0] + pred[:, 2])
    dy2 = (target[:, 1] + target[:, 3]) - (pred[:, 1] + pred[:, 3])
    rho2 = dx2**2 / 4 + dy2**2 / 4
    return ious, rho2 / diag2


@weighted_loss
def diou_loss(pred: Tensor, target: Tensor, eps: float = 1e-7) -> Tensor:
    """(n,) ``1 - DIoU = 1 - IoU + rho^2 / c^2`` of aligned (n, 4) boxes."""
    if pred.numel() == 0:
        return pred.sum() * 0
    ious, penalty = _iou_and_center_penalty(pred, target, eps)
    return 1 - (ious - penalty)


@weighted_loss
def ciou_loss(pred: Tensor, target: Tensor, eps: float = 1e-7) -> Tensor:
    """(n,) ``1 - CIoU`` of aligned (n, 4) boxes.

    CIoU adds to DIoU's penalty ``alpha * v`` with the aspect-ratio term
    ``v = 4 / pi^2 (atan(w_t / h_t) - atan(w_p / h_p))^2`` and the trade-off
    ``alpha = v / (1 - IoU + v)`` (a constant, applied only where IoU > 0.5); CIoU is clamped
    to [-1, 1].
    """
    if pred.numel() == 0:
        return pred.sum() * 0
    ious, penalty = _iou_and_center_penalty(pred, target, eps)
    w_pred = pred[:, 2] - pred[:, 0]
    h_pred = pred[:, 3] - pred[:, 1] + eps
    w_target = target[:, 2] - target[:, 0]
    h_target = target[:, 3] - target[:, 1] + eps
    v = (4 / math.pi**2) * (torch.atan(w_target / h_target) - torch.atan(w_pred / h_pred))**2
    with torch.no_grad():
        alpha = (ious > 0.5).float() * v / (1 - ious + v)
    cious = ious - (penalty + alpha * v)
    return 1 - cious.clamp(min=-1.0, max=1.0)


class _DistanceIoULossBase(nn.Module):
    """Shared constructor and forward of :class:`DIoULoss` and :class:`CIoULoss`."""

    loss_func: Callable

    def __init__(self, eps: float = 1e-6, reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        self.eps = eps
        self.reduction = reduction
        self.loss_weight = loss_weight

    def forward(self, pred: Tensor, target: Tensor, weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None) -> Tensor:
        """Loss of (n, 4) ``pred`` boxes against ``target`` boxes; ``weight`` (n,) or (n, 4)
        (averaged per box). All-zero weights give an exact zero that keeps ``pred`` in the
        graph."""
        if weight is not None and not torch.any(weight > 0):
            return _zero_loss(pred, weight)
        reduction = resolve_reduction(reduction_override, self.reduction)
        weight = _prepare_weight(pred, weight)
        return self.loss_weight * self.loss_func(pred, target, weight, eps=self.eps,
                                                 reduction=reduction,
                                                 avg_factor=avg_factor)


@MODELS.register_module()
class DIoULoss(_DistanceIoULossBase):
    """Distance-IoU loss ``1 - IoU + rho^2 / c^2``.

    Args:
        eps: added to the union and to the squared enclosing diagonal.
        reduction: 'none', 'mean' or 'sum'.
        loss_weight: multiplier of the loss.
    """

    loss_func = staticmethod(diou_loss)


@MODELS.register_module()
class CIoULoss(_DistanceIoULossBase):
    """Complete-IoU loss: DIoU plus an aspect-ratio consistency term.

    Args:
        eps: added to the union, the squared enclosing diagonal and the heights.
        reduction: 'none', 'mean' or 'sum'.
        loss_weight: multiplier of the loss.
    """

    loss_func = staticmethod(ciou_loss)
