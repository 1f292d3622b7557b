"""IoU-based box regression losses (IoU, GIoU) on xyxy boxes."""
import warnings
from typing import Optional

import torch
from torch import Tensor, nn

from mmdet_lite.core.bbox.iou_calculators import bbox_overlaps
from mmdet_lite.registry import MODELS
from .bounded_iou_loss import BoundedIoULoss, bounded_iou_loss  # noqa: F401 (2.x path)
from .distance_iou_loss import CIoULoss, DIoULoss, ciou_loss, diou_loss  # noqa: F401 (2.x path)
from .utils import _prepare_weight, _zero_loss, resolve_reduction, weighted_loss

_IOU_MODES = ('linear', 'square', 'log')


@weighted_loss
def iou_loss(pred: Tensor, target: Tensor, linear: bool = False, mode: str = 'log',
             eps: float = 1e-6) -> Tensor:
    """(n,) IoU loss of aligned (n, 4) boxes: ``1 - iou`` (linear), ``1 - iou^2`` (square) or
    ``-log(iou)`` (log); IoU is clamped at ``eps``."""
    if mode not in _IOU_MODES:
        raise ValueError(f"iou_loss: mode must be one of {_IOU_MODES}, got '{mode}'")
    if pred.numel() == 0:
        # no boxes: a zero that stays in the graph
        return pred.sum() * 0
    if linear:
        mode = 'linear'
    ious = bbox_overlaps(pred, target, is_aligned=True).clamp(min=eps)
    if mode == 'linear':
        return 1 - ious
    if mode == 'square':
        return 1 - ious**2
    return -ious.log()


@weighted_loss
def giou_loss(pred: Tensor, target: Tensor, eps: float = 1e-7) -> Tensor:
    """(n,) ``1 - GIoU`` of aligned (n, 4) boxes."""
    if pred.numel() == 0:
        return pred.sum() * 0
    gious = bbox_overlaps(pred, target, mode='giou', is_aligned=True, eps=eps)
    return 1 - gious


@MODELS.register_module()
class IoULoss(nn.Module):
    """IoU loss.

    Args:
        linear: deprecated; same as ``mode='linear'``.
        eps: lower bound of the IoU.
        reduction: 'none', 'mean' or 'sum'.
        loss_weight: multiplier of the loss.
        mode: 'linear', 'square' or 'log'.
    """

    def __init__(self, linear: bool = False, eps: float = 1e-6, reduction: str = 'mean',
                 loss_weight: float = 1.0, mode: str = 'log') -> None:
        super().__init__()
        if mode not in _IOU_MODES:
            raise ValueError(f"IoULoss: mode must be one of {_IOU_MODES}, got '{mode}'")
        if linear:
            mode = 'linear'
            warnings.warn('IoULoss(linear=True) is deprecated; use mode="linear"',
                          DeprecationWarning)
        self.mode = mode
        self.linear = linear
        self.eps = eps
        self.reduction = reduction
        self.loss_weight = loss_weight

    def forward(self, pred: Tensor, target: Tensor, weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None) -> Tensor:
        """Loss of (n, 4) ``pred`` boxes against ``target`` boxes; ``weight`` (n,) or (n, 4)."""
        reduction = resolve_reduction(reduction_override, self.reduction)
        if weight is not None and not torch.any(weight > 0) and reduction != 'none':
            return _zero_loss(pred, weight)
        weight = _prepare_weight(pred, weight)
        return self.loss_weight * iou_loss(pred, target, weight, mode=self.mode, eps=self.eps,
                                           reduction=reduction, avg_factor=avg_factor)


@MODELS.register_module()
class GIoULoss(nn.Module):
    """Generalized IoU loss ``1 - GIoU``.

    Args:
        eps: lower bound of the union and enclosing area.
        reduction: 'none', 'mean' or 'sum'.
        loss_weight: multiplier of the loss.
    """

    def __init__(self, eps: float = 1e-6, reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        self.eps = eps
        self.reduction = reduction
        self.loss_weight = loss_weight

    def forward(self, pred: Tensor, target: Tensor, weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None) -> Tensor:
        """Loss of (n, 4) ``pred`` boxes against ``target`` boxes; ``weight`` (n,) or (n, 4)."""
        if weight is not None and not torch.any(weight > 0):
            return _zero_loss(pred, weight)
        reduction = resolve_reduction(reduction_override, self.reduction)
        weight = _prepare_weight(pred, weight)
        return self.loss_weight * giou_loss(pred, target, weight, eps=self.eps,
                                            reduction=reduction, avg_factor=avg_factor)
