"""Smooth L1 (Huber-like) and L1 regression losses."""
from typing import Optional

import torch
from torch import Tensor, nn

from mmdet_lite.registry import MODELS
from .utils import resolve_reduction, weighted_loss


def _check_shapes(name: str, pred: Tensor, target: Tensor) -> None:
    if pred.size() != target.size():
        raise ValueError(f'{name}: pred {tuple(pred.shape)} and target {tuple(target.shape)} '
                         'must have the same shape')


@weighted_loss
def smooth_l1_loss(pred: Tensor, target: Tensor, beta: float = 1.0) -> Tensor:
    """Element-wise smooth L1: ``0.5 x^2 / beta`` if ``|x| < beta`` else ``|x| - 0.5 beta``."""
    if beta <= 0:
        raise ValueError(f'smooth_l1_loss: beta must be > 0, got {beta}')
    if target.numel() == 0:
        return pred.sum() * 0
    _check_shapes('smooth_l1_loss', pred, target)
    diff = torch.abs(pred - target)
    return torch.where(diff < beta, 0.5 * diff * diff / beta, diff - 0.5 * beta)


@weighted_loss
def l1_loss(pred: Tensor, target: Tensor) -> Tensor:
    """Element-wise ``|pred - target|``."""
    if target.numel() == 0:
        return pred.sum() * 0
    _check_shapes('l1_loss', pred, target)
    return torch.abs(pred - target)


@MODELS.register_module()
class SmoothL1Loss(nn.Module):
    """Smooth L1 loss.

    Args:
        beta: the point where the loss changes from quadratic to linear.
        reduction: 'none', 'mean' or 'sum'.
        loss_weight: multiplier of the loss.
    """

    def __init__(self, beta: float = 1.0, reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        self.beta = beta
        self.reduction = reduction
        self.loss_weight = loss_weight

    def forward(self, pred: Tensor, target: Tensor, weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None) -> Tensor:
        """Loss of (n, 4) ``pred`` against ``target`` with element-wise ``weight``."""
        reduction = resolve_reduction(reduction_override, self.reduction)
        return self.loss_weight * smooth_l1_loss(pred, target, weight, beta=self.beta,
                                                 reduction=reduction, avg_factor=avg_factor)


@MODELS.register_module()
class L1Loss(nn.Module):
    """L1 loss.

    Args:
        reduction: 'none', 'mean' or 'sum'.
        loss_weight: multiplier of the loss.
    """

    def __init__(self, reduction: str = 'mean', loss_weight: float = 1.0) -> None:
        super().__init__()
        self.reduction = reduction
        self.loss_weight = loss_weight

    def forward(self, pred: Tensor, target: Tensor, weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None) -> Tensor:
        """Loss of (n, 4) ``pred`` against ``target`` with element-wise ``weight``."""
        reduction = resolve_reduction(reduction_override, self.reduction)
        return self.loss_weight * l1_loss(pred, target, weight, reduction=reduction,
                                          avg_factor=avg_factor)
