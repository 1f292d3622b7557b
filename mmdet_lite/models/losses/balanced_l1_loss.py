"""Balanced L1 loss of Libra R-CNN (Pang et al., CVPR 2019, arXiv:1904.02701)."""
import math
from typing import Optional

import torch
from torch import Tensor, nn

from mmdet_lite.registry import MODELS
from .utils import resolve_reduction, weighted_loss


@weighted_loss
def balanced_l1_loss(pred: Tensor, target: Tensor, beta: float = 1.0, alpha: float = 0.5,
                     gamma: float = 1.5) -> Tensor:
    """Element-wise balanced L1 loss of ``pred`` and ``target`` (both (n, 4)).

    With ``x = |pred - target|`` and ``b = exp(gamma / alpha) - 1`` (so that the gradient is
    continuous at ``x = beta``)::

        alpha / b * (b x + 1) * ln(b x / beta + 1) - alpha x    if x < beta
        gamma x + gamma / b - alpha beta                         otherwise
    """
    if beta <= 0:
        raise ValueError(f'balanced_l1_loss: beta must be > 0, got {beta}')
    if target.numel() == 0:
        return pred.sum() * 0
    if pred.size() != target.size():
        raise ValueError(f'balanced_l1_loss: pred {tuple(pred.shape)} and target '
                         f'{tuple(target.shape)} must have the same shape')
    diff = torch.abs(pred - target)
    b = math.exp(gamma / alpha) - 1
    inner = alpha / b * (b * diff + 1) * torch.log(b * diff / beta + 1) - alpha * diff
    outer = gamma * diff + gamma / b - alpha * beta
    return torch.where(diff < beta, inner, outer)


@MODELS.register_module()
class BalancedL1Loss(nn.Module):
    """Balanced L1 loss (Libra R-CNN).

    Args:
        alpha: scales the gradient of the inliers (``x < beta``).
        gamma: upper bound of the gradient of the outliers.
        beta: where the loss changes from logarithmic to linear.
        reduction: 'none', 'mean' or 'sum'.
        loss_weight: multiplier of the loss.
    """

    def __init__(self, alpha: float = 0.5, gamma: float = 1.5, beta: float = 1.0,
                 reduction: str = 'mean', loss_weight: float = 1.0) -> None:
        super().__init__()
        self.alpha = alpha
        self.gamma = gamma
        self.beta = beta
        self.reduction = reduction
        self.loss_weight = loss_weight

    def forward(self, pred: Tensor, target: Tensor, weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None) -> Tensor:
        """Loss of ``pred`` (n, 4) against ``target`` (n, 4); ``weight`` element-wise (n, 4)."""
        reduction = resolve_reduction(reduction_override, self.reduction)
        return self.loss_weight * balanced_l1_loss(
            pred, target, weight, alpha=self.alpha, gamma=self.gamma, beta=self.beta,
            reduction=reduction, avg_factor=avg_factor)
