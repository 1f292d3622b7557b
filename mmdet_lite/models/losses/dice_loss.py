"""Dice loss (V-Net, Milletari et al., 3DV 2016) of per-instance masks."""
from typing import Optional

import torch
from torch import Tensor, nn

from mmdet_lite.registry import MODELS
from .utils import resolve_reduction, weight_reduce_loss
from ...core.utils.errors import ConfigValueError, UnsupportedValueError


def dice_loss(pred: Tensor, target: Tensor, weight: Optional[Tensor] = None, eps: float = 1e-3,
              reduction: str = 'mean', naive_dice: bool = False,
              avg_factor: Optional[float] = None) -> Tensor:
    """(n,) ``1 - dice`` per instance, reduced.

    Args:
        pred: (n, ...) mask probabilities.
        target: (n, ...) binary targets.
        weight: (n,) per-instance weights.
        eps: smoothing term.
        reduction, avg_factor: see :func:`weight_reduce_loss`.
        naive_dice: ``(2 a + eps) / (b + c + eps)`` with plain sums (the V-Net form uses the
            sums of squares: ``2 a / (b^2 + eps + c^2 + eps)``).
    """
    inputs = pred.flatten(1)
    target = target.flatten(1).float()
    a = torch.sum(inputs * target, 1)
    if naive_dice:
        dice = (2 * a + eps) / (torch.sum(inputs, 1) + torch.sum(target, 1) + eps)
    else:
        b = torch.sum(inputs * inputs, 1) + eps
        c = torch.sum(target * target, 1) + eps
        dice = 2 * a / (b + c)
    loss = 1 - dice
    if weight is not None and (weight.dim() != 1 or len(weight) != len(pred)):
        raise ConfigValueError(f'dice_loss: weight must be (n,) = ({len(pred)},), got '
                               f'{tuple(weight.shape)}')
    return weight_reduce_loss(loss, weight, reduction, avg_factor)


@MODELS.register_module()
class DiceLoss(nn.Module):
    """Dice loss.

    Args:
        use_sigmoid: activate ``pred`` with a sigmoid (the only activation there is).
        activate: apply the activation (False: ``pred`` holds probabilities).
        reduction: 'none', 'mean' or 'sum'.
        naive_dice: use the plain-sum dice (see :func:`dice_loss`).
        loss_weight: multiplier of the loss.
        eps: smoothing term.
    """

    def __init__(self, use_sigmoid: bool = True, activate: bool = True, reduction: str = 'mean',
                 naive_dice: bool = False, loss_weight: float = 1.0, eps: float = 1e-3) -> None:
        super().__init__()
        if activate and not use_sigmoid:
            raise UnsupportedValueError('DiceLoss: the only activation is the sigmoid; set '
                                        'use_sigmoid=True or activate=False')
        self.use_sigmoid = use_sigmoid
        self.reduction = reduction
        self.naive_dice = naive_dice
        self.loss_weight = loss_weight
        self.eps = eps
        self.activate = activate

    def forward(self, pred: Tensor, target: Tensor, weight: Optional[Tensor] = None,
                reduction_override: Optional[str] = None,
                avg_factor: Optional[float] = None) -> Tensor:
        """Loss of mask logits (or probabilities) ``pred`` (n, ...) against ``target``."""
        reduction = resolve_reduction(reduction_override, self.reduction)
        if self.activate:
            pred = pred.sigmoid()
        return self.loss_weight * dice_loss(pred, target, weight, eps=self.eps,
                                            reduction=reduction, naive_dice=self.naive_dice,
                                            avg_factor=avg_factor)
